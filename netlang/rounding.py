"""Floats as numpy computes them where the order of a sum's rounding is BLAS's: exact sums, sums
that every order rounds alike, bounds on any order's float, and numbers known within such bounds.

numpy's matrix product is BLAS's: each element is a sum of products, in an order that depends
on the library, the machine and the sizes (SIMD lanes summed apart, blocks), each step a
rounded addition or a fused multiply-add (one rounding of a * b + s). A sum is numpy's bit
for bit, whatever BLAS does, when every one of those orders gives one number:

- Exact sums. Write each nonzero product p_i = m_i 2**k_i (m_i an odd integer) and E the
  smallest k_i. If sum |m_i| 2**(k_i - E) < 2**53 (and -1074 <= E <= 971), every p_i and every
  partial sum of any subset is a multiple of 2**E below 2**(53 + E) in magnitude: a float. So
  every product, addition and fused multiply-add is exact, and any order gives the exact sum
  (0.0 when it is zero: x + (-x) is +0.0, and BLAS starts each sum at +0.0). This covers the
  integers, halves and 0/1 matrices of teaching files ([1, 2] @ [3, 4], w @ (S @ v)).
- Two to four nonzero products (MAX_ORDERED_TERMS): every order is tried (every_order): each
  way to pair partial sums, each product rounded or fused into the addition that takes it
  (fl(p1 + fl(p2)) for two), and an exact dot product's fl(p1 + ... + pn); a value is kept where
  all agree on a nonzero finite number (for random short decimals: 68 % of two-term sums, 34 %
  of three-term ones, 11 % of four-term ones).
- One nonzero product: 0.0 + fl(p) (fl(p) with a fused multiply-add), unless it underflows to
  zero (then its sign depends on which).

Anything else (three or more decimals such as 0.1 that do not sum exactly) is left to numpy
when its values are needed. A decision alone (is an element zero, is every
element finite) is certified without them: in any order, a float dot product of n terms is
within gamma_n * sum |p_i| + n * 2**-1074 of the exact sum (gamma_n = n u / (1 - n u),
u = 2**-53: each product and each addition rounds once, relatively by at most u, except a
product that underflows, absolutely by at most 2**-1075; Higham, Accuracy and Stability of
Numerical Algorithms, 2nd ed., section 3.1; a fused multiply-add only drops roundings). So an
element whose exact sum is farther from 0 than that bound is nonzero, and one whose sum of
|p_i|, with the bound, stays below the largest float is finite; one beyond 2**1024 by more
than the bound is infinite in every order (an overflow never turns finite again). Only an
element within the bound of 0 (a sum that cancels to nearly nothing) or of the overflow
threshold is left undecided, and then numpy computes the product.

A number that flows on from such a sum (``let c = [0.1, 0.2, 0.3] @ [1, 1, 1]``, used as a
weight, a divisor, an element, in a product of products) is an :class:`Inexact`: a float known to
lie within its sum's bound, made only where every float in there is finite, nonzero and of one
sign, so that the rules of ``check`` (which read nothing else of a folded number) decide from it
as from numpy's float; arithmetic carries the bounds on, each operation's rounding added. Only
what needs the number itself (lowering, a hover) asks numpy for it (:meth:`Inexact.exact`).

netlang.grids applies these to the elements of its arrays (``ProductSums``).
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple, Union


def divide(a: float, b: float) -> float:
    # Python raises where numpy gives ±inf or nan; a divisor of 0 is refused before any division
    # (division-by-zero), but a form's weights may still be divided into infinity.
    if b == 0.0:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


_U = Fraction(1, 2**53)
_TINIEST_NORMAL = 2.0**-1022
_TINY = Fraction(1, 2**1074)
_LARGEST_FRACTION = Fraction(sys.float_info.max)
_OVERFLOW = Fraction(2**1024)


class Enclosure(NamedTuple):
    """An element of a product that orders of summation may round differently: its exact sum
    (or, from :func:`quick_sum`, one order's float) and the bound on how far any order's float
    is from it."""

    exact: Fraction
    error: Fraction  # gamma_n * sum |p_i| + n * 2**-1074 (twice that from quick_sum)
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

    def number(self, exact: Callable[[], float]) -> float:
        """numpy's float for this sum: an :class:`Inexact` (``exact()`` computes the float), or
        ``exact()`` now where it could be zero or overflow (a partial sum too: ``finite``)."""
        if not (self.nonzero and self.finite):
            return exact()
        return inexact(self.exact - self.error, self.exact + self.error, exact)


class Inexact(float):
    """A number that numpy computes from a sum whose last bits BLAS's order of summation may
    change: numpy's float lies in [``low``, ``high``] (exact rationals), and :meth:`exact` is that
    float (numpy imported).

    One is made (:func:`inexact`) only where every float in [low, high] is finite, nonzero and of
    one sign, so that its own value (the float nearest the middle) is finite, zero or negative
    exactly when numpy's is: the rules of ``check`` read nothing else of a folded number (a zero
    divisor, which signals a weight reads, an overflow), and decide alike from either.
    Arithmetic keeps the bounds, with each operation's rounding (:func:`combined`), and gives an
    Inexact again, or numpy's float where the result could be zero or overflow. What needs the
    number itself takes :meth:`exact` (the compiler, a hover, a draw's arguments).
    """

    __slots__ = ("low", "high", "_exact")

    low: Fraction
    high: Fraction
    _exact: Union[float, Callable[[], float]]

    def __repr__(self) -> str:
        return f"Inexact({float(self)!r}, within [{float(self.low)!r}, {float(self.high)!r}])"

    def exact(self) -> float:
        """numpy's float (computed, numpy imported, on the first call)."""
        if callable(self._exact):
            self._exact = self._exact()
        return self._exact

    def __add__(self, other: Any) -> Any:
        return combined(float.__add__, self, other)

    def __radd__(self, other: Any) -> Any:
        return combined(float.__add__, other, self)

    def __sub__(self, other: Any) -> Any:
        return combined(float.__sub__, self, other)

    def __rsub__(self, other: Any) -> Any:
        return combined(float.__sub__, other, self)

    def __mul__(self, other: Any) -> Any:
        return combined(float.__mul__, self, other)

    def __rmul__(self, other: Any) -> Any:
        return combined(float.__mul__, other, self)

    def __truediv__(self, other: Any) -> Any:
        return combined(divide, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return combined(divide, other, self)

    def __neg__(self) -> "Inexact":
        return _made(-self.high, -self.low, lambda: -self.exact())

    def __pos__(self) -> "Inexact":
        return self

    def __abs__(self) -> "Inexact":
        return self if self.low > 0 else -self


def _made(low: Fraction, high: Fraction, exact: Callable[[], float]) -> Inexact:
    number = float.__new__(Inexact, float((low + high) / 2))
    number.low, number.high, number._exact = low, high, exact
    return number


def inexact(low: Fraction, high: Fraction, exact: Callable[[], float]) -> float:
    """An :class:`Inexact` for a float of numpy's known to lie in [low, high], or ``exact()``
    (numpy's float, numpy imported) where that float could be zero or not finite."""
    if (low > 0 or high < 0) and -_LARGEST_FRACTION <= low and high <= _LARGEST_FRACTION:
        return _made(low, high, exact)
    return exact()


def exact(value: float) -> float:
    """numpy's float for a number: an Inexact's :meth:`~Inexact.exact`, any other float itself."""
    return value.exact() if type(value) is Inexact else value


def _bounds(value: float) -> Optional[Tuple[Fraction, Fraction]]:
    if type(value) is Inexact:
        return value.low, value.high
    if not math.isfinite(value):
        return None
    exact_value = Fraction(value)
    return exact_value, exact_value


def combined(operation: Callable[[float, float], float], a: Any, b: Any) -> Any:
    """``operation(a, b)`` (float ``+ - *`` or :func:`divide`), one of them an Inexact: every
    result the floats within their bounds can give, rounded once (by at most 2**-53 of it, or
    2**-1075 below the normal range), as an Inexact where that decides as numpy's float would."""
    if not isinstance(a, (float, int)) or not isinstance(b, (float, int)):
        return NotImplemented  # an array's own operation (a Grid's), elementwise
    a, b = (float(a) if type(a) is int else a), (float(b) if type(b) is int else b)
    for value in (a, b):
        if type(value) is not Inexact and (not math.isfinite(value) or (value == 0.0 and operation in (float.__mul__, divide))):
            # 0 * x, 0 / x, x / 0, inf + x, nan * x...: the result is decided by the operands' signs,
            # which an Inexact's own float has (its zeros and infinities are numpy's, sign and all).
            return operation(float(a), float(b))
    # x + 0, x - 0, 0 + x, x * 1, x / 1 are x itself, 0 - x and x * -1 are -x (x is nonzero):
    # the sums of forms (0.0 + c, sign * c) cost nothing then, not a rational interval each.
    if type(b) is not Inexact:
        if (b == 0.0 and operation in (float.__add__, float.__sub__)) or (b == 1.0 and operation in (float.__mul__, divide)):
            return a
        if b == -1.0 and operation in (float.__mul__, divide):
            return -a
    if type(a) is not Inexact:
        if (a == 0.0 and operation is float.__add__) or (a == 1.0 and operation is float.__mul__):
            return b
        if (a == 0.0 and operation is float.__sub__) or (a == -1.0 and operation is float.__mul__):
            return -b
    exact_result = lambda: operation(float(exact(a)), float(exact(b)))  # noqa: E731
    x, y = _bounds(a), _bounds(b)
    if x is None or y is None:
        return exact_result()
    if operation is float.__add__:
        low, high = x[0] + y[0], x[1] + y[1]
    elif operation is float.__sub__:
        low, high = x[0] - y[1], x[1] - y[0]
    else:
        if operation is divide:
            if y[0] <= 0 <= y[1]:
                return exact_result()
            ends = [p / q for p in x for q in y]
        else:
            ends = [p * q for p in x for q in y]
        low, high = min(ends), max(ends)
    return inexact(low - _U * abs(low) - _TINY, high + _U * abs(high) + _TINY, exact_result)


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


def element_sum(xs: Sequence[float], ys: Sequence[float], orders: bool = True) -> Union[float, Enclosure]:
    """``sum(x * y)`` over nonzero finite factors: the float every order of summation gives
    (starting from 0.0, with or without fused multiply-adds), or its Enclosure when orders may
    differ."""
    n = len(xs)
    if n == 0:
        return 0.0
    if any(type(v) is Inexact for v in xs) or any(type(v) is Inexact for v in ys):
        return _enclosed_sum(xs, ys)
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


def _enclosed_sum(xs: Sequence[float], ys: Sequence[float]) -> Enclosure:
    """``sum(x * y)`` over nonzero finite factors, some Inexact: each product lies between the
    products of its factors' bounds, and any order's float is within gamma_n of the sum of their
    magnitudes (plus n * 2**-1074) of the exact sum of the floats BLAS is given."""
    n = len(xs)
    low = high = magnitude = Fraction(0)
    for x, y in zip(xs, ys):
        x_bounds, y_bounds = _bounds(x), _bounds(y)
        assert x_bounds is not None and y_bounds is not None  # finite factors
        ends = [p * q for p in x_bounds for q in y_bounds]
        low += min(ends)
        high += max(ends)
        magnitude += max(map(abs, ends))
    gamma = n * _U / (1 - n * _U)
    error = (high - low) / 2 + gamma * magnitude + n * _TINY
    return Enclosure((low + high) / 2, error, magnitude + error)


# Any float, or an overflow: nothing is decided from it (neither nonzero, finite nor infinite).
UNKNOWN = Enclosure(Fraction(0), _OVERFLOW, 2 * _OVERFLOW)


def quick_sum(xs: Sequence[float], ys: Sequence[float], integers: bool) -> Union[float, Enclosure]:
    """``sum(x * y)`` over finite factors (zeros included) at C speed, for products too large
    for :func:`element_sum`: the float every order gives where the factors are ``integers``
    whose products' magnitudes sum below 2**53 (every step exact), else an Enclosure centred
    on Python's own sum of the rounded products, which is one order's float, so that BLAS's
    is within twice any order's bound of it (2 gamma_n sum |p_i|, plus n 2**-1074 for products
    that underflow). Where a product or a sum overflows, :data:`UNKNOWN` (numpy's, then).

    About 85 ns a multiply-add here, against 0.8-4.2 us for element_sum's exact arithmetic:
    map, sum and abs run in C; only the bound is Python's, once per element."""
    products = list(map(float.__mul__, xs, ys))
    total = sum(products)
    magnitude = sum(map(abs, products))
    if not math.isfinite(magnitude):
        return UNKNOWN
    if integers and magnitude < 2.0**53:
        return total + 0.0  # BLAS starts at +0.0: an exact zero is +0.0
    n = len(products)
    gamma = n * 2.0**-53 / (1 - n * 2.0**-53)
    # Rounded up by the margin: the few float operations here round by far less than 2**-40.
    largest = (magnitude + n * 2.0**-1074) * (1 + gamma + 2.0**-52) * (1 + 2.0**-40)
    error = (2 * gamma * largest + n * 2.0**-1074) * (1 + 2.0**-40)
    if not math.isfinite(largest + error):
        return UNKNOWN
    error_fraction = Fraction(error)
    return Enclosure(Fraction(total), error_fraction, Fraction(largest) + error_fraction)


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
