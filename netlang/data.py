"""Batch data (a tool beside the pipeline): inputs read from CSV or .npy in chunks, results written as CSV, .npy or JSON.

Everything streams: a source yields blocks of at most a few hundred thousand
values, the network evaluates each block, and a sink writes the results before
the next block is read, so memory stays bounded whatever the size of the data.
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import NetlangError, name_list
from .files import STREAM, FileError, TooLarge, as_float, atomic_write, open_file, read_npy_header, same_file
from .numerals import counted
# CsvSource and BLOCK_VALUES are netlang.csvnumbers'; named here too for data's callers.
from .csvnumbers import BLOCK_VALUES as BLOCK_VALUES, CsvSource as CsvSource, located_error

DTYPES = {"float32": np.float32, "float64": np.float64}


def rows_per_block(network: Any) -> int:
    return max(1, BLOCK_VALUES // max(1, network.input_width, network.output_width))


# -- .npy ------------------------------------------------------------------------------


class NpySource:
    """Rows of a 2-D ``.npy`` array (samples x inputs), memory-mapped and read in blocks.

    The header is checked first (no pickles, numbers only, the right width), so
    nothing is read from a file that cannot be used.
    """

    def __init__(self, path: Path, filename: str, columns: Sequence[str], dtype: Any = np.float64, rows: int = 4096) -> None:
        self.filename = filename
        self.columns = tuple(columns)
        self.dtype = np.dtype(dtype)
        self.rows = rows
        self.position = 0
        try:
            with open_file(path, "data file") as stream:
                shape, fortran, stored = read_npy_header(stream, filename, holds="data values")
                header_bytes = stream.tell()
                size = os.fstat(stream.fileno()).st_size
                self.array = self._map(stream, shape, fortran, stored, header_bytes, size)
        except FileError as problem:
            raise located_error(problem.message, filename, code=problem.code, hint=problem.hint) from None
        except (OSError, ValueError) as problem:
            raise located_error(f"cannot read '{filename}' as a .npy file: {problem}", filename) from None
        self.header_bytes = header_bytes

    def _map(self, stream: IO[bytes], shape: Tuple[int, ...], fortran: bool, stored: Any, header_bytes: int, size: int) -> np.ndarray:
        """The array, memory-mapped from the open file (never opened again by name), once its shape and size are checked."""
        filename = self.filename
        width = len(self.columns)
        if len(shape) == 1 and width == 1:
            shape = (shape[0], 1)
        if len(shape) != 2 or shape[1] != width:
            raise located_error(
                f"'{filename}' holds an array of shape {shape}, but the network takes rows of {counted(width, 'value')} "
                f"({name_list(self.columns, count='in all')}): the shape must be (samples, {width})",
                filename,
                code="bad-shape",
            )
        self.total = size
        expected = math.prod(shape) * stored.itemsize
        if size - header_bytes < expected:
            raise located_error(
                f"'{filename}' is truncated: its header promises {counted(shape[0], 'row')} "
                f"of {counted(width, f'{stored} value')} ({expected} bytes), "
                f"but only {size - header_bytes} bytes follow",
                filename,
                hint="was the file still being written, or copied in part?",
            )
        if not math.prod(shape):
            return np.zeros(shape, dtype=stored)
        return np.memmap(stream, dtype=stored, mode="r", offset=header_bytes, shape=shape, order="F" if fortran else "C")

    def __repr__(self) -> str:
        return f"NpySource({self.filename!r}, shape={self.array.shape})"

    def close(self) -> None:
        self.array = self.array[:0]  # lets the memory map go

    def __iter__(self) -> Iterator[np.ndarray]:
        samples = self.array.shape[0]
        row_bytes = self.array.itemsize * max(1, self.array.shape[1])
        for begin in range(0, samples, self.rows):
            try:
                block = as_float(self.array[begin : begin + self.rows], self.dtype)
            except TooLarge as large:
                row, column = large.where
                raise located_error(
                    f"row {begin + row} (from 0), column {self.columns[column]}, is {large.value}: "
                    f"too large for {self.dtype.name} (about {large.limit} at most)",
                    self.filename,
                    code="number-out-of-range",
                    hint="--dtype float64 holds numbers up to about ±1.8e308" if self.dtype.itemsize < 8 else None,
                ) from None
            bad = ~np.isfinite(block)
            if bad.any():
                row, column = np.argwhere(bad)[0]
                raise located_error(
                    f"row {begin + row} (from 0), column {self.columns[column]}, is {block[row, column]}; inputs must be finite numbers",
                    self.filename,
                    code="non-finite-value",
                )
            self.position = self.header_bytes + (begin + len(block)) * row_bytes
            yield block


# -- sinks -----------------------------------------------------------------------------


def format_rows(block: np.ndarray) -> List[str]:
    """Each row as comma-separated numbers, as short as they can be written exactly (``1``, ``0.5``).

    ``display.format_number`` per cell, made fast: ``repr`` gives the shortest
    exact digits, and an integer's ``.0`` is dropped from the joined text.
    """
    flat = block.ravel()
    # float32's own shortest digits (0.7310586), not the float64 expansion of it.
    cells = map(str, flat) if block.dtype == np.float32 else map(repr, flat.tolist())
    width = block.shape[1]
    rows = map(",".join, zip(*[iter(cells)] * width)) if width else ("" for _ in range(len(block)))
    text = "\n".join(rows) + "\n"
    return text.replace(".0,", ",").replace(".0\n", "\n").split("\n")[:-1]


def csv_text(block: np.ndarray) -> str:
    """The CSV lines of ``block``'s rows, each ending in a newline."""
    return "\n".join(format_rows(block)) + "\n" if len(block) else ""


class CsvSink:
    """Results as CSV: a header of output column names, then one line per sample."""

    def __init__(self, stream: IO[str], columns: Sequence[str]) -> None:
        self.stream = stream
        # Written with the first results: when the first block of data is bad, nothing is.
        self.header = ",".join(columns) + "\n"

    def write(self, block: np.ndarray) -> None:
        self.write_text(csv_text(block))

    def write_text(self, text: str) -> None:
        """Rows already formatted by ``csv_text`` (netlang.cluster's workers format their own)."""
        self.stream.write(self.header + text)
        self.header = ""

    def close(self) -> None:
        self.stream.write(self.header)
        self.stream.flush()


class JsonSink:
    """Results as a JSON array with one object per sample, ``{"y": 1, "h": [0.5, 0.2]}``."""

    def __init__(self, stream: IO[str], network: Any) -> None:
        self.stream = stream
        self.network = network
        self.count = 0
        self.opening = "["  # written with the first results, as CsvSink's header

    def write(self, block: np.ndarray) -> None:
        parts = [self.opening]
        self.opening = ""
        for row in format_rows(block) if len(block) else []:
            values = iter(row.split(","))
            fields = []
            for name, size in zip(self.network.output_names, self.network.output_sizes):
                if size is None:
                    fields.append(f"{json.dumps(name)}: {next(values)}")
                else:
                    fields.append(f"{json.dumps(name)}: [{', '.join(next(values) for _ in range(size))}]")
            parts.append(("," if self.count else "") + "\n  {" + ", ".join(fields) + "}")
            self.count += 1
        self.stream.write("".join(parts))

    def close(self) -> None:
        self.stream.write(self.opening + ("\n]\n" if self.count else "]\n"))
        self.stream.flush()


class NpySink:
    """Results as a 2-D ``.npy`` array; the header is rewritten with the row count at the end."""

    HEADER_BYTES = 128  # magic, version, length and the padded header dict: fixed, so it can be rewritten

    def __init__(self, stream: IO[bytes], width: int, dtype: Any) -> None:
        self.stream = stream
        self.width = width
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.count = 0
        self._write_header()

    def _write_header(self) -> None:
        descr = np.lib.format.dtype_to_descr(self.dtype)
        header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': ({self.count}, {self.width}), }}"
        length = self.HEADER_BYTES - 10
        self.stream.write(b"\x93NUMPY\x01\x00" + length.to_bytes(2, "little") + header.ljust(length - 1).encode("latin1") + b"\n")

    def write(self, block: np.ndarray) -> None:
        self.stream.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.count += len(block)

    def close(self) -> None:
        self.stream.seek(0)
        self._write_header()
        self.stream.flush()


# -- progress --------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal, shown only once the work has taken a while."""

    def __init__(
        self, stream: IO[str], total: Optional[int], delay: float = 1.0, clock: Callable[[], float] = time.monotonic,
        unit: str = "rows",
    ) -> None:
        self.stream = stream
        self.total = total
        self.unit = unit  # what the count counts: rows (run, score), samples (train)
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self.last = 0.0
        self.shown = False

    def update(self, position: int, rows: int) -> None:
        now = self.clock()
        if now - self.started < self.delay or now - self.last < 0.2:
            return
        self.last = now
        if self.total:
            fraction = min(1.0, position / self.total)
            bar = "#" * int(30 * fraction)
            text = f"[{bar:<30}] {100 * fraction:3.0f}%  {rows} {self.unit}"
        else:
            text = f"{rows} {self.unit}"
        self.stream.write("\r" + text)
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


# -- the batch run ----------------------------------------------------------------------


def open_source(name: str, network: Any, dtype: Any = np.float64, stdin: Optional[IO[Any]] = None) -> Any:
    """A block source for ``name``: ``-`` (CSV on stdin), a ``.npy`` file, a Parquet file, a CSV
    file (or a pipe: ``<(...)``), or a glob pattern of such files, read one after another."""
    if name != "-":
        names = data_files(name)
        if names != [name]:
            return Concatenated(name, names, lambda one: open_source(one, network, dtype))
    rows = rows_per_block(network)
    path = Path(name)
    if name != "-" and path.suffix.lower() == ".npy":
        return NpySource(path, name, network.input_columns, dtype, rows)
    if name != "-" and path.suffix.lower() in (".parquet", ".pq"):
        from .parquet import open_parquet  # pyarrow, only for Parquet files

        return open_parquet(path, name, network.input_columns, dtype, rows)
    stream, filename, size = open_csv(name, stdin)
    return CsvSource(stream, filename, network.input_columns, dtype, rows, total=size, owns_stream=name != "-")


def data_files(pattern: str) -> List[str]:
    """The data files an ``--input`` names: the file itself, or a glob pattern's matches, sorted."""
    if os.path.exists(pattern) or not any(char in pattern for char in "*?["):
        return [pattern]
    matches = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    if not matches:
        raise NetlangError(f"no data file matches '{pattern}'", filename=pattern, code="file-not-found")
    return matches


class Concatenated:
    """The rows of several data files, one file after another, each opened when its turn comes
    (``run --input 'data/*.csv'`` on this computer; ``--scheduler`` spreads them over a cluster)."""

    def __init__(self, pattern: str, names: Sequence[str], open_one: Callable[[str], Any]) -> None:
        self.filename = pattern
        self.names = list(names)
        self.open_one = open_one
        self.total: Optional[int] = None  # the progress bar counts rows
        self.current: Any = None

    def __repr__(self) -> str:
        return f"Concatenated({len(self.names)} files)"

    def __iter__(self) -> Iterator[np.ndarray]:
        for name in self.names:
            self.current = self.open_one(name)
            try:
                yield from self.current
            finally:
                self.close()

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


def open_csv(name: str, stdin: Optional[IO[Any]] = None) -> Tuple[IO[Any], str, Optional[int]]:
    """(stream, name to report, size if known) of CSV data: ``-`` is stdin (not to be closed)."""
    if name == "-":
        stream = stdin if stdin is not None else sys.stdin
        return getattr(stream, "buffer", stream), "<stdin>", None
    try:
        binary = open_file(Path(name), "data file", kinds=STREAM)
    except FileError as problem:
        raise located_error(problem.message, name, code=problem.code, hint=problem.hint) from None
    return binary, name, os.fstat(binary.fileno()).st_size or None


def run_batch(network: Any, source: Any, sink: Any, dtype: Any = np.float64, progress: Optional[Progress] = None) -> int:
    """Evaluate ``network`` on every block of ``source`` and write the results to ``sink``; the number of rows."""
    count = 0
    try:
        for block in source:
            sink.write(network(block, dtype=dtype))
            count += len(block)
            if progress is not None:
                progress.update(source.position, count)
    finally:
        source.close()
    sink.close()
    if progress is not None:
        progress.finish()
    return count


def sink_for(kind: str, stream: IO[Any], network: Any, dtype: Any = np.float64) -> Any:
    """The sink that writes results of ``kind`` (``csv``, ``npy``, ``json``, ``parquet``) to ``stream`` (binary for npy and parquet)."""
    if kind == "parquet":
        from .parquet import ParquetSink  # pyarrow, only for Parquet files

        return ParquetSink(stream, network.output_columns, dtype)
    if kind == "npy":
        return NpySink(stream, network.output_width, dtype)
    if kind == "json":
        return JsonSink(stream, network)
    return CsvSink(stream, network.output_columns)


def run_to_file(network: Any, source: Any, output: str, kind: str, dtype: Any = np.float64, progress: Optional[Progress] = None) -> int:
    """``run_batch`` into the file ``output``, atomically: the results go to a temporary file, renamed
    to ``output`` only once every block is written. An error, Ctrl-C or a full disk leaves ``output``
    as it was (missing, or the old file whole); ``output`` naming the input file is refused."""
    inputs = source.names if isinstance(source, Concatenated) else [source.filename]
    if any(same_file(output, name) for name in inputs):
        source.close()
        raise located_error(
            f"--output '{output}' is the data file given to --input: writing the results there would destroy the data",
            output,
            code="output-is-input",
            hint="write the results to another file",
        )
    try:
        with atomic_write(output, binary=kind in ("npy", "parquet")) as stream:
            return run_batch(network, source, sink_for(kind, stream, network, dtype), dtype, progress)
    except FileError as problem:
        raise located_error(problem.message, output, code=problem.code, hint=problem.hint) from None
    except OSError as error:
        raise located_error(f"cannot write '{output}': {error.strerror or error}; nothing was written", output, code="write-failed") from None


def output_kind(path: str) -> str:
    """``csv``, ``npy``, ``json`` or ``parquet``, from an output file's name (``-`` is CSV on stdout)."""
    if path == "-":
        return "csv"
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix == "pq":
        return "parquet"
    if suffix not in ("csv", "npy", "json", "parquet"):
        raise ValueError(f"{path!r} does not end in .csv, .npy, .json or .parquet")
    return suffix
