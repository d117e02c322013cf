"""The checker: what each name in a Program means, and whether the program makes a network.

It declares every input, constant, node and layer, orders the definitions by what they
read (refusing cycles), asks :mod:`netlang.values` for the value of each definition
(the constants folded, every node and layer an affine form ``W s + b``), gives each unit
its depth, and finds the outputs. Every error is collected, located. The result, a
:class:`CheckedProgram`, is what the compiler lowers and the interpreter evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple, Union

from . import limits
from .callables import CALLABLES
from .dependencies import Dependencies
from .errors import Failed, Report, combine, did_you_mean
from .files import FileError
from .lazynumpy import overflow_unwarned
from .forms import ScalarForm, VectorForm, keys_read, signal_of
from .grids import NUMPY, Arrays
from . import params as params_
from .nodes import Call, Expr, Index, Input, InputVar, Layer, Let, Name, Node, Output, Param, Program, Span, walk
from .values import Array, Budget, Constant, Signal, Values, is_constant
from .weights import WeightFiles

if TYPE_CHECKING:  # pragma: no cover - the language server's memo imports the checker
    from .memo import Memo

__all__ = ["CheckedProgram", "Constant", "Unit", "check"]


@dataclass
class Unit:
    """A checked node or layer: ``activation(form)``, ``size`` elements (None for a scalar node)."""

    name: str
    size: Optional[int]
    activation: str
    form: Union[ScalarForm, VectorForm]
    statement: Union[Node, Layer]
    depth: int = 0

    @property
    def width(self) -> int:
        return 1 if self.size is None else self.size

    def __repr__(self) -> str:
        shape = "" if self.size is None else f"[{self.size}]"
        return f"Unit({self.name}{shape} = {self.activation}(...), depth={self.depth})"


@dataclass
class CheckedProgram:
    """A program that passed every check, ready to lower to layers or to interpret."""

    program: Program
    inputs: List[InputVar]
    constants: Dict[str, Constant]
    units: List[Unit]  # in evaluation order: by depth, then as defined
    outputs: List[str]
    sizes: Dict[str, Optional[int]] = field(default_factory=dict)  # every signal: None when scalar
    base_dir: Optional[Path] = None  # where load(...) reads files from
    # The arrays load(...) read, by its arguments: the interpreter uses them, never reading a file again.
    loaded: Dict[Tuple[str, Optional[str]], Array] = field(default_factory=dict)
    settings: params_.Settings = field(default_factory=params_.Settings)  # the train statements'
    dependencies: Optional[Dependencies] = None  # which names each definition reads (the linter's too)

    def __repr__(self) -> str:
        return f"CheckedProgram({self.program.filename!r}, {len(self.inputs)} inputs, {len(self.units)} units, outputs={self.outputs})"

    def columns(self, names: Iterable[str]) -> List[str]:
        """The elements of the signals ``names``, named as a network's columns are (``x1``, ``v[0]``, ``v[1]``)."""
        found: List[str] = []
        for name in names:
            size = self.sizes[name]
            found += [name] if size is None else [f"{name}[{i}]" for i in range(size)]
        return found

    @property
    def layer_count(self) -> int:
        """The number of layers the compiler makes: one per depth."""
        return len({unit.depth for unit in self.units})


def check(
    program: Program,
    source: Optional[str] = None,
    base_dir: Optional[Path] = None,
    unparsed: Iterable[str] = (),
    weight_files: Optional[WeightFiles] = None,
    *,
    param_values: Optional[Mapping[str, Constant]] = None,
    seed: Optional[int] = None,
    memo: Optional[Memo] = None,
    arrays: Arrays = NUMPY,
) -> CheckedProgram:
    """Check ``program``; raise one NetlangError carrying every error found.

    ``unparsed``: names that statements left out of ``program`` (for their syntax errors) may
    define. A statement that reads one is not checked, and is not blamed for it.
    ``weight_files`` reads the files of ``load(...)`` and records them (by default, from ``base_dir``).
    ``param_values``: values for params, used instead of what the file gives them (training's
    provenance); ``seed``: the initialisers' seed instead of the file's ``train seed``.
    ``memo``: the document's :class:`~netlang.memo.Memo` (an editor's), from which the values
    of unchanged definitions are taken; the result is the same.
    ``arrays``: the kind of array of its constants: numpy's (to lower), or ``grids.GRIDS`` (to
    check alone, without numpy; the same errors, by the same rules: netlang.grids). With Grids,
    ``weight_files`` must read Grids too.
    """
    # Constant folding may overflow; every result is checked (checked_number, checked_array,
    # and the weights of each unit), so numpy's warnings would only repeat the located error.
    # A program is checked without numpy unless numpy's own result is needed (netlang.grids),
    # so they are turned off without importing it (and a caller's np.seterr(all='raise') stays out).
    with overflow_unwarned():
        files = weight_files if weight_files is not None else WeightFiles(base_dir, arrays)
        checker = _Checker(program, source, base_dir, frozenset(unparsed), files, arrays)
        checker.param_values = param_values or {}
        checker.seed = seed
        checker.memo = memo
        return checker.run()


class _Checker:
    """One check of one program; implements :class:`values.Scope` for the values of its expressions,
    and :class:`params.ParamScope` for its params and train settings."""

    def __init__(
        self,
        program: Program,
        source: Optional[str],
        base_dir: Optional[Path],
        unparsed: FrozenSet[str],
        weight_files: WeightFiles,
        arrays: Arrays = NUMPY,
    ) -> None:
        self.program = program
        self.weight_files = weight_files
        self.unparsed = unparsed
        self.base_dir = base_dir
        self.report = Report(program.filename, source)
        self.lets: Dict[str, Union[Let, Param]] = {}
        self.signals: Dict[str, Union[InputVar, Node, Layer]] = {}
        self.sizes: Dict[str, Optional[int]] = {}
        self.definition_span: Dict[str, Span] = {}
        self.constants: Dict[str, Constant] = {}
        self.definitions: Dict[str, Union[Let, Param, Node, Layer]] = {}
        self.param_values: Mapping[str, Constant] = {}
        self.seed: Optional[int] = None
        self.failed: Set[str] = set()  # definitions with an error (reported) or in a cycle
        budget = Budget()  # one for the whole program, constants and definitions alike
        self.arrays = arrays
        self.values = Values(self, budget, arrays)
        self.constant_values = Values(_ConstantsOnly(self), budget, arrays)
        self.dependencies = Dependencies({})
        self.memo: Optional[Memo] = None

    def __repr__(self) -> str:
        return f"_Checker({self.program.filename!r}, {len(self.report.found)} errors)"

    # -- reporting -------------------------------------------------------------

    def error(self, message: str, span: Span, code: str, hint: Optional[str] = None) -> Failed:
        self.report.add(message, span, code, hint)
        return Failed()

    # -- driver ------------------------------------------------------------------

    def run(self) -> CheckedProgram:
        if self.memo is not None:
            self.memo.start(self.arrays)
        inputs = self.declare()
        units: List[Unit] = []
        signals = sum(var.size or 1 for var in inputs if var.name not in self.failed)
        for name in self.definition_order():
            statement = self.definitions[name]
            if name in self.failed:
                continue  # its error (a bad size, a cycle) is reported already
            if self.report_unknown_names(statement):
                self.failed.add(name)
                continue
            try:
                if isinstance(statement, (Let, Param)):
                    self.constant(name)
                else:
                    memo = self.memo
                    activation, form, size = self.values.definition(statement) if memo is None else memo.definition(self, statement)
                    unit = Unit(name, size, activation, form, statement)
                    self.sizes[name] = size
                    units.append(unit)
                    signals += unit.width
                    if signals > limits.MAX_SIGNALS:
                        # Stop here: every further unit would only cost more memory. Report it
                        # only if this unit crossed the limit (the inputs alone are reported).
                        if signals - unit.width <= limits.MAX_SIGNALS:
                            self.error(
                                f"with '{name}', the network has {signals} signals (input elements and neurons); "
                                f"the limit is {limits.MAX_SIGNALS}",
                                statement.name_span,
                                "limit-exceeded",
                            )
                        break
            except Failed:
                self.failed.add(name)
        units = _with_depths(units, self.definitions)
        outputs = _outputs(self, units)
        settings = params_.train_settings(self, self.program.statements)
        if not self.report.found:  # reported alone, as when lowering found them
            for unit in units:
                if not unit.form.finite():
                    self.error(
                        f"the weights of '{unit.name}' overflow: they are too large to represent",
                        unit.statement.value.span,
                        "number-out-of-range",
                        hint="weights must lie within about ±1.8e308",
                    )
        if self.memo is not None:
            self.memo.finish(self.dependencies)
        if self.report.found:
            raise combine(self.report.found)
        return CheckedProgram(
            self.program, inputs, self.constants, units, outputs, self.sizes, self.base_dir, self.weight_files.arrays, settings,
            self.dependencies,
        )

    def declare(self) -> List[InputVar]:
        inputs: List[InputVar] = []
        total = 0
        for statement in self.program.statements:
            if isinstance(statement, Input):
                for var in statement.vars:
                    if self.define(var.name, var.span):
                        if self.usable_size(var.size, var.span, f"input {var.name}"):
                            total += var.size or 1
                        else:
                            self.failed.add(var.name)  # so nothing allocates a vector of that size
                        self.signals[var.name] = var
                        self.sizes[var.name] = var.size
                        inputs.append(var)
            elif isinstance(statement, (Let, Param)):
                if self.define(statement.name, statement.name_span):
                    self.lets[statement.name] = statement
                    self.definitions[statement.name] = statement
            elif isinstance(statement, (Node, Layer)):
                if self.define(statement.name, statement.name_span):
                    self.signals[statement.name] = statement
                    self.definitions[statement.name] = statement
                    size = statement.size if isinstance(statement, Layer) else None
                    if not self.usable_size(size, statement.name_span, f"layer {statement.name}"):
                        self.failed.add(statement.name)
                    self.sizes[statement.name] = size
        if total > limits.MAX_SIGNALS:
            self.error(
                f"the inputs have {total} elements in all; the limit is {limits.MAX_SIGNALS}",
                inputs[0].span,
                "limit-exceeded",
            )
        return inputs

    def define(self, name: str, span: Span) -> bool:
        if name in self.definition_span:
            first = self.definition_span[name]
            self.error(
                f"'{name}' is already defined (at line {first.line})",
                span,
                "duplicate-definition",
                hint="give each input, constant, node and layer its own name",
            )
            return False
        if name in CALLABLES:
            self.error(
                f"'{name}' is the name of a built-in function and cannot be redefined",
                span,
                "reserved-name",
                hint="choose another name",
            )
            return False
        self.definition_span[name] = span
        return True

    def usable_size(self, size: Optional[int], span: Span, what: str) -> bool:
        """Whether a declared vector size is usable (if not, the error is reported)."""
        if size is None:
            return True
        if size < 1:
            self.error(f"{what} has {size} elements; a vector needs at least one", span, "bad-size")
            return False
        if size > limits.MAX_VECTOR_SIZE:
            self.error(
                f"{what} has {size} elements; the limit is {limits.MAX_VECTOR_SIZE}",
                span,
                "limit-exceeded",
            )
            return False
        return True

    # -- constants ---------------------------------------------------------------

    def constant(self, name: str) -> Constant:
        if name in self.constants:
            return self.constants[name]
        if name in self.failed or name not in self.lets:
            raise Failed()  # its error is reported already
        statement = self.lets[name]
        if isinstance(statement, Param):
            seed = self.seed if self.seed is not None else params_.file_seed(self.program.statements)
            value = params_.param_value(self, statement, self.param_values.get(name), seed, self.arrays)
        else:
            value = self.fold(statement.value)
        self.constants[name] = value
        return value

    def fold(self, expr: Expr) -> Constant:
        """The value of a constant expression (the ParamScope of params and settings)."""
        value = self.constant_values.value(expr)
        assert is_constant(value)
        return value

    # -- the Scope of values ---------------------------------------------------------

    def resolve(self, name: str, span: Span, indexed: bool) -> Union[Constant, Signal]:
        if name in self.lets:
            return self.constant(name)
        if name in self.signals:
            if name in self.failed:
                raise Failed()
            return Signal(name, self.sizes[name])
        if name in CALLABLES and not indexed:
            raise self.error(f"'{name}' is a function: call it with parentheses, {name}(...)", span, "function-as-value")
        raise self.unknown_name(name, span)

    def is_scalar_signal(self, name: str) -> bool:
        return name in self.signals and name not in self.lets and name not in self.failed and self.sizes.get(name, 0) is None

    def read_weights(self, path: str, key: Optional[str], path_span: Span, span: Span) -> Array:
        # A .net file reads only files in its own folder and below it, so that one from
        # elsewhere (a course, a download) cannot read, or report on, any other file.
        # Both separators count: the file may come from another system.
        if _outside_folder(path):
            raise self.error(
                f"load reads files in the .net file's folder or below it, not '{path}'",
                path_span,
                "path-outside",
                hint="put the weight file beside the .net file and load it by its name",
            )
        try:
            return self.weight_files.load(path, key)
        except FileError as problem:
            raise self.error(str(problem), span, problem.code, hint=problem.hint) from None

    # -- names -------------------------------------------------------------------

    def report_unknown_names(self, statement: Union[Let, Param, Node, Layer]) -> bool:
        """Report every name in ``statement`` that nothing defines, once each; True if there was one.

        All of them at once (not only the first the checker would meet), with one hint for
        the ones that look like undeclared inputs.
        """
        defined = self.definition_span
        if all(n in defined or n in CALLABLES for n in self.dependencies.reads[statement.name]):
            return False  # the usual case, found without the walk that collects places
        functions = {id(node.func) for node in walk(statement.value) if isinstance(node, Call)}
        unknown: Dict[str, Span] = {}
        for node in walk(statement.value):
            if isinstance(node, Name) and id(node) not in functions:
                name, span = node.id, node.span
            elif isinstance(node, Index):
                name, span = node.name, node.span
            else:
                continue
            if name not in self.definition_span and name not in CALLABLES and name not in self.unparsed:
                unknown.setdefault(name, span)
        known = list(self.definition_span)
        undeclared = [name for name in unknown if did_you_mean(name, known) is None]
        as_input = _as_input_hint(self.program, undeclared)
        for name, span in unknown.items():
            if name in undeclared and not isinstance(statement, (Let, Param)):
                self.unknown_name(name, span, hint=as_input)
            else:
                self.unknown_name(name, span)
        # A name whose definition has a syntax error: this statement cannot be checked yet.
        return bool(unknown) or any(n in self.unparsed for n in self.dependencies.reads[statement.name])

    def unknown_name(self, name: str, span: Span, hint: Optional[str] = None) -> Failed:
        if name in self.unparsed:
            return Failed()  # its definition has a syntax error, reported already
        if hint is not None:
            return self.error(f"unknown name '{name}'", span, "unknown-name", hint=hint)
        known = list(self.definition_span)
        hint = did_you_mean(name, known)
        if hint is None and 0 < len(known) <= 8:
            hint = f"the names defined in this file are {', '.join(known)}"
        elif hint is None:
            hint = "define it with 'input', 'let', 'node' or 'layer'"
        return self.error(f"unknown name '{name}'", span, "unknown-name", hint=hint)

    # -- order -----------------------------------------------------------------

    def definition_order(self) -> List[str]:
        """Constants, nodes and layers, each after every definition it names; cycles are errors."""
        values = {name: statement.value for name, statement in self.definitions.items()}
        self.dependencies = Dependencies(values, self.memo.dependencies if self.memo is not None else None)
        return self.dependencies.order(self.report_cycle)

    def report_cycle(self, cycle: List[str]) -> None:
        if self.failed.intersection(cycle):
            return
        self.failed.update(cycle)
        # Start from the first definition in the file, so the message reads in file order.
        spans = {name: self.definitions[name].name_span for name in cycle}
        first = min(cycle, key=lambda n: (spans[n].line, spans[n].column))
        message, hint = _cycle_words(cycle, first, constants=all(name in self.lets for name in cycle))
        self.error(message, spans[first], "cycle", hint=hint)


def _outputs(checker: _Checker, units: List[Unit]) -> List[str]:
    """The outputs: those the output statement lists, else every node and layer that no other reads."""
    statements = [s for s in checker.program.statements if isinstance(s, Output)]
    for extra in statements[1:]:
        checker.error(
            f"outputs are already listed (at line {statements[0].span.line})",
            extra.span,
            "duplicate-output",
            hint="list every output in one 'output' statement",
        )
    if statements:
        outputs: List[str] = []
        for name in statements[0].names:
            if name.id in outputs:
                checker.error(f"'{name.id}' is listed twice as an output", name.span, "duplicate-output")
            elif name.id not in checker.signals:
                if name.id in checker.lets:
                    checker.error(
                        f"'{name.id}' is a constant; outputs are inputs, nodes or layers",
                        name.span,
                        "bad-output",
                    )
                else:
                    checker.unknown_name(name.id, name.span)
            else:
                outputs.append(name.id)
        return outputs
    read: Set[str] = set()
    for unit in units:
        read.update(signal_of(key) for key in keys_read(unit.form))
    defined = [s for s in checker.signals.values() if isinstance(s, (Node, Layer))]
    if not any(isinstance(s, (Node, Layer)) for s in checker.program.statements) and not checker.unparsed:
        span = checker.program.statements[0].span if checker.program.statements else Span(1, 1, 1, 2)
        checker.error(
            "the network has no nodes or layers, so it has no outputs",
            span,
            "no-outputs",
            hint="define a neuron, e.g. node y = step(x1 > 0.5)",
        )
        return []
    return [s.name for s in defined if s.name not in read]


def _as_input_hint(program: Program, undeclared: List[str]) -> str:
    """The hint for names nothing defines that look like inputs the file forgot to declare."""
    names = " and ".join(undeclared) if len(undeclared) <= 3 else ", ".join(undeclared)
    inputs = [var.name if var.size is None else f"{var.name}[{var.size}]" for var in program.inputs()]
    if inputs:
        new = "is a new input, add it" if len(undeclared) == 1 else "are new inputs, add them"
        return f"the inputs are {', '.join(inputs)}; if {names} {new}: input {', '.join(inputs + undeclared)}"
    new = "is an input, declare it" if len(undeclared) == 1 else "are inputs, declare them"
    return f"if {names} {new}: input {', '.join(undeclared)}"


def _cycle_words(cycle: List[str], first: str, constants: bool) -> Tuple[str, str]:
    """The message and hint of a cycle of definitions, read from ``first``."""
    start = cycle.index(first)
    chain = " -> ".join(cycle[start:] + cycle[:start] + [first])
    if constants:
        return (
            f"these constants are defined in terms of each other: {chain}",
            "a constant cannot depend on itself; give one of them a number",
        )
    return (
        f"these definitions depend on each other in a cycle: {chain} (each reads the next)",
        "signals must flow one way, from inputs to outputs: break the cycle",
    )


def _with_depths(units: List[Unit], definitions: Dict[str, Union[Let, Param, Node, Layer]]) -> List[Unit]:
    """Units by depth (1 + the deepest signal read; inputs are at depth 0), then as defined."""
    depth: Dict[str, int] = {}
    for unit in units:  # dependencies come first
        # A loop, not max() over a generator: a third of the time on a 1,000-node netlist.
        deepest = 0
        for key in keys_read(unit.form):
            read = depth.get(signal_of(key), 0)
            if read > deepest:
                deepest = read
        unit.depth = depth[unit.name] = deepest + 1
    position = {name: i for i, name in enumerate(definitions)}
    return sorted(units, key=lambda unit: (unit.depth, position[unit.name]))


def _outside_folder(path: str) -> bool:
    """Whether ``load(path)`` names a file outside the .net file's folder (either separator counts)."""
    parts = PureWindowsPath(path).parts
    return bool(PureWindowsPath(path).anchor) or PurePosixPath(path).is_absolute() or ".." in parts


class _ConstantsOnly:
    """The checker's Scope for the value of a constant, which may not read a signal."""

    def __init__(self, checker: _Checker) -> None:
        self.checker = checker
        self.error = checker.error
        self.read_weights = checker.read_weights

    def __repr__(self) -> str:
        return f"_ConstantsOnly({self.checker!r})"

    def resolve(self, name: str, span: Span, indexed: bool) -> Union[Constant, Signal]:
        if name in self.checker.signals and name not in self.checker.lets:
            raise self.error(
                f"a constant cannot depend on '{name}', which is a signal, not a constant",
                span,
                "signal-in-constant",
                hint="use 'node' or 'layer' for values computed from inputs",
            )
        return self.checker.resolve(name, span, indexed)

    def is_scalar_signal(self, name: str) -> bool:
        return False
