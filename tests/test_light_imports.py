"""Tools that only read syntax stay light: the modules `netlang fmt` and `netlang parse` use never import numpy.

Each is imported in a fresh interpreter, which then reports whether numpy was imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("module", ["netlang.formatter", "netlang.parser", "netlang.ast_json", "netlang.callables", "netlang.numerals"])
def test_syntax_modules_never_import_numpy(module):
    code = f"import sys, {module}; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
