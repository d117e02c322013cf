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
    from .compiler import load
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
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as a JSON object.")
def run(file: str, values: Optional[List[float]], as_json: bool) -> None:
    """Run the network in FILE on one set of input values.

    \b
    Examples:
        netlang run xor.net --x 1 0
        netlang run neuron.net --x -0.5 2e-3 --json
    """
    from .display import format_value

    network = _load(file)
    if values is None:
        if network.input_width:
            names = ", ".join(network.input_columns[:8]) + (", ..." if network.input_width > 8 else "")
            raise click.UsageError(f"give the input values with --x: this network takes {names}")
        values = []
    _check_arity(network, values)
    outputs = network.split_outputs(network(values))
    if as_json:
        data = {name: value.tolist() if hasattr(value, "tolist") else value for name, value in outputs.items()}
        click.echo(json.dumps(data))
    else:
        for name, value in outputs.items():
            click.echo(f"{name} = {format_value(value)}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Check FILE and report every error in it (exit status 1 if there is any).

    \b
    Example:
        netlang check model.net
    """
    network = _load(file)
    neurons = sum(layer.shape[0] for layer in network.layers)
    click.echo(
        f"{file}: ok: {network.input_width} input value{'s' if network.input_width != 1 else ''}, "
        f"{neurons} neuron{'s' if neurons != 1 else ''} in {len(network.layers)} "
        f"layer{'s' if len(network.layers) != 1 else ''}, outputs {', '.join(network.output_names)}"
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
    from .compiler import read_source
    from .errors import NetlangError
    from .formatter import format_source, write_atomically

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
                    write_atomically(path, formatted)
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
