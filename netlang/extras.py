"""Optional dependencies: imported on first use, or one kind of error that says what to install.

matplotlib (``netlang plot``), onnx (``netlang export``) and Graphviz's ``dot`` program
(``netlang graph -o``) are not needed for the rest of netlang. Whatever is missing, the
user sees the same thing: a ``NetlangError`` with code ``missing-extra`` naming the file,
what needed the package, and the one command that installs it.
"""

from __future__ import annotations

import importlib
import shutil
from types import ModuleType
from typing import Optional

from .errors import NetlangError


def _pip_hint(extra: str) -> str:
    return f"install it with: pip install 'netlang[{extra}]' (in a netlang checkout: pip install '.[{extra}]')"


def missing(what: str, package: str, hint: str, filename: Optional[str] = None) -> NetlangError:
    """The error for an optional ``package`` that ``what`` (``"plotting"``) needs but is not installed."""
    return NetlangError(
        f"{what} needs {package}, which is not installed",
        filename=filename,
        hint=hint,
        code="missing-extra",
    )


def require(module: str, extra: str, what: str, filename: Optional[str] = None) -> ModuleType:
    """``import module``, or a ``missing-extra`` error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing(what, f"the '{module.split('.')[0]}' package", _pip_hint(extra), filename) from None


GRAPHVIZ_HINT = (
    "install Graphviz: 'sudo apt-get install graphviz' (Debian, Ubuntu), 'brew install graphviz' (macOS), "
    "'conda install graphviz', or see https://graphviz.org/download/; "
    "or write DOT text instead (-o FILE.dot) and draw it elsewhere"
)


def require_program(name: str, package: str, what: str, hint: str, filename: Optional[str] = None) -> str:
    """The path of the program ``name`` (part of ``package``) on PATH, or a ``missing-extra`` error with ``hint``."""
    path = shutil.which(name)
    if path is None:
        raise missing(what, f"{package}'s '{name}' program (not found on PATH)", hint, filename)
    return path
