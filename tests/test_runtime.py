"""Runtime stage: evaluation on one sample, on batches, by name; sparse and dense layers agree."""

from __future__ import annotations

import numpy as np
import pytest

import netlang
from netlang import runtime


def _affine_net():
    return netlang.compile(
        "input a, v[3]\n"
        "let W = [[1, -2, 0.5], [0, 1, 1]]\n"
        "layer h = relu(W @ v + [0.1, -0.2])\n"
        "node s = tanh(a - h[0] + 2*h[1])\n"
        "node out = sigmoid(3*s + a)\n"   # reads layer 2 and the input: a skip connection
        "output out, h\n"
    )


def _by_hand(a, v):
    W = np.array([[1, -2, 0.5], [0, 1, 1]])
    h = np.maximum(W @ v + [0.1, -0.2], 0)
    s = np.tanh(a - h[0] + 2 * h[1])
    return np.concatenate([[1 / (1 + np.exp(-(3 * s + a)))], h])


def test_batch_equals_hand_written_numpy():
    net = _affine_net()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    expected = np.array([_by_hand(row[0], row[1:]) for row in X])
    np.testing.assert_allclose(net(X), expected, rtol=1e-13, atol=1e-15)
    assert net.output_columns == ("out", "h[0]", "h[1]")
    assert net.input_columns == ("a", "v[0]", "v[1]", "v[2]")


def test_single_sample_and_run_by_name():
    net = _affine_net()
    x = np.array([0.3, 1.0, -1.0, 2.0])
    single = net(x)
    assert single.shape == (3,)
    result = net.run({"a": 0.3, "v": [1.0, -1.0, 2.0]})
    assert result["out"] == pytest.approx(single[0])
    np.testing.assert_allclose(result["h"], single[1:])


def test_chunked_evaluation_matches_one_chunk(monkeypatch):
    net = _affine_net()
    X = np.random.default_rng(2).normal(size=(1000, 4))
    whole = net(X)
    monkeypatch.setattr(runtime, "_CHUNK_BYTES", 64)  # forces many chunks, and a short last one
    again = netlang.compile(
        "input a, v[3]\nlet W = [[1, -2, 0.5], [0, 1, 1]]\nlayer h = relu(W @ v + [0.1, -0.2])\n"
        "node s = tanh(a - h[0] + 2*h[1])\nnode out = sigmoid(3*s + a)\noutput out, h\n"
    )
    np.testing.assert_array_equal(again(X), whole)


def test_float32_evaluation():
    net = _affine_net()
    X = np.random.default_rng(3).normal(size=(20, 4))
    out32 = net(X, dtype=np.float32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, net(X), rtol=1e-5, atol=1e-6)


def test_softmax_layer_sums_to_one():
    net = netlang.compile("input x[4]\nlayer p = softmax(2*x)\n")
    X = np.random.default_rng(4).normal(size=(10, 4)) * 50
    out = net(X)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    expected = np.exp(2 * X - (2 * X).max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)


def test_step_at_the_boundary():
    net = netlang.compile("input x\nnode gt = step(x > 1)\nnode ge = step(x >= 1)\nnode lt = step(x < 1)\nnode le = step(x <= 1)\nnode zero = step(x)\n")
    assert net.run({"x": 1}) == {"gt": 0.0, "ge": 1.0, "lt": 0.0, "le": 1.0, "zero": 1.0}
    assert net.run({"x": 0}) == {"gt": 0.0, "ge": 0.0, "lt": 1.0, "le": 1.0, "zero": 0.0}


def test_sigmoid_saturates_without_warnings():
    net = netlang.compile("input x\nnode y = sigmoid(x)\n")
    with np.errstate(all="raise"):
        assert net(np.array([[-1000.0], [1000.0]]))[:, 0].tolist() == [0.0, 1.0]


def test_outputs_may_name_inputs_and_constant_nodes():
    net = netlang.compile("input x\nnode c = 2.5\nnode y = x + c\noutput y, x, c\n")
    assert net.run({"x": 1}) == {"y": 3.5, "x": 1.0, "c": 2.5}


def test_sparse_layers_evaluate_like_dense(monkeypatch):
    lines = ["input " + ", ".join(f"x{i}" for i in range(40))]
    rng = np.random.default_rng(5)
    for i in range(60):
        reads = rng.choice(40, size=3, replace=False)
        terms = " + ".join(f"{rng.normal():.3f}*x{j}" for j in reads)
        lines.append(f"node n{i} = sigmoid({terms} + {rng.normal():.3f})")
    source = "\n".join(lines)
    dense = netlang.compile(source)
    import netlang.compiler as compiler

    monkeypatch.setattr(compiler, "SMALL_DENSE", 0)
    sparse = netlang.compile(source)
    assert not dense.layers[0].is_sparse and sparse.layers[0].is_sparse
    np.testing.assert_array_equal(sparse.layers[0].weights, dense.layers[0].weights)
    X = rng.normal(size=(30, 40))
    np.testing.assert_allclose(sparse(X), dense(X), rtol=1e-14)


def test_bad_batches_and_names_are_errors():
    net = _affine_net()
    with pytest.raises(netlang.NetlangError, match="takes 4 input values"):
        net(np.zeros((2, 3)))
    with pytest.raises(netlang.NetlangError, match="missing v"):
        net.run({"a": 1})
    with pytest.raises(netlang.NetlangError, match="unknown b"):
        net.run({"a": 1, "v": [1, 2, 3], "b": 2})
    with pytest.raises(netlang.NetlangError, match="takes 3 values"):
        net.run({"a": 1, "v": [1, 2]})


def test_repr_is_readable():
    net = netlang.compile("input x1, x2\nnode s1 = step(x1 + x2 > 1)\nnode s2 = sigmoid(x1)\nnode y = step(s1 + s2 > 1)\n")
    assert repr(net) == "Network(inputs=['x1', 'x2'], outputs=['y'], layers=[Layer(2x2, sigmoid/step), Layer(1x2, step)])"


def test_the_compiled_layer_keeps_its_public_names():
    # nodes.Layer is the `layer` statement; the compiled one is CompiledLayer, public as netlang.Layer.
    from netlang import nodes

    net = netlang.compile("input x[2]\nlayer h = sigmoid([[1, 2], [3, 4]] @ x)\n")
    assert runtime.Layer is runtime.CompiledLayer is netlang.Layer
    assert all(type(layer) is runtime.CompiledLayer for layer in net.layers)
    assert nodes.Layer is not netlang.Layer


def test_run_takes_a_sequence_in_input_order_and_refuses_what_is_not_numbers():
    import netlang

    net = netlang.compile("input a\ninput v[2]\nnode y = a + v[0] + 2*v[1]\n")
    by_name = net.run({"a": 1, "v": [2, 3]})
    assert net.run([1, 2, 3]) == net.run([1, [2, 3]]) == net.run((1, np.array([2, 3]))) == by_name == {"y": 9.0}
    for bad in ({"a": "x", "v": [1, 2]}, {"a": None, "v": [1, 2]}, {"a": 1, "v": [1, "2"]}, [1, 2], "123", 5, [1, 2, 3, 4]):
        with pytest.raises(netlang.NetlangError) as raised:
            net.run(bad)
        assert raised.value.code == "bad-input"
    for bad in ("ab", [[1, 2], [3]], [["a", "b", "c"]]):
        with pytest.raises(netlang.NetlangError) as raised:
            net(bad)
        assert raised.value.code == "bad-input"
