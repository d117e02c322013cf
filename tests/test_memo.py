"""The checker with a document's memo (netlang.memo, what the language server keeps between
versions) against the checker from scratch: after every edit, the same diagnostics and the
same checked program, bit for bit (forms, constants, depths, order, outputs, the graph)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any, List, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlang import limits, pipeline
from netlang.checker import CheckedProgram
from netlang.errors import NetlangError
from netlang.forms import Diag, ScalarForm
from netlang.grids import GRIDS, NUMPY
from netlang.lint import diagnose, find_warnings
from netlang.memo import Memo
from netlang.parser import IncrementalParser

from fuzzing import ERROR_CASES, EXAMPLES, mutate
from generators import edited, programs, syntax_programs


def _bits(value: Any) -> Any:
    """A number or an array as exact data: 0.0 and -0.0 differ, and so do float32 and float64."""
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, Diag):
        return ("diag", _bits(value.d))
    array = np.asarray(value)
    return ("array", type(value).__name__, array.dtype.str, array.shape, array.tobytes())


def _form(form: Any) -> Any:
    if isinstance(form, ScalarForm):
        return ("scalar", _bits(form.const), [(key, _bits(c)) for key, c in form.coeffs.items()])
    return ("vector", form.size, _bits(form.const), [(key, _bits(block)) for key, block in form.terms.items()])


def _checked(checked: CheckedProgram) -> Any:
    units = [
        (u.name, u.size, u.activation, _form(u.form), u.depth, u.statement, u.statement.span, u.statement is s)
        for u, s in zip(checked.units, [_statement(checked, u.name) for u in checked.units])
    ]
    assert checked.dependencies is not None
    return (
        checked.program.to_json(),
        [(var.name, var.size) for var in checked.inputs],
        {name: _bits(value) for name, value in checked.constants.items()},
        units,
        checked.outputs,
        checked.sizes,
        {key: _bits(array) for key, array in checked.loaded.items()},
        repr(checked.settings),
        checked.dependencies.reads,
    )


def _statement(checked: CheckedProgram, name: str) -> Any:
    return next(s for s in checked.program.statements if getattr(s, "name", None) == name)


def _outcome(text: str, filename: str, parser: Any = None, memo: Any = None) -> Tuple[Any, ...]:
    diagnosis = diagnose(filename, source=text, parser=parser, memo=memo)
    return _rendered(diagnosis.diagnostics), None if diagnosis.checked is None else _checked(diagnosis.checked)


def _rendered(diagnostics: List[NetlangError]) -> List[Any]:
    return [(d.format(), d.code, d.severity, d.span, d.hint) for d in diagnostics]


class _Document:
    """One document checked version after version as the language server does it, and each
    version also checked from scratch."""

    def __init__(self, filename: str = "edited.net") -> None:
        self.filename = filename
        self.parser = IncrementalParser()
        self.memo = Memo()

    def assert_same(self, text: str) -> None:
        assert _outcome(text, self.filename, self.parser, self.memo) == _outcome(text, self.filename), text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), start=st.one_of(programs(with_expect=True), programs(), syntax_programs()), seed=st.integers(0, 2**32))
def test_every_edit_of_generated_programs_checks_as_from_scratch(data, start, seed):
    """Edits as typed (often breaking the syntax for a while) and edits of meaning (a name for
    another, a number for another), one after the other on one document."""
    document = _Document()
    rng = random.Random(seed)
    text = start
    document.assert_same(text)
    for _ in range(data.draw(st.integers(1, 8))):
        if data.draw(st.booleans()):
            text = data.draw(edited(text))
        else:
            text = mutate(text.encode(), rng).decode("utf-8", errors="replace")
        document.assert_same(text)


def test_successive_mutations_of_the_examples_and_error_cases_check_as_from_scratch():
    rng = random.Random(10)
    paths = sorted(EXAMPLES.glob("*.net")) + sorted(ERROR_CASES.glob("*.net"))
    assert len(paths) > 50
    for path in paths:
        document = _Document(str(path))  # load(...) reads the files beside it
        data = path.read_bytes()
        for _ in range(5):
            document.assert_same(data.decode("utf-8", errors="replace"))
            data = mutate(data, rng)


NETLIST = "input x1, x2\nlet a = 2\nnode h1 = sigmoid(0.5*x1 + a*x2)\nnode h2 = relu(x1 - x2)\nnode y = step(h1 + h2 > 1)\noutput y\n"


def test_an_edit_recomputes_only_what_changed_and_what_reads_a_changed_constant():
    document = _Document()
    document.assert_same(NETLIST)
    assert document.memo.reused == 0
    document.assert_same(NETLIST.replace("relu(x1", "relu(3*x1"))  # h2 changed: h1 and y are taken
    assert document.memo.reused == 2
    document.assert_same(NETLIST.replace("let a = 2", "let a = 3"))  # h1 reads a, h2 changed back
    assert document.memo.reused == 1
    document.assert_same("# a comment moves every line\n" + NETLIST.replace("let a = 2", "let a = 3"))
    assert document.memo.reused == 3


def test_a_constant_that_changes_only_its_sign_of_zero_is_a_change():
    document = _Document()
    document.assert_same(NETLIST.replace("let a = 2", "let a = 0"))
    document.assert_same(NETLIST.replace("let a = 2", "let a = -0"))
    assert document.memo.reused == 2  # h2 and y; h1's weight of x2 is -0.0 now


def test_a_size_that_changes_is_a_change():
    document = _Document()
    text = "input v[2]\nlayer h[2] = sigmoid(v)\nlet w = [1, 2]\nnode y = w @ h\noutput y\n"
    document.assert_same(text)
    document.assert_same(text.replace("input v[2]", "input v[3]").replace("h[2]", "h[3]"))
    document.assert_same(text.replace("input v[2]", "input v[3]").replace("h[2]", "h[3]").replace("[1, 2]", "[1, 2, 3]"))
    document.assert_same(text)
    assert document.memo.reused == 0


def test_a_weight_file_that_changes_is_read_again(tmp_path: Path):
    path = tmp_path / "model.net"
    text = 'input v[2]\nlayer h[2] = sigmoid(load("w.npy") @ v)\noutput h\n'
    document = _Document(str(path))
    np.save(tmp_path / "w.npy", np.eye(2))
    document.assert_same(text)
    np.save(tmp_path / "w.npy", 2 * np.eye(2))
    document.assert_same(text)
    first = diagnose(path, source=text, parser=document.parser, memo=document.memo)
    assert first.checked is not None and first.checked.units[0].form.terms["v"][0, 0] == 2.0


def test_the_folding_budget_is_charged_for_values_taken(monkeypatch: pytest.MonkeyPatch):
    """A value taken from the memo counts its folding work (h: a matrix literal's bytes; k: the
    negation's multiply-adds), so the program-wide limits are reported where a check from
    scratch reports them: the limits fall from version to version."""
    text = "input v[2]\nlet W = [[1, 2], [3, 4]]\nlayer h = sigmoid([[1, 2], [3, 4]] @ v)\nlayer k = relu(-W @ h)\noutput k\n"
    extra = text.replace("let W", "let big = [1, 2, 3, 4]\nlet W")
    document = _Document()
    reused = 0
    for limit in reversed(range(0, 400, 8)):
        monkeypatch.setattr(limits, "MAX_FOLDED_BYTES", limit)
        monkeypatch.setattr(limits, "MAX_FOLDING_MULTIPLY_ADDS", limit // 16)
        for version in (text, extra):
            document.assert_same(version)
            reused += document.memo.reused
    assert reused > 20


@settings(max_examples=60, deadline=None)
@given(programs(with_expect=True))
def test_the_warnings_from_the_checkers_graph_are_those_of_a_graph_built_again(text: str):
    checked = diagnose("x.net", source=text).checked
    assert checked is not None
    rebuilt = find_warnings(dataclasses.replace(checked, dependencies=None))
    assert _rendered(find_warnings(checked)) == _rendered(rebuilt)


def test_the_memo_says_what_it_holds():
    document = _Document()
    document.assert_same(NETLIST)
    document.assert_same(NETLIST)
    assert repr(document.memo) == "Memo(3 values, 3 reused last time)"


def test_a_cycle_is_reported_again_after_an_edit_that_keeps_the_graph():
    text = "input x\nnode a = sigmoid(0.5*b + x)\nnode b = relu(a)\nnode y = step(b > 0.5)\noutput y\n"
    document = _Document()
    for version in (text, text.replace("0.5*b", "0.25*b"), text.replace("> 0.5", "> 0.7")):
        document.assert_same(version)
        assert [d.code for d in diagnose("x.net", source=version).diagnostics] == ["cycle"]


def test_values_made_with_one_kind_of_array_are_made_again_with_the_other():
    """The server checks with Grids until numpy is imported (for a hover), then with numpy's
    arrays: a checked program holds one kind, as a check from scratch does."""
    text = "input v[2]\nlayer h[2] = sigmoid(v)\nlet W = [[1, 2], [3, 4]]\nlayer k = relu(W @ h - v)\noutput k\n"
    memo = Memo()
    for arrays, reused in [(GRIDS, 0), (GRIDS, 2), (NUMPY, 0), (NUMPY, 2), (GRIDS, 0)]:
        kept = pipeline.check(pipeline.text_source(text, "x.net"), memo=memo, arrays=arrays)
        assert memo.reused == reused
        assert _checked(kept) == _checked(pipeline.check(pipeline.text_source(text, "x.net"), arrays=arrays))


def test_a_number_spelled_otherwise_is_a_change():
    """0 and 1e-400 are equal numbers (1e-400 underflows), and only the second is an error."""
    document = _Document()
    for version in (NETLIST, NETLIST.replace("0.5*x1", "0*x1"), NETLIST.replace("0.5*x1", "1e-400*x1"), NETLIST.replace("0.5*x1", "0*x1")):
        document.assert_same(version)
    assert [d.code for d in diagnose("x.net", source=NETLIST.replace("0.5*x1", "1e-400*x1")).diagnostics] == ["number-out-of-range"]
