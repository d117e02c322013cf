"""Shared helpers for the benchmarks: medians of repeated timings and ratio tables."""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

# Run from a source checkout without installing: `python benchmarks/NAME.py`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def arguments(description: str, more: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes: a smoke run")
    if more is not None:
        more(parser)  # a script's own options
    return parser.parse_args()


def netlist(lines: int, weight: float = 0.5) -> str:
    """``lines`` lines: 8 inputs, nodes reading two of the inputs and the node before, one output
    (the document that lsp.py edits and parse.py parses)."""
    body = ["input " + ", ".join(f"x{i}" for i in range(8))]
    body.append(f"node n0 = step({weight}*x0 + x1 > 0.5)")
    for i in range(1, lines - 2):
        body.append(f"node n{i} = sigmoid({weight}*x{i % 8} - 0.25*x{(i + 3) % 8} + 0.1*n{i - 1})")
    body.append(f"output n{lines - 3}")
    return "\n".join(body) + "\n"


def median_time(function: Callable[[], object], repeats: int, number: int = 1, warmup: int = 1) -> float:
    """Median wall time of ``number`` calls of ``function`` (seconds per call), over ``repeats`` runs."""
    for _ in range(warmup):
        function()
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def interleaved(functions: Sequence[Callable[[], object]], repeats: int, number: int = 1) -> List[float]:
    """Median times of several functions, timed in turn so that machine noise hits them alike."""
    for function in functions:
        function()
    samples: List[List[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for i, function in enumerate(functions):
            start = time.perf_counter()
            for _ in range(number):
                function()
            samples[i].append((time.perf_counter() - start) / number)
    return [statistics.median(s) for s in samples]


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def report(title: str, rows: Sequence[Tuple[str, Optional[float]]], baseline: float, target: Optional[str] = None) -> None:
    """Print a table of median times and ratios to ``baseline`` (the first row, usually)."""
    print(f"\n{title}")
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        if seconds is None:
            print(f"  {name:<{width}}  (not installed)")
        else:
            print(f"  {name:<{width}}  {fmt_time(seconds):>10}  {seconds / baseline:6.2f}x")
    if target:
        print(f"  target: {target}")


def machine_note() -> None:
    import numpy as np

    blas = ""
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            blas = f", BLAS {info[0].get('internal_api')} {info[0].get('architecture')} x{info[0].get('num_threads')}"
    except ImportError:
        pass
    core = os.environ.get("OPENBLAS_CORETYPE")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores{blas}"
        + (f", OPENBLAS_CORETYPE={core}" if core else "")
    )
    print("medians of repeated runs; ratios are against a baseline measured in the same run")


class GcPaused:
    """Collect once, then keep the collector out of the timed code (as timeit does)."""

    def __enter__(self) -> None:
        gc.collect()
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            gc.enable()
