"""Big sparse netlists compile to memory linear in their terms (checked by structure, not by timing)."""

from __future__ import annotations

import tracemalloc

import numpy as np

import netlang
from netlang import compiler

INPUTS = 8


def _netlist(nodes: int, seed: int = 0):
    """Each node reads 1-3 of the 500 signals before it; returns the text and (reads, weights, bias) per node."""
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(INPUTS)]
    lines = ["input " + ", ".join(names)]
    spec = []
    for n in range(nodes):
        here = INPUTS + n
        read = sorted(set(int(i) for i in rng.integers(max(0, here - 500), here, 3)))
        weights = np.round(rng.normal(size=len(read)), 3)
        bias = float(np.round(rng.normal(), 3))
        lines.append(f"node n{n} = sigmoid({' + '.join(f'{w}*{names[i]}' for w, i in zip(weights, read))} + {bias})")
        names.append(f"n{n}")
        spec.append((read, weights, bias))
    lines.append(f"output n{nodes - 1}, n{nodes // 2}")
    return "\n".join(lines) + "\n", spec


def _node_loop(spec, X, nodes):
    signals = [X[:, i] for i in range(INPUTS)]
    for read, weights, bias in spec:
        signals.append(1 / (1 + np.exp(-(sum(w * signals[i] for w, i in zip(weights, read)) + bias))))
    return np.stack([signals[-1], signals[INPUTS + nodes // 2]], axis=1)


def _stored_entries(net: netlang.Network) -> int:
    return sum(len(layer.coo[0]) if layer.is_sparse else layer.weights.size for layer in net.layers)


def test_weights_and_plan_are_linear_in_the_terms():
    text, spec = _netlist(2000)
    net = netlang.compile(text)
    terms = sum(len(read) for read, _, _ in spec)
    assert sum(layer.nonzeros for layer in net.layers) == terms
    # No layer keeps a mostly-empty matrix: dense ones are small or at least a quarter full.
    for layer in net.layers:
        if not layer.is_sparse:
            assert layer.weights.size <= compiler.SMALL_DENSE or layer.nonzeros * 4 >= layer.weights.size
    assert _stored_entries(net) <= 4 * terms
    assert any(layer.is_sparse for layer in net.layers)
    X = np.random.default_rng(1).normal(size=(7, INPUTS))
    assert np.allclose(net(X), _node_loop(spec, X, 2000), rtol=1e-12, atol=1e-12)
    plan = net._plans[np.dtype(np.float64)]
    plan_bytes = sum(
        array.nbytes
        for layer in plan.layers
        for array in vars(layer).values()
        if isinstance(array, np.ndarray)
    ) + sum(a.nbytes for layer in plan.layers if getattr(layer, "ell", None) for a in layer.ell)
    assert plan_bytes <= 200 * terms  # a few index and value arrays per term, never rows x columns


def test_compile_memory_grows_linearly():
    peaks = []
    for nodes in (1000, 2000):
        text, _ = _netlist(nodes, seed=nodes)
        tracemalloc.start()
        try:
            netlang.compile(text)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] <= 2.6 * peaks[0]  # twice the nodes, about twice the memory
    assert peaks[1] / 2000 < 100_000  # and well under 100 kB per node
