"""Interpreter: evaluates a checked program by walking its syntax tree, one sample at a time.

This is the reference semantics of netlang, written to be obviously right rather
than fast: each node's expression is evaluated as written (``step(a > b)`` compares
``a`` with ``b``), with the scalar ``math`` activations, never through the weight
matrices. Tests compare the compiled Network against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union, cast

import numpy as np

from .activations import ACTIVATIONS
from .checker import CheckedProgram
from .nodes import Call, Compare, Expr, Index, Let, Name, Number, Product, String, Sum, UnaryOp, Vector
from .weights import load_weights

Value = Union[float, np.ndarray]

_COMPARISONS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def interpret(
    checked: CheckedProgram, inputs: Mapping[str, Any], margins: Optional[List[float]] = None
) -> Dict[str, Value]:
    """The outputs of ``checked`` for one sample, by name.

    If ``margins`` is a list, the distance ``|a - b|`` of every ``step`` comparison
    is appended to it: where that is tiny, float rounding may decide the step.
    """
    env: Dict[str, Any] = {"__base_dir__": checked.base_dir or Path.cwd()}
    for var in checked.inputs:
        value = np.asarray(inputs[var.name], dtype=float)
        env[var.name] = float(value) if var.size is None else value
    for statement in checked.program.statements:
        if isinstance(statement, Let):
            env[statement.name] = checked.constants[statement.name]
    for unit in checked.units:
        env[unit.name] = _unit_value(unit.statement.value, env, margins)
    return {name: env[name] for name in checked.outputs}


def _unit_value(expr: Expr, env: Dict[str, Value], margins: Optional[List[float]]) -> Value:
    if isinstance(expr, Call) and expr.func.id in ACTIVATIONS:
        activation = ACTIVATIONS[expr.func.id]
        argument = expr.args[0]
        if isinstance(argument, Compare):
            left = _value(argument.left, env)
            right = _value(argument.right, env)
            if margins is not None:
                margins.extend(np.abs(np.asarray(left - right, dtype=float)).ravel().tolist())
            fired = _COMPARISONS[argument.op](left, right)
            return np.asarray(fired, dtype=float) if np.ndim(fired) else float(fired)
        z = _value(argument, env)
        if margins is not None and activation.name == "step":
            margins.extend(np.abs(np.asarray(z, dtype=float)).ravel().tolist())
        if activation.whole_vector:
            return np.array(activation.reference([float(v) for v in np.ravel(z)]))
        if np.ndim(z):
            return np.array([activation.reference(float(v)) for v in np.ravel(z)])
        return activation.reference(float(z))
    return _value(expr, env)


def _value(expr: Expr, env: Dict[str, Value]) -> Value:
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, Name):
        return env[expr.id]
    if isinstance(expr, Index):
        element = env[expr.name][expr.index]  # type: ignore[index]
        return element if np.ndim(element) else float(element)
    if isinstance(expr, UnaryOp):
        operand = _value(expr.operand, env)
        return -operand if expr.op == "-" else operand
    if isinstance(expr, Sum):
        total = _value(expr.operands[0], env)
        for op, term in zip(expr.ops, expr.operands[1:]):
            total = total + _value(term, env) if op == "+" else total - _value(term, env)
        return total
    if isinstance(expr, Product):
        result = _value(expr.operands[0], env)
        for op, factor in zip(expr.ops, expr.operands[1:]):
            right = _value(factor, env)
            if op == "*":
                result = result * right
            elif op == "/":
                result = result / right
            else:
                result = np.matmul(result, right)
                if np.ndim(result) == 0:
                    result = float(result)
        return result
    if isinstance(expr, Vector):
        return np.array([_value(item, env) for item in expr.items], dtype=float)
    if isinstance(expr, Call) and expr.func.id == "load":
        path, *key = [arg.value for arg in expr.args if isinstance(arg, String)]
        base = cast(Path, env["__base_dir__"])  # interpret() puts it beside the values
        return load_weights(base / path, key[0] if key else None)
    raise TypeError(f"cannot interpret {expr!r}")
