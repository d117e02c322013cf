"""Command line: a thin click layer over the library (run, check, compile)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, List, Optional, Sequence, Tuple

import click

from . import __version__

EXIT_INPUT_ERROR = 1  # an error in the user's .net file or data; usage errors exit 2 (click's own)


class InputError(click.ClickException):
    """A NetlangError on its way out: printed with source lines and carets, exit status 1."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(self, error: Any) -> None:
        super().__init__(error.message)
        self.error = error

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        color = stream.isatty()
        click.echo(self.error.format(color=color), file=stream)
        count = len(self.error.errors)
        if count > 1:
            click.echo(f"\n{count} errors", file=stream)


def _load(path: str) -> Any:
    from .pipeline import load
    from .errors import NetlangError

    try:
        return load(path)
    except NetlangError as error:
        raise InputError(error) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ValuesOption(click.Option):
    """An option that takes every value after it: ``--x 1 -0.5 2e-3``.

    click has no variable-length options, so this one takes, after its first
    value, each following argument that is a number or does not look like an
    option (so negative numbers work unquoted), stopping at a ``.net`` file name.
    """

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:  # pragma: no cover - click always registers its options
                continue
            original = option.process

            def process(value: Any, state: Any, original: Any = original) -> None:
                values = [value]
                while state.rargs:
                    following = state.rargs[0]
                    if following.endswith(".net") or (following.startswith("-") and not _is_number(following)):
                        break
                    values.append(state.rargs.pop(0))
                original(tuple(values), state)

            option.process = process


def _parse_values(ctx: click.Context, param: click.Parameter, raw: Optional[Tuple[str, ...]]) -> Optional[List[float]]:
    if raw is None:
        return None
    values = []
    for text in raw:
        try:
            value = float(text)
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a number", ctx=ctx, param=param) from None
        if not math.isfinite(value):
            raise click.BadParameter(f"{text!r} is not a finite number", ctx=ctx, param=param)
        values.append(value)
    return values


def _check_arity(network: Any, values: Sequence[float]) -> None:
    if len(values) != network.input_width:
        names = ", ".join(network.input_columns[:8]) + (", ..." if network.input_width > 8 else "")
        raise click.BadParameter(
            f"the network takes {network.input_width} value{'s' if network.input_width != 1 else ''} "
            f"({names}), but {len(values)} {'were' if len(values) != 1 else 'was'} given",
            param_hint="'--x'",
        )


_EXACT_HELP = (
    "Exact arithmetic: decimal literals and inputs are exact rationals (0.1 is 1/10), so thresholds "
    "behave as in mathematics; sigmoid, tanh and softmax are still computed in float64."
)


def _dtype_option(help: str) -> Any:
    """--dtype float64|float32 (float64 by default), for commands that evaluate or export a network."""
    return click.option(
        "--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True, help=help
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="netlang")
def main() -> None:
    """netlang: write a neural network as text, see its weight matrices, run it.

    \b
    Example: a perceptron that computes AND
        $ cat and.net
        input x1, x2
        node y = step(0.5*x1 + 0.5*x2 > 0.7)
        $ netlang run and.net --x 1 1
        y = 1
    """


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--x",
    "values",
    cls=ValuesOption,
    type=click.UNPROCESSED,
    callback=_parse_values,
    metavar="V...",
    help="The input values, in the order the inputs are declared (vectors flattened).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as a JSON object (with --input: a JSON array).")
@click.option(
    "--input",
    "data_file",
    metavar="DATA",
    help="Run on every row of DATA: a CSV file (a header naming the inputs, or columns in input order), "
    "a .npy array (samples x inputs), or - for CSV on stdin.",
)
@click.option(
    "--output",
    metavar="FILE",
    help="With --input: write the results to FILE (.csv, .npy or .json) instead of CSV on stdout.",
)
@_dtype_option("The number type the network is evaluated in.")
@click.option("--explain", is_flag=True, help="Write out each neuron's computation with its numbers, layer by layer.")
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
def run(
    file: str,
    values: Optional[List[float]],
    as_json: bool,
    data_file: Optional[str],
    output: Optional[str],
    dtype: str,
    explain: bool,
    exact: bool,
) -> None:
    """Run the network in FILE on one set of input values, or on every row of a data file.

    \b
    Examples:
        netlang run xor.net --x 1 0
        netlang run neuron.net --x -0.5 2e-3 --json
        netlang run and.net --x 1 1 --explain
        netlang run xor.net --input pairs.csv
        netlang run mnist.net --input images.npy --output results.npy --dtype float32
    """
    from .display import outputs_text

    if data_file is not None or output is not None:
        if explain or exact:
            raise click.UsageError("--explain and --exact work on one sample given with --x, not with --input")
        _run_batch(file, values, data_file, output, dtype, as_json)
        return
    if explain and as_json:
        raise click.UsageError("--explain writes text; leave out --json")
    if (explain or exact) and dtype != "float64":
        raise click.UsageError("--explain and --exact compute in float64 or exactly; leave out --dtype")
    if explain or exact:
        checked, network = _load_checked(file)
    else:
        network = _load(file)
    if values is None:
        if network.input_width:
            names = ", ".join(network.input_columns[:8]) + (", ..." if network.input_width > 8 else "")
            raise click.UsageError(f"give the input values with --x: this network takes {names}")
        values = []
    _check_arity(network, values)
    if explain or exact:
        from .interpreter import EXACT, FLOAT, inputs_by_name, interpret

        arithmetic = EXACT if exact else FLOAT
        if explain:
            from .explain import explain as explanation

            click.echo(explanation(checked, inputs_by_name(checked, values), arithmetic))
            return
        outputs = interpret(checked, inputs_by_name(checked, values), arithmetic=arithmetic)
        if as_json:
            from .display import json_number

            click.echo(json.dumps({name: _json_ready(value, json_number) for name, value in outputs.items()}))
            return
    else:
        row = network(values, dtype=dtype)
        if dtype == "float32":  # float32's own shortest digits (0.7310586), not their float64 expansion
            row = [float(str(value)) for value in row]
        outputs = network.split_outputs(row)
    click.echo(outputs_text(outputs, as_json))  # also what the launcher's fast path prints


def _run_batch(
    file: str, values: Optional[List[float]], data: Optional[str], output: Optional[str], dtype: str, as_json: bool
) -> None:
    """``run --input``: stream DATA through the network, block by block, into the output."""
    import os

    from . import data as batch
    from .errors import NetlangError

    if data is None:
        raise click.UsageError("--output needs --input: it names where the results of a batch run go")
    if values is not None:
        raise click.UsageError("give either --x (one sample) or --input (a data file), not both")
    if output is not None and as_json:
        raise click.UsageError("--json prints to stdout; with --output, name a .json file instead")
    try:
        kind = "json" if as_json else batch.output_kind(output or "-")
    except ValueError as problem:
        raise click.BadParameter(str(problem), param_hint="'--output'") from None
    network = _load(file)
    if not network.input_width:
        raise click.UsageError("this network has no inputs, so it has nothing to read from --input")
    number_type = batch.DTYPES[dtype]
    stdin, stderr = sys.stdin, sys.stderr  # looked up now: click's test runner replaces them
    stream: Any = None
    source: Any = None
    try:
        source = batch.open_source(data, network, number_type, stdin=stdin)
        if output is None or output == "-":
            target: Any = sys.stdout
        elif kind == "npy":
            target = stream = open(output, "wb")
        else:
            target = stream = open(output, "w", encoding="utf-8", newline="")
        if kind == "npy":
            sink: Any = batch.NpySink(target, network.output_width, number_type)
        elif kind == "json":
            sink = batch.JsonSink(target, network)
        else:
            sink = batch.CsvSink(target, network.output_columns)
        progress = batch.Progress(stderr, source.total) if stderr.isatty() else None
        batch.run_batch(network, source, sink, number_type, progress)
    except NetlangError as error:
        sys.stdout.flush()  # the results so far come before the error, on a terminal as in a pipe
        if stream is not None:
            stream.close()
            os.remove(output)  # type: ignore[arg-type]  # half a result file would look like a whole one
        raise InputError(error) from None
    except OSError as error:
        raise click.FileError(error.filename or output or data, error.strerror) from None
    finally:
        if source is not None:
            source.close()
        if stream is not None and not stream.closed:
            stream.close()


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print every error and warning as JSON data.")
def check(file: str, as_json: bool) -> None:
    """Check FILE and report every error and warning in it (exit status 1 if there is an error).

    Warnings (unused inputs and constants, nodes that reach no output) do not
    change the exit status.

    \b
    Examples:
        netlang check model.net
        netlang check model.net --json
    """
    from .errors import combine
    from .lint import diagnose

    diagnosis = diagnose(file)
    if as_json:
        click.echo(json.dumps(diagnosis.to_dict(), indent=2))
        if diagnosis.errors:
            sys.exit(EXIT_INPUT_ERROR)
        return
    if diagnosis.errors:
        raise InputError(combine(diagnosis.errors))
    network = diagnosis.network
    assert network is not None
    for warning in diagnosis.warnings:
        click.echo(warning.format(color=sys.stderr.isatty()) + "\n", file=sys.stderr)
    count = len(diagnosis.warnings)
    neurons = sum(layer.shape[0] for layer in network.layers)
    click.echo(
        f"{file}: ok: {network.input_width} input value{'s' if network.input_width != 1 else ''}, "
        f"{neurons} neuron{'s' if neurons != 1 else ''} in {len(network.layers)} "
        f"layer{'s' if len(network.layers) != 1 else ''}, outputs {', '.join(network.output_names)}"
        + (f" ({count} warning{'s' if count != 1 else ''})" if count else "")
    )


@main.command(name="compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the layers as JSON data instead of tables.")
def compile_command(file: str, as_json: bool) -> None:
    """Show the weight matrices that FILE compiles to, layer by layer.

    Each layer computes activation(W s + b): its rows are neurons, its columns
    the signals they read.

    \b
    Example:
        netlang compile xor.net
    """
    from .display import network_dict, network_text

    network = _load(file)
    if as_json:
        click.echo(json.dumps(network_dict(network), indent=2))
    else:
        click.echo(network_text(network))


# --- parse: the syntax tree, for people or (--json) for tools -------------------------


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON (netlang/schema/ast.schema.json).")
def parse(file: str, as_json: bool) -> None:
    """Show the syntax tree of FILE, every node with its line and column span.

    Only the syntax is checked: see 'netlang check' for names, shapes and the rest.

    \b
    Examples:
        netlang parse xor.net
        netlang parse xor.net --json
    """
    from . import ast_json
    from .errors import NetlangError
    from .parser import parse as parse_source
    from .pipeline import read_source

    try:
        program = parse_source(read_source(file), file)
    except NetlangError as error:
        raise InputError(error) from None
    click.echo(ast_json.dumps(program) if as_json else ast_json.outline(program))


# --- teaching: truth tables, expectations (issue 4) -------------------------------------


def _load_checked(path: str) -> Tuple[Any, Any]:
    """The checked program and the compiled network of a .net file; InputError when it is invalid."""
    from .errors import NetlangError
    from .pipeline import load_with_checked

    try:
        return load_with_checked(path)
    except NetlangError as error:
        raise InputError(error) from None


def _json_ready(value: Any, number: Any) -> Any:
    if hasattr(value, "tolist"):
        return [number(v) for v in value]
    return number(value)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON list of objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV, with a header line.")
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
def table(file: str, as_json: bool, as_csv: bool, exact: bool) -> None:
    """Show the outputs for every 0/1 combination of the inputs (a truth table).

    Vector inputs count element by element; up to 16 input values (65,536 rows).

    \b
    Examples:
        netlang table xor.net
        netlang table and.net --csv > and.csv
    """
    from .errors import NetlangError
    from .interpreter import EXACT, FLOAT
    from .truthtable import truth_table

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    checked, network = _load_checked(file)
    try:
        result = truth_table(network, checked, EXACT if exact else FLOAT)
    except NetlangError as error:
        error.filename = file
        raise InputError(error) from None
    if as_json:
        click.echo(json.dumps(result.records()))
    elif as_csv:
        click.echo(result.csv(), nl=False)
    else:
        click.echo(result.text())


@main.command(name="test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
def test_command(files: Tuple[str, ...], exact: bool) -> None:
    """Check the 'expect' lines of each FILE: one line per expectation, then a summary.

    An output matches when it is within the tolerance after 'within', or within
    1e-9 without one. Exit status 1 when an expectation fails or a file is invalid.

    \b
    Example:
        netlang test examples/*.net
    """
    from .display import format_number
    from .errors import NetlangError
    from .expectations import decided_by_rounding, run_expectations
    from .interpreter import EXACT, FLOAT

    passed = failed = invalid = 0
    first_failure = ""
    for file in files:
        try:
            checked, network = _load_checked(file)
            outcomes = run_expectations(checked, network, EXACT if exact else FLOAT)
        except InputError as error:
            error.show()
            invalid += 1
            continue
        except NetlangError as error:
            InputError(error).show()
            invalid += 1
            continue
        if not outcomes:
            click.echo(f"{file}: no expectations (add lines such as 'expect (0, 1) -> 1')")
        rounding = [False] * len(outcomes) if exact else decided_by_rounding(checked, network, outcomes)
        for outcome, by_rounding in zip(outcomes, rounding):
            note = " (float64 rounding decides this one: it passes with --exact)" if by_rounding else ""
            click.echo(f"{file}:{outcome.expectation.line}: {outcome.report()}{note}")
            passed += outcome.passed
            failed += not outcome.passed
            if not outcome.passed and not first_failure:
                values = " ".join(format_number(float(v)) for v in outcome.expectation.inputs)
                first_failure = f"netlang run {file} --x {values} --explain{' --exact' if exact else ''}"
    parts = [f"{passed} passed"] + [f"{failed} failed"] * bool(failed)
    parts += [f"{invalid} invalid file{'s' if invalid != 1 else ''}"] * bool(invalid)
    click.echo(f"{', '.join(parts)}{' (exact arithmetic)' if exact else ''}")
    if first_failure:
        click.echo(f"to see how the network computes a failing case: {first_failure}")
    if failed or invalid:
        sys.exit(EXIT_INPUT_ERROR)



# -- pictures: graph (Graphviz diagrams) and plot (decision boundaries) ----------------


def _picture_option(help: str, required: bool = False) -> Any:
    return click.option(
        "-o", "--output", "output_path", required=required, type=click.Path(dir_okay=False, writable=True), help=help
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_picture_option("Write the picture to this file: .svg, .png or .pdf (drawn by Graphviz), or .dot/.gv (the DOT text).")
def graph(file: str, output_path: Optional[str]) -> None:
    """Draw the network in FILE: inputs on the left, neurons as circles, weights on the arrows.

    Without -o, prints the diagram as Graphviz DOT text. A step neuron shows its
    threshold (θ), other neurons their activation and bias; output neurons have a
    double border; negative weights are red. Vectors of more than 8 neurons, and
    whole layers of very large networks, are drawn as boxes.

    \b
    Examples:
        netlang graph xor.net -o xor.svg
        netlang graph xor.net | dot -Tpng > xor.png
    """
    from pathlib import Path

    from . import diagram

    fmt = None
    if output_path is not None:
        try:
            fmt = diagram.format_for(output_path)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from None
    network = _load(file)
    dot = diagram.to_dot(network, title=Path(file).name)
    if output_path is None:
        click.echo(dot, nl=False)
        return
    if fmt is None:
        data = dot.encode("utf-8")
    else:
        try:
            data = diagram.render(dot, fmt, what=f"writing {output_path}")
        except (diagram.GraphvizMissing, diagram.GraphvizFailed) as error:
            raise click.ClickException(str(error)) from None
    _write_file(output_path, data)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_picture_option("The picture to write: .png, .svg or .pdf.", required=True)
@click.option(
    "--range",
    "plane",
    nargs=2,
    type=float,
    default=(-0.5, 1.5),
    show_default=True,
    metavar="LOW HIGH",
    help="The stretch of both inputs that the picture covers.",
)
@click.option("--show", "signal", metavar="NAME", help="The output (or any neuron) to plot; default: the first output.")
def plot(file: str, output_path: str, plane: Tuple[float, float], signal: Optional[str]) -> None:
    """Plot where the network in FILE fires, over the plane of its two input values.

    The regions where the output is 1 and 0 (or its value, for smooth
    activations), the boundary between them, the four points (0, 0), (0, 1),
    (1, 0), (1, 1) labelled with the output, and the line that each step neuron
    of the first layer draws. Needs matplotlib: pip install 'netlang[plot]'.

    \b
    Examples:
        netlang plot and.net -o and.png
        netlang plot xor.net -o xor.png --range -1 2
        netlang plot xor.net -o s1.png --show s1
    """
    from pathlib import Path

    from . import boundary
    from .errors import NetlangError

    low, high = plane
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise click.BadParameter(f"{low:g} {high:g}: give two finite numbers, LOW < HIGH", param_hint="'--range'")
    suffix = Path(output_path).suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(
            f"cannot tell the picture format from {output_path!r}: the file name should end in .png, .svg or .pdf",
            param_hint="'-o' / '--output'",
        )
    network = _load(file)
    try:
        boundary.check_two_inputs(network, filename=file)
    except NetlangError as error:
        raise InputError(error) from None
    try:
        signal = boundary.choose_signal(network, signal)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--show'") from None
    try:
        boundary.plot(network, output_path, signal, (low, high), title=Path(file).name)
    except boundary.MatplotlibMissing as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output_path}: {error.strerror or error}") from None


def _write_file(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


# --- export (ONNX) ------------------------------------------------------------------


def _check_output_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    import os

    if value == "-":
        if sys.stdout.isatty():
            raise click.BadParameter("an ONNX model is binary: redirect standard output to a file", ctx=ctx, param=param)
        return value
    parent = os.path.dirname(value) or "."
    if os.path.isdir(value):
        problem = f"'{value}' is a directory; give a file name such as {os.path.join(value, 'model.onnx')}"
    elif not os.path.isdir(parent):
        problem = f"cannot write '{value}': the directory '{parent}' does not exist"
    elif not os.access(parent, os.W_OK):
        problem = f"cannot write '{value}': the directory '{parent}' is not writable"
    else:
        return value
    raise click.BadParameter(problem, ctx=ctx, param=param)


@main.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="MODEL.onnx",
    callback=_check_output_path,
    help="Where to write the ONNX model ('-' for standard output).",
)
@_dtype_option("The model's number type; float64 decides every step exactly as 'netlang run' does.")
@click.option(
    "--per-name",
    is_flag=True,
    help="One ONNX input per netlang input and one output per netlang output, named as in FILE.",
)
def export_command(file: str, output: str, dtype: str, per_name: bool) -> None:
    """Export the network in FILE as an ONNX model, for onnxruntime, Netron and other tools.

    The model has one input, x [N, inputs], and one output, y [N, outputs], whose
    columns are the network's inputs and outputs in order (vectors flattened);
    with --per-name, one [N, size] tensor per input and per output instead.
    Needs the onnx extra: pip install 'netlang[onnx]'.

    \b
    Examples:
        netlang export xor.net -o xor.onnx
        netlang export mlp.net -o mlp.onnx --dtype float32 --per-name
    """
    from .errors import NetlangError
    from .onnx_export import export_onnx, interface, to_onnx

    network = _load(file)
    try:
        if output == "-":
            with click.open_file("-", "wb") as stream:
                stream.write(to_onnx(network, source_name=file, dtype=dtype, per_name=per_name).SerializeToString())
        else:
            export_onnx(network, output, source_name=file, dtype=dtype, per_name=per_name)
    except NetlangError as error:
        raise InputError(error) from None
    except OSError as error:
        raise click.BadParameter(f"cannot write '{output}': {error.strerror}", param_hint="'-o'") from None
    destination = output if output != "-" else "standard output"
    click.echo(f"{destination}: ONNX model, {interface(network, per_name)}", err=output == "-")

# --- fmt: the canonical layout (netlang/formatter.py, docs/fmt.md) ----------------------------


@main.command(name="fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing; list the files that are not formatted (exit status 1 if any).")
@click.option("--write", is_flag=True, help="Rewrite the files in place (atomically) instead of printing them.")
def fmt(files: Tuple[str, ...], check: bool, write: bool) -> None:
    """Lay out FILES in netlang's one canonical layout, keeping every comment.

    Prints the formatted text unless --check or --write is given. A file with
    syntax errors is reported (exit status 1) and never rewritten.

    \b
    Examples:
        netlang fmt model.net
        netlang fmt --check examples/*.net
        netlang fmt --write model.net
    """
    from .errors import NetlangError
    from .files import write_text
    from .formatter import format_source
    from .pipeline import read_source

    if check and write:
        raise click.UsageError("give --check or --write, not both")
    failed = False
    for path in files:
        try:
            source = read_source(path)
            formatted = format_source(source, filename=path)
        except NetlangError as error:
            InputError(error).show()
            failed = True
            continue
        if check:
            if formatted != source:
                click.echo(f"would reformat {path}")
                failed = True
        elif write:
            if formatted != source:
                try:
                    write_text(path, formatted)
                except OSError as error:
                    click.echo(f"error: cannot write {path}: {error.strerror}", err=True)
                    failed = True
                    continue
                click.echo(f"reformatted {path}", err=True)
        else:
            click.echo(formatted, nl=False)
    if failed:
        sys.exit(EXIT_INPUT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
