"""Weight files: .npy, .npz and .csv read safely, every problem named at the load(...) call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang.weights import WeightFileError, load_weights


def _load_error(tmp_path: Path, args: str) -> netlang.NetlangError:
    source = f"input x\nlet W = load({args})\nnode y = x\n"
    (tmp_path / "t.net").write_text(source)
    with pytest.raises(netlang.NetlangError) as info:
        netlang.load(str(tmp_path / "t.net"))
    (error,) = info.value.errors
    assert (error.line, error.column) == (2, 9)  # at the load(...) call
    return error


def test_npy_float32_fortran_and_integers_become_float64(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(tmp_path / "i.npy", np.array([1, -2], dtype=np.int16))
    matrix = load_weights(tmp_path / "f.npy")
    assert matrix.dtype == np.float64 and matrix.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert load_weights(tmp_path / "i.npy").tolist() == [1.0, -2.0]


def test_pickles_are_refused_before_anything_is_unpickled(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, 2], dtype=object), allow_pickle=True)
    error = _load_error(tmp_path, '"obj.npy"')
    assert error.code == "pickle-refused" and "pickle" in error.message


def test_pickled_npz_member_is_refused(tmp_path):
    np.savez(tmp_path / "m.npz", W=np.array([None, 1.0], dtype=object))
    assert _load_error(tmp_path, '"m.npz", "W"').code == "pickle-refused"


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((4, 4)))
    data = (tmp_path / "w.npy").read_bytes()
    (tmp_path / "w.npy").write_bytes(data[:-8])
    error = _load_error(tmp_path, '"w.npy"')
    assert "truncated" in error.message and "16 values" in error.message


def test_corrupt_npy_and_npz(tmp_path):
    (tmp_path / "w.npy").write_bytes(b"not a numpy file at all")
    assert "w.npy" in _load_error(tmp_path, '"w.npy"').message
    (tmp_path / "m.npz").write_bytes(b"PK\x03\x04 broken zip")
    assert _load_error(tmp_path, '"m.npz", "W"').code == "bad-weight-file"


def test_npy_with_absurd_header_shape_is_refused_before_reading(tmp_path):
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**9)}
    with open(tmp_path / "big.npy", "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        stream.write(b"\0" * 64)
    assert _load_error(tmp_path, '"big.npy"').code == "limit-exceeded"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, bad):
    np.save(tmp_path / "w.npy", np.array([[1.0, 2.0], [3.0, bad]]))
    error = _load_error(tmp_path, '"w.npy"')
    assert error.code == "non-finite-weight" and "[1, 1]" in error.message


@pytest.mark.parametrize("shape", [(), (2, 2, 2), (0,), (3, 0)])
def test_shapes_other_than_vector_or_matrix(tmp_path, shape):
    np.save(tmp_path / "w.npy", np.zeros(shape))
    error = _load_error(tmp_path, '"w.npy"')
    assert error.code == "bad-shape" and str(shape) in error.message


def test_strings_and_complex_numbers_are_not_weights(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    np.save(tmp_path / "c.npy", np.array([1j]))
    assert "weights must be real numbers" in _load_error(tmp_path, '"s.npy"').message
    assert "complex" in _load_error(tmp_path, '"c.npy"').message


def test_npz_members_by_name(tmp_path):
    np.savez(tmp_path / "model.npz", W1=np.eye(2), b1=np.ones(2), W2=np.ones((1, 2)))
    missing = _load_error(tmp_path, '"model.npz", "W3"')
    assert missing.code == "bad-arguments" and "no array named 'W3'" in missing.message
    assert missing.hint == "it holds W1, b1, W2"
    unnamed = _load_error(tmp_path, '"model.npz"')
    assert "name the one to load" in unnamed.message and "W1, b1, W2" in unnamed.hint
    assert _load_error(tmp_path, '"model.npz", "W1", "b1"').code == "bad-arguments"


def test_compressed_npz_is_read(tmp_path):
    np.savez_compressed(tmp_path / "m.npz", W=np.arange(4.0).reshape(2, 2))
    assert load_weights(tmp_path / "m.npz", "W").tolist() == [[0, 1], [2, 3]]


def test_only_npz_takes_an_array_name(tmp_path):
    np.save(tmp_path / "w.npy", np.eye(2))
    assert "only .npz files take an array name" in _load_error(tmp_path, '"w.npy", "W"').message


def test_missing_file_and_unknown_kind(tmp_path):
    error = _load_error(tmp_path, '"nowhere.npy"')
    assert error.code == "file-not-found" and "relative to the .net file" in error.hint
    (tmp_path / "w.txt").write_text("1, 2\n")
    assert ".npy, .npz or .csv" in _load_error(tmp_path, '"w.txt"').message


def test_csv_matrix_vector_and_comments(tmp_path):
    (tmp_path / "m.csv").write_text("# a 2x3 matrix\n1, 2, 3\n\n4,5,6\n")
    (tmp_path / "row.csv").write_text("1,2,3\n")
    (tmp_path / "column.csv").write_text("1\n2\r\n")
    assert load_weights(tmp_path / "m.csv").tolist() == [[1, 2, 3], [4, 5, 6]]
    assert load_weights(tmp_path / "row.csv").tolist() == [1, 2, 3]
    assert load_weights(tmp_path / "column.csv").tolist() == [1, 2]


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("1,2\nabc,4\n", "w.csv:2:1", "'abc' in column 1 is not a number"),
        ("1,2\n3\n", "w.csv:2:1", "line 2 has 1 value, but the first row has 2"),
        ("1,2\n3,nan\n", "w.csv:2:3", "not a finite"),
        ("1,inf\n", "w.csv:1:3", "not a finite"),
        ("1,,3\n", "w.csv:1:3", "missing"),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path, text, where, words):
    (tmp_path / "w.csv").write_text(text)
    error = _load_error(tmp_path, '"w.csv"')
    assert where in error.message and words in error.message


def test_empty_csv(tmp_path):
    (tmp_path / "w.csv").write_text("# nothing\n\n")
    assert "holds no numbers" in _load_error(tmp_path, '"w.csv"').message


def test_load_weights_raises_weight_file_error_directly(tmp_path):
    with pytest.raises(WeightFileError) as info:
        load_weights(tmp_path / "absent.csv")
    assert info.value.code == "file-not-found"
