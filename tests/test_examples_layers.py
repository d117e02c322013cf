"""The layer-level examples (issue 3), checked against the books' published figures and hand-written numpy."""

from __future__ import annotations

import json
import runpy
import sys

import numpy as np
import pytest

import netlang
from conftest import EXAMPLES

MNIST = EXAMPLES / "mnist"


def test_matrix_is_the_seeds_y_equals_w_x(cli):
    net = netlang.load(str(EXAMPLES / "matrix.net"))
    (layer,) = net.layers
    assert layer.weights.tolist() == [[0.9, 0.3, 0.4], [0.2, 0.8, 0.2], [0.1, 0.5, 0.6]]
    x1, x2, x3 = 0.9, 0.1, 0.8
    # y_i = w_i1 x_1 + w_i2 x_2 + w_i3 x_3, written out as in the seed
    expected = [0.9 * x1 + 0.3 * x2 + 0.4 * x3, 0.2 * x1 + 0.8 * x2 + 0.2 * x3, 0.1 * x1 + 0.5 * x2 + 0.6 * x3]
    assert net([x1, x2, x3]).tolist() == pytest.approx(expected, abs=1e-15)
    assert expected == pytest.approx([1.16, 0.42, 0.62])  # the book's hidden-layer inputs
    assert cli("run", str(EXAMPLES / "matrix.net"), "--x", "0.9", "0.1", "0.8").exit_code == 0


def test_make_your_own_neural_network_figures(cli):
    net = netlang.load(str(EXAMPLES / "myonn.net"))
    # The book prints three decimals, cut rather than rounded (0.7086 shows as 0.708): within 0.001.
    assert net([0.9, 0.1, 0.8]) == pytest.approx([0.726, 0.708, 0.778], abs=1e-3)
    hidden = netlang.load(str(EXAMPLES / "myonn.net")).layers[0]
    z = hidden.weights @ np.array([0.9, 0.1, 0.8])
    assert 1 / (1 + np.exp(-z)) == pytest.approx([0.761, 0.603, 0.650], abs=1e-3)
    result = cli("run", str(EXAMPLES / "myonn.net"), "--x", "0.9", "0.1", "0.8", "--json")
    assert json.loads(result.stdout)["y"] == pytest.approx([0.726, 0.708, 0.778], abs=1e-3)


def test_deep_learning_from_scratch_figures():
    net = netlang.load(str(EXAMPLES / "dlfs.net"))
    assert net([1.0, 0.5]) == pytest.approx([0.31682708, 0.69627909], abs=5e-9)


def test_mnist_weights_are_small_and_loaded_from_the_npz():
    size = (MNIST / "weights.npz").stat().st_size
    assert size < 512 * 1024
    net = netlang.load(str(MNIST / "mnist.net"))
    assert net.input_width == 784 and net.output_width == 10
    assert [layer.shape for layer in net.layers] == [(100, 784), (10, 100)]


def test_mnist_matches_hand_written_numpy_on_the_csv(cli, tmp_path):
    with np.load(MNIST / "weights.npz", allow_pickle=False) as weights:
        W1, b1, W2, b2 = (weights[k].astype(np.float64) for k in ("W1", "b1", "W2", "b2"))
    lines = (MNIST / "images.csv").read_text().strip().split("\n")
    assert lines[0].split(",")[:2] == ["x[0]", "x[1]"] and len(lines) == 21
    X = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    expected = sigmoid(sigmoid(X @ W1.T + b1) @ W2.T + b2)
    result = cli("run", str(MNIST / "mnist.net"), "--input", str(MNIST / "images.csv"), "--output", str(tmp_path / "o.npy"))
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), expected, rtol=1e-12)
    text = cli("run", str(MNIST / "mnist.net"), "--input", str(MNIST / "images.csv")).stdout
    header, *rows = text.strip().split("\n")
    assert header == ",".join(f"digit[{i}]" for i in range(10))
    np.testing.assert_allclose([[float(v) for v in row.split(",")] for row in rows], expected, rtol=1e-12)


def test_mnist_data_script_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["make_data.py", str(tmp_path)])
    runpy.run_path(str(MNIST / "make_data.py"), run_name="__main__")
    assert (tmp_path / "images.csv").read_text() == (MNIST / "images.csv").read_text()
    with np.load(tmp_path / "weights.npz") as fresh, np.load(MNIST / "weights.npz") as committed:
        assert sorted(fresh.files) == sorted(committed.files)
        for key in fresh.files:
            assert np.array_equal(fresh[key], committed[key])


def test_activations_example_against_the_formulas():
    """examples/activations.net (the tutorial's activations): each layer against numpy's formula."""
    net = netlang.load(EXAMPLES / "activations.net")
    W, b = np.array([[1.0, -1.0], [-2.0, 1.0]]), np.array([0.0, 0.5])
    rng = np.random.default_rng(3)
    for x in rng.normal(scale=3, size=(20, 2)):
        z = W @ x + b
        got = net.run({"x": x})
        np.testing.assert_allclose(got["z"], z, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got["s"], 1 / (1 + np.exp(-z)), rtol=1e-12)
        np.testing.assert_allclose(got["r"], np.maximum(z, 0), rtol=1e-12)
        np.testing.assert_allclose(got["t"], np.tanh(z), rtol=1e-12)
        np.testing.assert_allclose(got["p"], np.exp(z) / np.exp(z).sum(), rtol=1e-12)
