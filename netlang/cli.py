"""Command line: ``netlang COMMAND``, a thin click layer over the library.

Commands: run, score, check, compile, parse, table, test, graph, plot, export, fmt.

How a command is written (and how a new one should be): a plain click command on
the ``main`` group, as short as click's own examples::

    @main.command()
    @click.argument("file")
    def mycommand(file: str) -> None:
        '''One line that fits in ``netlang --help``.

        More detail for ``netlang mycommand --help``.
        '''
        network = _load(file)        # or any library call
        click.echo(...)

* Errors are converted in ONE place, ``NetlangGroup.invoke``: let a ``NetlangError``
  propagate and it is printed in netlang's format (file:line:column, caret, hint) with
  exit status 1. Never catch it just to convert it. A missing optional package is a
  ``NetlangError`` too (``netlang.extras.require``).
* Usage errors (bad option values, options that do not go together) are click's:
  ``raise click.BadParameter(..., param_hint="'--x'")`` or ``click.UsageError``: exit 2.
* A command that goes on after an error (``test``, ``fmt`` over several files) prints
  it with ``show_error(error)`` and decides the exit status itself.
* Paths are plain ``click.argument("file")``, not ``click.Path(exists=True)``: a file
  that cannot be read is an input error (exit 1, netlang's format), which the library
  raises when it reads the file.
* ``cls=ValuesOption`` gives an option that takes every value after it (``--x 1 -0.5 2e3``).
* Ctrl-C exits with status 130 and no traceback. Running out of memory and failures
  writing standard output are reported by netlang.launcher, which runs this CLI.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import click

from . import __version__
from .errors import NetlangError
from .nodes import NO_SPAN
from .numerals import counted, is_number, parse_number

EXIT_INPUT_ERROR = 1  # an error in the user's .net file or data; usage errors exit 2 (click's own)
EXIT_NO_TESTS = 5  # netlang test found no expect line at all (pytest's "no tests collected")
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process killed by SIGINT


def use_color(stream: Any) -> bool:
    """Whether to colour what goes to ``stream``: --color/--no-color, else not with NO_COLOR set, else on a terminal."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.color is not None:
        return bool(ctx.color)
    if os.environ.get("NO_COLOR"):  # https://no-color.org: set and not empty
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def show_warning(warning: NetlangError) -> None:
    """Print one warning in netlang's format on stderr, a blank line after it."""
    click.echo(warning.format(color=use_color(sys.stderr)) + "\n", file=sys.stderr, color=use_color(sys.stderr))


def show_error(error: NetlangError, file: Any = None) -> None:
    """Print ``error`` (every error it holds) in netlang's format on stderr."""
    stream = file or sys.stderr
    click.echo(error.format(color=use_color(stream)), file=stream, color=use_color(stream))
    count = len(error.errors)
    if count > 1:
        click.echo(f"\n{count} errors", file=stream)


class InputError(click.ClickException):
    """A NetlangError on its way out: printed with source lines and carets, exit status 1."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(self, error: NetlangError) -> None:
        super().__init__(error.message)
        self.error = error
        self.color = use_color(sys.stderr)  # decided now: the context is gone when click shows it

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        click.echo(self.error.format(color=self.color), file=stream, color=self.color)
        count = len(self.error.errors)
        if count > 1:
            click.echo(f"\n{count} errors", file=stream)


class Failure(click.ClickException):
    """A failure that is not about a place in a file (out of memory, Graphviz failing): ``error: ...``, exit 1."""

    exit_code = EXIT_INPUT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", file=file or sys.stderr)


class ValuesOption(click.Option):
    """An option followed by any number of values: ``--x 1 -0.5 2e-3`` (negative numbers need no quotes).

    It may be repeated; the values are collected in order (``--x 1 --x 0`` is ``--x 1 0``).
    ``NetlangCommand.parse_args`` spreads the values into one ``--x V`` pair each before
    click parses them, so this is an ordinary ``multiple=True`` option for click.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)


def _spread_values(args: Sequence[str], names: Sequence[str]) -> List[str]:
    """``--x 1 0 -0.5`` as ``--x 1 --x 0 --x -0.5``: each value after a values option takes that option.

    A value is whatever follows that is a number or does not look like an option,
    up to a ``.net`` file name, ``-`` (a program on stdin) or ``--``.
    """
    spread: List[str] = []
    taking: Optional[str] = None
    for position, arg in enumerate(args):
        if arg == "--":
            spread.extend(args[position:])
            break
        if taking is not None and arg != "-" and not arg.endswith(".net") and (is_number(arg) or not arg.startswith("-")):
            spread += [taking, arg]
            continue
        taking = None
        name, equals, _ = arg.partition("=")
        if name in names:
            taking = name
            if not equals:  # --x=1 is one pair already; a bare --x waits for its values
                if position + 1 == len(args):
                    spread.append(arg)  # no value: click says the option needs one
                continue
        spread.append(arg)
    return spread


def _set_color(ctx: click.Context, param: click.Parameter, value: Optional[bool]) -> None:
    if value is not None:
        ctx.color = value
        ctx.find_root().color = value  # errors are shown after the command's context is gone


def _color_option() -> click.Option:
    return click.Option(
        ["--color/--no-color"],
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_set_color,
        help="Colour the messages (default: on a terminal, unless NO_COLOR is set).",
    )


class NetlangCommand(click.Command):
    """A click command with --color/--no-color and options that take several values (ValuesOption)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_color_option())

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        names = [name for param in self.params if isinstance(param, ValuesOption) for name in param.opts]
        return super().parse_args(ctx, _spread_values(args, names) if names else args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NetlangError as error:
            if not ctx.params.get("as_json") or ctx.params.get("data_file"):
                raise  # a batch run (run --input) streams its results: its errors go to stderr, as text
            # A --json command answers in JSON whatever happens: the errors as `netlang check --json` gives them.
            from .lint import Diagnosis

            sys.stdout.flush()
            click.echo(json.dumps(Diagnosis(str(ctx.params.get("file") or error.filename), list(error.errors)).to_dict(), indent=2))
            raise click.exceptions.Exit(EXIT_INPUT_ERROR) from None


class NetlangGroup(click.Group):
    """The ``netlang`` group: where every command's errors become netlang's messages and exit codes, once."""

    command_class = NetlangCommand

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NetlangError as error:
            sys.stdout.flush()  # results printed so far come before the error, on a terminal as in a pipe
            raise InputError(error) from None
        except KeyboardInterrupt:
            click.echo(file=sys.stderr)  # end the line the terminal's ^C is on
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def _load(path: str) -> Any:
    """The compiled network of the .net file at ``path`` (a NetlangError if it is invalid)."""
    from .pipeline import load

    return load(path)


def _load_checked(path: str) -> Tuple[Any, Any]:
    """The checked program and the compiled network of a .net file."""
    from .pipeline import load_with_checked

    return load_with_checked(path)


def _parse_values(ctx: click.Context, param: click.Parameter, raw: Tuple[str, ...]) -> Optional[List[float]]:
    if not raw:
        return None
    values = []
    for text in raw:
        value = parse_number(text)
        if value is None:
            raise click.BadParameter(f"{text!r} is not a number", ctx=ctx, param=param)
        if not math.isfinite(value):
            raise click.BadParameter(f"{text!r} is not a finite number", ctx=ctx, param=param)
        values.append(value)
    return values


def _check_arity(network: Any, values: Sequence[float]) -> None:
    if len(values) != network.input_width:
        from .errors import name_list

        names = name_list(network.input_columns)
        raise click.BadParameter(
            f"the network takes {counted(network.input_width, 'value')} "
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


@click.group(cls=NetlangGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="netlang")
@click.option(
    "--color/--no-color",
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_set_color,
    help="Colour the messages (default: on a terminal, unless NO_COLOR is set).",
)
def main() -> None:
    """netlang: write a neural network as text, see its weight matrices, run it.

    \b
    Example: a perceptron that computes AND
        $ cat and.net
        input x1, x2
        node y = step(0.5*x1 + 0.5*x2 > 0.7)
        $ netlang run and.net --x 1 1
        y = 1

    Shell completion, colour, exit statuses: see docs/cli.md.
    """


@main.command()
@click.argument("file")  # "-": the program on standard input
@click.option(
    "--x",
    "values",
    cls=ValuesOption,
    metavar="V...",
    callback=_parse_values,
    help="The input values, in the order the inputs are declared (vectors flattened).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as a JSON object (with --input: a JSON array).")
@click.option(
    "--input",
    "data_file",
    metavar="DATA",
    help="Run on every row of DATA: a CSV file (a header naming the inputs, or columns in input order), "
    "a .npy array (samples x inputs), a Parquet file, a quoted pattern of such files ('data/*.csv', "
    "read in name order), or - for CSV on stdin.",
)
@click.option(
    "--output",
    metavar="FILE",
    help="With --input: write the results to FILE (.csv, .npy or .json) instead of CSV on stdout.",
)
@_dtype_option("The number type the network is evaluated in.")
@click.option("--explain", is_flag=True, help="Write out each neuron's computation with its numbers, layer by layer.")
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
@click.option(
    "--class",
    "show_class",
    is_flag=True,
    help="Also print the class of the outputs, as netlang score counts it: the largest output's position, "
    "or for a single output 1 when it is at least 0.5 (with --input: a last column 'class').",
)
@click.option(
    "--device",
    metavar="DEVICE",
    help="Compute on DEVICE (cpu, cuda, cuda:1, ...) with PyTorch, or CuPy for cuda (docs/scale.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --input: evaluate on the Dask cluster at ADDRESS (tcp://host:8786, or 'local' for one on "
    "this machine), partition by partition; --input may be a pattern ('data/*.csv'), --output 'out/part-*.csv' "
    "writes one file per partition (docs/scale.md).",
)
def run(
    file: str,
    values: Optional[List[float]],
    as_json: bool,
    data_file: Optional[str],
    output: Optional[str],
    dtype: str,
    explain: bool,
    exact: bool,
    show_class: bool,
    device: Optional[str],
    scheduler: Optional[str],
) -> None:
    """Run a network on input values, or on every row of a data file.

    \b
    Examples:
        netlang run xor.net --x 1 0
        netlang run neuron.net --x -0.5 2e-3 --json
        netlang run and.net --x 1 1 --explain
        netlang run xor.net --input pairs.csv
        netlang run mnist.net --input images.npy --output results.npy --dtype float32
        netlang run mnist.net --input images.npy --device cuda
        netlang run mnist.net --input 'data/*.csv' --scheduler tcp://10.0.0.5:8786 --output results.csv
        generate-net | netlang run - --x 1 0

    FILE may be - for the program on standard input.
    """
    from .display import outputs_text

    if device is not None and (explain or exact):
        raise click.UsageError("--explain and --exact compute in Python, not on a device; leave out --device")
    if data_file is not None or output is not None:
        if explain or exact:
            raise click.UsageError("--explain and --exact work on one sample given with --x, not with --input")
        _run_batch(file, values, data_file, output, dtype, as_json, device, scheduler, show_class)
        return
    if scheduler is not None:
        raise click.UsageError("--scheduler runs a data file on a cluster: give it with --input")
    if explain and show_class:
        raise click.UsageError("--explain writes out the computation; leave out --class")
    if explain and as_json:
        raise click.UsageError("--explain writes text; leave out --json")
    if (explain or exact) and dtype != "float64":
        raise click.UsageError("--explain and --exact compute in float64 or exactly; leave out --dtype")
    if explain or exact:
        checked, network = _load_checked(file)
    else:
        network = _on_device(_load(file), device)
    if values is None:
        if network.input_width:
            from .errors import name_list

            names = name_list(network.input_columns)
            raise click.UsageError(f"give the input values with --x: this network takes {names}")
        values = []
    _check_arity(network, values)
    if explain or exact:
        from .interpreter import EXACT, FLOAT, check_exact_work, inputs_by_name, interpret

        if exact:
            check_exact_work(network, 1, file)

        arithmetic = EXACT if exact else FLOAT
        if explain:
            from .explain import explain as explanation

            click.echo(explanation(checked, inputs_by_name(checked, values), arithmetic))
            return
        outputs = interpret(checked, inputs_by_name(checked, values), arithmetic=arithmetic)
    else:
        row = network(values, dtype=dtype)
        if dtype == "float32":  # float32's own shortest digits (0.7310586), not their float64 expansion
            row = [float(str(value)) for value in row]
        outputs = network.split_outputs(row)
    if show_class:
        from .scoring import class_of

        outputs = {**outputs, "class": float(class_of(outputs))}
    click.echo(outputs_text(outputs, as_json))  # also what the launcher's fast path prints


def _on_device(network: Any, device: Optional[str]) -> Any:
    """``network`` computing on ``device`` (run --device), or as it is without one."""
    if device is None:
        return network
    from .arrays import DeviceError, on_device

    try:
        return on_device(network, device)  # array-api-compat missing: a NetlangError naming the extra
    except DeviceError as problem:
        raise click.BadParameter(str(problem), param_hint="'--device'") from None


def _run_on_cluster(network: Any, data: str, output: Optional[str], kind: str, dtype: Any, scheduler: str, device: Optional[str]) -> None:
    """``run --input DATA --scheduler ADDRESS``: the partitions of DATA evaluated on a Dask cluster."""
    from . import cluster

    if device is not None:
        raise click.UsageError("--device and --scheduler do not go together: the workers compute with numpy")
    if data == "-":
        raise click.UsageError("--scheduler reads files the workers can open, not stdin")
    paths = cluster.expand(data)
    if any(not path.lower().endswith(".csv") for path in paths):
        raise click.BadParameter("--scheduler reads CSV files (.csv)", param_hint="'--input'")
    try:
        with cluster.Cluster(scheduler) as connection:
            cluster.run_to(network, paths, connection.client, output, kind, dtype)
    except cluster.SchedulerError as problem:
        raise click.BadParameter(str(problem), param_hint="'--scheduler'") from None


def _run_batch(
    file: str,
    values: Optional[List[float]],
    data: Optional[str],
    output: Optional[str],
    dtype: str,
    as_json: bool,
    device: Optional[str] = None,
    scheduler: Optional[str] = None,
    show_class: bool = False,
) -> None:
    """``run --input``: stream DATA through the network, block by block, into the output."""
    from . import data as batch

    if data is None:
        raise click.UsageError("--output needs --input: it names where the results of a batch run go")
    if values is not None:
        raise click.UsageError("give either --x (one sample) or --input (a data file), not both")
    if file == "-" and data == "-":
        raise click.UsageError("the program and the data cannot both come from standard input: name one of them by file")
    if output is not None and as_json:
        raise click.UsageError("--json prints to stdout; with --output, name a .json file instead")
    try:
        kind = "json" if as_json else batch.output_kind(output or "-")
    except ValueError as problem:
        raise click.BadParameter(str(problem), param_hint="'--output'") from None
    if show_class and (device is not None or scheduler is not None):
        raise click.UsageError("--class works on this computer's CPU: leave out --device and --scheduler")
    network = _on_device(_load(file), device)
    if not network.input_width:
        raise click.UsageError("this network has no inputs, so it has nothing to read from --input")
    if show_class:
        from .scoring import WithClass

        network = WithClass(network)
    if scheduler is not None:
        _run_on_cluster(network, data, output, kind, batch.DTYPES[dtype], scheduler, device)
        return
    number_type = batch.DTYPES[dtype]
    stdin, stderr = sys.stdin, sys.stderr  # looked up now: click's test runner replaces them
    source: Any = None
    try:
        source = batch.open_source(data, network, number_type, stdin=stdin)
        progress = batch.Progress(stderr, source.total) if stderr.isatty() else None
        if output is None or output == "-":
            batch.run_batch(network, source, batch.sink_for(kind, sys.stdout, network, number_type), number_type, progress)
        else:  # atomically: an error, Ctrl-C or a full disk leaves the file as it was
            batch.run_to_file(network, source, output, kind, number_type, progress)
    except OSError as error:
        if error.filename is None and (output is None or output == "-"):
            raise  # writing standard output failed: netlang.launcher reports that
        raise click.FileError(error.filename or output or data, error.strerror) from None
    finally:
        if source is not None:
            source.close()


@main.command()
@click.argument("file")
@click.option(
    "--input",
    "data_file",
    metavar="DATA",
    required=True,
    help="The samples with their labels: a CSV file (a header naming the inputs and the label column, "
    "or no header, as MNIST's files), a .npy table (columns by position), a Parquet file, or - for CSV on stdin.",
)
@click.option(
    "--labels",
    metavar="COLUMN",
    required=True,
    help="The label column: its name in the header, or its position from 0 (MNIST's CSV files: 0).",
)
@click.option(
    "--skip",
    metavar="COLUMN",
    multiple=True,
    help="A column that is neither an input nor the label, to leave out (name or position); repeat for more.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the score as JSON (accuracy, correct, total, confusion, classes).")
def score(file: str, data_file: str, labels: str, skip: Tuple[str, ...], as_json: bool) -> None:
    """Score a network against labels: accuracy, confusion matrix.

    The class of a sample is the output with the largest value (the first of equal
    ones), or for a single output 1 when it is at least 0.5. Labels are whole numbers
    from 0. The file is read block by block, so its size does not matter. Inputs are
    read as training reads them: scaled by the file's train scale and shift (or preset).

    \b
    Examples:
        netlang score digits.net --input test.csv --labels label
        netlang score mnist.net --input mnist_test.csv --labels 0 --json
        netlang score and.net --input gates.csv --labels y --skip id
    """
    from . import data as batch
    from .labelled import score_file

    if file == "-" and data_file == "-":
        raise click.UsageError("the program and the data cannot both come from standard input: name one of them by file")
    checked, network = _load_checked(file)
    settings = checked.settings.resolved()
    stderr = sys.stderr
    progress = batch.Progress(stderr, None) if stderr.isatty() else None
    result = score_file(
        network, data_file, labels, skip, stdin=sys.stdin, progress=progress,
        scale=settings["scale"], shift=settings["shift"],
    )
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.text())


@main.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print every error and warning as JSON data.")
def check(file: str, as_json: bool) -> None:
    """Report every error and warning in a .net file.

    The exit status is 1 if there is an error. Warnings (unused inputs and
    constants, nodes that reach no output) do not change it.

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
        raise combine(diagnosis.errors)
    checked = diagnosis.checked  # what the network will be, told without lowering it
    assert checked is not None
    for warning in diagnosis.warnings:
        show_warning(warning)
    count = len(diagnosis.warnings)
    inputs = len(checked.columns(var.name for var in checked.inputs))
    neurons = sum(unit.width for unit in checked.units)
    layers = checked.layer_count
    click.echo(
        f"{file}: ok: {counted(inputs, 'input value')}, "
        f"{counted(neurons, 'neuron')} in "
        f"{counted(layers, 'layer')}, outputs {', '.join(checked.outputs)}"
        + (f" ({counted(count, 'warning')})" if count else "")
    )


@main.command(name="compile")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the layers as JSON data instead of tables.")
def compile_command(file: str, as_json: bool) -> None:
    """Show the weight matrices of a network, layer by layer.

    Each layer computes activation(W s + b): its rows are neurons, its columns
    the signals they read.

    \b
    Example:
        netlang compile xor.net
    """
    from .display import network_dict, network_text

    network = _load(file)
    click.echo(json.dumps(network_dict(network), indent=2) if as_json else network_text(network))


@main.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON (netlang/schema/ast.schema.json).")
def parse(file: str, as_json: bool) -> None:
    """Show the syntax tree of a .net file, with line and column spans.

    Only the syntax is checked: see 'netlang check' for names, shapes and the rest.

    \b
    Examples:
        netlang parse xor.net
        netlang parse xor.net --json
    """
    from . import ast_json
    from .parser import parse as parse_source
    from .pipeline import read_source

    program = parse_source(read_source(file), file)
    # Written as it is made, a chunk at a time: the whole text of a large file would take
    # far more memory than its syntax tree.
    if as_json:
        ast_json.write(program, lambda chunk: click.echo(chunk, nl=False))
        click.echo()
    else:
        for line in ast_json.outline_lines(program):
            click.echo(line)


@main.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON list of objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV, with a header line.")
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
def table(file: str, as_json: bool, as_csv: bool, exact: bool) -> None:
    """Show the outputs for every 0/1 combination of the inputs.

    A truth table. Vector inputs count element by element; up to 16 input
    values (65,536 rows).

    \b
    Examples:
        netlang table xor.net
        netlang table and.net --csv > and.csv
    """
    from .interpreter import EXACT, FLOAT
    from .truthtable import truth_table

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    checked, network = _load_checked(file)
    result = truth_table(network, checked, EXACT if exact else FLOAT, filename=file)
    if as_json:
        click.echo(json.dumps(result.records()))
    elif as_csv:
        click.echo(result.csv(), nl=False)
    else:
        click.echo(result.text())


def net_files(paths: Sequence[str]) -> List[str]:
    """Each path, with a folder replaced by the ``*.net`` files under it.

    Folders are searched recursively, in sorted order, skipping hidden folders (``.git``,
    ``.venv``) and not following links to folders, as pytest and black do.
    """
    found: List[str] = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        inside = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            inside += [os.path.join(folder, name) for name in names if name.endswith(".net")]
        if not inside:
            raise click.BadParameter(f"the folder '{path}' holds no .net file", param_hint="FILES")
        found += sorted(inside)
    return found


@main.command(name="test")
@click.argument("files", nargs=-1, required=True)
@click.option("--exact", is_flag=True, help=_EXACT_HELP)
def test_command(files: Tuple[str, ...], exact: bool) -> None:
    """Check the 'expect' lines of .net files (or folders of them).

    One line per expectation, then a summary. An output matches when it is
    within the tolerance after 'within', or within 1e-9 without one. Exit
    status 1 when an expectation fails or a file is invalid; 5 when there is
    no 'expect' line at all.

    \b
    Examples:
        netlang test examples/
        netlang test and.net xor.net
    """
    from .display import format_number
    from .expectations import decided_by_rounding, run_expectations
    from .interpreter import EXACT, FLOAT

    passed = failed = invalid = 0
    first_failure = ""
    for file in net_files(files):
        try:
            checked, network = _load_checked(file)
            outcomes = run_expectations(checked, network, EXACT if exact else FLOAT)
        except NetlangError as error:
            show_error(error)
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
    parts += [counted(invalid, "invalid file")] * bool(invalid)
    click.echo(f"{', '.join(parts)}{' (exact arithmetic)' if exact else ''}")
    if first_failure:
        click.echo(f"to see how the network computes a failing case: {first_failure}")
    if failed or invalid:
        sys.exit(EXIT_INPUT_ERROR)
    if not passed:
        click.echo("no expectations to check: nothing was tested", err=True)
        sys.exit(EXIT_NO_TESTS)


def _picture_option(help: str, required: bool = False) -> Any:
    return click.option("-o", "--output", "output_path", required=required, help=help)


@main.command()
@click.argument("file")
@_picture_option("Write the picture to this file: .svg, .png or .pdf (drawn by Graphviz), or .dot/.gv (the DOT text).")
def graph(file: str, output_path: Optional[str]) -> None:
    """Draw a network: inputs, neurons, and weights on the arrows.

    Without -o, prints the diagram as Graphviz DOT text. A step neuron shows its
    threshold (θ), other neurons their activation and bias; output neurons have a
    double border; negative weights are red. Vectors of more than 8 neurons, and
    whole layers of very large networks, are drawn as boxes. Pictures (-o with
    .svg, .png, .pdf) need Graphviz's 'dot' program.

    \b
    Examples:
        netlang graph xor.net -o xor.svg
        netlang graph xor.net | dot -Tpng > xor.png
    """
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
            data = diagram.render(dot, fmt, what=f"writing {output_path}", filename=file)
        except diagram.GraphvizFailed as error:
            raise Failure(str(error)) from None
    _write_file(output_path, data)


@main.command()
@click.argument("file")
@_picture_option("The picture to write: .png, .svg or .pdf.", required=True)
@click.option(
    "--range",
    "plane",
    nargs=2,
    type=float,
    default=None,
    metavar="LOW HIGH",
    help="The stretch of the input(s) that the picture covers "
    "(default: -0.5 1.5 for two inputs, -5 5 for one).",
)
@click.option("--show", "signal", metavar="NAME", help="The output (or any neuron) to plot; default: the first output.")
def plot(file: str, output_path: str, plane: Optional[Tuple[float, float]], signal: Optional[str]) -> None:
    """Plot what a network with one or two inputs computes (plot extra).

    With two input values: the regions where the output is 1 and 0 (or its
    value, for smooth activations), the boundary between them, the four points
    (0, 0), (0, 1), (1, 0), (1, 1) labelled with the output, and the line that
    each step neuron of the first layer draws. With one input value: the output
    as a curve over the input (step, sigmoid, relu...). Needs matplotlib:
    pip install 'netlang[plot]' (in a netlang checkout: pip install '.[plot]').

    \b
    Examples:
        netlang plot and.net -o and.png
        netlang plot xor.net -o xor.png --range -1 2
        netlang plot xor.net -o s1.png --show s1
        netlang plot sigmoid.net -o sigmoid.png --range -6 6
    """
    from . import boundary

    if plane is not None:
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
    boundary.check_plottable(network, filename=file)
    try:
        signal = boundary.choose_signal(network, signal)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--show'") from None
    try:
        boundary.plot(network, output_path, signal, plane, title=Path(file).name)
    except OSError as error:
        raise Failure(f"cannot write {output_path}: {error.strerror or error}") from None


def _write_file(path: str, data: bytes) -> None:
    from .files import write_bytes

    try:
        write_bytes(path, data)
    except OSError as error:
        raise Failure(f"cannot write {path}: {error.strerror or error}") from None


def _check_output_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
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
@click.argument("file")
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
    """Export a network as an ONNX model (needs the onnx extra).

    The model has one input, x [N, inputs], and one output, y [N, outputs], whose
    columns are the network's inputs and outputs in order (vectors flattened);
    with --per-name, one [N, size] tensor per input and per output instead.
    Needs the onnx extra: pip install 'netlang[onnx]' (in a netlang checkout:
    pip install '.[onnx]').

    \b
    Examples:
        netlang export xor.net -o xor.onnx
        netlang export mlp.net -o mlp.onnx --dtype float32 --per-name
    """
    from .onnx_export import export_onnx, interface, model_bytes

    network = _load(file)
    try:
        if output == "-":
            with click.open_file("-", "wb") as stream:
                stream.write(model_bytes(network, source_name=file, dtype=dtype, per_name=per_name))
        else:
            export_onnx(network, output, source_name=file, dtype=dtype, per_name=per_name)
    except OSError as error:
        if error.filename is None and output == "-":
            raise  # writing standard output failed: netlang.launcher reports that
        raise click.BadParameter(f"cannot write '{output}': {error.strerror}", param_hint="'-o'") from None
    destination = output if output != "-" else "standard output"
    click.echo(f"{destination}: ONNX model, {interface(network, per_name)}", err=output == "-")


@main.command(name="fmt")
@click.argument("files", nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Change nothing; list the files that are not formatted (exit status 1 if any).")
@click.option("--write", is_flag=True, help="Rewrite the files in place (atomically) instead of printing them.")
def fmt(files: Tuple[str, ...], check: bool, write: bool) -> None:
    """Lay out .net files (or folders of them) in the canonical layout.

    Every comment is kept. Prints the formatted text unless --check or --write
    is given. A file with syntax errors is reported (exit status 1) and never
    rewritten. See docs/fmt.md.

    \b
    Examples:
        netlang fmt model.net
        netlang fmt --check examples/
        netlang fmt --write model.net
    """
    from .files import write_text
    from .formatter import format_source
    from .pipeline import read_source

    if check and write:
        raise click.UsageError("give --check or --write, not both")
    if write and "-" in files:
        raise click.UsageError("--write rewrites files in place; standard input (-) has none: leave out --write")
    failed = False
    for path in net_files(files):
        try:
            source = read_source(path)
            formatted = format_source(source, filename=path)
        except NetlangError as error:
            show_error(error)
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


@main.command(name="lsp")
def lsp_command() -> None:
    """The language server that editors start, on stdin and stdout.

    Diagnostics as you type, hovers with shapes and equations, go to definition,
    rename, formatting and fixes (docs/editors.md). Editors start it; it is not
    meant to be typed. Needs the lsp extra: pip install 'netlang[lsp]'.

    \b
    Example (the command an editor starts):
        netlang lsp
    """
    from .lsp import serve

    serve()


def _setting_option(name: str, kind: type) -> Any:
    """``--NAME``, a numeric training setting: its help is the setting's meaning in
    ``params.SETTINGS`` and its value is checked by the rule that checks the file's
    ``train NAME = ...``, so a bad value is a usage error (exit 2), named by its option."""
    from .params import SETTINGS, ParamProblem, checked_number

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return checked_number(name, float(value), NO_SPAN)
        except ParamProblem as problem:
            raise click.BadParameter(problem.message + (f" ({problem.hint})" if problem.hint else ""), ctx=ctx, param=param)

    meaning = SETTINGS[name][1]
    return click.option(f"--{name}", type=kind, callback=check, help=meaning[0].upper() + meaning[1:] + ".")


@main.command(name="train")
@click.argument("file")
@click.option("--input", "data_file", metavar="DATA", help="The training data (CSV, .npy or Parquet); default: the file's train data = \"...\".")
@click.option("--validation", metavar="DATA", help="Validation data, scored after each epoch.")
@click.option("--labels", metavar="COLUMN", help="The label column (a header name, or a position from 0); targets are one-hot.")
@click.option("--preset", type=click.Choice(["rashid", "saito"]), help="A book's settings, under the file's and the options'.")
@click.option("--rule", type=click.Choice(["backprop", "rashid", "perceptron"]), help="The learning rule.")
@click.option("--loss", type=click.Choice(["mse", "cross-entropy"]), help="The loss backpropagation descends.")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), help="How a gradient changes the params.")
@_setting_option("rate", float)
@_setting_option("momentum", float)
@_setting_option("epochs", int)
@_setting_option("batch", int)
@click.option("--shuffle/--no-shuffle", default=None, help="Shuffle the samples before each epoch.")
@click.option(
    "--evaluate/--no-evaluate", default=None,
    help="After each epoch, the loss and accuracy over all the training data (the default), or of the epoch's batches (no extra pass).",
)
@_setting_option("seed", int)
@_setting_option("scale", float)
@_setting_option("shift", float)
@click.option("--off", type=float, help="One-hot targets: the value of the other outputs.")
@click.option("--on", type=float, help="One-hot targets: the value of the label's output.")
@click.option("-o", "--output", "output", metavar="NEW.net", help="Write a new .net file (same folder); the original stays as it is.")
@click.option("--weights", metavar="FILE.npz", help="Where arrays too large for the .net file go (default: the .net file's name, .npz).")
@click.option("--dry-run", is_flag=True, help="Train and report, write nothing.")
@click.option("--keep-last", is_flag=True, help="On Ctrl-C, write the values of the last completed epoch.")
@click.option("--log", "log_path", metavar="FILE.csv", help="Write the history (loss and accuracies by epoch) as CSV.")
@click.option("--curves", metavar="FILE.png", help="Draw the loss and accuracy curves (needs the plot extra).")
@click.option("--lines", metavar="FILE.png", help="A two-input perceptron: draw its line after each epoch (needs the plot extra).")
@click.option("--every", type=click.IntRange(min=1), default=1, metavar="N", help="Print the line of every Nth epoch (and the first and last).")
@click.option("--explain", is_flag=True, help="Perceptron rule: print every update (sample, output, target, changes).")
@click.option("--gradient-check", "gradient_check", is_flag=True, help="Compare backpropagation with numerical gradients; train nothing.")
def train_command(file: str, **options: Any) -> None:
    """Learn a file's params from data and write them back into it.

    What is learned is marked in the file (param, param node, param layer); the
    settings come from the file's train statements, overridden by these options.
    One line per epoch: the loss, the training accuracy and, with --validation,
    the validation accuracy. Every file is written at the end, all or none:
    an error or Ctrl-C leaves them as they were.

    \b
    Examples:
        netlang train and.net --input and.csv --rule perceptron --explain
        netlang train xor.net --input xor.csv --epochs 2000 --log history.csv
        netlang train digits.net --input train.csv --validation test.csv --labels 0 -o trained.net
    """
    from .history import run_training

    run_training(file, options, warn=show_warning)
