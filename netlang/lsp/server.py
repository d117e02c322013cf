"""The language server: the Language Server Protocol over stdio, on pygls 2.

Thin: each request converts positions between the protocol's units and netlang's spans and
asks :class:`~netlang.lsp.analysis.Analysis`, which holds all the logic. An analysis runs
once per version of a document, in one worker thread (the parser and checker are
CPU-bound; one thread keeps the event loop free to read messages, cancel stale work and
answer). Diagnostics wait for a pause in typing (``DEBOUNCE_SECONDS``) before they run.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import sys
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Dict, List, Optional, Sequence

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..nodes import Span

if TYPE_CHECKING:  # pragma: no cover - imported in the worker thread, after the initialize answer
    from ..errors import NetlangError
    from .analysis import Analysis, Versions

# The analysis (parser, checker, numpy) is imported by the worker thread once the client has
# its `initialize` answer: lsprotocol alone takes most of the start-up (benchmarks/lsp.py).
_ANALYSIS = "netlang.lsp.analysis"

# Diagnostics run this long after the last change: one analysis per pause in typing, not per
# keystroke (an edit of a 1,000-line file takes about 20 ms to analyse; benchmarks/lsp.py).
DEBOUNCE_SECONDS = 0.1
# What the hovers and the rest will need (the names of the statements an edit touched; numpy and
# the runtime, the first time) is made once typing has paused this long after the diagnostics:
# made at once, it held the interpreter's lock when a fast typist's next change came in, and
# reading that change waited (5-10 ms an edit; the first edit after opening a file, 50 ms behind
# the import of numpy; benchmarks/lsp.py). A question asked sooner makes what it needs itself
# (the names of the statements an edit touched: about 3 ms for a 1,000-line file).
IDLE_SECONDS = 0.3
# LSP's "request failed" error code: the request was valid, its answer is a refusal.
REQUEST_FAILED = -32803

TOKEN_TYPES = ["keyword", "function", "parameter", "variable", "number", "string", "comment", "operator"]
_SYMBOL_KINDS = {
    "input": types.SymbolKind.Variable,
    "constant": types.SymbolKind.Constant,
    "node": types.SymbolKind.Function,
    "layer": types.SymbolKind.Array,
    "output": types.SymbolKind.Event,
}
_COMPLETION_KINDS = {
    "input": types.CompletionItemKind.Variable,
    "constant": types.CompletionItemKind.Constant,
    "node": types.CompletionItemKind.Function,
    "layer": types.CompletionItemKind.Field,
    "function": types.CompletionItemKind.Function,
    "keyword": types.CompletionItemKind.Keyword,
}


class Units:
    """Columns of one text in the protocol's units (UTF-16 code units unless negotiated)."""

    def __init__(self, text: str, encoding: Optional[str]) -> None:
        self.lines = text.split("\n")
        self.encoding = encoding or types.PositionEncodingKind.Utf16

    def __repr__(self) -> str:
        return f"Units({len(self.lines)} lines, {self.encoding})"

    def _length(self, text: str) -> int:
        if self.encoding == types.PositionEncodingKind.Utf32:
            return len(text)
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(text.encode("utf-8", "surrogatepass"))
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, line: int, column: int) -> types.Position:
        """netlang's 1-based (line, column) as a protocol position."""
        if line < 1:
            return types.Position(0, 0)
        if line > len(self.lines):
            return types.Position(len(self.lines), 0)
        return types.Position(line - 1, self._length(self.lines[line - 1][: max(column - 1, 0)]))

    def range(self, span: Span) -> types.Range:
        return types.Range(self.position(span.line, span.column), self.position(span.end_line, span.end_column))

    def location(self, position: types.Position) -> tuple[int, int]:
        """A protocol position as netlang's 1-based (line, column)."""
        if position.line >= len(self.lines):
            return len(self.lines), len(self.lines[-1]) + 1
        text = self.lines[position.line]
        if self.encoding == types.PositionEncodingKind.Utf32:
            return position.line + 1, min(position.character, len(text)) + 1
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return position.line + 1, index + 1
            units += self._length(char)
        return position.line + 1, len(text) + 1

    def whole(self) -> types.Range:
        return types.Range(types.Position(0, 0), self.position(len(self.lines), len(self.lines[-1]) + 1))


class NetlangServer(LanguageServer):
    """netlang's language server: one cached :class:`Analysis` per open document."""

    def __init__(self) -> None:
        super().__init__("netlang", __version__)
        self.analyses: Dict[str, Analysis] = {}
        # What each open document's analyses keep from version to version: a change re-parses
        # only the statements it touched (a one-weight edit of a 1,000-line file: about 4 ms
        # instead of 140; benchmarks/parse.py), computes the value of the nodes it touched alone,
        # and collects the names of those statements alone.
        self.versions: Dict[str, Versions] = {}
        self.pending: Dict[str, asyncio.Task[None]] = {}
        # The analysis being made of each document: (its text, its future), so that a request
        # arriving meanwhile waits for it instead of making a second one.
        self.running: Dict[str, tuple[str, asyncio.Future[Analysis]]] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlang-analysis")
        self.warm = False  # whether what the hovers need beyond the diagnostics is imported
        self._units: "weakref.WeakKeyDictionary[Analysis, Units]" = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"NetlangServer({len(self.analyses)} documents)"

    def units(self, analysis: Analysis) -> Units:
        """The text's lines in protocol units, made once per analysis (a 10,000-line file's split costs 1 ms)."""
        units = self._units.get(analysis)
        if units is None:
            units = self._units[analysis] = Units(analysis.text, self.workspace.position_encoding)
        return units

    async def analysis(self, uri: str) -> Optional[Analysis]:
        """The analysis of the document's current text (made now if the text changed)."""
        document = self.workspace.get_text_document(uri)
        text = document.source
        cached = self.analyses.get(uri)
        if cached is not None and cached.text == text:
            return cached
        running = self.running.get(uri)
        if running is None or running[0] != text:
            filename = to_fs_path(uri) if uri.startswith("file:") else None
            future = asyncio.get_running_loop().run_in_executor(self.worker, self._analyse, uri, text, filename or "<string>")
            running = self.running[uri] = (text, future)
        try:
            analysis = await asyncio.shield(running[1])
        except Exception:  # noqa: BLE001 - a bug in netlang must not take the editor's server down
            self.window_log_message(
                types.LogMessageParams(types.MessageType.Error, f"netlang failed on {uri}:\n{traceback.format_exc()}")
            )
            return None
        finally:
            if self.running.get(uri) is running:
                del self.running[uri]
        self.analyses[uri] = analysis
        return analysis

    def _analyse(self, uri: str, text: str, filename: str) -> Analysis:
        """The analysis of ``text`` (in the worker thread), with what the document's earlier versions kept."""
        module = importlib.import_module(_ANALYSIS)
        versions = self.versions.get(uri)
        opened = versions is None
        if versions is None:
            versions = self.versions[uri] = module.Versions()
        analysis = module.Analysis(text, filename, versions)
        if opened:
            # What the server holds once a document is open (pygls, lsprotocol's classes, numpy,
            # the parser, the document's tree) lives about as long as the server: frozen, the
            # collector's full collections no longer walk it. With a 1,000-line document open,
            # each full collection took 90-160 ms (about one in 20 edits, the slowest diagnostics
            # of benchmarks/lsp.py); frozen, 7-18 ms. Frozen objects are still freed when no
            # longer referenced; only garbage in reference cycles at this moment is kept.
            gc.freeze()
        return analysis

    def schedule(self, uri: str, delay: float) -> None:
        """Publish the document's diagnostics after ``delay`` seconds, unless it changes first."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        task = self.pending[uri] = asyncio.get_running_loop().create_task(self._publish(uri, delay))
        task.add_done_callback(self._log_failure)

    def _log_failure(self, task: "asyncio.Task[None]") -> None:
        """A bug in the server's own code, said in the editor's log rather than lost."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"netlang lsp failed:\n{text}"))

    async def _publish(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return
        version = document.version
        analysis = await self.analysis(uri)
        if analysis is None or document.source != analysis.text:
            return  # the document changed meanwhile: its own task publishes
        units = self.units(analysis)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri, [_diagnostic(d, units) for d in analysis.diagnostics], version)
        )
        if self.pending.get(uri) is asyncio.current_task():
            del self.pending[uri]
        asyncio.get_running_loop().call_later(IDLE_SECONDS, self._prepare, uri, analysis)

    def _prepare(self, uri: str, analysis: Analysis) -> None:
        """After a pause in typing: the names, for the hovers and the rest to come (given up if
        the document changes meanwhile, so that its analysis need not wait); numpy and the
        runtime the first time (the diagnostics need neither: the checker's arrays are Grids)."""
        if uri in self.pending or self.analyses.get(uri) is not analysis:
            return  # changed again: the next publication prepares
        self.worker.submit(analysis.prepare, lambda: uri not in self.pending)
        if not self.warm:
            self.warm = True
            self.worker.submit(importlib.import_module, "netlang.runtime")


def _diagnostic(error: NetlangError, units: Units) -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Warning if error.severity == "warning" else types.DiagnosticSeverity.Error
    message = error.message + (f"\nhint: {error.hint}" if error.hint else "")
    return types.Diagnostic(units.range(error.span), message, severity=severity, code=error.code, source="netlang")


def _overlaps(span: Span, start: tuple[int, int], end: tuple[int, int]) -> bool:
    return (span.line, span.column) <= end and start <= (span.end_line, span.end_column)


def make_server() -> NetlangServer:
    server = NetlangServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: NetlangServer, params: types.InitializedParams) -> None:
        # After the initialize answer, not during it: the import holds the interpreter's lock.
        ls.worker.submit(importlib.import_module, _ANALYSIS)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: NetlangServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: NetlangServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: NetlangServer, params: types.DidSaveTextDocumentParams) -> None:
        # Weight files beside it may have changed too: analyse afresh.
        ls.analyses.pop(params.text_document.uri, None)
        ls.schedule(params.text_document.uri, 0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: NetlangServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.analyses.pop(uri, None)
        ls.versions.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    def answers(method: str, options: Any = None) -> Callable[[Callable[[Analysis, Units, Any], Any]], Any]:
        """Register a request about one document: the handler gets its current analysis
        (None is the answer when netlang failed on the text; the failure is logged)."""

        def register(handler: Callable[[Analysis, Units, Any], Any]) -> Any:
            async def feature(ls: NetlangServer, params: Any) -> Any:
                analysis = await ls.analysis(params.text_document.uri)
                if analysis is None:
                    return None
                # In the worker too: the first question about a version builds its names.
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(ls.worker, handler, analysis, ls.units(analysis), params)

            server.feature(method, options)(feature)
            return handler

        return register

    @answers(types.TEXT_DOCUMENT_HOVER)
    def hover(analysis: Analysis, units: Units, params: types.HoverParams) -> Optional[types.Hover]:
        found = analysis.hover(*units.location(params.position))
        if found is None:
            return None
        text, span = found
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), units.range(span))

    @answers(types.TEXT_DOCUMENT_DEFINITION)
    def definition(analysis: Analysis, units: Units, params: types.DefinitionParams) -> Optional[types.Location]:
        symbol = analysis.definition(*units.location(params.position))
        return None if symbol is None else types.Location(params.text_document.uri, units.range(symbol.span))

    @answers(types.TEXT_DOCUMENT_REFERENCES)
    def references(analysis: Analysis, units: Units, params: types.ReferenceParams) -> Optional[List[types.Location]]:
        occurrence = analysis.occurrence_at(*units.location(params.position))
        if occurrence is None or occurrence.name not in analysis.symbols:
            return None
        found = analysis.references(occurrence.name, params.context.include_declaration)
        return [types.Location(params.text_document.uri, units.range(o.span)) for o in found]

    @answers(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(analysis: Analysis, units: Units, params: types.PrepareRenameParams) -> Optional[types.Range]:
        span = analysis.prepare_rename(*units.location(params.position))
        return None if span is None else units.range(span)

    @answers(types.TEXT_DOCUMENT_RENAME)
    def rename(analysis: Analysis, units: Units, params: types.RenameParams) -> types.WorkspaceEdit:
        from .analysis import RenameRefused

        try:
            edits = analysis.rename(*units.location(params.position), params.new_name)
        except RenameRefused as refusal:
            raise JsonRpcException(str(refusal), code=REQUEST_FAILED) from None
        changes = [types.TextEdit(units.range(edit.span), edit.text) for edit in edits]
        return types.WorkspaceEdit(changes={params.text_document.uri: changes})

    @answers(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(analysis: Analysis, units: Units, params: types.DocumentSymbolParams) -> List[types.DocumentSymbol]:
        return [
            types.DocumentSymbol(
                name=symbol.name,
                kind=_SYMBOL_KINDS[symbol.kind],
                range=units.range(symbol.span),
                selection_range=units.range(symbol.selection),
                detail=symbol.kind,
            )
            for symbol in analysis.document_symbols()
        ]

    @answers(types.TEXT_DOCUMENT_COMPLETION)
    def completion(analysis: Analysis, units: Units, params: types.CompletionParams) -> types.CompletionList:
        items = [
            types.CompletionItem(item.label, kind=_COMPLETION_KINDS[item.kind], detail=item.detail)
            for item in analysis.completions(*units.location(params.position))
        ]
        return types.CompletionList(is_incomplete=False, items=items)

    @answers(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(analysis: Analysis, units: Units, params: types.DocumentFormattingParams) -> Optional[List[types.TextEdit]]:
        formatted = analysis.formatted()
        if formatted is None:
            return None  # syntax errors: `netlang fmt` refuses the file too
        return [] if formatted == analysis.text else [types.TextEdit(units.whole(), formatted)]

    @answers(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    def inlay_hints(analysis: Analysis, units: Units, params: types.InlayHintParams) -> List[types.InlayHint]:
        first, last = params.range.start.line + 1, params.range.end.line + 1
        return [
            types.InlayHint(units.position(hint.line, hint.column), hint.label, kind=types.InlayHintKind.Type)
            for hint in analysis.inlay_hints()
            if first <= hint.line <= last
        ]

    @answers(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=[]),
    )
    def semantic_tokens(analysis: Analysis, units: Units, params: types.SemanticTokensParams) -> types.SemanticTokens:
        return types.SemanticTokens(data=_encode_tokens(analysis.semantic_tokens(), units))

    @answers(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_actions(analysis: Analysis, units: Units, params: types.CodeActionParams) -> List[types.CodeAction]:
        start, end = units.location(params.range.start), units.location(params.range.end)
        actions = []
        for fix in analysis.fixes():
            if not _overlaps(fix.diagnostic.span, start, end):
                continue
            edits = [types.TextEdit(units.range(edit.span), edit.text) for edit in fix.edits]
            actions.append(
                types.CodeAction(
                    fix.title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[_diagnostic(fix.diagnostic, units)],
                    edit=types.WorkspaceEdit(changes={params.text_document.uri: edits}),
                    is_preferred=True,
                )
            )
        return actions

    return server


def _encode_tokens(tokens: Sequence[tuple[int, int, int, str]], units: Units) -> List[int]:
    """The protocol's relative encoding: (line delta, start delta, length, type, modifiers) per token."""
    data: List[int] = []
    previous_line, previous_start = 0, 0
    for line, column, length, kind in tokens:
        start = units.position(line, column)
        end = units.position(line, column + length)
        delta_line = start.line - previous_line
        delta_start = start.character - previous_start if delta_line == 0 else start.character
        data += [delta_line, delta_start, end.character - start.character, TOKEN_TYPES.index(kind), 0]
        previous_line, previous_start = start.line, start.character
    return data


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Run the server on the two streams until the client says exit.

    ``sys.stdout`` points at stderr meanwhile: a stray print must not corrupt a message.
    """
    logging.basicConfig(level=logging.WARNING)
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        make_server().start_io(stdin, stdout)
    finally:
        sys.stdout = saved


# --- the initialize answer given before pygls is imported (netlang.lsp.handshake) ----------


def pygls_answer(request: Dict[str, Any]) -> Any:
    """What pygls answers to one JSON-RPC request sent first to a new server: the message's
    ``result`` (or ``error``), as JSON data, exactly as it would be written to the client."""
    server = make_server()
    written: List[bytes] = []

    class Capture:
        def write(self, data: bytes) -> None:
            written.append(data)

        def close(self) -> None:
            pass

    server.protocol.set_writer(Capture())
    server.protocol.handle_message(json.loads(json.dumps(request), object_hook=server.protocol.structure_message))
    server.worker.shutdown()
    answer = json.loads(written[-1].partition(b"\r\n\r\n")[2])
    return answer.get("result", answer.get("error"))


def initialize_answers() -> Dict[str, Any]:
    """pygls' answers to ``initialize`` for each kind of client that gets a different one
    (``handshake.answer_key``), with the versions of pygls and lsprotocol they come from."""
    import itertools

    from .handshake import ENCODINGS, answer_key, installed_version

    answers = {}
    for encoding, prepare, will_save, will_save_wait_until in itertools.product(ENCODINGS, *[(False, True)] * 3):
        synchronization = {"willSave": False} if will_save else {}
        if will_save_wait_until:
            synchronization["willSaveWaitUntil"] = False
        text_document = {"rename": {"prepareSupport": prepare}, "synchronization": synchronization}
        capabilities = {"general": {"positionEncodings": [encoding]}, "textDocument": text_document}
        params = {"processId": None, "rootUri": None, "capabilities": capabilities}
        result = pygls_answer({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        answers[str(answer_key(params))] = result["capabilities"]
    versions = {package: installed_version(package) for package in ("pygls", "lsprotocol")}
    return {"versions": versions, "answers": answers}


def write_initialize_answers() -> None:
    """Write netlang/lsp/initialize.json (tests/test_lsp_handshake.py fails when it is out of date)."""
    from ..files import write_text
    from .handshake import ANSWERS

    write_text(ANSWERS, json.dumps(initialize_answers(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover - python -m netlang.lsp.server --write-initialize
    if sys.argv[1:] != ["--write-initialize"]:
        raise SystemExit("usage: python -m netlang.lsp.server --write-initialize")
    write_initialize_answers()
