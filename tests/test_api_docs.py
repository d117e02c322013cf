"""docs/api.md: every ```python block runs, and shows what it really prints."""

from __future__ import annotations

import doctest
import re

import pytest
from conftest import ROOT

API = ROOT / "docs" / "api.md"


def python_blocks_only(markdown: str) -> str:
    """The text of the ```python blocks, every other line blanked so line numbers stay right."""
    kept = []
    inside = False
    for line in markdown.splitlines():
        if re.fullmatch(r"```python\s*", line):
            inside = True
            kept.append("")
        elif inside and line.strip() == "```":
            inside = False
            kept.append("")
        else:
            kept.append(line if inside else "")
    assert not inside, "an unclosed ```python block"
    return "\n".join(kept) + "\n"


def test_the_api_examples_run_and_show_their_results(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name files such as examples/xor.net
    text = python_blocks_only(API.read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(text, {}, "docs/api.md", str(API), 0)
    assert len(test.examples) > 40  # every block was found
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "\n".join(failures)


def test_the_extraction_sees_a_wrong_result():
    # The check above can fail: a block whose shown result is wrong is reported.
    text = python_blocks_only("text\n```python\n>>> 1 + 1\n3\n```\n")
    test = doctest.DocTestParser().get_doctest(text, {}, "t", "t", 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda _: None)
    assert (runner.tries, runner.failures) == (1, 1)


@pytest.mark.parametrize("section", ["Parse", "Inspect the syntax tree", "Compile", "Inspect the layers", "Evaluate", "Catch errors"])
def test_the_api_page_covers(section):
    assert f"\n## {section}\n" in API.read_text(encoding="utf-8")
