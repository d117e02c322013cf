"""The compiled-network cache: hits skip the parser, anything changed or damaged is rebuilt."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import cache, parser

SOURCE = """input x[3]
let W = load("w.npz", "W")
layer h = sigmoid(W @ x + [0.5, -0.5])
node y = step(h[0] - h[1] > 0.1)
"""


@pytest.fixture
def model(tmp_path):
    np.savez(tmp_path / "w.npz", W=np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]]))
    path = tmp_path / "model.net"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def parses(monkeypatch):
    """Counts the parses that netlang.load does."""
    calls = []
    original = parser.parse_recovering

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(parser, "parse_recovering", counting)
    return calls


def _same(a: netlang.Network, b: netlang.Network) -> None:
    assert repr(a) == repr(b)
    assert a.input_columns == b.input_columns and a.output_columns == b.output_columns
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.weights, lb.weights) and np.array_equal(la.bias, lb.bias)
        assert la.activation == lb.activation and la.rows == lb.rows and la.columns == lb.columns
    X = np.random.default_rng(0).normal(size=(20, a.input_width))
    assert np.array_equal(a(X), b(X))


def _entries():
    return sorted(cache.directory().glob("*.npz"))


def test_second_load_is_a_hit_without_parsing(model, parses):
    first = netlang.load(model)
    assert len(parses) == 1 and len(_entries()) == 1
    second = netlang.load(model)
    assert len(parses) == 1
    _same(first, second)


def test_editing_the_source_or_a_weight_file_rebuilds(model, parses):
    netlang.load(model)
    model.write_text(SOURCE.replace("0.1", "0.2"))
    netlang.load(model)
    assert len(parses) == 2
    netlang.load(model)
    assert len(parses) == 2
    # Same size, same mtime: only the contents tell.
    stat = (model.parent / "w.npz").stat()
    np.savez(model.parent / "w.npz", W=np.array([[9.0, -2.0, 0.5], [0.3, 0.2, -0.1]]))
    os.utime(model.parent / "w.npz", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    net = netlang.load(model)
    assert len(parses) == 3
    assert net.layers[0].weights[0, 0] == 9.0


def test_the_same_source_elsewhere_reads_its_own_weights(model, tmp_path, parses):
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.net").write_text(SOURCE)
    np.savez(other / "w.npz", W=np.ones((2, 3)))
    a, b = netlang.load(model), netlang.load(other / "model.net")
    assert a.layers[0].weights[0, 0] == 1.0 and b.layers[0].weights[0, 1] == 1.0
    assert len(parses) == 2


def test_files_with_errors_are_never_cached(tmp_path):
    bad = tmp_path / "bad.net"
    bad.write_text("input x\nnode y = step(x > q)\n")
    for _ in range(2):
        with pytest.raises(netlang.NetlangError) as error:
            netlang.load(bad)
        assert "unknown name 'q'" in error.value.format()
    assert _entries() == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a zip file"),
        lambda path: path.write_bytes(path.read_bytes()[:100]),
        lambda path: _rewrite(path, lambda meta, arrays: arrays.update(w0=np.ones((3, 3)))),
        lambda path: _rewrite(path, lambda meta, arrays: arrays.update(b0=np.ones(5))),
        lambda path: _rewrite(path, lambda meta, arrays: arrays.update(c0=np.array([2, 1, 0]))),
        lambda path: _rewrite(path, lambda meta, arrays: arrays.update(c0=np.array([0, 1, 7]))),
        lambda path: _rewrite(path, lambda meta, arrays: meta.update(key="0" * 64)),
        lambda path: _rewrite(path, lambda meta, arrays: meta["layers"][0].update(segments=[[0, 1, "sigmoid"]])),
        lambda path: _rewrite(path, lambda meta, arrays: meta["layers"][0].update(segments=[[0, 2, "evil"]])),
        lambda path: _rewrite(path, lambda meta, arrays: meta.update(outputs=["nope"])),
        lambda path: _rewrite(path, lambda meta, arrays: meta.update(format=-1)),
        lambda path: _rewrite(path, lambda meta, arrays: arrays.update(meta=np.frombuffer(b"{not json", np.uint8))),
    ],
)
def test_a_damaged_or_foreign_entry_is_ignored_and_rebuilt(model, parses, damage):
    good = netlang.load(model)
    (entry,) = _entries()
    damage(entry)
    rebuilt = netlang.load(model)
    assert len(parses) == 2
    _same(good, rebuilt)
    netlang.load(model)
    assert len(parses) == 2  # the rebuilt entry is good again


def _rewrite(path: Path, change) -> None:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(arrays.pop("meta")))
    change(meta, arrays)
    if "meta" not in arrays:
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def test_an_entry_holding_a_pickle_is_not_loaded(model, parses):
    netlang.load(model)
    (entry,) = _entries()
    with open(entry, "wb") as stream:
        np.savez(stream, meta=np.array([{"key": "x"}], dtype=object))
    netlang.load(model)
    assert len(parses) == 2


def test_sparse_networks_round_trip(tmp_path, parses):
    lines = ["input x[1100]"]  # 1000 x 1100 cells, 2 in a row used: stored sparse
    lines += [f"node n{i} = sigmoid(x[{i}] - 0.5*x[{(i * 7) % 1100}] + {i / 100})" for i in range(1000)]
    path = tmp_path / "sparse.net"
    path.write_text("\n".join(lines) + "\n")
    first = netlang.load(path)
    assert any(layer.is_sparse for layer in first.layers)
    second = netlang.load(path)
    assert len(parses) == 1
    assert second.layers[0].is_sparse
    _same(first, second)


def test_no_cache_and_the_directory_settings(model, monkeypatch, tmp_path, parses):
    monkeypatch.setenv("NETLANG_NO_CACHE", "1")
    netlang.load(model)
    netlang.load(model)
    assert len(parses) == 2 and _entries() == []
    monkeypatch.delenv("NETLANG_NO_CACHE")
    monkeypatch.delenv("NETLANG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "netlang"
    netlang.load(model)
    assert len(list((tmp_path / "xdg" / "netlang").glob("*.npz"))) == 1


def test_an_unwritable_cache_is_not_an_error(model, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NETLANG_CACHE_DIR", str(blocker / "sub"))
    assert netlang.load(model).output_names == ("y",)


def test_a_file_over_the_size_limit_is_read_no_further(model, monkeypatch):
    from netlang import limits

    assert cache.key(model) is not None
    monkeypatch.setattr(limits, "MAX_SOURCE_BYTES", 10)
    assert cache.key(model) is None
    with pytest.raises(netlang.NetlangError) as error:
        netlang.load(model)
    assert error.value.code == "file-too-large"


# --- hardening (issue 11, items 10 and 15) ---------------------------------------------


def _only_entry() -> Path:
    [entry] = _entries()
    return entry


def _in_a_thread(function, seconds: float = 20):
    import threading

    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"did not finish within {seconds} s"
    return outcome[0]


def test_a_cache_directory_others_may_write_to_is_not_used(model, parses):
    folder = cache.directory()
    folder.chmod(0o777)
    netlang.load(model)
    netlang.load(model)
    assert len(parses) == 2 and not _entries()  # nothing written, nothing read
    folder.chmod(0o700)
    netlang.load(model)
    assert len(_entries()) == 1
    folder.chmod(0o757)  # an entry written while it was private is not trusted either
    netlang.load(model)
    assert len(parses) == 4


def test_a_new_cache_directory_is_private(model, monkeypatch, tmp_path):
    monkeypatch.setenv("NETLANG_CACHE_DIR", str(tmp_path / "new" / "cache"))
    netlang.load(model)
    assert stat.S_IMODE((tmp_path / "new" / "cache").stat().st_mode) == 0o700


def test_a_fifo_as_an_entry_is_a_miss_not_a_hang(model, parses):
    netlang.load(model)
    entry = _only_entry()
    entry.unlink()
    os.mkfifo(entry)
    _in_a_thread(lambda: netlang.load(model))
    _in_a_thread(lambda: netlang.load(model))
    assert len(parses) == 3  # read as a miss each time; never written through
    assert stat.S_ISFIFO(os.lstat(entry).st_mode)


def test_a_link_as_an_entry_is_neither_read_nor_written_through(model, parses, tmp_path):
    netlang.load(model)
    entry = _only_entry()
    elsewhere = tmp_path / "elsewhere.npz"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    netlang.load(model)
    assert len(parses) == 2 and entry.is_symlink()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_special_file_among_an_entrys_weight_files_is_a_miss(model, parses, special, tmp_path):
    netlang.load(model)
    entry = _only_entry()
    with np.load(entry) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo")
        special = str(tmp_path / "fifo")
    meta["weights"] = [[special, meta["weights"][0][1]]]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(entry, **arrays)
    _in_a_thread(lambda: netlang.load(model))
    assert len(parses) == 2


def test_an_entry_unpacking_to_more_than_its_bound_is_not_read(model, parses, monkeypatch):
    """A small entry whose member inflates to gigabytes (declared in the zip directory) is refused unread."""
    import zipfile

    netlang.load(model)
    entry = _only_entry()
    monkeypatch.setattr(cache, "_MAX_ENTRY_FILE_BYTES", 1 << 20)
    with zipfile.ZipFile(entry, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.npy", b"\0" * (2 << 20))  # 2 MiB of zeros: a few kB deflated
    assert entry.stat().st_size < 1 << 20
    netlang.load(model)
    assert len(parses) == 2


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_an_entry_member_whose_header_claims_more_than_it_holds_is_not_read(model, parses):
    import zipfile

    netlang.load(model)
    entry = _only_entry()
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    text = header.encode("latin1")
    text += b" " * (64 - (10 + len(text) + 1) % 64) + b"\n"
    member = np.lib.format.MAGIC_PREFIX + bytes([1, 0]) + len(text).to_bytes(2, "little") + text
    with zipfile.ZipFile(entry, "a") as archive:
        archive.writestr("b0.npy", member)  # a second b0: zipfile reads the last one
    netlang.load(model)
    assert len(parses) == 2


def test_an_entry_copied_from_another_source_is_not_used(model, parses, tmp_path):
    """An entry is bound to the bytes it was compiled from: another file's entry under this key is a miss."""
    netlang.load(model)
    first = _only_entry()
    other = tmp_path / "other.net"
    other.write_text(SOURCE.replace("0.1", "0.3"))
    netlang.load(other)
    [second] = [e for e in _entries() if e != first]
    first.write_bytes(second.read_bytes())
    netlang.load(model)
    assert len(parses) == 3
