"""Checker stage: names, constants, shapes and linearity of a Program; every error in it, located.

The result, a :class:`CheckedProgram`, gives each node and layer its activation
and its input as an affine form (``W s + b``), and puts them in evaluation order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, TypeGuard, Union

import numpy as np

from . import limits
from .activations import ACTIVATIONS, PUBLIC_NAMES
from .errors import NetlangError, combine, did_you_mean
from .forms import Block, Diag, Key, ScalarForm, VectorForm, keys_read, signal_of
from .nodes import (
    Call,
    Compare,
    Expr,
    Index,
    Input,
    InputVar,
    Layer,
    Let,
    Name,
    Node,
    Number,
    Output,
    Product,
    Program,
    Span,
    String,
    Sum,
    UnaryOp,
    Vector,
    names_read,
    walk,
)

Constant = Union[float, np.ndarray]
Value = Union[Constant, ScalarForm, VectorForm]

# Functions that are not activations; an activation may only wrap a whole definition.
BUILTINS = ("load",)


@dataclass
class Unit:
    """A checked node or layer: ``activation(form)``, ``size`` elements (None for a scalar node)."""

    name: str
    size: Optional[int]
    activation: str
    form: Union[ScalarForm, VectorForm]
    statement: Union[Node, Layer]
    depth: int = 0

    @property
    def width(self) -> int:
        return 1 if self.size is None else self.size

    def __repr__(self) -> str:
        shape = "" if self.size is None else f"[{self.size}]"
        return f"Unit({self.name}{shape} = {self.activation}(...), depth={self.depth})"


@dataclass
class CheckedProgram:
    """A program that passed every check, ready to lower to layers or to interpret."""

    program: Program
    inputs: List[InputVar]
    constants: Dict[str, Constant]
    units: List[Unit]  # in evaluation order: by depth, then as defined
    outputs: List[str]
    sizes: Dict[str, Optional[int]] = field(default_factory=dict)  # every signal: None when scalar
    base_dir: Optional[Path] = None  # where load(...) reads files from

    def width(self, name: str) -> int:
        size = self.sizes[name]
        return 1 if size is None else size


class _Failed(Exception):
    """An expression had an error (already recorded); abandon that definition."""


def check(
    program: Program, source: Optional[str] = None, base_dir: Optional[Path] = None, unparsed: Iterable[str] = ()
) -> CheckedProgram:
    """Check ``program``; raise one NetlangError carrying every error found.

    ``unparsed``: names that statements left out of ``program`` (for their syntax errors) may
    define. A statement that reads one is not checked, and is not blamed for it.
    """
    # Constant folding may overflow; every result is checked (checked_number, checked_array,
    # and the compiler for weights), so numpy's warnings would only repeat the located error.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _Checker(program, source, base_dir, frozenset(unparsed)).run()


def _shape_text(value: Value) -> str:
    if isinstance(value, (ScalarForm, float)):
        return "a single value"
    if isinstance(value, VectorForm):
        return f"{value.size} elements"
    if value.ndim == 1:
        return f"{value.shape[0]} elements"
    return "x".join(str(n) for n in value.shape)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _is_or_has(value: Value) -> str:
    """'is 2x3' for a matrix, 'has 3 elements' for a vector."""
    text = _shape_text(value)
    return f"has {text}" if text.endswith("elements") else f"is {text}"


def _describe(expr: Expr, fallback: str) -> str:
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Index):
        return f"{expr.name}[{expr.index}]"
    return fallback


def _is_constant(value: Value) -> TypeGuard[Constant]:
    return isinstance(value, (float, np.ndarray))


class _Checker:
    def __init__(self, program: Program, source: Optional[str], base_dir: Optional[Path], unparsed: FrozenSet[str]) -> None:
        self.program = program
        self.unparsed = unparsed
        self.source = source
        self.base_dir = base_dir
        self.errors: List[NetlangError] = []
        self.lets: Dict[str, Let] = {}
        self.signals: Dict[str, Union[InputVar, Node, Layer]] = {}
        self.sizes: Dict[str, Optional[int]] = {}
        self.definition_span: Dict[str, Span] = {}
        self.constants: Dict[str, Constant] = {}
        self.definitions: Dict[str, Union[Let, Node, Layer]] = {}
        self.failed: set = set()  # definitions with an error (reported) or in a cycle
        self.reads: Dict[str, Dict[str, None]] = {}  # the names each definition reads (definition_order)

    # -- reporting -------------------------------------------------------------

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> _Failed:
        if len(self.errors) < limits.MAX_ERRORS:
            self.errors.append(
                NetlangError(message, span, filename=self.program.filename, hint=hint, code=code, source=self.source)
            )
        return _Failed()

    # -- driver ------------------------------------------------------------------

    def run(self) -> CheckedProgram:
        inputs = self.declare()
        units: List[Unit] = []
        signals = sum(var.size or 1 for var in inputs if var.name not in self.failed)
        for name in self.definition_order():
            statement = self.definitions[name]
            if name in self.failed:
                continue  # its error (a bad size, a cycle) is reported already
            if self.report_unknown_names(statement):
                self.failed.add(name)
                continue
            try:
                if isinstance(statement, Let):
                    self.constant(name)
                else:
                    unit = self.unit(statement)
                    self.sizes[name] = unit.size
                    units.append(unit)
                    signals += unit.width
                    if signals > limits.MAX_SIGNALS:
                        # Stop here: every further unit would only cost more memory. Report it
                        # only if this unit crossed the limit (the inputs alone are reported).
                        if signals - unit.width <= limits.MAX_SIGNALS:
                            self.error(
                                f"with '{name}', the network has {signals} signals (input elements and neurons); "
                                f"the limit is {limits.MAX_SIGNALS}",
                                statement.name_span,
                                "limit-exceeded",
                            )
                        break
            except _Failed:
                self.failed.add(name)
        units = self.with_depths(units)
        outputs = self.resolve_outputs(units)
        if self.errors:
            raise combine(self.errors)
        return CheckedProgram(self.program, inputs, self.constants, units, outputs, self.sizes, self.base_dir)

    def declare(self) -> List[InputVar]:
        inputs: List[InputVar] = []
        total = 0
        for statement in self.program.statements:
            if isinstance(statement, Input):
                for var in statement.vars:
                    if self.define(var.name, var.span):
                        if self.check_size(var.size, var.span, f"input {var.name}"):
                            total += var.size or 1
                        else:
                            self.failed.add(var.name)  # so nothing allocates a vector of that size
                        self.signals[var.name] = var
                        self.sizes[var.name] = var.size
                        inputs.append(var)
            elif isinstance(statement, Let):
                if self.define(statement.name, statement.name_span):
                    self.lets[statement.name] = statement
                    self.definitions[statement.name] = statement
            elif isinstance(statement, (Node, Layer)):
                if self.define(statement.name, statement.name_span):
                    self.signals[statement.name] = statement
                    self.definitions[statement.name] = statement
                    size = statement.size if isinstance(statement, Layer) else None
                    if not self.check_size(size, statement.name_span, f"layer {statement.name}"):
                        self.failed.add(statement.name)
                    self.sizes[statement.name] = size
        if total > limits.MAX_SIGNALS:
            self.error(
                f"the inputs have {total} elements in all; the limit is {limits.MAX_SIGNALS}",
                inputs[0].span,
                "limit-exceeded",
            )
        return inputs

    def define(self, name: str, span: Span) -> bool:
        if name in self.definition_span:
            first = self.definition_span[name]
            self.error(
                f"'{name}' is already defined (at line {first.line})",
                span,
                "duplicate-definition",
                hint="give each input, constant, node and layer its own name",
            )
            return False
        if name in ACTIVATIONS or name in BUILTINS:
            self.error(
                f"'{name}' is the name of a built-in function and cannot be redefined",
                span,
                "reserved-name",
                hint="choose another name",
            )
            return False
        self.definition_span[name] = span
        return True

    def check_size(self, size: Optional[int], span: Span, what: str) -> bool:
        """Whether a declared vector size is usable (if not, the error is reported)."""
        if size is None:
            return True
        if size < 1:
            self.error(f"{what} has {size} elements; a vector needs at least one", span, "bad-size")
            return False
        if size > limits.MAX_VECTOR_SIZE:
            self.error(
                f"{what} has {size} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                span,
                "limit-exceeded",
            )
            return False
        return True

    # -- constants ---------------------------------------------------------------

    def constant(self, name: str) -> Constant:
        if name in self.constants:
            return self.constants[name]
        if name in self.failed or name not in self.lets:
            raise _Failed()  # its error is reported already
        value = self.value(self.lets[name].value, constant_only=True)
        assert _is_constant(value)
        self.constants[name] = value
        return value

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

    def checked_array(self, value: np.ndarray, span: Span) -> np.ndarray:
        if not np.all(np.isfinite(value)):
            raise self.error(
                "this constant overflows: the result is too large to represent",
                span,
                "number-out-of-range",
            )
        return value

    # -- expressions -----------------------------------------------------------

    def value(self, expr: Expr, constant_only: bool = False) -> Value:
        """The value of ``expr``: a constant, or an affine form of the signals it reads."""
        if isinstance(expr, Number):
            return self.literal(expr)
        if isinstance(expr, Name):
            return self.name_value(expr.id, expr.span, constant_only)
        if isinstance(expr, Index):
            return self.index_value(expr, constant_only)
        if isinstance(expr, UnaryOp):
            operand = self.value(expr.operand, constant_only)
            return operand if expr.op == "+" else _scale(operand, -1.0)
        if isinstance(expr, Sum):
            return self.sum_value(expr, constant_only)
        if isinstance(expr, Product):
            return self.product_value(expr, constant_only)
        if isinstance(expr, Vector):
            return self.vector_value(expr, constant_only)
        if isinstance(expr, Compare):
            raise self.error(
                f"a comparison ('{expr.op}') is only allowed directly inside step(...)",
                expr.span,
                "misplaced-comparison",
                hint=f"write step(... {expr.op} ...) as the whole right-hand side of a node",
            )
        if isinstance(expr, Call):
            return self.call_value(expr, constant_only)
        if isinstance(expr, String):
            raise self.error(
                "a string is only allowed as a file name in load(...)",
                expr.span,
                "misplaced-string",
            )
        raise AssertionError(f"unknown node {expr!r}")  # pragma: no cover

    def name_value(self, name: str, span: Span, constant_only: bool) -> Value:
        if name in self.lets:
            return self.constant(name)
        if name in self.signals:
            size = self.signal_size(name, span, constant_only)
            if size is None:
                return ScalarForm(0.0, {name: 1.0})
            return VectorForm(size, np.zeros(size), {name: Diag(np.ones(size))})
        if name in ACTIVATIONS or name in BUILTINS:
            raise self.error(
                f"'{name}' is a function: call it with parentheses, {name}(...)",
                span,
                "function-as-value",
            )
        raise self.unknown_name(name, span)

    def signal_size(self, name: str, span: Span, constant_only: bool) -> Optional[int]:
        """The size of the signal ``name`` (None when scalar), once it is known to be usable here."""
        if constant_only:
            raise self.error(
                f"a constant cannot depend on '{name}', which is a signal, not a constant",
                span,
                "signal-in-constant",
                hint="use 'node' or 'layer' for values computed from inputs",
            )
        if name in self.failed:
            raise _Failed()
        return self.sizes[name]

    def report_unknown_names(self, statement: Union[Let, Node, Layer]) -> bool:
        """Report every name in ``statement`` that nothing defines, once each; True if there was one.

        All of them at once (not only the first the checker would meet), with one hint for
        the ones that look like undeclared inputs.
        """
        defined = self.definition_span
        if all(n in defined or n in ACTIVATIONS or n in BUILTINS for n in self.reads[statement.name]):
            return False  # the usual case, found without the walk that collects places
        functions = {id(node.func) for node in walk(statement.value) if isinstance(node, Call)}
        unknown: Dict[str, Span] = {}
        for node in walk(statement.value):
            if isinstance(node, Name) and id(node) not in functions:
                name, span = node.id, node.span
            elif isinstance(node, Index):
                name, span = node.name, node.span
            else:
                continue
            if name not in self.definition_span and name not in ACTIVATIONS and name not in BUILTINS and name not in self.unparsed:
                unknown.setdefault(name, span)
        known = list(self.definition_span)
        undeclared = [name for name in unknown if did_you_mean(name, known) is None]
        names = " and ".join(undeclared) if len(undeclared) <= 3 else ", ".join(undeclared)
        inputs = [var.name if var.size is None else f"{var.name}[{var.size}]" for var in self.program.inputs()]
        if inputs:
            new = "is a new input, add it" if len(undeclared) == 1 else "are new inputs, add them"
            as_input = f"the inputs are {', '.join(inputs)}; if {names} {new}: input {', '.join(inputs + undeclared)}"
        else:
            new = "is an input, declare it" if len(undeclared) == 1 else "are inputs, declare them"
            as_input = f"if {names} {new}: input {', '.join(undeclared)}"
        for name, span in unknown.items():
            if name in undeclared and not isinstance(statement, Let):
                self.unknown_name(name, span, hint=as_input)
            else:
                self.unknown_name(name, span)
        # A name whose definition has a syntax error: this statement cannot be checked yet.
        return bool(unknown) or any(n in self.unparsed for n in self.reads[statement.name])

    def unknown_name(self, name: str, span: Span, hint: Optional[str] = None) -> _Failed:
        if name in self.unparsed:
            return _Failed()  # its definition has a syntax error, reported already
        if hint is not None:
            return self.error(f"unknown name '{name}'", span, "unknown-name", hint=hint)
        known = list(self.definition_span)
        hint = did_you_mean(name, known)
        if hint is None and 0 < len(known) <= 8:
            hint = f"the names defined in this file are {', '.join(known)}"
        elif hint is None:
            hint = "define it with 'input', 'let', 'node' or 'layer'"
        return self.error(f"unknown name '{name}'", span, "unknown-name", hint=hint)

    def index_value(self, expr: Index, constant_only: bool) -> Value:
        if expr.name in self.lets:
            vector = self.constant(expr.name)
            if isinstance(vector, float):
                raise self.error(f"'{expr.name}' is a single number, not a vector", expr.span, "not-a-vector")
            if expr.index >= vector.shape[0]:
                raise self.out_of_range(expr, vector.shape[0])
            element = vector[expr.index]
            return float(element) if np.ndim(element) == 0 else element
        if expr.name in self.signals:
            size = self.signal_size(expr.name, expr.span, constant_only)
            if size is None:
                raise self.error(
                    f"'{expr.name}' is a single value, not a vector: it has no elements to index",
                    expr.span,
                    "not-a-vector",
                    hint=f"write {expr.name} without [{expr.index}]",
                )
            if expr.index >= size:
                raise self.out_of_range(expr, size)
            return ScalarForm(0.0, {(expr.name, expr.index): 1.0})
        raise self.unknown_name(expr.name, expr.span)

    def out_of_range(self, expr: Index, size: int) -> _Failed:
        return self.error(
            f"index {expr.index} is out of range: '{expr.name}' has {size} elements",
            expr.span,
            "index-out-of-range",
            hint=f"elements are numbered from 0 to {size - 1}",
        )

    def sum_value(self, expr: Sum, constant_only: bool) -> Value:
        weighted = self.weighted_signal
        first = expr.operands[0]
        term = None if constant_only else weighted(first)
        if term is not None:
            total: Value = ScalarForm(0.0 * term[1], {term[0]: 1.0 * term[1]})
        else:
            total = self.value(first, constant_only)
        for op, operand_expr in zip(expr.ops, expr.operands[1:]):
            sign = 1.0 if op == "+" else -1.0
            if isinstance(total, ScalarForm) and not constant_only:
                term = weighted(operand_expr)
                if term is not None:
                    # The general path's arithmetic, step for step (so results are bit for bit the
                    # same), without making a form per term: most of a big netlist is such terms.
                    key, weight = term
                    coeffs = total.coeffs
                    coeffs[key] = coeffs.get(key, 0.0) + sign * (1.0 * weight)
                    total.const += sign * (0.0 * weight)
                    continue
            operand = self.value(operand_expr, constant_only)
            total = self.add(total, operand, sign, expr, operand_expr)
        return total

    def weighted_signal(self, expr: Expr) -> Optional[Tuple[str, float]]:
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
        name = name_expr.id
        if name in self.lets or name not in self.signals or name in self.failed:
            return None
        if self.sizes.get(name, 0) is not None:
            return None
        weight = self.literal(number)
        return name, weight * -1.0 if negated else weight

    def add(self, left: Value, right: Value, sign: float, whole: Sum, right_expr: Expr) -> Value:
        if _is_constant(left) and _is_constant(right):
            if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
                if np.shape(left) != np.shape(right) and np.ndim(left) and np.ndim(right):
                    raise self.shape_mismatch("+" if sign > 0 else "-", left, right, whole, right_expr)
                return self.checked_array(np.asarray(left + sign * right, dtype=float), whole.span)
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

    def as_forms(
        self, left: Value, right: Value, op: str, whole: Expr, right_expr: Expr
    ) -> Tuple[Union[ScalarForm, VectorForm], Union[ScalarForm, VectorForm]]:
        """Both operands as forms of one kind, broadcasting scalars over vectors."""
        for value, side in ((left, "left"), (right, "right")):
            if isinstance(value, np.ndarray) and value.ndim == 2:
                # Only constants add to matrices; a signal is a number or a vector.
                expr = right_expr if side == "right" else (whole.operands[0] if isinstance(whole, Sum) else whole)
                raise self.error(
                    f"'{op}' cannot combine a matrix with signals: {_describe(expr, 'the ' + side + ' side')} is {_shape_text(value)}",
                    whole.span,
                    "shape-mismatch",
                    hint=f"a matrix multiplies a vector with @, as in {_describe(expr, 'W')} @ x",
                )
        left_size = _size(left)
        right_size = _size(right)
        if left_size is not None and right_size is not None and left_size != right_size:
            raise self.shape_mismatch(op, left, right, whole, right_expr)
        size = left_size if left_size is not None else right_size
        for value in (left, right):
            if size is not None and isinstance(value, ScalarForm):
                self.within_limit(size * len(value.coeffs), whole.span, "repeating this sum over the vector")
        return _as_form(left, size), _as_form(right, size)

    def shape_mismatch(self, op: str, left: Value, right: Value, whole: Expr, right_expr: Expr) -> _Failed:
        left_name = _describe(whole.operands[0], "the left side") if isinstance(whole, (Sum, Product)) else "the left side"
        right_name = _describe(right_expr, "the right side")
        if isinstance(whole, (Sum, Product)) and whole.operands.index(right_expr) > 1:
            left_name = "the left side"
        verb = {"@": "cannot be multiplied with @", "*": "cannot be multiplied", "/": "cannot be divided"}.get(op, "cannot be added")
        return self.error(
            f"shapes do not match for '{op}': {left_name} has {_shape_text(left)} but {right_name} has {_shape_text(right)}",
            whole.span,
            "shape-mismatch",
            hint=f"operands of different sizes {verb}",
        )

    def product_value(self, expr: Product, constant_only: bool) -> Value:
        result = self.value(expr.operands[0], constant_only)
        for op, operand_expr in zip(expr.ops, expr.operands[1:]):
            operand = self.value(operand_expr, constant_only)
            if op == "@":
                result = self.matmul(result, operand, expr, operand_expr)
            elif op == "*":
                result = self.multiply(result, operand, expr, operand_expr)
            else:
                result = self.divide(result, operand, expr, operand_expr)
        return result

    def nonlinear(self, op: str, expr: Product, right_expr: Expr) -> _Failed:
        left_name = _describe(expr.operands[0], "the left side")
        if expr.operands.index(right_expr) > 1:
            left_name = "the left side"
        right_name = _describe(right_expr, "the right side")
        what = {"*": "multiplies", "/": "divides", "@": "multiplies"}[op]
        return self.error(
            f"'{op}' {what} two signals ({left_name} and {right_name}): a neuron's input must be a weighted sum of signals",
            expr.span,
            "not-linear",
            hint="weights must be numbers or constants; compute products of signals in separate neurons",
        )

    def multiply(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        if _is_constant(left) and _is_constant(right):
            if np.ndim(left) and np.ndim(right) and np.shape(left) != np.shape(right):
                raise self.shape_mismatch("*", left, right, expr, right_expr)
            if isinstance(left, float) and isinstance(right, float):
                return self.checked_number(left * right, expr.span, "this product")
            return self.checked_array(np.asarray(left * right, dtype=float), expr.span)
        if not _is_constant(left) and not _is_constant(right):
            raise self.nonlinear("*", expr, right_expr)
        factor, form = (left, right) if _is_constant(left) else (right, left)
        return self.scale_form(form, factor, "*", expr, right_expr)  # type: ignore[arg-type]

    def scale_form(self, form: Union[ScalarForm, VectorForm], factor: Constant, op: str, expr: Product, right_expr: Expr) -> Value:
        if isinstance(factor, float):
            return _scale(form, factor)
        if factor.ndim != 1:
            raise self.error(
                f"a matrix ({_shape_text(factor)}) cannot scale signals with '{op}'",
                expr.span,
                "shape-mismatch",
                hint="use '@' to multiply a matrix with a vector",
            )
        if isinstance(form, ScalarForm):
            self.within_limit(factor.shape[0] * len(form.coeffs), expr.span, "repeating this sum over the vector")
            form = form.broadcast(factor.shape[0])
        if form.size != factor.shape[0]:
            raise self.shape_mismatch(op, form, factor, expr, right_expr)
        return form.scaled(factor)

    def divide(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        if not _is_constant(right):
            if _is_constant(left):
                raise self.error(
                    f"dividing by a signal ({_describe(right_expr, 'the right side')}) is not linear",
                    expr.span,
                    "not-linear",
                    hint="a neuron's input must be a weighted sum: divide only by constants",
                )
            raise self.nonlinear("/", expr, right_expr)
        if np.any(np.asarray(right) == 0):
            raise self.error(
                f"division by zero ({_describe(right_expr, 'the divisor')} is 0)",
                right_expr.span,
                "division-by-zero",
            )
        if isinstance(right, np.ndarray) and right.ndim != 1:
            raise self.error(
                f"cannot divide by a matrix ({_shape_text(right)})",
                right_expr.span,
                "shape-mismatch",
            )
        reciprocal = 1.0 / right
        if _is_constant(left):
            return self.multiply(left, reciprocal, expr, right_expr)
        return self.scale_form(left, reciprocal, "/", expr, right_expr)  # type: ignore[arg-type]

    def matmul(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> Value:
        for side, value, sub in (("left", left, expr.operands[0]), ("right", right, right_expr)):
            if isinstance(value, (float, ScalarForm)):
                raise self.error(
                    f"'@' needs a vector or matrix on each side, but {_describe(sub, 'the ' + side + ' side')} is a single value",
                    expr.span,
                    "shape-mismatch",
                    hint="use '*' to multiply by a single number",
                )
        if not _is_constant(left) and not _is_constant(right):
            raise self.nonlinear("@", expr, right_expr)
        # Single values were refused above: each side is an array or a vector form.
        if isinstance(left, np.ndarray) and isinstance(right, np.ndarray):
            inner_left = np.shape(left)[-1]
            inner_right = np.shape(right)[0]
            if inner_left != inner_right:
                raise self.matmul_mismatch(left, right, expr, right_expr)
            result_shape = np.shape(left)[:-1] + np.shape(right)[1:]
            self.within_limit(math.prod(result_shape), expr.span, "the product of these matrices")
            return self.checked_array(np.asarray(left @ right, dtype=float), expr.span)
        if isinstance(left, np.ndarray):
            assert isinstance(right, VectorForm)
            if left.shape[-1] != right.size:
                raise self.matmul_mismatch(left, right, expr, right_expr)
            if left.ndim == 1:
                return right.dot(left)
            self.check_layer_product(left.shape[0], right, expr.span)
            return right.left_multiplied(left)
        assert isinstance(left, VectorForm) and isinstance(right, np.ndarray)
        if right.shape[0] != left.size:
            raise self.matmul_mismatch(left, right, expr, right_expr)
        if right.ndim == 1:
            return left.dot(right)
        self.check_layer_product(right.shape[1], left, expr.span)
        return left.left_multiplied(np.ascontiguousarray(right.T))

    def check_layer_product(self, rows: int, form: VectorForm, span: Span) -> None:
        """A matrix with ``rows`` rows applied to ``form``: refuse it before building its blocks."""
        if rows > limits.MAX_VECTOR_SIZE:
            raise self.error(
                f"this product has {rows} elements; the limit for a vector is {limits.MAX_VECTOR_SIZE}",
                span,
                "limit-exceeded",
            )
        width = sum(len(b.d) if isinstance(b, Diag) else b.shape[1] for b in form.terms.values())
        self.within_limit(rows * width, span, "the weights of this product")

    def matmul_mismatch(self, left: Value, right: Value, expr: Product, right_expr: Expr) -> _Failed:
        left_name = _describe(expr.operands[0], "the left side") if expr.operands.index(right_expr) == 1 else "the left side"
        right_name = _describe(right_expr, "the right side")
        if isinstance(left, np.ndarray) and left.ndim == 2:
            rule = (
                f"{left_name} has {_count(left.shape[1], 'column')}, "
                f"so {right_name} needs {_count(left.shape[1], 'row')} ({_count(left.shape[1], 'element')})"
            )
            if not isinstance(right, np.ndarray) and getattr(right, "size", None) == left.shape[0]:
                rule += f"; {right_name} @ {left_name} (the row-vector convention) would fit"
        elif isinstance(right, np.ndarray) and right.ndim == 2:
            rule = f"{right_name} has {_count(right.shape[0], 'row')}, so {left_name} needs {_count(right.shape[0], 'element')}"
            if not isinstance(left, np.ndarray) and getattr(left, "size", None) == right.shape[1]:
                rule += f"; {right_name} @ {left_name} (the column-vector convention) would fit"
        else:
            rule = "both sides need the same number of elements"
        return self.error(
            f"shapes do not match for '@': {left_name} {_is_or_has(left)} but {right_name} {_is_or_has(right)}",
            expr.span,
            "shape-mismatch",
            hint=rule,
        )

    def vector_value(self, expr: Vector, constant_only: bool) -> Value:
        if not expr.items:
            raise self.error("an empty vector has no elements", expr.span, "bad-size")
        if len(expr.items) > limits.MAX_VECTOR_SIZE:
            raise self.error(
                f"this vector has {len(expr.items)} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                expr.span,
                "limit-exceeded",
            )
        items = [self.value(item, constant_only) for item in expr.items]
        constants = [item for item in items if _is_constant(item)]
        if len(constants) == len(items):
            shapes = {np.shape(item) for item in constants}
            if len(shapes) > 1:
                raise self.error(
                    "the rows of this matrix have different lengths",
                    expr.span,
                    "ragged-matrix",
                    hint="every row of a matrix needs the same number of elements",
                )
            array = np.array(constants, dtype=float)
            if array.ndim > 2:
                raise self.error("only vectors and matrices are supported, not deeper nesting", expr.span, "bad-shape")
            return array
        scalars: List[Union[float, ScalarForm]] = []
        for item, item_expr in zip(items, expr.items):
            if not isinstance(item, (float, ScalarForm)):
                raise self.error(
                    "a vector that reads signals must list single values; a matrix can only hold constants",
                    item_expr.span,
                    "shape-mismatch",
                )
            scalars.append(item)
        size = len(scalars)
        keys = {key for item in scalars if isinstance(item, ScalarForm) for key in item.coeffs}
        self.within_limit(size * len(keys), expr.span, "the weights of this vector of signals")
        const = np.array([item if isinstance(item, float) else item.const for item in scalars])
        terms: Dict[Key, Block] = {}
        for row, item in enumerate(scalars):
            if isinstance(item, ScalarForm):
                for key, coeff in item.coeffs.items():
                    block = terms.get(key)
                    if block is None:
                        block = terms[key] = np.zeros((size, 1))
                    block[row, 0] += coeff  # type: ignore[index]
        return VectorForm(size, const, terms)

    def call_value(self, expr: Call, constant_only: bool) -> Value:
        name = expr.func.id
        if name == "load":
            return self.load(expr)
        if name in ACTIVATIONS and ACTIVATIONS[name].public:
            raise self.error(
                f"{name}(...) must be the whole right-hand side of a node or layer",
                expr.span,
                "misplaced-activation",
                hint=f"define a separate node for {name}(...) and use its name here",
            )
        hint = did_you_mean(name, PUBLIC_NAMES + BUILTINS)
        raise self.error(
            f"unknown function '{name}'",
            expr.func.span,
            "unknown-function",
            hint=hint or f"the functions are {', '.join(PUBLIC_NAMES + BUILTINS)}",
        )

    def load(self, expr: Call) -> Constant:
        from .weights import WeightFileError, load_weights

        args = expr.args
        if not 1 <= len(args) <= 2 or not all(isinstance(arg, String) for arg in args):
            raise self.error(
                'load takes a file name and, for .npz files, an array name: load("w.npy") or load("model.npz", "W1")',
                expr.span,
                "bad-arguments",
            )
        strings = [arg.value for arg in args if isinstance(arg, String)]
        path = strings[0]
        key = strings[1] if len(strings) == 2 else None
        # A .net file reads only files in its own folder and below it, so that one from
        # elsewhere (a course, a download) cannot read, or report on, any other file.
        # Both separators count: the file may come from another system.
        parts = PureWindowsPath(path).parts
        if PureWindowsPath(path).anchor or PurePosixPath(path).is_absolute() or ".." in parts:
            raise self.error(
                f"load reads files in the .net file's folder or below it, not '{path}'",
                args[0].span,
                "path-outside",
                hint="put the weight file (or a link to it) beside the .net file and load it by its name",
            )
        base = self.base_dir if self.base_dir is not None else Path.cwd()
        try:
            return load_weights(base / path, key)
        except WeightFileError as problem:
            raise self.error(str(problem), expr.span, problem.code, hint=problem.hint) from None

    # -- nodes and layers ------------------------------------------------------

    def unit(self, statement: Union[Node, Layer]) -> Unit:
        expr = statement.value
        activation = "identity"
        if isinstance(expr, Call) and expr.func.id in ACTIVATIONS and ACTIVATIONS[expr.func.id].public:
            activation = expr.func.id
            if len(expr.args) != 1:
                raise self.error(
                    f"{activation} takes one argument, not {len(expr.args)}",
                    expr.span,
                    "bad-arguments",
                )
            argument = expr.args[0]
            if isinstance(argument, Compare):
                if activation != "step":
                    raise self.error(
                        f"only step takes a comparison, not {activation}",
                        argument.span,
                        "misplaced-comparison",
                        hint=f"write step({_describe(argument.left, 'a')} {argument.op} ...), or give {activation} a weighted sum",
                    )
                left = self.value(argument.left)
                right = self.value(argument.right)
                # step(a > b) fires where a - b > 0; a < b is b - a > 0; >= and <= include 0.
                if argument.op in ("<", "<="):
                    left, right = right, left
                form = self.add(left, right, -1.0, Sum((argument.left, argument.right), ("-",), argument.span), argument.right)
                if argument.op in (">=", "<="):
                    activation = "step_ge"
            else:
                form = self.value(argument)
        else:
            form = self.value(expr)
        return self.make_unit(statement, activation, form)

    def make_unit(self, statement: Union[Node, Layer], activation: str, form: Value) -> Unit:
        if isinstance(statement, Node):
            if isinstance(form, np.ndarray) or isinstance(form, VectorForm):
                raise self.error(
                    f"node '{statement.name}' computes {_shape_text(form)}; a node is a single neuron",
                    statement.value.span,
                    "shape-mismatch",
                    hint=f"use 'layer {statement.name}[{_size(form)}] = ...' for a vector of neurons",
                )
            if ACTIVATIONS[activation].whole_vector:
                raise self.error(
                    f"{activation} works on a whole layer, not on a single node",
                    statement.value.span,
                    "misplaced-activation",
                    hint=f"use 'layer {statement.name} = {activation}(...)'",
                )
            scalar = form if isinstance(form, ScalarForm) else ScalarForm(float(form))
            return Unit(statement.name, None, activation, scalar, statement)
        size = _size(form)
        if size is None:
            raise self.error(
                f"layer '{statement.name}' computes a single value; a layer is a vector of neurons",
                statement.value.span,
                "shape-mismatch",
                hint=f"use 'node {statement.name} = ...' for a single neuron",
            )
        if isinstance(form, np.ndarray) and form.ndim != 1:
            raise self.error(
                f"layer '{statement.name}' computes a {_shape_text(form)} matrix; a layer is a vector",
                statement.value.span,
                "shape-mismatch",
            )
        if size > limits.MAX_VECTOR_SIZE:
            raise self.error(
                f"layer '{statement.name}' computes {size} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                statement.value.span,
                "limit-exceeded",
            )
        if statement.size is not None and statement.size != size:
            raise self.error(
                f"layer '{statement.name}' is declared with {statement.size} elements but computes {size}",
                statement.span,
                "shape-mismatch",
                hint=f"write layer {statement.name}[{size}], or check the weights' shape",
            )
        vector = form if isinstance(form, VectorForm) else VectorForm(size, np.asarray(form, dtype=float))
        self.sizes[statement.name] = size
        return Unit(statement.name, size, activation, vector, statement)

    # -- order -----------------------------------------------------------------

    def definition_order(self) -> List[str]:
        """Constants, nodes and layers, each after every definition it names; cycles are errors."""
        definitions = self.definitions
        reads: Dict[str, List[str]] = {}
        for name, statement in definitions.items():
            # In order of first use, so that messages about cycles do not vary from run to run.
            referenced = self.reads[name] = names_read(statement.value)
            reads[name] = [r for r in referenced if r in definitions]
        order: List[str] = []
        state: Dict[str, int] = {}  # 1: on the path being searched, 2: done
        for root in definitions:
            if root in state:
                continue
            # Iterative depth-first search: netlists may be far deeper than Python's stack.
            stack: List[Tuple[str, int]] = [(root, 0)]
            path: List[str] = []
            while stack:
                name, i = stack.pop()
                if i == 0:
                    state[name] = 1
                    path.append(name)
                children = reads[name]
                if i < len(children):
                    stack.append((name, i + 1))
                    child = children[i]
                    if state.get(child) == 1:
                        self.report_cycle(path[path.index(child) :])
                    elif child not in state:
                        stack.append((child, 0))
                    continue
                state[name] = 2
                path.pop()
                order.append(name)
        return order

    def report_cycle(self, cycle: List[str]) -> None:
        if self.failed.intersection(cycle):
            return
        self.failed.update(cycle)
        # Start from the first definition in the file, so the message reads in file order.
        spans = {name: self.definitions[name].name_span for name in cycle}
        first = min(cycle, key=lambda n: (spans[n].line, spans[n].column))
        start = cycle.index(first)
        chain = " -> ".join(cycle[start:] + cycle[:start] + [first])
        if all(name in self.lets for name in cycle):
            message = f"these constants are defined in terms of each other: {chain}"
            hint = "a constant cannot depend on itself; give one of them a number"
        else:
            message = f"these definitions depend on each other in a cycle: {chain} (each reads the next)"
            hint = "signals must flow one way, from inputs to outputs: break the cycle"
        self.error(message, spans[first], "cycle", hint=hint)

    def with_depths(self, units: List[Unit]) -> List[Unit]:
        """Units by depth (1 + the deepest signal read; inputs are at depth 0), then as defined."""
        depth: Dict[str, int] = {}
        for unit in units:  # dependencies come first
            unit.depth = 1 + max((depth.get(signal_of(key), 0) for key in keys_read(unit.form)), default=0)
            depth[unit.name] = unit.depth
        position = {name: i for i, name in enumerate(self.definitions)}
        return sorted(units, key=lambda unit: (unit.depth, position[unit.name]))

    # -- outputs ----------------------------------------------------------------

    def resolve_outputs(self, units: List[Unit]) -> List[str]:
        statements = [s for s in self.program.statements if isinstance(s, Output)]
        for extra in statements[1:]:
            self.error(
                f"outputs are already listed (at line {statements[0].span.line})",
                extra.span,
                "duplicate-output",
                hint="list every output in one 'output' statement",
            )
        if statements:
            outputs: List[str] = []
            for name in statements[0].names:
                if name.id in outputs:
                    self.error(f"'{name.id}' is listed twice as an output", name.span, "duplicate-output")
                elif name.id not in self.signals:
                    if name.id in self.lets:
                        self.error(
                            f"'{name.id}' is a constant; outputs are inputs, nodes or layers",
                            name.span,
                            "bad-output",
                        )
                    else:
                        self.unknown_name(name.id, name.span)
                else:
                    outputs.append(name.id)
            return outputs
        read: Set[str] = set()
        for unit in units:
            read.update(signal_of(key) for key in keys_read(unit.form))
        defined = [s for s in self.signals.values() if isinstance(s, (Node, Layer))]
        if not any(isinstance(s, (Node, Layer)) for s in self.program.statements) and not self.unparsed:
            span = self.program.statements[0].span if self.program.statements else Span(1, 1, 1, 2)
            self.error(
                "the network has no nodes or layers, so it has no outputs",
                span,
                "no-outputs",
                hint="define a neuron, e.g. node y = step(x1 > 0.5)",
            )
            return []
        return [s.name for s in defined if s.name not in read]


def _size(value: Value) -> Optional[int]:
    if isinstance(value, VectorForm):
        return value.size
    if isinstance(value, np.ndarray):
        return value.shape[0]
    return None


def _as_form(value: Value, size: Optional[int]) -> Union[ScalarForm, VectorForm]:
    if isinstance(value, (ScalarForm, VectorForm)):
        if size is not None and isinstance(value, ScalarForm):
            return value.broadcast(size)
        return value
    if size is None:
        assert isinstance(value, float)
        return ScalarForm(value)
    return VectorForm(size, np.broadcast_to(np.asarray(value, dtype=float), (size,)).copy())


def _scale(value: Value, factor: float) -> Value:
    if isinstance(value, (ScalarForm, VectorForm)):
        return value.scaled(factor)
    return value * factor
