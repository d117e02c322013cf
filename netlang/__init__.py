"""netlang: describe neural networks neuron by neuron or layer by layer, compile them to weight matrices, run them.

    >>> import netlang
    >>> net = netlang.compile("input x1, x2\\nnode y = step(0.5*x1 + 0.5*x2 > 0.7)")
    >>> net.run({"x1": 1, "x2": 1})
    {'y': 1.0}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names, imported on first use: `import netlang` stays cheap, and the parser
# (Lark) is loaded only when something is parsed (see the cache notes in docs/design.md).
_LAZY = {
    "Layer": "runtime",
    "NetlangError": "errors",
    "Network": "runtime",
    "Program": "nodes",
    "Span": "nodes",
    "check_expectations": "expectations",
    "compile": "pipeline",
    "format_program": "formatter",
    "format_source": "formatter",
    "load": "pipeline",
    "lower_to_layers": "compiler",
    "parse": "parser",
    "read_source": "pipeline",
    "train": "experiment",
}

if TYPE_CHECKING:  # pragma: no cover
    from .compiler import lower_to_layers
    from .pipeline import compile, load, read_source
    from .errors import NetlangError
    from .expectations import check_expectations
    from .formatter import format_program, format_source
    from .nodes import Program, Span
    from .parser import parse
    from .runtime import Layer, Network
    from .experiment import train


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netlang' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "Layer",
    "NetlangError",
    "check_expectations",
    "Network",
    "Program",
    "Span",
    "compile",
    "format_program",
    "format_source",
    "load",
    "lower_to_layers",
    "parse",
    "read_source",
    "train",
    "__version__",
]
