"""History: a training run shown to people: a line per epoch, each perceptron update, a CSV log, pictures.

``netlang train`` prints through these; the pictures need the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import io
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .display import format_number
from .numerals import counted
from .errors import NetlangError
from .runtime import Network


def epoch_line(epoch: Any, epochs: int) -> str:
    """``epoch 3/10  loss 0.0123  accuracy 0.9700  validation 0.9650`` (the time of each epoch is in
    the log); without the evaluation after each epoch, ``batch loss`` and ``batch accuracy``."""
    width = len(str(epochs))
    of = "" if epoch.evaluated else "batch "
    parts = [f"epoch {epoch.epoch:>{width}}/{epochs}", f"{of}loss {epoch.loss:.6g}"]
    if epoch.accuracy is not None:
        parts.append(f"{of}accuracy {epoch.accuracy:.4f}")
    if epoch.validation_accuracy is not None:
        parts.append(f"validation {epoch.validation_accuracy:.4f}")
    return "  ".join(parts)


def update_lines(update: Any, network: Network) -> List[str]:
    """One perceptron update in the style of ``run --explain``: the sample, what the neuron gave and
    should have given, and the change of each weight and threshold (nothing when it was right)."""
    layer = network.layers[update.layer]
    inputs = ", ".join(f"{name} = {format_number(float(v))}" for name, v in zip(network.input_columns, update.inputs))
    lines = [f"epoch {update.epoch}, sample {update.sample}: {inputs}"]
    for row, name in enumerate(layer.rows):
        output, target = float(update.outputs[row]), float(update.targets[row])
        if output == target:
            lines.append(f"  {name} = {format_number(output)}, wanted {format_number(target)}: right, no change")
            continue
        changes = [
            f"w({column}) {_signed(float(change))}"
            for column, change in zip(layer.columns, update.weight_changes[row])
            if change != 0
        ]
        changes.append(f"threshold {_signed(float(update.threshold_changes[row]))}")
        lines.append(f"  {name} = {format_number(output)}, wanted {format_number(target)}: {', '.join(changes)}")
    return lines


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + format_number(value)


def log_text(history: Sequence[Any]) -> str:
    """The history as CSV: ``epoch,loss,accuracy,validation_accuracy,seconds,evaluation_seconds``
    (empty cells where not measured; ``evaluation_seconds``: the part of ``seconds`` spent on the
    evaluations after the epoch's updates)."""
    out = io.StringIO()
    out.write("epoch,loss,accuracy,validation_accuracy,seconds,evaluation_seconds\n")
    for epoch in history:
        cells = [str(epoch.epoch), repr(float(epoch.loss))]
        for value in (epoch.accuracy, epoch.validation_accuracy, epoch.seconds, epoch.evaluation_seconds):
            cells.append("" if value is None else repr(float(value)))
        out.write(",".join(cells) + "\n")
    return out.getvalue()


def curves_figure(history: Sequence[Any], title: Optional[str] = None) -> Any:
    """The loss and the accuracies by epoch, side by side (a matplotlib Figure)."""
    from .boundary import _matplotlib

    Figure = _matplotlib()[0]
    fig = Figure(figsize=(9, 3.6))
    loss_axes, accuracy_axes = fig.subplots(1, 2)
    epochs = [e.epoch for e in history]
    loss_axes.plot(epochs, [e.loss for e in history], marker="o" if len(epochs) <= 30 else None)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    if any(e.loss > 0 for e in history):
        loss_axes.set_yscale("log")
    for label, values in (
        ("training", [e.accuracy for e in history]),
        ("validation", [e.validation_accuracy for e in history]),
    ):
        if any(v is not None for v in values):
            accuracy_axes.plot(epochs, [np.nan if v is None else v for v in values], label=label)
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def decision_lines_figure(networks: Sequence[Network], inputs: np.ndarray, targets: np.ndarray, title: Optional[str] = None) -> Any:
    """A two-input perceptron's line ``w1 x1 + w2 x2 + b = 0`` after each epoch, the samples
    marked by their target: the threshold made visible, moving until it separates them."""
    from .boundary import _matplotlib

    Figure = _matplotlib()[0]
    fig = Figure(figsize=(5, 5))
    axes = fig.subplots()
    low = float(np.min(inputs)) - 0.5
    high = float(np.max(inputs)) + 0.5
    xs = np.linspace(low, high, 2)
    count = len(networks)
    for number, network in enumerate(networks, start=1):
        layer = network.layers[0]
        (w1, w2), b = layer.weights[0], layer.bias[0]
        shade = 0.25 + 0.75 * number / count
        style = dict(color=(0.1, 0.3, 0.8, shade), linewidth=2.5 if number == count else 1)
        label = f"after epoch {number}" if number in (1, count) else None
        if w2 != 0:
            axes.plot(xs, -(w1 * xs + b) / w2, label=label, **style)
        elif w1 != 0:
            axes.plot([-b / w1] * 2, [low, high], label=label, **style)
    fired = targets.reshape(len(targets), -1)[:, 0] > 0.5
    axes.scatter(inputs[fired, 0], inputs[fired, 1], marker="o", s=80, color="tab:orange", label="target 1", zorder=3)
    axes.scatter(inputs[~fired, 0], inputs[~fired, 1], marker="s", s=80, color="tab:gray", label="target 0", zorder=3)
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal")
    names = networks[0].input_columns if networks else ("x1", "x2")
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=9, frameon=False)
    if title:
        axes.set_title(title)
    fig.tight_layout()
    return fig


def epoch_networks(trained: Any) -> List[Network]:
    """The network as it stood at the end of each epoch of a training run (``netlang.train``'s result)."""
    from .training import with_parameters

    provenance = trained.provenance
    binding = provenance.binding()
    return [with_parameters(provenance.network, binding, epoch.theta) for epoch in trained.history]


def lines_figure(trained: Any, title: Optional[str] = None) -> Any:
    """:func:`decision_lines_figure` of a training run of a two-input perceptron."""
    inputs, targets = trained.data
    return decision_lines_figure(epoch_networks(trained), inputs, targets, title)


def figure_bytes(fig: Any, path: str) -> bytes:
    """The figure in the format ``path``'s suffix names (png, svg, pdf)."""
    out = io.BytesIO()
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else "png"
    fig.savefig(out, format=suffix, metadata={"Software": None} if suffix == "png" else None)
    return out.getvalue()


# --- the command ------------------------------------------------------------------------


def run_training(file: str, options: Dict[str, Any], warn: Optional[Callable[[NetlangError], None]] = None) -> None:
    """``netlang train``: train, print a line per epoch (and each update with ``explain``), write
    the learned values back, then the log and the pictures asked for. ``options``: the command's
    options by name; those that are not the command's own are training settings. ``warn``
    shows a warning about the data (before training starts)."""
    settings = dict(options)
    data_file, validation, output, weights = (settings.pop(key) for key in ("data_file", "validation", "output", "weights"))
    dry_run, keep_last, every, explain = (settings.pop(key) for key in ("dry_run", "keep_last", "every", "explain"))
    log_path, curves, lines, gradient_check = (settings.pop(key) for key in ("log_path", "curves", "lines", "gradient_check"))
    import click

    from . import experiment
    from .data import Progress
    from .files import write_bytes

    if gradient_check:
        differences = experiment.gradient_check(file, data_file, **settings)
        click.echo(f"{'parameter':>9}  {'backprop':>14}  {'numerical':>14}  relative difference")
        for difference in differences[:10]:
            click.echo(
                f"{difference.parameter:>9}  {difference.analytic:>14.6e}  {difference.numeric:>14.6e}  {difference.relative:.2e}"
            )
        return
    state: Dict[str, Any] = {}
    error_stream = sys.stderr
    progress: List[Progress] = []

    def ready(provenance: Any, resolved: Dict[str, Any]) -> None:
        # What would fail after training fails before it: no time is spent for nothing.
        if curves or lines:
            from .extras import require

            require("matplotlib", "plot", "drawing the training", filename=file)
        if lines and provenance.network.input_width != 2:
            raise NetlangError(
                f"--lines draws a perceptron's line over the plane of its two inputs, but this network takes "
                f"{provenance.network.input_width}",
                filename=file,
                code="not-two-inputs",
                hint="--curves draws the loss and accuracy of any network",
            )
        state["provenance"] = provenance
        state["epochs"] = resolved["epochs"]
        how = (
            f"rule perceptron at rate {format_number(resolved['rate'])}"
            if resolved["rule"] == "perceptron"
            else f"rule {resolved['rule']}, loss {resolved['loss']}, {resolved['optimizer']} at rate "
            f"{format_number(resolved['rate'])}, batch {resolved['batch']}"
        )
        click.echo(f"training {counted(provenance.size, 'parameter')} of {file}: {how}, {counted(resolved['epochs'], 'epoch')}, seed {resolved['seed']}")
        if error_stream.isatty():
            progress.append(Progress(error_stream, None, unit="samples"))

    def on_epoch(epoch: Any) -> None:
        state["done"] = epoch.epoch
        if progress:
            progress[0].finish()
        if epoch.epoch % every == 0 or epoch.epoch in (1, state["epochs"]):
            click.echo(epoch_line(epoch, state["epochs"]))

    def on_batch(epoch: int, done: int, samples: int) -> None:
        # Within the epochs, not only between them: one of Rashid's is 60,000 updates.
        if progress:
            bar = progress[0]
            bar.total = state["epochs"] * samples
            bar.update((epoch - 1) * samples + done, (epoch - 1) * samples + done)

    def on_update(update: Any) -> None:
        if explain:
            for line in update_lines(update, state["provenance"].network):
                click.echo(line)

    try:
        trained = experiment.train(
            file,
            data_file,
            validation=validation,
            output=output,
            weights=weights,
            write=not dry_run,
            keep_last=keep_last,
            on_epoch=on_epoch,
            on_update=on_update,
            on_ready=ready,
            on_batch=on_batch,
            on_warning=warn,
            **settings,
        )
    except KeyboardInterrupt:
        if progress:
            progress[0].finish()
        done = state.get("done")
        if keep_last and done and not dry_run:
            click.echo(f"\ninterrupted: the values after epoch {done} are written (--keep-last)", err=True)
        else:
            click.echo("\ninterrupted: every file is as it was", err=True)
        raise
    if progress:
        progress[0].finish()
    if trained.settings["rule"] == "perceptron":
        if trained.converged_epoch is not None:
            click.echo(f"every sample is right after epoch {trained.converged_epoch}")
        else:
            click.echo(
                f"some samples are still wrong after {len(trained.history)} epochs: "
                "the data may not be linearly separable (XOR is not); a hidden layer can learn it"
            )
    for written in trained.files:
        click.echo(f"wrote {written}")
    outputs: List[Tuple[str, bytes]] = []
    if log_path:
        outputs.append((log_path, log_text(trained.history).encode("utf-8")))
    if curves:
        outputs.append((curves, figure_bytes(curves_figure(trained.history, title=file), curves)))
    if lines:
        outputs.append((lines, figure_bytes(lines_figure(trained, title=file), lines)))
    for path, data in outputs:
        try:
            write_bytes(path, data)
        except OSError as error:
            raise NetlangError(f"cannot write '{path}': {error.strerror or error}", filename=path, code="cannot-write") from None
        click.echo(f"wrote {path}")
