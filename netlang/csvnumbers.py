"""Numbers read from CSV: the one reader of CSV text for data files and weight files.

A :class:`CsvSource` streams blocks of numbers (rows x columns) from CSV text, bounded in
memory (lines, values, blocks), each number read by netlang.numerals' one definition, each
mistake a located error (``file:line:column`` with the line's excerpt). ``netlang run`` reads
input data through it (:mod:`netlang.data`), ``load("w.csv")`` a weight matrix
(:mod:`netlang.weights`): so neither module imports the other.
"""

from __future__ import annotations

import codecs
import io
import math
import re
import sys
import warnings
from typing import IO, TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import numpy as np
else:  # PlainCsvSource (netlang check's weight files) reads without numpy (netlang.lazynumpy)
    from .lazynumpy import np

from .errors import NetlangError, combine, did_you_mean, name_list
from .nodes import Span
from .numerals import counted, parse_number

# Values (rows x columns) in one block handed to the network: small enough to keep
# memory bounded, large enough that numpy's per-call overhead does not matter.
BLOCK_VALUES = 1 << 18
# Characters read from a CSV stream at a time.
READ_CHARS = 1 << 20
# A line of plain numbers (no quotes; spaces and tabs around commas): every cell is read as
# the reference reading would (numerals' number, a subset of what float() takes, and float()
# strips the same blanks), in one match for the line instead of one per cell: 10x faster.
_PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN_ROW = re.compile(rf"[ \t]*{_PLAIN_NUMBER}(?:[ \t]*,[ \t]*{_PLAIN_NUMBER})*[ \t]*", re.ASCII)
# A CSV line longer than this is refused rather than buffered (one value is rarely over 30 characters).
MAX_CHARS_PER_VALUE = 256
MIN_LINE_CHARS = 1 << 16


def located_error(
    message: str,
    filename: str,
    line: int = 0,
    column: int = 0,
    width: int = 1,
    *,
    code: str = "bad-data",
    hint: Optional[str] = None,
    text: Optional[str] = None,
) -> NetlangError:
    """A located error in a data file; ``text``: the line's text, which the excerpt shows."""
    span = Span(line, column, line, column + width) if line else None
    return NetlangError(message, span, filename=filename, hint=hint, code=code, line_text=text)


# -- CSV -------------------------------------------------------------------------------


def split_fields(line: str) -> List[Tuple[int, str]]:
    """The fields of one CSV line, each with its 1-based column: ``"a, b"`` -> ``[(1, 'a'), (3, ' b')]``.

    Double quotes group commas into a field, as in RFC 4180; the quotes are kept.
    """
    fields: List[Tuple[int, str]] = []
    start = 0
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append((start + 1, line[start:i]))
            start = i + 1
    fields.append((start + 1, line[start:].rstrip("\r\n")))
    return fields


def _cell_text(field: str) -> str:
    text = field.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _number(text: str) -> Optional[float]:
    """``text`` as a number, or None: netlang.numerals' one definition (no ``1_000``, no ``١``)."""
    return parse_number(text)


def _spaces_hint(text: str) -> Optional[str]:
    """A hint when ``text`` is numbers separated by spaces, tabs or semicolons instead of commas."""
    parts = re.split(r"[\s;]+", text.strip())
    if len(parts) > 1 and all(_number(part) is not None for part in parts):
        return f"values are separated by commas, not spaces or semicolons: {','.join(parts)}"
    return None


def _extra_column_hint(count: int, width: int) -> Optional[str]:
    """A hint for a data row with one value more than the network takes (a label column, as in MNIST's CSV files)."""
    if count != width + 1:
        return None
    return (
        "if the file has a column the network does not read (a label, as MNIST's CSV files have first), "
        "declare an input for it in its place that no output uses ('input label' before the other inputs), "
        "or compare the outputs with it: netlang score --labels"
    )


def _is_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _field_count(line: str) -> int:
    """How many fields ``split_fields`` finds in ``line``, without building them (a line may be megabytes)."""
    return line.count(",") + 1 if '"' not in line else len(split_fields(line))


def _code(line: str) -> str:
    """``line`` without its comment: from the first ``#`` outside double quotes."""
    if '"' not in line:
        return line.split("#", 1)[0]
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:i]
    return line


def _unclosed_quote(line: str) -> int:
    """The 0-based column of a quote that ``line`` leaves open (-1 if none): its cell runs on into the next line."""
    code = _code(line)
    if code.count('"') % 2 == 0:
        return -1
    return code.rfind('"')


class CsvSource:
    """Rows of numbers from a CSV stream, in blocks, with an optional header naming the columns.

    The first line that is not blank or a comment is a header when any of its
    fields is not a number and some field is a column name (``x1``, ``x[0]``);
    a header may name the columns in any order. Without a header the columns
    are taken in ``columns`` order; with ``columns`` None (a weight file), the first
    row sets the width. Errors name the file, line and column.

    A binary stream is decoded here, as UTF-8 (an undecodable byte is a located error)
    with ``\n``, ``\r\n`` and ``\r`` all ending a line; ``max_values``, if given, bounds
    the values the whole file may hold, counted from its separators as it is read, so a
    file over it is refused before it is parsed.
    """

    def __init__(
        self,
        stream: IO[Any],
        filename: str,
        columns: Optional[Sequence[str]],
        dtype: Any = "float64",
        rows: int = 4096,
        header: bool = True,
        total: Optional[int] = None,
        owns_stream: bool = False,
        max_values: Optional[int] = None,
    ) -> None:
        self.owns_stream = owns_stream  # close() closes the stream: it was opened for this source
        self.stream = stream
        self.filename = filename
        self.by_position = columns is None  # columns named 1, 2, ... and counted from the first row
        self.columns = tuple(columns or ())
        self.dtype = self._number_type(dtype)
        # The largest finite value of that type, and its name, for the errors of a value beyond it.
        self.largest: float
        self.type_name: str
        self.largest, self.type_name = (sys.float_info.max, "float64") if dtype == "float64" else (float(np.finfo(dtype).max), self.dtype.name)
        self.rows = rows
        self.allow_header = header
        self.total = total  # bytes (characters, for a text stream) expected, for progress; None when unknown
        self.position = 0  # bytes (or characters) read so far
        self.order: Optional[np.ndarray] = None  # file column -> input column, when a header reorders them
        self.max_values = max_values
        self.separators = 0  # ',' and line ends read so far, when max_values is given
        self.decoder: Any = None  # for a binary stream
        self.at_end = False
        self.max_line = max(MIN_LINE_CHARS, MAX_CHARS_PER_VALUE * max(1, len(self.columns)))
        if self.by_position:
            self.max_line = 1 << 62  # the first row sets it; the file's size bounds it until then

    def __repr__(self) -> str:
        return f"CsvSource({self.filename!r}, columns={len(self.columns)}, {self.dtype})"

    def close(self) -> None:
        if self.owns_stream:
            self.stream.close()

    def _read_text(self, carry: str, number: int) -> str:
        """The next chunk of text ('' at the end); bytes are decoded as UTF-8 with universal newlines.

        ``carry`` (the line read so far) and ``number`` (its line number) place a decoding error.
        """
        raw = self.stream.read(READ_CHARS)
        self.position += len(raw)
        self.at_end = not raw
        if self.max_values is not None:
            self._count_values(raw)
        if not isinstance(raw, bytes):
            return raw
        if self.decoder is None:
            self.decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")(), translate=True)
        try:
            return self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            raise self._encoding_error(error, carry, number) from None

    def _encoding_error(self, error: UnicodeDecodeError, carry: str, number: int) -> NetlangError:
        data = error.object if isinstance(error.object, bytes) else bytes(error.object)
        before = carry + data[: error.start].decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        line = number + before.count("\n")
        start_of_line = before[before.rfind("\n") + 1 :]
        column = len(start_of_line) + 1
        return NetlangError(
            f"the file is not valid UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded)",
            Span(line, column, line, column + 1),
            filename=self.filename,
            code="bad-encoding",
            line_text=start_of_line + "\ufffd",
            hint="save the file as UTF-8",
        )

    def _count_values(self, raw: Any) -> None:
        """Refuse the file once its separators say it holds more than ``max_values`` values."""
        assert self.max_values is not None
        counted = (b",", b"\n", b"\r") if isinstance(raw, bytes) else (",", "\n", "\r")
        # "\r\n" counts twice: a bound, not a count, and never too low (CR-only endings count too).
        self.separators += sum(raw.count(mark) for mark in counted)
        if self.separators + 1 > self.max_values:
            for rest in iter(lambda: self.stream.read(READ_CHARS), raw[:0]):  # the whole file's bound, for the message
                self.separators += sum(rest.count(mark) for mark in counted)
            raise NetlangError(
                f"'{self.filename}' has up to {self.separators + 1} values; the limit is {self.max_values}",
                filename=self.filename,
                code="limit-exceeded",
            )

    def _lines(self) -> Iterator[Tuple[int, List[str]]]:
        """(number of the first line, complete lines) as the stream is read."""
        carry = ""
        number = 1
        first = True
        while not self.at_end:
            text = self._read_text(carry, number)
            if first and text.startswith("\ufeff"):
                text = text[1:]  # a byte-order mark, as spreadsheets write
            first = first and not text
            joined = carry + text
            lines = joined.split("\n")
            carry = lines.pop()
            if '"' in joined:
                self._check_quotes(lines + [carry] * self.at_end, number)
            if len(carry) > self.max_line:
                raise located_error(
                    f"line {number + len(lines)} is longer than {self.max_line} characters",
                    self.filename,
                    number + len(lines),
                    1,
                    code="limit-exceeded",
                    hint="is this a CSV file with one sample per line?",
                )
            if lines:
                yield number, lines
                number += len(lines)
        if carry:
            yield number, [carry]

    def _check_quotes(self, lines: List[str], first: int) -> None:
        """Refuse a quoted cell that runs past the end of its line: one row is one line, and
        reading on would join the digits of two lines into one number."""
        for offset, line in enumerate(lines):
            column = _unclosed_quote(line) if '"' in line else -1
            if column >= 0:
                raise located_error(
                    f"a quoted value on line {first + offset} is not closed on that line",
                    self.filename,
                    first + offset,
                    column + 1,
                    code="bad-value",
                    hint="netlang reads one row per line: remove the line break inside the quotes",
                    text=line,
                )

    def __iter__(self) -> Iterator[np.ndarray]:
        header_done = False
        for number, lines in self._lines():
            if not header_done:
                for i, line in enumerate(lines):
                    if not _is_blank(line):
                        header_done = True
                        if self.by_position:
                            self._take_width(_field_count(line))
                        elif self._read_header(line, number + i):
                            lines[i] = ""  # already used
                        break
            for start in range(0, len(lines), self.rows):
                block = self._parse(lines[start : start + self.rows], number + start)
                if block is not None:
                    yield block

    def _take_width(self, width: int) -> None:
        self.columns = tuple(str(i + 1) for i in range(width))
        self.max_line = max(MIN_LINE_CHARS, MAX_CHARS_PER_VALUE * width)
        self.rows = max(1, BLOCK_VALUES // 4 // width)

    def _read_header(self, line: str, number: int) -> bool:
        """Read ``line`` as a header if it is one; True when it was."""
        fields = split_fields(line)
        texts = [_cell_text(text) for _, text in fields]
        known = set(self.columns)
        if not self.allow_header or all(_number(t) is not None or _spaces_hint(t) for t in texts):
            return False  # numbers (perhaps separated by spaces: the row's error says so), not names
        if not any(t in known for t in texts) and any(_number(t) is not None for t in texts):
            return False  # numbers with a typo: the cell error will say where
        errors: List[NetlangError] = []
        seen: Dict[str, int] = {}
        for (column, raw), text in zip(fields, texts):
            if text in seen:
                errors.append(
                    located_error(
                        f"column '{text}' appears twice in the header",
                        self.filename,
                        number,
                        column,
                        len(raw),
                        code="bad-header",
                        hint=f"name each input once; the network's inputs are {name_list(self.columns, count='in all')}",
                        text=line,
                    )
                )
            elif text not in known:
                hint = did_you_mean(text, self.columns) or f"the network's inputs are {name_list(self.columns, count='in all')}"
                errors.append(
                    located_error(
                        f"the header names '{text}', which is not an input",
                        self.filename,
                        number,
                        column,
                        len(raw),
                        code="bad-header",
                        hint=hint,
                        text=line,
                    )
                )
            seen.setdefault(text, column)
        missing = [name for name in self.columns if name not in seen]
        if missing and not errors:
            errors.append(
                located_error(
                    f"the header has no column for {name_list(missing, count='in all')}",
                    self.filename,
                    number,
                    1,
                    len(line.rstrip()),
                    code="bad-header",
                    hint=f"the network's inputs are {name_list(self.columns, count='in all')}",
                    text=line,
                )
            )
        if errors:
            raise combine(errors)
        positions = [self.columns.index(t) for t in texts]
        self.order = None if positions == list(range(len(positions))) else np.argsort(positions)
        return True

    def _parse(self, lines: List[str], first: int) -> Optional[np.ndarray]:
        width = len(self.columns)
        if any('"' in line for line in lines):
            # The reference reading decides what a number is: numpy's loadtxt also takes a quoted
            # cell followed by more text ('""0.5'; '"6"1e5' as 61e5: found by the fuzzer), which
            # numerals.py refuses. Without quotes the two agree (tests/test_check_without_numpy.py
            # compares them over generated lines), so quote-free blocks keep numpy's speed.
            block = self._parse_slowly(lines, first)
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "input contained no data": blank lines are fine
                    block = np.loadtxt(lines, delimiter=",", dtype=self.dtype, ndmin=2, comments="#")
            except ValueError:
                block = self._parse_slowly(lines, first)
            if block.shape[0] and (block.shape[1] != width or not np.all(np.isfinite(block))):
                block = self._parse_slowly(lines, first)
        if block.shape[0] == 0:
            return None
        if self.order is not None:
            block = block[:, self.order]
        return block

    def _number_type(self, dtype: Any) -> Any:
        return np.dtype(dtype)

    def _parse_slowly(self, lines: List[str], first: int) -> np.ndarray:
        """``lines`` read cell by cell, for what numpy does not take (``1, "2"``), or every error with its place."""
        rows = self._rows(lines, first)
        return np.array(rows, dtype=self.dtype).reshape(len(rows), len(self.columns))

    def _rows(self, lines: List[str], first: int) -> List[List[float]]:
        """The rows of ``lines``, cell by cell, as Python floats; or every error with its place.

        numpy's own messages give no file line, and its rules for spaces around
        quotes are stricter than people's CSV files; this is the reference reading.
        """
        errors: List[NetlangError] = []
        rows: List[List[float]] = []
        names = self.order_names()
        listed = name_list(names, count="in all")
        width = len(self.columns)
        for offset, line in enumerate(lines):
            if _is_blank(line):
                continue
            if '"' not in line:
                plain = line.split("#", 1)[0]
                if _PLAIN_ROW.fullmatch(plain) is not None:
                    values = [float(cell) for cell in plain.split(",")]
                    if len(values) == width and max(map(abs, values)) <= self.largest:
                        rows.append(values)
                        continue
            number = first + offset
            fields = split_fields(_code(line))
            if len(fields) != width:
                errors.append(
                    located_error(
                        f"line {number} has {counted(len(fields), 'value')}, "
                        f"but {f'the first row has {width}' if self.by_position else f'the network takes {width} ({listed})'}",
                        self.filename,
                        number,
                        1,
                        len(line.rstrip()),
                        code="wrong-column-count",
                        hint=_spaces_hint(line) or (None if self.by_position else _extra_column_hint(len(fields), width)),
                        text=line,
                    )
                )
            else:
                row: List[float] = []
                rows.append(row)
                for (column, raw), name in zip(fields, names):
                    text = _cell_text(raw)
                    value = _number(text)
                    if value is None:
                        message = f"'{text}' in column {name} is not a number" if text else f"the value for {name} is missing"
                    elif not math.isfinite(value) or abs(value) > self.largest:
                        message = f"'{text}' in column {name} is not a finite {self.type_name} number"
                    else:
                        row.append(value)
                        continue
                    hint = _spaces_hint(text)
                    code = "non-finite-value" if value is not None else "bad-value"
                    errors.append(located_error(message, self.filename, number, column, max(1, len(raw)), code=code, hint=hint, text=line))
            if len(errors) >= 20:
                break
        if errors:
            raise combine(errors)
        return rows

    def order_names(self) -> Tuple[str, ...]:
        """The column names in the order the file gives them."""
        if self.order is None:
            return self.columns
        return tuple(self.columns[i] for i in np.argsort(self.order))


class PlainCsvSource(CsvSource):
    """A CsvSource of float64 numbers whose blocks are lists of rows of Python floats, read
    without numpy (``netlang check``'s weight files): every line by the reference reading,
    which is also CsvSource's for any block with a quote or that numpy's ``loadtxt`` does not
    take. Where both take a block they read each number by a correctly rounded conversion of the
    same text; an error is found and worded by the same reading on both.
    """

    def __init__(self, stream: IO[Any], filename: str, max_values: Optional[int] = None) -> None:
        super().__init__(stream, filename, None, header=False, max_values=max_values)

    def _number_type(self, dtype: Any) -> Any:
        return None  # float64, as Python's float

    def _parse(self, lines: List[str], first: int) -> Optional[List[List[float]]]:  # type: ignore[override]
        return self._rows(lines, first) or None
