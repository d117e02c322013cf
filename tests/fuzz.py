"""Fuzz netlang for as long as asked; every crash found is saved as a regression test.

    python tests/fuzz.py --minutes 10            # mutations of the examples, and generated programs
    python tests/fuzz.py --minutes 1 --seed 7    # reproducible
    python tests/fuzz.py --minutes 5 --cli       # also through the command line (slower)
    python tests/fuzz.py --minutes 5 --lsp       # also through the language server's analysis

A crash is any exception other than a NetlangError with a valid location (or a
disagreement between the compiled network and the interpreter). Each is written to
tests/fuzz_regressions/crash-HASH.net, which tests/test_fuzz.py replays: fix the code,
keep the file.

A fifth of the time goes to data and weight files (mutated CSV, .npy and .npz files, special
files, hostile names in load(...)), run through `netlang run --input --output` and `netlang
check`: each must end in exit status 0, or 1 with an error naming the file, without a
traceback, an output file left behind, or more than fuzzing.MAX_CASE_MEMORY of memory. A
failing file is saved as tests/fuzz_regressions/file-HASH-ROLE-NAME (ROLE: data or weights).
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
from fuzzing import exercise_file, exercise_load_name, file_seeds, load_name, mutate_file, programs, special_cases  # noqa: E402


def _keep(name: str, data: bytes, report: str, what: str) -> Path:
    """``data`` saved under fuzz_regressions/ as ``name`` (once), for the regression suite to replay."""
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / name
    if not path.exists():
        path.write_bytes(data)
        print(f"\n{what} saved to {path}\n{report}", file=sys.stderr)
    return path


def save(data: bytes, report: str) -> Path:
    return _keep(f"crash-{hashlib.sha256(data).hexdigest()[:12]}.net", data, report, "crash")


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


def save_file(role: str, name: str, data: bytes, report: str) -> Path:
    return _keep(f"file-{hashlib.sha256(data).hexdigest()[:12]}-{role}-{name}", data, report, "failure")


def fuzz_files(deadline: float, rng: random.Random) -> tuple[int, int]:
    """Mutated data and weight files, special files and load() names, until ``deadline``."""
    runs = failures = 0
    corpus = file_seeds()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for role, name, data in special_cases():
            report = exercise_file(role, name, data, folder)
            runs += 1
            if report is not None:
                failures += 1
                print(f"\n{role} file {name} (special):\n{report}", file=sys.stderr)
        while time.monotonic() < deadline:
            if rng.random() < 0.1:
                report = exercise_load_name(load_name(rng), folder)
                failures += report is not None
                if report is not None:
                    print(f"\n{report}", file=sys.stderr)
                runs += 1
                continue
            role, name, seed = rng.choice(corpus)
            data = mutate_file(seed, rng)
            report = exercise_file(role, name, data, folder)
            runs += 1
            if report is not None:
                failures += 1
                save_file(role, name, data, report)
            elif rng.random() < 0.05:
                corpus.append((role, name, data))
    return runs, failures


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
    runs, crashes = fuzz_mutations(time.monotonic() + total * 0.5, rng, args.cli, args.lsp)
    file_runs, failures = fuzz_files(time.monotonic() + total * 0.2, rng)
    generated = fuzz_programs(total * 0.3, seed)
    print(f"{runs} mutated files, {file_runs} data and weight files, {generated} generated programs; {crashes + failures} crashes")
    return 1 if crashes or failures else 0


if __name__ == "__main__":
    sys.exit(main())
