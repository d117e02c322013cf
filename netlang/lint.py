"""The linter: warnings about a checked program, and every diagnostic of a file as data.

A warning is a :class:`~netlang.errors.NetlangError` with ``severity="warning"``,
located at the name it is about; it is reported, never raised:

- ``unused-input``: an input that no output depends on;
- ``unreachable``: a node or layer that no output depends on;
- ``unused-constant``: a constant that nothing reads.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Union

from .checker import CheckedProgram
from . import pipeline
from .dependencies import Dependencies
from . import limits
from .errors import NetlangError, Report, name_list
from .expectations import expectations
from .nodes import Expect, InputVar, Let, Output, Param, Program, Span, names_read

if TYPE_CHECKING:  # pragma: no cover - lowering (and numpy) only when the network is asked for
    from .memo import Memo
    from .parser import IncrementalParser
    from .runtime import Network


def find_warnings(checked: CheckedProgram) -> List[NetlangError]:
    """The warnings about ``checked``, in file order."""
    program = checked.program
    graph = checked.dependencies  # the checker's
    if graph is None:  # a CheckedProgram made by hand
        graph = Dependencies({definition.name: definition.value for definition in program.definitions()})
    readers = graph.readers()
    used_elsewhere: Set[str] = set()  # read by statements that define nothing
    for statement in program.statements:
        if isinstance(statement, (Output, Expect)):
            used_elsewhere |= set(names_read(statement))
    # The signals each output depends on, followed back through the definitions.
    reached = graph.reached(checked.outputs)

    # Every warning is found, then the first MAX_WARNINGS in file order are kept.
    report = Report(program.filename, program.source, severity="warning", limit=len(program.statements) + len(checked.inputs))
    for var in checked.inputs:
        if var.name in reached:
            continue
        if var.name in readers:
            message = f"input '{var.name}' is not used by any output"
            hint = f"it is read only by {_listing(readers[var.name])}, which no output depends on"
        else:
            message = f"input '{var.name}' is never used"
            # Not necessarily a mistake: an input can stand for a column of the data that the network
            # skips (a label), and removing it would shift every later column.
            hint = (
                "use it in a node or layer, or remove it; if it stands for a column of the data "
                "that the network does not read (a label), keep it: the data's columns follow the inputs"
            )
        report.add(message, _name_span(var), "unused-input", hint)
    for unit in checked.units:
        if unit.name not in reached:
            kind = "layer" if unit.size is not None else "node"
            hint = "add it to the 'output' statement, or remove it"
            report.add(f"{kind} '{unit.name}' does not reach any output", unit.statement.name_span, "unreachable", hint)
    for name, let in _lets(program).items():
        if name not in readers and name not in used_elsewhere:
            kind = "param" if isinstance(let, Param) else "constant"
            report.add(f"{kind} '{name}' is never used", let.name_span, "unused-constant", "remove it, or use it")
    ordered = sorted(report.found, key=lambda warning: (warning.span.line, warning.span.column))
    return ordered[: limits.MAX_WARNINGS]


@dataclass
class Diagnosis:
    """What ``netlang check`` finds in one file: its errors, or its checked program and warnings."""

    filename: str
    diagnostics: List[NetlangError] = field(default_factory=list)
    checked: Optional[CheckedProgram] = None  # None when the file has errors

    @functools.cached_property
    def network(self) -> Optional["Network"]:
        """The compiled network (None when the file has errors), lowered when first asked for:
        finding the diagnostics needs no lowering, so ``netlang check`` never imports the compiler."""
        return pipeline.lower(self.checked) if self.checked is not None else None

    @property
    def errors(self) -> List[NetlangError]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> List[NetlangError]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready data, as described by ``netlang/schema/diagnostics.schema.json``."""
        return {
            "file": self.filename,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def diagnose(
    path: Union[str, "os.PathLike[str]"],
    source: Optional[str] = None,
    parser: Optional["IncrementalParser"] = None,
    memo: Optional["Memo"] = None,
) -> Diagnosis:
    """Read, parse and check the .net file at ``path`` (its ``expect`` lines too); every error, or every warning.

    ``source``: the file's text as an editor holds it (unsaved), checked instead of the
    file's contents; ``load(...)`` still reads weight files beside ``path``. ``parser``: the
    document's incremental parser (the language server's), and ``memo``, the document's
    :class:`~netlang.memo.Memo`, as ``pipeline.check`` takes them.
    """
    filename = os.fspath(path)
    try:
        source_read = pipeline.read(filename) if source is None else pipeline.text_source(source, filename)
        checked = pipeline.check(source_read, parser=parser, memo=memo)
        expectations(checked)
    except NetlangError as error:
        return Diagnosis(filename, list(error.errors))
    return Diagnosis(filename, find_warnings(checked), checked)


def _lets(program: Program) -> Dict[str, Union[Let, Param]]:
    """The constants, learned (``param``) or not."""
    return {statement.name: statement for statement in program.statements if isinstance(statement, (Let, Param))}


def _name_span(var: InputVar) -> Span:
    """The name alone, without its ``[size]``."""
    return Span(var.span.line, var.span.column, var.span.line, var.span.column + len(var.name))


def _listing(names: List[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) > 8:  # an input read by thousands of nodes: its first readers
        return name_list(quoted, count="in all")
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]

