"""numpy, imported when a program first needs it: the checker's modules use ``np`` from here.

``netlang check`` folds arrays as Grids (netlang.grids), without numpy, and importing numpy
alone costs more than checking most files (0.1-0.3 s here, about what checking the 1,000-line
netlist takes once it is parsed). So the modules that ``check`` imports (the checker,
``values``, ``forms``, ``grids``, ``params``, ``weights``, ``expectations``, ``interpreter``)
take ``np`` from here, for a compile's arrays and for what Grids leave to numpy (a sum within
rounding of zero or of overflow; a draw netlang.pcg64 cannot certify; the number an Inexact
stands for, when lowered): the first attribute read imports numpy, and each
attribute is then kept on the object, so later reads cost what a module's do.
Type checkers see numpy itself (``if TYPE_CHECKING: import numpy as np``).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings
from typing import Any, ContextManager, Iterator


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


@contextlib.contextmanager
def overflow_unwarned() -> Iterator[None]:
    """numpy's warnings of overflow, invalid results and division by zero off: with
    ``numpy.errstate`` (thread-local) when numpy is imported; else with a warnings filter, in
    case a program's first array imports it on the way."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
            yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def errstate(**how: str) -> ContextManager[Any]:
    """``numpy.errstate(**how)`` if numpy is imported; else nothing, since no array exists to warn."""
    numpy = sys.modules.get("numpy")
    return numpy.errstate(**how) if numpy is not None else contextlib.nullcontext()
