"""The incremental parser against parse_recovering: after every edit, the same program (spans and
comments included), the same errors as rendered, the same unparsed names."""

from __future__ import annotations

import random
from typing import Any, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
from fuzzing import mutate, seeds
from generators import edited, programs, syntax_programs
from netlang import limits, parser
from netlang.nodes import Program, moved_down
from netlang.parser import IncrementalParser, parse_recovering


def _outcome(result: Tuple[Any, ...]) -> Tuple[Any, ...]:
    program, errors, unparsed = result
    rendered = [(error.format(), error.hint, error.code, error.span, error.filename, error.source) for error in errors]
    return program.to_json(), program.filename, program.source, rendered, unparsed


def assert_same(incremental: IncrementalParser, text: str, filename: str = "edited.net") -> None:
    assert _outcome(incremental.parse(text, filename)) == _outcome(parse_recovering(text, filename)), text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), start=st.one_of(programs(with_expect=True), syntax_programs()))
def test_every_edit_of_generated_programs_parses_as_a_whole_parse_does(data, start):
    incremental = IncrementalParser()
    text = start
    assert_same(incremental, text)
    for _ in range(data.draw(st.integers(1, 8))):
        text = data.draw(edited(text))
        assert_same(incremental, text)


def test_successive_mutations_of_the_fuzz_seeds_parse_as_a_whole_parse_does():
    rng = random.Random(14)
    for data in seeds():
        incremental = IncrementalParser()
        for _ in range(4):
            text = data.decode("utf-8", errors="replace")
            assert_same(incremental, text)
            data = mutate(data, rng)


@pytest.mark.parametrize(
    "versions",
    [
        # Line ends: CRLF, none at the end, tabs; a statement continued inside brackets.
        ["input x\r\nnode y = step(x >= 1)\r\noutput y", "input x\r\nnode y = step(x >= 1)\r\n\r\noutput y\r\n"],
        ["input x\n\tnode y = (x +\n\t 1)\noutput y\n", "input x\n\tnode y = (x +\n\t 1\noutput y\n", "input x\n\tnode y = (x +\n\t 1)\noutput y\n"],
        # A keyword line inside unclosed brackets starts a new chunk.
        ["input a\nnode b = (a +\nnode c = a\n", "input a\nnode b = (a +\nnode c = a)\n"],
        # Comment-only lines and blank lines; the same line twice; a line moved to the top.
        ["# head\n\ninput a\n# mid\nnode b = a # tail\n\n\noutput b\n", "input a\n# head\n\ninput a\n# mid\nnode b = a # tail\n\noutput b\n# mid\n"],
        # Blanks the lexer refuses, which str.strip() would take for blanks.
        ["input a\nnode b = a\n", "input a\n\v\nnode b = a\n", "input a\n\u2028\nnode b = a\n", "input a\n\f \t\nnode b = a\n"],
        # More syntax errors than are reported: the statements after the last one reported are left out.
        ["input a\n" + "node b = (\n" * (limits.MAX_ERRORS + 5) + "node c = a\n", "input a\n" + "node b = (\n" * (limits.MAX_ERRORS - 1) + "node c = a\n"],
        ["", "\n\n", "# only\n", "node"],
    ],
)
def test_versions_parse_as_a_whole_parse_does(versions: List[str]):
    incremental = IncrementalParser()
    for text in versions:
        assert_same(incremental, text)
    for text in reversed(versions):
        assert_same(incremental, text)


def test_only_the_changed_statement_is_parsed_again(monkeypatch):
    text = "input " + ", ".join(f"x{i}" for i in range(40)) + "\n" + "".join(f"node n{i} = 0.5*x{i} + 1  # {i}\n" for i in range(40))
    incremental = IncrementalParser()
    incremental.parse(text)
    read: List[str] = []
    original = parser._read_chunk
    monkeypatch.setattr(parser, "_read_chunk", lambda chunk, line: read.append(chunk) or original(chunk, line))
    edited = text.replace("node n7 = 0.5*x7", "node n7 = 0.25*x7")
    assert _outcome(incremental.parse(edited)) == _outcome(parse_recovering(edited))
    assert read == ["node n7 = 0.25*x7 + 1  # 7\n"]
    # A line inserted above moves the statements below it; none is parsed again but the new one.
    read.clear()
    moved = "# a new first line\n" + edited
    assert _outcome(incremental.parse(moved)) == _outcome(parse_recovering(moved))
    assert read == ["# a new first line\n"]


def test_it_keeps_the_chunks_of_the_latest_version_only():
    incremental = IncrementalParser()
    incremental.parse("".join(f"let c{i} = {i}\n" for i in range(100)))
    assert incremental.chunks_kept == 100
    incremental.parse("let d = 1\nlet e = 2\n")
    assert incremental.chunks_kept == 2


def test_a_file_over_the_size_limit_is_refused_as_a_whole_parse_refuses_it(monkeypatch):
    monkeypatch.setattr(limits, "MAX_SOURCE_BYTES", 100)
    text = "let c = 1\n" * 20
    with pytest.raises(netlang.NetlangError) as whole:
        parse_recovering(text, "big.net")
    with pytest.raises(netlang.NetlangError) as incremental:
        IncrementalParser().parse(text, "big.net")
    assert (incremental.value.format(), incremental.value.code) == (whole.value.format(), whole.value.code) == (whole.value.format(), "file-too-large")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.one_of(programs(with_expect=True), syntax_programs()), lines=st.integers(1, 30))
def test_a_statement_moved_down_is_the_statement_parsed_further_down(source, lines):
    program = netlang.parse(source)
    below = netlang.parse("\n" * lines + source)
    moved = Program(moved_down(program.statements, lines), comments=moved_down(program.comments, lines))
    assert moved.to_json() == Program(below.statements, comments=below.comments).to_json()


def test_a_version_mostly_new_is_parsed_whole_and_an_edit_of_it_chunk_by_chunk(monkeypatch):
    incremental = IncrementalParser()
    incremental.parse("input a\nnode b = a\n")
    pasted = "input " + ", ".join(f"x{i}" for i in range(20)) + "\n" + "".join(f"node n{i} = x{i} # {i}\n" for i in range(20))
    read: List[str] = []
    original = parser._read_chunk
    monkeypatch.setattr(parser, "_read_chunk", lambda chunk, line: read.append(chunk) or original(chunk, line))
    assert_same(incremental, pasted)
    assert read == [] and incremental.chunks_kept == 21  # parsed whole, then split into its chunks
    assert_same(incremental, pasted.replace("node n3 = x3", "node n3 = 2*x3"))
    assert read == ["node n3 = 2*x3 # 3\n"]
