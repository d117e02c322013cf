"""expect statements: validation (located errors), checking, and the 'netlang test' command."""

from __future__ import annotations

import pytest

import netlang
from netlang.pipeline import check_program
from netlang.expectations import DEFAULT_TOLERANCE, check_expectations, expectations, run_expectations
from netlang.interpreter import inputs_by_name, interpret

from conftest import EXAMPLES



def without_expectations(name):
    return "".join(line for line in (EXAMPLES / name).read_text().splitlines(True) if not line.startswith("expect"))


XOR = without_expectations("xor.net")
XOR_LINES = XOR.count("\n")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def errors_of(source):
    with pytest.raises(netlang.NetlangError) as info:
        expectations(check_program(source, "e.net"))
    return info.value.errors


def test_values_are_flattened_and_constants_folded():
    source = "input v[2], s\nlet k = 0.5\nlayer h = identity(v*k + s)\nexpect ([1, 0], 2*k) -> (1, 0.5) within k/10"
    (found,) = expectations(check_program(source))
    assert found.inputs == (1.0, 0.0, 1.0) and found.outputs == (1.0, 0.5)
    assert found.tolerance == 0.05 and found.explicit_tolerance


def test_default_tolerance_is_one_in_a_billion():
    source = "input x\nnode y = x/3\nexpect 1 -> 0.3333333\nexpect 1 -> 0.3333333333333333\nexpect 1 -> 0.333 within 0.001"
    outcomes = check_expectations(source)
    assert DEFAULT_TOLERANCE == 1e-9
    assert [o.passed for o in outcomes] == [False, True, True]
    assert not outcomes[0].expectation.explicit_tolerance


def test_outcomes_agree_with_the_interpreter():
    # Differential: each expectation's "got" is what the reference interpreter computes.
    source = without_expectations("sigmoid.net") + "\nexpect (0, 0) -> 0.3\nexpect (1, 1) -> 0.574 within 0.001\n"
    checked = check_program(source)
    outcomes = run_expectations(checked)
    for outcome in outcomes:
        reference = interpret(checked, inputs_by_name(checked, outcome.expectation.inputs))["y"]
        assert outcome.actual[0] == pytest.approx(reference, abs=1e-15)
        assert outcome.passed == (abs(reference - outcome.expectation.outputs[0]) <= outcome.expectation.tolerance)
    assert [o.passed for o in outcomes] == [False, True]


def test_xor_truth_table_passes_and_a_wrong_line_fails():
    source = XOR + "expect (0, 0) -> 0\nexpect (0, 1) -> 1\nexpect (1, 0) -> 1\nexpect (1, 1) -> 1\n"
    outcomes = check_expectations(source)
    assert [o.passed for o in outcomes] == [True, True, True, False]
    assert outcomes[-1].report() == "FAIL (1, 1) -> 1, got 0"
    assert outcomes[0].report() == "ok   (0, 0) -> 0, got 0"


def test_invalid_expectations_are_all_reported_with_places():
    source = (
        "input x1, x2\nlet t = 0.5\nnode y = step(x1 + x2 > t)\n"
        "expect (1, 0, 1) -> 1\n"
        "expect (1, x2) -> tt\n"
        "expect (1, 1) -> (1, 0) within -t\n"
        "expect (1, 1) -> sigmoid(1)\n"
    )
    errors = errors_of(source)
    found = [(e.line, e.column, e.code) for e in errors]
    assert found == [
        (4, 9, "expect-arity"),
        (5, 12, "expect-not-constant"),
        (5, 19, "unknown-name"),
        (6, 19, "expect-arity"),
        (6, 32, "bad-tolerance"),
        (7, 18, "expect-not-constant"),
    ]
    assert errors[0].message == "this expectation lists 3 input values, but the network takes 2"
    assert errors[0].hint == "the network's inputs are x1, x2 (vectors flattened)"
    assert errors[1].message == "an expected value must be a constant, but 'x2' is an input"
    assert errors[2].hint == "did you mean 't'?"
    assert errors[4].message == "the tolerance after 'within' must be a positive number, not -0.5"


def test_division_by_zero_is_an_error_not_a_crash():
    (error,) = errors_of("input x\nnode y = x\nexpect 1/0 -> 1\n")
    assert error.code == "expect-not-constant" and (error.line, error.column) == (3, 8)


@pytest.mark.parametrize("exact", [False, True])
def test_an_element_of_a_single_number_is_an_error_not_a_crash(exact):
    # It was a TypeError ('float' object is not subscriptable) reaching the user.
    with pytest.raises(netlang.NetlangError) as raised:
        check_expectations("input x1\nlet c = 2\nnode y = step(x1 > 0.5)\nexpect c[0] -> 1\n", exact=exact)
    assert [(e.code, e.line, e.column) for e in raised.value.errors] == [("not-a-vector", 4, 8)]


def test_cli_test_reports_each_line_and_a_summary(cli, tmp_path):
    good = write(tmp_path, "xor.net", XOR + "expect (0, 1) -> 1\nexpect (1, 1) -> 0\n")
    result = cli("test", good)
    assert result.exit_code == 0
    assert result.output == (
        f"{good}:{XOR_LINES + 1}: ok   (0, 1) -> 1, got 1\n{good}:{XOR_LINES + 2}: ok   (1, 1) -> 0, got 0\n2 passed\n"
    )
    bad = write(tmp_path, "bad.net", XOR + "expect (1, 1) -> 1\n")
    result = cli("test", good, bad)
    assert result.exit_code == 1
    assert f"{bad}:{XOR_LINES + 1}: FAIL (1, 1) -> 1, got 0\n" in result.output
    assert result.output.endswith(
        f"2 passed, 1 failed\nto see how the network computes a failing case: netlang run {bad} --x 1 1 --explain\n"
    )


def test_cli_test_reports_invalid_files_and_carries_on(cli, tmp_path):
    broken = write(tmp_path, "broken.net", "input x\nnode y = x\nexpect (1, 2) -> 1\n")
    good = write(tmp_path, "good.net", "input x\nnode y = x\nexpect 2 -> 2\n")
    result = cli("test", broken, good)
    assert result.exit_code == 1
    assert f"{broken}:3:9: error: this expectation lists 2 input values, but the network takes 1" in result.output
    assert f"{good}:3: ok   2 -> 2, got 2" in result.output
    assert result.output.rstrip().endswith("1 passed, 1 invalid file")


def test_cli_test_without_expectations_says_so(cli):
    result = cli("test", str(EXAMPLES / "rounding.net"))
    assert result.exit_code == 5  # as pytest does when it collects no test
    assert "no expectations" in result.output
    assert "nothing was tested" in result.stderr
    both = cli("test", str(EXAMPLES / "rounding.net"), str(EXAMPLES / "xor.net"))
    assert both.exit_code == 0 and "rounding.net: no expectations" in both.output


def test_check_validates_expectations_and_run_ignores_them(cli, tmp_path):
    path = write(tmp_path, "n.net", "input x\nnode y = step(x > 0.5)\nexpect (1, 1) -> 1\n")
    result = cli("check", path)
    assert result.exit_code == 1
    assert "n.net:3:9: error: this expectation lists 2 input values" in result.output
    assert cli("run", path, "--x", "1").output == "y = 1\n"
    ok = write(tmp_path, "ok.net", "input x\nnode y = step(x > 0.5)\nexpect 1 -> 1\n")
    assert cli("check", ok).exit_code == 0


def test_exact_expectations(cli, tmp_path):
    path = write(tmp_path, "t.net", "input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\nexpect (1, 1) -> 0\nexpect (0, 0) -> 1\n")
    result = cli("test", path)
    assert result.exit_code == 1
    assert f"{path}:3: FAIL (1, 1) -> 0, got 1 (float64 rounding decides this one: it passes with --exact)\n" in result.output
    assert f"{path}:4: FAIL (0, 0) -> 1, got 0\n" in result.output  # wrong in any arithmetic: no note
    path = write(tmp_path, "t.net", "input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\nexpect (1, 1) -> 0\n")
    result = cli("test", path, "--exact")
    assert result.exit_code == 0
    assert result.output.endswith("1 passed (exact arithmetic)\n")


def test_the_examples_pass_their_own_expectations(cli):
    files = sorted(str(p) for p in EXAMPLES.glob("*.net"))
    result = cli("test", *files)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert int(result.output.splitlines()[-1].split()[0]) >= 20


def test_a_fresh_check_refuses_what_numpy_refuses_in_an_expected_value(tmp_path):
    # A product of literals that underflows, which numpy computes (its orders may differ): the
    # check found it fine in a fresh process, where numpy was imported only inside its errstate.
    import subprocess
    import sys

    from conftest import ROOT

    (tmp_path / "net.net").write_text("input x1\nnode y = x1\nexpect ([1e-160, 1e-160, 1e-160] @ [1e-160, 2e-160, 3e-160]) -> (0)\n")
    code = f"from netlang.cli import main\nmain(['check', {str(tmp_path / 'net.net')!r}])\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "cannot be computed" in done.stdout + done.stderr, done.stdout + done.stderr
