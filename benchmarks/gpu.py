"""One GPU: the 784-100-10 sigmoid network at batch 1,000,000 in float32, netlang vs PyTorch.

netlang's ``net(X)`` on a CUDA tensor (the array API path, netlang/arrays.py: the weights are
copied to the GPU once, the batch never leaves it) against the same computation written
directly in PyTorch on the GPU (``sigmoid(addmm(b2, sigmoid(addmm(b1, X, W1.T)), W2.T))``);
target: at most 1.1x. Then the largest batch that fits on the GPU, for both (doubling from
1,000,000 until the GPU runs out of memory).

Needs an NVIDIA GPU and a CUDA build of PyTorch. Where either is missing it says what it could
not run and why, then runs the same comparison with PyTorch on the CPU at a smaller batch, so
that the script itself is exercised (those figures are not the GPU target's).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, List, Optional

import numpy as np

from _common import arguments, fmt_time, machine_note, report
from mnist import SOURCE


def weights() -> dict:
    rng = np.random.default_rng(0)
    return {
        "W1": rng.normal(0, 784**-0.5, (100, 784)),
        "b1": rng.normal(0, 0.1, 100),
        "W2": rng.normal(0, 0.1, (10, 100)),
        "b2": rng.normal(0, 0.1, 10),
    }


def direct(torch: Any, W: dict, device: Any) -> Callable:
    """The network written directly in PyTorch, float32, on ``device``."""
    W1, b1, W2, b2 = (torch.from_numpy(W[k]).to(device=device, dtype=torch.float32) for k in ("W1", "b1", "W2", "b2"))

    def run(X: Any) -> Any:
        return torch.sigmoid(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, X, W1.T)), W2.T))

    return run


def timed(torch: Any, device: Any, function: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``function``, synchronising the GPU around each call."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times: List[float] = []
    function()
    sync()
    import time

    for _ in range(repeats):
        start = time.perf_counter()
        function()
        sync()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def largest_batch(torch: Any, device: Any, function: Callable[[Any], object], start: int) -> Optional[int]:
    """The largest batch (doubling from ``start``) that ``function`` runs without running out of memory."""
    batch, fits = start, None
    while batch <= 1 << 31:
        try:
            X = torch.rand((batch, 784), device=device, dtype=torch.float32)
            function(X)
            torch.cuda.synchronize()
            fits = batch
            del X
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
        batch *= 2
    return fits


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    machine_note()
    try:
        import torch
    except ImportError:
        print("\nnot run: PyTorch is not installed (pip install torch==2.13.0 for the CPU build; a CUDA build for a GPU)")
        return
    import netlang

    W = weights()
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "mnist.npz", **W)
        (Path(tmp) / "mnist.net").write_text(SOURCE)
        net = netlang.load(Path(tmp) / "mnist.net")

    if torch.cuda.is_available():
        device = torch.device("cuda")
        batch = 100_000 if args.quick else 1_000_000
        print(f"GPU: {torch.cuda.get_device_name(device)}, PyTorch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        why = "PyTorch is built without CUDA" if torch.version.cuda is None else "PyTorch finds no CUDA device"
        print(f"\nnot run on a GPU: {why} (PyTorch {torch.__version__}); the GPU target and the largest batch need an NVIDIA GPU")
        device = torch.device("cpu")
        batch = 20_000 if args.quick else 100_000
        print(f"instead: the same comparison on the CPU at batch {batch} (not the GPU target)")

    reference = direct(torch, W, device)
    X = torch.rand((batch, 784), device=device, dtype=torch.float32)
    with torch.inference_mode():
        ours, theirs = net(X), reference(X)
        assert ours.device == X.device and ours.dtype == torch.float32, "netlang left the device or the dtype"
        assert torch.allclose(ours, theirs, atol=1e-5), "netlang disagrees with PyTorch"
        repeats = 5 if args.quick else 15
        base = timed(torch, device, lambda: reference(X), repeats)
        mine = timed(torch, device, lambda: net(X), repeats)
    report(
        f"784-100-10 sigmoid, float32, batch {batch:,} on {device}",
        [("PyTorch, written directly", base), ("netlang net(X)", mine)],
        base,
        "netlang <= 1.1x PyTorch (on the GPU, batch 1,000,000)",
    )
    if device.type != "cuda":
        print("\nnot run: the largest batch that fits on the GPU (no GPU here)")
        return
    del X
    torch.cuda.empty_cache()
    with torch.inference_mode():
        for name, function in (("PyTorch, written directly", reference), ("netlang net(X)", net)):
            fits = largest_batch(torch, device, function, batch)
            print(f"  largest batch that fits, {name}: {fits:,}" if fits else f"  {name}: not even {batch:,} fits")
    print(f"  (one batch of 1,000,000 took {fmt_time(mine)} in netlang)")


if __name__ == "__main__":
    main()
