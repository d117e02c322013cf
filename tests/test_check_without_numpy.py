"""`netlang check` without numpy finds exactly what a compile finds (netlang.grids).

The check path folds constants as Grids (pure Python) and reads weight files without numpy;
the compile path folds with numpy. Both run the same rules (values.py, forms.py); these
tests compare them: the same diagnostics, and on success the same constants, forms, depths,
outputs and lowered network, bit for bit, over many generated programs with arrays, weight
files and drawn params. (That a fresh `netlang check` leaves numpy out of sys.modules is
tests/test_light_imports.py's.)
"""

from __future__ import annotations

import math
import struct
from array import array
from fractions import Fraction
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from generators import array_programs, flowing_programs
from test_light_imports import _FLOWING
from netlang import pipeline
from netlang.checker import CheckedProgram
from netlang.errors import NetlangError
from netlang.expectations import expectations
from netlang.files import read_npy_plainly
from netlang.forms import Diag, ScalarForm, VectorForm
from netlang.grids import GRIDS, NUMPY, Arrays, Grid, elements, from_numpy, has_inexact
from netlang.rounding import Inexact
from netlang.interpreter import FLOAT
from netlang.lint import find_warnings


def write_weight_files(folder: Path) -> None:
    """The files generators.WEIGHT_FILES names."""
    rng = np.random.default_rng(7)
    np.save(folder / "w3.npy", rng.normal(size=3))
    np.save(folder / "m23.npy", rng.normal(size=(2, 3)))
    np.save(folder / "i3.npy", np.array([3, -1, 0], dtype=np.int32))
    np.save(folder / "big.npy", rng.normal(size=(3, 2)).astype(">f8"))
    np.save(folder / "fortran.npy", np.asfortranarray(rng.normal(size=(3, 3))))
    np.save(folder / "half.npy", np.array([0.5, 1.5], dtype=np.float16))
    np.save(folder / "nan.npy", np.array([1.0, np.nan]))
    np.savez(folder / "m.npz", W=rng.normal(size=(3, 3)), b=np.zeros(3))
    (folder / "c.csv").write_text("1, 2, 3\n4, 5, 6\n")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("arrays")
    write_weight_files(path)
    return path


def diagnose(path: Path, arrays: Arrays) -> Tuple[List[Any], Optional[CheckedProgram]]:
    """What `netlang check` reports (lint.diagnose), with the checker's arrays of one kind."""
    try:
        checked = pipeline.check(pipeline.read(path), arrays=arrays)
        expected = expectations(checked, grids=arrays is GRIDS)
    except NetlangError as error:
        return [e.to_dict() for e in error.errors], None
    except Exception as error:  # noqa: BLE001 - a crash must at least be the same crash
        return [("crash", type(error).__name__, str(error))], None
    # The expectations' values, bit for bit (validated without numpy when checked with Grids).
    values = [[_bits(float(v)) for v in e.inputs + e.outputs + (e.tolerance,)] for e in expected]
    return [w.to_dict() for w in find_warnings(checked)] + values, checked


def _numpys(value: Any) -> Any:
    """An Inexact as numpy's float, and a Grid with Inexacts as numpy's values, each checked
    to lie within the bounds carried for it and to be zero, negative or finite as they say."""
    if isinstance(value, Inexact):
        numpys = value.exact()
        assert value.low <= Fraction(numpys) <= value.high, value
        assert (numpys > 0) == (value > 0) and (numpys < 0) == (value < 0) and math.isfinite(numpys)
        return numpys
    if isinstance(value, Grid) and has_inexact(value):
        known = list(elements(value) or ())
        values = list(value.data)
        for mine, theirs in zip(known, values):
            assert _bits(_numpys(mine)) == _bits(theirs)
    return value


def _bits(value: Any) -> Any:
    """The exact bits (a NaN is any NaN: its sign and payload are the one thing Python's and
    numpy's arithmetic may differ in, and no rule looks at them); an Inexact's and a Grid's:
    numpy's, once checked against their bounds (_numpys)."""
    value = _numpys(value)
    if isinstance(value, float):
        return struct.pack("<d", math.nan if value != value else value)
    array = np.array(value, dtype=np.float64)
    array[np.isnan(array)] = math.nan
    return (array.shape, np.ascontiguousarray(array).tobytes())


def _form_bits(form: Any) -> Any:
    if isinstance(form, ScalarForm):
        return ("scalar", _bits(form.const), [(key, _bits(c)) for key, c in form.coeffs.items()])
    assert isinstance(form, VectorForm)
    terms = [(key, "diag" if isinstance(b, Diag) else "block", _bits(b.d if isinstance(b, Diag) else b)) for key, b in form.terms.items()]
    return ("vector", form.size, _bits(form.const), terms)


def assert_same(light: CheckedProgram, full: CheckedProgram) -> None:
    assert list(light.constants) == list(full.constants)
    for name, value in full.constants.items():
        assert _bits(light.constants[name]) == _bits(value), name
    assert [(u.name, u.size, u.activation, u.depth) for u in light.units] == [(u.name, u.size, u.activation, u.depth) for u in full.units]
    for unit, other in zip(light.units, full.units):
        assert _form_bits(unit.form) == _form_bits(other.form), unit.name
    assert light.outputs == full.outputs
    # The network lowered from the program checked without numpy is the compile's, bit for bit.
    light_network, full_network = pipeline.lower(light), pipeline.lower(full)
    assert len(light_network.layers) == len(full_network.layers)
    for mine, theirs in zip(light_network.layers, full_network.layers):
        assert _bits(mine.weights) == _bits(theirs.weights) and _bits(mine.bias) == _bits(theirs.bias)


# Drawn params whose values the rules read: netlang.pcg64's draws against numpy's.
_DRAWN_USES = {
    "": ["node y = x1 * p + x2", "node y = step(x1 - p)", "let q = p * 1e300\nnode y = x1 * q", "node y = x1 / p"],
    "[3]": ["node y = p @ v", "node y = sigmoid(p[0] * x1 + p[2] * x2)", "layer y = p * v", "node y = (p * 1e10) @ v", "layer y = v / p"],
    "[2, 3]": ["layer y = p @ v", "let r = p[1]\nnode y = r @ v", "layer y = (p * 2) @ v + p[0][1:3]", "let r = p[0]\nnode y = x1 * r[2]"],
}


@st.composite
def drawn_programs(draw: st.DrawFn) -> str:
    """A param drawn by an initialiser (any arguments, some wrong or huge) and a use of it
    whose rules read its values (nonzero weights, elements, finiteness, overflow)."""
    number = lambda options: draw(st.sampled_from(options))  # noqa: E731
    initialiser = draw(st.sampled_from([
        f"normal({number(['0', '1', '-2.5', '1e300'])}, {number(['0', '1', '0.5', '1e-300', '1e307', '1e308', '-1'])})",
        f"uniform({number(['-1', '0', '1e308', '-1e308'])}, {number(['1', '0', '2', '1e308'])})",
        "xavier()", "he()", f"xavier({number(['1', '2', '784', '0.5'])})", f"he({number(['1', '3', '1e10'])})", "zeros()",
    ]))
    shape = draw(st.sampled_from(list(_DRAWN_USES)))
    use = draw(st.sampled_from(_DRAWN_USES[shape]))
    seed = draw(st.sampled_from([0, 1, 7, 2**40 + 3, 2**63 - 1]))
    return f"input x1, x2, v[3]\nparam p{shape} = {initialiser}\n{use}\ntrain seed = {seed}\n"


@settings(max_examples=450, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.one_of(array_programs(), drawn_programs()))
@example(text="input v[3]\nparam c0[3, 3] = xavier()\nlet c1 = [[1, 2, 3], [0, 1, 0]]\nlayer h0 = c1 @ (c0 @ v + c1[0])\n")
@example(text="input x1, x2\nlet c0 = [[1e200, 1e200], [2, 3]]\nlet c1 = c0 @ [[1e200, 0], [1e200, 1]]\nlayer h0 = c1 @ [x1, x2]\n")
@example(text="input v[3]\nparam c0[3] = normal(0, 1e307)\nnode h0 = c0 @ v\n")
@example(text="input v[3]\nparam S[3, 3] = xavier()\nlet w = [0, 1, 0]\nnode h0 = w @ (S @ v)\n")  # crashed: a 0-d lazy Grid
@example(text="input v[3]\nlet c0 = load(\"fortran.npy\") @ load(\"m.npz\", \"W\")\nlayer h0 = c0 @ v\n")
@example(text="input x1, x2, v[3]\nparam p = normal(0, 1e308)\nnode y = x1 * p + x2\ntrain seed = 0\n")
@example(text="input x1, x2, v[3]\nparam p[2, 3] = uniform(-1, 1)\nlet r = p[1]\nnode y = r @ v\ntrain seed = 9223372036854775807\n")
def test_check_without_numpy_finds_what_a_compile_finds(folder: Path, text: str) -> None:
    checked_alike(folder / "program.net", text)


def checked_alike(path: Path, text: str) -> None:
    """``text``, written at ``path``, checked with Grids and with numpy: the same diagnostics,
    and on success the same program (assert_same)."""
    path.write_text(text)
    light, light_checked = diagnose(path, GRIDS)
    full, full_checked = diagnose(path, NUMPY)
    assert light == full
    assert (light_checked is None) == (full_checked is None)
    if light_checked is not None and full_checked is not None:
        assert_same(light_checked, full_checked)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=array_programs())
@example(text="input x1\nlet w = [1e-200, 3]\nlet b = [0.5, 0.25]\nnode y = x1\nexpect (w @ w, w * 1e-200, b @ b, [b, b] @ b, -b / 4) -> (0)\n")
@example(text="input x1\nlet w = [0.1, 0.2, 0.3]\nnode y = x1\nexpect (w / 0, w * 1e308 * 10, w / [1, 0, 1], w @ w) -> (0)\n")
@example(text="input x1\nlet w = [0.1, 0.2, 1.1]\nlet t = [3e-155, 2e-155, 1e-155]\nnode y = x1\n"
              "expect ([1e-160, 0] @ [1e-160, 1], w @ [0.1, 0.2, 0.3], t @ t, t @ [1e-170, 1e-170, 1e-170], [t, w] @ [1, 2, 3]) -> (0)\n")
@example(text="input x1\nlet A = [[1, 2, 3], [4, 5, 6]]\nnode y = x1\n"  # shapes broadcast, stacked or refused
              "expect ((A + [1, 0, -1]) @ [1, 0, 0], [[0.5], [2]] * [1, 2, 3] @ [1, 1, 1], [1, 2] + A, [A, A] * [2]) -> (0)\n"
              "expect ([2.225073858507201e-308, 1] * 1.0000000000000002, [1e-300, 1] * [[1e-10], [1]]) -> (0)\n")
def test_expected_values_are_computed_without_numpy_as_with_it(folder: Path, text: str) -> None:
    from netlang.expectations import _Validator
    from netlang.nodes import Expect

    path = folder / "program.net"
    path.write_text(text)
    found = []
    for arrays in (GRIDS, NUMPY):
        try:
            checked = pipeline.check(pipeline.read(path), arrays=arrays)
        except NetlangError:
            return  # the rest of the program is compared by the test above
        validator = _Validator(checked, FLOAT, grids=arrays is GRIDS)
        values = []
        for statement in checked.program.statements:
            if isinstance(statement, Expect):
                for exprs in (statement.inputs, statement.outputs):
                    flat = validator.values(exprs)
                    values.append(None if flat is None else [_bits(float(v)) for v in flat])
        found.append((values, [e.to_dict() for e in validator.report.found]))
    assert found[0] == found[1]


# Expected values of every shape netlang constants have, combined elementwise (numpy broadcasts a
# 2x3 matrix and a 3-vector, a 2x1 matrix and a 3-vector, refuses a 2x3 matrix and a 2-vector),
# stacked ([v, v], [A, A]: 3 dimensions), indexed and multiplied, with numbers near overflow and
# near 2**-1022 (underflow, and the tininess that depends on the processor).
_SHAPED_LETS = {
    "A": "[[1, -2, 0.5], [3, 1e-160, -0.1]]",
    "B": "[[2], [1e-300]]",
    "R": "[[0.25, 4, -1]]",
    "C": "[[1, 0], [0, 2], [0.5, 1]]",
    "v": "[1e160, 3, 0.3]",
    "u": "[-1, 2.5]",
    "s": "[7]",
    "t": "[2.2250738585072014e-308, 2.225073858507201e-308, -2.225073858507201e-308]",
    "c": "1e-308",
}
_SHAPED_LEAVES = list(_SHAPED_LETS) + [
    "A[1]", "C[2]", "v[0]", "t[1]", "2", "0.5", "-3", "0", "1e300", "1e-170", "1.0000000000000002", "0.9999999999999999",
    "2.2250738585072014e-308", "[1, 2, 3]", "[0.5, -1]", "[[1], [2], [3]]", "[[1, 2, 3]]", "[[0.1, 0.2], [0.3, 0.4]]",
    # Numbers that overflow as Python's floats do, silently (an infinity, and a NaN from two).
    "(1e300 * 1e300)", "(-1e300 * 1e300)", "(1e300 * 1e300 - 1e300 * 1e300)",
]


@st.composite
def shaped_expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 9 if depth < 3 else 0))
    if kind <= 2:
        return draw(st.sampled_from(_SHAPED_LEAVES))
    if kind == 3:
        return f"-({draw(shaped_expressions(depth + 1))})"
    if kind == 4:
        items = [draw(shaped_expressions(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        return "[" + ", ".join(items) + "]"
    op = draw(st.sampled_from(["+", "-", "*", "/", "*", "/", "@"] if kind == 9 else ["+", "-", "*", "/"]))
    return f"({draw(shaped_expressions(depth + 1))}) {op} ({draw(shaped_expressions(depth + 1))})"


def _shaped_envs(text: str) -> Tuple[Any, Any, Any]:
    """The Expr of ``expect (text) -> 0`` and the constants' values: Grids, and numpy's arrays."""
    from netlang.expectations import _Validator
    from netlang.nodes import Expect

    program = "input x1\n" + "".join(f"let {name} = {value}\n" for name, value in _SHAPED_LETS.items())
    program += f"node y = x1\nexpect ({text}) -> 0\n"
    envs = []
    for arrays in (GRIDS, NUMPY):
        checked = pipeline.check(pipeline.text_source(program), arrays=arrays)
        envs.append(_Validator(checked, FLOAT, grids=arrays is GRIDS).env)
    (statement,) = [s for s in checked.program.statements if isinstance(s, Expect)]
    return statement.inputs[0], envs[0], envs[1]


def _outcome(compute: Any) -> Any:
    """A value's bits, or the kind of error computing it raised (each one the check reports alike)."""
    try:
        return _bits(compute())
    except (ZeroDivisionError, FloatingPointError, OverflowError, ValueError, IndexError) as error:
        return type(error).__name__


def _tininess_known_here() -> bool:
    from netlang.expectations import _detects_tininess_after_rounding

    return _detects_tininess_after_rounding()


@settings(max_examples=600, deadline=None)
@given(text=shaped_expressions())
@example(text="((B) / (t[1])) @ (R)")  # one product per element, which overflows: numpy's 'overflow' in matmul
@example(text="(A) + ([1, 2, 3])")  # 2x3 + 3: broadcast
@example(text="(B) * ([1, 2, 3])")  # 2x1 * 3: 2x3
@example(text="([1, 2, 3]) - (A)")
@example(text="(A) + ([0.5, -1])")  # 2x3 + 2: refused
@example(text="(R) / (B)")  # 1x3 / 2x1: 2x3 (with an underflow: 0.25 / 1e-300 is fine, -1 / 1e-300 too)
@example(text="([A, A]) * (s)")  # a stack of matrices times a 1-vector
@example(text="([A, C])")  # matrices of different shapes: refused
@example(text="([v, 2])")  # a vector and a number: refused
@example(text="((t) * (1.0000000000000002)) * ([1, 1, 1])")  # in the tininess window: not an underflow on x86-64
@example(text="(t) * (0.9999999999999999)")  # [2**-1022 (1 - 2**-53), ...]: tiny after rounding too
@example(text="([A, A]) @ (v)")  # a stack's products: numpy's
@example(text="((1e300 * 1e300)) * ([1, 0])")  # inf * 0: 'invalid'
@example(text="([1, -2]) / ((-1e300 * 1e300))")  # [-0.0, 0.0], no flag
@example(text="((1e300 * 1e300 - 1e300 * 1e300)) / ([0, 1])")  # NaN / 0: no flag (then not finite)
@example(text="(((1e300 * 1e300)) / ([0, -2])) - (v)")  # inf / 0: inf, no flag; inf - finite
def test_broadcast_and_stacked_expected_values_are_numpys_without_numpy(text):
    from netlang.expectations import _AskNumpy, _grid_value
    from netlang.interpreter import value_of

    expr, grids, arrays = _shaped_envs(text)
    with np.errstate(all="raise"):
        expected = _outcome(lambda: value_of(expr, arrays, FLOAT))
    try:
        got = _outcome(lambda: _grid_value(expr, grids))
    except _AskNumpy as asked:
        # Left to numpy: a product of matrices (whose order of summation may differ); the
        # tininess window only on a machine whose detection is not known.
        reason = asked.args[0] if asked.args else "product"
        assert reason in {"product", "stack"} or (reason == "tininess" and not _tininess_known_here()), (reason, expected)
        assert reason != "product" or "@" in text
        return
    assert got == expected


def _near_tiniest_normal(draw: st.DrawFn) -> Tuple[float, float, str]:
    """Two factors (or a dividend and divisor) whose exact result lies within a few units in
    the last place of 2**-1022, above or below it."""
    a = 1.0 + draw(st.integers(0, 2**52 - 1)) / 2**52
    op = draw(st.sampled_from(["*", "/"]))
    target = Fraction(2) ** -1022 / Fraction(a) if op == "*" else Fraction(2) ** -1022 * Fraction(a)
    b = float(target)
    for _ in range(draw(st.integers(-3, 3)) % 7):
        b = math.nextafter(b, math.inf if draw(st.booleans()) else 0.0)
    sign = draw(st.sampled_from([1.0, -1.0]))
    return (sign * b, a, op) if op == "/" else (a, sign * b, op)


@settings(max_examples=400, deadline=None)
@given(case=st.data())
@example(case=(2.0**-1022 - 2.0**-1074, 1.0 + 2.0**-52, "*"))  # exactly 2**-1022 - 2**-1126: tiny before rounding only
@example(case=(1.0 - 2.0**-53, 2.0**-1022, "*"))  # exactly 2**-1022 - 2**-1075: tiny after rounding too
@example(case=((2**27 - 1) / 2**27, 2.0**-1022 * (1 + 2**-27), "*"))  # exactly 2**-1022 - 2**-1076: a tie, to 2**-1022 (even)
@example(case=(2.0**-1022 + 2.0**-1074, 1.0 + 2.0**-52, "/"))
def test_an_underflow_near_the_tiniest_normal_is_numpys(case):
    from netlang.expectations import _AskNumpy, _elementwise

    x, y, op = case if isinstance(case, tuple) else _near_tiniest_normal(case.draw)
    left, right = np.array([x, 1.0]), np.array([y, 1.0])
    with np.errstate(all="raise"):
        expected = _outcome(lambda: left * right if op == "*" else left / right)
    try:
        got = _outcome(lambda: _elementwise(op, from_numpy(left), from_numpy(right)))
    except _AskNumpy:
        assert not _tininess_known_here()  # an x86-64 detects tininess after rounding: decided here
        return
    assert got == expected


_FILES = sorted((ROOT / "tests" / "errors").glob("*.net")) + sorted((ROOT / "examples").rglob("*.net"))


@pytest.mark.parametrize("path", _FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_golden_error_and_example_is_checked_alike_without_numpy(path: Path) -> None:
    # The catalogue's cases run with numpy imported, so `netlang check` used numpy's arrays there.
    light, light_checked = diagnose(path, GRIDS)
    full, full_checked = diagnose(path, NUMPY)
    assert light == full
    if light_checked is not None and full_checked is not None:
        assert_same(light_checked, full_checked)


# --- Grids against numpy, operation by operation ----------------------------------------

_SPECIAL = [0.0, -0.0, 1.0, -1.5, 1e308, -1e308, 5e-324, 1e-200, 3.0, 0.1, math.inf, -math.inf, math.nan]
_floats = st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, allow_infinity=True, width=64))


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(_floats, min_size=6, max_size=6),
    b=st.lists(_floats, min_size=6, max_size=6),
    scalar=_floats,
    shape=st.sampled_from([(6,), (2, 3), (3, 2)]),
)
def test_elementwise_operations_are_numpys_bit_for_bit(a, b, scalar, shape):
    x, y = np.array(a).reshape(shape), np.array(b).reshape(shape)
    gx, gy = from_numpy(x), from_numpy(y)
    with np.errstate(all="ignore"):
        for mine, theirs in [
            (gx + gy, x + y), (gx - gy, x - y), (gx * gy, x * y), (gx / gy, x / y),
            (gx * scalar, x * scalar), (scalar * gx, scalar * x), (scalar - gx, scalar - x), (1.0 / gx, 1.0 / x),
            (GRIDS.scale_rows(from_numpy(x.reshape(-1, 1) if x.ndim == 1 else x), from_numpy(y.reshape(-1)[: (x.shape[0] if x.ndim == 2 else 6)])),
             NUMPY.scale_rows(x.reshape(-1, 1) if x.ndim == 1 else x, y.reshape(-1)[: (x.shape[0] if x.ndim == 2 else 6)])),
        ]:
            assert _bits(mine) == _bits(theirs)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 4), inner=st.integers(1, 4), columns=st.integers(1, 3),
    left=st.lists(st.sampled_from([0.0, 0.0, 1.0, -2.5, 0.1, 3e-5, 7.0]), min_size=16, max_size=16),
    right=st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0, -0.3, 0.7]), min_size=16, max_size=16),
    vector=st.booleans(),
)
def test_a_matrix_product_is_numpys_whether_or_not_numpy_computes_it(rows, inner, columns, left, right, vector):
    a = np.array(left[: rows * inner]).reshape(rows, inner)
    b = np.array(right[:inner]) if vector else np.array(right[: inner * columns]).reshape(inner, columns)
    assert _bits(from_numpy(a) @ from_numpy(b)) == _bits(a @ b)
    assert _bits(from_numpy(b.T.copy()) @ from_numpy(a.T.copy())) == _bits(b.T.copy() @ a.T.copy())


def test_a_product_with_one_term_per_element_is_summed_without_numpy():
    # W @ [x1, x2]'s blocks and W @ 0 (the constant of W @ x): one nonzero product at most.
    w = Grid((2, 2), __import__("array").array("d", [0.1, 0.2, 0.3, 0.4]))
    column = GRIDS.column([1.0, 0.0])
    assert (w @ column).tolist() == [[0.1], [0.3]]
    assert (w @ GRIDS.zeros(2)).tolist() == [0.0, 0.0]


# Entries that sum exactly (integers, halves, 0/1), decimals that do not, and magnitudes near
# overflow and underflow: each certification of netlang.grids' sums is met and broken.
_ENTRIES = [0.0, 0.0, 1.0, -1.0, 2.0, 3.0, 0.5, -0.25, 0.1, 0.2, -0.3, -0.30000000000000004, 1e-3, 2.0**52, 2.0**53, 1e200, -1e200,
            1e308, -1e308, 1e-170, 1e-200, 5e-324, 3e-5, 7.0]


def _product_case(draw: Any) -> Tuple[np.ndarray, np.ndarray]:
    rows, inner, columns = draw(st.integers(1, 4)), draw(st.integers(1, 33)), draw(st.integers(1, 3))
    pool = draw(st.lists(st.sampled_from(_ENTRIES), min_size=1, max_size=5))  # a few kinds of entry per case
    entry = st.sampled_from(pool)
    a = np.array(draw(st.lists(entry, min_size=rows * inner, max_size=rows * inner))).reshape(rows, inner)
    b = np.array(draw(st.lists(entry, min_size=inner * columns, max_size=inner * columns))).reshape(inner, columns)
    shapes = draw(st.sampled_from(["matrix", "vector @ matrix", "matrix @ vector", "vector @ vector"]))
    if shapes.startswith("vector"):
        a = a[0]
    if shapes.endswith("vector"):
        b = b[:, 0]
    # Contiguous, as a compile's arrays are: BLAS may sum a strided vector in another order.
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


@settings(max_examples=400, deadline=None)
@given(case=st.data())
@example(case=None)
@example(case="overflow")
def test_products_summed_in_python_are_numpys_and_their_decisions_are_right(case):
    from netlang.rounding import Enclosure

    if case is None:  # three decimals that cancel in numpy's order but not exactly: an Enclosure
        a, b = np.array([0.1, 0.2, -0.30000000000000004]), np.ones(3)
    elif case == "overflow":  # finite in one order, not in numpy's: undecided
        a, b = np.array([1e308, 1e308, -1e308]), np.ones(3)
    else:
        a, b = _product_case(case.draw)
    with np.errstate(all="ignore"):  # numpy's warnings, where a check turns them off
        expected = a @ b
        product = from_numpy(a) @ from_numpy(b)
        _bits(product)  # its values: summed in Python, or numpy's
    expected_flat = np.ravel(expected)
    if isinstance(product, Grid) and product.sums is not None:
        elements = product.sums.elements()
        assert elements is not None
        for element, theirs in zip(elements, expected_flat):
            if isinstance(element, Enclosure):
                if element.nonzero:
                    assert theirs != 0.0
                if element.finite:
                    assert math.isfinite(theirs)
                    assert abs(Fraction(float(theirs)) - element.exact) <= element.error
                if element.infinite:
                    assert not math.isfinite(theirs)
            else:  # what every order of summation gives: numpy's, bit for bit
                assert _bits(element) == _bits(float(theirs))
        # The decisions the sums take without numpy's values are numpy's.
        decided_zero, decided_finite = product.sums.has_zero(), product.sums.all_finite()
        if decided_zero is not None:
            assert decided_zero == NUMPY.has_zero(expected)
        if decided_finite is not None:
            assert decided_finite == NUMPY.all_finite(expected)
        assert GRIDS.has_zero(product) == NUMPY.has_zero(expected)
    assert _bits(product) == _bits(expected)


@pytest.mark.parametrize(
    "left, right",
    [
        ([2.0**53, 1, 1], [1, 1, 1]),  # exact products, but partial sums round: (2**53 + 1) + 1 is 2**53
        ([0.1, 0.2, 0.3], [1, 1, 1]),  # decimals: the order decides the last bit
        ([1e-200, 1e-200], [1e-200, 1e-200]),  # products that underflow
        ([0.1, 0.2], [0.1, 0.3]),  # two terms: 0.07 with two roundings (and exactly), 0.06999999999999999 with a fused multiply-add
        ([-1e-200], [1e-200]),  # one product that underflows: -0.0 with a fused multiply-add, else 0.0
        ([0.1, 0.1, 0.1], [1.1, 1.1, 3.0]),  # 0.52 in every order of roundings, not with a fused multiply-add
        ([0.1, 0.1, 0.7, 0.6], [1, 1, 1, 1]),  # 1.5 summed one by one in any order, 1.4999999999999998 in pairs
    ],
)
def test_sums_that_an_order_could_change_are_not_claimed(left, right):
    from netlang.rounding import Enclosure, element_sum

    assert isinstance(element_sum(left, right), Enclosure)
    product = from_numpy(np.array([left])) @ from_numpy(np.array(right))
    assert product.is_lazy and product.sums is not None  # left to numpy if its values are needed


def test_exact_sums_are_claimed_without_numpy():
    from netlang.rounding import Enclosure, element_sum

    assert element_sum([1.0, 2.0], [3.0, 4.0]) == 11.0
    assert element_sum([0.5, -0.25, 3.0], [0.5, 2.0, 1.0]) == 2.75
    assert element_sum([0.1, 0.2], [1.0, 1.0]) == 0.1 + 0.2  # two terms: one rounding, in any order
    assert element_sum([0.1, 0.2, 1.1], [0.1, 0.2, 0.3]) == 0.38  # three decimals whose every order gives one float
    overflows = element_sum([1e308, 1e308], [10.0, 10.0])  # every order overflows: decided, not summed
    assert isinstance(overflows, Enclosure) and overflows.infinite and not overflows.finite


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 3000),
    kind=st.sampled_from(["normal", "decimals", "integers", "cancelling", "huge", "tiny"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_quick_sums_hold_numpys_and_decide_as_it_does(n, kind, seed):
    from netlang.rounding import Enclosure, quick_sum

    rng = np.random.default_rng(seed)
    if kind == "normal":
        xs, ys = rng.normal(size=n), rng.normal(size=n)
    elif kind == "decimals":
        xs, ys = rng.integers(-9, 10, size=n) / 10, rng.integers(-99, 100, size=n) / 100
    elif kind == "integers":
        xs, ys = rng.integers(-1000, 1000, size=n).astype(float), rng.integers(-1000, 1000, size=n).astype(float)
    elif kind == "cancelling":  # a sum near zero: no bound decides it
        xs = rng.normal(size=n)
        xs = np.concatenate([xs, -xs])
        ys = np.ones(2 * n)
    elif kind == "huge":  # products or partial sums beyond the largest float
        xs, ys = rng.normal(size=n) * 1e300, rng.normal(size=n) * 1e10
    else:  # products that underflow
        xs, ys = rng.normal(size=n) * 1e-160, rng.normal(size=n) * 1e-160
    with np.errstate(all="ignore"):
        numpys = float(np.ascontiguousarray(xs) @ np.ascontiguousarray(ys))
    element = quick_sum(array("d", xs), array("d", ys), integers=kind == "integers")
    if not isinstance(element, Enclosure):
        assert kind == "integers" and _bits(element) == _bits(numpys)  # exact in every order: numpy's
        return
    if element.finite:
        assert math.isfinite(numpys) and abs(Fraction(numpys) - element.exact) <= element.error
    if element.nonzero:
        assert numpys != 0.0 and (numpys > 0) == (element.exact > 0)
    assert not element.infinite or not math.isfinite(numpys)
    if kind in ("normal", "decimals") and abs(element.exact) > 1e-6 * n:
        assert element.nonzero and element.finite  # a sum that does not cancel is decided


def test_a_large_product_whose_values_decide_is_checked_without_numpy(tmp_path):
    # v @ (W @ x) with a 100x784 W: the node's 784 coefficients are sums of 100 products
    # (78,400 multiply-adds, beyond element_sum's 20,000): bounded at C speed by quick_sum.
    rng = np.random.default_rng(3)
    np.save(tmp_path / "W.npy", rng.normal(size=(100, 784)) * 0.05)
    v = ", ".join(repr(round(float(x), 2)) for x in rng.normal(size=100))
    text = f"input x[784]\nlet W = load(\"W.npy\")\nnode y = sigmoid([{v}] @ (W @ x))\n"
    checked_alike(tmp_path / "large.net", text)
    from test_light_imports import _PROBE, _check_in_a_fresh_interpreter

    report = _check_in_a_fresh_interpreter(_PROBE.format(args=["check", str(tmp_path / "large.net")]))
    assert "numpy imported: False" in report, report


@pytest.mark.parametrize(
    "initialiser, shape",
    [("xavier()", "[4, 3]"), ("he(2)", "[3]"), ("normal(1, 0.5)", "[2, 2]"), ("uniform(-2, 3)", "[3, 2]"), ("zeros()", "[2]"),
     ("xavier()", "[600, 500]")],  # beyond 250,000 values, drawn by numpy (params._MOST_DRAWN_PLAINLY)
)
def test_a_lazy_draw_is_the_compiles_draw_and_within_its_bound(initialiser, shape):
    text = f"input v[3]\nparam W{shape} = {initialiser}\nnode y = v[0]\ntrain seed = 5\n"
    light = pipeline.check(pipeline.text_source(text), arrays=GRIDS).constants["W"]
    full = pipeline.check(pipeline.text_source(text), arrays=NUMPY).constants["W"]
    assert isinstance(light, Grid)
    if initialiser != "zeros()":
        assert light.is_lazy and math.isfinite(light.bound)
        assert float(np.max(np.abs(full))) <= light.bound
    assert _bits(light) == _bits(full)  # drawn now, in Python (netlang.pcg64), as the compile drew it with numpy


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3).astype(">f8"), np.asfortranarray(np.arange(6.0).reshape(3, 2)),
        np.array([1, -2, 3], dtype=np.int64), np.array([[1, 2]], dtype=">i2"), np.array([255, 0], dtype=np.uint8),
        np.array([True, False]), np.array([0.1, 3e38], dtype=np.float32), np.array([[0.5, 6e4], [-1e-7, 2]], dtype=">f2"), np.array([2**63 + 2**11], dtype=np.uint64), np.zeros((0, 3)),
        np.array([1.5, -1e-4000, 1e300], dtype=np.longdouble), np.array([[0.1, 7]], dtype=np.longdouble).astype(">f16"),
        np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)), np.asfortranarray(np.arange(6, dtype=np.longdouble).reshape(3, 2)),
        np.asfortranarray(np.arange(120.0).reshape(5, 1, 3, 8)), np.asfortranarray(np.arange(120.0).reshape(8, 3, 1, 5)),
        np.asfortranarray(np.arange(6.0).reshape(6, 1)), np.asfortranarray(np.arange(6.0).reshape(1, 6)),
    ],
    ids=lambda a: f"{a.dtype.str}{a.shape}{'F' if a.flags.f_contiguous and a.ndim > 1 else ''}",
)
def test_plain_npy_files_read_without_numpy_give_numpys_values(tmp_path, array):
    np.save(tmp_path / "a.npy", array)
    with open(tmp_path / "a.npy", "rb") as stream:
        read = read_npy_plainly(stream, 1000)
    assert read is not None
    shape, values = read
    assert shape == array.shape
    assert values.tobytes() == np.ascontiguousarray(array.astype(np.float64)).tobytes()


@pytest.mark.parametrize("dtype, size", [(np.complex128, 2), ("<U2", 2), (np.longdouble, 50_001)])
def test_other_npy_files_are_left_to_numpys_path(tmp_path, dtype, size):
    # Without a name, errors are left to numpy's path too; more than 50,000 long doubles numpy reads faster.
    np.save(tmp_path / "a.npy", np.zeros(size, dtype=dtype))
    with open(tmp_path / "a.npy", "rb") as stream:
        assert read_npy_plainly(stream, 10**6) is None


def _npy(header: str, data: bytes = b"", version: Tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file with the header text ``header`` (padded as numpy pads it), then ``data``."""
    text = header.encode("latin1")
    length_bytes = 2 if version == (1, 0) else 4
    text += b" " * (-(6 + 2 + length_bytes + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + len(text).to_bytes(length_bytes, "little") + text + data


def _header(descr: str = "'<f8'", order: str = "False", shape: str = "(1,)", data: bytes = bytes(8)) -> bytes:
    """A .npy file whose header has these values, written as Python literals."""
    return _npy(f"{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}", data)


def _saved(array: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


# Weight files of every kind and every mistake: read without numpy (Grids) they give numpy's
# values or its error, word for word (the numpy path is read_weights, a compile's).
_WEIGHT_FILE_CASES = {
    "half": _saved(np.array([[0.5, 6e4], [-1e-7, 2]], dtype=np.float16)),
    "half big-endian": _saved(np.array([1.5, -2.25, 65504], dtype=">f2")),
    "half with inf": _saved(np.array([1, np.inf], dtype=np.float16)),
    "half Fortran": _saved(np.asfortranarray(np.arange(6, dtype=np.float16).reshape(2, 3))),
    "nan in a matrix": _saved(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]])),
    "-inf in a vector": _saved(np.array([1.0, -np.inf, np.inf])),
    "inf in float32": _saved(np.array([[1, 2], [np.inf, 0]], dtype=np.float32)),
    "complex128": _saved(np.zeros(2, dtype=np.complex128)),
    "complex64 big-endian": _saved(np.zeros(2, dtype=">c8")),
    "text": _saved(np.array(["ab", "c"])),
    "text big-endian": _saved(np.array(["ab", "c"], dtype=">U2")),
    "bytes": _saved(np.array([b"abc"])),
    "records": _saved(np.zeros(2, dtype="V8")),
    "dates": _saved(np.array(["2020-01-01"], dtype="datetime64[D]")),
    "dates generic": _npy("{'descr': '<M8', 'fortran_order': False, 'shape': (0,), }"),
    "time spans big-endian": _saved(np.array([1], dtype=">m8[s]")),
    "objects": _saved(np.array([1, None], dtype=object)),
    "structured": _saved(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])),
    "long double": _saved(np.zeros(2, dtype=np.longdouble)),
    "three dimensions": _saved(np.zeros((2, 2, 2))),
    "a number": _saved(np.float64(3.0)),
    "empty": _saved(np.zeros((0, 3))),
    "truncated": _saved(np.arange(4.0))[:-3],
    "header cut short": _saved(np.arange(4.0))[:40],
    "length cut short": _saved(np.arange(4.0))[:9],
    "not a .npy file": b"hello, world\n",
    "a pickle": b"\x80\x04\x95" + bytes(20),
    "version 3": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", bytes(8), (3, 0)),
    "version 2": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", bytes(8), (2, 0)),
    "header too long": b"\x93NUMPY\x02\x00" + (10**7).to_bytes(4, "little"),
    "too many entries": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"),
    "negative size": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }"),
    "header not a dict": _npy("[1, 2]"),
    "header with other keys": _npy("{'descr': '<f8', 'shape': (1,), }", bytes(8)),
    "bool of 2": _npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", b"\x01\x02"),
    "dtype by name": _npy("{'descr': 'float64', 'fortran_order': False, 'shape': (1,), }", bytes(8)),
    **{f"descr {descr!r}": _npy(f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': (2,), }}", struct.pack("<dd", 1.5, -2))
       for descr in ["f8", "d", "float", "double", "int32", "int", "uint8", "|f8", "=f8", ">d", "f 8", "f+8", "f08", "f-8", "f12", "!f8",
                     "<float64", "Float64", "float_", "int0", "bool8", "", ">", "i0", "g", "f16", "longdouble", "G", "T", "O4", "a5",
                     "S", "U3", ">U3", "V16", "M8[D]", "datetime64", ">m8[s]", "\x0c", "\x00", "\ud800", "?", "c", "b1 ", "f8\x00",
                     "a", ">a", "a0", "m\t8", "M08", "M8[10s]", ">m8[01D]", "M8[2147483648s]", "M8[s/2]"]},
    "bool of 255": _npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", b"\x00\xff\x01\x80"),
    "header unsortable keys": _npy("{'descr': '<f8', 1: 2, 'shape': (1,), }", bytes(8)),
    "header a set": _npy("{1, 2}"),
    "header unhashable key": _npy("{[1]: 2}"),
    "header a name": _npy("{'descr': f8, 'fortran_order': False, 'shape': (1,), }", bytes(8)),
    "header a syntax error": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n x", bytes(8)),
    "header unclosed": _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), ", bytes(8)),
    "header by Python 2": _header(shape="(1L,)"),
    "shape a list": _header(shape="[1]"),
    "shape of a float": _header(shape="(1.0,)"),
    "shape of True": _header(shape="(True, 1)"),
    "fortran_order 0": _header(order="0"),
    "descr a number": _header(descr="5"),
    "descr None": _header(descr="None"),
    "descr a subarray": _header(descr="('<f8', (2,))", data=bytes(16)),
    "descr a subarray of objects": _header(descr="('O', (2, 1))", data=bytes(16)),
    "descr a subarray not a type": _header(descr="('f3', (2,))", data=bytes(16)),
    "descr comma-separated": _header(descr="'f8,i4'", data=bytes(12)),
    "long double too large": _saved(np.array([[1, 2], [np.longdouble("-1e400"), np.longdouble("2e4000")]], dtype=np.longdouble)),
    "long double too large, Fortran": _saved(np.asfortranarray(np.array([[1, np.longdouble("2e4000")], [np.longdouble("3e400"), 4]]))),
    "long double too large in 3 dimensions": _saved(np.full((2, 1, 2), np.longdouble("1e999"))),
    "long double with nan": _saved(np.array([1, np.nan], dtype=np.longdouble)),
    "long double with inf": _saved(np.array([1, -np.inf], dtype=">f16")),
    "long double subnormal": _saved(np.array([5e-324, 2.5e-324, 1e-320, np.longdouble(2) ** -16440], dtype=np.longdouble)),
    "Fortran 3 dimensions": _saved(np.asfortranarray(np.arange(8.0).reshape(2, 2, 2))),
    "structured nested": _saved(np.zeros(1, dtype=[("a", ">i2", (2, 3)), ("b", [("x", "?"), ("y", "S3"), ("z", "<U2")]), ("c", "M8[s]")])),
    "structured padded": _saved(np.zeros(1, dtype=np.dtype([("a", "i1"), ("b", "<f8")], align=True))),
    "structured with an object": _saved(np.zeros(1, dtype=[("a", "<f8"), ("b", "O")])),
    "structured empty": _npy("{'descr': [], 'fortran_order': False, 'shape': (1,), }"),
    "structured with titles": _saved(np.zeros(1, dtype=[(("title", "a"), "<f8"), ("b", "?", (2,))])),
    "structured with titles and gaps": _saved(np.zeros(1, dtype=np.dtype([(("title", "a"), "i1"), ("b", "<f8")], align=True))),
    **{f"structured {descr}": _header(descr=descr, data=bytes(12)) for descr in [
        "[(('a', 'b'), '<f8'), ('a', '<i4')]", "[('a', '<f8'), ('a', 'i1')]", "[(('t', 'a'), '<f8'), (('t', 'b'), 'i1')]",
        "[('a', '<f8'), (('b', 'b'), 'i1')]", "[(('b', 'a'), '<f8'), (('c', 'b'), 'i1')]", "[('a', '<f8'), ('a', 'f3')]"]},
    "structured with a title of a number": _header(descr="[((1, 'a'), '<f8')]", data=bytes(8)),
    "structured field of 4": _npy("{'descr': [('a', '<f8', (2,), 1)], 'fortran_order': False, 'shape': (1,), }"),
    "structured field not a type": _npy("{'descr': [('a', 'f3')], 'fortran_order': False, 'shape': (1,), }"),
}
# What the plain reader leaves to numpy's path (every other case above is read, or refused, in
# Python): numpy's reading of headers written by Python 2 (with a warning), its mini-language of
# comma-separated fields and subarrays in a string, titles that are not text, and its arithmetic
# of date units.
_LEFT_TO_NUMPY = {"header by Python 2", "descr comma-separated", "structured with a title of a number", "descr 'M8[s/2]'"}


def test_only_exotic_weight_files_are_left_to_numpy():
    import io

    from netlang.files import FileError, TooLarge

    left = set()
    for case, data in _WEIGHT_FILE_CASES.items():
        try:
            if read_npy_plainly(io.BytesIO(data), 10**8, "w.npy") is None:
                left.add(case)
        except (FileError, TooLarge):
            pass
    assert left == _LEFT_TO_NUMPY


@pytest.mark.parametrize("case", sorted(_WEIGHT_FILE_CASES))
@pytest.mark.parametrize("container", [".npy", ".npz"])
def test_weight_files_read_without_numpy_give_numpys_values_or_its_error(tmp_path, case, container):
    import zipfile

    from netlang.weights import WeightFileError, read_grid, read_weights

    data = _WEIGHT_FILE_CASES[case]
    if container == ".npz":
        with zipfile.ZipFile(tmp_path / "w.npz", "w") as archive:
            archive.writestr("W.npy", data)
        path, key = tmp_path / "w.npz", "W"
    else:
        (tmp_path / "w.npy").write_bytes(data)
        path, key = tmp_path / "w.npy", None
    results = []
    for read in (read_weights, read_grid):
        try:
            results.append(_bits(read(path, key)[0]))
        except WeightFileError as error:
            results.append((str(error), error.code, error.hint))
    assert results[0] == results[1]


def _npy_both_ways(tmp_path: Path, data: bytes) -> Tuple[Any, Any]:
    """What a compile reads from the .npy file ``data`` (values bit for bit, or the error's words,
    code and hint), and what the plain reader reads, None where it leaves the file to numpy."""
    from netlang import weights

    path = tmp_path / "w.npy"
    path.write_bytes(data)
    found = []
    for read in (weights.read_weights, lambda path: weights._read(path, None, weights._read_npy_plainly)):
        try:
            found.append(_bits(read(path)[0]))
        except weights.WeightFileError as error:
            found.append((str(error), error.code, error.hint))
        except weights._NeedsNumpy:
            found.append(None)
    return found[0], found[1]


# Pieces of type strings: byte orders, numpy's letters and kinds, sizes as C's strtol reads them,
# names (and names numpy 2 removed), date units, and the characters of its comma and subarray forms.
_DESCR_PIECES = st.sampled_from(
    list("<>|=!?bBhHiIlLqQpPnNefdgFDGOSaUVcMmTux") + ["1", "2", "4", "8", "16", "0", "3", "12", " ", "\t", "+", "-", "\x00", "\x0c", "\x17", "é"]
    + ["float64", "float", "int", "int0", "longdouble", "bool", "str", "datetime64", "timedelta64", "[D]", "[s]", "[10s]", "[", "]", ",", "(2,)"]
)


# Pieces of header texts: the dictionary numpy.save writes, taken apart and mixed with Python's
# other literals, Python 2's long integers, names and unbalanced brackets.
_HEADER_PIECES = st.sampled_from(
    ["{", "}", "'descr': ", "'<f8'", "'float64'", "[('a', '<f8')]", "'fortran_order': ", "False", "True", "0", "'shape': ", "(2,)", "(1, 2)",
     "()", "(2L,)", "3L", ", ", ": ", "[", "]", "(", ")", "None", "x", "'x': 1", "1: 2", "{1, 2}", " ", "\n", "\t", "'", "\\", "b'f8'", "1e5"]
)




def _leaves_to_numpy(descr: str) -> bool:
    """Whether a type string is one the plain reader may leave to numpy: its comma-separated and
    subarray forms, and date units beyond numpy's plain ones."""
    return "," in descr or descr.lstrip("<>|=")[:1].isdigit() or "(" in descr or "[" in descr


# Headers: numpy.save's with a generated type string, or generated texts; each with whether the
# plain reader may leave it to numpy (only a Python 2 header, with an L, among the texts).
_GENERATED_HEADERS = st.one_of(
    st.lists(_DESCR_PIECES, min_size=0, max_size=4).map("".join).map(
        lambda descr: (f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': (2,), }}", _leaves_to_numpy(descr))),
    st.lists(_HEADER_PIECES, min_size=0, max_size=10).map("".join).map(lambda header: (header, "L" in header)),
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_GENERATED_HEADERS)
@example(("{'descr': 'f 8', 'fortran_order': False, 'shape': (2,), }", False))
@example(("{'descr': '<M8[generic]', 'fortran_order': False, 'shape': (2,), }", False))
@example(("{'descr': '>g', 'fortran_order': False, 'shape': (2,), }", False))
@example(("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", True))
@example(("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", False))
def test_generated_headers_read_without_numpy_give_numpys_values_or_its_error(tmp_path, case):
    header, may_be_left = case
    expected, got = _npy_both_ways(tmp_path, _npy(header, bytes(range(200, 232))))
    assert got == expected or (got is None and may_be_left), header


def _long_double(sign: int, exponent: int, mantissa: int) -> bytes:
    return mantissa.to_bytes(8, "little") + (sign << 15 | exponent).to_bytes(2, "little") + bytes(6)


# Exponents of the long doubles whose rounding to float64 matters: zero and subnormal, float64's
# subnormals and its smallest normals, ordinary numbers, float64's largest and beyond, the top.
_EXPONENTS = st.one_of(
    st.sampled_from([0, 1, 0x7FFE, 0x7FFF, 16383]), st.integers(16383 - 1022 - 64, 16383 - 1020), st.integers(16383 + 1020, 16383 + 1026),
    st.integers(0, 0x7FFF),
)
# Mantissas: any, and those whose bits below float64's last place are exactly a half (a tie), just
# below or above it, at every place where float64's precision ends (subnormals end earlier).
_MANTISSAS = st.one_of(
    st.integers(0, 2**64 - 1),
    st.builds(lambda high, cut, nudge: ((high >> cut) << cut | (1 << (cut - 1))) + nudge,
              st.integers(2**63, 2**64 - 1), st.integers(1, 63), st.sampled_from([0, 0, -1, 1])).map(lambda m: m % 2**64),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), _EXPONENTS, _MANTISSAS), min_size=1, max_size=6), st.booleans())
@example([(0, 16383 + 1024, 2**63), (1, 16383 + 1023, 2**64 - 1), (0, 16383 + 1023, 2**64 - 2**10), (0, 16383 - 1022 - 53, 2**63)], False)
@example([(0, 0x7FFF, 2**63), (0, 0x7FFF, 0), (0, 0x7FFF, 1), (1, 5, 2**62), (0, 0, 2**63 + 1)], True)
def test_long_doubles_are_rounded_to_float64_as_numpy_rounds_them(items, big):
    from netlang.npyformat import long_double_text, read_long_doubles

    data = b"".join(_long_double(*item) for item in items)
    if big:
        data = b"".join(data[i : i + 16][::-1] for i in range(0, len(data), 16))
    array = np.frombuffer(data, dtype=">f16" if big else "<f16")
    with np.errstate(all="ignore"):
        expected = array.astype(np.float64)
    read = read_long_doubles(data, len(items), big)
    assert _bits(np.array(read.values)) == _bits(expected)
    assert set(read.too_large) == {i for i in range(len(items)) if np.isinf(expected[i]) and np.isfinite(array[i])}
    for index, parts in read.too_large.items():
        assert long_double_text(*parts) == str(array[index])


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 1), st.one_of(st.integers(16383 + 54, 0x7FFE), st.integers(16383 + 54, 16383 + 63 + 30)), _MANTISSAS.map(lambda m: m | 2**63))
@example(0, 16383 + 1024, 2**63)  # a power of two: the long double below is nearer than the one above
@example(1, 0x7FFE, 2**64 - 1)  # the largest
@example(0, 16437, 17268201720367834528)  # 3.37269564850934268115e16 exactly: a tie between ...811 and ...812, written ...812
@example(0, 16448, 12000989813940997852)  # ...991410 is the midpoint to the next long double, which reads back as this (even) one
def test_large_long_doubles_are_written_as_numpy_writes_them(sign, exponent, mantissa):
    from netlang.npyformat import long_double_text

    value = np.frombuffer(_long_double(sign, exponent, mantissa), dtype="<f16")[0]
    assert long_double_text(mantissa, exponent - 16383 - 63, sign) == str(value)


_FIELD_TYPES = ["<f8", ">i2", "?", "u1", "S3", "<U2", ">U1", "V4", "<M8[s]", ">m8", ">M8[25ms]", "<c8", "<f16", "O", "<f2", "i1"]


@st.composite
def structured_types(draw: st.DrawFn, depth: int = 0) -> Any:
    """A structured numpy type: named fields of scalar types, subarrays and nested structures."""
    names = draw(st.lists(st.sampled_from(["a", "b", "x", "long name", "é", "f0", "1"]), min_size=0 if depth else 1, max_size=3, unique=True))
    fields = []
    for name in names:
        inner = draw(structured_types(depth + 1)) if depth < 2 and draw(st.integers(0, 4)) == 0 else draw(st.sampled_from(_FIELD_TYPES))
        shape = draw(st.sampled_from([None, None, (2,), (2, 3), (1,), (0,), 3]))
        if draw(st.integers(0, 5)) == 0:  # a title, sometimes another field's name
            name = (draw(st.sampled_from([f"title of {name}", "a", "x"])), name)
        fields.append((name, inner) if shape is None else (name, inner, shape))
    return fields


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(structured_types(), st.booleans())
def test_structured_types_are_refused_in_numpys_words_without_numpy(tmp_path, fields, aligned):
    import io

    try:
        dtype = np.dtype(fields, align=aligned)
    except ValueError:  # a name or title used twice: numpy refuses it in a header too
        data = _header(descr=repr(fields), data=b"")
    else:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(2, dtype=dtype))
        data = buffer.getvalue()
    expected, got = _npy_both_ways(tmp_path, data)
    assert got == expected  # none left to numpy


@pytest.mark.parametrize(
    "text",
    [
        "1, 2, 3\n4, 5, 6\n", "# weights\n1,2\r\n3,4\r\n\r\n", '"1", 2.5e-3\n-0, .5\n', "0.1\n0.2\n0.30000000000000004\n",
        "1e308, 1e-320\n", "1, nan\n", "1, 2\n3\n", "1; 2\n", "", "1 2, 3\n", "  7 ,  8  # trailing\n", "1e400\n", "+1, -2\n",
        "0x10\n", "1_000\n", "\ufeff1, 2\n", "1, abc\n", "1,,2\n", ",\n", "inf\n", "-inf, 1\n", '"1\n2"\n', "1, 2\n\n3, x\n",
        "# only a comment\n", "1\r2\r3\r", "NaN, 0\n0, 0\n",
        # Cells numpy's loadtxt takes and numerals.py refuses: a quoted cell followed by more text.
        '1, -2\n""0.5, 3\n', '"6"1e5\n', '1,"" -2\n0.5, 3\n', '" 1 ", "2"\n',
    ],
)
def test_csv_weights_read_without_numpy_give_numpys_values_or_its_error(tmp_path, text):
    assert _csv_weights_both_ways(tmp_path, text.encode("utf-8"))


def _csv_weights_both_ways(tmp_path: Path, data: bytes) -> Any:
    """What a compile and a check read from the CSV weight file ``data`` (values bit for bit, or
    the error's words, place, code and hint), asserted equal."""
    from netlang.weights import WeightFileError, read_grid, read_weights

    path = tmp_path / "w.csv"
    path.write_bytes(data)
    try:
        expected: Any = _bits(read_weights(path)[0])
    except WeightFileError as error:
        expected = (str(error), error.code, error.hint)
    try:
        got: Any = _bits(read_grid(path)[0])
    except WeightFileError as error:
        got = (str(error), error.code, error.hint)
    assert got == expected
    return got


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "fuzz_regressions").glob("file-*-weights-*.csv")), ids=lambda path: path.name)
def test_the_fuzzers_csv_weight_files_give_the_same_diagnostics_both_ways(tmp_path, path):
    got = _csv_weights_both_ways(tmp_path, path.read_bytes())
    assert isinstance(got, tuple) and got[1] == "bad-value", got  # '""0.5' and '"" -2' are not numbers


# Cells of digits, signs, points, exponents, the words numpy's float() takes, quotes, comments and
# blanks numpy or Python strip (\xa0, \x0b, \x85): the lines where numpy's loadtxt and the
# reference reading could differ. Quote-free blocks are read by loadtxt on a compile, so this
# also shows that the two agree there (csvnumbers.CsvSource._parse).
_CSV_PIECES = st.sampled_from(list("0123456789+-.eE,,  \t#\"_x") + ["\xa0", "\x0b", "\x85", "\u2003", "\u0661", "inf", "nan", '""', "1e5", "0.5"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_CSV_PIECES, min_size=1, max_size=8).map("".join), min_size=1, max_size=4))
@example(["1, -2", '""0.5, 3'])
@example(["1, 2", "0.5x, 3"])
def test_generated_csv_weight_files_give_the_same_values_or_diagnostics_both_ways(tmp_path, lines):
    _csv_weights_both_ways(tmp_path, ("\n".join(lines) + "\n").encode("utf-8"))


def test_the_fuzzers_comparison_of_the_two_checks_can_fail(tmp_path, monkeypatch):
    import fuzzing

    path = tmp_path / "zero.net"
    path.write_text("input v[2]\nlet d = [1, 0]\nlayer y = v / d\n")
    assert fuzzing.check_paths_disagree(path) is None  # both: division-by-zero
    monkeypatch.setattr(type(GRIDS), "has_zero", lambda self, value: False)
    report = fuzzing.check_paths_disagree(path)
    assert report is not None and "division-by-zero" in report


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=flowing_programs())
@example(text="input x1, x2, v[3]\nlet p = [0.1, 0.2, 0.3]\nlet q = [1.1, 0.7, -0.6]\nlet A = [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.7, 1.1, 3]]\n"
         "let c = p @ q - q @ p\nlet r = A @ q\nlet B = A\nnode y = c * x1 + x2\n")  # zero, or not, as BLAS sums it
@example(text="input x1, x2, v[3]\nlet p = [1e300, 1e300, 3]\nlet q = [1e300, 0.7, -0.6]\nlet A = [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.7, 1.1, 3]]\n"
         "let c = p @ q\nlet r = A @ q\nlet B = A\nnode y = c * x1 + x2\n")  # overflows
@example(text=_FLOWING)  # tests/test_light_imports.py checks it without importing numpy
def test_numbers_that_flow_on_from_sums_are_checked_as_a_compile_checks_them(folder: Path, text: str) -> None:
    checked_alike(folder / "flowing.net", text)


def test_operations_on_a_lazy_product_sum_nothing_until_a_decision_asks():
    # `let M = (A @ B) * 0.5 + A` then `M @ x` reads none of M's values: nothing is summed (a
    # product of 20,000 to 1,000,000 multiply-adds would cost up to 85 ms); a zero test sums it
    # then, and decides as numpy's values do.
    a = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
    b = np.array([[0.3, 0.7, 0.1], [0.2, 0.9, 0.4], [0.6, 0.1, 0.8]])
    product = from_numpy(a) @ from_numpy(b)
    assert isinstance(product, Grid) and product.sums is not None
    derived = GRIDS.scale_rows((product * 0.5 + from_numpy(a)).T, from_numpy(np.array([1.0, -2.0, 3.0])))
    expected = np.array([1.0, -2.0, 3.0])[:, None] * ((a @ b) * 0.5 + a).T
    assert product.sums._elements is None  # nothing summed yet
    assert GRIDS.has_zero(derived) == NUMPY.has_zero(expected)
    assert product.sums._elements is not None  # summed for the decision, without numpy's values
    assert _bits(derived) == _bits(expected)
