"""Conventions every command follows: errors converted once, files, JSON, numbers, colour, exits."""

from __future__ import annotations

import json
import re
import os
import subprocess
import tempfile
import sys
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import cli as cli_module
from netlang import launcher

from conftest import EXAMPLES

XOR = str(EXAMPLES / "xor.net")
AND = str(EXAMPLES / "and.net")

# Every command that reads one .net file, with the options it needs to get that far.
COMMANDS = [
    ["run", "{}", "--x", "1", "0"],
    ["check", "{}"],
    ["compile", "{}"],
    ["parse", "{}"],
    ["table", "{}"],
    ["test", "{}"],
    ["graph", "{}"],
    ["plot", "{}", "-o", "{out}.png"],
    ["export", "{}", "-o", "{out}.onnx"],
    ["fmt", "{}"],
]


def _args(template, path, tmp_path):
    return [a.format(path, out=tmp_path / "out") for a in template]


@pytest.mark.parametrize("template", COMMANDS, ids=lambda t: t[0])
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_file_that_cannot_be_read_is_an_input_error(cli, tmp_path, template, kind):
    if kind == "missing":
        path, message = tmp_path / "nope.net", "does not exist"
    else:
        path, message = tmp_path / "folder", "is a directory"
        path.mkdir()
        if template[0] in ("test", "fmt"):  # these take folders: an empty one is a usage error
            result = cli(*_args(template, path, tmp_path))
            assert result.exit_code == 2 and "holds no .net file" in result.output
            return
    result = cli(*_args(template, path, tmp_path))
    assert result.exit_code == 1, result.output
    assert f"{path}: error: " in result.output and message in result.output
    assert "Traceback" not in result.output and "Usage:" not in result.output


@pytest.mark.parametrize(
    "args", [["run", "{}", "--x", "1", "0", "--json"], ["check", "{}", "--json"], ["compile", "{}", "--json"],
             ["parse", "{}", "--json"], ["table", "{}", "--json"]], ids=lambda a: a[0]
)
def test_json_commands_answer_in_json_whatever_happens(cli, tmp_path, args):
    bad = tmp_path / "bad.net"
    bad.write_text("input x1, x2\nnode y = step(x1 + > 1)\n")
    result = cli(*[a.format(bad) for a in args])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["file"] == str(bad) and report["errors"] >= 1
    assert report["diagnostics"][0]["line"] == 2 and report["diagnostics"][0]["severity"] == "error"
    missing = cli(*[a.format(tmp_path / "missing.net") for a in args])
    assert missing.exit_code == 1
    assert json.loads(missing.output)["diagnostics"][0]["code"] == "file-not-found"


def test_values_may_be_repeated_and_are_collected(cli):
    assert cli("run", XOR, "--x", "1", "--x", "0").output == cli("run", XOR, "--x", "1", "0").output == "y = 1\n"
    assert cli("run", "--x", "1", XOR, "--x", "1").output == "y = 0\n"


@pytest.mark.parametrize("text", ["1_0", "\u0661", "\uff11", "0x10", " 1", "1,5", "1e", "1.2.3"])
def test_one_definition_of_a_number_on_the_command_line(cli, text):
    result = cli("run", XOR, "--x", "1", text)
    assert result.exit_code == 2
    assert "Invalid value for '--x'" in result.output and repr(text) in result.output


@pytest.mark.parametrize("text", ["1_0", "\u0661", "0x10"])
def test_one_definition_of_a_number_in_data_and_weight_files(cli, tmp_path, text):
    data = tmp_path / "data.csv"
    data.write_text(f"x1,x2\n1,{text}\n", encoding="utf-8")
    result = cli("run", XOR, "--input", str(data))
    assert result.exit_code == 1 and f"'{text}' in column x2 is not a number" in result.output
    (tmp_path / "w.csv").write_text(f"1,{text}\n", encoding="utf-8")
    net = tmp_path / "w.net"
    net.write_text('input x[2]\nlet W = load("w.csv")\nlayer y = W @ x\n')
    with pytest.raises(netlang.NetlangError, match="not a number"):
        netlang.load(net)


@pytest.mark.parametrize("text", ["1", "-0.5", ".5", "2.", "+3e-4", "1E6", "-1e-3"])
def test_numbers_with_signs_and_exponents_need_no_quotes(cli, tmp_path, text):
    net = tmp_path / "id.net"
    net.write_text("input a, b\nnode y = a + b\n")
    result = cli("run", str(net), "--x", text, "0")
    assert result.exit_code == 0, result.output
    assert result.output == f"y = {netlang.display.format_number(float(text))}\n"


def test_json_numbers_are_the_same_for_one_sample_and_a_data_file(cli, tmp_path):
    net = tmp_path / "mixed.net"
    net.write_text("input a, b\nnode y = a + b\nlayer h = [a * 0.5, b * 3]\noutput y, h\n")
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,0\n0.25,2\n-1,1e20\n")
    batch = cli("run", str(net), "--input", str(data), "--json").output
    rows = json.loads(batch)
    for line, (a, b) in zip(rows, [("1", "0"), ("0.25", "2"), ("-1", "1e20")]):
        single = cli("run", str(net), "--x", a, b, "--json").output
        assert json.loads(single) == line
        # the same text for each number, not only the same value: 1 and not 1.0
        assert json.dumps(line).replace(" ", "") in single.replace(" ", "")
    assert '"y": 1,' in cli("run", str(net), "--x", "1", "0", "--json").output


def test_color_option_and_no_color(cli, tmp_path, monkeypatch):
    bad = tmp_path / "bad.net"
    bad.write_text("input x\nnode y = q\n")
    assert "\x1b[" in cli("--color", "check", str(bad)).output
    assert "\x1b[" in cli("check", str(bad), "--color").output
    assert "\x1b[" not in cli("check", str(bad)).output  # not a terminal
    assert "\x1b[" not in cli("check", str(bad), "--no-color").output

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli_module.use_color(Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_module.use_color(Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # set but empty: ignored, as no-color.org says
    assert cli_module.use_color(Terminal())


def test_a_table_too_wide_is_a_located_error(cli, tmp_path):
    net = tmp_path / "wide.net"
    net.write_text("input x[17]\nnode y = step(x[0] > 0)\n")
    result = cli("table", str(net))
    assert result.exit_code == 1
    assert result.output.startswith(f"{net}: error: the network takes 17 input values")


def test_ctrl_c_exits_130_without_a_traceback(cli, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(launcher, "fast_run", interrupted)  # Ctrl-C while the cached network runs
    monkeypatch.setattr(sys, "argv", ["netlang", "run", XOR, "--x", "1", "0"])
    with pytest.raises(SystemExit) as exited:
        launcher.main()
    assert exited.value.code == 130
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setattr(cli_module, "_load", interrupted)  # Ctrl-C inside a click command
    result = cli("compile", XOR)
    assert result.exit_code == 130 and "Aborted" not in result.output


def test_out_of_memory_is_reported_without_a_traceback(monkeypatch, capsys):
    def too_big(*args, **kwargs):
        np.empty(2**42, dtype=np.uint8)  # 4 TiB  # numpy's _ArrayMemoryError, a MemoryError

    monkeypatch.setattr(cli_module, "_load", too_big)
    monkeypatch.setattr(launcher, "fast_run", lambda args: None)
    monkeypatch.setattr(sys, "argv", ["netlang", "compile", XOR])
    with pytest.raises(SystemExit) as exited:
        launcher.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory") and "Traceback" not in err


def _netlang(*args, stdout=subprocess.PIPE, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "netlang", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, **kwargs
    )


def test_python_dash_m_netlang():
    done = _netlang("run", XOR, "--x", "1", "0")
    assert (done.returncode, done.stdout, done.stderr) == (0, "y = 1\n", "")
    assert _netlang("--version").stdout.startswith("netlang, version")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [["run", XOR, "--x", "1", "0"], ["run", XOR, "--x", "1", "0"], ["compile", XOR], ["fmt", XOR],
     ["run", XOR, "--input", str(EXAMPLES / "pairs.csv")], ["table", XOR, "--json"]],
)
def test_a_failure_writing_stdout_names_stdout(args):
    netlang.load(XOR)  # cached: the first run goes through the launcher's fast path
    with open("/dev/full", "w") as full:
        done = _netlang(*args, stdout=full)
    assert done.returncode == 1
    assert done.stderr == "error: cannot write to standard output: No space left on device\n"


def test_a_broken_pipe_is_quiet(tmp_path):
    net = tmp_path / "wide.net"
    net.write_text("input x[16]\nnode y = step(x[0] > 0)\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "netlang", "table", str(net)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `| head -1` does
    err = process.stderr.read()
    process.wait()
    assert err == b""  # no traceback, no message: the reader asked for no more


def test_tests_never_use_the_users_cache(tmp_path_factory):
    from netlang import cache

    private = cache.directory()
    assert Path(tempfile.gettempdir()) in private.parents
    assert private != Path.home() / ".cache" / "netlang"
    child = subprocess.run(
        [sys.executable, "-c", "from netlang import cache; print(cache.directory())"], capture_output=True, text=True
    )
    assert child.stdout.strip() == str(private)  # subprocesses (the launcher too) inherit it


def test_help_summaries_fit(cli):
    text = cli("--help").output
    commands = text[text.index("Commands:") :].splitlines()[1:]
    assert len(commands) >= 10
    for line in commands:
        assert line.rstrip().endswith("."), f"a cut or run-on summary in 'netlang --help': {line!r}"
        assert "..." not in line


def test_shell_completion_completes_commands():
    env = dict(os.environ, _NETLANG_COMPLETE="bash_complete", COMP_WORDS="netlang ru", COMP_CWORD="1")
    done = subprocess.run([sys.executable, "-m", "netlang"], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["plain,run"]


def test_the_program_on_standard_input(cli, tmp_path, monkeypatch):
    program = "input x1, x2\nnode y = step(x1 + x2 > 1.5)\n"
    assert cli("run", "-", "--x", "1", "1", input=program).output == "y = 1\n"
    bad = cli("check", "-", input="input x1\nnode y = x2\n")
    assert bad.exit_code == 1 and bad.output.startswith("<stdin>:2:10: error: unknown name 'x2'")
    assert cli("fmt", "-", input="input   x1\nnode y=x1\n").output == "input x1\nnode y = x1\n"
    assert cli("fmt", "--write", "-", input=program).exit_code == 2
    assert cli("run", "-", "--input", "-", input=program).exit_code == 2
    # load(...) reads from the current folder, as for netlang.compile(text)
    np.save(tmp_path / "w.npy", np.array([[2.0, 3.0]]))
    monkeypatch.chdir(tmp_path)
    weighted = 'input x[2]\nlet W = load("w.npy")\nlayer y = W @ x\n'
    assert cli("run", "-", "--x", "1", "1", input=weighted).output == "y = [5]\n"


@pytest.mark.skipif(not os.path.exists("/dev/stdin"), reason="needs /dev/stdin")
def test_dev_stdin_and_process_substitution():
    program = "input x1, x2\nnode y = step(x1 + x2 > 1.5)\n"
    done = _netlang("run", "/dev/stdin", "--x", "1", "1", input=program)
    assert (done.returncode, done.stdout) == (0, "y = 1\n"), done.stderr
    if os.path.exists("/bin/bash"):
        script = f"{sys.executable} -m netlang run <(printf '{program!s}') --x 1 0".replace("\n", "\\n")
        done = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True)
        assert (done.returncode, done.stdout) == (0, "y = 0\n"), done.stderr


def test_test_and_fmt_take_folders(cli, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a" / "and.net").write_text("input x1, x2\nnode y = step(x1 + x2 > 1.5)\nexpect (1, 1) -> 1\n")
    (tmp_path / "a" / "b" / "or.net").write_text("input x1, x2\nnode y = step(x1 + x2 > 0.5)\nexpect (0, 1) -> 1\n")
    (tmp_path / ".hidden" / "bad.net").write_text("this is not netlang\n")
    (tmp_path / "notes.txt").write_text("not a .net file\n")
    result = cli("test", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{tmp_path / 'a' / 'and.net'}:3: ok   (1, 1) -> 1, got 1",
        f"{tmp_path / 'a' / 'b' / 'or.net'}:3: ok   (0, 1) -> 1, got 1",
        "2 passed",
    ]
    checked = cli("fmt", "--check", str(tmp_path))
    assert checked.exit_code == 0 and checked.output == ""
    (tmp_path / "a" / "b" / "or.net").write_text("input   x1,x2\nnode y=x1\n")
    checked = cli("fmt", "--check", str(tmp_path))
    assert checked.exit_code == 1 and checked.output == f"would reformat {tmp_path / 'a' / 'b' / 'or.net'}\n"


def test_files_the_readme_writes_are_ignored_by_git():
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    written = set(re.findall(r"(?:-o|--output) ([\w.-]+\.\w+)", readme))
    assert {"xor.svg", "results.json", "digits.npy", "xor.onnx"} <= written
    ignored = {line.strip().lstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert written <= ignored, f"add these to .gitignore: {sorted(written - ignored)}"
    assert "pip install 'netlang[" not in readme  # inside the checkout it is pip install '.[plot]'


def test_a_table_with_too_many_values_is_refused_before_any_row(cli, tmp_path):
    net = tmp_path / "wide.net"
    net.write_text('input x[16]\nlet W = load("W.npy")\nlayer h = relu(W @ x)\n')
    np.save(tmp_path / "W.npy", np.ones((1000, 16)))
    result = cli("table", str(net))
    assert result.exit_code == 1
    assert result.output.startswith(f"{net}: error: a table of every 0/1 combination of the 16 input values would have")
    assert "65,536 rows of 1,016 values (66,584,576 values); the limit is 2,000,000 values (MAX_TABLE_VALUES)" in result.output


@pytest.mark.parametrize("command", [["run", "{}", "--exact", "--x"], ["table", "{}", "--exact"], ["test", "{}", "--exact"]])
def test_exact_work_is_bounded_with_a_message_that_says_why(cli, tmp_path, command):
    net = tmp_path / "big.net"
    np.save(tmp_path / "W.npy", np.full((250, 12), 0.5))
    np.save(tmp_path / "V.npy", np.full((250, 250), 0.25))  # 2 x 62,500 weights: over 100,000 for one sample
    expects = "".join(f"expect ({', '.join(['1'] * 12)}) -> ({', '.join(['0'] * 250)}) within 1e300\n" for _ in range(3))
    net.write_text(
        'input x[12]\nlet W = load("W.npy")\nlet V = load("V.npy")\n'
        f"layer h = relu(W @ x)\nlayer g = V @ h\nlayer y = V @ g\noutput y\n{expects}"
    )
    args = [a.format(net) for a in command] + (["1"] * 12 if command[-1] == "--x" else [])
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert f"{net}: error: exact arithmetic (--exact) computes every weight term with fractions" in result.output
    assert "more than the limit of 100,000 (MAX_EXACT_TERMS)" in result.output
    assert "hint: leave out --exact" in result.output
