"""docs/editors.md's configuration snippets start a working language server, and the server
says what to install when its extra is missing."""

from __future__ import annotations

import json
import os
import shutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conftest import ROOT

EDITORS = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")


def _snippet(editor: str) -> str:
    found = re.search(rf"<!-- editors-snippet: {editor} -->\n```\w+\n(.*?)```", EDITORS, re.S)
    assert found, f"docs/editors.md has no {editor} snippet"
    return found.group(1)


def _command(editor: str) -> List[str]:
    """The command line the snippet configures the editor to start."""
    text = _snippet(editor)
    if editor == "neovim":
        words = re.search(r"cmd = \{(.*?)\}", text).group(1)
    elif editor == "helix":
        words = re.search(r'command = (".*?")', text).group(1) + ", " + re.search(r"args = \[(.*?)\]", text).group(1)
    else:
        words = re.search(r"'\(netlang-mode (.*?)\)\)", text).group(1)
    return re.findall(r'"([^"]*)"', words)


def _message(stream: Any) -> Dict[str, Any]:
    length = 0
    while True:
        line = stream.readline()
        assert line, "the server closed its output"
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


def _send(stream: Any, message: Dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stream.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    stream.flush()


def initialize(command: List[str]) -> Dict[str, Any]:
    """Start ``command``, send ``initialize``, return its answer; then shut it down cleanly."""
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _send(server.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        answer = _message(server.stdout)
        _send(server.stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        _send(server.stdin, {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
        while _message(server.stdout).get("id") != 2:
            pass
        _send(server.stdin, {"jsonrpc": "2.0", "method": "exit", "params": None})
        assert server.wait(timeout=30) == 0
        return answer
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.parametrize("editor", ["neovim", "helix", "emacs"])
def test_the_snippet_starts_a_language_server(editor: str):
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed: pip install 'netlang[lsp]'")
    command = _command(editor)
    assert command == ["netlang", "lsp"]
    # The snippets find `netlang` on the editor's PATH; here, the script of this environment.
    script = Path(sys.executable).with_name("netlang")
    if not script.exists():
        pytest.skip("netlang's console script is not installed beside this Python")
    answer = initialize([str(script), *command[1:]])
    capabilities = answer["result"]["capabilities"]
    assert answer["result"]["serverInfo"]["name"] == "netlang"
    for feature in ("hoverProvider", "definitionProvider", "renameProvider", "documentFormattingProvider"):
        assert capabilities.get(feature), feature


def test_without_pygls_the_command_names_the_extra(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pygls", None)  # makes 'import pygls' raise ImportError
    result = cli("lsp")
    assert result.exit_code == 1
    assert "pip install 'netlang[lsp]'" in result.output and "Traceback" not in result.output


# Run inside Neovim: open the file, wait for the server's diagnostics, ask for a hover, print JSON.
_NEOVIM_CHECK = r"""
vim.cmd("edit " .. vim.fn.fnameescape(vim.env.NETLANG_TEST_FILE))
local published = vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local found = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(found, { lnum = d.lnum, col = d.col, code = d.code, message = d.message })
end
local hover = vim.lsp.buf_request_sync(0, "textDocument/hover", {
  textDocument = { uri = vim.uri_from_bufnr(0) },
  position = { line = 0, character = 6 },
}, 20000)
local text = ""
for _, answer in pairs(hover or {}) do
  if answer.result then text = answer.result.contents.value end
end
io.stdout:write(vim.fn.json_encode({ published = published, diagnostics = found, hover = text,
  filetype = vim.bo.filetype }) .. "\n")
vim.cmd("qa!")
"""


def test_the_neovim_snippet_in_a_headless_neovim(tmp_path: Path):
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed: pip install 'netlang[lsp]'")
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("Neovim is not installed (apt-get install neovim): the snippet's command is still tested above")
    script = Path(sys.executable).with_name("netlang")
    if not script.exists():
        pytest.skip("netlang's console script is not installed beside this Python")
    (tmp_path / "init.lua").write_text(_snippet("neovim"))
    (tmp_path / "check.lua").write_text(_NEOVIM_CHECK)
    model = tmp_path / "model.net"
    model.write_text("input x1, x2\nnode y = step(x1 + x3 > 1)\noutput y\n")
    environment = dict(os.environ, PATH=f"{script.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                       NETLANG_TEST_FILE=str(model), HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    result = subprocess.run(
        [nvim, "--headless", "-u", str(tmp_path / "init.lua"), "-c", f"luafile {tmp_path / 'check.lua'}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environment,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["filetype"] == "netlang"
    assert answer["published"], result.stderr
    assert [(d["lnum"], d["col"], d["code"]) for d in answer["diagnostics"]] == [(1, 19, "unknown-name")]
    assert "input: one value" in answer["hover"]
