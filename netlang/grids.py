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
  alike in every order (:class:`ProductSums`). Until then it is lazy, with a bound that certifies it
  finite; where orders may differ, whether an element is zero or finite is still certified
  from a bound on any order's rounding, and numpy's own product is computed only when neither
  decides (an element within rounding of zero or of overflow) or the values themselves are
  needed (numpy imported).
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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

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

    __slots__ = ("shape", "_data", "_draw", "bound", "key", "_finite", "sums")

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
        if self.ndim == 1:
            return self.data[index]
        width = self.shape[1]
        return Grid((width,), self.data[index * width : (index + 1) * width])

    @property
    def T(self) -> "Grid":
        """The transpose, as a new row-major grid."""
        if self.ndim < 2:
            return self
        rows, columns = self.shape
        if self._data is None:
            return _lazy((columns, rows), lambda: self.T_of(self.data, rows, columns), self.bound)
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
        if self._data is None or (isinstance(other, Grid) and other._data is None):
            bound = _bound(operation, left, right)
            return _lazy(shape, lambda: _apply(operation, left, right, shape), bound)
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
        return self._elementwise(other, _divide)

    def __rtruediv__(self, other: float) -> Any:
        return self._elementwise(other, _divide, swapped=True)

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
        if _one_term_each(left, right, rows, inner, columns):
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
            return sums.values()[0]  # a number: its value is needed now
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
        if self._data is None:
            return [columns] * rows if axis == 1 else [rows] * columns
        data = self._data
        if axis == 1:
            return [columns - data[r * columns : (r + 1) * columns].count(0.0) for r in range(rows)]
        return [rows - data[c::columns].count(0.0) for c in range(columns)]


def _divide(a: float, b: float) -> float:
    # Python raises where numpy gives ±inf or nan; a divisor of 0 is refused before any division
    # (division-by-zero), but a form's weights may still be divided into infinity.
    if b == 0.0:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _lazy(shape: Shape, draw: Callable[[], "array[float]"], bound: float) -> Grid:
    return Grid(shape, None, draw, bound if bound < _LARGEST else math.inf)


def _apply(operation: Callable[[float, float], float], left: Union[float, Grid], right: Union[float, Grid], shape: Shape) -> "array[float]":
    if isinstance(left, Grid) and isinstance(right, Grid) and left.ndim and right.ndim:
        return array("d", map(operation, left.data, right.data))
    if isinstance(left, Grid) and (left.ndim or not isinstance(right, Grid)):
        scalar = right.data[0] if isinstance(right, Grid) else float(right)
        return array("d", [operation(value, scalar) for value in left.data])
    assert isinstance(right, Grid)
    scalar = left.data[0] if isinstance(left, Grid) else float(left)
    return array("d", [operation(scalar, value) for value in right.data])


def _bound(operation: Callable[[float, float], float], left: Union[float, Grid], right: Union[float, Grid]) -> float:
    """A bound on the absolute values of ``left (operation) right``, elementwise (inf: unknown)."""
    a = left.bound_or_max() if isinstance(left, Grid) else abs(left)
    b = right.bound_or_max() if isinstance(right, Grid) else abs(right)
    if operation is float.__mul__:
        result = a * b
    elif operation is _divide:
        smallest = abs(right) if not isinstance(right, Grid) else _smallest(right)
        result = a / smallest if smallest else math.inf
    else:
        result = a + b
    return result * _MARGIN if result == result else math.inf


def _smallest(grid: Grid) -> float:
    """A lower bound on the absolute values of the elements (0.0: none known)."""
    if not grid.is_lazy:
        return min(map(abs, grid.data))
    elements = grid.sums.elements() if grid.sums is not None else None
    if elements is None:
        return 0.0
    # An Enclosure's float is within its error of the exact sum; the bound is rounded down.
    least = min(Fraction(abs(e)) if isinstance(e, float) else max(abs(e.exact) - e.error, Fraction(0)) for e in elements)
    return float(least) * (1.0 - 2.0**-50)


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


# -- products whose rounding no order of summation changes ---------------------------------
#
# numpy's matrix product is BLAS's: each element is a sum of products, in an order that depends
# on the library, the machine and the sizes (SIMD lanes summed apart, blocks), each step a
# rounded addition or a fused multiply-add (one rounding of a * b + s). A sum is numpy's bit
# for bit, whatever BLAS does, when every one of those orders gives one number:
#
# - Exact sums. Write each nonzero product p_i = m_i 2**k_i (m_i an odd integer) and E the
#   smallest k_i. If sum |m_i| 2**(k_i - E) < 2**53 (and -1074 <= E <= 971), every p_i and every
#   partial sum of any subset is a multiple of 2**E below 2**(53 + E) in magnitude: a float. So
#   every product, addition and fused multiply-add is exact, and any order gives the exact sum
#   (0.0 when it is zero: x + (-x) is +0.0, and BLAS starts each sum at +0.0). This covers the
#   integers, halves and 0/1 matrices of teaching files ([1, 2] @ [3, 4], w @ (S @ v)).
# - Two to four nonzero products (MAX_ORDERED_TERMS): every order is tried (every_order): each
#   way to pair partial sums, each product rounded or fused into the addition that takes it
#   (fl(p1 + fl(p2)) for two), and an exact dot product's fl(p1 + ... + pn); a value is kept where
#   all agree on a nonzero finite number (for random short decimals: 68 % of two-term sums, 34 %
#   of three-term ones, 11 % of four-term ones).
# - One nonzero product: 0.0 + fl(p) (fl(p) with a fused multiply-add), unless it underflows to
#   zero (then its sign depends on which).
#
# Anything else (three or more decimals such as 0.1 that do not sum exactly) is numpy's own
# product, imported, when its values are needed. A decision alone (is an element zero, is every
# element finite) is certified without them: in any order, a float dot product of n terms is
# within gamma_n * sum |p_i| + n * 2**-1074 of the exact sum (gamma_n = n u / (1 - n u),
# u = 2**-53: each product and each addition rounds once, relatively by at most u, except a
# product that underflows, absolutely by at most 2**-1075; Higham, Accuracy and Stability of
# Numerical Algorithms, 2nd ed., section 3.1; a fused multiply-add only drops roundings). So an
# element whose exact sum is farther from 0 than that bound is nonzero, and one whose sum of
# |p_i|, with the bound, stays below the largest float is finite; one beyond 2**1024 by more
# than the bound is infinite in every order (an overflow never turns finite again). Only an
# element within the bound of 0 (a sum that cancels to nearly nothing) or of the overflow
# threshold is left undecided, and then numpy computes the product.

# A product of at most this many multiply-adds is summed in Python, a larger one by numpy: a
# multiply-add costs 0.8 us (integers) to 4.2 us (decimals that need an Enclosure) here, so this
# is at most about what importing numpy costs (0.1 s).
MAX_SUMMED_MULTIPLY_ADDS = 20_000
_U = Fraction(1, 2**53)
_TINIEST_NORMAL = 2.0**-1022
_TINY = Fraction(1, 2**1074)
_LARGEST_FRACTION = Fraction(sys.float_info.max)
_OVERFLOW = Fraction(2**1024)


class Enclosure(NamedTuple):
    """An element of a product that orders of summation may round differently: its exact sum
    and the bound on how far any order's float is from it."""

    exact: Fraction
    error: Fraction  # gamma_n * sum |p_i| + n * 2**-1074
    magnitude: Fraction  # sum |p_i|, with the same bound: no partial sum exceeds it

    @property
    def nonzero(self) -> bool:
        return abs(self.exact) > self.error

    @property
    def finite(self) -> bool:
        return self.magnitude < _LARGEST_FRACTION

    @property
    def infinite(self) -> bool:
        return abs(self.exact) - self.error >= _OVERFLOW


def _split(x: float) -> Tuple[int, int]:
    """``(m, k)`` with ``x == m * 2**k`` and m odd (x finite and nonzero)."""
    n, d = x.as_integer_ratio()
    if d != 1:
        return n, 1 - d.bit_length()
    k = (n & -n).bit_length() - 1
    return n >> k, k


def _exact_sum(xs: Sequence[float], ys: Sequence[float]) -> Tuple[int, int, int]:
    """``(s, t, e)``: ``sum(x * y)`` is exactly ``s * 2**e`` and ``sum(|x * y|)`` is ``t * 2**e``
    (nonzero finite factors, at least one of each), e the smallest power of two of a product."""
    splits = [(mx * my, kx + ky) for (mx, kx), (my, ky) in zip(map(_split, xs), map(_split, ys))]
    e = min(k for _, k in splits)
    total = exact = 0
    for m, k in splits:
        shifted = m << (k - e)
        exact += shifted
        total += abs(shifted)
    return exact, total, e


def _element_terms(
    a: "array[float]", b: "array[float]", rows: int, inner: int, columns: int
) -> Iterator[Tuple[List[float], List[float]]]:
    """For each element of ``a @ b`` (rows x inner times inner x columns, row-major, in that
    order), the factors of its products whose both sides are nonzero: ``(xs, ys)``."""
    right_terms = [{k for k in range(inner) if b[k * columns + c] != 0.0} for c in range(columns)]
    for r in range(rows):
        left_ks = [k for k in range(inner) if a[r * inner + k] != 0.0]
        for c, right_ks in enumerate(right_terms):
            ks = [k for k in left_ks if k in right_ks]
            yield [a[r * inner + k] for k in ks], [b[k * columns + c] for k in ks]


def quietly_summed(xs: Sequence[float], ys: Sequence[float]) -> Optional[float]:
    """``sum(x * y)`` (nonzero finite factors) where every order of summation gives one float and
    no operation of any order underflows (a tiny result that is not exact: numpy's 'underflow'
    under errstate); else None. An overflow gives infinity, which a caller refuses anyway."""
    if not xs:
        return 0.0
    exact, total, e = _exact_sum(xs, ys)
    if total < 2**53 and -1074 <= e <= 1024 - 53:
        return math.ldexp(float(exact), e)  # nothing rounds, in any order
    if len(xs) == 1:
        value = xs[0] * ys[0]
        return None if abs(value) <= _TINIEST_NORMAL else value
    if len(xs) <= MAX_ORDERED_TERMS:
        return every_order(xs, ys, Fraction(exact) * Fraction(2) ** e, quiet=True)
    return None


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


def element_sum(xs: Sequence[float], ys: Sequence[float], orders: bool = True) -> Union[float, Enclosure]:
    """``sum(x * y)`` over nonzero finite factors: the float every order of summation gives
    (starting from 0.0, with or without fused multiply-adds), or its Enclosure when orders may
    differ."""
    n = len(xs)
    if n == 0:
        return 0.0
    if n == 1:
        p = xs[0] * ys[0]
        if p != 0.0:
            return 0.0 + p
    exact, total, e = _exact_sum(xs, ys)
    if n > 1 and total < 2**53 and -1074 <= e <= 1024 - 53:
        return math.ldexp(float(exact), e)
    if n <= MAX_ORDERED_TERMS and orders:
        value = every_order(xs, ys, Fraction(exact) * Fraction(2) ** e)
        if value is not None:
            return value
    scale = Fraction(2) ** e
    gamma = n * _U / (1 - n * _U)
    error = gamma * total * scale + n * _TINY
    return Enclosure(exact * scale, error, total * scale + error)


# Terms few enough for every order of their sum to be tried (every way to pair partial sums,
# each product rounded or fused into an addition): 3 terms take about 0.06 ms, 4 about 0.12 ms.
MAX_ORDERED_TERMS = 4
# Elements of one product whose orders are tried at most (beyond, an Enclosure: numpy's values).
MAX_ORDERED_ELEMENTS = 500


def every_order(xs: Sequence[float], ys: Sequence[float], exact_sum: Fraction, quiet: bool = False) -> Optional[float]:
    """The float that every order of summation of ``sum(x * y)`` gives (nonzero finite factors),
    if they all give one nonzero finite float; else None.

    An order is a binary tree of additions over the products, each product either rounded
    (``fl(p)``, also ``fma(x, y, 0.0)``) or fused into the addition that takes it
    (``fma(x, y, s) = fl(p + s)``); ``values[mask]`` holds every float a tree over the products
    in ``mask`` can give, built up by subsets. An exact dot product (``fl(sum p)``) is added too.
    ``quiet``: also None if some order underflows (a product or fused multiply-add whose tiny
    result is not exact; an addition's tiny result always is).
    """
    n = len(xs)
    exact = [Fraction(x) * Fraction(y) for x, y in zip(xs, ys)]
    values: List[set] = [set() for _ in range(1 << n)]
    for i, (x, y) in enumerate(zip(xs, ys)):
        values[1 << i] = {x * y}
        if quiet and abs(x * y) <= _TINIEST_NORMAL and Fraction(x * y) != exact[i]:
            return None
    for mask in range(1, 1 << n):
        if mask & (mask - 1) == 0:
            continue  # one product: set above
        found = values[mask]
        low = mask & -mask
        part = (mask - 1) & mask
        while part:  # two partial sums added (each split once: the part holding the lowest term)
            if part & low:
                for a in values[part]:
                    for b in values[mask ^ part]:
                        found.add(a + b)
            part = (part - 1) & mask
        for i in range(n):  # one product fused into the partial sum of the others
            if mask >> i & 1:
                for b in values[mask ^ (1 << i)]:
                    if not math.isfinite(b):
                        return None
                    try:
                        fused = float(exact[i] + Fraction(b))
                    except OverflowError:
                        return None
                    if quiet and abs(fused) <= _TINIEST_NORMAL and Fraction(fused) != exact[i] + Fraction(b):
                        return None
                    found.add(fused)
        if len(found) > 8 or not all(map(math.isfinite, found)):
            return None
    try:
        final = values[(1 << n) - 1] | {float(exact_sum)}
    except OverflowError:
        return None
    if len(final) != 1:
        return None
    value = final.pop()
    return value if value != 0.0 else None  # a zero's sign may depend on the order


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
        size = self.rows * self.inner * self.columns
        return size <= MAX_SUMMED_MULTIPLY_ADDS and all_finite(self.left) and all_finite(self.right)

    def _each(self) -> Iterator[Union[float, Enclosure]]:
        ordered = 0  # elements whose orders were tried (MAX_ORDERED_ELEMENTS)
        for xs, ys in _element_terms(self.left.data, self.right.data, self.rows, self.inner, self.columns):
            orders = ordered < MAX_ORDERED_ELEMENTS
            ordered += 2 <= len(xs) <= MAX_ORDERED_TERMS
            yield element_sum(xs, ys, orders)

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
        return Grid(shape, array("d", [float(value)]) * math.prod(shape))

    def stack(self, items: Sequence[Any]) -> Grid:
        first = items[0]
        if isinstance(first, Grid) and first.ndim:
            data = array("d")
            for item in items:
                data.extend(item.data)
            return Grid((len(items),) + first.shape, data)
        return Grid((len(items),), array("d", [item.data[0] if isinstance(item, Grid) else float(item) for item in items]))

    def asarray(self, value: Any) -> Grid:
        return value if isinstance(value, Grid) else Grid((), array("d", [float(value)]))

    def column(self, values: List[float]) -> Grid:
        return Grid((len(values), 1), array("d", values))

    def vector(self, value: Any, size: int) -> Grid:
        if isinstance(value, Grid) and value.ndim:
            return Grid(value.shape, array("d", value.data)) if not value.is_lazy else value
        return self.full(size, value.data[0] if isinstance(value, Grid) else value)

    def all_finite(self, value: Grid) -> bool:
        return all_finite(value)

    def has_zero(self, value: Grid) -> bool:
        if value.is_lazy and value.sums is not None:
            decided = value.sums.has_zero()
            if decided is not None:
                return decided
        return 0.0 in value.data

    def flatnonzero(self, vector: Grid) -> Iterable[int]:
        return [j for j, v in enumerate(vector.data) if v != 0.0]

    def scale_rows(self, block: Grid, factor: Grid) -> Grid:
        return _scaled(block, factor, by_rows=True)

    def scale_columns(self, matrix: Grid, factor: Grid) -> Grid:
        return _scaled(matrix, factor, by_rows=False)

    def plus_diagonal(self, block: Grid, d: Grid) -> Grid:
        n = block.shape[1]
        if block.is_lazy or d.is_lazy:
            bound = (block.bound_or_max() + d.bound_or_max()) * _MARGIN
            return _lazy(block.shape, lambda: self.plus_diagonal(_known(block), _known(d)).data, bound)
        data = array("d", block.data)
        for i, value in enumerate(d.data):
            data[i * n + i] += value
        return Grid(block.shape, data)

    def transposed(self, matrix: Grid) -> Grid:
        return matrix.T


def _scaled(matrix: Grid, factor: Grid, by_rows: bool) -> Grid:
    """``matrix`` with each row (or column) times its element of ``factor`` (lazy if either is)."""
    rows, columns = matrix.shape
    if matrix.is_lazy or factor.is_lazy:
        bound = matrix.bound_or_max() * factor.bound_or_max() * _MARGIN
        return _lazy(matrix.shape, lambda: _scaled(_known(matrix), _known(factor), by_rows).data, bound)
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
