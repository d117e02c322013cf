"""Pictures of what a network computes (a tool beside the pipeline, ``netlang plot``): the decision
regions of a network with two input values, or the curve of one with one input value (step,
sigmoid, relu), drawn with matplotlib.

The network is evaluated once on a grid over the input plane (one batch, vectorised),
so the picture is exactly what the compiled network computes. AND and OR show the
straight line one neuron draws; for XOR the lines of the first layer's neurons are
drawn too, and the output's region is the band between them: why it needs two layers.

matplotlib is an optional extra (the ``plot`` extra, see netlang.extras), imported only here
and only when a picture is made; it is driven through its object API and the Agg
canvas, so it never changes the backend of the program that calls it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .errors import NetlangError, did_you_mean, name_list
from .extras import require
from .runtime import Network

DEFAULT_RANGE = (-0.5, 1.5)
# Grid points along each axis: fine enough for crisp lines, still one small batch (160 000 samples).
RESOLUTION = 401
# The lines of at most this many first-layer step neurons are drawn over the regions.
MAX_LINES = 6
CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
# A network with one input value is drawn as a curve: over -5..5 by default, as the activation
# curves of "Deep Learning from Scratch" (chapter 3), with points enough to show a step as a jump.
CURVE_RANGE = (-5.0, 5.0)
CURVE_RESOLUTION = 2001


_OFF_COLOR = "#dce9f7"
_ON_COLOR = "#f6c177"
_LINE_COLORS = ("#1f5fa8", "#2e8b57", "#8e44ad", "#b9770e", "#17a2b8", "#7f8c8d")


@dataclass
class Regions:
    """One signal of a network evaluated over a grid of the input plane, and at the four 0/1 corners."""

    axes: Tuple[str, str]  # the names of the two input values (x and y axis)
    signal: str  # the name of the signal plotted
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray  # len(ys) x len(xs)
    corners: List[Tuple[Tuple[float, float], float]]
    lines: List[Tuple[str, np.ndarray]]  # (name, its 0/1 values on the grid) for first-layer step neurons

    @property
    def is_binary(self) -> bool:
        """True when the signal only takes the values 0 and 1 (a step neuron)."""
        return bool(np.all((self.values == 0) | (self.values == 1)))

    def __repr__(self) -> str:
        return f"Regions({self.signal} over {self.axes[0]}, {self.axes[1]}: {len(self.xs)}x{len(self.ys)} grid)"


def signal_names(network: Network) -> Tuple[str, ...]:
    """Every neuron of the network by name (``h[0]`` for elements of a vector): what can be plotted."""
    return tuple(name for layer in network.layers for name in layer.rows)


def choose_signal(network: Network, name: Optional[str]) -> str:
    """The neuron to plot: ``name``, or the network's first output. ValueError for an unknown name."""
    if name is None:
        return network.output_columns[0]
    names = signal_names(network) + network.input_columns
    if name not in names:
        hint = did_you_mean(name, names)
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(f"the network has no neuron named {name!r}; {hint or f'it has {shown}'}")
    return name


def check_plottable(network: Network, filename: Optional[str] = None) -> None:
    """A NetlangError unless the network takes one input value (a curve) or two (a plane)."""
    if network.input_width not in (1, 2):
        names = name_list(network.input_columns)
        raise NetlangError(
            f"a picture is drawn over one input value (a curve) or two (a plane), but this network takes "
            f"{network.input_width} ({names or 'none'})",
            filename=filename,
            hint="'netlang graph' draws networks of any size",
            code="not-two-inputs",
        )


def check_two_inputs(network: Network) -> None:
    """A ValueError unless the network takes exactly two input values (the plane's two axes)."""
    if network.input_width != 2:
        raise ValueError(f"decision regions need two input values; this network takes {network.input_width}")


def regions(
    network: Network,
    signal: Optional[str] = None,
    plane: Tuple[float, float] = DEFAULT_RANGE,
    resolution: int = RESOLUTION,
) -> Regions:
    """Evaluate ``signal`` (default: the first output) over ``plane`` x ``plane``, in one batch."""
    check_two_inputs(network)
    signal = choose_signal(network, signal)
    low, high = plane
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the range of the plane must be two finite numbers, low < high, not {low}, {high}")
    line_names = _first_layer_steps(network, plotted=signal)
    probe = _probe(network, [signal] + line_names)
    axis = np.linspace(low, high, resolution)
    grid_x, grid_y = np.meshgrid(axis, axis)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge --range may overflow: shown as blank
        outputs = probe(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
        corner_values = probe(np.array(CORNERS))[:, 0]
    shape = (resolution, resolution)
    return Regions(
        axes=(network.input_columns[0], network.input_columns[1]),
        signal=signal,
        xs=axis,
        ys=axis,
        values=outputs[:, 0].reshape(shape),
        corners=[(corner, float(value)) for corner, value in zip(CORNERS, corner_values)],
        lines=[(name, outputs[:, i + 1].reshape(shape)) for i, name in enumerate(line_names)],
    )


@dataclass
class Curve:
    """One signal of a network with one input value, evaluated along that input."""

    axis: str  # the name of the input value (x axis)
    signal: str
    xs: np.ndarray
    values: np.ndarray

    def __repr__(self) -> str:
        return f"Curve({self.signal} over {self.axis}: {len(self.xs)} points)"


def curve(
    network: Network, signal: Optional[str] = None, span: Tuple[float, float] = CURVE_RANGE, resolution: int = CURVE_RESOLUTION
) -> Curve:
    """Evaluate ``signal`` (default: the first output) along the one input, over ``span``, in one batch."""
    if network.input_width != 1:
        raise ValueError(f"a curve needs one input value; this network takes {network.input_width}")
    signal = choose_signal(network, signal)
    low, high = span
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the range must be two finite numbers, low < high, not {low}, {high}")
    xs = np.linspace(low, high, resolution)
    with np.errstate(over="ignore", invalid="ignore"):
        values = _probe(network, [signal])(xs.reshape(-1, 1))[:, 0]
    return Curve(network.input_columns[0], signal, xs, values)


def curve_figure(found: Curve, title: Optional[str] = None) -> Any:
    """The curve as a matplotlib Figure: the activation curves of a single neuron (step, sigmoid, relu)."""
    Figure = _matplotlib()[0]
    fig = Figure(figsize=(5.6, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ax.axhline(0, color="#7f8c8d", linewidth=0.8)
    ax.axvline(0, color="#7f8c8d", linewidth=0.8)
    ax.plot(found.xs, found.values, color=_LINE_COLORS[0], linewidth=2.2)
    ax.grid(True, color="#e5e5e5")
    ax.set_xlim(found.xs[0], found.xs[-1])
    ax.set_xlabel(found.axis, fontsize=12)
    ax.set_ylabel(found.signal, fontsize=12)
    ax.set_title(f"{title}: {found.signal}" if title else found.signal, fontsize=13)
    return fig


def figure(found: Regions, title: Optional[str] = None) -> Any:
    """The decision regions as a matplotlib Figure (not attached to pyplot)."""
    Figure, ListedColormap, Line2D, Patch = _matplotlib()
    fig = Figure(figsize=(5.2, 5.8), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    extent = (found.xs[0], found.xs[-1], found.ys[0], found.ys[-1])
    legend: List[Any] = []
    if found.is_binary:
        colors = ListedColormap([_OFF_COLOR, _ON_COLOR])
        ax.imshow(found.values, origin="lower", extent=extent, cmap=colors, vmin=0, vmax=1, interpolation="nearest")
        legend += [Patch(color=_ON_COLOR, label=f"{found.signal} = 1"), Patch(color=_OFF_COLOR, label=f"{found.signal} = 0")]
    else:
        shown = np.ma.masked_invalid(found.values)
        image = ax.imshow(shown, origin="lower", extent=extent, cmap="coolwarm", interpolation="bilinear")
        fig.colorbar(image, ax=ax, shrink=0.7, label=found.signal)
    if found.values.min() < 0.5 < found.values.max():
        ax.contour(found.xs, found.ys, found.values, levels=[0.5], colors="black", linewidths=2.5)
        where = f"boundary of {found.signal}" if found.is_binary else f"{found.signal} = 0.5"
        legend.append(Line2D([], [], color="black", linewidth=2, label=where))
    for (name, values), color in zip(found.lines, _LINE_COLORS):
        if values.min() < 0.5 < values.max():
            # Drawn over the output's boundary, which follows some of these lines.
            ax.contour(found.xs, found.ys, values, levels=[0.5], colors=color, linewidths=2, linestyles=[(0, (4, 3))])
            legend.append(Line2D([], [], color=color, linewidth=2, linestyle=(0, (4, 3)), label=f"line of {name}"))
    low, high = extent[0], extent[1]
    for (a, b), value in found.corners:
        if not (low <= a <= high and low <= b <= high):
            continue
        fires = value >= 0.5
        ax.scatter([a], [b], s=110, zorder=3, edgecolors="black", linewidths=1.5, c="black" if fires else "white")
        ax.annotate(
            f"{found.signal} = {_number(value)}",
            (a, b),
            xytext=(8, 8),
            textcoords="offset points",
            fontsize=11,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
    ax.set_xlim(low, high)
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xlabel(found.axes[0], fontsize=12)
    ax.set_ylabel(found.axes[1], fontsize=12)
    ax.set_title(f"{title}: {found.signal}" if title else found.signal, fontsize=13)
    if legend:
        ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=10, frameon=False)
    return fig


def plot(
    network: Network,
    path: str,
    signal: Optional[str] = None,
    plane: Optional[Tuple[float, float]] = None,
    title: Optional[str] = None,
) -> None:
    """Write ``signal``'s picture to ``path`` (.png, .svg, .pdf): its curve over ``plane`` for a network
    with one input value, its decision regions over ``plane`` x ``plane`` for one with two."""
    from .files import atomic_write

    if network.input_width == 1:
        fig = curve_figure(curve(network, signal, plane or CURVE_RANGE), title)
    else:
        fig = figure(regions(network, signal, plane or DEFAULT_RANGE), title)
    with atomic_write(path) as stream:  # an interrupted or failed plot leaves no half picture
        fig.savefig(stream, format=os.path.splitext(path)[1].lstrip(".").lower())


def _matplotlib() -> Tuple[Any, Any, Any, Any]:
    # matplotlib itself first, so that a matplotlib made unimportable stays so whatever is cached.
    require("matplotlib", "plot", "plotting")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401  (the canvas savefig uses)
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return Figure, ListedColormap, Line2D, Patch


def _number(value: float) -> str:
    """A value as a point's label: ``1``, ``0.5``, ``0.731``."""
    return f"{value:.3g}"


def _first_layer_steps(network: Network, plotted: str) -> List[str]:
    """The step neurons of the first layer (each draws a line), if few enough and ``plotted`` comes after them."""
    if not network.layers:
        return []
    first = network.layers[0]
    if plotted in first.rows or plotted in network.input_columns:
        return []  # the plotted neuron draws its own line
    names = [name for name, kind in zip(first.rows, first.activation) if kind in ("step", "step_ge")]
    return names if len(names) <= MAX_LINES else []


def _probe(network: Network, names: Sequence[str]) -> Any:
    """A function from a batch of inputs to the values of the neurons ``names`` (any, not only outputs)."""
    # The same layers with other outputs: the runtime evaluates every layer and hands these back.
    whole = list(dict.fromkeys(name.split("[")[0] for name in names))
    probe = Network(network.inputs, whole, network.layers, network.signals)
    columns = [probe.output_columns.index(name) for name in names]
    return lambda batch: probe(batch)[:, columns]
