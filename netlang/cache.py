"""The compiled-network cache: networks kept on disk, as Python keeps .pyc files, so an unchanged file skips the parser.

An entry is one ``.npz`` file (never a pickle: read with ``allow_pickle=False``) holding the
layers' arrays and a JSON description. Its name is a hash of the cache format, the netlang
version, the directory of the .net file (``load(...)`` paths are relative to it) and the
source bytes that were compiled; inside, it lists every weight file the compile read with the
hash of the bytes it read, and an entry is used only if those files still hold them. Entries
are written atomically (``files.atomic_write``). An entry that cannot be read, describes a
network of inconsistent shapes, or belongs to another key is ignored and rebuilt: the cache
is never trusted blindly. The directory is used only if it belongs to the user and no one
else may write to it (it is made with mode 0700); an entry only if it is a regular file of the
user's, of bounded size, whose arrays' headers and unpacked sizes are checked before they are
read. Only networks that compiled without error are stored.

Where: ``$NETLANG_CACHE_DIR``, else ``$XDG_CACHE_HOME/netlang``, else ``~/.cache/netlang``.
``NETLANG_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .activations import ACTIVATIONS
from .files import FileError, atomic_write, file_hash, open_file, read_bytes, read_npy, zip_member_count
from .runtime import CompiledLayer, Network, Segment, SignalTable

if TYPE_CHECKING:  # pragma: no cover - weights imports zipfile, which the launcher's fast path does without
    from .weights import WeightRead

# Bump when the layout of an entry changes: old entries then simply stop matching.
FORMAT = 1
# Networks whose arrays are larger than this are not cached (writing them would cost more than it saves).
_MAX_ENTRY_BYTES = 256 << 20


def enabled() -> bool:
    return os.environ.get("NETLANG_NO_CACHE", "") not in ("1", "true", "yes")


def directory() -> Path:
    """The cache directory (it may not exist yet)."""
    override = os.environ.get("NETLANG_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base and os.path.isabs(base) else Path.home() / ".cache") / "netlang"


def key(path: Union[str, Path]) -> Optional[str]:
    """The cache key of the .net file at ``path`` as it is now, or None when the cache is off or the file unreadable."""
    if not enabled():
        return None
    from . import limits

    try:
        with open_file(path) as stream:
            source = read_bytes(stream, limits.MAX_SOURCE_BYTES)
    except (FileError, OSError):
        return None
    if len(source) > limits.MAX_SOURCE_BYTES:
        return None  # too large to compile: the compiler reports it
    return key_of(source, os.fspath(path))


def key_of(source: bytes, filename: str) -> Optional[str]:
    """The cache key of the source bytes ``source`` read from ``filename``, or None when the cache is off.

    It covers the cache format, netlang's version, the file's folder (``load(...)`` reads
    from it) and the bytes themselves: an entry serves only the very text it was compiled from.
    """
    if not enabled():
        return None
    from . import __version__

    digest = hashlib.sha256()
    base = os.path.abspath(os.path.dirname(filename))
    for part in (f"netlang-cache {FORMAT} {__version__}".encode(), os.fsencode(base), source):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _trusted(path: Path) -> bool:
    """Whether ``path`` (the cache directory) is a directory of this user that no one else may write to.

    As ssh does for its keys: anyone who could write an entry could make ``netlang run`` print
    another network's results, so a directory others may write to is not used at all.
    """
    try:
        status = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & 0o022


def _usable_directory(create: bool) -> Optional[Path]:
    """The cache directory if it can be trusted (made, private, if ``create`` and it is missing), else None."""
    path = directory()
    if create and not os.path.lexists(path):
        try:
            path.mkdir(parents=True, mode=0o700)
        except OSError:
            return None
    return path if _trusted(path) else None


# --- reading -------------------------------------------------------------------------


class _Invalid(Exception):
    """An entry that does not describe a consistent network."""


# An entry is at most _MAX_ENTRY_BYTES of arrays and a JSON description; anything larger,
# in the file or unpacked, was not written by netlang.
_MAX_ENTRY_FILE_BYTES = _MAX_ENTRY_BYTES + (64 << 20)
_MAX_ENTRY_ARRAYS = 4 * 10_000 + 1


def _read_arrays(entry_key: str) -> Dict[str, np.ndarray]:
    """The arrays of an entry file, each header checked and every size bounded before it is read.

    The file must be a regular file of this user (a FIFO would block, /dev/zero never end) in a
    trusted directory, of bounded size, listing a bounded number of members whose unpacked
    sizes (as the archive states them, which zipfile holds each member to) are bounded too.
    """
    import zipfile

    folder = _usable_directory(create=False)
    if folder is None:
        raise _Invalid()
    path = folder / f"{entry_key}.npz"
    _need(stat.S_ISREG(os.lstat(path).st_mode))  # not a link: an entry is netlang's own file
    with open_file(path) as stream:
        status = os.fstat(stream.fileno())
        _need(status.st_uid == os.getuid() and status.st_size <= _MAX_ENTRY_FILE_BYTES)
        members = zip_member_count(stream)
        _need(members is not None and members <= _MAX_ENTRY_ARRAYS)
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            _need(sum(info.file_size for info in infos) <= _MAX_ENTRY_FILE_BYTES)
            arrays = {}
            for info in infos:
                _need(info.filename.endswith(".npy"))
                with archive.open(info) as member:
                    array = read_npy(member, info.filename, info.file_size)
                    arrays[info.filename[:-4]] = array
    return arrays


def read(entry_key: str) -> Optional[Network]:
    """The network stored under ``entry_key``, or None if there is none, it is stale, or it is invalid."""
    try:
        arrays = _read_arrays(entry_key)
    except Exception:  # a missing, truncated, foreign or hostile file: a miss, never an error
        return None
    try:
        meta = json.loads(bytes(arrays.pop("meta")).decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("key") != entry_key or meta.get("format") != FORMAT:
            return None
        for dependency, digest in meta["weights"]:
            if file_hash(dependency) != digest:
                return None
        return _network(meta, arrays)
    except (_Invalid, KeyError, TypeError, ValueError, IndexError):
        return None


def _need(condition: Any) -> None:
    if not bool(condition):
        raise _Invalid()


def _array(arrays: Dict[str, np.ndarray], name: str, ndim: int, kind: str) -> np.ndarray:
    array = arrays[name]
    _need(array.ndim == ndim and array.dtype.kind == kind and (kind != "f" or array.dtype == np.float64))
    return array


def _network(meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Network:
    names, sizes = meta["signals"]
    _need(isinstance(names, list) and isinstance(sizes, list) and len(names) == len(sizes))
    _need(all(isinstance(n, str) for n in names) and len(set(names)) == len(names))
    _need(all(s is None or (isinstance(s, int) and s > 0) for s in sizes))
    signals = SignalTable(names, sizes)
    inputs = [(name, size) for name, size in meta["inputs"]]
    _need([list(pair) for pair in inputs] == [[n, s] for n, s in zip(names, sizes)][: len(inputs)])
    outputs = meta["outputs"]
    _need(isinstance(outputs, list) and all(name in signals.index for name in outputs))
    input_width = sum(1 if size is None else size for _, size in inputs)
    layers: List[CompiledLayer] = []
    next_row = input_width
    for index, description in enumerate(meta["layers"]):
        row_start, segments, sparse = description["row_start"], description["segments"], description["sparse"]
        _need(row_start == next_row)
        bias = _array(arrays, f"b{index}", 1, "f")
        rows = len(bias)
        _need(rows > 0 and row_start + rows <= signals.total)
        columns = _array(arrays, f"c{index}", 1, "i").astype(np.int64)
        _need(np.all(columns >= 0) and np.all(columns < row_start) and np.all(np.diff(columns) > 0))
        parsed_segments = []
        position = 0
        for start, stop, activation in segments:
            _need(start == position and stop > start and activation in ACTIVATIONS)
            parsed_segments.append(Segment(int(start), int(stop), str(activation)))
            position = stop
        _need(position == rows)
        if sparse:
            coo_rows = _array(arrays, f"r{index}", 1, "i").astype(np.int64)
            coo_cols = _array(arrays, f"l{index}", 1, "i").astype(np.int64)
            values = _array(arrays, f"v{index}", 1, "f")
            _need(len(coo_rows) == len(coo_cols) == len(values))
            _need(np.all((coo_rows >= 0) & (coo_rows < rows)) and np.all((coo_cols >= 0) & (coo_cols < len(columns))))
            _need(np.all(np.diff(coo_rows) >= 0))
            layer = CompiledLayer(index, row_start, bias, parsed_segments, columns, signals, coo=(coo_rows, coo_cols, values))
        else:
            weights = _array(arrays, f"w{index}", 2, "f")
            _need(weights.shape == (rows, len(columns)))
            layer = CompiledLayer(index, row_start, bias, parsed_segments, columns, signals, dense=weights)
        layers.append(layer)
        next_row = row_start + rows
    _need(next_row == signals.total)
    return Network(inputs, outputs, layers, signals)


# --- writing -------------------------------------------------------------------------


def write(entry_key: str, network: Network, weight_files: Sequence[WeightRead]) -> None:
    """Store ``network`` under ``entry_key``; quietly does nothing if the cache cannot be written.

    ``weight_files``: the files the compile read, with the hash of the bytes it read (not
    of the files as they are now: one changed since would otherwise pair old weights with
    its new contents).
    """
    arrays: Dict[str, np.ndarray] = {}
    layers = []
    for index, layer in enumerate(network.layers):
        arrays[f"b{index}"] = layer.bias
        arrays[f"c{index}"] = layer.column_positions
        if layer.is_sparse:
            rows, cols, values = layer.coo  # type: ignore[misc]
            arrays[f"r{index}"], arrays[f"l{index}"], arrays[f"v{index}"] = rows, cols, values
        else:
            arrays[f"w{index}"] = layer.weights
        layers.append(
            {
                "row_start": layer.row_start,
                "segments": [[s.start, s.stop, s.activation] for s in layer.segments],
                "sparse": layer.is_sparse,
            }
        )
    if sum(array.nbytes for array in arrays.values()) > _MAX_ENTRY_BYTES:
        return
    dependencies = sorted({(read.path, read.sha256) for read in weight_files})
    signals = network._signals
    meta = {
        "format": FORMAT,
        "key": entry_key,
        "weights": dependencies,
        "signals": [signals.names, signals.sizes],
        "inputs": [list(pair) for pair in network.inputs],
        "outputs": list(network.output_names),
        "layers": layers,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    folder = _usable_directory(create=True)
    if folder is None:
        return
    target = folder / f"{entry_key}.npz"
    try:
        if os.path.lexists(target) and not stat.S_ISREG(os.lstat(target).st_mode):
            return  # a link, a FIFO: not netlang's (writing through it could block or reach another file)
        # Not durable: a lost entry is only a miss, and syncing would slow every first run.
        with atomic_write(target, durable=False) as stream:
            np.savez(stream, **arrays)  # type: ignore[arg-type]  # (numpy types the keywords as allow_pickle)
    except OSError:
        pass
