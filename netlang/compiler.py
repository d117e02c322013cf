"""Compiler stage: a checked program lowered to layers of weight matrices (a runtime Network)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple, Union

import numpy as np

from . import limits
from .activations import ACTIVATIONS
from .checker import CheckedProgram, Unit, check
from .errors import NetlangError, combine
from .forms import Diag, ScalarForm, VectorForm
from .nodes import Program, Span
from .parser import gc_paused, parse_recovering
from .runtime import Layer, Network, Segment, SignalTable, _SMALL_DENSE


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
    layers = []
    errors: List[NetlangError] = []
    for index, depth in enumerate(sorted(by_depth)):
        layers.append(_lower_layer(index, by_depth[depth], signals, checked, errors))
    if errors:
        raise combine(errors)
    inputs = [(var.name, var.size) for var in checked.inputs]
    return Network(inputs, checked.outputs, layers, signals)


def _lower_layer(
    index: int, units: List[Unit], signals: SignalTable, checked: CheckedProgram, errors: List[NetlangError]
) -> Layer:
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
            for key, coefficient in form.coeffs.items():
                scalar_rows.append(row)
                scalar_cols.append(column(key))
                scalar_values.append(coefficient)
            bias[row] = form.const
        else:
            assert isinstance(form, VectorForm)
            for key, block in form.terms.items():
                first = column(key)
                if isinstance(block, Diag):
                    count = len(block.d)
                    entry_rows.append(np.arange(row, row + count))
                    entry_cols.append(np.arange(first, first + count))
                    entry_values.append(block.d)
                else:
                    width = block.shape[1]
                    blocks.append((row, np.arange(first, first + width), block))
            bias[row : row + unit.width] = form.const
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
    if dense_ok and (cells <= _SMALL_DENSE or nonzeros * 4 >= cells):
        weights = np.zeros((n_rows, n_cols))
        if len(values):
            np.add.at(weights, (rows, np.searchsorted(column_positions, cols)), values)
        for first, block_cols, block in blocks:
            local = np.searchsorted(column_positions, block_cols)
            weights[first : first + block.shape[0], local[0] : local[-1] + 1] += block
        layer = Layer(index, row_start, bias, segments, column_positions, signals, dense=weights)
        finite = bool(np.all(np.isfinite(weights)))
    else:
        for first, block_cols, block in blocks:
            block_rows, block_local = np.nonzero(block)
            rows = np.concatenate([rows, block_rows + first])
            cols = np.concatenate([cols, block_cols[block_local]])
            values = np.concatenate([values, block[block_rows, block_local]])
        order = np.lexsort((cols, rows))
        coo = (rows[order], np.searchsorted(column_positions, cols[order]), values[order])
        layer = Layer(index, row_start, bias, segments, column_positions, signals, coo=coo)
        finite = bool(np.all(np.isfinite(values)))
    if not finite or not np.all(np.isfinite(bias)):
        _report_overflow(units, errors, checked)
    return layer


def _report_overflow(units: List[Unit], errors: List[NetlangError], checked: CheckedProgram) -> None:
    for unit in units:
        form = unit.form
        if isinstance(form, ScalarForm):
            bad = not np.isfinite(form.const) or not all(np.isfinite(c) for c in form.coeffs.values())
        else:
            bad = not np.all(np.isfinite(form.const)) or any(
                not np.all(np.isfinite(b.d if isinstance(b, Diag) else b)) for b in form.terms.values()
            )
        if bad:
            errors.append(
                NetlangError(
                    f"the weights of '{unit.name}' overflow: they are too large to represent",
                    unit.statement.value.span,
                    filename=checked.program.filename,
                    code="number-out-of-range",
                    source=checked.program.source,
                    hint="weights must lie within about ±1.8e308",
                )
            )


# --- the library's entry points ---------------------------------------------------


def compile(
    program: Union[Program, str], filename: Optional[str] = None, base_dir: Optional[Union[str, Path]] = None
) -> Network:
    """Compile netlang source text (or a parsed Program) into a :class:`Network`.

    Files named by ``load(...)`` are read relative to ``base_dir``, by default the
    directory of ``filename`` (the current directory for text with no file).
    """
    # One pause for all three stages: the collector would otherwise scan the parse's objects
    # as each stage ends.
    with gc_paused():
        return lower_to_layers(check_program(program, filename, base_dir))


def check_program(
    program: Union[Program, str], filename: Optional[str] = None, base_dir: Optional[Union[str, Path]] = None
) -> CheckedProgram:
    """Parse (if given text) and check a program, as :func:`compile` does, without lowering it.

    Text with syntax errors raises them together with the errors the checker finds in the
    statements that do parse, so that one run reports every mistake it can.
    """
    if isinstance(program, str):
        name = filename or "<string>"
        parsed, syntax_errors, unparsed = parse_recovering(program, name)
        if syntax_errors:
            raise _with_errors_of_the_rest(parsed, syntax_errors, unparsed, _base_dir(name, base_dir))
        program = parsed
    elif filename is not None:
        program = Program(program.statements, filename, program.comments, program.source)
    with gc_paused():
        return check(program, program.source, _base_dir(program.filename, base_dir))


def _base_dir(filename: str, base_dir: Optional[Union[str, Path]]) -> Optional[Path]:
    """Where load(...) reads: ``base_dir``, else the folder of the file (None: the current directory)."""
    if base_dir is None and filename not in ("<string>", "<stdin>"):
        return Path(filename).parent
    return Path(base_dir) if base_dir is not None else None


def _with_errors_of_the_rest(
    parsed: Program, syntax_errors: List[NetlangError], unparsed: FrozenSet[str], base_dir: Optional[Path]
) -> NetlangError:
    """The syntax errors, and what the checker finds in the statements without one."""
    if parsed.statements and len(syntax_errors) < limits.MAX_ERRORS:
        try:
            with gc_paused():
                check(parsed, parsed.source, base_dir, unparsed)
        except NetlangError as semantic_errors:
            return combine(syntax_errors + semantic_errors.errors[: limits.MAX_ERRORS - len(syntax_errors)])
    return combine(syntax_errors)


def read_source(path: Union[str, Path]) -> str:
    """The text of a .net file, or a NetlangError that says why it cannot be read."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(limits.MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise NetlangError(f"file '{name}' does not exist", filename=name, code="file-not-found") from None
    except IsADirectoryError:
        raise NetlangError(f"'{name}' is a directory, not a .net file", filename=name, code="file-not-found") from None
    except OSError as error:
        raise NetlangError(f"cannot read '{name}': {error.strerror}", filename=name, code="file-not-found") from None
    if len(data) > limits.MAX_SOURCE_BYTES:
        raise NetlangError(
            f"'{name}' is larger than {limits.MAX_SOURCE_BYTES} bytes, the limit for a .net file",
            filename=name,
            code="file-too-large",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        text = data.decode("utf-8", errors="replace")
        raise NetlangError(
            f"the file is not valid UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded)",
            Span(line, column, line, column + 1),
            filename=name,
            code="bad-encoding",
            source=text,
            hint="save the file as UTF-8",
        ) from None


def load(path: Union[str, Path]) -> Network:
    """Read, parse and compile the .net file at ``path``, or take it from the compiled-network cache.

    An unchanged file (and unchanged weight files) is loaded from the cache (netlang.cache)
    without parsing; a file with errors is never cached, so its errors are reported as always.
    """
    from . import cache
    from .weights import recording

    entry_key = cache.key(path)
    if entry_key is not None:
        network = cache.read(entry_key)
        if network is not None:
            return network
    source = read_source(path)
    with recording() as weight_files:
        network = compile(source, os.fspath(path))
    # Store only if the file did not change while it was being compiled.
    if entry_key is not None and cache.key(path) == entry_key:
        cache.write(entry_key, network, weight_files)
    return network


def load_checked(path: Union[str, Path]) -> CheckedProgram:
    """Read, parse and check the .net file at ``path`` (the checked program, before lowering)."""
    return check_program(read_source(path), os.fspath(path))
