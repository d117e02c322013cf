"""The README's "Batch data" and "Examples" sections: the shell commands run, and every example is listed.

(The ``console`` blocks, command and output, are run by test_readme.py, as for the whole README.)
"""

from __future__ import annotations

import json
import re
import shlex

import numpy as np

from conftest import EXAMPLES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_batch_data_shell_commands(cli, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)  # --output files land here, not in the repository
    (block,) = re.findall(r"```sh\n(.*?)```", _section("Batch data"), re.S)
    commands = [line.split("    #")[0] for line in block.strip().splitlines()]
    assert len(commands) == 3
    for command in commands:
        stdin = None
        if command.startswith("printf "):
            printed, command = command.split(" | ", 1)
            stdin = shlex.split(printed)[1].encode().decode("unicode_escape")
        words = shlex.split(command)
        assert words[0] == "netlang"
        result = cli(*words[1:], input=stdin)
        assert result.exit_code == 0, (command, result.output)
        if stdin is not None:
            assert result.stdout == "y\n1\n"  # as the comment in the README says
    assert json.loads((tmp_path / "results.json").read_text()) == [{"y": 0}, {"y": 1}, {"y": 1}, {"y": 0}]
    digits = np.load(tmp_path / "digits.npy")
    assert digits.shape == (20, 10) and digits.dtype == np.float32


def test_every_example_is_listed():
    listed = _section("Examples")
    for path in sorted(EXAMPLES.glob("*.net")) + sorted(EXAMPLES.glob("*/*.net")):
        if path.parent.name == "mistakes":
            continue
        assert str(path.relative_to(EXAMPLES)) in listed, path.name
