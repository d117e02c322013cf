"""``C += alpha·Aᵀ·B`` in place, by the BLAS that numpy itself calls: the one BLAS operation numpy does not expose.

numpy's ``matmul`` always writes a whole new product, so a gradient step on a weight matrix is
two passes: the product ``xᵀ·δ`` into a buffer, then ``W -= buffer``. BLAS's ``dgemm`` adds the
product into ``C`` as it computes it (``beta = 1``). For Saito's first layer (784 x 50, batches
of 100, OpenBLAS with two threads) the two passes took 115-190 us a step and the one call
94-119 us, measured here, interleaved: the buffer, written half by each BLAS thread, had to
cross to the other core to be subtracted.

Only a BLAS that numpy has already loaded is used (``RTLD_NOLOAD``), so its thread pool is
numpy's: scipy's ``dgemm`` brings a second OpenBLAS whose threads fought numpy's for the two
cores (4 ms a call against 0.1 ms, measured here). Where none is found, or its answer to a
small product with an exact result is not numpy's, :func:`in_place_product` gives None and the
caller keeps numpy's two passes; the results of both agree to the last bit or two of each step.
``NETLANG_BLAS=numpy`` in the environment turns the BLAS path off.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

# cblas's constants (cblas.h): row-major storage, no transpose, transpose.
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# (symbol, integer type). A ``64_`` suffix marks the ILP64 interface (64-bit sizes), as in
# the scipy-openblas library inside numpy's wheels; a plain ``cblas_dgemm`` takes C ints.
_SYMBOLS = (
    ("scipy_cblas_dgemm64_", ctypes.c_int64),
    ("cblas_dgemm64_", ctypes.c_int64),
    ("scipy_cblas_dgemm", ctypes.c_int),
    ("cblas_dgemm", ctypes.c_int),
)


def _candidates() -> List[str]:
    """Shared libraries numpy may have loaded its BLAS from: its wheel's own folder, then (on
    Linux) every loaded library with the name of numpy's BLAS in its file name."""
    package = Path(np.__file__).resolve().parent
    found: List[str] = []
    for folder in (package.parent / "numpy.libs", package / ".libs", package / ".dylibs"):
        if folder.is_dir():
            found += sorted(str(path) for path in folder.iterdir() if "blas" in path.name.lower())
    try:
        name = str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]).lower()
    except Exception:  # noqa: BLE001 - a numpy without its build record: the wheel folder alone
        name = ""
    maps = Path("/proc/self/maps")
    if name and maps.exists():
        stem = name.replace("scipy-", "")
        for line in maps.read_text().splitlines():
            path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
            if path.startswith("/") and stem in Path(path).name.lower() and path not in found:
                found.append(path)
    return found


@functools.lru_cache(maxsize=None)
def _dgemm() -> Optional[Tuple[Any, Any]]:
    """numpy's ``cblas_dgemm`` and its integer type, or None."""
    if os.environ.get("NETLANG_BLAS", "").lower() == "numpy" or sys.maxsize < 2**63 - 1 or sys.byteorder != "little":
        return None
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LOCAL", 0)
    for path in _candidates():
        try:
            library = ctypes.CDLL(path, mode=mode)
        except OSError:  # not loaded by this process: never load a second BLAS
            continue
        for symbol, integer in _SYMBOLS:
            function = getattr(library, symbol, None)
            if function is None:
                continue
            pointer = ctypes.c_void_p
            function.argtypes = [
                ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, ctypes.c_double,
                pointer, integer, pointer, integer, ctypes.c_double, pointer, integer,
            ]
            function.restype = None
            if _agrees(function, integer):
                return function, integer
    return None


def _agrees(function: Any, integer: Any) -> bool:
    """Whether ``function`` computes a small product with an exact result as numpy does."""
    a = np.arange(12.0).reshape(4, 3) - 5.0  # Aᵀ is 3 x 4
    b = np.arange(8.0).reshape(4, 2) * 0.5
    c = np.full((3, 2), 0.25)
    expected = c - 2.0 * (a.T @ b)
    _call(function, integer, c, a, b, -2.0)
    return bool(np.array_equal(c, expected))


def _stride(array: np.ndarray) -> Optional[int]:
    """The row stride of a float64 matrix in elements, when its rows are contiguous."""
    if array.dtype != np.float64 or array.ndim != 2 or array.strides[1] != 8 and array.shape[1] > 1:
        return None
    step = array.strides[0]
    if step % 8 or step // 8 < max(array.shape[1], 1) or array.ctypes.data % 8:
        return None
    return step // 8


def _arguments(integer: Any, c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> Optional[Tuple[Any, ...]]:
    strides = [_stride(m) for m in (c, a, b)]
    if None in strides or not c.flags.writeable:
        return None
    (m, n), k = c.shape, a.shape[0]
    if a.shape != (k, m) or b.shape != (k, n) or min(m, n, k) < 1:
        return None
    ldc, lda, ldb = strides
    return (
        _ROW_MAJOR, _TRANS, _NO_TRANS, integer(m), integer(n), integer(k), ctypes.c_double(alpha),
        ctypes.c_void_p(a.ctypes.data), integer(lda), ctypes.c_void_p(b.ctypes.data), integer(ldb),
        ctypes.c_double(1.0), ctypes.c_void_p(c.ctypes.data), integer(ldc),
    )


def _call(function: Any, integer: Any, c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> None:
    arguments = _arguments(integer, c, a, b, alpha)
    assert arguments is not None
    function(*arguments)


def in_place_product(c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> Optional[Callable[[], None]]:
    """A call that does ``c += alpha * a.T @ b`` in place, bound to these very arrays (their
    memory must stay where it is: the engine's fixed blocks), or None: no BLAS of numpy's was
    found, or an array is not a float64 matrix with contiguous rows of the right shapes."""
    found = _dgemm()
    if found is None:
        return None
    function, integer = found
    arguments = _arguments(integer, c, a, b, alpha)
    if arguments is None:
        return None
    keep = (c, a, b)  # the arrays stay alive as long as the call that writes and reads them

    def dgemm_in_place() -> None:
        function(*arguments)

    dgemm_in_place.arrays = keep  # type: ignore[attr-defined]
    return dgemm_in_place
