"""Write-back: learned values put back into the .net file and its weight files, all or nothing.

The text is edited in place, by the spans of what it replaces: every comment, blank line
and layout choice of the file stays, and only the learned numbers change (a file that was
in the formatter's layout is formatted again, so that matrices stay aligned). Each value is
written as ``repr(float)``, the shortest text that reads back to exactly the same float, so
the written file compiles to exactly the network training ended with.

Where the values go:

- a number of a ``param node``/``param layer``, or an entry of a param written as a literal
  (``param W = [[0.5, 0.1], ...]``): in place;
- a param read with ``load("w.npy")`` (``.npy``, ``.npz`` member, ``.csv``): back into that
  file, in its format; with ``output`` (a new .net file) into the new weights file instead;
- a param drawn by an initialiser (``param W[100, 784] = xavier()``): in place as a literal
  when it has at most ``INLINE_LIMIT`` entries, else ``load("NAME.npz", "W")``, a new weights
  file beside the .net file (``weights`` names another).

Every file is first written beside its target under a temporary name; only when all are
written are they renamed over their targets, and if a rename fails the ones done are put
back, so the files are all new or all as they were. The bytes depend only on the values:
``.npz`` members carry a fixed time stamp, so the same training gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import NetlangError
from .nodes import Call, Expr, Product, Program, Span, String, Sum, UnaryOp, Vector, walk
from .provenance import Provenance, Source

INLINE_LIMIT = 100  # entries of an initialised param written into the .net file; more go to a .npz
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip file can say: members carry no real time


def number_text(value: float) -> str:
    """``value`` as netlang source: the shortest decimal that reads back to exactly it."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} has no netlang spelling")
    return repr(float(value))


def literal_text(values: np.ndarray) -> str:
    """A vector or matrix as a netlang literal (a matrix one row per line)."""
    if values.ndim == 0:
        return number_text(float(values))
    if values.ndim == 1:
        return "[" + ", ".join(number_text(v) for v in values.tolist()) + "]"
    rows = ",\n".join("    " + literal_text(row) for row in values)
    return "[\n" + rows + "\n]"


class Edit:
    """Replace the text of ``span`` with ``text``."""

    __slots__ = ("span", "text")

    def __init__(self, span: Span, text: str) -> None:
        self.span = span
        self.text = text

    def __repr__(self) -> str:
        return f"Edit({self.span!r}, {self.text!r})"


def apply_edits(source: str, edits: Sequence[Edit]) -> str:
    """``source`` with every edit made (spans are 1-based, end column exclusive; edits do not overlap)."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    pieces: List[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.span.line, e.span.column)):
        begin = offset(edit.span.line, edit.span.column)
        end = offset(edit.span.end_line, edit.span.end_column)
        pieces += [source[position:begin], edit.text]
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


def _load_call(expr: Expr) -> Optional[Tuple[str, Optional[str]]]:
    if isinstance(expr, Call) and expr.func.id == "load" and all(isinstance(a, String) for a in expr.args):
        strings = [a.value for a in expr.args if isinstance(a, String)]
        return strings[0], (strings[1] if len(strings) > 1 else None)
    return None


def _leaves(expr: Expr, shape: Tuple[int, ...]) -> Optional[List[Expr]]:
    """The element expressions of a literal of ``shape``, in row-major order (None if it is not one)."""
    if not shape:
        return [expr]
    if not isinstance(expr, Vector) or len(expr.items) != shape[0]:
        return None
    leaves: List[Expr] = []
    for item in expr.items:
        inner = _leaves(item, shape[1:])
        if inner is None:
            return None
        leaves += inner
    return leaves


class WritePlan:
    """Where each learned value of a file goes, decided before training (so that a file that
    cannot be written is found before any time is spent)."""

    def __init__(
        self,
        provenance: Provenance,
        path: Union[str, "os.PathLike[str]"],
        output: Optional[Union[str, "os.PathLike[str]"]] = None,
        weights: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> None:
        self.provenance = provenance
        self.program: Program = provenance.checked.program
        self.source_path = Path(path)
        self.target = Path(output) if output is not None else self.source_path
        self.base = self.source_path.parent
        if self.target.resolve().parent != self.source_path.resolve().parent:
            raise NetlangError(
                f"the new .net file '{self.target}' must be in the same folder as '{self.source_path}'",
                filename=os.fspath(self.target),
                code="cannot-write",
                hint="its load(...) paths are relative to its folder",
            )
        self.in_place = output is None
        default_weights = self.target.with_suffix(".npz")
        self.weights_name = os.fspath(Path(weights).name) if weights is not None else default_weights.name
        self.weights_path = self.base / self.weights_name
        self.parents = self._parents()
        # Arrays to write, by file: (format, member) for each param source.
        self.file_of: Dict[int, Tuple[Path, Optional[str]]] = {}
        self.inline: List[Source] = []
        for source in provenance.sources:
            if source.param is None:
                self.inline.append(source)
                continue
            found = _load_call(source.param.value)
            if found is not None:
                name, key = found
                if self.in_place:
                    self.file_of[source.first] = (self.base / name, key)
                else:
                    self.file_of[source.first] = (self.weights_path, source.param.name)
            elif self._initialised(source) and source.size > INLINE_LIMIT:
                self.file_of[source.first] = (self.weights_path, source.param.name)
            else:
                self.inline.append(source)
        uses_weights = any(path == self.weights_path for path, _ in self.file_of.values())
        loads = {(self.base / name).resolve() for name in self._all_loads()}
        if uses_weights and self.weights_path.exists() and self.weights_path.resolve() not in loads:
            raise NetlangError(
                f"'{self.weights_path}' exists and this file does not load it: training would overwrite it",
                filename=os.fspath(self.weights_path),
                code="cannot-write",
                hint="name another file for the learned weights with --weights NAME.npz",
            )

    def __repr__(self) -> str:
        return f"WritePlan({self.target}, files={[os.fspath(p) for p in self.targets()]})"

    def _all_loads(self) -> List[str]:
        return [found[0] for node in walk(self.program) if isinstance(node, Call) for found in [_load_call(node)] if found]

    def _initialised(self, source: Source) -> bool:
        from .params import initialiser_call

        return source.param is not None and initialiser_call(source.param.value) is not None

    def _parents(self) -> Dict[int, object]:
        parents: Dict[int, object] = {}
        for node in walk(self.program):
            for child in _children(node):
                parents[id(child)] = node
        return parents

    def targets(self) -> List[Path]:
        """Every file the plan writes: the .net file, then the weight files."""
        files = [self.target]
        for path, _ in self.file_of.values():
            if path not in files:
                files.append(path)
        return files

    def check_writable(self) -> None:
        """Raise a NetlangError naming the first file that could not be written."""
        for path in self.targets():
            folder = path.parent if str(path.parent) else Path(".")
            problem = None
            if path.exists() and not path.is_file():
                problem = "it is not a regular file"
            elif path.exists() and not os.access(path, os.W_OK):
                problem = "it is read-only"
            else:
                try:
                    handle, probe = tempfile.mkstemp(prefix=".netlang-probe-", dir=folder)
                    os.close(handle)
                    os.unlink(probe)
                except OSError as error:
                    problem = f"its folder cannot be written ({error.strerror})"
            if problem is not None:
                raise NetlangError(
                    f"cannot write '{path}': {problem}",
                    filename=os.fspath(path),
                    code="cannot-write",
                    hint="training writes the learned values there; make it writable, or use --output / --weights",
                )

    # -- the new contents ------------------------------------------------------------

    def render(self, values: np.ndarray) -> Dict[Path, bytes]:
        """The new bytes of every file, for the file's learned values ``values`` (source order)."""
        edits: List[Edit] = []
        arrays: Dict[Path, Dict[Optional[str], np.ndarray]] = {}
        for source in self.provenance.sources:
            part = values[source.first : source.first + source.size]
            if source.first in self.file_of:
                path, key = self.file_of[source.first]
                arrays.setdefault(path, {})[key] = part.reshape(source.shape)
                assert source.param is not None
                if not self.in_place or _load_call(source.param.value) is None:
                    text = f'load("{self.weights_name}", "{source.param.name}")'
                    edits.append(Edit(source.param.value.span, text))
            else:
                edits.extend(self._inline_edits(source, part))
        original = self.program.source or ""
        text = apply_edits(original, edits)
        from .formatter import format_source

        if _formatted(original):
            text = format_source(text, os.fspath(self.target))
        files: Dict[Path, bytes] = {self.target: text.encode("utf-8")}
        for path, members in arrays.items():
            files[path] = _weight_file_bytes(path, members)
        return files

    def _inline_edits(self, source: Source, part: np.ndarray) -> List[Edit]:
        if source.number is not None:
            return self._number_edits(source.number, float(part[0]))
        assert source.param is not None
        leaves = None if self._initialised(source) else _leaves(source.param.value, source.shape)
        if leaves is None:
            return [Edit(source.param.value.span, literal_text(part.reshape(source.shape)))]
        return [edit for leaf, value in zip(leaves, part.tolist()) for edit in self._number_edits(leaf, value)]

    def _number_edits(self, expr: Expr, value: float) -> List[Edit]:
        """Replace ``expr`` (a number as written) with ``value``. A negative value takes the sign
        before it: ``-0.5`` becomes ``0.25``, ``a - 0.5*b`` becomes ``a + 0.25*b`` and ``a + 0.5*b``
        becomes ``a - 0.25*b``, rather than ``--0.25``, ``a - -0.25*b`` or ``a + -0.25*b`` (the same
        floats: negation is exact)."""
        parent = self.parents.get(id(expr))
        if math.copysign(1.0, value) > 0:
            return [Edit(expr.span, number_text(value))]
        if isinstance(parent, UnaryOp) and parent.op == "-":
            return [Edit(parent.span, number_text(-value))]
        term: object = expr
        if isinstance(parent, Product) and parent.operands[0] is expr:
            term, parent = parent, self.parents.get(id(parent))
        if isinstance(parent, Sum):
            position = next(i for i, operand in enumerate(parent.operands) if operand is term)
            if position > 0:
                op = parent.ops[position - 1]
                operator = self._operator_span(parent.operands[position - 1].span, expr.span, op)
                if operator is not None:
                    return [Edit(operator, "+" if op == "-" else "-"), Edit(expr.span, number_text(-value))]
        return [Edit(expr.span, number_text(value))]

    def _operator_span(self, before: Span, after: Span, op: str) -> Optional[Span]:
        """Where the operator ``op`` between two operands stands (None if a line break is in the way)."""
        if before.end_line != after.line:
            return None
        line = (self.program.source or "").split("\n")[after.line - 1]
        between = line[before.end_column - 1 : after.column - 1]
        if between.strip() != op:
            return None
        column = before.end_column + between.index(op)
        return Span(after.line, column, after.line, column + 1)

    def write(self, values: np.ndarray) -> List[Path]:
        """Write every file for ``values``, all or none; the files written."""
        files = self.render(values)
        try:
            write_together(files)
        except OSError as error:
            raise NetlangError(
                f"cannot write the learned values: {error.strerror or error} ({error.filename or 'a file'}); every file is as it was",
                filename=os.fspath(self.target),
                code="cannot-write",
                hint="free some space or fix the permissions, and train again (or use --output elsewhere in the folder)",
            ) from None
        return list(files)


def _children(node: object) -> Tuple[object, ...]:
    from .nodes import children

    return children(node)


def _formatted(text: str) -> bool:
    from .formatter import format_source

    try:
        return format_source(text) == text
    except NetlangError:
        return False


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as a .npy file (float64, version 1.0 header: no pickles, deterministic)."""
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.ascontiguousarray(array, dtype=np.float64), allow_pickle=False)
    return stream.getvalue()


def npz_bytes(members: Dict[str, np.ndarray]) -> bytes:
    """An .npz (a zip of .npy files) whose bytes depend only on the arrays: fixed time stamps, names sorted."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, npy_bytes(members[name]))
    return stream.getvalue()


def csv_bytes(array: np.ndarray) -> bytes:
    rows = array.reshape(-1, 1) if array.ndim == 1 else array
    return "".join(",".join(number_text(v) for v in row.tolist()) + "\n" for row in rows).encode("utf-8")


def _weight_file_bytes(path: Path, members: Dict[Optional[str], np.ndarray]) -> bytes:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        existing: Dict[str, np.ndarray] = {}
        if path.exists():
            from .weights import load_weights

            with zipfile.ZipFile(path) as archive:
                names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
            existing = {name: load_weights(path, name) for name in names}
        for key, array in members.items():
            existing[key or "arr_0"] = array
        return npz_bytes(existing)
    (array,) = members.values()
    if suffix == ".csv":
        return csv_bytes(array)
    return npy_bytes(array)


def write_together(files: Dict[Path, bytes]) -> None:
    """Replace every file of ``files`` with its bytes: all of them, or (on any failure or
    interrupt) none; each keeps its permissions."""
    from .files import _new_file_mode

    temporaries: List[Tuple[str, str]] = []
    backups: List[Tuple[str, Optional[str]]] = []
    try:
        for name, data in files.items():
            path = os.path.realpath(name)  # a link stays a link: the file it leads to is written
            folder = os.path.dirname(path)
            handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
            temporaries.append((path, temporary))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else _new_file_mode()
            os.chmod(temporary, mode)
        for path, temporary in temporaries:
            backup: Optional[str] = None
            if os.path.exists(path):
                backup = temporary + ".old"
                os.link(path, backup)
            backups.append((path, backup))
            os.replace(temporary, path)
    except BaseException:
        for path, backup in reversed(backups):  # put back what was replaced
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    os.unlink(path)
            if backup is not None:
                # Renaming a hard link over the file it links to does nothing (POSIX): the
                # target was not replaced, and the link is left over.
                with contextlib.suppress(OSError):
                    os.unlink(backup)
        for _, temporary in temporaries:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    for _, backup in backups:
        if backup is not None:
            with contextlib.suppress(OSError):
                os.unlink(backup)
    for folder in {os.path.dirname(path) for path, _ in temporaries}:
        with contextlib.suppress(OSError):  # the renames reach the disk with the folder
            handle = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
