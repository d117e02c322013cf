"""Any array library: a compiled Network evaluated with the Python array API standard.

``net(X)`` hands an array that is not numpy's (PyTorch, CuPy, JAX, array-api-strict, ...)
to ``evaluate``: the network's weights are copied once to the array's device, in its dtype,
and kept there (one ``Portable`` plan per namespace, device and dtype); the batch never
leaves the device and the result is an array of the same library on the same device.
Only the standard's operations are used (through ``array-api-compat``, optional extra
``array``): matrix products, ``take``, ``concat`` and the activations' portable forms in
activations.py. numpy arrays never come here: runtime.py's in-place plans are faster.

Sparse layers: the standard has no sparse arrays, so a sparse layer is evaluated as its
terms: every neuron's terms gathered side by side (``take``, missing terms reading a column
of zeros with weight 0) and summed after one multiplication, the layout runtime.py's
_ColumnLayer uses on numpy. It needs no library's sparse format, and makes one
(samples x terms) temporary per layer.
"""

from __future__ import annotations

import importlib
from typing import Any, List, Optional, Tuple

import numpy as np

from .activations import ACTIVATIONS
from .errors import NetlangError
from .runtime import RowLayout

# The top-level modules of array types that carry no __array_namespace__ of their own but
# that array-api-compat wraps (a torch.Tensor has none).
_LIBRARIES = ("torch", "cupy", "jax", "jaxlib", "dask", "sparse", "ndonnx", "mlx")


def is_foreign_array(batch: Any) -> bool:
    """True for an array of another library than numpy (checked without importing anything)."""
    if isinstance(batch, np.ndarray):
        return False
    return hasattr(batch, "__array_namespace__") or type(batch).__module__.partition(".")[0] in _LIBRARIES


def compat() -> Any:
    """The array_api_compat module, or a missing-extra NetlangError naming the extra to install."""
    from .extras import require

    return require("array_api_compat", "array", "evaluating arrays of other libraries than numpy")


def _library(name: str) -> Any:
    """An optional library, imported by name: typed Any, so mypy neither needs nor reads its stubs."""
    return importlib.import_module(name)


def evaluate(network: Any, batch: Any, dtype: Any = None) -> Any:
    """``network`` on ``batch`` (samples x inputs, or one sample 1-D), in the batch's own library and device."""
    aac = compat()
    xp = aac.array_namespace(batch)
    device = aac.device(batch)
    if dtype is None:
        floating = xp.isdtype(batch.dtype, "real floating")
        dtype = batch.dtype if floating else xp.float64
    elif not _is_dtype_of(xp, dtype):
        dtype = getattr(xp, np.dtype(dtype).name)  # np.float32 or "float32": the namespace's own
    X = xp.astype(batch, dtype) if batch.dtype != dtype else batch
    single = X.ndim == 1
    if single:
        X = xp.reshape(X, (1, X.shape[0]))
    if X.ndim != 2 or X.shape[1] != network.input_width:
        shown = ", ".join(network.input_columns[:8]) + (", ..." if network.input_width > 8 else "")
        raise NetlangError(
            f"the network takes {network.input_width} input values per sample ({shown}), "
            f"but the batch has shape {tuple(batch.shape)}",
            code="bad-input",
        )
    key = ("portable", xp.__name__, str(device), str(dtype))
    plan = network._plans.get(key)
    if plan is None:
        plan = network._plans[key] = Portable(network, xp, device, dtype)
    # array-api-strict computes with numpy underneath: its exp overflows to inf in sigmoid,
    # whose limit (0) is right, as in runtime.Network.evaluate.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = plan.evaluate(X)
    return out[0, ...] if single else out


def _is_dtype_of(xp: Any, dtype: Any) -> bool:
    try:
        return bool(xp.isdtype(dtype, "real floating"))
    except (TypeError, ValueError, AttributeError):
        return False


class _PortableLayer:
    """One layer: the signals it reads (buffer parts), then ``W s + b`` dense or as gathered terms."""

    __slots__ = ("parts", "weights_t", "terms", "bias", "segments", "negated_bias")

    def __init__(self) -> None:
        self.parts: List[Tuple[int, Any]] = []  # (buffer, None for all of it or an index array)
        self.weights_t: Any = None  # dense: W transposed (columns x rows), so s @ W.T is one matmul
        self.terms: Optional[Tuple[Any, Any, int, int]] = None  # sparse: (indices, values, rows, per row)
        self.bias: Any = None
        self.segments: List[Tuple[int, int, Any]] = []  # (start, stop, portable activation)
        # A layer that is one sigmoid takes its bias into exp(-b - z): one pass fewer.
        self.negated_bias: Any = None


class Portable:
    """A network's evaluation plan in one array namespace, on one device, in one dtype.

    One sample per row, as runtime._RowPlan: buffer 0 is the input batch, buffer k+1 layer k's
    output, and a layer reads the columns of earlier buffers it needs.
    """

    def __init__(self, network: Any, xp: Any, device: Any, dtype: Any) -> None:
        self.xp, self.device, self.dtype = xp, device, dtype
        layout = RowLayout(network)

        def array(values: Any, kind: Any = None) -> Any:
            # A copy: the network's arrays are read-only, which PyTorch cannot share.
            return xp.asarray(np.array(values, order="C"), dtype=kind if kind is not None else dtype, device=device)

        self.layers: List[_PortableLayer] = []
        for layer in network.layers:
            plan = _PortableLayer()
            for buffer, _, _, columns in layout.reads(layer):
                whole = columns == list(range(layout.width(buffer)))
                plan.parts.append((buffer, None if whole else array(columns, xp.int64)))
            rows = len(layer.bias)
            if layer.is_sparse:
                r, c, v = layer.coo
                counts = np.bincount(r, minlength=rows)
                per_row = int(counts.max()) if len(r) else 0
                # Each row's terms side by side; a missing term reads column len(read) (zeros).
                indices = np.full((rows, per_row), len(layer.column_positions), dtype=np.int64)
                values = np.zeros((rows, per_row))  # broadcast over the samples of (samples, rows, per_row)
                first = np.concatenate([[0], np.cumsum(counts)[:-1]])
                slot = np.arange(len(r)) - np.repeat(first, counts)
                indices[r, slot] = c
                values[r, slot] = v
                plan.terms = (array(indices.reshape(-1), xp.int64), array(values), rows, per_row)
            else:
                plan.weights_t = array(layer.weights.T)
            plan.bias = array(layer.bias) if np.any(layer.bias) else None
            if plan.bias is not None and [s.activation for s in layer.segments] == ["sigmoid"]:
                plan.negated_bias, plan.bias = array(-layer.bias), None
            for segment in layer.segments:
                activation = ACTIVATIONS[segment.activation]
                plan.segments.append((segment.start, segment.stop, None if segment.activation == "identity" else activation.portable))
            self.layers.append(plan)
        self.outputs = layout.output_runs(network)
        # The last layer's output is the whole result (the usual case): returned as it is.
        self.whole = layout.whole_output(self.outputs) == len(layout.widths)
        self.output_width = network.output_width

    def __repr__(self) -> str:
        return f"Portable({self.xp.__name__}, device={self.device}, {self.dtype}, {len(self.layers)} layers)"

    def evaluate(self, X: Any) -> Any:
        xp = self.xp
        samples = X.shape[0]
        buffers = [X]
        for plan in self.layers:
            pieces = [buffers[b] if index is None else xp.take(buffers[b], index, axis=1) for b, index in plan.parts]
            if plan.terms is not None:
                indices, values, rows, per_row = plan.terms
                zero = xp.zeros((samples, 1), dtype=self.dtype, device=self.device)
                read = xp.concat(pieces + [zero], axis=1)
                gathered = xp.reshape(xp.take(read, indices, axis=1), (samples, rows, per_row))
                z = xp.sum(gathered * values, axis=2)
            elif not pieces:
                z = xp.zeros((samples, plan.weights_t.shape[1]), dtype=self.dtype, device=self.device)
            else:
                read = pieces[0] if len(pieces) == 1 else xp.concat(pieces, axis=1)
                z = read @ plan.weights_t
            if plan.negated_bias is not None:
                buffers.append(1.0 / (1.0 + xp.exp(plan.negated_bias - z)))
                continue
            if plan.bias is not None:
                z = z + plan.bias
            if len(plan.segments) == 1 and plan.segments[0][0] == 0:
                kernel = plan.segments[0][2]
                buffers.append(z if kernel is None else kernel(xp, z))
                continue
            activated = [
                z[:, start:stop] if kernel is None else kernel(xp, z[:, start:stop]) for start, stop, kernel in plan.segments
            ]
            buffers.append(xp.concat(activated, axis=1))
        if self.whole:
            return buffers[-1]
        if not self.outputs:
            return xp.zeros((samples, 0), dtype=self.dtype, device=self.device)
        columns = [buffers[b][:, first:stop] for b, first, stop in self.outputs]
        if len(columns) > 1:
            return xp.concat(columns, axis=1)
        # One run of columns: a slice, a view for some libraries; never one of the caller's input.
        return xp.asarray(columns[0], copy=True) if self.outputs[0][0] == 0 else columns[0]


# -- a device for numpy data (netlang run --device) -------------------------------------


class DeviceError(ValueError):
    """A ``--device`` that cannot be used here: the message says why and what would do."""


class OnDevice:
    """A network that takes and returns numpy blocks but computes on a device (``run --device``).

    Each block is copied to the device once, evaluated there by the array API path, and its
    result copied back; everything else (names, widths, ``split_outputs``) is the network's.
    """

    def __init__(self, network: Any, library: str, device: Any) -> None:
        self.network = network
        self.library = library
        self.device = device

    def __repr__(self) -> str:
        return f"OnDevice({self.library}, {self.device})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.network, name)

    def __call__(self, batch: Any, dtype: Any = None) -> np.ndarray:
        X = np.ascontiguousarray(batch, dtype=np.float64 if dtype is None else dtype)
        if self.library == "torch":
            torch = _library("torch")
            result = self.network(torch.from_numpy(X).to(self.device))
            return np.asarray(result.cpu().numpy())
        cupy = _library("cupy")
        with self.device:
            return np.asarray(cupy.asnumpy(self.network(cupy.asarray(X))))


def on_device(network: Any, name: str) -> OnDevice:
    """``network`` computing on device ``name`` (``cpu``, ``cuda``, ``cuda:1``, ...) with PyTorch, or CuPy for CUDA.

    Raises DeviceError when neither library is installed, the name is not a device, or the
    device is not on this machine.
    """
    compat()
    try:
        torch = _library("torch")
    except ImportError:
        torch = None
    if torch is not None:
        return OnDevice(network, "torch", _torch_device(torch, name))
    try:
        cupy = _library("cupy")
    except ImportError:
        raise DeviceError(
            f"{name} needs PyTorch or CuPy, and neither is installed: "
            "pip install torch==2.13.0 (the CPU build), a CUDA build of PyTorch, or cupy-cuda12x"
        ) from None
    return OnDevice(network, "cupy", _cupy_device(cupy, name))


def _torch_device(torch: Any, name: str) -> Any:
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise DeviceError(f"'{name}' is not a device name; use cpu, cuda, cuda:N (or another PyTorch device)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "built without CUDA" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}, but finds no GPU"
            raise DeviceError(f"{name}: this machine has no CUDA device that PyTorch can use (PyTorch {torch.__version__} is {build})")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"{name}: there is no such CUDA device; this machine has {count} (cuda:0 to cuda:{count - 1})")
    try:
        torch.zeros(1, device=device)
    except (RuntimeError, AssertionError) as problem:
        raise DeviceError(f"{name}: PyTorch cannot use it here: {str(problem).splitlines()[0]}") from None
    return device


def _cupy_device(cupy: Any, name: str) -> Any:
    kind, _, index = name.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise DeviceError(f"{name}: CuPy (installed here, PyTorch is not) runs only on cuda or cuda:N")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as problem:  # CuPy raises its own CUDARuntimeError without a driver
        raise DeviceError(f"{name}: CuPy finds no CUDA device ({problem})") from None
    number = int(index or 0)
    if number >= count:
        raise DeviceError(f"{name}: there is no such CUDA device; this machine has {count}")
    return cupy.cuda.Device(number)
