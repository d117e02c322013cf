"""The AST as JSON: Program.to_json, netlang parse --json, the schema, the round trip."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang import ast_json, nodes, schema
from netlang.nodes import Program, walk

from conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.net"))
VALIDATOR = jsonschema.Draft202012Validator(schema.load("ast"))


def _assert_round_trip(program: Program) -> dict:
    data = program.to_json()
    VALIDATOR.validate(data)
    # Through real JSON text, as a tool in another language would read it.
    text = json.dumps(data, allow_nan=False)
    back = Program.from_json(json.loads(text))
    assert back == program
    assert back.comments == program.comments
    # Spans do not take part in equality: compare them through the data.
    assert back.to_json() == data
    return data


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema.load("ast"))


def test_the_schema_names_every_ast_class_with_its_fields():
    defs = schema.load("ast")["$defs"]
    for name, cls in ast_json._CLASSES.items():
        expected = {f.name for f in dataclasses.fields(cls)} | {"type"}
        assert set(defs[name]["properties"]) == expected, name
        assert set(defs[name]["required"]) == expected, name
    # Every class in nodes.py that the parser can build is described.
    built = {
        obj.__name__
        for obj in vars(nodes).values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj not in (nodes.Span, nodes.Program)
    }
    assert built == set(ast_json._CLASSES)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_validates_and_round_trips(path):
    program = netlang.parse(path.read_text(encoding="utf-8"), str(path))
    data = _assert_round_trip(program)
    assert data["filename"] == str(path)
    assert len(data["comments"]) == len(program.comments) > 0


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_a_program_read_back_from_json_compiles_to_the_same_network(path):
    program = netlang.parse(path.read_text(encoding="utf-8"), str(path))
    original = netlang.compile(program)
    back = netlang.compile(Program.from_json(json.loads(ast_json.dumps(program))))
    assert back.input_names == original.input_names and back.output_names == original.output_names
    assert len(back.layers) == len(original.layers)
    for mine, theirs in zip(back.layers, original.layers):
        assert mine.rows == theirs.rows and mine.columns == theirs.columns
        assert (mine.weights == theirs.weights).all() and (mine.bias == theirs.bias).all()
        assert mine.activation == theirs.activation


def test_every_node_has_its_type_and_span():
    source = 'input x1, v[2]  # in\nlet W = load("w.npy")\nlayer h[2] = relu([[1, 2], [3, 4]] @ v - x1)\nnode y = step(h[0] + -h[1] >= 0.5)\noutput y\nexpect (1, 0, 1) -> 0 within 0.01\n'
    program = netlang.parse(source)
    data = _assert_round_trip(program)
    objects = []

    def collect(value):
        if isinstance(value, dict):
            if "type" in value:
                objects.append(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(data)
    python_nodes = [n for n in walk(program) if not isinstance(n, Program)] + list(program.comments)
    assert len(objects) == len(python_nodes) + 1  # + the Program
    assert {o["type"] for o in objects} >= {"Input", "InputVar", "Let", "Call", "String", "Layer", "Vector", "Product", "Sum", "Index", "UnaryOp", "Compare", "Expect", "Comment", "Number", "Name", "Output"}
    layer = data["statements"][2]
    assert layer["type"] == "Layer" and layer["size"] == 2
    assert layer["span"] == {"line": 3, "column": 1, "end_line": 3, "end_column": 45}
    assert layer["name_span"] == {"line": 3, "column": 7, "end_line": 3, "end_column": 8}
    expect = data["statements"][5]
    assert [n["value"] for n in expect["inputs"]] == [1.0, 0.0, 1.0]
    assert expect["tolerance"]["text"] == "0.01"
    assert data["comments"] == [{"type": "Comment", "text": "# in", "span": {"line": 1, "column": 17, "end_line": 1, "end_column": 21}}]
    assert data["span"] == {"line": 1, "column": 1, "end_line": 6, "end_column": 34}


def test_an_expect_without_tolerance_has_null():
    data = _assert_round_trip(netlang.parse("expect 1 -> 0"))
    assert data["statements"][0]["tolerance"] is None


def test_an_overflowing_number_has_a_null_value_and_keeps_its_text():
    program = netlang.parse("let big = 1e999")
    data = _assert_round_trip(program)
    number = data["statements"][0]["value"]
    assert number["value"] is None and number["text"] == "1e999"
    json.dumps(data, allow_nan=False)  # strict JSON: no Infinity


def test_from_json_refuses_what_is_not_an_ast():
    with pytest.raises(ValueError, match="Program"):
        Program.from_json({"type": "Node"})
    with pytest.raises(ValueError, match="unknown AST node type 'Bogus'"):
        Program.from_json({"type": "Program", "statements": [{"type": "Bogus"}]})
    with pytest.raises(ValueError, match="not a netlang AST"):
        Program.from_json({"type": "Program", "statements": [{"type": "Name", "span": {"line": 1}}]})


# --- generated programs ------------------------------------------------------------

NAMES = st.sampled_from(["x", "y1", "h", "W", "theta", "_b2"])
NUMBERS = st.one_of(
    st.integers(0, 1000).map(str),
    st.floats(0, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["1e-3", ".5", "2.", "1E+10"]),
)


def _expressions(depth: int = 3) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        NUMBERS,
        NAMES,
        st.builds(lambda n, i: f"{n}[{i}]", NAMES, st.integers(0, 9)),
        st.just('load("w.npy")'),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["+", "-", "*", "/", "@"]), inner),
            st.builds(lambda a: f"-{a}", inner),
            st.builds(lambda a: f"({a})", inner),
            st.builds(lambda items: f"[{', '.join(items)}]", st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["step", "sigmoid", "relu"]), inner),
            st.builds(lambda a, op, b: f"step({a} {op} {b})", inner, st.sampled_from([">", ">=", "<", "<="]), inner),
        ),
        max_leaves=8,
    )


EXPR = _expressions()
STATEMENTS = st.one_of(
    st.builds(lambda names: "input " + ", ".join(names), st.lists(st.one_of(NAMES, NAMES.map(lambda n: n + "[3]")), min_size=1, max_size=3)),
    st.builds(lambda n, e: f"let {n} = {e}", NAMES, EXPR),
    st.builds(lambda n, e: f"node {n} = {e}", NAMES, EXPR),
    st.builds(lambda n, size, e: f"layer {n}{size} = {e}", NAMES, st.sampled_from(["", "[4]"]), EXPR),
    st.builds(lambda names: "output " + ", ".join(names), st.lists(NAMES, min_size=1, max_size=3)),
    st.builds(
        lambda i, o, t: f"expect ({', '.join(i)}) -> {o}{t}",
        st.lists(NUMBERS, min_size=2, max_size=3),
        NUMBERS,
        st.sampled_from(["", " within 0.01"]),
    ),
)
LINES = st.lists(
    st.tuples(STATEMENTS, st.sampled_from(["", "  # note", "\t#x"]), st.sampled_from(["", "# a comment line\n"])),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(LINES)
def test_generated_programs_validate_and_round_trip(lines):
    source = "".join(f"{before}{statement}{comment}\n" for statement, comment, before in lines)
    program = netlang.parse(source, "generated.net")
    data = _assert_round_trip(program)
    assert len(data["statements"]) == len(lines)
    assert len(data["comments"]) == sum(bool(c) + bool(b) for _, c, b in lines)


# --- the command line --------------------------------------------------------------


def test_parse_json_prints_the_same_data(cli):
    path = EXAMPLES / "xor.net"
    result = cli("parse", str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    VALIDATOR.validate(data)
    assert data == netlang.parse(path.read_text(encoding="utf-8"), str(path)).to_json()


def test_parse_without_json_prints_an_outline(cli):
    result = cli("parse", str(EXAMPLES / "and.net"))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("Program ")
    assert "  Let 4:1-4:16 name='theta'" in lines
    assert "    Number 4:13-4:16 value=0.7 text='0.7'" in lines
    # Comments appear in file order among the statements.
    assert lines[1].startswith("  Comment 1:1-")


def test_parse_reports_syntax_errors_with_exit_1(cli, tmp_path):
    path = tmp_path / "bad.net"
    path.write_text("node y = (1 +\nnode z = 2 2\n", encoding="utf-8")
    result = cli("parse", str(path))
    assert result.exit_code == 1
    assert "bad.net:1:" in result.stderr and "error:" in result.stderr
    assert result.stdout == ""
    result = cli("parse", str(path), "--json")  # with --json, the errors as JSON, as `check --json` gives them
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["errors"] >= 1 and report["diagnostics"][0]["line"] == 1


def test_schema_load_names_the_schemas():
    assert schema.load("diagnostics")["title"] == "netlang diagnostics"
    with pytest.raises(ValueError, match="the schemas are ast, diagnostics"):
        schema.load("nope")


# --- the streamed writer: the same text as json.dumps, without the dicts -------------


def _written_in_chunks(program: Program, chunk: int) -> str:
    chunks: list = []
    writer = ast_json._Writer(chunks.append)
    writer.CHUNK = chunk
    writer.program(program)
    assert all(len(part) >= chunk for part in chunks[:-1])  # handed out as it grows
    return "".join(chunks)


@settings(max_examples=80, deadline=None)
@given(LINES, st.sampled_from([1, 50, 1 << 16]))
def test_the_written_json_is_json_dumps_text(lines, chunk):
    source = "".join(f"{before}{statement}{comment}\n" for statement, comment, before in lines)
    program = netlang.parse(source, "generated \u00e9\"name.net")
    expected = json.dumps(ast_json.to_json(program), indent=2, allow_nan=False)
    assert _written_in_chunks(program, chunk) == expected
    assert ast_json.dumps(program) == expected


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_the_written_json_of_every_example_is_json_dumps_text(path):
    program = netlang.parse(path.read_text(encoding="utf-8"), str(path))
    assert _written_in_chunks(program, 100) == json.dumps(program.to_json(), indent=2, allow_nan=False)


def test_overflowing_numbers_and_empty_lists_are_written_as_json_dumps_does():
    program = netlang.parse("input x\nlet big = 1e999\nnode y = step(x > 0.5)\nexpect (1) -> 1\n", "t.net")
    assert ast_json.dumps(program) == json.dumps(program.to_json(), indent=2, allow_nan=False)
    assert '"value": null' in ast_json.dumps(program)


def test_the_outline_is_made_statement_by_statement():
    program = netlang.parse((EXAMPLES / "and.net").read_text(encoding="utf-8"), "and.net")
    lines = ast_json.outline_lines(program)
    assert next(lines) == "Program and.net"
    assert "\n".join(["Program and.net", *lines]) == ast_json.outline(program)
