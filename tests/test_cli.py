"""The command line: run, check, compile; values, errors and exit codes."""

from __future__ import annotations

import json
import warnings

import pytest

from conftest import EXAMPLES

XOR = str(EXAMPLES / "xor.net")


@pytest.mark.parametrize("values, expected", [(("0", "0"), "0"), (("0", "1"), "1"), (("1", "0"), "1"), (("1", "1"), "0")])
def test_run_prints_outputs(cli, values, expected):
    result = cli("run", XOR, "--x", *values)
    assert result.exit_code == 0
    assert result.output == f"y = {expected}\n"


def test_run_json(cli):
    result = cli("run", XOR, "--x", "1", "0", "--json")
    assert json.loads(result.output) == {"y": 1.0}


def test_negative_and_exponent_values_need_no_quoting(cli, tmp_path):
    net = tmp_path / "sum.net"
    net.write_text("input a, b, c\nnode y = a + b + c\n")
    result = cli("run", str(net), "--x", "1", "-0.5", "2e-3")
    assert result.exit_code == 0, result.output
    assert result.output == "y = 0.502\n"
    result = cli("run", str(net), "--x", "-1", "-2", "-3e0", "--json")
    assert json.loads(result.output) == {"y": -6.0}


def test_values_may_come_before_the_file(cli):
    assert cli("run", "--x", "1", "1", XOR).output == "y = 0\n"


def test_vector_outputs(cli, tmp_path):
    net = tmp_path / "v.net"
    net.write_text("input x[2]\nlayer y = [[1, 0], [0, 2], [1, 1]] @ x\n")
    assert cli("run", str(net), "--x", "1", "2").output == "y = [1, 4, 3]\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("--x", "1"), "the network takes 2 values (x1, x2), but 1 was given"),
        (("--x", "1", "0", "1"), "but 3 were given"),
        (("--x", "1", "abc"), "Invalid value for '--x': 'abc' is not a number"),
        (("--x", "1", "nan"), "'nan' is not a finite number"),
        ((), "give the input values with --x: this network takes x1, x2"),
        (("--x", "1", "0", "--bogus"), "No such option '--bogus'"),
    ],
)
def test_bad_values_are_usage_errors(cli, args, message):
    result = cli("run", XOR, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_errors_in_the_file_exit_1_with_carets(cli, tmp_path):
    bad = tmp_path / "bad.net"
    bad.write_text("input x1, x2\nnode y1 = step(0.5*x1 + 0.3*x3 > 0.7)\nnode y2 = sigmod(x1)\n")
    for command in (("run", str(bad), "--x", "1", "0"), ("check", str(bad)), ("compile", str(bad))):
        result = cli(*command)
        assert result.exit_code == 1
        assert f"{bad}:2:29: error: unknown name 'x3'" in result.output
        assert "  |                             ^^" in result.output
        assert "did you mean 'sigmoid'?" in result.output
        assert result.output.rstrip().endswith("2 errors")
        assert "Traceback" not in result.output


def test_missing_and_unreadable_files(cli, tmp_path):
    result = cli("check", str(tmp_path / "nope.net"))
    assert result.exit_code == 1 and "does not exist" in result.output
    result = cli("check", str(tmp_path))
    assert result.exit_code == 1 and "is a directory" in result.output  # an input error, in netlang's format


def test_invalid_utf8_is_located(cli, tmp_path):
    bad = tmp_path / "latin1.net"
    bad.write_bytes(b"input x\nnode y = x  # caf\xe9\n")
    result = cli("check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2:18: error: the file is not valid UTF-8 text" in result.output


def test_check_summarises_a_good_file(cli):
    result = cli("check", XOR)
    assert result.exit_code == 0
    assert result.output == f"{XOR}: ok: 2 input values, 3 neurons in 2 layers, outputs y\n"


def test_compile_shows_labelled_matrices(cli):
    text = cli("compile", XOR).output
    assert "layer 1: 2 neurons reading 2 signals" in text
    assert "  s1 -0.5 -0.5 |  0.7 step(>0)" in text
    assert "  y 0.5 0.5 | -0.7 step(>0)" in text


def test_compile_json_is_the_matrix_form(cli):
    data = json.loads(cli("compile", XOR, "--json").output)
    assert [layer["rows"] for layer in data["layers"]] == [["s1", "s2"], ["y"]]
    assert data["layers"][0]["weights"] == [[-0.5, -0.5], [0.5, 0.5]]
    assert data["layers"][1]["bias"] == [-0.7]
    assert data["inputs"] == [{"name": "x1", "size": None}, {"name": "x2", "size": None}]


def test_version_and_help(cli):
    from netlang import __version__

    assert cli("--version").output.strip() == f"netlang, version {__version__}"
    for command in ("run", "check", "compile"):
        result = cli(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output
    assert "Example" in cli("--help").output


@pytest.mark.parametrize("extra", [[], ["--explain"]])
def test_overflow_gives_inf_and_nan_without_numpy_warnings(cli, tmp_path, extra):
    net = tmp_path / "big.net"
    net.write_text("input x\nnode y = 1e300*x\nnode w = 1e300*x\nnode z = y - w\noutput y, z\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cli("run", str(net), "--x", "1e300", *extra)
    assert result.exit_code == 0
    assert result.output.endswith("y = inf\nz = nan\n")
    assert [str(w.message) for w in caught] == []
