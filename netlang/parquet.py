"""Parquet data for ``run --input`` and ``--output`` (pyarrow; optional extra ``parquet``).

``ParquetSource`` reads a file's row groups in blocks of rows, only the network's input
columns (named as in a CSV header: ``x1``, ``x[0]``; other columns are left unread), so
memory stays bounded as for CSV. ``ParquetSink`` writes one row group per block of
results, one float column per output element. They sit beside data.py's CSV and .npy
sources and sinks and behave the same: errors name the file, the row and the column.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import IO, Any, Iterator, List, Optional, Sequence

import numpy as np

from .errors import NetlangError, combine, did_you_mean

SUFFIXES = (".parquet", ".pq")


def _pyarrow(filename: Optional[str] = None) -> Any:
    """pyarrow (its ``parquet`` and ``compute`` modules loaded), or a missing-extra error naming ``parquet``.

    Imported by name, typed Any: pyarrow ships no type information for mypy.
    """
    from .extras import require

    require("pyarrow.parquet", "parquet", "reading and writing Parquet files", filename)
    importlib.import_module("pyarrow.compute")
    return importlib.import_module("pyarrow")


def _error(message: str, filename: str, code: str = "bad-value", hint: Optional[str] = None) -> NetlangError:
    return NetlangError(message, filename=filename, code=code, hint=hint)


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


class ParquetSource:
    """Rows of a Parquet file's input columns, in blocks of ``rows`` (``position``/``total`` count rows)."""

    def __init__(
        self, stream: IO[bytes], filename: str, columns: Sequence[str], dtype: Any = np.float64, rows: int = 4096
    ) -> None:
        pa = self.pa = _pyarrow(filename)
        self.stream, self.filename, self.columns = stream, filename, tuple(columns)
        self.dtype, self.rows, self.position = np.dtype(dtype), rows, 0
        try:
            self.file = pa.parquet.ParquetFile(stream)
        except (pa.ArrowException, OSError, ValueError) as problem:
            stream.close()
            raise _error(f"cannot read '{filename}' as a Parquet file: {problem}", filename, code="bad-data") from None
        self.total = self.file.metadata.num_rows
        schema = self.file.schema_arrow
        errors: List[NetlangError] = []
        for name in self.columns:
            if schema.get_field_index(name) < 0:
                hint = did_you_mean(name, schema.names) or f"its columns are {_names(schema.names)}"
                errors.append(_error(f"'{filename}' has no column '{name}'; the network's inputs are {_names(self.columns)}", filename, "bad-header", hint))
                continue
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
                errors.append(_error(f"column '{name}' of '{filename}' holds {kind} values, not numbers", filename))
        if errors:
            stream.close()
            raise combine(errors)

    def __repr__(self) -> str:
        return f"ParquetSource({self.filename!r}, rows={self.total}, columns={len(self.columns)})"

    def close(self) -> None:
        self.stream.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        pc = self.pa.compute
        first = 0
        for batch in self.file.iter_batches(batch_size=self.rows, columns=list(self.columns)):
            block = np.empty((batch.num_rows, len(self.columns)), dtype=self.dtype)
            for j, name in enumerate(self.columns):
                column = batch.column(name)
                if column.null_count:
                    row = first + pc.index(pc.is_null(column), True).as_py()
                    raise _error(f"row {row + 1} of '{self.filename}', column {name}, is empty (null); inputs must be numbers", self.filename)
                block[:, j] = column.to_numpy(zero_copy_only=False)
            bad = ~np.isfinite(block)
            if bad.any():
                row, j = np.argwhere(bad)[0]
                raise _error(
                    f"row {first + row + 1} of '{self.filename}', column {self.columns[j]}, is {block[row, j]}; "
                    f"inputs must be finite {self.dtype.name} numbers",
                    self.filename,
                )
            first += batch.num_rows
            self.position = first
            yield block


class ParquetSink:
    """Results as a Parquet file: one float column per output element (``y``, ``h[0]``), a row group per block."""

    def __init__(self, stream: IO[bytes], columns: Sequence[str], dtype: Any = np.float64) -> None:
        pa = self.pa = _pyarrow()
        self.stream = stream
        kind = pa.float32() if np.dtype(dtype) == np.float32 else pa.float64()
        self.schema = pa.schema([(name, kind) for name in columns])
        self.dtype = np.dtype(dtype)
        self.writer = pa.parquet.ParquetWriter(stream, self.schema)  # closing it writes the footer, not closing the stream

    def __repr__(self) -> str:
        return f"ParquetSink(columns={len(self.schema)})"

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=self.dtype)
        arrays = [self.pa.array(block[:, j]) for j in range(block.shape[1])]
        self.writer.write_batch(self.pa.record_batch(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()

    def __del__(self) -> None:
        # A failed run closes (and removes) the file without close(): the writer must not try
        # to write its footer into the closed file when it is collected.
        writer = getattr(self, "writer", None)
        if writer is not None and getattr(self.stream, "closed", False):
            writer.is_open = False


def column_names(path: Path, name: str) -> List[str]:
    """The names of the columns of the Parquet file ``path`` (shown as ``name``), from its footer."""
    pa = _pyarrow(name)
    try:
        with open(path, "rb") as stream:
            return list(pa.parquet.ParquetFile(stream).schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as problem:
        raise _error(f"cannot read '{name}' as a Parquet file: {problem}", name, code="bad-data") from None


def open_parquet(path: Path, name: str, columns: Sequence[str], dtype: Any, rows: int) -> ParquetSource:
    """A ParquetSource for the file ``path`` (shown as ``name``)."""
    return ParquetSource(open(path, "rb"), name, columns, dtype, rows)
