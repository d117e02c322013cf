"""The answer to ``initialize``, given before pygls is imported.

Importing pygls costs most of the server's start-up: ``lsprotocol.types`` alone builds about
570 attrs classes, compiling their methods one by one (0.3-0.6 s on the 2 shared cores of the
development machine; benchmarks/lsp.py). An editor waits for the ``initialize`` answer before
it sends anything else, so the server reads that one request itself, answers it from
``initialize.json`` (pygls' own answer for this server, written by
``python -m netlang.lsp.server --write-initialize``), and only then imports pygls. The request
is then handed to pygls like any other (:class:`Replay`), so pygls sets up its workspace and
position encoding from it exactly as it always does; its own answer to it, which the editor
already has, is compared with the one sent and dropped (:class:`Output`).

The stored answer is used only with the pygls and lsprotocol versions it was made from, and
for a well-formed request; anything else is left to pygls, as without this module. Only the
standard library is imported here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

ANSWERS = Path(__file__).with_name("initialize.json")
# What pygls' ServerCapabilitiesBuilder offers (choose_position_encoding), in no order.
ENCODINGS = ("utf-8", "utf-16", "utf-32")


def read_message(stream: IO[bytes]) -> Tuple[bytes, Optional[Dict[str, Any]]]:
    """One JSON-RPC message from ``stream``: the bytes read, and the message (None if it is not one).

    Reads with ``readline`` and ``read`` as pygls does, so that whatever follows stays in
    ``stream``'s buffer for pygls.
    """
    raw = b""
    length = 0
    while True:
        line = stream.readline()
        raw += line
        if not line:
            return raw, None
        if not line.strip():
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value)
    body = stream.read(length) if length else b""
    raw += body
    try:
        message = json.loads(body)
    except ValueError:
        return raw, None
    return raw, message if isinstance(message, dict) else None


def write_message(stream: IO[bytes], message: Dict[str, Any]) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    stream.flush()


def answer_key(params: Any) -> Optional[str]:
    """Which stored answer fits this ``initialize`` request's params; None when it is not well formed.

    pygls' answer depends on the client's capabilities in four places only: the position
    encoding (the first of the client's that pygls supports, else UTF-16), whether the client
    supports ``prepareRename``, and whether it says anything (true or false) about ``willSave``
    and ``willSaveWaitUntil`` (then the answer says false, else nothing). pygls' answer for
    each combination is stored.
    """
    if not isinstance(params, dict) or "processId" not in params:
        return None
    process_id, capabilities = params.get("processId"), params.get("capabilities")
    if not (process_id is None or type(process_id) is int) or not isinstance(capabilities, dict):
        return None
    encoding = "utf-16"
    encodings = _get(capabilities, "general", "positionEncodings")
    if encodings is not None:
        if not isinstance(encodings, list) or not all(isinstance(e, str) for e in encodings):
            return None
        encoding = next((e for e in encodings if e in ENCODINGS), encoding)
    flags = [_get(capabilities, "textDocument", *path) for path in _FLAGS]
    if any(flag is _ILL_FORMED or not (flag is None or isinstance(flag, bool)) for flag in flags):
        return None
    prepare, will_save, will_save_wait_until = flags
    return key_of(encoding, bool(prepare), will_save is not None, will_save_wait_until is not None)


def key_of(encoding: str, prepare: bool, will_save: bool, will_save_wait_until: bool) -> str:
    return f"{encoding} prepare={prepare} willSave={will_save} willSaveWaitUntil={will_save_wait_until}"


_FLAGS = (("rename", "prepareSupport"), ("synchronization", "willSave"), ("synchronization", "willSaveWaitUntil"))
_ILL_FORMED = object()


def _get(data: Dict[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]...``; None where a key is missing, _ILL_FORMED where a level is not an object."""
    value: Any = data
    for key in path:
        if value is None:
            return None
        if not isinstance(value, dict):
            return _ILL_FORMED
        value = value.get(key)
    return value


def installed_version(package: str) -> Optional[str]:
    """The version of an installed distribution, from its ``.dist-info`` folder beside the package
    (``importlib.metadata`` costs 0.1 s to import; this costs a directory listing)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]).parent
    prefix = package + "-"
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".dist-info")]
    except OSError:
        return None
    return names[0][len(prefix) : -len(".dist-info")] if len(names) == 1 else None


def stored_answer(message: Optional[Dict[str, Any]], version: str) -> Optional[Dict[str, Any]]:
    """The ``initialize`` result for ``message``, when it is an ``initialize`` request that the
    stored answers fit (same pygls and lsprotocol); else None."""
    if message is None or message.get("method") != "initialize" or message.get("jsonrpc") != "2.0":
        return None
    if not isinstance(message.get("id"), (int, str)) or isinstance(message.get("id"), bool):
        return None
    key = answer_key(message.get("params"))
    if key is None:
        return None
    try:
        stored = json.loads(ANSWERS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    made_with = stored.get("versions", {})
    if any(installed_version(package) != made_with.get(package) for package in ("pygls", "lsprotocol")):
        return None
    capabilities = stored.get("answers", {}).get(key)
    if capabilities is None:
        return None
    return {"capabilities": capabilities, "serverInfo": {"name": "netlang", "version": version}}


class Replay:
    """A stream that gives ``first`` (the bytes of the messages already read), then ``stream``'s
    bytes: pygls reads the ``initialize`` request from it as if it had read it itself."""

    def __init__(self, first: bytes, stream: IO[bytes]) -> None:
        self.first = first
        self.stream = stream

    def __repr__(self) -> str:
        return f"Replay({len(self.first)} bytes first)"

    def readline(self) -> bytes:
        if not self.first:
            return self.stream.readline()
        line, newline, rest = self.first.partition(b"\n")
        self.first = rest
        if newline:
            return line + newline
        return line + self.stream.readline()

    def read(self, size: int) -> bytes:
        taken, self.first = self.first[:size], self.first[size:]
        if len(taken) < size:
            taken += self.stream.read(size - len(taken))
        return taken

    def close(self) -> None:
        self.stream.close()


class Output:
    """The server's output: drops pygls' answer to the request answered already (request
    ``answered``, result ``sent``), and says on stderr if it differs from what was sent."""

    def __init__(self, stream: IO[bytes], answered: Any = None, sent: Any = None) -> None:
        self.stream = stream
        self.answered = answered
        self.sent = sent
        self.pending = answered is not None
        self.differences: List[str] = []

    def __repr__(self) -> str:
        return f"Output(pending={self.pending})"

    def write(self, data: bytes) -> int:
        if self.pending:
            _, _, body = data.partition(b"\r\n\r\n")
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("id") == self.answered and "method" not in message:
                self.pending = False
                if message.get("result") != self.sent:
                    self.differences.append(json.dumps(message.get("result") or message.get("error")))
                    sys.stderr.write(
                        "netlang lsp: the initialize answer sent differs from pygls' own "
                        f"(run `python -m netlang.lsp.server --write-initialize`): pygls says {self.differences[-1]}\n"
                    )
                return len(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()
