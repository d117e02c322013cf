"""The catalogue of errors: the golden cases in tests/errors/, and every error code in netlang's source.

Each ``tests/errors/NAME.net`` is one situation a user can meet; ``NAME.err`` is what
netlang prints for it (``NetlangError.format()`` for every error in the file). Lines
at the top of a case that start with ``#!`` are directives for the runner (netlang
reads them as comments):

    #! limit MAX_SOURCE_BYTES=64   run with a smaller limit, so the case stays small
    #! run 1 2                     compile, then evaluate the network on these values
    #! load missing.net            load this path instead of the case itself
    #! check                       diagnose the file as `netlang check` does (lint.diagnose):
                                   its errors, or, when it has none, its warnings
    #! input data/rows.csv         run the network on a data file, as `netlang run --input` does
    #! output out.csv              ... writing the results to this file (`netlang run --output`)
    #! plot                        check the network can be plotted (one or two input values)
    #! export per_name             export the network to ONNX (options: per_name, float32)
    #! without onnx                run as if the package onnx were not installed
    #! fit data/and.csv rule=perceptron   train the network (every weight and bias) on a CSV file
                                   whose header names its inputs and outputs (or labels=COLUMN
                                   for one-hot targets), with these training.Settings
                                   (trainable=none: nothing bound), as training.fit does
    #! train data/and.csv rate=0.1  netlang.train(NAME.net, data, settings...) (DATA "-": no data
                                   given); nothing is written unless output=FILE is given
    #! score data/and.csv label    score the network against the label column, as `netlang score`
                                   does (more words: columns to skip)
    #! cli run --x 1               run the command line (netlang run NAME.net --x 1) instead;
                                   NAME.err is then what it prints, and its exit status

Used by tests/test_error_catalogue.py and by docs/make_errors.py (docs/errors.md).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import numpy as np

import netlang
from netlang import boundary, data, limits, lint
from netlang.errors import combine

ROOT = Path(__file__).resolve().parent.parent
ERRORS_DIR = ROOT / "tests" / "errors"
PACKAGE_DIR = ROOT / "netlang"


def case_paths(cli: bool = False) -> List[Path]:
    """The cases run through the library (or, with ``cli``, through the command line)."""
    return [path for path in sorted(ERRORS_DIR.glob("*.net")) if is_cli_case(path) == cli]


def case_text(path: Path) -> str:
    """The case's source as a reader sees it (undecodable bytes shown as U+FFFD)."""
    return path.read_bytes().decode("utf-8", errors="replace")


def directives(path: Path) -> List[Tuple[str, str]]:
    found = []
    for line in case_text(path).splitlines():
        if not line.startswith("#!"):
            break
        word, _, rest = line[2:].strip().partition(" ")
        found.append((word, rest.strip()))
    return found


@contextlib.contextmanager
def _in_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextlib.contextmanager
def _limits(changes: Dict[str, int]) -> Iterator[None]:
    saved = {name: getattr(limits, name) for name in changes}
    for name, value in changes.items():
        setattr(limits, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(limits, name, value)


def is_cli_case(path: Path) -> bool:
    return any(word == "cli" for word, _ in directives(path))


def run_cli_case(path: Path) -> str:
    """What ``netlang COMMAND NAME.net ARGS...`` prints (stdout and stderr), and its exit status."""
    from click.testing import CliRunner

    from netlang.cli import main

    (command, *args) = next(rest for word, rest in directives(path) if word == "cli").split()
    with _in_directory(path.parent):
        result = CliRunner().invoke(main, [command, path.name, *args], prog_name="netlang")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return f"{result.output}(exit status {result.exit_code})\n"


@contextlib.contextmanager
def _without(packages: List[str]) -> Iterator[None]:
    """Imports of ``packages`` fail inside, as if they were not installed."""
    saved = {name: sys.modules.get(name, _ABSENT) for name in packages}
    sys.modules.update({name: None for name in packages})  # type: ignore[misc]  # None makes `import` raise ImportError
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is _ABSENT:
                del sys.modules[name]
            else:
                sys.modules[name] = module  # type: ignore[assignment]


_ABSENT = object()
EXPORT_OPTIONS = {"per_name", "float32"}


def run_case(path: Path) -> netlang.NetlangError:
    """The NetlangError that the case raises, or (``#! check``, ``#! train``) reports as warnings (AssertionError if none)."""
    changes: Dict[str, int] = {}
    target = path.name
    values = None
    actions: List[Tuple[str, str]] = []  # what is done with the loaded network
    missing: List[str] = []
    for word, rest in directives(path):
        if word == "limit":
            name, _, value = rest.partition("=")
            assert hasattr(limits, name.strip()), f"{path.name}: no limit named {name}"
            changes[name.strip()] = int(value)
        elif word == "run":
            values = [float(v) for v in rest.split()]
        elif word == "load":
            target = rest
        elif word in ("check", "input", "output", "plot", "export", "fit", "train", "score"):
            actions.append((word, rest))
        elif word == "without":
            missing += rest.split()
        else:
            raise AssertionError(f"{path.name}: unknown directive #! {word}")
    with _in_directory(path.parent), _limits(changes), _without(missing):
        try:
            if any(word == "check" for word, _ in actions):
                return _diagnosed(path, target)
            network = netlang.load(target)
            if values is not None:
                network(np.array(values))
            outputs = [rest for word, rest in actions if word == "output"]
            for word, rest in actions:
                if word != "output":
                    _act(network, word, rest, target, path, outputs[0] if outputs else None)
        except netlang.NetlangError as error:
            return error
    raise AssertionError(f"{path.name} raised no error")


def _diagnosed(path: Path, target: str) -> netlang.NetlangError:
    """``netlang check``'s errors, else its warnings, as one NetlangError to format."""
    diagnosis = lint.diagnose(target)
    found = diagnosis.errors or diagnosis.warnings
    assert found, f"{path.name}: netlang check finds neither errors nor warnings"
    return combine(found)


def _act(network: netlang.Network, word: str, rest: str, target: str, path: Path, output: Optional[str] = None) -> None:
    if word == "input":
        source = data.open_source(rest, network)
        if output is not None:
            data.run_to_file(network, source, output, data.output_kind(output))
        else:
            data.run_batch(network, source, data.CsvSink(io.StringIO(), network.output_columns))
    elif word == "plot":
        boundary.check_plottable(network, filename=target)
    elif word == "export":
        from netlang.onnx_export import to_onnx

        options = set(rest.split())
        assert options <= EXPORT_OPTIONS, f"{path.name}: unknown export options {options - EXPORT_OPTIONS}"
        to_onnx(
            network,
            source_name=target,
            dtype="float32" if "float32" in options else "float64",
            per_name="per_name" in options,
        )
    elif word == "fit":
        _fit(network, rest)
    elif word == "train":
        _train(target, rest)
    elif word == "score":
        from netlang.labelled import score_file

        name, labels, *skip = rest.split()
        score_file(network, name, labels, skip)
    else:
        raise AssertionError(f"{path.name}: #! {word} takes no value here")


def _fit(network: netlang.Network, rest: str) -> None:
    from netlang import training

    from netlang.labelled import read_examples

    name, *pairs = rest.split()
    options = dict(pair.split("=", 1) for pair in pairs)
    inputs, targets = read_examples(name, network, labels=options.pop("labels", None))
    binding = training.binding_all(network)
    if options.pop("trainable", None) == "none":
        binding = training.Binding([None] * len(network.layers), [None] * len(network.layers), 0)
    fields = training.Settings.__dataclass_fields__
    settings = training.Settings(**{key: fields[key].type == "str" and value or _number(value) for key, value in options.items()})
    training.fit(network, binding, inputs, targets, settings)


def _number(text: str) -> object:
    if text in ("True", "False"):
        return text == "True"
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _train(target: str, rest: str) -> None:
    """Train; a run that warns about its data raises its warnings, to be shown as check's are."""
    name, *pairs = rest.split()
    options: Dict[str, object] = dict(pair.split("=", 1) for pair in pairs)
    write = "output" in options
    trained = netlang.train(target, None if name == "-" else name, write=write, **options)  # type: ignore[arg-type]
    if trained.warnings:
        raise combine(trained.warnings)


def formatted(error: netlang.NetlangError) -> str:
    return error.format() + "\n"


def codes_raised(error: netlang.NetlangError) -> List[str]:
    return list(dict.fromkeys(e.code for e in error.errors))


# --- every code in the source ----------------------------------------------------------


def _code_parameters(trees: List[ast.Module]) -> Dict[str, Tuple[int, object]]:
    """Functions and classes that take a ``code``: name -> (position of code, its default)."""
    found: Dict[str, Tuple[int, object]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            positional = [a.arg for a in args.posonlyargs + args.args]
            defaults = dict(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
            defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
            if "code" not in positional and "code" not in [a.arg for a in args.kwonlyargs]:
                continue
            # A method's `self` is not passed at the call site.
            index = positional.index("code") - (positional[:1] == ["self"]) if "code" in positional else -1
            default = defaults.get("code")
            value = default.value if isinstance(default, ast.Constant) else None
            # __init__ is called by its class's name.
            name = node.name
            if name == "__init__":
                name = _enclosing_class(tree, node)
            found[name] = (index, value)
    return found


def _enclosing_class(tree: ast.Module, function: ast.FunctionDef) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and function in node.body:
            return node.name
    return "__init__"


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def codes_in_source(package: Path = PACKAGE_DIR) -> Dict[str, List[str]]:
    """Every error code the package can raise: code -> the places (file:line) that use it.

    Found in the source itself: ``code="..."`` keywords, codes passed by position to
    the functions that take a ``code`` parameter, and those parameters' defaults when
    a call leaves the code out.
    """
    files = sorted(package.glob("*.py"))
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in files]
    parameters = _code_parameters(trees)
    codes: Dict[str, List[str]] = {}
    for path, tree in zip(files, trees):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            keyword = next((k for k in node.keywords if k.arg == "code"), None)
            if keyword is not None:
                value = keyword.value
            elif name in parameters:
                index, default = parameters[name]
                if 0 <= index < len(node.args):
                    value = node.args[index]
                elif any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                    continue
                else:
                    value = ast.Constant(default)
            else:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                codes.setdefault(value.value, []).append(f"{path.name}:{node.lineno}")
    return codes


def all_codes_in_cases() -> Dict[str, List[str]]:
    """code -> the cases that raise it."""
    found: Dict[str, List[str]] = {}
    for path in case_paths():
        for code in codes_raised(run_case(path)):
            found.setdefault(code, []).append(path.stem)
    return found


def unused(values: Set[str]) -> Set[str]:  # pragma: no cover - a helper for maintainers
    return set(codes_in_source()) - values
