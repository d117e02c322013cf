"""`netlang lsp` end to end: a real LSP client (pytest-lsp) starts the server as a subprocess
and talks to it over stdio, as an editor does. Every method the server offers is exercised;
the answers are compared with what the library and the command line say about the same text.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed: pip install 'netlang[lsp]'")
pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp is not installed: pip install 'netlang[test]'")

from lsprotocol import types  # noqa: E402
from pygls.exceptions import JsonRpcException  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402

from netlang.formatter import format_source  # noqa: E402
from netlang.lexical import scan  # noqa: E402
from netlang.lint import diagnose  # noqa: E402
from netlang.parser import keywords  # noqa: E402

from conftest import EXAMPLES, ROOT  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import mutate  # noqa: E402


def _server_command() -> List[str]:
    """`netlang lsp`, as an editor starts it: the console script beside this Python."""
    script = Path(sys.executable).with_name("netlang")
    if script.exists():
        return [str(script), "lsp"]
    return [sys.executable, "-c", "from netlang.cli import main; main()", "lsp"]


def _client() -> LanguageClient:
    """pytest-lsp's client, keeping every publishDiagnostics by (uri, version): a test waits
    for the diagnostics of the version it sent, however the notifications interleave."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = {}  # type: ignore[attr-defined]
    original = DEFAULT_CLIENT_FEATURES[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        client.published[(params.uri, params.version)] = params.diagnostics  # type: ignore[attr-defined]
        original(client, params)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    register_lsp_features(client, features)
    return client


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=_server_command(), client_factory=_client), scope="module"
)
async def client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(ROOT)))
    )
    lsp_client.server_capabilities = result.capabilities  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


class Opened:
    """A document open in the client: its uri, its version, its text."""

    def __init__(self, client: LanguageClient, path: Path, text: str) -> None:
        self.client, self.path, self.text, self.version = client, path, text, 1
        self.uri = from_fs_path(str(path))

    async def open(self) -> List[types.Diagnostic]:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(self.uri, "netlang", self.version, self.text))
        )
        return await self.diagnostics()

    async def change(self, text: str) -> List[types.Diagnostic]:
        self.version += 1
        self.text = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(self.version, self.uri),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        return await self.diagnostics()

    async def diagnostics(self) -> List[types.Diagnostic]:
        """The diagnostics published for this version (earlier ones, if any, are skipped)."""
        key = (self.uri, self.version)
        published = self.client.published  # type: ignore[attr-defined]
        for _ in range(6000):  # a minute at most
            if key in published:
                self.published: List[types.Diagnostic] = list(published.pop(key))
                return self.published
            await asyncio.sleep(0.01)
        raise AssertionError(f"no diagnostics for version {self.version} of {self.path.name}")

    def close(self) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(self.uri)))

    def at(self, needle: str, nth: int = 0, offset: int = 0) -> types.Position:
        """The position of the nth occurrence of ``needle`` (plus ``offset`` characters)."""
        index = -1
        for _ in range(nth + 1):
            index = self.text.index(needle, index + 1)
        index += offset
        line = self.text.count("\n", 0, index)
        return types.Position(line, index - (self.text.rfind("\n", 0, index) + 1))

    def ident(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(self.uri)


async def _opened(client: LanguageClient, tmp_path: Path, text: str, name: str = "model.net") -> Opened:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    document = Opened(client, path, text)
    await document.open()
    return document


def _expected(path: Path) -> List[tuple]:
    """What `netlang check` reports for the file: (code, severity, start, end, message)."""
    found = []
    for d in diagnose(path).diagnostics:
        start = (max(d.line - 1, 0), max(d.column - 1, 0))
        end = (max(d.end_line - 1, 0), max(d.end_column - 1, 0))
        found.append((d.code, d.severity, start, end, d.message))
    return found


def _seen(diagnostics: List[types.Diagnostic]) -> List[tuple]:
    severity = {types.DiagnosticSeverity.Error: "error", types.DiagnosticSeverity.Warning: "warning"}
    return [
        (
            d.code,
            severity[d.severity],
            (d.range.start.line, d.range.start.character),
            (d.range.end.line, d.range.end.character),
            d.message.split("\nhint: ")[0],
        )
        for d in diagnostics
    ]


# --- start-up --------------------------------------------------------------------------


async def test_the_server_announces_every_feature(client: LanguageClient):
    capabilities = client.server_capabilities  # type: ignore[attr-defined]  # the initialize answer
    assert capabilities.hover_provider
    assert capabilities.definition_provider and capabilities.references_provider
    assert capabilities.rename_provider and capabilities.document_symbol_provider
    assert capabilities.completion_provider is not None and capabilities.document_formatting_provider
    assert capabilities.inlay_hint_provider and capabilities.code_action_provider
    legend = capabilities.semantic_tokens_provider.legend
    assert "keyword" in legend.token_types and "function" in legend.token_types


# --- diagnostics -----------------------------------------------------------------------


def _catalogue_cases() -> List[Path]:
    cases = sorted(EXAMPLES.glob("**/*.net")) + sorted((ROOT / "tests" / "errors").glob("*.net"))
    return [case for case in cases if case.stat().st_size < 100_000]


async def test_diagnostics_are_what_netlang_check_reports(client: LanguageClient):
    """Every example and every case of the error catalogue: the same codes, places and messages."""
    compared = 0
    for path in _catalogue_cases():
        text = path.read_bytes().decode("utf-8", errors="replace")
        if "\ufffd" in text:
            continue  # not UTF-8: an editor could not hold it as text
        document = Opened(client, path, text)
        diagnostics = await document.open()
        document.close()
        assert _seen(diagnostics) == _expected(path), path.name
        compared += 1
    assert compared > 100


async def test_a_document_goes_broken_fixed_broken(client: LanguageClient, tmp_path: Path):
    document = await _opened(client, tmp_path, "input x1, x2\nnode y = step(x1 + x2 > 1)\noutput y\n")
    assert document.published == []
    broken = await document.change("input x1, x2\nnode y = step(x1 + x3 > 1\noutput y\n")
    assert [d.code for d in broken] and all(d.severity == types.DiagnosticSeverity.Error for d in broken)
    assert "syntax-error" in [d.code for d in broken]
    fixed = await document.change("input x1, x2\nnode y = step(x1 + x2 > 1)\noutput y\n")
    assert fixed == []
    broken_again = await document.change("input x1, x2\nnode y = step(x1 + x3 > 1)\noutput y\n")
    assert [d.code for d in broken_again] == ["unknown-name"]
    assert broken_again[0].range.start == types.Position(1, 19)
    # An incremental change, as editors send them: 'x3' becomes 'x2' again.
    document.version += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(document.version, document.uri),
            [types.TextDocumentContentChangePartial(types.Range(types.Position(1, 19), types.Position(1, 21)), "x2")],
        )
    )
    assert await document.diagnostics() == []
    document.close()


async def test_syntax_errors_come_with_the_checker_errors_of_the_rest(client: LanguageClient, tmp_path: Path):
    text = "input x\nnode a = x +\nnode b = 2*q\noutput b\n"
    document = await _opened(client, tmp_path, text)
    codes = [d.code for d in await document.change(text)]
    assert codes == ["syntax-error", "unknown-name"]
    document.close()


async def test_an_unsaved_document_is_checked_from_the_editor_text(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "disk.net"
    path.write_text("input x\nnode y = x\noutput y\n")
    document = Opened(client, path, "input x\nnode y = z\noutput y\n")  # the editor's text, not saved
    diagnostics = await document.open()
    assert [d.code for d in diagnostics] == ["unknown-name"]
    document.close()


async def test_weight_files_resolve_beside_the_document(client: LanguageClient, tmp_path: Path):
    shutil.copytree(EXAMPLES / "mnist", tmp_path / "mnist")
    path = tmp_path / "mnist" / "mnist.net"
    document = Opened(client, path, path.read_text())
    assert await document.open() == []
    outside = await document.change(document.text.replace('load("weights.npz"', 'load("../weights.npz"', 1))
    assert [d.code for d in outside] == ["path-outside"]
    document.close()


# --- hover, inlay hints ------------------------------------------------------------------


async def _hover(client: LanguageClient, document: Opened, position: types.Position) -> Optional[str]:
    answer = await client.text_document_hover_async(types.HoverParams(document.ident(), position))
    return None if answer is None else answer.contents.value


# examples/xor.net without its comments (positions below are found by searching the text)
XOR = (
    "input x1, x2\n"
    "node s1 = step(-0.5*x1 - 0.5*x2 > -0.7)\n"
    "node s2 = step(0.5*x1 + 0.5*x2 > 0.2)\n"
    "node y = step(0.5*s1 + 0.5*s2 > 0.7)\n"
    "output y\n"
    "# a comment\n"
)


async def test_hover(client: LanguageClient, tmp_path: Path):
    text = XOR
    document = await _opened(client, tmp_path, text)
    node = await _hover(client, document, document.at("y = step", offset=0))
    assert "node y = step(0.5*s1 + 0.5*s2 > 0.7)" in node  # its definition
    assert "`step(0.5*s1 + 0.5*s2 > 0.7)`" in node and "threshold" in node  # its compiled row
    nand = await _hover(client, document, document.at("s1", nth=1))  # a use of s1
    assert "step(-0.5*x1 - 0.5*x2 > -0.7)" in nand
    assert "input: one value" in await _hover(client, document, document.at("x1"))
    assert "activation" in await _hover(client, document, document.at("step"))
    assert await _hover(client, document, document.at("# a comment")) is None
    document.close()


async def test_hover_shapes_constants_rows_and_weight_files(client: LanguageClient, tmp_path: Path):
    shutil.copytree(EXAMPLES / "mnist", tmp_path / "mnist")
    text = (
        (EXAMPLES / "mnist" / "mnist.net").read_text().replace("output digit", "output digit, z")
        + "let k = 0.25\nlet v = [1, 2, 3]\nlet m = [0.1, 0.2, 0.3] @ [1, 1, 1]\nnode z = k*digit[2] + m\n"
    )
    # m's last bit is BLAS's (orders of summation differ): the server's check knows it only
    # within bounds, without numpy, and its hovers show numpy's own float.
    m = repr(float(np.array([0.1, 0.2, 0.3]) @ np.ones(3)))
    path = tmp_path / "mnist" / "edited.net"
    document = Opened(client, path, text)
    await document.open()
    layer = await _hover(client, document, document.at("layer hidden", offset=6))
    assert "layer: 100 neurons" in layer and "weights 100x784" in layer
    row = await _hover(client, document, document.at("digit[2]"))
    assert "neuron 2 of layer digit" in row and "sigmoid(" in row
    assert "constant: 0.25" in await _hover(client, document, document.at("k ="))
    assert f"constant: {m}\n" in await _hover(client, document, document.at("m =")) + "\n"
    row = await _hover(client, document, document.at("node z", offset=5))
    assert f"0.25*digit[2] + {m}" in row, row  # its compiled row, lowered with numpy's float
    assert "a vector of 3 values" in await _hover(client, document, document.at("v ="))
    assert "100x784 matrix" in await _hover(client, document, document.at("W1", nth=0))
    header = await _hover(client, document, document.at('load("weights.npz", "W1")', offset=2))
    assert "shape 100x784" in header and "dtype float" in header
    document.close()


async def test_inlay_hints_give_the_shapes_the_file_does_not_write(client: LanguageClient, tmp_path: Path):
    text = "input x[3]\nlet W = [[1, 2, 3], [4, 5, 6]]\nlayer h = W @ x\nlayer g[2] = h\noutput g\n"
    document = await _opened(client, tmp_path, text)
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(document.ident(), types.Range(types.Position(0, 0), types.Position(5, 0)))
    )
    seen = {(h.position.line, h.position.character, h.label) for h in hints}
    assert seen == {(1, 5, ": 2x3"), (2, 7, "[2]")}  # g says [2] itself
    document.close()


# --- names: definition, references, rename, symbols ---------------------------------------


async def test_definition_and_references(client: LanguageClient, tmp_path: Path):
    text = XOR
    document = await _opened(client, tmp_path, text)
    found = await client.text_document_definition_async(types.DefinitionParams(document.ident(), document.at("s2", nth=1)))
    assert found.range.start == document.at("s2")  # `node s2 = ...`
    references = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=document.ident(),
            position=document.at("x1"),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert [r.range.start for r in references] == [document.at("x1", nth=i) for i in range(3)]
    without = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=document.ident(),
            position=document.at("x1"),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert len(without) == 2
    document.close()


async def _rename(client: LanguageClient, document: Opened, position: types.Position, new: str) -> str:
    edit = await client.text_document_rename_async(types.RenameParams(document.ident(), position, new))
    return _apply(document.text, edit.changes[document.uri])


def _apply(text: str, edits: List[types.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        return offsets[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def test_rename_and_its_refusals(client: LanguageClient, tmp_path: Path):
    text = XOR
    document = await _opened(client, tmp_path, text)
    renamed = await _rename(client, document, document.at("s1", nth=1), "nand")
    assert "s1" not in renamed and renamed.count("nand") == 2
    assert diagnose(document.path).diagnostics == [] and _compiles_same(text, renamed)
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(document.ident(), document.at("x2")))
    assert prepared.start == document.at("x2")
    for refused in ("node", "s2", "x1", "sigmoid", "2x"):
        with pytest.raises(JsonRpcException) as raised:
            await _rename(client, document, document.at("s1"), refused)
        assert raised.value.code == -32803
    document.close()


def _compiles_same(before: str, after: str) -> bool:
    import numpy as np

    import netlang

    a, b = netlang.compile(before), netlang.compile(after)
    return all(np.array_equal(x.weights, y.weights) for x, y in zip(a.layers, b.layers)) and len(a.layers) == len(b.layers)


async def test_document_symbols(client: LanguageClient, tmp_path: Path):
    text = "input x[3], b\nlet W = [[1, 2, 3]]\nnode n = b\nlayer h = W @ x\noutput h, n\n"
    document = await _opened(client, tmp_path, text)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(document.ident()))
    assert [(s.name, s.detail) for s in symbols] == [
        ("x", "input"), ("b", "input"), ("W", "constant"), ("n", "node"), ("h", "layer"), ("h", "output"), ("n", "output")
    ]
    document.close()


# --- completion, formatting, semantic tokens, code actions -------------------------------------


async def test_completion(client: LanguageClient, tmp_path: Path):
    text = "input x1, x2\nlet c = 2\nnode y = \n\n"
    document = await _opened(client, tmp_path, text)
    inside = await client.text_document_completion_async(
        types.CompletionParams(document.ident(), types.Position(2, 9))
    )
    labels = {item.label for item in inside.items}
    assert {"x1", "x2", "c", "sigmoid", "relu", "step", "load"} <= labels
    assert not labels & set(keywords())
    start = await client.text_document_completion_async(types.CompletionParams(document.ident(), types.Position(3, 0)))
    assert [item.label for item in start.items] == list(keywords())
    document.close()


async def test_formatting_is_netlang_fmt(client: LanguageClient, tmp_path: Path):
    text = "input   x1,x2 # the inputs\nnode y=step( 0.5*x1+0.5*x2>0.7 )\noutput y"
    document = await _opened(client, tmp_path, text)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(document.ident(), types.FormattingOptions(4, True))
    )
    assert _apply(text, edits) == format_source(text)
    await document.change(format_source(text))
    unchanged = await client.text_document_formatting_async(
        types.DocumentFormattingParams(document.ident(), types.FormattingOptions(4, True))
    )
    assert unchanged is not None and list(unchanged) == []
    await document.change("node y = (\n")
    assert await client.text_document_formatting_async(
        types.DocumentFormattingParams(document.ident(), types.FormattingOptions(4, True))
    ) is None  # a file with syntax errors is never reformatted, as with `netlang fmt`
    document.close()


async def test_semantic_tokens_follow_the_grammar(client: LanguageClient, tmp_path: Path):
    text = (EXAMPLES / "xor.net").read_text().replace("NAND", "NAND é")  # a non-ASCII comment
    document = await _opened(client, tmp_path, text)
    answer = await client.text_document_semantic_tokens_full_async(types.SemanticTokensParams(document.ident()))
    legend = client.server_capabilities.semantic_tokens_provider.legend.token_types  # type: ignore[attr-defined]
    line = character = 0
    decoded = []
    data = answer.data
    for i in range(0, len(data), 5):
        line += data[i]
        character = data[i + 1] if data[i] else character + data[i + 1]
        offset = sum(len(row) + 1 for row in text.split("\n")[:line]) + character
        decoded.append((text[offset : offset + data[i + 2]], legend[data[i + 3]]))
    expected_kinds = {"keyword", "number", "comment", "operator", "function"}
    assert expected_kinds <= {kind for _, kind in decoded}
    scanned = [t.text for t in scan(text) if t.kind not in ("whitespace", "newline", "bracket", "error")]
    assert [t for t, _ in decoded] == scanned
    assert ("step", "function") in decoded and ("node", "keyword") in decoded and ("x1", "parameter") in decoded
    document.close()


async def _actions(client: LanguageClient, document: Opened, diagnostics: List[types.Diagnostic]) -> List[types.CodeAction]:
    return await client.text_document_code_action_async(
        types.CodeActionParams(document.ident(), diagnostics[0].range, types.CodeActionContext(diagnostics))
    )


async def test_code_actions_fix_what_the_hint_says(client: LanguageClient, tmp_path: Path):
    text = "input x1, x2\nnode y = step(0.5*x1 + 0.5*x2 - x3 > 0.7)\noutput y\n"
    document = await _opened(client, tmp_path, text)
    typo = await document.change(text.replace("x3", "xx2"))
    actions = await _actions(client, document, typo)
    assert [a.title for a in actions] == ["Replace 'xx2' with 'x2'"]
    assert diagnose_text(_apply(document.text, actions[0].edit.changes[document.uri]), tmp_path) == []

    missing = await document.change(text.replace("x3", "bias"))
    actions = await _actions(client, document, missing)
    assert [a.title for a in actions] == ["Add 'bias' to the inputs"]
    fixed = _apply(document.text, actions[0].edit.changes[document.uri])
    assert fixed.startswith("input x1, x2, bias\n") and diagnose_text(fixed, tmp_path) == []

    matrix = "input x[3]\nlet W = [[1, 2, 3], [4, 5, 6]]\nlayer h = x @ W\noutput h\n"
    mismatch = await document.change(matrix)
    actions = await _actions(client, document, mismatch)
    assert [a.title for a in actions] == ["Rewrite as W @ x"]
    assert diagnose_text(_apply(document.text, actions[0].edit.changes[document.uri]), tmp_path) == []
    document.close()


def diagnose_text(text: str, folder: Path) -> List[str]:
    path = folder / "fixed.net"
    path.write_text(text)
    return [d.code for d in diagnose(path).diagnostics]


# --- robustness ---------------------------------------------------------------------------


async def test_mutated_documents_always_get_diagnostics(client: LanguageClient, tmp_path: Path):
    """The fuzz suite's mutations, typed into one open document: every version gets its
    diagnostics, every hover an answer, and the server never logs a failure."""
    rng = random.Random(14)
    seeds = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.net"))]
    document = await _opened(client, tmp_path, seeds[0].decode())
    for _ in range(60):
        text = mutate(rng.choice(seeds), rng).decode("utf-8", errors="replace")
        diagnostics = await document.change(text)
        assert all(d.source == "netlang" and d.code for d in diagnostics)
        position = types.Position(rng.randrange(0, 6), rng.randrange(0, 30))
        await client.text_document_hover_async(types.HoverParams(document.ident(), position))
        await client.text_document_semantic_tokens_full_async(types.SemanticTokensParams(document.ident()))
    failures = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert failures == []
    document.close()


async def test_a_ten_thousand_line_file_gets_its_answers(client: LanguageClient, tmp_path: Path):
    lines = ["input x1, x2"] + [f"node n{i} = step({i % 7}*x1 - 0.5*x2 > 0.3)" for i in range(9_998)]
    text = "\n".join(lines + ["output " + ", ".join(f"n{i}" for i in range(0, 9_998, 500))]) + "\n"
    document = await _opened(client, tmp_path, text)
    warnings = document.published  # the unused nodes are warned about
    assert {d.code for d in warnings} == {"unreachable"}
    assert _seen(warnings) == _expected(document.path)  # as many as `netlang check` shows
    hover = await _hover(client, document, document.at("n9000"))
    assert "`step(5*x1 - 0.5*x2 > 0.3)`" in hover  # 9000 % 7 == 5
    document.close()
