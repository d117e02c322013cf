"""Numbers written as text: the one definition shared by the command line, data files and weight files.

A number is an optional sign, ASCII digits with an optional decimal point, and an
optional exponent: ``1``, ``-0.5``, ``.5``, ``2.``, ``+3e-4``, ``1E6``. Nothing else:
not ``1_000`` or ``١`` (which Python's ``float()`` takes), not ``0x10``, not ``1,5``.
``inf``, ``infinity`` and ``nan`` (any case, optionally signed) are read as numbers so
that the caller can say "not a finite number" rather than "not a number"; netlang
refuses them everywhere. docs/cli.md documents the rule for users.

This module imports nothing heavy: the launcher's fast path uses it.
"""

from __future__ import annotations

import re
from typing import Optional

_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.ASCII | re.IGNORECASE)


def parse_number(text: str) -> Optional[float]:
    """``text`` (without surrounding spaces) as a float, or None when it is not a number as defined above."""
    if _NUMBER.fullmatch(text) is None:
        return None
    return float(text)


def is_number(text: str) -> bool:
    """True when ``text`` is a number as defined above (finite or not)."""
    return _NUMBER.fullmatch(text) is not None
