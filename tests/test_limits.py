"""Resource limits: documented, enforced before allocation, and deep-but-legal input works."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netlang
from conftest import ROOT
from netlang import limits
from netlang.checker import check
from netlang.display import network_dict, network_text
from netlang.interpreter import interpret


def _limit_names():
    return [name for name in vars(limits) if name.startswith("MAX_")]


@pytest.mark.parametrize("name", _limit_names())
def test_every_limit_is_documented_with_its_value(name):
    text = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"docs/limits.md needs one table row for {name}"
    assert f"| {getattr(limits, name):,} |" in rows[0]


def _nested(depth: int, shape: str) -> str:
    """An expression ``depth`` deep (as the parser counts) in one of the worst shapes for the stack."""
    expr = "-" * limits.MAX_SIGNS_IN_A_ROW + "x"
    count = depth
    if shape == "signs":  # each level is '-(' : 2 deep
        count = depth // 2
    for _ in range(count):
        if shape == "calls":  # an activation inside a comparison inside an activation...
            expr = f"1*sigmoid({expr} > 1)+1"
        elif shape == "brackets":
            expr = f"2*({expr})+1"
        elif shape == "vectors":
            expr = f"[1]@[{expr}]+1"
        else:
            expr = f"1*-({expr})+1"
    return f"input x\nnode y = {expr}\n"


SHAPES = ["calls", "brackets", "vectors", "signs"]


@pytest.mark.parametrize("shape", SHAPES)
def test_nesting_at_the_limit_works_everywhere(shape):
    source = _nested(limits.MAX_NESTING, shape)
    program = netlang.parse(source)
    assert repr(program) and program == netlang.parse(source)
    try:
        checked = check(program, source)
    except netlang.NetlangError as error:  # 'calls' puts sigmoid inside an expression: a located error
        assert shape == "calls" and error.code == "misplaced-activation"
        return
    network = netlang.compile(program)
    assert network_text(network) and network_dict(network)
    expected = interpret(checked, {"x": 0.25})["y"]
    assert network.run({"x": 0.25})["y"] == pytest.approx(expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_nesting_past_the_limit_is_a_located_error(shape):
    depth = limits.MAX_NESTING + 2
    with pytest.raises(netlang.NetlangError) as info:
        netlang.parse(_nested(depth, shape), "deep.net")
    error = info.value
    assert error.code == "too-deep" and error.line == 2 and error.column > 9
    assert f"the limit is {limits.MAX_NESTING}" in error.message


def test_thousands_of_brackets_are_refused_quickly():
    with pytest.raises(netlang.NetlangError) as info:
        netlang.parse("node y = " + "(" * 100_000 + "x" + ")" * 100_000)
    assert info.value.code == "too-deep"


@pytest.mark.parametrize(
    "source, words",
    [
        ("input x[10000000000]\nnode y = x[0]", "input x has 10000000000 elements; the limit is 10000000"),
        ("input x[10000000000], y[10000000000]\nnode z = x[0]", "input y has 10000000000 elements"),
        ("input x[0]\nnode y = 1", "a vector needs at least one"),
        ("input x\nlayer h[100000000000] = x", "layer h has 100000000000 elements"),
    ],
)
def test_huge_sizes_are_refused_without_allocating(source, words):
    # Nothing of that size is ever allocated: if it were, this test would run out of memory.
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(source)
    assert any(words in e.message for e in info.value.errors)
    assert all(e.line >= 1 for e in info.value.errors)


def test_products_are_refused_from_their_shapes(tmp_path):
    # Two small files whose product would have 10^10 entries (80 GB).
    np.save(tmp_path / "A.npy", np.ones((100_000, 1)))
    np.save(tmp_path / "B.npy", np.ones((1, 100_000)))
    for expr in ("let P = A @ B\nnode y = x[0]", "layer h = A @ (B @ x)"):
        source = f'input x[100000]\nlet A = load("A.npy")\nlet B = load("B.npy")\n{expr}\n'
        with pytest.raises(netlang.NetlangError) as info:
            netlang.compile(source, base_dir=tmp_path)
        assert "10000000000 entries" in info.value.message and info.value.code == "limit-exceeded"


def test_a_long_vector_of_signals_is_refused_from_its_size():
    items = ", ".join(f"v[{i}]" for i in range(11_000))
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile(f"input v[11000]\nlayer h = [{items}]\n")
    assert "121000000 entries" in info.value.message


def test_tiny_numbers_are_kept_and_too_tiny_ones_refused():
    network = netlang.compile("input x\nnode y = 1e-310*x + 0e-999 + 0.0e5")
    assert network.run({"x": 1.0})["y"] == 1e-310
    with pytest.raises(netlang.NetlangError) as info:
        netlang.compile("input x\nnode y = 2.5e-400*x")
    assert info.value.code == "number-out-of-range" and "underflows to 0" in info.value.message


def test_constant_overflow_prints_no_numpy_warning(recwarn):
    with pytest.raises(netlang.NetlangError):
        netlang.compile("input x\nlet w = [1e300, 1] * [1e300, 1]\nnode y = w[1]*x")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_constant_overflow_in_a_fresh_check_prints_no_numpy_warning(tmp_path):
    # netlang check imports numpy only at the first array, inside the check: its warnings
    # are off all the same, and the error is the located one.
    import subprocess
    import sys

    path = tmp_path / "o.net"
    path.write_text("input x\nlet w = [1e300, 1] * [1e300, 1]\nnode y = w[1]*x\n")
    code = "import sys; from netlang.cli import main; main(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, "check", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "this constant overflows" in done.stderr, done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_a_callers_numpy_error_setting_does_not_reach_the_check():
    old = np.seterr(all="raise")
    try:
        with pytest.raises(netlang.NetlangError) as info:
            netlang.compile("input x\nlet w = [1e300, 1] * [1e300, 1]\nnode y = w[1]*x")
        assert info.value.code == "number-out-of-range"
    finally:
        np.seterr(**old)


def test_read_source_reads_no_more_than_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SOURCE_BYTES", 100)
    path = tmp_path / "big.net"
    path.write_text("# " + "x" * 1000 + "\n")
    with pytest.raises(netlang.NetlangError) as info:
        netlang.read_source(path)
    assert info.value.code == "file-too-large" and re.search(r"larger than 100 bytes", info.value.message)


def test_huge_literal_lists_are_refused_while_they_are_read(monkeypatch):
    monkeypatch.setattr(limits, "MAX_VECTOR_SIZE", 3)
    with pytest.raises(netlang.NetlangError) as info:
        netlang.parse("let v = [" + ", ".join(["1"] * 1000) + "]")
    assert info.value.code == "limit-exceeded" and "more than 3 elements" in info.value.message
    # Exactly at the limit, with a trailing comma, the list is fine.
    assert netlang.parse("let v = [1, 2, 3,]").statements[0].value.items[2].value == 3.0
