"""Display: networks as labelled matrices for people, and as plain data for programs."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Union

import numpy as np

from .runtime import Layer, Network

# How the per-row activations read in a table.
_ACTIVATION_LABELS = {"step": "step(>0)", "step_ge": "step(>=0)"}
# Large layers are shown by their corners, as numpy prints large arrays.
_MAX_ROWS = 16
_MAX_COLUMNS = 10


def format_number(value: float) -> str:
    """A number as short as it can be written exactly: ``1``, ``0.5``, ``0.7310585786300049``."""
    value = float(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_value(value: Union[float, np.ndarray]) -> str:
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(format_number(v) for v in value) + "]"
    return format_number(value)


def _short(value: float) -> str:
    """A number for a matrix cell: at most 6 significant digits."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.6g}"


def _elide(items: Sequence[Any], limit: int) -> List[Any]:
    if len(items) <= limit:
        return list(items)
    half = limit // 2
    return list(items[:half]) + [None] + list(items[-half:])


def layer_text(layer: Layer, number: int) -> str:
    rows, cols = layer.shape
    kinds = sorted({_ACTIVATION_LABELS.get(s.activation, s.activation) for s in layer.segments})
    heading = (
        f"layer {number}: {rows} neuron{'s' if rows != 1 else ''} reading {cols} signal{'s' if cols != 1 else ''}"
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
            cells.append("..." if c is None else _short(weights[(r, c)]))
        cells += ["|", _short(layer.bias[r]), _ACTIVATION_LABELS.get(activations[r], activations[r])]
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [heading]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1])]
        lines.append("  " + " ".join(cells) + " " + row[-1])
    return "\n".join(line.rstrip() for line in lines)


def _visible_weights(layer: Layer, rows: List[int], cols: List[int]) -> Dict[tuple, float]:
    if not layer.is_sparse:
        return {(r, c): layer.weights[r, c] for r in rows for c in cols}
    wanted_rows, wanted_cols = set(rows), set(cols)
    values = {(r, c): 0.0 for r in rows for c in cols}
    coo_rows, coo_cols, coo_values = layer.coo  # type: ignore[misc]
    for r, c, v in zip(coo_rows.tolist(), coo_cols.tolist(), coo_values.tolist()):
        if r in wanted_rows and c in wanted_cols:
            values[(r, c)] = v
    return values


def network_text(network: Network) -> str:
    """Every layer as a labelled matrix: rows are neurons, columns the signals they read."""
    inputs = ", ".join(network.input_columns) if network.input_width <= 12 else f"{network.input_width} values"
    outputs = ", ".join(network.output_names)
    parts = [f"inputs: {inputs or '(none)'}\noutputs: {outputs}"]
    parts += [layer_text(layer, i + 1) for i, layer in enumerate(network.layers)]
    return "\n\n".join(parts)


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
    (the launcher's fast path prints it; tests/test_launcher.py checks it against the CLI's output)."""
    if as_json:
        import json

        data = {name: value.tolist() if hasattr(value, "tolist") else value for name, value in outputs.items()}
        return json.dumps(data)
    return "\n".join(f"{name} = {format_value(value)}" for name, value in outputs.items())
