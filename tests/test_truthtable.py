"""netlang table: every 0/1 combination of the inputs, checked against the interpreter."""

from __future__ import annotations

import csv
import io
import itertools
import json

import numpy as np
import pytest

import netlang
from netlang.pipeline import load_checked
from netlang.interpreter import EXACT, inputs_by_name, interpret
from netlang.truthtable import truth_table

from conftest import EXAMPLES


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.net")), ids=lambda p: p.name)
def test_rows_match_the_interpreter(path):
    checked = load_checked(path)
    network = netlang.load(path)
    table = truth_table(network)
    assert len(table.rows) == 2**network.input_width
    for row in table.rows.tolist():
        inputs = row[: network.input_width]
        expected = interpret(checked, inputs_by_name(checked, inputs))
        flat = [float(v) for name in checked.outputs for v in np.ravel(expected[name])]
        assert list(row[network.input_width :]) == pytest.approx(flat, abs=1e-12)


def test_rows_count_in_binary_order():
    table = truth_table(netlang.compile("input a, b, c\nnode y = a + 2*b + 4*c"))
    assert [tuple(row[:3]) for row in table.rows.tolist()] == list(itertools.product((0, 1), repeat=3))
    assert table.rows[:, 3].tolist() == [0, 4, 2, 6, 1, 5, 3, 7]


def test_text_is_aligned(cli):
    result = cli("table", str(EXAMPLES / "xor.net"))
    assert result.exit_code == 0
    assert result.output == "x1 x2 | y\n 0  0 | 0\n 0  1 | 1\n 1  0 | 1\n 1  1 | 0\n"


def test_vector_inputs_count_element_by_element(cli, tmp_path):
    path = tmp_path / "v.net"
    path.write_text("input v[2], s\nlayer h = relu([[1, -1], [2, 0]] @ v - s)\n")
    result = cli("table", str(path), "--csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["v[0]", "v[1]", "s", "h[0]", "h[1]"]
    assert rows[1:] == [
        [*map(str, combo), str(max(combo[0] - combo[1] - combo[2], 0)), str(max(2 * combo[0] - combo[2], 0))]
        for combo in itertools.product((0, 1), repeat=3)
    ]


def test_json_rows_are_objects(cli):
    result = cli("table", str(EXAMPLES / "and.net"), "--json")
    assert json.loads(result.output) == [
        {"x1": 0, "x2": 0, "y": 0},
        {"x1": 0, "x2": 1, "y": 0},
        {"x1": 1, "x2": 0, "y": 0},
        {"x1": 1, "x2": 1, "y": 1},
    ]


def test_json_and_csv_together_is_a_usage_error(cli):
    result = cli("table", str(EXAMPLES / "and.net"), "--json", "--csv")
    assert result.exit_code == 2
    assert "--json" in result.output and "--csv" in result.output


def test_sixteen_input_values_is_the_limit(cli, tmp_path):
    path = tmp_path / "wide.net"
    path.write_text("input x[16]\nnode y = x[0] + x[15]\n")
    result = cli("table", str(path), "--csv")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 1 + 65536
    assert lines[-1] == ",".join(["1"] * 16 + ["2"])
    path.write_text("input x[16], z\nnode y = x[0] + z\n")
    result = cli("table", str(path))
    assert result.exit_code == 1
    assert "17 input values" in result.output and "131,072 rows" in result.output
    assert "limit is 16 input values (65,536 rows)" in result.output
    assert "Traceback" not in result.output


def test_exact_table_differs_from_float_at_the_threshold(cli, tmp_path):
    path = tmp_path / "t.net"
    path.write_text("input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\n")
    assert cli("table", str(path)).output.splitlines()[-1] == " 1  1 | 1"
    assert cli("table", str(path), "--exact").output.splitlines()[-1] == " 1  1 | 0"


def test_exact_table_agrees_with_float_on_the_examples():
    # Except at a threshold that float rounding decides: rounding.net exists to show that case.
    for path in sorted(EXAMPLES.glob("*.net")):
        network = netlang.load(path)
        exact = [[float(v) for v in row] for row in truth_table(network, load_checked(path), EXACT).rows.tolist()]
        floating = truth_table(network).rows.tolist()
        if path.name == "rounding.net":
            assert (exact[-1], floating[-1]) == ([1, 1, 0], [1, 1, 1])
            assert exact[:-1] == floating[:-1]
            continue
        for a, b in zip(exact, floating):
            assert a == pytest.approx(b, abs=1e-12), path.name


def test_invalid_file_is_an_input_error(cli, tmp_path):
    path = tmp_path / "bad.net"
    path.write_text("input x1\nnode y = step(x2 > 0)\n")
    result = cli("table", str(path))
    assert result.exit_code == 1
    assert "bad.net:2:15: error: unknown name 'x2'" in result.output
