"""Tools that only read syntax stay light: `netlang fmt` and `netlang parse` never import numpy;
`netlang check` never lowers (no compiler, no runtime), and checks a file without arrays
(vectors, matrices, weight files, drawn params) without numpy.

Each runs in a fresh interpreter, which then reports what was imported. Files with arrays still
import numpy when checked: their constants are folded with it (netlang.lazynumpy).
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

# The examples with arrays: their check still imports numpy (the others must not).
_EXAMPLES = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "examples").rglob("*.net"))
_WITH_ARRAYS = {
    "examples/activations.net", "examples/dlfs.net", "examples/matrix.net", "examples/myonn.net",
    "examples/books/rashid-100.net", "examples/books/rashid-200.net", "examples/books/saito.net",
    "examples/digits/digits.net", "examples/learn/xor-trained.net", "examples/learn/xor.net",
    "examples/mnist/mnist.net",
}


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
def test_check_never_lowers_and_needs_numpy_only_for_arrays(path):
    args = ["check", path] if path != "examples/mistakes/typo.net" else ["check", "--json", path]
    code = _PROBE.format(args=args)
    if path == "examples/mistakes/typo.net":  # its errors: exit status 1, and still light
        code = code.replace("assert not exit.code, exit.code", "assert exit.code == 1, exit.code")
    report = _check_in_a_fresh_interpreter(code)
    assert "lowered: False" in report, report
    if path not in _WITH_ARRAYS:
        assert "numpy imported: False" in report, report


@pytest.mark.parametrize("path", [path for path in _EXAMPLES if path not in _WITH_ARRAYS])
def test_what_editors_call_needs_no_numpy(path):
    # The language server's diagnostics are lint.diagnose on the editor's text.
    code = (
        "import sys\nfrom netlang.lint import diagnose\n"
        f"text = open({path!r}).read()\n"
        f"diagnosis = diagnose({path!r}, source=text)\n"
        f"assert (diagnosis.checked is None) == bool(diagnosis.errors)\n"
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
