"""Affine forms: a neuron's input once its expression is checked, ``W s + b`` (the checker's output, the compiler's input).

A :class:`ScalarForm` is one neuron's weighted sum: a constant plus a coefficient
per signal it reads, as Python floats in a dict, so netlists of many small neurons
cost time and memory in proportion to their terms. A :class:`VectorForm` is a
layer's: a constant vector plus a weight block per signal it reads.

Signals are named by keys: ``"x1"`` for a whole signal (a scalar, or a vector's
every element), ``("h", 2)`` for one element of a vector signal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Dict, Iterator, Optional, Tuple, Union

from .grids import Array, Arrays, arrays_of, scalar

if TYPE_CHECKING:
    import numpy as np

Key = Union[str, Tuple[str, int]]


class Diag:
    """A diagonal weight block, ``diag(d)``: elementwise terms such as ``2*x`` without an n x n matrix."""

    __slots__ = ("d",)

    def __init__(self, d: Array) -> None:
        self.d = d

    def __repr__(self) -> str:
        return f"Diag({self.d!r})"


Block = Union[Array, Diag]


def _add_blocks(a: Block, b: Block) -> Block:
    if isinstance(a, Diag) and isinstance(b, Diag):
        return Diag(a.d + b.d)
    if isinstance(a, Diag):
        a, b = b, a
    if isinstance(b, Diag):
        return arrays_of(b.d).plus_diagonal(a, b.d)
    assert not isinstance(a, Diag)
    return a + b


class ScalarForm:
    """``const + sum(coeffs[key] * signal[key])`` for one neuron."""

    __slots__ = ("const", "coeffs")

    def __init__(self, const: float = 0.0, coeffs: Optional[Dict[Key, float]] = None) -> None:
        self.const = const
        self.coeffs: Dict[Key, float] = coeffs if coeffs is not None else {}

    def __repr__(self) -> str:
        terms = " + ".join(f"{c!r}*{_key_text(k)}" for k, c in self.coeffs.items())
        return f"ScalarForm({terms or '0'} + {self.const!r})"

    def scaled(self, factor: float) -> "ScalarForm":
        return ScalarForm(self.const * factor, {k: c * factor for k, c in self.coeffs.items()})

    def add_in_place(self, other: "ScalarForm", sign: float) -> None:
        coeffs = self.coeffs
        get = coeffs.get
        for key, c in other.coeffs.items():
            coeffs[key] = get(key, 0.0) + sign * c
        self.const += sign * other.const

    def finite(self) -> bool:
        """Whether every coefficient and the constant are finite numbers."""
        return math.isfinite(self.const) and all(map(math.isfinite, self.coeffs.values()))

    def broadcast(self, size: int, arrays: Arrays) -> "VectorForm":
        """The same neuron input repeated ``size`` times, as a vector (of ``arrays``' kind)."""
        terms: Dict[Key, Block] = {k: arrays.full((size, 1), c) for k, c in self.coeffs.items()}
        return VectorForm(size, arrays.full(size, self.const), terms)


class VectorForm:
    """``const + sum(terms[key] @ signal[key])`` for a vector of ``size`` neurons."""

    __slots__ = ("size", "const", "terms")

    def __init__(self, size: int, const: Array, terms: Optional[Dict[Key, Block]] = None) -> None:
        self.size = size
        self.const = const
        self.terms: Dict[Key, Block] = terms if terms is not None else {}

    def __repr__(self) -> str:
        return f"VectorForm(size={self.size}, reads={[_key_text(k) for k in self.terms]})"

    def scaled(self, factor: Union[float, Array]) -> "VectorForm":
        """Times a scalar, or elementwise times a constant vector of the same size."""
        if not isinstance(factor, float):
            arrays = arrays_of(factor)
            terms = {k: Diag(factor * b.d) if isinstance(b, Diag) else arrays.scale_rows(b, factor) for k, b in self.terms.items()}
        else:
            terms = {k: Diag(factor * b.d) if isinstance(b, Diag) else factor * b for k, b in self.terms.items()}
        return VectorForm(self.size, self.const * factor, terms)

    def finite(self) -> bool:
        """Whether every weight and constant is a finite number."""
        arrays = arrays_of(self.const)
        return arrays.all_finite(self.const) and all(
            arrays.all_finite(block.d if isinstance(block, Diag) else block) for block in self.terms.values()
        )

    def plus(self, other: "VectorForm", sign: float = 1.0) -> "VectorForm":
        terms = dict(self.terms)
        for key, block in other.terms.items():
            signed = Diag(sign * block.d) if isinstance(block, Diag) else sign * block
            terms[key] = _add_blocks(terms[key], signed) if key in terms else signed
        return VectorForm(self.size, self.const + sign * other.const, terms)

    def left_multiplied(self, matrix: Array) -> "VectorForm":
        """``matrix @ self``: a weight matrix applied to this vector."""
        arrays = arrays_of(matrix)
        terms = {k: arrays.scale_columns(matrix, b.d) if isinstance(b, Diag) else matrix @ b for k, b in self.terms.items()}
        return VectorForm(matrix.shape[0], matrix @ self.const, terms)

    def dot(self, weights: Array) -> ScalarForm:
        """``weights @ self`` for a constant vector of weights: one neuron's input."""
        coeffs: Dict[Key, float] = {}
        for key, block in self.terms.items():
            row = weights * block.d if isinstance(block, Diag) else weights @ block
            if isinstance(key, tuple):
                coeffs[key] = coeffs.get(key, 0.0) + scalar(row[0])
            elif len(row) == 1 and not isinstance(block, Diag) and block.shape[1] == 1:
                coeffs[key] = coeffs.get(key, 0.0) + scalar(row[0])
            else:
                for j in arrays_of(row).flatnonzero(row):
                    element = (key, j)
                    coeffs[element] = coeffs.get(element, 0.0) + scalar(row[j])
        return ScalarForm(scalar(weights @ self.const), coeffs)


def keys_read(form: Union[ScalarForm, VectorForm]) -> Iterator[Key]:
    return iter(form.coeffs if isinstance(form, ScalarForm) else form.terms)


def signal_of(key: Key) -> str:
    return key[0] if isinstance(key, tuple) else key


def _key_text(key: Key) -> str:
    return f"{key[0]}[{key[1]}]" if isinstance(key, tuple) else key
