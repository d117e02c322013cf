"""Training: the weights of a compiled Network learned from examples (backpropagation, the perceptron rule).

Works on a :class:`runtime.Network` and a :class:`Binding` (which entries of its layers are
parameters, and which share one), with numpy only: nothing here parses a file. The language
side (what a .net file declares trainable, writing the learned values back) builds the
Binding and calls :func:`fit`.

Layout. Every signal of the network (inputs, then each layer's rows) is a column of one state
block ``S`` (samples x signals); layer ``k`` reads columns ``S[:, read]`` and writes its rows
``S[:, start:stop]``. Backpropagation fills a block ``D`` of the same shape with the gradient of
the loss with respect to each signal, layer by layer in reverse. For a batch of a chain of
dense layers (each reading one earlier layer, or the inputs) the blocks are one contiguous array
per layer instead (a ``_Block`` of spans), which numpy and BLAS go through faster than strided
columns of a wide block. Parameters live in one flat
vector ``theta``, in the engine's own order: when a layer's entries are bound one-to-one to a
range of parameters (``binding_all`` and most trainable matrices, whatever order the binding
numbers them in) its working matrix *is* a view of ``theta`` and its gradient a view of
``grad``, row-major, or for batches inputs x outputs (Saito's ``W1``, so that his step's two
large products are the very calls his update makes); an SGD step is then one in-place
subtraction over ``theta`` and nothing is scattered. Other bindings (tied entries, a few
trainable entries among fixed ones) gather and scatter by index. ``theta`` goes out of the
engine in the binding's order.

Floats. Each operation is the one the books' updates (tests/book_updates.py) do, in their order:
``(y - t) / batch``; a sigmoid's derivative as ``(g·a)·(1 − a)``; the learning rate applied to a
one-sample delta before its outer product, or to a batch's summed gradient. So an epoch of
Rashid's or Saito's preset gives the very floats of their transcriptions, which matters because
on random labels a last-bit difference grows to 0.3 over Rashid's 60,000 updates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import blas
from .errors import NetlangError, did_you_mean
from .activations import sigmoid_in_place
from .runtime import Layer, Network
from .scoring import classes

Op = Callable[[], Any]
RULES = ("backprop", "rashid", "perceptron")
LOSSES = ("mse", "cross-entropy")
OPTIMIZERS = ("sgd", "momentum", "adam")
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8
_STEPS = ("step", "step_ge")
_DIFFERENTIABLE = ("sigmoid", "tanh", "relu", "identity", "softmax")


@dataclass(frozen=True)
class Settings:
    """How to train. ``rule``: ``"backprop"`` (gradient descent, the gradients computed by
    backpropagation), ``"rashid"`` (the same, except that what goes back through the weights is
    the error, not the gradient: e_h = Whoᵀ·e_o, as Rashid's book publishes it; not the gradient
    of any loss, but what reproduces his results) or ``"perceptron"``. ``loss``: ``"mse"`` is Rashid's E = 1/2 sum (t - o)^2 per sample,
    ``"cross-entropy"`` Saito's -sum t log y over softmax outputs; both averaged over a batch."""

    rule: str = "backprop"
    loss: str = "mse"
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    epochs: int = 10
    batch_size: int = 1
    shuffle: bool = True
    seed: int = 0
    momentum: float = 0.9
    # After each epoch, the loss and accuracy of the network as it stands over all the training
    # data (what `netlang score` gives for it): one more forward pass over the data, half as much
    # again as the matrix products of an epoch of Saito's batches (about 1.4x the time, measured
    # in benchmarks/train.py). False: each Epoch reports the mean loss and the accuracy of the
    # epoch's batches, each taken before its own update, from the forward passes training does
    # anyway (as Keras and most PyTorch loops report them; about 1% of the time). Training is
    # the same either way.
    evaluate: bool = True


@dataclass(frozen=True)
class Binding:
    """Which entries of the network are trainable, and which are tied together.

    ``weight_index[k]``: an int64 array of layer k's weight shape (rows x columns; for a sparse
    layer also accepted: one index per entry of ``layer.coo``), or None when nothing in it is
    trainable; ``bias_index[k]``: an int64 array of layer k's bias length, or None. -1 = fixed;
    i >= 0 = ``theta[i]``. Entries with the same index share one parameter (their gradients add).
    """

    weight_index: Sequence[Optional[np.ndarray]]
    bias_index: Sequence[Optional[np.ndarray]]
    size: int

    def __repr__(self) -> str:
        return f"Binding({self.size} parameters in {len(self.weight_index)} layers)"


@dataclass
class Epoch:
    """One completed epoch: the loss and accuracy of the network as it stands at its end, over the
    training data (``evaluated``; without ``Settings.evaluate``, of the epoch's batches, each
    before its update), and the validation accuracy if validation data were given. ``seconds``:
    the epoch's time, of which ``evaluation_seconds`` went to those evaluations. ``theta``: the
    parameters at its end (a copy)."""

    epoch: int
    loss: float
    accuracy: Optional[float]
    validation_accuracy: Optional[float]
    seconds: float
    theta: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    evaluated: bool = True
    evaluation_seconds: float = 0.0


@dataclass
class Update:
    """One sample of the perceptron rule: what the layer gave, what was wanted, and what changed.

    ``weight_changes``: rows x columns of the trained layer (its ``rows`` and ``columns`` name
    them); ``threshold_changes``: of each row's threshold θ = -bias (so -1 x the bias change)."""

    epoch: int
    sample: int
    inputs: np.ndarray
    outputs: np.ndarray
    targets: np.ndarray
    layer: int
    weight_changes: np.ndarray
    threshold_changes: np.ndarray


@dataclass
class Result:
    """``network``: the trained network; ``theta`` its parameters; ``history`` one Epoch per epoch.
    ``converged_epoch`` (perceptron rule): the epoch after which every sample is right (0: it
    already was), or None when it never was (the data are not linearly separable in that many epochs)."""

    network: Network
    theta: np.ndarray
    history: List[Epoch]
    converged_epoch: Optional[int] = None

    def __repr__(self) -> str:
        last = self.history[-1] if self.history else None
        tail = f", loss={last.loss:.6g}" if last else ""
        return f"Result({len(self.history)} epochs{tail}, {len(self.theta)} parameters)"


class Difference(NamedTuple):
    """One parameter of a gradient check: backpropagation's gradient, the numerical one, and their relative difference."""

    parameter: int
    analytic: float
    numeric: float
    relative: float


class TrainingError(NetlangError):
    """An error the engine finds. The engine sees arrays, not files, so it says what is at
    fault: ``neuron``, the neuron (``'y'``, ``'h[3]'``), or ``data``, the samples
    (``'training'`` or ``'validation'``); :func:`netlang.experiment.train` places the error
    at that neuron's definition in the .net file, or in that data file."""

    def __init__(self, message: str, code: str, hint: Optional[str] = None, neuron: Optional[str] = None, data: Optional[str] = None) -> None:
        super().__init__(message, code=code, hint=hint)
        self.neuron = neuron
        self.data = data


def _fail(message: str, code: str, hint: Optional[str] = None, *, neuron: Optional[str] = None, data: Optional[str] = None) -> TrainingError:
    return TrainingError(message, code, hint, neuron, data)


# --- bindings ------------------------------------------------------------------------


def binding_all(network: Network, biases: bool = True) -> Binding:
    """Every weight (each entry of a dense matrix; each stored entry of a sparse layer) and, with
    ``biases``, every bias its own parameter: layer 0's weights row by row, its biases, layer 1's ..."""
    weights: List[Optional[np.ndarray]] = []
    bias: List[Optional[np.ndarray]] = []
    size = 0
    for layer in network.layers:
        count = len(layer.coo[0]) if layer.is_sparse and layer.coo is not None else layer.shape[0] * layer.shape[1]
        shape: Tuple[int, ...] = (count,) if layer.is_sparse else layer.shape
        weights.append(np.arange(size, size + count, dtype=np.int64).reshape(shape))
        size += count
        if biases:
            bias.append(np.arange(size, size + len(layer.bias), dtype=np.int64))
            size += len(layer.bias)
        else:
            bias.append(None)
    return Binding(weights, bias, size)


def _values(layer: Layer) -> np.ndarray:
    """The layer's weights as stored: dense rows x columns, or one value per sparse entry."""
    if layer.is_sparse and layer.coo is not None:
        return layer.coo[2]
    return layer.weights


def _entry_index(layer: Layer, index: Optional[np.ndarray], what: str, k: int) -> Optional[np.ndarray]:
    """``index`` in the layout of ``_values(layer)``; None when nothing is bound.

    A Binding is built by code (the language side), not typed by a user: a wrong one is a
    ValueError, a mistake of the caller, rather than a NetlangError."""
    if index is None:
        return None
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        raise ValueError(f"the binding of layer {k}'s {what} must hold integers, not {index.dtype}")
    stored = _values(layer).shape if what == "weights" else layer.bias.shape
    if layer.is_sparse and what == "weights" and index.shape == layer.shape and layer.coo is not None:
        rows, cols, _ = layer.coo
        inside = np.zeros(layer.shape, dtype=bool)
        inside[rows, cols] = True
        if np.any(index[~inside] >= 0):
            raise ValueError(f"the binding makes an entry of layer {k} trainable that the sparse layer does not store")
        index = index[rows, cols]
    if index.shape != stored:
        raise ValueError(f"the binding of layer {k}'s {what} has shape {index.shape}, but the layer's is {stored}")
    if not np.any(index >= 0):
        return None
    return index.astype(np.int64)


def _checked(network: Network, binding: Binding) -> List[Tuple[Optional[np.ndarray], Optional[np.ndarray]]]:
    if len(binding.weight_index) != len(network.layers) or len(binding.bias_index) != len(network.layers):
        raise ValueError(f"the binding describes {len(binding.weight_index)} layers, but the network has {len(network.layers)}")
    result = []
    for k, layer in enumerate(network.layers):
        pair = (
            _entry_index(layer, binding.weight_index[k], "weights", k),
            _entry_index(layer, binding.bias_index[k], "biases", k),
        )
        for index in pair:
            if index is not None and int(index.max()) >= binding.size:
                raise ValueError(f"the binding of layer {k} names parameter {int(index.max())}, but it has {binding.size}")
        result.append(pair)
    return result


def parameters(network: Network, binding: Binding) -> np.ndarray:
    """``theta``: the current value of each parameter, read from the network (tied entries: the last one's)."""
    theta = np.zeros(binding.size)
    for layer, (w, b) in zip(network.layers, _checked(network, binding)):
        for index, values in ((w, _values(layer)), (b, layer.bias)):
            if index is not None:
                mask = index >= 0
                theta[index[mask]] = values[mask]
    return theta


def with_parameters(network: Network, binding: Binding, theta: np.ndarray) -> Network:
    """A new Network of the same structure with ``theta`` written into the bound entries."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (binding.size,):
        raise ValueError(f"theta has shape {theta.shape}, but the binding has {binding.size} parameters")
    layers = []
    for layer, (w, b) in zip(network.layers, _checked(network, binding)):
        weights = np.array(_values(layer), dtype=np.float64)
        bias = np.array(layer.bias, dtype=np.float64)
        for index, values in ((w, weights), (b, bias)):
            if index is not None:
                mask = index >= 0
                values[mask] = theta[index[mask]]
        layers.append(layer.with_values(weights, bias))
    return network.with_layers(layers)


# --- the engine --------------------------------------------------------------------------


class _Bound:
    """One array of a layer (its weights or its biases) and how it is bound to the engine's ``theta``.

    ``view``: the array is ``theta[offset:offset+n]`` reshaped and its gradient the same slice
    of ``grad`` (bound one-to-one, shared with nothing else; stored row-major, or with
    ``transposed`` column-major: the array is then the transpose of a row-major columns x rows
    block); ``indexed``: the array is its own and entries ``mask`` take ``theta[index]``;
    ``fixed``: nothing trainable. ``index``: positions in the engine's ``theta``."""

    def __init__(
        self, values: np.ndarray, index: Optional[np.ndarray], theta: np.ndarray, grad: np.ndarray, shared: np.ndarray, transposed: bool = False
    ) -> None:
        self.kind = "fixed"
        self.values = np.array(values, dtype=np.float64)
        self.gradient: Optional[np.ndarray] = None
        self.mask: Optional[np.ndarray] = None
        self.index: Optional[np.ndarray] = None
        self.transposed = False
        self.span: Optional[Tuple[int, int]] = None  # a view's range of theta
        if index is None:
            return
        flat = (index.T if transposed else index).reshape(-1)
        n = flat.size
        offset = int(flat[0])
        if offset >= 0 and np.array_equal(flat, np.arange(offset, offset + n)) and np.all(shared[offset : offset + n] == 1):
            self.kind = "view"
            self.span = (offset, offset + n)
            stored = values.shape[::-1] if transposed else values.shape
            self.values = theta[offset : offset + n].reshape(stored)
            self.gradient = grad[offset : offset + n].reshape(stored)
            if transposed:
                self.values, self.gradient, self.transposed = self.values.T, self.gradient.T, True
            return
        flat = index.reshape(-1)
        self.kind = "indexed"
        self.mask = np.flatnonzero(flat >= 0)
        self.index = flat[self.mask]
        self.gradient = np.empty(values.shape)

    @property
    def trainable(self) -> bool:
        return self.kind != "fixed"

    def trainable_mask(self) -> np.ndarray:
        """Which entries are trainable, in the array's shape."""
        mask = np.zeros(self.values.size, dtype=bool)
        if self.kind == "view":
            mask[:] = True
        elif self.mask is not None:
            mask[self.mask] = True
        return mask.reshape(self.values.shape)

    def scatter(self, grad: np.ndarray) -> None:
        """Add an indexed array's gradient into ``grad`` (tied entries add up)."""
        if self.kind == "indexed":
            assert self.gradient is not None and self.index is not None
            np.add.at(grad, self.index, self.gradient.reshape(-1)[self.mask])

    def refresh(self, theta: np.ndarray) -> None:
        """After a step: an indexed array takes the new values of its parameters."""
        if self.kind == "indexed":
            self.values.reshape(-1)[self.mask] = theta[self.index]


def _reader(positions: np.ndarray) -> Any:
    """A column selector for ``positions`` of the state: a slice when they are contiguous (a view)."""
    if len(positions) and np.array_equal(positions, np.arange(positions[0], positions[0] + len(positions))):
        return slice(int(positions[0]), int(positions[0]) + len(positions))
    return positions.astype(np.intp)


class _LayerWork:
    """One layer during training: its working weights and biases, what it reads, what it sends back."""

    def __init__(
        self, layer: Layer, w: Optional[np.ndarray], b: Optional[np.ndarray], theta: np.ndarray, grad: np.ndarray, shared: np.ndarray,
        transposed: bool = False,
    ) -> None:
        self.layer = layer
        self.start = layer.row_start
        self.stop = layer.row_start + len(layer.bias)
        self.rows = slice(self.start, self.stop)
        self.sparse = layer.is_sparse and layer.coo is not None
        self.weights = _Bound(_values(layer), w, theta, grad, shared, transposed)
        self.bias = _Bound(layer.bias, b, theta, grad, shared)
        self.use_bias = self.bias.trainable or bool(np.any(layer.bias))
        self.segments = list(layer.segments)
        positions = layer.column_positions.astype(np.intp)
        self.positions = positions
        self.read = _reader(positions)
        if self.sparse:
            assert layer.coo is not None
            rows, cols, _ = layer.coo
            self.entry_rows = rows.astype(np.intp)
            self.entry_columns = positions[cols]
            self.filled_rows, self.row_starts = np.unique(self.entry_rows, return_index=True)
            self.all_rows = len(self.filled_rows) == self.stop - self.start
        # Set by the plan: whether the layer's rows depend on theta, and where its gradient goes back.
        self.active = False
        self.back_local: Any = None  # the columns (of the weights) whose signals depend on theta
        self.back_state: Any = None  # ... and where they are in the state
        self.back_overwrites = False  # the first gradient those signals receive: written, not added
        self.back_clear: Optional[np.ndarray] = None  # ... or columns to clear before adding
        self.loss_segments: set = set()  # segments whose gradient by the sums the loss gives directly
        self.negated_bias = -layer.bias  # sigmoid takes -b (activations.sigmoid_in_place)

    def reads_mask(self) -> np.ndarray:
        """rows x columns: which (row, column) pairs carry a weight or a trainable entry."""
        trainable = self.weights.trainable_mask()
        if self.sparse:
            mask = np.zeros((self.stop - self.start, len(self.positions)), dtype=bool)
            assert self.layer.coo is not None
            rows, cols, values = self.layer.coo
            mask[rows, cols] = (values != 0) | trainable
            return mask
        return (self.weights.values != 0) | trainable

    # -- the operations of a pass, each bound to its arrays ------------------------------
    #
    # Built once per batch size over fixed blocks (fit's full batches, its last one), so that a
    # step runs a list of bound numpy calls: no lookups, no slicing, no temporaries where an
    # out= argument will do. At batch 1 the Python around the numpy calls is most of the time.

    def forward_ops(self, S: "_Block") -> List[Op]:
        out = S[:, self.rows]
        W = self.weights.values
        ops: List[Op] = []
        if self.sparse:
            ops.append(partial(self._sparse_forward, S, out))
        elif not len(self.positions):
            ops.append(partial(out.fill, 0.0))
        elif isinstance(self.read, slice):
            ops.append(partial(np.matmul, S[:, self.read], W.T, out=out))
        else:
            read = self.read
            ops.append(lambda: np.matmul(S[:, read], W.T, out=out))
        if len(self.segments) == 1 and self.segments[0].activation == "sigmoid":
            # The bias goes into sigmoid's first pass, as in the runtime.
            if self.bias.trainable:
                ops.append(partial(np.negative, self.bias.values, out=self.negated_bias))
            ops.append(partial(sigmoid_in_place, out, self.negated_bias if self.use_bias else 0.0))
            return ops
        if self.use_bias:
            ops.append(partial(np.add, out, self.bias.values, out=out))
        for segment in self.segments:
            if segment.activation != "identity":
                ops.append(partial(_activate, out[:, segment.start : segment.stop], segment.activation))
        return ops

    def _sparse_forward(self, S: "_Block", out: np.ndarray) -> None:
        gathered = S[:, self.entry_columns]
        gathered *= self.weights.values
        if len(self.entry_rows) == 0:
            out[...] = 0
        elif self.all_rows:
            np.add.reduceat(gathered, self.row_starts, axis=1, out=out)
        else:
            out[...] = 0
            out[:, self.filled_rows] = np.add.reduceat(gathered, self.row_starts, axis=1)

    def backward_ops(
        self, S: "_Block", D: "_Block", scratch: np.ndarray, errors: Optional[np.ndarray], scale: float = 1.0,
        updated: Optional[List[Tuple[int, int]]] = None,
    ) -> List[Op]:
        """From the gradient by the layer's outputs (in ``D[:, rows]``) to its parameters' gradients
        (times ``scale``, which multiplies the deltas after they are sent back) and to the gradient
        by the signals it reads; ``errors``: a block for Rashid's rule, which sends back the error by
        the outputs instead of the gradient by the sums. ``scratch`` and ``errors``: flat buffers
        of at least samples x rows values. ``updated``: see :meth:`gradient_ops` (the weights
        are read here, to send the gradient back, before they change)."""
        dz = D[:, self.rows]
        samples = len(dz)
        ops: List[Op] = []
        back = dz
        if errors is not None and self.back_local is not None:
            back = _leading(errors, samples, self.stop - self.start)
            ops.append(partial(np.copyto, back, dz))
        for i, segment in enumerate(self.segments):
            if i not in self.loss_segments and segment.activation != "identity":
                a, b = self.start + segment.start, self.start + segment.stop
                ops.append(partial(_derive, S[:, a:b], D[:, a:b], _leading(scratch, samples, b - a), segment.activation))
        ops += self._send_back_ops(D, back)
        if scale != 1.0:
            ops.append(partial(np.multiply, dz, scale, out=dz))
        return ops + self.gradient_ops(S, dz, updated)

    def in_place_update(self, S: "_Block", dz: np.ndarray) -> Optional[Op]:
        """The step ``W -= xᵀ·dz`` of weights stored inputs x outputs as one BLAS call that adds
        into them (netlang.blas), for plain gradient descent; None where it does not apply."""
        weights = self.weights
        if weights.kind != "view" or not weights.transposed or self.sparse or not isinstance(self.read, slice):
            return None
        return blas.in_place_product(weights.values.T, S[:, self.read], dz, -1.0)

    def gradient_ops(self, S: "_Block", dz: np.ndarray, updated: Optional[List[Tuple[int, int]]] = None) -> List[Op]:
        """The gradients of the weights and biases from ``dz`` (samples x rows). Given a list
        ``updated`` (plain gradient descent), the weights' step itself where it can be done in
        place, and their range of ``theta`` appended to the list: their gradient is not kept."""
        ops: List[Op] = []
        update = self.in_place_update(S, dz) if updated is not None else None
        if update is not None:
            assert updated is not None and self.weights.span is not None
            ops.append(update)
            updated.append(self.weights.span)
        elif self.weights.trainable:
            gradient = self.weights.gradient
            assert gradient is not None
            if self.sparse:
                rows, columns = self.entry_rows, self.entry_columns  # gathered at each step (copies)
                ops.append(lambda: np.einsum("ij,ij->j", dz[:, rows], S[:, columns], out=gradient))
            else:
                # One sample: the outer product by broadcasting; matmul with an inner size of 1
                # skips BLAS and took 3x as long (300 against 100 us for 100 x 784, measured here).
                product = np.multiply if len(dz) == 1 else np.matmul
                if product is np.matmul and self.weights.transposed and isinstance(self.read, slice):
                    # The gradient's transpose, columns x rows, as a row-major product: x^T dz,
                    # what Saito's update computes (OpenBLAS: 143 against 153 us for his first
                    # layer on 2 threads, 220 against 231 on one, than dz^T x into rows x columns).
                    ops.append(partial(np.matmul, S[:, self.read].T, dz, out=gradient.T))
                elif isinstance(self.read, slice):
                    ops.append(partial(product, dz.T, S[:, self.read], out=gradient))
                else:
                    read = self.read
                    ops.append(lambda: product(dz.T, S[:, read], out=gradient))
        if self.bias.trainable:
            assert self.bias.gradient is not None
            if len(dz) == 1:
                ops.append(partial(np.copyto, self.bias.gradient, dz[0]))
            else:
                ops.append(partial(np.add.reduce, dz, 0, None, self.bias.gradient))
        return ops

    def _send_back_ops(self, D: "_Block", dz: np.ndarray) -> List[Op]:
        """Add the gradient by the signals this layer reads (those that depend on theta) into ``D``."""
        if self.back_local is None:
            return []
        W = self.weights.values
        clear = self.back_clear
        if self.sparse:
            entries = self.back_local
            rows, columns = self.entry_rows[entries], self.entry_columns[entries]
            whole = D.whole  # a sparse layer keeps the block whole (_Engine._spans)
            assert whole is not None

            def sparse() -> None:
                if clear is not None:
                    whole[:, clear] = 0
                np.add.at(whole.T, columns, (dz[:, rows] * W[entries]).T)

            return [sparse]
        local, state = self.back_local, self.back_state
        if isinstance(local, slice) and self.back_overwrites and isinstance(state, slice):
            return [partial(np.matmul, dz, W[:, local], out=D[:, state])]  # views of W and D

        def dense() -> None:
            if clear is not None:
                D[:, clear] = 0
            D[:, state] += dz @ W[:, local]

        return [dense]


def _one_to_one(index: np.ndarray, shared: np.ndarray) -> bool:
    """Whether ``index`` binds every entry to its own parameter, a range of them that nothing else uses."""
    low, high = int(index.min()), int(index.max())
    return low >= 0 and high - low + 1 == index.size and bool(np.all(shared[index] == 1))


def _leading(flat: np.ndarray, samples: int, width: int) -> np.ndarray:
    """A contiguous samples x width block at the start of the flat buffer ``flat``."""
    return flat[: samples * width].reshape(samples, width)


def _activate(z: np.ndarray, name: str) -> None:
    if name == "sigmoid":
        sigmoid_in_place(z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0.0, out=z)
    elif name == "softmax":
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
    elif name == "step":
        np.greater(z, 0, out=z)
    elif name == "step_ge":
        np.greater_equal(z, 0, out=z)
    # identity: nothing


def _derive(a: np.ndarray, g: np.ndarray, t: np.ndarray, name: str) -> None:
    """``g`` (the gradient by the outputs ``a``) becomes the gradient by the sums, using scratch ``t``."""
    if name == "sigmoid":  # (g a) (1 - a), multiplied in the books' order (the same floats as theirs)
        np.subtract(1.0, a, out=t)
        g *= a
        g *= t
    elif name == "tanh":  # 1 - a^2
        np.multiply(a, a, out=t)
        np.subtract(1.0, t, out=t)
        g *= t
    elif name == "relu":  # 1 where a > 0 (0 at the kink)
        np.greater(a, 0.0, out=t)
        g *= t
    elif name == "softmax":  # a * (g - sum(g a))
        np.multiply(g, a, out=t)
        g -= t.sum(axis=1, keepdims=True)
        g *= a
    elif name in _STEPS:  # reached only where nothing depends on theta (checked before)
        g[...] = 0


class _Engine:
    """The plan for one network and binding: working arrays, state blocks, the order of the backward pass.

    The engine keeps the parameters in its own order (``order[i]``: the binding's parameter at
    position i of ``theta``), so that each array bound one-to-one to a range of parameters is a
    view of ``theta`` in the layout its products want, whatever order the binding numbers its
    entries in. With ``transposed`` (for batches) a dense layer's weights are stored columns x
    rows, inputs x outputs, as Saito's W1 is: his step's two large products, ``x·W1`` and the
    gradient ``xᵀ·δ``, are then the very calls his update makes. ``parameters()`` and
    ``gradient()`` give them back in the binding's order."""

    def __init__(self, network: Network, binding: Binding, theta: np.ndarray, loss: str, rule: str = "backprop", transposed: bool = False) -> None:
        self.network = network
        self.loss = loss
        self.errors_back = rule == "rashid"
        pairs = _checked(network, binding)
        self.size = binding.size
        shared = np.zeros(binding.size, dtype=np.int64)
        for w, b in pairs:
            for index in (w, b):
                if index is not None:
                    shared += np.bincount(index[index >= 0], minlength=binding.size)
        order = np.arange(binding.size)
        layouts = []
        for layer, (w, b) in zip(network.layers, pairs):
            dense = not (layer.is_sparse and layer.coo is not None)
            transpose = transposed and dense and w is not None and isinstance(_reader(layer.column_positions), slice)
            layouts.append(transpose)
            for index, flip in ((w, transpose), (b, False)):
                if index is not None and _one_to_one(index, shared):
                    low = int(index.min())
                    order[low : low + index.size] = (index.T if flip else index).reshape(-1)
        self.order: Optional[np.ndarray] = None
        if not np.array_equal(order, np.arange(binding.size)):
            self.order = order
            position = np.empty_like(order)
            position[order] = np.arange(binding.size)

            def moved(index: Optional[np.ndarray]) -> Optional[np.ndarray]:
                return None if index is None else np.where(index >= 0, position[np.maximum(index, 0)], -1)

            pairs = [(moved(w), moved(b)) for w, b in pairs]
            shared = shared[order]
            theta = np.asarray(theta)[order]
        self.theta = np.array(theta, dtype=np.float64)
        self.grad = np.zeros(binding.size)
        self.layers = [
            _LayerWork(layer, w, b, self.theta, self.grad, shared, transpose) for layer, (w, b), transpose in zip(network.layers, pairs, layouts)
        ]
        for work in self.layers:
            for bound in (work.weights, work.bias):
                bound.refresh(self.theta)
        self.indexed = [bound for work in self.layers for bound in (work.weights, work.bias) if bound.kind == "indexed"]
        self.total = network.signals.total
        self.input_width = network.input_width
        self.output_positions = np.concatenate(
            [np.arange(*network.signals.span_of(name)) for name in network.output_names]
        ).astype(np.intp) if network.output_names else np.zeros(0, dtype=np.intp)
        self.outputs = _reader(self.output_positions)
        self._plan(rule)

    def _plan(self, rule: str) -> None:
        """Which rows depend on theta and which affect the loss; refuse steps between the two."""
        total = self.total
        depends = np.zeros(total, dtype=bool)
        masks = []
        for work in self.layers:
            mask = work.reads_mask()
            masks.append(mask)
            rows = mask[:, depends[work.positions]].any(axis=1) if len(work.positions) else np.zeros(work.stop - work.start, dtype=bool)
            rows |= work.weights.trainable_mask().any(axis=1) if not work.sparse else self._sparse_trainable_rows(work)
            rows |= work.bias.trainable_mask()
            depends[work.rows] = rows
            work.active = bool(rows.any())
        affects = np.zeros(total, dtype=bool)
        affects[self.output_positions] = True
        for work, mask in zip(reversed(self.layers), reversed(masks)):
            rows = affects[work.rows]
            if len(work.positions):
                affects[work.positions] |= mask[rows].any(axis=0)
        self.depends, self.affects = depends, affects
        if rule != "perceptron":
            for work in self.layers:
                row_names = None
                for segment in work.segments:
                    if segment.activation not in _STEPS:
                        continue
                    for r in range(segment.start, segment.stop):
                        p = work.start + r
                        if depends[p] and affects[p]:
                            row_names = row_names or work.layer.rows
                            raise _fail(
                                f"backpropagation cannot pass through '{row_names[r]}', a step neuron: a step's "
                                "gradient is 0 everywhere (and at 0 it has none), so no weight before it would ever change",
                                "no-gradient",
                                hint="use sigmoid (a smooth step) in the neurons to be trained, or train one layer of "
                                "step neurons with the perceptron rule (rule \"perceptron\")",
                                neuron=row_names[r],
                            )
        # Where each active layer sends its gradient back: the columns it reads that depend on theta.
        written = np.zeros(total, dtype=bool)
        written[self.output_positions] = True
        written_by_layers = np.zeros(total, dtype=bool)
        for work in reversed(self.layers):
            if not work.active or not len(work.positions):
                continue
            if work.sparse:
                entries = np.flatnonzero(depends[work.entry_columns])
                if len(entries):
                    work.back_local = entries
                    targets = np.unique(work.entry_columns[entries])
                    written_by_layers[targets] = True
                    fresh = targets[~written[targets]]
                    work.back_clear = fresh if len(fresh) else None
                    written[targets] = True
                continue
            local = np.flatnonzero(depends[work.positions])
            if not len(local):
                continue
            targets = work.positions[local]
            work.back_local = _reader(local)
            work.back_state = _reader(targets)
            written_by_layers[targets] = True
            fresh = ~written[targets]
            if fresh.all():
                work.back_overwrites = True
                if not isinstance(work.back_state, slice):
                    work.back_clear = targets
            elif fresh.any():
                work.back_clear = targets[fresh]
            written[targets] = True
        self.backward_layers = [work for work in reversed(self.layers) if work.active]
        if self.loss == "cross-entropy":
            # The loss's gradient by a softmax output's sums is (y - t) / batch directly: its
            # segments skip the softmax's own derivative, so nothing else may send them a gradient.
            outputs = set(self.output_positions.tolist())
            for work in self.layers:
                for i, segment in enumerate(work.segments):
                    if work.start + segment.start in outputs:
                        work.loss_segments.add(i)
                        if written_by_layers[work.start + segment.start : work.start + segment.stop].any():
                            raise _fail(
                                f"with the cross-entropy loss, the softmax outputs ('{work.layer.rows[segment.start]}' ...) "
                                "cannot also be read by other neurons",
                                "bad-setting",
                                hint="use the loss mse, or read the sums before the softmax",
                                neuron=work.layer.rows[segment.start],
                            )
        self.send_back_to = written  # columns of D that are ever written (the rest stay 0)
        self.spans = self._spans()

    def _spans(self) -> Optional[List[Tuple[int, int]]]:
        """The inputs' columns and each layer's, when every read and every gradient sent back lies
        inside one of them (a chain of dense layers, each reading one earlier layer or the inputs):
        then a batch's blocks can be one array per span. None otherwise."""
        spans = [(0, self.input_width)] + [(work.start, work.stop) for work in self.layers]
        if [a for a, _ in spans[1:]] != [b for _, b in spans[:-1]] or spans[-1][1] != self.total:
            return None

        def inside(columns: Any) -> bool:
            return isinstance(columns, slice) and any(a <= columns.start and columns.stop <= b for a, b in spans)

        for work in self.layers:
            if work.sparse or (len(work.positions) and not inside(work.read)) or work.back_clear is not None:
                return None
            if work.back_local is not None and not inside(work.back_state):
                return None
        return spans if inside(self.outputs) else None

    @staticmethod
    def _sparse_trainable_rows(work: _LayerWork) -> np.ndarray:
        rows = np.zeros(work.stop - work.start, dtype=bool)
        rows[work.entry_rows[work.weights.trainable_mask()]] = True
        return rows

    def parameters(self) -> np.ndarray:
        """``theta`` in the binding's order (a copy)."""
        return self._in_binding_order(self.theta)

    def gradient(self) -> np.ndarray:
        """``grad`` in the binding's order (a copy)."""
        return self._in_binding_order(self.grad)

    def _in_binding_order(self, values: np.ndarray) -> np.ndarray:
        if self.order is None:
            return values.copy()
        result = np.empty_like(values)
        result[self.order] = values
        return result

    def program(self, samples: int, scale: float, in_place: bool = False) -> "_Program":
        """The bound operations of a step over batches of ``samples``, the gradient times ``scale``;
        ``in_place`` (plain gradient descent): weights that can be are stepped by the backward
        pass itself, ``theta -= grad`` in place (``_Program.updated`` names them)."""
        return _Program(self, samples, scale, in_place)

    def refresh(self) -> None:
        for bound in self.indexed:
            bound.refresh(self.theta)


class _Block:
    """A samples x signals block (the state ``S`` or its gradient ``D``), indexed as an array
    ``[:, columns]``: one array, or, given ``spans`` (the inputs' columns and each layer's), one
    array per span, so that a layer's columns are a contiguous array rather than a strided view
    of a wide one. Only a slice inside one span can be taken from the second kind."""

    def __init__(self, samples: int, total: int, spans: Optional[Sequence[Tuple[int, int]]] = None) -> None:
        self.total = total
        self.whole: Optional[np.ndarray] = np.zeros((samples, total)) if spans is None else None
        self.parts = [(a, b, np.zeros((samples, b - a))) for a, b in spans or ()]

    def __getitem__(self, key: Any) -> np.ndarray:
        if self.whole is not None:
            return self.whole[key]
        columns = key[1] if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None) else None
        if isinstance(columns, slice):
            start, stop, stride = columns.indices(self.total)
            for a, b, part in self.parts:
                if stride == 1 and a <= start and stop <= b:
                    return part[:, start - a : stop - a]
        raise IndexError(f"{key} is not a slice of one span of the block")  # the engine's layout rules this out

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.whole is not None:
            self.whole[key] = value
        else:
            self[key][...] = value

    def __repr__(self) -> str:
        shape = self.whole.shape if self.whole is not None else [part.shape for _, _, part in self.parts]
        return f"_Block({shape})"


class _Program:
    """One step over a batch of fixed size: the blocks (state ``S``, gradient ``D``, scratch) and
    the operations of the forward and backward passes, bound to them.

    ``load`` puts a batch's inputs and targets in place; ``forward`` computes every signal;
    ``backward`` the gradient of the batch's mean loss times ``scale`` into ``engine.grad``.
    ``D[:, outputs]`` starts as the loss's gradient by the outputs (cross-entropy: by the softmax
    sums, ``(y - t) / batch``). ``updated``: the ranges of ``theta`` that ``backward`` itself
    steps (``in_place``), whose ``grad`` it leaves as it was."""

    def __init__(self, engine: _Engine, samples: int, scale: float, in_place: bool = False) -> None:
        self.engine = engine
        self.samples = samples
        widest = max([w.stop - w.start for w in engine.layers] + [1])
        # One sample's row is contiguous in any layout; for a batch, a chain of dense layers gets
        # one contiguous block per layer (Saito's step: 0.93x numpy's time instead of 1.11x).
        spans = engine.spans if samples > 1 else None
        self.S = S = _Block(samples, engine.total, spans)
        self.D = D = _Block(samples, engine.total, spans)
        scratch = np.empty(samples * widest)
        errors = np.empty(samples * widest) if engine.errors_back else None
        self.inputs = S[:, : engine.input_width]
        self.targets = np.empty((samples, len(engine.output_positions)))
        self.forward_ops = [op for work in engine.layers for op in work.forward_ops(S)]
        outputs = engine.outputs
        self.error = D[:, outputs] if isinstance(outputs, slice) else np.empty_like(self.targets)
        self.output_values = S[:, outputs] if isinstance(outputs, slice) else None
        # The rate goes into each layer's delta before the products with the layer's inputs
        # (Rashid's (lr·δ)·hᵀ): a few values per sample, not every weight. One sample, this is
        # his update float for float. A batch, Saito's W − lr·∇W rounds lr·(xᵀ·δ) instead of
        # xᵀ·(lr·δ): the same to about 1e-16 per step, and one pass over the parameters fewer
        # (the multiply that was 7 of his step's 450 us, and more when the other BLAS thread
        # wrote the gradient: its cache lines then cross cores twice).
        self.scale = scale
        backward: List[Op] = []
        if not isinstance(outputs, slice):
            error = self.error
            backward.append(lambda: D.__setitem__((slice(None), outputs), error))
        self.updated: List[Tuple[int, int]] = []
        for work in engine.backward_layers:
            backward += work.backward_ops(S, D, scratch, errors, scale, self.updated if in_place else None)
        backward += [partial(bound.scatter, engine.grad) for bound in engine.indexed]
        self.backward_ops = backward

    def load(self, X: np.ndarray, T: np.ndarray, chosen: np.ndarray) -> None:
        if self.samples == 1:
            np.copyto(self.inputs[0], X[chosen[0]])
            np.copyto(self.targets[0], T[chosen[0]])
        else:
            np.take(X, chosen, axis=0, out=self.inputs, mode="clip")  # one copy, not two (measured 2x)
            np.take(T, chosen, axis=0, out=self.targets, mode="clip")

    def forward(self) -> None:
        for op in self.forward_ops:
            op()

    def outputs(self) -> np.ndarray:
        values = self.output_values
        return values if values is not None else self.S[:, self.engine.outputs]

    def backward(self) -> float:
        """The gradient (after ``forward``); the sum of the output errors, finite exactly when every output is."""
        engine = self.engine
        if engine.indexed:
            engine.grad[...] = 0
        error = self.error
        np.subtract(self.outputs(), self.targets, out=error)
        check = float(np.add.reduce(error, axis=None))
        if self.updated and not math.isfinite(check):
            return check  # before any weight is stepped in place
        if self.samples != 1:  # (y - t) / batch, divided as Saito's update divides it
            np.divide(error, self.samples, out=error)
        for op in self.backward_ops:
            op()
        return check


# --- checks before any work --------------------------------------------------------------


def _check_settings(settings: Settings) -> None:
    for name, allowed in (("rule", RULES), ("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        value = getattr(settings, name)
        if value not in allowed:
            raise _fail(
                f"unknown {name} '{value}'",
                "bad-setting",
                hint=did_you_mean(str(value), allowed) or f"the {name} is one of {', '.join(allowed)}",
            )
    rate = settings.learning_rate
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise _fail(f"the learning rate must be a positive number, not {rate}", "bad-setting", hint="try 0.1")
    for name in ("epochs", "batch_size"):
        value = getattr(settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "epochs" else 1):
            raise _fail(f"{name.replace('_', ' ')} must be a whole number of at least {0 if name == 'epochs' else 1}, not {value}", "bad-setting")
    if not 0 <= settings.momentum < 1:
        raise _fail(f"the momentum must be at least 0 and below 1, not {settings.momentum}", "bad-setting", hint="try 0.9")


def _check_data(network: Network, inputs: Any, targets: Any, what: str = "training") -> Tuple[np.ndarray, np.ndarray]:
    X = np.asarray(inputs, dtype=np.float64)
    T = np.asarray(targets, dtype=np.float64)
    if T.ndim == 1 and network.output_width == 1:
        T = T[:, None]
    if X.ndim == 1 and network.input_width == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != network.input_width:
        raise _fail(f"the {what} inputs have shape {X.shape}, but the network takes rows of {network.input_width} values", "bad-shape", data=what)
    if T.ndim != 2 or T.shape != (X.shape[0], network.output_width):
        raise _fail(
            f"the {what} targets have shape {T.shape}, but {X.shape[0]} samples of {network.output_width} outputs "
            f"({', '.join(network.output_columns[:6])}{', ...' if network.output_width > 6 else ''}) need {(X.shape[0], network.output_width)}",
            "bad-shape",
            data=what,
        )
    if X.shape[0] == 0:
        raise _fail(f"there are no {what} samples", "bad-shape", data=what)
    for array, name in ((X, "inputs"), (T, "targets")):
        if math.isfinite(np.add.reduce(array, axis=None)):
            continue  # a NaN or an infinity anywhere would make the sum one (4x faster than isfinite)
        bad = ~np.isfinite(array)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise _fail(f"the {what} {name} hold {array[row, column]} in row {row} (from 0), column {column}; every value must be a finite number", "non-finite-value", data=what)
    return np.ascontiguousarray(X), np.ascontiguousarray(T)


def _check_loss(network: Network, loss: str, targets: np.ndarray) -> None:
    if loss != "cross-entropy":
        return
    positions = {p for name in network.output_names for p in range(*network.signals.span_of(name))}
    softmax = set()
    for layer in network.layers:
        for segment in layer.segments:
            rows = set(range(layer.row_start + segment.start, layer.row_start + segment.stop))
            if segment.activation == "softmax" and rows & positions:
                if not rows <= positions:
                    break
                softmax |= rows
    if softmax != positions:
        raise _fail(
            "the cross-entropy loss needs the outputs to be whole softmax layers",
            "bad-setting",
            hint="make the output layer softmax(...), or use the loss mse",
        )
    # The gradient (y - t) / batch holds when each sample's targets over a softmax sum to 1.
    start = 0
    for size in network.output_sizes:
        width = 1 if size is None else size
        sums = targets[:, start : start + width].sum(axis=1)
        if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
            row = int(np.argmax(np.abs(sums - 1.0)))
            raise _fail(
                f"with the cross-entropy loss each sample's targets must sum to 1 (one-hot), but row {row} (from 0) sums to {sums[row]:g}",
                "bad-target",
                hint="give one-hot targets (0 and 1), or use the loss mse",
                data="training",
            )
        start += width


# --- classes and accuracy -----------------------------------------------------------------


def _are_classes(targets: np.ndarray) -> bool:
    """Whether the targets name classes: several columns, or one column of values in [0, 1]."""
    return targets.shape[1] != 1 or bool(np.all((targets >= 0) & (targets <= 1)))


def _accuracy(outputs: np.ndarray, targets: np.ndarray, labels: Optional[np.ndarray] = None) -> Optional[float]:
    """The fraction of rows whose class is the targets' (``labels``: those classes, when known)."""
    if labels is None:
        if not _are_classes(targets):
            return None
        labels = classes(targets)
    return float(np.count_nonzero(classes(outputs) == labels) / len(labels))


def _one_hot(targets: np.ndarray, labels: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """``labels`` when every row of the targets is 1 at its label and 0 elsewhere, else None."""
    if labels is None or targets.shape[1] == 1:
        return None
    return labels if bool(np.all(targets == (np.arange(targets.shape[1]) == labels[:, None]))) else None


_TINY = np.finfo(np.float64).tiny  # log(0) is taken as log(tiny): finite, no warning


def loss_value(outputs: np.ndarray, targets: Optional[np.ndarray], loss: str, labels: Optional[np.ndarray] = None) -> float:
    """The mean loss of a batch: 1/2 sum (t - o)^2 per sample (mse), or -sum t log y (cross-entropy).
    ``labels``: with one-hot targets, each row's class; the cross-entropy is then -log y at the
    label alone (``targets`` is not read), one logarithm per sample instead of one per output."""
    if loss == "cross-entropy" and labels is not None:
        chosen = outputs[np.arange(len(labels)), labels]  # (np.take_along_axis: 3x as long)
        np.maximum(chosen, _TINY, out=chosen)
        np.log(chosen, out=chosen)
        return float(-np.add.reduce(chosen, axis=None) / len(outputs))
    assert targets is not None
    work = np.empty(outputs.shape)
    if loss == "mse":
        np.subtract(outputs, targets, out=work)
        return float(0.5 * np.vdot(work, work) / len(outputs))
    np.maximum(outputs, _TINY, out=work)
    np.log(work, out=work)
    return float(-np.vdot(targets, work) / len(outputs))


# --- fit -------------------------------------------------------------------------------------


def fit(
    network: Network,
    binding: Binding,
    inputs: Any,
    targets: Any,
    settings: Settings = Settings(),
    *,
    validation: Optional[Tuple[Any, Any]] = None,
    on_epoch: Optional[Callable[[Epoch], None]] = None,
    on_update: Optional[Callable[[Update], None]] = None,
    on_batch: Optional[Callable[[int, int, int], None]] = None,
) -> Result:
    """Train the bound parameters of ``network`` on ``inputs`` (samples x input columns) and
    ``targets`` (samples x output columns); the trained network, its parameters and the history.

    Each epoch visits the samples in the order ``rng.permutation(samples)`` (``rng =
    numpy.random.default_rng(seed)``, one permutation per epoch; in file order without
    ``shuffle``), in batches of ``batch_size`` (the last one may be smaller). ``on_epoch``
    receives each completed epoch, with its parameters: keep the last one to resume after an
    interrupt (a KeyboardInterrupt inside is raised again, the network untouched). ``on_batch``
    receives ``(epoch, samples done in it, samples)`` after each update, for a progress bar
    within an epoch (one of Rashid's is 60,000 updates).
    """
    _check_settings(settings)
    X, T = _check_data(network, inputs, targets)
    V = _check_data(network, validation[0], validation[1], "validation") if validation is not None else None
    if binding.size == 0:
        raise _fail("nothing in the network is trainable", "nothing-trainable", hint="mark weights or biases as trainable")
    if settings.rule == "perceptron":
        return _perceptron(network, binding, X, T, settings, V, on_epoch, on_update, on_batch)
    _check_loss(network, settings.loss, T)
    samples = len(X)
    batch = min(settings.batch_size, samples)
    engine = _Engine(network, binding, parameters(network, binding), settings.loss, settings.rule, transposed=batch > 1)
    rng = np.random.default_rng(settings.seed)
    sgd = settings.optimizer == "sgd"
    scale = settings.learning_rate if sgd else 1.0
    full = engine.program(batch, scale, in_place=sgd)
    last = engine.program(samples % batch, scale, in_place=sgd) if samples % batch else full
    steps = {id(program): _optimizer(settings, engine.theta, engine.grad, program.updated) for program in (full, last)}
    history: List[Epoch] = []
    labels = classes(T) if _are_classes(T) else None  # the classes wanted, for the accuracy
    one_hot = _one_hot(T, labels)
    scores = None if settings.evaluate else _BatchScores(len(engine.output_positions), batch, settings.loss, T, labels, one_hot)
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        order = rng.permutation(samples) if settings.shuffle else np.arange(samples)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            for number, begin in enumerate(range(0, samples, batch), start=1):
                chosen = order[begin : begin + batch]
                program = full if len(chosen) == batch else last
                program.load(X, T, chosen)
                program.forward()
                if scores is not None:
                    scores.add(program.outputs(), chosen)
                if not math.isfinite(program.backward()):
                    raise _not_finite(epoch, number, settings)
                steps[id(program)]()
                engine.refresh()
                if on_batch is not None:
                    on_batch(epoch, begin + len(chosen), samples)
        if scores is None:
            record = _epoch_record(network, binding, engine.parameters(), epoch, X, T, V, settings.loss, started, labels, one_hot)
        else:
            updated = time.perf_counter()
            loss, accuracy = scores.epoch(samples)
            theta = engine.parameters()
            scored = _validation(network, binding, theta, V)
            now = time.perf_counter()
            record = Epoch(epoch, loss, accuracy, scored, now - started, theta, evaluated=False, evaluation_seconds=now - updated)
        if not math.isfinite(record.loss) or not np.all(np.isfinite(engine.theta)):
            raise _not_finite(epoch, number, settings)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    theta = engine.parameters()
    return Result(with_parameters(network, binding, theta), theta, history)


class _BatchScores:
    """The loss and accuracy of an epoch's batches, each as it was before its own update (fit
    without ``Settings.evaluate``). Their outputs are kept in a block of rows (about 1 MB) and
    scored a block at a time: one copy per batch instead of the five numpy calls of scoring it
    (Saito's batches of 100: 3 against 12 us each, measured here)."""

    def __init__(self, width: int, batch: int, loss: str, targets: np.ndarray, labels: Optional[np.ndarray], one_hot: Optional[np.ndarray]) -> None:
        rows = max(batch, _SCORED_VALUES // max(width, 1))
        self.outputs = np.empty((rows, width))
        self.samples = np.empty(rows, dtype=np.intp)
        self.filled = 0
        self.loss, self.targets, self.labels, self.one_hot = loss, targets, labels, one_hot
        self.total = 0.0  # the sum of the samples' losses
        self.correct = 0  # the samples classified right

    def __repr__(self) -> str:
        return f"_BatchScores({len(self.samples)} rows, {self.filled} filled)"

    def add(self, outputs: np.ndarray, chosen: np.ndarray) -> None:
        count = len(chosen)
        if self.filled + count > len(self.samples):
            self._score()
        np.copyto(self.outputs[self.filled : self.filled + count], outputs)
        np.copyto(self.samples[self.filled : self.filled + count], chosen)
        self.filled += count

    def _score(self) -> None:
        count = self.filled
        if not count:
            return
        outputs, samples = self.outputs[:count], self.samples[:count]
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported by fit
            if self.one_hot is not None:
                self.total += loss_value(outputs, None, self.loss, labels=self.one_hot[samples]) * count
            else:
                self.total += loss_value(outputs, self.targets[samples], self.loss) * count
        if self.labels is not None:
            self.correct += int(np.count_nonzero(classes(outputs) == self.labels[samples]))
        self.filled = 0

    def epoch(self, samples: int) -> Tuple[float, Optional[float]]:
        """The mean loss and the accuracy (None: the targets are not classes) of the epoch's ``samples``; then starts again."""
        self._score()
        result = (self.total / samples, self.correct / samples if self.labels is not None else None)
        self.total, self.correct = 0.0, 0
        return result


_SCORED_VALUES = 1 << 17  # outputs kept by _BatchScores before it scores them: 1 MB of float64


def _not_finite(epoch: int, batch: int, settings: Settings) -> NetlangError:
    return _fail(
        f"the loss became infinite or not a number in epoch {epoch}, batch {batch}: the weights diverged, training stopped",
        "loss-not-finite",
        hint=f"use a smaller learning rate than {settings.learning_rate:g} (say {settings.learning_rate / 10:g})",
    )


def _epoch_record(
    network: Network, binding: Binding, theta: np.ndarray, epoch: int, X: np.ndarray, T: np.ndarray,
    V: Optional[Tuple[np.ndarray, np.ndarray]], loss: str, started: float,
    labels: Optional[np.ndarray] = None, one_hot: Optional[np.ndarray] = None,
) -> Epoch:
    """The loss and accuracy of the network as it stands (evaluated by the runtime, as `netlang score` would); ``theta``: a copy, kept."""
    updated = time.perf_counter()
    current = with_parameters(network, binding, theta)
    outputs = current(X)
    validation = None
    if V is not None:
        validation = _accuracy(current(V[0]), V[1])
    with np.errstate(over="ignore", invalid="ignore"):
        value = loss_value(outputs, T, loss, labels=one_hot)
    now = time.perf_counter()
    return Epoch(epoch, value, _accuracy(outputs, T, labels), validation, now - started, theta, evaluation_seconds=now - updated)


def _validation(network: Network, binding: Binding, theta: np.ndarray, V: Optional[Tuple[np.ndarray, np.ndarray]]) -> Optional[float]:
    if V is None:
        return None
    return _accuracy(with_parameters(network, binding, theta)(V[0]), V[1])


def _optimizer(settings: Settings, theta: np.ndarray, grad: np.ndarray, updated: Sequence[Tuple[int, int]] = ()) -> Callable[[], None]:
    """One step of the optimizer over ``theta`` from ``grad`` (for sgd, ``grad`` comes scaled by
    the rate); ``updated``: ranges of ``theta`` the backward pass has already stepped (sgd only)."""
    rate = settings.learning_rate
    if settings.optimizer == "sgd":
        rest, start = [], 0
        for low, high in sorted(updated):
            rest += [slice(start, low)] if low > start else []
            start = high
        rest += [slice(start, len(theta))] if start < len(theta) else []
        if len(rest) == 1 and rest[0] == slice(0, len(theta)):

            def sgd() -> None:
                np.subtract(theta, grad, out=theta)

            return sgd
        parts = [partial(np.subtract, theta[part], grad[part], out=theta[part]) for part in rest]

        def sgd_rest() -> None:
            for part in parts:
                part()

        return sgd_rest
    assert not updated, "only plain gradient descent steps weights in place"
    if settings.optimizer == "momentum":
        velocity = np.zeros_like(theta)
        momentum = settings.momentum

        def with_momentum() -> None:  # v = m v - rate g; theta += v
            np.multiply(velocity, momentum, out=velocity)
            np.subtract(velocity, rate * grad, out=velocity)
            np.add(theta, velocity, out=theta)

        return with_momentum
    first, second = np.zeros_like(theta), np.zeros_like(theta)
    steps = [0]
    scratch = np.empty_like(theta)

    def adam() -> None:  # Kingma and Ba, with the bias corrections folded into the rate
        steps[0] += 1
        t = steps[0]
        np.multiply(first, ADAM_BETA1, out=first)
        np.add(first, (1 - ADAM_BETA1) * grad, out=first)
        np.multiply(second, ADAM_BETA2, out=second)
        np.multiply(grad, grad, out=scratch)
        np.add(second, (1 - ADAM_BETA2) * scratch, out=second)
        corrected = rate * math.sqrt(1 - ADAM_BETA2**t) / (1 - ADAM_BETA1**t)
        np.sqrt(second, out=scratch)
        np.add(scratch, ADAM_EPSILON * math.sqrt(1 - ADAM_BETA2**t), out=scratch)
        np.divide(first, scratch, out=scratch)
        np.multiply(scratch, corrected, out=scratch)
        np.subtract(theta, scratch, out=theta)

    return adam


# --- the perceptron rule ------------------------------------------------------------------


def _perceptron(
    network: Network, binding: Binding, X: np.ndarray, T: np.ndarray, settings: Settings,
    V: Optional[Tuple[np.ndarray, np.ndarray]], on_epoch: Optional[Callable[[Epoch], None]], on_update: Optional[Callable[[Update], None]],
    on_batch: Optional[Callable[[int, int, int], None]] = None,
) -> Result:
    """Rosenblatt's rule, one sample at a time: w += rate (t - o) s and b += rate (t - o) for each
    trainable step neuron (so its threshold θ = -b changes by -rate (t - o))."""
    engine = _Engine(network, binding, parameters(network, binding), "mse", rule="perceptron")
    trained = [work for work in engine.layers if work.weights.trainable or work.bias.trainable]
    if len(trained) != 1:
        raise _fail(
            f"the perceptron rule trains one layer of step neurons, but {len(trained)} layers have trainable entries",
            "bad-setting",
            hint="train networks of several layers with backpropagation (rule \"backprop\") and sigmoid neurons",
        )
    work = trained[0]
    trainable_rows = work.weights.trainable_mask().any(axis=1) if not work.sparse else engine._sparse_trainable_rows(work)
    trainable_rows = trainable_rows | work.bias.trainable_mask()
    activations = work.layer.activation
    output_rows = {int(p) - work.start for p in engine.output_positions if work.start <= p < work.stop}
    for r in np.flatnonzero(trainable_rows):
        if activations[r] not in _STEPS or int(r) not in output_rows:
            raise _fail(
                f"the perceptron rule trains output neurons of step(...), but '{work.layer.rows[r]}' is "
                + ("not an output" if activations[r] in _STEPS else f"{activations[r]}"),
                "bad-setting",
                hint="use backpropagation (rule \"backprop\") for sigmoid, tanh, relu or softmax neurons",
                neuron=work.layer.rows[r],
            )
    wrong = np.argwhere((T != 0) & (T != 1))
    if len(wrong):
        row, column = wrong[0]
        raise _fail(
            f"the perceptron rule needs targets of 0 and 1 (what a step neuron gives), but sample {row} (from 0) "
            f"wants {T[row, column]:g} for {network.output_columns[column]}",
            "bad-target",
            hint="a step neuron gives 0 or 1: are these the right target columns?",
            data="training",
        )
    # Where each output column sits among the layer's rows (other outputs get no error).
    column_rows = [(i, int(p) - work.start) for i, p in enumerate(engine.output_positions) if work.start <= p < work.stop]
    program = engine.program(1, 1.0)
    S, D = program.S, program.D
    gradient_ops = work.gradient_ops(S, D[:, work.rows]) + [partial(bound.scatter, engine.grad) for bound in engine.indexed]
    rng = np.random.default_rng(settings.seed)
    rate = settings.learning_rate
    history: List[Epoch] = []
    converged: Optional[int] = None
    current = with_parameters(network, binding, engine.parameters())
    if np.array_equal(current(X), T):
        converged = 0
    for epoch in range(1, settings.epochs + 1) if converged is None else ():
        started = time.perf_counter()
        order = rng.permutation(len(X)) if settings.shuffle else np.arange(len(X))
        for done, sample in enumerate(order, start=1):
            program.load(X, T, np.array([sample]))
            program.forward()
            outputs = program.outputs()[0].copy()
            D[...] = 0
            for column, row in column_rows:  # the "gradient" o - t at each step neuron's sum
                D[0, work.start + row] = outputs[column] - T[sample, column]
            if engine.indexed:
                engine.grad[...] = 0
            for op in gradient_ops:
                op()
            before = (work.weights.values.copy(), work.bias.values.copy()) if on_update is not None else None
            engine.theta -= rate * engine.grad
            engine.refresh()
            if on_update is not None and before is not None:
                on_update(Update(epoch, int(sample), X[sample].copy(), outputs, T[sample].copy(), work.layer.index,
                                 work.weights.values - before[0], -(work.bias.values - before[1])))
            if on_batch is not None:
                on_batch(epoch, done, len(X))
        updated = time.perf_counter()
        theta = engine.parameters()
        current = with_parameters(network, binding, theta)
        outputs_all = current(X)
        validation = _accuracy(current(V[0]), V[1]) if V is not None else None
        now = time.perf_counter()
        record = Epoch(epoch, loss_value(outputs_all, T, "mse"), _accuracy(outputs_all, T), validation,
                       now - started, theta, evaluation_seconds=now - updated)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if np.array_equal(outputs_all, T):
            converged = epoch
            break
    theta = engine.parameters()
    return Result(with_parameters(network, binding, theta), theta, history, converged)


def read_examples(path: Any, network: Network, labels: Any = None, skip: Sequence[Any] = (), one_hot: Tuple[float, float] = (0.0, 1.0), stdin: Any = None) -> Tuple[np.ndarray, np.ndarray]:
    """The inputs and targets of a labelled CSV file: :func:`netlang.labelled.read_examples`
    (imported when called: the engine itself reads no files)."""
    from .labelled import read_examples as read

    return read(path, network, labels=labels, skip=skip, one_hot=one_hot, stdin=stdin)


# --- gradient check --------------------------------------------------------------------------


def gradient(network: Network, binding: Binding, inputs: Any, targets: Any, loss: str = "mse") -> np.ndarray:
    """Backpropagation's gradient of the mean loss over all the samples, by each parameter."""
    X, T = _check_data(network, inputs, targets)
    _check_loss(network, loss, T)
    engine = _Engine(network, binding, parameters(network, binding), loss, transposed=len(X) > 1)
    program = engine.program(len(X), 1.0)
    program.load(X, T, np.arange(len(X)))
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        program.forward()
        program.backward()
    return engine.gradient()


def gradient_check(
    network: Network, binding: Binding, inputs: Any, targets: Any, settings: Settings = Settings(), step: float = 1e-3
) -> List[Difference]:
    """Backpropagation against numerical differentiation for every parameter, worst first.

    The numerical gradient is the fourth-order central difference
    ``(8 (L(θ+h) - L(θ-h)) - (L(θ+2h) - L(θ-2h))) / 12h``, whose error is of order h^4 (1e-12 for
    the default h = 1e-3) rather than the h^2 of a two-point difference; ``relative`` is
    ``|analytic - numeric| / max(|analytic|, |numeric|, 1e-8)``. Costs four forward passes over
    the samples per parameter: use a few samples.
    """
    X, T = _check_data(network, inputs, targets)
    analytic = gradient(network, binding, X, T, settings.loss)
    theta = parameters(network, binding)
    numeric = np.empty_like(theta)

    def loss_at(values: np.ndarray) -> float:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return loss_value(with_parameters(network, binding, values)(X), T, settings.loss)

    for i in range(len(theta)):
        shifted = theta.copy()
        values = []
        for offset in (step, -step, 2 * step, -2 * step):
            shifted[i] = theta[i] + offset
            values.append(loss_at(shifted))
        numeric[i] = (8 * (values[0] - values[1]) - (values[2] - values[3])) / (12 * step)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-8)
    relative = np.abs(analytic - numeric) / scale
    order = np.argsort(-relative, kind="stable")
    return [Difference(int(i), float(analytic[i]), float(numeric[i]), float(relative[i])) for i in order]
