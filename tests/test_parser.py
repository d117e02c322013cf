"""Parser stage: text to AST, spans, comments, and syntax errors."""

from __future__ import annotations

import re

import pytest

import netlang
from netlang import hints
from netlang.parser import parse_recovering
from netlang.nodes import (
    Call,
    Compare,
    Index,
    Input,
    InputVar,
    Layer,
    Let,
    Name,
    Node,
    Number,
    Output,
    Product,
    Program,
    Span,
    Sum,
    UnaryOp,
    Vector,
    walk,
)


def test_statements_parse_to_ast_classes():
    program = netlang.parse("input x1, v[3]\nlet t = 0.7\nnode y = step(x1 > t)\nlayer h[2] = v\noutput y, h\n")
    assert program.statements == (
        Input((InputVar("x1"), InputVar("v", 3))),
        Let("t", Number(0.7)),
        Node("y", Call(Name("step"), (Compare(">", Name("x1"), Name("t")),))),
        Layer("h", 2, Name("v")),
        Output((Name("y"), Name("h"))),
    )


def test_equality_ignores_layout_and_spans():
    a = netlang.parse("node y = 0.5*x1+0.5*x2")
    b = netlang.parse("\n\n   node  y =  0.5 * x1 +\t0.5*x2   # comment\n")
    assert a == b
    assert a.statements[0].span != b.statements[0].span


def test_spans_are_one_based_with_exclusive_end():
    program = netlang.parse("input x1\nnode y = sigmoid(2*x1)\n")
    node = program.statements[1]
    assert node.span == Span(2, 1, 2, 23)
    assert node.name_span == Span(2, 6, 2, 7)
    call = node.value
    assert call.span == Span(2, 10, 2, 23)
    assert call.func.span == Span(2, 10, 2, 17)
    assert call.args[0].span == Span(2, 18, 2, 22)


def test_every_node_has_a_span():
    program = netlang.parse("input v[2]\nlet W = [[1, 2], [3, 4]]\nlayer h = relu(W @ v - [1, -2])\nnode o = -h[0] + h[1]/2\n")
    for node in walk(program):
        if hasattr(node, "span"):
            assert node.span.line >= 1, node


def test_sums_and_products_are_flat_and_left_to_right():
    value = netlang.parse("node y = a - b + c*d/e @ f").statements[0].value
    assert isinstance(value, Sum)
    assert value.ops == ("-", "+")
    assert value.operands[2] == Product((Name("c"), Name("d"), Name("e"), Name("f")), ("*", "/", "@"))


def test_long_sums_do_not_nest():
    terms = " + ".join(f"{i}*x{i}" for i in range(5000))
    value = netlang.parse(f"node y = {terms}").statements[0].value
    assert isinstance(value, Sum) and len(value.operands) == 5000


def test_precedence_and_unary_minus():
    value = netlang.parse("node y = -2*x + 3").statements[0].value
    assert value == Sum((Product((UnaryOp("-", Number(2.0)), Name("x")), ("*",)), Number(3.0)), ("+",))


def test_statement_continues_inside_brackets():
    program = netlang.parse("let W = [[1, 2],\n         [3, 4]]\nnode y = step(\n  x1 +\n  x2 > 1\n)\n")
    assert isinstance(program.statements[0].value, Vector)
    assert len(program.statements) == 2


def test_comments_are_kept_beside_the_tree():
    program = netlang.parse("# head\ninput x1  # the input\n\n# tail")
    assert [c.text for c in program.comments] == ["# head", "# the input", "# tail"]
    assert program.comments[1].span.line == 2


def test_index_and_number_forms():
    value = netlang.parse("node y = x[12] + 2e-3 + .5 + 1.").statements[0].value
    assert value.operands[0] == Index("x", 12)
    assert [o.value for o in value.operands[1:]] == [0.002, 0.5, 1.0]


def test_empty_and_comment_only_files_parse():
    assert netlang.parse("").statements == ()
    assert netlang.parse("# nothing\n\n# here\n").statements == ()


def test_windows_line_endings():
    assert len(netlang.parse("input x1\r\nnode y = x1\r\n").statements) == 2


@pytest.mark.parametrize("keyword", ["input", "let", "node", "layer", "output"])
def test_keywords_are_reserved(keyword):
    with pytest.raises(netlang.NetlangError):
        netlang.parse(f"node {keyword} = 1")


def _error(source: str) -> netlang.NetlangError:
    with pytest.raises(netlang.NetlangError) as info:
        netlang.parse(source, "t.net")
    return info.value


def test_syntax_error_is_located_and_in_words():
    error = _error("input x1\nnode y = 0.5 x1\n")
    assert (error.filename, error.line, error.column) == ("t.net", 2, 14)
    assert "name 'x1'" in error.message and "NAME" not in error.message
    assert error.hint == "write multiplication with '*', as in 0.5*x1"


def test_all_syntax_errors_are_reported():
    error = _error("nod a = 1\nnode b = (1 +\nnode c = 2 3\ninput ok\nnode d = $\n")
    assert [e.line for e in error.errors] == [1, 2, 3, 5]
    assert error.errors[0].hint == "did you mean 'node'?"
    assert "never closed" in error.errors[1].message


def _spans(program):
    return [(type(node).__name__, node.span) for node in walk(program) if hasattr(node, "span")]


def test_each_statement_parsed_on_its_own_keeps_its_place_in_the_file():
    text = "input x1, v[2]  # in\nlet W = [[1, 2],\n         [3, 4]]\nnode y = step(x1 > 0.5)\nlayer h = relu(W @ v - [1, -2])\nexpect (1, 0, 1) -> 0\n"
    whole = netlang.parse(text)
    assert parse_recovering(text) == (whole, [], frozenset())
    # The same statements, each parsed on its own (as after a syntax error elsewhere), in place.
    with_error = text + "node bad = (\n"
    parsed, errors, unparsed = parse_recovering(with_error)
    assert [e.line for e in errors] == [7] and unparsed == {"node", "bad"}
    assert parsed.statements == whole.statements
    assert _spans(Program(parsed.statements)) == _spans(Program(whole.statements))


def test_statements_around_a_syntax_error_still_parse():
    parsed, errors, unparsed = parse_recovering("input a\nnode b = (a +\nnode c = a a\nnode d = 2*a\n")
    assert [e.line for e in errors] == [2, 3]
    assert [s.name for s in parsed.statements if isinstance(s, Node)] == ["d"]
    assert {"b", "c"} <= unparsed
    (d,) = [s for s in parsed.statements if isinstance(s, Node)]
    assert d.span.line == 4 and d.value.span == Span(4, 10, 4, 13)


def test_unclosed_bracket_points_at_the_bracket():
    error = _error("node y = step(0.5*x1 + 0.3*x2 > 0.7\n")
    assert (error.line, error.column) == (1, 14)
    assert error.message == "'(' is never closed"


def test_truncated_input():
    error = _error("node y = 1 +")
    assert "incomplete" in error.message and error.line == 1


def test_deep_nesting_is_a_located_error():
    error = _error("node y = " + "(" * 3000 + "x" + ")" * 3000)
    assert error.code == "too-deep" and error.line == 1


def test_nesting_within_the_limit_parses():
    from netlang import limits

    depth = limits.MAX_NESTING
    program = netlang.parse("node y = " + "(" * depth + "x" + ")" * depth)
    assert program.statements[0].value == Name("x")


def test_long_runs_of_signs_are_refused():
    assert _error("node y = " + "-" * 1000 + "x").code == "too-deep"


def test_very_long_line():
    source = "node y = " + " + ".join(["x"] * 20000)
    assert len(netlang.parse(source).statements[0].value.operands) == 20000


def test_huge_size_is_refused_before_allocation():
    assert _error("input x[" + "9" * 5000 + "]").code == "number-too-large"


def test_format_shows_line_and_caret():
    text = _error("input x1\nnode y = x1 $ 2\n").format()
    assert text.splitlines()[1:3] == ["2 | node y = x1 $ 2", "  |             ^"]


def test_keyword_as_name_says_so():
    error = _error("node input = 1")
    assert error.message == "'input' is a keyword and cannot be used as a name"


def test_keywords_come_from_the_grammar():
    from netlang.parser import grammar_text, keywords

    for word in keywords():
        assert f'"{word}"' in grammar_text()
    assert set(keywords()) == {"input", "let", "node", "layer", "output", "expect", "within", "param", "train"}


def test_expect_statements():
    from netlang.nodes import Expect

    program = netlang.parse("expect (0, 1) -> 1\nexpect (0.9, 0.1, 0.8) -> (0.726, 0.708, 0.778) within 0.001\nexpect (1) -> -1\n")
    first, second, third = program.statements
    assert first == Expect((Number(0.0), Number(1.0)), (Number(1.0),))
    assert len(second.inputs) == 3 and len(second.outputs) == 3 and second.tolerance == Number(0.001)
    assert third == Expect((Number(1.0),), (UnaryOp("-", Number(1.0)),))
    assert second.span == Span(2, 1, 2, 61)


# --- hints: each mistake gets its own advice, and the line a hint suggests is valid netlang ---

SUGGESTED_FIXES = [
    ("input x1 x2\n", "input x1, x2"),
    ("input a, b\nnode y = a\nnode z = b\noutput y z\n", "output y, z"),
    ("let w1 0.5\n", "let w1 = 0.5"),
    ("input a, b\nnode y step(a + b > 1)\n", "node y = step(a + b > 1)"),
    ("input a\nlayer h relu([a, a])\n", "layer h = relu([a, a])"),
    ("expect 1, 1 -> 1\n", "expect (1, 1) -> 1"),
    ("expect 1 1 -> 1, 0 within 0.1\n", "expect (1, 1) -> (1, 0) within 0.1"),
]


@pytest.mark.parametrize("source, fix", SUGGESTED_FIXES)
def test_a_hint_suggests_the_corrected_line_and_it_parses(source, fix):
    error = _error(source)
    assert error.hint.endswith(": " + fix), error.hint
    assert "multiplication" not in error.hint
    netlang.parse(fix)


@pytest.mark.parametrize("source", ["inputs x1, x2\n", "inputs\n", "outputy\n", "input a\nnodes y = a\n"])
def test_a_keyword_with_letters_after_it_is_one_misspelt_word(source):
    # 'inputs' used to read as the keyword 'input' and the name 's' ('inputs' alone parsed).
    error = _error(source)
    word = source.split("\n")[-2].split()[0]
    assert error.message == f"unexpected name '{word}': a line starts with input, let, param, node, layer, output, expect or train"
    assert error.hint in {f"did you mean '{k}'?" for k in ("input", "output", "node")}
    assert error.end_column - error.column == len(word)


def test_a_number_in_another_base_says_its_decimal_value():
    error = _error("input x1\nnode y = 0x10*x1\n")
    assert error.hint == "numbers are written in decimal: 0x10 is 16"
    assert _error("node y = 0b101").hint == "numbers are written in decimal: 0b101 is 5"


@pytest.mark.parametrize("char", sorted(hints.CHARACTERS))
def test_characters_from_books_and_word_processors_get_their_own_hint(char):
    error = _error(f"input x1, x2\nnode y = x1 {char} x2\n")
    assert error.hint == hints.CHARACTERS[char]
    assert repr(char) in error.message


@pytest.mark.parametrize(
    "source, hint",
    [
        ("input x1\nnode y = x1**2\n", hints.POWER),
        ("input x1\nnode y = x1^2\n", hints.POWER),
        ("input x1\nnode y = x1  // the output\n", hints.COMMENT),
        ("input a, b\nnode y = a and b\n", hints.LOGIC),
        ("input a\nnode y = relu(a) relu(a)\n", "an operator is missing before relu: '*' multiplies, '+' adds"),
        ("input a, b\nnode y = step(a b)\n", "an operator is missing between a and b: a*b multiplies, a + b adds"),
        ("input a\nnode y = 0.5 a\n", "write multiplication with '*', as in 0.5*a"),
    ],
)
def test_operator_mistakes(source, hint):
    assert _error(source).hint == hint


def _compiled_hint(name: str) -> str:
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(f"input x1, x2\nnode y = {name}(x1, x2)\n")
    assert info.value.code == "unknown-function"
    return info.value.hint


@pytest.mark.parametrize("name, reference", [("max", max), ("min", min)])
def test_max_and_min_are_not_softmax_and_the_hinted_network_computes_them(name, reference):
    hint = _compiled_hint(name)
    assert "softmax" not in hint
    # The hint's own statements, run: they compute what the function would.
    statements = re.findall(r"node \w+ = [^,]+?(?=, then|$)", hint)
    assert len(statements) == 2, hint
    net = netlang.compile("input x1, x2\n" + "\n".join(statements) + "\n")
    for x1, x2 in [(0.3, -2.0), (-1.5, 4.0), (2.0, 2.0)]:
        (value,) = net.run({"x1": x1, "x2": x2}).values()
        assert value == pytest.approx(reference(x1, x2))


def test_unknown_functions_without_advice_still_list_what_exists():
    assert _compiled_hint("frobnicate").startswith("the functions are step, sigmoid")
    assert _compiled_hint("sigmod") == "did you mean 'sigmoid'?"


@pytest.mark.parametrize(
    "source, hint",
    [
        ("input x1, x2\nnode y = np.maximum(x1, x2)\n", hints.ATTRIBUTE),
        ("input x[2]\nlet W = [[1, 2], [3, 4]]\nlayer y = W.T @ x\n", hints.TRANSPOSE),
        ("input x[2]\nlayer y = x'\n", hints.TRANSPOSE),
        ("input x1\nlet w = load('w.npy')\n", 'file names are written in double quotes: load("w.npy")'),
        ("input x1, x2\nnode y = step(x1 != x2)\n", hints.EQUALITY),
        ("input x1, x2\nnode y = x1 + x2 \\\n  + 1\n", hints.CONTINUATION),
        ("output: y\n", "no ':' after the keyword: output ..."),
        ("input x1\nlet w = 0,5\n", "numbers are written with a decimal point: 0.5"),
        ("input x1\nnode y = x1*0,25 + 1\n", "numbers are written with a decimal point: 0.25"),
        ("input x1, x2\nnode y = x1, x2\n", "a ',' separates values inside brackets only: a vector is written [x1, x2]"),
        ("let W = [[1, 2] [3, 4]]\n", "separate the rows of a matrix with ',': [[1, 2], [3, 4]]"),
        ("input x1, x2\nnode y = sigmoid[x1 + x2]\n", "an index is a whole number, x[0]; a function is called with parentheses: sigmoid(...)"),
        ("input x[3]\nnode y = x[1.5]\n", "an index or a size is a whole number: x[0], input x[3]"),
        ("input a\nnode y = a\nexpect (1) => 1\n", "write '->' between the input values and the outputs: expect (0, 1) -> 1"),
        ("input a\nnode y = a\nexpect 1 -> 1 ± 0.1\n", hints.CHARACTERS["±"]),
        ("input x1\nnode y = x1 % 2\n", hints.CHARACTERS["%"]),
        ("input x1\nnode y = {x1}\n", hints.CHARACTERS["{"]),
    ],
)
def test_habits_from_other_languages(source, hint):
    assert _error(source).hint == hint


def test_the_fixes_these_hints_name_parse():
    for fixed in ("let w = 0.5", "input x[2]\nlet W = [[1, 2], [3, 4]]\nlayer y = x @ W", "let W = [[1, 2], [3, 4]]"):
        netlang.parse(fixed)


@pytest.mark.parametrize(
    "source, advice",
    [
        # A product of two signals: the hint names what a product of 0/1 signals means (AND),
        # and the AND it writes is one neuron that computes it.
        ("input x1, x2\nnode y = step(x1*x2 > 0.5)\n", "step(x1 + x2 > 1.5)"),
        # A bias added outside the activation: the hint puts it inside.
        ("input x[2]\nlet W = [[1, 2], [3, 4]]\nlet b = [1, 1]\nlayer h = sigmoid(W @ x) + b\n", "sigmoid(W @ x + b)"),
    ],
)
def test_checker_hints_name_a_fix_that_works(source, advice):
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(source)
    assert advice in info.value.hint
    assert "separate neurons" not in info.value.hint
    fixed = netlang.compile(source.rsplit("\n", 2)[0] + "\n" + source.rsplit("\n", 2)[1].split("=")[0] + "= " + advice + "\n")
    if "x1" in source:
        assert [fixed.run({"x1": a, "x2": b})["y"] for a in (0, 1) for b in (0, 1)] == [a * b for a in (0, 1) for b in (0, 1)]


# --- each parse keeps its own state ------------------------------------------------


def _rendered(source: str):
    program, errors, unparsed = parse_recovering(source)
    return [(error.format(), error.hint) for error in errors], unparsed, program.statements


# Errors whose words and hints quote their own text: a decimal comma, a missing '=', an
# expect without parentheses, an unclosed bracket, a line that starts with ','.
_OWN_TEXTS = [
    f"input a{i}\nnode y{i} = {i},5\nnode z{i} {i}*a{i} + {i}\nexpect {i}, 1 -> {i}\nnode w{i} = ({i} +\n, a{i}\n"
    for i in range(8)
]


def test_parses_in_threads_at_once_word_each_error_from_their_own_text():
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    alone = {source: _rendered(source) for source in _OWN_TEXTS}
    barrier = threading.Barrier(4)

    def parse_many(first: int):
        barrier.wait()
        return [(source, _rendered(source)) for source in (_OWN_TEXTS[(first + k) % len(_OWN_TEXTS)] for k in range(24))]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as the interpreter lets them
    try:
        with ThreadPoolExecutor(4) as pool:
            results = [item for batch in pool.map(parse_many, range(4)) for item in batch]
    finally:
        sys.setswitchinterval(interval)
    assert len(results) == 96
    for source, outcome in results:
        assert outcome == alone[source]
    assert "numbers are written with a decimal point: 3.5" in str(alone[_OWN_TEXTS[3]][0])


def test_an_error_is_worded_the_same_whatever_was_parsed_before():
    # A line starting with ',' stops in the lexer, before the post-lexer sees the statement's
    # first token: the thread-local state of the parse before used to lend it its keyword.
    fresh = _rendered(", a\ninput a\n")
    for before in ("input a\nexpect 1, 2 -> 1\n", "node y = 1 +\n", "let w = 0,5\n"):
        parse_recovering(before)
        assert _rendered(", a\ninput a\n") == fresh
    assert fresh[0][0][1] is None


@pytest.mark.parametrize(
    "expect, message, fix",
    [
        ("expect 1 -> 2 +- 0.1", "2 +- 0.1 reads as 2 + (-0.1)", "expect ... -> 2 within 0.1"),
        ("expect (1) -> (2.5e1 -+1e-3)", "2.5e1 -+ 1e-3 reads as 2.5e1 - (+1e-3)", "expect ... -> 2.5e1 within 1e-3"),
        ("expect 1 +- 0.5 -> 2", "1 +- 0.5 reads as 1 + (-0.5)", "expect ... -> 1 within 0.5"),
        ("expect (1) -> (2) +- 1", "it reads as '+' and then the sign '-'", "expect ... -> 2 within 1"),
    ],
)
def test_a_tolerance_written_plus_minus_in_an_expect_is_refused(expect, message, fix):
    program, errors, _ = parse_recovering(f"input x\nnode y = 2*x\noutput y\n{expect}\n")
    (error,) = errors
    assert error.code == "plus-minus" and message in error.message and fix in error.hint
    assert error.line == 4 and error.end_column - error.column == 2
    assert len(program.statements) == 3  # the other statements still parse


@pytest.mark.parametrize(
    "source",
    [
        "input x\nnode y = 2*x +- 1\noutput y\n",  # outside an expect: a sum with a negative number
        "input x\nnode y = 2*x\noutput y\nexpect 1 -> 2 + -0.1\n",  # signs apart: written on purpose
        "input x\nnode y = 2*x\noutput y\nexpect 1 -> 2 - -0.1\nexpect 1 -> 2 --0.1\nexpect 1 -> 2*-+1\nexpect -+1 -> 2\nexpect 1 -> 2 +-(1)\nexpect 1 -> 0+--0\nexpect 1 -> (2 +\n-0.1)\n",
    ],
)
def test_signs_that_are_not_a_tolerance_still_parse(source):
    assert parse_recovering(source)[1] == []
