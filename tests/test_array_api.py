"""The array API path (netlang/arrays.py): any library's arrays in, the same library's arrays out.

Differential: generated programs (vectors, layers, softmax, comparisons: tests/generators.py)
and sparse netlists evaluated through array-api-strict and PyTorch on the CPU against the
interpreter and against numpy's plans. test_differential.py runs its netlists through the
same libraries.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
from array_backends import BACKENDS, check_kind, library, to_backend, to_numpy
from generators import programs
from netlang import runtime
from netlang.checker import check
from netlang.interpreter import interpret_row
from netlang.parser import parse
from test_runtime_layouts import MIXED, _as_sparse, _sparse_netlist

FOREIGN = [p for p in BACKENDS if p.values[0] != "numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**32 - 1))
def test_generated_programs_agree_with_the_interpreter(backend, source, seed):
    checked = check(parse(source), source)
    net = netlang.compile(source)
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.integers(0, 2, size=(3, net.input_width)), rng.normal(scale=2, size=(6, net.input_width))])
    result = net(to_backend(backend, X))
    check_kind(backend, result)
    got = to_numpy(backend, result)
    assert got.shape == (len(X), net.output_width)
    numpy_result = net(X)
    for row, numpy_row, values in zip(got, numpy_result, X):
        want = np.array(interpret_row(checked, list(values)), dtype=float)
        # A step whose argument is within rounding of 0 may go either way: compare with numpy's
        # plan there (same weights) only where the interpreter and numpy agree.
        if np.allclose(numpy_row, want, rtol=1e-9, atol=1e-9):
            np.testing.assert_allclose(row, want, rtol=1e-9, atol=1e-9, err_msg=source)


@pytest.mark.parametrize("backend", FOREIGN)
@pytest.mark.parametrize("nodes", [5, 600])
def test_sparse_netlists_agree_with_numpy(backend, nodes):
    # Sparse layers are gathered terms in every library (the documented fallback in arrays.py).
    net = netlang.compile(_sparse_netlist(nodes, seed=nodes))
    if nodes >= 600:
        assert any(layer.is_sparse for layer in net.layers)
    X = np.random.default_rng(7).normal(size=(23, net.input_width))
    got = net(to_backend(backend, X))
    check_kind(backend, got)
    np.testing.assert_allclose(to_numpy(backend, got), net(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", FOREIGN)
def test_sparse_rows_with_no_terms_and_uneven_terms(backend):
    net = netlang.compile(MIXED)
    sparse = _as_sparse(net, keep=lambda k, r, c: (r + c) % 3 != 0)  # some rows lose every term
    assert all(layer.is_sparse for layer in sparse.layers)
    X = np.random.default_rng(8).normal(size=(12, net.input_width))
    X[3, 0] = np.inf  # padded terms read a column of zeros with weight 0: never inf * 0
    expected = sparse(X)
    np.testing.assert_array_equal(np.isnan(to_numpy(backend, sparse(to_backend(backend, X)))), np.isnan(expected))
    np.testing.assert_allclose(to_numpy(backend, sparse(to_backend(backend, X))), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", FOREIGN)
def test_dtype_single_samples_and_an_output_that_is_an_input(backend):
    lib = library(backend)
    net = netlang.compile(MIXED)  # outputs: ..., x1 (an input): never a view of the caller's batch
    X = np.random.default_rng(9).normal(size=(5, net.input_width))
    x32 = to_backend(backend, X.astype(np.float32))
    out32 = net(x32)
    assert out32.dtype == lib.float32
    np.testing.assert_allclose(to_numpy(backend, out32), net(X), atol=1e-5)
    out64 = net(x32, dtype=np.float64)
    assert out64.dtype == lib.float64
    ints = net(to_backend(backend, np.ones((2, net.input_width), dtype=np.int64)))
    assert ints.dtype == lib.float64
    one = net(to_backend(backend, X[2]))
    assert tuple(one.shape) == (net.output_width,)
    np.testing.assert_allclose(to_numpy(backend, one), net(X[2]), rtol=1e-12)
    batch = to_backend(backend, X.copy())
    out = net(batch)
    out[:, -1] = 123.0  # writing to the result leaves the input alone
    assert float(to_numpy(backend, batch)[0, 0]) == X[0, 0]
    empty = net(to_backend(backend, np.zeros((0, net.input_width))))
    assert tuple(empty.shape) == (0, net.output_width)


@pytest.mark.parametrize("backend", FOREIGN)
def test_weights_are_moved_once_per_library_device_and_dtype(backend):
    net = netlang.compile(MIXED)
    X = to_backend(backend, np.zeros((3, net.input_width)))
    net(X)
    net(X)
    plans = [key for key in net._plans if isinstance(key, tuple)]
    assert len(plans) == 1 and plans[0][0] == "portable"
    net(to_backend(backend, np.zeros((3, net.input_width), dtype=np.float32)))
    assert len([key for key in net._plans if isinstance(key, tuple)]) == 2


@pytest.mark.parametrize("backend", FOREIGN)
def test_a_batch_of_the_wrong_width_is_a_located_error(backend):
    net = netlang.compile("input x1, x2\nnode y = x1 + x2")
    with pytest.raises(netlang.NetlangError) as caught:
        net(to_backend(backend, np.zeros((4, 3))))
    assert caught.value.code == "bad-input" and "(4, 3)" in str(caught.value)


def test_sigmoid_limits_are_exact_in_the_portable_kernels():
    xs = library("array_api_strict")
    net = netlang.compile("input x\nnode y = sigmoid(1000*x + 5)")
    out = np.asarray(net(xs.asarray(np.array([[-10.0], [0.0], [10.0]]))))
    assert out[0, 0] == 0.0 and out[2, 0] == 1.0
    assert out[1, 0] == pytest.approx(1 / (1 + np.exp(-5)), rel=1e-15)


def test_without_array_api_compat_the_message_names_the_extra(monkeypatch):
    xs = library("array_api_strict")
    net = netlang.compile("input x\nnode y = x")
    monkeypatch.setitem(sys.modules, "array_api_compat", None)  # import fails as if not installed
    with pytest.raises(netlang.NetlangError) as caught:
        net(xs.asarray(np.zeros((1, 1))))
    assert caught.value.code == "missing-extra" and "netlang[array]" in caught.value.hint


def test_numpy_arrays_lists_and_subclasses_stay_on_the_numpy_plans():
    net = netlang.compile(MIXED)
    X = np.random.default_rng(10).normal(size=(4, net.input_width))
    class Subclass(np.ndarray):  # has __array_namespace__ too, as every ndarray: still numpy
        pass

    for batch in (X, X.tolist(), X.view(Subclass), X.astype(np.float32)):
        out = net(batch)
        assert type(out) is np.ndarray and out.dtype == np.float64
    assert all(not isinstance(key, tuple) for key in net._plans)
    assert isinstance(net._plans[np.dtype(np.float64)], runtime._RowPlan)
