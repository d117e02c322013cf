"""The catalogue of errors: every error a user can meet has a golden example, documented in docs/errors.md."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

from conftest import ROOT, golden
from error_catalogue import (
    case_paths,
    case_text,
    codes_in_source,
    codes_raised,
    formatted,
    run_case,
    run_cli_case,
)

sys.path.insert(0, str(ROOT / "docs"))
import make_errors  # noqa: E402  (docs/make_errors.py, the generator of docs/errors.md)


@functools.lru_cache(maxsize=None)
def _source_codes() -> frozenset:
    return frozenset(codes_in_source())


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_golden_error(path: Path):
    error = run_case(path)
    golden(path.with_suffix(".err"), formatted(error))
    lines = case_text(path).splitlines()
    for each in error.errors:
        assert each.code in _source_codes(), f"{each.code} is not a code in netlang's source"
        if each.line:  # located: the place is inside the file
            assert 1 <= each.line <= max(len(lines), 1) + 1
            assert each.column >= 1
            assert (each.end_line, each.end_column) >= (each.line, each.column)


@pytest.mark.parametrize("path", case_paths(cli=True), ids=lambda p: p.stem)
def test_golden_command_line_error(path: Path):
    output = run_cli_case(path)
    golden(path.with_suffix(".err"), output)
    assert "Traceback" not in output and output.endswith(("(exit status 1)\n", "(exit status 2)\n"))


def test_every_error_code_has_a_golden_example():
    raised = set()
    for path in case_paths():
        raised.update(codes_raised(run_case(path)))
    missing = {code: places for code, places in codes_in_source().items() if code not in raised}
    assert not missing, (
        "these error codes have no example in tests/errors/ (add NAME.net, then run "
        f"NETLANG_UPDATE_GOLDEN=1 pytest tests/test_error_catalogue.py): {missing}"
    )


def test_every_code_is_explained():
    assert set(codes_in_source()) == set(make_errors.EXPLANATIONS), (
        "docs/make_errors.py EXPLANATIONS must explain exactly the codes in netlang's source"
    )


def test_the_code_scanner_finds_codes_passed_every_way(tmp_path):
    (tmp_path / "m.py").write_text(
        "def fail(message, span, code, hint=None): ...\n"
        "class Problem(Exception):\n"
        "    def __init__(self, message, code='default-code'): ...\n"
        "fail('m', None, 'by-position')\n"
        "fail('m', None, code='by-keyword')\n"
        "Problem('m')\n"
        "Problem('m', 'positional-in-class')\n"
    )
    assert set(codes_in_source(tmp_path)) == {"by-position", "by-keyword", "default-code", "positional-in-class"}


def test_docs_errors_md_is_generated_from_the_golden_files():
    expected = make_errors.render()
    actual = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/errors.md is out of date: run python docs/make_errors.py"
