"""Weight files under attack: pickles, truncation, corruption, NaN, hostile headers."""

from __future__ import annotations

import io
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from netlang.weights import WeightFileError, load_weights


def _npy(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=True)
    return stream.getvalue()


def _load(tmp_path: Path, name: str, data: bytes, key=None):
    path = tmp_path / name
    path.write_bytes(data)
    return load_weights(path, key)


def test_a_valid_file_loads(tmp_path):
    array = np.array([[1.0, -2.5], [3.0, 4.0]])
    assert np.array_equal(_load(tmp_path, "w.npy", _npy(array)), array)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_named_npy_are_refused_without_unpickling(tmp_path, protocol):
    class Bomb:
        def __reduce__(self):  # would run when unpickled
            return (pytest.fail, ("a pickle was loaded",))

    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w.npy", pickle.dumps(Bomb(), protocol=protocol))
    assert info.value.code == "pickle-refused" and "'w.npy'" in str(info.value)


def test_object_arrays_are_refused_before_their_pickle_is_read(tmp_path):
    data = _npy(np.array([1, None], dtype=object))
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w.npy", data)
    assert info.value.code == "pickle-refused"


def test_object_arrays_inside_npz_are_refused(tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("W1.npy", _npy(np.array([1, None], dtype=object)))
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "m.npz", stream.getvalue(), "W1")
    assert info.value.code == "pickle-refused" and "m.npz:W1" in str(info.value)


def test_every_truncation_is_an_error_naming_the_file(tmp_path):
    data = _npy(np.arange(12.0).reshape(3, 4))
    for end in range(len(data)):
        with pytest.raises(WeightFileError) as info:
            _load(tmp_path, "cut.npy", data[:end])
        assert "cut.npy" in str(info.value), end


def test_truncated_npz_archives_are_errors(tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", _npy(np.random.default_rng(1).random((20, 20))))
    data = stream.getvalue()
    for end in range(0, len(data), 97):
        with pytest.raises(WeightFileError) as info:
            _load(tmp_path, "m.npz", data[:end], "W1")
        assert "m.npz" in str(info.value)


def test_flipped_bytes_give_an_array_or_an_error(tmp_path):
    data = _npy(np.arange(6.0).reshape(2, 3))
    rng = random.Random(3)
    for _ in range(300):
        corrupt = bytearray(data)
        position = rng.randrange(len(corrupt))
        corrupt[position] ^= 1 << rng.randrange(8)
        try:
            array = _load(tmp_path, "w.npy", bytes(corrupt))
        except WeightFileError as error:
            assert "w.npy" in str(error)
        else:
            assert array.ndim in (1, 2) and np.all(np.isfinite(array))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_nan_and_infinity_are_refused(tmp_path, value, suffix):
    array = np.array([[1.0, 2.0], [value, 4.0]])
    if suffix == ".npy":
        data = _npy(array)
    else:
        data = "\n".join(",".join(str(v) for v in row) for row in array).encode()
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w" + suffix, data)
    # .npy files name the element; .csv files its line and column (line 2, column 1).
    where = "at [1, 0]" if suffix == ".npy" else "w.csv:2:1:"
    assert info.value.code == "non-finite-weight" and where in str(info.value)


def _header(shape: str, descr: str = "<f8") -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    text += b" " * (64 - (10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


@pytest.mark.parametrize(
    "shape, words",
    [
        ("(4294967296, 4294967296)", "18446744073709551616 entries"),  # wraps to 0 in int64
        ("(-1, 4)", "negative size"),
        ("(100000000000,)", "100000000000 entries"),
        ("(2, 3", "corrupt header"),
    ],
)
def test_hostile_shapes_are_refused_before_reading_data(tmp_path, shape, words):
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w.npy", _header(shape))
    assert words in str(info.value)


@pytest.mark.parametrize("descr", ["<c16", "<U3", "|S4", "<M8[s]", "|V8"])
def test_non_numeric_dtypes_are_refused(tmp_path, descr):
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w.npy", _header("(1,)", descr) + b"\x00" * 64)
    assert "w.npy" in str(info.value)


def test_shapes_are_checked_before_use(tmp_path):
    for array in (np.zeros((2, 2, 2)), np.zeros((0,)), np.zeros((3, 0)), np.float64(1.0)):
        with pytest.raises(WeightFileError) as info:
            _load(tmp_path, "w.npy", _npy(np.asarray(array)))
        assert info.value.code == "bad-shape"


def test_a_shape_mismatch_is_reported_at_the_load_call(tmp_path):
    import netlang

    np.save(tmp_path / "W.npy", np.ones((3, 5)))
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile('input x[4]\nlet W = load("W.npy")\nlayer h = W @ x\n', "m.net", base_dir=tmp_path)
    assert info.value.code == "shape-mismatch" and info.value.line == 3
    assert "W is 3x5" in info.value.message


def test_an_empty_csv_is_an_error_without_a_numpy_warning(tmp_path, recwarn):
    with pytest.raises(WeightFileError) as info:
        _load(tmp_path, "w.csv", b"")
    assert info.value.code == "bad-shape"
    assert not recwarn.list


def test_weight_files_are_never_unpickled(tmp_path, monkeypatch):
    # Whatever the file, netlang never calls pickle.
    def refuse(*args, **kwargs):
        raise AssertionError("pickle.load was called")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    for data in (_npy(np.array([1, None], dtype=object)), pickle.dumps([1.0]), _npy(np.ones(3))):
        try:
            _load(tmp_path, "w.npy", data)
        except WeightFileError:
            pass
