"""Writes weights.npz and images.csv for mnist.net, deterministically (run it from anywhere).

The weights are random, not trained: the example shows the size and shape of an
MNIST network (784 pixels, 100 hidden sigmoid neurons, 10 outputs) and how its
weights are loaded, not a digit recogniser. They are stored as float32 to keep
the file small; netlang reads them as float64.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 3


def weights(rng: np.random.Generator) -> dict:
    # Scaled like the book's initialisation: normal with standard deviation 1/sqrt(inputs).
    return {
        "W1": rng.normal(0.0, 784**-0.5, (100, 784)).astype(np.float32),
        "b1": rng.normal(0.0, 0.1, 100).astype(np.float32),
        "W2": rng.normal(0.0, 100**-0.5, (10, 100)).astype(np.float32),
        "b2": rng.normal(0.0, 0.1, 10).astype(np.float32),
    }


def images(rng: np.random.Generator, count: int = 20) -> np.ndarray:
    """28x28 'images': a few bright strokes on a dark background, pixel values 0 to 1 in steps of 0.01."""
    pictures = np.zeros((count, 28, 28))
    for picture in pictures:
        for _ in range(rng.integers(2, 5)):
            row, column = rng.integers(4, 24, 2)
            d_row, d_column = rng.integers(-1, 2, 2)
            for step in range(rng.integers(6, 14)):
                r, c = row + step * d_row, column + step * d_column
                if 0 <= r < 28 and 0 <= c < 28:
                    picture[r, c] = max(picture[r, c], rng.uniform(0.5, 1.0))
    return np.round(pictures.reshape(count, 784), 2)


def write(directory: Path) -> None:
    rng = np.random.default_rng(SEED)
    np.savez(directory / "weights.npz", **weights(rng))
    pixels = images(rng)
    header = ",".join(f"x[{i}]" for i in range(784))
    lines = [",".join("0" if v == 0 else f"{v:g}" for v in row) for row in pixels]
    (directory / "images.csv").write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
