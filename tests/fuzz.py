"""Fuzz netlang for as long as asked; every crash found is saved as a regression test.

    python tests/fuzz.py --minutes 10            # mutations of the examples, and generated programs
    python tests/fuzz.py --minutes 1 --seed 7    # reproducible
    python tests/fuzz.py --minutes 5 --cli       # also through the command line (slower)
    python tests/fuzz.py --minutes 5 --lsp       # also through the language server's analysis

A crash is any exception other than a NetlangError with a valid location (or a
disagreement between the compiled network and the interpreter). Each is written to
tests/fuzz_regressions/crash-HASH.net, which tests/test_fuzz.py replays: fix the code,
keep the file.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzzing import REGRESSIONS, compare_with_interpreter, exercise, exercise_cli, exercise_lsp, mutate, seeds  # noqa: E402
from fuzzing import programs  # noqa: E402


def save(data: bytes, report: str) -> Path:
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"crash-{hashlib.sha256(data).hexdigest()[:12]}.net"
    if not path.exists():
        path.write_bytes(data)
        print(f"\ncrash saved to {path}\n{report}", file=sys.stderr)
    return path


def fuzz_mutations(deadline: float, rng: random.Random, cli: bool, lsp: bool = False) -> tuple[int, int]:
    runs = crashes = 0
    corpus = seeds() + [p.read_bytes() for p in sorted(REGRESSIONS.glob("*.net"))]
    with tempfile.TemporaryDirectory() as directory:
        while time.monotonic() < deadline:
            data = mutate(rng.choice(corpus), rng)
            report = exercise(data, Path(directory))
            if report is None and cli and runs % 10 == 0:
                report = exercise_cli(data, Path(directory))
            if report is None and lsp and runs % 10 == 5:
                report = exercise_lsp(data, Path(directory))
            runs += 1
            if runs % 2000 == 0:
                print(f"{runs} mutated files, {crashes} crashes", flush=True)
            if report is not None:
                crashes += 1
                save(data, report)
            elif rng.random() < 0.05:
                corpus.append(data)  # mutations of mutations reach further
    return runs, crashes


def fuzz_programs(seconds: float, seed: int) -> int:
    count = 0

    # Rounds of 100 examples, until the time is up (an example past the deadline returns at once).
    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(source=programs(), sample_seed=st.integers(0, 2**32 - 1))
    def check(source: str, sample_seed: int) -> None:
        nonlocal count
        if time.monotonic() > stop:
            return
        count += 1
        import netlang

        width = netlang.compile(source).input_width
        rng = np.random.default_rng(sample_seed)
        try:
            compare_with_interpreter(source, rng.uniform(-3, 3, size=(8, width)))
        except AssertionError as error:
            save(source.encode(), f"compiled network and interpreter disagree:\n{error}")
            raise

    stop = time.monotonic() + seconds
    try:
        while time.monotonic() < stop:
            check()
    except AssertionError:
        pass
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a reproducible run")
    parser.add_argument("--cli", action="store_true", help="also run every tenth mutation through the CLI")
    parser.add_argument("--lsp", action="store_true", help="also ask the language server's analysis about every tenth")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    warnings.simplefilter("error", RuntimeWarning)  # a numpy warning on user input is a finding too
    total = args.minutes * 60
    print(f"fuzzing for {args.minutes} minutes, seed {seed}", flush=True)
    runs, crashes = fuzz_mutations(time.monotonic() + total * 0.7, rng, args.cli, args.lsp)
    generated = fuzz_programs(total * 0.3, seed)
    print(f"{runs} mutated files, {generated} generated programs; {crashes} crashes")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
