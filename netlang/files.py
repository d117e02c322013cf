"""Files, read and written safely: the one place netlang opens a file a user or a .net file named.

Reading: a name with a NUL byte is refused before the system sees it; only regular files
are opened (a FIFO would block in ``open``, ``/dev/zero`` never ends, a directory is not
data), checked with ``stat`` before opening and again on the open descriptor, which is
opened non-blocking so that a file swapped for a FIFO in between cannot hang; reads are
bounded; ``inside`` applies the folder rule of ``load(...)`` to the real path, links
resolved; ``decode`` turns bytes into text or a located ``bad-encoding`` error;
``read_npy_header`` checks a ``.npy`` header (its length first) before any data is read.

Writing: ``atomic_write`` is the only way netlang writes a file: a temporary file beside
the target, renamed over it once complete, so an interrupted or failed write leaves the old
file (or none) and never half a new one. A link is kept (its target is written), and the
file gets the mode a plain ``open(path, "w")`` would give: an existing file's own, else
``0o666`` less the umask.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import os
import stat
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator, Optional, Tuple, Union

if TYPE_CHECKING:
    from array import array

from . import limits
from .errors import NetlangError
from .nodes import Span

PathLike = Union[str, "os.PathLike[str]"]


class FileError(Exception):
    """A file that cannot be read or written: ``message``, ``code``, ``hint``, without a place.

    The caller knows where the file was named (a ``load(...)`` call, ``--input``, the command
    line) and turns it into a located :class:`NetlangError` there (``located``).
    """

    def __init__(self, message: str, code: str = "bad-weight-file", hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint

    def __repr__(self) -> str:
        return f"FileError({self.code!r}, {self.message!r})"

    def located(self, filename: Optional[str], span: Optional[Span] = None, source: Optional[str] = None) -> NetlangError:
        return NetlangError(self.message, span, filename=filename, code=self.code, hint=self.hint, source=source)


# -- names ------------------------------------------------------------------------------


def check_name(name: str, what: str = "file") -> None:
    """Refuse a file name the system cannot take (a NUL byte ends a C string: ``open`` raises ValueError)."""
    if "\x00" in name:
        shown = name.replace("\x00", "\\0")
        raise FileError(f"the {what} name '{shown}' contains a NUL byte", code="bad-file-name", hint="file names cannot contain NUL (\\0) characters")


def inside(base: Path, name: str) -> Path:
    """``base / name``, refused unless its real path (links resolved) is inside ``base``'s real path.

    A link in the folder that points elsewhere (``passwd.csv -> /etc/passwd``) would let a
    .net file read, and quote in its errors, any file of the user who runs it.
    """
    check_name(name, "weight file")
    path = base / name
    real_base = os.path.realpath(base)
    real = os.path.realpath(path)
    if os.path.commonpath([real_base, real]) != real_base:
        raise FileError(
            f"'{name}' is a link to '{real}', outside the .net file's folder; load reads files in that folder or below it",
            code="path-outside",
            hint="copy the file beside the .net file (a link that leads outside the folder is not followed)",
        )
    return path


# -- reading ----------------------------------------------------------------------------

# What a file must be to be read. A pipe is the user's choice when they name one on the command
# line (``netlang run <(...)``, ``/dev/stdin``), and reads from it are bounded; a character
# device (/dev/zero, a terminal) only for the .net source, read with the same bound.
REGULAR = "regular"
STREAM = "stream"  # also pipes and character devices


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _allowed(mode: int, kinds: str) -> bool:
    if stat.S_ISREG(mode):
        return True
    return kinds == STREAM and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode))


def open_file(
    path: PathLike, what: str = "file", kinds: str = REGULAR, missing_hint: Optional[str] = None, expected: Optional[str] = None
) -> IO[bytes]:
    """``path`` opened for reading in binary, if it is a file of ``kinds``; else a FileError.

    ``what`` names the file in messages ("weight file", "data file"); ``expected`` what it
    should have been ("a .net file"; by default, a ``what``).
    """
    name = os.fspath(path)
    check_name(name, what)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise FileError(f"{what} '{name}' does not exist", code="file-not-found", hint=missing_hint) from None
    except OSError as error:
        raise FileError(f"cannot read {what} '{name}': {error.strerror}", code="file-not-found") from None
    if not _allowed(mode, kinds):
        raise FileError(f"'{name}' is {_describe(mode)}, not {expected or 'a ' + what}", code="file-not-found")
    # Opened non-blocking, so that no open can hang: a FIFO swapped in after the stat, or a named
    # FIFO that no program writes to (it then reads as empty). Reads block again afterwards, so a
    # pipe with a writer (``<(...)``) is read as it arrives.
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(name, flags)
    except OSError as error:
        raise FileError(f"cannot read {what} '{name}': {error.strerror}", code="file-not-found") from None
    try:
        opened = os.fstat(descriptor).st_mode
        if not _allowed(opened, kinds):
            raise FileError(f"'{name}' is {_describe(opened)}, not {expected or 'a ' + what}", code="file-not-found")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_bytes(stream: IO[bytes], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``stream``: one more than allowed tells the caller it is too large."""
    parts = []
    remaining = limit + 1
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 24))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class HashingReader:
    """A binary stream read front to back, hashing every byte that passes, so the hash is of what was read.

    The compiled-network cache stores this hash: a file changed while (or after) it was read
    then no longer matches, however the change was timed.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.count = 0

    def __repr__(self) -> str:
        return f"HashingReader({getattr(self.stream, 'name', '?')!r}, read={self.count})"

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.stream.readline(size)
        self.digest.update(data)
        self.count += len(data)
        return data

    def finish(self) -> str:
        """The hash of the whole file: the rest is read (and hashed) first."""
        for block in iter(lambda: self.stream.read(1 << 20), b""):
            self.digest.update(block)
            self.count += len(block)
        return self.digest.hexdigest()


def file_hash(path: PathLike) -> Optional[str]:
    """The SHA-256 of a regular file's contents, or None when it is not one or cannot be read."""
    try:
        with open_file(path) as stream:
            return HashingReader(stream).finish()
    except (FileError, OSError):
        return None


def decode(data: bytes, name: str) -> str:
    """UTF-8 ``data`` as text (a byte-order mark dropped), or a ``bad-encoding`` error at the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise encoding_error(data, error.start, name, data.decode("utf-8", errors="replace")) from None


def encoding_error(data: bytes, start: int, name: str, source: Optional[str] = None, first_line: int = 1) -> NetlangError:
    """The error for the undecodable byte at ``data[start]``, at its line and column."""
    before = data[:start]
    line = before.count(b"\n") + first_line
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    line_text = None
    if source is None:
        end = data.find(b"\n", start)
        line_text = data[line_start : end if end >= 0 else len(data)].decode("utf-8", errors="replace")
    return NetlangError(
        f"the file is not valid UTF-8 text (byte 0x{data[start]:02x} cannot be decoded)",
        Span(line, column, line, column + 1),
        filename=name,
        code="bad-encoding",
        source=source,
        line_text=line_text,
        hint="save the file as UTF-8",
    )


# -- .npy headers -----------------------------------------------------------------------

# How a pickle starts (protocol 2 and later): a .npy file name does not make a file an array.
_PICKLE_START = b"\x80"
_PICKLE_HINT = (
    "netlang never loads pickles: loading one can run any code the file holds. If you trust the file, "
    "convert it once yourself, in Python: numpy.save(\"w.npy\", pickle.load(f)) for one array, "
    "numpy.savez(\"w.npz\", **pickle.load(f)) for a dict of arrays"
)


# What a .npy file holds when it does not hold real numbers, in words.
_KINDS = {"c": "complex numbers", "U": "text", "S": "bytes", "V": "records", "M": "dates", "m": "time spans"}


def read_npy_header(stream: Any, name: str, holds: str = "weights") -> Tuple[Tuple[int, ...], bool, Any]:
    """(shape, fortran order, dtype) from a .npy header, refusing pickles and anything but numbers.

    ``holds`` names what the file is for in messages ("weights", "data values").
    """
    import io

    import numpy as np

    magic = np.lib.format.MAGIC_PREFIX
    start = stream.read(len(magic))
    if start.startswith(_PICKLE_START):
        raise FileError(
            f"'{name}' is a Python pickle, not a .npy array; netlang never loads pickles", code="pickle-refused", hint=_PICKLE_HINT
        )
    if start != magic:
        raise FileError(
            f"'{name}' is not a .npy file (it does not start with the .npy signature)",
            hint="write weight files with numpy.save, or as .csv",
        )
    version = tuple(stream.read(2))
    readers = {(1, 0): (2, np.lib.format.read_array_header_1_0), (2, 0): (4, np.lib.format.read_array_header_2_0)}
    if version not in readers:
        raise FileError(f"'{name}' uses .npy format version {version}, which is not supported")
    length_bytes, reader = readers[version]
    raw_length = stream.read(length_bytes)
    if len(raw_length) != length_bytes:
        raise FileError(f"'{name}' has a corrupt header (it ends inside the header)")
    length = int.from_bytes(raw_length, "little")
    if length > limits.MAX_NPY_HEADER_BYTES:
        raise FileError(f"'{name}' has a corrupt header: it claims {length} bytes of header; the limit is {limits.MAX_NPY_HEADER_BYTES}")
    header = stream.read(length)
    if len(header) != length:
        raise FileError(f"'{name}' has a corrupt header (it ends inside the header)")
    try:
        # numpy's parser, on the header alone: its length is known to be within the bound, so
        # numpy's advice for long headers (allow_pickle=True) can never be passed on. Its
        # warnings (a header written by Python 2, the deprecated type 'a') are numpy's advice
        # to a numpy user: a check, which reads these headers without numpy, says nothing
        # either, so one file gives one output both ways.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shape, fortran, dtype = reader(io.BytesIO(raw_length + header), max_header_size=limits.MAX_NPY_HEADER_BYTES)
    except Exception as error:  # noqa: BLE001 - numpy's header parser raises many kinds on hostile input
        raise FileError(corrupt_header(name, type(error).__name__, str(error))) from None
    problem = _header_problem(name, dtype.hasobject, dtype.kind, str(dtype), shape, holds)
    if problem is not None:
        raise problem
    return shape, fortran, dtype


def _header_problem(name: str, objects: bool, kind: str, shown: str, shape: Tuple[int, ...], holds: str) -> Optional[FileError]:
    """What a .npy header's type or shape makes of the file, in one wording for both readers
    (numpy's and read_npy_plainly): Python objects, values that are not real numbers (``shown``:
    the type as numpy writes it), a shape with a negative size; None when it is readable."""
    if objects:
        return FileError(f"'{name}' holds Python objects (a pickle); netlang never loads pickles", code="pickle-refused", hint=_PICKLE_HINT)
    if kind not in "biuf":
        return FileError(
            f"'{name}' holds {_KINDS.get(kind, 'values')} ({shown}); {holds} must be real numbers",
            hint="save real numbers: numpy.save(path, array.astype(float))",
        )
    problem = _shape_problem(shape)
    return FileError(f"'{name}' has a corrupt header: {problem}") if problem else None


def _shape_problem(shape: Tuple[int, ...]) -> Optional[str]:
    """What is wrong with a shape numpy's parser takes: True or False as a size (numpy's parser
    takes them as integers, its reshape then raises TypeError), a negative size."""
    if any(isinstance(n, bool) for n in shape):
        return f"its shape {shape} has True or False for a size"
    if any(n < 0 for n in shape):
        return f"its shape {shape} has a negative size"
    return None


def read_npy(stream: Any, name: str, max_entries: int, holds: str = "weights") -> Any:
    """The array of a .npy file (its own dtype): the header checked, then at most ``max_entries`` values read.

    A header that claims more is refused before any data is read; a file that ends early is an error.
    """
    import math

    import numpy as np

    shape, fortran, dtype = read_npy_header(stream, name, holds)
    count = math.prod(shape)  # Python integers: a crafted shape cannot overflow into a small count
    if count > max_entries:
        raise FileError(f"'{name}' has {count} entries (shape {shape}); the limit is {max_entries}", code="limit-exceeded")
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise FileError(
            f"'{name}' is truncated: its header promises {count} values of {dtype.itemsize} bytes, "
            f"but only {len(data)} bytes follow",
            code="bad-weight-file",
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


# How a type numpy reads is read without it: (kind, size) -> array typecode ("e": half floats, by
# struct; "g": long doubles, by npyformat.read_long_doubles).
_TYPECODES = {
    ("f", 8): "d", ("f", 4): "f", ("f", 2): "e", ("f", 16): "g", ("i", 8): "q", ("u", 8): "Q", ("i", 4): "i", ("u", 4): "I",
    ("i", 2): "h", ("u", 2): "H", ("i", 1): "b", ("u", 1): "B", ("b", 1): "B",
}


# Long doubles are decoded one by one in Python, 1.1 us each (numpy converts them in C). A fresh
# process read and converted a file of them in (plainly / numpy imported and reading): 10,000
# values 0.12 / 0.16 s, 100,000 0.24 / 0.21 s, a million 1.71 / 0.24 s. Beyond 50,000, numpy reads them.
_MOST_LONG_DOUBLES_PLAINLY = 50_000


def corrupt_header(name: Optional[str], kind: str, said: str) -> str:
    """The message for a header numpy's parser refuses with an exception of class ``kind`` saying ``said``."""
    # Without the addresses numpy's messages may name ("<ast.Name object at 0x7f...>"), so that
    # one file always gives one message.
    said = re.sub(r" at 0x[0-9a-fA-F]+", "", said)
    return f"'{name}' has a corrupt header ({kind}: {said})"


def _in_c_order(values: Any, shape: Tuple[int, ...]) -> Any:
    """Values laid out in Fortran order (the first index varies fastest), in C order.

    By slices of the array, splitting off the shorter of the first and last dimensions: the
    rows of a Fortran array are the slices ``values[r::rows]``, its last-axis blocks are
    contiguous. A million values take 0.01 s in 1000 x 1000, 0.02 s in 100 x 100 x 100 (by
    indices, one by one: 0.11 s and 0.55 s; shared 2-core machine)."""
    from array import array

    if len(shape) < 2 or not values:
        return values
    first, last = shape[0], shape[-1]
    if first <= last:
        rows = array("d")
        for r in range(first):
            rows.extend(_in_c_order(values[r::first], shape[1:]))
        return rows
    spread = array("d", bytes(8 * len(values)))
    block = len(values) // last
    for k in range(last):
        spread[k::last] = _in_c_order(values[k * block : (k + 1) * block], shape[:-1])
    return spread


def _c_index(at: int, shape: Tuple[int, ...], fortran: bool) -> Tuple[int, ...]:
    """The index (one number per dimension) of the ``at``-th value of the file."""
    index = []
    for n in shape if fortran else reversed(shape):
        at, i = divmod(at, n)
        index.append(i)
    return tuple(index if fortran else reversed(index))


def read_npy_plainly(
    stream: Any, max_entries: int, name: Optional[str] = None, holds: str = "weights"
) -> Optional[Tuple[Tuple[int, ...], "array[float]"]]:
    """(shape, float64 values in C order) of a .npy file, read without numpy, as :func:`read_npy`
    then ``astype(float)`` give them (long doubles rounded to nearest, bytes other than 0 and 1
    in a bool array read as True). With ``name``, a file with an error gives the very FileError
    :func:`read_npy` raises (a pickle, not a .npy file, another version, a header cut short or
    too long, a header numpy's parser refuses, with its words, objects, a type that is not real
    numbers, with numpy's name for it, too many entries, data cut short); a long double too large
    for float64 raises :class:`TooLarge`, as ``as_float`` does. None where only numpy can tell
    (a header written by Python 2, type spellings outside ``npyformat``'s tables, a field's
    title that is not text, a long double on a machine where it is not x86's 80-bit format,
    more than ``_MOST_LONG_DOUBLES_PLAINLY`` long doubles): a caller then reads it with
    :func:`read_npy`. So every file either way gives the same values or the same error."""
    import math
    import struct
    import sys
    from array import array

    from . import npyformat

    def refuse(message: str, **how: Any) -> Optional[Tuple[Tuple[int, ...], "array[float]"]]:
        if name is not None:
            raise FileError(message, **how)
        return None  # the caller's read_npy raises it

    start = stream.read(6)
    if start.startswith(_PICKLE_START):
        return refuse(f"'{name}' is a Python pickle, not a .npy array; netlang never loads pickles", code="pickle-refused", hint=_PICKLE_HINT)
    if start != b"\x93NUMPY":
        return refuse(
            f"'{name}' is not a .npy file (it does not start with the .npy signature)",
            hint="write weight files with numpy.save, or as .csv",
        )
    version = tuple(stream.read(2))
    if version not in ((1, 0), (2, 0)):
        return refuse(f"'{name}' uses .npy format version {version}, which is not supported")
    length_bytes = 2 if version == (1, 0) else 4
    raw_length = stream.read(length_bytes)
    if len(raw_length) != length_bytes:
        return refuse(f"'{name}' has a corrupt header (it ends inside the header)")
    length = int.from_bytes(raw_length, "little")
    if length > limits.MAX_NPY_HEADER_BYTES:
        return refuse(f"'{name}' has a corrupt header: it claims {length} bytes of header; the limit is {limits.MAX_NPY_HEADER_BYTES}")
    header = stream.read(length)
    if len(header) != length:
        return refuse(f"'{name}' has a corrupt header (it ends inside the header)")
    try:
        parsed = npyformat.parse_header(header.decode("latin1"))
    except npyformat.Refused as refused:
        return refuse(corrupt_header(name, refused.kind, refused.said))
    if parsed is None:
        return None
    kind, fortran, shape = parsed
    shown = "" if kind.hasobject or kind.kind in "biuf" else npyformat.type_text(kind)  # only a refusal shows it
    problem = _header_problem(str(name), kind.hasobject, kind.kind, shown, shape, holds)
    if problem is not None:
        if name is not None:
            raise problem
        return None  # the caller's read_npy raises it
    count = math.prod(shape)
    if count > max_entries:
        return refuse(f"'{name}' has {count} entries (shape {shape}); the limit is {max_entries}", code="limit-exceeded")
    typecode, itemsize = _TYPECODES[(kind.kind, kind.itemsize)], kind.itemsize
    if typecode not in "eg" and array(typecode).itemsize != itemsize:
        return None
    if typecode == "g" and count > _MOST_LONG_DOUBLES_PLAINLY:
        return None  # numpy's path is faster, its import included
    data = stream.read(count * itemsize)
    if len(data) != count * itemsize:
        return refuse(
            f"'{name}' is truncated: its header promises {count} values of {itemsize} bytes, "
            f"but only {len(data)} bytes follow",
            code="bad-weight-file",
        )
    big = kind.order == ">"
    too_large: Optional[TooLarge] = None
    if typecode == "e":  # half floats, each exactly a double
        values = array("d", struct.unpack(f"{'>' if big else '<'}{count}e", data))
    elif typecode == "g":
        read = npyformat.read_long_doubles(data, count, big)
        values = array("d", read.values)
        if read.too_large:  # the first in C order, as numpy's argwhere finds it
            where, at = min((_c_index(at, shape, fortran), at) for at in read.too_large)
            too_large = TooLarge(where, npyformat.long_double_text(*read.too_large[at]))
    else:
        raw = array(typecode, data)
        if big and itemsize > 1 and sys.byteorder == "little":
            raw.byteswap()
        if kind.kind == "b" and raw.count(0) + raw.count(1) != count:
            values = array("d", [1.0 if byte else 0.0 for byte in raw])  # numpy's bool is any byte but 0
        else:
            values = raw if typecode == "d" else array("d", raw)  # each as float(), in C
    if fortran and len(shape) > 1:
        values = _in_c_order(values, shape)
    if too_large is not None:
        if name is None:
            return None
        raise too_large
    return shape, values


class TooLarge(ValueError):
    """A finite value that the number type cannot hold: ``where`` (its index) and ``value`` (as text)."""

    def __init__(self, where: Tuple[int, ...], value: str, type_name: str = "float64", limit: str = "") -> None:
        import sys

        self.where, self.value = where, value
        self.limit = limit or f"±{sys.float_info.max:.1e}"  # float64's, as numpy's finfo gives it: ±1.8e+308
        super().__init__(f"{value} is too large for {type_name} (about {self.limit} at most)")


def as_float(array: Any, dtype: Any) -> Any:
    """``array`` as ``dtype``; a finite value too large for it (in a float128 file, or 1e300 as
    float32) raises :class:`TooLarge`, where numpy would only warn and give infinity."""
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.asarray(array, dtype=dtype)
    if array.dtype.kind == "f" and array.dtype.itemsize > dtype.itemsize:
        too_large = np.isinf(converted) & np.isfinite(array)
        if too_large.any():
            where = tuple(int(i) for i in np.argwhere(too_large)[0])
            raise TooLarge(where, str(array[where]), dtype.name, f"±{float(np.finfo(dtype).max):.1e}")
    return converted


# -- zip archives (.npz) ----------------------------------------------------------------

_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"


def zip_member_count(stream: IO[bytes]) -> Optional[int]:
    """How many members a zip file's end record declares, read before its directory is (None: no end record).

    ``zipfile`` builds an object per member as it opens an archive: a small file declaring a
    million members would cost a gigabyte before a single one is read.
    """
    size = stream.seek(0, os.SEEK_END)
    tail_size = min(size, (1 << 16) + 22)  # the record, and a comment of up to 64 KiB after it
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(0)
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or at + 22 > len(tail):
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator.startswith(_ZIP64_LOCATOR):  # ZIP64: the count is in a record that the locator points to
        offset = int.from_bytes(locator[8:16], "little")
        if offset + 56 <= size:
            stream.seek(offset)
            record = stream.read(56)
            stream.seek(0)
            if record.startswith(_ZIP64_END):
                count = max(count, int.from_bytes(record[32:40], "little"))
    return count


# -- writing ----------------------------------------------------------------------------

_UMASK: Optional[int] = None


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the umask (read once: setting it is the only way to read it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def same_file(first: PathLike, second: PathLike) -> bool:
    """Whether two names lead to the same file (through links, hard links or ``..``)."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def atomic_write(path: PathLike, binary: bool = True, durable: bool = True) -> Iterator[Any]:
    """A stream whose contents replace the file at ``path`` when the ``with`` block ends without an error.

    Inside, the data goes to a temporary file beside the target; at the end it is flushed
    (with ``durable``, to the disk too) and renamed over the target. If the block raises
    (an error, Ctrl-C, a full disk) the temporary file is removed and the target is left as
    it was. A link at ``path`` is kept: the file it leads to is replaced. Text mode writes
    UTF-8 with ``\\n`` line endings.

    A target that exists and is not a regular file (``/dev/stdout``, a pipe, ``/dev/null``)
    cannot be replaced by renaming: it is written directly, as a plain ``open`` would.
    """
    import tempfile

    name = os.fspath(path)
    check_name(name, "output file")
    target = os.path.realpath(name)  # a link stays a link: the file it points to is written
    directory = os.path.dirname(target)
    try:
        existing: Optional[int] = os.stat(target).st_mode
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing):
        raise IsADirectoryError(21, "Is a directory", name)
    if existing is not None and not stat.S_ISREG(existing):
        with open(target, "wb") if binary else open(target, "w", encoding="utf-8", newline="") as direct:
            yield direct
        return
    mode = stat.S_IMODE(existing) if existing is not None else _new_file_mode()
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    try:
        os.fchmod(handle, mode)
        stream = os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline="")
        with stream:
            yield stream
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:
        with contextlib.suppress(OSError):  # the rename itself reaches the disk with the directory
            directory_handle = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(directory_handle)
            finally:
                os.close(directory_handle)


def write_text(path: PathLike, text: str) -> None:
    """``text`` (UTF-8, lines as given) as the new contents of ``path``, atomically (``atomic_write``)."""
    with atomic_write(path, binary=False) as stream:
        stream.write(text)


def write_bytes(path: PathLike, data: bytes, durable: bool = True) -> None:
    """``data`` as the new contents of ``path``, atomically (``atomic_write``)."""
    with atomic_write(path, durable=durable) as stream:
        stream.write(data)

