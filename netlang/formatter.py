"""The formatter (a tool beside the pipeline): a parsed program back to text in netlang's one canonical layout, every comment kept.

The layout is described in docs/fmt.md. The formatter works on the AST and on the
comments the parser collects beside it (``Program.comments``, each with a span): it
never re-reads the text, so it cannot disagree with the grammar about what the text means.

Comments are placed by position. A comment before a statement stays on its own line before
it; one after the end of a statement stays at the end of its line. A comment inside a
bracketed list (a vector, a matrix, a call's arguments, an ``expect`` tuple) breaks that
list one element per line and stays between the same elements. A comment anywhere else
inside a statement (inside a sum, say) has no line of its own to stay on once the statement
is laid out, so it moves to the line above that statement, or above that list element.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from . import limits
from .nodes import (
    Call,
    Comment,
    Compare,
    Expect,
    Expr,
    Index,
    Input,
    Layer,
    Let,
    Name,
    Node,
    Number,
    Output,
    Param,
    Product,
    Program,
    Span,
    Statement,
    String,
    Sum,
    Train,
    UnaryOp,
    Precedence,
    Vector,
    children,
    precedence,
)
from .numerals import format_number
from .parser import parse

WIDTH = 88  # a statement longer than this breaks its bracketed lists, outermost first
INDENT = 4  # the elements of a broken list, relative to the line that opens it
COMMENT_GAP = 2  # spaces between code and a trailing comment, at the least

# Binding strength (nodes.Precedence), loosest first: an operand is parenthesized when it
# binds more loosely than its place needs.
_COMPARE, _SUM, _PRODUCT, _UNARY = Precedence.COMPARE, Precedence.SUM, Precedence.PRODUCT, Precedence.UNARY

Position = Tuple[int, int]


def format_source(text: str, filename: str = "<string>") -> str:
    """``text`` in the canonical layout. Raises :class:`~netlang.NetlangError` for syntax errors."""
    return format_program(parse(text, filename))


def format_program(program: Program) -> str:
    """A parsed program in the canonical layout, with the comments collected by the parser."""
    return _Formatter(program).text()


# --- comments: where each one goes ---------------------------------------------------


def _start(span: Span) -> Position:
    return (span.line, span.column)


def _end(span: Span) -> Position:
    return (span.end_line, span.end_column)


@dataclass(eq=False)
class _List:
    """A bracketed, comma-separated list: a vector, a call's arguments, an expect tuple."""

    key: object  # identifies the list within one statement
    items: Tuple[Expr, ...]
    opener: str  # what comes before the elements, e.g. "sigmoid(" or "["
    closer: str
    inside: Tuple[Position, Position]  # comments strictly between these are inside the list
    opener_line: int
    span_end: Span  # where the list ends (its closing bracket, for vectors and calls)
    is_matrix: bool = False
    is_filled: bool = False  # a vector of plain values: packed several to a line when broken

    def __repr__(self) -> str:
        return f"_List({self.opener}...{self.closer}, {len(self.items)} items)"


def _as_list(expr: Expr) -> Optional[_List]:
    if isinstance(expr, Vector):
        matrix = _is_matrix(expr)
        filled = not matrix and all(_is_plain(item) for item in expr.items)
        return _List(id(expr), expr.items, "[", "]", (_start(expr.span), _end(expr.span)), expr.span.line, expr.span, matrix, filled)
    if isinstance(expr, Call):
        span = expr.span
        return _List(id(expr), expr.args, expr.func.id + "(", ")", (_end(expr.func.span), _end(span)), span.line, span)
    return None


def _is_matrix(expr: object) -> bool:
    """A vector of two or more vectors: laid out one row per line."""
    return isinstance(expr, Vector) and len(expr.items) >= 2 and all(isinstance(item, Vector) for item in expr.items)


def _is_plain(expr: Expr) -> bool:
    """A number, a name or a string, signed or not: one short word."""
    while isinstance(expr, UnaryOp):
        expr = expr.operand
    return isinstance(expr, (Number, Name, Index, String))


def _tuple_list(key: object, items: Tuple[Expr, ...]) -> _List:
    """An expect tuple ``(a, b)``; the parser keeps no span for its parentheses, so only
    comments between its elements count as inside it."""
    first, last = items[0].span, items[-1].span
    return _List(key, items, "(", ")", (_start(first), _end(last)), first.line, last)


def _outer_lists(expr: Optional[Expr]) -> Iterator[_List]:
    """The lists in ``expr`` that are not inside another list, in source order."""
    stack = [expr] if expr is not None else []
    while stack:
        node = stack.pop()
        found = _as_list(node)
        if found is not None:
            yield found
            continue
        if isinstance(node, (Sum, Product)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, UnaryOp):
            stack.append(node.operand)
        elif isinstance(node, Compare):
            stack.extend((node.right, node.left))


def _statement_lists(statement: Statement) -> List[_List]:
    if isinstance(statement, (Let, Node, Layer, Param)):
        return list(_outer_lists(statement.value))
    if isinstance(statement, Train):
        return [found for setting in statement.settings for found in _outer_lists(setting.value)]
    if isinstance(statement, Expect):
        found: List[_List] = []
        for side, values in (("in", statement.inputs), ("out", statement.outputs)):
            if len(values) > 1:
                found.append(_tuple_list((side, id(statement)), values))
            else:
                found.extend(_outer_lists(values[0]))
        found.extend(_outer_lists(statement.tolerance))
        return found
    return []


@dataclass
class _Plan:
    """Where the comments inside one statement go, and which of its lists are broken."""

    hoisted: List[Comment] = field(default_factory=list)  # own lines, above the statement
    after_opener: Dict[object, Comment] = field(default_factory=dict)
    before_item: Dict[Tuple[object, int], List[Comment]] = field(default_factory=dict)
    after_item: Dict[Tuple[object, int], Comment] = field(default_factory=dict)
    before_closer: Dict[object, List[Comment]] = field(default_factory=dict)
    broken: Set[object] = field(default_factory=set)
    matrix_rows: Set[object] = field(default_factory=set)  # rows of a matrix never break for width


def _inside(position: Position, region: Tuple[Position, Position]) -> bool:
    return region[0] < position < region[1]


def _distribute(lists: Sequence[_List], comments: List[Comment], plan: _Plan) -> bool:
    """Give each comment to the list it is inside; False (and the plan unchanged) if one cannot
    be placed there."""
    groups: Dict[int, List[Comment]] = {index: [] for index in range(len(lists))}
    for comment in comments:
        where = _start(comment.span)
        for index, candidate in enumerate(lists):
            if _inside(where, candidate.inside):
                groups[index].append(comment)
                break
        else:
            return False
    before = copy.deepcopy(plan)
    for index, found in enumerate(lists):
        if groups[index] and not _attach(found, groups[index], plan):
            plan.__dict__.update(before.__dict__)
            return False
    return True


def _attach(found: _List, comments: List[Comment], plan: _Plan) -> bool:
    """Place the comments inside one list; those between its elements break it. False if a
    comment would go above the first element of a list that starts there (an expect tuple,
    whose opening parenthesis has no position)."""
    in_items: Dict[int, List[Comment]] = {}
    for comment in comments:
        where = _start(comment.span)
        gap = 0  # the comment is before item ``gap``, or inside it
        while gap < len(found.items) and _end(found.items[gap].span) <= where:
            gap += 1
        if gap < len(found.items) and _start(found.items[gap].span) <= where:
            in_items.setdefault(gap, []).append(comment)
            continue
        plan.broken.add(found.key)
        previous_line = found.items[gap - 1].span.end_line if gap else found.opener_line
        if comment.span.line == previous_line:
            if gap:
                plan.after_item[(found.key, gap - 1)] = comment
            else:
                plan.after_opener[found.key] = comment
        elif gap < len(found.items):
            plan.before_item.setdefault((found.key, gap), []).append(comment)
        else:
            plan.before_closer.setdefault(found.key, []).append(comment)
    for index, inner in in_items.items():
        # Inside an element but in none of its lists (say, inside a sum): the element's comments
        # all go above it, so that they keep their order.
        if not _distribute(list(_outer_lists(found.items[index])), inner, plan):
            if index == 0 and found.inside[0] == _start(found.items[0].span):
                return False
            plan.broken.add(found.key)
            plan.before_item.setdefault((found.key, index), []).extend(inner)
    return True


def _last_row_comment(statement: Statement, comment: Comment, plan: _Plan) -> bool:
    """A comment after a statement that ends with a broken list, on the line of that list's
    last element (``[-1, -1]]  # NAND``), stays with that element; True if it was placed."""
    lists = _statement_lists(statement)
    if not lists or not lists[-1].items or _end(lists[-1].span_end) != _end(statement.span):
        return False
    last = lists[-1]
    index = len(last.items) - 1
    if not (last.is_matrix or last.key in plan.broken) or (last.key, index) in plan.after_item:
        return False
    if last.opener_line == comment.span.line or last.items[index].span.end_line != comment.span.line:
        return False
    plan.after_item[(last.key, index)] = comment
    return True


# --- layout ---------------------------------------------------------------------------


@dataclass
class _Line:
    """One output line: code, an optional trailing comment, and the unbroken lists that start
    on it (key, start column, end column), for breaking the line when it is too long."""

    code: str
    comment: Optional[str] = None
    lists: List[Tuple[object, int, int]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"_Line({self.code!r}, {self.comment!r})"


Lines = List[_Line]


def _text(text: str) -> Lines:
    return [_Line(text)]


def _concat(*parts: Lines) -> Lines:
    """Parts written one after the other: each part's first line continues the line before."""
    result: Lines = []
    code: List[str] = []  # the pieces of the line being built, joined once (long rows stay linear)
    lists: List[Tuple[object, int, int]] = []
    comment: Optional[str] = None
    width = 0
    for part in parts:
        first = part[0]
        code.append(first.code)
        lists += [(key, start + width, end + width) for key, start, end in first.lists]
        width += len(first.code)
        comment = first.comment
        if len(part) > 1:
            result.append(_Line("".join(code), comment, lists))
            result += part[1:-1]
            last = part[-1]
            code, lists, comment, width = [last.code], list(last.lists), last.comment, len(last.code)
    result.append(_Line("".join(code), comment, lists))
    return result


def _indented(lines: Lines, indent: int) -> Lines:
    first = lines[0]
    first.code = " " * indent + first.code
    first.lists = [(key, start + indent, end + indent) for key, start, end in first.lists]
    return lines


class _Renderer:
    """Lays out one statement's expressions as lines, following a plan."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    def expr(self, expr: Expr, indent: int) -> Lines:
        if isinstance(expr, Number):
            return _text(expr.text or format_number(expr.value))
        if isinstance(expr, String):
            return _text(f'"{expr.value}"')
        if isinstance(expr, Name):
            return _text(expr.id)
        if isinstance(expr, Index):
            return _text(f"{expr.name}[{expr.index}]")
        if isinstance(expr, UnaryOp):
            return self.unary(expr, indent, 1)
        if isinstance(expr, Sum):
            parts = [self.operand(expr.operands[0], _SUM, indent)]
            for op, operand in zip(expr.ops, expr.operands[1:]):
                parts += [_text(f" {op} "), self.operand(operand, _SUM + 1, indent)]
            return _concat(*parts)
        if isinstance(expr, Product):
            # '*' and '/' bind tightly and are written so; '@' takes spaces, and so does every
            # operator of a chain that has one, so that no operator looks tighter than it is.
            spaced = "@" in expr.ops
            parts = [self.operand(expr.operands[0], _PRODUCT, indent)]
            for op, operand in zip(expr.ops, expr.operands[1:]):
                parts += [_text(f" {op} " if spaced else op), self.operand(operand, _PRODUCT + 1, indent)]
            return _concat(*parts)
        if isinstance(expr, Compare):
            return _concat(
                self.operand(expr.left, _COMPARE + 1, indent),
                _text(f" {expr.op} "),
                self.operand(expr.right, _COMPARE + 1, indent),
            )
        found = _as_list(expr)
        assert found is not None, f"unknown expression {expr!r}"
        return self.list(found, indent)

    def unary(self, expr: UnaryOp, indent: int, signs: int) -> Lines:
        operand = expr.operand
        if isinstance(operand, UnaryOp) and signs < limits.MAX_SIGNS_IN_A_ROW:
            return _concat(_text(expr.op), self.unary(operand, indent, signs + 1))
        return _concat(_text(expr.op), self.operand(operand, _UNARY, indent, parenthesize_signs=True))

    def operand(self, expr: Expr, needed: int, indent: int, parenthesize_signs: bool = False) -> Lines:
        """``expr`` where it must bind at least as tightly as ``needed``, in parentheses if not."""
        lines = self.expr(expr, indent)
        if precedence(expr) < needed or (parenthesize_signs and isinstance(expr, UnaryOp)):
            return _concat(_text("("), lines, _text(")"))
        return lines

    def list(self, found: _List, indent: int) -> Lines:
        plan = self.plan
        if found.key not in plan.broken:
            lines = _concat(_text(found.opener), *self.joined(found.items, indent), _text(found.closer))
            if len(lines) == 1 and not _is_matrix_row(found, plan):
                lines[0].lists.insert(0, (found.key, 0, len(lines[0].code)))
            return lines
        inner = indent + INDENT
        lines = [_Line(found.opener, _comment(plan.after_opener.get(found.key)))]
        if found.is_filled and found.items and not _has_comments_between(found, plan):
            items = [self.expr(item, inner)[0].code for item in found.items]
            pieces = [item + ("," if index < len(items) - 1 else "") for index, item in enumerate(items)]
            lines += [_Line(" " * inner + line) for line in _fill(pieces, " ", WIDTH - inner)]
            return lines + [_Line(" " * indent + found.closer)]
        rows = self.aligned_rows(found, inner) if found.is_matrix else None
        for index, item in enumerate(found.items):
            for comment in plan.before_item.get((found.key, index), ()):
                lines.append(_Line(" " * inner, _comment(comment)))
            row = rows[index] if rows else None
            item_lines = row if row is not None else self.expr(item, inner)
            if len(item_lines) == 1 and inner + len(item_lines[0].code) > WIDTH:
                item_lines = self.wrapped(item, inner) or item_lines
            item_lines = _indented(item_lines, inner)
            if index < len(found.items) - 1:
                item_lines[-1].code += ","
            item_lines[-1].comment = _comment(plan.after_item.get((found.key, index)))
            lines += item_lines
        for comment in plan.before_closer.get(found.key, ()):
            lines.append(_Line(" " * inner, _comment(comment)))
        lines.append(_Line(" " * indent + found.closer))
        return lines

    def wrapped(self, expr: Expr, indent: int) -> Optional[Lines]:
        """A long sum or comparison over several lines, each continuation line starting with
        its operator; None if it has no such operators or an operand takes several lines."""
        pieces = self.pieces(expr, indent)
        if pieces is None or len(pieces) < 2:
            return None
        first, *rest = _fill(pieces, "", WIDTH - indent)
        return [_Line(first)] + [_Line(" " * indent + line) for line in rest]

    def pieces(self, expr: Expr, indent: int) -> Optional[List[str]]:
        if isinstance(expr, Compare):
            left = self.pieces(expr.left, indent) if isinstance(expr.left, Sum) else None
            right = self.pieces(expr.right, indent) if isinstance(expr.right, Sum) else None
            left = left or self.single(self.operand(expr.left, _COMPARE + 1, indent))
            right = right or self.single(self.operand(expr.right, _COMPARE + 1, indent))
            if left is None or right is None:
                return None
            return left + [f" {expr.op} {right[0]}"] + right[1:]
        if isinstance(expr, Sum):
            pieces = self.single(self.operand(expr.operands[0], _SUM, indent))
            for op, operand in zip(expr.ops, expr.operands[1:]):
                text = self.single(self.operand(operand, _SUM + 1, indent))
                if pieces is None or text is None:
                    return None
                pieces.append(f" {op} {text[0]}")
            return pieces
        return None

    @staticmethod
    def single(lines: Lines) -> Optional[List[str]]:
        return [lines[0].code] if len(lines) == 1 else None

    def joined(self, items: Sequence[Expr], indent: int) -> List[Lines]:
        parts: List[Lines] = []
        for index, item in enumerate(items):
            if index:
                parts.append(_text(", "))
            parts.append(self.expr(item, indent))
        return parts

    def aligned_rows(self, matrix: _List, indent: int) -> List[Optional[Lines]]:
        """The rows of a broken matrix that fit on one line, with their columns right-aligned."""
        cells: List[Optional[List[str]]] = []
        for row in matrix.items:
            assert isinstance(row, Vector)
            rendered = [self.expr(item, indent) for item in row.items]
            if id(row) in self.plan.broken or any(len(lines) > 1 for lines in rendered):
                cells.append(None)
            else:
                cells.append([lines[0].code for lines in rendered])
        widths: Dict[int, int] = {}
        for row_cells in cells:
            for column, cell in enumerate(row_cells or ()):
                widths[column] = max(widths.get(column, 0), len(cell))
        return [
            None
            if row_cells is None
            else _text("[" + ", ".join(cell.rjust(widths[column]) for column, cell in enumerate(row_cells)) + "]")
            for row_cells in cells
        ]


def _is_matrix_row(found: _List, plan: _Plan) -> bool:
    # A row of a matrix keeps one line, however long: it is one neuron's weights.
    return found.key in plan.matrix_rows


def _has_comments_between(found: _List, plan: _Plan) -> bool:
    return (
        found.key in plan.before_closer
        or any((found.key, index) in plan.before_item or (found.key, index) in plan.after_item for index in range(len(found.items)))
    )


def _fill(pieces: Sequence[str], separator: str, width: int) -> List[str]:
    """Pieces packed into as few lines of ``width`` as they go (a piece longer stands alone);
    the separator goes between pieces on one line, and no line starts with a space."""
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + len(separator) + len(piece) <= width:
            lines[-1] += separator + piece
        else:
            lines.append(piece.lstrip())
    return lines


def _comment(comment: Optional[Comment]) -> Optional[str]:
    return comment.text.rstrip() if comment is not None else None


def _statement_lines(statement: Statement, renderer: _Renderer) -> Lines:
    if isinstance(statement, Input):
        names = (var.name if var.size is None else f"{var.name}[{var.size}]" for var in statement.vars)
        return _text("input " + ", ".join(names))
    if isinstance(statement, Output):
        return _text("output " + ", ".join(name.id for name in statement.names))
    if isinstance(statement, Let):
        return _concat(_text(f"let {statement.name} = "), renderer.expr(statement.value, 0))
    learned = "param " if isinstance(statement, (Node, Layer)) and statement.learned else ""
    if isinstance(statement, Node):
        return _concat(_text(f"{learned}node {statement.name} = "), renderer.expr(statement.value, 0))
    if isinstance(statement, Layer):
        size = "" if statement.size is None else f"[{statement.size}]"
        return _concat(_text(f"{learned}layer {statement.name}{size} = "), renderer.expr(statement.value, 0))
    if isinstance(statement, Param):
        shape = "" if statement.shape is None else "[" + ", ".join(map(str, statement.shape)) + "]"
        return _concat(_text(f"param {statement.name}{shape} = "), renderer.expr(statement.value, 0))
    if isinstance(statement, Train):
        parts: List[Lines] = [_text("train ")]
        for position, setting in enumerate(statement.settings):
            if position:
                parts.append(_text(", "))
            parts += [_text(f"{setting.name} = "), renderer.expr(setting.value, 0)]
        return _concat(*parts)
    assert isinstance(statement, Expect), f"unknown statement {statement!r}"
    parts = [_text("expect "), _values(statement, "in", statement.inputs, renderer), _text(" -> ")]
    parts.append(_values(statement, "out", statement.outputs, renderer))
    if statement.tolerance is not None:
        parts += [_text(" within "), renderer.expr(statement.tolerance, 0)]
    return _concat(*parts)


def _values(statement: Expect, side: str, values: Tuple[Expr, ...], renderer: _Renderer) -> Lines:
    if len(values) == 1:
        return renderer.expr(values[0], 0)
    return renderer.list(_tuple_list((side, id(statement)), values), 0)


def _matrix_rows(statement: Statement) -> Set[object]:
    rows: Set[object] = set()
    stack: List[object] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, Vector) and _is_matrix(node):
            rows.update(id(item) for item in node.items)
        stack.extend(children(node))
    return rows


def _layout(statement: Statement, plan: _Plan) -> Lines:
    """The statement's lines; lists that reach past the width are broken, outermost first."""
    renderer = _Renderer(plan)
    plan.matrix_rows = _matrix_rows(statement)
    for found in _statement_lists(statement):
        _break_matrices(found, plan)
    while True:
        lines = _statement_lines(statement, renderer)
        too_long = []
        for line in lines:
            if len(line.code) > WIDTH:
                too_long += [key for key, _, end in line.lists if end > WIDTH][:1]
        if not too_long:
            return lines
        plan.broken.update(too_long)


def _break_matrices(found: _List, plan: _Plan) -> None:
    """Matrices are always broken, one row per line."""
    stack = [found]
    while stack:
        current = stack.pop()
        if current.is_matrix:
            plan.broken.add(current.key)
        for item in current.items:
            stack.extend(_outer_lists(item))


def _ends_with_tuple_closer(statement: Statement, lines: Lines) -> bool:
    return (
        isinstance(statement, Expect)
        and statement.tolerance is None
        and len(statement.outputs) > 1
        and len(lines) > 1
        and lines[-1].code.strip() == ")"
        and lines[-2].comment is None
    )


# --- the whole file ----------------------------------------------------------------


class _Formatter:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.source_lines = (program.source or "").splitlines()
        self.lines: Lines = []
        self.last_line = 0  # the source line where the last thing written ended

    def text(self) -> str:
        comments = list(self.program.comments)
        position = 0
        for statement in self.program.statements:
            span = statement.span
            leading: List[Comment] = []
            inside: List[Comment] = []
            while position < len(comments) and _start(comments[position].span) < _end(span):
                (leading if _start(comments[position].span) < _start(span) else inside).append(comments[position])
                position += 1
            trailing = None
            if position < len(comments) and comments[position].span.line == span.end_line:
                trailing = comments[position]
                position += 1
            for comment in leading:
                self.separate(comment.span.line)
                self.lines.append(_Line("", _comment(comment)))
                self.last_line = comment.span.end_line
            plan = _Plan()
            if inside and not _distribute(_statement_lists(statement), inside, plan):
                plan = _Plan(hoisted=inside)
            self.separate(span.line)
            self.lines += [_Line("", _comment(comment)) for comment in plan.hoisted]
            if trailing is not None and _last_row_comment(statement, trailing, plan):
                trailing = None
            statement_lines = _layout(statement, plan)
            if trailing is not None and _ends_with_tuple_closer(statement, statement_lines):
                # The statement's span ends at the tuple's last value, not at its ')': the
                # comment stays on the line of that value, where it is found again.
                statement_lines[-2].comment = _comment(trailing)
            else:
                statement_lines[-1].comment = _comment(trailing)
            self.lines += statement_lines
            self.last_line = span.end_line
        for comment in comments[position:]:
            self.separate(comment.span.line)
            self.lines.append(_Line("", _comment(comment)))
            self.last_line = comment.span.end_line
        return _render(self.lines)

    def separate(self, next_line: int) -> None:
        """One blank line if the source has at least one between what was written and ``next_line``."""
        if self.lines and any(not line.strip() for line in self.source_lines[self.last_line : next_line - 1]):
            self.lines.append(_Line(""))


def _render(lines: Lines) -> str:
    """The lines as text, trailing comments aligned within each run of lines that have one."""
    output: List[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.comment is None or not line.code.strip():
            output.append((line.code + line.comment if line.comment else line.code).rstrip())
            index += 1
            continue
        run_end = index
        while run_end < len(lines) and lines[run_end].comment is not None and lines[run_end].code.strip():
            run_end += 1
        column = max(len(lines[i].code.rstrip()) for i in range(index, run_end)) + COMMENT_GAP
        for i in range(index, run_end):
            output.append(lines[i].code.rstrip().ljust(column) + (lines[i].comment or ""))
        index = run_end
    return "".join(line + "\n" for line in output)
