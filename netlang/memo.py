"""What one check of a document may take from the check of its previous version.

An editor checks a document again after every pause in typing, and an edit changes one or
two statements of it. A :class:`Memo` (one per open document, kept by the language server
beside its :class:`~netlang.parser.IncrementalParser`) remembers, for every node and layer the
previous check gave a value, the statement, what each name it reads meant then, the value
((activation, form, size)) and the folding work it took. The next check takes that value
instead of computing it again when the statement is equal (nodes are frozen; their spans do
not take part in equality, and a value holds no span), each number in it spelled alike, and
each name it reads means exactly the same: the same constant (bit for bit), a signal of the
same size, the same built-in.
Everything else (declarations, order, cycles, unknown names, constants, depths, outputs,
settings, every error) the checker does afresh, in its own code; a value is reused only where
computing it would give an equal one and no error, so the result is the one a check from
scratch gives (tests/test_memo.py compares the two over sequences of generated edits).

Statements that call ``load`` are always computed again: the file may have changed.
After a one-weight edit of the 1,000-line netlist of benchmarks/lsp.py, one node's value is
computed instead of a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union

from . import limits
from .callables import CALLABLES
from .grids import Grid
from .rounding import Inexact
from .nodes import Layer, Node, Number, walk

if TYPE_CHECKING:  # pragma: no cover
    from .checker import _Checker
    from .dependencies import Dependencies
    from .grids import Arrays
    from .values import Budget, Constant, Form

# What a name read by a definition meant: ("constant", value), ("signal", size) or ("function", None).
Meaning = Tuple[str, object]
Result = Tuple[str, "Form", Optional[int]]


@dataclass
class _Entry:
    statement: Union[Node, Layer]
    meanings: Tuple[Meaning, ...]
    result: Result
    spent: Tuple[int, int]  # the folding budget its value took: (multiply-adds, bytes)


class Memo:
    """The values of one document's nodes and layers from its previous check, for the next one."""

    def __init__(self) -> None:
        self.entries: Dict[str, _Entry] = {}
        self.recorded: Dict[str, _Entry] = {}
        self.dependencies: Optional[Dependencies] = None  # the previous check's graph
        self.arrays: Optional[Arrays] = None  # the kind of array of the previous check's values
        self.reused = 0  # values taken in the last check (for tests and benchmarks)

    def __repr__(self) -> str:
        return f"Memo({len(self.entries)} values, {self.reused} reused last time)"

    def definition(self, checker: "_Checker", statement: Union[Node, Layer]) -> Result:
        """``checker.values.definition(statement)``, or the equal value from the previous check."""
        name = statement.name
        reads = checker.dependencies.reads[name]
        budget = checker.values.budget
        entry = self.entries.get(name)
        if (
            entry is not None  # never a statement that loads a file: those are not kept
            and (entry.statement is statement or _same_statement(entry.statement, statement))
            and _mean_the_same(checker, reads, entry.meanings)
            and _affordable(budget, entry.spent)
        ):
            budget.multiply_adds += entry.spent[0]
            budget.bytes += entry.spent[1]
            if entry.statement is not statement:  # moved: the unit's statement is this version's
                entry = _Entry(statement, entry.meanings, entry.result, entry.spent)
            self.recorded[name] = entry
            self.reused += 1
            return entry.result
        before = budget.multiply_adds, budget.bytes
        result = checker.values.definition(statement)  # a Failed passes through: nothing is kept
        meanings = None if "load" in reads else _meanings(checker, reads)
        if meanings is not None:
            spent = budget.multiply_adds - before[0], budget.bytes - before[1]
            self.recorded[name] = _Entry(statement, meanings, result, spent)
        return result

    def start(self, arrays: "Arrays") -> None:
        """A check begins, its constant arrays of the kind ``arrays`` (a value made with the other
        kind is made again: the checked program holds one kind, as a check from scratch does)."""
        if arrays is not self.arrays:
            self.entries, self.arrays = {}, arrays
        self.recorded = {}
        self.reused = 0

    def finish(self, dependencies: "Dependencies") -> None:
        """A check ended (with errors or not): what it computed is what the next one may take."""
        self.entries, self.recorded = self.recorded, {}
        self.dependencies = dependencies


def _same_statement(old: Union[Node, Layer], new: Union[Node, Layer]) -> bool:
    """Equal, and each number spelled alike: a number's spelling does not take part in equality
    (``0`` equals ``1e-400``, which underflows to 0.0), but the checker reads it for its errors."""
    if old != new:
        return False
    return [n.text for n in walk(old) if isinstance(n, Number)] == [n.text for n in walk(new) if isinstance(n, Number)]


def _meanings(checker: "_Checker", reads: Dict[str, None]) -> Optional[Tuple[Meaning, ...]]:
    """What each name read means now; None if one is not settled (unknown, failed, not yet folded)."""
    meanings: List[Meaning] = []
    for name in reads:
        if name in checker.lets:
            if name not in checker.constants:
                return None
            meanings.append(("constant", checker.constants[name]))
        elif name in checker.signals:
            if name in checker.failed:
                return None
            meanings.append(("signal", checker.sizes[name]))
        elif name in CALLABLES:
            meanings.append(("function", None))
        else:
            return None
    return tuple(meanings)


def _mean_the_same(checker: "_Checker", reads: Dict[str, None], meanings: Tuple[Meaning, ...]) -> bool:
    """Whether each name read means now what ``meanings`` says (what ``_meanings`` would give,
    without making it: this runs for every unchanged node of the document)."""
    if len(reads) != len(meanings):
        return False
    lets, signals, constants, failed, sizes = checker.lets, checker.signals, checker.constants, checker.failed, checker.sizes
    for name, (kind, value) in zip(reads, meanings):
        if kind == "signal":
            if name in lets or name not in signals or name in failed or sizes[name] != value:
                return False
        elif kind == "constant":
            if name not in lets or name not in constants or not _same_constant(value, constants[name]):  # type: ignore[arg-type]
                return False
        elif name in lets or name in signals or name not in CALLABLES:
            return False
    return True


def _same_constant(a: "Constant", b: "Constant") -> bool:
    """Bit for bit: 0.0 and -0.0 give different products."""
    if a is b:
        return True
    if type(a) is not type(b) or type(a) is Inexact:
        return False  # two Inexacts may stand for different floats of numpy's
    if isinstance(a, float):
        return a.hex() == b.hex()  # type: ignore[union-attr]
    if isinstance(a, Grid):  # checked without numpy (netlang.grids)
        return a.same(b)  # type: ignore[arg-type]
    return bool(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())  # type: ignore[union-attr]


def _affordable(budget: "Budget", spent: Tuple[int, int]) -> bool:
    """Whether charging ``spent`` keeps within the program's folding budget (else the value is
    computed, so that the limit is reported where a check from scratch reports it)."""
    if spent == (0, 0):
        return True
    return (
        not budget.exhausted
        and budget.multiply_adds + spent[0] <= limits.MAX_FOLDING_MULTIPLY_ADDS
        and budget.bytes + spent[1] <= limits.MAX_FOLDED_BYTES
    )
