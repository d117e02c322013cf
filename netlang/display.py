"""Display: networks as labelled matrices for people, and as plain data for programs."""

from __future__ import annotations

from fractions import Fraction
from html import escape
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np

from .numerals import counted, format_number, format_short
from .runtime import CompiledLayer, Network

__all__ = ["format_number", "format_short", "format_value", "json_number"]  # the first two live in numerals

# How the per-row activations read in a table.
_ACTIVATION_LABELS = {"step": "step(>0)", "step_ge": "step(>=0)"}
# Large layers are shown by their corners, as numpy prints large arrays.
_MAX_ROWS = 16
_MAX_COLUMNS = 10


def json_number(value: Union[float, Fraction]) -> Union[int, float]:
    """A number for JSON: whole numbers as ints (an exact 1 and a float 1.0 alike), others as floats."""
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def format_value(value: Union[float, np.ndarray]) -> str:
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(format_number(v) for v in value) + "]"
    return format_number(value)


def _elide(items: Sequence[Any], limit: int) -> List[Any]:
    if len(items) <= limit:
        return list(items)
    half = limit // 2
    return list(items[:half]) + [None] + list(items[-half:])


def layer_table(layer: CompiledLayer, number: int) -> Tuple[str, List[List[str]]]:
    """A layer's heading and its cells, header row first; ``|`` separates the weights from the bias.

    Large layers keep their corners, with ``...`` rows and columns between them.
    """
    rows, cols = layer.shape
    kinds = sorted({_ACTIVATION_LABELS.get(s.activation, s.activation) for s in layer.segments})
    heading = (
        f"layer {number}: {counted(rows, 'neuron')} reading {counted(cols, 'signal')}"
        f" ({', '.join(kinds)})"
    )
    if layer.is_sparse:
        heading += f", sparse: {layer.nonzeros} non-zero weights"
    row_names = layer.rows
    column_names = layer.columns
    activations = layer.activation
    row_index = _elide(range(rows), _MAX_ROWS)
    col_index = _elide(range(cols), _MAX_COLUMNS)
    weights = _visible_weights(layer, [r for r in row_index if r is not None], [c for c in col_index if c is not None])
    header = [""] + [column_names[c] if c is not None else "..." for c in col_index] + ["|", "bias", "activation"]
    table = [header]
    for r in row_index:
        if r is None:
            table.append(["..."] + ["..." if c is None else "" for c in col_index] + ["|", "...", ""])
            continue
        cells = [row_names[r]]
        for c in col_index:
            cells.append("..." if c is None else format_short(weights[(r, c)]))
        cells += ["|", format_short(layer.bias[r]), _ACTIVATION_LABELS.get(activations[r], activations[r])]
        table.append(cells)
    return heading, table


def layer_text(layer: CompiledLayer, number: int) -> str:
    heading, table = layer_table(layer, number)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [heading]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1])]
        lines.append("  " + " ".join(cells) + " " + row[-1])
    return "\n".join(line.rstrip() for line in lines)


def _visible_weights(layer: CompiledLayer, rows: List[int], cols: List[int]) -> Dict[tuple, float]:
    if not layer.is_sparse:
        return {(r, c): layer.weights[r, c] for r in rows for c in cols}
    wanted_rows, wanted_cols = set(rows), set(cols)
    values = {(r, c): 0.0 for r in rows for c in cols}
    coo_rows, coo_cols, coo_values = layer.coo  # type: ignore[misc]
    for r, c, v in zip(coo_rows.tolist(), coo_cols.tolist(), coo_values.tolist()):
        if r in wanted_rows and c in wanted_cols:
            values[(r, c)] = v
    return values


def _inputs_and_outputs(network: Network) -> Tuple[str, str]:
    inputs = ", ".join(network.input_columns) if network.input_width <= 12 else f"{network.input_width} values"
    return inputs or "(none)", ", ".join(network.output_names)


def network_text(network: Network) -> str:
    """Every layer as a labelled matrix: rows are neurons, columns the signals they read."""
    inputs, outputs = _inputs_and_outputs(network)
    parts = [f"inputs: {inputs}\noutputs: {outputs}"]
    parts += [layer_text(layer, i + 1) for i, layer in enumerate(network.layers)]
    return "\n\n".join(parts)


def network_html(network: Network) -> str:
    """Every layer as an HTML table (for notebooks), with the same cells as ``network_text``."""
    inputs, outputs = _inputs_and_outputs(network)
    parts = [f"<p><b>inputs:</b> {escape(inputs)}<br><b>outputs:</b> {escape(outputs)}</p>"]
    for i, layer in enumerate(network.layers):
        heading, table = layer_table(layer, i + 1)
        bar = table[0].index("|")
        html_rows = []
        for r, row in enumerate(table):
            cells = []
            for c, cell in enumerate(row):
                if c == bar:
                    continue
                tag = "th" if r == 0 or c == 0 else "td"
                style = "text-align:right;font-family:monospace"
                if c == bar + 1:
                    style += ";border-left:1px solid #888"
                if c == len(row) - 1:
                    style = "text-align:left"
                cells.append(f'<{tag} style="{style}">{escape(cell)}</{tag}>')
            html_rows.append("<tr>" + "".join(cells) + "</tr>")
        parts.append(f"<p><b>{escape(heading)}</b></p>\n<table>\n" + "\n".join(html_rows) + "\n</table>")
    return "\n".join(parts)


def network_dict(network: Network) -> Dict[str, Any]:
    """The network as JSON-ready data: inputs, outputs, and each layer's matrices and names."""
    layers = []
    for layer in network.layers:
        entry: Dict[str, Any] = {
            "rows": list(layer.rows),
            "columns": list(layer.columns),
            "bias": layer.bias.tolist(),
            "activation": list(layer.activation),
        }
        if layer.is_sparse:
            rows, cols, values = layer.coo  # type: ignore[misc]
            entry["sparse"] = {"rows": rows.tolist(), "columns": cols.tolist(), "values": values.tolist()}
        else:
            entry["weights"] = layer.weights.tolist()
        layers.append(entry)
    return {
        "inputs": [{"name": name, "size": size} for name, size in network.inputs],
        "outputs": [{"name": name, "size": size} for name, size in zip(network.output_names, network.output_sizes)],
        "layers": layers,
    }


def outputs_text(outputs: Dict[str, Union[float, np.ndarray]], as_json: bool = False) -> str:
    """What ``netlang run --x ...`` prints for one sample: ``name = value`` lines, or one JSON object
    (the launcher's fast path prints it; tests/test_launcher.py checks it against the CLI's output).

    Numbers are written by ``format_number`` in both, as ``run --input --json`` writes them:
    ``{"y": 1, "h": [0.5, 0.25]}``, whole numbers without ``.0``.
    """
    if as_json:
        import json

        return "{" + ", ".join(f"{json.dumps(name)}: {format_value(value)}" for name, value in outputs.items()) + "}"
    return "\n".join(f"{name} = {format_value(value)}" for name, value in outputs.items())
