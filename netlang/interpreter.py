"""Interpreter: evaluates a checked program by walking its syntax tree, one sample at a time.

This is the reference semantics of netlang, written to be obviously right rather
than fast: each node's expression is evaluated as written (``step(a > b)`` compares
``a`` with ``b``), with the scalar ``math`` activations, never through the weight
matrices. Tests compare the compiled Network against it.

It is generic over the kind of number (an :class:`Arithmetic`): ``FLOAT`` is
float64, as the compiled network computes; ``EXACT`` reads every decimal literal
as the rational number it spells (``fractions.Fraction("0.1")`` is exactly 1/10),
so step thresholds behave as mathematics says. Under ``EXACT``, the activations
that are not piecewise linear (sigmoid, tanh, softmax: their values are
irrational) are computed in float64 from the exact input and their results read
back as the shortest decimal that is that float.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .checker import CheckedProgram
from .errors import NetlangError
from .nodes import Call, Compare, Expr, Index, Let, Name, Number, Product, String, Sum, UnaryOp, Vector

if TYPE_CHECKING:
    import numpy as np

    from .activations import Activation
else:  # the expectations' constants are folded here for netlang check, which needs numpy only for arrays
    from .lazynumpy import np

Scalar = Union[float, Fraction]
# A Scalar or a numpy array (float64, or object holding Fractions): numpy's type stubs know no
# arrays of Fractions, so values are typed loosely.
Value = Any

_COMPARISONS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _exact(value: Any) -> Fraction:
    """A number as an exact rational; a float is read as the shortest decimal that is it (0.1 -> 1/10)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(repr(float(value)))


class Values(Dict[str, Any]):
    """The value of each name (inputs, constants, nodes, layers), and the arrays ``load(...)`` read.

    The arrays are an attribute, not an entry: every name a user can write is theirs.
    """

    def __init__(self, loaded: Mapping[Any, Any]) -> None:
        super().__init__()
        self.loaded = loaded

    def __repr__(self) -> str:
        return f"Values({dict.__repr__(self)}, loaded={len(self.loaded)})"


class Arithmetic:
    """The kind of number the interpreter computes with: how literals, values and activations become numbers."""

    def __init__(self, name: str, scalar: Callable[[Any], Scalar], literal: Callable[[Number], Scalar], dtype: Any) -> None:
        self.name = name
        self.scalar = scalar  # any number (a float from a file or the command line) -> this kind
        self.literal = literal  # a literal in the source -> this kind
        self.dtype = dtype  # numpy dtype of vectors: float64, or object holding Fractions

    def __repr__(self) -> str:
        return f"Arithmetic({self.name!r})"

    def array(self, values: Any) -> np.ndarray:
        """``values`` (nested lists or an array) as a numpy array of this kind of number."""
        if self.dtype is float:
            return np.asarray(values, dtype=float)
        array = np.asarray(values, dtype=object)
        return np.vectorize(self.scalar, otypes=[object])(array) if array.size else array

    def is_exact(self, activation: Activation) -> bool:
        """Whether ``activation`` is computed in this arithmetic (not in float64 and converted)."""
        return self.dtype is float or activation.piecewise_linear

    def activate(self, activation: Activation, z: Value) -> Value:
        """``activation`` applied to a scalar or, element by element (softmax: as a whole), to a vector."""
        if activation.whole_vector:
            return self.array(activation.reference([_float(v) for v in np.ravel(z)]))
        apply = activation.reference if self.dtype is not float and activation.piecewise_linear else None
        if apply is None:
            def apply(v: Any) -> Any:
                return activation.reference(_float(v))
        if np.ndim(z):
            return self.array([apply(v) for v in np.ravel(z)])
        return self.scalar(apply(z))


def _float(value: Any) -> float:
    """``value`` as a float. An exact rational beyond float64's range (``float(Fraction(10**400))``
    raises OverflowError) becomes the largest float of its sign: it is finite, and so are
    sigmoid, tanh and softmax of it (their limits), where infinity would give softmax NaN."""
    try:
        return float(value)
    except OverflowError:
        return sys.float_info.max if value > 0 else -sys.float_info.max


FLOAT = Arithmetic("float64", float, lambda number: number.value, float)
EXACT = Arithmetic("exact", _exact, lambda number: Fraction(number.text) if number.text else _exact(number.value), object)


def interpret(
    checked: CheckedProgram,
    inputs: Mapping[str, Any],
    margins: Optional[List[float]] = None,
    arithmetic: Arithmetic = FLOAT,
) -> Dict[str, Value]:
    """The outputs of ``checked`` for one sample, by name.

    If ``margins`` is a list, the distance ``|a - b|`` of every ``step`` comparison
    is appended to it: where that is tiny, float rounding may decide the step.
    """
    env = evaluate(checked, inputs, margins, arithmetic)
    return {name: env[name] for name in checked.outputs}


def evaluate(
    checked: CheckedProgram,
    inputs: Mapping[str, Any],
    margins: Optional[List[float]] = None,
    arithmetic: Arithmetic = FLOAT,
) -> Values:
    """The value of every input, constant, node and layer for one sample, by name.

    As the runtime does, a sum beyond float64's range is inf, silently (numpy's matmul would
    warn where Python's float arithmetic does not)."""
    with np.errstate(over="ignore", invalid="ignore"):
        env = constants(checked, arithmetic)
        for var in checked.inputs:
            value = arithmetic.array(inputs[var.name])
            env[var.name] = arithmetic.scalar(value.reshape(-1)[0]) if var.size is None else value
        for unit in checked.units:
            env[unit.name] = unit_value(unit.statement.value, env, margins, arithmetic)
    return env


def constants(checked: CheckedProgram, arithmetic: Arithmetic = FLOAT) -> Values:
    """The value of every ``let`` constant, by name (and the arrays ``load`` read)."""
    env = Values(checked.loaded)
    lets = {s.name: s for s in checked.program.statements if isinstance(s, Let)}
    # The checker folded the constants in float64, in dependency order; exact values are folded again.
    # A param's value (learned, drawn by an initialiser) is the float64 the checker holds.
    for name, constant in checked.constants.items():
        if arithmetic is FLOAT:
            env[name] = constant
        elif name in lets:
            env[name] = value_of(lets[name].value, env, arithmetic)
        else:
            env[name] = arithmetic.array(constant) if isinstance(constant, np.ndarray) else arithmetic.scalar(constant)
    return env


def inputs_by_name(checked: CheckedProgram, row: Sequence[Any]) -> Dict[str, Any]:
    """A flat row of input values (vectors flattened, in declaration order) split by input name."""
    inputs: Dict[str, Any] = {}
    position = 0
    for var in checked.inputs:
        width = 1 if var.size is None else var.size
        inputs[var.name] = list(row[position : position + width])
        position += width
    return inputs


def interpret_row(checked: CheckedProgram, row: Sequence[Any], arithmetic: Arithmetic = FLOAT) -> List[Scalar]:
    """The flat output row for one flat input row (vectors flattened), as the compiled network takes them."""
    outputs = interpret(checked, inputs_by_name(checked, row), arithmetic=arithmetic)
    return [
        arithmetic.scalar(value) for name in checked.outputs for value in np.ravel(np.asarray(outputs[name], dtype=arithmetic.dtype))
    ]


def unit_value(
    expr: Expr, env: Values, margins: Optional[List[float]] = None, arithmetic: Arithmetic = FLOAT
) -> Value:
    """The value of a node's or layer's right-hand side: its activation applied to its argument."""
    from .activations import ACTIVATIONS  # numpy kernels: imported when a unit is first evaluated

    if isinstance(expr, Call) and expr.func.id in ACTIVATIONS:
        activation = ACTIVATIONS[expr.func.id]
        argument = expr.args[0]
        if isinstance(argument, Compare):
            left = value_of(argument.left, env, arithmetic)
            right = value_of(argument.right, env, arithmetic)
            if margins is not None:
                margins.extend(np.abs(np.asarray(left - right, dtype=float)).ravel().tolist())
            fired = _COMPARISONS[argument.op](left, right)
            if np.ndim(fired):
                return arithmetic.array(np.asarray(fired, dtype=float))
            return arithmetic.scalar(float(fired))
        z = value_of(argument, env, arithmetic)
        if margins is not None and activation.name == "step":
            margins.extend(np.abs(np.asarray(z, dtype=float)).ravel().tolist())
        return arithmetic.activate(activation, z)
    return value_of(expr, env, arithmetic)


def value_of(expr: Expr, env: Values, arithmetic: Arithmetic = FLOAT) -> Value:
    """The value of an affine (or constant) expression, given the values of the names it reads."""
    if isinstance(expr, Number):
        return arithmetic.literal(expr)
    if isinstance(expr, Name):
        return env[expr.id]
    if isinstance(expr, Index):
        element = env[expr.name][expr.index]  # a matrix's row, or one number
        return element if np.ndim(element) else arithmetic.scalar(element)
    if isinstance(expr, UnaryOp):
        inner = value_of(expr.operand, env, arithmetic)
        return -inner if expr.op == "-" else inner
    if isinstance(expr, Sum):
        total = value_of(expr.operands[0], env, arithmetic)
        for op, operand in zip(expr.ops, expr.operands[1:]):
            right = value_of(operand, env, arithmetic)
            total = total + right if op == "+" else total - right
        return total
    if isinstance(expr, Product):
        result = value_of(expr.operands[0], env, arithmetic)
        for op, operand in zip(expr.ops, expr.operands[1:]):
            right = value_of(operand, env, arithmetic)
            if op == "*":
                result = result * right
            elif op == "/":
                result = result / right
            else:
                result = np.matmul(result, right)
                if np.ndim(result) == 0:
                    result = arithmetic.scalar(np.asarray(result).item())
        return result
    if isinstance(expr, Vector):
        return arithmetic.array([value_of(item, env, arithmetic) for item in expr.items])
    if isinstance(expr, Call) and expr.func.id == "load":
        path, *key = [arg.value for arg in expr.args if isinstance(arg, String)]
        return arithmetic.array(env.loaded[(path, key[0] if key else None)])
    raise TypeError(f"cannot interpret {expr!r}")


def check_exact_work(network: Any, samples: int, filename: Optional[str] = None) -> None:
    """A ``limit-exceeded`` NetlangError when evaluating ``samples`` samples of ``network`` in exact
    arithmetic would compute more than ``MAX_EXACT_TERMS`` weight terms (each a Fraction: slow)."""
    from . import limits

    terms = sum(layer.nonzeros + layer.shape[0] for layer in network.layers)  # weights and biases
    if terms * samples > limits.MAX_EXACT_TERMS:
        per = f" x {samples:,} samples" if samples != 1 else ""
        raise NetlangError(
            f"exact arithmetic (--exact) computes every weight term with fractions, thousands of times slower than float64: "
            f"this network has {terms:,} weight terms{per}, more than the limit of {limits.MAX_EXACT_TERMS:,} "
            "(MAX_EXACT_TERMS)",
            filename=filename,
            code="limit-exceeded",
            hint="leave out --exact: float64 computes the same network in microseconds",
        )
