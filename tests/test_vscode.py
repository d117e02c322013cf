"""The VS Code extension (editors/vscode/): its TextMate grammar is generated from the language's
grammar and colours every example as the parser reads it, and the extension compiles and packages.

The grammar checks run VS Code's own TextMate engine (vscode-textmate + vscode-oniguruma) under
node; they and the packaging need node and npm, and are skipped with the reason without them.
npm's packages are installed once into editors/vscode/node_modules (git ignores it) from the
committed package-lock.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from netlang.lexical import FUNCTIONS, scan

from conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
sys.path.insert(0, str(VSCODE))
import make_grammar  # noqa: E402  (editors/vscode/make_grammar.py, the grammar's generator)


def test_the_committed_textmate_grammar_is_generated_from_the_grammar():
    committed = (VSCODE / "syntaxes" / "netlang.tmLanguage.json").read_text(encoding="utf-8")
    assert committed == make_grammar.text(), "run: python editors/vscode/make_grammar.py"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """editors/vscode/node_modules, installed with `npm ci` if it is not there yet."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("node and npm are not installed: the VS Code extension cannot be checked or built")
    modules = VSCODE / "node_modules"
    if not (modules / ".package-lock.json").exists():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=VSCODE, capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            pytest.skip(f"npm ci failed (is the npm registry reachable?): {result.stderr[-500:]}")
    return modules


def _expected(text: str) -> List[List[Tuple[int, int, str]]]:
    """netlang.lexical's tokens (the parser's terminals) per line, as TextMate scopes."""
    lines: List[List[Tuple[int, int, str]]] = [[] for _ in text.split("\n")]
    line, start = 0, 0
    for token in scan(text):
        kind = token.kind
        if kind == "name" and token.text in FUNCTIONS:
            kind = "function"
        if kind in make_grammar.SCOPES:
            column = token.offset - start
            lines[line].append((column, column + len(token.text), make_grammar.SCOPES[kind]))
        if "\n" in token.text:
            line += token.text.count("\n")
            start = token.offset + token.text.rindex("\n") + 1
    return lines


def _cases() -> List[Path]:
    paths = sorted((ROOT / "examples").glob("**/*.net")) + sorted((ROOT / "tests" / "errors").glob("*.net"))
    readable = []
    for path in paths:
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # not text an editor would colour
        readable.append(path)
    return readable


def test_the_textmate_grammar_colours_every_example_as_the_parser_reads_it(node_modules: Path):
    paths = _cases()
    result = subprocess.run(
        ["node", str(VSCODE / "test" / "tokenize.js"), *map(str, paths)],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seen: Dict[str, List[List[List]]] = json.loads(result.stdout)
    compared = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        tokens = [[tuple(t) for t in line if t[2] != "source.netlang"] for line in seen[str(path)]]
        assert tokens == _expected(text), path.name
        compared += sum(len(line) for line in tokens)
    assert compared > 1000


def test_the_extension_compiles_and_packages(node_modules: Path, tmp_path: Path):
    npx = shutil.which("npx")
    assert npx is not None
    subprocess.run([npx, "tsc", "-p", "./"], cwd=VSCODE, check=True, capture_output=True, timeout=300)
    vsix = tmp_path / "netlang.vsix"
    built = subprocess.run(
        [npx, "vsce", "package", "--out", str(vsix)], cwd=VSCODE, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    with zipfile.ZipFile(vsix) as package:
        names = set(package.namelist())
        manifest = json.loads(package.read("extension/package.json"))
        grammar = package.read("extension/syntaxes/netlang.tmLanguage.json").decode()
    assert {"extension/out/extension.js", "extension/language-configuration.json"} <= names
    assert any(n.startswith("extension/node_modules/vscode-languageclient/") for n in names)
    assert manifest["contributes"]["languages"][0]["extensions"] == [".net"]
    assert grammar == make_grammar.text()
