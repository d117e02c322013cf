"""The compiled-network cache: hits skip the parser, anything changed or damaged is rebuilt."""

from __future__ import annotations

import json
import os
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
