"""README's sections: the batch-data shell commands run, every command and example is listed, the MNIST claims hold.

(The ``console`` blocks, command and output, are run by test_readme.py, as for the whole README.)
"""

from __future__ import annotations

import json
import re
import shlex
import shutil

import numpy as np

from conftest import EXAMPLES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str, level: int = 2) -> str:
    """The text under a heading of README, up to the next heading of the same or a higher level."""
    hashes = "#" * level
    body = README.split(f"\n{hashes} {title}\n", 1)[1]
    return re.split(rf"\n#{{1,{level}}} ", body, maxsplit=1)[0]


def test_batch_data_shell_commands(cli, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)  # --output files land here, not in the repository
    (block,) = re.findall(r"```sh\n(.*?)```", _section("run", 3), re.S)
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


def test_every_command_has_an_entry_under_commands():
    """Each command of the CLI is named by a ``### `` heading of README's Commands section."""
    from netlang.cli import main

    headings = re.findall(r"^### (.*)$", _section("Commands"), re.M)
    named = {word for heading in headings for word in heading.split()}
    for name, command in main.commands.items():
        if not command.hidden:
            assert name in named, f"add a short '### {name}' entry to README's Commands section"


def test_mnist_scaling_is_folded_into_the_first_layer(tmp_path):
    """README: ``W1 @ (x/255*0.99 + 0.01)`` costs no layer; a separate scaling layer costs one;
    and ``input label, x[784]`` reads label-first rows."""
    import netlang

    section = _section("MNIST: scaling the inputs, and a label column", 3)
    folded_line, label_line = re.findall(r"```netlang\n(.*?)\n```", section, re.S)
    original = (EXAMPLES / "mnist" / "mnist.net").read_text(encoding="utf-8")
    assert "layer hidden[100] = sigmoid(W1 @ x + b1)" in original
    # A copy: a link that leads out of the folder is refused by load(...) (issue 11, item 26).
    shutil.copy(EXAMPLES / "mnist" / "weights.npz", tmp_path / "weights.npz")

    def load(name: str, text: str) -> netlang.Network:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return netlang.load(tmp_path / name)

    plain = netlang.load(EXAMPLES / "mnist" / "mnist.net")
    folded = load("folded.net", original.replace("layer hidden[100] = sigmoid(W1 @ x + b1)", folded_line))
    separate = load("separate.net", original.replace(
        "layer hidden[100] = sigmoid(W1 @ x + b1)",
        "layer s = x/255*0.99 + 0.01\nlayer hidden[100] = sigmoid(W1 @ s + b1)"))
    assert len(plain.layers) == len(folded.layers) == 2
    assert len(separate.layers) == 3
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 784)).astype(float)
    expected = plain(pixels / 255 * 0.99 + 0.01)
    np.testing.assert_allclose(folded(pixels), expected, rtol=1e-12)
    np.testing.assert_allclose(separate(pixels), expected, rtol=1e-12)

    labelled = load("labelled.net", original.replace("input x[784]", label_line))
    assert labelled.input_names[0] == "label"
    rows = np.hstack([np.arange(5.0)[:, None], pixels])
    np.testing.assert_allclose(labelled(rows), plain(pixels), rtol=1e-12)
