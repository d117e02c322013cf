"""MNIST-sized network: a 784-100-10 sigmoid network, weights from an .npz, netlang vs numpy.

Baseline: hand-written numpy ``sigmoid(sigmoid(X @ W1.T + b1) @ W2.T + b2)`` on the same
weights. Beside it, when installed: onnxruntime (the ONNX model is built here with
onnx.helper) and PyTorch on the CPU (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np

from _common import GcPaused, arguments, interleaved, machine_note, report

SOURCE = """\
# 784-100-10 sigmoid network; weights from mnist.npz beside this file
input x[784]
let W1 = load("mnist.npz", "W1")
let b1 = load("mnist.npz", "b1")
let W2 = load("mnist.npz", "W2")
let b2 = load("mnist.npz", "b2")
layer h[100] = sigmoid(W1 @ x + b1)
layer y[10] = sigmoid(W2 @ h + b2)
output y
"""


def numpy_reference(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> Callable:
    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    return lambda X: sigmoid(sigmoid(X @ W1.T + b1) @ W2.T + b2)


def onnxruntime_session(W: Dict[str, np.ndarray]) -> Optional[Callable]:
    try:
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(W["W1"].T), "W1T"),
        numpy_helper.from_array(W["b1"], "b1"),
        numpy_helper.from_array(np.ascontiguousarray(W["W2"].T), "W2T"),
        numpy_helper.from_array(W["b2"], "b2"),
    ]
    nodes = [
        helper.make_node("Gemm", ["X", "W1T", "b1"], ["z1"]),
        helper.make_node("Sigmoid", ["z1"], ["h"]),
        helper.make_node("Gemm", ["h", "W2T", "b2"], ["z2"]),
        helper.make_node("Sigmoid", ["z2"], ["Y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["N", 784])],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, ["N", 10])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return lambda X: session.run(None, {"X": X})[0]


def torch_model(W: Dict[str, np.ndarray]) -> Optional[Callable]:
    try:
        import torch
    except ImportError:
        return None
    W1, b1, W2, b2 = (torch.from_numpy(W[k]) for k in ("W1", "b1", "W2", "b2"))

    def run(X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(X)
            return torch.sigmoid(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, x, W1.T)), W2.T)).numpy()

    return run


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    import netlang

    machine_note()
    rng = np.random.default_rng(0)
    weights = {
        "W1": rng.normal(0, 784**-0.5, (100, 784)),
        "b1": rng.normal(0, 0.1, 100),
        "W2": rng.normal(0, 0.1, (10, 100)),
        "b2": rng.normal(0, 0.1, 10),
    }
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "mnist.npz", **weights)
        (Path(tmp) / "mnist.net").write_text(SOURCE)
        net = netlang.load(Path(tmp) / "mnist.net")
    reference = numpy_reference(**weights)
    others = [("onnxruntime", onnxruntime_session(weights)), ("PyTorch (CPU)", torch_model(weights))]

    big = 2000 if args.quick else 10_000
    for batch, repeats, number, target in (
        (big, 5 if args.quick else 15, 1, "netlang <= 1.0x numpy"),
        (1, 5 if args.quick else 15, 200 if args.quick else 2000, "netlang <= 1.0x numpy"),
    ):
        X = rng.random((batch, 784))
        expected = reference(X)
        assert np.allclose(net(X), expected, rtol=1e-12, atol=1e-12), "netlang disagrees with numpy"
        candidates = [("numpy, hand-written", reference), ("netlang net(X)", net)]
        for name, function in others:
            if function is not None:
                assert np.allclose(function(X), expected, rtol=1e-9, atol=1e-9), f"{name} disagrees with numpy"
            candidates.append((name, function))
        present = [(name, f) for name, f in candidates if f is not None]
        with GcPaused():
            times = interleaved([lambda f=f: f(X) for _, f in present], repeats, number)
        by_name = dict(zip([name for name, _ in present], times))
        report(
            f"784-100-10 sigmoid, float64, batch {batch}",
            [(name, by_name.get(name)) for name, _ in candidates],
            by_name["numpy, hand-written"],
            target,
        )


if __name__ == "__main__":
    main()
