"""Writes train.csv and test.csv for digits.net from scikit-learn's digits, deterministically.

scikit-learn ships 1,797 handwritten digits of 8x8 pixels (values 0 to 16) inside its package,
so nothing is downloaded: ``pip install 'netlang[digits]'``, then ``python make_data.py``
(from anywhere; ``python make_data.py FOLDER`` writes into FOLDER). The samples are split
70/30 by a fixed shuffle (1,258 to train, 539 to test); each file has a header, the label
first (``label``), then the pixels row by row as ``x[0]`` ... ``x[63]``, scaled to 0..1
(``pixel/16``, exact in binary, written as the shortest decimal), so the network reads them
as they are and `netlang score` needs no scaling either.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 13
TRAIN_FRACTION = 0.7


def split() -> tuple:
    """(train pixels, train labels, test pixels, test labels): the fixed 70/30 split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit("the digits come with scikit-learn: pip install 'netlang[digits]' (or scikit-learn)") from None
    digits = load_digits()
    order = np.random.default_rng(SEED).permutation(len(digits.target))
    cut = int(round(TRAIN_FRACTION * len(order)))
    pixels = digits.data / 16.0
    labels = digits.target.astype(np.int64)
    return pixels[order[:cut]], labels[order[:cut]], pixels[order[cut:]], labels[order[cut:]]


def csv_text(pixels: np.ndarray, labels: np.ndarray) -> str:
    header = "label," + ",".join(f"x[{i}]" for i in range(pixels.shape[1]))
    lines = [header]
    for label, row in zip(labels.tolist(), pixels.tolist()):
        lines.append(str(label) + "," + ",".join("0" if v == 0 else "1" if v == 1 else repr(v) for v in row))
    return "\n".join(lines) + "\n"


def write(directory: Path) -> None:
    train_x, train_y, test_x, test_y = split()
    (directory / "train.csv").write_text(csv_text(train_x, train_y), encoding="utf-8")
    (directory / "test.csv").write_text(csv_text(test_x, test_y), encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
