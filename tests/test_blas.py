"""netlang.blas (``C += alpha·Aᵀ·B`` by numpy's own BLAS) against numpy's matmul, and training's
in-place gradient step against numpy's two passes and Saito's update transcribed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from book_updates import SAITO_NET as SAITO, saito_epoch
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang import blas, training

# numpy's wheels for Linux carry their OpenBLAS in numpy.libs: there the BLAS path must be found.
_WHEEL_BLAS = sys.platform == "linux" and any("blas" in p.name for p in (Path(np.__file__).resolve().parent.parent / "numpy.libs").glob("*"))


def test_numpys_blas_is_found_where_numpys_wheel_carries_one():
    if _WHEEL_BLAS:
        assert blas._dgemm() is not None
    else:  # another numpy (a system or conda build): found or not, the engine works either way
        assert blas._dgemm() is None or callable(blas._dgemm()[0])


def _block(rng, rows, columns, extra, data):
    """A rows x columns float64 view with row stride columns + extra (a strided block's columns)."""
    base = rng.standard_normal((rows, columns + extra))
    return base[:, data : data + columns] if extra else base


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 40), n=st.integers(1, 30), k=st.integers(1, 50),
    extras=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    alpha=st.sampled_from([-1.0, -0.1, 0.5, 3.0]), seed=st.integers(0, 2**16),
)
def test_the_in_place_product_is_numpys(m, n, k, extras, alpha, seed):
    if blas._dgemm() is None:
        return  # nothing to compare: the engine keeps numpy's path (test above)
    rng = np.random.default_rng(seed)
    c = _block(rng, m, n, extras[0], min(extras[0], 1))
    a = _block(rng, k, m, extras[1], min(extras[1], 1))
    b = _block(rng, k, n, extras[2], min(extras[2], 1))
    expected = c + alpha * (a.T @ b)
    around = c.base.copy() if c.base is not None else None
    product = blas.in_place_product(c, a, b, alpha)
    assert product is not None
    product()
    scale = np.abs(c).max() + abs(alpha) * (np.abs(a).T @ np.abs(b)).max()
    assert np.max(np.abs(c - expected)) <= 4 * k * np.finfo(float).eps * scale
    if around is not None:  # the columns outside the view are untouched
        inside = np.zeros(around.shape, dtype=bool)
        inside[:, min(extras[0], 1) : min(extras[0], 1) + n] = True
        np.testing.assert_array_equal(c.base[~inside], around[~inside])


def test_arrays_it_cannot_take_give_none():
    a, b = np.ones((4, 3)), np.ones((4, 2))
    assert blas.in_place_product(np.ones((2, 3)), a, b, 1.0) is None  # C's shape is not Aᵀ·B's
    assert blas.in_place_product(np.ones((2, 3)).T, a, b, 1.0) is None  # columns not contiguous
    assert blas.in_place_product(np.ones((3, 2), dtype=np.float32), a, b, 1.0) is None
    assert blas.in_place_product(np.ones((3, 2)), a[:, ::2], b, 1.0) is None
    frozen = np.ones((3, 2))
    frozen.flags.writeable = False
    assert blas.in_place_product(frozen, a, b, 1.0) is None


def test_netlang_blas_numpy_turns_it_off():
    code = "from netlang import blas; print(blas._dgemm() is None)"
    env = {**os.environ, "NETLANG_BLAS": "numpy"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


@pytest.mark.parametrize("samples", [530, 501])  # the last batch has 30 samples, or 1
def test_in_place_steps_equal_numpys_two_passes_and_saitos_update(tmp_path, monkeypatch, samples):
    rng = np.random.default_rng(21)
    n_in, n_hidden, n_out, batch, rate = 40, 16, 6, 100, 0.1  # a rate that is not a power of 2
    W1 = 0.01 * rng.standard_normal((n_in, n_hidden))
    W2 = 0.01 * rng.standard_normal((n_hidden, n_out))
    b1, b2 = np.zeros(n_hidden), np.zeros(n_out)
    X = rng.uniform(0, 1, (samples, n_in))
    T = np.eye(n_out)[rng.integers(0, n_out, samples)]
    np.savez(tmp_path / "w.npz", W1=W1.T, b1=b1, W2=W2.T, b2=b2)
    path = tmp_path / "saito.net"
    path.write_text(SAITO.format(n_in=n_in, n_hidden=n_hidden, n_out=n_out), encoding="utf-8")
    net = netlang.load(path)
    binding = training.binding_all(net)
    settings_ = training.Settings(loss="cross-entropy", learning_rate=rate, epochs=3, batch_size=batch, seed=3)
    engine = training._Engine(net, binding, training.parameters(net, binding), "cross-entropy", transposed=True)
    updated = engine.program(batch, rate, in_place=True).updated
    assert len(updated) == (2 if blas._dgemm() is not None else 0)  # both weight matrices, not the biases
    in_place = training.fit(net, binding, X, T, settings_)
    monkeypatch.setattr(blas, "_dgemm", lambda: None)
    assert engine.program(batch, rate, in_place=True).updated == []
    two_passes = training.fit(net, binding, X, T, settings_)
    np.testing.assert_allclose(in_place.theta, two_passes.theta, rtol=1e-12, atol=1e-15)
    weights = (W1, b1, W2, b2)
    order_rng = np.random.default_rng(3)
    for _ in range(3):
        weights = saito_epoch(*weights, X, T, order_rng.permutation(samples), batch, rate)
    layers = in_place.network.layers
    for got, want in zip((layers[0].weights, layers[0].bias, layers[1].weights, layers[1].bias), (weights[0].T, weights[1], weights[2].T, weights[3])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(weights[2] - W2)) > 1e-3  # the epochs moved the weights


def test_a_diverging_loss_stops_before_an_in_place_step(tmp_path):
    np.savez(tmp_path / "w.npz", W1=np.full((3, 2), 1e200), b1=np.zeros(3), W2=np.ones((2, 3)), b2=np.zeros(2))
    path = tmp_path / "big.net"
    path.write_text(SAITO.format(n_in=2, n_hidden=3, n_out=2).replace("sigmoid", "relu"), encoding="utf-8")
    net = netlang.load(path)
    X = np.array([[1e200, 1e200], [1.0, 2.0], [3.0, 1.0]])
    T = np.eye(2)[[0, 1, 0]]
    with pytest.raises(netlang.NetlangError) as caught:
        training.fit(net, training.binding_all(net), X, T, training.Settings(loss="cross-entropy", batch_size=3, epochs=2))
    assert "epoch 1, batch 1" in str(caught.value)
