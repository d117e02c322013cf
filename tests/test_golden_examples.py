"""Golden files: what `netlang compile` and `netlang run` print for every example."""

from __future__ import annotations

import itertools

import pytest

import netlang
from conftest import EXAMPLES, ROOT, golden

GOLDEN = ROOT / "tests" / "golden"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.net"))
# Every 0/1 corner is run for the small networks (the seed's gates and neurons).
SMALL_EXAMPLES = [path for path in EXAMPLE_FILES if netlang.load(path).input_width <= 4]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_compile_output(cli, monkeypatch, path):
    monkeypatch.chdir(ROOT)
    result = cli("compile", str(path.relative_to(ROOT)))
    assert result.exit_code == 0
    golden(GOLDEN / "compile" / f"{path.stem}.txt", result.output)


@pytest.mark.parametrize("path", SMALL_EXAMPLES, ids=lambda p: p.name)
def test_run_on_every_corner(cli, path):
    """`netlang run` on each 0/1 input, one block per input."""
    net = netlang.load(path)
    blocks = []
    for corner in itertools.product("01", repeat=net.input_width):
        result = cli("run", str(path), "--x", *corner)
        assert result.exit_code == 0
        blocks.append(f"--x {' '.join(corner)}\n{result.output}")
    golden(GOLDEN / "run" / f"{path.stem}.txt", "\n".join(blocks))
