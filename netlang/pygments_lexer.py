"""Syntax highlighting (a tool beside the pipeline): a Pygments lexer for .net files, derived from the grammar.

Pygments finds it through the ``pygments.lexers`` entry point (``pip install
'netlang[highlight]'``), so ``pygmentize -l netlang model.net``, Sphinx, MkDocs and
Jupyter colour netlang code. Nothing in netlang imports this module.

Every pattern comes from the grammar's own terminals (``netlang.parser.terminals()``):
comments, numbers, strings, names, keywords, operators and brackets are matched by
the regular expressions the parser uses, so the colours never disagree with the
parser. Activation and built-in function names come from the tables the checker uses.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, List, Tuple

from pygments.lexer import RegexLexer, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from .callables import BUILTINS, PUBLIC_NAMES
from .parser import keywords as keywords_of_grammar
from .parser import terminals

# Terminals that are not keywords, operators or brackets, by the name the grammar gives them.
_SPECIAL = {"COMMENT": Comment.Single, "WS": Whitespace, "_NL": Whitespace, "STRING": String.Double}
# The grammar's NAME refuses keywords with this guard: a keyword is a whole word.
_WHOLE_WORD = r"(?![A-Za-z_0-9])"
_BRACKETS = set("()[],")
# Activations (step, sigmoid, ...) and built-in functions (load) share one colour.
_FUNCTIONS = frozenset(PUBLIC_NAMES) | frozenset(BUILTINS)


def _pattern(terminal: Any) -> str:
    return terminal.pattern.to_regexp()


def _name_callback(lexer: RegexLexer, match: "re.Match[str]") -> Iterator[Tuple[int, Any, str]]:
    word = match.group()
    yield match.start(), Name.Builtin if word in _FUNCTIONS else Name, word


def _number_callback(lexer: RegexLexer, match: "re.Match[str]") -> Iterator[Tuple[int, Any, str]]:
    text = match.group()
    kind = Number.Integer if text.isdigit() else Number.Float
    yield match.start(), kind, text


def _rules() -> List[Tuple[Any, ...]]:
    by_name = {terminal.name: terminal for terminal in terminals()}
    keywords = keywords_of_grammar()
    rules: List[Tuple[Any, ...]] = [(_pattern(by_name[name]), kind) for name, kind in _SPECIAL.items()]
    rules.append((words(keywords, suffix=_WHOLE_WORD), Keyword))
    rules.append((_pattern(by_name["NAME"]), _name_callback))
    # NUMBER also matches every INT (sizes and indices), so INT needs no rule of its own.
    rules.append((_pattern(by_name["NUMBER"]), _number_callback))
    symbols = [
        t
        for t in by_name.values()
        if t.name not in _SPECIAL and t.name not in ("NAME", "NUMBER", "INT") and t.pattern.value not in keywords
    ]
    # Longer fixed strings first ('->' before '-'), then the alternatives ('>=' comes before '>' inside them).
    symbols.sort(key=lambda t: (t.pattern.type != "str", -len(t.pattern.value)))
    for terminal in symbols:
        is_bracket = terminal.pattern.type == "str" and set(terminal.pattern.value) <= _BRACKETS
        rules.append((_pattern(terminal), Punctuation if is_bracket else Operator))
    return rules


class NetlangLexer(RegexLexer):
    """netlang: networks written neuron by neuron or layer by layer (``.net`` files)."""

    name = "netlang"
    aliases = ["netlang"]
    filenames = ["*.net"]
    mimetypes = ["text/x-netlang"]
    url = "https://pypi.org/project/netlang/"

    tokens = {"root": _rules()}

    def analyse_text(text: str) -> float:  # Pygments' metaclass makes it a static method
        # A line that defines a neuron or a layer is a strong sign of netlang.
        if re.search(r"^\s*(?:node|layer)\s+[A-Za-z_]\w*(?:\[\d+\])?\s*=", text, re.MULTILINE):
            return 0.5
        return 0.0
