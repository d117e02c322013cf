"""Tools that only read syntax stay light: `netlang fmt` and `netlang parse` never import numpy;
`netlang check` never lowers (no compiler, no runtime), and checks any file without numpy:
vectors, matrices, weight files and drawn params are Grids (netlang.grids).

Each runs in a fresh interpreter, which then reports what was imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

_PROBE = """
import sys
from netlang.cli import main
try:
    main({args!r})
except SystemExit as exit:
    assert not exit.code, exit.code
print("numpy imported:", "numpy" in sys.modules, file=sys.stderr)
print("lowered:", "netlang.compiler" in sys.modules or "netlang.runtime" in sys.modules, file=sys.stderr)
"""

_EXAMPLES = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "examples").rglob("*.net"))


@pytest.mark.parametrize(
    "args",
    [
        ["fmt", "--check", "examples/xor.net"],
        ["fmt", "examples/xor.net"],
        ["parse", "examples/xor.net"],
        ["parse", "--json", "examples/xor.net"],
    ],
    ids=" ".join,
)
def test_syntax_commands_never_import_numpy(args):
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(args=args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "numpy imported: False" in done.stderr, done.stderr


def _check_in_a_fresh_interpreter(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.parametrize("path", _EXAMPLES)
def test_check_never_lowers_nor_imports_numpy(path):
    args = ["check", path] if path != "examples/mistakes/typo.net" else ["check", "--json", path]
    code = _PROBE.format(args=args)
    if path == "examples/mistakes/typo.net":  # its errors: exit status 1, and still light
        code = code.replace("assert not exit.code, exit.code", "assert exit.code == 1, exit.code")
    report = _check_in_a_fresh_interpreter(code)
    assert "lowered: False" in report, report
    assert "numpy imported: False" in report, report


@pytest.mark.parametrize("path", _EXAMPLES)
def test_what_editors_call_needs_no_numpy(path):
    # The language server's diagnostics: its Analysis (lint.diagnose on the editor's text) with
    # what it keeps of a document; numpy comes with the first hover that shows an array.
    code = (
        "import sys\nfrom netlang.lsp.analysis import Analysis, Versions\n"
        f"text = open({path!r}).read()\n"
        f"analysis = Analysis(text, {path!r}, Versions())\n"
        "assert (analysis.checked is None) == bool(analysis.diagnosis.errors)\n"
        "analysis.prepare()\n"
        "print('numpy imported:', 'numpy' in sys.modules, file=sys.stderr)\n"
    )
    assert "numpy imported: False" in _check_in_a_fresh_interpreter(code)


@pytest.mark.parametrize(
    "module",
    ["netlang.formatter", "netlang.parser", "netlang.ast_json", "netlang.callables", "netlang.numerals", "netlang.lint", "netlang.checker"],
)
def test_syntax_modules_never_import_numpy(module):
    code = f"import sys, {module}; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


# Weight files of every kind netlang reads without numpy, and params drawn by each initialiser.
_WEIGHTS = """
input x[3]
let W1 = load("w.npy")
let b1 = load("model.npz", "b")
param W2[2, 4] = xavier()
param W3[2, 2] = normal(0, 0.5)
let W4 = load("ints.npy") * 0.5
let W5 = load("w.csv")
layer h = sigmoid(W1 @ x + b1)
layer y = softmax(W2 @ h + uniform_b)
layer z = relu(W3 @ y + W4 @ [x[0], x[1]] + W5 @ x)
param uniform_b[2] = uniform(-1, 1)
output z
expect (0, 0, 0) -> (0, 0) within 10
"""


# Numbers that flow on from sums whose orders of summation round differently (three or more
# decimals): check carries bounds on numpy's float (netlang.grids.Inexact) through the rules
# that read them, as a number, a weight, an element, a divisor, and products of products.
_FLOWING = """
input x[3], x1, x2
let c = [0.1, 0.2, 0.3] @ [1, 1, 1]
let u = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
let A = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]
let B = [[0.3, 0.7, 0.1], [0.2, 0.9, 0.4], [0.6, 0.1, 0.8]]
let W = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [0.11, 0.13, 0.17], [0.19, 0.23, 0.29]]
let AB = A @ B
let r = AB[1]
node y = step(c * x1 + x2 > c / 2)
node s = (u @ u) * x1 - x2 / (u @ [1, 1, 1, 1, 1, 1, 1])
layer h = sigmoid((A @ B @ A) @ x + r)
layer d = x / (A @ [1, 2, 3])
layer e = [c * x1, x2, r[2] * x1]
node z = sigmoid([0.31, 0.37, 0.41, 0.43, 0.47] @ (W @ x))
"""


def test_check_of_numbers_from_sums_that_orders_round_differently_needs_no_numpy(tmp_path):
    (tmp_path / "net.net").write_text(_FLOWING)
    report = _check_in_a_fresh_interpreter(_PROBE.format(args=["check", str(tmp_path / "net.net")]))
    assert "numpy imported: False" in report, report


def test_check_of_weight_files_and_drawn_params_needs_no_numpy(tmp_path):
    import numpy as np

    np.save(tmp_path / "w.npy", np.arange(12.0).reshape(4, 3) / 10)
    np.savez(tmp_path / "model.npz", b=np.ones(4), other=np.zeros(2))
    np.save(tmp_path / "ints.npy", np.array([[1, 2], [3, 4]], dtype=">i4"))
    (tmp_path / "w.csv").write_text("# two neurons\n0.5, -1, 2\n1e-3, 0, 3\n")
    (tmp_path / "net.net").write_text(_WEIGHTS)
    report = _check_in_a_fresh_interpreter(_PROBE.format(args=["check", str(tmp_path / "net.net")]))
    assert "lowered: False" in report, report
    assert "numpy imported: False" in report, report


# .npy files that numpy's parser reads its own way, all read without numpy by netlang.npyformat:
# a type by name, a long double, bools stored as other bytes than 0 and 1, a letter code.
_EXOTIC_WEIGHTS = """
input x[2]
let W = load("named.npy") + load("long.npy") + load("bools.npy") + load("letter.npy")
layer y = sigmoid(W @ x)
"""


def _npy_file(path, descr: str, data: bytes) -> None:
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': (2, 2), }}".encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data)


def test_check_of_weight_files_numpy_reads_its_own_way_needs_no_numpy(tmp_path):
    import struct

    import numpy as np

    _npy_file(tmp_path / "named.npy", "float64", struct.pack("<4d", 0.5, 1, 2, 3))
    np.save(tmp_path / "long.npy", np.array([[0.1, 1e-4000], [2, 3]], dtype=np.longdouble))
    _npy_file(tmp_path / "bools.npy", "|b1", b"\x00\x02\xff\x01")
    _npy_file(tmp_path / "letter.npy", ">d", struct.pack(">4d", 1, 2, 3, 4))
    (tmp_path / "net.net").write_text(_EXOTIC_WEIGHTS)
    report = _check_in_a_fresh_interpreter(_PROBE.format(args=["check", str(tmp_path / "net.net")]))
    assert "numpy imported: False" in report, report


# 2**1330 as a long double (x86's 80 bits: the mantissa with its integer bit, then sign and exponent), padded to
# 16 bytes; numpy writes it 2.3436579776793988171e+400.
_TOO_LARGE = (2**63).to_bytes(8, "little") + (16383 + 1330).to_bytes(2, "little") + bytes(6)


@pytest.mark.parametrize(
    "descr, words, data",
    [("[('a', '<f8'), ('b', '<i4', (2,))]", "holds records ([('a', '<f8'), ('b', '<i4', (2,))])", b""),
     ("'float65'", "descr is not a valid dtype descriptor: 'float65'", b""),
     ("'<f16'", "holds 2.3436579776793988171e+400 at [1, 0], too large for float64", bytes(32) + _TOO_LARGE + bytes(16)),
     ("{'descr': 1}", None, b"")],
)
def test_check_of_a_weight_file_numpy_refuses_needs_no_numpy(tmp_path, descr, words, data):
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (2, 2), }}" if words else descr
    text = header.encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    (tmp_path / "w.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data)
    (tmp_path / "net.net").write_text('input x[2]\nlet W = load("w.npy")\nlayer y = W @ x\n')
    code = _PROBE.format(args=["check", str(tmp_path / "net.net")]).replace("assert not exit.code, exit.code", "assert exit.code == 1, exit.code")
    report = _check_in_a_fresh_interpreter(code)
    assert (words or "Header does not contain the correct keys: ['descr']") in report, report
    assert "numpy imported: False" in report, report


# Products whose sums numpy rounds its own way: numpy computes them only if a decision needs
# their values, and none here does (their bounds certify the weights finite).
_PRODUCTS = """
input x[3]
let A = [[1, 2, 3], [4, 5, 6]]
let C = [[1, 0.5], [2, 1]] @ A
param W1[4, 3] = xavier()
param W2[2, 4] = normal(0, 0.1)
layer y = sigmoid(C @ x)
layer z = W2 @ (W1 @ x) + C @ x
"""


def test_check_of_products_of_matrices_needs_no_numpy(tmp_path):
    (tmp_path / "net.net").write_text(_PRODUCTS)
    report = _check_in_a_fresh_interpreter(_PROBE.format(args=["check", str(tmp_path / "net.net")]))
    assert "numpy imported: False" in report, report


# Params drawn by each initialiser, whose values a decision needs (a dot product reads only the
# nonzero weights; an element; a scalar; whether normal(0, 1e307)'s draws are finite; an
# overflow): drawn in Python (netlang.pcg64), numpy's values bit for bit.
_DRAWN = [
    "input x[2]\nparam w[2] = normal(0, 1)\nnode y = step(w @ x)\n",
    "input x[2]\nparam b = normal(0, 1)\nnode y = step(x[0] + x[1] - b)\n",
    "input x[2]\nparam w[2] = uniform(-1, 1)\nnode y = sigmoid(w[0] * x[0] + w[1] * x[1])\n",
    "input x[3]\nparam W[3, 3] = he()\nlet r = W[1]\nnode y = r @ x\nparam s = uniform(0, 2)\nparam t = xavier(4)\nnode z = s * t * x[0] + y\n",
    "input v[3]\nparam c[3] = normal(0, 1e307)\nnode h = c @ v\ntrain seed = 7\n",
    "input x[2]\nparam w[2] = normal(0, 1e300)\nnode y = sigmoid(x[0] * (w[0] * 1e10))\n",
    "input x[784]\nparam W[100, 784] = xavier()\nlet r = W[99]\nlayer h = sigmoid(W @ x)\nnode y = h[0] + r[783] * x[0]\n",
]

_JSON_PROBE = """
import sys
from netlang.cli import main
try:
    main(["check", "--json", {path!r}])
except SystemExit as exit:
    assert exit.code in (None, 0, 1), exit.code
print("numpy imported:", "numpy" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("text", _DRAWN, ids=lambda text: text.splitlines()[1])
def test_check_of_drawn_params_needs_no_numpy_and_finds_what_a_compile_finds(tmp_path, text):
    import json

    from netlang import pipeline
    from netlang.errors import NetlangError
    from netlang.expectations import expectations
    from netlang.grids import NUMPY
    from netlang.lint import Diagnosis, find_warnings

    path = str(tmp_path / "drawn.net")
    (tmp_path / "drawn.net").write_text(text)
    done = subprocess.run(
        [sys.executable, "-c", _JSON_PROBE.format(path=path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "numpy imported: False" in done.stderr, done.stderr
    try:  # what the compile's checker (numpy's arrays and draws) reports
        checked = pipeline.check(pipeline.read(path), arrays=NUMPY)
        expectations(checked)
        expected = Diagnosis(path, find_warnings(checked), checked)
    except NetlangError as error:
        expected = Diagnosis(path, list(error.errors))
    assert json.loads(done.stdout) == json.loads(json.dumps(expected.to_dict()))


# Products whose values a decision needs, summed without numpy where every order of summation
# gives one number (netlang.grids.ProductSums): exact sums of integers, halves and 0/1 matrices,
# two terms, and decisions certified by the bound on any order's rounding; expected values
# computed from array constants (netlang.expectations' Grid evaluation).
_SUMS = """
input x1, v[3], u[2]
let c = [1, 2] @ [3, 4]
let S = [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
let w = [0.5, 2, 3]
let A = [[1, 2], [3, 4]] @ [[0.5, 1], [1, 0]]
let B = [[0.1, 0.2, 0.3], [1, 0, 1]] @ [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
let t = [0.1, 0.2] @ [0.3, 0.4] + [0.1, 0.2, 1.1] @ [0.1, 0.2, 0.3]
node y = step(c * x1 > t)
node z = w @ (S @ v)
layer d = u / (A @ [1, 1]) + B @ u
layer e = [x1, x1] / ([[0.1, 0.2, 0.3], [1, 0, 1]] @ [0.3, 0.2, 0.1])
expect (1, 0, 0, 0, 1, 1) -> (1, 0, 0.25, 0.25, 1, 1) within 100
expect (c - 10, w * 2, [0.5, 0.25] / 2) -> ([1, 0], A @ [1, 1] / 10, [t, [0.1, 0.2, 1.1] @ [0.1, 0.2, 0.3]] * 0) within c
"""


@pytest.mark.parametrize(
    "text, status",
    [
        (_SUMS, 0),
        ("input u[2]\nlet E = [[1e200, 1e200]] @ [[1e200], [1e200]]\nlayer y = E @ u\n", 1),  # certainly overflows
        ("input u[2]\nlet Z = [[0.5, -1]] @ [[2, 3], [1, 3]]\nlayer y = u / Z[0]\n", 1),  # exactly zero: division-by-zero
    ],
    ids=["sums", "overflow", "zero"],
)
def test_check_of_products_whose_values_decide_needs_no_numpy(tmp_path, text, status):
    report = _check_text_in_a_fresh_interpreter(tmp_path, text, status)
    assert "numpy imported: False" in report, report


def _check_text_in_a_fresh_interpreter(tmp_path, text: str, status: int) -> str:
    """What a fresh `netlang check` of ``text`` reports (its exit status asserted)."""
    (tmp_path / "net.net").write_text(text)
    code = _PROBE.format(args=["check", str(tmp_path / "net.net")])
    if status:
        code = code.replace("assert not exit.code, exit.code", f"assert exit.code == {status}, exit.code")
    return _check_in_a_fresh_interpreter(code)


def test_check_of_weight_files_of_other_types_and_with_errors_needs_no_numpy(tmp_path):
    import numpy as np

    np.save(tmp_path / "half.npy", np.array([[0.5, 1], [2, 4]], dtype=np.float16))
    np.save(tmp_path / "complex.npy", np.zeros(2, dtype=np.complex128))
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan]))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "nan.npy").read_bytes()[:-3])
    np.savez(tmp_path / "m.npz", text=np.array(["a"]))
    (tmp_path / "net.net").write_text(
        "input x[2]\nlet H = load(\"half.npy\")\nlet C = load(\"complex.npy\")\nlet N = load(\"nan.npy\")\n"
        "let K = load(\"cube.npy\")\nlet T = load(\"cut.npy\")\nlet Z = load(\"m.npz\", \"text\")\n"
        "layer y = H @ x\n"
    )
    code = _PROBE.format(args=["check", str(tmp_path / "net.net")]).replace("assert not exit.code, exit.code", "assert exit.code == 1, exit.code")
    report = _check_in_a_fresh_interpreter(code)
    assert "numpy imported: False" in report, report


def test_check_of_a_csv_weight_file_with_a_typo_reports_it_without_numpy(tmp_path):
    # The reference reading decides what a CSV weight file holds on both paths (a compile refuses
    # what it refuses), so a check words the mistake itself, located in the CSV file.
    (tmp_path / "w.csv").write_text("1, 2\n3, 4\n0.5x, 6\n")
    (tmp_path / "net.net").write_text("input x[2]\nlet W = load(\"w.csv\")\nlayer y = W @ x\n")
    code = _PROBE.format(args=["check", str(tmp_path / "net.net")]).replace("assert not exit.code, exit.code", "assert exit.code == 1, exit.code")
    report = _check_in_a_fresh_interpreter(code)
    assert "numpy imported: False" in report, report
    assert "w.csv:3:1: '0.5x' in column 1 is not a number" in report, report
    assert "net.net:2:" in report, report  # placed at the load(...) call, with its caret


# Expected values whose shapes numpy broadcasts (a 2x3 matrix and a 3-vector, a 2x1 matrix and a
# 3-vector, a vector and a 1-vector), stacks ([A, A]) or refuses, or that divide by an infinity,
# computed as numpy would without it (netlang.expectations' Grids); and a product in the window
# where an underflow depends on when the processor detects tininess (after rounding on x86-64,
# known without numpy there).
_SHAPED = {
    "broadcast": (
        "input x1, v[3]\nlet A = [[1, 2, 3], [4, 5, 6]]\nlet B = [[0.5], [2]]\nnode y = x1\nlayer z = v * 2\n"
        "expect (1, [1, 2, 3] * [2]) -> ((A + [1, 0, -1]) @ [1, 0, 0], (B * [1, 2, 3]) @ [0, 1, 0])\n"
        "expect ([1, 2] / [[1, 2], [4, 8]] @ [1, 0], [1, 2] - [[0.5], [1]] @ [1]) -> ([1, 2] / (1e300 * 1e300), 0, 0) within 100\n",
        0,
    ),
    "refused": (
        "input x1\nlet A = [[1, 2, 3], [4, 5, 6]]\nnode y = x1\n"
        "expect (A + [1, 2]) -> 0\nexpect ([A, A] * [1, 2, 3]) -> 0\nexpect ([A, [1, 2, 3]]) -> 0\n",
        1,
    ),
    "tininess": (
        "input x1, x2\nlet t = [2.225073858507201e-308, 1]\nnode y = x1\nnode z = x2\n"
        "expect (1, 1) -> (t * 1.0000000000000002) within 1\n",  # t[0]: exactly 2**-1022 - 2**-1126
        0,
    ),
}


@pytest.mark.parametrize("case", sorted(_SHAPED))
def test_check_of_broadcast_and_stacked_expected_values_needs_no_numpy(tmp_path, case):
    from netlang.expectations import _detects_tininess_after_rounding

    if case == "tininess" and not _detects_tininess_after_rounding():
        pytest.skip("this machine's tininess is numpy's to find (netlang.expectations._AFTER_ROUNDING_MACHINES)")
    report = _check_text_in_a_fresh_interpreter(tmp_path, *_SHAPED[case])
    assert "numpy imported: False" in report, report
    if case == "refused":  # each line reported, as a compile reports it
        assert report.count("cannot be computed") == 2 and "a matrix cannot be an expected value" in report, report
