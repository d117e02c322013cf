"""Diagram stage: DOT text drawn from compiled networks, rendering through Graphviz, `netlang graph`."""

from __future__ import annotations

import html
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import diagram
from netlang.display import format_short

from conftest import EXAMPLES

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's 'dot' is not installed (apt-get install graphviz)")

_NODE = re.compile(r'^\s+(n\d+) \[label="((?:[^"\\]|\\.)*)", shape=(\w+)', re.M)
_EDGE = re.compile(r'^\s+(n\d+) -> (n\d+) \[.*?(?:head)?label="((?:[^"\\]|\\.)*)"', re.M)


def _shapes(dot: str) -> dict:
    """Shape id -> (label with real newlines, shape)."""
    return {m[1]: (m[2].replace("\\n", "\n"), m[3]) for m in _NODE.finditer(dot)}


def _edges(dot: str) -> list:
    return [(m[1], m[2], m[3]) for m in _EDGE.finditer(dot)]


def _by_label(dot: str) -> dict:
    """First line of each shape's label (the signal's name) -> shape id."""
    return {label.split("\n")[0]: id for id, (label, _) in _shapes(dot).items()}


MATRIX = """\
input x[3]
let W = [[0.9, 0.3, 0.4], [0.2, 0.8, 0.2], [0.1, 0.5, 0.6]]
layer y = sigmoid(W @ x + [0, 0.5, -1])
output y
"""


@pytest.mark.parametrize("source", sorted(p.name for p in EXAMPLES.glob("*.net")) + ["MATRIX"])
def test_every_weight_is_one_labelled_arrow(source):
    """Differential: the arrows of a neuron-level drawing are exactly the non-zero weights of the layers."""
    network = netlang.compile(MATRIX) if source == "MATRIX" else netlang.load(EXAMPLES / source)
    dot = diagram.to_dot(network)
    ids = _by_label(dot)
    expected = set()
    for layer in network.layers:
        for r, row in enumerate(layer.rows):
            for c, column in enumerate(layer.columns):
                if layer.weights[r, c] != 0:
                    expected.add((ids[column], ids[row], format_short(layer.weights[r, c])))
    edges = _edges(dot)
    assert len(edges) == len(set(edges))
    assert set(edges) == expected


def test_step_neurons_show_the_threshold_as_written():
    dot = diagram.to_dot(netlang.load(EXAMPLES / "xor.net"))
    labels = {label for label, _ in _shapes(dot).values()}
    assert {"s1\nθ=-0.7", "s2\nθ=0.2", "y\nθ=0.7", "x1", "x2"} == labels
    shapes = _shapes(dot)
    assert shapes[_by_label(dot)["y"]][1] == "doublecircle"  # the output
    assert shapes[_by_label(dot)["s1"]][1] == "circle"
    # the threshold is the same wherever the user put it: weights on the right, constants on the left
    moved = netlang.compile("input a, b\nnode y = step(0.5*a + 0.2 >= 0.9 - 0.25*b)")
    (label,) = [lab for lab, _ in _shapes(diagram.to_dot(moved)).values() if lab.startswith("y")]
    assert label == "y\nθ=0.7 (≥)"
    assert ("n0", "n2", "0.5") in _edges(diagram.to_dot(moved))
    assert ("n1", "n2", "0.25") in _edges(diagram.to_dot(moved))


def test_other_neurons_show_activation_and_bias():
    dot = diagram.to_dot(netlang.load(EXAMPLES / "sigmoid.net"))
    assert ("y\nsigmoid\nb=-0.7", "doublecircle") in _shapes(dot).values()
    dot = diagram.to_dot(netlang.compile("input a\nnode h = relu(2*a)\nnode y = h - 1\nnode z = 3*h"))
    labels = {label for label, _ in _shapes(dot).values()}
    assert {"a", "h\nrelu", "y\nb=-1", "z"} == labels


def test_negative_weights_are_red_and_the_title_is_shown():
    dot = diagram.to_dot(netlang.load(EXAMPLES / "nand.net"), title="nand.net")
    assert 'label="nand.net"' in dot
    for line in dot.splitlines():
        if "->" in line:
            assert 'color="#c0392b"' in line and 'headlabel="-0.5"' in line


def test_quote_escapes_dot_strings():
    assert diagram.quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'
    dot = diagram.to_dot(netlang.load(EXAMPLES / "and.net"), title='my "net"\\ \n2')
    assert 'label="my \\"net\\"\\\\ \\n2"' in dot


def test_large_vectors_are_boxes_with_their_size_and_activation():
    rng = np.random.default_rng(0)
    W = rng.uniform(0.1, 1, (16, 64)).round(2).tolist()
    V = rng.uniform(-1, -0.1, (3, 16)).round(2).tolist()
    source = f"input x[64]\nlet W = {W}\nlet V = {V}\nlayer h = relu(W @ x)\nlayer p = softmax(V @ h)\noutput p\n"
    network = netlang.compile(source)
    drawing = diagram.diagram(network)
    assert drawing.level == "neurons"
    dot = diagram.dot_text(drawing)
    shapes = _shapes(dot)
    ids = _by_label(dot)
    assert shapes[ids["x"]] == ("x\n64 inputs", "box")
    assert shapes[ids["h"]] == ("h\n16 × relu", "box")
    assert shapes[ids["p[1]"]] == ("p[1]\nsoftmax", "doublecircle")  # 3 neurons: drawn one by one
    edges = _edges(dot)
    assert (ids["x"], ids["h"], "W 16×64") in edges
    assert (ids["h"], ids["p[0]"], "16 weights") in edges
    assert len(edges) == 4


def test_many_neurons_are_drawn_one_shape_per_definition():
    source = "input a, b\n" + "".join(f"node n{i} = step({i + 1}*a - b)\n" for i in range(45)) + "output n0\n"
    drawing = diagram.diagram(netlang.compile(source))
    assert drawing.level == "signals"  # 47 circles would be too many, but only 47 definitions
    assert len(drawing.shapes) == 47 and len(drawing.arrows) == 90


def test_big_netlists_are_drawn_one_box_per_layer():
    lines = ["input a, b"] + [f"node n{i} = step(0.5*a + {i}*b > 0.3)" for i in range(70)]
    lines += ["node out = step(" + " + ".join(f"n{i}" for i in range(70)) + " > 30)", "output out"]
    network = netlang.compile("\n".join(lines))
    drawing = diagram.diagram(network)
    assert drawing.level == "layers"
    dot = diagram.dot_text(drawing)
    labels = [label for label, _ in _shapes(dot).values()]
    assert labels == ["a", "b", "layer 1\n70 neurons, step", "layer 2: out\n1 neuron, step"]
    counts = sorted(arrow.count for arrow in drawing.arrows)
    assert counts == [69, 70, 70]  # n0 has a zero weight for b: no arrow stands for it
    assert sum(counts) == sum(layer.nonzeros for layer in network.layers)


def test_sparse_layers_count_their_weights():
    network = netlang.compile("input x[1100]\nlayer h = relu(2*x)\nnode y = h[0] + h[5]\n")
    assert network.layers[0].is_sparse
    drawing = diagram.diagram(network)
    assert [(a.source, a.target, a.label) for a in drawing.arrows] == [("n0", "n1100", "1100 weights"), ("n1100", "n2200", "2 weights")]


def test_drawings_stay_small_whatever_the_network():
    source = "input x[5000]\n" + "".join(f"layer h{i} = relu(x)\n" for i in range(80)) + "node y = h0[0]\n"
    drawing = diagram.diagram(netlang.compile(source))
    assert drawing.level == "layers"
    assert len(drawing.shapes) <= diagram.MAX_DRAWN_SIGNALS


@needs_dot
@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.net")))
def test_graphviz_renders_every_example(name):
    svg = diagram.render(diagram.to_dot(netlang.load(EXAMPLES / name), title=name), "svg")
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert name in svg.decode("utf-8")


def test_missing_graphviz_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(netlang.NetlangError, match="needs Graphviz's 'dot' program") as raised:
        diagram.render("digraph {}", "svg")
    assert raised.value.code == "missing-extra" and "apt-get install graphviz" in raised.value.hint


@needs_dot
def test_graphviz_errors_are_reported():
    with pytest.raises(diagram.GraphvizFailed, match="Graphviz could not draw"):
        diagram.render("digraph { this is not dot", "svg")


def test_format_for_reads_the_suffix():
    assert diagram.format_for("a/net.SVG") == "svg"
    assert diagram.format_for("net.png") == "png"
    assert diagram.format_for("net.gv") is None
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        diagram.format_for("net.jpeg")


# -- command line -------------------------------------------------------------------


def test_cli_prints_dot(cli):
    result = cli("graph", str(EXAMPLES / "xor.net"))
    assert result.exit_code == 0
    assert result.output == diagram.to_dot(netlang.load(EXAMPLES / "xor.net"), title="xor.net")


def test_cli_writes_dot_text(cli, tmp_path):
    out = tmp_path / "net.dot"
    result = cli("graph", str(EXAMPLES / "and.net"), "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text(encoding="utf-8") == diagram.to_dot(netlang.load(EXAMPLES / "and.net"), title="and.net")


@needs_dot
def test_cli_renders_svg_and_png(cli, tmp_path):
    assert cli("graph", str(EXAMPLES / "xor.net"), "-o", str(tmp_path / "x.svg")).exit_code == 0
    svg = (tmp_path / "x.svg").read_text(encoding="utf-8")
    assert ElementTree.fromstring(svg).tag.endswith("svg") and "θ=0.7" in svg
    assert cli("graph", str(EXAMPLES / "xor.net"), "--output", str(tmp_path / "x.png")).exit_code == 0
    assert (tmp_path / "x.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_without_graphviz_exits_1_with_install_hint(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' here
    result = cli("graph", str(EXAMPLES / "and.net"), "-o", str(tmp_path / "and.svg"))
    assert result.exit_code == 1
    assert "needs Graphviz's 'dot' program" in result.output and "apt-get install graphviz" in result.output
    assert not (tmp_path / "and.svg").exists()


def test_cli_bad_format_is_a_usage_error(cli, tmp_path):
    result = cli("graph", str(EXAMPLES / "and.net"), "-o", str(tmp_path / "and.jpg"))
    assert result.exit_code == 2
    assert "'-o' / '--output'" in result.output and "and.jpg" in result.output


def test_cli_reports_errors_in_the_file(cli, tmp_path):
    bad = tmp_path / "bad.net"
    bad.write_text("input x1\nnode y = step(x3 > 0)\n", encoding="utf-8")
    result = cli("graph", str(bad))
    assert result.exit_code == 1
    assert "bad.net:2:15: error: unknown name 'x3'" in result.output


def test_cli_cannot_write(cli, tmp_path):
    result = cli("graph", str(EXAMPLES / "and.net"), "-o", str(tmp_path / "missing" / "and.dot"))
    assert result.exit_code == 1
    assert "cannot write" in result.output


# -- notebooks ----------------------------------------------------------------------


def _html_cells(html: str) -> list:
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", html)]


def test_matrices_as_html_have_the_cells_of_the_text_tables():
    from netlang.display import layer_table, network_html

    network = netlang.compile(MATRIX)
    page = network_html(network)
    _, table = layer_table(network.layers[0], 1)
    expected = [html.escape(cell) for row in table for cell in row if cell != "|"]
    assert _html_cells(page) == expected
    assert "<b>inputs:</b> x[0], x[1], x[2]" in page


@needs_dot
def test_a_network_shows_its_diagram_and_matrices_in_a_notebook():
    network = netlang.load(EXAMPLES / "xor.net")
    bundle = network._repr_mimebundle_()
    assert bundle["text/plain"] == repr(network)
    assert ElementTree.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")
    page = bundle["text/html"]
    assert page.startswith("<div><svg") and "θ=0.7" in page
    assert "<th" in page and ">-0.5</td>" in page
    assert network._repr_html_() == page


def test_notebook_display_without_graphviz_shows_the_matrices(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    network = netlang.load(EXAMPLES / "and.net")
    bundle = network._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "install Graphviz" in bundle["text/html"] and ">0.5</td>" in bundle["text/html"]


def test_notebook_display_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    network = netlang.load(EXAMPLES / "and.net")
    monkeypatch.setattr(diagram, "network_html", broken)
    assert network._repr_html_() == f"<pre>{html.escape(repr(network))}</pre>"
    monkeypatch.setattr(diagram, "notebook_bundle", broken)
    assert network._repr_mimebundle_() == {"text/plain": repr(network)}
    monkeypatch.setattr(diagram, "notebook_html", broken)
    assert network._repr_html_().startswith("<pre>Network(")


def test_the_matrix_form_example_computes_w_x():
    """The docs draw examples/matrix.net neuron by neuron; it is the seed's y = W·x."""
    network = netlang.load(EXAMPLES / "matrix.net")
    W = np.array([[0.9, 0.3, 0.4], [0.2, 0.8, 0.2], [0.1, 0.5, 0.6]])
    x = np.array([0.9, 0.1, 0.8])
    assert np.allclose(network.run({"x": x})["y"], W @ x)
    assert diagram.diagram(network).level == "neurons" and len(diagram.diagram(network).arrows) == 9


def test_very_deep_networks_draw_runs_of_layers():
    source = "input a\nnode n0 = relu(a)\n" + "".join(f"node n{i} = relu(n{i - 1} + a)\n" for i in range(1, 300))
    network = netlang.compile(source)
    drawing = diagram.diagram(network)
    assert len(network.layers) == 300 and drawing.level == "layers"
    labels = [shape.label for shape in drawing.shapes]
    assert len(labels) == 1 + 60
    assert labels[1] == "layers 1–5\n5 neurons, relu" and labels[-1] == "layers 296–300\n5 neurons, relu"
    # a chain: each box feeds the next; every box reads the input a; arrows inside a box are left out
    arrows = {(a.source, a.target): a.count for a in drawing.arrows}
    boxes = [shape.id for shape in drawing.shapes[1:]]
    assert {(s, t) for s, t in arrows if s != "n0"} == set(zip(boxes, boxes[1:]))
    assert all(arrows[("n0", box)] == 5 for box in boxes[1:]) and arrows[("n0", boxes[0])] == 5
