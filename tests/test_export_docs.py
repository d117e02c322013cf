"""docs/export.md: its commands, Python examples and token table are run and checked."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import EXAMPLES, ROOT

DOC = ROOT / "docs" / "export.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> List[Tuple[str, str]]:
    return FENCE.findall(DOC.read_text(encoding="utf-8"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_console(cli, text: str) -> None:
    command, *expected = text.splitlines()
    result = cli(*shlex.split(command.removeprefix("$ netlang ")))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == expected


def test_readme_export_example(cli, workdir: Path) -> None:
    pytest.importorskip("onnx", reason="the onnx extra: pip install '.[onnx]'")
    readme = FENCE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    (text,) = [text for kind, text in readme if kind == "console" and text.startswith("$ netlang export")]
    run_console(cli, text)


def test_commands_and_python_examples(cli, workdir: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the onnx extra: pip install '.[onnx]'")
    found = blocks()
    consoles = [text for kind, text in found if kind == "console"]
    assert len(consoles) == 2
    for text in consoles:
        run_console(cli, text)
    examples = [(code, found[i + 1]) for i, (kind, code) in enumerate(found) if kind == "python"]
    assert len(examples) == 2
    for code, (kind, expected) in examples:
        assert kind == "text", "each Python example is followed by what it prints"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(DOC), "exec"), {})
        assert printed.getvalue() == expected


def test_token_table() -> None:
    pytest.importorskip("pygments", reason="the highlight extra: pip install '.[highlight]'")
    from pygments import token

    from netlang.pygments_lexer import NetlangLexer

    section = DOC.read_text(encoding="utf-8").split("## Syntax highlighting")[1]
    rows = re.findall(r"^\| (`.*?) \| (.*?) \|$", section, re.MULTILINE)
    assert len(rows) >= 6
    for texts, kinds in rows:
        allowed = {token.string_to_tokentype(kind) for kind in re.findall(r"`([\w.]+)`", kinds)}
        for text in re.findall(r"`([^`]+)`", texts):  # a span is one token, or symbols between spaces
            lexed = [(kind, value) for kind, value in NetlangLexer().get_tokens(text) if value.strip()]
            assert [value for _, value in lexed] == text.split(" ") or len(lexed) == 1, (text, lexed)
            assert all(kind in allowed for kind, _ in lexed), (text, lexed)
