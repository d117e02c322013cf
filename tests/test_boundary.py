"""Boundary stage: decision regions over the input plane, and `netlang plot`."""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import netlang
from netlang import boundary
from netlang.checker import check
from netlang.interpreter import interpret

from conftest import EXAMPLES

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib is not installed (pip install 'netlang[plot]')",
)

XOR = (EXAMPLES / "xor.net").read_text(encoding="utf-8")


def test_regions_match_the_interpreter():
    """Differential: the grid, evaluated in one batch by the compiled network, against the tree-walking reference."""
    source = XOR.replace("output y", "output y, s1, s2")
    found = {name: boundary.regions(netlang.compile(source), name, (-1, 2), resolution=31) for name in ("y", "s1", "s2")}
    checked = check(netlang.parse(source, "xor.net"), source)
    rng = np.random.default_rng(1)
    for i, j in rng.integers(0, 31, size=(40, 2)):
        a, b = found["y"].xs[j], found["y"].ys[i]
        expected = interpret(checked, {"x1": a, "x2": b})
        for name in found:
            assert found[name].values[i, j] == expected[name]


def test_and_is_one_straight_line():
    found = boundary.regions(netlang.load(EXAMPLES / "and.net"), resolution=51)
    X, Y = np.meshgrid(found.xs, found.ys)
    assert np.array_equal(found.values, (0.5 * X + 0.5 * Y > 0.7).astype(float))
    assert found.is_binary
    assert [value for _, value in found.corners] == [0, 0, 0, 1]
    assert found.lines == []  # one neuron: its own boundary is the only line
    assert found.axes == ("x1", "x2") and found.signal == "y"


def test_xor_shows_the_lines_of_its_first_layer():
    found = boundary.regions(netlang.load(EXAMPLES / "xor.net"), resolution=41)
    assert [value for _, value in found.corners] == [0, 1, 1, 0]
    assert [name for name, _ in found.lines] == ["s1", "s2"]
    s1 = dict(found.lines)["s1"]
    X, Y = np.meshgrid(found.xs, found.ys)
    assert np.array_equal(s1, (-0.5 * X - 0.5 * Y > -0.7).astype(float))
    # y is the AND of the two lines' half-planes: a band no single line can cut out
    assert np.array_equal(found.values, dict(found.lines)["s1"] * dict(found.lines)["s2"])
    assert boundary.regions(netlang.load(EXAMPLES / "xor.net"), "s1", resolution=5).lines == []


def test_smooth_outputs_and_vector_inputs():
    net = netlang.compile("input x[2]\nlayer h = sigmoid([[1, 0], [0, 2]] @ x + [0, -1])\noutput h")
    found = boundary.regions(net, "h[1]", (0, 1), resolution=3)
    assert found.axes == ("x[0]", "x[1]") and not found.is_binary
    expected = 1 / (1 + np.exp(-(2 * found.ys - 1)))
    assert np.allclose(found.values, np.repeat(expected[:, None], 3, axis=1))
    assert boundary.regions(net, resolution=3).signal == "h[0]"


def test_bad_requests_are_clear_errors():
    with pytest.raises(ValueError, match="decision regions need two input values; this network takes 1"):
        boundary.regions(netlang.load(EXAMPLES / "neuron.net"))
    with pytest.raises(netlang.NetlangError, match=r"takes 3 \(a, b, c\)") as info:
        boundary.check_plottable(netlang.compile("input a, b, c\nnode y = a + b + c\n"))
    assert info.value.code == "not-two-inputs"
    xor = netlang.load(EXAMPLES / "xor.net")
    with pytest.raises(ValueError, match="no neuron named 'z'"):
        boundary.regions(xor, "z")
    with pytest.raises(ValueError, match="did you mean 'y'"):
        boundary.choose_signal(netlang.compile("input a, b\nnode yy = a + b\nnode y = yy"), "Y")
    with pytest.raises(ValueError, match="low < high"):
        boundary.regions(xor, plane=(1, 1))


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    found = boundary.regions(netlang.load(EXAMPLES / "and.net"), resolution=3)
    with pytest.raises(netlang.NetlangError, match="plotting needs the 'matplotlib' package") as raised:
        boundary.figure(found)
    assert raised.value.code == "missing-extra" and "pip install 'netlang[plot]'" in raised.value.hint


@needs_matplotlib
def test_figure_shows_regions_points_and_lines():
    found = boundary.regions(netlang.load(EXAMPLES / "xor.net"), resolution=21)
    fig = boundary.figure(found, title="xor.net")
    (ax,) = fig.axes
    assert ax.get_title() == "xor.net: y"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert np.array_equal(ax.images[0].get_array(), found.values)
    assert sorted(text.get_text() for text in ax.texts) == ["y = 0", "y = 0", "y = 1", "y = 1"]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["y = 1", "y = 0", "boundary of y", "line of s1", "line of s2"]


@needs_matplotlib
def test_cli_writes_png_and_svg(cli, tmp_path):
    result = cli("plot", str(EXAMPLES / "and.net"), "-o", str(tmp_path / "and.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "and.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", str(tmp_path / "s1.svg"), "--show", "s1", "--range", "-1", "2")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "s1.svg").read_text(encoding="utf-8")
    assert ElementTree.fromstring(svg).tag.endswith("svg") and "xor.net: s1" in svg


def test_cli_errors(cli, tmp_path, monkeypatch):
    out = str(tmp_path / "p.png")
    three = tmp_path / "three.net"
    three.write_text("input a, b, c\nnode y = a + b + c\n")
    result = cli("plot", str(three), "-o", out)
    assert result.exit_code == 1
    assert "three.net: error: a picture is drawn over one input value (a curve) or two (a plane)" in result.output
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", out, "--range", "1", "0")
    assert result.exit_code == 2 and "'--range'" in result.output and "LOW < HIGH" in result.output
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", out, "--range", "0", "inf")
    assert result.exit_code == 2 and "'--range'" in result.output
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", out, "--show", "s3")
    assert result.exit_code == 2 and "'--show'" in result.output and "s1, s2, y" in result.output
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", str(tmp_path / "p.jpg"))
    assert result.exit_code == 2 and "p.jpg" in result.output
    result = cli("plot", str(EXAMPLES / "xor.net"))
    assert result.exit_code == 2 and "Missing option '-o'" in result.output
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("plot", str(EXAMPLES / "xor.net"), "-o", out)
    assert result.exit_code == 1 and "pip install 'netlang[plot]'" in result.output
    assert not (tmp_path / "p.png").exists()


ACTIVATIONS = {"step": "step(x > 0)", "sigmoid": "sigmoid(x)", "relu": "relu(x)", "tanh": "tanh(2*x - 1)"}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_one_input_is_a_curve_that_matches_the_interpreter(name):
    """Differential: the curve, evaluated in one batch, against the tree-walking reference at every point."""
    source = f"input x\nnode y = {ACTIVATIONS[name]}\n"
    found = boundary.curve(netlang.compile(source), span=(-3, 3), resolution=61)
    assert (found.axis, found.signal) == ("x", "y")
    assert np.array_equal(found.xs, np.linspace(-3, 3, 61))
    checked = check(netlang.parse(source))
    expected = [interpret(checked, {"x": float(x)})["y"] for x in found.xs]
    assert np.allclose(found.values, expected, rtol=0, atol=1e-12)


def test_a_curve_needs_one_input_and_a_range():
    with pytest.raises(ValueError, match="needs one input value"):
        boundary.curve(netlang.load(EXAMPLES / "xor.net"))
    with pytest.raises(ValueError, match="low < high"):
        boundary.curve(netlang.compile("input x\nnode y = x\n"), span=(2, 2))


@needs_matplotlib
def test_cli_plots_one_input_as_a_curve(cli, tmp_path):
    net = tmp_path / "sigmoid.net"
    net.write_text("input x\nnode y = sigmoid(x)\n")
    result = cli("plot", str(net), "-o", str(tmp_path / "s.svg"), "--range", "-6", "6")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "s.svg").read_text(encoding="utf-8")
    assert ElementTree.fromstring(svg).tag.endswith("svg") and "sigmoid.net: y" in svg
    fig = boundary.curve_figure(boundary.curve(netlang.load(net), span=(-6, 6), resolution=101))
    (line,) = fig.axes[0].get_lines()[2:]  # after the two axis lines
    assert np.allclose(line.get_ydata(), 1 / (1 + np.exp(-np.linspace(-6, 6, 101))))
