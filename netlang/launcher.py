"""Launcher stage: the ``netlang`` console script; a fast path for ``run`` on a cached network, else the click CLI.

``netlang run FILE --x V... [--json]`` on a file whose compiled network is in the cache
(netlang.cache) is answered here, without importing the parser (Lark) or the CLI (click),
which together cost more start-up time than numpy. Anything else (another command, other
options, an arity error, a cache miss) goes to ``netlang.cli.main`` unchanged, so messages
and exit codes are always the CLI's own. The fast path takes only this exact form::

    netlang run FILE [--x V [V ...]] [--json]

with FILE first and every V a finite number; ``--x`` and ``--json`` in either order.
"""

from __future__ import annotations

import math
import sys
from typing import List, Optional, Sequence


def _finite(text: str) -> Optional[float]:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _fast_arguments(args: Sequence[str]) -> Optional[tuple]:
    """(file, values or None, as_json) when ``args`` is the simple form of ``run``, else None."""
    if len(args) < 2 or args[0] != "run" or args[1].startswith("-"):
        return None
    file = args[1]
    values: Optional[List[float]] = None
    as_json = False
    i = 2
    while i < len(args):
        argument = args[i]
        if argument == "--json" and not as_json:
            as_json = True
            i += 1
        elif argument == "--x" and values is None:
            i += 1
            values = []
            while i < len(args) and args[i] != "--json":
                value = _finite(args[i])
                if value is None:
                    return None
                values.append(value)
                i += 1
            if not values:
                return None
        else:
            return None
    return file, values, as_json


def fast_run(args: Sequence[str]) -> Optional[str]:
    """What ``netlang run`` prints for ``args``, if the fast path can answer; None to use the CLI."""
    parsed = _fast_arguments(args)
    if parsed is None:
        return None
    file, values, as_json = parsed
    from . import cache

    entry_key = cache.key(file)
    network = cache.read(entry_key) if entry_key is not None else None
    if network is None:
        return None
    if values is None:
        if network.input_width:
            return None
        values = []
    if len(values) != network.input_width:
        return None
    from .display import outputs_text

    return outputs_text(network.split_outputs(network(values)), as_json)


def main() -> None:
    """The console script: ``netlang ...``."""
    text = fast_run(sys.argv[1:])
    if text is not None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        raise SystemExit(0)
    from .cli import main as cli_main

    # Named explicitly: click would otherwise guess from __main__ (e.g. "python -m pytest").
    cli_main(prog_name="netlang")
if __name__ == "__main__":  # pragma: no cover
    main()
