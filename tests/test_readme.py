"""README's console examples are run, so the README cannot drift from what netlang prints."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _console_examples():
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    yield command, "\n".join(expected)
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command:
            yield command, "\n".join(expected)


EXAMPLES = list(_console_examples())


def test_readme_has_console_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_console_example(cli, monkeypatch, tmp_path, command, expected):
    # The commands name examples/ as README shows them; files they write (export -o) land in
    # a temporary directory, not in the repository.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    args = shlex.split(command)
    assert args[0] == "netlang"
    result = cli(*args[1:])
    assert result.output.rstrip("\n") == expected.rstrip("\n")


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1).splitlines()
    assert first_block[0].endswith("pip install . && netlang run examples/xor.net --x 1 0")
    assert first_block[1].endswith("pip install '.[test]' && pytest")
    # CI runs the same two steps: the test extra, then plain pytest.
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == "pytest"
    assert "pip install --quiet '.[test]'" in ci
