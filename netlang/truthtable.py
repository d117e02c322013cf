"""Truth tables: a network's outputs for every 0/1 combination of its inputs (``netlang table``)."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import limits
from .checker import CheckedProgram
from .display import format_number, json_number
from .errors import NetlangError
from .interpreter import FLOAT, Arithmetic, check_exact_work, interpret_row
from .runtime import Network


@dataclass(frozen=True)
class TruthTable:
    """Input and output column names and one row of values per input combination, in binary counting order."""

    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]
    rows: np.ndarray  # one row per combination: input values, then output values (float64, or Fractions)

    def __repr__(self) -> str:
        return f"TruthTable({list(self.inputs)} -> {list(self.outputs)}, {len(self.rows)} rows)"

    def text(self) -> str:
        """An aligned table, inputs and outputs separated by a bar."""
        cells = [list(self.inputs) + list(self.outputs)] + self._formatted()
        count = len(self.inputs)
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        lines = []
        for row in cells:
            left = " ".join(cell.rjust(width) for cell, width in zip(row[:count], widths[:count]))
            right = " ".join(cell.rjust(width) for cell, width in zip(row[count:], widths[count:]))
            lines.append(f"{left} | {right}".rstrip() if count else f"| {right}".rstrip())
        return "\n".join(lines)

    def csv(self) -> str:
        """A header line with the column names, then one line per row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.inputs + self.outputs)
        writer.writerows(self._formatted())
        return out.getvalue()

    def _formatted(self) -> List[List[str]]:
        # A table of 0/1 columns repeats a few values many times: format each distinct value once.
        if not self.rows.size:
            return [[] for _ in range(len(self.rows))]
        distinct, where = np.unique(self.rows, return_inverse=True)
        texts = np.array([format_number(v) for v in distinct], dtype=object)
        return texts[where.reshape(self.rows.shape)].tolist()

    def records(self) -> List[Dict[str, Any]]:
        """One dict per row, by column name: JSON-ready (whole numbers as ints, others as floats)."""
        names = self.inputs + self.outputs
        return [{name: json_number(v) for name, v in zip(names, row)} for row in self.rows.tolist()]


def truth_table(
    network: Network,
    checked: Optional[CheckedProgram] = None,
    arithmetic: Arithmetic = FLOAT,
    filename: Optional[str] = None,
) -> TruthTable:
    """Every 0/1 combination of ``network``'s input values with its outputs.

    In float64 the compiled network computes the rows, all at once; in another
    arithmetic the interpreter does, row by row, from ``checked``.
    """
    width = network.input_width
    if width > limits.MAX_TABLE_INPUTS:
        raise NetlangError(
            f"the network takes {width} input values: a table of every 0/1 combination would have "
            f"2^{width} = {2**width:,} rows; the limit is {limits.MAX_TABLE_INPUTS} input values "
            f"({2**limits.MAX_TABLE_INPUTS:,} rows)",
            filename=filename,
            code="limit-exceeded",
            hint="run the network on chosen inputs instead: netlang run FILE --x ...",
        )
    columns = width + network.output_width
    if 2**width * columns > limits.MAX_TABLE_VALUES:
        raise NetlangError(
            f"a table of every 0/1 combination of the {width} input values would have {2**width:,} rows of "
            f"{columns:,} values ({2**width * columns:,} values); the limit is {limits.MAX_TABLE_VALUES:,} "
            "values (MAX_TABLE_VALUES)",
            filename=filename,
            code="limit-exceeded",
            hint="list fewer outputs in the 'output' statement, or run the network on chosen inputs: netlang run FILE --x ...",
        )
    if arithmetic is not FLOAT:
        check_exact_work(network, 2**width, filename)
    combinations = np.array(list(itertools.product((0, 1), repeat=width)), dtype=float).reshape(2**width, width)
    if arithmetic is FLOAT:
        rows = np.hstack([combinations, network(combinations)])
    else:
        assert checked is not None, "a truth table in exact arithmetic needs the checked program"
        results = [interpret_row(checked, [int(v) for v in combination], arithmetic) for combination in combinations]
        rows = np.array(
            [[arithmetic.scalar(int(v)) for v in combination] + result for combination, result in zip(combinations, results)],
            dtype=object,
        ).reshape(len(combinations), width + network.output_width)
    return TruthTable(network.input_columns, network.output_columns, rows)
