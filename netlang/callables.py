"""Every function a .net file can call, by name: the activations and the built-ins.

The one table of callable names. The checker, the interpreter, the runtime (through
:mod:`netlang.activations`, which adds the numpy kernels) and the Pygments lexer all
read it; it imports nothing, so tools that only need the names (a highlighter, an
editor) stay light.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Tuple


class Callable(NamedTuple):
    """One function: an ``activation`` (wraps a whole node or layer) or a ``builtin`` (a value)."""

    name: str
    kind: str  # "activation" or "builtin"
    summary: str
    whole_vector: bool = False  # softmax: each output depends on the whole layer
    public: bool = True  # False for forms only reachable through syntax, e.g. step(a >= b)
    # Made of comparisons, sums and products only, so exact on rationals (netlang run --exact);
    # the others have irrational values and are computed in float64 there.
    piecewise_linear: bool = False

    def __repr__(self) -> str:
        return f"Callable({self.name!r}, {self.kind})"


CALLABLES: Dict[str, Callable] = {
    c.name: c
    for c in [
        Callable("step", "activation", "1 where the input is > 0, else 0", piecewise_linear=True),
        Callable("sigmoid", "activation", "1 / (1 + e^-z)"),
        Callable("relu", "activation", "max(z, 0)", piecewise_linear=True),
        Callable("tanh", "activation", "hyperbolic tangent"),
        Callable("identity", "activation", "z unchanged", piecewise_linear=True),
        Callable("softmax", "activation", "e^z_i / sum_j e^z_j over a layer", whole_vector=True),
        Callable("step_ge", "activation", "step(a >= b): 1 where z >= 0", public=False, piecewise_linear=True),
        Callable("load", "builtin", "an array read from a weight file: load(\"w.npy\"), load(\"m.npz\", \"W1\")"),
    ]
}

# The activations a user can write, in the table's order.
PUBLIC_NAMES: Tuple[str, ...] = tuple(c.name for c in CALLABLES.values() if c.kind == "activation" and c.public)
# Functions that are not activations; an activation may only wrap a whole definition.
BUILTINS: Tuple[str, ...] = tuple(c.name for c in CALLABLES.values() if c.kind == "builtin")


def is_activation(name: str) -> bool:
    """Whether ``name`` is an activation a user can write (``step``, not ``step_ge``)."""
    entry = CALLABLES.get(name)
    return entry is not None and entry.kind == "activation" and entry.public
