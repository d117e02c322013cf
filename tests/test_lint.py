"""Warnings (netlang.lint) and diagnostics as data: netlang check [--json]."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import EXAMPLES
from generators import programs
from hypothesis import HealthCheck, given, settings

import netlang
from netlang import schema
from netlang.checker import check
from netlang.lint import diagnose, find_warnings
from netlang.nodes import Span

DIAGNOSTICS_SCHEMA = schema.load("diagnostics")
VALIDATOR = jsonschema.Draft202012Validator(DIAGNOSTICS_SCHEMA)

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.net"))


def warnings_of(source: str) -> list:
    program = netlang.parse(source, "w.net")
    return find_warnings(check(program, source))


def summary(source: str) -> list:
    return [(w.code, w.message, w.span) for w in warnings_of(source)]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(DIAGNOSTICS_SCHEMA)


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.net")), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_the_checked_program_tells_the_networks_shape_without_lowering(path):
    # netlang check says what the network is from the checked program; lowering must agree.
    diagnosis = diagnose(path)
    if diagnosis.errors:
        return  # examples/mistakes
    checked = diagnosis.checked
    network = diagnosis.network  # lowered only now
    assert checked.columns(var.name for var in checked.inputs) == list(network.input_columns)
    assert checked.columns(checked.outputs) == list(network.output_columns)
    assert checked.layer_count == len(network.layers)
    assert sum(unit.width for unit in checked.units) == sum(layer.shape[0] for layer in network.layers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(with_expect=True))
def test_check_tells_what_lowering_builds_over_generated_programs(source):
    diagnosis = diagnose("generated.net", source=source)
    network = netlang.compile(source)  # parse, check and lower, as run and compile do
    assert not diagnosis.errors, diagnosis.errors
    checked = diagnosis.checked
    assert checked.columns(var.name for var in checked.inputs) == list(network.input_columns)
    assert checked.columns(checked.outputs) == list(network.output_columns)
    assert checked.layer_count == len(network.layers)
    assert sum(unit.width for unit in checked.units) == sum(layer.shape[0] for layer in network.layers)
    assert [layer.shape for layer in diagnosis.network.layers] == [layer.shape for layer in network.layers]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_the_examples_have_no_warnings(path):
    diagnosis = diagnose(path)
    assert diagnosis.diagnostics == []
    assert diagnosis.network is not None


def test_an_input_nothing_reads():
    assert summary("input x1, x2, v[3]\nnode y = x1\n") == [
        ("unused-input", "input 'x2' is never used", Span(1, 11, 1, 13)),
        ("unused-input", "input 'v' is never used", Span(1, 15, 1, 16)),  # the name, without [3]
    ]


def test_a_node_that_reaches_no_output_and_its_inputs():
    (unused_input, dead) = warnings_of("input x1, x2\nnode y = x1\nnode dead = 2*x2\noutput y\n")
    assert (dead.code, dead.message, dead.span) == ("unreachable", "node 'dead' does not reach any output", Span(3, 6, 3, 10))
    assert dead.severity == "warning" and "output" in dead.hint
    assert unused_input.message == "input 'x2' is not used by any output"
    assert unused_input.hint == "it is read only by 'dead', which no output depends on"


def test_a_chain_that_feeds_only_dead_nodes_is_dead_throughout():
    found = summary("input x\nnode a = x\nlayer b[2] = [a, a]\nnode c = b[0]\nnode y = x\noutput y\n")
    assert [(code, message) for code, message, _ in found] == [
        ("unreachable", "node 'a' does not reach any output"),
        ("unreachable", "layer 'b' does not reach any output"),
        ("unreachable", "node 'c' does not reach any output"),
    ]


def test_without_an_output_statement_every_node_reaches_an_output():
    assert summary("input x\nnode a = x\nnode b = 2*a\nnode c = 3*x\n") == []


def test_an_input_listed_as_output_is_used():
    assert summary("input x, z\nnode y = x\noutput y, z\n") == []


def test_constants():
    found = summary("input x\nlet unused = 2\nlet k = 3\nlet j = k + 1\nlet only_expected = 1\nnode y = j*x\nexpect only_expected -> 4\n")
    assert found == [("unused-constant", "constant 'unused' is never used", Span(2, 5, 2, 11))]


def test_a_constant_read_only_by_a_dead_node_is_used_but_the_node_is_dead():
    found = summary("input x\nlet k = 2\nnode dead = k*x\nnode y = x\noutput y\n")
    assert [code for code, _, _ in found] == ["unreachable"]


def test_warnings_format_like_errors():
    (warning,) = warnings_of("input x, z\nnode y = x\n")
    assert warning.format() == (
        "w.net:1:10: warning: input 'z' is never used\n"
        "1 | input x, z\n"
        "  |          ^\n"
        "hint: use it in a node or layer, or remove it; if it stands for a column of the data that the network "
        "does not read (a label), keep it: the data's columns follow the inputs"
    )


# --- diagnostics as data --------------------------------------------------------


def test_to_dict_has_every_field():
    error = netlang.NetlangError("bad", Span(2, 3, 2, 5), filename="f.net", hint="fix it", code="some-code")
    assert error.to_dict() == {
        "file": "f.net",
        "line": 2,
        "column": 3,
        "end_line": 2,
        "end_column": 5,
        "severity": "error",
        "message": "bad",
        "hint": "fix it",
        "code": "some-code",
    }
    assert netlang.NetlangError("gone", filename="f.net", code="file-not-found").to_dict()["line"] is None


def write(tmp_path, text: str, name: str = "m.net"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check_json(cli, path, exit_code: int) -> dict:
    """``netlang check PATH --json``: its exit status checked, its output validated against the schema."""
    result = cli("check", str(path), "--json")
    assert result.exit_code == exit_code
    data = json.loads(result.stdout)
    VALIDATOR.validate(data)
    return data


def test_check_json_lists_every_error_and_exits_1(cli, tmp_path):
    path = write(tmp_path, "input x\nnode a = q\nnode b = x*x\nnode c = sigmoidd(x)\n")
    data = check_json(cli, str(path), 1)
    assert data["errors"] == 3 and data["warnings"] == 0
    assert [(d["line"], d["code"], d["severity"]) for d in data["diagnostics"]] == [
        (2, "unknown-name", "error"),
        (3, "not-linear", "error"),
        (4, "unknown-function", "error"),
    ]
    assert data["diagnostics"][2]["hint"] == "did you mean 'sigmoid'?"
    assert all(d["file"] == str(path) for d in data["diagnostics"])


def test_check_json_with_syntax_errors(cli, tmp_path):
    path = write(tmp_path, "node y = (1 +\nnode z = 2 2\n")
    data = check_json(cli, str(path), 1)
    assert data["errors"] == len(data["diagnostics"]) >= 2
    assert {d["code"] for d in data["diagnostics"]} == {"syntax-error"}


def test_check_json_for_a_missing_file(cli, tmp_path):
    data = check_json(cli, str(tmp_path / "nothing.net"), 1)
    (diagnostic,) = data["diagnostics"]
    assert diagnostic["code"] == "file-not-found" and diagnostic["line"] is None


def test_check_json_with_only_warnings_exits_0(cli, tmp_path):
    path = write(tmp_path, "input x1, x2\nlet k = 1\nnode y = x1\n")
    data = check_json(cli, str(path), 0)
    assert (data["errors"], data["warnings"]) == (0, 2)
    assert [(d["severity"], d["code"], d["line"], d["column"]) for d in data["diagnostics"]] == [
        ("warning", "unused-input", 1, 11),
        ("warning", "unused-constant", 2, 5),
    ]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_check_json_on_the_examples(cli, path):
    data = check_json(cli, str(path), 0)
    assert data == {"file": str(path), "errors": 0, "warnings": 0, "diagnostics": []}


def test_plain_check_prints_warnings_and_exits_0(cli, tmp_path):
    path = write(tmp_path, "input x1, x2\nnode y = x1\n")
    result = cli("check", str(path))
    assert result.exit_code == 0
    assert result.stderr == (
        f"{path}:1:11: warning: input 'x2' is never used\n"
        "1 | input x1, x2\n"
        "  |           ^^\n"
        "hint: use it in a node or layer, or remove it; if it stands for a column of the data that the network "
        "does not read (a label), keep it: the data's columns follow the inputs\n\n"
    )
    assert result.stdout == f"{path}: ok: 2 input values, 1 neuron in 1 layer, outputs y (1 warning)\n"


def test_plain_check_still_reports_errors(cli, tmp_path):
    path = write(tmp_path, "input x\nnode a = q\nnode b = x*x\n")
    result = cli("check", str(path))
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 2 and "2 errors" in result.stderr
    assert "warning" not in result.stderr
