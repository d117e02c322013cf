"""Differential test: compiled weight matrices against the tree-walking interpreter.

Hypothesis writes random acyclic netlists (definitions in random order, terms in
the many shapes the language allows); each is compiled to layers and evaluated
with numpy, and interpreted directly from its syntax tree; the two must agree.
The same runs through array-api-strict and PyTorch (netlang/arrays.py, the array
API path), which must return their own arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import netlang
from array_backends import BACKENDS, check_kind, to_backend, to_numpy
from netlang.checker import check
from netlang.interpreter import interpret

ACTIVATIONS = ["step", "sigmoid", "relu", "tanh", "identity", ""]
COMPARISONS = [">", ">=", "<", "<="]
# Near a step threshold, the order of float additions (BLAS versus left to right) may
# legitimately decide the step: such samples are not compared.
MARGIN = 1e-9

coefficients = st.one_of(
    st.sampled_from(["0.5", "1", "2", "0.25", "3", "1e-1", "2.5e0"]),
    st.floats(min_value=0.001, max_value=4).map(lambda v: repr(round(v, 3))),
)  # never 0: they may divide


@st.composite
def terms(draw, signals, constants):
    """One term of an affine expression, as text, in one of the shapes the language allows."""
    x = draw(st.sampled_from(signals))
    c = draw(st.one_of(coefficients, st.sampled_from(constants))) if constants else draw(coefficients)
    shape = draw(st.integers(0, 7))
    if shape == 0:
        return f"{c}*{x}"
    if shape == 1:
        return f"{x}*{c}"
    if shape == 2:
        return f"-{x}"
    if shape == 3:
        y = draw(st.sampled_from(signals))
        return f"({x} + {y})/{c}"
    if shape == 4:
        y = draw(st.sampled_from(signals))
        return f"{c}*({x} - {y})"
    if shape == 5:
        return x
    if shape == 6:
        return c
    return f"{x}/4"


@st.composite
def affine(draw, signals, constants):
    parts = draw(st.lists(terms(signals, constants), min_size=1, max_size=5))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from([" + ", " - "])) + part
    return text


@st.composite
def netlists(draw):
    n_inputs = draw(st.integers(1, 4))
    inputs = [f"x{i + 1}" for i in range(n_inputs)]
    constants = []
    lines = ["input " + ", ".join(inputs)]
    for i in range(draw(st.integers(0, 2))):
        name = f"k{i}"
        lines.append(f"let {name} = {draw(coefficients)}")
        constants.append(name)
    signals = list(inputs)
    definitions = []
    for i in range(draw(st.integers(1, 10))):
        name = f"n{i}"
        activation = draw(st.sampled_from(ACTIVATIONS))
        body = draw(affine(signals, constants))
        if activation == "step" and draw(st.booleans()):
            op = draw(st.sampled_from(COMPARISONS))
            body = f"{body} {op} {draw(affine(signals, constants))}"
        definitions.append(f"node {name} = {activation}({body})" if activation else f"node {name} = {body}")
        signals.append(name)
    # A netlist may define its nodes in any order.
    order = draw(st.permutations(definitions))
    lines += list(order)
    if draw(st.booleans()):
        outputs = draw(st.lists(st.sampled_from(signals[n_inputs:]), min_size=1, max_size=3, unique=True))
        lines.append("output " + ", ".join(outputs))
    return n_inputs, "\n".join(lines) + "\n"


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=netlists(), seed=st.integers(0, 2**32 - 1))
def test_compiled_network_agrees_with_the_interpreter(backend, case, seed):
    n_inputs, source = case
    program = netlang.parse(source)
    checked = check(program, source)
    net = netlang.compile(program)
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.integers(0, 2, size=(4, n_inputs)), rng.normal(scale=2, size=(12, n_inputs))]).astype(float)
    result = net(to_backend(backend, X))
    check_kind(backend, result)
    batch = to_numpy(backend, result)
    assert batch.dtype == np.float64
    compared = 0
    for row, got in zip(X, batch):
        margins: list = []
        expected = interpret(checked, {f"x{i + 1}": v for i, v in enumerate(row)}, margins)
        if margins and min(margins) < MARGIN:
            continue
        want = np.array([expected[name] for name in net.output_names])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=source)
        compared += 1
    # Ties such as step(x < x) skip every sample; see how many were compared with
    # pytest --hypothesis-show-statistics.
    event(f"samples compared: {'all' if compared == len(X) else 'some' if compared else 'none'}")


@settings(max_examples=40, deadline=None)
@given(netlists())
def test_layers_are_grouped_by_depth(case):
    _, source = case
    checked = check(netlang.parse(source), source)
    net = netlang.compile(source)
    depths = sorted({unit.depth for unit in checked.units})
    assert len(net.layers) == len(depths)
    for layer, depth in zip(net.layers, depths):
        assert set(layer.rows) == {unit.name for unit in checked.units if unit.depth == depth}
