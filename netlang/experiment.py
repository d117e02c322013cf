"""Experiment: a .net file trained from data, its learned values written back (``netlang train``, ``netlang.train``).

One run: read and check the file; trace where each trainable entry of the network comes
from (:mod:`netlang.provenance`); decide where every learned value goes and make sure those
files can be written (:mod:`netlang.writeback`), before any training; read the data; let the
engine (:mod:`netlang.training`) learn; write the values back, all files or none. An error or
an interrupt before the write leaves every file as it was (``keep_last`` writes the last
completed epoch's values first, when the user asks for it).

Settings come from, in order of precedence: the arguments (the command line's options), the
file's ``train`` statements, the preset they name, the defaults (:mod:`netlang.params`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import NetlangError
from .numerals import format_number
from .params import ParamProblem, Settings as FileSettings, checked_number
from .provenance import Provenance, statement_of, trace
from .runtime import Network
from .writeback import WritePlan

PathLike = Union[str, "os.PathLike[str]"]
Data = Union[PathLike, Tuple[Any, Any]]


@dataclass
class Trained:
    """What a training run gives: the trained ``network``, its ``history`` (one
    :class:`netlang.training.Epoch` per epoch), the ``settings`` used, the files written."""

    network: Network
    history: List[Any]
    settings: Dict[str, Any]
    files: List[Path] = field(default_factory=list)
    converged_epoch: Optional[int] = None
    provenance: Optional[Provenance] = field(default=None, repr=False)
    theta: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    data: Tuple[np.ndarray, np.ndarray] = field(default=(np.zeros(0), np.zeros(0)), repr=False)  # (inputs, targets) as trained on
    warnings: List[NetlangError] = field(default_factory=list, repr=False)  # about the data, before training

    def __repr__(self) -> str:
        last = self.history[-1] if self.history else None
        accuracy = "" if last is None or last.accuracy is None else f", accuracy={last.accuracy:.4g}"
        loss = "" if last is None else f", loss={last.loss:.6g}"
        return f"Trained({len(self.history)} epochs{loss}{accuracy}, files={[os.fspath(p) for p in self.files]})"


def engine_settings(values: Dict[str, Any]) -> Any:
    """The engine's :class:`netlang.training.Settings` for resolved file settings."""
    from .training import Settings

    return Settings(
        rule=values["rule"],
        loss="cross-entropy" if values["loss"] == "cross_entropy" else values["loss"],
        optimizer=values["optimizer"],
        learning_rate=float(values["rate"]),
        epochs=int(values["epochs"]),
        batch_size=int(values["batch"]),
        shuffle=bool(values["shuffle"]),
        evaluate=bool(values["evaluate"]),
        seed=int(values["seed"]),
        momentum=float(values["momentum"]),
    )


def checked_overrides(overrides: Dict[str, Any], filename: Optional[str] = None) -> Dict[str, Any]:
    """Settings given as arguments, checked as the file's are (a NetlangError names the bad one)."""
    from .nodes import NO_SPAN
    from .params import SETTINGS

    checked: Dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in SETTINGS:
            raise NetlangError(
                f"unknown setting '{name}'", filename=filename, code="unknown-setting", hint=f"the settings are {', '.join(SETTINGS)}"
            )
        kind = SETTINGS[name][0]
        try:
            if isinstance(kind, tuple):
                word = str(value).replace("-", "_")
                if word not in kind:
                    raise ParamProblem(f"'{name}' is one of {', '.join(kind)}, not '{value}'", NO_SPAN, "bad-setting")
                checked[name] = word
            elif kind == "column" and isinstance(value, str) and not value.isdigit():
                checked[name] = value  # a header name
            elif kind == "bool" or kind == "file":
                checked[name] = value
            else:
                checked[name] = checked_number(name, float(value), NO_SPAN)
        except ParamProblem as problem:
            raise NetlangError(problem.message, filename=filename, code=problem.code, hint=problem.hint) from None
    return checked


def prepare(
    path: PathLike, seed: Optional[int] = None
) -> Provenance:
    """Read, parse and trace the .net file at ``path``."""
    from .errors import combine
    from .pipeline import parse, read

    source = read(path)
    program, syntax_errors, _ = parse(source)
    if syntax_errors:
        from .pipeline import check

        check(source)  # the syntax errors, with the checker's errors in the rest
        raise combine(syntax_errors)
    return trace(program, source.base_dir, seed=seed)


def read_data(
    data: Data, network: Network, settings: Dict[str, Any], base: Path, warnings: Optional[List[NetlangError]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Inputs (scaled by ``scale`` and ``shift``) and targets from a data file or a pair of arrays;
    ``warnings`` receives a warning when the inputs look scaled already (:func:`scaled_twice`)."""
    if isinstance(data, tuple):
        inputs, targets = (np.asarray(part, dtype=float) for part in data)
        if targets.ndim == 1:
            targets = targets.reshape(-1, 1)
    else:
        from .labelled import read_examples

        inputs, targets = read_examples(os.fspath(data), network, labels=settings.get("labels"), one_hot=(settings["off"], settings["on"]))
    if settings["scale"] != 1.0 or settings["shift"] != 0.0:
        warning = scaled_twice(inputs, settings, data)
        if warning is not None and warnings is not None:
            warnings.append(warning)
        inputs = inputs * settings["scale"] + settings["shift"]
    return inputs, targets


def scaled_twice(inputs: np.ndarray, settings: Dict[str, Any], data: Data) -> Optional[NetlangError]:
    """A warning when a scale meant for pixels (0 to 255, the books' presets) meets inputs that
    are all between 0 and 1 already: read twice scaled, every input would be below 0.004 and the
    network would barely learn, with nothing to say why."""
    scale, shift = settings["scale"], settings["shift"]
    if not inputs.size or scale * 255 + shift > 1.0 + 1e-9 or not (0.0 <= float(inputs.min()) and float(inputs.max()) <= 1.0):
        return None
    where = None if isinstance(data, tuple) else os.fspath(data)
    return NetlangError(
        f"every input is between 0 and 1 already, and the inputs are read as x*{format_number(scale)} + {format_number(shift)} "
        f"(for pixels from 0 to 255): they would all end up below {format_number(scale + shift)}",
        filename=where,
        code="scaled-twice",
        severity="warning",
        hint="if the data are scaled already, read them as they are: --scale 1 --shift 0 (train scale = 1, shift = 0)",
    )


def train(
    path: PathLike,
    data: Optional[Data] = None,
    *,
    validation: Optional[Data] = None,
    output: Optional[PathLike] = None,
    weights: Optional[PathLike] = None,
    write: bool = True,
    keep_last: bool = False,
    on_epoch: Optional[Callable[[Any], None]] = None,
    on_update: Optional[Callable[[Any], None]] = None,
    on_ready: Optional[Callable[[Provenance, Dict[str, Any]], None]] = None,
    on_batch: Optional[Callable[[int, int, int], None]] = None,
    on_warning: Optional[Callable[[NetlangError], None]] = None,
    **settings: Any,
) -> Trained:
    """Train the params of the .net file at ``path`` and write the learned values back into it.

    ``data``: a data file (CSV, .npy or Parquet, as ``netlang score`` reads it: the label column named
    by the ``labels`` setting, or target columns named like the outputs) or a pair
    ``(inputs, targets)`` of arrays; by default the file's ``train data = "..."``.
    ``validation`` likewise. ``output``: write a new .net file (in the same folder) and leave
    ``path`` and its weight files alone; ``weights``: the .npz file for arrays too large to
    write into the .net file. ``write=False`` trains without writing anything.
    ``settings``: any setting of the ``train`` statement (``rate=0.3, epochs=5, seed=1``),
    overriding the file's. ``on_epoch``, ``on_update`` and ``on_batch`` receive the engine's
    records (:func:`netlang.training.fit`); ``on_warning`` each warning about the data (before
    training starts; also in ``Trained.warnings``).
    """
    from . import training

    overrides = checked_overrides(settings, os.fspath(path))
    provenance = prepare(path, seed=overrides.get("seed"))
    checked = provenance.checked
    resolved = checked.settings.resolved(overrides)
    base = Path(os.fspath(path)).parent
    if provenance.size == 0:
        raise NetlangError(
            "nothing in this file is learned: no param, param node or param layer feeds the network",
            filename=os.fspath(path),
            code="nothing-to-learn",
            hint="mark what training may change: param w = 0.5, param W[3, 2] = xavier(), param node y = ...",
        )
    plan = WritePlan(provenance, path, output, weights) if write else None
    if plan is not None:
        plan.check_writable()
    data = data if data is not None else _file_data(resolved, "data", checked.settings, base, path)
    validation = validation if validation is not None else _file_data(resolved, "validation", checked.settings, base, path, required=False)
    network = provenance.network
    warnings: List[NetlangError] = []
    inputs, targets = read_data(data, network, resolved, base, warnings)  # type: ignore[arg-type]
    valid = read_data(validation, network, resolved, base, warnings) if validation is not None else None
    for warning in warnings:
        if on_warning is not None:
            on_warning(warning)
    if on_ready is not None:
        on_ready(provenance, resolved)
    binding = provenance.binding()
    last: List[Any] = []

    def remember(epoch: Any) -> None:
        last[:] = [epoch]
        if on_epoch is not None:
            on_epoch(epoch)

    try:
        with _placed(provenance, data, validation):
            result = training.fit(
                network, binding, inputs, targets, engine_settings(resolved), validation=valid, on_epoch=remember, on_update=on_update,
                on_batch=on_batch,
            )
    except KeyboardInterrupt:
        if keep_last and last and plan is not None:
            plan.write(provenance.learned_values(last[0].theta))
        raise
    files = plan.write(provenance.learned_values(result.theta)) if plan is not None else []
    return Trained(result.network, result.history, resolved, files, result.converged_epoch, provenance, result.theta, (inputs, targets), warnings)


def _file_data(
    resolved: Dict[str, Any], key: str, settings: FileSettings, base: Path, path: PathLike, required: bool = True
) -> Optional[Data]:
    name = resolved.get(key)
    if name is None:
        if required:
            raise NetlangError(
                "no training data: give a data file",
                filename=os.fspath(path),
                code="no-data",
                hint='netlang train FILE --input DATA.csv, or write train data = "DATA.csv" in the file',
            )
        return None
    if key in settings.values and (Path(name).is_absolute() or ".." in Path(name).parts):
        raise NetlangError(
            f"train {key} reads files in the .net file's folder or below it, not '{name}'",
            settings.spans[key],
            filename=os.fspath(path),
            code="path-outside",
        )
    return base / name if key in settings.values else Path(name)


def gradient_check(path: PathLike, data: Optional[Data] = None, *, samples: int = 3, **settings: Any) -> List[Any]:
    """Backpropagation against numerical gradients for every learned value of the file, worst first
    (the engine's :func:`netlang.training.gradient_check`, over the first ``samples`` samples)."""
    from . import training

    overrides = checked_overrides(settings, os.fspath(path))
    provenance = prepare(path, seed=overrides.get("seed"))
    resolved = provenance.checked.settings.resolved(overrides)
    base = Path(os.fspath(path)).parent
    data = data if data is not None else _file_data(resolved, "data", provenance.checked.settings, base, path)
    inputs, targets = read_data(data, provenance.network, resolved, base)  # type: ignore[arg-type]
    with _placed(provenance, data, None):
        return list(
            training.gradient_check(provenance.network, provenance.binding(), inputs[:samples], targets[:samples], engine_settings(resolved))
        )


@contextmanager
def _placed(provenance: Provenance, data: Optional[Data], validation: Optional[Data]) -> Iterator[None]:
    """The engine's errors placed where they can be fixed: at the definition of the neuron at
    fault in the .net file, or in the data file whose samples are at fault."""
    from .training import TrainingError

    try:
        yield
    except TrainingError as problem:
        program = provenance.checked.program
        given = {"training": data, "validation": validation}.get(problem.data or "")
        if given is not None and not isinstance(given, tuple):
            raise NetlangError(problem.message, filename=os.fspath(given), code=problem.code, hint=problem.hint) from None
        if problem.data is not None:
            raise  # arrays given from Python: no file to name
        statement = statement_of(provenance.checked, problem.neuron) if problem.neuron else None
        raise NetlangError(
            problem.message,
            statement.name_span if statement is not None else None,
            filename=program.filename,
            source=program.source,
            code=problem.code,
            hint=problem.hint,
        ) from None
