"""Explanations: one sample's computation written out neuron by neuron, with its numbers (``run --explain``).

Each node reads like the seed's equations, filled in: the weighted sum with the
values in place of the names (``0.5*1 + 0.5*0 = 0.5``), then the activation
(``0.5 > 0.7? no -> 0``, the comparison as the user wrote it). The numbers come
from the interpreter, the reference evaluator of the syntax tree. Single numbers
are shown in full (``0.30000000000000004``: float rounding is part of what a
learner should see); the elements of vectors and matrices to 6 significant digits,
and long vectors by their ends.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from .activations import ACTIVATIONS
from .checker import CheckedProgram, Unit
from .display import format_number, format_short, format_value
from .interpreter import FLOAT, Arithmetic, Value, Values, evaluate, value_of
from .nodes import Call, Compare, Expr, Index, Name, Number, Precedence, Product, Span, String, Sum, UnaryOp, Vector, precedence

# Vectors longer than this are shown by their ends; matrices keep this many rows.
MAX_ELEMENTS = 6
MAX_ROWS = 4
# Nodes (or layers) explained per layer: a big netlist is shown by its first ones.
MAX_NEURONS = 24
# Sums with more terms are shown by their first terms (a netlist neuron can read thousands of signals).
MAX_TERMS = 8

_SUM, _PRODUCT, _UNARY, _ATOM = Precedence.SUM, Precedence.PRODUCT, Precedence.UNARY, Precedence.ATOM


def explain(checked: CheckedProgram, inputs: Mapping[str, Any], arithmetic: Arithmetic = FLOAT) -> str:
    """The computation of every neuron for one sample, layer by layer, then the outputs."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf where float64 overflows, as evaluate gives
        return _explain(checked, inputs, arithmetic)


def _explain(checked: CheckedProgram, inputs: Mapping[str, Any], arithmetic: Arithmetic) -> str:
    env = evaluate(checked, inputs, arithmetic=arithmetic)
    explainer = _Explainer(checked, env, arithmetic)
    explainer.precise = True  # the inputs as given, every digit
    given = ", ".join(f"{var.name} = {explainer.value(env[var.name])}" for var in checked.inputs)
    explainer.precise = False
    parts = [f"inputs: {given or '(none)'}" + (" (exact arithmetic)" if arithmetic is not FLOAT else "")]
    for number, (_, group) in enumerate(groupby(checked.units, key=lambda unit: unit.depth)):
        units = list(group)
        lines = [f"layer {number + 1}"]
        for unit in units[:MAX_NEURONS]:
            lines += explainer.unit(unit)
        if len(units) > MAX_NEURONS:
            lines.append(f"  ... and {len(units) - MAX_NEURONS} more nodes or layers in this layer")
        parts.append("\n".join(lines))
    parts.append("\n".join(f"{name} = {format_value(env[name])}" for name in checked.outputs))
    return "\n\n".join(parts)


class _Explainer:
    def __init__(self, checked: CheckedProgram, env: Values, arithmetic: Arithmetic) -> None:
        self.checked = checked
        self.env = env
        self.arithmetic = arithmetic
        self.source_lines = (checked.program.source or "").splitlines()
        self.precise = False  # every digit: set for a comparison that 6 digits would show as a tie

    # -- one neuron or layer ----------------------------------------------------------

    def unit(self, unit: Unit) -> List[str]:
        expr = unit.statement.value
        lines = [f"  {unit.name} = {self.source(expr)}"]
        steps: List[str] = []
        if isinstance(expr, Call) and expr.func.id in ACTIVATIONS:
            activation = ACTIVATIONS[expr.func.id]
            argument = expr.args[0]
            result = self.value(self.env[unit.name])
            if isinstance(argument, Compare):
                sides = [value_of(side, self.env, self.arithmetic) for side in (argument.left, argument.right)]
                self.precise = self.value(sides[0]) == self.value(sides[1]) and not np.array_equal(sides[0], sides[1])
                left = self.side(argument.left, steps)
                right = self.side(argument.right, steps)
                steps.append(f"{left} {argument.op} {right}? {self.answer(self.env[unit.name])} -> {result}")
            else:
                z = self.side(argument, steps)
                if activation.name == "step":
                    steps.append(f"{z} > 0? {self.answer(self.env[unit.name])} -> {result}")
                else:
                    note = "" if self.arithmetic.is_exact(activation) else " (computed in float64)"
                    steps.append(f"{activation.name}({z}) = {result}{note}")
        else:
            self.side(expr, steps)
        self.precise = False
        return lines + [f"     {step}" for step in steps]

    def side(self, expr: Expr, steps: List[str]) -> str:
        """The value of one side of a computation, adding ``filled-in = value`` to ``steps`` unless it is plain."""
        value = self.value(value_of(expr, self.env, self.arithmetic))
        filled = self.render(expr, 0)
        if filled != value:
            steps.append(f"{filled} = {value}")
        return value

    def answer(self, fired: Value) -> str:
        if np.ndim(fired):
            return "[" + ", ".join("yes" if v else "no" for v in _elide(list(np.ravel(fired)), MAX_ELEMENTS)) + "]"
        return "yes" if fired else "no"

    def source(self, expr: Expr) -> str:
        """The expression as the user wrote it (lines joined)."""
        span: Span = expr.span
        if not self.source_lines or span.line < 1:
            return self.render(expr, 0, substitute=False)
        lines = self.source_lines[span.line - 1 : span.end_line]
        if len(lines) == 1:
            return lines[0][span.column - 1 : span.end_column - 1]
        lines[-1] = lines[-1][: span.end_column - 1]
        lines[0] = lines[0][span.column - 1 :]
        return " ".join(" ".join(line.split()) for line in lines).replace("( ", "(").replace("[ ", "[")

    # -- values and expressions ----------------------------------------------------------

    def value(self, value: Any) -> str:
        if isinstance(value, np.ndarray):
            if value.ndim == 2:
                rows = [self.value(row) if row is not None else "..." for row in _elide(list(value), MAX_ROWS)]
                return "[" + ", ".join(rows) + "]"
            return "[" + ", ".join("..." if v is None else self.number(v) for v in _elide(list(value), MAX_ELEMENTS)) + "]"
        return self.number(value)

    def number(self, value: Any) -> str:
        """One format for every value of the steps, in layers and nodes alike: 6 significant digits
        (``0.731059``; an exact rational stays exact), or every digit where rounding decides a step."""
        return format_number(value) if self.precise else format_short(value)

    def render(self, expr: Expr, context: int, substitute: bool = True) -> str:
        """``expr`` with the value of every name in place (``substitute``), parenthesised for ``context``."""
        if isinstance(expr, Number):
            return expr.text or format_number(expr.value)
        if isinstance(expr, (Name, Index)):
            name = expr.id if isinstance(expr, Name) else expr.name
            if not substitute or name not in self.env:
                return expr.id if isinstance(expr, Name) else f"{expr.name}[{expr.index}]"
            return self.value(value_of(expr, self.env, self.arithmetic))
        if isinstance(expr, UnaryOp):
            return expr.op + _signed(self.render(expr.operand, _ATOM, substitute))
        if isinstance(expr, Sum):
            parts = [self.render(expr.operands[0], _SUM, substitute)]
            for op, operand in zip(expr.ops, expr.operands[1:]):
                parts.append(f"{op} {_signed(self.render(operand, _PRODUCT, substitute))}")
            if len(parts) > MAX_TERMS:
                parts = parts[: MAX_TERMS - 1] + [f"+ ... ({len(parts)} terms)"]
            text = " ".join(parts)
            return f"({text})" if precedence(expr) < context else text
        if isinstance(expr, Product):
            text = self.render(expr.operands[0], _PRODUCT, substitute)
            for op, operand in zip(expr.ops, expr.operands[1:]):
                right = _signed(self.render(operand, _UNARY, substitute))
                text += f" @ {right}" if op == "@" else f"{op}{right}"
            return f"({text})" if precedence(expr) < context else text
        if isinstance(expr, Vector):
            if substitute:
                return self.value(value_of(expr, self.env, self.arithmetic))
            return "[" + ", ".join(self.render(item, 0, substitute) for item in expr.items) + "]"
        if isinstance(expr, Compare):
            return f"{self.render(expr.left, _SUM, substitute)} {expr.op} {self.render(expr.right, _SUM, substitute)}"
        if isinstance(expr, Call):
            if expr.func.id == "load" and substitute:
                return self.value(value_of(expr, self.env, self.arithmetic))
            return f"{expr.func.id}(" + ", ".join(self.render(arg, 0, substitute) for arg in expr.args) + ")"
        if isinstance(expr, String):
            return f'"{expr.value}"'
        raise AssertionError(f"unknown node {expr!r}")  # pragma: no cover


def _signed(text: str) -> str:
    """A negative number or term in parentheses, as it must be after an operator: ``0.5*(-1)``."""
    return f"({text})" if text.startswith("-") else text


def _elide(items: List[Any], limit: int) -> List[Optional[Any]]:
    """The items, or the first and last ones around a None when there are more than ``limit``."""
    if len(items) <= limit:
        return items
    head = (limit + 1) // 2
    return items[:head] + [None] + items[-(limit - head) :]
