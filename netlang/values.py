"""The value of an expression: a constant, or an affine form of the signals it reads.

A constant is a float or a numpy array (folded here, in float64); anything that reads a
signal is a :class:`~netlang.forms.ScalarForm` or :class:`~netlang.forms.VectorForm`.
This module holds the rules that decide what an operator or a built-in gives (shapes,
linearity, overflow, the size limits and the budget of constant folding) and the words of
their errors. What a name means is asked of a :class:`Scope`, the small interface the
checker implements: a new operator or built-in is written here alone, a new kind of
declaration there alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Dict, List, NamedTuple, Optional, Protocol, Tuple, TypeGuard, Union

from . import limits
from .params import INITIALISERS
from .callables import BUILTINS, CALLABLES, PUBLIC_NAMES, is_activation
from .errors import Failed as Failed, did_you_mean
from .hints import function_hint
from .forms import Block, Diag, Key, ScalarForm, VectorForm
from .grids import NUMPY, Array, Arrays, arrays_of, scalar
from .numerals import counted
from .nodes import Call, Compare, Expr, Index, Layer, Name, Node, Number, Product, Span, String, Sum, UnaryOp, Vector

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import TypeIs

# An array is numpy's when a program is compiled, a Grid when it is only checked (netlang.grids):
# the rules below are the same for both.
Constant = Union[float, Array]
Value = Union[Constant, ScalarForm, VectorForm]
Form = Union[ScalarForm, VectorForm]


class Signal(NamedTuple):
    """A name that is a signal: an input, node or layer, of ``size`` elements (None: a single value)."""

    name: str
    size: Optional[int]


class Scope(Protocol):
    """What the value of an expression needs to know from outside it (the checker implements it)."""

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> Failed:
        """Report an error; the returned exception abandons the definition."""

    def resolve(self, name: str, span: Span, indexed: bool) -> Union[Constant, Signal]:
        """What ``name`` (written at ``span``, with ``[i]`` after it if ``indexed``) stands for."""

    def is_scalar_signal(self, name: str) -> bool:
        """Whether ``name`` is a usable single-value signal (the fast path of long sums)."""

    def read_weights(self, path: str, key: Optional[str], path_span: Span, span: Span) -> Array:
        """The array in the weight file ``path`` (an array ``key`` of an .npz), for ``load``."""


def is_constant(value: Value) -> TypeGuard[Constant]:
    return not isinstance(value, (ScalarForm, VectorForm))


def is_array(value: Value) -> "TypeIs[Array]":
    """Whether ``value`` is a constant vector or matrix (told without numpy: a value is a float,
    a form or an array, so that a program without arrays never imports it)."""
    return not isinstance(value, (float, ScalarForm, VectorForm))


def shape_text(value: Value) -> str:
    if isinstance(value, (ScalarForm, float)):
        return "a single value"
    if isinstance(value, VectorForm):
        return f"{value.size} elements"
    if value.ndim == 1:
        return f"{value.shape[0]} elements"
    return "x".join(str(n) for n in value.shape)


def size_of(value: Value) -> Optional[int]:
    """The number of elements of a vector value; None for a single value."""
    if isinstance(value, VectorForm):
        return value.size
    if is_array(value):
        return value.shape[0]
    return None


def describe(expr: Expr, fallback: str) -> str:
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Index):
        return f"{expr.name}[{expr.index}]"
    return fallback


def _is_or_has(value: Value) -> str:
    """'is 2x3' for a matrix, 'has 3 elements' for a vector."""
    text = shape_text(value)
    return f"has {text}" if text.endswith("elements") else f"is {text}"


def shape_of(value: Constant) -> Tuple[int, ...]:
    """numpy's ``np.shape``: () for a number."""
    return () if isinstance(value, float) else tuple(value.shape)


def _as_form(value: Value, size: Optional[int], arrays: Arrays) -> Form:
    if isinstance(value, (ScalarForm, VectorForm)):
        if size is not None and isinstance(value, ScalarForm):
            return value.broadcast(size, arrays)
        return value
    if size is None:
        assert isinstance(value, float)
        return ScalarForm(value)
    return VectorForm(size, arrays.vector(value, size))


def _scale(value: Value, factor: float) -> Value:
    if isinstance(value, (ScalarForm, VectorForm)):
        return value.scaled(factor)
    return value * factor


class Budget:
    """The work of constant folding across a whole program: multiply-adds and bytes of constants.

    Each limit bounds one object; this bounds their total, so that many in-limit constants
    (twelve 10,000 x 10,000 outer products, a large matrix squared) cannot take minutes or
    exhaust memory. Both counts are charged before the work is done.
    """

    __slots__ = ("multiply_adds", "bytes", "exhausted")

    def __init__(self) -> None:
        self.multiply_adds = 0
        self.bytes = 0
        self.exhausted = False  # a limit was crossed and reported: every later step fails quietly

    def __repr__(self) -> str:
        return f"Budget(multiply_adds={self.multiply_adds}, bytes={self.bytes})"


class Values:
    """Computes the value of expressions, asking ``scope`` what names mean and reporting to it."""

    def __init__(self, scope: Scope, budget: Budget, arrays: Arrays = NUMPY) -> None:
        self.scope = scope
        self.budget = budget
        self.arrays = arrays  # the kind of array of the constants it makes
        self.algebra = Algebra(scope.error, budget, arrays)

    def __repr__(self) -> str:
        return f"Values({type(self.scope).__name__}, {self.budget!r})"

    def value(self, expr: Expr) -> Value:
        """The value of ``expr``: a constant, or an affine form of the signals it reads."""
        if isinstance(expr, Number):
            return self.algebra.literal(expr)
        if isinstance(expr, Name):
            return self.name(expr.id, expr.span)
        if isinstance(expr, Index):
            return self.element(expr)
        if isinstance(expr, UnaryOp):
            operand = self.value(expr.operand)
            if expr.op == "+":
                return operand
            if is_array(operand):
                self.algebra.charge(operand.size, operand.nbytes, expr.span)
            return _scale(operand, -1.0)
        if isinstance(expr, Sum):
            return self.sum(expr)
        if isinstance(expr, Product):
            return self.product(expr)
        if isinstance(expr, Vector):
            return self.vector(expr)
        if isinstance(expr, Compare):
            raise self.scope.error(
                f"a comparison ('{expr.op}') is only allowed directly inside step(...)",
                expr.span,
                "misplaced-comparison",
                hint=f"write step(... {expr.op} ...) as the whole right-hand side of a node",
            )
        if isinstance(expr, Call):
            return self.call(expr)
        if isinstance(expr, String):
            raise self.scope.error("a string is only allowed as a file name in load(...)", expr.span, "misplaced-string")
        raise AssertionError(f"unknown node {expr!r}")  # pragma: no cover

    def name(self, name: str, span: Span) -> Value:
        meaning = self.scope.resolve(name, span, indexed=False)
        if not isinstance(meaning, Signal):
            return meaning
        if meaning.size is None:
            return ScalarForm(0.0, {name: 1.0})
        return VectorForm(meaning.size, self.arrays.zeros(meaning.size), {name: Diag(self.arrays.ones(meaning.size))})

    def element(self, expr: Index) -> Value:
        meaning = self.scope.resolve(expr.name, expr.span, indexed=True)
        if not isinstance(meaning, Signal):
            if isinstance(meaning, float):
                raise self.scope.error(f"'{expr.name}' is a single number, not a vector", expr.span, "not-a-vector")
            if expr.index >= meaning.shape[0]:
                raise self._out_of_range(expr, meaning.shape[0])
            element = meaning[expr.index]
            if meaning.ndim == 1:
                assert isinstance(element, float)  # numpy's float64 is one
                return scalar(element)
            return element
        if meaning.size is None:
            raise self.scope.error(
                f"'{expr.name}' is a single value, not a vector: it has no elements to index",
                expr.span,
                "not-a-vector",
                hint=f"write {expr.name} without [{expr.index}]",
            )
        if expr.index >= meaning.size:
            raise self._out_of_range(expr, meaning.size)
        return ScalarForm(0.0, {(expr.name, expr.index): 1.0})

    def _out_of_range(self, expr: Index, size: int) -> Failed:
        return self.scope.error(
            f"index {expr.index} is out of range: '{expr.name}' has {size} elements",
            expr.span,
            "index-out-of-range",
            hint=f"elements are numbered from 0 to {size - 1}",
        )

    def sum(self, expr: Sum) -> Value:
        weighted = self._weighted_signal
        add = self.algebra.add
        first = expr.operands[0]
        term = weighted(first)
        if term is not None:
            total: Value = ScalarForm(0.0 * term[1], {term[0]: 1.0 * term[1]})
        else:
            total = self.value(first)
        for op, operand_expr in zip(expr.ops, expr.operands[1:]):
            sign = 1.0 if op == "+" else -1.0
            if isinstance(total, ScalarForm):
                term = weighted(operand_expr)
                if term is not None:
                    # The general path's arithmetic, step for step (so results are bit for bit the
                    # same), without making a form per term: most of a big netlist is such terms.
                    key, weight = term
                    coeffs = total.coeffs
                    coeffs[key] = coeffs.get(key, 0.0) + sign * (1.0 * weight)
                    total.const += sign * (0.0 * weight)
                    continue
            total = add(total, self.value(operand_expr), sign, expr, operand_expr)
        return total

    def _weighted_signal(self, expr: Expr) -> Optional[Tuple[str, float]]:
        """(signal, weight) when ``expr`` is ``number * name`` of a usable scalar signal, else None.

        Anything else (or anything that may be an error) is left to :meth:`value`.
        """
        if type(expr) is not Product or len(expr.ops) != 1 or expr.ops[0] != "*":
            return None
        number, name_expr = expr.operands
        negated = False
        if type(number) is UnaryOp and type(number.operand) is Number:  # a signed weight: -0.5*x
            negated = number.op == "-"
            number = number.operand
        if type(number) is not Number or type(name_expr) is not Name:
            return None
        if not self.scope.is_scalar_signal(name_expr.id):
            return None
        weight = self.algebra.literal(number)
        return name_expr.id, weight * -1.0 if negated else weight

    def product(self, expr: Product) -> Value:
        algebra = self.algebra
        result = self.value(expr.operands[0])
        for op, operand_expr in zip(expr.ops, expr.operands[1:]):
            operand = self.value(operand_expr)
            if op == "@":
                result = algebra.matmul(result, operand, expr, operand_expr)
            elif op == "*":
                result = algebra.multiply(result, operand, expr, operand_expr)
            else:
                result = algebra.divide(result, operand, expr, operand_expr)
        return result

    def vector(self, expr: Vector) -> Value:
        error = self.scope.error
        if not expr.items:
            raise error("an empty vector has no elements", expr.span, "bad-size")
        if len(expr.items) > limits.MAX_VECTOR_SIZE:
            raise error(
                f"this vector has {len(expr.items)} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                expr.span,
                "limit-exceeded",
            )
        items = [self.value(item) for item in expr.items]
        constants = [item for item in items if is_constant(item)]
        if len(constants) == len(items):
            shapes = {shape_of(item) for item in constants}
            if len(shapes) > 1:
                raise error(
                    "the rows of this matrix have different lengths",
                    expr.span,
                    "ragged-matrix",
                    hint="every row of a matrix needs the same number of elements",
                )
            entries = len(constants) * math.prod(shape_of(constants[0]))
            self.algebra.charge(0, 8 * entries, expr.span)
            if len(shape_of(constants[0])) > 1:
                raise error("only vectors and matrices are supported, not deeper nesting", expr.span, "bad-shape")
            return self.arrays.stack(constants)
        scalars: List[Union[float, ScalarForm]] = []
        for item, item_expr in zip(items, expr.items):
            if not isinstance(item, (float, ScalarForm)):
                raise error(
                    "a vector that reads signals must list single values; a matrix can only hold constants",
                    item_expr.span,
                    "shape-mismatch",
                )
            scalars.append(item)
        size = len(scalars)
        keys = {key for item in scalars if isinstance(item, ScalarForm) for key in item.coeffs}
        self.algebra.within_limit(size * len(keys), expr.span, "the weights of this vector of signals")
        const = self.arrays.stack([item if isinstance(item, float) else item.const for item in scalars])
        columns: Dict[Key, List[float]] = {}
        for row, item in enumerate(scalars):
            if isinstance(item, ScalarForm):
                for key, coeff in item.coeffs.items():
                    column = columns.get(key)
                    if column is None:
                        column = columns[key] = [0.0] * size
                    column[row] += coeff
        terms: Dict[Key, Block] = {key: self.arrays.column(column) for key, column in columns.items()}
        return VectorForm(size, const, terms)

    def call(self, expr: Call) -> Value:
        name = expr.func.id
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            return builtin(self, expr)
        if is_activation(name):
            raise self.scope.error(
                f"{name}(...) must be the whole right-hand side of a node or layer",
                expr.span,
                "misplaced-activation",
                hint=(
                    f"an activation wraps the whole sum, bias included: {name}(W @ x + b); to use "
                    f"its result in a sum, define it as a node or layer of its own and use its name"
                ),
            )
        if name in INITIALISERS:
            raise self.scope.error(
                f"{name}(...) gives a param its initial values; it is not a value to compute with",
                expr.span,
                "misplaced-initialiser",
                hint=f"write it as the whole value of a param: param W[rows, columns] = {INITIALISERS[name][1]}",
            )
        hint = function_hint(name) or did_you_mean(name, PUBLIC_NAMES + BUILTINS)
        raise self.scope.error(
            f"unknown function '{name}'",
            expr.func.span,
            "unknown-function",
            hint=hint or f"the functions are {', '.join(PUBLIC_NAMES + BUILTINS)}",
        )

    def load(self, expr: Call) -> Constant:
        args = expr.args
        if not 1 <= len(args) <= 2 or not all(isinstance(arg, String) for arg in args):
            raise self.scope.error(
                'load takes a file name and, for .npz files, an array name: load("w.npy") or load("model.npz", "W1")',
                expr.span,
                "bad-arguments",
            )
        strings = [arg.value for arg in args if isinstance(arg, String)]
        array = self.scope.read_weights(strings[0], strings[1] if len(strings) == 2 else None, args[0].span, expr.span)
        self.algebra.charge(0, array.nbytes, expr.span)
        return array

    def activation_input(self, expr: Expr) -> Tuple[str, Value]:
        """A node's or layer's right-hand side as (activation, the value it is applied to)."""
        if not (isinstance(expr, Call) and is_activation(expr.func.id)):
            return "identity", self.value(expr)
        activation = expr.func.id
        if len(expr.args) != 1:
            raise self.scope.error(f"{activation} takes one argument, not {len(expr.args)}", expr.span, "bad-arguments")
        argument = expr.args[0]
        if not isinstance(argument, Compare):
            return activation, self.value(argument)
        if activation != "step":
            raise self.scope.error(
                f"only step takes a comparison, not {activation}",
                argument.span,
                "misplaced-comparison",
                hint=f"write step({describe(argument.left, 'a')} {argument.op} ...), or give {activation} a weighted sum",
            )
        left = self.value(argument.left)
        right = self.value(argument.right)
        # step(a > b) fires where a - b > 0; a < b is b - a > 0; >= and <= include 0.
        if argument.op in ("<", "<="):
            left, right = right, left
        whole = Sum((argument.left, argument.right), ("-",), argument.span)
        form = self.algebra.add(left, right, -1.0, whole, argument.right)
        return ("step_ge" if argument.op in (">=", "<=") else "step"), form

    def definition(self, statement: Union[Node, Layer]) -> Tuple[str, Form, Optional[int]]:
        """A node's or layer's (activation, input form, size), the shape rules of each applied."""
        activation, form = self.activation_input(statement.value)
        error = self.scope.error
        if isinstance(statement, Node):
            if is_array(form) or isinstance(form, VectorForm):
                raise error(
                    f"node '{statement.name}' computes {shape_text(form)}; a node is a single neuron",
                    statement.value.span,
                    "shape-mismatch",
                    hint=f"use 'layer {statement.name}[{size_of(form)}] = ...' for a vector of neurons",
                )
            if CALLABLES[activation].whole_vector:
                raise error(
                    f"{activation} works on a whole layer, not on a single node",
                    statement.value.span,
                    "misplaced-activation",
                    hint=f"use 'layer {statement.name} = {activation}(...)'",
                )
            return activation, (form if isinstance(form, ScalarForm) else ScalarForm(scalar(form))), None
        size = size_of(form)
        if size is None:
            raise error(
                f"layer '{statement.name}' computes a single value; a layer is a vector of neurons",
                statement.value.span,
                "shape-mismatch",
                hint=f"use 'node {statement.name} = ...' for a single neuron",
            )
        if is_array(form) and form.ndim != 1:
            raise error(
                f"layer '{statement.name}' computes a {shape_text(form)} matrix; a layer is a vector",
                statement.value.span,
                "shape-mismatch",
            )
        if size > limits.MAX_VECTOR_SIZE:
            raise error(
                f"layer '{statement.name}' computes {size} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                statement.value.span,
                "limit-exceeded",
            )
        if statement.size is not None and statement.size != size:
            raise error(
                f"layer '{statement.name}' is declared with {statement.size} elements but computes {size}",
                statement.span,
                "shape-mismatch",
                hint=f"write layer {statement.name}[{size}], or check the weights' shape",
            )
        vector = form if isinstance(form, VectorForm) else VectorForm(size, arrays_of(form).asarray(form))
        return activation, vector, size


# The built-in functions (every ``builtin`` of callables.CALLABLES): what a call of each is worth.
_BUILTINS: Dict[str, Callable[[Values, Call], Value]] = {"load": Values.load}
assert set(_BUILTINS) == {name for name, c in CALLABLES.items() if c.kind == "builtin"}


class Algebra:
    """The operators on values: their shape and linearity rules, and their messages."""

    def __init__(self, error: Callable[..., Failed], budget: Budget, arrays: Arrays = NUMPY) -> None:
        self.error = error
        self.budget = budget
        self.arrays = arrays

    def __repr__(self) -> str:
        return f"Algebra({self.budget!r})"

    def charge(self, multiply_adds: int, size: int, span: Span) -> None:
        """Count the work of one folding step before it is done; refuse it past the budget."""
        budget = self.budget
        if budget.exhausted:
            raise Failed()
        budget.multiply_adds += multiply_adds
        budget.bytes += size
        if budget.multiply_adds > limits.MAX_FOLDING_MULTIPLY_ADDS or budget.bytes > limits.MAX_FOLDED_BYTES:
            budget.exhausted = True
        if budget.multiply_adds > limits.MAX_FOLDING_MULTIPLY_ADDS:
            raise self.error(
                f"folding the constants up to here takes {budget.multiply_adds:,} multiply-adds; "
                f"the limit for a whole program is {limits.MAX_FOLDING_MULTIPLY_ADDS:,} (MAX_FOLDING_MULTIPLY_ADDS)",
                span,
                "limit-exceeded",
                hint="compute large constant products outside netlang and load the result from a weight file",
            )
        if budget.bytes > limits.MAX_FOLDED_BYTES:
            raise self.error(
                f"the constants folded and loaded up to here take {budget.bytes:,} bytes; "
                f"the limit for a whole program is {limits.MAX_FOLDED_BYTES:,} (MAX_FOLDED_BYTES)",
                span,
                "limit-exceeded",
                hint="use fewer or smaller constant matrices",
            )

    def charge_array(self, shape: Tuple[int, ...], multiply_adds: int, span: Span) -> None:
        self.charge(multiply_adds, 8 * math.prod(shape), span)

    def checked_number(self, value: float, span: Span, what: str) -> float:
        if not math.isfinite(value):
            raise self.error(
                f"{what} is too large to represent (it overflows to infinity)",
                span,
                "number-out-of-range",
                hint="numbers must lie within about ±1.8e308",
            )
        return value

    def literal(self, number: Number) -> float:
        value = self.checked_number(number.value, number.span, f"the number {number.text}")
        mantissa = number.text.lower().partition("e")[0]
        if value == 0 and any(digit in mantissa for digit in "123456789"):
            # 1e-400 would silently become 0: a weight the user wrote would vanish.
            raise self.error(
                f"the number {number.text} is too small to represent (it underflows to 0)",
                number.span,
                "number-out-of-range",
                hint="numbers other than 0 must lie beyond about ±5e-324; write 0 if you mean zero",
            )
        return value

    def within_limit(self, entries: int, span: Span, what: str) -> None:
        """Refuse, before building it, a weight block larger than MAX_MATRIX_ENTRIES."""
        if entries > limits.MAX_MATRIX_ENTRIES:
            raise self.error(
                f"{what} would have {entries} entries; the limit is {limits.MAX_MATRIX_ENTRIES}",
                span,
                "limit-exceeded",
                hint="split the computation into smaller layers",
            )

    def checked_array(self, value: Array, span: Span) -> Array:
        if not arrays_of(value).all_finite(value):
            raise self.error("this constant overflows: the result is too large to represent", span, "number-out-of-range")
        return value

    def elementwise(self, left: Constant, right: Constant, span: Span) -> None:
        """Charge an elementwise operation on two constants, one of them an array."""
        # Operands have one shape, or one is a single value (the operators refuse any other pair).
        shape = max(shape_of(left), shape_of(right), key=len)
        self.charge_array(shape, math.prod(shape), span)

    def add(self, left: Value, right: Value, sign: float, whole: Sum, right_expr: Expr) -> Value:
        if is_constant(left) and is_constant(right):
            if is_array(left) or is_array(right):
                if shape_of(left) != shape_of(right) and shape_of(left) and shape_of(right):
                    raise self.shape_mismatch("+" if sign > 0 else "-", left, right, whole, right_expr)
                self.elementwise(left, right, whole.span)
                return self.checked_array(self.arrays.asarray(left + sign * right), whole.span)
            assert isinstance(left, float) and isinstance(right, float)
            return self.checked_number(left + sign * right, whole.span, "this sum")
        left_form, right_form = self.as_forms(left, right, "+" if sign > 0 else "-", whole, right_expr)
        if isinstance(left_form, ScalarForm):
            # Forms are built fresh for each expression, so the running sum may grow in place.
            assert isinstance(right_form, ScalarForm)
            left_form.add_in_place(right_form, sign)
            return left_form
        assert isinstance(right_form, VectorForm)
        return left_form.plus(right_form, sign)

    def as_forms(self, left: Value, right: Value, op: str, whole: Expr, right_expr: Expr) -> Tuple[Form, Form]:
        """Both operands as forms of one kind, broadcasting scalars over vectors."""
        for value, side in ((left, "left"), (right, "right")):
            if is_array(value) and value.ndim == 2:
                # Only constants add to matrices; a signal is a number or a vector.
                expr = right_expr if side == "right" else (whole.operands[0] if isinstance(whole, Sum) else whole)
                raise self.error(
                    f"'{op}' cannot combine a matrix with signals: {describe(expr, 'the ' + side + ' side')} is {shape_text(value)}",
                    whole.span,
                    "shape-mismatch",
                    hint=f"a matrix multiplies a vector with @, as in {describe(expr, 'W')} @ x",
                )
        left_size = size_of(left)
        right_size = size_of(right)
        if left_size is not None and right_size is not None and left_size != right_size:
            raise self.shape_mismatch(op, left, right, whole, right_expr)
        size = left_size if left_size is not None else right_size
        for value in (left, right):
            if size is not None and isinstance(value, ScalarForm):
                self.within_limit(size * len(value.coeffs), whole.span, "repeating this sum over the vector")
        return _as_form(left, size, self.arrays), _as_form(right, size, self.arrays)

    def shape_mismatch(self, op: str, left: Value, right: Value, whole: Expr, right_expr: Expr) -> Failed:
        left_name = describe(whole.operands[0], "the left side") if isinstance(whole, (Sum, Product)) else "the left side"
        right_name = describe(right_expr, "the right side")
        if isinstance(whole, (Sum, Product)) and whole.operands.index(right_expr) > 1:
            left_name = "the left side"
        verb = {"@": "cannot be multiplied with @", "*": "cannot be multiplied", "/": "cannot be divided"}.get(op, "cannot be added")
        return self.error(
            f"shapes do not match for '{op}': {left_name} has {shape_text(left)} but {right_name} has {shape_text(right)}",
            whole.span,
            "shape-mismatch",
            hint=f"operands of different sizes {verb}",
        )

    def nonlinear(self, op: str, expr: Product, right_expr: Expr) -> Failed:
        left_name = describe(expr.operands[0], "the left side")
        if expr.operands.index(right_expr) > 1:
            left_name = "the left side"
        right_name = describe(right_expr, "the right side")
        what = {"*": "multiplies", "/": "divides", "@": "multiplies"}[op]
        return self.error(
            f"'{op}' {what} two signals ({left_name} and {right_name}): a neuron's input must be a weighted sum of signals",
            expr.span,
            "not-linear",
            # No neuron multiplies two signals, so "separate neurons" would send the reader
            # looking for one; what a product of 0/1 inputs usually means is an AND.
            hint="weights must be numbers or constants (let w = 0.5, then w*x1); "
            + ("for 0/1 signals, a product is an AND: step(x1 + x2 > 1.5)" if op == "*" else "no neuron multiplies or divides one signal by another"),
        )

    def multiply(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        if is_constant(left) and is_constant(right):
            if is_array(left) and is_array(right) and left.shape != right.shape:
                raise self.shape_mismatch("*", left, right, expr, right_expr)
            if isinstance(left, float) and isinstance(right, float):
                return self.checked_number(left * right, expr.span, "this product")
            self.elementwise(left, right, expr.span)
            return self.checked_array(self.arrays.asarray(left * right), expr.span)
        if not is_constant(left) and not is_constant(right):
            raise self.nonlinear("*", expr, right_expr)
        factor, form = (left, right) if is_constant(left) else (right, left)
        return self.scale_form(form, factor, "*", expr, right_expr)  # type: ignore[arg-type]

    def scale_form(self, form: Form, factor: Constant, op: str, expr: Product, right_expr: Expr) -> Value:
        if isinstance(factor, float):
            return _scale(form, factor)
        if factor.ndim != 1:
            raise self.error(
                f"a matrix ({shape_text(factor)}) cannot scale signals with '{op}'",
                expr.span,
                "shape-mismatch",
                hint="use '@' to multiply a matrix with a vector",
            )
        if isinstance(form, ScalarForm):
            self.within_limit(factor.shape[0] * len(form.coeffs), expr.span, "repeating this sum over the vector")
            form = form.broadcast(factor.shape[0], self.arrays)
        if form.size != factor.shape[0]:
            raise self.shape_mismatch(op, form, factor, expr, right_expr)
        return form.scaled(factor)

    def divide(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        if not is_constant(right):
            if is_constant(left):
                raise self.error(
                    f"dividing by a signal ({describe(right_expr, 'the right side')}) is not linear",
                    expr.span,
                    "not-linear",
                    hint="a neuron's input must be a weighted sum: divide only by constants",
                )
            raise self.nonlinear("/", expr, right_expr)
        if right == 0 if isinstance(right, float) else arrays_of(right).has_zero(right):
            raise self.error(
                f"division by zero ({describe(right_expr, 'the divisor')} is 0)",
                right_expr.span,
                "division-by-zero",
            )
        if is_array(right) and right.ndim != 1:
            raise self.error(f"cannot divide by a matrix ({shape_text(right)})", right_expr.span, "shape-mismatch")
        if is_array(right):
            self.charge_array(right.shape, right.size, expr.span)
        reciprocal = 1.0 / right
        if is_constant(left):
            return self.multiply(left, reciprocal, expr, right_expr)
        return self.scale_form(left, reciprocal, "/", expr, right_expr)  # type: ignore[arg-type]

    def matmul(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        for side, value, sub in (("left", left, expr.operands[0]), ("right", right, right_expr)):
            if isinstance(value, (float, ScalarForm)):
                raise self.error(
                    f"'@' needs a vector or matrix on each side, but {describe(sub, 'the ' + side + ' side')} is a single value",
                    expr.span,
                    "shape-mismatch",
                    hint="use '*' to multiply by a single number",
                )
        if not is_constant(left) and not is_constant(right):
            raise self.nonlinear("@", expr, right_expr)
        # Single values were refused above: each side is an array or a vector form.
        if is_array(left) and is_array(right):
            inner = left.shape[-1]
            if inner != right.shape[0]:
                raise self.matmul_mismatch(left, right, expr, right_expr)
            result_shape = tuple(left.shape[:-1]) + tuple(right.shape[1:])
            self.within_limit(math.prod(result_shape), expr.span, "the product of these matrices")
            self.charge_array(result_shape, math.prod(result_shape) * inner, expr.span)
            product = self.checked_array(self.arrays.asarray(left @ right), expr.span)
            # A vector times a vector is a number (a 0-d array would be taken for a matrix).
            return product if result_shape else scalar(product)
        if is_array(left):
            assert isinstance(right, VectorForm)
            if left.shape[-1] != right.size:
                raise self.matmul_mismatch(left, right, expr, right_expr)
            if left.ndim == 1:
                return right.dot(left)
            self.refuse_large_product(left.shape[0], right, expr.span)
            return right.left_multiplied(left)
        assert isinstance(left, VectorForm) and is_array(right)
        if right.shape[0] != left.size:
            raise self.matmul_mismatch(left, right, expr, right_expr)
        if right.ndim == 1:
            return left.dot(right)
        self.refuse_large_product(right.shape[1], left, expr.span)
        return left.left_multiplied(self.arrays.transposed(right))

    def refuse_large_product(self, rows: int, form: VectorForm, span: Span) -> None:
        """A matrix with ``rows`` rows applied to ``form``: refuse it before building its blocks."""
        if rows > limits.MAX_VECTOR_SIZE:
            raise self.error(
                f"this product has {rows} elements; the limit for a vector is {limits.MAX_VECTOR_SIZE}",
                span,
                "limit-exceeded",
            )
        width = sum(len(b.d) if isinstance(b, Diag) else b.shape[1] for b in form.terms.values())
        self.within_limit(rows * width, span, "the weights of this product")

    def matmul_mismatch(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Failed:
        left_name = describe(expr.operands[0], "the left side") if expr.operands.index(right_expr) == 1 else "the left side"
        right_name = describe(right_expr, "the right side")
        if is_array(left) and left.ndim == 2:
            rule = (
                f"{left_name} has {counted(left.shape[1], 'column')}, "
                f"so {right_name} needs {counted(left.shape[1], 'row')} ({counted(left.shape[1], 'element')})"
            )
            if not is_array(right) and getattr(right, "size", None) == left.shape[0]:
                rule += f"; {right_name} @ {left_name} (the row-vector convention) would fit"
        elif is_array(right) and right.ndim == 2:
            rule = f"{right_name} has {counted(right.shape[0], 'row')}, so {left_name} needs {counted(right.shape[0], 'element')}"
            if not is_array(left) and getattr(left, "size", None) == right.shape[1]:
                rule += f"; {right_name} @ {left_name} (the column-vector convention) would fit"
        else:
            rule = "both sides need the same number of elements"
        return self.error(
            f"shapes do not match for '@': {left_name} {_is_or_has(left)} but {right_name} {_is_or_has(right)}",
            expr.span,
            "shape-mismatch",
            hint=rule,
        )
