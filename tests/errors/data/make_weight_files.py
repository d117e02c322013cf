"""Writes the broken and adversarial weight and data files that tests/errors/*.net load.

Run it from anywhere (``python tests/errors/data/make_weight_files.py``); the files are
committed, so this only needs running to change them.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=True)
    return stream.getvalue()


def npy_with_header(header: str, payload: bytes = b"") -> bytes:
    """A .npy file with a hand-written header, as a hostile tool could write it."""
    text = header.encode("latin1")
    padding = 64 - (10 + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    return np.lib.format.MAGIC_PREFIX + bytes([1, 0]) + len(text).to_bytes(2, "little") + text + payload


def main() -> None:
    files = {
        "W.npy": npy_bytes(np.array([[1.0, 2.0], [3.0, 4.0]])),
        "column.npy": npy_bytes(np.ones((4, 1))),
        "vector.npy": npy_bytes(np.arange(4.0)),
        # Data (samples x inputs) for a network of two inputs, with a column too many.
        "and.npy": npy_bytes(np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])),
        "and-truncated.npy": npy_bytes(np.zeros((100, 2)))[:-40],
        "pickle.npy": pickle.dumps({"weights": [1.0, 2.0]}, protocol=4),
        "objects.npy": npy_bytes(np.array([1.0, "two"], dtype=object)),
        "truncated.npy": npy_bytes(np.arange(100.0))[:-40],
        "nan.npy": npy_bytes(np.array([0.5, np.nan, 1.0])),
        "infinity.csv": b"1, 2\n3, inf\n",
        "words.csv": b"one, two\nthree, four\n",
        "ragged.csv": b"1, 2, 3\n4, 5\n",
        "empty.csv": b"",
        "cube.npy": npy_bytes(np.zeros((2, 2, 2))),
        "complex.npy": npy_bytes(np.array([1 + 2j])),
        "negative-shape.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 4), }"),
        "huge-shape.npy": npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
        ),
        "not-numpy.npy": b"W = [[1, 2], [3, 4]]\n",
        "corrupt-header.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, "),
        "weights.txt": b"1 2 3\n",
        "not-a-zip.npz": b"PK\x03\x04 this is not really a zip archive",
        # Data for a network of two inputs: text, a value too large for float64 (longdouble,
        # float128 on x86-64), and a cell that would retitle and clear a terminal.
        "text.npy": npy_bytes(np.array([["0", "1"]])),
        "float128.npy": npy_bytes(np.array([[np.longdouble("1e400"), 0]], dtype=np.longdouble)),
        "escape.csv": b"x1,x2\n1,\x1b]0;pwned\x07\x1b[2J0\n",
        "one-array.npz": npy_bytes(np.eye(2)),  # a .npy file under a .npz name
        "sample_weight.pkl": pickle.dumps({"W1": [[1.0, 2.0]], "b1": [0.5]}, protocol=4),  # as "Deep Learning from Scratch" ships
        # Also for two inputs: good; saved as Latin-1; a quoted cell over two lines.
        "and.csv": b"x1,x2\n0,0\n0,1\n1,0\n1,1\n",
        "and-latin1.csv": "# x1 is 1, x2 is 0\u00e9\nx1,x2\n1,0\n".encode("latin1"),
        "and-quoted-newline.csv": b'x1,x2\n1,"1\n0"\n',
        "quoted-newline.csv": b'1,2\n"3\n4",5\n',
    }
    model = io.BytesIO()
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("W1.npy", npy_bytes(np.ones((2, 2))))
        archive.writestr("b1.npy", npy_bytes(np.zeros(2)))
    files["model.npz"] = model.getvalue()
    corrupt = io.BytesIO()
    with zipfile.ZipFile(corrupt, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", npy_bytes(np.random.default_rng(0).random((50, 50))))
    data = bytearray(corrupt.getvalue())
    data[400:440] = b"\xff" * 40  # inside the compressed stream: zlib cannot inflate it
    files["corrupt.npz"] = bytes(data)
    for name, data in files.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
