"""Diagnostics: the errors a user's input can cause, located and explained.

:class:`NetlangError` is one error (or warning) with its place, words and code;
:class:`Report` collects those of one file, each made with that file's name and source
(:class:`Failed` abandons the definition whose error it reported);
:func:`name_list`, :func:`did_you_mean`, :func:`escaped` and :func:`shown` are the wordings that messages share.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Dict, Iterable, List, Literal, Optional, Sequence

from . import limits
from .nodes import NO_SPAN, Span
from .numerals import counted

Severity = Literal["error", "warning"]

# Characters that a terminal acts on rather than shows: C0 and C1 controls, DEL, and the
# bidirectional overrides that reorder what is shown ("Trojan Source"). Text from a file or
# from data (a comment, a cell, a name) is echoed with these escaped, as Python's repr()
# writes them, so that an error message can never retitle, clear or rewrite the terminal.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What an error repeats from its input is capped: a word (a name, a number, a cell) at
# WORD_LIMIT characters, a message or hint at TEXT_LIMIT, so a 1M-character name or a
# 30 MB line gives a message of a few hundred bytes, not megabytes.
WORD_LIMIT = 80
TEXT_LIMIT = 1000
_LONG_WORD = re.compile(r"\S{%d,}" % (WORD_LIMIT + 1))


def _escape_char(match: "re.Match[str]") -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escaped(text: str) -> str:
    """``text`` with every control character but tab and newline written as an escape (``\\x1b``)."""
    return text if text.isprintable() else _UNSAFE.sub(_escape_char, text)


def shown(text: str) -> str:
    """``text`` as an error shows it: long words and long texts cut, control characters escaped."""
    if len(text) > WORD_LIMIT:
        text = _LONG_WORD.sub(_shorten_word, text)
        if len(text) > TEXT_LIMIT:
            text = text[:TEXT_LIMIT] + f"... ({len(text) - TEXT_LIMIT} more characters)"
    return escaped(text)


def _shorten_word(match: "re.Match[str]") -> str:
    word = match.group()
    # Quotes and brackets around the word stay, so the message still reads as a sentence.
    core = word.strip("'\"()[]?,;:.")
    head = word[: word.index(core)] if core else ""
    tail = word[len(head) + len(core) :]
    return f"{head}{core[: WORD_LIMIT // 2]}...({len(core)} characters){tail}"


class NetlangError(Exception):
    """An error in a user's input (a .net file, a weight file, a value).

    ``filename``, ``line``, ``column`` (1-based; 0 when the error has no place
    in a file), ``message`` (what is wrong), ``hint`` (how to fix it, or None)
    and ``code`` (a stable identifier such as ``unknown-name``). ``severity`` is
    ``"error"``, or ``"warning"`` for the findings of :mod:`netlang.lint`, which
    are reported the same way but never raised.

    One raised error carries every error found in the same file in ``errors``
    (itself first), so ``except NetlangError`` sees them all.
    """

    def __init__(
        self,
        message: str,
        span: Optional[Span] = None,
        *,
        filename: Optional[str] = None,
        hint: Optional[str] = None,
        code: str = "error",
        source: Optional[str] = None,
        severity: Severity = "error",
        line_text: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span or NO_SPAN
        self.filename = filename
        self.hint = hint
        self.code = code
        self.source = source
        self.severity: Severity = severity
        # The text of the error's line, for a file too large to keep whole in ``source``
        # (batch data is streamed): the excerpt shows it.
        self.line_text = line_text
        self.errors: List[NetlangError] = [self]

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    @property
    def end_line(self) -> int:
        return self.span.end_line

    @property
    def end_column(self) -> int:
        return self.span.end_column

    @property
    def location(self) -> str:
        """``file:line:column``, or what of it is known."""
        where = shown(self.filename) if self.filename else "<input>"
        if self.span.line:
            return f"{where}:{self.span.line}:{self.span.column}"
        return where

    def __str__(self) -> str:
        text = f"{self.location}: {shown(self.message)}"
        more = len(self.errors) - 1
        if more:
            text += f" (and {counted(more, 'more error')})"
        return text

    def __repr__(self) -> str:
        kind = "" if self.severity == "error" else f", severity={self.severity!r}"
        return f"NetlangError({self.code!r}, {self.location!r}, {self.message!r}{kind})"

    def to_dict(self) -> Dict[str, Any]:
        """This diagnostic alone as JSON-ready data (``netlang/schema/diagnostics.schema.json``).

        ``line`` and the other positions are None when the error has no place in a file.
        """
        located = self.span.line > 0
        return {
            "file": self.filename,
            "line": self.span.line if located else None,
            "column": self.span.column if located else None,
            "end_line": self.span.end_line if located else None,
            "end_column": self.span.end_column if located else None,
            "severity": self.severity,
            "message": shown(self.message),
            "hint": None if self.hint is None else shown(self.hint),
            "code": self.code,
        }

    def format(self, color: bool = False) -> str:
        """Every error, each with its source line and a caret under the offending span."""
        return "\n\n".join(error._format_one(color) for error in self.errors)

    def _format_one(self, color: bool) -> str:
        red, bold, cyan, reset = ("\033[31m", "\033[1m", "\033[36m", "\033[0m") if color else ("",) * 4
        if self.severity == "warning":
            red = "\033[35m" if color else ""
        lines = [f"{bold}{self.location}: {red}{self.severity}:{reset}{bold} {shown(self.message)}{reset}"]
        excerpt = self._excerpt()
        if excerpt:
            number, text, caret = excerpt
            gutter = " " * len(number)
            lines.append(f"{cyan}{number} |{reset} {text}")
            lines.append(f"{cyan}{gutter} |{reset} {red}{caret}{reset}")
        if self.hint:
            lines.append(f"{cyan}hint:{reset} {shown(self.hint)}")
        return "\n".join(lines)

    def _line_text(self) -> Optional[str]:
        """The text of the line the error names, if it is known."""
        if self.span.line < 1:
            return None
        if self.source is None:
            return None if self.line_text is None else self.line_text.rstrip("\n")
        source_lines = _lines(self.source)
        if self.span.line > len(source_lines):
            # An error at the very end of a file that ends with a newline.
            return "" if self.span.line == len(source_lines) + 1 else None
        return source_lines[self.span.line - 1]

    def _excerpt(self) -> Optional[tuple[str, str, str]]:
        line_text = self._line_text()
        if line_text is None:
            return None
        # Without a "\r" line end, which would count towards the width below.
        text = line_text.rstrip("\r")
        start = max(self.span.column - 1, 0)
        if self.span.end_line == self.span.line:
            end = max(self.span.end_column - 1, start + 1)
        else:
            end = max(len(text), start + 1)
        # Long lines are cut around the error so the caret stays on screen.
        width = 100
        prefix = suffix = ""
        if len(text) > width:
            left = max(0, min(start - 20, len(text) - width))
            prefix = "..." if left else ""
            suffix = "..." if left + width < len(text) else ""
            text = text[left : left + width]
            start, end = start - left, min(end - left, width)
        end = min(end, len(text) + 1)
        # Control characters are shown escaped (tabs kept, for the caret); the caret is
        # measured on the escaped text, so it stays under what it points at.
        before, within = escaped(text[:start]), escaped(text[start:end])
        # Tabs keep their width in the caret line so the caret lines up.
        pad = "".join("\t" if ch == "\t" else " " for ch in prefix + before)
        caret = pad + "^" * max(1, len(within) + (end > len(text)))
        return str(self.span.line), prefix + escaped(text) + suffix, caret


@functools.lru_cache(maxsize=4)
def _lines(source: str) -> List[str]:
    """The lines of ``source``, split once for all the diagnostics of a file (not once each:
    100,000 warnings about a 3.3 MB file took 7 minutes that way)."""
    # Lines end at "\n" only, as the parser counts them (splitlines would also split at
    # form feeds and Unicode line separators, and show the wrong line).
    source_lines = source.split("\n")
    if source_lines and source_lines[-1] == "":
        source_lines.pop()
    return source_lines


class Failed(Exception):
    """An expression had an error (already reported); abandon that definition."""


class Report:
    """The errors (or warnings) found in one file, each made with the file's name and source.

    At most ``limit`` are kept (``limits.MAX_ERRORS``); the rest are left out.
    """

    def __init__(
        self, filename: Optional[str], source: Optional[str], severity: Severity = "error", limit: Optional[int] = None
    ) -> None:
        self.filename = filename
        self.source = source
        self.severity: Severity = severity
        self.limit = limits.MAX_ERRORS if limit is None else limit
        self.found: List[NetlangError] = []

    def __repr__(self) -> str:
        return f"Report({self.filename!r}, {len(self.found)} {self.severity}s)"

    def add(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> None:
        if len(self.found) < self.limit:
            self.found.append(
                NetlangError(
                    message, span, filename=self.filename, hint=hint, code=code, source=self.source, severity=self.severity
                )
            )


def name_list(names: Sequence[str], limit: int = 8, count: str = "") -> str:
    """``a, b, c``: the first ``limit`` names, then ``, ...`` if there are more.

    ``count`` says how the rest are counted after the dots: ``"in all"`` gives
    ``, ... (20 in all)``, ``"more"`` gives ``, ... (12 more)``.
    """
    shown = ", ".join(names[:limit])
    if len(names) <= limit:
        return shown
    if count == "in all":
        return f"{shown}, ... ({len(names)} in all)"
    if count == "more":
        return f"{shown}, ... ({len(names) - limit} more)"
    return f"{shown}, ..."


def combine(errors: Sequence[NetlangError]) -> NetlangError:
    """One exception carrying all ``errors`` (sorted by place), ready to raise."""
    ordered = sorted(errors, key=lambda e: (e.span.line, e.span.column))
    first = ordered[0]
    first.errors = list(ordered)
    return first


def did_you_mean(word: str, candidates: Iterable[str]) -> Optional[str]:
    """``did you mean 'sigmoid'?`` for the closest candidate, if any is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"did you mean '{close[0]}'?" if close else None
