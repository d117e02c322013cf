"""Weight files: ``load("w.npy")``, ``load("model.npz", "W1")``, ``load("w.csv")``, read safely.

No pickles are ever loaded; shapes are read from the header and checked against
the limits before any data is read; NaN and infinity are refused.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
import zlib
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Iterator, List, Optional, Tuple

import numpy as np

from . import limits
from .errors import NetlangError


class WeightFileError(Exception):
    """A weight file that cannot be used; the checker locates it at the load(...) call."""

    def __init__(self, message: str, code: str = "bad-weight-file", hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


# The weight files read by the compile in progress, for the compiled-network cache (netlang.cache).
_read_files: ContextVar[Optional[List[Path]]] = ContextVar("netlang_read_weight_files", default=None)


@contextlib.contextmanager
def recording() -> Iterator[List[Path]]:
    """Collect the path of every weight file that load_weights reads inside the ``with`` block."""
    files: List[Path] = []
    token = _read_files.set(files)
    try:
        yield files
    finally:
        _read_files.reset(token)


def load_weights(path: Path, key: Optional[str] = None) -> np.ndarray:
    """A float64 vector or matrix from ``path`` (.npy, .npz with ``key``, or .csv)."""
    files = _read_files.get()
    if files is not None:
        files.append(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise WeightFileError(
            f"cannot load '{name}': weight files are .npy, .npz or .csv",
            code="bad-weight-file",
        )
    if suffix == ".npz" and key is None:
        raise WeightFileError(
            f"'{name}' holds several arrays: name the one to load",
            code="bad-arguments",
            hint=f'load("{name}", "W1") loads the array W1' + _listing(path),
        )
    if suffix != ".npz" and key is not None:
        raise WeightFileError(f"'{name}' holds one array; only .npz files take an array name", code="bad-arguments")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise WeightFileError(
            f"weight file '{path}' does not exist",
            code="file-not-found",
            hint="file names in load(...) are relative to the .net file",
        ) from None
    except OSError as error:
        raise WeightFileError(f"cannot read weight file '{path}': {error.strerror}", code="file-not-found") from None
    if size > limits.MAX_WEIGHT_FILE_BYTES:
        raise WeightFileError(
            f"weight file '{name}' is {size} bytes; the limit is {limits.MAX_WEIGHT_FILE_BYTES}",
            code="limit-exceeded",
        )
    try:
        if suffix == ".npy":
            with open(path, "rb") as stream:
                array = _read_npy(stream, name)
        elif suffix == ".npz":
            array = _read_npz_member(path, key)  # type: ignore[arg-type]
        else:
            array = _read_csv(path)
    except WeightFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as error:
        # zlib.error: a corrupt compressed member; NotImplementedError: an unknown compression
        # method; RuntimeError: an encrypted member.
        raise WeightFileError(f"cannot read weight file '{name}': {error}", code="bad-weight-file") from None
    if array.ndim not in (1, 2) or array.size == 0:
        raise WeightFileError(
            f"'{name}'{_member(key)} has shape {array.shape}; weights must be a non-empty vector or matrix",
            code="bad-shape",
        )
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        where = ", ".join(str(i) for i in bad)
        raise WeightFileError(
            f"'{name}'{_member(key)} contains {array[tuple(bad)]} at [{where}]; weights must be finite numbers",
            code="non-finite-weight",
        )
    return array


def _member(key: Optional[str]) -> str:
    return f" (array '{key}')" if key else ""


def _listing(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile):
        return ""
    return f"; it holds {', '.join(names)}" if names else ""


# How a pickle starts (protocol 2 and later): a .npy file name does not make a file an array.
_PICKLE_START = b"\x80"


def read_npy_header(stream: IO[bytes], name: str) -> Tuple[Tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from a .npy header, refusing pickles and anything but numbers."""
    start = stream.read(len(np.lib.format.MAGIC_PREFIX))
    if start.startswith(_PICKLE_START):
        raise WeightFileError(
            f"'{name}' is a Python pickle, not a .npy array; netlang never loads pickles",
            code="pickle-refused",
            hint="save plain numbers: numpy.save(path, array.astype(float))",
        )
    if start != np.lib.format.MAGIC_PREFIX:
        raise WeightFileError(
            f"'{name}' is not a .npy file (it does not start with the .npy signature)",
            hint="write weight files with numpy.save, or as .csv",
        )
    version = tuple(stream.read(2))
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise WeightFileError(f"'{name}' uses .npy format version {version}, which is not supported")
    try:
        shape, fortran, dtype = readers[version](stream)
    except Exception as error:  # noqa: BLE001 - numpy's header parser raises many kinds on hostile input
        raise WeightFileError(f"'{name}' has a corrupt header ({type(error).__name__}: {error})") from None
    if dtype.hasobject:
        raise WeightFileError(
            f"'{name}' holds Python objects (a pickle); netlang never loads pickles",
            code="pickle-refused",
            hint="save plain numbers: numpy.save(path, array.astype(float))",
        )
    if dtype.kind not in "biuf":
        raise WeightFileError(f"'{name}' holds {dtype} values; weights must be real numbers")
    if any(n < 0 for n in shape):
        raise WeightFileError(f"'{name}' has a corrupt header: its shape {shape} has a negative size")
    return shape, fortran, dtype


def _read_npy(stream: IO[bytes], name: str) -> np.ndarray:
    shape, fortran, dtype = read_npy_header(stream, name)
    count = math.prod(shape)  # Python integers: a crafted shape cannot overflow into a small count
    if count > limits.MAX_MATRIX_ENTRIES:
        raise WeightFileError(
            f"'{name}' has {count} entries (shape {shape}); the limit is {limits.MAX_MATRIX_ENTRIES}",
            code="limit-exceeded",
        )
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise WeightFileError(
            f"'{name}' is truncated: its header promises {count} values of {dtype.itemsize} bytes, "
            f"but only {len(data)} bytes follow",
            code="bad-weight-file",
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.array(array, dtype=np.float64)


def _read_npz_member(path: Path, key: str) -> np.ndarray:
    with zipfile.ZipFile(path) as archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            raise WeightFileError(
                f"'{path.name}' has no array named '{key}'",
                code="bad-arguments",
                hint=_listing(path).lstrip("; ") or None,
            )
        with archive.open(member) as stream:
            return _read_npy(stream, f"{path.name}:{key}")


def _csv_value_bound(path: Path) -> int:
    """At most how many values a CSV file holds (separators + 1), counted without parsing it."""
    separators = 0
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            separators += chunk.count(b",") + chunk.count(b"\n")
    return separators + 1


def _read_csv(path: Path) -> np.ndarray:
    """A CSV of numbers, one matrix row per line (``#`` comments allowed); one row or column is a vector."""
    from .data import CsvSource, split_fields

    bound = _csv_value_bound(path)
    if bound > limits.MAX_MATRIX_ENTRIES:
        raise WeightFileError(
            f"'{path.name}' has up to {bound} values; the limit is {limits.MAX_MATRIX_ENTRIES}",
            code="limit-exceeded",
        )
    with open(path, encoding="utf-8", newline=None) as stream:
        width = 0
        for line in stream:
            if line.strip() and not line.lstrip().startswith("#"):
                width = len(split_fields(line))
                break
        if not width:
            raise WeightFileError(f"'{path.name}' holds no numbers", code="bad-shape")
        stream.seek(0)
        columns = [f"{i + 1}" for i in range(width)]
        source = CsvSource(stream, path.name, columns, rows=max(1, (1 << 16) // width), header=False, expected=f"the first row has {width}")
        try:
            array = np.concatenate(list(source))
        except NetlangError as error:
            # The data reader calls NaN and infinity bad values; in a weight file they are what .npy calls them.
            code = "non-finite-weight" if error.code == "bad-value" and "finite" in error.message else error.code
            raise WeightFileError(f"{error.location}: {error.message}", code=code, hint=error.hint) from None
    return array.reshape(-1) if 1 in array.shape else array
