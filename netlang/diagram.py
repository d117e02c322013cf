"""Diagrams (a tool beside the pipeline): a compiled network drawn as Graphviz DOT (circles and weighted arrows), rendered by Graphviz.

The picture follows the figures of a first course: inputs on the left, each neuron a
circle with its threshold (``θ=0.7``) or bias inside, each arrow labelled with its
weight. Networks too large for that are drawn coarser, so a picture stays readable
and Graphviz stays fast whatever the size of the network:

- ``neurons``: every input value and neuron is a circle; vectors larger than
  ``MAX_VECTOR_NEURONS`` are one box each (``h: 128 × sigmoid``);
- ``signals``: when that would still be more than ``MAX_DRAWN_NEURONS`` shapes,
  every input, node and layer of the source is one shape;
- ``layers``: when there are more than ``MAX_DRAWN_SIGNALS`` of those (a big
  netlist), each compiled layer is one box, and the inputs another.

Arrows into or out of a box stand for a block of weights and say how many.
The DOT text is built here (no Graphviz Python package); rendering to SVG or PNG runs
Graphviz's ``dot`` program, if it is installed. In a notebook a ``Network`` shows itself
through ``notebook_bundle``: this diagram above its matrices.
"""

from __future__ import annotations

import bisect
import subprocess
from html import escape
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .display import format_short, network_html
from .extras import GRAPHVIZ_HINT, require_program
from .numerals import counted
from .runtime import CompiledLayer, Network

# A vector with more neurons than this is drawn as one box.
MAX_VECTOR_NEURONS = 8
# Above this many circles the network is drawn one shape per input, node and layer...
MAX_DRAWN_NEURONS = 40
# ...and above this many of those, one box per compiled layer.
MAX_DRAWN_SIGNALS = 60
# Graphviz gets this long to lay out a picture (the coarse levels keep it small).
RENDER_TIMEOUT_SECONDS = 60

# The formats `dot` is asked to write, by file suffix; ".dot"/".gv" are the DOT text itself.
RENDER_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
TEXT_SUFFIXES = (".dot", ".gv")


_STEP_RELATIONS = {"step": "", "step_ge": " (≥)"}
_INPUT_FILL = "#dce9f7"
_NEURON_FILL = "#ffffff"
_OUTPUT_FILL = "#fdf0d5"
_POSITIVE = "#2b2b2b"
_NEGATIVE = "#c0392b"


class GraphvizFailed(RuntimeError):
    """``dot`` ran but did not produce a picture."""


@dataclass
class Shape:
    """One drawn shape: the signal positions ``start:stop`` it stands for, and how it looks."""

    id: str
    start: int
    stop: int
    label: str
    kind: str  # "input", "neuron" or "box"
    is_output: bool = False
    rank: int = -1  # the compiled layer it belongs to; -1 for inputs

    @property
    def size(self) -> int:
        return self.stop - self.start

    def __repr__(self) -> str:
        return f"Shape({self.id}, {self.label!r}, {self.start}:{self.stop}, {self.kind})"


@dataclass
class Arrow:
    """One arrow: a single weight between two circles, or a block of ``count`` weights."""

    source: str
    target: str
    count: int
    weight: float = 0.0  # the weight itself, when the arrow joins two circles
    block: Tuple[int, int] = (1, 1)  # rows x columns of the block it stands for
    is_single: bool = True

    @property
    def label(self) -> str:
        if self.is_single:
            return format_short(self.weight)
        rows, columns = self.block
        if rows > 1 and columns > 1 and self.count * 2 > rows * columns:
            return f"W {rows}×{columns}"  # a (mostly) dense matrix
        return counted(self.count, "weight")


@dataclass
class Diagram:
    """The shapes and arrows of a network's picture, and the level of detail they were drawn at."""

    level: str
    shapes: List[Shape] = field(default_factory=list)
    arrows: List[Arrow] = field(default_factory=list)
    title: Optional[str] = None

    def __repr__(self) -> str:
        return f"Diagram({self.level}, {len(self.shapes)} shapes, {len(self.arrows)} arrows)"


def diagram(network: Network, title: Optional[str] = None) -> Diagram:
    """The shapes and arrows that draw ``network``, at the finest level of detail that stays readable."""
    signals = network.signals
    expanded = [size is None or size <= MAX_VECTOR_NEURONS for size in signals.sizes]
    circles = sum((1 if size is None else size) if open_ else 1 for size, open_ in zip(signals.sizes, expanded))
    if circles <= MAX_DRAWN_NEURONS:
        level = "neurons"
    elif len(signals.names) <= MAX_DRAWN_SIGNALS:
        level, expanded = "signals", [False] * len(signals.names)
    else:
        level = "layers"
    result = Diagram(level, title=title)
    if level == "layers":
        result.shapes += _input_shapes_coarse(network)
        per_box = -(-len(network.layers) // MAX_DRAWN_SIGNALS)  # a very deep network: runs of layers per box
        for rank, first in enumerate(range(0, len(network.layers), per_box)):
            result.shapes.append(_layers_box(network, network.layers[first : first + per_box], rank))
    else:
        result.shapes += _signal_shapes(network, expanded)
    merged: Dict[Tuple[str, str], Arrow] = {}
    for layer in network.layers:
        for arrow in _layer_arrows(layer, result.shapes):
            key = (arrow.source, arrow.target)
            if key in merged:  # a box of several layers: their blocks add up
                merged[key].count += arrow.count
            elif arrow.source != arrow.target:
                merged[key] = arrow
    result.arrows = list(merged.values())
    return result


def to_dot(network: Network, title: Optional[str] = None) -> str:
    """The network as Graphviz DOT text: inputs on the left, neurons as circles, weights on the arrows."""
    return dot_text(diagram(network, title))


def dot_text(drawing: Diagram) -> str:
    """A diagram as DOT text."""
    lines = ["digraph network {"]
    graph = ['rankdir=LR', 'ranksep=1.6', 'nodesep=0.5', 'fontname="Helvetica"', 'bgcolor="white"']
    if drawing.title:
        graph += [f"label={quote(drawing.title)}", "labelloc=t", "fontsize=16"]
    lines.append(f"  graph [{', '.join(graph)}];")
    lines.append('  node [fontname="Helvetica", fontsize=13, penwidth=1.4, style=filled, fillcolor="white"];')
    lines.append(
        f'  edge [fontname="Helvetica", fontsize=12, arrowsize=0.7, penwidth=1.2, color="{_POSITIVE}", fontcolor="{_POSITIVE}"];'
    )
    by_rank: Dict[int, List[Shape]] = {}
    for shape in drawing.shapes:
        by_rank.setdefault(shape.rank, []).append(shape)
    for rank in sorted(by_rank):
        comment = "inputs" if rank < 0 else f"layer {rank + 1}"
        lines.append(f"  {{ rank={'source' if rank < 0 else 'same'};  // {comment}")
        for shape in by_rank[rank]:
            lines.append(f"    {shape.id} [{_shape_attributes(shape)}];")
        lines.append("  }")
    for arrow in drawing.arrows:
        attributes = []
        if arrow.is_single and arrow.weight < 0:
            attributes += [f'color="{_NEGATIVE}"', f'fontcolor="{_NEGATIVE}"']
        if arrow.is_single:
            # Beside the arrowhead, a weight stays next to its own arrow where arrows cross (XOR).
            attributes += [f"headlabel={quote(arrow.label)}", "labeldistance=3.5", "labelangle=10"]
        else:
            attributes += [f"label={quote(arrow.label)}", "penwidth=2.2"]
        lines.append(f"  {arrow.source} -> {arrow.target} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """``text`` as a quoted DOT string: backslashes and quotes escaped, newlines as centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + escaped.replace("\n", "\\n") + '"'


def render(dot: str, fmt: str, what: str = "drawing the diagram", filename: Optional[str] = None) -> bytes:
    """DOT text rendered by Graphviz to ``fmt`` (``svg``, ``png``, ``pdf``): the file's bytes.

    Without Graphviz, a ``missing-extra`` NetlangError (about ``filename``) says how to install it.
    """
    program = require_program("dot", "Graphviz", what, GRAPHVIZ_HINT, filename)
    try:
        done = subprocess.run(
            [program, f"-T{fmt}", *(["-Gdpi=144"] if fmt == "png" else [])], input=dot.encode("utf-8"), capture_output=True, timeout=RENDER_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise GraphvizFailed(f"Graphviz took more than {RENDER_TIMEOUT_SECONDS} seconds to draw the network") from None
    except OSError as error:
        raise GraphvizFailed(f"could not run Graphviz's 'dot' ({program}): {error}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise GraphvizFailed(f"Graphviz could not draw the network: {message}")
    return done.stdout


def format_for(path: str) -> Optional[str]:
    """The Graphviz output format a file name asks for (None for DOT text), or ValueError."""
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    if suffix in TEXT_SUFFIXES:
        return None
    if suffix in RENDER_FORMATS:
        return RENDER_FORMATS[suffix]
    known = ", ".join(list(RENDER_FORMATS) + list(TEXT_SUFFIXES))
    raise ValueError(f"cannot tell the picture format from {path!r}: the file name should end in {known}")


def svg(network: Network, title: Optional[str] = None) -> str:
    """The network's diagram as SVG text (needs Graphviz)."""
    return render(to_dot(network, title), "svg").decode("utf-8")


# -- shapes -------------------------------------------------------------------------


def _signal_shapes(network: Network, expanded: Sequence[bool]) -> List[Shape]:
    """A circle for each scalar and each element of an ``expanded`` vector; a box for every other vector."""
    signals = network.signals
    outputs = set(network.output_names)
    shapes = []
    for i, (name, size, rank) in enumerate(zip(signals.names, signals.sizes, _rank_of_signals(network))):
        start = signals.starts[i]
        layer = network.layers[rank] if rank >= 0 else None
        if size is None or expanded[i]:
            for k in range(1 if size is None else size):
                element = name if size is None else f"{name}[{k}]"
                label = element if layer is None else _neuron_label(element, layer, start + k)
                kind = "input" if layer is None else "neuron"
                shapes.append(Shape(f"n{start + k}", start + k, start + k + 1, label, kind, name in outputs, rank))
        else:
            what = "inputs" if layer is None else "× " + _activations_text(layer, start, start + size)
            shapes.append(Shape(f"n{start}", start, start + size, f"{name}\n{size} {what}", "box", name in outputs, rank))
    return shapes


def _rank_of_signals(network: Network) -> List[int]:
    """For each signal of the network, the index of the compiled layer that computes it (-1: an input)."""
    signals = network.signals
    ranks = [-1] * len(signals.names)
    layer_starts = [layer.row_start for layer in network.layers]
    for i, start in enumerate(signals.starts):
        if i >= len(network.inputs):
            ranks[i] = int(np.searchsorted(layer_starts, start, side="right")) - 1
    return ranks


def _neuron_label(name: str, layer: CompiledLayer, position: int) -> str:
    row = position - layer.row_start
    activation = _activation_at(layer, row)
    bias = float(layer.bias[row])
    if activation in _STEP_RELATIONS:
        # step(w·x > θ) compiles to step(w·x - θ > 0): the threshold the user wrote is -bias.
        return f"{name}\nθ={format_short(-bias)}{_STEP_RELATIONS[activation]}"
    lines = [name]
    if activation != "identity":
        lines.append(activation)
    if bias:
        lines.append(f"b={format_short(bias)}")
    return "\n".join(lines)


def _activation_at(layer: CompiledLayer, row: int) -> str:
    for segment in layer.segments:
        if segment.start <= row < segment.stop:
            return segment.activation
    raise IndexError(row)  # pragma: no cover - segments cover every row


def _activation_name(activation: str) -> str:
    return "step" + _STEP_RELATIONS[activation] if activation in _STEP_RELATIONS else activation


def _activations_text(layer: CompiledLayer, start: int, stop: int) -> str:
    first, last = start - layer.row_start, stop - layer.row_start
    names = sorted({_activation_name(s.activation) for s in layer.segments if s.start < last and s.stop > first})
    return "/".join(names)


def _input_shapes_coarse(network: Network) -> List[Shape]:
    signals = network.signals
    count = len(network.inputs)
    outputs = set(network.output_names)
    if count <= MAX_VECTOR_NEURONS:
        shapes = []
        for i in range(count):
            name, size = signals.names[i], signals.sizes[i]
            start = signals.starts[i]
            label = name if size is None else f"{name}\n{size} inputs"
            shapes.append(Shape(f"n{start}", start, start + (size or 1), label, "input" if size is None else "box", name in outputs))
        return shapes
    return [Shape("n0", 0, network.input_width, f"inputs\n{network.input_width} values", "box")]


def _layers_box(network: Network, layers: Sequence[CompiledLayer], rank: int) -> Shape:
    """One box for one compiled layer, or for a run of them in a very deep network."""
    signals = network.signals
    first, stop = layers[0].row_start, layers[-1].row_start + layers[-1].shape[0]
    # The signals computed by these layers: those whose first position lies in first:stop.
    low, high = bisect.bisect_left(signals.starts, first), bisect.bisect_left(signals.starts, stop)
    names = signals.names[low:high]
    count = stop - first
    kinds = sorted({_activation_name(segment.activation) for layer in layers for segment in layer.segments})
    if len(layers) == 1:
        heading = f"layer {layers[0].index + 1}" + (f": {', '.join(names)}" if len(names) <= 3 else "")
    else:
        heading = f"layers {layers[0].index + 1}–{layers[-1].index + 1}"
    label = f"{heading}\n{counted(count, 'neuron')}, {'/'.join(kinds)}"
    is_output = any(name in network.output_names for name in names)
    return Shape(f"n{first}", first, stop, label, "box", is_output, rank)


def _shape_attributes(shape: Shape) -> str:
    attributes = [f"label={quote(shape.label)}"]
    if shape.kind == "box":
        attributes += ["shape=box", 'style="rounded,filled"', "margin=\"0.2,0.1\""]
    else:
        attributes += ["shape=doublecircle" if shape.is_output else "shape=circle", 'margin="0.04"']
    fill = _INPUT_FILL if shape.rank < 0 else (_OUTPUT_FILL if shape.is_output else _NEURON_FILL)
    attributes.append(f'fillcolor="{fill}"')
    return ", ".join(attributes)


# -- arrows -------------------------------------------------------------------------


def _layer_arrows(layer: CompiledLayer, shapes: Sequence[Shape]) -> List[Arrow]:
    """The arrows into ``layer``'s shapes: one per weight between circles, one per block for boxes."""
    starts = np.array([shape.start for shape in shapes])
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]

    def shape_index(positions: np.ndarray) -> np.ndarray:
        return order[np.searchsorted(sorted_starts, positions, side="right") - 1]

    row_shapes = shape_index(layer.row_start + np.arange(layer.shape[0]))
    column_shapes = shape_index(layer.column_positions)
    if layer.is_sparse:
        rows, cols, values = layer.coo  # type: ignore[misc]
        pairs = row_shapes[rows] * len(shapes) + column_shapes[cols]
        keep = values != 0
        pairs, values = pairs[keep], values[keep]
        unique, inverse, counts = np.unique(pairs, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=values, minlength=len(unique))
        blocks = [(int(p // len(shapes)), int(p % len(shapes)), int(n), float(s)) for p, n, s in zip(unique, counts, sums)]
    else:
        weights = layer.weights
        blocks = []
        # Rows and columns of one shape are contiguous runs, since positions are sorted.
        for target, r0, r1 in _runs(row_shapes):
            for source, c0, c1 in _runs(column_shapes):
                block = weights[r0:r1, c0:c1]
                count = int(np.count_nonzero(block))
                if count:
                    blocks.append((int(target), int(source), count, float(block.sum())))
    arrows = []
    for target, source, count, total in blocks:
        into, out_of = shapes[target], shapes[source]
        single = into.size == 1 and out_of.size == 1
        arrows.append(Arrow(out_of.id, into.id, count, total if single else 0.0, (into.size, out_of.size), single))
    return arrows


def _runs(values: np.ndarray) -> List[Tuple[int, int, int]]:
    """``(value, start, stop)`` for each run of equal values."""
    if len(values) == 0:
        return []
    edges = np.flatnonzero(np.diff(values)) + 1
    bounds = [0, *edges.tolist(), len(values)]
    return [(int(values[a]), a, b) for a, b in zip(bounds[:-1], bounds[1:])]


# -- notebooks ----------------------------------------------------------------------


def notebook_bundle(network: Network) -> Dict[str, str]:
    """What a notebook shows for ``network``: the diagram (SVG) and the matrices (HTML); never raises."""
    bundle = {"text/plain": repr(network)}
    picture = _svg_or_none(network)
    if picture is not None:
        bundle["image/svg+xml"] = picture
    bundle["text/html"] = notebook_html(network, picture)
    return bundle


def notebook_html(network: Network, picture: Optional[str] = None) -> str:
    """The diagram (when Graphviz is installed) above the matrices as HTML tables; never raises."""
    # A notebook's display must not fail: anything unexpected falls back to the text form.
    try:
        if picture is None:
            picture = _svg_or_none(network)
        if picture is None:
            top = "<p><small>(install Graphviz, the <code>dot</code> program, to see the diagram here)</small></p>"
        else:
            top = "<div>" + picture[picture.find("<svg") :] + "</div>"
        return top + "\n" + network_html(network)
    except Exception:
        try:
            return f"<pre>{escape(repr(network))}</pre>"
        except Exception:
            return "<pre>Network</pre>"


def _svg_or_none(network: Network) -> Optional[str]:
    try:
        return svg(network)
    except Exception:
        return None  # no Graphviz, or it failed: the matrices alone still show the network
