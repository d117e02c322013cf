"""What people bring from books and other languages, and what netlang offers instead.

Tables only: the parser (characters) and the checker (function names) look a mistake up here
before falling back on their generic hints, so that a near-miss spelling (``max`` is 60 %
like ``softmax``) never suggests something that means another thing.
"""

from __future__ import annotations

from typing import Dict, Optional

# Characters from printed formulas, word processors and other languages.
_TIMES = "multiplication is written '*', and a matrix product '@' (W @ x)"
_MINUS = "write the ASCII minus sign '-' here (word processors and PDFs replace it with a dash or the Unicode minus)"
_QUOTE = 'file names are written in plain double quotes: load("w.npy")'
CHARACTERS: Dict[str, str] = {
    "·": _TIMES,  # MIDDLE DOT, as in w1·x1
    "⋅": _TIMES,  # DOT OPERATOR
    "∙": _TIMES,  # BULLET OPERATOR
    "×": _TIMES,  # MULTIPLICATION SIGN
    "−": _MINUS,  # MINUS SIGN
    "–": _MINUS,  # EN DASH
    "—": _MINUS,  # EM DASH
    "“": _QUOTE,
    "”": _QUOTE,
    "‘": _QUOTE,
    "’": _QUOTE,
    "≥": "comparisons are written >, >=, < or <= (>= for ≥)",
    "≤": "comparisons are written >, >=, < or <= (<= for ≤)",
    "θ": "names use the letters A-Z and a-z, digits and '_': write theta for θ",
    ";": "a statement ends at the end of its line: remove the ';'",
    "%": "there is no remainder operator: a neuron's input is a weighted sum of its signals",
    "{": "vectors and matrices are written in square brackets: [1, 2], [[1, 2], [3, 4]]",
    "±": "a tolerance is written with 'within': expect (1, 1) -> 2 within 0.1",
}

POWER = (
    "there is no power operator: a neuron's input is a weighted sum, so a signal cannot be "
    "raised to a power (write a constant's power out: 2*2)"
)
LOGIC = (
    "netlang has no logic operators: neurons compute them, as in examples/and.net: "
    "node y = step(0.5*x1 + 0.5*x2 > 0.7)"
)
LOGIC_WORDS = frozenset({"and", "or", "not", "xor", "AND", "OR", "NOT", "XOR"})
TRANSPOSE = (
    "there is no transpose: x @ W multiplies by W with rows and columns swapped "
    "(the row-vector convention), W @ x as it is"
)
ATTRIBUTE = (
    "netlang has no modules or attributes: write the function's own name (relu, sigmoid, ...), "
    "and a constant's name alone"
)
EQUALITY = "a neuron cannot test equality: comparisons are written >, >=, < or <="
CONTINUATION = "a statement continues over lines inside brackets, without '\\': wrap it in ( )"
COMMENT = "comments start with '#': node y = x1  # a comment"

_MAX = (
    "netlang has no max(); a neuron computes an activation of a weighted sum, and relu gives "
    "the larger of two signals: node d = relu(x2 - x1), then node m = x1 + d"
)
_MIN = (
    "netlang has no min(); relu gives the smaller of two signals: "
    "node d = relu(x1 - x2), then node m = x1 - d"
)
_ABS = "netlang has no abs(); |x| is relu(x) + relu(-x): two relu nodes, then their sum"
_PRODUCT = "a matrix or dot product is written with '@': W @ x"
_STEP = "the threshold function is step: step(x > 0.5), or step(x) for step(x > 0)"
_SIGMOID = "the logistic function is sigmoid: sigmoid(W @ x + b)"
_SOFTMAX_ONLY = (
    "netlang has no {name}(): a neuron's input is a weighted sum of signals, and exp appears "
    "only inside the activations sigmoid, tanh and softmax"
)

# Functions from numpy, PyTorch, Keras and the books, each with what to write instead.
FUNCTIONS: Dict[str, str] = {
    "max": _MAX,
    "maximum": _MAX,
    "min": _MIN,
    "minimum": _MIN,
    "abs": _ABS,
    "dot": _PRODUCT,
    "matmul": _PRODUCT,
    "mm": _PRODUCT,
    "heaviside": _STEP,
    "sign": _STEP,
    "sgn": _STEP,
    "hardlim": _STEP,
    "threshold": _STEP,
    "logistic": _SIGMOID,
    "expit": _SIGMOID,
    "sigma": _SIGMOID,
    "exp": _SOFTMAX_ONLY.format(name="exp"),
    "log": _SOFTMAX_ONLY.format(name="log"),
    "sqrt": _SOFTMAX_ONLY.format(name="sqrt"),
    "pow": POWER,
    "sum": "a sum is written with '+' (x1 + x2 + x3), or as a product with a vector of ones: [1, 1, 1] @ x",
    "argmax": "netlang has no argmax(); softmax gives each output's share, and the largest output is the answer",
}


def function_hint(name: str) -> Optional[str]:
    """What to write instead of a function netlang does not have, if it is a known one."""
    return FUNCTIONS.get(name) or FUNCTIONS.get(name.lower())


def character_hint(char: str) -> Optional[str]:
    """What to write instead of a character netlang does not read, if it is a known one."""
    return CHARACTERS.get(char)
