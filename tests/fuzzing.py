"""Fuzzing helpers shared by tests/test_fuzz.py and the long-running tests/fuzz.py.

Two kinds: valid programs generated from the grammar (hypothesis), evaluated both by
the compiled network and by the tree-walking interpreter; and mutations of the
examples (tokens dropped, swapped, duplicated; bytes flipped; lines truncated;
invalid UTF-8), which must only ever raise a located NetlangError.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import traceback
from pathlib import Path
from typing import List, Optional

import numpy as np
from hypothesis import strategies as st

import netlang
from netlang.errors import escaped
from netlang.checker import check
from netlang.interpreter import interpret

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REGRESSIONS = ROOT / "tests" / "fuzz_regressions"

# Below this distance from a step's threshold, float rounding may legitimately decide the step
# differently in a matrix product than in the interpreter's sum as written.
STEP_MARGIN = 1e-9


# --- valid programs ----------------------------------------------------------------

_ACTIVATIONS = ["sigmoid", "relu", "tanh", "identity", ""]
_NUMBERS = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(-4, 4, allow_nan=False, allow_infinity=False).map(lambda v: repr(round(v, 3))),
    st.sampled_from(["0.5", "2e-3", ".25", "1.", "1e2"]),
)


@st.composite
def _affine(draw, signals: List[str], constants: List[str], depth: int = 0) -> str:
    """An affine expression of scalar signals: sums, scaled terms, brackets, signs, division."""
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["scaled", "scaled", "plain", "constant", "bracket", "divided"]))
        signal = draw(st.sampled_from(signals))
        weight = draw(st.one_of(_NUMBERS, st.sampled_from(constants))) if constants else draw(_NUMBERS)
        if kind == "scaled":
            term = draw(st.sampled_from([f"{weight}*{signal}", f"{signal}*{weight}"]))
        elif kind == "plain":
            term = signal
        elif kind == "constant":
            term = weight
        elif kind == "bracket" and depth < 3:
            term = f"{weight}*({draw(_affine(signals, constants, depth + 1))})"
        else:
            term = f"{signal}/{draw(st.sampled_from(['2', '4', '0.5', '-8']))}"
        terms.append(term)
    ops = [draw(st.sampled_from([" + ", " - "])) for _ in terms[1:]]
    text = terms[0]
    for op, term in zip(ops, terms[1:]):
        text += op + term
    if draw(st.booleans()) and depth == 0:
        text = "-(" + text + ")"
    return text


@st.composite
def programs(draw) -> str:
    """A valid netlist: scalar and vector inputs, constants, nodes and layers, in any order."""
    n_inputs = draw(st.integers(1, 3))
    scalars = [f"x{i}" for i in range(n_inputs)]
    width = draw(st.integers(1, 3))
    lines = [f"input {', '.join(scalars)}, v[{width}]"]
    constants = []
    for i in range(draw(st.integers(0, 2))):
        name = f"c{i}"
        lines.append(f"let {name} = {draw(_NUMBERS)} {draw(st.sampled_from(['+', '*', '-']))} {draw(_NUMBERS)}")
        constants.append(name)
    readable = scalars + [f"v[{i}]" for i in range(width)]
    definitions = []
    for i in range(draw(st.integers(1, 5))):
        name = f"n{i}"
        if draw(st.integers(0, 4)) == 0:
            rows = draw(st.integers(1, 3))
            matrix = [[draw(_NUMBERS) for _ in range(width)] for _ in range(rows)]
            text = "[" + ", ".join("[" + ", ".join(row) + "]" for row in matrix) + "]"
            activation = draw(st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "identity"]))
            bias = "[" + ", ".join(draw(_NUMBERS) for _ in range(rows)) + "]"
            definitions.append(f"layer {name} = {activation}({text} @ v + {bias})")
            readable += [f"{name}[{r}]" for r in range(rows)]
            continue
        form = draw(_affine(readable, constants))
        choice = draw(st.sampled_from(_ACTIVATIONS + ["step", "step_cmp"]))
        if choice == "step_cmp":
            op = draw(st.sampled_from([">", ">=", "<", "<="]))
            right = draw(_affine(readable, constants))
            text = f"step({form} {op} {right})"
        elif choice:
            text = f"{choice}({form})"
        else:
            text = form
        definitions.append(f"node {name} = {text}")
        readable.append(name)
    # A netlist: definitions may come in any order.
    lines += draw(st.permutations(definitions))
    if draw(st.booleans()):
        names = [d.split()[1] for d in definitions]
        lines.append("output " + ", ".join(draw(st.lists(st.sampled_from(names), min_size=1, unique=True))))
    return "\n".join(lines) + "\n"


def compare_with_interpreter(source: str, samples: np.ndarray) -> int:
    """Assert the compiled network agrees with the interpreter; returns how many samples were compared."""
    program = netlang.parse(source)
    checked = check(program, source)
    network = netlang.compile(program)
    outputs = network(samples)
    compared = 0
    for row, got in zip(samples, np.atleast_2d(outputs)):
        inputs = dict(zip(network.input_names, _split(row, network)))
        margins: List[float] = []
        expected = interpret(checked, inputs, margins)
        if margins and min(margins) < STEP_MARGIN:
            continue  # rounding may decide a step here: not a disagreement
        want = np.concatenate([np.ravel(expected[name]) for name in network.output_names])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=source)
        compared += 1
    return compared


def _split(row: np.ndarray, network: netlang.Network) -> List[object]:
    values = []
    start = 0
    for _, size in network.inputs:
        width = 1 if size is None else size
        part = row[start : start + width]
        values.append(float(part[0]) if size is None else part)
        start += width
    return values


# --- mutations ---------------------------------------------------------------------

_TOKEN = re.compile(rb"[A-Za-z_][A-Za-z_0-9]*|[0-9.]+(?:[eE][+-]?[0-9]+)?|\"[^\"\n]*\"|->|[<>]=?|\S|\n")
_VOCABULARY = [
    b"input", b"let", b"node", b"layer", b"output", b"expect", b"within", b"step", b"sigmoid", b"softmax",
    b"load", b"(", b")", b"[", b"]", b",", b"=", b"+", b"-", b"*", b"/", b"@", b">", b">=", b"->", b"#",
    b"1e999", b"1e-400", b"0", b"x1", b"\n", b'"w.npy"', b"99999999999999", b"\t", b"\r",
    b'load("data/W.npy")', b'load("data/model.npz", "W1")', b"[[1, 2], [3, 4]]", b"x[2]", b"v[0]",
    b"relu", b"tanh", b"identity", b"1e308", b"5e-324", b"\x0c", b"\xe2\x80\xa8", b"\x00",
]


_NUMBER_TOKENS = [b"0", b"1", b"2", b"3", b"0.5", b"1e308", b"5e-324", b"1e-400", b"1e999", b"0.0", b"100000"]
# Mutations that keep the syntax come often, so that most files reach the checker and compiler.
_KINDS = ["rename", "rename", "renumber", "renumber", "drop", "swap", "duplicate", "insert", "repeat", "line",
          "truncate", "flip", "utf8"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few random mutations."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        tokens = _TOKEN.findall(data) or [b""]
        kind = rng.choice(_KINDS)
        i = rng.randrange(len(tokens))
        names = [t for t in tokens if re.fullmatch(rb"[A-Za-z_]\w*", t)]
        numbers = [j for j, t in enumerate(tokens) if re.fullmatch(rb"[0-9.]+(?:[eE][+-]?[0-9]+)?", t)]
        if kind == "rename" and names:
            # Same syntax, other meaning: reaches the checker and the compiler, not just the parser.
            positions = [j for j, t in enumerate(tokens) if t in names]
            tokens[rng.choice(positions)] = rng.choice(names)
        elif kind == "renumber" and numbers:
            tokens[rng.choice(numbers)] = rng.choice(_NUMBER_TOKENS)
        elif kind == "drop":
            del tokens[i]
        elif kind == "swap":
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif kind == "duplicate":
            tokens.insert(i, tokens[i])
        elif kind == "insert":
            tokens.insert(i, rng.choice(_VOCABULARY))
        elif kind == "repeat":
            tokens.insert(i, rng.choice([b"(", b"[", b"-"]) * rng.randint(1, 80))
        if kind in ("drop", "swap", "duplicate", "insert", "repeat", "rename", "renumber"):
            data = b" ".join(tokens).replace(b" \n ", b"\n")
            continue
        if not data:
            data = b"x"
        position = rng.randrange(len(data))
        if kind == "flip":
            data = data[:position] + bytes([data[position] ^ (1 << rng.randrange(8))]) + data[position + 1 :]
        elif kind == "truncate":
            end = data.find(b"\n", position)
            data = data[:position] + (data[end:] if end >= 0 else b"")
        elif kind == "utf8":
            data = data[:position] + rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80"]) + data[position:]
        else:
            lines = data.split(b"\n")
            j = rng.randrange(len(lines))
            lines.insert(j, lines[rng.randrange(len(lines))])
            data = b"\n".join(lines)
    return data


ERROR_CASES = ROOT / "tests" / "errors"


def seeds() -> List[bytes]:
    """The examples, and the error catalogue's cases (vectors, layers, weight files, errors)."""
    paths = sorted(EXAMPLES.glob("*.net")) + sorted(ERROR_CASES.glob("*.net"))
    return [path.read_bytes() for path in paths]


def _with_weight_files(directory: Path) -> None:
    """Lets mutated cases load the catalogue's (broken) weight files, as data/NAME.

    A copy, not a link: load(...) refuses a link that leads out of the .net file's folder."""
    copy = directory / "data"
    if not copy.exists():
        shutil.copytree(ERROR_CASES / "data", copy, symlinks=True)


def _check_location(error: netlang.NetlangError, data: bytes) -> None:
    lines = data.count(b"\n") + 1
    for each in error.errors:
        assert isinstance(each, netlang.NetlangError)
        if each.line == 0:
            assert each.column == 0, f"{each!r}: a column without a line"
            continue
        assert 1 <= each.line <= lines, f"{each!r}: line {each.line} is not in a file of {lines} lines"
        assert each.column >= 1, f"{each!r}: column {each.column}"
        assert (each.end_line, each.end_column) >= (each.line, each.column), repr(each)
        text = each.format()  # formatting a located error must not fail either
        if each.source is not None and each.line <= each.source.count("\n") + 1:
            # The excerpt shows the line the error names (as the parser counts lines), with
            # its control characters escaped.
            shown = each.source.split("\n")[each.line - 1].rstrip("\r")
            if len(shown) <= 100:
                assert f"{each.line} | {escaped(shown)}" in text, f"{each!r}: wrong excerpt\n{text}"


def exercise(data: bytes, directory: Path) -> Optional[str]:
    """Read, parse, check, compile and run ``data`` as a .net file; a description of any crash,
    or of a disagreement between `netlang check` (without numpy) and a compile's checker.

    The only exception allowed out is a NetlangError with a valid location.
    """
    _with_weight_files(directory)
    path = directory / "fuzz.net"
    path.write_bytes(data)
    try:
        try:
            source = netlang.read_source(path)
            network = netlang.compile(netlang.parse(source, str(path)))
            network(np.zeros(network.input_width))
        except netlang.NetlangError as error:
            _check_location(error, data)
        return check_paths_disagree(path)
    except Exception:  # noqa: BLE001 - a crash is what the fuzzer looks for
        return traceback.format_exc()


def check_paths_disagree(path: Path) -> Optional[str]:
    """How the errors of `netlang check` (arrays as Grids, no numpy) differ from those of a
    compile's check (numpy's arrays) for the file at ``path``; None when they are the same."""
    from netlang import pipeline
    from netlang.grids import GRIDS, NUMPY

    found = []
    for arrays in (GRIDS, NUMPY):
        try:
            pipeline.check(pipeline.read(path), arrays=arrays)
            found.append([])
        except netlang.NetlangError as error:
            found.append([each.to_dict() for each in error.errors])
    if found[0] == found[1]:
        return None
    return f"netlang check without numpy found\n{found[0]}\nbut a compile found\n{found[1]}"


def exercise_cli(data: bytes, directory: Path) -> Optional[str]:
    """The same through the command line: exit status 0, 1 or 2, and never a traceback."""
    from click.testing import CliRunner

    from netlang.cli import main

    path = directory / "fuzz.net"
    path.write_bytes(data)
    runner = CliRunner()
    for args in (["check", str(path)], ["compile", str(path)], ["run", str(path), "--x", "1", "0"]):
        result = runner.invoke(main, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return "".join(traceback.format_exception(result.exception))
        if result.exit_code not in (0, 1, 2) or "Traceback" in result.output:
            return f"netlang {' '.join(args)}: exit status {result.exit_code}\n{result.output}"
    return None


def exercise_lsp(data: bytes, directory: Path) -> Optional[str]:
    """The same text as an editor holds it, through the language server's analysis: every
    question at every name and at the start and end of every line; a description of any crash.

    Needs no pygls (netlang.lsp.analysis is the server's logic without the protocol).
    """
    from netlang.lsp.analysis import Analysis, RenameRefused

    _with_weight_files(directory)
    text = data.decode("utf-8", errors="replace")  # an editor shows undecodable bytes as U+FFFD
    try:
        analysis = Analysis(text, str(directory / "fuzz.net"))
        lines = text.split("\n")
        places = [(o.span.line, o.span.column) for o in analysis.occurrences]
        places += [(n, c) for n, line in enumerate(lines[:200], 1) for c in (1, len(line) + 1)]
        for line, column in places:
            analysis.hover(line, column)
            analysis.definition(line, column)
            analysis.completions(line, column)
            if analysis.prepare_rename(line, column) is not None:
                try:
                    analysis.rename(line, column, "fuzz_renamed")
                except RenameRefused:
                    pass
        analysis.semantic_tokens()
        analysis.inlay_hints()
        analysis.document_symbols()
        analysis.formatted()
        for fix in analysis.fixes():
            assert fix.edits, f"{fix.title}: a fix without edits"
    except Exception:  # noqa: BLE001 - a crash is what the fuzzer looks for
        return traceback.format_exc()
    return None


# --- data files, weight files and load() names ---------------------------------------
#
# Every case is a folder holding a .net file and the files it names: a data file given to
# `netlang run --input ... --output ...`, or weight files its load(...) calls read. A mutated
# file must give exit status 0, or 1 with a located error naming the file; never a traceback,
# never an output file left behind by a failed run, never more than MAX_CASE_MEMORY of memory
# (the files are a few hundred bytes: a size read from one was trusted if it takes more).

MAX_CASE_MEMORY = 256 << 20
DATA_NET = "input x1, x2\nnode y = step(x1 + x2 > 1.5)\noutput y\n"


def _npy(array: np.ndarray) -> bytes:
    import io

    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    import io

    stream = io.BytesIO()
    np.savez(stream, **arrays)
    return stream.getvalue()


def file_seeds() -> List[tuple]:
    """(role, file name, bytes): data files for a network of inputs x1, x2, and weight files of a 2x2 matrix."""
    matrix = np.array([[1.0, -2.0], [0.5, 3.0]])
    return [
        ("data", "d.csv", b"x1,x2\n0,0\n0,1\n1,0\n1,1\n"),
        ("data", "d.csv", b'# comment\n"x1", "x2"\n"1", 0.5 # inline\n2e-3,-1\n\n1,1\r\n'),
        ("data", "d.npy", _npy(np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.25]]))),
        ("weights", "w.npy", _npy(matrix)),
        ("weights", "w.csv", b"1, -2\n0.5, 3\n"),
        ("weights", "w.npz", _npz(W=matrix, b=np.zeros(2))),
    ]


def _npy_header_mutation(data: bytes, rng: random.Random) -> bytes:
    """A .npy header made hostile: a huge length field, another shape or dtype."""
    if not data.startswith(b"\x93NUMPY") or len(data) < 10:
        return data
    choice = rng.randrange(3)
    if choice == 0:
        return data[:8] + rng.choice([b"\xff\xff", b"\x00\x00", b"\x01\x00"]) + data[10:]
    text = data[10 : 10 + int.from_bytes(data[8:10], "little")]
    if choice == 1:
        shapes = [b"(4000000000, 2)", b"(-1, 2)", b"(2, 2, 2)", b"()", b"(0, 2)", b"(3,)", b"(2, 99999999999999999999)"]
        changed = re.sub(rb"\([0-9, ]*\)", rng.choice(shapes), text, count=1)
    else:
        changed = re.sub(rb"'[<>|][a-zA-Z][0-9]*'", rng.choice([b"'|O'", b"'<c16'", b"'<U3'", b"'>f8'", b"'<f16'", b"'|b1'", b"'<i8'"]), text, count=1)
    changed = changed[: len(text)].ljust(len(text))  # the same length: only the meaning changes
    return data[:10] + changed + data[10 + len(text) :]


def _zip_mutation(data: bytes, rng: random.Random) -> bytes:
    """A .npz made hostile: its end record's member count, or one member's bytes, changed."""
    at = data.rfind(b"PK\x05\x06")
    if at < 0:
        return data
    if rng.random() < 0.5:
        count = rng.choice([0, 1, 0xFFFF, 3])
        return data[: at + 8] + count.to_bytes(2, "little") + count.to_bytes(2, "little") + data[at + 12 :]
    start = data.find(b"\x93NUMPY")
    return data if start < 0 else data[:start] + _npy_header_mutation(data[start:], rng)


def mutate_file(data: bytes, rng: random.Random) -> bytes:
    """``data`` (a CSV, .npy or .npz file) with a mutation aimed at what readers get wrong."""
    kind = rng.choice(["flip", "insert", "delete", "duplicate", "truncate", "cr", "utf16", "quoted", "nul", "npy", "zip"])
    position = rng.randrange(len(data) + 1)
    if kind == "flip" and data:
        position = min(position, len(data) - 1)
        return data[:position] + bytes([data[position] ^ (1 << rng.randrange(8))]) + data[position + 1 :]
    if kind == "insert":
        inserted = rng.choice([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\r", b"\n", b'"', b",", b"#", b"nan", b"inf", b"1e999", b"\x1b[2J"])
        return data[:position] + inserted * rng.randint(1, 3) + data[position:]
    if kind == "delete":
        return data[:position] + data[position + rng.randint(1, 16) :]
    if kind == "duplicate":
        return data[:position] + data[position : position + 64] * rng.randint(2, 50) + data[position:]
    if kind == "truncate":
        return data[:position]
    if kind == "cr":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    if kind == "utf16":
        return data.decode("latin-1").encode(rng.choice(["utf-16", "utf-16-le", "utf-32"]))
    if kind == "quoted":  # a quoted cell that runs over two lines
        cells = [m.start() for m in re.finditer(rb"[0-9]+", data)]
        if cells:
            at = rng.choice(cells)
            return data[:at] + b'"' + data[at : at + 1] + b"\n" + data[at + 1 :] + b'"'
        return data
    if kind == "nul":
        return data[:position] + b"\x00" + data[position:]
    if kind == "npy":
        return _npy_header_mutation(data, rng)
    return _zip_mutation(data, rng)


_NAME_PARTS = ["w", ".npy", ".csv", ".npz", "/", "..", "\x00", "\\", " ", "\u00e9", "\x1b[2J", "sub", "", "/etc/passwd", "x" * 300]


def load_name(rng: random.Random) -> str:
    """A file name for load(...): NUL bytes, '..', absolute paths, backslashes, long names, escapes."""
    return "".join(rng.choice(_NAME_PARTS) for _ in range(rng.randint(1, 5))).replace('"', "")


SPECIAL_FILES = {
    "fifo.npy": lambda path: os.mkfifo(path),
    "fifo.csv": lambda path: os.mkfifo(path),
    "zero.csv": lambda path: path.symlink_to("/dev/zero"),
    "zero.npz": lambda path: path.symlink_to("/dev/zero"),
    "urandom.csv": lambda path: path.symlink_to("/dev/urandom"),
    "folder.npy": lambda path: path.mkdir(),
    "passwd.csv": lambda path: path.symlink_to("/etc/passwd"),
}


def special_cases() -> List[tuple]:
    """(role, file name, None) for every special file, as a data file and as a weight file."""
    return [(role, name, None) for name in SPECIAL_FILES for role in ("data", "weights")]


def _weights_net(name: str) -> str:
    key = ', "W"' if name.endswith(".npz") else ""
    return f'input x[2]\nlet W = load("{name}"{key})\nlayer h = relu(W @ x)\n'


def exercise_file(role: str, name: str, data: Optional[bytes], directory: Path) -> Optional[str]:
    """Run the case through the command line (``data``: written to ``name``; None: ``name`` exists already).

    A description of what went wrong, or None.
    """
    import tracemalloc

    from click.testing import CliRunner

    from netlang.cli import main

    case = directory / "case"
    if case.exists():
        shutil.rmtree(case)
    case.mkdir()
    if data is None:
        SPECIAL_FILES[name](case / name)
    else:
        (case / name).write_bytes(data)
    net = case / "model.net"
    if role == "data":
        net.write_text(DATA_NET)
        args = ["run", str(net), "--input", str(case / name), "--output", str(case / "out.csv")]
    else:
        net.write_text(_weights_net(name), encoding="utf-8", errors="surrogateescape")
        args = ["check", str(net)]
    before = sorted(p.name for p in case.iterdir())
    tracemalloc.start()
    try:
        result = CliRunner().invoke(main, args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "".join(traceback.format_exception(result.exception))
    output = result.output
    if "Traceback" in output or result.exit_code not in (0, 1):
        return f"netlang {' '.join(args)}: exit status {result.exit_code}\n{output}"
    if peak > MAX_CASE_MEMORY:
        return f"netlang {' '.join(args)}: {peak >> 20} MiB of memory for a {len(data or b'')}-byte file"
    after = sorted(p.name for p in case.iterdir())
    if result.exit_code == 1:
        located = f"{case / name}" if role == "data" else f"{net}:2:"
        if located not in output and f"{net}:" not in output:
            return f"netlang {' '.join(args)}: the error does not name the file\n{output}"
        if after != before:
            return f"netlang {' '.join(args)} failed but left {sorted(set(after) - set(before))}\n{output}"
    if role == "weights" and "root:" in output:
        return f"netlang {' '.join(args)} showed the contents of a file outside the folder\n{output}"
    if role == "weights":
        return check_paths_disagree(net)  # the file read without numpy (netlang.grids) and with it
    return None


def exercise_load_name(load: str, directory: Path) -> Optional[str]:
    """``load("NAME")`` with a hostile name: a located error (or a successful load), never a traceback."""
    (directory / "w.npy").write_bytes(_npy(np.eye(2)))
    path = directory / "names.net"
    path.write_bytes(f'input x[2]\nlet W = load("{load}")\nlayer h = relu(W @ x)\n'.encode("utf-8", "surrogateescape"))
    try:
        try:
            netlang.load(path)
        except netlang.NetlangError as error:
            _check_location(error, path.read_bytes())
    except Exception:  # noqa: BLE001 - a crash is what the fuzzer looks for
        return f"load({load!r}):\n{traceback.format_exc()}"
    return None
