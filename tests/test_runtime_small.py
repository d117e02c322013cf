"""The runtime's path for small batches through a chain of layers (_RowPlan.small): the same
numbers, to the last bit, as the general path (buffers, chunks, activation blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
from generators import programs
from netlang import runtime

MLP = """
input x[6]
let W1 = [[0.5, -1, 2, 0, 1, -0.5], [1, 0.25, -0.5, 2, 0, 1], [0, 1, 1, -1, 0.5, 2], [2, -2, 0.5, 1, 1, 0]]
layer h = sigmoid(W1 @ x + [0.1, -0.2, 0, 3])
layer g = relu([[1, -1, 0.5, 2], [0.5, 0.5, -1, 1], [-2, 1, 1, 1]] @ h + [0, 1, -1])
layer y = softmax([[1, 2, 3], [-1, 0, 1]] @ g)
output y
"""


def _general(net, X):
    """The general path of the same plan: chunks, buffer list, blocks of activations."""
    return net._plans[np.dtype(np.float64)].evaluate(X)


def test_a_chain_of_layers_takes_the_small_path_with_the_same_bits():
    net = netlang.compile(MLP)
    X = np.random.default_rng(0).normal(scale=3, size=(7, 6))
    first = net(X)  # makes the plan
    plan = net._plans[np.dtype(np.float64)]
    assert net._fast is plan and plan.chain is not None and plan.small_rows >= 7
    for batch in (X[:1], X, X[::2], np.asfortranarray(X)):
        np.testing.assert_array_equal(net(batch), _general(net, np.ascontiguousarray(batch)))
    np.testing.assert_array_equal(first, net(X))
    assert net(X) is not net(X) and not np.shares_memory(net(X), X)  # a fresh array each call


def test_a_network_that_is_not_a_chain_has_no_small_path():
    # An output that is an input, and a layer reading two others: not a chain.
    for source in ("input a, b\nnode y = a + b\noutput y, a", "input a\nnode h = relu(a)\nnode y = h + a"):
        net = netlang.compile(source)
        net(np.ones((2, net.input_width)))
        assert net._fast is None


def test_large_batches_and_other_dtypes_take_the_general_path(monkeypatch):
    net = netlang.compile(MLP)
    X = np.random.default_rng(1).normal(size=(50, 6))
    net(X[:1])
    plan = net._plans[np.dtype(np.float64)]
    calls = []
    monkeypatch.setattr(plan, "small", lambda batch: calls.append(len(batch)) or _general(net, batch))
    net(X[:3])
    monkeypatch.setattr(plan, "small_rows", 10)
    net(X)  # 50 rows > 10
    net(X[:3], dtype=np.float64)  # dtype given: the general call
    net(X[:3].astype(np.float32))
    assert calls == [3]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 9))
def test_generated_programs_small_path_equals_general_path(source, seed, rows):
    net = netlang.compile(source)
    X = np.random.default_rng(seed).normal(scale=2, size=(rows, net.input_width))
    got = net(X)
    assert got.shape == (rows, net.output_width)
    np.testing.assert_array_equal(got, _general(net, X))


def test_sigmoid_limits_in_the_small_path_without_warnings():
    net = netlang.compile("input x\nlayer y[1] = sigmoid([[1000]] @ [x] + [5])")
    net(np.zeros((1, 1)))  # makes the plan; the calls after it take the small path
    assert net._fast is not None
    with _no_warnings():
        out = net(np.array([[-10.0], [0.0], [10.0], [1e306]]))
    assert out[0, 0] == 0.0 and out[2, 0] == 1.0 and out[3, 0] == 1.0


class _no_warnings:
    def __enter__(self):
        import warnings

        self.catcher = warnings.catch_warnings()
        self.catcher.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self.catcher.__exit__(*exc)
