"""The layer level of the language (issue 3): vector inputs, matrix literals, layers, both matmul conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang.checker import check
from netlang.interpreter import inputs_by_name, interpret

RNG = np.random.default_rng(7)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _compile(source: str, base_dir: Path | None = None) -> netlang.Network:
    return netlang.compile(netlang.parse(source, "t.net"), base_dir=base_dir)


def _agrees_with_interpreter(source: str, samples: np.ndarray, base_dir: Path | None = None) -> np.ndarray:
    """The compiled network's outputs on ``samples``, after checking them against the tree-walking reference."""
    program = netlang.parse(source, "t.net")
    net = netlang.compile(program, base_dir=base_dir)
    checked = check(program, source, base_dir)
    out = net(samples)
    for row, result in zip(samples, out):
        expected = interpret(checked, inputs_by_name(checked, row))
        flat = np.concatenate([np.atleast_1d(expected[name]) for name in net.output_names])
        np.testing.assert_allclose(result, flat, rtol=1e-12, atol=1e-12)
    return out


def test_vector_input_is_flattened_in_declaration_order():
    net = _compile("input a, v[3], b\nnode y = a + 10*v[0] + 100*v[1] + 1000*v[2] + 10000*b\n")
    assert net.input_columns == ("a", "v[0]", "v[1]", "v[2]", "b")
    assert net.input_width == 5
    assert net([1, 2, 3, 4, 5]).tolist() == [54321.0]
    assert net.run({"a": 1, "v": [2, 3, 4], "b": 5}) == {"y": 54321.0}


def test_matrix_literal_over_several_lines_with_comments():
    source = "input x[2]\nlet W = [[1, 2],   # first row\n\n         [3, 4],   # second\n        ]\nlayer y = W @ x\n"
    assert _compile(source)([1, 10]).tolist() == [21.0, 43.0]


def test_both_matmul_conventions_agree():
    W = RNG.normal(size=(3, 4))
    b = RNG.normal(size=3)
    literal = np.array2string(W, separator=", ", precision=17, floatmode="unique").replace("\n", "")
    bias = np.array2string(b, separator=", ", precision=17, floatmode="unique")
    column = f"input x[4]\nlet W = {literal}\nlet b = {bias}\nlayer y = sigmoid(W @ x + b)\n"
    row_literal = np.array2string(W.T, separator=", ", precision=17, floatmode="unique").replace("\n", "")
    row = f"input x[4]\nlet WT = {row_literal}\nlet b = {bias}\nlayer y = sigmoid(x @ WT + b)\n"
    X = RNG.normal(size=(6, 4))
    expected = _sigmoid(X @ W.T + b)
    np.testing.assert_allclose(_agrees_with_interpreter(column, X), expected, rtol=1e-12)
    np.testing.assert_allclose(_agrees_with_interpreter(row, X), expected, rtol=1e-12)


def test_scalar_multiples_and_sums_of_affine_terms():
    source = (
        "input x[2], z[2]\n"
        "let A = [[1, 2], [3, 4]]\nlet B = [[0.5, -1], [2, 0]]\n"
        "layer y = relu(2*(A @ x) - B @ z/4 + 0.5*x + [1, -1])\n"
    )
    X = RNG.normal(size=(8, 4))
    A, B = np.array([[1, 2], [3, 4]]), np.array([[0.5, -1], [2, 0]])
    x, z = X[:, :2], X[:, 2:]
    expected = np.maximum(0, 2 * x @ A.T - z @ B.T / 4 + 0.5 * x + [1, -1])
    np.testing.assert_allclose(_agrees_with_interpreter(source, X), expected, rtol=1e-12, atol=1e-12)


def test_vector_literal_of_scalar_signals():
    source = "input x1, x2\nlet W = [[1, 2], [3, -4]]\nlayer h = W @ [x1, x2]\nnode y = h[0] - h[1]\noutput h, y\n"
    out = _compile(source)([1.0, 0.5])
    assert out.tolist() == [2.0, 1.0, 1.0]


def test_softmax_layer():
    source = "input x[3]\nlayer p = softmax([[1, 2, 3], [0, 1, 0], [-1, 0, 2]] @ x)\n"
    X = RNG.normal(size=(5, 3))
    z = X @ np.array([[1, 2, 3], [0, 1, 0], [-1, 0, 2]]).T
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    out = _agrees_with_interpreter(source, X)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_step_thresholds_elementwise():
    net = _compile("input x[3]\nlayer s = step([[1, 0, 0], [0, 1, 0], [0, 0, 1]] @ x > [0.5, 0.2, -1])\n")
    assert net([0.6, 0.2, -1]).tolist() == [1.0, 0.0, 0.0]  # 0.2 > 0.2 and -1 > -1 are false
    net = _compile("input x[2]\nlayer s = step(x @ [[1, 0, 1], [0, 1, 1]] >= 1)\n")
    assert net([1, 0]).tolist() == [1.0, 0.0, 1.0]


def test_scalar_nodes_read_layer_elements_and_levels_mix():
    source = (
        "input x1, x2, v[2]\n"
        "node n = step(x1 + x2 > 1)\n"
        "layer h[2] = sigmoid([[1, -1], [2, 0.5]] @ v + [n, x1])\n"
        "node y = step(h[0] + h[1] > 1)\n"
        "layer out = [[1, 1, 1]] @ [y, h[0], n]\n"
        "output y, out\n"
    )
    X = np.array([[1, 1, 0.5, -0.5], [0, 0, 2, 1], [1, 0, -3, 3]], dtype=float)
    out = _agrees_with_interpreter(source, X)
    h = _sigmoid(X[:, 2:] @ np.array([[1, -1], [2, 0.5]]).T + np.stack([X[:, 0] + X[:, 1] > 1, X[:, 0]], axis=1))
    y = (h.sum(axis=1) > 1).astype(float)
    np.testing.assert_allclose(out[:, 0], y)
    np.testing.assert_allclose(out[:, 1], y + h[:, 0] + (X[:, 0] + X[:, 1] > 1))


def test_declared_layer_size_is_checked():
    assert _compile("input x[2]\nlayer h[2] = [[1, 0], [0, 1]] @ x\n").output_width == 2
    with pytest.raises(netlang.NetlangError) as info:
        _compile("input x[2]\nlayer h[3] = [[1, 0], [0, 1]] @ x\n")
    assert info.value.code == "shape-mismatch" and "declared with 3 elements but computes 2" in info.value.message


@pytest.mark.parametrize(
    "source, parts",
    [
        ("input x[3]\nlet W = [[1, 2], [3, 4]]\nlayer y = W @ x\n", ["'@'", "W is 2x2", "x has 3 elements"]),
        ("input x[2]\nlet W = [[1, 2, 3]]\nlayer y = x @ W\n", ["'@'", "x has 2 elements", "W is 1x3"]),
        ("input x[2]\nlayer y = [[1, 0], [0, 1]] @ x + [1, 2, 3]\n", ["'+'", "2 elements", "3 elements"]),
        ("input x[2], z[3]\nlayer y = x + z\n", ["'+'", "x has 2 elements", "z has 3 elements"]),
    ],
)
def test_shape_errors_name_both_shapes_and_the_operation(source, parts):
    with pytest.raises(netlang.NetlangError) as info:
        _compile(source)
    assert info.value.code == "shape-mismatch"
    for part in parts:
        assert part in info.value.message


def test_shape_error_hint_counts_in_plain_words():
    with pytest.raises(netlang.NetlangError) as info:
        _compile("input x[2]\nlet W = [[1, 2, 3]]\nlayer y = x @ W\n")
    assert info.value.hint.startswith("W has 1 row, so x needs 1 element")


def test_load_relative_to_the_net_file(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    np.save(folder / "w.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.savez(folder / "m.npz", W1=np.array([[0.5, 0.5]]), b1=np.array([-0.7]))
    (folder / "b.csv").write_text("1, -1\n")
    (folder / "net.net").write_text(
        'input x[2]\nlet W = load("w.npy")\nlet b = load("b.csv")\n'
        'layer h = W @ x + b\nlayer y = step(load("m.npz", "W1") @ x + load("m.npz", "b1"))\noutput h, y\n'
    )
    monkeypatch.chdir(tmp_path)  # elsewhere than the .net file
    net = netlang.load("model/net.net")
    assert net([1, 1]).tolist() == [4.0, 6.0, 1.0]
    assert net([1, 0]).tolist() == [2.0, 2.0, 0.0]


def test_load_reads_in_folders_below_the_net_file_and_nowhere_else(tmp_path):
    model = tmp_path / "course" / "model"
    (model / "weights").mkdir(parents=True)
    np.save(model / "weights" / "w.npy", np.array([[2.0, 0.0], [0.0, 3.0]]))
    np.save(tmp_path / "course" / "outside.npy", np.array([[1.0, 1.0], [1.0, 1.0]]))
    (model / "below.net").write_text('input x[2]\nlayer h = load("weights/w.npy") @ x\n')
    assert netlang.load(model / "below.net")([1, 1]).tolist() == [2.0, 3.0]
    # The file outside exists: the refusal does not depend on what is there.
    for path in ["../outside.npy", "weights/../../outside.npy", str(tmp_path / "course" / "outside.npy")]:
        (model / "outside.net").write_text(f'input x[2]\nlayer h = load("{path}") @ x\n')
        with pytest.raises(netlang.NetlangError) as info:
            netlang.load(model / "outside.net")
        assert info.value.code == "path-outside"
        assert (info.value.line, info.value.column) == (2, 16)
        assert path in info.value.message


def test_shape_error_hint_suggests_the_other_convention():
    with pytest.raises(netlang.NetlangError) as info:
        _compile("input x[2]\nlet W = [[1, 2], [3, 4], [5, 6]]\nlayer y = x @ W\n")
    assert "W @ x (the column-vector convention) would fit" in info.value.hint
    with pytest.raises(netlang.NetlangError) as info:
        _compile("input x[3]\nlet W = [[1, 2], [3, 4], [5, 6]]\nlayer y = W @ x\n")
    assert "x @ W (the row-vector convention) would fit" in info.value.hint
