"""A Dask cluster: a compiled network evaluated partition by partition on the workers.

Two ways in (optional extra ``dask``):

- ``evaluate(network, collection)``: a Dask array (samples x inputs) or DataFrame (the input
  columns by name) in, the same kind of lazy collection out, one task per partition. The
  network is one key of the graph, so it is sent to the cluster once, not once per task.
- ``run(network, paths, scheduler, ...)`` for ``netlang run --input 'data/*.csv' --scheduler
  ADDRESS``: the files (in sorted order) are cut into partitions of about
  ``PARTITION_BYTES`` at line ends; the network is scattered to every worker once
  (``Client.scatter(broadcast=True)``); each task reads its byte range with data.py's
  CsvSource and evaluates it there. The results come back in the order of the files and of
  their rows and are written as a local run writes them (gathered), or each task writes its
  own output file (partitioned: ``--output 'out/part-*.csv'``, ``*`` the partition's number).

Errors: a task reports a bad row with its line counted from the start of its byte range;
the client adds the lines of the ranges before it, so the error names the file, line and
column exactly as a local run does. A worker that dies has its tasks run again elsewhere
(Dask's own retries: the tasks are pure).
"""

from __future__ import annotations

import importlib
import io
import logging
import os
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .data import data_files as expand  # noqa: F401 - the cluster's name for it
from .errors import NetlangError, combine
from .nodes import Span

# Bytes of CSV per partition (Dask's read_csv uses 64 MB blocks too): large enough that a
# task's fixed cost (about a millisecond of scheduling) is nothing beside parsing it.
PARTITION_BYTES = 64 << 20
MIN_PARTITION_BYTES = 1 << 20


def _dask(what: str) -> Any:
    from .extras import require

    return require("distributed", "dask", what)


# -- Dask collections (the Python API) --------------------------------------------------


def evaluate(network: Any, collection: Any, dtype: Any = np.float64) -> Any:
    """``network`` over a Dask array or DataFrame, lazily, one task per partition (chunk of rows).

    A Dask array must have the network's input width as its columns (one chunk across them;
    it is rechunked if not); the result is a Dask array of ``samples x output width``. A Dask
    DataFrame must have a column for each input element (``x1``, ``x[0]``, ...), other
    columns are left alone; the result is a DataFrame of the output columns with the same
    index and partitions. Compute it with any scheduler (``.compute()``, a distributed
    ``Client``, ``to_parquet``...).
    """
    from .extras import require

    dask = require("dask", "dask", "evaluating Dask collections")
    shared = dask.delayed(_portable(network), pure=True)  # one key: the network is sent once
    width = network.output_width
    numpy_dtype = np.dtype(dtype)
    if hasattr(collection, "map_blocks") and hasattr(collection, "chunks"):
        if collection.ndim != 2 or collection.shape[1] != network.input_width:
            raise NetlangError(
                f"the network takes {network.input_width} input values per sample, "
                f"but the Dask array has shape {collection.shape}",
                code="bad-input",
            )
        if len(collection.chunks[1]) != 1:
            collection = collection.rechunk({1: -1})
        return collection.map_blocks(
            _array_block,
            shared,
            numpy_dtype,
            dtype=numpy_dtype,
            chunks=(collection.chunks[0], (width,)),
            meta=np.empty((0, width), dtype=numpy_dtype),
        )
    if hasattr(collection, "map_partitions") and hasattr(collection, "columns"):
        pandas = require("pandas", "dask", "evaluating Dask DataFrames")
        missing = [name for name in network.input_columns if name not in collection.columns]
        if missing:
            raise NetlangError(
                f"the Dask DataFrame has no column for {', '.join(missing[:8])}",
                code="bad-header",
                hint=f"the network's inputs are {', '.join(network.input_columns[:8])}",
            )
        meta = pandas.DataFrame({name: np.array([], dtype=numpy_dtype) for name in network.output_columns})
        return collection.map_partitions(_frame_partition, shared, numpy_dtype, meta=meta)
    raise NetlangError(
        f"evaluate takes a Dask array or DataFrame, not {type(collection).__name__}", code="bad-input"
    )


def _portable(network: Any) -> Any:
    """A copy of ``network`` without its evaluation plans (each worker makes its own)."""
    return network.without_plans()


def _array_block(block: np.ndarray, network: Any, dtype: Any) -> np.ndarray:
    return np.asarray(network(block, dtype=dtype))


def _frame_partition(frame: Any, network: Any, dtype: Any) -> Any:
    pandas = importlib.import_module("pandas")  # typed Any: pandas ships no type information
    values = frame[list(network.input_columns)].to_numpy(dtype=dtype)
    return pandas.DataFrame(network(values, dtype=dtype), columns=list(network.output_columns), index=frame.index)


# -- CSV files on a cluster (netlang run --scheduler) ---------------------------------


class Partition(NamedTuple):
    """Bytes ``start:stop`` of ``path`` (a line belongs to the range its first byte is in)."""

    path: str
    number: int  # in the whole run, in order
    part: int  # in its file
    start: int
    stop: int


def partitions(paths: Sequence[str], size: int = PARTITION_BYTES) -> List[Partition]:
    """Each file cut into ranges of about ``size`` bytes, in file order."""
    result: List[Partition] = []
    for path in paths:
        total = os.path.getsize(path)
        parts = max(1, -(-total // max(1, size)))
        step = -(-total // parts) if total else 0
        for part in range(parts):
            result.append(Partition(path, len(result), part, part * step, min(total, (part + 1) * step)))
    return result


def read_range(stream: IO[bytes], start: int, stop: int) -> bytes:
    """The lines whose first byte lies in ``start:stop``: the range extended to whole lines."""
    if start > 0:
        stream.seek(start - 1)
        stream.readline()  # the rest of a line begun before start (just its "\n" if it ended there)
    else:
        stream.seek(0)
    position = stream.tell()
    if position >= stop and start > 0:
        return b""
    body = stream.read(max(0, stop - position))
    if body and not body.endswith(b"\n"):
        body += stream.readline()  # the last line, through its end
    return body


def lines_started(body: bytes) -> int:
    return body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)


class Header(NamedTuple):
    """What the first lines of a CSV file say: whether it has a header, and the column order."""

    order: Optional[np.ndarray]


def read_header(path: str, network: Any) -> Header:
    """The header of ``path`` (read from its first lines only), or a located error in it."""
    with open(path, "rb") as stream:
        head = []
        for raw in stream:
            head.append(raw)
            text = raw.decode("utf-8", errors="replace").strip()
            if text and not text.startswith("#"):
                break
    source = _csv(b"".join(head), path, network, np.float64, 16, None, header=True)
    for _ in source:
        break
    return Header(source.order)


def _csv(body: bytes, path: str, network: Any, dtype: Any, rows: int, order: Optional[np.ndarray], header: bool) -> Any:
    from .data import CsvSource

    # Bytes, decoded by CsvSource as a local run's file is: the same located errors for bad UTF-8.
    source = CsvSource(io.BytesIO(body), path, network.input_columns, dtype, rows, header=header)
    if not header:
        source.order = order
    return source


# What a task returns: ("ok", results or rows written, lines) or ("error", error records, lines).
Outcome = Tuple[str, Any, int]


def _records(error: NetlangError) -> List[Tuple[Any, ...]]:
    """``error`` (every error it holds) as plain tuples: exceptions do not pickle their fields."""
    return [
        (e.message, (e.line, e.column, e.end_line, e.end_column), e.filename, e.hint, e.code, e.line_text)
        for e in error.errors
    ]


def _rebuild(records: Sequence[Tuple[Any, ...]], offset: int) -> NetlangError:
    errors = []
    for message, span, filename, hint, code, line_text in records:
        line, column, end_line, end_column = span
        moved = Span(line + offset, column, end_line + offset, end_column) if line else None
        errors.append(NetlangError(message, moved, filename=filename, hint=hint, code=code, line_text=line_text))
    return combine(errors)


def evaluate_range(
    network: Any,
    partition: Partition,
    order: Optional[np.ndarray],
    dtype: Any,
    output: Optional[str] = None,
    kind: str = "csv",
) -> Outcome:
    """One task: the partition's rows through ``network``: its results (``kind`` ``text``: as CSV lines),
    or written to the file ``output`` as ``kind`` (csv, npy, json, parquet)."""
    from .data import csv_text, rows_per_block

    with open(partition.path, "rb") as stream:
        body = read_range(stream, partition.start, partition.stop)
    lines = lines_started(body)
    source = _csv(body, partition.path, network, dtype, rows_per_block(network), order, header=partition.part == 0)
    try:
        blocks = [network(block, dtype=dtype) for block in source]
    except NetlangError as error:
        return ("error", _records(error), lines)
    results = np.concatenate(blocks) if blocks else np.empty((0, network.output_width), dtype=dtype)
    if output is None and kind == "text":
        # CSV formatted here: on the client, writing the text of numbers took as long as parsing them.
        return ("ok", (len(results), csv_text(results)), lines)
    if output is None:
        return ("ok", results, lines)
    _write(output, kind, network, results, dtype)
    return ("ok", len(results), lines)


def _write(path: str, kind: str, network: Any, results: np.ndarray, dtype: Any) -> None:
    """One partition's results to the file ``path``, atomically."""
    from .data import sink_for
    from .files import atomic_write

    with atomic_write(path, binary=kind in ("npy", "parquet")) as stream:
        sink = sink_for(kind, stream, network, dtype)
        sink.write(results)
        sink.close()


def partition_name(pattern: str, index: int, count: int) -> str:
    """``out/part-*.csv`` for partition ``index``: the ``*`` is its number, zero-padded."""
    return pattern.replace("*", str(index).zfill(max(5, len(str(count - 1)))), 1)


class SchedulerError(ValueError):
    """A --scheduler that cannot be reached: the message says why and what would do."""


class Cluster:
    """A connection to a Dask scheduler (``local``: a LocalCluster started here, and closed with this)."""

    def __init__(self, address: str, workers: Optional[int] = None) -> None:
        distributed = _dask("running on a Dask cluster (--scheduler)")
        self.local = None
        if address == "local":
            self.local = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
            address = self.local.scheduler_address
        try:
            self.client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError) as problem:
            if self.local is not None:
                self.local.close()
            raise SchedulerError(
                f"cannot reach a Dask scheduler at '{address}' ({problem}); start one with `dask scheduler` "
                "and workers with `dask worker ADDRESS`, or use --scheduler local"
            ) from None

    def __repr__(self) -> str:
        return f"Cluster({self.client.scheduler.address})"

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run(
    network: Any,
    paths: Sequence[str],
    client: Any,
    sink: Any = None,
    output_pattern: Optional[str] = None,
    kind: str = "csv",
    dtype: Any = np.float64,
    size: Optional[int] = None,
    on_result: Optional[Callable[[int], None]] = None,
) -> int:
    """``paths`` (CSV files) through ``network`` on the cluster of ``client``; the rows evaluated.

    Gathered: each partition's results are written to ``sink`` in order as they come (the
    sink closed at the end). Partitioned (``output_pattern``): each task writes its own file.
    ``on_result(i)`` is called after partition ``i`` is taken in (progress; tests kill a worker
    there). A bad row raises its NetlangError, located as a local run locates it.
    """
    headers = {path: read_header(path, network) for path in paths}
    if size is None:
        # A few partitions per worker thread, so that all are busy to the end and a lost
        # worker costs little, within 1-64 MB each.
        threads = max(1, sum(client.nthreads().values()))
        total = sum(os.path.getsize(path) for path in paths)
        size = max(MIN_PARTITION_BYTES, min(PARTITION_BYTES, total // (4 * threads) + 1))
    parts = partitions(paths, size)
    # What a task returns or writes: its own file (partitioned), else CSV text for a CsvSink, else arrays.
    task_kind = kind if output_pattern is not None else "text" if hasattr(sink, "write_text") else "array"
    # Once, to every worker; a key of its own (hash=False), so that two runs of one network never
    # share (and release) each other's copy.
    shared = client.scatter(_portable(network), broadcast=True, hash=False)
    futures = [
        client.submit(
            evaluate_range,
            shared,
            part,
            headers[part.path].order,
            dtype,
            None if output_pattern is None else partition_name(output_pattern, part.number, len(parts)),
            task_kind,
            pure=False,
            retries=2,
        )
        for part in parts
    ]
    rows = 0
    offsets: Dict[str, int] = {}
    try:
        for part, future in zip(parts, futures):
            status, value, lines = future.result()
            future.release()
            offset = offsets.get(part.path, 0)
            offsets[part.path] = offset + lines
            if status == "error":
                raise _rebuild(value, offset)
            if task_kind == "text":
                count, text = value
                sink.write_text(text)
                rows += count
            elif output_pattern is None:
                sink.write(value)
                rows += len(value)
            else:
                rows += value
            if on_result is not None:
                on_result(part.number)
    finally:
        for future in futures:
            future.cancel()
    if sink is not None:
        sink.close()
    return rows


def run_to(
    network: Any, paths: Sequence[str], client: Any, output: Optional[str], kind: str, dtype: Any = np.float64, size: Optional[int] = None
) -> int:
    """``run`` with the output as ``run --output`` names it: stdout (None or ``-``), a file written
    atomically, or a pattern with ``*`` (one file per partition, written by the workers)."""
    import sys

    from .data import sink_for
    from .files import atomic_write

    if output is None or output == "-":
        return run(network, paths, client, sink_for(kind, sys.stdout, network, dtype), dtype=dtype, size=size)
    if "*" in output:
        return run(network, paths, client, output_pattern=output, kind=kind, dtype=dtype, size=size)
    with atomic_write(output, binary=kind in ("npy", "parquet")) as stream:
        return run(network, paths, client, sink_for(kind, stream, network, dtype), dtype=dtype, size=size)
