"""Expectations: the ``expect (0, 1) -> 1`` statements of a checked program, validated and checked.

An expectation gives input values (vectors flattened, in the order the inputs are
declared) and the output values they should give (outputs flattened likewise).
Values are constants: numbers, ``let`` constants, or arithmetic on them. An output
passes when ``|actual - expected| <= tolerance``; the tolerance is the one written
after ``within``, or :data:`DEFAULT_TOLERANCE` (1e-9: equal up to float rounding,
so a step network's 0 and 1 must match and a sigmoid's output must be written in
full or given a ``within``).
"""

from __future__ import annotations

from array import array
from fractions import Fraction

from dataclasses import dataclass
from pathlib import Path
import math
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from .checker import CheckedProgram
from .pipeline import check_program, lower
from .numerals import format_number
from .errors import NetlangError, Report, combine, did_you_mean, name_list
from .grids import Grid, all_finite, quiet_product
from .rounding import Inexact
from .interpreter import EXACT, FLOAT, Arithmetic, Scalar, check_exact_work, constants, interpret_row, value_of
from .nodes import Call, Compare, Expect, Expr, Index, Name, Number, Product, Program, Span, String, Sum, UnaryOp, Vector, names_read, walk

if TYPE_CHECKING:  # pragma: no cover - validating needs no network; running one does
    import numpy as np

    from .runtime import Network
else:  # numpy only for vectors: netlang check validates a file without them without it
    from .lazynumpy import np

DEFAULT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Expectation:
    """One validated ``expect`` statement: flat input and output values and the tolerance."""

    statement: Expect
    inputs: Tuple[Scalar, ...]
    outputs: Tuple[Scalar, ...]
    tolerance: Scalar
    explicit_tolerance: bool  # False when the statement has no 'within'

    @property
    def line(self) -> int:
        return self.statement.span.line

    def __repr__(self) -> str:
        return f"Expectation(line {self.line}: {format_values(self.inputs)} -> {format_values(self.outputs)})"

    def describe(self) -> str:
        """``(0, 1) -> 1``, or ``(1, 1) -> 0.574 within 0.001``: the statement with its values."""
        text = f"{format_values(self.inputs)} -> {format_values(self.outputs)}"
        if self.explicit_tolerance:
            text += f" within {format_number(self.tolerance)}"
        return text


@dataclass(frozen=True)
class Outcome:
    """An expectation and what the network gave for its inputs."""

    expectation: Expectation
    actual: Tuple[Scalar, ...]
    passed: bool

    def report(self) -> str:
        """``ok   (0, 1) -> 1, got 1`` or ``FAIL (1, 1) -> 0, got 1``."""
        return f"{'ok  ' if self.passed else 'FAIL'} {self.expectation.describe()}, got {format_values(self.actual)}"

    def __repr__(self) -> str:
        return f"Outcome({'pass' if self.passed else 'FAIL'}, {self.expectation!r}, got {format_values(self.actual)})"


def format_values(values: Sequence[Scalar]) -> str:
    """One value as it is, several in parentheses: ``1``, ``(0, 1)``."""
    if len(values) == 1:
        return format_number(values[0])
    return "(" + ", ".join(format_number(v) for v in values) + ")"


def expectations(checked: CheckedProgram, arithmetic: Arithmetic = FLOAT, grids: Optional[bool] = None) -> List[Expectation]:
    """Every ``expect`` statement of ``checked``, validated; a NetlangError listing every invalid one.

    The checked program alone gives the input and output widths: nothing is lowered. ``grids``:
    whether values are computed on Grids, without numpy (by default, unless numpy is imported
    already), or with numpy's arrays; the results are the same (tests/test_check_without_numpy.py).
    """
    validator = _Validator(checked, arithmetic, grids)
    found = [validator.expectation(s) for s in checked.program.statements if isinstance(s, Expect)]
    if validator.report.found:
        raise combine(validator.report.found)
    return [e for e in found if e is not None]


def run_expectations(
    checked: CheckedProgram, network: Optional[Network] = None, arithmetic: Arithmetic = FLOAT
) -> List[Outcome]:
    """Check every expectation: in float64 through the compiled network, or exactly through the interpreter."""
    network = network if network is not None else lower(checked)
    found = expectations(checked, arithmetic)
    if not found:
        return []
    if arithmetic is FLOAT:
        batch = np.array([e.inputs for e in found], dtype=float).reshape(len(found), network.input_width)
        rows: List[Sequence[Scalar]] = [[float(v) for v in row] for row in network(batch)]
    else:
        check_exact_work(network, len(found), checked.program.filename)
        rows = [interpret_row(checked, e.inputs, arithmetic) for e in found]
    outcomes = []
    for expectation, actual in zip(found, rows):
        tolerance: Any = expectation.tolerance  # a float, or a Fraction under exact arithmetic
        passed = all(abs(got - want) <= tolerance for got, want in zip(actual, expectation.outputs))
        outcomes.append(Outcome(expectation, tuple(actual), bool(passed)))
    return outcomes


# Exact arithmetic is slow (Python rationals): a failure is re-checked exactly only in networks this small.
MAX_WEIGHTS_TO_RECHECK = 100_000


def decided_by_rounding(checked: CheckedProgram, network: Network, outcomes: Sequence[Outcome]) -> List[bool]:
    """For each float64 outcome, whether it failed but passes in exact arithmetic (float rounding decided it)."""
    if sum(layer.nonzeros for layer in network.layers) > MAX_WEIGHTS_TO_RECHECK:
        return [False] * len(outcomes)
    decided = []
    for outcome in outcomes:
        if outcome.passed:
            decided.append(False)
            continue
        expectation = outcome.expectation
        exact = interpret_row(checked, [EXACT.scalar(v) for v in expectation.inputs], EXACT)
        wanted = [EXACT.scalar(v) for v in expectation.outputs]
        tolerance = EXACT.scalar(expectation.tolerance)
        # Every exact value (floats from sigmoid and the like included) converts exactly to a Fraction.
        decided.append(
            all(abs(Fraction(got) - Fraction(want)) <= Fraction(tolerance) for got, want in zip(exact, wanted))
        )
    return decided


def check_expectations(
    program: Union[Program, str],
    filename: Optional[str] = None,
    base_dir: Optional[Union[str, Path]] = None,
    exact: bool = False,
) -> List[Outcome]:
    """Check the ``expect`` statements of netlang source text (or a parsed Program), as ``netlang test`` does.

    >>> [o.passed for o in check_expectations("input x1\\nnode y = step(x1 > 0.5)\\nexpect 1 -> 1\\nexpect 0 -> 1")]
    [True, False]
    """
    return run_expectations(check_program(program, filename, base_dir), arithmetic=EXACT if exact else FLOAT)


class _Validator:
    """Turns ``expect`` statements into Expectations, collecting an error for each invalid part."""

    def __init__(self, checked: CheckedProgram, arithmetic: Arithmetic, grids: Optional[bool] = None) -> None:
        self.checked = checked
        self.grids = "numpy" not in sys.modules if grids is None else grids
        self.input_columns = checked.columns(var.name for var in checked.inputs)
        self.output_columns = checked.columns(checked.outputs)
        self.arithmetic = arithmetic
        self.env = constants(checked, arithmetic)
        self.signals = {var.name: "an input" for var in checked.inputs}
        self.signals.update({unit.name: f"a {type(unit.statement).__name__.lower()}" for unit in checked.units})
        self.report = Report(checked.program.filename, checked.program.source)
        self.error = self.report.add

    def expectation(self, statement: Expect) -> Optional[Expectation]:
        inputs = self.values(statement.inputs)
        outputs = self.values(statement.outputs)
        tolerance: Optional[Scalar] = self.arithmetic.scalar(DEFAULT_TOLERANCE)
        if statement.tolerance is not None:
            tolerance = self.tolerance(statement.tolerance)
        ok = inputs is not None and outputs is not None and tolerance is not None
        if inputs is not None:
            ok &= self.arity(inputs, statement.inputs, "input", self.input_columns)
        if outputs is not None:
            ok &= self.arity(outputs, statement.outputs, "output", self.output_columns)
        if not ok:
            return None
        return Expectation(statement, tuple(inputs), tuple(outputs), tolerance, statement.tolerance is not None)  # type: ignore[arg-type]

    def arity(self, values: List[Scalar], exprs: Sequence[Expr], what: str, columns: Sequence[str]) -> bool:
        width = len(columns)
        if len(values) == width:
            return True
        names = name_list(columns)
        verb = "takes" if what == "input" else "gives"
        self.error(
            f"this expectation lists {len(values)} {what} value{'s' if len(values) != 1 else ''}, "
            f"but the network {verb} {width}",
            exprs[0].span.to(exprs[-1].span),
            "expect-arity",
            hint=f"the network's {what}s are {names} (vectors flattened)" if width else f"the network has no {what}s",
        )
        return False

    def values(self, exprs: Sequence[Expr]) -> Optional[List[Scalar]]:
        flat: List[Scalar] = []
        ok = True
        for expr in exprs:
            value = self.constant(expr)
            if value is None:
                ok = False
            elif _is_number(value):
                flat.append(self.arithmetic.scalar(value))
            elif (value.ndim if isinstance(value, Grid) else np.ndim(value)) > 1:
                self.error("a matrix cannot be an expected value", expr.span, "expect-not-constant",
                           hint="list input and output values as numbers, vectors flattened")
                ok = False
            elif isinstance(value, Grid):
                flat += [self.arithmetic.scalar(v) for v in value.data]
            else:
                flat += [self.arithmetic.scalar(v) for v in np.ravel(np.asarray(value, dtype=self.arithmetic.dtype))]
        return flat if ok else None

    def tolerance(self, expr: Expr) -> Optional[Scalar]:
        value = self.constant(expr)
        if value is None:
            return None
        if not _is_number(value) or not value > 0:
            shown = "a vector" if not _is_number(value) else format_number(value)
            self.error(
                f"the tolerance after 'within' must be a positive number, not {shown}",
                expr.span,
                "bad-tolerance",
                hint="for example 'within 0.001'; without 'within', outputs must match to 1e-9",
            )
            return None
        return value

    def constant(self, expr: Expr) -> Optional[Any]:
        """The value of a constant expression, or None after reporting why it is not one."""
        for node in walk(expr):
            if isinstance(node, Name) and node.id not in self.env:
                self.not_constant(node.id, node.span)
                return None
            if isinstance(node, Index) and node.name not in self.env:
                self.not_constant(node.name, node.span)
                return None
            if isinstance(node, (Call, Compare, String)):
                self.error(
                    "an expected value must be a number or a constant",
                    node.span,
                    "expect-not-constant",
                    hint="write numbers, 'let' constants or arithmetic on them, e.g. expect (0, 1) -> 1",
                )
                return None
        for node in walk(expr):
            if isinstance(node, Index) and _is_number(self.env[node.name]):
                self.error(
                    f"'{node.name}' is a single number, not a vector",
                    node.span,
                    "not-a-vector",
                    hint=f"write {node.name} without [{node.index}]",
                )
                return None
            if isinstance(node, Index) and node.index >= len(self.env[node.name]):  # in the words of a let's (values.py)
                size = len(self.env[node.name])
                self.error(
                    f"index {node.index} is out of range: '{node.name}' has {size} elements",
                    node.span,
                    "index-out-of-range",
                    hint=f"elements are numbered from 0 to {size - 1}",
                )
                return None
        value: Any = None
        try:
            if self.grids and self.arithmetic is FLOAT and not any(_is_numpys(self.env.get(name)) for name in names_read(expr)):
                try:
                    value = _grid_value(expr, self.env)
                except _AskNumpy:
                    value = None
            if value is None:
                for name in names_read(expr):
                    if isinstance(self.env.get(name), Grid):  # the interpreter computes with numpy's arrays
                        self.env[name] = self.env[name].numpy()
                # numpy's own errstate, numpy imported first: an expression of literals alone
                # makes its arrays inside, and lazynumpy's errstate is nothing before the import.
                with np.errstate(all="raise"):
                    value = value_of(expr, self.env, self.arithmetic)
            if isinstance(value, Grid):
                finite = all_finite(value)
            else:
                finite = math.isfinite(value) if _is_number(value) else bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
        except ValueError:  # numpy's, and a Grid's as numpy's: shapes that neither broadcast, align nor stack
            self.error(
                "this value cannot be computed: the shapes of its vectors and matrices do not fit",
                expr.span,
                "expect-not-constant",
                hint="elementwise (+ - * /), sizes aligned from the last must be equal or 1 (a 2x3 matrix and a "
                "3-vector fit, a 2-vector does not); '@' needs the inner sizes equal; a list needs items of one shape",
            )
            return None
        except (ZeroDivisionError, FloatingPointError, OverflowError):
            finite = False
        if not finite:
            self.error(
                "this value cannot be computed (it divides by zero, overflows or underflows)", expr.span, "expect-not-constant"
            )
            return None
        return value

    def not_constant(self, name: str, span: Span) -> None:
        if name in self.signals:
            self.error(
                f"an expected value must be a constant, but '{name}' is {self.signals[name]}",
                span,
                "expect-not-constant",
                hint="write the values themselves: the inputs on the left of '->', the outputs on the right",
            )
            return
        constants_ = list(self.env)
        hint = did_you_mean(name, constants_)
        if hint is None:
            hint = f"the constants defined in this file are {', '.join(constants_)}" if constants_ else (
                "define it with 'let', or write the number itself"
            )
        self.error(f"unknown name '{name}'", span, "unknown-name", hint=hint)


class _AskNumpy(Exception):
    """A value that numpy's arrays must compute: what they give (or raise) is not certain here
    (its argument, where given, names why: the tests check which cases are left to numpy)."""


_TINIEST_NORMAL = 2.0**-1022
# An inexact result is numpy's 'underflow' when it is tiny, which IEEE 754 lets the processor
# detect before rounding (its exact value is below 2**-1022) or after (rounded to 53 bits with an
# unbounded exponent, it is below 2**-1022). The two differ for exact values in
# [2**-1022 - 2**-1076, 2**-1022), which round to 2**-1022: tiny before rounding, not after.
_TINY_AFTER_ROUNDING = Fraction(2) ** -1022 - Fraction(2) ** -1076
# The machines whose double arithmetic is known to detect tininess after rounding: x86-64, where
# Python's floats and numpy's loops both compute with SSE/AVX (the ABI's), whose MXCSR detects
# it after rounding (Berkeley SoftFloat models x86's SSE so; measured here, numpy 2.4.6 on an AMD
# EPYC under errstate(all="raise"): (2**-1022 - 2**-1074) * (1 + 2**-52), exactly
# 2**-1022 - 2**-1126, gives 2**-1022 and no underflow; (1 - 2**-53) * 2**-1022, exactly
# 2**-1022 - 2**-1075, gives 2**-1022 and raises; tests/test_check_without_numpy.py compares
# such products and quotients with numpy's). AArch64 detects it before rounding unless FPCR.AH
# is set (Armv8.7's FEAT_AFP, x86's behaviour), which a process may set: there, and on every
# other machine, numpy's own flags decide that window (numpy is imported for it).
# platform.machine(): "x86_64" (Linux, macOS), "AMD64" (Windows), "amd64" (the BSDs); a 32-bit
# Python there may compute with the x87 instead, so it must be a 64-bit one too.
_AFTER_ROUNDING_MACHINES = {"x86_64", "amd64"}


def _is_numpys(value: Any) -> bool:
    return value is not None and not isinstance(value, (float, int, Fraction, Grid))


def _grid_value(expr: Expr, env: Dict[str, Any]) -> Union[float, Grid]:
    """``value_of(expr, env, FLOAT)`` under ``errstate(all="raise")``, with Grids for numpy's
    arrays, so that ``netlang check`` validates expected values without numpy: numbers are Python
    floats either way; an operation on arrays raises FloatingPointError where numpy's would
    (overflow, division by zero, an invalid result, or underflow: a tiny result that is not
    exact), and shapes broadcast, stack or are refused (ValueError) as numpy's; :class:`_AskNumpy`
    where that is not certain (a product whose orders of summation differ or may underflow, a
    product of a stack of matrices, a tininess that depends on when this machine detects it) or
    not a Grid's. An infinity or a NaN (a number's overflow, silent in Python's floats) met by
    an array raises what IEEE's flags do: nothing carried, 'invalid' made (inf - inf, inf * 0)."""
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, (Name, Index)):
        value = env[expr.id if isinstance(expr, Name) else expr.name]
        if isinstance(value, Grid):
            value = Grid(value.shape, value.data)  # a draw drawn, a product summed: numpy's values
        elif not isinstance(value, float) or type(value) is Inexact:
            raise _AskNumpy()  # not a Grid's, or a number only known up to numpy's rounding
        if isinstance(expr, Index):
            element = value[expr.index]  # an IndexError past the end, as numpy's
            return float(element) if isinstance(element, float) else element
        return value
    if isinstance(expr, UnaryOp):
        inner = _grid_value(expr.operand, env)
        if expr.op == "+":
            return inner
        return -inner if isinstance(inner, float) else Grid(inner.shape, array("d", [-v for v in inner.data]))
    if isinstance(expr, Sum):
        total = _grid_value(expr.operands[0], env)
        for op, operand in zip(expr.ops, expr.operands[1:]):
            total = _elementwise(op, total, _grid_value(operand, env))
        return total
    if isinstance(expr, Product):
        result = _grid_value(expr.operands[0], env)
        for op, operand in zip(expr.ops, expr.operands[1:]):
            right = _grid_value(operand, env)
            if op != "@":
                result = _elementwise(op, result, right)
            elif isinstance(result, float) or isinstance(right, float):
                raise ValueError("matmul: a number has no dimensions")  # as numpy's matmul
            else:
                if result.ndim > 2 or right.ndim > 2:
                    raise _AskNumpy("stack")  # a stack of matrices ([M, M] @ v): numpy's products, one per matrix
                if result.shape[-1] != right.shape[0]:
                    raise ValueError("matmul: shapes do not align")
                product = quiet_product(result, right) if all_finite(result) and all_finite(right) else None
                if product is None:
                    raise _AskNumpy()  # orders of summation differ, or one may underflow: numpy's sum and flags
                if not (math.isfinite(product) if isinstance(product, float) else all_finite(product)):
                    raise FloatingPointError("overflow")  # of finite factors: numpy's 'overflow' in matmul
                result = product
        return result
    if isinstance(expr, Vector):
        # numpy's asarray: items of one shape (a number's is ()) stacked along a new first
        # dimension, a matrix's too ([M, M]: 3 dimensions, refused as an expected value, or
        # combined elementwise first); items of different shapes are refused.
        items = [_grid_value(item, env) for item in expr.items]
        shapes = {() if isinstance(item, float) else item.shape for item in items}
        if len(shapes) != 1:
            raise ValueError("the items do not have one shape")  # as numpy's asarray
        data = array("d")
        for item in items:
            if isinstance(item, float):
                data.append(item)
            else:
                data.extend(item.data)
        return Grid((len(items),) + shapes.pop(), data)
    raise _AskNumpy()


def _elementwise(op: str, left: Union[float, Grid], right: Union[float, Grid]) -> Union[float, Grid]:
    """``left op right`` (op one of + - * /) as the interpreter computes it under errstate(all="raise"),
    shapes broadcast as numpy's (:func:`_broadcast`)."""
    if isinstance(left, float) and isinstance(right, float):
        return left + right if op == "+" else left - right if op == "-" else left * right if op == "*" else left / right
    left_shape = left.shape if isinstance(left, Grid) else ()
    right_shape = right.shape if isinstance(right, Grid) else ()
    shape = _broadcast(left_shape, right_shape)
    if not shape:
        raise _AskNumpy("0-d")  # two 0-d arrays give a numpy scalar, whose own arithmetic raises where a float's does not
    xs = _stretched(left, shape)
    ys = _stretched(right, shape)
    values = array("d")
    for x, y in zip(xs, ys):
        if op in "+-":
            value = x + y if op == "+" else x - y  # a tiny sum is exact: no underflow
        elif op == "*":
            value = x * y
        elif y != 0.0:
            value = x / y
        elif x == 0.0 or math.isfinite(x):
            raise FloatingPointError("divide by zero")  # numpy: 'divide', or 'invalid' for 0/0
        else:  # an infinity or a NaN over zero: no flag (dividing by zero is a finite number's)
            value = x if x != x else math.copysign(math.inf, x) * math.copysign(1.0, y)
        if not math.isfinite(value):
            # An infinity or a NaN (from a number's overflow: silent in Python's floats) carried
            # raises nothing, as IEEE's; made from finite numbers, or a NaN made from infinities
            # (inf - inf, inf * 0, inf / inf), it is numpy's 'overflow' or 'invalid'.
            if math.isfinite(x) and math.isfinite(y):
                raise FloatingPointError("overflow")
            if value != value and x == x and y == y:
                raise FloatingPointError("invalid value")
        elif op in "*/" and abs(value) <= _TINIEST_NORMAL and x != 0.0 and math.isfinite(y):
            exact = Fraction(x) * Fraction(y) if op == "*" else Fraction(x) / Fraction(y)
            if exact != value and _tiny(exact):
                raise FloatingPointError("underflow")
        values.append(value)
    return Grid(shape, values)


def _broadcast(left: Tuple[int, ...], right: Tuple[int, ...]) -> Tuple[int, ...]:
    """The shape of an elementwise result, by numpy's broadcasting: the shapes aligned at their
    last dimension, a missing dimension counted as 1; two lengths that differ, neither of them 1,
    are refused (numpy's ValueError), and a length of 1 is stretched to the other."""
    ndim = max(len(left), len(right))
    result = []
    for m, n in zip((1,) * (ndim - len(left)) + left, (1,) * (ndim - len(right)) + right):
        if m != n and m != 1 and n != 1:
            raise ValueError(f"operands could not be broadcast together with shapes {left} {right}")
        result.append(n if m == 1 else m)
    return tuple(result)


def _stretched(value: Union[float, Grid], shape: Tuple[int, ...]) -> Sequence[float]:
    """The elements of ``value`` broadcast to ``shape``, row-major (a number's repeated)."""
    if isinstance(value, float):
        return [value] * math.prod(shape)
    if value.shape == shape:
        return value.data
    # Each dimension of the result steps through the value's elements by the value's stride
    # there, or by 0 where the value's length is 1 (or the dimension is missing): repeated.
    own = (1,) * (len(shape) - value.ndim) + value.shape
    strides = [math.prod(own[k + 1 :]) if own[k] != 1 else 0 for k in range(len(shape))]
    indices = [0]
    for length, stride in zip(shape, strides):
        indices = [i + j * stride for i in indices for j in range(length)]
    data = value.data
    return [data[i] for i in indices]


def _tiny(exact: Fraction) -> bool:
    """Whether an inexact product or quotient whose exact value is ``exact`` is tiny, so that
    numpy's errstate raises 'underflow' (:class:`_AskNumpy` where the processor decides)."""
    size = abs(exact)
    if size >= _TINIEST_NORMAL:
        return False  # rounded down to 2**-1022 from above: not tiny either way
    if size < _TINY_AFTER_ROUNDING:
        return True  # tiny after rounding, so before it too
    if _detects_tininess_after_rounding():
        return False
    raise _AskNumpy("tininess")  # tiny before rounding, not after: the processor decides


def _detects_tininess_after_rounding() -> bool:
    """Whether this machine's double arithmetic is known to detect tininess after rounding
    (asked only for a result in the window where that matters)."""
    import platform

    return platform.machine().lower() in _AFTER_ROUNDING_MACHINES and sys.maxsize > 2**32


def _is_number(value: Any) -> bool:
    """Whether a constant is one number (a float, or a Fraction in exact arithmetic), not an array."""
    return isinstance(value, (float, int, Fraction))
