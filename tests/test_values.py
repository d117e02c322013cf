"""The value of an expression (netlang.values) behind its Scope, the folding budget, the callables table."""

from __future__ import annotations

from typing import Dict, List, Optional, Union

import numpy as np
import pytest

import netlang
from netlang import limits
from netlang.activations import ACTIVATIONS
from netlang.callables import BUILTINS, CALLABLES, PUBLIC_NAMES
from netlang.dependencies import Dependencies
from netlang.forms import ScalarForm, VectorForm
from netlang.nodes import Let, Node, Span
from netlang.values import _BUILTINS, Budget, Constant, Failed, Signal, Values


class DictScope:
    """A Scope of fixed names: what a caller other than the checker gives ``Values``."""

    def __init__(self, names: Dict[str, Union[Constant, Signal]]) -> None:
        self.names = names
        self.errors: List[str] = []

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> Failed:
        self.errors.append(f"{code}: {message}")
        return Failed()

    def resolve(self, name: str, span: Span, indexed: bool) -> Union[Constant, Signal]:
        if name not in self.names:
            raise self.error(f"unknown name '{name}'", span, "unknown-name")
        return self.names[name]

    def is_scalar_signal(self, name: str) -> bool:
        meaning = self.names.get(name)
        return isinstance(meaning, Signal) and meaning.size is None

    def read_weights(self, path: str, key: Optional[str], path_span: Span, span: Span) -> np.ndarray:
        raise self.error("no files here", span, "file-missing")


def _expr(text: str):
    (statement,) = [s for s in netlang.parse(f"let value = {text}\n").statements if isinstance(s, Let)]
    return statement.value


def _value(text: str, names: Dict[str, Union[Constant, Signal]]):
    scope = DictScope(names)
    return Values(scope, Budget()).value(_expr(text)), scope


def test_values_need_only_a_scope():
    form, scope = _value("2*x - 0.5*v[1] + k", {"x": Signal("x", None), "v": Signal("v", 3), "k": 1.5})
    assert isinstance(form, ScalarForm)
    assert form.coeffs == {"x": 2.0, ("v", 1): -0.5} and form.const == 1.5
    assert scope.errors == []


def test_a_matrix_times_a_vector_signal_is_a_vector_form():
    form, _ = _value("W @ v + b", {"W": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), "v": Signal("v", 2), "b": 1.0})
    assert isinstance(form, VectorForm) and form.size == 3
    assert form.const.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x * x", "not-linear: '*' multiplies two signals (x and x)"),
        ("v + [1, 2]", "shape-mismatch: shapes do not match for '+': v has 3 elements but the right side has 2 elements"),
        ("x / 0", "division-by-zero: division by zero (the divisor is 0)"),
        ("sigmoid(x)", "misplaced-activation: sigmoid(...) must be the whole right-hand side of a node or layer"),
        ("load(\"w.npy\")", "file-missing: no files here"),
        ("nope", "unknown-name: unknown name 'nope'"),
    ],
)
def test_rules_report_to_the_scope(text, expected):
    scope = DictScope({"x": Signal("x", None), "v": Signal("v", 3)})
    with pytest.raises(Failed):
        Values(scope, Budget()).value(_expr(text))
    assert scope.errors[0].startswith(expected), scope.errors


def test_definition_gives_activation_form_and_size():
    (node,) = [s for s in netlang.parse("node y = step(x >= 2)\n").statements if isinstance(s, Node)]
    activation, form, size = Values(DictScope({"x": Signal("x", None)}), Budget()).definition(node)
    assert (activation, size) == ("step_ge", None)
    assert isinstance(form, ScalarForm) and form.coeffs == {"x": 1.0} and form.const == -2.0


def test_the_folding_budget_is_counted_for_the_whole_program(monkeypatch):
    # Each product is 4*4*4 = 64 multiply-adds; the three together cross a limit of 150.
    source = "let A = [[1,2,3,4],[5,6,7,8],[9,1,2,3],[4,5,6,7]]\nlet B = A @ A\nlet C = B @ A\nlet D = C @ A\nlet d = D @ [1, 0, 0, 0]\ninput x\nnode y = d[0]*x\n"
    netlang.compile(source)  # within the real limits
    monkeypatch.setattr(limits, "MAX_FOLDING_MULTIPLY_ADDS", 150)
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(source, "t.net")
    error = info.value
    assert (error.code, error.line, error.column) == ("limit-exceeded", 4, 9)
    assert "192 multiply-adds" in error.message and "MAX_FOLDING_MULTIPLY_ADDS" in error.message
    assert len(error.errors) == 1


def test_the_folded_bytes_are_counted_before_the_array_is_made(monkeypatch):
    # Each outer product is 3x3 (72 bytes); the second crosses a limit of 100 bytes in all.
    source = "let c = [[1], [2], [3]]\nlet r = [[1, 2, 3]]\nlet P = c @ r\nlet Q = c @ r\nlet R = c @ r\nlet p = P @ [1, 1, 1]\nlet q = Q @ [1, 1, 1]\ninput x\nnode y = p[0]*x + q[1]*x\n"
    monkeypatch.setattr(limits, "MAX_FOLDED_BYTES", 100)
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(source, "t.net")
    assert info.value.code == "limit-exceeded" and info.value.line == 3
    assert "MAX_FOLDED_BYTES" in info.value.message
    assert len(info.value.errors) == 1  # reported once, not again for Q


def test_one_table_names_every_callable():
    activations = {name for name, c in CALLABLES.items() if c.kind == "activation"}
    assert activations == set(ACTIVATIONS)
    assert set(BUILTINS) == set(_BUILTINS) == {"load"}
    assert set(PUBLIC_NAMES) == {name for name, a in ACTIVATIONS.items() if a.public}
    for name, activation in ACTIVATIONS.items():
        assert (activation.summary, activation.whole_vector, activation.public) == (
            CALLABLES[name].summary,
            CALLABLES[name].whole_vector,
            CALLABLES[name].public,
        )


def test_dependencies_order_cycles_readers_reached():
    values = {name: _expr(text) for name, text in {"a": "b + c", "b": "c", "c": "x", "d": "d + a", "e": "f", "f": "e"}.items()}
    graph = Dependencies(values)
    cycles: List[List[str]] = []
    order = graph.order(cycles.append)
    assert cycles == [["d"], ["e", "f"]]
    assert order.index("c") < order.index("b") < order.index("a")
    assert graph.readers()["c"] == ["a", "b"] and "d" not in graph.readers().get("d", [])
    assert graph.reached(["a"]) == {"a", "b", "c", "x"}


def test_name_list_shows_the_first_names():
    from netlang.errors import name_list

    names = [f"x{i}" for i in range(20)]
    assert name_list(names[:8]) == "x0, x1, x2, x3, x4, x5, x6, x7"
    assert name_list(names) == "x0, x1, x2, x3, x4, x5, x6, x7, ..."
    assert name_list(names, count="in all").endswith("x7, ... (20 in all)")
    assert name_list(names, 16, "more").endswith("x15, ... (4 more)")


def test_the_warnings_of_a_file_split_its_source_once_and_are_capped():
    from netlang import errors
    from netlang.lint import find_warnings

    count = limits.MAX_WARNINGS + 50
    source = "input x\noutput y\nnode y = x\n" + "".join(f"node u{i} = x\n" for i in range(count))
    from netlang.pipeline import check_program

    warnings = find_warnings(check_program(source, "t.net"))
    assert len(warnings) == limits.MAX_WARNINGS
    assert [w.line for w in warnings] == list(range(4, 4 + limits.MAX_WARNINGS))  # the first, in file order
    before = errors._lines.cache_info().misses
    text = "\n".join(w.format() for w in warnings)
    assert errors._lines.cache_info().misses == before + 1
    assert text.count("does not reach any output") == limits.MAX_WARNINGS


def test_an_input_read_by_many_unreachable_nodes_names_its_first_readers():
    from netlang.lint import find_warnings
    from netlang.pipeline import check_program

    source = "input x, z\noutput y\nnode y = z\n" + "".join(f"node u{i} = x\n" for i in range(20))
    (unused, *_) = find_warnings(check_program(source, "t.net"))
    assert unused.message == "input 'x' is not used by any output"
    assert unused.hint == "it is read only by 'u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', ... (20 in all), which no output depends on"
