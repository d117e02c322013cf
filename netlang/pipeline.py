"""The pipeline: the one driver from a .net file to a Network, read -> parse -> check -> lower.

Every command and API function that starts from source goes through here:

- ``read(path)``: the file's bytes, read once (bounded, never a directory), as a :class:`Source`;
  ``text_source(text)`` for text given directly;
- ``parse(source)``: the syntax tree, recovering after a syntax error to find the rest;
- ``check(source)``: the checked program, with every syntax and semantic error together;
- ``lower(checked)``: the layers (``compiler.lower_to_layers``).

``load(path)`` puts them together with the compiled-network cache (``netlang.cache``), keyed
on the very bytes that were parsed and on the hashes of the weight-file bytes that were
read (``weights.WeightFiles``), so an entry can never pair a source or weight file with the
network of another. ``compile``, ``check_program``, ``read_source``, ``load_checked`` and
``load_with_checked`` are the library's entry points; ``lint``, ``expectations`` and the
CLI call them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, FrozenSet, List, Optional, Tuple, Union

from . import limits
from .errors import NetlangError, combine
from .files import STREAM, FileError, decode, open_file, read_bytes
from .nodes import Program

if TYPE_CHECKING:  # pragma: no cover - the compiler and runtime import numpy, which parse, fmt and check do without
    from .checker import CheckedProgram
    from .memo import Memo
    from .grids import Arrays
    from .parser import IncrementalParser
    from .runtime import Network
    from .weights import WeightFiles

PathLike = Union[str, "os.PathLike[str]"]
# Names of text that has no file: load(...) reads from the current directory.
_NO_FILE = ("<string>", "<stdin>")


@dataclass(frozen=True)
class Source:
    """A .net program as read: its name, its text, and (from a file) the bytes that text was decoded from.

    ``base_dir`` is where its ``load(...)`` calls read (None: the current directory);
    ``regular`` says the bytes came from a regular file, the only kind the cache keeps.
    """

    filename: str
    text: str
    base_dir: Optional[Path] = None
    data: Optional[bytes] = None
    regular: bool = False

    def __repr__(self) -> str:
        return f"Source({self.filename!r}, {len(self.text)} characters, base_dir={str(self.base_dir)!r})"


def read(path: PathLike) -> Source:
    """The .net file at ``path``, read once: a :class:`Source`, or a NetlangError that says why it cannot be read.

    A pipe (``netlang run <(...)``, ``/dev/stdin``) is read like a file, up to the size limit;
    ``-`` is standard input, named ``<stdin>`` in messages.
    """
    import stat

    name = os.fspath(path)
    if name == "-":  # the program on standard input (netlang run - --x 1 0); load(...) reads from the current folder
        data = read_bytes(sys.stdin.buffer, limits.MAX_SOURCE_BYTES)
        name, regular = "<stdin>", False
    else:
        try:
            with open_file(name, "file", kinds=STREAM, expected="a .net file") as stream:
                regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
                data = read_bytes(stream, limits.MAX_SOURCE_BYTES)
        except FileError as problem:
            raise problem.located(name) from None
        except OSError as error:
            raise NetlangError(f"cannot read '{name}': {error.strerror}", filename=name, code="file-not-found") from None
    if len(data) > limits.MAX_SOURCE_BYTES:
        raise NetlangError(
            f"'{name}' is larger than {limits.MAX_SOURCE_BYTES} bytes, the limit for a .net file",
            filename=name,
            code="file-too-large",
        )
    return Source(name, decode(data, name), _base_dir(name, None), data, regular)


def text_source(text: str, filename: Optional[str] = None, base_dir: Optional[PathLike] = None) -> Source:
    """Text given directly (``netlang.compile(text)``); ``load(...)`` reads from ``base_dir``,
    else the folder of ``filename``, else the current directory."""
    name = filename or "<string>"
    return Source(name, text, _base_dir(name, base_dir))


def _base_dir(filename: str, base_dir: Optional[PathLike]) -> Optional[Path]:
    if base_dir is not None:
        return Path(base_dir)
    return None if filename in _NO_FILE else Path(filename).parent


def parse(source: Source, parser: Optional["IncrementalParser"] = None) -> Tuple[Program, List[NetlangError], FrozenSet[str]]:
    """The statements that parse, the syntax errors, and the names the unparsed statements may define.

    ``parser``: the :class:`~netlang.parser.IncrementalParser` of the document ``source`` is a
    version of (an editor's), which re-parses only the statements that changed; the result is the same.
    """
    from .parser import parse_recovering

    if parser is not None:
        return parser.parse(source.text, source.filename)
    return parse_recovering(source.text, source.filename)


def check(
    source: Union[Source, Program],
    weight_files: Optional["WeightFiles"] = None,
    base_dir: Optional[PathLike] = None,
    parser: Optional["IncrementalParser"] = None,
    memo: Optional["Memo"] = None,
    arrays: Optional["Arrays"] = None,
) -> "CheckedProgram":
    """The checked program of ``source`` (parsed first) or of a parsed Program; every error found, raised together.

    Text with syntax errors raises them with the errors the checker finds in the statements
    that do parse, so one run reports every mistake it can. ``weight_files`` reads and records
    the files of ``load(...)`` (by default, from the source's folder); ``parser`` parses the
    source, as :func:`parse` says; ``memo``, the document's :class:`~netlang.memo.Memo`, keeps
    the values of its definitions from one check to the next (the result is the same).
    ``arrays``: the kind of its constant arrays: by default ``grids.GRIDS`` (no numpy; the
    checked program can still be lowered), or numpy's if numpy is imported already (the import
    is what Grids save; once paid, numpy is faster on large arrays). The values and errors are
    the same either way (tests/test_check_without_numpy.py). The library's ``compile`` and
    ``load`` check with ``grids.NUMPY`` (arrays as the compiler takes them); ``weight_files``
    must be of the kind checked with.
    """
    from .checker import check as check_statements
    from .grids import GRIDS, NUMPY
    from .parser import gc_paused
    from .weights import WeightFiles

    if weight_files is not None:
        kind = weight_files.kind
    else:
        kind = arrays if arrays is not None else NUMPY if "numpy" in sys.modules else GRIDS

    if isinstance(source, Program):
        program, folder = source, _base_dir(source.filename, base_dir)
        syntax_errors: List[NetlangError] = []
        unparsed: FrozenSet[str] = frozenset()
    else:
        program, syntax_errors, unparsed = parse(source, parser)
        folder = source.base_dir
    files = weight_files if weight_files is not None else WeightFiles(folder, kind)
    if not syntax_errors:
        with gc_paused():
            return check_statements(program, program.source, folder, weight_files=files, memo=memo, arrays=kind)
    if program.statements and len(syntax_errors) < limits.MAX_ERRORS:
        try:
            with gc_paused():
                check_statements(program, program.source, folder, unparsed, weight_files=files, memo=memo, arrays=kind)
        except NetlangError as semantic_errors:
            raise combine(syntax_errors + semantic_errors.errors[: limits.MAX_ERRORS - len(syntax_errors)]) from None
    raise combine(syntax_errors)


def lower(checked: "CheckedProgram") -> "Network":
    """The layers of a checked program, as a runtime Network."""
    from .compiler import lower_to_layers
    from .parser import gc_paused

    with gc_paused():
        return lower_to_layers(checked)


def _as_source(program: Union[Program, str], filename: Optional[str], base_dir: Optional[PathLike]) -> Union[Source, Program]:
    if isinstance(program, str):
        return text_source(program, filename, base_dir)
    if filename is not None:
        return Program(program.statements, filename, program.comments, program.source)
    return program


# --- the library's entry points ---------------------------------------------------


def compile(program: Union[Program, str], filename: Optional[str] = None, base_dir: Optional[PathLike] = None) -> "Network":
    """Compile netlang source text (or a parsed Program) into a :class:`Network`.

    Files named by ``load(...)`` are read relative to ``base_dir``, by default the
    directory of ``filename`` (the current directory for text with no file).
    """
    from .parser import gc_paused

    # One pause for all three stages: the collector would otherwise scan the parse's objects
    # as each stage ends.
    with gc_paused():
        return lower(check_program(program, filename, base_dir))


def check_program(program: Union[Program, str], filename: Optional[str] = None, base_dir: Optional[PathLike] = None) -> "CheckedProgram":
    """Parse (if given text) and check a program, as :func:`compile` does, without lowering it.

    Text with syntax errors raises them together with the errors the checker finds in the
    statements that do parse, so that one run reports every mistake it can.
    """
    from .grids import NUMPY

    return check(_as_source(program, filename, base_dir), base_dir=base_dir, arrays=NUMPY)


def read_source(path: PathLike) -> str:
    """The text of a .net file, or a NetlangError that says why it cannot be read."""
    return read(path).text


def load(path: PathLike) -> "Network":
    """Read, parse and compile the .net file at ``path``, or take it from the compiled-network cache.

    The file is read once; an unchanged file (with unchanged weight files) is loaded from
    the cache (netlang.cache) without parsing. A file with errors is never cached, so its
    errors are reported as always.
    """
    from . import cache
    from .grids import NUMPY
    from .parser import gc_paused
    from .weights import WeightFiles

    source = read(path)
    entry_key = cache.key_of(source.data, source.filename) if source.regular and source.data is not None else None
    if entry_key is not None:
        network = cache.read(entry_key)
        if network is not None:
            return network
    files = WeightFiles(source.base_dir, NUMPY)
    with gc_paused():
        network = lower(check(source, files))
    if entry_key is not None:
        cache.write(entry_key, network, files.read)
    return network


def load_checked(path: PathLike) -> "CheckedProgram":
    """Read, parse and check the .net file at ``path`` (the checked program, before lowering)."""
    from .grids import NUMPY

    return check(read(path), arrays=NUMPY)


def load_with_checked(path: PathLike) -> Tuple["CheckedProgram", "Network"]:
    """The checked program of the .net file at ``path`` and its network (for the interpreter and the network side by side)."""
    checked = load_checked(path)
    return checked, lower(checked)
