"""The runtime's evaluation plans (dense, one sample per row; sparse, one neuron per row) against references."""

from __future__ import annotations

import numpy as np
import pytest

import netlang
from netlang import runtime
from netlang.checker import check
from netlang.interpreter import interpret
from netlang.parser import parse

MIXED = """
input x1, x2
input v[3]
let W = [[0.5, -1, 2], [1, 0.25, -0.5]]
layer h = sigmoid(W @ v + [0.1, -0.2])
layer s = softmax(W @ v)
node a = relu(0.5*x1 - x2 + h[0])
node b = tanh(x1 + 2*h[1] - s[0])
node c = step(a + b > 0.5)
node d = step(a - b >= 0)
node e = a - 3*x2
output c, d, e, s, h, x1
"""


def _reference(source: str, batch: np.ndarray, names, sizes) -> np.ndarray:
    checked = check(parse(source))
    rows = []
    for sample in batch:
        values, position = {}, 0
        for name, size in zip(names, sizes):
            width = 1 if size is None else size
            values[name] = sample[position] if size is None else sample[position : position + width]
            position += width
        result = interpret(checked, values)
        rows.append(np.concatenate([np.atleast_1d(np.asarray(v, dtype=float)) for v in result.values()]))
    return np.array(rows)


@pytest.mark.parametrize("batch_bytes, block_bytes", [(1, 1 << 20), (1 << 30, 1)])
def test_dense_plan_matches_the_interpreter_across_chunks(monkeypatch, batch_bytes, block_bytes):
    # Tiny sizes make one batch run in many chunks (the last one shorter), or its activations
    # in many blocks.
    monkeypatch.setattr(runtime, "_BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(runtime, "_BLOCK_BYTES", block_bytes)
    net = netlang.compile(MIXED)
    assert not any(layer.is_sparse for layer in net.layers)
    batch = np.random.default_rng(1).normal(size=(37, net.input_width))
    expected = _reference(MIXED, batch, net.input_names, net.input_sizes)
    assert np.allclose(net(batch), expected, rtol=1e-12, atol=1e-12)
    assert isinstance(net._plans[np.dtype(np.float64)], runtime._RowPlan)
    assert np.allclose(net(batch[5]), expected[5], rtol=1e-12, atol=1e-12)


def test_sparse_plan_matches_the_dense_plan(monkeypatch):
    net = netlang.compile(MIXED)
    batch = np.random.default_rng(2).normal(size=(50, net.input_width))
    dense = net(batch)
    # The same network with its first layer stored sparse takes the other plan.
    sparse_layers = []
    for layer in net.layers:
        rows, cols = np.nonzero(layer.weights)
        coo = (rows, cols, layer.weights[rows, cols])
        sparse_layers.append(
            runtime.CompiledLayer(layer.index, layer.row_start, layer.bias, layer.segments, layer.column_positions,
                          net._signals, coo=coo)
        )
    sparse = runtime.Network(net.inputs, net.output_names, sparse_layers, net._signals)
    monkeypatch.setattr(runtime, "_CHUNK_BYTES", 8 * 8 * 30)
    assert np.allclose(sparse(batch), dense, rtol=1e-12, atol=1e-12)
    assert isinstance(sparse._plans[np.dtype(np.float64)], runtime._ColumnPlan)


def test_sigmoid_with_bias_is_exact_at_the_extremes():
    net = netlang.compile("input x\nnode y = sigmoid(1000*x + 5)")
    out = net(np.array([[-10.0], [0.0], [10.0]]))
    assert out[0, 0] == 0.0 and out[2, 0] == 1.0
    assert out[1, 0] == pytest.approx(1 / (1 + np.exp(-5)), rel=1e-15)


def test_float32_batches_stay_float32():
    net = netlang.compile(MIXED)
    batch = np.random.default_rng(3).normal(size=(9, net.input_width))
    out32 = net(batch.astype(np.float32), dtype=np.float32)
    assert out32.dtype == np.float32
    assert np.allclose(out32, net(batch), atol=1e-5)


def test_layer_with_no_weights_is_its_bias():
    net = netlang.compile("input x\nnode y = 0*x + 2\nnode z = sigmoid(0*x)")
    assert np.array_equal(net(np.zeros((3, 1))), np.array([[2.0, 0.5]] * 3))


def _as_sparse(net, keep=lambda layer_index, row, col: True):
    layers = []
    for layer in net.layers:
        rows, cols = np.nonzero(layer.weights)
        chosen = np.array([keep(layer.index, r, c) for r, c in zip(rows, cols)], dtype=bool)
        rows, cols = rows[chosen], cols[chosen]
        layers.append(
            runtime.CompiledLayer(layer.index, layer.row_start, layer.bias, layer.segments, layer.column_positions,
                          net._signals, coo=(rows, cols, layer.weights[rows, cols]))
        )
    return runtime.Network(net.inputs, net.output_names, layers, net._signals)


@pytest.mark.parametrize("uneven", [False, True])
def test_sparse_rows_with_no_terms_or_uneven_terms(uneven):
    # One row reads 12 signals and the others 1 (reduceat path) or 2 rows read nothing (bias only).
    source = "input x[12]\nlayer h = tanh([[1,2,3,4,5,6,7,8,9,10,11,12], [1,0,0,0,0,0,0,0,0,0,0,0], " \
             "[0,1,0,0,0,0,0,0,0,0,0,0], [0,0,1,0,0,0,0,0,0,0,0,0]] @ x + [0.5, -1, 2, 0.25])"
    net = netlang.compile(source)
    if uneven:
        sparse = _as_sparse(net)
        expected = net.layers[0].weights
    else:
        sparse = _as_sparse(net, keep=lambda k, r, c: r not in (1, 3))
        expected = net.layers[0].weights.copy()
        expected[[1, 3]] = 0
    X = np.random.default_rng(4).normal(size=(11, 12))
    reference = np.tanh(X @ expected.T + net.layers[0].bias)
    assert np.allclose(sparse(X), reference, rtol=1e-12, atol=1e-12)
    plan_layer = sparse._plans[np.dtype(np.float64)].layers[0]
    assert plan_layer.ell is None


def test_sparse_missing_terms_add_exactly_zero_even_next_to_infinity():
    # Padded terms read a row of zeros with weight 0: an infinite input elsewhere stays out of them.
    net = netlang.compile("input a, b\nnode y = 2*a + b\nnode z = 3*a")
    sparse = _as_sparse(net)
    assert sparse._plans == {} and sparse(np.array([[1.0, np.inf]]))[0, 1] == 3.0
    assert sparse._plans[np.dtype(np.float64)].layers[0].ell is not None


def test_reading_most_of_a_layer_and_returning_a_whole_layer():
    # y reads 3 of h's 4 neurons (zero-padded weights), z 1 of them (a gather); out is one layer.
    source = (
        "input x[2]\nlayer h = relu([[1, -1], [2, 1], [-1, 3], [0.5, 0.5]] @ x)\n"
        "node y = 2*h[0] - h[2] + 0.5*h[3]\nnode z = sigmoid(h[1] - 1)\noutput y, z"
    )
    net = netlang.compile(source)
    X = np.random.default_rng(5).normal(size=(6, 2))
    expected = _reference(source, X, net.input_names, net.input_sizes)
    first, second = net(X), net(X[:3])
    assert np.allclose(first, expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(second, expected[:3], rtol=1e-12, atol=1e-12)
    assert not np.shares_memory(first, net(X))  # each call returns a fresh array


def test_an_empty_batch_gives_no_rows():
    for source in (MIXED, "input x\nnode y = step(0*x > 0)"):
        net = netlang.compile(source)
        out = net(np.zeros((0, net.input_width)))
        assert out.shape == (0, net.output_width)


@pytest.mark.parametrize("batch", [1, 2, 3, 40])
def test_one_neuron_segments_beside_others(batch):
    # A one-column segment of a wider layer is a strided view: every kernel must handle it.
    # Eight neurons: numpy 2.4's in-place negative misread such a view of an 8-wide block.
    lines = ["input x1, x2"]
    for i, activation in enumerate(["step", "sigmoid", "relu", "tanh", "sigmoid", "identity", "sigmoid", "relu"]):
        bias = f" + {i / 10}" if i % 2 else ""  # with and without a bias: two sigmoid paths
        lines.append(f"node n{i} = {activation}(0.5*x1 - {i / 4}*x2{bias})")
    source = "\n".join(lines) + "\nnode m = step(n0 + n1 >= 1)\n"
    net = netlang.compile(source)
    X = np.random.default_rng(6).normal(size=(batch, 2))
    expected = _reference(source, X, net.input_names, net.input_sizes)
    assert np.allclose(net(X), expected, rtol=1e-12, atol=1e-12)


def _sparse_netlist(nodes: int, seed: int) -> str:
    """Each node: sigmoid of 1-3 terms among the 300 signals before it (sparse layers)."""
    rng = np.random.default_rng(seed)
    names = [f"x[{i}]" for i in range(8)]
    lines = ["input x[8]"]
    for n in range(nodes):
        read = sorted(set(rng.integers(max(0, len(names) - 300), len(names), rng.integers(1, 4)).tolist()))
        terms = " + ".join(f"{w:.3f}*{names[i]}" for w, i in zip(rng.normal(0, 1.5, len(read)), read))
        lines.append(f"node n{n} = sigmoid({terms} + {rng.normal():.3f})")
        names.append(f"n{n}")
    lines.append(f"output n{nodes - 1}, n{nodes - 2}, n{nodes // 2}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("chunk_bytes", [8 * 600 * 7, 4 << 20])
def test_sparse_netlist_matches_its_dense_form_across_chunks(monkeypatch, chunk_bytes):
    # Neurons of 1-3 terms take the gather-and-batched-product path; a small chunk size makes
    # a batch of 37 run in several chunks, the last one shorter.
    monkeypatch.setattr(runtime, "_CHUNK_BYTES", chunk_bytes)
    source = _sparse_netlist(600, seed=5)
    net = netlang.compile(source)
    assert any(layer.is_sparse for layer in net.layers)
    dense_layers = [
        runtime.CompiledLayer(layer.index, layer.row_start, layer.bias, layer.segments, layer.column_positions,
                      net._signals, dense=layer.weights)
        for layer in net.layers
    ]
    dense = runtime.Network(net.inputs, net.output_names, dense_layers, net._signals)
    batch = np.random.default_rng(6).normal(size=(37, net.input_width))
    got = net(batch)
    plan = net._plans[np.dtype(np.float64)]
    assert isinstance(plan, runtime._ColumnPlan)
    assert any(layer.sparse and layer.ell is not None for layer in plan.layers)
    assert np.allclose(got, dense(batch), rtol=1e-12, atol=1e-12)
    assert np.allclose(got[:3], _reference(source, batch[:3], ["x"], [8]), rtol=1e-12, atol=1e-12)
