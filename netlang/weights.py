"""Weight files: ``load("w.npy")``, ``load("model.npz", "W1")``, ``load("w.csv")``, read safely.

No pickles are ever loaded; shapes are read from the header and checked against
the limits before any data is read; NaN and infinity are refused.

A compile reads numpy arrays; ``netlang check`` reads Grids (:mod:`netlang.grids`), without
numpy: .npy data and the mistakes a compile words itself (``files.read_npy_plainly``), NaN and
infinity, and CSV, mistakes included (``csvnumbers.PlainCsvSource``: a compile refuses what it
refuses), each with a compile's message; the few .npy headers it leaves (``npyformat``: written by
Python 2, numpy's comma-separated and subarray type strings, a field's title that is not text) are read again by
numpy's path, so that the result or error is a compile's.
"""

from __future__ import annotations

import math
import os
import zipfile
from array import array as doubles
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

if TYPE_CHECKING:
    import numpy as np
else:  # numpy's arrays are a compile's; a check reads Grids, with numpy only for what they leave to it (netlang.lazynumpy)
    from .lazynumpy import np

from . import limits
from .errors import NetlangError, name_list
from .files import FileError, HashingReader, TooLarge, as_float, inside, open_file, read_npy, read_npy_plainly, zip_member_count
from .grids import NUMPY, Arrays, Grid, all_finite, from_numpy

Array = Union["np.ndarray", Grid]


# A weight file that cannot be used; the checker locates it at the load(...) call.
WeightFileError = FileError


@dataclass(frozen=True)
class WeightRead:
    """One weight file a compile read: its real path and the SHA-256 of the very bytes read."""

    path: str
    sha256: str


class WeightFiles:
    """The weight files of one compile: read relative to ``base_dir`` (the .net file's folder), each once.

    Every file read is listed in ``read`` with the hash of the bytes that were parsed (for the
    compiled-network cache), and every array in ``arrays`` by its ``load(...)`` arguments (for
    the interpreter, which then never reads a file again). Arrays are read-only: one file loaded
    twelve times is one array in memory.
    """

    def __init__(self, base_dir: Optional[Path] = None, kind: Arrays = NUMPY) -> None:
        self.base_dir = base_dir
        self.kind = kind  # numpy's arrays or Grids (netlang.grids)
        self.read: List[WeightRead] = []
        self.arrays: Dict[Tuple[str, Optional[str]], Array] = {}

    def __repr__(self) -> str:
        return f"WeightFiles({str(self.base_dir)!r}, read={len(self.read)})"

    def load(self, name: str, key: Optional[str] = None) -> Array:
        """The array of ``load(name, key)``, read the first time it is asked for."""
        known = self.arrays.get((name, key))
        if known is not None:
            return known
        path = inside(self.base_dir if self.base_dir is not None else Path.cwd(), name)
        array: Array
        if self.kind is NUMPY:
            array, digest = read_weights(path, key)
            array.flags.writeable = False
        else:
            array, digest = read_grid(path, key)
        self.read.append(WeightRead(os.path.realpath(path), digest))
        self.arrays[(name, key)] = array
        return array


def load_weights(path: Path, key: Optional[str] = None) -> np.ndarray:
    """A float64 vector or matrix from ``path`` (.npy, .npz with ``key``, or .csv)."""
    return read_weights(path, key)[0]


class _NeedsNumpy(Exception):
    """A weight file that only numpy's path reads (or reports on) as a compile does."""


def read_grid(path: Path, key: Optional[str] = None) -> Tuple[Grid, str]:
    """What :func:`read_weights` reads, as a Grid: without numpy for plain .npy data (also in a .npz)."""
    try:
        array, digest = _read(path, key, _read_npy_plainly)
        assert isinstance(array, Grid)
        return array, digest
    except _NeedsNumpy:
        array, digest = read_weights(path, key)
        grid = from_numpy(array)
        assert isinstance(grid, Grid)
        return grid, digest


def read_weights(path: Path, key: Optional[str] = None) -> Tuple[np.ndarray, str]:
    """A float64 vector or matrix from ``path`` (.npy, .npz with ``key``, or .csv), and the hash of the file's bytes."""
    array, digest = _read(path, key, _read_npy)
    return array, digest  # type: ignore[return-value]


def _read(path: Path, key: Optional[str], read_npy_: Callable[[Any, str], Array]) -> Tuple[Array, str]:
    name = path.name
    suffix = path.suffix.lower()
    if suffix in (".pkl", ".pickle"):  # what "Deep Learning from Scratch" ships (sample_weight.pkl)
        raise WeightFileError(
            f"cannot load '{name}': it is a Python pickle, and netlang never loads pickles, because loading one "
            "can run any code the file holds",
            code="pickle-refused",
            hint=f"if you trust the file, convert it once yourself, in Python: import pickle, numpy; "
            f'numpy.savez("{path.stem}.npz", **pickle.load(open("{name}", "rb"))), '
            f'then load("{path.stem}.npz", "W1") loads its array W1',
        )
    if suffix not in (".npy", ".npz", ".csv"):
        raise WeightFileError(
            f"cannot load '{name}': weight files are .npy, .npz or .csv",
            code="bad-weight-file",
        )
    if suffix != ".npz" and key is not None:
        raise WeightFileError(f"'{name}' holds one array; only .npz files take an array name", code="bad-arguments")
    stream = open_file(path, "weight file", missing_hint="file names in load(...) are relative to the .net file")
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limits.MAX_WEIGHT_FILE_BYTES:
            raise WeightFileError(
                f"weight file '{name}' is {size} bytes; the limit is {limits.MAX_WEIGHT_FILE_BYTES}",
                code="limit-exceeded",
            )
        try:
            if suffix == ".npz":
                array, digest = _read_npz_member(stream, name, key, read_npy_)
            else:
                reader = HashingReader(stream)
                if suffix == ".npy":
                    array = read_npy_(reader, name)
                else:
                    array = _read_csv_plainly(reader, name) if read_npy_ is _read_npy_plainly else _read_csv(reader, name)
                digest = reader.finish()
        except (WeightFileError, _NeedsNumpy):
            raise
        except zipfile.BadZipFile as error:
            stream.seek(0)
            what = _what_it_is(stream.read(16))
            if what is None:
                raise WeightFileError(f"cannot read weight file '{name}': {error}", code="bad-weight-file") from None
            raise WeightFileError(f"'{name}' is not a .npz archive (a zip of .npy arrays): it is {what}", code="bad-weight-file") from None
        except (OSError, ValueError, EOFError, zlib.error, NotImplementedError, RuntimeError) as error:
            # zlib.error: a corrupt compressed member; NotImplementedError: an unknown compression
            # method; RuntimeError: an encrypted member.
            raise WeightFileError(f"cannot read weight file '{name}': {error}", code="bad-weight-file") from None
    if array.ndim not in (1, 2) or array.size == 0:
        raise WeightFileError(
            f"'{name}'{_member(key)} has shape {array.shape}; weights must be a non-empty vector or matrix",
            code="bad-shape",
        )
    if isinstance(array, Grid):
        if not all_finite(array):
            # The first in C order, as numpy's argwhere finds it; str(float) is numpy's 'nan', 'inf', '-inf'.
            at = next(i for i, value in enumerate(array.data) if not math.isfinite(value))
            raise _non_finite(name, key, array.data[at], divmod(at, array.shape[1]) if array.ndim == 2 else (at,))
        return array, digest
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise _non_finite(name, key, array[tuple(bad)], bad)
    return array, digest


def _non_finite(name: str, key: Optional[str], value: Any, index: Any) -> "WeightFileError":
    """The error for the first value of a weight file that is NaN or infinite, at ``index``."""
    where = ", ".join(map(str, index))
    return WeightFileError(f"'{name}'{_member(key)} contains {value} at [{where}]; weights must be finite numbers", code="non-finite-weight")


def _what_it_is(start: bytes) -> Optional[str]:
    """What a file that should have been a zip archive is, from its first bytes (None: unknown)."""
    if start.startswith(b"\x93NUMPY"):  # numpy.lib.format.MAGIC_PREFIX
        return "a .npy file holding one array: name it .npy and load it without an array name"
    if start.startswith(b"\x80"):
        return "a Python pickle, which netlang never loads"
    if start.startswith(b"PK"):
        return "a damaged or truncated zip archive"
    if not start:
        return "empty"
    try:
        text = start.decode("ascii")
    except UnicodeDecodeError:
        return "binary data that no weight format netlang reads starts with"
    if text.isprintable() or text.strip().isprintable():
        return "text (a .csv file of numbers is loaded as load(\"NAME.csv\"))"
    return None


def _member(key: Optional[str]) -> str:
    return f" (array '{key}')" if key else ""


def _listing(archive: zipfile.ZipFile) -> str:
    names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    return f"; it holds {name_list(names, count='in all')}" if names else ""


def _read_npy_plainly(stream: Any, name: str) -> Grid:
    try:
        read = read_npy_plainly(stream, limits.MAX_MATRIX_ENTRIES, name)
    except TooLarge as large:
        raise _too_large(name, large) from None
    if read is None:
        raise _NeedsNumpy()
    shape, values = read
    return Grid(shape, values)


def _read_npy(stream: Any, name: str) -> np.ndarray:
    array = read_npy(stream, name, limits.MAX_MATRIX_ENTRIES)
    try:
        # In C order, as a Grid holds it (a Fortran-order file too): a product's rounding may
        # depend on its operands' layout, and a check must find what a compile finds.
        converted = as_float(array, np.dtype(np.float64))
        return converted if converted.flags.c_contiguous else converted.copy(order="C")
    except TooLarge as large:
        raise _too_large(name, large) from None


def _too_large(name: str, large: TooLarge) -> WeightFileError:
    """The error for a value of a long-double file too large for float64 (it would be infinity)."""
    return WeightFileError(
        f"'{name}' holds {large.value} at {list(large.where)}, too large for float64; "
        f"weights must lie within about {large.limit}",
        code="number-out-of-range",
    )


def _read_npz_member(stream: IO[bytes], name: str, key: Optional[str], read_npy_: Callable[[Any, str], Array]) -> Tuple[Array, str]:
    """The array ``key`` of the .npz file open as ``stream``, and the hash of the whole file.

    A zip file is read out of order, so it is hashed in one pass first; the system's change
    time of the open file, taken before that pass and after the member is read, shows whether
    anything was written in between (the kernel sets it on every write; no user can).
    """
    before = os.fstat(stream.fileno())
    digest = HashingReader(stream).finish()
    members = zip_member_count(stream)
    if members is not None and members > limits.MAX_NPZ_MEMBERS:
        raise WeightFileError(f"'{name}' lists {members} arrays; the limit is {limits.MAX_NPZ_MEMBERS}", code="limit-exceeded")
    with zipfile.ZipFile(stream) as archive:
        if key is None:
            raise WeightFileError(
                f"'{name}' holds several arrays: name the one to load",
                code="bad-arguments",
                hint=f'load("{name}", "W1") loads the array W1' + _listing(archive),
            )
        member = f"{key}.npy"
        if member not in archive.namelist():
            raise WeightFileError(
                f"'{name}' has no array named '{key}'",
                code="bad-arguments",
                hint=_listing(archive).lstrip("; ") or None,
            )
        with archive.open(member) as member_stream:
            array = read_npy_(member_stream, f"{name}:{key}")
    after = os.fstat(stream.fileno())
    if (before.st_size, before.st_mtime_ns, before.st_ctime_ns) != (after.st_size, after.st_mtime_ns, after.st_ctime_ns):
        raise WeightFileError(f"'{name}' changed while it was being read", hint="run the command again once it is written")
    return array, digest


def _weight_file_error(error: NetlangError) -> WeightFileError:
    """A CSV reader's error as a weight file's: NaN and infinity are what .npy calls them."""
    code = "non-finite-weight" if error.code == "non-finite-value" else error.code
    message = error.message if error.code == "limit-exceeded" else f"{error.location}: {error.message}"
    return WeightFileError(message, code=code, hint=error.hint)


def _read_csv_plainly(reader: Any, name: str) -> Grid:
    """What :func:`_read_csv` reads, as a Grid, or its error, without numpy (both read every line
    by numerals.py's definition, and word a mistake alike: the tests compare them)."""
    from .csvnumbers import PlainCsvSource

    try:
        rows = [row for block in PlainCsvSource(reader, name, limits.MAX_MATRIX_ENTRIES) for row in block]
    except NetlangError as error:
        raise _weight_file_error(error) from None
    if not rows:
        raise WeightFileError(f"'{name}' holds no numbers", code="bad-shape")
    shape = (len(rows), len(rows[0]))
    values = doubles("d", [value for row in rows for value in row])
    return Grid((shape[0] * shape[1],) if 1 in shape else shape, values)


def _read_csv(reader: Any, name: str) -> np.ndarray:
    """A CSV of numbers, one matrix row per line (``#`` comments allowed); one row or column is a vector.

    Read as it streams (the hash sees the same bytes), refused as soon as its separators
    pass ``MAX_MATRIX_ENTRIES`` values, CR-only line ends included.
    """
    from .csvnumbers import CsvSource  # with numpy, which a check without weight files does without

    source = CsvSource(reader, name, None, header=False, max_values=limits.MAX_MATRIX_ENTRIES)
    try:
        blocks = list(source)
    except NetlangError as error:
        raise _weight_file_error(error) from None
    if not blocks:
        raise WeightFileError(f"'{name}' holds no numbers", code="bad-shape")
    array = np.concatenate(blocks)
    return array.reshape(-1) if 1 in array.shape else array
