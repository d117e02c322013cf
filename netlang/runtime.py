"""The runtime (pipeline: read -> parse -> check -> lower -> **run**): a compiled Network of weight-matrix layers, evaluated with numpy.

Layer ``k`` (a :class:`CompiledLayer`) computes ``f(W s + b)`` where ``s`` are the signals it reads (inputs and
earlier neurons, skip connections included). Evaluation is vectorised over the
batch: one matrix product (or one sparse gather) per layer, no Python loop over
neurons or samples. Internally the state is kept transposed, one row per neuron
and one column per sample, so every layer's output is one contiguous block.
"""

from __future__ import annotations

import bisect
import copy
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .activations import ACTIVATIONS, sigmoid_in_place

_FLOAT64 = np.dtype(np.float64)  # the one float64 dtype instance numpy gives native arrays
# Bytes of state per chunk of samples in a network with sparse layers (gathers run fastest
# when the state of a chunk stays in the last-level cache).
_CHUNK_BYTES = 4 << 20
# Dense networks: bytes of state per chunk of samples. Large, because a matrix product over few
# samples runs far below BLAS's speed (2 threads to wake per call); it only bounds memory.
_BATCH_BYTES = 64 << 20
# ... while bias and activation run over blocks of a layer's output this size, which stay in L2.
_BLOCK_BYTES = 256 << 10


# NamedTuples rather than dataclasses here and in activations: the cached `netlang run` path
# imports only these modules, and dataclasses costs start-up time (it imports inspect).
class Segment(NamedTuple):
    """Rows ``start:stop`` of a layer share one activation (a softmax segment is one layer node)."""

    start: int
    stop: int
    activation: str


class SignalTable:
    """Names and positions of a network's signals: inputs first, then every neuron in layer order."""

    def __init__(self, names: Sequence[str], sizes: Sequence[Optional[int]]) -> None:
        self.names = list(names)
        self.sizes = list(sizes)
        self.starts: List[int] = []
        total = 0
        for size in sizes:
            self.starts.append(total)
            total += 1 if size is None else size
        self.total = total
        self.index = {name: i for i, name in enumerate(self.names)}

    def element_name(self, position: int) -> str:
        i = bisect.bisect_right(self.starts, position) - 1
        if self.sizes[i] is None:
            return self.names[i]
        return f"{self.names[i]}[{position - self.starts[i]}]"

    def span_of(self, name: str) -> Tuple[int, int]:
        i = self.index[name]
        size = self.sizes[i]
        return self.starts[i], self.starts[i] + (1 if size is None else size)


class CompiledLayer:
    """One compiled layer: ``activation(weights @ s + bias)``, ``s`` being the signals named by ``columns``.

    Public as ``netlang.Layer`` and ``runtime.Layer`` (the names it was first given, kept), and
    printed so; ``nodes.Layer`` is another thing, a ``layer`` statement of the syntax tree.

    ``weights`` is a dense float64 matrix (rows x columns); a large, sparse layer
    keeps its weights as (row, column, value) triples in ``coo`` and makes the
    dense matrix only when ``weights`` is asked for.
    """

    def __init__(
        self,
        index: int,
        row_start: int,
        bias: np.ndarray,
        segments: Sequence[Segment],
        column_positions: np.ndarray,
        signals: SignalTable,
        dense: Optional[np.ndarray] = None,
        coo: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None,
    ) -> None:
        self.index = index
        self.row_start = row_start
        self.bias = bias
        self.segments = tuple(segments)
        self.column_positions = column_positions  # global signal positions, sorted
        self._signals = signals
        self._dense = dense
        self.coo = coo  # (rows, local columns, values), sorted by row, when sparse

    @property
    def shape(self) -> Tuple[int, int]:
        return len(self.bias), len(self.column_positions)

    @property
    def is_sparse(self) -> bool:
        return self._dense is None

    @property
    def weights(self) -> np.ndarray:
        if self._dense is None:
            assert self.coo is not None
            rows, cols, values = self.coo
            dense = np.zeros(self.shape)
            dense[rows, cols] = values
            return dense
        return self._dense

    @property
    def activation(self) -> Tuple[str, ...]:
        """The activation of each row, by name (``step_ge`` is ``step`` of a ``>=`` comparison)."""
        names: List[str] = []
        for segment in self.segments:
            names += [segment.activation] * (segment.stop - segment.start)
        return tuple(names)

    @property
    def rows(self) -> Tuple[str, ...]:
        """The neurons this layer computes, by name (``h[0]`` for elements of a vector)."""
        return tuple(self._signals.element_name(self.row_start + i) for i in range(len(self.bias)))

    @property
    def columns(self) -> Tuple[str, ...]:
        """The signals this layer reads, by name."""
        return tuple(self._signals.element_name(int(p)) for p in self.column_positions)

    def with_values(self, weights: np.ndarray, bias: np.ndarray) -> "CompiledLayer":
        """The same layer (columns, activations, sparsity) with new numbers: ``weights`` dense
        (rows x columns), or for a sparse layer one value per entry of ``coo``; used by training."""
        if self.coo is not None and self._dense is None:
            rows, cols, _ = self.coo
            assert weights.shape == rows.shape and bias.shape == self.bias.shape
            return CompiledLayer(self.index, self.row_start, bias, self.segments, self.column_positions, self._signals, coo=(rows, cols, weights))
        assert weights.shape == self.shape and bias.shape == self.bias.shape
        return CompiledLayer(self.index, self.row_start, bias, self.segments, self.column_positions, self._signals, dense=weights)

    @property
    def nonzeros(self) -> int:
        return len(self.coo[0]) if self.coo is not None else int(np.count_nonzero(self.weights))

    def __repr__(self) -> str:
        kinds = sorted({s.activation for s in self.segments})
        rows, cols = self.shape
        sparse = ", sparse" if self.is_sparse else ""
        return f"Layer({rows}x{cols}, {'/'.join(kinds)}{sparse})"


# The public name (``netlang.Layer``), as it was first given; the class says what it is.
Layer = CompiledLayer


def _numbers(value: Any, what: str) -> np.ndarray:
    """``value`` as a float64 array, or a NetlangError naming ``what`` when it is not numbers (text, None, ...)."""
    from .errors import NetlangError

    if isinstance(value, (str, bytes)) or (isinstance(value, (list, tuple)) and any(isinstance(v, (str, bytes)) for v in value)):
        raise NetlangError(f"{what} must be numbers, not text: {value!r:.60}", code="bad-input")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetlangError(f"{what} must be numbers, not {value!r:.60}", code="bad-input") from None
    if not np.all(np.isfinite(array)):  # None becomes NaN on the way
        raise NetlangError(f"{what} must be finite numbers, not {value!r:.60}", code="bad-input")
    return array


class Network:
    """A compiled network: call it on a batch, or ``run`` it on named values."""

    def __init__(
        self,
        inputs: Sequence[Tuple[str, Optional[int]]],
        outputs: Sequence[str],
        layers: Sequence[CompiledLayer],
        signals: SignalTable,
    ) -> None:
        self.inputs = tuple(inputs)
        self.layers = tuple(layers)
        self.output_names = tuple(outputs)
        self._signals = signals
        self.input_width = sum(1 if size is None else size for _, size in self.inputs)
        self.output_sizes = tuple(signals.sizes[signals.index[name]] for name in outputs)
        self.output_width = sum(1 if size is None else size for size in self.output_sizes)
        self._plans: Dict[Any, Any] = {}  # evaluation plans by dtype
        self._fast: Optional[_RowPlan] = None  # the float64 plan, when it has a fast path for small batches

    def without_plans(self) -> "Network":
        """A shallow copy with no evaluation plans (to send elsewhere: each process makes its own)."""
        clean = copy.copy(self)
        clean._plans, clean._fast = {}, None
        return clean

    @property
    def signals(self) -> SignalTable:
        """The names, sizes and positions of every signal: the inputs, then each node and layer."""
        return self._signals

    @property
    def input_names(self) -> Tuple[str, ...]:
        return tuple(name for name, _ in self.inputs)

    @property
    def input_sizes(self) -> Tuple[Optional[int], ...]:
        return tuple(size for _, size in self.inputs)

    @property
    def input_columns(self) -> Tuple[str, ...]:
        """The names of the input elements, in the order of a batch's columns (``x[0]``, ...)."""
        return tuple(self._signals.element_name(i) for i in range(self.input_width))

    @property
    def output_columns(self) -> Tuple[str, ...]:
        names: List[str] = []
        for name in self.output_names:
            start, stop = self._signals.span_of(name)
            names += [self._signals.element_name(p) for p in range(start, stop)]
        return tuple(names)

    def with_layers(self, layers: Sequence[CompiledLayer]) -> "Network":
        """A network of the same inputs, outputs and signals over ``layers`` (``CompiledLayer.with_values`` of these)."""
        assert len(layers) == len(self.layers)
        return Network(self.inputs, self.output_names, layers, self._signals)

    def __repr__(self) -> str:
        return (
            f"Network(inputs={list(self.input_names)}, outputs={list(self.output_names)}, "
            f"layers={list(self.layers)})"
        )

    # -- notebooks: the diagram (needs Graphviz) and the matrices ------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Dict[str, str]:
        try:
            from .diagram import notebook_bundle

            return notebook_bundle(self)
        except Exception:  # a notebook's display must never fail
            return {"text/plain": repr(self)}

    def _repr_html_(self) -> str:
        try:
            from .diagram import notebook_html

            return notebook_html(self)
        except Exception:
            import html

            return f"<pre>{html.escape(repr(self))}</pre>"

    # -- evaluation ---------------------------------------------------------------

    def __call__(self, batch: Any, dtype: Any = None) -> Any:
        """Evaluate on ``batch`` (samples x input width; one sample may be 1-D): samples x output width.

        numpy arrays, lists and numbers are computed in ``dtype`` (float64 by default). An array
        of another library (PyTorch, CuPy, JAX, ...: the array API standard, netlang/arrays.py)
        gives an array of that library on the same device, in its own floating dtype unless
        ``dtype`` is given.
        """
        if type(batch) is np.ndarray and dtype is None and batch.dtype is _FLOAT64 and batch.ndim == 2:
            # The common call, net(X) on a float64 batch, made as cheap as numpy's own code:
            # a small batch through a chain of layers goes straight to the plan's `small`.
            fast = self._fast
            if fast is not None and batch.shape[0] <= fast.small_rows and batch.shape[1] == self.input_width:
                with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # see evaluate
                    return fast.small(batch)
        elif type(batch) is not np.ndarray:
            from .arrays import is_foreign_array

            if is_foreign_array(batch):
                from .arrays import evaluate

                return evaluate(self, batch, dtype)
        try:
            X = np.asarray(batch, dtype=np.float64 if dtype is None else dtype)
        except (TypeError, ValueError):  # text, None, ragged lists: what the user gave, not a bug
            from .errors import NetlangError

            raise NetlangError(f"the batch must be numbers, not {batch!r:.60}", code="bad-input") from None
        if X.ndim == 2 and X.shape[1] == self.input_width:
            return self.evaluate(X)
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.input_width:
            from .errors import NetlangError, name_list

            raise NetlangError(
                f"the network takes {self.input_width} input values per sample "
                f"({name_list(self.input_columns)}), "
                f"but the batch has shape {np.shape(batch)}",
                code="bad-input",
            )
        out = self.evaluate(X)
        return out[0] if single else out

    def run(self, values: Union[Mapping[str, Any], Sequence[Any]]) -> Dict[str, Union[float, np.ndarray]]:
        """One sample: each output by name (floats, or arrays for vectors).

        The values are given by name, ``{"x1": 1, "x2": 0}``, or as a sequence in the order the
        inputs are declared, ``[1, 0]`` (a vector input's values flattened in its place, or as
        one list per input). Anything else is a NetlangError (code ``bad-input``).
        """
        from .errors import NetlangError

        if not isinstance(values, Mapping):
            values = self._by_name(values)
        missing = [name for name in self.input_names if name not in values]
        unknown = [str(name) for name in values if name not in self.input_names]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown {', '.join(unknown)}")
            raise NetlangError(
                f"inputs do not match the network ({'; '.join(parts)}); it takes {', '.join(self.input_names)}",
                code="bad-input",
            )
        row = []
        for name, size in self.inputs:
            value = _numbers(values[name], f"input {name}")
            expected = () if size is None else (size,)
            if value.shape != expected and not (size is None and value.shape == (1,)):
                want = "a single number" if size is None else f"{size} values"
                raise NetlangError(f"input {name} takes {want}, but got shape {value.shape}", code="bad-input")
            row.append(value.reshape(-1))
        outputs = self(np.concatenate(row) if row else np.zeros(0))
        return self.split_outputs(outputs)

    def _by_name(self, values: Any) -> Dict[str, Any]:
        """A sequence of values in input order as a dict by input name."""
        from .errors import NetlangError

        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise NetlangError(
                f"give the inputs as a dict by name or a list in input order ({', '.join(self.input_names)}), "
                f"not {type(values).__name__}",
                code="bad-input",
            )
        items = list(values)
        if len(items) == len(self.inputs):
            return dict(zip(self.input_names, items))
        flat = _numbers(items, "the inputs")
        if flat.shape != (self.input_width,):
            raise NetlangError(
                f"the network takes {self.input_width} input values ({', '.join(self.input_columns)}), "
                f"but {len(items)} {'was' if len(items) == 1 else 'were'} given",
                code="bad-input",
            )
        by_name, start = {}, 0
        for name, size in self.inputs:
            stop = start + (1 if size is None else size)
            by_name[name] = flat[start] if size is None else flat[start:stop]
            start = stop
        return by_name

    def split_outputs(self, row: np.ndarray) -> Dict[str, Union[float, np.ndarray]]:
        """One output row as a dict by output name."""
        result: Dict[str, Union[float, np.ndarray]] = {}
        position = 0
        for name, size in zip(self.output_names, self.output_sizes):
            if size is None:
                result[name] = float(row[position])
                position += 1
            else:
                result[name] = np.array(row[position : position + size])
                position += size
        return result

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """The outputs for a 2-D batch ``X`` of the right width, in ``X``'s dtype."""
        dtype = X.dtype
        plan = self._plans.get(dtype)
        if plan is None:
            plan = self._plans[dtype] = _plan(self, dtype)
            if dtype is _FLOAT64 and getattr(plan, "chain", None):
                self._fast = plan
        # exp overflows to inf in sigmoid for very negative inputs (and underflows to 0 for large
        # ones): 1/(1+inf) = 0 and 1/(1+0) = 1 are the right limits. Inputs near the float
        # limits can make a sum overflow to inf, or inf - inf = nan: the outputs say so, and
        # numpy's RuntimeWarning (from a line of runtime.py) would only confuse.
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return plan.evaluate(X)



# --- evaluation plans ------------------------------------------------------------------
#
# A plan is made once per network and dtype. Two layouts:
# - _RowPlan (every layer dense): one sample per row, one buffer per layer, so each layer
#   is ``source @ W.T`` with the weights stored pre-transposed; BLAS runs that layout about
#   twice as fast as ``W @ source.T`` for wide inputs and small layers (measured here).
# - _ColumnPlan (some layer sparse): the whole state as one block, one neuron per row and one
#   sample per column, so a sparse layer gathers contiguous rows of earlier signals.
# Both evaluate in chunks of samples whose activations stay in cache, add the bias and apply
# the activation in place (sigmoid with the bias fused in), and make no other temporaries.


class _Activation:
    """One segment's activation on columns ``start:stop`` of a layer's output, bias included."""

    __slots__ = ("start", "stop", "kernel", "bias", "negated_bias", "fused", "whole")

    def __init__(self, start: int, stop: int, name: str, bias: Optional[np.ndarray]) -> None:
        self.start, self.stop = start, stop
        self.whole = False
        self.kernel = None if name == "identity" else ACTIVATIONS[name].kernel
        # sigmoid takes the bias into its first pass (activations.sigmoid_in_place).
        self.fused = name == "sigmoid"
        self.bias = bias
        self.negated_bias: Any = 0.0 if bias is None else -bias

    def apply(self, z: np.ndarray) -> None:
        """``z``: one sample per row, this segment's neurons along the columns."""
        if self.fused:
            sigmoid_in_place(z, self.negated_bias)
            return
        if self.bias is not None:
            z += self.bias
        if self.kernel is not None:
            self.kernel(z)


def _activations(layer: CompiledLayer, dtype: Any) -> List[_Activation]:
    result = []
    for segment in layer.segments:
        bias = layer.bias[segment.start : segment.stop]
        result.append(
            _Activation(
                segment.start,
                segment.stop,
                segment.activation,
                bias.astype(dtype) if np.any(bias) else None,
            )
        )
    if len(result) == 1 and result[0].start == 0:
        result[0].whole = True
    return result


def _chunk_size(samples: int, row_bytes: int) -> int:
    return max(16, min(samples, _CHUNK_BYTES // max(1, row_bytes)))


def _plan(network: "Network", dtype: Any) -> Any:
    if any(layer.is_sparse for layer in network.layers):
        return _ColumnPlan(network, dtype)
    return _RowPlan(network, dtype)


class RowLayout:
    """Where each signal is when a batch is kept one sample per row: buffer 0 holds the inputs,
    buffer k+1 layer k's outputs (_RowPlan here, arrays.Portable for other array libraries)."""

    def __init__(self, network: "Network") -> None:
        self.input_width = network.input_width
        self.starts = [layer.row_start for layer in network.layers]
        self.widths = [len(layer.bias) for layer in network.layers]

    def locate(self, position: int) -> Tuple[int, int]:
        """(buffer, column) of a global signal position."""
        if position < self.input_width:
            return 0, position
        k = bisect.bisect_right(self.starts, position) - 1
        return k + 1, position - self.starts[k]

    def width(self, buffer: int) -> int:
        return self.input_width if buffer == 0 else self.widths[buffer - 1]

    def reads(self, layer: CompiledLayer) -> List[Tuple[int, int, int, List[int]]]:
        """The buffers ``layer`` reads: (buffer, first and last+1 of the layer's columns, the buffer's columns)."""
        located = [self.locate(int(p)) for p in layer.column_positions]
        result = []
        i = 0
        while i < len(located):
            buffer = located[i][0]
            j = i
            while j < len(located) and located[j][0] == buffer:
                j += 1
            result.append((buffer, i, j, [column for _, column in located[i:j]]))
            i = j
        return result

    def output_runs(self, network: "Network") -> List[Tuple[int, int, int]]:
        """The outputs as runs of adjacent columns of one buffer: (buffer, first column, last column + 1)."""
        runs: List[Tuple[int, int, int]] = []
        for name in network.output_names:
            start, stop = network._signals.span_of(name)
            buffer, column = self.locate(start)
            if runs and runs[-1][0] == buffer and runs[-1][2] == column:
                runs[-1] = (buffer, runs[-1][1], column + stop - start)  # one copy for both
            else:
                runs.append((buffer, column, column + stop - start))
        return runs

    def whole_output(self, runs: List[Tuple[int, int, int]]) -> Optional[int]:
        """The one layer buffer that is the whole output, if there is one (never the inputs)."""
        if len(runs) == 1:
            buffer, first, last = runs[0]
            if buffer > 0 and first == 0 and last == self.widths[buffer - 1]:
                return buffer
        return None


class _RowPlan:
    """Dense layers, one sample per row: buffer 0 is the input chunk, buffer k+1 layer k's output."""

    def __init__(self, network: "Network", dtype: Any) -> None:
        self.dtype = dtype
        layout = RowLayout(network)
        self.widths = layout.widths
        self.row_bytes = max(1, sum(self.widths)) * np.dtype(dtype).itemsize  # the buffers made per sample
        # Per layer: (buffer, column selector, weights transposed) for each buffer it reads.
        self.layers: List[Tuple[List[Tuple[int, Any, np.ndarray]], List[_Activation]]] = []
        for layer in network.layers:
            weights = layer.weights
            parts = []
            for buffer, i, j, columns in layout.reads(layer):
                width = layout.width(buffer)
                # W stays row-major and is used as W.T (a view), the very call of hand-written
                # numpy `x @ W.T`: the same BLAS routine, so the same sums to the last bit.
                block = np.ascontiguousarray(weights[:, i:j], dtype=dtype)
                if columns == list(range(width)):
                    selector: Any = None  # the whole buffer
                elif columns[-1] - columns[0] + 1 == len(columns):
                    selector = slice(columns[0], columns[-1] + 1)
                elif 2 * len(columns) >= width:
                    # Most of the buffer: zero columns for the signals not read beat a gather.
                    selector = None
                    padded = np.zeros((block.shape[0], width), dtype=dtype)
                    padded[:, columns] = block
                    block = padded
                else:
                    selector = np.asarray(columns, dtype=np.intp)
                block = block.T
                parts.append((buffer, selector, block))
            self.layers.append((parts, _activations(layer, dtype)))
        self.outputs = layout.output_runs(network)
        self.output_width = network.output_width
        # The one buffer that is the whole output, if there is one (never the caller's input).
        self.whole_output = layout.whole_output(self.outputs)
        # A chain (each layer reads the whole layer before it, the last is the output: an MLP):
        # batches whose activations fit in L2 at once take `small`, with no buffer list, chunking
        # or block loop. At batch 1 of 784-100-10 that was 1.3x hand-written numpy, these fixed
        # costs; numpy's own code makes 6 calls per layer, `small` 5 (np.dot: no ufunc dispatch).
        self.chain: Optional[List[Tuple[np.ndarray, int, List[_Activation]]]] = None
        self.small_rows = 0
        reads_previous = all(
            len(parts) == 1 and parts[0][0] == k and parts[0][1] is None for k, (parts, _) in enumerate(self.layers)
        )
        if self.layers and reads_previous and self.whole_output == len(self.layers):
            self.chain = [(parts[0][2], width, activations) for (parts, activations), width in zip(self.layers, self.widths)]
            self.small_rows = _BLOCK_BYTES // (max(self.widths) * np.dtype(dtype).itemsize)

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        samples = X.shape[0]
        dtype = self.dtype
        if samples == 0:
            return np.empty((0, self.output_width), dtype=dtype)
        chunk = max(16, min(samples, _BATCH_BYTES // self.row_bytes))
        chunk = -(-samples // -(-samples // chunk))  # chunks of equal size: no small last one
        if samples <= chunk:
            # One chunk (every small batch): fresh buffers, and the output buffer itself returned
            # when one output is a whole layer, so a batch of 1 makes no copy and no loop.
            buffers = [X] + [np.empty((samples, width), dtype=dtype) for width in self.widths]
            self._forward(buffers, samples)
            if self.whole_output is not None:
                return buffers[self.whole_output]
            out = np.empty((samples, self.output_width), dtype=dtype)
            self._gather_outputs(buffers, out)
            return out
        full = [np.empty((chunk, width), dtype=dtype) for width in self.widths]
        out = np.empty((samples, self.output_width), dtype=dtype)
        for begin in range(0, samples, chunk):
            end = min(begin + chunk, samples)
            count = end - begin
            buffers = [X[begin:end]] + (full if count == chunk else [b[:count] for b in full])
            self._forward(buffers, count)
            self._gather_outputs(buffers, out[begin:end])
        return out

    def small(self, X: np.ndarray) -> np.ndarray:
        """A batch of at most ``small_rows`` through the chain: each layer one product, its activation whole."""
        source = X
        for weights, width, activations in self.chain:  # type: ignore[union-attr]
            z = np.empty((X.shape[0], width), dtype=self.dtype)
            np.dot(source, weights, out=z)  # the BLAS call of `source @ weights`, the same bits
            for activation in activations:
                if activation.fused and activation.whole:  # sigmoid_in_place, inline: no call
                    np.subtract(activation.negated_bias, z, out=z)
                    np.exp(z, out=z)
                    z += 1.0
                    np.reciprocal(z, out=z)
                else:
                    activation.apply(z if activation.whole else z[:, activation.start : activation.stop])
            source = z
        return source

    def _forward(self, buffers: List[np.ndarray], count: int) -> None:
        for k, (parts, activations) in enumerate(self.layers):
            result = buffers[k + 1]
            if not parts:
                result[...] = 0
            for i, (source, selector, weights) in enumerate(parts):
                signals = buffers[source] if selector is None else buffers[source][:, selector]
                if i == 0:
                    np.matmul(signals, weights, out=result)
                else:
                    result += signals @ weights
            if count * result.strides[0] <= _BLOCK_BYTES:  # the whole chunk at once (small batches)
                for activation in activations:
                    activation.apply(result if activation.whole else result[:, activation.start : activation.stop])
                continue
            block = max(16, _BLOCK_BYTES // result.strides[0])
            for first in range(0, count, block):
                rows = result[first : first + block]
                for activation in activations:
                    activation.apply(rows if activation.whole else rows[:, activation.start : activation.stop])

    def _gather_outputs(self, buffers: List[np.ndarray], out: np.ndarray) -> None:
        column = 0
        for source, first, last in self.outputs:
            out[:, column : column + last - first] = buffers[source][:, first:last]
            column += last - first


class _ColumnPlan:
    """Some layer is sparse: the state is one block, one signal per row (the inputs first, copied
    in per chunk, and one last row of zeros) and one sample per column, so a sparse layer
    gathers whole rows."""

    def __init__(self, network: "Network", dtype: Any) -> None:
        self.dtype = dtype
        self.input_width = network.input_width
        self.total = network._signals.total
        self.layers = [_ColumnLayer(layer, dtype, zero_row=self.total) for layer in network.layers]
        self.scratch_rows = max([layer.scratch_rows for layer in self.layers] + [1])
        # The rows one layer touches: the span of state it reads, its output and its scratch.
        # Chunks are sized so that this stays in cache, not the whole state: in a netlist of
        # 20 000 nodes each reading among the 4 000 before it, that made chunks 4x as wide.
        self.working_rows = max(
            [layer.read_span + layer.stop - layer.first + layer.scratch_rows for layer in self.layers] + [1]
        )
        self.output_spans = [network._signals.span_of(name) for name in network.output_names]
        self.output_width = network.output_width

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        samples = X.shape[0]
        dtype = self.dtype
        chunk = _chunk_size(samples, self.working_rows * dtype.itemsize)
        # ... within the memory a dense batch may take for the whole state.
        chunk = max(16, min(chunk, _BATCH_BYTES // ((self.total + 1 + self.scratch_rows) * dtype.itemsize)))
        out = np.empty((samples, self.output_width), dtype=dtype)
        full_state = np.empty((self.total + 1, chunk), dtype=dtype)
        full_state[self.total] = 0
        full_scratch = np.empty((self.scratch_rows, chunk), dtype=dtype)
        for begin in range(0, samples, chunk):
            end = min(begin + chunk, samples)
            count = end - begin
            state = full_state if count == chunk else full_state[:, :count]
            scratch = full_scratch if count == chunk else full_scratch[:, :count]
            state[: self.input_width] = X[begin:end].T
            for layer in self.layers:
                layer.run(state, scratch)
            column = 0
            for start, stop in self.output_spans:
                out[begin:end, column : column + stop - start] = state[start:stop].T
                column += stop - start
        return out


class _ColumnLayer:
    """One layer of a _ColumnPlan: a dense product, or a sparse gather-multiply-sum by rows."""

    def __init__(self, layer: CompiledLayer, dtype: Any, zero_row: int) -> None:
        self.first = layer.row_start
        self.stop = layer.row_start + len(layer.bias)
        self.activations = _activations(layer, dtype)
        positions = layer.column_positions
        self.read_span = int(positions[-1] - positions[0] + 1) if len(positions) else 0
        self.scratch_rows = 0
        self.sparse = layer.is_sparse
        self.empty = False
        if layer.is_sparse:
            rows, cols, values = layer.coo  # type: ignore[misc]
            self.empty = len(rows) == 0
            self.columns = positions[cols].astype(np.intp)
            self.values = values.astype(dtype)[:, None]
            unique_rows, self.starts = np.unique(rows, return_index=True)
            # Every row reads something (the usual case): the sums go straight into the output.
            self.all_rows = len(unique_rows) == len(layer.bias)
            self.unique_rows = unique_rows
            self.scratch_rows = len(rows)
            # Few terms in every row (a netlist): each neuron's K terms gathered side by side
            # (one take), then one batched product of its 1 x K weights by its K x samples
            # block. That beat K gathers with a multiply and an add each, and a reduceat, by
            # 1.4-2x. Missing terms read the zero row with weight 0, so they add exactly 0.
            counts = np.diff(np.append(self.starts, len(rows)))
            terms = int(counts.max()) if len(counts) else 0
            self.ell: Optional[Tuple[np.ndarray, np.ndarray]] = None
            if self.all_rows and terms * len(counts) <= 2 * len(rows):
                ell_columns = np.full((len(counts), terms), zero_row, dtype=np.intp)
                ell_values = np.zeros((len(counts), 1, terms), dtype=dtype)
                slot = np.arange(len(rows)) - np.repeat(self.starts, counts)
                ell_columns[rows, slot] = self.columns
                ell_values[rows, 0, slot] = values
                self.ell = (ell_columns.reshape(-1), ell_values)
                self.scratch_rows = ell_columns.size
        else:
            self.empty = len(positions) == 0
            if not self.empty and positions[-1] - positions[0] + 1 == len(positions):
                self.selector: Any = slice(int(positions[0]), int(positions[-1]) + 1)
            else:
                self.selector = positions.astype(np.intp)
            self.weights = np.ascontiguousarray(layer.weights, dtype=dtype)

    def run(self, state: np.ndarray, scratch: np.ndarray) -> None:
        out = state[self.first : self.stop]
        if self.empty:
            out[...] = 0
        elif self.sparse and self.ell is not None:
            columns, values = self.ell
            neurons, _, terms = values.shape
            gathered = scratch[: self.scratch_rows]
            # mode="clip": the indices are in range by construction, and the default ("raise")
            # gathers into a temporary and copies it to `out`, 2.5-3x slower.
            np.take(state, columns, axis=0, out=gathered, mode="clip")
            samples = out.shape[1]
            np.matmul(values, gathered.reshape(neurons, terms, samples), out=out[:, None, :])  # a view, never a copy
        elif self.sparse:
            gathered = scratch[: self.scratch_rows]
            np.take(state, self.columns, axis=0, out=gathered, mode="clip")
            gathered *= self.values
            if self.all_rows:
                np.add.reduceat(gathered, self.starts, axis=0, out=out)
            else:
                out[...] = 0
                out[self.unique_rows] = np.add.reduceat(gathered, self.starts, axis=0)
        else:
            np.matmul(self.weights, state[self.selector], out=out)
        outT = out.T  # the activations take one sample per row
        for activation in self.activations:
            activation.apply(outT if activation.whole else outT[:, activation.start : activation.stop])
