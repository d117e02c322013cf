"""The formatter (netlang/formatter.py) and `netlang fmt`: layout, comments, properties, files."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import netlang
from netlang import files, formatter, limits
from netlang.formatter import format_source

from conftest import EXAMPLES, ROOT
from generators import programs, syntax_programs

DOC = ROOT / "docs" / "fmt.md"


def comment_texts(text: str) -> List[str]:
    return [comment.text.rstrip() for comment in netlang.parse(text).comments]


def assert_same_network(before: netlang.Program, after: netlang.Program) -> None:
    first, second = netlang.compile(before), netlang.compile(after)
    assert (first.input_names, first.output_names) == (second.input_names, second.output_names)
    assert len(first.layers) == len(second.layers)
    for one, other in zip(first.layers, second.layers):
        assert (one.rows, one.columns, one.activation) == (other.rows, other.columns, other.activation)
        np.testing.assert_array_equal(one.weights, other.weights)
        np.testing.assert_array_equal(one.bias, other.bias)


def assert_properties(source: str, compiles: bool = True) -> str:
    """The three promises of docs/fmt.md, and no trailing spaces."""
    formatted = format_source(source)
    assert format_source(formatted) == formatted, "not idempotent"
    before, after = netlang.parse(source), netlang.parse(formatted)
    assert after == before, "the syntax tree changed"
    assert [c.text for c in after.comments] == [c.text.rstrip() for c in before.comments], "a comment was lost or moved"
    assert all(line == line.rstrip() for line in formatted.split("\n"))
    assert formatted == "" or (formatted.endswith("\n") and not formatted.endswith("\n\n"))
    if compiles:
        assert_same_network(before, after)
    return formatted


# --- properties ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(with_expect=True))
def test_generated_programs_keep_their_meaning_and_comments(source: str) -> None:
    assert_properties(source)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(syntax_programs())
def test_any_syntax_keeps_its_tree_and_comments(source: str) -> None:
    assert_properties(source, compiles=False)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("**/*.net")), ids=lambda path: path.name)
def test_every_example_keeps_its_meaning_and_comments(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    try:
        netlang.compile(source)
    except netlang.NetlangError:  # an example that shows an error: only the syntax matters
        assert_properties(source, compiles=False)
    else:
        assert_properties(source)


# --- the layout ------------------------------------------------------------------------


def doc_pairs() -> List[Tuple[str, str]]:
    blocks = re.findall(r"```net (before|after)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    pairs = [(blocks[i][1], blocks[i + 1][1]) for i in range(0, len(blocks), 2)]
    assert all(blocks[i][0] == "before" and blocks[i + 1][0] == "after" for i in range(0, len(blocks), 2))
    return pairs


@pytest.mark.parametrize("before, after", doc_pairs())
def test_the_examples_in_docs_fmt_md(before: str, after: str) -> None:
    assert format_source(before) == after
    assert_properties(before)


def test_docs_fmt_md_has_examples() -> None:
    assert len(doc_pairs()) >= 4


@pytest.mark.parametrize(
    "source, expected",
    [
        ("node y = (a + b) + c", "node y = a + b + c"),
        ("node y = a + (b + c)", "node y = a + (b + c)"),
        ("node y = a - (b - c)", "node y = a - (b - c)"),
        ("node y = a - (b + c)", "node y = a - (b + c)"),
        ("node y = (a * b) * c", "node y = a*b*c"),
        ("node y = a / (b * c)", "node y = a/(b*c)"),
        ("node y = (a*b) + (c/d)", "node y = a*b + c/d"),
        ("node y = (a + b)*c", "node y = (a + b)*c"),
        ("node y = -(a)", "node y = -a"),
        ("node y = -(a*b)", "node y = -(a*b)"),
        ("node y = (-a)*b", "node y = -a*b"),
        ("node y = a--b", "node y = a - -b"),
        ("node y = a*-b", "node y = a*-b"),
        ("node y = - - a", "node y = --a"),
        ("node y = W@x*2", "node y = W @ x * 2"),
        ("node y = W@(x*2)", "node y = W @ (x*2)"),
        ("node y = step((a > b) > c)", "node y = step((a > b) > c)"),
        ("node y = step(a > (b > c))", "node y = step(a > (b > c))"),
        ("node y = step((a+b)>=(c))", "node y = step(a + b >= c)"),
        ("let c = .5E+3", "let c = .5E+3"),
        ("let c = 2.", "let c = 2."),
        ("let f = load( \"w.npy\" )", 'let f = load("w.npy")'),
        ("layer h[3]=relu( W@x+b )", "layer h[3] = relu(W @ x + b)"),
        ("input x1 ,x2,v[ 3 ]", "input x1, x2, v[3]"),
        ("output a ,b", "output a, b"),
        ("let v = [1,2,]", "let v = [1, 2]"),
        ("let v = []", "let v = []"),
        ("node y = f()", "node y = f()"),
        ("expect ( 0 , 1 , ) -> 1 within 0.01", "expect (0, 1) -> 1 within 0.01"),
        ("expect 1->(0,1)", "expect 1 -> (0, 1)"),
        ("expect (a + b)*2 -> 1", "expect (a + b)*2 -> 1"),
        ("node y = x[ 0 ]", "node y = x[0]"),
    ],
)
def test_spacing_and_parentheses(source: str, expected: str) -> None:
    assert format_source(source) == expected + "\n"
    assert netlang.parse(expected) == netlang.parse(source)


def test_the_parser_joins_a_parenthesized_chain_in_first_place_only() -> None:
    # Left-associative chains: (a + b) + c is a + b + c, but a + (b + c) is another tree.
    assert netlang.parse("node y = (a + b) - c") == netlang.parse("node y = a + b - c")
    assert netlang.parse("node y = (a*b)/c") == netlang.parse("node y = a*b/c")
    assert netlang.parse("node y = a + (b + c)") != netlang.parse("node y = a + b + c")
    assert netlang.parse("node y = (a*b) + c") != netlang.parse("node y = a*b*c + c")


def test_a_long_run_of_signs_gets_parentheses_so_that_it_parses_again() -> None:
    signs = limits.MAX_SIGNS_IN_A_ROW
    nested = "node y = " + "-(" * (signs + 3) + "x" + ")" * (signs + 3)
    formatted = format_source(nested)
    assert netlang.parse(formatted) == netlang.parse(nested)
    assert "(" in formatted


def test_blank_lines_collapse_and_the_ends_are_trimmed() -> None:
    source = "\n\n\ninput x\n\n\n\n# c\n\nnode y = x\n\n\n"
    assert format_source(source) == "input x\n\n# c\n\nnode y = x\n"


def test_empty_and_comment_only_files() -> None:
    assert format_source("") == ""
    assert format_source("\n\n  \n") == ""
    assert format_source("# only   \n\n\n# comments") == "# only\n\n# comments\n"


def test_windows_line_ends_become_newlines_and_comments_lose_the_carriage_return() -> None:
    assert format_source("input x  # in\r\nnode y = x\r\n") == "input x  # in\nnode y = x\n"


def test_trailing_comments_align_in_runs() -> None:
    source = "input x1, x2 # a\nlet theta = 0.7 # b\nnode y = x1\nnode z = x2   # c\n"
    assert format_source(source) == "input x1, x2     # a\nlet theta = 0.7  # b\nnode y = x1\nnode z = x2  # c\n"


def test_comments_between_list_elements_stay_between_them() -> None:
    source = "let v = [1,  # one\n  # before two\n  2, 3 # three\n  # at the end\n]\n"
    assert format_source(source) == (
        "let v = [\n    1,  # one\n    # before two\n    2,\n    3  # three\n    # at the end\n]\n"
    )


def test_a_comment_inside_a_sum_moves_above_its_statement() -> None:
    source = "input a, b\nnode y = (a +  # first\n  b)/2  # trailing\n"
    assert format_source(source) == "input a, b\n# first\nnode y = (a + b)/2  # trailing\n"


def test_comment_order_is_kept_when_comments_move_up() -> None:
    # '# b' is loose inside the element, '# a' is inside a nested list: both go above the
    # element, in their order, rather than '# b' jumping ahead of '# a'.
    source = "node y = f([1, # a\n 2] + (  3 # b\n ), 4)\n"
    formatted = assert_properties(source, compiles=False)
    assert comment_texts(formatted) == ["# a", "# b"]


def test_an_empty_vector_with_a_comment() -> None:
    assert format_source("let v = [  # nothing yet\n]") == "let v = [  # nothing yet\n]\n"


def test_a_comment_above_the_first_value_of_an_expect_tuple_goes_above_the_statement() -> None:
    # The tuple's '(' has no position in the tree, so the comment cannot stay inside it.
    source = "expect (0 + # why\n 1, 2) -> 1"
    assert format_source(source) == "# why\nexpect (0 + 1, 2) -> 1\n"


def test_a_comment_after_a_broken_expect_tuple_stays_on_its_last_value() -> None:
    # The tree's span of an expect ends at the last value, not at the tuple's ')'.
    values = ", ".join(["0.125"] * 20)
    formatted = assert_properties(f"expect 1 -> ({values})  # long", compiles=False)
    assert formatted.endswith("    0.125  # long\n)\n")


def test_the_matrix_of_a_layer_is_one_row_per_line_inside_the_call() -> None:
    source = "input v[2]\nlayer h = relu([[1,2],[3,40]] @ v)\n"
    assert format_source(source) == "input v[2]\nlayer h = relu([\n    [1,  2],\n    [3, 40]\n] @ v)\n"


def test_long_expect_tuples_and_calls_break() -> None:
    values = ", ".join(["0.5"] * 30)
    formatted = assert_properties(f"expect ({values}) -> 1", compiles=False)
    assert all(len(line) <= formatter.WIDTH for line in formatted.splitlines())
    assert formatted.startswith("expect (\n")


def test_lines_fit_the_width_when_they_can() -> None:
    terms = " + ".join(f"0.{i}*x{i}" for i in range(1, 10)) * 1
    source = f"input {', '.join(f'x{i}' for i in range(1, 10))}\nnode y = sigmoid({terms} + {terms})\n"
    formatted = assert_properties(source)
    assert max(len(line) for line in formatted.splitlines()) <= formatter.WIDTH


def test_syntax_errors_are_netlang_errors() -> None:
    with pytest.raises(netlang.NetlangError) as raised:
        format_source("input x\nnode y = (x +\nnode z = 1 1\n", filename="bad.net")
    assert len(raised.value.errors) == 2
    assert raised.value.filename == "bad.net"


# --- netlang fmt ------------------------------------------------------------------------

MESSY = "input x1,x2\nnode y=step(0.5*x1+0.5*x2>0.7)   # AND\n"
TIDY = "input x1, x2\nnode y = step(0.5*x1 + 0.5*x2 > 0.7)  # AND\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_fmt_prints_the_formatted_text_and_changes_nothing(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "and.net", MESSY)
    result = cli("fmt", str(path))
    assert (result.exit_code, result.output) == (0, TIDY)
    assert path.read_text(encoding="utf-8") == MESSY


def test_fmt_check_lists_the_files_that_would_change(cli, tmp_path: Path) -> None:
    messy, tidy = write(tmp_path / "messy.net", MESSY), write(tmp_path / "tidy.net", TIDY)
    result = cli("fmt", "--check", str(messy), str(tidy))
    assert result.exit_code == 1
    assert result.output == f"would reformat {messy}\n"
    assert messy.read_text(encoding="utf-8") == MESSY
    assert cli("fmt", "--check", str(tidy)).exit_code == 0


def test_fmt_write_rewrites_in_place_keeping_the_mode(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "and.net", MESSY)
    os.chmod(path, 0o640)
    result = cli("fmt", "--write", str(path))
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == TIDY
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net"]  # no temporary file left
    assert cli("fmt", "--check", str(path)).exit_code == 0


def test_fmt_write_leaves_formatted_files_untouched(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "and.net", TIDY)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert cli("fmt", "--write", str(path)).exit_code == 0
    assert path.stat().st_mtime == 1_000_000_000


def test_fmt_never_writes_a_file_with_syntax_errors(cli, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.net", "input x\nnode y = (x +\nnode z = 1 1\n")
    good = write(tmp_path / "good.net", MESSY)
    result = cli("fmt", "--write", str(bad), str(good))
    assert result.exit_code == 1
    assert bad.read_text(encoding="utf-8") == "input x\nnode y = (x +\nnode z = 1 1\n"
    assert good.read_text(encoding="utf-8") == TIDY
    assert f"{bad}:2:10: error: '(' is never closed" in result.output
    assert f"{bad}:3:12: error: unexpected number 1" in result.output


def test_fmt_reports_a_missing_file(cli, tmp_path: Path) -> None:
    result = cli("fmt", str(tmp_path / "nowhere.net"))
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_fmt_check_and_write_together_is_a_usage_error(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "and.net", MESSY)
    result = cli("fmt", "--check", "--write", str(path))
    assert result.exit_code == 2
    assert "not both" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "and.net", MESSY)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_text(path, TIDY)
    assert path.read_text(encoding="utf-8") == MESSY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net"]


def test_a_failed_flush_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "and.net", MESSY)

    def full_disk(handle: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OSError):
        files.write_text(path, TIDY)
    assert path.read_text(encoding="utf-8") == MESSY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["and.net"]


def test_fmt_write_reports_a_file_it_cannot_replace(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "and.net", MESSY)

    def refused(*args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refused)
    result = cli("fmt", "--write", str(path))
    assert result.exit_code == 1
    assert f"cannot write {path}: Permission denied" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_fmt_write_on_a_link_formats_the_file_it_leads_to_and_keeps_the_link(cli, tmp_path: Path) -> None:
    target = write(tmp_path / "real.net", MESSY)
    target.chmod(0o640)
    link = tmp_path / "link.net"
    link.symlink_to(target.name)
    result = cli("fmt", "--write", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "real.net"
    assert target.read_text(encoding="utf-8") == TIDY
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_the_readme_example(cli, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"\$ cat messy.net\n(.*?)\$ netlang fmt messy.net\n(.*?)```", readme, re.S)
    assert found, "the README's formatting example is missing"
    path = write(tmp_path / "messy.net", found.group(1))
    result = cli("fmt", str(path))
    assert (result.exit_code, result.output) == (0, found.group(2))


def test_the_examples_are_in_the_canonical_layout():
    """netlang's own examples are written the way `netlang fmt` lays them out."""
    from conftest import EXAMPLES

    for path in sorted(EXAMPLES.rglob("*.net")):
        if path.parent.name == "mistakes":
            continue
        text = path.read_text(encoding="utf-8")
        assert netlang.format_source(text, str(path)) == text, f"run: netlang fmt --write {path}"
