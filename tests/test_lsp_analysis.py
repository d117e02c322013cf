"""The logic behind the language server (netlang.lsp.analysis, netlang.lexical), without the protocol.

Differential where it can be: references against the grammar's own tokens, renames against
the compiled network, hover equations compiled back into neurons, the token table against
the text it scans; and every question asked of mutated documents, which must never fail.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
from netlang.lexical import rules, scan
from netlang.lsp.analysis import Analysis, RenameRefused, neuron_equation
from netlang.parser import keywords

from conftest import EXAMPLES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import REGRESSIONS, exercise_lsp, mutate, programs, seeds  # noqa: E402

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _name_tokens(text: str, name: str) -> set:
    """Where the scanner (the grammar's terminals) finds ``name`` as a NAME token: (line, column)."""
    found = set()
    line, start = 1, 0
    for token in scan(text):
        if token.kind == "name" and token.text == name:
            found.add((line, token.offset - start + 1))
        if "\n" in token.text:
            line += token.text.count("\n")
            start = token.offset + token.text.rindex("\n") + 1
    return found


@_SETTINGS
@given(programs())
def test_references_are_the_name_tokens_of_the_grammar(text: str):
    analysis = Analysis(text, "<string>")
    assert analysis.checked is not None
    for name in analysis.symbols:
        places = {(o.span.line, o.span.column) for o in analysis.references(name)}
        assert places == _name_tokens(text, name), name


@_SETTINGS
@given(programs(), st.data())
def test_a_rename_keeps_the_network(text: str, data: st.DataObject):
    analysis = Analysis(text, "<string>")
    name = data.draw(st.sampled_from(sorted(analysis.symbols)))
    use = data.draw(st.sampled_from(analysis.references(name)))
    edits = analysis.rename(use.span.line, use.span.column, "renamed_one")
    renamed = _apply(text, analysis, edits)
    assert not _name_tokens(renamed, name)
    before, after = netlang.compile(text), netlang.compile(renamed)
    assert len(before.layers) == len(after.layers)
    for a, b in zip(before.layers, after.layers):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
        assert [c.replace(name, "renamed_one") if c.split("[")[0] == name else c for c in a.columns] == list(b.columns)


def _apply(text: str, analysis: Analysis, edits) -> str:
    for edit in sorted(edits, key=lambda e: (e.span.line, e.span.column), reverse=True):
        start = analysis._offset(edit.span.line, edit.span.column)
        end = analysis._offset(edit.span.end_line, edit.span.end_column)
        text = text[:start] + edit.text + text[end:]
    return text


def test_renames_that_would_break_the_file_are_refused():
    text = "input x1, x2\nnode a = x1 + x2\noutput a\n"
    analysis = Analysis(text, "<string>")
    for new, reason in [("x2", "already"), ("node", "keyword"), ("2a", "not a name"), ("relu", "function")]:
        with pytest.raises(RenameRefused, match=reason):
            analysis.rename(2, 6, new)
    broken = Analysis(text + "node b = (\n", "<string>")
    with pytest.raises(RenameRefused, match="syntax errors"):
        broken.rename(2, 6, "fine")


@_SETTINGS
@given(programs())
def test_a_hover_equation_compiles_back_to_its_row(text: str):
    """Each neuron's equation, as a hover shows it, is netlang: compiled, it is the same row."""
    analysis = Analysis(text, "<string>")
    assert analysis.checked is not None and analysis.network is not None
    sizes = analysis.checked.sizes
    for layer in analysis.network.layers:
        for row in range(layer.shape[0]):
            equation = neuron_equation(layer, row, detail=False)
            if layer.activation[row] == "softmax":
                continue  # softmax is a whole layer's, not one neuron's
            declared = ", ".join(n if sizes[n] is None else f"{n}[{sizes[n]}]" for n in sizes)
            single = netlang.compile(f"input {declared}\nnode e = {equation}\noutput e\n")
            (compiled,) = single.layers
            expected = dict(zip(layer.columns, layer.weights[row]))
            got = dict(zip(compiled.columns, compiled.weights[0]))
            for column in set(expected) | set(got):
                assert got.get(column, 0.0) == expected.get(column, 0.0), (equation, column)
            assert compiled.bias[0] == layer.bias[row] and compiled.activation[0] == layer.activation[row]


def test_hover_texts():
    analysis = Analysis((EXAMPLES / "matrix.net").read_text(), str(EXAMPLES / "matrix.net"))
    text, span = analysis.hover(9, 7)  # layer y
    assert "layer: 3 neurons, reading x (3); weights 3x3" in text
    assert "y[1] = 0.2*x[0] + 0.8*x[1] + 0.2*x[2]" in text
    assert "a 3x3 matrix" in analysis.hover(9, 11)[0]  # W
    assert analysis.hover(1, 3) is None  # a comment


def test_inlay_hints_and_symbols():
    analysis = Analysis((EXAMPLES / "matrix.net").read_text(), "matrix.net")
    assert [(h.line, h.column, h.label) for h in analysis.inlay_hints()] == [(4, 6, ": 3x3"), (9, 8, "[3]")]
    assert [(s.name, s.kind) for s in analysis.document_symbols()] == [
        ("x", "input"), ("W", "constant"), ("y", "layer"), ("y", "output")
    ]


def test_completion_offers_the_grammar_keywords_where_a_statement_starts():
    analysis = Analysis("input x\nno\nnode y = \n", "<string>")
    assert [c.label for c in analysis.completions(2, 3)] == list(keywords())
    labels = {c.label for c in analysis.completions(3, 10)}
    assert {"x", "sigmoid", "step", "load"} <= labels and "node" not in labels


def test_fixes_only_where_the_hint_has_one_exact_fix():
    analysis = Analysis("input x1, x2\nnode y = sigmod(x1)\nnode z = xx2\noutput y, z\n", "<string>")
    titles = sorted(f.title for f in analysis.fixes())
    assert titles == ["Replace 'sigmod' with 'sigmoid'", "Replace 'xx2' with 'x2'"]
    vector = Analysis("input v[2]\nnode y = w[0]\noutput y\n", "<string>")
    assert vector.fixes() == []  # 'w[0]' would need a size: no single exact fix


def test_formatting_is_netlang_fmt():
    text = "input x # in\nnode  y=x\noutput y"
    assert Analysis(text, "<string>").formatted() == netlang.formatter.format_source(text)
    assert Analysis("node y = (\n", "<string>").formatted() is None


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.net")), ids=lambda p: p.name)
def test_scan_covers_the_text_and_knows_every_token_of_the_examples(path: Path):
    text = path.read_text()
    tokens = list(scan(text))
    assert "".join(t.text for t in tokens) == text
    assert [t for t in tokens if t.kind == "error"] == []
    assert {t.text for t in tokens if t.kind == "keyword"} <= set(keywords())


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_scan_never_fails_and_loses_nothing(text: str):
    assert "".join(t.text for t in scan(text)) == text


def test_every_terminal_of_the_grammar_has_a_rule():
    kinds = {rule.kind for rule in rules()}
    assert kinds == {"comment", "whitespace", "newline", "string", "keyword", "name", "number", "operator", "bracket"}
    for word in keywords():
        assert [t.kind for t in scan(word)] == ["keyword"]
        assert [t.kind for t in scan(word + "_1")] == ["name"]


def test_any_text_gets_answers(tmp_path: Path):
    """Mutated examples and error cases (the fuzz suite's mutations) and the fuzz regressions:
    every question gets an answer, never an exception (tests/fuzz.py --lsp runs this for longer)."""
    rng = random.Random(1414)
    cases = seeds()
    texts = [mutate(rng.choice(cases), rng) for _ in range(120)]
    texts += [path.read_bytes() for path in sorted(REGRESSIONS.glob("*.net"))]
    for data in texts:
        report = exercise_lsp(data, tmp_path)
        assert report is None, f"{data[:300]!r}\n{report}"


@pytest.mark.parametrize(
    "written, fixed",
    [("W.T @ x", "x @ W"), ("W' @ x", "x @ W"), ("y @ W.T", "W @ y")],
)
def test_a_transpose_is_rewritten_as_the_order_of_the_product(written: str, fixed: str):
    text = f"input x[2], y[3]\nlet W = [[1, 2, 3], [4, 5, 6]]\nlayer h = {written}\noutput h\n"
    analysis = Analysis(text, "<string>")
    (fix,) = analysis.fixes()
    assert fix.title == f"Rewrite as {fixed}" and fix.diagnostic.code == "syntax-error"
    after = _apply(text, analysis, fix.edits)
    assert after.split("\n")[2] == f"layer h = {fixed}"
    assert [d.code for d in Analysis(after, "<string>").diagnostics if d.severity == "error"] == []


def test_preparing_the_names_gives_up_when_no_longer_wanted():
    """The server's worker makes the names after the diagnostics, and gives up part way when the
    document changes again; the names made afterwards are whole."""
    text = "input x\n" + "".join(f"node n{i} = {i % 7}*x\n" for i in range(1200)) + "output n1199\n"
    asked = []

    def wanted_twice() -> bool:
        asked.append(True)
        return len(asked) <= 2

    analysis = Analysis(text, "many.net")
    analysis.prepare(wanted_twice)
    assert len(asked) == 3 and "_names" not in analysis.__dict__  # asked at statements 0, 500, 1000
    analysis.prepare()
    fresh = Analysis(text, "many.net")
    assert analysis.occurrences == fresh.occurrences and analysis.symbols == fresh.symbols
    assert len(analysis.symbols) == 1201


def test_an_edit_collects_the_names_of_the_statements_it_touched_alone():
    """What a document's Versions keep: after a one-weight edit, the names of every other
    statement are the very objects of the version before, and all of them are a fresh analysis's."""
    from netlang.lsp.analysis import Versions

    text = "input x1, x2\nnode a = sigmoid(0.5*x1 + x2)\nnode b = relu(x1 - 2*x2)\nnode y = step(a + b > 1)\noutput y\n"
    edited = text.replace("0.5*x1", "0.25*x1")
    versions = Versions()
    before = Analysis(text, "model.net", versions)
    before.prepare()
    after = Analysis(edited, "model.net", versions)
    fresh = Analysis(edited, "model.net")
    assert after.symbols == fresh.symbols and after.occurrences == fresh.occurrences
    old = {(o.span.line, o.span.column): o for o in before.occurrences}
    for occurrence in after.occurrences:
        same_object = old.get((occurrence.span.line, occurrence.span.column)) is occurrence
        assert same_object == (occurrence.span.line != 2), occurrence  # line 2 alone was walked again
    assert after.hover(2, 6) == fresh.hover(2, 6) and "0.25" in after.hover(2, 6)[0]
    assert repr(versions).startswith("Versions(IncrementalParser(")
