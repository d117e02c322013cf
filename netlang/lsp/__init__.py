"""netlang's language server (``netlang lsp``): diagnostics, hovers, shapes and fixes in any editor.

The server speaks the Language Server Protocol on stdin and stdout, built on pygls
(optional extra ``lsp``: ``pip install 'netlang[lsp]'``), which is imported only when the
server starts. ``netlang.lsp.analysis`` holds the logic and needs no pygls;
``netlang.lsp.server`` is the protocol layer. docs/editors.md shows how to use it from
VS Code, Neovim, Helix, Emacs and other editors.
"""

from __future__ import annotations

from ..extras import require


def serve() -> None:
    """Run the language server on stdio; a NetlangError (``missing-extra``) if pygls is not installed."""
    require("pygls", "lsp", "the language server")
    require("lsprotocol", "lsp", "the language server")
    from .server import serve as serve_stdio

    serve_stdio()
