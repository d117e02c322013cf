"""docs/scale.md: its ```python examples run and show what they print (as docs/api.md's)."""

from __future__ import annotations

import doctest

import pytest

from conftest import ROOT
from test_api_docs import python_blocks_only

SCALE = ROOT / "docs" / "scale.md"


def test_the_scale_examples_run_and_show_their_results(monkeypatch):
    pytest.importorskip("torch", reason="the examples use PyTorch (pip install torch==2.13.0)")
    monkeypatch.chdir(ROOT)
    text = python_blocks_only(SCALE.read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(text, {}, "docs/scale.md", str(SCALE), 0)
    assert len(test.examples) >= 3
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "\n".join(failures)
