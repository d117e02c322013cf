"""The fast lexer against Lark's own contextual lexer: the same tokens, positions and errors.

Both parse with the same grammar and post-lexer into full parse trees (every token kept),
so any difference in a token's type, text or position, or in the error raised, shows.
"""

from __future__ import annotations

import random
from typing import Any, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

import netlang
from fuzzing import mutate, seeds
from generators import programs
from netlang import parser
from netlang.lexer import GrammarLexer


class _OneReading:
    """Lark's own post-lexer hook (``postlex=``) for the contextual lexer: the parser's
    post-lexer, over the reading that :func:`_outcome` sets before each parse (this test's
    own state; the parser keeps none: it hands each parse's reading to the lexer)."""

    always_accept = parser._StatementLexer.ALWAYS_ACCEPT

    def __init__(self) -> None:
        self.reading = parser._Reading("")

    def process(self, stream: Any) -> Any:
        return parser._bracketed(stream, self.reading)


_CONTEXTUAL = _OneReading()
_OPTIONS = dict(parser="lalr", start="program", maybe_placeholders=True, keep_all_tokens=True)
FAST = Lark(parser.grammar_text(), lexer=parser._StatementLexer, **_OPTIONS)
LARK = Lark(
    parser.grammar_text(),
    lexer="contextual",
    postlex=_CONTEXTUAL,
    lexer_callbacks={"COMMENT": lambda token: _CONTEXTUAL.reading.comments.append(token) or token},
    **_OPTIONS,
)


def _token(token: Token) -> Tuple[Any, ...]:
    return (token.type, str(token), token.start_pos, token.line, token.column, token.end_line, token.end_column, token.end_pos)


def _shape(value: Any) -> Any:
    if isinstance(value, Tree):
        return (value.data, [_shape(child) for child in value.children])
    if isinstance(value, Token):
        return _token(value)
    return value


def _outcome(lark: Lark, text: str) -> Tuple[Any, ...]:
    """The parse tree and comments, or the error: its kind, place and what it names."""
    reading = parser._Reading(text)
    _CONTEXTUAL.reading = reading
    try:
        tree = lark.parse(reading if lark is FAST else text)
    except UnexpectedInput as error:
        token = getattr(error, "token", None)
        return (
            type(error).__name__,
            error.line,
            error.column,
            _token(token) if token is not None else None,
            sorted(getattr(error, "expected", None) or ()),
            sorted(getattr(error, "allowed", None) or ()),
        )
    except parser._LocatedError as error:
        return ("located", error.error.message, error.error.span)
    return ("tree", _shape(tree), [_token(c) for c in reading.comments])


def assert_same_tokens(text: str) -> None:
    assert _outcome(FAST, text) == _outcome(LARK, text), text


def test_the_seeds_lex_alike():
    for data in seeds():
        assert_same_tokens(data.decode("utf-8", errors="replace"))


def test_mutated_seeds_lex_alike():
    rng = random.Random(7)
    for data in seeds():
        for _ in range(6):
            assert_same_tokens(mutate(data, rng).decode("utf-8", errors="replace"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(with_expect=True))
def test_generated_programs_lex_alike(source):
    assert_same_tokens(source)


# Characters of the language and around it: runs of blanks, both line ends, sizes and
# numbers side by side ('x[3]', '3.5e+2'), operators that share a prefix ('-', '->', '>', '>=').
_PIECES = [" ", "  ", "\t", "\f", "\n", "\r\n", "#c\n", "x", "x1", "input", "node", "layer", "let", "output",
           "expect", "within", "=", "3", "0.5", ".5", "2e-3", "[", "]", "(", ")", ",", "+", "-", "->", "*", "@",
           "/", ">", ">=", "<", "<=", '"w.npy"', "'", "$", "^", "sigmoid", "\u00e9"]


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=30))
def test_random_token_soup_lexes_alike(pieces: List[str]):
    assert_same_tokens("".join(pieces))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "# only a comment",
        "input x\n\n\n   \n",
        "input x[3]\nlayer h[2] = [[1, 2, 3], [4, 5, 6]] @ x\noutput h\n",
        "input x\nnode y = x" + " " * 200 + "$\n",
        "input a\nexpect 1 -> 2 within 0.1\n",
        "node y = a->b\n",
        "input x\r\nnode y = step(x >= 1)\r\noutput y",
    ],
)
def test_edge_cases_lex_alike(text):
    assert_same_tokens(text)


def test_a_long_run_of_blanks_before_a_mistake_takes_linear_time():
    # A regular expression that skips blanks as (?:[ \t]+)* would backtrack exponentially here.
    text = "input x\nnode y = x" + " " * 100_000 + "$\n"
    with pytest.raises(netlang.NetlangError, match="unexpected character"):
        netlang.parse(text)


def test_the_lexer_tries_every_terminal_of_the_grammar():
    lexer = FAST.parser.lexer
    assert isinstance(lexer, GrammarLexer)
    # Each terminal is a named group of the one pattern, or skipped (ignored, unwatched) in front of it.
    assert set(lexer.pattern.groupindex) | set(FAST.lexer_conf.ignore) == {terminal.name for terminal in FAST.terminals}
