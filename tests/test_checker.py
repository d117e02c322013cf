"""Checker stage: names, constants, shapes, linearity, cycles, outputs; every error located."""

from __future__ import annotations

import numpy as np
import pytest

import netlang
from netlang.checker import check
from netlang.forms import ScalarForm


def _checked(source: str):
    return check(netlang.parse(source, "t.net"), source)


def _errors(source: str):
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(source, "t.net")
    return info.value.errors


def _one(source: str) -> netlang.NetlangError:
    errors = _errors(source)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_constants_fold():
    checked = _checked("let a = 1/4\nlet b = 2*a - -0.5\nlet v = [a, b]\nlet M = [[1, 2], [3, 4]]\nlet w = M @ v\ninput x\nnode y = b*x\n")
    assert checked.constants["b"] == 1.0
    assert checked.constants["w"].tolist() == [2.25, 4.75]


def test_neuron_input_is_an_affine_form():
    checked = _checked("input x1, x2\nlet t = 0.7\nnode y = step(3*(x1 - x2)/2 + 1 > t)\n")
    (unit,) = checked.units
    assert unit.activation == "step"
    assert isinstance(unit.form, ScalarForm)
    assert unit.form.coeffs == {"x1": 1.5, "x2": -1.5}
    assert unit.form.const == pytest.approx(0.3)


@pytest.mark.parametrize(
    "comparison, activation, coeff, const",
    [("x > 2", "step", 1.0, -2.0), ("x >= 2", "step_ge", 1.0, -2.0), ("x < 2", "step", -1.0, 2.0), ("x <= 2", "step_ge", -1.0, 2.0)],
)
def test_comparisons_become_thresholds(comparison, activation, coeff, const):
    (unit,) = _checked(f"input x\nnode y = step({comparison})\n").units
    assert (unit.activation, unit.form.coeffs["x"], unit.form.const) == (activation, coeff, const)


def test_definitions_in_any_order():
    checked = _checked("node y = h[0] + z\nlayer h = sigmoid([[1, 2]] @ v)\nnode z = x\ninput x, v[2]\n")
    assert [u.name for u in checked.units] == ["h", "z", "y"]
    assert [u.depth for u in checked.units] == [1, 1, 2]


def test_default_outputs_are_the_nodes_nothing_reads():
    assert _checked("input x\nnode a = x\nnode b = a\nnode c = x\n").outputs == ["b", "c"]


def test_unknown_name_suggests():
    error = _one("input sigma1\nnode y = sigmaa1\n")
    assert (error.code, error.line, error.column, error.hint) == ("unknown-name", 2, 10, "did you mean 'sigma1'?")


def test_unknown_activation_suggests():
    error = _one("input x\nnode y = sigmod(x)\n")
    assert error.code == "unknown-function" and error.hint == "did you mean 'sigmoid'?"


def test_products_of_signals_are_not_linear():
    assert _one("input a, b\nnode y = a*b\n").code == "not-linear"
    assert _one("input a, b\nnode y = a/b\n").code == "not-linear"
    assert _one("input a\nnode y = 1/a\n").code == "not-linear"
    assert _one("input v[2]\nlayer y = v @ v\n").code == "not-linear"


def test_comparison_outside_step():
    assert _one("input x\nnode y = x > 1\n").code == "misplaced-comparison"
    assert _one("input x\nnode y = sigmoid(x > 1)\n").code == "misplaced-comparison"
    assert _one("input x\nnode y = step(x + (x > 1))\n").code == "misplaced-comparison"


def test_activation_must_wrap_the_whole_definition():
    assert _one("input x\nnode y = 2*sigmoid(x)\n").code == "misplaced-activation"


def test_duplicates_and_reserved_names():
    errors = _errors("input x, x\nlet sigmoid = 1\nnode y = x\nnode y = 2\n")
    assert [e.code for e in errors] == ["duplicate-definition", "reserved-name", "duplicate-definition"]


def test_cycle_names_every_node_in_it():
    error = _one("input x\nnode a = b + x\nnode b = c\nnode c = a\nnode ok = x\n")
    assert error.code == "cycle"
    assert "a -> b -> c -> a" in error.message
    assert error.line == 2


def test_self_reference_is_a_cycle():
    assert _one("input x\nnode a = a + x\n").code == "cycle"


def test_constant_cycle():
    assert _one("let a = b\nlet b = a\ninput x\nnode y = x\n").code == "cycle"


def test_unknown_and_duplicate_outputs():
    errors = _errors("input x\nnode y = x\noutput y, z, y\n")
    assert [e.code for e in errors] == ["unknown-name", "duplicate-output"]


def test_non_finite_constants():
    assert _one("input x\nnode y = 1e999*x\n").code == "number-out-of-range"
    assert _one("input x\nlet big = 1e300*1e300\nnode y = x\n").code == "number-out-of-range"
    assert _one("input x\nlet k = 1/0\nnode y = x\n").code == "division-by-zero"


def test_weights_overflowing_are_reported_by_the_checker():
    # Found by the checker (so netlang check, which never lowers, reports them), alone.
    assert _one("input x\nnode y = 1e300*(1e300*x)\n").code == "number-out-of-range"
    program = netlang.parse("input x\ninput v[2]\nlayer h = 1e300*(1e300*v)\nnode y = 2*x\n", "o.net")
    with pytest.raises(netlang.NetlangError) as info:
        check(program, program.source)
    assert [(e.code, e.line, e.message) for e in info.value.errors] == [
        ("number-out-of-range", 3, "the weights of 'h' overflow: they are too large to represent")
    ]
    program = netlang.parse("input x\nnode y = 1e300*(1e300*x)\nnode z = q\n", "o.net")
    with pytest.raises(netlang.NetlangError) as info:
        check(program, program.source)
    assert [e.code for e in info.value.errors] == ["unknown-name"]  # as when lowering found them: not with other errors


def test_shape_errors_name_both_shapes():
    error = _one("input x[3]\nlet W = [[1, 2], [3, 4]]\nlayer y = W @ x\n")
    assert error.code == "shape-mismatch"
    assert "W is 2x2" in error.message and "x has 3 elements" in error.message


def test_node_must_be_scalar_and_layer_vector():
    assert _one("input v[2]\nnode y = v\n").code == "shape-mismatch"
    assert _one("input x\nlayer y = x\n").code == "shape-mismatch"
    assert _one("input v[2]\nlayer y[3] = v\n").code == "shape-mismatch"


def test_index_checks():
    assert _one("input v[2]\nnode y = v[2]\n").code == "index-out-of-range"
    assert _one("input x\nnode y = x[0]\n").code == "not-a-vector"


def test_constant_cannot_read_signals():
    assert _one("input x\nlet k = 2*x\nnode y = x\n").code == "signal-in-constant"


def test_no_nodes_is_an_error():
    assert _one("input x\n").code == "no-outputs"


def test_all_errors_are_reported_in_source_order():
    errors = _errors("input x\nnode a = q\nnode b = x*x\nnode c = sigmod(x)\n")
    assert [e.line for e in errors] == [2, 3, 4]


def test_error_in_one_definition_does_not_cascade():
    # 'a' is broken; 'b' reads it but gets no second error.
    errors = _errors("input x\nnode a = x*x\nnode b = a + 1\n")
    assert len(errors) == 1


def test_syntax_errors_come_with_the_errors_of_the_other_statements():
    source = (
        "input x1, x2\n"
        "node a = sigmoid(x1 +)\n"  # syntax error: defines nothing, but 'a' is not unknown below
        "node b = relu(x1 * x2)\n"  # not linear
        "node c = tanh(a + x3)\n"  # x3 is unknown, a is not
        "nod d = x1\n"  # syntax error: 'd' may be what it meant to define
        "node e = b + d + q\n"  # q is unknown
        "output a, b, c, e, zz\n"  # zz is unknown
    )
    errors = _errors(source)
    assert [(e.line, e.column, e.code) for e in errors] == [
        (2, 22, "syntax-error"),
        (3, 15, "not-linear"),
        (4, 19, "unknown-name"),
        (5, 1, "syntax-error"),
        (6, 18, "unknown-name"),
        (7, 20, "unknown-name"),
    ]
    assert [e.message for e in errors if e.code == "unknown-name"] == [
        "unknown name 'x3'", "unknown name 'q'", "unknown name 'zz'"
    ]


def test_a_syntax_error_in_every_definition_is_not_also_no_outputs():
    errors = _errors("input x\nnode y = (x\n")
    assert [e.code for e in errors] == ["syntax-error"]


def test_load_checks_the_rest_of_a_file_with_a_syntax_error(tmp_path):
    (tmp_path / "m.net").write_text('input x[2]\nlet W = load("missing.npy")\nlayer h = W @ x +\n')
    with pytest.raises(netlang.NetlangError) as info:
        netlang.load(tmp_path / "m.net")
    assert [(e.line, e.code) for e in info.value.errors] == [(2, "file-not-found"), (3, "syntax-error")]


def test_elementwise_and_broadcast_forms():
    net = netlang.compile("input v[3], s\nlayer y = 2*v + [1, 2, 3]*v - s + 1\n")
    assert net.run({"v": [1, 2, 3], "s": 10})["y"].tolist() == [-6.0, -1.0, 6.0]
    assert not np.any(net.layers[0].weights[:, :3] - np.diag([3.0, 4.0, 5.0]))


def test_every_unknown_name_in_a_definition_is_reported():
    errors = _errors("node y1 = step(0.5*x1 + 0.3*x2 > 0.7)\n")
    assert [(e.code, e.column) for e in errors] == [("unknown-name", 20), ("unknown-name", 29)]
    assert errors[0].hint == "if x1 and x2 are inputs, declare them: input x1, x2"


def test_unknown_name_hint_adds_to_the_declared_inputs():
    error = _one("input x1, v[3]\nnode y = x1 + x3\n")
    assert error.hint == "the inputs are x1, v[3]; if x3 is a new input, add it: input x1, v[3], x3"


def test_close_names_still_get_did_you_mean():
    error = _one("input alpha\nnode y = alpah + 1\n")
    assert error.hint == "did you mean 'alpha'?"
