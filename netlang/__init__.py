"""netlang: describe neural networks neuron by neuron or layer by layer, compile them to weight matrices, run them.

    >>> import netlang
    >>> net = netlang.compile("input x1, x2\\nnode y = step(0.5*x1 + 0.5*x2 > 0.7)")
    >>> net.run({"x1": 1, "x2": 1})
    {'y': 1.0}
"""

from .compiler import compile, load, lower_to_layers, read_source
from .errors import NetlangError
from .formatter import format_program, format_source
from .nodes import Program, Span
from .parser import parse
from .runtime import Layer, Network

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "NetlangError",
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
    "__version__",
]
