"""Exact arithmetic (--exact): the interpreter over rationals, against a hand-written Fraction reference."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang.pipeline import check_program, load_checked
from netlang.display import format_number
from netlang.interpreter import EXACT, FLOAT, inputs_by_name, interpret, interpret_row

from conftest import EXAMPLES

THRESHOLD = "input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\n"


def test_the_seed_threshold_is_exact_only_with_exact():
    checked = check_program(THRESHOLD)
    assert interpret(checked, {"x1": 1, "x2": 1}) == {"y": 1.0}
    assert interpret(checked, {"x1": 1, "x2": 1}, arithmetic=EXACT) == {"y": Fraction(0)}


def test_cli_run_exact(cli, tmp_path):
    path = tmp_path / "t.net"
    path.write_text(THRESHOLD)
    assert cli("run", str(path), "--x", "1", "1").output == "y = 1\n"
    assert cli("run", str(path), "--x", "1", "1", "--exact").output == "y = 0\n"
    assert json.loads(cli("run", str(path), "--x", "1", "1", "--exact", "--json").output) == {"y": 0}


def test_exact_results_are_shown_as_decimals_or_fractions(cli, tmp_path):
    path = tmp_path / "q.net"
    path.write_text("input x\nnode third = x/3\nnode tenth = x/10\nlayer v = relu([0.1, -0.2]*x)\n")
    result = cli("run", str(path), "--x", "1", "--exact")
    assert result.output == "third = 1/3\ntenth = 0.1\nv = [0.1, 0]\n"


def test_constants_are_folded_exactly():
    source = "input x\nlet a = 0.1\nlet b = a + 0.2\nlet W = [[a, b]]\nlayer y = step(W @ [x, x] > 0.4 - 1/3*0.3)\n"
    checked = check_program(source)
    # 0.1 + 0.3 = 0.4 and 0.4 - 0.1 = 0.3 exactly: 0.4 > 0.3 fires; and the float result agrees here.
    assert interpret_row(checked, [1], EXACT) == [1]
    assert interpret_row(checked, [1], FLOAT) == [1.0]


def test_smooth_activations_are_computed_in_float():
    checked = load_checked(EXAMPLES / "sigmoid.net")
    exact = interpret(checked, {"x1": 1, "x2": 1}, arithmetic=EXACT)["y"]
    floating = interpret(checked, {"x1": 1, "x2": 1})["y"]
    assert isinstance(exact, Fraction)
    assert float(exact) == floating


def test_float_interpretation_matches_the_compiled_network():
    # The generic interpreter keeps its float64 behaviour: it agrees with the compiled network.
    rng = np.random.default_rng(0)
    for path in sorted(EXAMPLES.glob("*.net")):
        checked, network = load_checked(path), netlang.load(path)
        for row in rng.uniform(-2, 2, size=(5, network.input_width)):
            assert interpret_row(checked, list(row)) == pytest.approx(list(network(row)), abs=1e-12)


decimals = st.integers(-20, 20).map(lambda n: Fraction(n, 10))


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(decimals, min_size=2, max_size=2), theta=decimals, op=st.sampled_from([">", ">=", "<", "<="]))
def test_exact_steps_match_a_fraction_reference(weights, theta, op):
    source = f"input x1, x2\nnode y = step({format_number(weights[0])}*x1 + {format_number(weights[1])}*x2 {op} {format_number(theta)})\n"
    checked = check_program(source)
    compare = {">": Fraction.__gt__, ">=": Fraction.__ge__, "<": Fraction.__lt__, "<=": Fraction.__le__}[op]
    for x1 in (0, 1):
        for x2 in (0, 1):
            expected = int(compare(weights[0] * x1 + weights[1] * x2, theta))
            assert interpret_row(checked, [x1, x2], EXACT) == [expected]


def test_inputs_are_read_as_the_decimals_written():
    checked = check_program("input x\nnode y = step(x*3 > 0.3)\n")
    assert interpret(checked, inputs_by_name(checked, [0.1]), arithmetic=EXACT)["y"] == 0
    assert interpret(checked, inputs_by_name(checked, [0.1]))["y"] == 1.0


def test_weight_file_values_are_read_as_their_decimals(cli, tmp_path):
    np.save(tmp_path / "w.npy", np.array([0.1, 0.2]))
    path = tmp_path / "f.net"
    path.write_text('input x[2]\nlet w = load("w.npy")\nnode y = step(w @ x > 0.3)\n')
    assert cli("run", str(path), "--x", "1", "1").output == "y = 1\n"
    assert cli("run", str(path), "--x", "1", "1", "--exact").output == "y = 0\n"


def test_the_library_entry_point():
    outcomes = netlang.check_expectations(THRESHOLD + "expect (1, 1) -> 0\n", exact=True)
    assert [o.passed for o in outcomes] == [True]
    assert [o.passed for o in netlang.check_expectations(THRESHOLD + "expect (1, 1) -> 0\n")] == [False]


def test_exact_sums_beyond_float64_give_the_activations_limits(cli, tmp_path):
    """A sum of 1e600 is exact as a rational, but beyond float64: sigmoid, tanh and softmax of it
    are their limits (it used to end in OverflowError's traceback)."""
    path = tmp_path / "big.net"
    path.write_text(
        "input x1, x2\nnode s = sigmoid(1e300*x1)\nnode t = tanh(-1e300*x1)\nlayer p = softmax([1e300*x1, x2])\n",
        encoding="utf-8",
    )
    result = cli("run", str(path), "--x", "1e300", "1", "--exact")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["s = 1", "t = -1", "p = [1, 0]"]


def test_float64_softmax_of_an_overflowing_sum_is_its_limit_as_in_exact(cli, tmp_path):
    """1e300 * 1e300 is inf in float64; softmax of it used to print NaN (inf - inf) where the
    exact interpreter gives the limit. Now run, --explain and --exact agree, and --explain
    prints no numpy warning."""
    path = tmp_path / "big.net"
    path.write_text("input x1, x2\nlayer p = softmax([1e300*x1, x1, 1e300*x2, x2])\n", encoding="utf-8")
    for x in (["1e300", "1"], ["1e300", "1e300"], ["-1e300", "1"]):
        outputs = {mode: cli("run", str(path), "--x", *x, *flags).output.splitlines()[-1] for mode, flags in
                   (("float64", []), ("explain", ["--explain"]), ("exact", ["--exact"]))}
        assert len(set(outputs.values())) == 1, outputs
        assert "nan" not in outputs["float64"]
    explained = subprocess.run(
        [sys.executable, "-m", "netlang", "run", str(path), "--x", "1e300", "1", "--explain"], capture_output=True, text=True
    )
    assert explained.returncode == 0 and explained.stderr == "", explained.stderr


def test_softmax_kernels_agree_on_infinite_pre_activations():
    """The numpy kernel, the array API form and the scalar reference give the same limits:
    the +inf entries share the mass; rows without +inf are the ordinary softmax; NaN stays NaN."""
    from netlang.activations import ACTIVATIONS

    softmax = ACTIVATIONS["softmax"]
    rows = [[np.inf, 1.0, np.inf], [1.0, 2.0, 3.0], [np.inf, -np.inf, 0.0], [-np.inf, 0.0, 5.0], [np.nan, 1.0, 2.0]]
    reference = np.array([softmax.reference(row) for row in rows])
    block = np.array(rows)
    softmax.kernel(block)
    column_major = np.asfortranarray(np.array(rows).T).T  # a strided view, as the runtime may pass
    softmax.kernel(column_major)
    portable = np.asarray(softmax.portable(np, np.array(rows)))  # numpy 2 is an array API namespace
    for got in (block, column_major, portable):
        np.testing.assert_allclose(got, reference, rtol=1e-15, atol=0)
    assert reference[0].tolist() == [0.5, 0.0, 0.5] and np.isnan(reference[4]).all()
