"""run --explain: each neuron's computation written out with its numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netlang
from netlang.pipeline import check_program, load_checked
from netlang.explain import explain
from netlang.interpreter import inputs_by_name

from conftest import EXAMPLES


def test_xor_reads_like_the_equations(cli):
    result = cli("run", str(EXAMPLES / "xor.net"), "--x", "1", "0", "--explain")
    assert result.exit_code == 0
    assert result.output == """\
inputs: x1 = 1, x2 = 0

layer 1
  s1 = step(-0.5*x1 - 0.5*x2 > -0.7)
     -0.5*1 - 0.5*0 = -0.5
     -0.5 > -0.7? yes -> 1
  s2 = step(0.5*x1 + 0.5*x2 > 0.2)
     0.5*1 + 0.5*0 = 0.5
     0.5 > 0.2? yes -> 1

layer 2
  y = step(0.5*s1 + 0.5*s2 > 0.7)
     0.5*1 + 0.5*1 = 1
     1 > 0.7? yes -> 1

y = 1
"""


def test_float_rounding_shows_and_exact_does_not(cli, tmp_path):
    path = tmp_path / "t.net"
    path.write_text("input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\n")
    floating = cli("run", str(path), "--x", "1", "1", "--explain").output
    assert "0.1*1 + 0.2*1 = 0.30000000000000004\n     0.30000000000000004 > 0.3? yes -> 1" in floating
    exact = cli("run", str(path), "--x", "1", "1", "--explain", "--exact").output
    assert "0.1*1 + 0.2*1 = 0.3\n     0.3 > 0.3? no -> 0" in exact
    assert "(exact arithmetic)" in exact


def test_constants_negative_values_and_smooth_activations():
    source = "input a, b\nlet k = -2\nnode y = sigmoid(k*a - b)\nnode z = step(a)\n"
    text = explain(check_program(source), {"a": -1, "b": 2})
    assert "  y = sigmoid(k*a - b)\n     -2*(-1) - 2 = 0\n     sigmoid(0) = 0.5\n" in text
    assert "  z = step(a)\n     -1 > 0? no -> 0\n" in text


def test_layers_show_w_s_plus_b_with_values():
    source = "input x[3]\nlet W = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]\nlayer h = step(W @ x + [0.5, -0.5] >= 0)\n"
    text = explain(check_program(source), {"x": [1, 0, 1]})
    assert "[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]] @ [1, 0, 1] + [0.5, -0.5] = [0.9, 0.5]" in text
    assert "[0.9, 0.5] >= 0? [yes, yes] -> [1, 1]" in text


def test_big_layers_are_shortened():
    source = "input x[100]\nlayer h = relu(x - 1)\n"
    text = explain(check_program(source), {"x": list(range(100))})
    assert "h = relu(x - 1)" in text
    assert "[0, 1, 2, ..., 97, 98, 99] - 1 = [-1, 0, 1, ..., 96, 97, 98]" in text
    steps = text.rsplit("\n\n", 1)[0]  # the outputs that end it are printed in full, as by run
    assert max(len(line) for line in steps.splitlines()) < 120


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.net")), ids=lambda p: p.name)
def test_every_arrow_and_output_agrees_with_the_network(path):
    # Differential: the outputs the explanation ends with are the compiled network's.
    checked, network = load_checked(path), netlang.load(path)
    rng = np.random.default_rng(1)
    for row in [[1] * network.input_width, list(rng.integers(0, 2, network.input_width))]:
        text = explain(checked, inputs_by_name(checked, row))
        last = dict(re.findall(r"^(\w+) = (.+)$", text.split("\n\n")[-1], re.M))
        expected = network.run(inputs_by_name(checked, row))
        assert list(last) == list(expected)
        for name, shown in last.items():
            values = [float(v) for v in shown.strip("[]").split(", ")]
            assert values == pytest.approx(list(np.ravel(expected[name])), abs=1e-15)


def test_explain_and_json_together_is_a_usage_error(cli):
    result = cli("run", str(EXAMPLES / "and.net"), "--x", "1", "1", "--explain", "--json")
    assert result.exit_code == 2


def test_big_netlists_are_shown_by_their_first_nodes():
    source = "input x\n" + "".join(f"node n{i} = step(x > {i})\n" for i in range(30))
    text = explain(check_program(source), {"x": 3})
    assert "  n23 = step(x > 23)" in text and "n24 = step" not in text
    assert "  ... and 6 more nodes or layers in this layer" in text


def test_one_number_format_for_layers_and_nodes():
    source = (
        "input x1, x2\nlayer h = sigmoid([[0.1, 0.2], [0.3, 0.4]] @ [x1, x2])\n"
        "node y = sigmoid(0.7*h[0] + 0.3*h[1])\noutput y\n"
    )
    text = explain(check_program(source), {"x1": 1, "x2": 0.3})
    assert "sigmoid([0.16, 0.42]) = [0.539915, 0.603483]" in text  # a layer: 6 significant digits
    assert "0.7*0.539915 + 0.3*0.603483 = 0.558985" in text  # a node: the same
    assert text.endswith("sigmoid(0.558985) = 0.636218\n\ny = 0.6362177475792042")  # outputs in full, as run prints them


def test_a_step_decided_by_rounding_shows_every_digit():
    text = explain(check_program("input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\n"), {"x1": 1, "x2": 1})
    assert "0.30000000000000004 > 0.3? yes -> 1" in text
