"""Provenance: which learned value of the .net file each entry of the compiled network comes from.

Training works on the compiled layers (``f(W s + b)``); write-back works on the file. The link
between them is found without looking inside the checker: the program is compiled twice more
with every learned value (a ``param``'s entries, each number of a ``param node`` or ``param
layer``) replaced by a tag, a distinct whole number. An entry of a layer that equals ``±tag``
in both tagged compiles (two different taggings) and ``±value`` in the plain one comes from that
value alone, as written, with that sign; an entry that is the same in all three compiles is
fixed. Anything else (``2*W``, ``W + 1``, a product of two learned numbers) is refused with a
located error, because training could not write its result back as the numbers in the file.

The sign is what a threshold needs: ``step(0.5*x1 + 0.5*x2 > 0.7)`` puts ``-0.7`` in the bias.
Training learns the network's entries (``theta``); a file value is ``sign * theta``, exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .checker import CheckedProgram, check
from .compiler import lower_to_layers
from .errors import NetlangError, combine
from .nodes import Expr, Layer, Node, Number, Param, Program, Span, walk
from .parser import gc_paused
from .runtime import Network

if TYPE_CHECKING:  # pragma: no cover
    from .training import Binding


@dataclass
class Source:
    """Learned values written in one place of the file: a param (``size`` entries) or one number.

    ``first`` is the index of its first value among all of the file's learned values.
    """

    first: int
    size: int
    shape: Tuple[int, ...]
    param: Optional[Param] = None  # a param's values
    number: Optional[Number] = None  # one number of a param node or layer
    statement: Optional[Union[Node, Layer]] = None  # the number's statement

    @property
    def span(self) -> Span:
        return self.param.span if self.param is not None else self.number.span  # type: ignore[union-attr]

    @property
    def name(self) -> str:
        if self.param is not None:
            return self.param.name
        return f"the number {self.number.text} in '{self.statement.name}'"  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"Source({self.name}, first={self.first}, size={self.size})"


@dataclass
class Provenance:
    """The network compiled from the file, its trainable entries and where each comes from.

    ``weight_index[k]`` (layer k's weight shape) and ``bias_index[k]`` hold, for every entry,
    the parameter it is (0..size-1) or -1 when fixed (None: nothing trainable in that layer),
    the engine's ``Binding``. ``theta0``: the parameters' initial values. Parameter ``i`` is the
    file's learned value ``values[i]`` (``sign[i] * theta[i]``); values no entry uses are left
    as they are.
    """

    checked: CheckedProgram
    network: Network
    sources: List[Source]
    initial: np.ndarray  # every learned value of the file, in source order
    weight_index: List[Optional[np.ndarray]]
    bias_index: List[Optional[np.ndarray]]
    values: np.ndarray  # the learned value (index into ``initial``) of each parameter
    sign: np.ndarray  # +1.0 or -1.0 per parameter
    theta0: np.ndarray

    @property
    def size(self) -> int:
        return len(self.theta0)

    def __repr__(self) -> str:
        return f"Provenance({len(self.sources)} sources, {len(self.initial)} values, {self.size} parameters)"

    def binding(self) -> "Binding":
        """The engine's :class:`netlang.training.Binding`."""
        from .training import Binding

        return Binding(self.weight_index, self.bias_index, self.size)

    def learned_values(self, theta: np.ndarray) -> np.ndarray:
        """Every learned value of the file after training to ``theta``."""
        values = self.initial.copy()
        values[self.values] = self.sign * theta
        return values


def sources_of(program: Program, constants: Mapping[str, Any]) -> List[Source]:
    """The learned values of ``program`` in file order: params (shapes from the checked ``constants``)
    and the numbers of param nodes and layers."""
    sources: List[Source] = []
    first = 0
    for statement in program.statements:
        if isinstance(statement, Param):
            shape = tuple(np.shape(constants[statement.name]))
            size = int(np.prod(shape)) if shape else 1
            sources.append(Source(first, size, shape, param=statement))
            first += size
        elif isinstance(statement, (Node, Layer)) and statement.learned:
            for node in walk(statement.value):
                if isinstance(node, Number):
                    sources.append(Source(first, 1, (), number=node, statement=statement))
                    first += 1
    return sources


def tagged(program: Program, sources: Sequence[Source], tags: np.ndarray) -> Tuple[Program, Dict[str, Union[float, np.ndarray]]]:
    """``program`` with every learned number replaced by its tag, and the tags of every param."""
    values: Dict[str, Union[float, np.ndarray]] = {}
    numbers: Dict[int, Number] = {}
    for source in sources:
        part = tags[source.first : source.first + source.size]
        if source.param is not None:
            values[source.param.name] = part.reshape(source.shape) if source.shape else float(part[0])
        else:
            assert source.number is not None
            tag = float(part[0])
            numbers[id(source.number)] = Number(tag, repr(tag), source.number.span)
    statements = [_replaced(s, numbers) if isinstance(s, (Node, Layer)) and s.learned else s for s in program.statements]
    return Program(tuple(statements), program.filename, program.comments, program.source), values  # type: ignore[arg-type]


def _replaced(node: object, numbers: Dict[int, Number]) -> object:
    """A copy of ``node`` with the numbers ``numbers`` names (by id) replaced."""
    if isinstance(node, Number):
        return numbers.get(id(node), node)
    if isinstance(node, tuple):
        return tuple(_replaced(item, numbers) for item in node)
    if hasattr(node, "__dataclass_fields__") and not isinstance(node, Span):
        changes = {}
        for name in node.__dataclass_fields__:
            value = getattr(node, name)
            if isinstance(value, (tuple, Number)) or hasattr(value, "__dataclass_fields__"):
                new = _replaced(value, numbers)
                if new is not value:
                    changes[name] = new
        if changes:
            return replace(node, **changes)  # type: ignore[type-var]
    return node


def trace(program: Program, base_dir: Optional[Path] = None, seed: Optional[int] = None) -> Provenance:
    """Compile ``program`` (whose ``load(...)`` reads from ``base_dir``) and find where each
    trainable entry of the network comes from. ``seed``: the initialisers' seed instead of the file's."""
    from .weights import WeightFiles

    base = base_dir
    files = WeightFiles(base)  # read once, for all three compiles
    with gc_paused():
        checked = check(program, program.source, base, weight_files=files, seed=seed)
        network = lower_to_layers(checked)
        sources = sources_of(program, checked.constants)
        count = sum(source.size for source in sources)
        initial = np.zeros(count)
        for source in sources:
            if source.param is not None:
                initial[source.first : source.first + source.size] = np.ravel(checked.constants[source.param.name])
            else:
                assert source.number is not None
                initial[source.first] = source.number.value
        # Two taggings no sum or product of tags can imitate in both: 1, 2, 3, ... and 2.5, 4.5, 6.5, ...
        first_tags = np.arange(1, count + 1, dtype=float)
        second_tags = 2.0 * first_tags + 0.5
        tagged_networks = []
        for tags in (first_tags, second_tags):
            tagged_program, values = tagged(program, sources, tags)
            tagged_checked = check(tagged_program, program.source, base, weight_files=files, seed=seed, param_values=values)
            tagged_networks.append(lower_to_layers(tagged_checked))
    return _bind(checked, network, tagged_networks, sources, initial, first_tags, second_tags)


def _bind(
    checked: CheckedProgram,
    network: Network,
    tagged_networks: List[Network],
    sources: List[Source],
    initial: np.ndarray,
    first_tags: np.ndarray,
    second_tags: np.ndarray,
) -> Provenance:
    count = len(initial)
    errors: List[NetlangError] = []
    sign_of = np.zeros(count)  # 0: no entry uses the value yet
    raw_weights: List[Optional[np.ndarray]] = []
    raw_biases: List[Optional[np.ndarray]] = []
    one, two = tagged_networks
    for k, layer in enumerate(network.layers):
        per_layer = []
        for plain, first, second, what in (
            (layer.weights, one.layers[k].weights, two.layers[k].weights, "weight"),
            (layer.bias, one.layers[k].bias, two.layers[k].bias, "bias"),
        ):
            if plain.shape != first.shape or plain.shape != second.shape:
                raise NetlangError(  # the layers' structure never depends on values; say so if it did
                    f"layer {k + 1} changes shape when its learned values change", filename=checked.program.filename, code="not-learnable"
                )
            index = np.full(plain.shape, -1, dtype=np.int64)
            fixed = (plain == first) & (plain == second)
            moving = ~fixed
            if moving.any():
                magnitude = np.abs(first[moving])
                candidate = magnitude.astype(np.int64) - 1
                valid = (magnitude == np.floor(magnitude)) & (candidate >= 0) & (candidate < count)
                candidate = np.where(valid, candidate, 0)
                sign = np.sign(first[moving])
                valid &= second[moving] == sign * second_tags[candidate]
                valid &= plain[moving] == sign * initial[candidate]
                if not valid.all():
                    bad = tuple(np.argwhere(moving)[np.argmin(valid)])
                    errors.append(_not_learnable(checked, layer, bad, what))
                    continue
                index[moving] = candidate
                for value, s in zip(candidate.tolist(), sign.tolist()):
                    if sign_of[value] == 0:
                        sign_of[value] = s
                    elif sign_of[value] != s:
                        errors.append(_both_signs(checked, sources, value))
                        sign_of[value] = s
            per_layer.append(index if moving.any() else None)
        raw_weights.append(per_layer[0] if len(per_layer) > 0 else None)
        raw_biases.append(per_layer[1] if len(per_layer) > 1 else None)
    if errors:
        raise combine(_unique(errors))
    # Parameters are numbered in the network's order (layer by layer, each layer's weights row by
    # row, then its bias), not the file's: a matrix used as `x @ W` is then bound in row-major order
    # too, which the engine trains without gathering or scattering (its fast path).
    found = [index.ravel() for pair in zip(raw_weights, raw_biases) for index in pair if index is not None]
    flat = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    flat = flat[flat >= 0]
    firsts = np.unique(flat, return_index=True)[1]
    used = flat[np.sort(firsts)]
    parameter = np.full(count + 1, -1, dtype=np.int64)  # the last entry maps -1 to -1
    parameter[used] = np.arange(len(used))
    weight_index = [None if index is None else parameter[index] for index in raw_weights]
    bias_index = [None if index is None else parameter[index] for index in raw_biases]
    sign = sign_of[used]
    theta0 = sign * initial[used]
    return Provenance(checked, network, sources, initial, weight_index, bias_index, used, sign, theta0)


def _unique(errors: List[NetlangError]) -> List[NetlangError]:
    seen = set()
    result = []
    for error in errors:
        key = (error.line, error.column, error.message)
        if key not in seen:
            seen.add(key)
            result.append(error)
    return result


def statement_of(checked: CheckedProgram, layer_row_name: str) -> Optional[Union[Node, Layer]]:
    """The node or layer statement that defines a neuron of the compiled network (``'y'``, ``'h[3]'``)."""
    name = layer_row_name.split("[", 1)[0]
    for unit in checked.units:
        if unit.name == name:
            return unit.statement
    return None


def _not_learnable(checked: CheckedProgram, layer: object, where: Tuple[int, ...], what: str) -> NetlangError:
    rows = layer.rows  # type: ignore[attr-defined]
    row = rows[where[0]]
    reads = f" from {layer.columns[where[1]]}" if what == "weight" else ""  # type: ignore[attr-defined]
    statement = statement_of(checked, row)
    return NetlangError(
        f"the {what} of {row}{reads} is computed from learned values, not one of them as written",
        statement.value.span if statement is not None else None,
        filename=checked.program.filename,
        source=checked.program.source,
        code="not-learnable",
        hint="training learns values used as they are (w*x, W @ x, x > theta); "
        "write the computed weight as its own param, or make the other values fixed (let)",
    )


def _both_signs(checked: CheckedProgram, sources: List[Source], value: int) -> NetlangError:
    source = next(s for s in sources if s.first <= value < s.first + s.size)
    return NetlangError(
        f"{source.name} is used both as it is and negated (as a threshold, or after a minus)",
        source.span,
        filename=checked.program.filename,
        source=checked.program.source,
        code="not-learnable",
        hint="training learns one value per entry of the network: use it with one sign, or make two params",
    )
