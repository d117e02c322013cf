"""Reading and writing files safely (netlang.files): special files, links, NUL bytes, hostile headers, atomic writes."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import files


def _compile_in_a_thread(source: str, folder: Path, seconds: float = 20) -> BaseException:
    """The error compiling ``source`` raises, failing the test if it does not return within ``seconds``."""
    outcome: list = []

    def work() -> None:
        try:
            netlang.compile(source, base_dir=folder)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"compiling did not finish within {seconds} s (blocked on a special file?)"
    assert outcome[0] is not None
    return outcome[0]


def test_a_fifo_as_a_weight_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "w.npy")
    error = _compile_in_a_thread('input x[2]\nnode y = relu(load("w.npy") @ x)', tmp_path)
    assert isinstance(error, netlang.NetlangError)
    assert error.message.endswith("w.npy' is a pipe (FIFO), not a weight file") and error.line == 2


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".npy"])
def test_a_link_to_dev_zero_is_refused(tmp_path, suffix):
    (tmp_path / f"w{suffix}").symlink_to("/dev/zero")
    error = _compile_in_a_thread(f'input x[2]\nnode y = relu(load("w{suffix}", "W") @ x)'.replace(', "W"', ', "W"' if suffix == ".npz" else ""), tmp_path)
    assert isinstance(error, netlang.NetlangError)
    # Resolved, /dev/zero is outside the folder: the folder rule refuses it before its type is looked at.
    assert error.code == "path-outside"


def test_a_device_inside_the_folder_is_refused(tmp_path, monkeypatch):
    """The regular-file check itself, for a device that the folder rule lets through."""
    with pytest.raises(files.FileError, match="is a device, not a weight file"):
        files.open_file("/dev/zero", "weight file")
    with pytest.raises(files.FileError, match="is a directory, not a weight file"):
        files.open_file(tmp_path, "weight file")


def test_a_link_that_leads_outside_the_folder_is_refused_and_its_contents_never_shown(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("API_KEY=hunter2\n")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "passwd.csv").symlink_to(secret)
    (folder / "model.net").write_text('input x\nlet W = load("passwd.csv")\nnode y = relu(W[0] * x)\n')
    with pytest.raises(netlang.NetlangError) as caught:
        netlang.load(folder / "model.net")
    error = caught.value
    assert error.code == "path-outside" and error.line == 2
    assert "hunter2" not in error.format() and "outside the .net file's folder" in error.message


def test_a_link_inside_the_folder_is_followed(tmp_path):
    (tmp_path / "weights").mkdir()
    np.save(tmp_path / "weights" / "real.npy", np.array([2.0, 3.0]))
    (tmp_path / "w.npy").symlink_to(Path("weights") / "real.npy")
    network = netlang.compile('input x[2]\nnode y = relu(load("w.npy") @ x)', base_dir=tmp_path)
    assert network.run({"x": [1, 1]}) == {"y": 5.0}


def test_a_link_to_a_folder_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    np.save(outside / "w.npy", np.array([1.0, 2.0]))
    project = tmp_path / "project"
    project.mkdir()
    (project / "shared").symlink_to(outside)
    with pytest.raises(netlang.NetlangError, match="outside the .net file's folder"):
        netlang.compile('input x[2]\nnode y = relu(load("shared/w.npy") @ x)', base_dir=project)


def test_a_nul_byte_in_a_load_name_is_a_located_error(tmp_path):
    with pytest.raises(netlang.NetlangError) as caught:
        netlang.compile('input x[2]\nnode y = relu(load("w\x00.npy") @ x)', base_dir=tmp_path)
    assert caught.value.code == "bad-file-name" and caught.value.line == 2
    with pytest.raises(netlang.NetlangError) as caught:
        netlang.load("model\x00.net")
    assert caught.value.code == "bad-file-name"


def _npy_with_header_length(tmp_path: Path, claimed: int) -> Path:
    path = tmp_path / "w.npy"
    path.write_bytes(b"\x93NUMPY\x02\x00" + claimed.to_bytes(4, "little") + b"{'descr': '<f8'")
    return path


def test_a_npy_header_claiming_gigabytes_is_refused_before_it_is_read(tmp_path):
    _npy_with_header_length(tmp_path, 3 << 30)
    with pytest.raises(netlang.NetlangError) as caught:
        netlang.compile('input x[2]\nnode y = relu(load("w.npy") @ x)', base_dir=tmp_path)
    message = caught.value.format()
    assert "claims 3221225472 bytes of header" in message and "allow_pickle" not in message


def test_npy_header_bound_reads_nothing_more(tmp_path):
    path = _npy_with_header_length(tmp_path, 20_000)
    with open(path, "rb") as stream:
        with pytest.raises(files.FileError, match="the limit is 10000"):
            files.read_npy_header(stream, "w.npy")
        assert stream.tell() == 12  # magic, version and the length field: not the header it claims


def test_the_mode_of_a_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        files._UMASK = None
        files.write_bytes(tmp_path / "new.bin", b"data")
    finally:
        os.umask(old)
        files._UMASK = None
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o640


def test_atomic_write_keeps_an_existing_files_mode_and_a_link(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    target.chmod(0o644)
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    files.write_bytes(link, b"new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old contents\n")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_write(target, binary=False) as stream:
            stream.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left


def test_same_file_sees_through_links(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "b.csv").symlink_to("a.csv")
    os.link(tmp_path / "a.csv", tmp_path / "c.csv")
    assert files.same_file(tmp_path / "a.csv", tmp_path / "b.csv")
    assert files.same_file(tmp_path / "a.csv", tmp_path / "c.csv")
    assert not files.same_file(tmp_path / "a.csv", tmp_path / "missing.csv")
