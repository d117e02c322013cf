"""A netlist written node by node: 64 inputs, 256 sigmoid nodes of 64 terms each, 10 outputs.

Evaluation: ``net(X)`` against numpy on the network's own matrices (the same weights, taken
from ``net.layers``, written as ``sigmoid(sigmoid(X @ W1.T + b1) @ W2.T + b2)``).
Parse plus compile: ``netlang.compile(text)`` against Python's ``ast.parse`` on Python text
of the same shape (one assignment per node), compared per byte of text.
"""

from __future__ import annotations

import ast

import numpy as np

from _common import GcPaused, arguments, interleaved, machine_note, report

INPUTS, HIDDEN, TERMS, OUTPUTS = 64, 256, 64, 10


def netlist(rng: np.random.Generator) -> str:
    lines = ["# generated: 64 inputs, 256 sigmoid nodes of 64 terms, 10 outputs"]
    lines.append("input " + ", ".join(f"x{i}" for i in range(INPUTS)))
    for n in range(HIDDEN):
        terms = " + ".join(f"{w:.6f}*x{i}" for i, w in enumerate(rng.normal(0, 0.3, INPUTS)))
        lines.append(f"node h{n} = sigmoid({terms} + {rng.normal():.6f})")
    for n in range(OUTPUTS):
        sources = sorted(rng.choice(HIDDEN, TERMS, replace=False))
        terms = " + ".join(f"{w:.6f}*h{i}" for i, w in zip(sources, rng.normal(0, 0.3, TERMS)))
        lines.append(f"node y{n} = sigmoid({terms} - {abs(rng.normal()):.6f})")
    lines.append("output " + ", ".join(f"y{n}" for n in range(OUTPUTS)))
    return "\n".join(lines) + "\n"


def as_python(text: str) -> str:
    """The same statements as Python assignments (same names, numbers and operators)."""
    out = []
    for line in text.splitlines():
        if line.startswith("node "):
            out.append(line[5:])
        elif line.startswith(("input ", "output ")):
            keyword, names = line.split(" ", 1)
            out.append(f"{keyword}_ = ({names})")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    import netlang

    machine_note()
    rng = np.random.default_rng(0)
    text = netlist(rng)
    python = as_python(text)
    net = netlang.compile(text)
    (W1, b1), (W2, b2) = [(layer.weights, layer.bias) for layer in net.layers]
    assert W1.shape == (HIDDEN, INPUTS) and W2.shape[0] == OUTPUTS

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    columns = [net.layers[0].rows.index(name) for name in net.layers[1].columns]

    def reference(X: np.ndarray) -> np.ndarray:
        return sigmoid(sigmoid(X @ W1.T + b1)[:, columns] @ W2.T + b2)

    for batch, repeats, number in ((1000 if args.quick else 10_000, 5 if args.quick else 15, 1),
                                   (1, 5 if args.quick else 15, 200 if args.quick else 2000)):
        X = rng.random((batch, INPUTS))
        assert np.allclose(net(X), reference(X), rtol=1e-12, atol=1e-12)
        with GcPaused():
            base, ours = interleaved([lambda: reference(X), lambda: net(X)], repeats, number)
        report(f"evaluation, batch {batch}", [("numpy on the same matrices", base), ("netlang net(X)", ours)], base,
               "netlang within 1.1x of numpy")

    repeats = 3 if args.quick else 15
    print(f"\nparse plus compile of {len(text)} bytes ({HIDDEN + OUTPUTS} nodes); Python text: {len(python)} bytes")
    # Twice: as a program calls each (the collector on; netlang.compile pauses it while it
    # works, since parsing makes no reference cycles, and ast.parse does not), which is the
    # target; and with the collector paused around both, as timeit would, for comparison.
    for title, paused in (("per byte of text, as a program calls each", False),
                          ("per byte of text, the collector paused for both", True)):
        functions = [lambda: ast.parse(python), lambda: netlang.compile(text)]
        if paused:
            with GcPaused():
                times = interleaved(functions, repeats)
        else:
            times = interleaved(functions, repeats)
        per_kb = [times[0] / len(python) * 1e3, times[1] / len(text) * 1e3]
        report(
            title,
            [("ast.parse (Python)", per_kb[0]), ("netlang.compile (parse+check+lower)", per_kb[1])],
            per_kb[0],
            None if paused else "netlang at most 4x ast.parse (times shown per kB)",
        )

if __name__ == "__main__":
    main()
