"""Hypothesis strategies for random valid netlang programs, written the way people write them.

``programs()`` draws the text of a program that parses and compiles: scalar and vector
inputs, constants (numbers, constant arithmetic, vectors, matrices), neurons with affine
arguments (weights on either side, unary signs, parentheses, nested sums, divisions by
constants), layers (``W @ v + b``), outputs and, optionally, ``expect`` lines. The text is
laid out badly on purpose: odd or missing spaces, tabs, blank lines, ``\\r\\n`` line ends,
statements broken over lines inside brackets, and comments everywhere a comment may stand
(own lines, line ends, inside brackets). ``edited(text)`` draws the text after one edit as
typed in an editor. Self-contained: uses only hypothesis.
"""

from __future__ import annotations

import string
from typing import List, Sequence

from hypothesis import strategies as st

NUMBERS = ["0", "1", "2", "0.5", ".25", "2.", "1e-1", "3.0E+0", "0.7", "10", "0.125"]
ACTIVATIONS = ["sigmoid", "relu", "tanh", "identity"]
COMMENT_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,.()#-*=[]", max_size=16)


@st.composite
def comment(draw: st.DrawFn) -> str:
    return "#" + draw(COMMENT_TEXT)


@st.composite
def space(draw: st.DrawFn, in_brackets: bool = False) -> str:
    """What may stand between two tokens: inside brackets, also line breaks and comments."""
    choices = ["", " ", " ", "  ", "\t"]
    if not in_brackets:
        return draw(st.sampled_from(choices))
    kind = draw(st.sampled_from(choices + ["newline", "trailing", "own"]))
    if kind == "newline":
        return "\n" + draw(st.sampled_from(["", "  ", "\t"]))
    if kind == "trailing":
        return " " + draw(comment()) + "\n  "
    if kind == "own":
        return "\n" + draw(comment()) + "\n   "
    return kind


class _Scope:
    """The names a statement may read."""

    def __init__(self, signals: List[str], constants: List[str]) -> None:
        self.signals = signals
        self.constants = constants


@st.composite
def weight(draw: st.DrawFn, scope: _Scope, in_brackets: bool) -> str:
    choices = NUMBERS + scope.constants
    text = draw(st.sampled_from(choices))
    if draw(st.integers(0, 4)) == 0:
        text = "-" + draw(space(in_brackets)) + text
    return text


@st.composite
def affine(draw: st.DrawFn, scope: _Scope, in_brackets: bool, depth: int = 0) -> str:
    """An affine expression over ``scope.signals``: a weighted sum plus a constant."""
    s = lambda: draw(space(in_brackets))  # noqa: E731 - a short local helper
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 7 if depth < 2 else 4))
        signal = draw(st.sampled_from(scope.signals))
        w = draw(weight(scope, in_brackets))
        if kind == 0:
            term = signal
        elif kind == 1:
            term = f"{w}{s()}*{s()}{signal}"
        elif kind == 2:
            term = f"{signal}{s()}*{s()}{w}"
        elif kind == 3:
            term = f"-{s()}{signal}"
        elif kind == 4:
            term = draw(st.sampled_from(NUMBERS + scope.constants))
        elif kind == 5:
            inner = draw(affine(scope, True, depth + 1))
            term = f"({s()}{inner}{s()}){s()}/{s()}{draw(st.sampled_from(['2', '4', '0.5']))}"
        elif kind == 6:
            inner = draw(affine(scope, True, depth + 1))
            term = f"{w}{s()}*{s()}({s()}{inner}{s()})"
        else:
            inner = draw(affine(scope, True, depth + 1))
            term = f"({s()}{inner}{s()})"
        terms.append(term)
    text = terms[0]
    for term in terms[1:]:
        text += f"{s()}{draw(st.sampled_from(['+', '-']))}{s()}{term}"
    return text


@st.composite
def constant(draw: st.DrawFn, scope: _Scope) -> str:
    """A scalar constant expression: a number, or arithmetic on numbers and constants."""
    s = lambda: draw(space(False))  # noqa: E731
    a = draw(st.sampled_from(NUMBERS + scope.constants))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return a
    b = draw(st.sampled_from(NUMBERS[1:] + scope.constants))
    if kind == 1:
        return f"{a}{s()}*{s()}{b}"
    if kind == 2:
        return f"({s()}{a}{s()}+{s()}{b}{s()}){s()}/{s()}2"
    return f"-{s()}{a}{s()}-{s()}{b}"


@st.composite
def vector_literal(draw: st.DrawFn, size: int, in_brackets: bool = True) -> str:
    s = lambda: draw(space(in_brackets))  # noqa: E731
    items = [draw(st.sampled_from(NUMBERS + ["-0.5", "-2"])) for _ in range(size)]
    trailing = draw(st.sampled_from(["", ","])) if size else ""
    return "[" + s() + f"{s()},{s()}".join(items) + trailing + s() + "]"


@st.composite
def matrix_literal(draw: st.DrawFn, rows: int, columns: int) -> str:
    s = lambda: draw(space(True))  # noqa: E731
    lines = [draw(vector_literal(columns)) for _ in range(rows)]
    return "[" + s() + f"{s()},{s()}".join(lines) + s() + "]"


@st.composite
def programs(draw: st.DrawFn, with_expect: bool = False) -> str:
    """The text of a random program that parses and compiles (see the module's docstring)."""
    s = lambda: draw(space(False))  # noqa: E731
    statements: List[str] = []
    scalar_count = draw(st.integers(1, 3))
    inputs = [f"x{i + 1}" for i in range(scalar_count)]
    vector_size = draw(st.integers(0, 3))
    declared = list(inputs) + ([f"v[{vector_size}]"] if vector_size else [])
    statements.append("input " + f"{s()},{s()}".join(declared))
    scope = _Scope(list(inputs), [])
    for index in range(draw(st.integers(0, 2))):
        name = f"c{index}"
        statements.append(f"let {name}{s()}={s()}{draw(constant(scope))}")
        scope.constants.append(name)
    if draw(st.integers(0, 3)) == 0:  # a long constant vector, too long for one line
        statements.append(f"let many{s()}={s()}{draw(vector_literal(draw(st.integers(20, 40))))}")
    defined: List[str] = []
    if vector_size:
        rows = draw(st.integers(1, 3))
        statements.append(f"let W{s()}={s()}{draw(matrix_literal(rows, vector_size))}")
        statements.append(f"let b{s()}={s()}{draw(vector_literal(rows))}")
        act = draw(st.sampled_from(ACTIVATIONS + ["softmax"]))
        size = draw(st.sampled_from(["", f"[{rows}]"]))
        statements.append(f"layer h{size}{s()}={s()}{act}({draw(space(True))}W{s()}@{s()}v{s()}+{s()}b)")
        defined.append("h")
    for index in range(draw(st.integers(1, 4))):
        name = f"n{index}"
        kind = draw(st.integers(0, 3))
        t = lambda: draw(space(True))  # noqa: E731
        if kind == 0:
            left, right = draw(affine(scope, True)), draw(affine(scope, True))
            op = draw(st.sampled_from([">", ">=", "<", "<="]))
            value = f"step({t()}{left}{t()}{op}{t()}{right}{t()})"
        elif kind == 1:
            value = f"{draw(st.sampled_from(ACTIVATIONS))}({t()}{draw(affine(scope, True))}{t()})"
        elif kind == 2:
            value = draw(affine(scope, False))
        else:  # a long weighted sum, so that the statement is too long for one line
            terms = [f"{draw(st.sampled_from(NUMBERS))}*{draw(st.sampled_from(scope.signals))}" for _ in range(14)]
            value = f"step({' + '.join(terms)} > 0.5)"
        statements.append(f"node {name}{s()}={s()}{value}")
        scope.signals.append(name)
        defined.append(name)
    outputs: Sequence[str] = ()
    if draw(st.booleans()):
        outputs = draw(st.lists(st.sampled_from(defined), min_size=1, max_size=3, unique=True))
        statements.append("output " + f"{s()},{s()}".join(outputs))
    if with_expect and outputs and "h" not in outputs:
        width = scalar_count + vector_size
        values = [draw(st.sampled_from(["0", "1"])) for _ in range(width)]
        left = values[0] if width == 1 else "(" + ", ".join(values) + ")"
        results = ["1"] * len(outputs)
        right = results[0] if len(results) == 1 else "(" + f"{s()},{s()}".join(results) + ")"
        tolerance = draw(st.sampled_from(["", " within 0.01"]))
        statements.append(f"expect {left}{s()}->{s()}{right}{tolerance}")
    return _lay_out(draw, statements)


def _lay_out(draw: st.DrawFn, statements: List[str]) -> str:
    """Statements joined with blank lines, own-line and trailing comments, odd indentation."""
    parts: List[str] = []
    for statement in statements:
        for _ in range(draw(st.integers(0, 2))):
            parts.append(draw(st.sampled_from(["", "   ", draw(comment()), "  " + draw(comment())])))
        line = draw(st.sampled_from(["", " ", "\t"])) + statement + draw(st.sampled_from(["", " ", "  "]))
        if draw(st.integers(0, 2)) == 0:
            line += draw(st.sampled_from([" ", "   ", ""])) + draw(comment())
        parts.append(line)
    if draw(st.booleans()):
        parts.append(draw(comment()))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return newline.join(parts) + draw(st.sampled_from(["", newline, newline * 3]))


# --- any syntax: programs that parse, whatever they mean -------------------------------

NAMES = ["a", "b", "x1", "W", "theta", "h"]
FUNCTIONS = ["step", "sigmoid", "relu", "load", "f"]


@st.composite
def expressions(draw: st.DrawFn, in_brackets: bool = False, depth: int = 0) -> str:
    """Any expression the grammar takes (comparisons too), following its rules level by level:
    expr > sum > product > unary > atom. Not necessarily meaningful: for syntax-only checks."""
    s = lambda: draw(space(in_brackets))  # noqa: E731
    text = draw(_sums(in_brackets, depth))
    if draw(st.integers(0, 4)) == 0:
        text += s() + draw(st.sampled_from([">", ">=", "<", "<="])) + s() + draw(_sums(in_brackets, depth))
    return text


@st.composite
def _sums(draw: st.DrawFn, in_brackets: bool, depth: int) -> str:
    s = lambda: draw(space(in_brackets))  # noqa: E731
    text = draw(_products(in_brackets, depth))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        op, gap, right = draw(st.sampled_from(["+", "-"])), s(), draw(_products(in_brackets, depth))
        if not gap and right[:1] in ("+", "-") and right[:1] != op:
            gap = " "  # '2 +-0.1' in an expect reads as a tolerance written on paper: the parser refuses it
        text += s() + op + gap + right
    return text


@st.composite
def _products(draw: st.DrawFn, in_brackets: bool, depth: int) -> str:
    s = lambda: draw(space(in_brackets))  # noqa: E731
    text = draw(_unaries(in_brackets, depth))
    for _ in range(draw(st.sampled_from([0, 0, 1]))):
        text += s() + draw(st.sampled_from(["*", "/", "@"])) + s() + draw(_unaries(in_brackets, depth))
    return text


@st.composite
def _unaries(draw: st.DrawFn, in_brackets: bool, depth: int) -> str:
    signs = "".join(
        draw(st.sampled_from(["-", "+"])) + draw(space(in_brackets)) for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))
    )
    return signs + draw(_atoms(in_brackets, depth))


@st.composite
def _atoms(draw: st.DrawFn, in_brackets: bool, depth: int) -> str:
    t = lambda: draw(space(True))  # noqa: E731 - inside the brackets this atom opens
    # Mostly plain atoms, so that the size stays small: each bracket opens a whole expression.
    kind = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3, 4, 6, 8] if depth < 2 else [0, 1, 2, 3]))
    if kind == 0:
        return draw(st.sampled_from(NUMBERS))
    if kind == 1:
        return draw(st.sampled_from(NAMES))
    if kind == 2:
        return f"{draw(st.sampled_from(NAMES))}[{t()}{draw(st.integers(0, 3))}{t()}]"
    if kind == 3:
        return '"w.npy"'
    inner = lambda: draw(expressions(True, depth + 1))  # noqa: E731
    if kind == 4:
        return f"({t()}{inner()}{t()})"
    if kind == 6:
        args = [inner() for _ in range(draw(st.integers(0, 3)))]
        return f"{draw(st.sampled_from(FUNCTIONS))}({t()}" + f"{t()},{t()}".join(args) + f"{t()})"
    items = [inner() for _ in range(draw(st.integers(0, 3)))]
    trailing = draw(st.sampled_from(["", ","])) if items else ""
    return f"[{t()}" + f"{t()},{t()}".join(items) + f"{trailing}{t()}]"


@st.composite
def syntax_programs(draw: st.DrawFn) -> str:
    """The text of a random program that parses (every statement form, any expressions),
    laid out badly and commented as ``programs()`` does; it need not compile."""
    s = lambda: draw(space(False))  # noqa: E731
    statements: List[str] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 5))
        name = draw(st.sampled_from(NAMES))
        if kind == 0:
            names = [draw(st.sampled_from(["x1", "x2", "v[3]", "a"])) for _ in range(draw(st.integers(1, 3)))]
            statements.append("input " + f"{s()},{s()}".join(names))
        elif kind == 1:
            statements.append(f"let {name}{s()}={s()}{draw(expressions())}")
        elif kind == 2:
            statements.append(f"node {name}{s()}={s()}{draw(expressions())}")
        elif kind == 3:
            size = draw(st.sampled_from(["", "[2]"]))
            statements.append(f"layer {name}{size}{s()}={s()}{draw(expressions())}")
        elif kind == 4:
            names = [draw(st.sampled_from(NAMES)) for _ in range(draw(st.integers(1, 3)))]
            statements.append("output " + f"{s()},{s()}".join(names))
        else:
            statements.append(f"expect {draw(_values())}{s()}->{s()}{draw(_values())}" + draw(
                st.sampled_from(["", f" within{s()} 0.01", " within 1e-3"])
            ))
    return _lay_out(draw, statements)


@st.composite
def _values(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 3))
    if count == 1:
        return draw(expressions())
    t = lambda: draw(space(True))  # noqa: E731
    items = [draw(expressions(True)) for _ in range(count)]
    return f"({t()}" + f"{t()},{t()}".join(items) + draw(st.sampled_from(["", ","])) + f"{t()})"


# --- edits, as typed in an editor -------------------------------------------------------

# Pieces typed or deleted in an editor: brackets, line ends of both kinds, keywords, comments,
# characters the lexer refuses, a line that starts a statement inside brackets.
TYPED = ["\n", "\r\n", " ", "\t", "(", ")", "[", "]", ",", "=", "+", "-", "*", "#", "# note\n", "x1", "0.5", "1",
         "node ", "node z = ", "\nnode q = 1\n", "input ", "output ", "expect ", " -> ", " within 0.1", "let ",
         "sigmoid(", '"w.npy"', "$", "\v", "\u2028", ",5", "inputs"]


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """``text`` after one edit: characters inserted, deleted or replaced; a line duplicated,
    deleted or moved."""
    kind = draw(st.sampled_from(["insert", "insert", "delete", "replace", "line copy", "line delete", "line move"]))
    at = draw(st.integers(0, len(text)))
    if kind == "insert":
        return text[:at] + draw(st.sampled_from(TYPED)) + text[at:]
    if kind == "delete":
        return text[:at] + text[at + draw(st.integers(1, 12)) :]
    if kind == "replace":
        return text[:at] + draw(st.sampled_from(TYPED)) + text[at + draw(st.integers(1, 6)) :]
    lines = text.split("\n")
    i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    if kind == "line copy":
        lines.insert(j, lines[i])
    elif kind == "line delete" and len(lines) > 1:
        del lines[i]
    else:
        lines.insert(j, lines.pop(i))
    return "\n".join(lines)


# --- arrays: constants, weight files and drawn params, with their mistakes -----------------

# The weight files array_programs() may load (tests/test_check_without_numpy.py writes them):
# plain .npy data of each kind netlang reads without numpy, and files only numpy's path reads.
WEIGHT_FILES = ['"w3.npy"', '"m23.npy"', '"i3.npy"', '"big.npy"', '"fortran.npy"', '"half.npy"', '"nan.npy"',
                '"m.npz", "W"', '"m.npz", "b"', '"m.npz", "nope"', '"c.csv"', '"missing.npy"', '"w3.npy", "W"']
_ARRAY_NUMBERS = ["0", "1", "-2", "0.5", "3", "1e200", "1e-200", "1e308", "0.1"]
_INITIALISERS = ["xavier()", "he()", "zeros()", "normal(0, 0.5)", "normal(1, 0)", "uniform(-1, 1)",
                 "normal(0, 1e307)", "uniform(-1e308, 1e308)", "xavier(2)", "normal(0, -1)"]


@st.composite
def _array_constant(draw: st.DrawFn, names: List[str], depth: int = 0) -> str:
    """A constant expression over vectors and matrices (of the sizes 2 and 3, so that some fit
    and some do not), numbers (some near overflow or zero) and earlier constants."""
    kind = draw(st.integers(0, 9 if depth < 2 else 3))
    if kind == 0 or (kind == 3 and not names):
        return draw(st.sampled_from(_ARRAY_NUMBERS))
    if kind == 1:
        return "[" + ", ".join(draw(st.sampled_from(_ARRAY_NUMBERS)) for _ in range(draw(st.integers(2, 3)))) + "]"
    if kind == 2:
        rows, columns = draw(st.integers(1, 3)), draw(st.integers(2, 3))
        row = lambda: "[" + ", ".join(draw(st.sampled_from(_ARRAY_NUMBERS)) for _ in range(columns)) + "]"  # noqa: E731
        return "[" + ", ".join(row() for _ in range(rows)) + "]"
    if kind == 3:
        return draw(st.sampled_from(names))
    if kind == 4:
        return f"load({draw(st.sampled_from(WEIGHT_FILES))})"
    if kind == 5 and names:
        return f"{draw(st.sampled_from(names))}[{draw(st.integers(0, 3))}]"
    if kind == 6:
        return f"-({draw(_array_constant(names, depth + 1))})"
    left, right = draw(_array_constant(names, depth + 1)), draw(_array_constant(names, depth + 1))
    return f"({left}) {draw(st.sampled_from(['+', '-', '*', '/', '@', '@']))} ({right})"


@st.composite
def _array_signal_expression(draw: st.DrawFn, constants: List[str], signals: List[str]) -> str:
    """The value of a node or layer: constants applied to signals as layers are written (W @ x + b,
    x @ W, w @ x, v * x, W @ [x1, x2], W2 @ (W1 @ x)), or not quite."""
    c = lambda: draw(st.sampled_from(constants)) if constants else draw(st.sampled_from(_ARRAY_NUMBERS))  # noqa: E731
    s = lambda: draw(st.sampled_from(signals))  # noqa: E731
    # Each "C" is a constant, each "S" a signal, "I" an index.
    template = draw(st.sampled_from(["C @ S + C", "S @ C", "C * S - S / C", "C @ [x1, x2]", "C @ (C @ S + C)", "C[I] @ S",
                                     "C @ [x1, 0, x2]", "S * C + x1", "(C) @ (S * C)"]))
    pick = {"C": c, "S": s, "I": lambda: str(draw(st.integers(0, 2)))}
    return "".join(pick[char]() if char in pick else char for char in template)


# Constants of known shapes (W: 2x3, b: 2, w: 3, M: 3x2, S: 3x3), each from one of these
# sources, so that most programs fit together (and a few sources that do not, for errors).
_SOURCES = {
    "W": ["[[1, 0.5, -2], [0, 3, 0.1]]", 'load("m23.npy")', "param W[2, 3] = xavier()", "param W[2, 3] = uniform(-1, 1)",
          "2 * [S[0], S[1]]", "-[[1e200, 1, 0], [0, 0, 1e-200]]", "[[1, 2, 3], [4, 5, 6]] / 4", "![[1e308, 1, 1], [1, 1, 1]] * 10"],
    "b": ["[0.5, -1]", "param b[2] = zeros()", "W @ w", "[[0.1, 0.2, 0.3], [1, 2, 3]] @ [0.5, 1, 0.1]", "M @ [1, 0.5] - w", "[1, 2] - [1, 2]", "param b[2] = normal(0, 0.5)", '!load("w3.npy")', "![0, 0] / [1, 0]"],
    "w": ['load("w3.npy")', "W[1]", "[0, 1, 0]", "param w[3] = he()", "-W[0] * 2", 'load("i3.npy")', '!load("nan.npy")', "S[2]"],
    "M": ['load("big.npy")', "[[1, 0], [0, 1], [0.5, 0.5]]", "S @ [[1, 0.5], [0.25, 1], [0, 2]]", "param M[3, 2] = normal(0, 1e307)", 'load("c.csv")', '!load("half.npy")'],
    "S": ['load("fortran.npy")', 'load("m.npz", "W")', "param S[3, 3] = xavier()", "[[1, 0, 0], [0, 0, 1], [0, 1, 0]]",
          "[[1, 1, 0], [0, 0.5, 1], [2, 1, 1]]", "[[0.1, 0.2, 0.3], [1, 0, -1], [0.5, 0.5, 0.5]]",
          '!load("m.npz", "nope")', "!param S[3, 3] = xavier(0.5)"],
}
_LAYERS = ["W @ v + b", "w @ v", "v @ M", "S @ v", "M @ u", "W @ [x1, x2, x1]", "W @ (S @ v) + b", "b * (W @ v)",
           "w * v - v / w", "S[0] @ v + x1", "W @ (v * w)", "M @ [x1, 0] + w", "(W @ S) @ v", "w @ (S @ v)",
           "v / (S @ w)", "(w @ w) * v + x1", "x1 * (b @ b) + u[0]", "u / (W @ M)[0]", "(w @ S @ w) * w @ v"]


@st.composite
def array_programs(draw: st.DrawFn) -> str:
    """A program with constant vectors and matrices, weight files and drawn params. Most fit
    together; some are wrong (shapes that do not fit, overflow, division by zero, files that
    cannot be read): ``netlang check`` must find exactly what a compile finds, either way."""
    statements = ["input x1, x2, v[3], u[2]"]
    for name in ["S", "W", "w", "b", "M"]:  # in an order each source's names come before it
        wrong = draw(st.integers(0, 9)) == 0  # a source marked "!" (a mistake), or any constant
        source = draw(st.sampled_from([s.lstrip("!") for s in _SOURCES[name] if s.startswith("!") == wrong] or [_SOURCES[name][0]]))
        if draw(st.integers(0, 15)) == 0:
            source = draw(_array_constant(["S", "W", "w", "b", "M"][: ["S", "W", "w", "b", "M"].index(name)]))
        if not source.startswith("param "):
            source = f"let {name} = {source}"
        statements.append(source)
    signals = ["v", "u", "x1"]
    for index in range(draw(st.integers(1, 3))):
        name = f"h{index}"
        activation = draw(st.sampled_from(["", "sigmoid", "relu"]))
        value = draw(st.sampled_from(_LAYERS)) if draw(st.integers(0, 5)) else draw(_array_signal_expression(["S", "W", "w", "b", "M"], signals))
        keyword = "node" if value.startswith("w @") or value.startswith("S[0]") else "layer"
        statements.append(f"{keyword} {name} = {activation}({value})" if activation else f"{keyword} {name} = {value}")
        signals.append(name)
    if draw(st.booleans()):
        statements.append(f"train seed = {draw(st.integers(0, 3))}")
    for _ in range(draw(st.integers(0, 2))):
        # Expected values computed from the constants (or not computable: overflow, underflow,
        # division by zero, shapes), flattened whatever their arity.
        sides = [", ".join(draw(_array_constant(["S", "W", "w", "b", "M"])) for _ in range(draw(st.integers(1, 3)))) for _ in range(2)]
        within = f" within {draw(_array_constant(['w', 'b']))}" if draw(st.integers(0, 3)) == 0 else ""
        statements.append(f"expect ({sides[0]}) -> ({sides[1]}){within}")
    return "\n".join(statements) + "\n"


# --- numbers that flow on from sums BLAS may round either way -------------------------------

# Short decimals: their products' sums round differently in different orders (0.1 + 0.2 + 0.3),
# some cancel exactly or nearly (0.3 - 0.1 - 0.2), some are near overflow or underflow.
_DECIMALS = ["0.1", "0.2", "0.3", "-0.3", "0.7", "1.1", "-0.6", "3", "0", "1e-300", "1e300", "1e-160"]
# Definitions that carry such sums on: numbers, elements, products of products, divisors.
_FLOWING_LETS = ["c = p @ q", "c = p @ q - q @ p", "c = (p @ q) * (q @ p)", "c = 1 / (p @ q)", "c = p[0] * (p @ p)",
                 "r = A @ p", "r = (A @ A) @ q", "r = A @ p - A @ q", "r = p / (A @ q)", "r = (A @ p) * c",
                 "B = A @ A", "B = (A @ A) @ A - A", "B = A @ A * c", "B = [A @ p, A @ q, r]"]
_FLOWING_USES = ["node y = c * x1 + x2", "node y = step(c * x1 > c)", "layer h = v / (A @ p)", "layer h = (A @ A) @ v",
                 "node y = p @ (A @ v)", "node y = (p @ q) * x1 - x2 / c", "layer h = v * r + c", "layer h = B @ v + r",
                 "node y = r @ v", "layer h = [c * x1, x2, r[1] * x1]", "layer h = sigmoid(B @ (A @ v) + r)",
                 "node y = r[0] * x1 + r[2] * x2", "layer h = v / r", "node y = B[1] @ v * c"]


@st.composite
def flowing_programs(draw: st.DrawFn) -> str:
    """A program whose constants are sums of decimals that orders of summation may round
    differently (numbers, vectors, matrices, products of products), used as weights, divisors
    and elements: ``netlang check`` carries bounds on them where a compile has numpy's floats."""
    d = lambda: draw(st.sampled_from(_DECIMALS))  # noqa: E731
    vector = lambda: "[" + ", ".join(d() for _ in range(3)) + "]"  # noqa: E731
    statements = ["input x1, x2, v[3]", f"let p = {vector()}", f"let q = {vector()}", f"let A = [{vector()}, {vector()}, {vector()}]"]
    lets = {"c": "c = p @ q", "r": "r = A @ q", "B": "B = A"}
    for _ in range(draw(st.integers(1, 3))):
        let = draw(st.sampled_from(_FLOWING_LETS))
        lets[let.split(" = ")[0]] = let
    order = ["c", "r", "B"]  # each reads only those before it
    statements += [f"let {lets[name]}" for name in order]
    statements += draw(st.lists(st.sampled_from(_FLOWING_USES), min_size=1, max_size=3, unique=True))
    names = {use.split(" = ")[0].split()[-1] for use in statements[7:]}
    if len(names) < len(statements) - 7:  # two uses define one name: keep the first
        seen: set = set()
        kept = []
        for statement in statements:
            name = statement.split(" = ")[0].split()[-1] if statement.startswith(("node", "layer")) else None
            if name is None or name not in seen:
                kept.append(statement)
                seen.add(name)
        statements = kept
    return "\n".join(statements) + "\n"
