"""The syntax tree of a .net file (what the parser builds and every later step reads).

Every node is a frozen dataclass. Its ``span`` (where it stands in the source)
does not take part in equality, so two trees parsed from differently laid out
text compare equal when they mean the same, as with CPython's ``ast``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import IntEnum
from typing import Any, Dict, Iterator, List, Optional, Tuple, TypeVar, Union


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 1-based line and column; the end column is one past the last character."""

    line: int
    column: int
    end_line: int
    end_column: int

    def __repr__(self) -> str:
        return f"Span({self.line}:{self.column}-{self.end_line}:{self.end_column})"

    def to(self, other: "Span") -> "Span":
        """The span from the start of this one to the end of ``other``."""
        return Span(self.line, self.column, other.end_line, other.end_column)


NO_SPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# --- expressions -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; ``text`` keeps its spelling (exact arithmetic and the formatter need it)."""

    value: float
    text: str = field(default="", compare=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class String:
    """A string literal, e.g. a file name in ``load("w.npy")``."""

    value: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Name:
    """A reference to an input, node, layer, constant or function."""

    id: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Index:
    """One element of a vector: ``x[0]``."""

    name: str
    index: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Vector:
    """A bracketed list: ``[a, b]``; a list of lists is a matrix."""

    items: Tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """``-a`` or ``+a``."""

    op: str
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Sum:
    """``a + b - c``: ``ops[i]`` stands between ``operands[i]`` and ``operands[i + 1]``.

    Chains are kept flat (left-associative), so long sums never make deep trees.
    """

    operands: Tuple["Expr", ...]
    ops: Tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Product:
    """``a * b / c @ d``, left-associative; ``@`` is the matrix product."""

    operands: Tuple["Expr", ...]
    ops: Tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    """``a > b`` (also ``>=``, ``<``, ``<=``): only meaningful as the argument of ``step``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """``f(args)``: an activation such as ``sigmoid(...)``, or a built-in such as ``load(...)``."""

    func: Name
    args: Tuple["Expr", ...]
    span: Span = _span()


Expr = Union[Number, String, Name, Index, Vector, UnaryOp, Sum, Product, Compare, Call]


# --- statements --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputVar:
    """One declared input: a scalar (``size`` None) or a vector ``x[size]``."""

    name: str
    size: Optional[int] = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Input:
    """``input x1, x2, v[3]``."""

    vars: Tuple[InputVar, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let:
    """``let NAME = EXPR``: a constant, folded at compile time."""

    name: str
    value: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Node:
    """``node NAME = EXPR``: one neuron."""

    name: str
    value: Expr
    name_span: Span = _span()
    span: Span = _span()
    learned: bool = False  # ``param node``: training learns every number written in it


@dataclass(frozen=True, slots=True)
class Layer:
    """``layer NAME[size] = EXPR``: a vector of neurons computed together."""

    name: str
    size: Optional[int]
    value: Expr
    name_span: Span = _span()
    span: Span = _span()
    learned: bool = False  # ``param layer``: training learns every number written in it


@dataclass(frozen=True, slots=True)
class Param:
    """``param NAME[shape] = EXPR``: a constant that training learns (``let``, but learned).

    ``value`` is an expression of constants, a ``load(...)``, or an initialiser such as
    ``xavier()``, which needs ``shape``.
    """

    name: str
    shape: Optional[Tuple[int, ...]]
    value: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``name = value`` of a ``train`` statement."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Train:
    """``train rate = 0.3, epochs = 5``: how ``netlang train`` learns the params."""

    settings: Tuple[Setting, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Output:
    """``output a, b``: the network's outputs, in order."""

    names: Tuple[Name, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Expect:
    """``expect (0, 1) -> 1 within 0.01``: inputs (vectors flattened) and the outputs they should give."""

    inputs: Tuple[Expr, ...]
    outputs: Tuple[Expr, ...]
    tolerance: Optional[Expr] = None
    span: Span = _span()


Statement = Union[Input, Let, Node, Layer, Output, Expect, Param, Train]
Definition = Union[Let, Node, Layer, Param]


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``# comment``, kept beside the tree (not in it) for tools such as formatters."""

    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Program:
    """A whole .net file."""

    statements: Tuple[Statement, ...]
    filename: str = field(default="<string>", compare=False)
    comments: Tuple[Comment, ...] = field(default=(), compare=False, repr=False)
    source: Optional[str] = field(default=None, compare=False, repr=False)

    def inputs(self) -> Iterator[InputVar]:
        for statement in self.statements:
            if isinstance(statement, Input):
                yield from statement.vars

    def definitions(self) -> Iterator[Definition]:
        for statement in self.statements:
            if isinstance(statement, (Let, Node, Layer, Param)):
                yield statement

    def to_json(self) -> Dict[str, Any]:
        """The tree as JSON-ready data (a dict; ``json.dumps`` it), spans and comments included.

        Described by ``netlang/schema/ast.schema.json``; see :mod:`netlang.ast_json`.
        """
        from .ast_json import to_json

        return to_json(self)

    @staticmethod
    def from_json(data: Dict[str, Any]) -> "Program":
        """The Program that :meth:`to_json` made ``data`` from."""
        from .ast_json import from_json

        return from_json(data)


class Precedence(IntEnum):
    """How tightly each kind of expression binds, loosest first: the grammar's
    ``expr > sum > product > unary > atom``. The one table of it (as CPython's ``ast``
    module has one): the formatter and ``run --explain`` put an operand in parentheses
    where it binds more loosely than its place needs (``precedence(operand) < needed``).
    """

    COMPARE = 0
    SUM = 1
    PRODUCT = 2
    UNARY = 3
    ATOM = 4


def precedence(expr: object) -> Precedence:
    """How tightly ``expr`` binds: names, numbers, calls, vectors and strings are atoms."""
    if isinstance(expr, Compare):
        return Precedence.COMPARE
    if isinstance(expr, Sum):
        return Precedence.SUM
    if isinstance(expr, Product):
        return Precedence.PRODUCT
    if isinstance(expr, UnaryOp):
        return Precedence.UNARY
    return Precedence.ATOM


def children(node: object) -> Tuple[object, ...]:
    """The sub-nodes of an expression or statement, in source order."""
    if isinstance(node, _LEAVES):  # most nodes of a big netlist: answered with one check
        return ()
    if isinstance(node, (Sum, Product)):
        return node.operands
    if isinstance(node, Vector):
        return node.items
    if isinstance(node, UnaryOp):
        return (node.operand,)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Call):
        return (node.func, *node.args)
    if isinstance(node, (Let, Node, Layer, Param, Setting)):
        return (node.value,)
    if isinstance(node, Train):
        return node.settings
    if isinstance(node, Input):
        return node.vars
    if isinstance(node, Output):
        return node.names
    if isinstance(node, Expect):
        return (*node.inputs, *node.outputs, *((node.tolerance,) if node.tolerance is not None else ()))
    if isinstance(node, Program):
        return node.statements
    return ()


_LEAVES = (Name, Number, Index, String, InputVar, Comment)


def walk(node: object) -> Iterator[object]:
    """Every node below ``node`` (itself included), depth first, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def names_read(node: object) -> Dict[str, None]:
    """The names ``node`` reads (``x`` and ``x[i]`` alike), in order of first use (the order of ``walk``)."""
    names: Dict[str, None] = {}
    stack: List[object] = [node]
    pop, push = stack.pop, stack.extend
    while stack:
        current = pop()
        kind = type(current)
        # A big netlist is mostly names, numbers, sums and products: those first, without children().
        if kind is Name:
            names[current.id] = None  # type: ignore[attr-defined]
        elif kind is Number:
            continue
        elif kind is Product or kind is Sum:
            push(current.operands[::-1])  # type: ignore[attr-defined]
        elif kind is Index:
            names[current.name] = None  # type: ignore[attr-defined]
        else:
            push(reversed(children(current)))
    return names


_Node = TypeVar("_Node")


def moved_down(node: _Node, lines: int) -> _Node:
    """A copy of ``node`` with every span ``lines`` lines further down: a statement that was
    parsed on its own, put back in its place in the file (a tuple of them: each one)."""
    return node if lines == 0 else _moved(node, lines)


# The fields of each node class, with the setter of its slot: a moved copy is made without the
# frozen dataclasses' __init__ and replace() (which check and convert every field), since the
# incremental parser moves every statement below an inserted line: 3x faster, measured on a
# netlist of 1,000 statements.
_FIELD_SETTERS: Dict[type, Tuple[Tuple[str, Any], ...]] = {
    cls: tuple((f.name, cls.__dict__[f.name].__set__) for f in fields(cls))
    for cls in list(globals().values())
    if isinstance(cls, type) and is_dataclass(cls) and cls not in (Span, Program)
}
_SPAN_SETTERS = tuple(Span.__dict__[name].__set__ for name in ("line", "column", "end_line", "end_column"))
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})


def _moved(node: Any, lines: int) -> Any:
    kind = type(node)
    if kind is Span:
        return _moved_span(node, lines)
    if kind is tuple:
        return tuple([_moved(item, lines) for item in node])
    setters = _FIELD_SETTERS.get(kind)
    if setters is None:  # a value inside a node (a name, a number): shared
        return node
    copy = object.__new__(kind)
    for name, set_field in setters:
        value = getattr(node, name)
        kind = type(value)
        if kind in _PLAIN_VALUES:
            set_field(copy, value)
        elif kind is Span:  # every node has one: without the call through _moved
            set_field(copy, _moved_span(value, lines))
        else:
            set_field(copy, _moved(value, lines))
    return copy


def _moved_span(span: Span, lines: int) -> Span:
    set_line, set_column, set_end_line, set_end_column = _SPAN_SETTERS
    moved = object.__new__(Span)
    set_line(moved, span.line + lines)
    set_column(moved, span.column)
    set_end_line(moved, span.end_line + lines)
    set_end_column(moved, span.end_column)
    return moved
