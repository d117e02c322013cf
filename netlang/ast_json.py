"""AST as data: a Program to JSON-ready dicts and back (schema: ``netlang.schema.load("ast")``).

Every node becomes ``{"type": CLASS, FIELD: ..., "span": {...}}``: the class name
from :mod:`netlang.nodes`, its fields under their own names (tuples as lists,
sub-nodes as objects, spans as ``{"line", "column", "end_line", "end_column"}``).
The Program adds its ``filename`` and its ``comments``. A number literal keeps its
spelling in ``text``; its ``value`` is null when the literal overflows float64
(the checker reports that), since JSON has no infinity.
"""

from __future__ import annotations

import dataclasses
import json
import math
from json.encoder import encode_basestring_ascii
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import nodes
from .nodes import Number, Program, Span

JSONDict = Dict[str, Any]

# The classes a "type" field may name: every AST node, the Program and its comments.
_CLASSES = {
    cls.__name__: cls
    for cls in (
        nodes.Number,
        nodes.String,
        nodes.Name,
        nodes.Index,
        nodes.Vector,
        nodes.UnaryOp,
        nodes.Sum,
        nodes.Product,
        nodes.Compare,
        nodes.Call,
        nodes.InputVar,
        nodes.Input,
        nodes.Let,
        nodes.Node,
        nodes.Layer,
        nodes.Param,
        nodes.Setting,
        nodes.Train,
        nodes.Output,
        nodes.Expect,
        nodes.Comment,
    )
}
_SPAN_FIELDS = ("line", "column", "end_line", "end_column")


def span_to_json(span: Span) -> JSONDict:
    return {"line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}


def to_json(program: Program) -> JSONDict:
    """``program`` as JSON-ready data: dicts, lists, strings, numbers, None."""
    statements = [_node(statement) for statement in program.statements]
    comments = [_node(comment) for comment in program.comments]
    return {
        "type": "Program",
        "filename": program.filename,
        "statements": statements,
        "comments": comments,
        "span": span_to_json(_program_span(program)),
    }


def dumps(program: Program, indent: Optional[int] = 2) -> str:
    """``program`` as JSON text."""
    if indent != 2:
        return json.dumps(to_json(program), indent=indent, allow_nan=False)
    chunks: List[str] = []
    write(program, chunks.append)
    return "".join(chunks)


def write(program: Program, out: Callable[[str], Any]) -> None:
    """``program`` as JSON text, exactly as ``json.dumps(to_json(program), indent=2)`` writes it,
    handed to ``out`` in chunks of about 64 kB.

    Written straight from the syntax tree, never building the dicts of :func:`to_json`:
    those took some 600 bytes of memory per byte of source (a 32 MiB file, the limit then, would have needed
    about 20 GB); this needs the tree and one chunk.
    """
    _Writer(out).program(program)


def from_json(data: JSONDict) -> Program:
    """The Program that :func:`to_json` made ``data`` from (spans and comments included).

    Raises ValueError when ``data`` is not such a document.
    """
    if not isinstance(data, dict) or data.get("type") != "Program":
        raise ValueError("not a netlang AST: the top object needs \"type\": \"Program\"")
    try:
        statements = tuple(_build(item) for item in data["statements"])
        comments = tuple(_build(item) for item in data.get("comments", ()))
    except (KeyError, TypeError) as problem:
        raise ValueError(f"not a netlang AST: {problem!r} (see netlang/schema/ast.schema.json)") from None
    return Program(statements, data.get("filename", "<string>"), comments)


def outline(program: Program) -> str:
    """The tree as indented text, one node a line with its span: a quick look for people."""
    return "\n".join(outline_lines(program))


def outline_lines(program: Program) -> Iterator[str]:
    """The lines of :func:`outline`, made one statement at a time."""
    yield f"Program {program.filename}"
    lines: List[str] = []

    def visit(data: JSONDict, depth: int) -> None:
        span = data["span"]
        where = f"{span['line']}:{span['column']}-{span['end_line']}:{span['end_column']}"
        plain = [
            f"{key}={value!r}"
            for key, value in data.items()
            if key not in ("type", "span", "name_span") and not isinstance(value, (dict, list))
            and not (key == "learned" and value is False)  # shown only on param node/layer
        ]
        lines.append(f"{'  ' * depth}{data['type']} {where}{' ' if plain else ''}{' '.join(plain)}")
        for value in data.values():
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, dict) and "type" in child:
                    visit(child, depth + 1)

    # Comments interleaved with the statements, in file order.
    top = sorted((*program.statements, *program.comments), key=lambda item: (item.span.line, item.span.column))
    for item in top:
        visit(_node(item), 1)
        yield from lines
        lines.clear()


# --- the conversions -----------------------------------------------------------


def _node(node: Any) -> JSONDict:
    data: JSONDict = {"type": type(node).__name__}
    for field in dataclasses.fields(node):
        data[field.name] = _value(getattr(node, field.name))
    if isinstance(node, Number) and not math.isfinite(node.value):
        data["value"] = None
    return data


def _value(value: Any) -> Any:
    if isinstance(value, Span):
        return span_to_json(value)
    if isinstance(value, tuple):
        return [_value(item) for item in value]
    if dataclasses.is_dataclass(value):
        return _node(value)
    return value


class _Writer:
    """JSON text in ``json.dumps(..., indent=2)``'s layout, written from nodes as it goes."""

    CHUNK = 1 << 16

    def __init__(self, out: Callable[[str], Any]) -> None:
        self.out = out
        self.parts: List[str] = []
        self.size = 0

    def __repr__(self) -> str:
        return f"_Writer({self.size} characters pending)"

    def put(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.out("".join(self.parts))
            self.parts.clear()
            self.size = 0

    def program(self, program: Program) -> None:
        self.pairs(
            [
                ("type", "Program"),
                ("filename", program.filename),
                ("statements", program.statements),
                ("comments", program.comments),
                ("span", _program_span(program)),
            ],
            0,
        )
        self.flush()

    def pairs(self, items: List[Tuple[str, Any]], level: int) -> None:
        inner = _NEWLINE[level + 1]
        parts = ["{"]
        for index, (key, value) in enumerate(items):
            parts.append(("," if index else "") + inner + _key(key))
            text = _leaf(value, level + 1)
            if text is not None:
                parts.append(text)
            else:  # a list or a node: written as it goes
                self.put("".join(parts))
                parts.clear()
                self.value(value, level + 1)
        parts.append(_NEWLINE[level] + "}")
        self.put("".join(parts))

    def value(self, value: Any, level: int) -> None:
        if isinstance(value, tuple):
            if not value:
                self.put("[]")
                return
            inner = _NEWLINE[level + 1]
            self.put("[")
            for index, item in enumerate(value):
                text = _leaf(item, level + 1)
                if text is not None:
                    self.put(("," if index else "") + inner + text)
                else:
                    self.put(("," if index else "") + inner)
                    self.value(item, level + 1)
            self.put(_NEWLINE[level] + "]")
        elif isinstance(value, Span):
            self.put(_span_text(value, level))
        else:
            self.pairs(_node_items(value), level)


class _Newlines(Dict[int, str]):
    """``"\\n"`` and the indentation of a level, made once per level."""

    def __missing__(self, level: int) -> str:
        text = self[level] = "\n" + "  " * level
        return text


_NEWLINE = _Newlines()
_KEYS: Dict[str, str] = {}
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _key(key: str) -> str:
    text = _KEYS.get(key)
    if text is None:
        text = _KEYS[key] = encode_basestring_ascii(key) + ": "
    return text


def _node_items(node: Any) -> List[Tuple[str, Any]]:
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(field.name for field in dataclasses.fields(node))
    items: List[Tuple[str, Any]] = [("type", kind.__name__)]
    items += [(name, getattr(node, name)) for name in names]
    if kind is Number and not math.isfinite(node.value):
        items[1] = ("value", None)
    return items


def _span_text(span: Span, level: int) -> str:
    inner, outer = _NEWLINE[level + 1], _NEWLINE[level]
    return (
        f'{{{inner}"line": {span.line},{inner}"column": {span.column},'
        f'{inner}"end_line": {span.end_line},{inner}"end_column": {span.end_column}{outer}}}'
    )


def _leaf(value: Any, level: int) -> Optional[str]:
    """The JSON text of a value with no lists or nodes inside (a scalar, a span, a name or a number), else None."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is float:
        return float.__repr__(value)
    if kind is Span:
        return _span_text(value, level)
    if kind is Number or kind is nodes.Name:
        inner, outer = _NEWLINE[level + 1], _NEWLINE[level]
        parts = [f"{{{inner}\"type\": \"{kind.__name__}\""]
        for key, item in _node_items(value)[1:]:
            text = _leaf(item, level + 1)
            assert text is not None
            parts.append(f",{inner}{_key(key)}{text}")
        return "".join(parts) + outer + "}"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if isinstance(value, (tuple, Span)) or dataclasses.is_dataclass(value):
        return None
    raise TypeError(f"not JSON data: {value!r}")  # pragma: no cover


def _build(data: Any) -> Any:
    if isinstance(data, list):
        return tuple(_build(item) for item in data)
    if not isinstance(data, dict):
        return data
    if "type" not in data:
        return Span(*(int(data[key]) for key in _SPAN_FIELDS))
    cls = _CLASSES.get(data["type"])
    if cls is None:
        raise ValueError(f"unknown AST node type {data['type']!r}")
    arguments = {field.name: _build(data[field.name]) for field in dataclasses.fields(cls) if field.name in data}
    if cls is Number and arguments.get("value") is None:
        arguments["value"] = float(arguments["text"])
    return cls(**arguments)


def _program_span(program: Program) -> Span:
    """From the start of the file to the end of its last statement or comment."""
    last = max(
        (item.span for item in (*program.statements, *program.comments)),
        key=lambda span: (span.end_line, span.end_column),
        default=Span(1, 1, 1, 1),
    )
    return Span(1, 1, last.end_line, last.end_column)

