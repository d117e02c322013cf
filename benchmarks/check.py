"""`netlang check` on large files: as a fresh process, and `lint.diagnose` in-process.

Files: a 784-100-10 network with its weights written inline (79,400 numbers), the same
network loading its weights from .npy files and from .csv files, the 1,000-line netlist
of benchmarks/lsp.py (``_common.netlist``), examples/mnist (weights from an .npz), examples/books/rashid-100
(params drawn by xavier()), and examples/xor.net (small, no arrays).

Baseline: the same commands run from another source tree given with ``--against DIR``
(for example `git archive main | tar -x -C /tmp/before`), interleaved with this one;
without it, `netlang parse FILE` (reading and parsing alone) as a fresh process and
`parser.parse` in-process, so that the ratio is what checking adds to parsing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from _common import arguments, fmt_time, netlist

ROOT = Path(__file__).resolve().parent.parent

_IN_PROCESS = """
import sys, time, statistics
from netlang.parser import parse
from netlang.lint import diagnose
path, repeats, parse_only = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "parse"
text = open(path).read()
times = []
for _ in range(repeats + 1):
    start = time.perf_counter()
    if parse_only:
        parse(text, path)
    else:
        assert not diagnose(path).errors
    times.append(time.perf_counter() - start)
print(statistics.median(times[1:]))
"""


def dense_files(folder: Path, hidden: int) -> Dict[str, Path]:
    import numpy as np

    rng = np.random.default_rng(1)
    w1 = rng.normal(0, 0.05, (hidden, 784)).round(6)
    w2 = rng.normal(0, 0.3, (10, hidden)).round(6)
    rows = ",\n".join("  [" + ", ".join(repr(float(v)) for v in row) + "]" for row in w1)
    out = ",\n".join("  [" + ", ".join(repr(float(v)) for v in row) + "]" for row in w2)
    inline = folder / "inline.net"
    inline.write_text(
        f"input x[784]\nlet W1 = [\n{rows}\n]\nlet W2 = [\n{out}\n]\n"
        "layer h = sigmoid(W1 @ x)\nlayer y = sigmoid(W2 @ h)\noutput y\n"
    )
    np.save(folder / "W1.npy", w1)
    np.save(folder / "W2.npy", w2)
    np.savetxt(folder / "W1.csv", w1, delimiter=",", fmt="%.6f")
    np.savetxt(folder / "W2.csv", w2, delimiter=",", fmt="%.6f")
    files = {f"784x{hidden} weights inline": inline}
    for suffix in ("npy", "csv"):
        path = folder / f"loaded-{suffix}.net"
        path.write_text(
            f'input x[784]\nlet W1 = load("W1.{suffix}")\nlet W2 = load("W2.{suffix}")\n'
            "layer h = sigmoid(W1 @ x)\nlayer y = sigmoid(W2 @ h)\noutput y\n"
        )
        files[f"784x{hidden} weights from .{suffix}"] = path
    return files


def timed_process(tree: Path, command: List[str], repeats: int) -> List[float]:
    env = dict(os.environ, PYTHONPATH=str(tree), NETLANG_NO_CACHE="1")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([sys.executable] + command, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
    return times


def main() -> None:
    def more(parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--against", type=Path, help="another source tree of netlang, the baseline")

    args = arguments(__doc__ or "", more)
    repeats = 3 if args.quick else 7
    against: Optional[Path] = args.against
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = dense_files(folder, 20 if args.quick else 100)
        big = folder / "netlist.net"
        big.write_text(netlist(1000))
        files["1,000-line netlist"] = big
        files["examples/mnist (.npz)"] = ROOT / "examples/mnist/mnist.net"
        files["examples/books/rashid-100 (drawn)"] = ROOT / "examples/books/rashid-100.net"
        files["examples/xor.net"] = ROOT / "examples/xor.net"
        baseline = "the --against tree" if against else "parse"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of {repeats} interleaved runs; baseline: {baseline}")
        print(f"{'file':<36} {'baseline':>10} {'check':>10} {'ratio':>6}   {'baseline':>10} {'diagnose':>10} {'ratio':>6}")
        print(f"{'':<36} {'(fresh process)':>28}   {'(in-process)':>28}")
        for title, path in files.items():
            slow = "inline" in title
            count = 1 if slow and not args.quick else repeats
            process: List[List[float]] = [[], []]
            inner: List[List[float]] = [[], []]
            for _ in range(count):  # interleaved: machine noise hits both alike
                for i, (tree, command) in enumerate(
                    [(against or ROOT, "check" if against else "parse"), (ROOT, "check")]
                ):
                    process[i] += timed_process(tree, ["-m", "netlang", command, str(path)], 1)
            for i, (tree, what) in enumerate([(against or ROOT, "check" if against else "parse"), (ROOT, "check")]):
                code = ["-c", _IN_PROCESS, str(path), str(1 if slow else repeats), what]
                env = dict(os.environ, PYTHONPATH=str(tree))
                done = subprocess.run([sys.executable] + code, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
                assert done.returncode == 0, done.stderr
                inner[i].append(float(done.stdout))
            p0, p1 = statistics.median(process[0]), statistics.median(process[1])
            i0, i1 = statistics.median(inner[0]), statistics.median(inner[1])
            print(
                f"{title:<36} {fmt_time(p0):>10} {fmt_time(p1):>10} {p1 / p0:6.2f}   {fmt_time(i0):>10} {fmt_time(i1):>10} {i1 / i0:6.2f}"
            )


if __name__ == "__main__":
    main()
