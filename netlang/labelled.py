"""Labelled data: samples read from a CSV, .npy or Parquet file with their labels or targets, for
`netlang score` and training.

Files as they come: a header naming the columns (inputs as the network names them, ``x1`` or
``x[0]``; targets named like the outputs, ``y`` or ``y[0]``; the label column by any name), or
no header (MNIST's CSVs: the label first, then the pixels), the label column then given by its
position. Columns that are neither inputs, label nor targets are an error unless the caller
asks to skip them. A .npy table's columns are found by position, as a CSV file's without a
header; a Parquet file's by name, as a header's. Reading streams in blocks (``data.CsvSource``), so scoring a file takes
bounded memory; ``read_examples`` gathers every row for training.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .csvnumbers import MAX_CHARS_PER_VALUE, MIN_LINE_CHARS, CsvSource, _cell_text, _is_blank, _number, located_error, split_fields
from .data import NpySource, open_csv, rows_per_block
from .errors import NetlangError, did_you_mean, name_list
from .files import FileError, open_file, read_npy_header
from .numerals import counted
from .parquet import SUFFIXES as PARQUET_SUFFIXES
from .scoring import Score, class_count

Column = Union[int, str]


class Layout(NamedTuple):
    """Where things are among a file's columns (0-based positions)."""

    names: Tuple[str, ...]  # every column's name (from the header, or made up)
    header: bool
    inputs: np.ndarray  # the position of each input column, in the network's order
    label: Optional[int]
    targets: Optional[np.ndarray]  # the position of each output column's target, in the network's order


def _position(column: Column, width: int) -> Optional[int]:
    """A column given by position (``0`` or ``"0"``, from 0; negative counts from the end), or None for a name."""
    if isinstance(column, int):
        index = column
    elif column.strip().lstrip("-").isdigit():
        index = int(column)
    else:
        return None
    return index + width if index < 0 else index


# Builds the error of a layout problem: (message, hint, column position or None, code).
Fail = Callable[[str, Optional[str], Optional[int], str], NetlangError]


def find_layout(
    filename: str, first: Tuple[int, str], network: Any, labels: Optional[Column], targets: bool, skip: Sequence[Column]
) -> Layout:
    """The layout of a CSV file whose first line is ``first``: which columns are inputs, label, targets."""
    number, line = first
    fields = split_fields(line)
    texts = [_cell_text(t) for _, t in fields]
    header = any(_number(t) is None for t in texts)

    def fail(message: str, hint: Optional[str], column: Optional[int], code: str) -> NetlangError:
        at, raw = fields[column] if column is not None else (1, line)
        return located_error(message, filename, number, at, max(1, len(raw)), code=code, hint=hint, text=line)

    return layout_of(texts if header else None, len(fields), f"line {number}", network, labels, targets, skip, fail)


def layout_of(
    header: Optional[Sequence[str]], width: int, rows: str, network: Any, labels: Optional[Column], targets: bool,
    skip: Sequence[Column], fail: Fail,
) -> Layout:
    """The layout of ``width`` columns named by ``header`` (None: no names, a .npy file's or a
    CSV file's without a header); ``rows`` names the rows in a message ("line 1")."""
    texts = list(header or ())

    def missing(message: str, hint: Optional[str] = None) -> NetlangError:
        return fail(message, hint, None, "missing-column")

    def locate(column: Column, what: str) -> int:
        position = _position(column, width)
        if header is not None and (position is None or str(column) in texts):
            if str(column) not in texts:
                raise missing(
                    f"the header has no {what} column '{column}'",
                    did_you_mean(str(column), texts) or f"the columns are {name_list(texts)}",
                )
            return texts.index(str(column))
        if position is None:
            raise missing(
                f"the file has no header, so the {what} column cannot be found by the name '{column}'",
                "give its position instead (0 is the first column)",
            )
        if not 0 <= position < width:
            raise missing(f"the {what} column is number {column} (from 0), but the rows have {width} values")
        return position

    label = locate(labels, "label") if labels is not None else None
    skipped = {locate(column, "skipped") for column in skip}
    taken = set(skipped) | ({label} if label is not None else set())
    if header is not None:
        names = tuple(texts)
        where = {text: i for i, text in enumerate(texts) if i not in taken}
        # A vector of one element may be named without its index: 'y' for y[0].
        for columns in (network.input_columns, network.output_columns):
            for name in columns:
                base = name[:-3]
                if name.endswith("[0]") and base in where and name not in where and f"{base}[1]" not in columns:
                    where[name] = where[base]
        absent = [name for name in network.input_columns if name not in where]
        if absent:
            raise missing(f"the header has no column for the input{'s' if len(absent) > 1 else ''} {name_list(absent)}")
        inputs = np.array([where[name] for name in network.input_columns], dtype=np.intp)
        target_positions = None
        if targets:
            absent = [name for name in network.output_columns if name not in where]
            if absent:
                raise missing(
                    f"the header has no target column for {name_list(absent)}",
                    "name the target columns like the outputs, or give a label column to make one-hot targets from",
                )
            target_positions = np.array([where[name] for name in network.output_columns], dtype=np.intp)
        used = set(inputs.tolist()) | set(target_positions.tolist() if target_positions is not None else []) | taken
        for i in range(width):
            if i not in used:
                raise fail(
                    f"the header names '{texts[i]}', which is not an input"
                    + (" or an output" if targets else "")
                    + (" or the label" if label is not None else ""),
                    did_you_mean(texts[i], network.input_columns) or f"to leave it out, skip it (--skip {texts[i]})",
                    i,
                    "bad-header",
                )
        return Layout(names, True, inputs, label, target_positions)
    rest = [i for i in range(width) if i not in taken]
    wanted = network.input_width + (network.output_width if targets else 0)
    if len(rest) != wanted:
        parts = [counted(network.input_width, "input")]
        if targets:
            parts.append(counted(network.output_width, "target"))
        if label is not None:
            parts.append("the label")
        if skipped:
            parts.append(f"{len(skipped)} skipped")
        raise fail(
            f"{rows} has {width} values, but {' + '.join(parts)} make {wanted + len(taken)}",
            "without a header, the columns left after the label and the skipped ones are the inputs"
            + (", then the targets" if targets else "")
            + ", in order",
            None,
            "wrong-column-count",
        )
    names_list = [f"column {i}" for i in range(width)]
    own = list(network.input_columns) + (list(network.output_columns) if targets else [])
    for i, name in zip(rest, own):
        names_list[i] = name
    if label is not None:
        names_list[label] = "label"
    inputs = np.array(rest[: network.input_width], dtype=np.intp)
    target_positions = np.array(rest[network.input_width :], dtype=np.intp) if targets else None
    return Layout(tuple(names_list), False, inputs, label, target_positions)


class _Source(CsvSource):
    """A CsvSource whose first line (header or not) decides the layout of the columns, and which
    remembers its last block's lines, to name the line of a bad label."""

    last: Tuple[List[str], int] = ([], 1)

    def __init__(self, stream: IO[Any], filename: str, network: Any, find: Callable[[int, str], Layout], total: Optional[int], owns: bool) -> None:
        # One placeholder column until the first line is read.
        super().__init__(stream, filename, ["?"], rows=rows_per_block(network), total=total, owns_stream=owns)
        self.find = find
        self.layout: Optional[Layout] = None

    def _read_header(self, line: str, number: int) -> bool:
        layout = self.layout = self.find(number, line)
        self.columns = layout.names
        self.max_line = max(MIN_LINE_CHARS, MAX_CHARS_PER_VALUE * len(layout.names))
        return layout.header

    def _parse(self, lines: List[str], first: int) -> Optional[np.ndarray]:
        self.last = (lines, first)
        return super()._parse(lines, first)

    def line_of(self, row: int) -> Tuple[int, str]:
        """(number, text) of the ``row``-th sample of the last block."""
        lines, first = self.last
        seen = -1
        for offset, line in enumerate(lines):
            if not _is_blank(line):
                seen += 1
                if seen == row:
                    return first + offset, line
        return 0, ""  # pragma: no cover - every row of a block comes from a line


class Examples:
    """The blocks of a labelled data file: ``(inputs, labels, targets)`` each (labels or targets None
    when not asked for). Labels are checked to be whole numbers naming one of the network's classes."""

    def __init__(
        self,
        path: Union[str, Path],
        network: Any,
        labels: Optional[Column] = None,
        targets: bool = False,
        skip: Sequence[Column] = (),
        stdin: Optional[IO[Any]] = None,
    ) -> None:
        self.network = network
        self.classes = class_count(network.output_width)
        name = self.filename = str(path)
        suffix = Path(name).suffix.lower() if name != "-" else ""
        self.source: Any
        # A .npy or Parquet file's layout is known from its header before any row; a CSV file's
        # from its first line (_Source.layout).
        self.layout: Optional[Layout] = None
        if suffix == ".npy":
            self.source, self.layout = _npy_source(name, network, labels, targets, skip)
            return
        if suffix in PARQUET_SUFFIXES:
            self.source, self.layout = _parquet_source(name, network, labels, targets, skip)
            return
        stream, self.filename, total = open_csv(name, stdin)

        def find(number: int, line: str) -> Layout:
            return find_layout(self.filename, (number, line), network, labels, targets, skip)

        self.source = _Source(stream, self.filename, network, find, total, owns=name != "-")

    def __repr__(self) -> str:
        return f"Examples({self.filename!r})"

    @property
    def position(self) -> int:
        return self.source.position

    def close(self) -> None:
        self.source.close()

    def __iter__(self) -> Iterator[Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]]:
        rows = 0
        for block in self.source:
            layout = self.layout or self.source.layout
            assert layout is not None  # found from the header or first line, before any block
            inputs = block[:, layout.inputs]
            labels = None
            if layout.label is not None:
                labels = block[:, layout.label]
                self._check_labels(labels, layout.label, rows)
            targets = block[:, layout.targets] if layout.targets is not None else None
            rows += len(block)
            yield inputs, labels, targets
        if not rows:
            raise located_error(f"'{self.filename}' has no samples", self.filename, code="no-samples")

    def _check_labels(self, labels: np.ndarray, label: int, before: int) -> None:
        """Every label a class of the network; else an error at the first bad one (``before``: the rows of earlier blocks)."""
        bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= self.classes))
        if not len(bad):
            return
        row = int(bad[0])
        value = labels[row]
        what = "is not a whole number" if value != round(value) else "is out of range"
        outputs = self.network.output_width
        hint = (
            "a single output is class 1 when it is at least 0.5, else 0"
            if outputs == 1
            else f"class k is output column k ({self.network.output_columns[0]} is class 0); is the label column the right one?"
        )
        tells = f"the network's {counted(outputs, 'output')} tell{'s' if outputs == 1 else ''} classes 0 to {self.classes - 1} apart"
        if not isinstance(self.source, _Source):  # a .npy or Parquet file: no lines to show
            raise located_error(f"row {before + row} (from 0): label {value:g} {what}: {tells}", self.filename, code="bad-label", hint=hint)
        number, text = self.source.line_of(row)
        column, raw = split_fields(text)[label] if text else (0, "")
        shown = _cell_text(raw) or f"{value:g}"
        raise located_error(f"label {shown} {what}: {tells}", self.filename, number, column, max(1, len(raw)), code="bad-label", hint=hint, text=text)


def _file_error(name: str) -> Fail:
    """The layout errors of a file without lines to point at (.npy, Parquet): the file named."""

    def fail(message: str, hint: Optional[str], column: Optional[int], code: str) -> NetlangError:
        return located_error(message, name, code=code, hint=hint)

    return fail


def _npy_source(name: str, network: Any, labels: Optional[Column], targets: bool, skip: Sequence[Column]) -> Tuple[NpySource, Layout]:
    """A .npy file's rows (samples x columns, no names: columns by position, as a CSV file without a header)."""
    try:
        with open_file(Path(name), "data file") as stream:
            shape, _, _ = read_npy_header(stream, name, holds="data values")
    except FileError as problem:
        raise located_error(problem.message, name, code=problem.code, hint=problem.hint) from None
    if len(shape) != 2:
        raise located_error(
            f"'{name}' holds an array of shape {shape}; labelled data are a table, (samples, columns)", name, code="bad-shape"
        )
    layout = layout_of(None, shape[1], "each row", network, labels, targets, skip, _file_error(name))
    return NpySource(Path(name), name, layout.names, rows=rows_per_block(network)), layout


def _parquet_source(name: str, network: Any, labels: Optional[Column], targets: bool, skip: Sequence[Column]) -> Tuple[Any, Layout]:
    """A Parquet file's rows: columns by name, as a CSV file's header names them; only the
    columns used are read (a skipped column may hold text)."""
    from .parquet import column_names, open_parquet

    names = column_names(Path(name), name)
    whole = layout_of(names, len(names), "each row", network, labels, targets, skip, _file_error(name))
    used: List[int] = sorted(
        set(whole.inputs.tolist())
        | set(whole.targets.tolist() if whole.targets is not None else [])
        | ({whole.label} if whole.label is not None else set())
    )
    at = {position: index for index, position in enumerate(used)}

    def moved(positions: np.ndarray) -> np.ndarray:
        return np.array([at[p] for p in positions.tolist()], dtype=np.intp)

    layout = Layout(
        tuple(names[p] for p in used), True, moved(whole.inputs), None if whole.label is None else at[whole.label],
        None if whole.targets is None else moved(whole.targets),
    )
    return open_parquet(Path(name), name, layout.names, np.float64, rows_per_block(network)), layout


def score_file(
    network: Any, path: Union[str, Path], labels: Column, skip: Sequence[Column] = (), stdin: Optional[IO[Any]] = None,
    progress: Any = None, scale: float = 1.0, shift: float = 0.0,
) -> Score:
    """The score of ``network`` on a labelled data file, read block by block (bounded memory).

    Inputs are read as ``x*scale + shift``, as training reads them (a file's ``train scale``,
    ``shift`` or preset), so that score reports the accuracy training reported."""
    examples = Examples(path, network, labels=labels, skip=skip, stdin=stdin)
    score = Score(examples.classes)
    rows = 0
    try:
        for inputs, found, _ in examples:
            assert found is not None
            if scale != 1.0 or shift != 0.0:
                inputs = inputs * scale + shift
            score.add(network(inputs), found)
            rows += len(inputs)
            if progress is not None:
                progress.update(examples.position, rows)
    finally:
        examples.close()
    if progress is not None:
        progress.finish()
    return score


def read_examples(
    path: Union[str, Path],
    network: Any,
    labels: Optional[Column] = None,
    skip: Sequence[Column] = (),
    one_hot: Tuple[float, float] = (0.0, 1.0),
    stdin: Optional[IO[Any]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)`` of every sample of a data file (CSV, .npy, Parquet), for training.

    With ``labels`` (a column's name, or position from 0), the targets are made from the class
    label: ``one_hot[1]`` at the label's output and ``one_hot[0]`` elsewhere (Rashid: ``(0.01,
    0.99)``; for a single output, label 1 is ``on`` and 0 is ``off``). Without, the targets are
    read from columns named like the outputs (``y``, ``y[0]``, ...; without a header: the
    columns after the inputs).
    """
    examples = Examples(path, network, labels=labels, targets=labels is None, skip=skip, stdin=stdin)
    inputs: List[np.ndarray] = []
    targets: List[np.ndarray] = []
    off, on = one_hot
    try:
        for block, found, given in examples:
            inputs.append(block)
            if found is not None:
                made = np.full((len(block), network.output_width), float(off))
                if network.output_width == 1:
                    made[found == 1, 0] = on
                else:
                    made[np.arange(len(block)), found.astype(np.intp)] = on
                targets.append(made)
            else:
                assert given is not None
                targets.append(given)
    finally:
        examples.close()
    return np.concatenate(inputs), np.concatenate(targets)
