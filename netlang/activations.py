"""Activation functions: the numpy kernel and the scalar reference of each activation.

The names, summaries and properties come from :data:`netlang.callables.CALLABLES`, the one
table of functions a .net file can call; this module adds the code. Each entry has a numpy kernel that works in place on a block of pre-activations
laid out one sample per row and one neuron per column (the runtime passes a transposed
view when it keeps its state the other way round), and an independent scalar
reference (plain ``math``) that the tree-walking interpreter uses, so tests can
compare the two.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

from .callables import CALLABLES, PUBLIC_NAMES


def _step(z: np.ndarray) -> None:
    np.greater(z, 0, out=z)


def _step_ge(z: np.ndarray) -> None:
    np.greater_equal(z, 0, out=z)


def sigmoid_in_place(z: np.ndarray, negated_bias: Any = 0.0) -> None:
    """``z`` becomes ``1 / (1 + exp(-(z + b)))`` given ``-b``: four in-place passes, the bias in the first.

    ``(-b) - z`` rather than ``np.negative``: numpy 2.4's in-place negative misreads a
    one-column strided view such as ``z[:, 7:8]`` of a wider block. The caller silences
    exp's overflow and underflow, whose results (0 and 1) are the right limits.
    """
    np.subtract(negated_bias, z, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)


def _sigmoid(z: np.ndarray) -> None:
    with np.errstate(over="ignore", under="ignore"):
        sigmoid_in_place(z)


def _relu(z: np.ndarray) -> None:
    np.maximum(z, 0, out=z)


def _tanh(z: np.ndarray) -> None:
    np.tanh(z, out=z)


def _identity(z: np.ndarray) -> None:
    pass


def _softmax(z: np.ndarray) -> None:
    # Over the neurons of one layer (the last axis), for each sample; shifted by the max for stability.
    top = z.max(axis=-1, keepdims=True)
    # One test per sample; for one sample a Python comparison (0.1 us, where isposinf + any cost
    # 3.5 us of a 6 us softmax over 10 neurons, measured here).
    if (top.item() == np.inf) if top.size == 1 else np.isposinf(top).any():
        _softmax_of_infinities(z, top)
        return
    z -= top
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)


def _softmax_of_infinities(z: np.ndarray, top: np.ndarray) -> None:
    """Softmax where some samples have a pre-activation of +inf (a sum beyond float64's range):
    their limit, the inf entries sharing the whole mass, where ``inf - inf`` would give NaN; and
    what the exact interpreter gives for the same sum."""
    for index in np.ndindex(z.shape[:-1]):
        row = z[index]
        if np.isposinf(top[index]).all():
            np.equal(row, np.inf, out=row, casting="unsafe")
        else:
            row -= top[index]
            np.exp(row, out=row)
        row /= row.sum()


# The same functions in the array API standard's operations only (``xp`` is the array's
# namespace, from array-api-compat): netlang/arrays.py evaluates any library's arrays with these,
# returning a new array, since some libraries' arrays (JAX's) cannot be changed in place.


def _step_portable(xp: Any, z: Any) -> Any:
    return xp.astype(z > 0, z.dtype)


def _step_ge_portable(xp: Any, z: Any) -> Any:
    return xp.astype(z >= 0, z.dtype)


def _sigmoid_portable(xp: Any, z: Any) -> Any:
    return 1.0 / (1.0 + xp.exp(-z))


def _relu_portable(xp: Any, z: Any) -> Any:
    return xp.maximum(z, xp.zeros_like(z))  # maximum, not where(z > 0, ...): NaN stays NaN, as in numpy


def _softmax_portable(xp: Any, z: Any) -> Any:
    top = xp.max(z, axis=-1, keepdims=True)
    infinite = top == xp.inf  # the limit where a sum went past float64's range, as _softmax gives
    e = xp.exp(z - xp.where(infinite, xp.zeros_like(top), top))
    e = xp.where(infinite, xp.astype(z == xp.inf, z.dtype), e)
    return e / xp.sum(e, axis=-1, keepdims=True)


def _sigmoid_scalar(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softmax_vector(z: Sequence[float]) -> List[float]:
    top = max(z)
    if top == math.inf:  # a sum beyond float64's range: the limit, the inf entries sharing the mass
        hits = [1.0 if v == math.inf else 0.0 for v in z]
        return [h / sum(hits) for h in hits]
    exps = [math.exp(v - top) for v in z]
    total = math.fsum(exps)
    return [e / total for e in exps]


class Activation(NamedTuple):
    """An activation with its code; the last four fields are its row of ``callables.CALLABLES``."""

    name: str
    kernel: Callable[[np.ndarray], None]
    reference: Callable  # float -> float, or a list of floats -> list for whole-vector ones
    summary: str
    whole_vector: bool = False
    public: bool = True
    piecewise_linear: bool = False
    # The same in the array API standard's operations, (xp, z) -> a new array (netlang/arrays.py).
    portable: Callable[[Any, Any], Any] = lambda xp, z: z


# The code of each activation: numpy kernel, scalar reference, array API form.
_CODE: Dict[str, Tuple[Callable[[np.ndarray], None], Callable, Callable[[Any, Any], Any]]] = {
    "step": (_step, lambda z: 1.0 if z > 0 else 0.0, _step_portable),
    "sigmoid": (_sigmoid, _sigmoid_scalar, _sigmoid_portable),
    "relu": (_relu, lambda z: z if z > 0 else 0.0, _relu_portable),
    "tanh": (_tanh, math.tanh, lambda xp, z: xp.tanh(z)),
    "identity": (_identity, lambda z: z, lambda xp, z: z),
    "softmax": (_softmax, _softmax_vector, _softmax_portable),
    "step_ge": (_step_ge, lambda z: 1.0 if z >= 0 else 0.0, _step_ge_portable),
}

ACTIVATIONS: Dict[str, Activation] = {
    c.name: Activation(
        c.name, _CODE[c.name][0], _CODE[c.name][1], c.summary, c.whole_vector, c.public, c.piecewise_linear, _CODE[c.name][2]
    )
    for c in CALLABLES.values()
    if c.kind == "activation"
}

__all__ = ["ACTIVATIONS", "Activation", "PUBLIC_NAMES", "sigmoid_in_place"]
