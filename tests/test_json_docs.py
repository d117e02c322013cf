"""docs/json.md: its console sessions are run, on the files the page shows, and must print what it shows."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT

PAGE = ROOT / "docs" / "json.md"


def blocks(markdown: str):
    """(info string, text) for every fenced block."""
    return re.findall(r"^```([^\n]*)\n(.*?)^```$", markdown, flags=re.M | re.S)


def sessions(markdown: str):
    """(command, expected output) for every ``$ netlang ...`` line of the console blocks."""
    found = []
    for info, text in blocks(markdown):
        if info.strip() != "console":
            continue
        for chunk in re.split(r"^(?=\$ )", text, flags=re.M):
            if chunk.strip():
                command, _, output = chunk.partition("\n")
                found.append((command[2:], output))
    return found


MARKDOWN = PAGE.read_text(encoding="utf-8")
SESSIONS = sessions(MARKDOWN)


def test_the_page_has_sessions_for_both_commands():
    commands = [command for command, _ in SESSIONS]
    assert any(c.startswith("netlang parse") and c.endswith("--json") for c in commands)
    assert any(c.startswith("netlang check") and c.endswith("--json") for c in commands)
    assert any(c.startswith("netlang check") and not c.endswith("--json") for c in commands)


@pytest.mark.parametrize("command, expected", SESSIONS, ids=[c for c, _ in SESSIONS])
def test_the_session_prints_what_the_page_shows(cli, tmp_path, monkeypatch, command, expected):
    for info, text in blocks(MARKDOWN):
        words = info.split()
        if len(words) == 2 and words[0] == "text":
            (tmp_path / words[1]).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    program, *args = shlex.split(command)
    assert program == "netlang"
    result = cli(*args)
    assert result.output.rstrip("\n") == expected.rstrip("\n")
    has_errors = '"severity": "error"' in expected or ": error:" in expected
    assert result.exit_code == (1 if has_errors else 0)
