"""docs/tutorial.md: every command on the page is run and its output compared with the one shown.

The files the page asks the reader to write ("Save this as `NAME.net`:" before a ```netlang
block) are written first, in a folder beside a link to examples/, where the commands run.
With NETLANG_UPDATE_GOLDEN=1 the page's outputs are rewritten from the real ones (review the diff).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from click.testing import CliRunner

from netlang.cli import main

from conftest import ROOT, UPDATE_GOLDEN

TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)
# "Save this as `majority.net`:" (the sentence may wrap), then the file in a ```netlang block.
SAVED = re.compile(r"as\s+`([\w.-]+)`:\n\n```netlang\n(.*?)^```$", re.S | re.M)


def run(command: str) -> str:
    """The output of one command on the page: ``netlang ...`` (in-process) or ``cat FILE``."""
    program, *args = shlex.split(command)
    if program == "cat":
        return "".join(Path(name).read_text(encoding="utf-8") for name in args)
    assert program == "netlang", f"the tutorial may only run netlang and cat, not {program!r}"
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.output


def shown(block: str) -> list[tuple[str, str]]:
    """The (command, output) pairs of a console block."""
    pairs: list[tuple[str, str]] = []
    for line in block.splitlines(True):
        if line.startswith("$ "):
            pairs.append((line[2:].strip(), ""))
        else:
            assert pairs, f"output before any command: {line!r}"
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line)
    return pairs


def test_every_command_shows_its_real_output(monkeypatch, tmp_path):
    text = TUTORIAL.read_text(encoding="utf-8")
    # A copy, not a link: the page trains examples/learn/xor.net into a new file beside it.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    saved = SAVED.findall(text)
    assert {name for name, _ in saved} >= {"majority.net", "mistakes.net"}
    for name, content in saved:
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 10
    pairs = [pair for block in blocks for pair in shown(block)]
    commands = [command for command, _ in pairs]
    for needed in ("netlang table", "netlang test", "--explain", "--exact", "netlang compile", "netlang check"):
        assert any(needed in command for command in commands), needed
    if UPDATE_GOLDEN:
        def fill(match: re.Match) -> str:
            body = "".join(f"$ {command}\n{run(command)}" for command, _ in shown(match.group(1)))
            return f"```console\n{body}```"

        TUTORIAL.write_text(BLOCK.sub(fill, text), encoding="utf-8")
        return
    for command, output in pairs:
        assert same(run(command), output), command
    # The trained files the page writes are the ones examples/learn ships.
    for written in re.findall(r"-o (examples/\S+)", " ".join(commands)):
        assert same((tmp_path / written).read_text(encoding="utf-8"), (ROOT / written).read_text(encoding="utf-8")), written


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def same(actual: str, shown: str) -> bool:
    """The text as shown, but for the last bits of decimal numbers: training sums with the BLAS
    numpy was built with, whose kernel (and so the rounding of a sum) depends on the CPU. The
    page's trained XOR network differed in its 16th digit between two machines of this project
    (4.550428409290733 and ...732 after 500 epochs); within 1e-9 of each other, numbers match,
    and the columns they stand in may move by the digit they lose or gain."""
    if actual == shown:
        return True
    pattern = lambda text: " ".join(NUMBER.sub("#", text).split())  # noqa: E731
    if pattern(actual) != pattern(shown):
        return False
    pairs = zip(NUMBER.findall(actual), NUMBER.findall(shown))
    return all(abs(float(a) - float(b)) <= 1e-9 * max(abs(float(a)), abs(float(b)), 1e-300) for a, b in pairs)

