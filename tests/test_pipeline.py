"""The pipeline (netlang.pipeline): one read of each file, one driver, the cache keyed on what was read."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import cache, pipeline
from netlang.checker import CheckedProgram, Unit
from netlang.compiler import lower_to_layers
from netlang.forms import ScalarForm
from netlang.nodes import Input, InputVar, Name, Node, Program

from conftest import ROOT

SOURCE = """input x[3]
let W = load("w.npz", "W")
layer h = sigmoid(W @ x + [0.5, -0.5])
node y = step(h[0] - h[1] > 0.1)
"""
OLD = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]])
NEW = np.array([[9.0, -2.0, 0.5], [0.3, 0.2, -0.1]])


@pytest.fixture
def model(tmp_path: Path) -> Path:
    np.savez(tmp_path / "w.npz", W=OLD)
    path = tmp_path / "model.net"
    path.write_text(SOURCE)
    return path


def test_a_weight_file_changed_during_a_compile_leaves_no_stale_entry(model, monkeypatch):
    """The cache stores the hash of the weight bytes the compile read, not of the file as it is at the end."""
    original = pipeline.lower

    def lower_then_change_the_weights(checked):
        np.savez(model.parent / "w.npz", W=NEW)  # after the checker read w.npz, before the entry is written
        return original(checked)

    monkeypatch.setattr(pipeline, "lower", lower_then_change_the_weights)
    first = netlang.load(model)
    assert first.layers[0].weights[0, 0] == 1.0  # compiled from what was read
    monkeypatch.setattr(pipeline, "lower", original)
    second = netlang.load(model)
    assert second.layers[0].weights[0, 0] == 9.0  # the entry did not match the new file: rebuilt


def test_the_source_is_read_once(model, monkeypatch):
    opened = []
    original = pipeline.open_file

    def counting(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "open_file", counting)
    netlang.load(model)  # a miss: read, parse, check, lower, store
    netlang.load(model)  # a hit
    assert opened == [str(model), str(model)]


def test_a_source_changed_after_it_was_read_is_cached_under_the_bytes_read(model, monkeypatch):
    """The entry's key is the hash of the bytes that were compiled, whatever the file holds by the end."""
    original = pipeline.lower

    def lower_then_edit_the_source(checked):
        model.write_text(SOURCE.replace("0.1", "0.2"))
        return original(checked)

    monkeypatch.setattr(pipeline, "lower", lower_then_edit_the_source)
    netlang.load(model)
    monkeypatch.setattr(pipeline, "lower", original)
    [entry] = sorted(cache.directory().glob("*.npz"))
    assert entry.stem == cache.key_of(SOURCE.encode(), str(model))
    assert entry.stem != cache.key(model)


def test_a_pipe_is_read_as_a_source(model):
    """Process substitution and /dev/stdin give a pipe: it is read once, so it works (and is not cached)."""
    read_end, write_end = os.pipe()
    text = "input x1, x2\nnode y = step(x1 + x2 > 1.5)\n"

    def feed() -> None:
        with os.fdopen(write_end, "w") as stream:
            stream.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        network = netlang.load(f"/dev/fd/{read_end}")
    finally:
        writer.join()
        os.close(read_end)
    assert network.run({"x1": 1, "x2": 1}) == {"y": 1.0}
    assert not list(cache.directory().glob("*.npz"))


def test_run_reads_the_program_from_dev_stdin(tmp_path):
    env = dict(os.environ, NETLANG_CACHE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "netlang.launcher", "run", "/dev/stdin", "--x", "1", "0"],
        input="input a, b\nnode y = step(a + b > 0.5)\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "y = 1\n", "")


def test_a_directory_is_refused_before_it_is_read(tmp_path):
    with pytest.raises(netlang.NetlangError, match="is a directory, not a .net file"):
        netlang.load(tmp_path)


def test_the_compiler_lowers_a_checked_program_built_without_the_parser():
    """compiler.py only lowers: a CheckedProgram made by hand compiles, and the parser is never imported."""
    code = """
import sys
from netlang.checker import CheckedProgram, Unit
from netlang.compiler import lower_to_layers
from netlang.forms import ScalarForm
from netlang.nodes import Input, InputVar, Name, Node, Program

a, b = InputVar("a"), InputVar("b")
node = Node("y", Name("a"))
program = Program((Input((a, b)), node))
unit = Unit("y", None, "step", ScalarForm(-0.5, {"a": 1.0, "b": 1.0}), node, depth=1)
network = lower_to_layers(CheckedProgram(program, [a, b], {}, [unit], ["y"], {"a": None, "b": None, "y": None}))
print(network.run({"a": 1, "b": 0}), network.run({"a": 0, "b": 0}), "netlang.parser" in sys.modules, "lark" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.split("\n")[0] == "{'y': 1.0} {'y': 0.0} False False", result.stderr


def test_lowering_by_hand_matches_compiling_the_same_text():
    a, b = InputVar("a"), InputVar("b")
    node = Node("y", Name("a"))
    program = Program((Input((a, b)), node))
    unit = Unit("y", None, "relu", ScalarForm(0.25, {"a": 2.0, "b": -1.0}), node, depth=1)
    by_hand = lower_to_layers(CheckedProgram(program, [a, b], {}, [unit], ["y"], {"a": None, "b": None, "y": None}))
    compiled = netlang.compile("input a, b\nnode y = relu(2*a - b + 0.25)")
    X = np.random.default_rng(1).normal(size=(50, 2))
    assert np.array_equal(by_hand(X), compiled(X))


def test_a_constant_named_like_the_old_hidden_base_directory_is_an_ordinary_constant(tmp_path, cli):
    """The interpreter once kept load(...)'s folder in the variables as __base_dir__: a user's
    constant of that name made run --exact fail with a TypeError."""
    np.save(tmp_path / "w.npy", np.array([1.0, 1.0]))
    path = tmp_path / "m.net"
    path.write_text('input x[2]\nlet __base_dir__ = 2\nlet W = load("w.npy")\nnode y = step(W @ x > __base_dir__ - 0.5)\n')
    for flags in (["--exact"], ["--explain"], []):
        result = cli("run", str(path), "--x", "1", "1", *flags)
        assert result.exit_code == 0, result.output
        assert "y = 1" in result.output
    outcomes = netlang.check_expectations(path.read_text() + "expect (1, 1) -> 1\nexpect (1, 0) -> __base_dir__ - 2\n", str(path), exact=True)
    assert [o.passed for o in outcomes] == [True, True]


def test_the_interpreter_does_not_read_weight_files_again(tmp_path, monkeypatch):
    from netlang import interpreter, weights
    from netlang.interpreter import EXACT, interpret

    np.save(tmp_path / "w.npy", np.array([0.5, 0.25]))
    path = tmp_path / "m.net"
    path.write_text('input x[2]\nnode y = relu(load("w.npy") @ x)\n')
    checked = pipeline.load_checked(path)

    def no_reads(*args, **kwargs):
        raise AssertionError("a weight file was read again")

    monkeypatch.setattr(weights, "read_weights", no_reads)
    assert interpret(checked, {"x": [2, 4]}, arithmetic=EXACT) == {"y": 2}
    assert interpreter.constants(checked) == {}


def test_every_entry_point_goes_through_the_pipeline(tmp_path, monkeypatch, cli):
    """load, load_checked, lint.diagnose, check_expectations and the CLI all check through pipeline.check."""
    from netlang import lint

    calls = []
    original = pipeline.check

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "check", counting)
    monkeypatch.setenv("NETLANG_NO_CACHE", "1")
    path = tmp_path / "m.net"
    path.write_text("input a\nnode y = step(a > 0.5)\nexpect 1 -> 1\n")
    netlang.load(path)
    pipeline.load_checked(path)
    lint.diagnose(path)
    netlang.check_expectations(path.read_text())
    netlang.compile(path.read_text())
    for command in (["run", str(path), "--x", "1"], ["test", str(path)], ["table", str(path)], ["check", str(path)]):
        assert cli(*command).exit_code == 0
    assert len(calls) == 9


def test_a_sparse_layer_of_many_blocks_is_lowered_in_a_constant_number_of_joins(monkeypatch):
    """Lowering joins every block's terms once (issue 11, item 9: joining block by block was
    quadratic, 10 minutes for v + (v[0] + ... + v[9999])); the result matches the interpreter."""
    from netlang import compiler
    from netlang.interpreter import interpret

    joins = []
    original = np.concatenate

    def counting(arrays, *args, **kwargs):
        joins.append(len(arrays))
        return original(arrays, *args, **kwargs)

    monkeypatch.setattr(compiler.np, "concatenate", counting)
    n, terms = 3000, 60
    source = f"input v[{n}]\nlayer h = v + (" + " + ".join(f"{i % 7 - 3}*v[{i}]" for i in range(terms)) + ")\n"
    checked = pipeline.check(pipeline.text_source(source))
    network = compiler.lower_to_layers(checked)
    assert network.layers[0].is_sparse
    assert len(joins) <= 7  # the scalar terms, the columns used, all blocks at once: not three per block
    monkeypatch.undo()
    x = np.random.default_rng(2).normal(size=n)
    assert np.allclose(network(x), interpret(checked, {"v": x})["h"], rtol=0, atol=1e-9)


def _checked_or_errors(source, parser=None):
    try:
        checked = pipeline.check(source, parser=parser)
    except netlang.NetlangError as error:
        return [(e.format(), e.hint, e.code) for e in error.errors]
    return [unit.name for unit in checked.units]


def test_check_with_an_incremental_parser_reports_what_check_reports(tmp_path):
    # A document edited from fixed to broken (a syntax error beside a checker error) and back,
    # with one IncrementalParser, as the language server keeps one per open document.
    from netlang.parser import IncrementalParser

    versions = [
        "input x1, x2\nnode a = step(x1 + x2 > 1.5)\nnode b = sigmoid(2*a - x1)\noutput b\n",
        "input x1, x2\nnode a = step(x1 + x2 > 1.5\nnode b = sigmoid(2*a - x3)\noutput b\n",
        "input x1, x2\nnode a = step(x1 + x2 > 1.5)\nnode b = sigmoid(2*a - x3)\noutput b\n",
        "# weights\ninput x1, x2\nnode a = step(x1 + x2 > 1.5)\nnode b = sigmoid(2*a - x1)\noutput b\n",
    ]
    parser = IncrementalParser()
    outcomes = []
    for text in versions:
        source = pipeline.text_source(text, str(tmp_path / "doc.net"))
        outcomes.append(_checked_or_errors(source, parser))
        assert outcomes[-1] == _checked_or_errors(source)
    assert outcomes[0] == outcomes[3] == ["a", "b"]
    assert [code for _, _, code in outcomes[1]] == ["syntax-error", "unknown-name"]
    assert [code for _, _, code in outcomes[2]] == ["unknown-name"]
