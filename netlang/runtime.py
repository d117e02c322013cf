"""Runtime stage: a compiled Network of weight-matrix layers, evaluated with numpy.

Layer ``k`` computes ``f(W s + b)`` where ``s`` are the signals it reads (inputs and
earlier neurons, skip connections included). Evaluation is vectorised over the
batch: one matrix product (or one sparse gather) per layer, no Python loop over
neurons or samples. Internally the state is kept transposed, one row per neuron
and one column per sample, so every layer's output is one contiguous block.
"""

from __future__ import annotations

import bisect
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .activations import ACTIVATIONS

# Dense weight matrices up to this many entries are always kept dense.
_SMALL_DENSE = 1 << 20
# Bytes of intermediate state per chunk of samples: small enough to stay in cache.
_CHUNK_BYTES = 4 << 20


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


class Layer:
    """One layer: ``activation(weights @ s + bias)``, ``s`` being the signals named by ``columns``.

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

    @property
    def nonzeros(self) -> int:
        return len(self.coo[0]) if self.coo is not None else int(np.count_nonzero(self._dense))

    def __repr__(self) -> str:
        kinds = sorted({s.activation for s in self.segments})
        rows, cols = self.shape
        sparse = ", sparse" if self.is_sparse else ""
        return f"Layer({rows}x{cols}, {'/'.join(kinds)}{sparse})"


class Network:
    """A compiled network: call it on a batch, or ``run`` it on named values."""

    def __init__(
        self,
        inputs: Sequence[Tuple[str, Optional[int]]],
        outputs: Sequence[str],
        layers: Sequence[Layer],
        signals: SignalTable,
    ) -> None:
        self.inputs = tuple(inputs)
        self.layers = tuple(layers)
        self.output_names = tuple(outputs)
        self._signals = signals
        self.input_width = sum(1 if size is None else size for _, size in self.inputs)
        self.output_sizes = tuple(signals.sizes[signals.index[name]] for name in outputs)
        self.output_width = sum(1 if size is None else size for size in self.output_sizes)
        self._plans: Dict[Any, List[_LayerPlan]] = {}

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

    def __repr__(self) -> str:
        return (
            f"Network(inputs={list(self.input_names)}, outputs={list(self.output_names)}, "
            f"layers={list(self.layers)})"
        )

    # -- evaluation ---------------------------------------------------------------

    def __call__(self, batch: Any, dtype: Any = np.float64) -> np.ndarray:
        """Evaluate on ``batch`` (samples x input width; one sample may be 1-D): samples x output width."""
        X = np.asarray(batch, dtype=dtype)
        if X.ndim == 2 and X.shape[1] == self.input_width:
            return self.evaluate(X)
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.input_width:
            from .errors import NetlangError

            raise NetlangError(
                f"the network takes {self.input_width} input values per sample "
                f"({', '.join(self.input_columns[:8])}{', ...' if self.input_width > 8 else ''}), "
                f"but the batch has shape {np.shape(batch)}",
                code="bad-input",
            )
        out = self.evaluate(X)
        return out[0] if single else out

    def run(self, values: Mapping[str, Any]) -> Dict[str, Union[float, np.ndarray]]:
        """One sample given by name, ``{"x1": 1, "x2": 0}``: each output by name (floats, or arrays for vectors)."""
        missing = [name for name in self.input_names if name not in values]
        unknown = [name for name in values if name not in self.input_names]
        from .errors import NetlangError

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
            value = np.asarray(values[name], dtype=np.float64)
            expected = () if size is None else (size,)
            if value.shape != expected and not (size is None and value.shape == (1,)):
                want = "a single number" if size is None else f"{size} values"
                raise NetlangError(f"input {name} takes {want}, but got shape {value.shape}", code="bad-input")
            row.append(value.reshape(-1))
        outputs = self(np.concatenate(row))
        return self.split_outputs(outputs)

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
        # exp overflows to inf in sigmoid for very negative inputs, and 1/(1+inf) = 0 is right.
        with np.errstate(over="ignore"):
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


def _sigmoid_with_bias(z: np.ndarray, negated_bias: Optional[np.ndarray]) -> None:
    # 1 / (1 + exp(-(z + b))): four in-place passes over z, the bias folded into the first.
    if negated_bias is None:
        np.negative(z, out=z)
    else:
        np.subtract(negated_bias, z, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)


class _Activation:
    """One segment's activation on columns ``start:stop`` of a layer's output, bias included."""

    __slots__ = ("start", "stop", "kernel", "bias", "negated_bias", "fused", "whole")

    def __init__(self, start: int, stop: int, name: str, bias: Optional[np.ndarray]) -> None:
        self.start, self.stop = start, stop
        self.whole = False
        self.kernel = None if name == "identity" else ACTIVATIONS[name].kernel
        self.fused = name == "sigmoid"
        self.bias = bias
        self.negated_bias = None if bias is None else -bias

    def apply(self, z: np.ndarray) -> None:
        """``z``: one sample per row, this segment's neurons along the columns."""
        if self.fused:
            _sigmoid_with_bias(z, self.negated_bias)
            return
        if self.bias is not None:
            z += self.bias
        if self.kernel is not None:
            self.kernel(z)


def _activations(layer: Layer, dtype: Any) -> List[_Activation]:
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


class _RowPlan:
    """Dense layers, one sample per row: buffer 0 is the input chunk, buffer k+1 layer k's output."""

    def __init__(self, network: "Network", dtype: Any) -> None:
        self.dtype = dtype
        input_width = network.input_width
        starts = [layer.row_start for layer in network.layers]
        self.widths = [len(layer.bias) for layer in network.layers]
        self.row_bytes = (input_width + sum(self.widths)) * np.dtype(dtype).itemsize

        def locate(position: int) -> Tuple[int, int]:
            """(buffer, column) of a global signal position."""
            if position < input_width:
                return 0, position
            k = bisect.bisect_right(starts, position) - 1
            return k + 1, position - starts[k]

        # Per layer: (buffer, column selector, weights transposed) for each buffer it reads.
        self.layers: List[Tuple[List[Tuple[int, Any, np.ndarray]], List[_Activation]]] = []
        for layer in network.layers:
            positions = layer.column_positions
            weights = layer.weights
            located = [locate(int(p)) for p in positions]
            parts = []
            i = 0
            while i < len(located):
                buffer = located[i][0]
                j = i
                while j < len(located) and located[j][0] == buffer:
                    j += 1
                columns = [column for _, column in located[i:j]]
                if columns[-1] - columns[0] + 1 == len(columns):
                    selector: Any = slice(columns[0], columns[-1] + 1)
                else:
                    selector = np.asarray(columns, dtype=np.intp)
                parts.append((buffer, selector, np.ascontiguousarray(weights[:, i:j].T, dtype=dtype)))
                i = j
            self.layers.append((parts, _activations(layer, dtype)))
        self.outputs = []  # (buffer, first column, last column + 1) per output
        for name in network.output_names:
            start, stop = network._signals.span_of(name)
            buffer, column = locate(start)
            self.outputs.append((buffer, column, column + stop - start))
        self.output_width = network.output_width

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        samples = X.shape[0]
        chunk = _chunk_size(samples, self.row_bytes)
        dtype = self.dtype
        full = [np.empty((chunk, width), dtype=dtype) for width in self.widths]
        out = np.empty((samples, self.output_width), dtype=dtype)
        for begin in range(0, samples, chunk):
            end = min(begin + chunk, samples)
            count = end - begin
            buffers = [X[begin:end]]
            buffers += full if count == chunk else [b[:count] for b in full]
            for k, (parts, activations) in enumerate(self.layers):
                result = buffers[k + 1]
                if not parts:
                    result[...] = 0
                for i, (source, selector, weights) in enumerate(parts):
                    if i == 0:
                        np.matmul(buffers[source][:, selector], weights, out=result)
                    else:
                        result += buffers[source][:, selector] @ weights
                for activation in activations:
                    activation.apply(result if activation.whole else result[:, activation.start : activation.stop])
            column = 0
            for source, first, last in self.outputs:
                width = last - first
                out[begin:end, column : column + width] = buffers[source][:, first:last]
                column += width
        return out


class _ColumnPlan:
    """Some layer is sparse: the state is one block, one neuron per row and one sample per column."""

    def __init__(self, network: "Network", dtype: Any) -> None:
        self.dtype = dtype
        self.input_width = network.input_width
        self.state_rows = network._signals.total - network.input_width
        self.layers = [_ColumnLayer(layer, network.input_width, dtype) for layer in network.layers]
        self.output_spans = [network._signals.span_of(name) for name in network.output_names]
        self.output_width = network.output_width

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        samples = X.shape[0]
        dtype = self.dtype
        chunk = _chunk_size(samples, (self.state_rows + self.input_width) * dtype.itemsize)
        out = np.empty((samples, self.output_width), dtype=dtype)
        state = np.empty((self.state_rows, chunk), dtype=dtype)
        for begin in range(0, samples, chunk):
            end = min(begin + chunk, samples)
            XT = X[begin:end].T
            S = state if end - begin == chunk else state[:, : end - begin]
            for layer in self.layers:
                layer.run(XT, S)
            column = 0
            for start, stop in self.output_spans:
                width = stop - start
                if start < self.input_width:
                    out[begin:end, column : column + width] = XT[start:stop].T
                else:
                    out[begin:end, column : column + width] = S[start - self.input_width : stop - self.input_width].T
                column += width
        return out


class _ColumnLayer:
    """One layer of a _ColumnPlan: weights split by source (inputs / earlier neurons)."""

    def __init__(self, layer: Layer, input_width: int, dtype: Any) -> None:
        self.first = layer.row_start - input_width
        self.stop = self.first + len(layer.bias)
        self.activations = _activations(layer, dtype)
        positions = layer.column_positions
        split = int(np.searchsorted(positions, input_width))
        self.parts: List[Tuple[bool, Any, Any]] = []  # (reads inputs, selector, weights or coo)
        if layer.is_sparse:
            rows, cols, values = layer.coo  # type: ignore[misc]
            global_cols = positions[cols]
            for reads_inputs in (True, False):
                mask = global_cols < input_width if reads_inputs else global_cols >= input_width
                if not np.any(mask):
                    continue
                part_rows = rows[mask]
                part_cols = global_cols[mask] - (0 if reads_inputs else input_width)
                part_values = values[mask].astype(dtype)[:, None]
                unique_rows, starts = np.unique(part_rows, return_index=True)
                self.parts.append((reads_inputs, part_cols, (part_values, unique_rows, starts)))
            self.sparse = True
        else:
            weights = layer.weights
            for reads_inputs, lo, hi in ((True, 0, split), (False, split, len(positions))):
                if lo == hi:
                    continue
                selected = positions[lo:hi] - (0 if reads_inputs else input_width)
                if selected[-1] - selected[0] + 1 == len(selected):
                    selector: Any = slice(int(selected[0]), int(selected[-1]) + 1)
                else:
                    selector = selected
                self.parts.append((reads_inputs, selector, np.ascontiguousarray(weights[:, lo:hi], dtype=dtype)))
            self.sparse = False

    def run(self, XT: np.ndarray, S: np.ndarray) -> None:
        out = S[self.first : self.stop]
        if self.sparse:
            out[...] = 0
            for reads_inputs, cols, (values, unique_rows, starts) in self.parts:
                source = XT if reads_inputs else S
                gathered = source[cols]
                gathered *= values
                out[unique_rows] += np.add.reduceat(gathered, starts, axis=0)
        elif not self.parts:
            out[...] = 0
        else:
            for i, (reads_inputs, selector, weights) in enumerate(self.parts):
                source = XT if reads_inputs else S
                if i == 0:
                    np.matmul(weights, source[selector], out=out)
                else:
                    out += weights @ source[selector]
        outT = out.T  # the activations take one sample per row
        for activation in self.activations:
            activation.apply(outT[:, activation.start : activation.stop])
