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


# -- data files and --output (issue 11: items 1, 3, 11, 12, 13, 19) ---------------------

AND = "input x1, x2\nnode y = step(x1 + x2 > 1.5)\n"


@pytest.fixture
def and_net(tmp_path: Path) -> Path:
    path = tmp_path / "and.net"
    path.write_text(AND)
    return path


@pytest.mark.parametrize(
    "data, line, column",
    [
        (b"x1,x2\n1,1\n\xff\xfe\x00\x01\n", 3, 1),  # random bytes
        ("x1,x2\n1,1\n".encode("utf-16"), 1, 1),  # UTF-16 (its byte-order mark is not UTF-8)
        ("x1,x2\n1,1 # caf\u00e9\n".encode("latin-1"), 2, 10),  # a Latin-1 letter in a comment
    ],
)
def test_a_data_file_that_is_not_utf8_is_a_located_error_and_leaves_no_output(cli, tmp_path, and_net, data, line, column):
    (tmp_path / "d.csv").write_bytes(data)
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"), "--output", str(tmp_path / "out.csv"))
    assert result.exit_code == 1
    assert f"d.csv:{line}:{column}: error: the file is not valid UTF-8 text" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net", "d.csv"]


def test_a_bad_byte_far_into_a_data_file_is_placed_on_its_line(tmp_path, and_net):
    from netlang import data

    rows = "x1,x2\n" + "1,0\n" * 300_000  # past the first chunk the reader decodes
    (tmp_path / "d.csv").write_bytes(rows.encode() + b"1,\xe9\n")
    network = netlang.load(and_net)
    with pytest.raises(netlang.NetlangError) as caught:
        list(data.open_source(str(tmp_path / "d.csv"), network))
    assert (caught.value.code, caught.value.line, caught.value.column) == ("bad-encoding", 300_002, 3)


def test_a_data_file_on_stdin_that_is_not_utf8_is_a_located_error(cli, and_net):
    from click.testing import CliRunner

    from netlang.cli import main

    result = CliRunner().invoke(main, ["run", str(and_net), "--input", "-"], input=b"x1,x2\n1,\xe9\n")
    assert result.exit_code == 1 and "<stdin>:2:3: error: the file is not valid UTF-8 text" in result.output


@pytest.mark.parametrize("cell", ['"1\n0"', '"2\n5\n0"'])
def test_a_quoted_cell_spanning_lines_is_refused_not_read_as_other_digits(cli, tmp_path, and_net, cell):
    (tmp_path / "d.csv").write_text(f"x1,x2\n1,{cell}\n")
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"))
    assert result.exit_code == 1
    assert "d.csv:2:3: error: a quoted value on line 2 is not closed on that line" in result.output
    (tmp_path / "w.csv").write_text(f"1,{cell}\n")
    with pytest.raises(netlang.NetlangError, match="a quoted value on line 1 is not closed"):
        netlang.compile('input x[2]\nnode y = relu(load("w.csv") @ x)', base_dir=tmp_path)


def test_quoted_cells_on_one_line_and_quotes_in_comments_still_read(cli, tmp_path, and_net):
    (tmp_path / "d.csv").write_text('# a "comment\nx1,x2\n"1", "1"\n1,0 # it\'s "odd\n')
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"))
    assert (result.exit_code, result.output) == (0, "y\n1\n0\n")


def test_cr_only_line_endings_read_as_lines(cli, tmp_path, and_net):
    (tmp_path / "d.csv").write_bytes(b"x1,x2\r1,1\r0,1\r")
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"))
    assert (result.exit_code, result.output) == (0, "y\n1\n0\n")


def test_cr_only_line_endings_count_towards_the_weight_file_bound(tmp_path, monkeypatch):
    from netlang import limits

    (tmp_path / "w.csv").write_bytes(b"1\r2\r3\r4\r5\r6")  # six values, no ',' or '\n'
    monkeypatch.setattr(limits, "MAX_MATRIX_ENTRIES", 5)
    with pytest.raises(netlang.NetlangError, match=r"'w.csv' has up to 6 values; the limit is 5"):
        netlang.compile('input x\nlet W = load("w.csv")\nnode y = relu(W[0] * x)', base_dir=tmp_path)
    monkeypatch.setattr(limits, "MAX_MATRIX_ENTRIES", 10)
    network = netlang.compile('input x\nlet W = load("w.csv")\nnode y = relu(W[5] * x)', base_dir=tmp_path)
    assert network.run({"x": 1}) == {"y": 6.0}


def test_a_single_long_weight_row_is_read_without_a_tuple_per_field(tmp_path):
    row = np.random.default_rng(0).normal(size=200_000)
    (tmp_path / "w.csv").write_text(",".join(repr(v) for v in row.tolist()) + "\n")
    checked = netlang.compile('input x[200000]\nnode y = relu(load("w.csv") @ x)', base_dir=tmp_path)
    assert np.array_equal(checked.layers[0].weights.ravel(), row)


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotdot"])
def test_output_naming_the_input_is_refused_and_the_input_kept(cli, tmp_path, and_net, how):
    data = tmp_path / "d.csv"
    data.write_text("x1,x2\n1,1\n0,1\n")
    output = {"same": data, "symlink": tmp_path / "out.csv", "hardlink": tmp_path / "out.csv", "dotdot": tmp_path / "sub" / ".." / "d.csv"}[how]
    if how == "symlink":
        output.symlink_to(data.name)
    elif how == "hardlink":
        os.link(data, output)
    elif how == "dotdot":
        (tmp_path / "sub").mkdir()
    result = cli("run", str(and_net), "--input", str(data), "--output", str(output))
    assert result.exit_code == 1 and "is the data file given to --input" in result.output
    assert data.read_text() == "x1,x2\n1,1\n0,1\n"


def test_output_npy_naming_the_input_npy_is_refused(cli, tmp_path, and_net):
    np.save(tmp_path / "d.npy", np.array([[1.0, 1.0], [0.0, 1.0]]))
    before = (tmp_path / "d.npy").read_bytes()
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.npy"), "--output", str(tmp_path / "d.npy"))
    assert result.exit_code == 1 and (tmp_path / "d.npy").read_bytes() == before


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".json"])
def test_a_run_that_fails_part_way_leaves_the_old_output_whole(cli, tmp_path, and_net, suffix):
    from netlang import data

    rows = data.BLOCK_VALUES  # more than one block, so results were written before the error
    (tmp_path / "d.csv").write_text("x1,x2\n" + "1,1\n" * rows + "1,oops\n")
    output = tmp_path / f"out{suffix}"
    output.write_bytes(b"the results of yesterday")
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"), "--output", str(output))
    assert result.exit_code == 1 and "'oops' in column x2 is not a number" in result.output
    assert output.read_bytes() == b"the results of yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net", "d.csv", f"out{suffix}"]


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".json"])
def test_a_full_disk_is_a_located_error_and_leaves_nothing_half_written(cli, tmp_path, and_net, suffix, monkeypatch):
    (tmp_path / "d.csv").write_text("x1,x2\n1,1\n0,1\n")
    output = tmp_path / f"out{suffix}"
    output.write_bytes(b"old")
    real_replace = files.os.replace

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"), "--output", str(output))
    assert result.exit_code == 1
    assert f"{output}: error: cannot write '{output}': No space left on device; nothing was written" in result.output
    assert "Traceback" not in result.output and output.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net", "d.csv", f"out{suffix}"]
    assert files.os.replace is real_replace


def test_output_through_a_link_to_dev_full_is_a_located_error(cli, tmp_path, and_net):
    (tmp_path / "d.csv").write_text("x1,x2\n1,1\n0,1\n")
    (tmp_path / "out.csv").symlink_to("/dev/full")
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"), "--output", str(tmp_path / "out.csv"))
    assert result.exit_code == 1 and "No space left on device" in result.output and "Traceback" not in result.output
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")  # the device is written, never replaced


def test_a_successful_run_replaces_the_output_with_the_mode_of_a_plain_write(cli, tmp_path, and_net):
    (tmp_path / "d.csv").write_text("x1,x2\n1,1\n0,1\n")
    output = tmp_path / "out.csv"
    output.write_text("old")
    output.chmod(0o664)
    result = cli("run", str(and_net), "--input", str(tmp_path / "d.csv"), "--output", str(output))
    assert result.exit_code == 0 and output.read_text() == "y\n1\n0\n"
    assert stat.S_IMODE(output.stat().st_mode) == 0o664


def test_graph_and_export_write_atomically_with_the_umask_mode(cli, tmp_path, and_net, monkeypatch):
    pytest.importorskip("onnx")
    old = os.umask(0o022)
    files._UMASK = None
    try:
        assert cli("graph", str(and_net), "-o", str(tmp_path / "and.dot")).exit_code == 0
        model = tmp_path / "and.onnx"
        model.write_bytes(b"old")
        model.chmod(0o644)
        assert cli("export", str(and_net), "-o", str(model)).exit_code == 0
    finally:
        os.umask(old)
        files._UMASK = None
    assert stat.S_IMODE((tmp_path / "and.dot").stat().st_mode) == 0o644
    assert stat.S_IMODE(model.stat().st_mode) == 0o644 and model.read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.dot", "and.net", "and.onnx"]


# -- .npz archives (issue 11, item 21) -------------------------------------------------------


def test_an_npz_listing_too_many_arrays_is_refused_before_its_directory_is_read(tmp_path, monkeypatch):
    import zipfile

    from netlang import limits

    with zipfile.ZipFile(tmp_path / "w.npz", "w") as archive:
        for i in range(5):
            archive.writestr(f"W{i}.npy", b"")
    monkeypatch.setattr(limits, "MAX_NPZ_MEMBERS", 4)

    def no_directory(*args, **kwargs):
        raise AssertionError("the zip directory was read")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", no_directory)
    with pytest.raises(netlang.NetlangError, match="'w.npz' lists 5 arrays; the limit is 4") as caught:
        netlang.compile('input x[2]\nnode y = relu(load("w.npz", "W1") @ x)', base_dir=tmp_path)
    assert caught.value.code == "limit-exceeded"


def test_zip_member_count_reads_the_zip64_record(tmp_path):
    import zipfile

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(70_000):  # past 65,535: the count moves to the ZIP64 end record
            archive.writestr(f"{i}", b"")
    with open(path, "rb") as stream:
        assert files.zip_member_count(stream) == 70_000
        assert stream.tell() == 0
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with open(tmp_path / "not.zip", "rb") as stream:
        assert files.zip_member_count(stream) is None


def test_the_missing_array_hint_lists_a_few_names_not_all(tmp_path):
    arrays = {f"A{i}": np.ones(2) for i in range(30)}
    np.savez(tmp_path / "w.npz", **arrays)
    with pytest.raises(netlang.NetlangError) as caught:
        netlang.compile('input x[2]\nnode y = relu(load("w.npz", "W") @ x)', base_dir=tmp_path)
    assert caught.value.hint == "it holds A0, A1, A2, A3, A4, A5, A6, A7, ... (30 in all)"
