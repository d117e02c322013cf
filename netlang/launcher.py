"""The ``netlang`` console script: a fast path for ``run`` on a cached network and one for
``netlang lsp``, else the click CLI.

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
import os
import sys
from typing import List, Optional, Sequence

from .numerals import parse_number


def _finite(text: str) -> Optional[float]:
    value = parse_number(text)
    return value if value is not None and math.isfinite(value) else None


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


def _run(args: Sequence[str]) -> None:
    if list(args) == ["lsp"]:
        from . import lsp

        # As the CLI's `netlang lsp` does, without importing click and the CLI first: an
        # editor waits for the server's first answer (benchmarks/lsp.py).
        if lsp.installed():
            lsp.serve()
            return
    text = fast_run(args)
    if text is not None:
        sys.stdout.write(text + "\n")
        raise SystemExit(0)
    from .cli import main as cli_main

    # Named explicitly: click would otherwise guess from __main__ (e.g. "python -m pytest").
    cli_main(args=list(args), prog_name="netlang")


def _fail(message: str) -> None:
    """``message`` on stderr (if stderr still works), as netlang's other errors are written."""
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass


def _drop_stdout() -> None:
    """Send what is left in stdout's buffer to /dev/null: Python flushes it at exit, and would fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    """The console script: ``netlang ...`` (and ``python -m netlang ...``).

    Whatever a command does, the process ends here in one of netlang's exits, without a
    traceback: a failure writing standard output (``> /dev/full``, a closed pipe) is
    reported as such (exit 1; a broken pipe, as when piping into ``head``, quietly),
    Ctrl-C exits with 130, and running out of memory is reported (exit 1).
    """
    try:
        try:
            _run(sys.argv[1:])
        finally:
            sys.stdout.flush()  # fails here, where it can be reported, rather than at exit
    except KeyboardInterrupt:
        _drop_stdout()
        try:
            sys.stderr.write("\n")  # ends the line the terminal's ^C is on, as the CLI does
        except OSError:
            pass
        raise SystemExit(130) from None
    except BrokenPipeError:
        _drop_stdout()  # the reader has gone (netlang ... | head): nothing to say to it
        raise SystemExit(1) from None
    except OSError as error:
        _drop_stdout()
        if error.filename is None:
            _fail(f"cannot write to standard output: {error.strerror or error}")
        else:
            _fail(f"cannot write '{error.filename}': {error.strerror or error}")
        raise SystemExit(1) from None
    except MemoryError:
        _drop_stdout()
        _fail("out of memory: the network or the work asked for does not fit in this machine's memory")
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
