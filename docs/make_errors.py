"""Writes docs/errors.md, the catalogue of every error netlang reports, from the golden files.

    python docs/make_errors.py          # rewrite docs/errors.md
    python docs/make_errors.py --check  # exit 1 if docs/errors.md is out of date

The examples and the messages come from tests/errors/ (NAME.net and the NAME.err that
the tests compare with netlang's output), so this page cannot drift from the code;
tests/test_error_catalogue.py checks that the committed page is this script's output.
The one-line explanation of each error code is kept here, in EXPLANATIONS.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from error_catalogue import case_paths, case_text, codes_raised, directives, run_case  # noqa: E402

OUTPUT = ROOT / "docs" / "errors.md"

# Every error code, in the order the page shows them: what it means, in one line.
EXPLANATIONS: Dict[str, str] = {
    "syntax-error": "The text does not follow the grammar: a missing operator, an unclosed bracket, a misspelt keyword, a character that has no meaning.",
    "plus-minus": "An expected value is written with a glued '+-' (or '-+'), as a tolerance is written on paper; netlang reads a sum with a negative number, so the expectation would test another value. A tolerance is written with 'within'.",
    "too-deep": "An expression is nested too deeply (brackets, plus unary signs in front of them) for netlang to process safely.",
    "number-too-large": "A whole number, such as a vector size, has too many digits to be a size.",
    "file-not-found": "A .net file or a weight file does not exist or cannot be read.",
    "file-too-large": "A .net file is larger than the limit on source files.",
    "bad-encoding": "A .net file is not UTF-8 text.",
    "bad-file-name": "A file name contains a NUL byte, which no file name can hold.",
    "output-is-input": "`netlang run --output` names the data file given to `--input` (perhaps through a link): writing there would destroy the data.",
    "write-failed": "A file could not be written (a full disk, a missing folder, no permission); the file is left as it was.",
    "unknown-name": "A name is used that no input, constant, node or layer defines.",
    "unknown-function": "A call names a function that is neither an activation nor load.",
    "duplicate-definition": "Two inputs, constants, nodes or layers have the same name.",
    "reserved-name": "A definition uses the name of a built-in function.",
    "function-as-value": "A function's name is used as a value, without calling it.",
    "signal-in-constant": "A constant (let) reads a signal; constants are folded before any input is known.",
    "misplaced-string": "A string appears somewhere other than as a file name in load(...).",
    "cycle": "Definitions depend on each other in a circle, so none of them can be computed first.",
    "bad-output": "An output statement names something that is not a signal.",
    "duplicate-output": "Outputs are listed twice, or in two output statements.",
    "no-outputs": "The file defines no node or layer, so the network computes nothing.",
    "not-linear": "A neuron's input multiplies or divides two signals; it must be a weighted sum.",
    "misplaced-comparison": "A comparison appears somewhere other than directly inside step(...).",
    "misplaced-activation": "An activation is used inside an expression, or on the wrong kind of definition.",
    "bad-arguments": "A function gets the wrong number or kind of arguments.",
    "not-a-vector": "A single value is indexed as if it were a vector.",
    "index-out-of-range": "An index is past the end of a vector.",
    "bad-size": "A vector is declared or written with no elements.",
    "ragged-matrix": "The rows of a matrix have different lengths.",
    "bad-shape": "A constant or a weight file has a shape netlang cannot use: it must be a non-empty vector or matrix.",
    "shape-mismatch": "The sizes of two operands do not fit together, or a definition computes the wrong kind of value.",
    "number-out-of-range": "A number or a computed weight overflows to infinity, or a non-zero literal underflows to zero.",
    "division-by-zero": "A constant divisor is zero.",
    "limit-exceeded": "An input is larger than one of netlang's resource limits (see [limits.md](limits.md)); nothing is allocated before the check.",
    "path-outside": "load(...) names a file outside the .net file's folder (an absolute path, one through '..', or a link that leads outside it); a .net file reads only files in its folder and below it.",
    "bad-weight-file": "A weight file is corrupt, truncated, of an unknown kind, or does not hold numbers.",
    "pickle-refused": "A weight file holds Python objects (a pickle); netlang never loads pickles, because loading one can run code.",
    "non-finite-weight": "A weight file contains NaN or infinity.",
    "bad-input": "Values given to a compiled network in a library call do not match its inputs.",
    "bad-header": "The header of a data file (`netlang run --input`) names a column that is not an input, names one twice, or leaves an input out.",
    "wrong-column-count": "A row of a CSV file (data or weights) has more or fewer values than expected.",
    "bad-value": "A cell of a CSV file is not a number (or a quoted cell runs on past the end of its line).",
    "non-finite-value": "A value of a data file is NaN or infinite (or too large for the number type it is read in).",
    "bad-data": "A .npy data file cannot be read: it is truncated or unreadable.",
    "expect-arity": "An `expect` statement lists more or fewer input or output values than the network has.",
    "bad-tolerance": "The tolerance after `within` in an `expect` statement is zero, negative or a vector.",
    "expect-not-constant": "A value in an `expect` statement is not a number: it names an input, node or unknown constant, calls a function, is a matrix, or cannot be computed.",
    "unused-input": "Warning: an input that no output depends on (`netlang check` reports it; the file still runs).",
    "unreachable": "Warning: a node or layer that no output depends on, so computing it is wasted work.",
    "unused-constant": "Warning: a constant (`let`) that nothing reads.",
    "not-two-inputs": "`netlang plot` draws a curve over one input value or decision regions over a plane of two, so the network must take one or two input values.",
    "export-too-large": "The network's weights would not fit in one ONNX file (`MAX_ONNX_BYTES`, see [limits.md](limits.md)).",
    "export-unsupported": "The network cannot be exported in the form asked for, such as one ONNX input per name for a network without inputs.",
    "missing-shape": "An initialiser such as xavier() is given to a param whose shape is not declared: write `param W[rows, columns] = xavier()`.",
    "misplaced-initialiser": "An initialiser (zeros, normal, uniform, xavier, he) is used inside an expression; it can only be the whole value of a `param`.",
    "unknown-setting": "A `train` statement names a setting netlang does not know.",
    "bad-setting": "A training setting has a value it cannot take: a learning rate that is not positive, a fraction of an epoch, an unknown optimizer.",
    "duplicate-setting": "A training setting is given twice in the file's `train` statements.",
    "no-gradient": "Backpropagation would have to pass through a step neuron, whose gradient is 0 (or none): use sigmoid while training, or the perceptron rule for one layer of step neurons.",
    "loss-not-finite": "The loss became infinite or not a number while training (the weights diverged); training stops at once and names the epoch and batch: use a smaller learning rate.",
    "nothing-trainable": "Training was asked for, but nothing in the network is trainable.",
    "bad-target": "Targets that the chosen rule or loss cannot use: the perceptron rule needs 0 and 1, the cross-entropy loss one-hot rows.",
    "scaled-twice": "A warning of `netlang train`: the inputs are all between 0 and 1 already, and the settings (a book's preset) scale them as pixels from 0 to 255 again.",
    "nothing-to-learn": "`netlang train` was given a file in which nothing is marked `param`, so training could change nothing.",
    "no-data": "`netlang train` has no training data: give `--input DATA` or write `train data = \"DATA.csv\"` in the file.",
    "not-learnable": "A learned value reaches the network's weights other than as written (doubled, added to, multiplied by another learned value, or with both signs), so its learned value could not be written back into the file.",
    "cannot-write": "`netlang train` cannot write the learned values to a file (read-only, a folder in the way, a full disk, a weights file it does not own); found before training where it can be, and every file is left as it was.",
    "missing-column": "A data file lacks a column the command needs: the label column, a target column named like an output, or an input.",
    "bad-label": "A label in a data file is not a whole number naming one of the network's classes (0 to outputs - 1; 0 or 1 for a single output).",
    "no-samples": "A data file for scoring or training holds no samples.",
    "missing-extra": "A feature needs an optional package that is not installed; the message names the extra to install.",
}


COMMAND_LINE = (
    "Bad values on the command line are usage errors: netlang names the option and the value, "
    "and exits with status 2 (errors in a .net file or its data exit with status 1)."
)


def _title(stem: str) -> str:
    return stem.replace("-", " ")


def _directive_note(path: Path) -> str:
    notes = []
    for word, rest in directives(path):
        if word == "run":
            notes.append(f"evaluated on the values `{rest}`")
        elif word == "load":
            notes.append(f"the file loaded is `{rest}`")
        elif word == "limit":
            notes.append(f"with the limit `{rest}`")
        elif word == "check":
            notes.append("checked as by `netlang check`")
        elif word == "input":
            notes.append(f"run on the data file `{rest}`, as by `netlang run --input`")
        elif word == "output":
            notes.append(f"the results written to `{rest}`, as by `netlang run --output`")
        elif word == "plot":
            notes.append("plotted, as by `netlang plot`")
        elif word == "export":
            notes.append("exported to ONNX" + (f" with `{rest}`" if rest else "") + ", as by `netlang export`")
        elif word == "fit":
            data_file, *settings = rest.split()
            notes.append(f"trained on `{data_file}`" + (f" with `{' '.join(settings)}`" if settings else ""))
        elif word == "score":
            data_file, labels, *skip = rest.split()
            notes.append(f"scored against the labels in column `{labels}` of `{data_file}`, as by `netlang score`")
        elif word == "without":
            notes.append(f"as if `{rest}` were not installed")
        elif word == "cli":
            command, *args = rest.split()
            notes.append(f"run as `{' '.join(['netlang', command, path.name, *args])}`")
    return "; ".join(notes)


def _visible(text: str) -> str:
    """Control characters (a NUL byte in a case) as their Unicode pictures (U+2400...), so the page stays text."""
    return "".join(chr(0x2400 + ord(c)) if ord(c) < 32 and c not in "\n\t" else c for c in text)


def render() -> str:
    by_code: Dict[str, List[Path]] = {}
    for path in case_paths():
        for code in codes_raised(run_case(path)):
            by_code.setdefault(code, []).append(path)
    unexplained = sorted(set(by_code) - set(EXPLANATIONS))
    if unexplained:
        raise SystemExit(f"add an explanation to EXPLANATIONS in {Path(__file__).name} for: {', '.join(unexplained)}")
    out = [
        "# Errors",
        "",
        "<!-- Generated by docs/make_errors.py from tests/errors/: do not edit by hand. -->",
        "",
        "Every error netlang reports, grouped by its code (`NetlangError.code`, stable across",
        "versions), each with a file that triggers it and exactly what netlang prints for it",
        "(`netlang check FILE` prints the same, followed by the number of errors when there are",
        "several). The examples are the golden files of the tests (`tests/errors/`), so this",
        "page always shows what the code really does. Lines starting with `#!` are directives",
        "for the test runner (netlang reads them as comments): a lowered limit, values or a",
        "data file to run the network on, or the command whose error it is (check, plot, export).",
        "Warnings (`netlang check` reports them; the file still runs) are shown here too.",
        "Every message names `file:line:column` when the error has a",
        "place, shows the line with a caret under it, and, where it can, a hint.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    for code, meaning in EXPLANATIONS.items():
        out.append(f"| [`{code}`](#{code}) | {meaning} |")
    sections = [(f"## {code}", meaning, by_code.get(code, [])) for code, meaning in EXPLANATIONS.items()]
    sections.append(("## Command-line errors", COMMAND_LINE, case_paths(cli=True)))
    for heading, meaning, paths in sections:
        out += ["", heading, "", meaning]
        for path in paths:
            note = _directive_note(path)
            out += [
                "",
                f"**{_title(path.stem)}** (`tests/errors/{path.name}`{'; ' + note if note else ''})",
                "",
                "```",
                _visible(case_text(path).rstrip("\n")),
                "```",
                "",
                "```text",
                _visible(path.with_suffix(".err").read_text(encoding="utf-8").rstrip("\n")),
                "```",
            ]
    return "\n".join(out) + "\n"


def main(argv: List[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python docs/make_errors.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
