"""The README's "Batch data" and "Examples" sections: every console command runs and prints what is shown."""

from __future__ import annotations

import re
import shlex

import numpy as np
import pytest

from conftest import EXAMPLES, ROOT


def _console_blocks(section: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs from the console blocks of one README section."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", body, re.S):
        for chunk in block.split("$ ")[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output))
    return pairs


@pytest.mark.parametrize("section", ["Batch data", "Examples"])
def test_readme_console_blocks(section, cli, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)  # --output files land here
    pairs = _console_blocks(section)
    assert pairs
    for command, expected in pairs:
        stdin = None
        if command.startswith("printf "):
            printed, command = command.split(" | ", 1)
            stdin = shlex.split(printed)[1].encode().decode("unicode_escape")
        words = shlex.split(command)
        if words[0] == "cat":
            assert (tmp_path / words[1]).read_text() == expected, command
            continue
        assert words[0] == "netlang", command
        result = cli(*words[1:], input=stdin)
        assert result.stdout + result.stderr == expected, command
        assert result.exit_code == (1 if "error:" in expected else 0), command
    if section == "Examples":
        assert np.load(tmp_path / "digits.npy").shape == (20, 10)
