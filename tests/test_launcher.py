"""The console script's fast path for `netlang run` gives exactly what the click CLI gives."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import netlang
from netlang import launcher
from netlang.cli import main as cli_main

from conftest import EXAMPLES, ROOT

VECTOR = """input x1
input v[3]
let W = [[0.5, -1, 2], [1, 0.25, -0.5]]
layer h = sigmoid(W @ v + [0.1, -0.2])
node y = step(x1 + h[0] > 0.7)
output y, h
"""


@pytest.fixture
def files(tmp_path):
    vector = tmp_path / "vector.net"
    vector.write_text(VECTOR)
    (tmp_path / "dir.net").mkdir()
    paths = {"xor": str(EXAMPLES / "xor.net"), "vector": str(vector), "dir": str(tmp_path / "dir.net")}
    for name in ("xor", "vector"):
        netlang.load(paths[name])  # warm the cache, so the fast path can answer
    return paths


ARGUMENTS = [
    ["run", "{xor}", "--x", "1", "0"],
    ["run", "{xor}", "--x", "0", "0"],
    ["run", "{xor}", "--x", "1", "1", "--json"],
    ["run", "{xor}", "--json", "--x", "0", "1"],
    ["run", "{xor}", "--x", "-0", "1e0"],
    ["run", "{xor}", "--x", " 1", "1_0"],
    ["run", "{xor}", "--x", "1"],
    ["run", "{xor}", "--x", "1", "0", "1"],
    ["run", "{xor}"],
    ["run", "{xor}", "--x"],
    ["run", "{xor}", "--x", "1", "nan"],
    ["run", "{xor}", "--x", "1", "1e999"],
    ["run", "{xor}", "--x", "1", "abc"],
    ["run", "{xor}", "--x", "1", "0", "--json", "--json"],
    ["run", "{xor}", "--x", "1", "0", "--x", "1", "1"],
    ["run", "{xor}", "--x", "1", "0", "--bogus"],
    ["run", "--x", "1", "0", "{xor}"],
    ["run", "{vector}", "--x", "0.3", "1", "-2", "0.5"],
    ["run", "{vector}", "--x", "0.3", "1", "-2", "0.5", "--json"],
    ["run", "{vector}", "--x", "0.3", "1", "-2"],
    ["run", "missing.net", "--x", "1", "0"],
    ["run", "{dir}", "--x", "1"],
    ["run"],
    ["check", "{xor}"],
    ["--version"],
]


def _via_launcher(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["netlang", *args])
    with pytest.raises(SystemExit) as exit_:
        launcher.main()
    captured = capsys.readouterr()
    code = exit_.value.code
    return (0 if code is None else code), captured.out, captured.err


@pytest.mark.parametrize("template", ARGUMENTS, ids=lambda a: " ".join(a))
def test_launcher_equals_the_click_cli(template, files, monkeypatch, capsys):
    args = [a.format(**files) for a in template]
    code, out, err = _via_launcher(args, monkeypatch, capsys)
    expected = _separate_streams_runner().invoke(cli_main, args, prog_name="netlang")
    assert code == expected.exit_code
    assert out == expected.stdout
    assert err == expected.stderr


def _separate_streams_runner() -> CliRunner:
    # click 8.2 keeps stdout and stderr apart by default and dropped the mix_stderr switch.
    import inspect

    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)
    return CliRunner()


def test_the_fast_path_answers_the_simple_forms(files):
    assert launcher.fast_run(["run", files["xor"], "--x", "1", "0"]) == "y = 1"
    assert launcher.fast_run(["run", files["vector"], "--json", "--x", "0.3", "1", "-2", "0.5"]).startswith('{"y": ')
    # Arity errors, other options and uncached files go to the CLI.
    assert launcher.fast_run(["run", files["xor"], "--x", "1"]) is None
    assert launcher.fast_run(["run", files["xor"], "--x", "1", "0", "--bogus"]) is None
    assert launcher.fast_run(["run", str(EXAMPLES / "and.net"), "--x", "1", "0"]) is None


def test_a_cached_run_imports_neither_lark_nor_click(tmp_path):
    env = dict(os.environ, NETLANG_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    env.pop("NETLANG_NO_CACHE", None)
    script = (
        "import sys\n"
        "from netlang.launcher import main\n"
        f"sys.argv = ['netlang', 'run', {str(EXAMPLES / 'xor.net')!r}, '--x', '1', '0']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('lark' in sys.modules, 'click' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == "y = 1\nTrue True\n"  # a miss: compiled by the CLI, then cached
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert second.stdout == "y = 1\nFalse False\n"
