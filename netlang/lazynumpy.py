"""numpy, imported when a program first needs it: the checker's modules use ``np`` from here.

``netlang check`` of a file without vectors, matrices, weight files or drawn params never
needs an array, and importing numpy alone costs more than checking such a file (about
0.1 s here; the 1,000-line netlist checks in about as long). So the modules that
``check`` imports (the checker, ``values``, ``forms``, ``params``, ``weights``, the
expectations' validation) take ``np`` from here: the first attribute read imports numpy,
and each attribute is then kept on the object, so later reads cost what a module's do.
Type checkers see numpy itself (``if TYPE_CHECKING: import numpy as np``).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, ContextManager


class LazyModule:
    """A module imported on the first read of one of its attributes."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r}, imported={len(vars(self)) > 1})"

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        setattr(self, attribute, value)  # found by the ordinary lookup from now on
        return value


np: Any = LazyModule("numpy")


def errstate(**how: str) -> ContextManager[Any]:
    """``numpy.errstate(**how)`` if numpy is imported; else nothing, since no array exists to warn."""
    numpy = sys.modules.get("numpy")
    return numpy.errstate(**how) if numpy is not None else contextlib.nullcontext()
