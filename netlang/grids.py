"""Constant vectors and matrices without numpy: the arrays of ``netlang check``.

``netlang check`` must report exactly the errors ``compile`` reports (a constant that
overflows, a division by zero, which elements a dot product with a constant reads), so it
computes every number the rules depend on, as compile does with numpy; but importing numpy
alone costs more than checking most files. A :class:`Grid` is a float64 vector or matrix in
pure Python (an ``array('d')``, row-major) whose results are numpy's bit for bit:

- Elementwise ``+ - * /`` are single IEEE operations on doubles, the same in Python and numpy.
- A matrix product is a reduction, whose rounding depends on the order of summation (BLAS
  blocks it, and may use fused multiply-adds). A Grid sums it in Python only where every order
  gives one number: each result element sums at most one product that is not exactly zero
  (``W @ x`` of a vector of signals, ``W @ [x1, x2]``: at once), or, for any other product
  (``[1, 2] @ [3, 4]``, ``w @ (S @ v)``, ``A @ B``), when a decision needs its values: sums
  that are exact (integers, halves, 0/1 matrices) and sums of two to four products that round
  alike in every order (:class:`ProductSums`, by netlang.rounding). Until then it is lazy, with a
  bound that certifies it finite; where orders may differ, an element is known as a
  :class:`~netlang.rounding.Inexact` (a float within a bound of numpy's, finite, nonzero and of
  one sign), which elementwise operations, further products, rows, elements and the vectors and
  matrices built from them carry on (a lazy grid's ``known`` elements); numpy's own product is
  computed only when an element is within rounding of zero or of overflow, or the values
  themselves are needed (numpy imported).
- A param drawn by an initialiser (``xavier()``) is drawn in Python by netlang.pcg64, numpy's
  generator bit for bit, at about 0.5 us a value. Its Grid is *lazy*: it knows its shape and a
  bound on its elements (that a draw is finite is known from the initialiser's arguments), and
  draws only when a decision needs its values (a zero test); ``W @ x`` never does.

The two kinds of arrays meet in :data:`GRIDS` and :data:`NUMPY`, one interface over each,
which the rules of :mod:`netlang.values` and :mod:`netlang.forms` use; so those rules are
written once, and the compiler's path (numpy arrays) is exactly what it was.
"""

from __future__ import annotations

import math
import sys
from array import array
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .rounding import (
    MAX_ORDERED_ELEMENTS,
    MAX_ORDERED_TERMS,
    Enclosure,
    Inexact,
    combined,
    divide,
    element_sum,
    exact,
    quick_sum,
    quietly_summed,
)

if TYPE_CHECKING:
    import numpy as np
else:  # the numpy namespace is only used when numpy's arrays are (netlang.lazynumpy)
    from .lazynumpy import np

Shape = Tuple[int, ...]
# A constant vector or matrix: numpy's when a program is compiled, a Grid when it is only checked.
Array = Union["np.ndarray", "Grid"]
# Bound arithmetic on lazy grids is done in float: this margin covers its rounding.
_MARGIN = 1.0 + 2.0**-40
_LARGEST = sys.float_info.max


class Grid:
    """A float64 array of 0, 1 or 2 dimensions in pure Python, row-major.

    ``draw``, when set, makes its values on first use (a lazy draw); ``bound`` then bounds the
    absolute value of every element (``inf``: nothing is known).
    """

    __slots__ = ("shape", "_data", "_draw", "bound", "key", "_finite", "sums", "known", "_knowing")

    def __init__(
        self,
        shape: Shape,
        data: Optional["array[float]"] = None,
        draw: Optional[Callable[[], "array[float]"]] = None,
        bound: float = math.inf,
        key: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        self.shape = shape
        self._data = data
        self._draw = draw
        self.key = key  # a lazy draw's identity: equal keys draw equal values
        self._finite: Optional[bool] = None  # known once asked (the values never change)
        self.sums: Optional[ProductSums] = None  # a lazy product's sums, which decide without numpy
        # A lazy grid's elements as far as decisions go: floats (numpy's) and Inexacts; set
        # when made from such elements, else on first use (elements()) from `sums` or from
        # `_knowing`, which computes them from its operands' (so an operation on a lazy product
        # sums nothing until a decision asks).
        self.known: Optional[List[float]] = None
        self._knowing: Optional[Callable[[], Optional[List[float]]]] = None
        self.bound = bound if data is None and bound < _LARGEST else math.inf

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.shape)) or "0-d"
        if self._data is None:
            return f"Grid({shape}, lazy, |values| <= {self.bound!r})"
        shown = ", ".join(repr(v) for v in self._data[:6])
        return f"Grid({shape}, [{shown}{', ...' if len(self._data) > 6 else ''}])"

    # -- what it is ------------------------------------------------------------------

    @property
    def data(self) -> "array[float]":
        """The values, row-major (a lazy grid draws them now)."""
        if self._data is None:
            assert self._draw is not None
            self._data = self._draw()
            self._draw = None
        return self._data

    def settle(self) -> None:
        """A lazy product whose every element every order of summation gives alike takes those
        values now (summed in Python), so that what is computed from it is known too."""
        if self._data is None and self.sums is not None:
            elements = self.sums.elements()
            if elements is not None and not any(isinstance(e, Enclosure) for e in elements):
                self._data = array("d", elements)  # type: ignore[arg-type]
                self._draw = None

    @property
    def is_lazy(self) -> bool:
        return self._data is None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return 8 * self.size

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Union[int, Tuple[int, int]]) -> Union[float, "Grid"]:
        """An element of a vector, a row of a matrix (numpy's ``a[i]``), or an element of a matrix (``a[i, j]``)."""
        if isinstance(index, tuple):
            row = self[index[0]]
            assert isinstance(row, Grid) and len(index) == 2
            return row[index[1]]
        if not -self.shape[0] <= index < self.shape[0]:
            raise IndexError(f"index {index} is out of bounds for axis 0 with size {self.shape[0]}")
        index %= self.shape[0]
        known = elements(self) if self._data is None else None
        if self.ndim == 1:
            return known[index] if known is not None else self.data[index]
        width = self.shape[1]
        if known is not None:
            return _from_elements((width,), list(known[index * width : (index + 1) * width]), lambda: self.data[index * width : (index + 1) * width])
        return Grid((width,), self.data[index * width : (index + 1) * width])

    @property
    def T(self) -> "Grid":
        """The transpose, as a new row-major grid."""
        if self.ndim < 2:
            return self
        rows, columns = self.shape
        if self._data is None:
            transposed = _lazy((columns, rows), lambda: self.T_of(self.data, rows, columns), self.bound)
            transposed._knowing = lambda: _transposed_elements(elements(self), rows, columns)
            return transposed
        return Grid((columns, rows), self.T_of(self._data, rows, columns))

    @staticmethod
    def T_of(data: "array[float]", rows: int, columns: int) -> "array[float]":
        return array("d", [data[r * columns + c] for c in range(columns) for r in range(rows)])

    def tolist(self) -> Any:
        if self.ndim == 0:
            return self.data[0]
        if self.ndim == 1:
            return list(self.data)
        width = self.shape[1]
        return [list(self.data[r * width : (r + 1) * width]) for r in range(self.shape[0])]

    def numpy(self) -> "np.ndarray":
        """The same values as a numpy array (numpy is imported)."""
        return np.frombuffer(self.data, dtype=np.float64).reshape(self.shape).copy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> "np.ndarray":
        array_ = self.numpy()
        return array_ if dtype is None else array_.astype(dtype)

    # -- elementwise arithmetic: one IEEE operation per element, as numpy's ------------------

    def _elementwise(self, other: Union[float, "Grid"], operation: Callable[[float, float], float], swapped: bool = False) -> Any:
        if not isinstance(other, (float, int, Grid)):
            return NotImplemented  # a numpy array: numpy takes the Grid through __array__
        if isinstance(other, Grid) and other.shape != self.shape and other.ndim and self.ndim:
            raise ValueError(f"shapes {self.shape} and {other.shape} do not broadcast")
        shape = self.shape if self.ndim or not isinstance(other, Grid) else other.shape
        left, right = (other, self) if swapped else (self, other)
        knowing = lambda: _elementwise_elements(operation, left, right, shape)  # noqa: E731
        if not shape and (type(other) is Inexact or _may_know(self) or (isinstance(other, Grid) and _may_know(other))):
            number = knowing()  # a number: now, if its bounds are known
            if number is not None:
                return number[0]
        if self._data is None or (isinstance(other, Grid) and other._data is None) or type(other) is Inexact:
            # Lazy: numpy's values computed only when asked; the bounds of the elements, when
            # a decision asks (elements()).
            grid = _lazy(shape, lambda: _apply(operation, left, right, shape), _bound(operation, left, right))
            grid._knowing = knowing
            return grid
        values = _apply(operation, left, right, shape)
        if not shape:
            return values[0]  # numpy gives a scalar for a 0-d result
        return Grid(shape, values)

    def __add__(self, other: Union[float, "Grid"]) -> Any:
        return self._elementwise(other, float.__add__)

    def __radd__(self, other: float) -> Any:
        return self._elementwise(other, float.__add__, swapped=True)

    def __sub__(self, other: Union[float, "Grid"]) -> Any:
        return self._elementwise(other, float.__sub__)

    def __rsub__(self, other: float) -> Any:
        return self._elementwise(other, float.__sub__, swapped=True)

    def __mul__(self, other: Union[float, "Grid"]) -> Any:
        return self._elementwise(other, float.__mul__)

    def __rmul__(self, other: float) -> Any:
        return self._elementwise(other, float.__mul__, swapped=True)

    def __truediv__(self, other: Union[float, "Grid"]) -> Any:
        return self._elementwise(other, divide)

    def __rtruediv__(self, other: float) -> Any:
        return self._elementwise(other, divide, swapped=True)

    # -- the matrix product ----------------------------------------------------------

    def __matmul__(self, other: "Grid") -> Any:
        left, right = self, other
        rows, inner = (left.shape[0], left.shape[1]) if left.ndim == 2 else (1, left.shape[0])
        if right.shape[0] != inner:
            raise ValueError(f"matmul: shapes {left.shape} and {right.shape} do not align")
        columns = right.shape[1] if right.ndim == 2 else 1
        shape = left.shape[:-1] + right.shape[1:]
        left.settle()
        right.settle()
        if not (_may_know(left) or _may_know(right)) and _one_term_each(left, right, rows, inner, columns):
            if left.is_lazy or right.is_lazy:
                bound = left.bound_or_max() * right.bound_or_max() * _MARGIN
                if not shape:  # a number (w @ W's constant, W a draw): its value is needed now
                    return _one_term_product(left, right, rows, inner, columns)[0]
                return _lazy(shape, lambda: _one_term_product(left, right, rows, inner, columns), bound)
            values = _product(left.data, right.data, rows, inner, columns)
            if values is not None:
                return Grid(shape, values) if shape else values[0]
        # Each element sums `inner` products of at most a * b; the sum's rounding adds at most
        # inner * 2**-53 of that: a bound that certifies the product finite, lazily.
        bound = left.bound_or_max() * right.bound_or_max() * inner * (1.0 + inner * 2.0**-50) * _MARGIN
        if not (left.is_lazy or right.is_lazy or (all_finite(left) and all_finite(right))):
            if not shape:
                return _numpy_product(left, right)[0]  # a number: its value is needed now
            return _lazy(shape, lambda: _numpy_product(left, right), bound)
        # Several products per element: what every order of summation gives where that is one
        # number (ProductSums), else numpy's own product; computed (a lazy side drawn) when a
        # decision needs it.
        sums = ProductSums(left, right, rows, inner, columns)
        if not shape:
            return sums.number()  # a number: made now
        grid = _lazy(shape, sums.values, bound)
        grid.sums = sums
        return grid

    def same(self, other: "Grid") -> bool:
        """Whether both hold the same values, bit for bit, told without drawing a lazy grid
        (two draws are the same when their keys are)."""
        if self.shape != other.shape:
            return False
        if self._data is not None and other._data is not None:
            return self._data.tobytes() == other._data.tobytes()
        return self._data is None and self.key is not None and self.key == other.key

    def bound_or_max(self) -> float:
        """A bound on the absolute values of the elements (found by looking, for known values)."""
        if self._data is None:
            return self.bound
        largest = max(map(abs, self._data), default=0.0)
        return largest if math.isfinite(largest) and all(map(math.isfinite, self._data)) else math.inf

    def count_nonzero_by(self, axis: int, rows: int, columns: int) -> List[int]:
        """Elements that are not exactly zero, per row (axis 1) or per column (axis 0), the
        values read as a ``rows`` x ``columns`` matrix; a lazy grid counts every element."""
        data = self._data if self._data is not None else self.known  # what is known now: nothing is summed
        if data is None:
            return [columns] * rows if axis == 1 else [rows] * columns
        if self._data is None:  # Inexacts: nonzero, each
            data = array("d", data)
        if axis == 1:
            return [columns - data[r * columns : (r + 1) * columns].count(0.0) for r in range(rows)]
        return [rows - data[c::columns].count(0.0) for c in range(columns)]


def _lazy(shape: Shape, draw: Callable[[], "array[float]"], bound: float) -> Grid:
    return Grid(shape, None, draw, bound if bound < _LARGEST else math.inf)


def _apply(operation: Callable[[float, float], float], left: Union[float, Grid], right: Union[float, Grid], shape: Shape) -> "array[float]":
    if isinstance(left, Grid) and isinstance(right, Grid) and left.ndim and right.ndim:
        return array("d", map(operation, left.data, right.data))
    if isinstance(left, Grid) and (left.ndim or not isinstance(right, Grid)):
        scalar = right.data[0] if isinstance(right, Grid) else float(exact(right))
        return array("d", [operation(value, scalar) for value in left.data])
    assert isinstance(right, Grid)
    scalar = left.data[0] if isinstance(left, Grid) else float(exact(left))
    return array("d", [operation(scalar, value) for value in right.data])


def _bound(operation: Callable[[float, float], float], left: Union[float, Grid], right: Union[float, Grid]) -> float:
    """A bound on the absolute values of ``left (operation) right``, elementwise (inf: unknown)."""
    a = left.bound_or_max() if isinstance(left, Grid) else _magnitude(left)
    b = right.bound_or_max() if isinstance(right, Grid) else _magnitude(right)
    if operation is float.__mul__:
        result = a * b
    elif operation is divide:
        smallest = _least(right) if not isinstance(right, Grid) else _smallest(right)
        result = a / smallest if smallest else math.inf
    else:
        result = a + b
    return result * _MARGIN if result == result else math.inf


def _smallest(grid: Grid) -> float:
    """A lower bound on the absolute values of the elements (0.0: none known)."""
    if not grid.is_lazy:
        return min(map(abs, grid.data))
    known = elements(grid)
    if known is not None:
        return min(map(_least, known), default=0.0)
    elements_ = grid.sums.elements() if grid.sums is not None else None
    if elements_ is None:
        return 0.0
    # An Enclosure's float is within its error of the exact sum; the bound is rounded down.
    least = min(Fraction(abs(e)) if isinstance(e, float) else max(abs(e.exact) - e.error, Fraction(0)) for e in elements_)
    return float(least) * (1.0 - 2.0**-50)


def _least(value: float) -> float:
    """A lower bound on the absolute value of numpy's float for a number."""
    if type(value) is Inexact:
        return float(min(abs(value.low), abs(value.high))) * (1.0 - 2.0**-50)
    return abs(value)


def _may_know(grid: Grid) -> bool:
    """Whether a lazy grid's elements may be known as floats and Inexacts (they are computed when
    asked: elements()); a draw's are not, until it is drawn."""
    return grid._data is None and (grid.known is not None or grid._knowing is not None or grid.sums is not None)


def _elementwise_elements(operation: Callable[[float, float], float], left: Any, right: Any, shape: Shape) -> Optional[List[float]]:
    xs, ys = _operand_elements(left, shape), _operand_elements(right, shape)
    if xs is None or ys is None:
        return None
    return list(map(partial(_operated, operation), xs, ys))


def _transposed_elements(known: Optional[Sequence[float]], rows: int, columns: int) -> Optional[List[float]]:
    return None if known is None else [known[r * columns + c] for c in range(columns) for r in range(rows)]


def _operand_elements(value: Any, shape: Shape) -> Optional[Sequence[float]]:
    """An operand of an elementwise operation as ``prod(shape)`` elements (None: a lazy grid
    whose elements are not known)."""
    if isinstance(value, Grid):
        known = elements(value)
        if known is None:
            return None
        return known if value.ndim or not shape else [known[0]] * math.prod(shape)
    return [value] * math.prod(shape)


def _one_term_each(left: Grid, right: Grid, rows: int, inner: int, columns: int) -> bool:
    """Whether every element of ``left @ right`` sums at most one product that may be nonzero,
    over finite values: then no order of summation (nor a fused multiply-add) changes it."""
    if not (all_finite(left) and all_finite(right)):
        return False
    if inner <= 1:
        return True
    # The right side first: W @ x's constant is W @ 0, whose right side has no nonzero at all.
    return max(right.count_nonzero_by(0, inner, columns), default=0) <= 1 or max(left.count_nonzero_by(1, rows, inner), default=0) <= 1


def _product(a: "array[float]", b: "array[float]", rows: int, inner: int, columns: int) -> Optional["array[float]"]:
    """``a @ b`` (rows x inner times inner x columns, row-major) where each element sums at most one
    nonzero product (the only case it is used for): that product, or 0.0 (as BLAS, which starts
    each sum at 0.0, gives it). Only the terms where both sides are nonzero are visited. None if
    a product of nonzero factors underflows to zero: 0.0 + (-0.0) is 0.0, but a fused multiply-add
    keeps the sign of the exact product, so its sign depends on BLAS (numpy's then)."""
    out = array("d", bytes(8 * rows * columns))
    right_terms = [[k for k in range(inner) if b[k * columns + c] != 0.0] for c in range(columns)]
    if not any(right_terms):
        return out  # W @ 0, the constant of W @ x
    left_terms = [[k for k in range(inner) if a[r * inner + k] != 0.0] for r in range(rows)]
    for r, left_ks in enumerate(left_terms):
        if not left_ks:
            continue
        for c, right_ks in enumerate(right_terms):
            if len(left_ks) <= len(right_ks):
                ks = [k for k in left_ks if b[k * columns + c] != 0.0]
            else:
                ks = [k for k in right_ks if a[r * inner + k] != 0.0]
            total = 0.0
            for k in ks:
                total += a[r * inner + k] * b[k * columns + c]
            if ks and total == 0.0:
                return None
            out[r * columns + c] = total
    return out


def _one_term_product(left: "Grid", right: "Grid", rows: int, inner: int, columns: int) -> "array[float]":
    values = _product(left.data, right.data, rows, inner, columns)
    return values if values is not None else _numpy_product(left, right)


def _numpy_product(left: "Grid", right: "Grid") -> "array[float]":
    """numpy's own ``left @ right`` (numpy imported), on copies laid out as a compile's arrays are."""
    product = from_numpy(np.asarray(np.asarray(left) @ np.asarray(right), dtype=float))
    return product.data if isinstance(product, Grid) else array("d", [product])


# A product of at most this many multiply-adds is summed exactly in Python (element_sum): a
# multiply-add costs 0.8 us (integers) to 4.2 us (decimals that need an Enclosure) here.
MAX_SUMMED_MULTIPLY_ADDS = 20_000
# One of at most this many is bounded at C speed (quick_sum: about 85 ns a multiply-add, so 85 ms
# at most, where importing numpy and multiplying takes 130 ms here); a larger one is numpy's.
MAX_QUICKLY_SUMMED_MULTIPLY_ADDS = 1_000_000


def _operated(operation: Callable[[float, float], float], a: float, b: float) -> float:
    """``operation(a, b)`` on two elements, either of which may be an Inexact."""
    if type(a) is Inexact or type(b) is Inexact:
        return combined(operation, a, b)
    return operation(a, b)


def _magnitude(value: float) -> float:
    """A bound on the absolute value of numpy's float for a number."""
    if type(value) is Inexact:
        return float(max(abs(value.low), abs(value.high))) * _MARGIN
    return abs(value)


def scalar(value: Any) -> float:
    """A single number as a Python float: numpy's float64 or 0-d array, a 0-d Grid's element; an
    Inexact kept as it is."""
    if type(value) is Inexact:
        return value
    if isinstance(value, Grid):
        values = elements(value)
        return values[0] if values is not None else value.data[0]
    return float(value)


def elements(grid: Grid) -> Optional[Sequence[float]]:
    """What the decisions read of a grid's elements: its values, or for a lazy grid the floats and
    Inexacts known of it (None: nothing yet, until it is drawn or computed)."""
    if grid._data is not None:
        return grid._data
    if grid.known is None and grid._knowing is not None:
        knowing, grid._knowing = grid._knowing, None
        grid.known = knowing()
    elif grid.known is None and grid.sums is not None:
        grid.known = grid.sums.known(grid)
    return grid.known


def _lazy_of(shape: Shape, values: List[float], draw: Callable[[], "array[float]"]) -> Grid:
    """A grid of ``values`` (row-major), lazy (numpy's values computed by ``draw`` when asked)
    if one of them is an Inexact."""
    if not any(type(v) is Inexact for v in values):
        return Grid(shape, array("d", values))
    grid = _lazy(shape, draw, max(map(_magnitude, values), default=0.0) * _MARGIN)
    grid.known = values
    return grid


def _from_elements(shape: Shape, values: List[float], draw: Callable[[], "array[float]"]) -> Union[float, Grid]:
    """:func:`_lazy_of`, or for a 0-d result its number (as numpy gives one)."""
    return _lazy_of(shape, values, draw) if shape else values[0]


def has_inexact(grid: Grid) -> bool:
    """Whether a grid's elements are known only up to the rounding of a sum (Inexacts)."""
    known = elements(grid) if grid._data is None else None
    return known is not None and any(type(v) is Inexact for v in known)


def _element_terms(
    a: Sequence[float], b: Sequence[float], rows: int, inner: int, columns: int
) -> Iterator[Tuple[List[float], List[float]]]:
    """For each element of ``a @ b`` (rows x inner times inner x columns, row-major, in that
    order), the factors of its products whose both sides are nonzero: ``(xs, ys)``."""
    right_terms = [{k for k in range(inner) if b[k * columns + c] != 0.0} for c in range(columns)]
    for r in range(rows):
        left_ks = [k for k in range(inner) if a[r * inner + k] != 0.0]
        for c, right_ks in enumerate(right_terms):
            ks = [k for k in left_ks if k in right_ks]
            yield [a[r * inner + k] for k in ks], [b[k * columns + c] for k in ks]


def quiet_product(left: "Grid", right: "Grid") -> Optional[Union[float, "Grid"]]:
    """``left @ right`` (known, finite, shapes that fit) where every element is
    :func:`quietly_summed`; else None."""
    rows, inner = (left.shape[0], left.shape[1]) if left.ndim == 2 else (1, left.shape[0])
    columns = right.shape[1] if right.ndim == 2 else 1
    values = array("d")
    for xs, ys in _element_terms(left.data, right.data, rows, inner, columns):
        value = quietly_summed(xs, ys)
        if value is None:
            return None
        values.append(value)
    shape = left.shape[:-1] + right.shape[1:]
    return Grid(shape, values) if shape else values[0]


class ProductSums:
    """The elements of ``left @ right`` as every order of summation gives them, each a float or
    an :class:`Enclosure`; computed once, when first asked."""

    __slots__ = ("left", "right", "rows", "inner", "columns", "_elements")

    def __init__(self, left: "Grid", right: "Grid", rows: int, inner: int, columns: int) -> None:
        self.left, self.right = left, right
        self.rows, self.inner, self.columns = rows, inner, columns
        self._elements: Optional[List[Union[float, Enclosure]]] = None

    def __repr__(self) -> str:
        return f"ProductSums({self.rows}x{self.inner} @ {self.inner}x{self.columns})"

    def elements(self) -> Optional[List[Union[float, Enclosure]]]:
        """Each element, row-major; None for a product too large to sum in Python."""
        if self._elements is None and self.summable():
            self._elements = list(self._each())
        return self._elements

    def summable(self) -> bool:
        """Whether it is summed in Python: small enough, and both sides finite (a lazy side is
        drawn now if its bound does not certify it)."""
        if self._quickly() is None:
            return False
        return all_finite(self.left) and all_finite(self.right)

    def _quickly(self) -> Optional[bool]:
        """Whether it is summed at C speed (quick_sum) rather than exactly; None: by numpy."""
        size = self.rows * self.inner * self.columns
        if size <= MAX_SUMMED_MULTIPLY_ADDS:
            return False
        plain = not (_may_know(self.left) or _may_know(self.right))
        return True if size <= MAX_QUICKLY_SUMMED_MULTIPLY_ADDS and plain else None

    def _each(self) -> Iterator[Union[float, Enclosure]]:
        if self._quickly():
            yield from self._each_quickly()
            return
        ordered = 0  # elements whose orders were tried (MAX_ORDERED_ELEMENTS)
        for xs, ys in _element_terms(_decisive(self.left), _decisive(self.right), self.rows, self.inner, self.columns):
            orders = ordered < MAX_ORDERED_ELEMENTS
            ordered += 2 <= len(xs) <= MAX_ORDERED_TERMS
            yield element_sum(xs, ys, orders)

    def _each_quickly(self) -> Iterator[Union[float, Enclosure]]:
        a, b = self.left.data, self.right.data
        inner, columns = self.inner, self.columns
        integers = all(map(float.is_integer, a)) and all(map(float.is_integer, b))
        column_of = [b[c::columns] for c in range(columns)]
        for r in range(self.rows):
            row = a[r * inner : (r + 1) * inner]
            for column in column_of:
                yield quick_sum(row, column, integers)

    def values(self) -> "array[float]":
        """The product's values: numpy's, bit for bit (computed by numpy where orders may differ)."""
        if self._elements is None and self.summable():
            values = array("d")
            for element in self._each():
                if isinstance(element, Enclosure):
                    break  # numpy's, then: the rest need not be summed
                values.append(element)
            else:
                return values
        elif self._elements is not None and not any(isinstance(e, Enclosure) for e in self._elements):
            return array("d", self._elements)  # type: ignore[arg-type]
        return _numpy_product(self.left, self.right)

    def known(self, grid: Grid) -> Optional[List[float]]:
        """The elements of the product ``grid`` as far as decisions go: floats, and Inexacts for
        Enclosures that decide (their values are ``grid``'s, numpy's, when asked); None if one
        does not (an element within rounding of zero or of overflow) or it is not summed."""
        elements_ = self.elements()
        if elements_ is None:
            return None
        known: List[float] = []
        for i, element in enumerate(elements_):
            if isinstance(element, Enclosure):
                if not (element.nonzero and element.finite):
                    return None  # numpy's values decide
                element = element.number(partial(_element_of, grid, i))
            known.append(element)
        return known

    def number(self) -> float:
        """The one element of a vector times a vector: a float, an Inexact where the orders of
        summation may differ and that decides, else numpy's (numpy imported)."""
        elements_ = self.elements()
        element = elements_[0] if elements_ is not None else None
        if isinstance(element, float):
            return element
        if element is not None:
            return element.number(lambda: self.values()[0])
        return self.values()[0]

    def has_zero(self) -> Optional[bool]:
        """Whether an element is zero, where the sums decide it (None: numpy's values must)."""
        elements = self.elements()
        if elements is None:
            return None
        if any(e == 0.0 for e in elements if isinstance(e, float)):
            return True
        return False if all(e.nonzero for e in elements if isinstance(e, Enclosure)) else None

    def all_finite(self) -> Optional[bool]:
        """Whether every element is finite, where the sums decide it (None: numpy's values must)."""
        elements = self.elements()
        if elements is None:
            return None
        if any(e.infinite if isinstance(e, Enclosure) else not math.isfinite(e) for e in elements):
            return False
        return True if all(e.finite for e in elements if isinstance(e, Enclosure)) else None


def _element_of(grid: Grid, index: int) -> float:
    return grid.data[index]


def _decisive(grid: Grid) -> Sequence[float]:
    """A side of a product as its decisions read it: its known elements, else its values."""
    known = elements(grid)
    return known if known is not None else grid.data


def from_numpy(value: Any) -> Union[float, Grid]:
    """A numpy array (or scalar) as a Grid (a 0-d result as numpy gives it: a scalar)."""
    if np.ndim(value) == 0:
        return float(value)
    contiguous = np.ascontiguousarray(value, dtype=np.float64)
    return Grid(tuple(int(n) for n in contiguous.shape), array("d", contiguous.tobytes()))


def all_finite(grid: Grid) -> bool:
    if grid.is_lazy and grid.bound < _LARGEST:
        return True
    if grid.is_lazy and grid.sums is not None and grid._finite is None:
        grid._finite = grid.sums.all_finite()  # None: undecided, the values decide
    if grid._finite is None:
        # A finite sum has no infinity or NaN among its terms (C-speed); else look at each one.
        grid._finite = math.isfinite(sum(grid.data)) or all(map(math.isfinite, grid.data))
    return grid._finite


class Arrays:
    """The array operations the rules of values and forms need, over one kind of array."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def zeros(self, shape: Union[int, Shape]) -> Any:
        raise NotImplementedError

    def ones(self, size: int) -> Any:
        raise NotImplementedError

    def full(self, shape: Union[int, Shape], value: float) -> Any:
        raise NotImplementedError

    def stack(self, items: Sequence[Any]) -> Any:
        """The vector of floats, or the matrix of vectors, ``items`` (all of one shape)."""
        raise NotImplementedError

    def asarray(self, value: Any) -> Any:
        """A result as an array (a 0-d one for a scalar)."""
        raise NotImplementedError

    def column(self, values: List[float]) -> Any:
        """The n x 1 matrix of ``values``."""
        raise NotImplementedError

    def vector(self, value: Any, size: int) -> Any:
        """A float (or 0-d array) repeated ``size`` times, or a copy of a vector of that size."""
        raise NotImplementedError

    def all_finite(self, value: Any) -> bool:
        raise NotImplementedError

    def has_zero(self, value: Any) -> bool:
        raise NotImplementedError

    def flatnonzero(self, vector: Any) -> Iterable[int]:
        raise NotImplementedError

    def scale_rows(self, block: Any, factor: Any) -> Any:
        """``block`` (n x m) with row i times ``factor[i]``."""
        raise NotImplementedError

    def scale_columns(self, matrix: Any, factor: Any) -> Any:
        """``matrix`` (n x m) with column j times ``factor[j]``."""
        raise NotImplementedError

    def plus_diagonal(self, block: Any, d: Any) -> Any:
        """A copy of the square ``block`` with ``d`` added to its diagonal."""
        raise NotImplementedError

    def transposed(self, matrix: Any) -> Any:
        """The transpose of ``matrix``, contiguous."""
        raise NotImplementedError


class _Grids(Arrays):
    def zeros(self, shape: Union[int, Shape]) -> Grid:
        return self.full(shape, 0.0)

    def ones(self, size: int) -> Grid:
        return self.full(size, 1.0)

    def full(self, shape: Union[int, Shape], value: float) -> Grid:
        shape = (shape,) if isinstance(shape, int) else shape
        if type(value) is Inexact:
            return _lazy_of(shape, [value] * math.prod(shape), lambda: array("d", [value.exact()]) * math.prod(shape))
        return Grid(shape, array("d", [float(value)]) * math.prod(shape))

    def stack(self, items: Sequence[Any]) -> Grid:
        first = items[0]
        if any(type(item) is Inexact or (isinstance(item, Grid) and _may_know(item)) for item in items):
            draw = lambda: array("d", [v for item in items for v in (item.data if isinstance(item, Grid) else [exact(item)])])  # noqa: E731
            bound = max(item.bound_or_max() if isinstance(item, Grid) else _magnitude(item) for item in items) * _MARGIN
            grid = _lazy((len(items),) + (first.shape if isinstance(first, Grid) else ()), draw, bound)
            grid._knowing = lambda: _stacked_elements(items)
            return grid
        if isinstance(first, Grid) and first.ndim:
            data = array("d")
            for item in items:
                data.extend(item.data)
            return Grid((len(items),) + first.shape, data)
        return Grid((len(items),), array("d", [item.data[0] if isinstance(item, Grid) else float(item) for item in items]))

    def asarray(self, value: Any) -> Grid:
        if type(value) is Inexact:
            return _lazy_of((), [value], lambda: array("d", [value.exact()]))
        return value if isinstance(value, Grid) else Grid((), array("d", [float(value)]))

    def column(self, values: List[float]) -> Grid:
        if any(type(v) is Inexact for v in values):
            return _lazy_of((len(values), 1), values, lambda: array("d", map(exact, values)))
        return Grid((len(values), 1), array("d", values))

    def vector(self, value: Any, size: int) -> Grid:
        if isinstance(value, Grid) and value.ndim:
            return Grid(value.shape, array("d", value.data)) if not value.is_lazy else value
        return self.full(size, scalar(value) if isinstance(value, Grid) else value)

    def all_finite(self, value: Grid) -> bool:
        return all_finite(value)

    def has_zero(self, value: Grid) -> bool:
        if value.is_lazy and value.sums is not None:
            decided = value.sums.has_zero()
            if decided is not None:
                return decided
        return 0.0 in _decisive(value)  # an Inexact is nonzero

    def flatnonzero(self, vector: Grid) -> Iterable[int]:
        return [j for j, v in enumerate(_decisive(vector)) if v != 0.0]

    def scale_rows(self, block: Grid, factor: Grid) -> Grid:
        return _scaled(block, factor, by_rows=True)

    def scale_columns(self, matrix: Grid, factor: Grid) -> Grid:
        return _scaled(matrix, factor, by_rows=False)

    def plus_diagonal(self, block: Grid, d: Grid) -> Grid:
        n = block.shape[1]
        if block.is_lazy or d.is_lazy:
            bound = (block.bound_or_max() + d.bound_or_max()) * _MARGIN
            grid = _lazy(block.shape, lambda: self.plus_diagonal(_known(block), _known(d)).data, bound)
            grid._knowing = lambda: _plus_diagonal_elements(elements(block), elements(d), n)
            return grid
        data = array("d", block.data)
        for i, value in enumerate(d.data):
            data[i * n + i] += value
        return Grid(block.shape, data)

    def transposed(self, matrix: Grid) -> Grid:
        return matrix.T


def _plus_diagonal_elements(block: Optional[Sequence[float]], d: Optional[Sequence[float]], n: int) -> Optional[List[float]]:
    if block is None or d is None:
        return None
    values = list(block)
    for i, value in enumerate(d):
        values[i * n + i] = _operated(float.__add__, values[i * n + i], value)
    return values


def _stacked_elements(items: Sequence[Any]) -> Optional[List[float]]:
    rows = [elements(item) if isinstance(item, Grid) else [item] for item in items]
    return None if any(row is None for row in rows) else [v for row in rows for v in row or ()]


def _scaled(matrix: Grid, factor: Grid, by_rows: bool) -> Grid:
    """``matrix`` with each row (or column) times its element of ``factor`` (lazy if either is)."""
    rows, columns = matrix.shape
    if matrix.is_lazy or factor.is_lazy:
        bound = matrix.bound_or_max() * factor.bound_or_max() * _MARGIN
        grid = _lazy(matrix.shape, lambda: _scaled(_known(matrix), _known(factor), by_rows).data, bound)
        grid._knowing = lambda: _scaled_elements(elements(matrix), elements(factor), rows, columns, by_rows)
        return grid
    f, m = factor.data, matrix.data
    if f.count(1.0) == len(f):
        # W @ x with x a signal: its block is diag(1), and w * 1.0 is w, bit for bit (a NaN's
        # too); copying is 20x faster than multiplying (78,400 weights: 0.7 ms, not 14).
        return Grid(matrix.shape, array("d", m))
    out = array("d")
    for r in range(rows):
        row = m[r * columns : (r + 1) * columns]
        out.extend(map(f[r].__mul__, row) if by_rows else map(float.__mul__, row, f))
    return Grid(matrix.shape, out)


def _scaled_elements(
    matrix: Optional[Sequence[float]], factor: Optional[Sequence[float]], rows: int, columns: int, by_rows: bool
) -> Optional[List[float]]:
    if matrix is None or factor is None:
        return None
    return [_operated(float.__mul__, matrix[r * columns + c], factor[r] if by_rows else factor[c]) for r in range(rows) for c in range(columns)]


def _known(grid: Grid) -> Grid:
    """``grid`` with its values (drawn now, if lazy)."""
    return Grid(grid.shape, grid.data)


class _Numpy(Arrays):
    """numpy's arrays: exactly the calls the compiler's path always made."""

    def zeros(self, shape: Union[int, Shape]) -> Any:
        return np.zeros(shape)

    def ones(self, size: int) -> Any:
        return np.ones(size)

    def full(self, shape: Union[int, Shape], value: float) -> Any:
        return np.full(shape, value)

    def stack(self, items: Sequence[Any]) -> Any:
        return np.array(items, dtype=float)

    def asarray(self, value: Any) -> Any:
        return np.asarray(value, dtype=float)

    def column(self, values: List[float]) -> Any:
        return np.array(values, dtype=float).reshape(len(values), 1)

    def vector(self, value: Any, size: int) -> Any:
        return np.broadcast_to(np.asarray(value, dtype=float), (size,)).copy()

    def all_finite(self, value: Any) -> bool:
        return bool(np.all(np.isfinite(value)))

    def has_zero(self, value: Any) -> bool:
        return bool((value == 0).any())

    def flatnonzero(self, vector: Any) -> Iterable[int]:
        return [int(j) for j in np.flatnonzero(vector)]

    def scale_rows(self, block: Any, factor: Any) -> Any:
        return factor[:, None] * block

    def scale_columns(self, matrix: Any, factor: Any) -> Any:
        return matrix * factor[None, :]

    def plus_diagonal(self, block: Any, d: Any) -> Any:
        result = np.array(block, dtype=float, copy=True)
        result[np.arange(len(d)), np.arange(len(d))] += d
        return result

    def transposed(self, matrix: Any) -> Any:
        return np.ascontiguousarray(matrix.T)


GRIDS: Arrays = _Grids()
NUMPY: Arrays = _Numpy()


def arrays_of(value: Any) -> Arrays:
    """The operations over the kind of array ``value`` is."""
    return GRIDS if isinstance(value, Grid) else NUMPY
