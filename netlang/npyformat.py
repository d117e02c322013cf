"""The .npy header and types as numpy reads them, without numpy (for ``files.read_npy_plainly``).

``netlang check`` reads weight files without importing numpy, and must find what a compile
finds: the same values, or the same error in the same words. A compile reads a header with
numpy's parser (``numpy.lib.format``: ``ast.literal_eval``, then checks of the dictionary,
then ``numpy.dtype`` of its ``descr``); this module follows the rules of that parser, written
from their observed behaviour and numpy's documentation of the format, and says what numpy's
would say. Where it cannot be sure, it answers None, and the caller leaves the file to numpy.

The type tables are numpy 2's on 64-bit x86 outside Windows (a long double is the 80-bit
extended format in 16 bytes, a C long is 8 bytes): elsewhere, and with numpy 1, only the
spellings ``numpy.save`` writes are read here (``_tables_hold``).
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


class Refused(Exception):
    """numpy's parser refuses the header: ``kind`` (the exception's class name) and ``said`` (its words)."""

    def __init__(self, kind: str, said: str) -> None:
        super().__init__(f"{kind}: {said}")
        self.kind = kind
        self.said = said


def _refused(error: BaseException) -> Refused:
    return Refused(type(error).__name__, str(error))


@dataclass(frozen=True)
class NpyType:
    """What ``numpy.dtype(descr)`` is, as far as a reader of weights needs it.

    ``kind`` and ``itemsize`` are numpy's; ``order`` is ``<``, ``>`` or ``|`` (no order);
    ``fields`` (name, type, offset, title) for a structured type, ``shape`` and ``base`` for a
    subarray; ``hasobject``: holds Python objects (also numpy's StringDType, kind ``T``).
    """

    kind: str
    itemsize: int
    order: str = "|"
    unit: str = ""  # a date's or time span's unit, "" for generic
    fields: Optional[Tuple[Tuple[str, "NpyType", int, Optional[str]], ...]] = None
    base: Optional["NpyType"] = None
    shape: Tuple[int, ...] = ()
    hasobject: bool = False

    @property
    def code(self) -> str:
        """The kind and size, as in a descr: ``f8``, ``b1``."""
        return f"{self.kind}{self.itemsize}"


_NATIVE = "<" if sys.byteorder == "little" else ">"

# numpy's names for kinds (its dtype.name stems).
_STEMS = {"u": "uint", "i": "int", "c": "complex", "f": "float"}


def type_text(t: NpyType) -> str:
    """``str(numpy.dtype(...))`` for the type: ``float64``, ``>f8``, ``<U2``, ``datetime64[D]``, a field list."""
    if t.fields is not None:
        return _struct_text(t)
    if t.base is not None:
        return f"({_short(t.base)}, {t.shape})"
    if t.kind == "T":
        return "StringDType()"
    if t.kind in "SUV":
        return f"{'|' if t.kind != 'U' else t.order}{t.kind}{t.itemsize // 4 if t.kind == 'U' else t.itemsize}"
    native = t.order in ("|", _NATIVE)
    if t.kind in "Mm":
        unit = f"[{t.unit}]" if t.unit else ""
        return ("datetime64" if t.kind == "M" else "timedelta64") + unit if native else f"{t.order}{t.kind}8{unit}"
    if not native:
        return t.order + t.code
    if t.kind == "b":
        return "bool"
    if t.kind == "O":
        return "object"
    return f"{_STEMS[t.kind]}{t.itemsize * 8}"


def _short(t: NpyType) -> str:
    """numpy's short construction text of a type, as a field of a structured type shows it: ``'<f8'``, ``'?'``."""
    if t.fields is not None:
        return _struct_text(t)
    if t.base is not None:
        return f"({_short(t.base)}, {t.shape})"
    order = "" if t.order == "|" else t.order
    if t.kind == "b":
        return "'?'"
    if t.kind == "O":
        return "'O'"
    if t.kind in "SV":
        return f"'{t.kind}{t.itemsize or ''}'"
    if t.kind == "U":
        return f"'{t.order}U{t.itemsize // 4 or ''}'"
    if t.kind in "Mm":
        return f"'{t.order}{t.kind}8{f'[{t.unit}]' if t.unit else ''}'"
    return f"'{order}{t.kind}{t.itemsize}'"


def _struct_text(t: NpyType) -> str:
    """A structured type's text: the list of fields when they follow each other without gaps, else numpy's dictionary form."""
    assert t.fields is not None
    end = 0
    packed = True
    for _, f, offset, _ in t.fields:
        packed, end = packed and offset == end, offset + f.itemsize
    if packed and end == t.itemsize:
        items = []
        for name, f, _, title in t.fields:
            named = f"({title!r}, {name!r})" if title is not None else repr(name)
            if f.base is not None:
                items.append(f"({named}, {_short(f.base)}, {f.shape})")
            else:
                items.append(f"({named}, {_short(f)})")
        return "[" + ", ".join(items) + "]"
    names = ", ".join(repr(name) for name, _, _, _ in t.fields)
    formats = ", ".join(_short(f) for _, f, _, _ in t.fields)
    offsets = ", ".join(str(offset) for _, _, offset, _ in t.fields)
    titles = [title for _, _, _, title in t.fields]
    shown = f", 'titles': [{', '.join(repr(title) for title in titles)}]" if any(title is not None for title in titles) else ""
    return f"{{'names': [{names}], 'formats': [{formats}], 'offsets': [{offsets}]{shown}, 'itemsize': {t.itemsize}}}"


# -- the header dictionary ---------------------------------------------------------------


def _without_long_suffixes(text: str) -> str:
    """The header with Python 2's ``L`` after integers taken out, as numpy's parser retries it."""
    import io
    import tokenize

    kept = []
    after_number = False
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if not (after_number and token.type == tokenize.NAME and token.string == "L"):
            kept.append(token)
        after_number = token.type == tokenize.NUMBER
    return tokenize.untokenize(kept)


_KEYS = {"descr", "fortran_order", "shape"}


def parse_header(text: str) -> Optional[Tuple[NpyType, bool, Tuple[int, ...]]]:
    """(type, Fortran order, shape) of a header's text; :class:`Refused` with numpy's words where
    its parser refuses the header; None where only numpy can tell (a header written by Python 2,
    which numpy reads with a warning; an exotic descr; a nesting too deep to evaluate)."""
    try:
        header = ast.literal_eval(text)
    except SyntaxError:
        try:
            retried = _without_long_suffixes(text)
        except (RecursionError, MemoryError):
            return None
        except Exception as error:  # noqa: BLE001 - the tokenizer's own errors are numpy's words too
            raise _refused(error) from None
        try:
            ast.literal_eval(retried)
        except SyntaxError:
            raise Refused("ValueError", f"Cannot parse header: {retried!r}") from None
        except (RecursionError, MemoryError):
            return None
        except Exception as error:  # noqa: BLE001
            raise _refused(error) from None
        return None  # a Python 2 header: numpy reads it, and warns
    except (RecursionError, MemoryError):
        return None
    except Exception as error:  # noqa: BLE001 - literal_eval raises ValueError, TypeError (an unhashable key)...
        raise _refused(error) from None
    if not isinstance(header, dict):
        raise Refused("ValueError", f"Header is not a dictionary: {header!r}")
    if header.keys() != _KEYS:
        try:
            keys = sorted(header.keys())
        except Exception as error:  # noqa: BLE001 - keys of types that do not compare
            raise _refused(error) from None
        raise Refused("ValueError", f"Header does not contain the correct keys: {keys!r}")
    shape, fortran, descr = header["shape"], header["fortran_order"], header["descr"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
        raise Refused("ValueError", f"shape is not valid: {shape!r}")
    if not isinstance(fortran, bool):
        raise Refused("ValueError", f"fortran_order is not a valid bool: {fortran!r}")
    try:
        described = describe(descr)
    except _NotAType:
        raise Refused("ValueError", f"descr is not a valid dtype descriptor: {descr!r}") from None
    if described is None:
        return None
    return described, fortran, shape


# -- types --------------------------------------------------------------------------------


class _NotAType(Exception):
    """numpy.dtype raises TypeError: numpy's parser says the descr is not a valid descriptor."""


# What numpy.save writes for the types netlang reads, on any machine: read without the tables.
_SAVED = {o + c for o in "<>|" for c in ("f8", "f4", "f2", "i8", "u8", "i4", "u4", "i2", "u2")} | {"|i1", "|u1", "|b1"}


@functools.lru_cache(maxsize=1)
def _tables_hold() -> bool:
    """Whether the tables below are this machine's numpy's: numpy 2 (its names), 64-bit x86,
    not Windows (a C long of 8 bytes, a long double of 80 bits in 16).

    numpy's version is read from its version.py, found without importing numpy: 0.3 ms, where
    importlib.metadata took 107 ms here, as long as importing numpy itself."""
    import importlib.util
    import os
    import re

    if sys.platform == "win32" or sys.maxsize <= 2**32 or os.uname().machine.lower() not in ("x86_64", "amd64"):
        return False
    try:
        spec = importlib.util.find_spec("numpy")
        folders = list(spec.submodule_search_locations or []) if spec else []
        with open(os.path.join(folders[0], "version.py"), encoding="utf-8") as stream:
            version = re.search(r'^version\s*(?::\s*str\s*)?=\s*["\'](\d+)\.', stream.read(), re.MULTILINE)
    except (OSError, IndexError, ImportError, ValueError):
        return False
    return version is not None and int(version.group(1)) >= 2


def _scalar(kind: str, size: int) -> NpyType:
    order = "|" if size == 1 or kind in "bOSVT" else _NATIVE
    return NpyType(kind, size, order, hasobject=kind in "OT")


# One-character type codes (after the byte order): numpy's letters, and the control characters
# 0 to 23, which numpy takes as its type numbers.
_LETTERS = {
    "?": ("b", 1), "b": ("i", 1), "B": ("u", 1), "h": ("i", 2), "H": ("u", 2), "i": ("i", 4), "I": ("u", 4),
    "l": ("i", 8), "L": ("u", 8), "q": ("i", 8), "Q": ("u", 8), "p": ("i", 8), "P": ("u", 8), "n": ("i", 8), "N": ("u", 8),
    "e": ("f", 2), "f": ("f", 4), "d": ("f", 8), "g": ("f", 16), "F": ("c", 8), "D": ("c", 16), "G": ("c", 32),
    "O": ("O", 8), "S": ("S", 0), "U": ("U", 0), "V": ("V", 0), "c": ("S", 1), "M": ("M", 8), "m": ("m", 8),
    "T": ("T", 16),
}
_NUMBERED = [("b", 1), ("i", 1), ("u", 1), ("i", 2), ("u", 2), ("i", 4), ("u", 4), ("i", 8), ("u", 8), ("i", 8), ("u", 8),
             ("f", 4), ("f", 8), ("f", 16), ("c", 8), ("c", 16), ("c", 32), ("O", 8), ("S", 0), ("U", 0), ("V", 0),
             ("M", 8), ("m", 8), ("f", 2)]
_LETTERS.update({chr(number): kind_size for number, kind_size in enumerate(_NUMBERED)})
# A kind and a size in bytes ('f8'); S, U and V take any size, and 'a', numpy 2's deprecated S.
_SIZED = {("b", 1), ("i", 1), ("i", 2), ("i", 4), ("i", 8), ("u", 1), ("u", 2), ("u", 4), ("u", 8), ("f", 2), ("f", 4), ("f", 8),
          ("f", 16), ("c", 8), ("c", 16), ("c", 32), ("O", 4), ("O", 8), ("M", 8), ("m", 8)}  # 'M08', 'm 8': dates
# numpy 2's type names (numpy.sctypeDict), each taken whole: a byte order before a name is not understood.
_NAMES = {
    **dict.fromkeys(["bool", "bool_"], ("b", 1)), **dict.fromkeys(["byte", "int8"], ("i", 1)),
    **dict.fromkeys(["ubyte", "uint8"], ("u", 1)), **dict.fromkeys(["short", "int16"], ("i", 2)),
    **dict.fromkeys(["ushort", "uint16"], ("u", 2)), **dict.fromkeys(["intc", "int32"], ("i", 4)),
    **dict.fromkeys(["uintc", "uint32"], ("u", 4)), **dict.fromkeys(["int", "int_", "intp", "long", "longlong", "int64"], ("i", 8)),
    **dict.fromkeys(["uint", "uintp", "ulong", "ulonglong", "uint64"], ("u", 8)),
    **dict.fromkeys(["half", "float16"], ("f", 2)), **dict.fromkeys(["single", "float32"], ("f", 4)),
    **dict.fromkeys(["double", "float", "float64"], ("f", 8)), **dict.fromkeys(["longdouble", "float128"], ("f", 16)),
    **dict.fromkeys(["csingle", "complex64"], ("c", 8)), **dict.fromkeys(["cdouble", "complex", "complex128"], ("c", 16)),
    **dict.fromkeys(["clongdouble", "complex256"], ("c", 32)), **dict.fromkeys(["object", "object_"], ("O", 8)),
    **dict.fromkeys(["bytes", "bytes_", "a"], ("S", 0)), **dict.fromkeys(["str", "str_", "unicode"], ("U", 0)), "void": ("V", 0),
}
_UNITS = {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic"}
_INT_MAX = 2**31 - 1
_SPACE = b" \t\n\v\f\r"


def describe(descr: Any) -> Optional[NpyType]:
    """The type ``numpy.dtype`` makes of a header's ``descr``; :class:`_NotAType` where numpy's
    parser calls it not a valid descriptor, :class:`Refused` for numpy's other errors in its
    words; None where only numpy can tell."""
    if isinstance(descr, str):
        if descr in _SAVED:
            order, code = descr[0], descr[1:]
            return NpyType(code[0], int(code[1:]), "|" if code[1:] == "1" else (_NATIVE if order == "|" else order))
        if not _tables_hold():
            return None
        return _string_type(descr)
    if not _tables_hold():
        return None
    if isinstance(descr, list):
        return _structured(descr)
    if isinstance(descr, tuple) and len(descr) == 2:  # a type and a shape: a subarray
        t = describe(descr[0])
        return None if t is None else _subarray(t, descr[1])
    if isinstance(descr, (int, float, complex)) or descr is None or descr is Ellipsis:
        raise _NotAType()  # not iterable
    return None  # other tuples, a dict, a set, bytes: numpy's to read


def _string_type(descr: str) -> Optional[NpyType]:
    """numpy.dtype of a string: a kind and size, a letter, a name, a date type; None for its
    comma-separated and subarray forms."""
    try:
        text = descr.encode("utf-8")  # numpy reads the string's UTF-8 bytes
    except UnicodeEncodeError as error:
        raise _refused(error) from None
    if not text:
        raise _NotAType()
    if _comma_form(text):
        return None
    order = "="
    if text[:1] in (b"<", b">", b"="):
        order, text = text[:1].decode(), text[1:]
    elif text[:1] == b"|":
        text = text[1:]
    if not text:
        raise _NotAType()
    if text[1:2] == b"8" and text[:1] in (b"M", b"m") or text.startswith((b"datetime64", b"timedelta64")):
        return _date_type(text, order)
    found: Optional[Tuple[str, int]] = None
    if len(text) == 1:
        found = _LETTERS.get(text.decode("latin1"))
    else:
        size, end = _c_integer(text, 1)
        if size is not None and (size > _INT_MAX or size < 0):
            raise _NotAType()
        if end == len(text) and size is not None:
            kind = chr(text[0])
            if kind in "SUVa":
                if kind == "U" and size > _INT_MAX // 4:
                    raise _NotAType()
                found = ("S" if kind == "a" else kind, size * 4 if kind == "U" else size)
            elif size != 0 and (kind, size) in _SIZED:
                found = ("O", 8) if kind == "O" else (kind, size)  # 'O4' too is a pointer of 8 bytes
        elif size is not None and (end == len(text) or text[end] == 0):
            raise _NotAType()  # digits, then a NUL byte
    if found is None:
        named = _NAMES.get(descr)
        if named is None:
            raise _NotAType()  # also names numpy 2 removed ('int0'): its TypeError is the parser's "not a valid descriptor"
        return _scalar(*named)  # a name: no byte order applies
    t = _scalar(*found)
    if t.order == "|" or order in ("=", _NATIVE):
        return t
    return NpyType(t.kind, t.itemsize, order, hasobject=t.hasobject)


def _c_integer(text: bytes, start: int) -> Tuple[Optional[int], int]:
    """C's strtol from ``start``: (value, where it stopped), or (None, start) when no digits follow.

    numpy parses the size in ``'f8'`` with it, so ``'f 8'`` and ``'f+8'`` are float64 too."""
    at = start
    while at < len(text) and text[at] in _SPACE:
        at += 1
    sign = 1
    if at < len(text) and text[at] in b"+-":
        sign = -1 if text[at] == ord("-") else 1
        at += 1
    digits = at
    while at < len(text) and 48 <= text[at] <= 57:
        at += 1
    if at == digits:
        return None, start
    return sign * int(text[digits:at]), at


def _comma_form(text: bytes) -> bool:
    """Whether numpy reads the string as comma-separated fields or a subarray ('f8,i4', '3f8', '(2,)f8')."""
    orders = b"<>|="
    if text[:1].isdigit() or (len(text) > 1 and text[:1] in (b"<", b">", b"|", b"=") and text[1:2].isdigit()):
        return True
    if text.startswith(b"()") or (len(text) > 3 and text[0] in orders and text[1:3] == b"()"):
        return True
    depth = 0
    for byte in text:
        if byte == ord(",") and depth == 0:
            return True
        depth += (byte == ord("[")) - (byte == ord("]"))
    return False


def _date_type(text: bytes, order: str) -> Optional[NpyType]:
    """A date or time-span type with no unit or a count of one of numpy's units ('M8[D]',
    'timedelta64[10s]'); refused when what follows is not in brackets; None for any other unit."""
    for stem, kind in ((b"datetime64", "M"), (b"timedelta64", "m"), (b"M8", "M"), (b"m8", "m")):
        if text.startswith(stem):
            rest = text[len(stem):]
            break
    else:
        return None
    unit = ""
    if rest:
        if not (len(rest) > 1 and rest.startswith(b"[") and rest.endswith(b"]")):
            raise _NotAType()  # numpy: TypeError, "Invalid datetime metadata string"
        import re

        # A unit, after a count of them ('[10s]'; numpy writes a count of 1 as no count).
        # Other forms numpy reads its own way (a division '[s/2]', a space '[ 1D]', 'μs').
        counted = re.fullmatch(rb"\[([0-9]*)([A-Za-z]+)\]", rest)
        if counted is None or counted.group(2).decode() not in _UNITS:
            return None
        count = int(counted.group(1) or 1)
        if count > _INT_MAX:
            raise _NotAType()
        unit = "" if counted.group(2) == b"generic" else f"{count if count != 1 else ''}{counted.group(2).decode()}"
    return NpyType(kind, 8, _NATIVE if order in ("=", _NATIVE) else order, unit=unit)


def _structured(descr: List[Any]) -> Optional[NpyType]:
    """The structured type of a list of fields, as numpy's parser builds it (padding fields,
    named '' and of no type, dropped; fields placed one after another; a name may be a (title,
    name) pair); None for titles other than text, empty names, and subarray shapes other than a
    tuple of sizes."""
    fields: List[Tuple[str, NpyType, int, Optional[str]]] = []
    offset = 0
    for item in descr:
        if not isinstance(item, tuple):
            if isinstance(item, (int, float, complex)) or item is None or item is Ellipsis:
                raise _NotAType()  # len() of it is a TypeError
            return None
        if len(item) == 2:
            name, inner = item
            t = describe(inner)
        else:
            try:
                name, inner, shape = item
            except ValueError as error:  # numpy's words too: "too many values to unpack (expected 3)"
                raise _refused(error) from None
            t = describe(inner)
            if t is not None:
                t = _subarray(t, shape)
        if t is None:
            return None
        if not (name == "" and t.kind == "V" and t.fields is None):  # else padding
            title = None
            if isinstance(name, tuple) and len(name) == 2:
                title, name = name
            if not (title is None or (isinstance(title, str) and title)) or not isinstance(name, str) or not name or t.kind == "T":
                return None
            fields.append((name, t, offset, title))
        offset += t.itemsize
    # Every field's type is read before numpy builds the type, which then refuses a name or a
    # title already used, field by field, name first.
    used = set()
    for name, _, _, title in fields:
        if name in used:
            raise Refused("ValueError", "name already used as a name or title")
        used.add(name)
        if title is not None:
            if title in used:
                raise Refused("ValueError", "title already used as a name or title.")
            used.add(title)
    return NpyType("V", offset, "|", fields=tuple(fields), hasobject=any(t.hasobject for _, t, _, _ in fields))


def _subarray(t: NpyType, shape: Any) -> Optional[NpyType]:
    """numpy.dtype((t, shape)): a subarray of a tuple of sizes or one size; None for the shapes
    numpy refuses (its words are not written here) or reads otherwise (a list)."""
    if type(shape) is int:
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(type(n) is int and 0 <= n <= _INT_MAX for n in shape) or len(shape) > 64:
        return None
    if shape == ():
        return t
    if t.itemsize == 0 and t.fields is None:
        return None  # numpy reads the shape as a size
    count = 1
    for n in shape:
        count *= n
    if count * t.itemsize > _INT_MAX:
        return None
    return NpyType("V", count * t.itemsize, "|", base=t, shape=shape, hasobject=t.hasobject)


# -- long doubles -------------------------------------------------------------------------


@dataclass
class LongDoubles:
    """Long doubles (x86's 80-bit extended format, in 16 bytes) as float64, rounded as numpy's
    ``astype(float)`` rounds them: to nearest, ties to even, subnormals too, NaN for the
    encodings the processor calls invalid. ``too_large``: the finite values that round to
    infinity, by index: (mantissa, power of two, sign), for :func:`long_double_text`."""

    values: List[float] = field(default_factory=list)
    too_large: Dict[int, Tuple[int, int, int]] = field(default_factory=dict)


def read_long_doubles(data: bytes, count: int, big_endian: bool) -> LongDoubles:
    read = LongDoubles()
    infinity = float("inf")
    for index in range(count):
        item = data[16 * index : 16 * index + 16]
        ten = item[6:][::-1] if big_endian else item[:10]  # the 10 bytes that hold the number
        mantissa = int.from_bytes(ten[:8], "little")
        top = int.from_bytes(ten[8:10], "little")
        negative, exponent = top >> 15, top & 0x7FFF
        if exponent == 0x7FFF:
            # Infinity has only the integer bit set; any other pattern is a NaN (or an encoding
            # the processor refuses, which it turns into NaN).
            value = infinity if mantissa == 1 << 63 else float("nan")
        elif exponent != 0 and not mantissa >> 63:
            value = float("nan")  # an "unnormal": invalid since the 80387
        else:
            power = max(exponent, 1) - 16383 - 63
            value = _rounded(mantissa, power)
            if value == infinity:
                read.too_large[index] = (mantissa, power, negative)
        read.values.append(-value if negative else value)
    return read


def _rounded(mantissa: int, power: int) -> float:
    """mantissa * 2**power as the nearest double (ties to even); infinity past the largest.

    Python's int-to-float conversion and its division of integers both round correctly, the
    subnormal range included."""
    if power >= 0:
        try:
            return float(mantissa << power)
        except OverflowError:
            return float("inf")
    return mantissa / (1 << -power)


def long_double_text(mantissa: int, power: int, negative: int) -> str:
    """numpy's ``str`` of a long double of magnitude 1e16 or more (scientific notation): the
    fewest digits that read back as this long double (numpy's Dragon4: between the midpoints
    to its neighbours, a midpoint included when it reads back as this one, which has an even
    mantissa), the last one rounded to the nearest; ``1e+400``,
    ``-1.189731495357231765e+4932``."""
    from fractions import Fraction

    value = Fraction(mantissa) * Fraction(2) ** power
    assert value >= 10**16
    # The long doubles either side are a unit of the last place away (half that below a power of
    # two): any number strictly between the midpoints reads back as this one.
    ulp = Fraction(2) ** power
    below = ulp / 4 if mantissa == 1 << 63 else ulp / 2
    low, high = value - below, value + ulp / 2
    even = mantissa % 2 == 0  # a midpoint reads back as the even one of its two neighbours
    # The decimal exponent, without writing the number out (Python refuses ints of over 4300 digits as text).
    exponent = int((mantissa.bit_length() + power - 1) * 0.30102999566398120)
    while 10**exponent > value:
        exponent -= 1
    while 10 ** (exponent + 1) <= value:
        exponent += 1
    for digits in range(1, 40):
        scale = Fraction(10) ** (exponent - digits + 1)
        down = int(value / scale)
        candidates = [c for c in (down, down + 1) if low < c * scale < high or (even and c * scale in (low, high))]
        if candidates:
            # Of two, the nearer; of two as near (it happens below 2**64, where a unit of the
            # long double is a fraction: 2**54 + 0.1875), the even one.
            chosen = min(candidates, key=lambda c: (abs(c * scale - value), c % 2))
            text = str(chosen)
            shown_exponent = exponent + len(text) - digits  # a carry (9.99 -> 10.0) adds a digit
            text = text.rstrip("0") or "0"
            mantissa_text = text[0] + ("." + text[1:] if len(text) > 1 else "")
            return f"{'-' if negative else ''}{mantissa_text}e+{shown_exponent:02d}"
    raise AssertionError("no shortest digits")  # 21 digits always suffice for 64 bits
