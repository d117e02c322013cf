"""The parser (pipeline: read -> **parse** -> check -> lower -> run): .net source text to the syntax tree of netlang.nodes, with located syntax errors.

The grammar (grammar/netlang.lark, shipped in the package) is compiled once, lazily,
into a Lark LALR(1) parser that builds AST nodes directly while it parses (no parse
tree: that is the fastest way Lark offers, see docs/design.md).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Tuple, cast

from lark import Lark, Token, Transformer
from lark.lexer import LexerState, LineCounter
from lark.utils import TextSlice
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import hints, limits
from .errors import NetlangError, combine, did_you_mean
from .lexer import GrammarLexer
from .nodes import (
    Call,
    Comment,
    Compare,
    Expect,
    Index,
    Input,
    InputVar,
    Layer,
    Let,
    Name,
    Node,
    Number,
    Output,
    Param,
    Product,
    Setting,
    Program,
    Span,
    String,
    Sum,
    Train,
    UnaryOp,
    Vector,
    moved_down,
)

_OPENERS = {"LPAR": "(", "LSQB": "["}
_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB"}


def grammar_text() -> str:
    """The grammar's text: from the installed package, or from the source tree."""
    packaged = resources.files("netlang") / "grammar" / "netlang.lark"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "grammar" / "netlang.lark").read_text(encoding="utf-8")


# The parse makes a Span for nearly every token, and a node for most: the frozen dataclasses'
# __init__ (one object.__setattr__ per field) was a tenth of the time of a large parse. These
# make the same objects by setting their slots directly (frozen only guards __setattr__).
_new = object.__new__
_SPAN_SLOTS = tuple(Span.__dict__[field].__set__ for field in ("line", "column", "end_line", "end_column"))


def _make_span(line: int, column: int, end_line: int, end_column: int) -> Span:
    """``Span(line, column, end_line, end_column)``, built faster."""
    set_line, set_column, set_end_line, set_end_column = _SPAN_SLOTS
    span = _new(Span)
    set_line(span, line)
    set_column(span, column)
    set_end_line(span, end_line)
    set_end_column(span, end_column)
    return span


def _joined(first: Span, last: Span) -> Span:
    """``first.to(last)``, built faster."""
    return _make_span(first.line, first.column, last.end_line, last.end_column)


def _span(token: Token) -> Span:
    # Lark types the positions Optional; the lexer always sets them.
    return _make_span(token.line, token.column, token.end_line, token.end_column)  # type: ignore[arg-type]


_NAME_SLOTS = (Name.__dict__["id"].__set__, Name.__dict__["span"].__set__)
_NUMBER_SLOTS = tuple(Number.__dict__[field].__set__ for field in ("value", "text", "span"))
_PRODUCT_SLOTS = tuple(Product.__dict__[field].__set__ for field in ("operands", "ops", "span"))
_SUM_SLOTS = tuple(Sum.__dict__[field].__set__ for field in ("operands", "ops", "span"))


def _make_operation(cls: type, slots: Tuple[Any, ...], operands: Tuple[Any, ...], ops: Tuple[str, ...]) -> Any:
    """``cls(operands, ops, span)`` for Sum and Product, built faster."""
    set_operands, set_ops, set_span = slots
    node: Any = _new(cls)
    set_operands(node, operands)
    set_ops(node, ops)
    set_span(node, _joined(operands[0].span, operands[-1].span))
    return node


class _LocatedError(Exception):
    """Raised from inside the parse (post-lexer, tree builder) with a ready NetlangError."""

    def __init__(self, error: NetlangError) -> None:
        super().__init__(error.message)
        self.error = error


class _Reading:
    """One parse's state: the text, and what the lexer and post-lexer found in it so far.

    ``Lark.parse`` is given the reading itself (Lark hands whatever it was given to a custom
    lexer, :class:`_StatementLexer`), and the error wording reads it afterwards, so that
    nothing about a parse lives outside its call: parses in several threads, or one inside
    another, never see each other's brackets or comments.
    """

    __slots__ = ("text", "comments", "open_brackets", "keyword")

    def __init__(self, text: str) -> None:
        self.text = text
        self.comments: List[Token] = []
        # The brackets open where the parse stopped, innermost last.
        self.open_brackets: List[Token] = []
        # The terminal that starts the statement being read (a keyword, or what stands there).
        self.keyword: Optional[str] = None

    def __repr__(self) -> str:
        return f"_Reading({len(self.text)} characters, {len(self.comments)} comments, keyword={self.keyword!r})"


class _StatementLexer(GrammarLexer):
    """The grammar's tokens of a :class:`_Reading`, through :func:`_bracketed`; comments go to the reading."""

    ALWAYS_ACCEPT = ("_NL",)  # read even inside brackets, where the parser takes none, then dropped
    WATCHED = ("COMMENT",)

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        reading = lexer_state.text
        if not isinstance(reading, _Reading):  # pragma: no cover - parse() only ever passes one
            raise TypeError(f"the parser reads a _Reading, not {type(reading).__name__}")
        # Lark makes no line counter for a custom input: the lexer takes the text from here.
        lexer_state.text = TextSlice(reading.text, 0, len(reading.text))
        lexer_state.line_ctr = LineCounter("\n")
        return _bracketed(self.tokens(lexer_state, parser_state, reading.comments), reading)


def _bracketed(stream: Iterator[Token], reading: _Reading) -> Iterator[Token]:
    """The tokens with newlines inside brackets dropped (so statements continue over lines),
    nesting limited, and the open brackets and the statement's keyword kept in ``reading``.

    Nesting is counted as the syntax tree will be deep: each open bracket, plus each
    unary sign in front of it, since ``-(-(-(x)))`` nests as deeply as ``(((x)))``.
    """
    open_brackets = reading.open_brackets
    # The nesting depth at each open bracket, so a closer restores the depth outside it.
    depths: List[int] = []
    # Commas so far in each open bracket: a huge literal vector is refused while it is read,
    # before the syntax tree holds millions of nodes (the checker counts exactly, later).
    counts: List[int] = []
    depth = 0
    signs = 0
    operator = False  # whether the last '+' or '-' was an operator (rather than a sign)
    previous_type = "_NL"
    previous: Optional[Token] = None
    for token in stream:
        kind = token.type
        if kind in _PLAIN and previous_type not in _LOOK_BEHIND:
            # Most tokens (names, numbers, '*'): nothing to count. The same as below.
            signs = 0
            previous_type = kind
            yield token
            continue
        if previous_type == "_NL" and kind != "_NL":
            reading.keyword = kind
        elif previous_type in _STATEMENT_START and kind in _WORDS and previous is not None and _glued(_span(previous), _span(token)):
            # 'inputs x1' reads as the keyword 'input' and the name 's': one word was meant.
            raise _LocatedError(_not_a_statement(str(previous) + str(token), _span(previous).to(_span(token))))
        elif kind == "ADD_OP" and previous_type == "ADD_OP" and operator and reading.keyword == "EXPECT" and previous is not None and previous.type == "ADD_OP" and previous.value != token.value and _glued(_span(previous), _span(token)):
            # 'expect (2) -> 2 +- 0.1' reads as 2 + (-0.1), an output of 1.9: a tolerance was meant.
            # ('operator': the '+' stood after an operand, so it is no sign itself, as in '2*-+1'.)
            mistake = _plus_minus(previous, token, reading.text)
            if mistake is not None:
                raise _LocatedError(mistake)
        previous = token
        if kind == "_NL":
            if open_brackets:
                continue
        elif kind in _OPENERS:
            open_brackets.append(token)
            depths.append(depth)
            counts.append(0)
            depth += signs + 1
            if depth > limits.MAX_NESTING:
                raise _LocatedError(
                    NetlangError(
                        f"the expression is nested {depth} deep here (brackets and signs); "
                        f"the limit is {limits.MAX_NESTING}",
                        _span(token),
                        hint="give parts of the expression names with 'let' or 'node'",
                        code="too-deep",
                    )
                )
        elif kind in _CLOSERS:
            if open_brackets and open_brackets[-1].type == _CLOSERS[kind]:
                open_brackets.pop()
                depth = depths.pop()
                counts.pop()
        elif kind == "COMMA" and counts:
            counts[-1] += 1
            if counts[-1] > limits.MAX_VECTOR_SIZE:
                raise _LocatedError(
                    NetlangError(
                        f"this list has more than {limits.MAX_VECTOR_SIZE} elements; "
                        f"the limit is {limits.MAX_VECTOR_SIZE}",
                        _span(open_brackets[-1]),
                        hint="load large weights from a file: load(\"w.npy\")",
                        code="limit-exceeded",
                    )
                )
        elif kind == "ADD_OP" and previous_type in _SIGN_CONTEXT:
            signs += 1
            if signs > limits.MAX_SIGNS_IN_A_ROW:
                raise _LocatedError(
                    NetlangError(
                        f"more than {limits.MAX_SIGNS_IN_A_ROW} signs in a row",
                        _span(token),
                        hint="each pair of '-' cancels out: write the sign once",
                        code="too-deep",
                    )
                )
        if kind != "ADD_OP":
            signs = 0
        else:
            operator = previous_type in _OPERAND_ENDS
        previous_type = kind
        yield token


# Tokens the post-lexer only passes on (it counts brackets, commas, signs and newlines).
_PLAIN = frozenset({"NAME", "NUMBER", "MUL_OP", "INT", "STRING", "COMPARE", "EQUAL", "ARROW"})
# The terminals that start a statement: the grammar names each keyword in capitals.
_STATEMENT_START = frozenset({"INPUT", "LET", "NODE", "LAYER", "OUTPUT", "EXPECT", "PARAM", "TRAIN"})
# After these, the post-lexer looks at the next token too (where a statement starts).
_LOOK_BEHIND = _STATEMENT_START | {"_NL"}
_WORDS = frozenset({"NAME", "NUMBER", "INT"})


def _glued(first: Span, second: Span) -> bool:
    """Whether ``second`` starts where ``first`` ends, with no blank between them."""
    return first.end_line == second.line and first.end_column == second.column
# Where a '+' or '-' is a unary sign rather than an operator.
_SIGN_CONTEXT = frozenset({"ADD_OP", "MUL_OP", "COMPARE", "LPAR", "LSQB", "COMMA", "EQUAL"})


class _AstBuilder(Transformer):
    """Builds netlang.nodes objects as Lark reduces each rule (used as ``transformer=``)."""

    def program(self, children: List[Any]) -> Program:
        return Program(tuple(children))

    def input(self, children: List[Any]) -> Input:
        keyword, *vars_ = children
        return Input(tuple(vars_), _span(keyword).to(vars_[-1].span))

    def input_var(self, children: List[Any]) -> InputVar:
        name = children[0]
        if len(children) == 1:
            return InputVar(str(name), None, _span(name))
        size = children[1]
        return InputVar(str(name), _whole_number(size), Span(name.line, name.column, size.end_line, size.end_column + 1))

    def let(self, children: List[Any]) -> Let:
        keyword, name, value = children
        return Let(str(name), value, _span(name), _joined(_span(keyword), value.span))

    def node(self, children: List[Any]) -> Node:
        learned = children[0].type == "PARAM"
        keyword, name, value = children[-3:]
        return Node(str(name), value, _span(name), _joined(_span(children[0]), value.span), learned)

    def layer(self, children: List[Any]) -> Layer:
        learned = children[0].type == "PARAM"
        first = children[0]
        if learned:
            children = children[1:]
        if len(children) == 4:
            keyword, name, size, value = children
            size_value: Optional[int] = _whole_number(size)
        else:
            keyword, name, value = children
            size_value = None
        return Layer(str(name), size_value, value, _span(name), _span(first).to(value.span), learned)

    def param(self, children: List[Any]) -> Param:
        keyword, name, *sizes, value = children
        shape = tuple(_whole_number(size) for size in sizes if size.type == "INT") if sizes else None
        return Param(str(name), shape, value, _span(name), _joined(_span(keyword), value.span))

    def train(self, children: List[Any]) -> Train:
        keyword, *settings = children
        return Train(tuple(settings), _joined(_span(keyword), settings[-1].span))

    def setting(self, children: List[Any]) -> Setting:
        name, value = children
        return Setting(str(name), value, _joined(_span(name), value.span))

    def output(self, children: List[Any]) -> Output:
        keyword, *names = children
        return Output(tuple(names), _span(keyword).to(names[-1].span))

    def values(self, children: List[Any]) -> Tuple[Any, ...]:
        return tuple(children)

    def expect(self, children: List[Any]) -> Expect:
        keyword, inputs, _arrow, outputs, *rest = children
        tolerance = rest[1] if rest else None
        last = (tolerance or outputs[-1]).span
        return Expect(inputs, outputs, tolerance, _span(keyword).to(last))

    def compare(self, children: List[Any]) -> Compare:
        left, op, right = children
        return Compare(str(op), left, right, left.span.to(right.span))

    def sum(self, children: List[Any]) -> Sum:
        operands, ops = _flat_chain(Sum, children)
        return cast(Sum, _make_operation(Sum, _SUM_SLOTS, operands, ops))

    def product(self, children: List[Any]) -> Product:
        if len(children) == 3 and type(children[0]) is not Product:  # most products: a weight times a signal
            left, op, right = children
            return cast(Product, _make_operation(Product, _PRODUCT_SLOTS, (left, right), (op.value,)))
        operands, ops = _flat_chain(Product, children)
        return cast(Product, _make_operation(Product, _PRODUCT_SLOTS, operands, ops))

    def unary(self, children: List[Any]) -> UnaryOp:
        op, operand = children
        return UnaryOp(str(op), operand, _joined(_span(op), operand.span))

    def number(self, children: List[Any]) -> Number:
        (token,) = children
        set_value, set_text, set_span = _NUMBER_SLOTS
        number = _new(Number)
        text = token.value  # the matched text itself (str(token) would copy it)
        set_value(number, float(text))
        set_text(number, text)
        set_span(number, _make_span(token.line, token.column, token.end_line, token.end_column))
        return number

    def string(self, children: List[Any]) -> String:
        (token,) = children
        return String(str(token)[1:-1], _span(token))

    def name(self, children: List[Any]) -> Name:
        (token,) = children
        set_id, set_span = _NAME_SLOTS
        name = _new(Name)
        set_id(name, token.value)
        set_span(name, _make_span(token.line, token.column, token.end_line, token.end_column))
        return name

    def index(self, children: List[Any]) -> Index:
        name, position, close = children
        return Index(str(name), _whole_number(position), _span(name).to(_span(close)))

    def call(self, children: List[Any]) -> Call:
        func, *args, close = children
        function = self.name([func])
        return Call(function, tuple(arg for arg in args if arg is not None), _joined(function.span, _span(close)))

    def vector(self, children: List[Any]) -> Vector:
        open_, *items, close = children
        return Vector(tuple(item for item in items if item is not None), _span(open_).to(_span(close)))


def _flat_chain(kind: type, children: List[Any]) -> Tuple[Tuple[Any, ...], Tuple[str, ...]]:
    """Operands and operators of a chain; a parenthesized chain of the same kind in first place
    joins it, because the chains are left-associative: ``(a + b) + c`` is ``a + b + c``."""
    operands = list(children[0::2])
    ops = [op.value for op in children[1::2]]
    first = operands[0]
    if isinstance(first, kind):
        operands[:1] = first.operands  # type: ignore[attr-defined]
        ops[:0] = first.ops  # type: ignore[attr-defined]
    return tuple(operands), tuple(ops)


def _whole_number(token: Token) -> int:
    if len(token) > limits.MAX_INT_DIGITS:
        raise _LocatedError(
            NetlangError(
                f"whole number with {len(token)} digits is too large",
                _span(token),
                hint=f"sizes may have at most {limits.MAX_INT_DIGITS} digits",
                code="number-too-large",
            )
        )
    return int(token)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The garbage collector off for the block: parsing and checking make many objects and no
    cycles, and collections triggered by those allocations made large parses 1.3-2x slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer=_StatementLexer,  # the contextual lexer's tokens, found faster, then post-lexed
        start="program",
        transformer=_AstBuilder(),
        maybe_placeholders=True,
    )


def parse(source: str, filename: str = "<string>") -> Program:
    """Parse netlang source text into a :class:`~netlang.nodes.Program`.

    Raises :class:`~netlang.NetlangError` carrying every syntax error in the text.
    """
    program, errors, _ = parse_recovering(source, filename)
    if errors:
        raise combine(errors) from None
    return program


def parse_recovering(source: str, filename: str = "<string>") -> Tuple[Program, List[NetlangError], FrozenSet[str]]:
    """Parse, and on syntax errors, keep what can be kept: ``(program, errors, unparsed)``.

    Text without syntax errors gives its whole program and no errors. Text with some gives
    the statements that parse, each in its place in the file, with their comments; every
    syntax error (one per statement, up to ``limits.MAX_ERRORS``); and the names that the statements with errors
    may define (every name before their ``=``), so that a checker blames nothing for reading
    them (``pipeline.check`` does so). Only a file over the size limit raises.
    """
    _refuse_too_large(source, filename)
    with gc_paused():
        program, errors, unparsed, _ = _whole_or_by_statements(source, filename, split=False)
    return program, errors, unparsed


def _whole_or_by_statements(source: str, filename: str, split: bool) -> Tuple[Program, List[NetlangError], FrozenSet[str], "_Chunks"]:
    """:func:`parse_recovering`'s result, and (``split``) the source's chunks for :class:`IncrementalParser`."""
    reading = _Reading(source)
    try:
        parsed = cast(Program, _lark().parse(reading))  # the transformer builds the Program
    except (UnexpectedInput, _LocatedError) as first:
        partial, errors, unparsed, chunks = _by_statements(source, filename, {})
        if not errors:  # not found so far: every statement parses on its own, the whole does not
            error = _translate(first, reading)
            error.filename, error.source = filename, source
            errors = [error]
        return partial, errors, unparsed, chunks
    program = Program(parsed.statements, filename, _comments(reading), source)
    return program, [], frozenset(), _chunks_of(program) if split else {}


def _refuse_too_large(source: str, filename: str) -> None:
    if len(source) > limits.MAX_SOURCE_BYTES:
        raise NetlangError(
            f"the source is {len(source)} characters long; the limit is {limits.MAX_SOURCE_BYTES}",
            filename=filename,
            code="file-too-large",
        )


def _comments(reading: _Reading) -> Tuple[Comment, ...]:
    return tuple(Comment(str(token), _span(token)) for token in reading.comments)


# --- syntax errors -------------------------------------------------------------

# How a terminal is named in a message.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "INT": "a whole number",
    "STRING": 'a file name in double quotes',
    "COMPARE": "a comparison (>, >=, <, <=)",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '@'",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}
_EXPRESSION_START = {"NAME", "NUMBER", "LPAR"}
_STATEMENT_FORMS = "input, let, param, node, layer, output, expect or train"


def _terminal_words(kind: str) -> str:
    if kind in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[kind]
    for terminal in _lark().terminals:
        if terminal.name == kind and terminal.pattern.type == "str":
            return f"'{terminal.pattern.value}'"
    return kind.lower()


def _expected_words(expected: set, reading: _Reading) -> str:
    expected = set(expected)
    # LALR merges states, so its expected set can name closers that are not open here.
    open_brackets = reading.open_brackets
    innermost = open_brackets[-1].type if open_brackets else None
    if innermost != "LPAR":
        expected.discard("RPAR")
    if innermost != "LSQB":
        expected.discard("RSQB")
    if innermost is not None:
        expected.discard("_NL")
    elif reading.keyword not in ("INPUT", "OUTPUT"):
        expected.discard("COMMA")  # a list of names is the only place for a ',' outside brackets
    if "_NL" in expected:
        expected.discard("$END")  # the end of the line says it; the file may end there too
    if reading.keyword != "EXPECT" or innermost is not None:
        # The lexer's allowed set (for an unexpected character) is as wide as the merged
        # LALR states: '->' and 'within' are only possible at the top of an expect.
        expected -= {"ARROW", "WITHIN"}
    words = []
    if {"ADD_OP", "MUL_OP"} <= expected:
        expected -= {"ADD_OP", "MUL_OP", "COMPARE"}
        words.append("an operator (+ - * / @ > < ...)")
    if _EXPRESSION_START <= expected:
        expected -= _EXPRESSION_START | {"LSQB", "STRING", "ADD_OP"}
        words.append("an expression")
    if _STATEMENT_START <= expected:
        expected -= _STATEMENT_START
        words.append(f"a statement ({_STATEMENT_FORMS})")
    words += sorted(_terminal_words(kind) for kind in expected)
    if len(words) > 1:
        return ", ".join(words[:-1]) + " or " + words[-1]
    return words[0] if words else "nothing more"


def _found_words(token: Token) -> str:
    kind = token.type
    if kind == "_NL":
        return "end of line"
    if kind == "$END":
        return "end of file"
    if kind == "NAME":
        return f"name '{token}'"
    if kind in ("NUMBER", "INT"):
        return f"number {token}"
    if kind in _STATEMENT_START:
        return f"keyword '{token}'"
    return f"'{token}'"


def _translate(error: Exception, reading: _Reading) -> NetlangError:
    """A Lark exception (or one of ours) raised while parsing ``reading``, as a NetlangError in plain words."""
    if isinstance(error, _LocatedError):
        result = error.error
    elif isinstance(error, UnexpectedToken):
        result = _unexpected_token(error, reading)
    elif isinstance(error, UnexpectedCharacters):
        result = _unexpected_character(error, reading)
    else:  # pragma: no cover - Lark raises only the two above from LALR parsing
        result = NetlangError(str(error), code="syntax-error")
    return result


def _unexpected_token(error: UnexpectedToken, reading: _Reading) -> NetlangError:
    token = error.token
    # `accepts` tries each terminal in the parser's real state; `expected` is the LALR
    # table's row, which merged states make too wide (it offers '->' inside a node).
    expected = set(error.accepts or error.expected)
    if token.type == "$END":
        span = Span(token.end_line, token.end_column, token.end_line, token.end_column + 1)
    else:
        span = _span(token)
    open_brackets = reading.open_brackets
    if open_brackets and (token.type in _STATEMENT_START or token.type in ("$END", "_NL")):
        bracket = open_brackets[-1]
        closer = ")" if bracket.type == "LPAR" else "]"
        return NetlangError(
            f"'{bracket}' is never closed",
            _span(bracket),
            hint=f"add '{closer}' where the expression ends",
            code="syntax-error",
        )
    if token.type in _CLOSERS and not open_brackets:
        return NetlangError(
            f"'{token}' closes a bracket that was never opened",
            span,
            hint="remove it, or add the opening bracket where the group starts",
            code="syntax-error",
        )
    if token.type in _STATEMENT_START and "NAME" in expected:
        return NetlangError(
            f"'{token}' is a keyword and cannot be used as a name",
            span,
            hint=f"choose another name, such as {token}1",
            code="syntax-error",
        )
    if token.type == "NAME" and expected <= _STATEMENT_START | {"_NL", "$END"}:
        return _not_a_statement(str(token), span)
    message = f"unexpected {_found_words(token)}; expected {_expected_words(expected, reading)}"
    hint = _token_hint(error, expected, reading)
    if hint is None and token.type in ("_NL", "$END") and _EXPRESSION_START <= expected:
        message = f"the expression is incomplete: expected {_expected_words(expected, reading)} before {_found_words(token)}"
    return NetlangError(message, span, hint=hint, code="syntax-error")


def _not_a_statement(word: str, span: Span) -> NetlangError:
    """A line that starts with a word that is no keyword: ``nod y = 1``, ``inputs x1, x2``."""
    hint = did_you_mean(word, keywords()) or f"to define a neuron, write: node {word} = ..."
    message = f"unexpected name '{word}': a line starts with {_STATEMENT_FORMS}"
    return NetlangError(message, span, hint=hint, code="syntax-error")


def _token_hint(error: UnexpectedToken, expected: set, reading: _Reading) -> Optional[str]:
    """How to fix the statement, from what came before the unexpected token and where it is."""
    token = error.token
    keyword = reading.keyword
    open_brackets = reading.open_brackets
    if token.type in ("EQUAL", "COMPARE") and keyword == "EXPECT" and "ARROW" in expected:
        return "write '->' between the input values and the outputs: expect (0, 1) -> 1"
    if token.type == "EQUAL" and "COMPARE" in expected:
        return "comparisons are written >, >=, < or <=; '=' only defines a name"
    if token.type == "COMMA" and keyword == "EXPECT" and not open_brackets:
        return _expect_hint(token, reading.text)
    if token.type == "COMMA" and not open_brackets and keyword in ("LET", "NODE", "LAYER"):
        decimal = _decimal_comma(token, reading.text)
        if decimal is not None:
            return f"numbers are written with a decimal point: {decimal}"
        return "a ',' separates values inside brackets only: a vector is written [x1, x2]"
    previous = _previous(error)
    if previous is None:
        return None
    if token.type == "LSQB" and previous.kind == "RSQB" and open_brackets and open_brackets[-1].type == "LSQB":
        return "separate the rows of a matrix with ',': [[1, 2], [3, 4]]"
    if "INT" in expected and token.type != "INT" and previous.kind == "LSQB":
        return "an index is a whole number, x[0]; a function is called with parentheses: sigmoid(...)"
    if token.type == "NUMBER" and previous.kind == "INT" and "RSQB" in expected:
        return "an index or a size is a whole number: x[0], input x[3]"
    if token.type in ("NAME", "NUMBER") and previous.kind in _OPERAND_ENDS:
        word = previous.kind in ("NAME", "NUMBER")
        if "EQUAL" in expected and keyword in ("LET", "NODE", "LAYER"):
            return f"write '=' between the name and its value: {keyword.lower()} {previous.text} = {_rest_of_line(token, reading.text)}"
        if keyword in ("INPUT", "OUTPUT") and not open_brackets:
            kind = "inputs" if keyword == "INPUT" else "outputs"
            example = f": {keyword.lower()} {previous.text}, {token}" if word else ""
            return f"separate the {kind} with ','{example}"
        if open_brackets and open_brackets[-1].type == "LSQB":
            return "separate the elements of a vector with ','"
        if keyword == "EXPECT" and not open_brackets:
            return _expect_hint(token, reading.text)
        if str(token) in hints.LOGIC_WORDS:
            return hints.LOGIC
        if not word:
            return f"an operator is missing before {token}: '*' multiplies, '+' adds"
        if _glued(previous.span, _span(token)) and previous.text == "0" and str(token)[:1].lower() in ("x", "b", "o"):
            return _radix_hint("0" + str(token))
        if previous.kind == "NUMBER":
            return f"write multiplication with '*', as in {previous.text}*{token}"
        return (
            f"an operator is missing between {previous.text} and {token}: "
            f"{previous.text}*{token} multiplies, {previous.text} + {token} adds"
        )
    if token.type == "MUL_OP" and previous.kind == "MUL_OP" and _glued(previous.span, _span(token)):
        if previous.text == str(token) == "*":
            return hints.POWER
        if previous.text == str(token) == "/":
            return hints.COMMENT
    return None


# What an operand can end with: a name, a number, or a closing bracket.
_OPERAND_ENDS = frozenset({"NAME", "NUMBER", "RPAR", "RSQB"})


def _in_parentheses(side: str) -> str:
    """``1, 1`` or ``1 1`` as ``(1, 1)``; one value, or values already in parentheses, as they are."""
    side = side.strip()
    values = [value.strip() for value in side.split(",")] if "," in side else side.split()
    if side.startswith("(") or len(values) < 2:
        return side
    return "(" + ", ".join(values) + ")"


def _decimal_comma(token: Token, text: str) -> Optional[str]:
    """``0,5`` (a decimal comma) as ``0.5``, when the comma at ``token`` (in ``text``) sits between digits."""
    position = token.start_pos or 0
    digits_before = re.search(r"[0-9]+$", text[max(0, position - 40) : position])
    digits_after = re.match(r"[0-9]+", text[position + 1 : position + 41])
    if digits_before is None or digits_after is None:
        return None
    return f"{digits_before.group()}.{digits_after.group()}"


def _expect_hint(token: Token, text: str) -> str:
    """``expect 1, 1 -> 1``: the values go in parentheses; the line of ``text`` rewritten so, when it is short."""
    advice = "several values go in parentheses, separated by ','"
    start = text.rfind("\n", 0, token.start_pos or 0) + 1
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)].split("#", 1)[0].strip()
    keyword, _, rest = line.partition(" ")
    inputs, arrow, outputs = rest.partition("->")
    if keyword != "expect" or not arrow or len(line) > 60:
        return f"{advice}: expect (0, 1) -> 1"
    outputs, within, tolerance = outputs.partition(" within ")
    sides = [_in_parentheses(side) for side in (inputs, outputs)]
    return f"{advice}: expect {sides[0]} -> {sides[1]}{within}{tolerance.rstrip()}"


def _plus_minus(first: Token, second: Token, text: str) -> Optional[NetlangError]:
    """``+-`` (or ``-+``) glued in an expect statement, before a number or a name (in ``text``):
    ``2 +- 0.1`` is ``2 + (-0.1)``, never a tolerance. None when another sign or a bracket follows."""
    signs = f"{first}{second}"
    start, end = first.start_pos or 0, second.end_pos or 0
    after = re.match(r"[\t ]*(" + _OPERAND + ")", text[end : end + 40])
    if after is None:
        return None
    before = re.search(_OPERAND + r"(?=[\t ]*$)", text[max(0, start - 40) : start])
    right = after.group(1)
    if before is None:  # after a bracket: '(1 + x) +- 0.1'
        message = f"'{signs}' is not a tolerance: it reads as '{first}' and then the sign '{second}'"
        left = "2"
    else:
        left = before.group()
        message = f"'{signs}' is not a tolerance: {left} {signs} {right} reads as {left} {first} ({second}{right})"
    hint = f"a tolerance is written with 'within' after the outputs: expect ... -> {left} within {right}"
    return NetlangError(message, _span(first).to(_span(second)), hint=hint, code="plus-minus")


# A number or a name, as written on either side of a glued '+-'.
_OPERAND = r"(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[A-Za-z_][A-Za-z_0-9]*)"


def _radix_hint(text: str) -> str:
    """``0x10`` reads as the number 0 and the name x10: numbers are decimal only."""
    try:
        return f"numbers are written in decimal: {text} is {int(text, 0)}"
    except ValueError:
        return "numbers are written in decimal"


class _Previous(NamedTuple):
    """What came just before an unexpected token: a token, or the number or name it became."""

    kind: str
    text: str
    span: Span


def _previous(error: UnexpectedToken) -> Optional[_Previous]:
    try:
        value = error.interactive_parser.parser_state.value_stack[-1]
    except (AttributeError, IndexError):
        return None
    if isinstance(value, Token):
        return _Previous(value.type, str(value), _span(value))
    if isinstance(value, Number):
        return _Previous("NUMBER", value.text, value.span)
    if isinstance(value, Name):
        return _Previous("NAME", value.id, value.span)
    return None


def _rest_of_line(token: Token, text: str) -> str:
    """The ``text`` from ``token`` to the end of its line (cut short), for a hint that repeats it."""
    start = token.start_pos or 0
    end = text.find("\n", start)
    rest = text[start : end if end >= 0 else len(text)].rstrip()
    cut = 40
    return rest if len(rest) <= cut else rest[:cut] + "..."


def _unexpected_character(error: UnexpectedCharacters, reading: _Reading) -> NetlangError:
    char = error.char
    span = Span(error.line, error.column, error.line, error.column + 1)
    if char == '"':
        message = "this string is never closed"
        return NetlangError(message, span, hint='close it with " on the same line', code="syntax-error")
    hint = _character_hint(char, reading.text, error.pos_in_stream or 0)
    expected = _expected_words(set(error.allowed or ()), reading)
    return NetlangError(
        f"unexpected character {char!r}; expected {expected}", span, hint=hint, code="syntax-error"
    )


def _character_hint(char: str, text: str, position: int) -> Optional[str]:
    """What to write instead of ``char``, found at ``position`` of ``text``."""
    before = text[max(0, position - 40) : position]
    word = re.search(r"[A-Za-z_][A-Za-z_0-9]*$", before)
    after = text[position + 1 : position + 2]
    glued = bool(before) and (before[-1].isalnum() or before[-1] in "_)]")
    if char == "." and word is not None:
        if after == "T" or after == "t":
            return hints.TRANSPOSE
        return hints.ATTRIBUTE
    if char == "'" and glued:
        return hints.TRANSPOSE
    if char == ":" and word is not None and word.group() in keywords():
        return f"no ':' after the keyword: {word.group()} ..."
    if char == "!" and after == "=":
        return hints.EQUALITY
    if char == "\\" and not text[position + 1 :].split("\n", 1)[0].strip():
        return hints.CONTINUATION
    found = hints.character_hint(char)
    if found is not None:
        return found
    if char == "'":
        return 'file names are written in double quotes: load("w.npy")'
    if char.isalpha() or char.isdigit():
        return "names use the letters A-Z and a-z, digits and '_'"
    if char == "=":
        return "comparisons are written >, >=, < or <="
    if char in "^*":
        return hints.POWER
    return None


def terminals() -> Tuple[Any, ...]:
    """The grammar's terminals as Lark compiles them (``TerminalDef``: ``name``, ``pattern``), in grammar order."""
    return tuple(_lark().terminals)


@functools.cache
def keywords() -> Tuple[str, ...]:
    """The reserved words, as the grammar defines them."""
    return tuple(t.pattern.value for t in terminals() if t.pattern.type == "str" and t.pattern.value.isalpha())


@functools.cache
def _keyword_line() -> "re.Pattern[str]":
    # Where a new statement starts inside unclosed brackets: a keyword at the start of a
    # line can only begin a statement, because keywords are reserved.
    return re.compile(r"[\t \f]*(?:%s)\b" % "|".join(keywords()))
_LEXICAL = re.compile(r'"[^"\n]*"|#[^\n]*|[()\[\]]|\n')


def _statement_chunks(source: str) -> Iterator[Tuple[int, str]]:
    """(line number - 1, text) of each statement, found by bracket depth, for error recovery."""
    depth = 0
    start = 0
    start_line = 0
    line = 0
    for match in _LEXICAL.finditer(source):
        text = match.group()
        if text in "([":
            depth += 1
        elif text in ")]":
            depth = max(0, depth - 1)
        elif text == "\n":
            line += 1
            end = match.end()
            if depth == 0 or _keyword_line().match(source, end):
                yield start_line, source[start:end]
                depth, start, start_line = 0, end, line
    yield start_line, source[start:]


# The names a statement with a syntax error may have been meant to define: every name before
# its first '=' (all of it when there is none), so 'nod y = ...' and 'input a b' count too.
_NAMES_BEFORE_EQUALS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


# Where _statement_chunks puts nothing for the parser to read: blanks and line ends only (str.strip
# would also drop characters the lexer refuses, such as '\v' or U+2028, and so hide their error).
_BLANK = re.compile(r"[\t \f]*(?:\r?\n[\t \f]*)*")


class _Chunk(NamedTuple):
    """One statement chunk as parsed on its own, put in its place: ``line`` lines down the file."""

    line: int
    statements: Tuple[Any, ...]
    comments: Tuple[Comment, ...]
    error: Optional[NetlangError]  # its syntax error, placed at the chunk's first line (line 1)
    unparsed: FrozenSet[str]  # the names it may have been meant to define, when it has an error

    def moved_to(self, line: int) -> "_Chunk":
        lines = line - self.line
        return _Chunk(line, moved_down(self.statements, lines), moved_down(self.comments, lines), self.error, self.unparsed)


def _read_chunk(text: str, line: int) -> _Chunk:
    """``text``, a statement chunk that starts ``line`` lines down the file, parsed on its own."""
    reading = _Reading(text)
    try:
        parsed = cast(Program, _lark().parse(reading))
    except (UnexpectedInput, _LocatedError) as error:
        names = frozenset(_NAMES_BEFORE_EQUALS.findall(text.split("=", 1)[0]))
        return _Chunk(line, (), (), _translate(error, reading), names)
    chunk = _Chunk(0, parsed.statements, _comments(reading), None, frozenset())
    return chunk.moved_to(line) if line else chunk


# Chunks by their text, then by the line they start at.
_Chunks = Dict[str, Dict[int, _Chunk]]


def _filled_chunks(source: str) -> List[Tuple[int, str]]:
    """The statement chunks of ``source`` that hold more than blanks and line ends."""
    return [(line, text) for line, text in _statement_chunks(source) if not _BLANK.fullmatch(text)]


def _by_statements(
    source: str, filename: str, known: _Chunks, filled: Optional[List[Tuple[int, str]]] = None
) -> Tuple[Program, List[NetlangError], FrozenSet[str], _Chunks]:
    """Each statement chunk of ``source`` parsed on its own, or taken from ``known`` (moved to its
    line); for :func:`parse_recovering` after a syntax error, and for :class:`IncrementalParser`.

    Also returns the chunks of ``source``, to be the ``known`` of its next version.
    """
    chunks: _Chunks = {}
    statements: List[Any] = []
    comments: List[Comment] = []
    errors: List[NetlangError] = []
    unparsed: set = set()
    for line, text in _filled_chunks(source) if filled is None else filled:
        placed = known.get(text)
        if not placed:
            chunk = _read_chunk(text, line)
        else:
            chunk = placed.get(line) or next(iter(placed.values())).moved_to(line)
        chunks.setdefault(text, {})[line] = chunk
        if chunk.error is None:
            statements.extend(chunk.statements)
            comments.extend(chunk.comments)
            continue
        error = chunk.error
        errors.append(NetlangError(error.message, moved_down(error.span, line), filename=filename, hint=error.hint, code=error.code, source=source))
        unparsed.update(chunk.unparsed)
        if len(errors) >= limits.MAX_ERRORS:
            break
    return Program(tuple(statements), filename, tuple(comments), source), errors, frozenset(unparsed), chunks


def _chunks_of(program: Program) -> _Chunks:
    """The chunks of a program that parsed whole, each with the statements and comments on its lines."""
    source = program.source or ""
    statements, comments = program.statements, program.comments
    chunks: _Chunks = {}
    next_statement = next_comment = 0
    for line, text in _filled_chunks(source):
        last = line + text.count("\n") + (0 if text.endswith("\n") else 1)  # its last line, counted from 1
        first_statement, first_comment = next_statement, next_comment
        while next_statement < len(statements) and statements[next_statement].span.line <= last:
            next_statement += 1
        while next_comment < len(comments) and comments[next_comment].span.line <= last:
            next_comment += 1
        chunk = _Chunk(line, statements[first_statement:next_statement], comments[first_comment:next_comment], None, frozenset())
        chunks.setdefault(text, {})[line] = chunk
    return chunks


class IncrementalParser:
    """Parses successive versions of one document (an editor's), re-parsing only the statement
    chunks whose text is new; a chunk that only moved to another line is moved, not parsed.

    ``parse(text, filename)`` returns exactly what ``parse_recovering(text, filename)`` returns
    (tests/test_incremental.py compares the two over generated programs and edits of them).
    The chunks of the latest version are all it keeps. One thread at a time parses with it.
    """

    def __init__(self) -> None:
        self._chunks: _Chunks = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IncrementalParser({self.chunks_kept} chunks kept)"

    @property
    def chunks_kept(self) -> int:
        return sum(len(placed) for placed in self._chunks.values())

    def parse(self, text: str, filename: str = "<string>") -> Tuple[Program, List[NetlangError], FrozenSet[str]]:
        """``parse_recovering(text, filename)``, from the chunks of the version before where they are unchanged."""
        _refuse_too_large(text, filename)
        with self._lock, gc_paused():
            filled = _filled_chunks(text)
            new = sum(1 for _, chunk in filled if chunk not in self._chunks)
            if new * 2 > len(filled):
                # Mostly new text (the first version, a paste): parsed whole, which is faster than
                # chunk by chunk when it parses (1.0x against 1.5x the whole parse's time).
                program, errors, unparsed, self._chunks = _whole_or_by_statements(text, filename, split=True)
            else:
                program, errors, unparsed, self._chunks = _by_statements(text, filename, self._chunks, filled)
        return program, errors, unparsed
