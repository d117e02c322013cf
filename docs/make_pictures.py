"""Generate the pictures of the docs from the examples: docs/pictures/*.svg (diagrams) and *.png (boundaries, curves).

    python docs/make_pictures.py            # rewrites docs/pictures/
    python docs/make_pictures.py OUT_DIR    # writes somewhere else (the tests do)

Needs Graphviz's `dot` (apt-get install graphviz) and matplotlib (pip install '.[plot]').
The pictures are committed; run this again after changing an example or the drawing code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"

# (picture, example, what to plot): every picture in the docs, and where it comes from.
DIAGRAMS = [
    ("neuron-graph.svg", "neuron.net"),
    ("and-graph.svg", "and.net"),
    ("xor-graph.svg", "xor.net"),
    ("sigmoid-graph.svg", "sigmoid.net"),
    ("matrix-graph.svg", "matrix.net"),
]
BOUNDARIES = [
    ("and-boundary.png", "and.net", None),
    ("or-boundary.png", "or.net", None),
    ("xor-boundary.png", "xor.net", None),
    ("xor-s1-boundary.png", "xor.net", "s1"),
    ("sigmoid-boundary.png", "sigmoid.net", None),
]
CURVES = [
    ("neuron-curve.png", "neuron.net", None),
]

# A perceptron's line after each epoch of its training (netlang train --lines).
LINES = [
    ("and-lines.png", "learn/and.net"),
]


def make_pictures(out_dir: Path) -> list[Path]:
    """Write every picture into ``out_dir``; the paths written."""
    sys.path.insert(0, str(HERE.parent))  # the netlang next to this script, installed or not
    import netlang
    from netlang import boundary, diagram

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for picture, example in DIAGRAMS:
        network = netlang.load(EXAMPLES / example)
        svg = diagram.render(diagram.to_dot(network, title=example), "svg", what=f"drawing {picture}")
        written.append(_write(out_dir / picture, svg))
    for picture, example, signal in BOUNDARIES:
        network = netlang.load(EXAMPLES / example)
        written.append(_save(boundary.figure(boundary.regions(network, signal), title=example), out_dir / picture))
    for picture, example, signal in CURVES:
        network = netlang.load(EXAMPLES / example)
        written.append(_save(boundary.curve_figure(boundary.curve(network, signal), title=example), out_dir / picture))
    from netlang import history

    for picture, example in LINES:
        trained = netlang.train(EXAMPLES / example, write=False)
        written.append(_save(history.lines_figure(trained, title=example), out_dir / picture))
    return written


def _save(figure: object, path: Path) -> Path:
    # No software version or date in the file: regenerating changes a picture only if it looks different.
    figure.savefig(path, metadata={"Software": None})  # type: ignore[attr-defined]
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else HERE / "pictures"
    try:
        written = make_pictures(out_dir)
    except Exception as error:  # no Graphviz or no matplotlib (netlang's missing-extra error): say which, and how
        if getattr(error, "code", None) != "missing-extra" and not isinstance(error, RuntimeError):
            raise
        print(f"make_pictures: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
