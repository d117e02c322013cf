"""The seed's example networks: each gives the truth table its name promises."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import netlang
from conftest import EXAMPLES

CORNERS = list(itertools.product((0, 1), repeat=2))

# The reference truth tables are Python's own boolean operators, not netlang's output.
GATES = {
    "and.net": lambda a, b: a and b,
    "or.net": lambda a, b: a or b,
    "nand.net": lambda a, b: not (a and b),
    "xor.net": lambda a, b: a != b,
}


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_truth_table(name):
    net = netlang.load(EXAMPLES / name)
    for a, b in CORNERS:
        assert net.run({"x1": a, "x2": b}) == {"y": float(bool(GATES[name](a, b)))}, (name, a, b)


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_batch_matches_single_runs(name):
    net = netlang.load(EXAMPLES / name)
    batch = net(np.array(CORNERS, dtype=float))
    assert batch.shape == (4, 1)
    assert batch[:, 0].tolist() == [net.run({"x1": a, "x2": b})["y"] for a, b in CORNERS]


def test_xor_is_two_layers_2x2_and_1x2():
    net = netlang.load(EXAMPLES / "xor.net")
    assert [layer.shape for layer in net.layers] == [(2, 2), (1, 2)]
    first, second = net.layers
    assert first.rows == ("s1", "s2") and first.columns == ("x1", "x2")
    assert first.weights.tolist() == [[-0.5, -0.5], [0.5, 0.5]]
    assert first.bias.tolist() == [0.7, -0.2]
    assert second.rows == ("y",) and second.columns == ("s1", "s2")


def test_one_input_neuron_fires_above_its_threshold():
    # y1 = 1 exactly when w1*x1 > theta, with w1 = 0.8 and theta = 0.5 (examples/neuron.net).
    net = netlang.load(EXAMPLES / "neuron.net")
    for x in (-1.0, 0.0, 0.5, 0.625, 0.63, 1.0, 2.0):
        assert net.run({"x1": x})["y1"] == float(0.8 * x > 0.5), x


def test_sigmoid_neuron_is_smooth_and_half_at_zero():
    net = netlang.load(EXAMPLES / "sigmoid.net")
    for a, b in CORNERS + [(0.7, 0.7), (1.4, 0.0)]:
        z = 0.5 * a + 0.5 * b - 0.7
        assert net.run({"x1": a, "x2": b})["y"] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-15)
    assert net.run({"x1": 1.4, "x2": 0.0})["y"] == pytest.approx(0.5)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.net")), ids=lambda p: p.name)
def test_every_example_checks_and_matches_the_interpreter(path):
    from netlang.checker import check
    from netlang.interpreter import inputs_by_name, interpret

    source = path.read_text()
    program = netlang.parse(source, str(path))
    checked = check(program, source, path.parent)
    net = netlang.load(path)
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = inputs_by_name(checked, rng.uniform(-2, 2, net.input_width))
        expected = interpret(checked, values)
        got = net.run(values)
        for name in net.output_names:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=1e-12)
