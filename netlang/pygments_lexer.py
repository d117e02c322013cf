"""Syntax highlighting (a tool beside the pipeline): a Pygments lexer for .net files, derived from the grammar.

Pygments finds it through the ``pygments.lexers`` entry point (``pip install
'netlang[highlight]'``), so ``pygmentize -l netlang model.net``, Sphinx, MkDocs and
Jupyter colour netlang code. Nothing in netlang imports this module.

Every pattern comes from the grammar's own terminals, sorted into kinds by
``netlang.lexical`` (which the language server and the VS Code grammar use too):
comments, numbers, strings, names, keywords, operators and brackets are matched by
the regular expressions the parser uses, so the colours never disagree with the
parser. Activation and built-in function names come from the tables the checker uses.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, List, Tuple

from pygments.lexer import RegexLexer
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

from .lexical import FUNCTIONS, rules


def _name_callback(lexer: RegexLexer, match: "re.Match[str]") -> Iterator[Tuple[int, Any, str]]:
    word = match.group()
    yield match.start(), Name.Builtin if word in FUNCTIONS else Name, word


def _number_callback(lexer: RegexLexer, match: "re.Match[str]") -> Iterator[Tuple[int, Any, str]]:
    text = match.group()
    kind = Number.Integer if text.isdigit() else Number.Float
    yield match.start(), kind, text


# Each kind of netlang.lexical's table as Pygments' token types.
_TOKENS = {
    "comment": Comment.Single,
    "whitespace": Whitespace,
    "newline": Whitespace,
    "string": String.Double,
    "keyword": Keyword,
    "name": _name_callback,
    "number": _number_callback,
    "operator": Operator,
    "bracket": Punctuation,
}


def _rules() -> List[Tuple[Any, ...]]:
    return [(rule.pattern, _TOKENS[rule.kind]) for rule in rules()]


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
