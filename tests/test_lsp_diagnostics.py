"""The language server's diagnostics path is exactly the full pipeline's.

``lint.diagnose`` (what ``netlang check`` and the server run) does not lower a program to find
its errors: the checker reports what lowering would refuse (too many signals, overflowing
weights) and the expectations are validated against the checked program. Here it is
compared with the full pipeline (parse, check, lower, expectations, warnings), the
reference, over the examples, the error catalogue, generated programs, and mutations of them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlang import limits
from netlang.errors import NetlangError
from netlang.expectations import expectations
from netlang.lint import diagnose, find_warnings
from netlang.pipeline import check, lower, text_source

from conftest import EXAMPLES, ROOT
from generators import programs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import mutate  # noqa: E402

Found = List[Tuple[str, str, Tuple[int, int, int, int], str, str]]


def _as_data(diagnostics: List[NetlangError]) -> Found:
    return [(d.code, d.severity, (d.line, d.column, d.end_line, d.end_column), d.message, d.hint or "") for d in diagnostics]


def reference(text: str, filename: str) -> Found:
    """Every diagnostic, the long way: the network lowered, the expectations checked against it."""
    try:
        checked = check(text_source(text, filename))
        lower(checked)
        expectations(checked)
    except NetlangError as error:
        return _as_data(list(error.errors))
    return _as_data(find_warnings(checked))


def _same(text: str, filename: str = "model.net") -> None:
    diagnosis = diagnose(filename, source=text)
    assert _as_data(diagnosis.diagnostics) == reference(text, filename)
    if diagnosis.checked is not None:  # the network, lowered when asked for, is the pipeline's
        assert diagnosis.network is not None
        assert diagnosis.network.input_width == lower(diagnosis.checked).input_width


def _cases() -> List[Path]:
    cases = sorted(EXAMPLES.glob("**/*.net")) + sorted((ROOT / "tests" / "errors").glob("*.net"))
    return [case for case in cases if case.stat().st_size < 100_000]


def test_the_examples_and_the_error_catalogue():
    compared = 0
    for path in _cases():
        text = path.read_bytes().decode("utf-8", errors="replace")
        diagnosis = diagnose(path, source=text)
        assert _as_data(diagnosis.diagnostics) == reference(text, str(path)), path.name
        compared += 1
    assert compared > 100


@pytest.mark.parametrize(
    "text",
    [
        "input x1\nnode y = 1e300*(1e300*x1)\n",  # lowering's overflow: a unit's weights
        "input x1\nnode a = 1e300*(1e300*x1)\nnode b = x1 - 1e300*(1e300*(1e300*x1))\nnode y = a + b\noutput y\n",
        "input x[2]\nlet w = [1e200, 1]\nlayer h = 1e200*(w * x)\noutput h\n",  # a vector unit's weights
        "input x1\nnode y = 1e300*(1e300*x1) + 1e300*(1e300)\n",
        "input x1\nnode a = x1\nnode b = 1e300*(1e300*a)\nnode c = 1e300*(1e300*x1)\noutput b, c\n",  # two layers
        "input x1, x2\nnode y = 1e308*x1 + 1e308*x1\n",  # a sum of terms on one signal
        "input x1, x2\nnode y = step(x1 + x2 > 1)\nexpect (1, 1) -> 1\nexpect (1, 1, 0) -> 1\n",  # the expectations' widths
        "input x1\nnode y = 1e300*(1e300*x1)\nexpect 1 -> 1\n",
    ],
)
def test_programs_that_lowering_or_expectations_reject(text: str):
    _same(text)


def test_too_many_signals(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(limits, "MAX_SIGNALS", 5)
    text = "input x[3]\nlayer h = sigmoid(x)\nnode y = h[0]\noutput y\n"
    assert [d[0] for d in reference(text, "model.net")] == ["limit-exceeded"]
    _same(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(with_expect=True), st.integers(0, 2**32))
def test_generated_programs_and_their_mutations(text: str, seed: int):
    _same(text)
    rng = random.Random(seed)
    data = text.encode()
    for _ in range(3):
        data = mutate(data, rng)
        _same(data.decode("utf-8", errors="replace"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(programs(with_expect=True), min_size=1, max_size=3), st.integers(0, 2**32))
def test_the_servers_analysis_edit_after_edit(texts: List[str], seed: int):
    """One document edited again and again, as the server holds it (one incremental parser,
    one memo and the names of each statement for all its versions): each version's
    diagnostics are what ``netlang check`` says of its text, its names those of a fresh analysis."""
    from netlang.lsp.analysis import Analysis, Versions

    versions = Versions()
    rng = random.Random(seed)
    for text in texts:
        data = text.encode()
        for _ in range(4):
            version = data.decode("utf-8", errors="replace")
            analysis = Analysis(version, "model.net", versions)
            assert _as_data(analysis.diagnostics) == reference(version, "model.net")
            fresh = Analysis(version, "model.net")
            assert analysis.program == fresh.program  # the tree hovers and renames use
            assert analysis.symbols == fresh.symbols and analysis.occurrences == fresh.occurrences
            data = mutate(data, rng)
