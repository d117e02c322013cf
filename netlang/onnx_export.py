"""ONNX export (a tool beside the pipeline): a compiled Network as a standard ONNX model (``netlang export FILE -o model.onnx``).

The layout (docs/export.md): one input ``x`` of shape [N, input width] whose columns
are ``Network.input_columns``, one output ``y`` of shape [N, output width] whose
columns are ``Network.output_columns`` (or, with ``per_name``, one input and one output
per netlang name). Each layer is one ``Gemm`` whose weight
initializer is exactly ``layer.weights`` (rows x columns, as ``netlang compile``
shows it) and whose input is the concatenation of the signals the layer reads (the
inputs and earlier layers: skip connections), then its activations, one per segment
of rows. ``step`` is ``Greater`` + ``Cast``, ``step(a >= b)`` is ``GreaterOrEqual`` +
``Cast``. Needs the ``onnx`` package (``pip install 'netlang[onnx]'``), imported only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__, limits
from .errors import NetlangError, name_list
from .extras import require
from .runtime import CompiledLayer, Network

# Opset 17 runs on onnxruntime 1.12 and later; IR version 8 is the one that goes with it.
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "x"
OUTPUT_NAME = "y"
DTYPES = {"float64": np.float64, "float32": np.float32}


class _GraphBuilder:
    """Collects nodes and initializers, each with a readable name (Netron shows them)."""

    def __init__(self, onnx: Any, dtype: Any) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.dtype = np.dtype(dtype)
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes: List[Any] = []
        self.initializers: List[Any] = []
        self._shared: Dict[str, str] = {}

    def constant(self, name: str, value: np.ndarray, doc: str = "") -> str:
        tensor = self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name)
        if doc:
            tensor.doc_string = doc
        self.initializers.append(tensor)
        return name

    def __repr__(self) -> str:
        return f"_GraphBuilder({self.dtype}, {len(self.nodes)} nodes, {len(self.initializers)} initializers)"

    def shared(self, name: str, value: np.ndarray) -> str:
        """A constant that every node needing it reads (zero, axis 1), made once."""
        if name not in self._shared:
            self._shared[name] = self.constant(name, value)
        return self._shared[name]

    def node(self, op: str, inputs: Sequence[str], output: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=output, **attributes))
        return output

    def columns(self, source: str, local: np.ndarray, width: int, name: str) -> str:
        """Columns ``local`` (sorted) of the [N, width] tensor ``source``: the whole tensor, a Slice or a Gather."""
        if len(local) == width:
            return source
        first, last = int(local[0]), int(local[-1])
        if last - first + 1 == len(local):
            starts = self.constant(f"{name}.start", np.array([first], dtype=np.int64))
            ends = self.constant(f"{name}.end", np.array([last + 1], dtype=np.int64))
            axes = self.shared("const.axis1", np.array([1], dtype=np.int64))
            return self.node("Slice", [source, starts, ends, axes], name)
        indices = self.constant(f"{name}.indices", local.astype(np.int64))
        return self.node("Gather", [source, indices], name, axis=1)

    def concat(self, parts: Sequence[str], name: str) -> str:
        if len(parts) == 1:
            return parts[0]
        return self.node("Concat", parts, name, axis=1)


def _step(builder: _GraphBuilder, z: str, name: str, compare: str) -> str:
    zero = builder.shared("const.zero", np.zeros((), dtype=builder.dtype))
    fired = builder.node(compare, [z, zero], f"{name}.fired")
    return builder.node("Cast", [fired], name, to=builder.elem_type)


# How each activation becomes ONNX operators: (builder, pre-activation tensor, output name) -> output.
_ACTIVATION_OPS: Dict[str, Callable[[_GraphBuilder, str, str], str]] = {
    "step": lambda b, z, name: _step(b, z, name, "Greater"),
    "step_ge": lambda b, z, name: _step(b, z, name, "GreaterOrEqual"),
    "sigmoid": lambda b, z, name: b.node("Sigmoid", [z], name),
    "relu": lambda b, z, name: b.node("Relu", [z], name),
    "tanh": lambda b, z, name: b.node("Tanh", [z], name),
    "identity": lambda b, z, name: b.node("Identity", [z], name),
    # Over the layer's rows, which are the tensor's columns (axis 1), for each sample.
    "softmax": lambda b, z, name: b.node("Softmax", [z], name, axis=1),
}


class _Signals:
    """Which tensor holds each signal position: the input, then each layer's output."""

    def __init__(self) -> None:
        self.blocks: List[Tuple[int, int, str]] = []  # (first position, end, tensor)

    def __repr__(self) -> str:
        return "_Signals(" + ", ".join(f"{tensor}=[{start}:{stop}]" for start, stop, tensor in self.blocks) + ")"

    def add(self, start: int, stop: int, tensor: str) -> None:
        self.blocks.append((start, stop, tensor))

    def read(self, builder: _GraphBuilder, positions: np.ndarray, name: str) -> List[str]:
        """Tensors that together hold the signals at ``positions`` (sorted), in that order."""
        parts = []
        for start, stop, tensor in self.blocks:
            lo, hi = np.searchsorted(positions, [start, stop])
            if lo < hi:
                local = positions[lo:hi] - start
                parts.append(builder.columns(tensor, local, stop - start, f"{name}.{tensor}"))
        return parts


def _terms_per_row(layer: CompiledLayer, itemsize: int) -> Optional[int]:
    """K, the most terms a row of a sparse layer has, when exporting its terms is smaller than
    its dense matrix; None otherwise (then the layer is a Gemm)."""
    if not layer.is_sparse or layer.coo is None or not len(layer.coo[0]):
        return None
    rows, cols = layer.shape
    terms = int(np.bincount(layer.coo[0], minlength=rows).max())
    return terms if terms * (8 + itemsize) < cols * itemsize else None


def _terms(layer: CompiledLayer, terms: int) -> Tuple[np.ndarray, np.ndarray]:
    """A sparse layer's weights as (columns, weights), each [rows, K], row i's terms in its first
    slots; padding reads column ``cols`` (a column of zeros) with weight 0."""
    rows, cols = layer.shape
    row_of, column_of, values = layer.coo  # type: ignore[misc]
    counts = np.bincount(row_of, minlength=rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(row_of)) - np.repeat(starts, counts)
    columns = np.full((rows, terms), cols, dtype=np.int64)
    weights = np.zeros((rows, terms))
    columns[row_of, slot] = column_of
    weights[row_of, slot] = values
    return columns, weights


def _weight_bytes(layer: CompiledLayer, itemsize: int) -> int:
    terms = _terms_per_row(layer, itemsize)
    if terms is not None:
        return layer.shape[0] * terms * (8 + itemsize)
    return layer.shape[0] * layer.shape[1] * itemsize


def _check_size(network: Network, itemsize: int, filename: str) -> None:
    # One ONNX file is one protobuf message, which cannot pass 2 GiB.
    total = sum(_weight_bytes(layer, itemsize) for layer in network.layers)
    if total > limits.MAX_ONNX_BYTES:
        largest = max(network.layers, key=lambda layer: _weight_bytes(layer, itemsize))
        hint = "split the network's largest layers"
        if itemsize > 4:
            hint = "export with --dtype float32 (dtype='float32') to halve the size, or " + hint
        raise NetlangError(
            f"the exported weights would take {_bytes(total)} "
            f"(layer {largest.index + 1} alone is {largest.shape[0]} x {largest.shape[1]}); "
            f"an ONNX file holds at most {_bytes(limits.MAX_ONNX_BYTES)} of weights (MAX_ONNX_BYTES)",
            filename=filename,
            hint=hint,
            code="export-too-large",
        )


def _bytes(count: int) -> str:
    """``count`` bytes for a reader: ``96 bytes``, ``1.5 KiB``, ``2.0 GiB``."""
    if count < 1024:
        return f"{count} bytes"
    size = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


def _layer(builder: _GraphBuilder, layer: CompiledLayer, signals: _Signals, batch: str) -> str:
    prefix = f"layer{layer.index + 1}"
    rows, cols = layer.shape
    dtype = builder.dtype
    bias = builder.constant(f"{prefix}.b", layer.bias.astype(dtype), "bias, one per row")
    terms = _terms_per_row(layer, dtype.itemsize)
    if terms is not None:
        z = _sparse_layer(builder, layer, signals, bias, *_terms(layer, terms))
    elif cols:
        labels = f"rows: {name_list(layer.rows, 16, 'more')}; columns: {name_list(layer.columns, 16, 'more')}"
        weights = builder.constant(f"{prefix}.W", layer.weights.astype(dtype), labels)
        read = builder.concat(signals.read(builder, layer.column_positions, f"{prefix}.read"), f"{prefix}.s")
        z = builder.node("Gemm", [read, weights, bias], f"{prefix}.z", transB=1)
    else:
        # Neurons that read no signal are constants: the bias, repeated for every sample.
        row_count = builder.constant(f"{prefix}.rows", np.array([rows], dtype=np.int64))
        shape = builder.node("Concat", [batch, row_count], f"{prefix}.shape", axis=0)
        z = builder.node("Expand", [bias, shape], f"{prefix}.z")
    outputs = []
    for segment in layer.segments:
        whole = segment.start == 0 and segment.stop == rows
        name = f"{prefix}.h" if whole else f"{prefix}.h{segment.start}_{segment.stop}"
        if whole:
            part = z
        else:
            rows_of_segment = np.arange(segment.start, segment.stop)
            part = builder.columns(z, rows_of_segment, rows, f"{prefix}.z{segment.start}_{segment.stop}")
        if segment.activation not in _ACTIVATION_OPS:  # pragma: no cover - tests check every activation has one
            raise NetlangError(f"activation '{segment.activation}' has no ONNX form", code="export-unsupported")
        outputs.append(_ACTIVATION_OPS[segment.activation](builder, part, name))
    return builder.concat(outputs, f"{prefix}.h")


def _sparse_layer(
    builder: _GraphBuilder, layer: CompiledLayer, signals: _Signals, bias: str, columns: np.ndarray, weights: np.ndarray
) -> str:
    """A sparse layer's pre-activations from its terms: each row's K signals gathered, times its
    K weights, summed (a Gemm would need the dense matrix, mostly zeros for a netlist)."""
    prefix = f"layer{layer.index + 1}"
    rows, terms = columns.shape
    read = builder.concat(signals.read(builder, layer.column_positions, f"{prefix}.read"), f"{prefix}.s")
    if (columns == layer.shape[1]).any():
        # Padding reads a column of zeros, so it adds exactly 0 even beside an infinite signal.
        samples = builder.node("Shape", [read], f"{prefix}.samples", start=0, end=1)
        one = builder.shared("const.one", np.array([1], dtype=np.int64))
        shape = builder.node("Concat", [samples, one], f"{prefix}.zero_shape", axis=0)
        zero = builder.helper.make_tensor("zero", builder.elem_type, [1], [0])
        zeros = builder.node("ConstantOfShape", [shape], f"{prefix}.zeros", value=zero)
        read = builder.node("Concat", [read, zeros], f"{prefix}.s0", axis=1)
    index = builder.constant(
        f"{prefix}.terms", columns.reshape(-1), f"the columns of {prefix}.s each row reads, {terms} per row"
    )
    gathered = builder.node("Gather", [read, index], f"{prefix}.g", axis=1)
    shape = builder.constant(f"{prefix}.g_shape", np.array([0, rows, terms], dtype=np.int64))
    by_row = builder.node("Reshape", [gathered, shape], f"{prefix}.g3")
    labels = f"rows: {name_list(layer.rows, 16, 'more')}; {terms} terms each, in the order of {prefix}.terms"
    w = builder.constant(f"{prefix}.W", weights.astype(builder.dtype), labels)
    products = builder.node("Mul", [by_row, w], f"{prefix}.wg")
    axis = builder.shared("const.axis2", np.array([2], dtype=np.int64))
    sums = builder.node("ReduceSum", [products, axis], f"{prefix}.sum", keepdims=0)
    return builder.node("Add", [sums, bias], f"{prefix}.z")


def to_onnx(
    network: Network, *, source_name: str = "<string>", dtype: str = "float64", per_name: bool = False
) -> Any:
    """``network`` as an ``onnx.ModelProto``, checked by ``onnx.checker``.

    ``source_name`` (the .net file) names the graph and goes into its doc string;
    ``dtype`` is ``"float64"`` (netlang's own precision: every step decides as in
    ``netlang run``) or ``"float32"``. By default the model has one input ``x`` and one
    output ``y``; with ``per_name`` it has one input per netlang input and one output per
    netlang output, named as in the .net file, each of shape [N, 1] or [N, size].
    """
    model = _unchecked_model(network, source_name, dtype, per_name)
    onnx = require("onnx", "onnx", "exporting to ONNX", source_name)
    onnx.checker.check_model(model, full_check=True)
    return model


def model_bytes(network: Network, *, source_name: str = "<string>", dtype: str = "float64", per_name: bool = False) -> bytes:
    """The bytes of :func:`to_onnx`'s model, checked by ``onnx.checker``, made with the least memory.

    Every copy of the weights costs the model's size: the model is serialized once and dropped
    before the checker parses those bytes (``check_model`` of a ModelProto would serialize it
    again). A 216 MB model peaked at 1.54 GB (7.1x) through ``to_onnx`` + ``serialize``.
    """
    model = _unchecked_model(network, source_name, dtype, per_name)
    data = serialize(model, source_name)
    del model
    onnx = require("onnx", "onnx", "exporting to ONNX", source_name)
    onnx.checker.check_model(data, full_check=True)
    return data


def _unchecked_model(network: Network, source_name: str, dtype: str, per_name: bool) -> Any:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    onnx = require("onnx", "onnx", "exporting to ONNX", source_name)
    helper = onnx.helper
    builder = _GraphBuilder(onnx, DTYPES[dtype])
    _check_size(network, builder.dtype.itemsize, source_name)
    if per_name and not network.inputs:
        raise NetlangError(
            "a network without inputs has no input to name (the number of samples comes from an input)",
            filename=source_name,
            hint="export it without --per-name (per_name=False): the single input x then takes the number of samples",
            code="export-unsupported",
        )
    name = "netlang" if source_name.startswith("<") else Path(source_name).stem
    doc = f"compiled by netlang {__version__} from {source_name}"
    column_groups = _groups(network.input_columns, network.input_sizes)
    if per_name:
        input_groups = list(zip(network.input_names, column_groups))
    else:
        input_groups = [(INPUT_NAME, network.input_columns)]
    signals = _Signals()
    position = 0
    for tensor, columns in input_groups:
        signals.add(position, position + len(columns), tensor)
        position += len(columns)
    batch = ""
    if any(not layer.shape[1] for layer in network.layers):
        batch = builder.node("Shape", [input_groups[0][0]], "x.samples", start=0, end=1)
    positions = {column: i for i, column in enumerate(network.input_columns)}
    for layer in network.layers:
        h = _layer(builder, layer, signals, batch)
        signals.add(layer.row_start, layer.row_start + layer.shape[0], h)
        positions.update((row, layer.row_start + i) for i, row in enumerate(layer.rows))
    if per_name:
        output_groups = list(zip(network.output_names, _groups(network.output_columns, network.output_sizes)))
    else:
        output_groups = [(OUTPUT_NAME, network.output_columns)]
    for tensor, columns in output_groups:
        _output(builder, signals, np.array([positions[column] for column in columns], dtype=np.int64), tensor)
    graph = helper.make_graph(
        builder.nodes,
        name,
        [_value_info(helper, tensor, builder.elem_type, columns) for tensor, columns in input_groups],
        [_value_info(helper, tensor, builder.elem_type, columns) for tensor, columns in output_groups],
        doc_string=doc,
    )
    model = helper.make_model(
        graph,
        producer_name="netlang",
        producer_version=__version__,
        doc_string=doc,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    helper.set_model_props(
        model,
        {
            "netlang.input_columns": ",".join(network.input_columns),
            "netlang.output_columns": ",".join(network.output_columns),
        },
    )
    # The weights join the model only now, one tensor at a time, each dropped from the builder
    # as it is copied in: make_graph and make_model copy every initializer they are given, and
    # held by the builder, the graph and the model at once the weights took three times their size.
    tensors = builder.initializers[::-1]
    builder.initializers.clear()
    while tensors:
        model.graph.initializer.append(tensors.pop())
    return model


def _groups(columns: Sequence[str], sizes: Sequence[Any]) -> List[Tuple[str, ...]]:
    """``columns`` cut into one group per input or output (``sizes``: None for a scalar)."""
    groups, first = [], 0
    for size in sizes:
        width = 1 if size is None else size
        groups.append(tuple(columns[first : first + width]))
        first += width
    return groups


def _output(builder: _GraphBuilder, signals: _Signals, positions: np.ndarray, name: str) -> None:
    # Outputs come in any order (inputs included), so they are read one increasing run at a time.
    parts = []
    run_start = 0
    for i in range(1, len(positions) + 1):
        if i == len(positions) or positions[i] != positions[i - 1] + 1:
            parts += signals.read(builder, positions[run_start:i], f"{name}.{run_start}")
            run_start = i
    result = builder.concat(parts, f"{name}.concat")
    if result != name:  # else an input passed through as an output, under its own name
        builder.node("Identity", [result], name)


def interface(network: Network, per_name: bool = False) -> str:
    """The exported model's inputs and outputs in words: ``input x [N, 2] (x1, x2), output y [N, 1] (y)``."""
    if per_name:
        inputs = ", ".join(f"{name} [N, {1 if size is None else size}]" for name, size in network.inputs)
        sizes = zip(network.output_names, network.output_sizes)
        outputs = ", ".join(f"{name} [N, {1 if size is None else size}]" for name, size in sizes)
        return f"inputs {inputs}, outputs {outputs}"
    return (
        f"input {INPUT_NAME} [N, {network.input_width}] ({name_list(network.input_columns, count='more')}), "
        f"output {OUTPUT_NAME} [N, {network.output_width}] ({name_list(network.output_columns, count='more')})"
    )


def _value_info(helper: Any, name: str, elem_type: int, columns: Sequence[str]) -> Any:
    info = helper.make_tensor_value_info(name, elem_type, ["N", len(columns)])
    info.doc_string = "columns: " + ", ".join(columns)
    return info


def serialize(model: Any, filename: str = "<string>") -> bytes:
    """The bytes of an ONNX model; a NetlangError when protobuf cannot encode it (over its 2 GiB message limit)."""
    from google.protobuf.message import EncodeError

    try:
        return bytes(model.SerializeToString())
    except EncodeError:
        raise NetlangError(
            "the ONNX model could not be written: with its graph it is larger than the 2 GiB that one "
            "protobuf message (one ONNX file) can hold",
            filename=filename,
            hint="export with --dtype float32 (dtype='float32') to halve the size, or split the network's largest layers",
            code="export-too-large",
        ) from None


def export_onnx(
    network: Network,
    path: Union[str, Path],
    *,
    source_name: str = "<string>",
    dtype: str = "float64",
    per_name: bool = False,
) -> None:
    """Write ``network`` to ``path`` as an ONNX model, atomically (an interrupted export leaves no half file).

    The keyword arguments are those of :func:`to_onnx`.
    """
    from .files import write_bytes

    write_bytes(path, model_bytes(network, source_name=source_name, dtype=dtype, per_name=per_name))
