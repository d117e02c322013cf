"""The trainable syntax: param declarations, param node/layer, initialisers, train settings."""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Union

import jsonschema
import numpy as np
import pytest

from netlang import schema
from netlang.pipeline import check_program, compile
from netlang.errors import NetlangError
from netlang.formatter import format_source
from netlang.errors import Failed
from netlang.nodes import Expr, Layer, Node, Param, Program, Span, Train
from netlang.params import PRESETS, generator, param_value, train_settings
from netlang.values import Budget, Signal, Values
from netlang.parser import parse

SOURCE = """\
input x[2]
param W[3, 2] = xavier()  # drawn from the seed
param b = [0.1, 0.2, 0.3]
param layer h[3] = sigmoid(W @ x + b)
param node y = step(0.5*h[0] + 0.5*h[1] > 0.7)
output y
train rate = 0.3, epochs = 5, loss = cross_entropy, seed = 3
"""


def test_the_statements_parse_into_their_nodes():
    program = parse(SOURCE)
    kinds = [type(s).__name__ for s in program.statements]
    assert kinds == ["Input", "Param", "Param", "Layer", "Node", "Output", "Train"]
    weights = program.statements[1]
    assert isinstance(weights, Param) and weights.shape == (3, 2)
    layer, node = program.statements[3], program.statements[4]
    assert isinstance(layer, Layer) and layer.learned
    assert isinstance(node, Node) and node.learned
    assert not parse("input x\nnode y = x\noutput y").statements[1].learned
    train = program.statements[6]
    assert isinstance(train, Train)
    assert [s.name for s in train.settings] == ["rate", "epochs", "loss", "seed"]


def test_param_and_train_are_keywords():
    with pytest.raises(NetlangError):
        parse("input x\nnode train = x\noutput train")
    with pytest.raises(NetlangError):
        parse("input param\nnode y = param\noutput y")


def test_formatting_is_canonical_and_stable():
    messy = SOURCE.replace("param W[3, 2] = xavier()", "param   W[3,2]=xavier( )").replace("rate = 0.3", "rate=0.3")
    formatted = format_source(messy)
    assert formatted == SOURCE
    assert format_source(formatted) == formatted


def test_the_json_ast_round_trips_and_fits_the_schema():
    program = parse(SOURCE)
    data = program.to_json()
    jsonschema.Draft202012Validator(schema.load("ast")).validate(data)
    back = Program.from_json(json.loads(json.dumps(data)))
    assert back == program
    assert back.statements[4].learned


def test_initialisers_draw_from_the_seed_and_the_name():
    network = compile(SOURCE)
    expected = (1 / np.sqrt(2)) * generator(3, "W").standard_normal((3, 2))
    assert np.array_equal(network.layers[0].weights, expected)
    other_seed = compile(SOURCE.replace("seed = 3", "seed = 4"))
    assert not np.array_equal(other_seed.layers[0].weights, expected)
    # The seed given from outside (the command line's --seed) wins over the file's.
    checked = check_program(SOURCE.replace("seed = 3", "seed = 4"))
    assert checked.constants["W"].shape == (3, 2)
    from netlang.checker import check

    again = check(parse(SOURCE), SOURCE, seed=4)
    assert np.array_equal(again.constants["W"], checked.constants["W"])


@pytest.mark.parametrize(
    "init, reference",
    [
        ("zeros()", lambda rng, shape: np.zeros(shape)),
        ("normal(0.5, 0.01)", lambda rng, shape: 0.5 + 0.01 * rng.standard_normal(shape)),
        ("uniform(-1, 1)", lambda rng, shape: -1 + 2 * rng.random(shape)),
        ("xavier()", lambda rng, shape: (1 / np.sqrt(shape[1])) * rng.standard_normal(shape)),
        ("xavier(4)", lambda rng, shape: 0.5 * rng.standard_normal(shape)),
        ("he()", lambda rng, shape: np.sqrt(2 / shape[1]) * rng.standard_normal(shape)),
    ],
)
def test_each_initialiser_draws_what_it_documents(init, reference):
    source = f"input x[5]\nparam W[3, 5] = {init}\nlayer y = W @ x\noutput y\n"
    values = check_program(source).constants["W"]
    assert np.array_equal(values, reference(generator(0, "W"), (3, 5)))


def test_a_written_param_is_a_constant_like_let():
    let = compile("input x[2]\nlet W = [[1, 2], [3, 4]]\nlayer y = W @ x\noutput y")
    param = compile("input x[2]\nparam W[2, 2] = [[1, 2], [3, 4]]\nlayer y = W @ x\noutput y")
    assert np.array_equal(let.layers[0].weights, param.layers[0].weights)
    assert np.array_equal(param.run({"x": [1, 1]})["y"], [3.0, 7.0])


def test_the_exact_interpreter_reads_params():
    from netlang.interpreter import EXACT, interpret

    checked = check_program("input x\nparam w = 0.5\nnode y = w*x + 1\noutput y")
    env = interpret(checked, {"x": 2}, arithmetic=EXACT)
    assert env["y"] == 2


def test_settings_are_read_with_spans_and_presets_resolve_under_them():
    checked = check_program("input x\nparam w = 1\nnode y = w*x\noutput y\ntrain preset = rashid, rate = 0.5/4\n")
    settings = checked.settings
    assert settings.values == {"preset": "rashid", "rate": 0.125}
    assert settings.spans["rate"].line == 5
    resolved = settings.resolved({"epochs": 5, "batch": None})
    assert resolved["rate"] == 0.125 and resolved["epochs"] == 5
    assert resolved["batch"] == PRESETS["rashid"]["batch"] == 1
    assert resolved["scale"] == 0.99 / 255 and resolved["shift"] == 0.01


def test_loss_may_be_written_with_a_hyphen_in_quotes():
    checked = check_program('input x\nparam w = 1\nnode y = w*x\noutput y\ntrain loss = "cross-entropy", shuffle = no\n')
    assert checked.settings.values == {"loss": "cross_entropy", "shuffle": False}


@pytest.mark.parametrize(
    "line, code",
    [
        ("train rate = 0", "bad-setting"),
        ("train epochs = 2.5", "bad-setting"),
        ("train seed = -1", "bad-setting"),
        ("train shuffle = 1", "bad-setting"),
        ("train data = trainset", "bad-setting"),
        ("train rate = x", "signal-in-constant"),
        ("train speed = 1", "unknown-setting"),
        ("train rate = 1, rate = 2", "duplicate-setting"),
    ],
)
def test_bad_settings_are_located_errors(line, code):
    with pytest.raises(NetlangError) as caught:
        check_program(f"input x\nparam w = 1\nnode y = w*x\noutput y\n{line}\n")
    assert [e.code for e in caught.value.errors] == [code]
    assert caught.value.errors[0].line == 5


@pytest.mark.parametrize(
    "param, code",
    [
        ("param W[2, 2] = xavier(1, 2)", "bad-arguments"),
        ("param W[2, 2] = normal(0, -1)", "bad-arguments"),
        ("param W[2, 2, 2] = zeros()", "bad-shape"),
        ("param W[2, 3] = [[1, 2], [3, 4]]", "shape-mismatch"),
        ("param W[2, 2] = xavier(0)", "bad-arguments"),
        ("param W[20000, 20000] = zeros()", "limit-exceeded"),
    ],
)
def test_bad_params_are_located_errors(param, code):
    with pytest.raises(NetlangError) as caught:
        check_program(f"input x[2]\n{param}\nlayer y = W @ x\noutput y\n")
    assert caught.value.errors[0].code == code
    assert caught.value.errors[0].line == 2


def test_an_unused_param_is_a_warning(tmp_path):
    from netlang.lint import diagnose

    path = tmp_path / "u.net"
    path.write_text("input x\nparam w = 1\nparam v[2] = zeros()\nnode y = w*x\noutput y\n")
    warnings = diagnose(path).warnings
    assert [(w.code, w.line, w.message) for w in warnings] == [("unused-constant", 3, "param 'v' is never used")]


# --- params behind their ParamScope (what the checker implements) ---------------------------


class FoldingScope:
    """A ParamScope over fixed constants, folding with the real netlang.values (as the checker does)."""

    def __init__(self, constants: Dict[str, Union[float, np.ndarray]]) -> None:
        self.names = constants
        self.errors: List[str] = []
        self.values = Values(self, Budget())

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> Failed:
        self.errors.append(f"{code}: {message}")
        return Failed()

    def resolve(self, name: str, span: Span, indexed: bool) -> Union[float, np.ndarray, Signal]:
        if name not in self.names:
            raise self.error(f"unknown name '{name}'", span, "unknown-name")
        return self.names[name]

    def is_scalar_signal(self, name: str) -> bool:
        return False

    def read_weights(self, path: str, key: Optional[str], path_span: Span, span: Span) -> np.ndarray:
        raise self.error("no files here", span, "file-missing")

    def fold(self, expr: Expr) -> Union[float, np.ndarray]:
        value = self.values.value(expr)
        assert isinstance(value, (float, np.ndarray))
        return value


def _param(text: str) -> Param:
    (statement,) = [s for s in parse(text + "\n").statements if isinstance(s, Param)]
    return statement


def test_param_value_needs_only_a_scope_and_draws_what_the_checker_draws():
    scope = FoldingScope({"n": 2.0})
    drawn = param_value(scope, _param("param W[3, 2] = xavier(n)"), None, seed=3)
    checked = check_program("input x[2]\nlet n = 2\nparam W[3, 2] = xavier(n)\nlayer y[3] = W @ x\ntrain seed = 3")
    assert isinstance(drawn, np.ndarray) and np.array_equal(drawn, checked.constants["W"])
    assert scope.errors == []
    written = param_value(scope, _param("param b = [n, 2*n]"), None, seed=0)
    assert isinstance(written, np.ndarray) and written.tolist() == [2.0, 4.0]
    given = np.ones((3, 2))
    assert param_value(scope, _param("param W[3, 2] = xavier()"), given, seed=0) is given


@pytest.mark.parametrize(
    "text, given, error",
    [
        ("param W[2] = normal(v, 1)", None, "bad-arguments: an initialiser's arguments are single numbers"),
        ("param W[2] = normal(0, -1)", None, "bad-arguments: the standard deviation -1.0 is negative"),
        ("param W[2] = [1, 2, 3]", None, "shape-mismatch: 'W' is declared [2] but its value is 3"),
        ("param W[2] = zeros()", np.zeros(3), "shape-mismatch: 'W' is declared [2] but its value is 3"),
        ("param W = missing + 1", None, "unknown-name: unknown name 'missing'"),
    ],
)
def test_param_value_reports_each_mistake_once_and_abandons_the_param(text, given, error):
    scope = FoldingScope({"v": np.array([1.0, 2.0])})
    with pytest.raises(Failed):
        param_value(scope, _param(text), given, seed=0)
    assert scope.errors == [error]


def test_train_settings_fold_values_and_report_mistakes_through_the_scope():
    scope = FoldingScope({"r": 0.1})
    statements = parse("input x\nnode y = x\ntrain rate = 3*r, epoch = 2, shuffle = no\ntrain seed = missing, batch = [1, 2]\n").statements
    settings = train_settings(scope, statements)
    assert settings.values == {"rate": pytest.approx(0.3), "shuffle": False}
    assert settings.spans["rate"].line == 3
    assert scope.errors == [
        "unknown-name: unknown name 'missing'",  # reported once, as the fold meets it, not again as a setting
        "unknown-setting: unknown setting 'epoch'",
        "bad-setting: a setting is a single value",
    ]
