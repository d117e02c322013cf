"""Tools that only read syntax stay light: `netlang fmt` and `netlang parse` never import numpy.

Each runs in a fresh interpreter, which then reports whether numpy was imported.
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
"""


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


@pytest.mark.parametrize("module", ["netlang.formatter", "netlang.parser", "netlang.ast_json", "netlang.callables", "netlang.numerals"])
def test_syntax_modules_never_import_numpy(module):
    code = f"import sys, {module}; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
