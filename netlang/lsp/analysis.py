"""What the language server knows about one document, without any LSP machinery.

:class:`Analysis` runs the library on the editor's text once (``lint.diagnose``: parse with
recovery, check, expectations, warnings, exactly as ``netlang check``; what the document's
earlier versions kept, its :class:`Versions`, spares the work on what an edit did not touch)
and answers
every question an editor asks from that: the names under the cursor, their definitions and
uses, hovers, inlay hints, completions, renames, semantic tokens and fixes. Positions are
netlang's own (:class:`~netlang.nodes.Span`: 1-based lines and columns counted in
characters, end exclusive); ``netlang.lsp.server`` converts them to the protocol's.
"""

from __future__ import annotations

import bisect
import functools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..callables import BUILTINS, CALLABLES, PUBLIC_NAMES, is_activation
from ..checker import CheckedProgram
from ..errors import NetlangError
from ..formatter import format_source
from ..grids import Grid
from ..rounding import exact
from ..hints import TRANSPOSE
from ..lexical import FUNCTIONS, scan
from ..lint import diagnose
from ..nodes import (
    Call,
    Expect,
    Index,
    Input,
    Layer,
    Let,
    Name,
    Node,
    Output,
    Program,
    Span,
    Statement,
    String,
    walk,
)
from ..memo import Memo
from ..parser import IncrementalParser, gc_paused, keywords, parse_recovering
from ..numerals import format_number
from ..pipeline import text_source

if TYPE_CHECKING:  # pragma: no cover - numpy and the runtime are imported by the first hover that shows arrays
    import numpy as np

    from ..runtime import CompiledLayer, Network

# A neuron's equation in a hover shows this many terms, then says how many more there are.
MAX_TERMS = 12
# Vectors and matrices in hovers show this many values per row, and this many rows.
MAX_VALUES = 8
MAX_ROWS = 6
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
# A transposed matrix in a product, ``W.T @ x`` or ``W' @ x`` (left) and ``x @ W.T`` (right):
# netlang writes them the other way round, b @ a.
_OPERAND = r"[A-Za-z_][A-Za-z_0-9]*(?:\[[0-9]+\])?"
_TRANSPOSED_LEFT = re.compile(rf"(?P<a>{_OPERAND})(?P<mark>\.T\b|')\s*@\s*(?P<b>{_OPERAND})")
_TRANSPOSED_RIGHT = re.compile(rf"(?P<a>{_OPERAND})\s*@\s*(?P<b>{_OPERAND})(?P<mark>\.T\b|')")
# How often the names' collection asks whether it is still wanted (Analysis.prepare).
_STATEMENTS_BETWEEN_ASKING = 500
_DID_YOU_MEAN = re.compile(r"did you mean '([A-Za-z_][A-Za-z_0-9]*)'\?")


@dataclass(frozen=True)
class Symbol:
    """A name the file defines: ``kind`` is input, constant, node or layer."""

    name: str
    kind: str
    span: Span  # the name where it is defined
    statement: Statement


@dataclass(frozen=True)
class Occurrence:
    """A name as it appears in the text: where it is defined, read, listed as an output, or
    called (``kind`` function, for activations and ``load``)."""

    name: str
    span: Span
    kind: str  # definition, use, function
    node: object  # the AST node it belongs to (Name, Index, InputVar, Let, Node, Layer)


@dataclass(frozen=True)
class Edit:
    """Replace the text at ``span`` (empty for an insertion) with ``text``."""

    span: Span
    text: str


@dataclass(frozen=True)
class Fix:
    """A code action: one exact fix for a diagnostic."""

    title: str
    diagnostic: NetlangError
    edits: Tuple[Edit, ...]


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # input, constant, node, layer, function, keyword
    detail: str


@dataclass(frozen=True)
class InlayHint:
    line: int
    column: int
    label: str


@dataclass(frozen=True)
class DocumentSymbol:
    name: str
    kind: str  # input, constant, node, layer, output
    span: Span  # the whole statement
    selection: Span  # the name


class RenameRefused(Exception):
    """A rename that would break the file (the new name exists, is a keyword, is not a name)."""


_StatementNames = Tuple[Statement, List[Symbol], List[Occurrence]]


class Versions:
    """What the analyses of one open document keep from one version to the next, so that an
    edit costs what it touched: the incremental parser (which gives what ``parse_recovering``
    gives, re-parsing only the statements that changed), the checker's
    :class:`~netlang.memo.Memo` (the values of the definitions that did not change), and the
    names each statement defines and reads, by statement (the parser keeps the nodes of the
    statements an edit did not touch). Everything an analysis gives is what it gives without."""

    def __init__(self) -> None:
        self.parser = IncrementalParser()
        self.memo = Memo()
        self.names: Dict[int, _StatementNames] = {}  # by id(statement); the statement kept alive with them

    def __repr__(self) -> str:
        return f"Versions({self.parser!r}, {self.memo!r}, names of {len(self.names)} statements)"


class Analysis:
    """One version of one document: its diagnostics, its tree, and (when it has no errors) its
    checked program and compiled network.

    ``filename`` is the document's path: ``load(...)`` reads weight files beside it, as
    ``netlang check`` does for a file on disk. ``versions``: what the document's earlier
    analyses kept (:class:`Versions`), which this one uses and updates.
    """

    def __init__(self, text: str, filename: str, versions: Optional[Versions] = None) -> None:
        self.text = text
        self.filename = filename
        self.versions = versions
        self.parser = versions.parser if versions is not None else None
        memo = versions.memo if versions is not None else None
        self.diagnosis = diagnose(filename, source=text, parser=self.parser, memo=memo)
        self.diagnostics: List[NetlangError] = self.diagnosis.diagnostics
        self.checked: Optional[CheckedProgram] = self.diagnosis.checked
        self.has_syntax_errors = any(d.code == "syntax-error" for d in self.diagnostics)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._rows: Optional[Dict[str, Tuple[CompiledLayer, int]]] = None

    # The diagnostics are published before anything below is made (on the first question).

    @property
    def network(self) -> Optional[Network]:
        """The compiled network (None when the text has errors), lowered on the first question
        that needs it: the diagnostics do not."""
        return self.diagnosis.network

    @functools.cached_property
    def program(self) -> Program:
        """The tree: the checked program's, else the statements that parse."""
        if self.checked is not None:
            return self.checked.program
        try:
            parse = self.parser.parse if self.parser is not None else parse_recovering
            return parse(self.text, self.filename)[0]
        except NetlangError:  # only text over the size limit, already a diagnostic
            return Program((), self.filename)

    @functools.cached_property
    def _names(self) -> Tuple[Dict[str, Symbol], List[Occurrence], Dict[int, List[Occurrence]]]:
        names = self._make_names(lambda: True)
        assert names is not None
        return names

    def _make_names(self, still_wanted: Callable[[], bool]) -> Optional[Tuple[Dict[str, Symbol], List[Occurrence], Dict[int, List[Occurrence]]]]:
        # Thousands of small objects: the collector would scan the whole tree again and again
        # (a third of the time of a 1,000-line file).
        with gc_paused():
            collected = self._collect(still_wanted)
        if collected is None:
            return None
        symbols, occurrences = collected
        by_line: Dict[int, List[Occurrence]] = {}
        for occurrence in occurrences:
            by_line.setdefault(occurrence.span.line, []).append(occurrence)
        return symbols, occurrences, by_line

    @property
    def symbols(self) -> Dict[str, Symbol]:
        """The names the file defines (the first definition of each)."""
        return self._names[0]

    @property
    def occurrences(self) -> List[Occurrence]:
        """Every name in the file, in order."""
        return self._names[1]

    def prepare(self, still_wanted: Callable[[], bool] = lambda: True) -> None:
        """Make the names now, unless ``still_wanted()`` says no, which it is asked every
        ``_STATEMENTS_BETWEEN_ASKING`` statements (the server does it in its worker after the
        diagnostics, and gives up when the document changes again: the 10,000-line file's
        names take about 0.3 s, which the next analysis would wait for).

        The network is not made here but by the first hover that shows a compiled row: the
        next change's analysis would wait behind it (lowering a 10,000-line netlist takes
        about a second on the development machine; benchmarks/lsp.py).
        """
        if "_names" not in self.__dict__:
            names = self._make_names(still_wanted)
            if names is not None:
                self.__dict__["_names"] = names  # where functools.cached_property keeps it

    def __repr__(self) -> str:
        state = "ok" if self.checked is not None else f"{len(self.diagnostics)} diagnostics"
        return f"Analysis({self.filename!r}, {len(self.text)} characters, {state})"

    # -- names -------------------------------------------------------------------

    def _collect(self, still_wanted: Callable[[], bool]) -> Optional[Tuple[Dict[str, Symbol], List[Occurrence]]]:
        symbols: Dict[str, Symbol] = {}
        occurrences: List[Occurrence] = []
        # The names of the statements the last version had too (the very same nodes: an edit of
        # one weight of a 1,000-line file walks one statement instead of a thousand).
        known = self.versions.names if self.versions is not None else {}
        kept: Dict[int, _StatementNames] = {}
        for count, statement in enumerate(self.program.statements):
            if count % _STATEMENTS_BETWEEN_ASKING == 0 and not still_wanted():
                return None
            entry = known.get(id(statement))
            if entry is None or entry[0] is not statement:
                entry = (statement, *_statement_names(statement))
            kept[id(statement)] = entry
            for symbol in entry[1]:
                symbols.setdefault(symbol.name, symbol)
            occurrences += entry[2]
        if self.versions is not None:
            self.versions.names = kept
        occurrences.sort(key=lambda o: (o.span.line, o.span.column))
        return symbols, occurrences

    def occurrence_at(self, line: int, column: int) -> Optional[Occurrence]:
        """The name at (or just after, as when the cursor ends a word) ``line``:``column``."""
        found = None
        for occurrence in self._names[2].get(line, ()):
            span = occurrence.span
            if span.column <= column < span.end_column:
                return occurrence
            if column == span.end_column:
                found = occurrence
        return found

    def references(self, name: str, include_definition: bool = True) -> List[Occurrence]:
        """Every place ``name`` (a name the file defines) appears, in file order."""
        return [
            o
            for o in self.occurrences
            if o.name == name and o.kind != "function" and (include_definition or o.kind != "definition")
        ]

    def definition(self, line: int, column: int) -> Optional[Symbol]:
        occurrence = self.occurrence_at(line, column)
        if occurrence is None or occurrence.kind == "function":
            return None
        return self.symbols.get(occurrence.name)

    # -- rename --------------------------------------------------------------------

    def prepare_rename(self, line: int, column: int) -> Optional[Span]:
        occurrence = self.occurrence_at(line, column)
        if occurrence is None or occurrence.kind == "function" or occurrence.name not in self.symbols:
            return None
        return occurrence.span

    def rename(self, line: int, column: int, new_name: str) -> List[Edit]:
        """The edits that rename the name at ``line``:``column`` everywhere; or RenameRefused."""
        occurrence = self.occurrence_at(line, column)
        if occurrence is None or occurrence.kind == "function" or occurrence.name not in self.symbols:
            raise RenameRefused("there is no name defined in this file here")
        if self.has_syntax_errors:
            # A statement with a syntax error is not in the tree: its uses would be left behind.
            raise RenameRefused("fix the syntax errors first: a rename now could miss uses in the broken lines")
        if new_name in keywords():
            raise RenameRefused(f"'{new_name}' is a keyword; names cannot be keywords")
        if not _WORD.fullmatch(new_name):
            raise RenameRefused(f"'{new_name}' is not a name: names are letters, digits and '_', not starting with a digit")
        if new_name in self.symbols or new_name in FUNCTIONS:
            what = "a function" if new_name in FUNCTIONS else f"the name of a {self.symbols[new_name].kind}"
            raise RenameRefused(f"'{new_name}' is already {what} in this file")
        return [Edit(o.span, new_name) for o in self.references(occurrence.name)]

    # -- hover ---------------------------------------------------------------------

    def hover(self, line: int, column: int) -> Optional[Tuple[str, Span]]:
        """Markdown about the name at the position, and the span it is about."""
        occurrence = self.occurrence_at(line, column)
        load = self._load_call_at(line, column)
        if load is not None and (occurrence is None or occurrence.node is load):
            return self._load_text(load), load.span
        if occurrence is None:
            return None
        if occurrence.kind == "function":
            if is_activation(occurrence.name):
                summary = CALLABLES[occurrence.name].summary
                return f"```netlang\n{occurrence.name}(z)\n```\nactivation: {summary}", occurrence.span
            return None
        symbol = self.symbols.get(occurrence.name)
        if symbol is None:
            return None
        parts = [f"```netlang\n{_excerpt(self.statement_text(symbol.statement))}\n```"]
        details = self._details(symbol, occurrence)
        if details:
            parts.append(details)
        return "\n".join(parts), occurrence.span

    def statement_text(self, statement: Statement) -> str:
        return self.span_text(statement.span)

    def span_text(self, span: Span) -> str:
        start = self._offset(span.line, span.column)
        end = self._offset(span.end_line, span.end_column)
        return self.text[start:end]

    def _offset(self, line: int, column: int) -> int:
        if line - 1 >= len(self._line_starts):
            return len(self.text)
        return min(self._line_starts[line - 1] + column - 1, len(self.text))

    def _details(self, symbol: Symbol, occurrence: Occurrence) -> str:
        if isinstance(symbol.statement, Input):  # its size is written where it is declared
            size = next((var.size for var in symbol.statement.vars if var.name == symbol.name), None)
            return "input: one value" if size is None else f"input: a vector of {size} values"
        checked = self.checked
        if checked is None:
            return "(shapes and weights are shown when the file has no errors)"
        if symbol.kind == "constant":
            value = checked.constants.get(symbol.name)
            return "" if value is None else _constant_text(value)
        size = checked.sizes.get(symbol.name)
        if size is None:
            return self._row_text(symbol.name)
        if isinstance(occurrence.node, Index):
            return f"neuron {occurrence.node.index} of layer {symbol.name}:\n\n" + self._row_text(
                f"{symbol.name}[{occurrence.node.index}]"
            )
        return self._layer_text(symbol.name, size)

    def _compiled_rows(self) -> Dict[str, Tuple[CompiledLayer, int]]:
        if self._rows is None:
            self._rows = {}
            if self.network is not None:
                for layer in self.network.layers:
                    for i, row in enumerate(layer.rows):
                        self._rows[row] = (layer, i)
        return self._rows

    def _row_text(self, row_name: str) -> str:
        found = self._compiled_rows().get(row_name)
        if found is None:
            return ""
        layer, i = found
        return neuron_equation(layer, i)

    def _layer_text(self, name: str, size: int) -> str:
        rows = self._compiled_rows()
        first = rows.get(f"{name}[0]")
        if first is None:
            return f"layer: {size} neurons"
        layer, start = first
        weights = _row_weights(layer, start)
        columns = layer.columns
        read = sorted({columns[j] for j, _ in weights})
        reads = _signals_read(read)
        text = f"layer: {size} neurons, reading {reads}; weights {size}x{len(read)}"
        text += f" (rows {start}..{start + size - 1} of compiled layer {layer.index + 1}, {layer.shape[0]}x{layer.shape[1]})"
        shown = "\n".join(f"- {name}[{i}] = {neuron_equation(layer, start + i, detail=False)}" for i in range(min(size, MAX_ROWS)))
        more = f"\n- ... ({size - MAX_ROWS} more neurons)" if size > MAX_ROWS else ""
        return f"{text}\n\n{shown}{more}"

    @functools.cached_property
    def _starts(self) -> List[Tuple[int, int]]:
        return [(statement.span.line, statement.span.column) for statement in self.program.statements]

    def statement_at(self, line: int, column: int) -> Optional[Statement]:
        """The statement that spans ``line``:``column`` (statements are in file order)."""
        i = bisect.bisect_right(self._starts, (line, column)) - 1
        if i < 0:
            return None
        statement = self.program.statements[i]
        return statement if _contains(statement.span, line, column) else None

    def _load_call_at(self, line: int, column: int) -> Optional[Call]:
        statement = self.statement_at(line, column)
        for node in walk(statement) if statement is not None else ():
            if isinstance(node, Call) and node.func.id == "load" and _contains(node.span, line, column):
                return node
        return None

    def _load_text(self, call: Call) -> str:
        """A weight file's shape and dtype, from its header (the data is not read)."""
        strings = [arg.value for arg in call.args if isinstance(arg, String)]
        if not strings or len(strings) != len(call.args) or len(strings) > 2:
            return f"```netlang\n{_excerpt(self.span_text(call.span))}\n```\nload(\"w.npy\") or load(\"model.npz\", \"W1\")"
        # Where load(...) reads: the document's folder, as for the file on disk (pipeline.text_source).
        base = text_source(self.text, self.filename).base_dir or Path.cwd()
        key = strings[1] if len(strings) > 1 else None
        return f"`{strings[0]}`{f' array `{key}`' if key else ''}: {weight_file_header(base, strings[0], key)}"

    # -- inlay hints, symbols, completion --------------------------------------------

    def inlay_hints(self) -> List[InlayHint]:
        """The shape of every layer and vector or matrix constant, where the file does not write it."""
        checked = self.checked
        if checked is None:
            return []
        hints = []
        for statement in self.program.statements:
            if isinstance(statement, Layer) and statement.size is None:
                size = checked.sizes.get(statement.name)
                if size is not None:
                    hints.append(InlayHint(statement.name_span.end_line, statement.name_span.end_column, f"[{size}]"))
            elif isinstance(statement, Let):
                value = checked.constants.get(statement.name)
                if value is not None and not isinstance(value, float):  # an array: numpy's or a Grid
                    label = ": " + "x".join(str(n) for n in value.shape)
                    hints.append(InlayHint(statement.name_span.end_line, statement.name_span.end_column, label))
        return hints

    def document_symbols(self) -> List[DocumentSymbol]:
        found = []
        for statement in self.program.statements:
            if isinstance(statement, Input):
                for var in statement.vars:
                    found.append(DocumentSymbol(var.name, "input", var.span, _name_span(var.span, var.name)))
            elif isinstance(statement, (Let, Node, Layer)):
                kind = self.symbols[statement.name].kind if statement.name in self.symbols else "node"
                found.append(DocumentSymbol(statement.name, kind, statement.span, statement.name_span))
            elif isinstance(statement, Output):
                for name in statement.names:
                    found.append(DocumentSymbol(name.id, "output", name.span, name.span))
        return found

    def completions(self, line: int, column: int) -> List[Completion]:
        """Keywords where a statement starts; elsewhere the names in scope, activations and ``load``."""
        start = self._offset(line, 1)
        before = self.text[start : self._offset(line, column)]
        if _WORD.fullmatch(before.strip()) or not before.strip():
            return [Completion(word, "keyword", "keyword") for word in keywords()]
        items = []
        for symbol in self.symbols.values():
            items.append(Completion(symbol.name, symbol.kind, self._kind_text(symbol)))
        for name in PUBLIC_NAMES:
            items.append(Completion(name, "function", f"activation: {CALLABLES[name].summary}"))
        for name in BUILTINS:
            items.append(Completion(name, "function", CALLABLES[name].summary))
        if before.lstrip().startswith("expect"):
            items.append(Completion("within", "keyword", "keyword: the tolerance of an expect"))
        return items

    def _kind_text(self, symbol: Symbol) -> str:
        if self.checked is not None:
            size = self.checked.sizes.get(symbol.name)
            if size is not None:
                return f"{symbol.kind}[{size}]"
            value = self.checked.constants.get(symbol.name)
            if value is not None and not isinstance(value, float):
                return f"{symbol.kind}: {'x'.join(str(n) for n in value.shape)}"
        return symbol.kind

    # -- formatting, semantic tokens -------------------------------------------------

    def formatted(self) -> Optional[str]:
        """The text as ``netlang fmt`` lays it out; None when it has syntax errors (fmt refuses it too)."""
        if self.has_syntax_errors:
            return None
        try:
            return format_source(self.text, self.filename)
        except NetlangError:
            return None

    def semantic_tokens(self) -> List[Tuple[int, int, int, str]]:
        """(line, column, length, kind) of every token worth a colour, in order. Kinds: keyword,
        function, parameter (an input), variable, number, string, comment, operator."""
        tokens = []
        line, line_start = 1, 0
        for token in scan(self.text):
            kind = token.kind
            if kind in ("newline", "whitespace", "error", "bracket"):
                if "\n" in token.text:
                    line += token.text.count("\n")
                    line_start = token.offset + token.text.rindex("\n") + 1
                continue
            if kind == "name":
                symbol = self.symbols.get(token.text)
                if token.text in FUNCTIONS:
                    kind = "function"
                elif symbol is not None and symbol.kind == "input":
                    kind = "parameter"
                else:
                    kind = "variable"
            tokens.append((line, token.offset - line_start + 1, len(token.text), kind))
        return tokens

    # -- fixes -----------------------------------------------------------------------

    def fixes(self) -> List[Fix]:
        """Every diagnostic's one exact fix, where its hint has one."""
        found = []
        for diagnostic in self.diagnostics:
            fix = self._fix(diagnostic)
            if fix is not None:
                found.append(fix)
        return found

    def _fix(self, diagnostic: NetlangError) -> Optional[Fix]:
        span, hint = diagnostic.span, diagnostic.hint or ""
        if span.line < 1 or span.line != span.end_line:
            return None
        written = self.span_text(span)
        suggestions = _DID_YOU_MEAN.findall(hint)
        if len(suggestions) == 1 and _WORD.fullmatch(written):
            return Fix(f"Replace '{written}' with '{suggestions[0]}'", diagnostic, (Edit(span, suggestions[0]),))
        if diagnostic.code == "unknown-name" and _WORD.fullmatch(written) and "input" in hint:
            return Fix(f"Add '{written}' to the inputs", diagnostic, (self._add_input(written),))
        if diagnostic.code == "shape-mismatch" and "convention) would fit" in hint:
            return self._swap_product(diagnostic)
        if hint == TRANSPOSE:
            return self._without_transpose(diagnostic)
        return None

    def _without_transpose(self, diagnostic: NetlangError) -> Optional[Fix]:
        """``W.T @ x`` (or ``W' @ x``) as ``x @ W``, and ``x @ W.T`` as ``W @ x``: the transpose the
        hint says netlang writes by the order of the product."""
        line = diagnostic.span.line
        text = self.span_text(Span(line, 1, line + 1, 1)).rstrip("\n")
        for pattern in (_TRANSPOSED_LEFT, _TRANSPOSED_RIGHT):
            for match in pattern.finditer(text):
                if match.start("mark") + 1 == diagnostic.span.column:
                    swapped = f"{match.group('b')} @ {match.group('a')}"
                    span = Span(line, match.start() + 1, line, match.end() + 1)
                    return Fix(f"Rewrite as {swapped}", diagnostic, (Edit(span, swapped),))
        return None

    def _add_input(self, name: str) -> Edit:
        for statement in self.program.statements:
            if isinstance(statement, Input):
                end = statement.span
                return Edit(Span(end.end_line, end.end_column, end.end_line, end.end_column), f", {name}")
        first = self.program.statements[0].span.line if self.program.statements else 1
        return Edit(Span(first, 1, first, 1), f"input {name}\n")

    def _swap_product(self, diagnostic: NetlangError) -> Optional[Fix]:
        """``W @ x`` for ``x @ W`` (and back), when the hint says the other order fits."""
        statement = self.statement_at(diagnostic.span.line, diagnostic.span.column)
        if statement is not None:
            for node in walk(statement):
                if getattr(node, "span", None) == diagnostic.span and getattr(node, "ops", None) == ("@",):
                    left, right = node.operands  # type: ignore[attr-defined]
                    swapped = f"{self.span_text(right.span)} @ {self.span_text(left.span)}"
                    return Fix(f"Rewrite as {swapped}", diagnostic, (Edit(diagnostic.span, swapped),))
        return None


# --- helpers ------------------------------------------------------------------------


def _statement_names(statement: Statement) -> Tuple[List[Symbol], List[Occurrence]]:
    """The names ``statement`` defines, and every name in it: defined, read, or called."""
    symbols: List[Symbol] = []
    occurrences: List[Occurrence] = []
    add = occurrences.append
    if isinstance(statement, Input):
        for var in statement.vars:
            span = _name_span(var.span, var.name)
            symbols.append(Symbol(var.name, "input", span, statement))
            add(Occurrence(var.name, span, "definition", var))
        return symbols, occurrences
    if isinstance(statement, (Let, Node, Layer)):
        kind = {Let: "constant", Node: "node", Layer: "layer"}[type(statement)]
        symbols.append(Symbol(statement.name, kind, statement.name_span, statement))
        add(Occurrence(statement.name, statement.name_span, "definition", statement))
    functions = set()
    for node in walk(statement):
        if isinstance(node, Call):
            functions.add(id(node.func))
            add(Occurrence(node.func.id, node.func.span, "function", node))
        elif isinstance(node, Name) and id(node) not in functions:
            add(Occurrence(node.id, node.span, "use", node))
        elif isinstance(node, Index):
            add(Occurrence(node.name, _name_span(node.span, node.name), "use", node))
    return symbols, occurrences


def _name_span(span: Span, name: str) -> Span:
    """The name alone at the start of ``span`` (``x`` of ``x[3]``)."""
    return Span(span.line, span.column, span.line, span.column + len(name))


def _contains(span: Span, line: int, column: int) -> bool:
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _excerpt(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def _row_weights(layer: CompiledLayer, row: int) -> List[Tuple[int, float]]:
    """(column, weight) of the non-zero weights of one row, without making a sparse layer dense."""
    import numpy as np  # a compiled layer is numpy's: imported with it

    if layer.coo is not None:
        rows, cols, values = layer.coo
        lo, hi = np.searchsorted(rows, row), np.searchsorted(rows, row, side="right")
        return [(int(c), float(v)) for c, v in zip(cols[lo:hi], values[lo:hi]) if v != 0]
    weights = layer.weights[row]
    return [(int(j), float(weights[j])) for j in np.flatnonzero(weights)]


def neuron_equation(layer: CompiledLayer, row: int, detail: bool = True) -> str:
    """One row of a compiled layer as an equation with its weights filled in, and its threshold or bias."""
    columns = layer.columns
    weights = _row_weights(layer, row)
    terms = [_term(w, columns[j]) for j, w in weights[:MAX_TERMS]]
    if len(weights) > MAX_TERMS:
        terms.append(f"... ({len(weights) - MAX_TERMS} more terms)")
    total = " ".join(terms).lstrip("+ ") if terms else "0"
    if total.startswith("- "):
        total = "-" + total[2:]
    bias = float(layer.bias[row])
    activation = layer.activation[row]
    if activation in ("step", "step_ge"):
        compare = ">" if activation == "step" else ">="
        text = f"step({total} {compare} {format_number(-bias)})"
        if detail:
            text = f"`{text}`\n\nfires (1) when the weighted sum {compare} {format_number(-bias)}, the threshold; else 0"
        return text
    sign = "+" if bias >= 0 else "-"
    inner = f"{total} {sign} {format_number(abs(bias))}" if bias else total
    text = inner if activation == "identity" else f"{activation}({inner})"
    if detail:
        text = f"`{text}`\n\nbias {format_number(bias)}"
    return text


def _term(weight: float, column: str) -> str:
    sign = "-" if weight < 0 else "+"
    size = abs(weight)
    return f"{sign} {column}" if size == 1 else f"{sign} {format_number(size)}*{column}"


def _signals_read(columns: Sequence[str]) -> str:
    names: Dict[str, int] = {}
    for column in columns:
        base = column.split("[", 1)[0]
        names[base] = names.get(base, 0) + 1
    return ", ".join(f"{name} ({count})" if count > 1 else name for name, count in names.items()) or "no signal"


def _constant_text(value: Union[float, np.ndarray, Grid]) -> str:
    if isinstance(value, float):
        return f"constant: {format_number(exact(value))}"  # numpy's float, for an Inexact
    import numpy as np

    from ..display import format_value

    value = np.asarray(value)  # a Grid, as lint.diagnose checks without numpy
    if value.ndim == 1:
        shown = format_value(value[:MAX_VALUES])
        more = f" ... ({len(value)} values)" if len(value) > MAX_VALUES else ""
        return f"constant: a vector of {len(value)} values\n\n`{shown[:-1] + more + ']' if more else shown}`"
    rows, cols = value.shape
    lines = [format_value(row[:MAX_VALUES]) + (" ..." if cols > MAX_VALUES else "") for row in value[:MAX_ROWS]]
    if rows > MAX_ROWS:
        lines.append(f"... ({rows} rows)")
    body = "\n".join(lines)
    return f"constant: a {rows}x{cols} matrix ({rows} rows, {cols} columns)\n\n```\n{body}\n```"


def weight_file_header(base: Path, name: str, key: Optional[str] = None) -> str:
    """A .npy (or .npz member) file's shape and dtype from its header, without reading its data.

    The file is found as ``load(...)`` finds it (``files.inside``: the folder and below) and
    opened only if it is a regular file.
    """
    from ..files import FileError, inside, open_file, read_npy_header

    try:
        path = inside(base, name)
        suffix = path.suffix.lower()
        if suffix not in (".npy", ".npz"):
            return "CSV text, read as float64"
        with open_file(path, "weight file") as stream:
            if suffix == ".npy":
                shape, _, dtype = read_npy_header(stream, name)
            elif key is None:
                return "an .npz archive: name the array to load"
            else:
                with zipfile.ZipFile(stream) as archive, archive.open(key + ".npy") as member:
                    shape, _, dtype = read_npy_header(member, f"{name}/{key}")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, FileError) as error:
        return f"cannot read its header ({error})"
    return f"shape {'x'.join(str(n) for n in shape) or 'scalar'}, dtype {dtype}"
