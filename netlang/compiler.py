"""Compiler: a checked program lowered to layers of weight matrices (a runtime Network).

Only lowering: reading, parsing and checking are the pipeline's (netlang.pipeline), so the
compiler can be given a CheckedProgram built any way, and tested without the parser.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Tuple, Union

import numpy as np

from . import limits
from .activations import ACTIVATIONS
from .checker import CheckedProgram, Unit
from .errors import NetlangError
from .forms import Diag, ScalarForm, VectorForm
from .rounding import exact
from .runtime import CompiledLayer, Network, Segment, SignalTable

# Weight matrices up to this many entries are always kept dense; larger ones only when at
# least a quarter of their entries are used. A layer of a big netlist reads a few
# of thousands of earlier signals: kept dense, its matrix product would do mostly zeros.
SMALL_DENSE = 1 << 12


def lower_to_layers(checked: CheckedProgram) -> Network:
    """Group the units by depth into layers and build each layer's ``W``, ``b`` and activations."""
    names = [var.name for var in checked.inputs] + [unit.name for unit in checked.units]
    sizes = [var.size for var in checked.inputs] + [unit.size for unit in checked.units]
    signals = SignalTable(names, sizes)
    if signals.total > limits.MAX_SIGNALS:
        raise NetlangError(
            f"the network has {signals.total} signals; the limit is {limits.MAX_SIGNALS}",
            filename=checked.program.filename,
            code="limit-exceeded",
        )
    by_depth: Dict[int, List[Unit]] = defaultdict(list)
    for unit in checked.units:
        by_depth[unit.depth].append(unit)
    layers = [_lower_layer(index, by_depth[depth], signals) for index, depth in enumerate(sorted(by_depth))]
    inputs = [(var.name, var.size) for var in checked.inputs]
    return Network(inputs, checked.outputs, layers, signals)


def _lower_layer(index: int, units: List[Unit], signals: SignalTable) -> CompiledLayer:
    row_start = signals.starts[signals.index[units[0].name]]
    n_rows = sum(unit.width for unit in units)
    starts = signals.starts
    position = signals.index

    def column(key: Union[str, Tuple[str, int]]) -> int:
        if isinstance(key, tuple):
            return starts[position[key[0]]] + key[1]
        return starts[position[key]]

    # Single entries (scalar neurons, diagonal blocks) go to COO lists; dense blocks stay whole.
    entry_rows: List[np.ndarray] = []
    entry_cols: List[np.ndarray] = []
    entry_values: List[np.ndarray] = []
    scalar_rows: List[int] = []
    scalar_cols: List[int] = []
    scalar_values: List[float] = []
    blocks: List[Tuple[int, np.ndarray, np.ndarray]] = []  # (first row, columns, block)
    bias = np.zeros(n_rows)
    segments: List[Segment] = []
    row = 0
    for unit in units:
        form = unit.form
        if isinstance(form, ScalarForm):
            # A program checked alone may hold Inexacts (netlang.grids): numpy's floats are taken.
            for key, coefficient in form.coeffs.items():
                scalar_rows.append(row)
                scalar_cols.append(column(key))
                scalar_values.append(coefficient if type(coefficient) is float else exact(coefficient))
            bias[row] = exact(form.const)
        else:
            assert isinstance(form, VectorForm)
            # np.asarray: a program checked alone holds Grids (netlang.grids), with the same values.
            for key, block in form.terms.items():
                first = column(key)
                if isinstance(block, Diag):
                    count = len(block.d)
                    entry_rows.append(np.arange(row, row + count))
                    entry_cols.append(np.arange(first, first + count))
                    entry_values.append(np.asarray(block.d))
                else:
                    width = block.shape[1]
                    blocks.append((row, np.arange(first, first + width), np.asarray(block)))
            bias[row : row + unit.width] = np.asarray(form.const)
        activation = unit.activation
        last = segments[-1] if segments else None
        if last and last.activation == activation and not ACTIVATIONS[activation].whole_vector:
            segments[-1] = Segment(last.start, row + unit.width, activation)
        else:
            segments.append(Segment(row, row + unit.width, activation))
        row += unit.width
    entry_rows.append(np.asarray(scalar_rows, dtype=np.int64))
    entry_cols.append(np.asarray(scalar_cols, dtype=np.int64))
    entry_values.append(np.asarray(scalar_values, dtype=np.float64))
    rows = np.concatenate(entry_rows)
    cols = np.concatenate(entry_cols)
    values = np.concatenate(entry_values)

    used = [cols] + [block_cols for _, block_cols, _ in blocks]
    column_positions = np.unique(np.concatenate(used)) if used else np.zeros(0, dtype=np.int64)
    n_cols = len(column_positions)
    nonzeros = len(values) + sum(block.size for _, _, block in blocks)
    cells = n_rows * n_cols
    dense_ok = cells <= limits.MAX_MATRIX_ENTRIES
    if dense_ok and (cells <= SMALL_DENSE or nonzeros * 4 >= cells):
        weights = np.zeros((n_rows, n_cols))
        if len(values):
            np.add.at(weights, (rows, np.searchsorted(column_positions, cols)), values)
        for first, block_cols, block in blocks:
            local = np.searchsorted(column_positions, block_cols)
            weights[first : first + block.shape[0], local[0] : local[-1] + 1] += block
        layer = CompiledLayer(index, row_start, bias, segments, column_positions, signals, dense=weights)
    else:
        # Every block's terms gathered first and joined once: joining them one block at a time
        # copied all the terms so far for each block (1,000 terms over v[20000]: 36 s, 1.4 GB).
        all_rows, all_cols, all_values = [rows], [cols], [values]
        for first, block_cols, block in blocks:
            block_rows, block_local = np.nonzero(block)
            all_rows.append(block_rows + first)
            all_cols.append(block_cols[block_local])
            all_values.append(block[block_rows, block_local])
        rows, cols, values = np.concatenate(all_rows), np.concatenate(all_cols), np.concatenate(all_values)
        order = np.lexsort((cols, rows))
        coo = (rows[order], np.searchsorted(column_positions, cols[order]), values[order])
        layer = CompiledLayer(index, row_start, bias, segments, column_positions, signals, coo=coo)
    return layer
