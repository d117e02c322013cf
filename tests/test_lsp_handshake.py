"""The `initialize` answer that `netlang lsp` gives before importing pygls (netlang/lsp/handshake.py).

The stored answers must be what pygls itself answers, for every kind of client: compared
with pygls' own answer, computed by a real server, over generated client capabilities. End
to end, the answer must reach the client before lsprotocol's types are imported, and the
request must reach pygls unchanged afterwards.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed: pip install 'netlang[lsp]'")

from netlang import __version__  # noqa: E402
from netlang.lsp.handshake import ANSWERS, Output, Replay, answer_key, read_message, stored_answer, write_message  # noqa: E402
from netlang.lsp.server import initialize_answers, pygls_answer  # noqa: E402

from conftest import ROOT  # noqa: E402


def _request(params: Any, id: Any = 1) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params}


def test_the_stored_answers_are_up_to_date():
    stored = json.loads(ANSWERS.read_text(encoding="utf-8"))
    assert stored == initialize_answers(), "run: python -m netlang.lsp.server --write-initialize"


_ENCODINGS = st.sampled_from(["utf-8", "utf-16", "utf-32", "utf-7", "latin-1", ""])
_MAYBE_BOOL = st.one_of(st.none(), st.booleans())


@st.composite
def _capabilities(draw: Any) -> Dict[str, Any]:
    """Client capabilities: what changes pygls' answer, and what does not, in many combinations."""
    capabilities: Dict[str, Any] = {}
    if draw(st.booleans()):
        general: Dict[str, Any] = {}
        if draw(st.booleans()):
            general["positionEncodings"] = draw(st.lists(_ENCODINGS, max_size=4))
        capabilities["general"] = general
    text_document: Dict[str, Any] = {}
    prepare = draw(_MAYBE_BOOL)
    if prepare is not None or draw(st.booleans()):
        text_document["rename"] = {} if prepare is None else {"prepareSupport": prepare}
    synchronization = {name: value for name in ("willSave", "willSaveWaitUntil", "didSave") if (value := draw(_MAYBE_BOOL)) is not None}
    if synchronization or draw(st.booleans()):
        text_document["synchronization"] = synchronization
    if draw(st.booleans()):
        text_document["hover"] = {"contentFormat": ["markdown", "plaintext"]}
    if text_document:
        capabilities["textDocument"] = text_document
    if draw(st.booleans()):
        capabilities["notebookDocument"] = {"synchronization": {"dynamicRegistration": draw(st.booleans())}}
    if draw(st.booleans()):
        capabilities["workspace"] = {"fileOperations": {"didCreate": draw(st.booleans())}, "workspaceFolders": True}
    return capabilities


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_capabilities(), st.one_of(st.none(), st.integers(1, 10**6)), st.one_of(st.integers(0, 99), st.text(max_size=5)))
def test_the_stored_answer_is_pygls_own(capabilities: Dict[str, Any], process_id: Any, id: Any):
    request = _request({"processId": process_id, "rootUri": None, "capabilities": capabilities}, id)
    stored = stored_answer(request, __version__)
    assert stored is not None  # every well-formed request is answered from the file
    assert stored == pygls_answer(request)


@pytest.mark.parametrize(
    "params",
    [
        None,
        [],
        {"capabilities": {}},  # no processId
        {"processId": "12", "capabilities": {}},
        {"processId": None, "capabilities": []},
        {"processId": None, "capabilities": {"general": {"positionEncodings": "utf-8"}}},
        {"processId": None, "capabilities": {"general": []}},
        {"processId": None, "capabilities": {"textDocument": {"rename": {"prepareSupport": "yes"}}}},
        {"processId": None, "capabilities": {"textDocument": {"rename": []}}},
    ],
)
def test_ill_formed_requests_are_left_to_pygls(params: Any):
    assert answer_key(params) is None
    assert stored_answer(_request(params), __version__) is None


def test_only_initialize_requests_are_answered():
    params = {"processId": None, "capabilities": {}}
    assert stored_answer(_request(params), __version__) is not None
    assert stored_answer({"jsonrpc": "2.0", "id": 1, "method": "shutdown", "params": params}, __version__) is None
    assert stored_answer({"jsonrpc": "2.0", "method": "initialize", "params": params}, __version__) is None  # no id
    assert stored_answer({"jsonrpc": "2.0", "id": True, "method": "initialize", "params": params}, __version__) is None
    assert stored_answer(None, __version__) is None


def _framed(*messages: Dict[str, Any]) -> bytes:
    stream = io.BytesIO()
    for message in messages:
        write_message(stream, message)
    return stream.getvalue()


@pytest.mark.parametrize("headers", [b"", b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"])
def test_the_request_read_is_replayed_unchanged(headers: bytes):
    """What the server reads first, then what pygls reads through Replay: the client's bytes, in order."""
    first = _request({"processId": None, "capabilities": {}})
    rest = _framed({"jsonrpc": "2.0", "method": "initialized", "params": {}}, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    body = json.dumps(first).encode()
    data = b"Content-Length: %d\r\n%s\r\n%s" % (len(body), headers, body) + rest
    stream = io.BufferedReader(io.BytesIO(data), buffer_size=7)  # whatever the buffer holds stays for pygls
    raw, message = read_message(stream)
    assert message == first
    replay = Replay(raw, stream)
    again: List[bytes] = []
    while True:  # as pygls reads: lines until the blank one, then the body
        line = replay.readline()
        if not line:
            break
        again.append(line)
        if line == b"\r\n":
            length = int([h for h in again if h.startswith(b"Content-Length")][-1].split(b":")[1])
            again.append(replay.read(length))
    assert b"".join(again) == data


def test_a_stream_that_is_not_json_rpc_is_replayed_too():
    data = b"Content-Length: 5\r\n\r\nhello" + _framed({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    stream = io.BytesIO(data)
    raw, message = read_message(stream)
    assert message is None and raw == b"Content-Length: 5\r\n\r\nhello"
    replay = Replay(raw, stream)
    assert replay.read(len(data)) == data


def test_output_drops_pygls_answer_to_the_request_answered_and_nothing_else(capsys: pytest.CaptureFixture[str]):
    sent = {"capabilities": {"hoverProvider": True}}
    target = io.BytesIO()
    output = Output(target, 7, sent)
    notice = _framed({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 3, "message": "hi"}})
    output.write(notice)
    output.write(_framed({"jsonrpc": "2.0", "id": 7, "result": sent}))
    later = _framed({"jsonrpc": "2.0", "id": 7, "result": None})  # the same id again: a later answer, kept
    output.write(later)
    assert target.getvalue() == notice + later
    assert output.differences == [] and capsys.readouterr().err == ""

    differing = Output(io.BytesIO(), 7, sent)
    differing.write(_framed({"jsonrpc": "2.0", "id": 7, "result": {"capabilities": {}}}))
    assert differing.differences and "differs from pygls' own" in capsys.readouterr().err


# The server as an editor starts it (`netlang lsp`, the launcher), with a hook that writes a
# line to the server's standard output when lsprotocol's types start being imported: the
# initialize answer must come before that line.
_PROBE = """
import os, sys
class Marker:
    def find_spec(self, name, path=None, target=None):
        if name == "lsprotocol.types":
            os.write(1, b"lsprotocol.types imported\\n")
        return None
sys.meta_path.insert(0, Marker())
sys.argv = ["netlang", "lsp"]
from netlang.launcher import main
main()
"""


def test_the_answer_comes_before_pygls_is_imported():
    server = subprocess.Popen([sys.executable, "-c", _PROBE], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        request = _request({"processId": None, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-32"]}}})
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(_framed(request))
        server.stdin.flush()
        raw, answer = read_message(server.stdout)
        assert answer is not None, raw
        assert answer["id"] == 1 and answer["result"]["capabilities"]["positionEncoding"] == "utf-32"
        assert answer["result"] == pygls_answer(request)
        assert server.stdout.readline() == b"lsprotocol.types imported\n"
        # pygls then takes the request as its own (its answer, already given, is not sent again)
        server.stdin.write(_framed({"jsonrpc": "2.0", "method": "initialized", "params": {}}, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.flush()
        _, shutdown = read_message(server.stdout)
        assert shutdown == {"jsonrpc": "2.0", "id": 2, "result": None}
        server.stdin.write(_framed({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.flush()
        assert server.wait(timeout=60) == 0
        assert server.stderr is not None and "differs" not in server.stderr.read().decode()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
