"""Numbers written as text, read and written: the one definition of a number shared by the command
line, data files and weight files, and the one way netlang writes a number (``format_number``:
as short as it can be written exactly; ``format_short``: six digits, for cells and diagrams).

A number is an optional sign, ASCII digits with an optional decimal point, and an
optional exponent: ``1``, ``-0.5``, ``.5``, ``2.``, ``+3e-4``, ``1E6``. Nothing else:
not ``1_000`` or ``١`` (which Python's ``float()`` takes), not ``0x10``, not ``1,5``.
``inf``, ``infinity`` and ``nan`` (any case, optionally signed) are read as numbers so
that the caller can say "not a finite number" rather than "not a number"; netlang
refuses them everywhere. docs/cli.md documents the rule for users.

This module imports nothing heavy: the launcher's fast path and the formatter use it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Optional, Union

_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.ASCII | re.IGNORECASE)


def parse_number(text: str) -> Optional[float]:
    """``text`` (without surrounding spaces) as a float, or None when it is not a number as defined above."""
    if _NUMBER.fullmatch(text) is None:
        return None
    return float(text)


def is_number(text: str) -> bool:
    """True when ``text`` is a number as defined above (finite or not)."""
    return _NUMBER.fullmatch(text) is not None


def format_number(value: Union[float, Fraction]) -> str:
    """A number as short as it can be written exactly: ``1``, ``0.5``, ``0.7310585786300049``.

    An exact rational (``--exact``) is written as a decimal when it has one (``0.3``), else as a
    fraction (``1/3``).
    """
    if isinstance(value, Fraction):
        return _format_fraction(value)
    value = float(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _format_fraction(value: Fraction) -> str:
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    if not places:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def format_short(value: Union[float, Fraction]) -> str:
    """A number for a matrix cell or a diagram: at most 6 significant digits, ``0.333333``
    (an exact rational stays exact)."""
    if isinstance(value, Fraction):
        return _format_fraction(value)
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.6g}"


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless the count is 1: ``3 neurons``, ``1 neuron``, ``0 epochs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
