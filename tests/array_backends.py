"""The array libraries the array API tests run netlang through: numpy itself, array-api-strict
(the standard and nothing more) and PyTorch on the CPU (when installed: `pip install torch==2.13.0`).

``BACKENDS`` are pytest parameters; a library that is not installed is skipped with the reason,
so the numpy runs always happen. ``to_backend`` and ``to_numpy`` move a numpy array there and back.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

NAMES = ["numpy", "array_api_strict", "torch"]
BACKENDS = [pytest.param(name, id=name) for name in NAMES]


def library(name: str) -> Any:
    if name == "numpy":
        return np
    if name == "torch":
        # Never a bare `pip install torch` (a multi-GB CUDA build): .ci/run installs the pinned CPU one.
        return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install 'netlang[test]')")


def to_backend(name: str, X: np.ndarray) -> Any:
    lib = library(name)
    if name == "numpy":
        return X
    if name == "torch":
        return lib.from_numpy(np.ascontiguousarray(X))
    return lib.asarray(X)


def to_numpy(name: str, array: Any) -> np.ndarray:
    if name == "torch":
        return array.numpy()
    return np.asarray(array)


def check_kind(name: str, result: Any) -> None:
    """``result`` is an array of library ``name`` (not numpy's, for the others)."""
    if name == "numpy":
        assert isinstance(result, np.ndarray)
    elif name == "torch":
        assert type(result).__name__ == "Tensor" and result.device.type == "cpu"
    else:
        assert type(result).__module__.startswith(name) and not isinstance(result, np.ndarray)
