"""Params: what training learns: the values initialisers draw, and the ``train`` statement's settings.

A ``param`` is a constant the checker folds like a ``let``; when its value is an initialiser
(``param W[100, 784] = xavier()``) the values are drawn here, from a generator seeded by the
file's ``train seed = N`` (0 when not given) and the param's name, so the same file always
starts from the same weights, and adding a param does not change the others' values.

The settings of the ``train`` statements are read and validated here too, so that
``netlang check`` reports a misspelt setting as it reports a misspelt name. What a param or a
setting needs from outside (folding a constant expression, reporting an error) is asked of a
:class:`ParamScope`, the small interface the checker implements, as it does
:class:`netlang.values.Scope` for the value of an expression.
"""

from __future__ import annotations

import math
import zlib
from array import array
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple, Union

if TYPE_CHECKING:
    import numpy as np
else:  # numpy is imported by a compile's draw; a check draws without it (netlang.pcg64, netlang.lazynumpy)
    from .lazynumpy import np

from . import limits
from .errors import Failed, did_you_mean
from .numerals import format_number
from .grids import NUMPY, Arrays, Grid
from .rounding import exact
from .nodes import Call, Expr, Name, Param, Span, String, Statement, Train

# Each initialiser: (the numbers of arguments it takes, what they are).
INITIALISERS: Dict[str, Tuple[Tuple[int, ...], str]] = {
    "zeros": ((0,), "zeros()"),
    "normal": ((2,), "normal(mean, std)"),
    "uniform": ((2,), "uniform(low, high)"),
    "xavier": ((0, 1), "xavier() or xavier(n)"),
    "he": ((0, 1), "he() or he(n)"),
}


class ParamProblem(Exception):
    """A mistake in a param or a setting; the checker turns it into a located NetlangError."""

    def __init__(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code
        self.hint = hint


class ParamScope(Protocol):
    """What a param's value and the train settings need from outside them (the checker implements it)."""

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> Failed:
        """Report an error; the returned exception abandons the definition."""

    def fold(self, expr: Expr) -> Union[float, np.ndarray, Grid]:
        """The value of the constant expression ``expr``; raises :class:`Failed` (reported) if it has an error."""


def param_value(
    scope: ParamScope, statement: Param, given: Optional[Union[float, np.ndarray, Grid]], seed: int, arrays: Arrays = NUMPY
) -> Union[float, np.ndarray, Grid]:
    """A param's value: ``given`` from outside (training), drawn by an initialiser from ``seed``, or written.

    Its mistakes are reported to ``scope``, and abandon the param (:class:`Failed`). ``arrays``:
    the kind of array it is (a lazy :class:`~netlang.grids.Grid` for a draw, when only checked).
    """
    value: Union[float, np.ndarray, Grid]
    try:
        if given is not None:
            value = given
        else:
            call = initialiser_call(statement.value)
            if call is not None:
                arguments = [scope.fold(arg) for arg in call.args]
                # numpy's floats: a draw from an Inexact's own float would not be the compile's.
                numbers = [exact(arg) for arg in arguments if isinstance(arg, float)]
                if len(numbers) != len(arguments):
                    raise scope.error("an initialiser's arguments are single numbers", call.span, "bad-arguments")
                value = initial_values(statement, call, numbers, seed, arrays)
            else:
                value = scope.fold(statement.value)
        check_shape(statement, value)
    except ParamProblem as problem:
        raise scope.error(problem.message, problem.span, problem.code, hint=problem.hint) from None
    return value


def train_settings(scope: ParamScope, statements: Sequence[Statement]) -> Settings:
    """The settings of the train statements among ``statements``; their mistakes are reported to ``scope``."""

    def number(expr: Expr) -> float:
        value = scope.fold(expr)
        if not isinstance(value, float):
            raise ParamProblem("a setting is a single value", expr.span, "bad-setting")
        return exact(value)  # numpy's float: whether it is whole, or above a limit, is its own

    trains = [statement for statement in statements if isinstance(statement, Train)]
    settings, problems = read_settings(trains, number)
    for problem in problems:
        scope.error(problem.message, problem.span, problem.code, hint=problem.hint)
    return settings


def initialiser_call(expr: Expr) -> Optional[Call]:
    """``expr`` if it is a call of an initialiser (``xavier()``), else None."""
    if isinstance(expr, Call) and expr.func.id in INITIALISERS:
        return expr
    return None


def generator(seed: int, name: str) -> np.random.Generator:
    """The random generator of the param ``name``: one stream per (seed, name), PCG64 (numpy's default)."""
    return np.random.default_rng(entropy(seed, name))


def entropy(seed: int, name: str) -> List[int]:
    """What seeds the param ``name``'s generator: numpy's (:func:`generator`) or Python's (netlang.pcg64)."""
    return [seed, zlib.crc32(name.encode("utf-8"))]


def initial_values(param: Param, call: Call, args: Sequence[float], seed: int, arrays: Arrays = NUMPY) -> Union[float, np.ndarray, Grid]:
    """The values ``call`` (an initialiser) gives ``param``.

    ``xavier()`` draws from normal(0, 1/sqrt(n)), n the number of signals a weight matrix
    ``W[rows, n]`` reads (``W @ x``): this is Rashid's normal(0, n^-1/2) and what Saito calls
    Xavier's initial values; ``he()`` draws from normal(0, sqrt(2/n)). For a matrix used as
    ``x @ W`` (rows are the inputs) write the number: ``xavier(784)``.

    With ``arrays`` of Grids (``netlang check``) the values are drawn without numpy, by
    netlang.pcg64 (numpy's generator, bit for bit); a vector or matrix is not drawn yet: a
    lazy Grid draws it when its values are first needed, bounded meanwhile by what the
    arguments allow.
    """
    kind = call.func.id
    counts, usage = INITIALISERS[kind]
    if len(args) not in counts:
        raise ParamProblem(f"{kind} takes {_arguments(counts)}, not {len(args)}", call.span, "bad-arguments", hint=f"write {usage}")
    shape = param.shape
    if shape is None and kind in ("xavier", "he") and not args:
        raise ParamProblem(
            f"{kind}() needs the shape of '{param.name}' to know how many signals it reads",
            call.span,
            "missing-shape",
            hint=f"declare the shape, e.g. param {param.name}[rows, columns] = {kind}()",
        )
    if shape is not None:
        if len(shape) > 2:
            raise ParamProblem(
                f"'{param.name}' has {len(shape)} dimensions; a param is a number, a vector or a matrix",
                param.name_span,
                "bad-shape",
            )
        if any(size < 1 for size in shape):
            raise ParamProblem(f"'{param.name}' has a dimension of size 0", param.name_span, "bad-size")
        entries = math.prod(shape)
        if entries > limits.MAX_MATRIX_ENTRIES:
            raise ParamProblem(
                f"'{param.name}' would have {entries} entries; the limit is {limits.MAX_MATRIX_ENTRIES}",
                param.name_span,
                "limit-exceeded",
            )
    size: Tuple[int, ...] = shape if shape is not None else ()
    if kind == "zeros":
        return 0.0 if shape is None else arrays.zeros(size)
    if kind == "normal":
        mean, std = args
        if std < 0:
            raise ParamProblem(f"the standard deviation {std!r} is negative", call.span, "bad-arguments")
    elif kind == "uniform":
        low, high = args
        if high < low:
            raise ParamProblem(f"uniform({low!r}, {high!r}): low is above high", call.span, "bad-arguments")
    else:
        n = args[0] if args else float(size[-1])
        if not n >= 1:
            raise ParamProblem(f"{kind}({n!r}): n counts the signals a neuron reads, at least 1", call.span, "bad-arguments")
    method, offset, scale = _recipe(kind, args, size)
    if arrays is NUMPY:
        values = _draw(method, offset, scale, size, generator(seed, param.name))
        return float(values) if shape is None else values

    def draw() -> "array[float]":
        return _draw_plainly(method, offset, scale, size, seed, param.name)

    if shape is None:
        return draw()[0]
    # random() lies in [0, 1); a standard normal within _LARGEST_NORMAL.
    bound = (abs(offset) if offset is not None else 0.0) + scale * (_LARGEST_NORMAL if method == "standard_normal" else 1.0)
    key = (kind, tuple(args), size, seed, param.name)
    return Grid(size, draw=draw, bound=bound, key=key)


# No standard normal numpy draws exceeds this: its ziggurat returns at most r = 3.65 from a
# layer, and r + log(2^53) / r = 13.7 from the tail (netlang.pcg64).
_LARGEST_NORMAL = 64.0


def _recipe(kind: str, args: Sequence[float], size: Tuple[int, ...]) -> Tuple[str, Optional[float], float]:
    """How the initialiser ``kind`` (its arguments checked) makes its values from a generator's
    method (``standard_normal`` or ``random``): ``offset + scale * values``, or ``scale * values``
    with no offset (adding 0.0 would turn a -0.0 into 0.0)."""
    if kind == "normal":
        mean, std = args
        return "standard_normal", mean, std
    if kind == "uniform":
        low, high = args
        return "random", low, high - low
    n = args[0] if args else float(size[-1])
    return "standard_normal", None, 1.0 / math.sqrt(n) if kind == "xavier" else math.sqrt(2.0 / n)


def _draw(method: str, offset: Optional[float], scale: float, size: Tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """An initialiser's values drawn by numpy's generator ``rng`` (:func:`_recipe`)."""
    values = scale * getattr(rng, method)(size)
    return values if offset is None else offset + values


# Python draws a standard normal in about 0.5 us, numpy in 0.01 us once imported, which costs
# 0.13 s: beyond 250,000 values (a 500x500 matrix) importing numpy is the faster way to the
# same values, and it holds 8 bytes a value, where a Python draw peaks at about 170 (tracemalloc).
_MOST_DRAWN_PLAINLY = 250_000


def _draw_plainly(method: str, offset: Optional[float], scale: float, size: Tuple[int, ...], seed: int, name: str) -> "array[float]":
    """The values :func:`_draw` gives, row-major, drawn without numpy: the same IEEE operations on
    the same draws (netlang.pcg64), unless a draw depends on a last bit of the C library's
    ``exp`` or ``log1p`` that Python cannot certify (never seen yet), or there are more than
    ``_MOST_DRAWN_PLAINLY`` values: then numpy draws them."""
    # Imported with the first draw: a check without one does not load it (3 ms here, compiled
    # from source: this environment writes no bytecode).
    from .pcg64 import PCG64, Undecided

    count = math.prod(size)
    if count <= _MOST_DRAWN_PLAINLY:
        try:
            values = getattr(PCG64(entropy(seed, name)), method)(count)
        except Undecided:
            pass
        else:
            if offset is None:
                return array("d", map(scale.__mul__, values))
            return array("d", [offset + scale * value for value in values])
    drawn = _draw(method, offset, scale, size, generator(seed, name))
    return array("d", np.ascontiguousarray(drawn, dtype=np.float64).tobytes())


def _arguments(counts: Tuple[int, ...]) -> str:
    words = [str(count) for count in counts]
    text = " or ".join(words)
    return f"{text} argument{'' if counts == (1,) else 's'}"


def check_shape(param: Param, value: Union[float, np.ndarray, Grid]) -> None:
    """Refuse a value whose shape is not the one ``param`` declares."""
    if param.shape is None:
        return
    actual = () if isinstance(value, float) else tuple(value.shape)
    if tuple(actual) != tuple(param.shape):
        written = "a single value" if not actual else "x".join(map(str, actual))
        raise ParamProblem(
            f"'{param.name}' is declared [{', '.join(map(str, param.shape))}] but its value is {written}",
            param.span,
            "shape-mismatch",
            hint="make the declared shape and the value agree, or leave the shape out",
        )


# --- settings ---------------------------------------------------------------------------

Choice = Tuple[str, ...]

# Every setting a train statement (or `netlang train --NAME`) takes: its kind and what it means.
SETTINGS: Dict[str, Tuple[Union[str, Choice], str]] = {
    "preset": (("rashid", "saito"), "a book's settings, which the others override"),
    "rule": (("backprop", "rashid", "perceptron"), "the learning rule (rashid: his book's update, the errors sent back)"),
    "loss": (("mse", "cross_entropy"), "squared error (Rashid) or softmax cross-entropy (Saito)"),
    "optimizer": (("sgd", "momentum", "adam"), "how a gradient changes the params"),
    "rate": ("positive", "the learning rate"),
    "momentum": ("fraction", "the momentum optimizer's factor"),
    "epochs": ("count", "passes over the training data"),
    "batch": ("count", "samples per update"),
    "shuffle": ("bool", "shuffle the samples before each epoch"),
    "evaluate": ("bool", "after each epoch, the loss and accuracy over all the training data (false: of the epoch's batches)"),
    "seed": ("seed", "seeds the initialisers and the shuffling"),
    "scale": ("number", "inputs are read as x*scale + shift"),
    "shift": ("number", "inputs are read as x*scale + shift"),
    "off": ("number", "the target of the outputs that are not the label's"),
    "on": ("number", "the target of the label's output"),
    "labels": ("column", "the data's label column: a position (0 is the first) or a header name"),
    "data": ("file", "the training data, relative to the .net file"),
    "validation": ("file", "the validation data, relative to the .net file"),
}

PRESETS: Dict[str, Dict[str, Any]] = {
    # "Make Your Own Neural Network": one sample at a time, squared error, MNIST scaled to 0.01..1.0.
    "rashid": dict(
        rule="rashid", loss="mse", optimizer="sgd", rate=0.3, epochs=1, batch=1, shuffle=False,
        scale=0.99 / 255, shift=0.01, off=0.01, on=0.99, labels=0,
    ),
    # "Deep Learning from Scratch", chapter 4: minibatches of 100, softmax cross-entropy;
    # 10,000 iterations of 100 over 60,000 images are about 17 epochs.
    "saito": dict(
        rule="backprop", loss="cross_entropy", optimizer="sgd", rate=0.1, epochs=17, batch=100, shuffle=True,
        scale=1 / 255, shift=0.0, off=0.0, on=1.0, labels=0,
    ),
}

DEFAULTS: Dict[str, Any] = dict(
    rule="backprop", loss="mse", optimizer="sgd", rate=0.1, momentum=0.9, epochs=10, batch=1, shuffle=True,
    evaluate=True, seed=0, scale=1.0, shift=0.0, off=0.0, on=1.0,
)


class Settings:
    """The settings a file's train statements give (``values``), where each is written (``spans``)."""

    def __init__(self, values: Optional[Dict[str, Any]] = None, spans: Optional[Dict[str, Span]] = None) -> None:
        self.values: Dict[str, Any] = dict(values or {})
        self.spans: Dict[str, Span] = dict(spans or {})

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"

    def resolved(self, overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Every setting's value: the defaults, then the preset's, the file's, and ``overrides`` (not None)."""
        given = dict(self.values)
        given.update({k: v for k, v in (overrides or {}).items() if v is not None})
        result = dict(DEFAULTS)
        preset = given.get("preset")
        if preset is not None:
            result.update(PRESETS[preset])
        result.update(given)
        return result


def read_settings(statements: Sequence[Train], number: Callable[[Expr], float]) -> Tuple[Settings, List[ParamProblem]]:
    """The settings of ``statements``, and every mistake in them. ``number`` folds a constant expression."""
    settings = Settings()
    problems: List[ParamProblem] = []
    for statement in statements:
        for setting in statement.settings:
            if setting.name not in SETTINGS:
                guess = did_you_mean(setting.name, list(SETTINGS))
                problems.append(
                    ParamProblem(
                        f"unknown setting '{setting.name}'",
                        setting.span,
                        "unknown-setting",
                        hint=guess or f"the settings are {', '.join(SETTINGS)}",
                    )
                )
                continue
            if setting.name in settings.values:
                first = settings.spans[setting.name]
                problems.append(
                    ParamProblem(
                        f"'{setting.name}' is already set (at line {first.line})",
                        setting.span,
                        "duplicate-setting",
                        hint="set each setting once",
                    )
                )
                continue
            try:
                settings.values[setting.name] = setting_value(setting.name, setting.value, number)
                settings.spans[setting.name] = setting.span
            except ParamProblem as problem:
                problems.append(problem)
            except Failed:
                pass  # reported already
    return settings, problems


def setting_value(name: str, expr: Expr, number: Callable[[Expr], float]) -> Any:
    """The value of setting ``name`` written as ``expr``."""
    kind, meaning = SETTINGS[name]
    if isinstance(kind, tuple):
        word = expr.id if isinstance(expr, Name) else expr.value if isinstance(expr, String) else None
        if word is not None:
            word = word.replace("-", "_")
        if word not in kind:
            raise ParamProblem(
                f"'{name}' is one of {', '.join(kind)}", expr.span, "bad-setting", hint=did_you_mean(str(word), list(kind))
            )
        return word
    if kind == "bool":
        if isinstance(expr, Name) and expr.id in ("true", "false", "yes", "no"):
            return expr.id in ("true", "yes")
        raise ParamProblem(f"'{name}' is true or false", expr.span, "bad-setting")
    if kind == "file":
        if not isinstance(expr, String):
            raise ParamProblem(f"'{name}' is a file name in quotes: {name} = \"train.csv\"", expr.span, "bad-setting")
        return expr.value
    if kind == "column" and isinstance(expr, String):
        return expr.value
    return checked_number(name, number(expr), expr.span)


def checked_number(name: str, value: float, span: Span) -> Union[int, float]:
    """A numeric setting's value, checked for its kind (the command line's values come here too)."""
    kind = SETTINGS[name][0]
    shown = format_number(float(value))  # as written: epochs = 0, not 0.0
    whole = float(value).is_integer()
    if kind == "positive" and not value > 0:
        raise ParamProblem(f"'{name}' must be positive, not {shown}", span, "bad-setting", hint="e.g. 0.1")
    if kind == "fraction" and not 0 <= value < 1:
        raise ParamProblem(f"'{name}' must lie in [0, 1), not {shown}", span, "bad-setting", hint="e.g. 0.9")
    if kind in ("count", "column") and not (whole and value >= (1 if kind == "count" else 0)):
        least = 1 if kind == "count" else 0
        raise ParamProblem(f"'{name}' must be a whole number, at least {least}, not {shown}", span, "bad-setting")
    if kind == "seed" and not (whole and 0 <= value < 2**63):
        raise ParamProblem(f"'{name}' must be a whole number from 0 to 2^63 - 1, not {shown}", span, "bad-setting")
    if kind in ("count", "column", "seed"):
        return int(value)
    return float(value)


def file_seed(statements: Sequence[Statement]) -> int:
    """The seed a file's initialisers use: its ``train seed = N`` if that is a plain whole number, else 0
    (a bad seed is reported by :func:`read_settings`)."""
    from .nodes import Number

    for statement in statements:
        for setting in statement.settings if isinstance(statement, Train) else ():
            if setting.name == "seed" and isinstance(setting.value, Number):
                value = setting.value.value
                if value.is_integer() and 0 <= value < 2**63:
                    return int(value)
    return 0
