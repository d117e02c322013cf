"""netlang's language server (``netlang lsp``): diagnostics, hovers, shapes and fixes in any editor.

The server speaks the Language Server Protocol on stdin and stdout, built on pygls
(optional extra ``lsp``: ``pip install 'netlang[lsp]'``), which is imported only when the
server starts, after it has answered ``initialize`` (``netlang.lsp.handshake``).
``netlang.lsp.analysis`` holds the logic and needs no pygls; ``netlang.lsp.server`` is the
protocol layer. docs/editors.md shows how to use it from VS Code, Neovim, Helix, Emacs and
other editors.
"""

from __future__ import annotations

import importlib.util
import os
from typing import BinaryIO, Tuple, cast


def installed() -> bool:
    """Whether pygls and lsprotocol can be imported (found, without importing them)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("pygls", "lsprotocol"))
    except ValueError:  # a module set to None in sys.modules: not importable
        return False


def serve() -> None:
    """Run the language server on stdio; a NetlangError (``missing-extra``) if pygls is not installed.

    The protocol gets its own handles on the two streams (pygls closes them when it stops).
    The ``initialize`` request is answered first, from the standard library alone; pygls and
    netlang's parser and checker are imported after it.
    """
    if not installed():
        from ..extras import require

        require("pygls", "lsp", "the language server")  # raises missing-extra, naming the extra
        require("lsprotocol", "lsp", "the language server")
    from .. import __version__
    from .handshake import Output, Replay, read_message, stored_answer, write_message

    stdin, stdout = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    first, message = read_message(stdin)
    result = stored_answer(message, __version__)
    answered = None
    if message is not None and result is not None:
        write_message(stdout, {"jsonrpc": "2.0", "id": message["id"], "result": result})
        answered = message["id"]
    streams: Tuple[BinaryIO, BinaryIO] = (
        cast(BinaryIO, Replay(first, stdin)),
        cast(BinaryIO, Output(stdout, answered, result)),
    )
    from .server import serve as serve_streams

    serve_streams(*streams)
