"""A large CSV through a Dask cluster of 2 workers against the local streaming run, as a ratio.

The data (1 GB by default; ``--size MB``) is generated in a temporary directory: rows of 16
inputs for a 16-32-4 sigmoid network. Both runs write their CSV results to /dev/null, as
``netlang run FILE --input data.csv > /dev/null`` does:

- local: data.py's streaming run (CsvSource -> network -> CsvSink), one process;
- cluster: ``netlang.cluster.run`` on a distributed.LocalCluster of 2 worker processes (one
  thread each), the file cut into 64 MB byte ranges, the results gathered in order.

The ratio is cluster time / local time: below 1 the cluster is faster. Startup of the cluster
is timed apart (a real cluster is started once for many runs). On a machine with 2 cores the
best possible is about 0.5x, and less while other work shares the cores.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This file is named dask.py: its folder must not stay on the path, or `import dask` finds this
# file instead of Dask (also in the worker processes, which import this file again).
HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if entry != "" and Path(entry).resolve() != Path(HERE)]
sys.path.insert(0, HERE)
from _common import arguments, fmt_time, machine_note, report  # noqa: E402

sys.path.remove(HERE)

SOURCE = """\
input x[16]
layer h[32] = sigmoid(load("w.npz", "W1") @ x + load("w.npz", "b1"))
layer y[4] = sigmoid(load("w.npz", "W2") @ h + load("w.npz", "b2"))
output y
"""


def make_data(path: Path, megabytes: float) -> int:
    """A CSV of about ``megabytes`` MB (a header and rows of 16 numbers); the number of rows."""
    rng = np.random.default_rng(0)
    target = int(megabytes * 1e6)
    rows = 0
    with open(path, "w") as out:
        out.write(",".join(f"x[{i}]" for i in range(16)) + "\n")
        while out.tell() < target:
            block = np.round(rng.normal(size=(20_000, 16)), 6)
            out.write("\n".join(",".join(map(repr, row)) for row in block.tolist()) + "\n")
            rows += len(block)
    return rows


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        lambda parser: parser.add_argument("--size", type=float, default=1000, help="MB of CSV to generate (default 1000)"),
    )
    size = 50 if args.quick else args.size
    machine_note()
    try:
        import distributed
    except ImportError:
        print("\nnot run: Dask is not installed (pip install 'netlang[dask]')")
        return
    import netlang
    from netlang import cluster, data

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(1)
        np.savez(folder / "w.npz", W1=rng.normal(0, 0.25, (32, 16)), b1=rng.normal(0, 0.1, 32), W2=rng.normal(0, 0.2, (4, 32)), b2=np.zeros(4))
        (folder / "net.net").write_text(SOURCE)
        net = netlang.load(folder / "net.net")
        started = time.perf_counter()
        rows = make_data(folder / "data.csv", size)
        megabytes = os.path.getsize(folder / "data.csv") / 1e6
        print(f"\n{megabytes:.0f} MB of CSV, {rows:,} rows, generated in {time.perf_counter() - started:.0f} s")

        with open(os.devnull, "w") as null:
            started = time.perf_counter()
            source = data.open_source(str(folder / "data.csv"), net)
            data.run_batch(net, source, data.sink_for("csv", null, net, np.float64))
            local = time.perf_counter() - started

            started = time.perf_counter()
            with distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
            ) as local_cluster:
                with distributed.Client(local_cluster) as client:
                    startup = time.perf_counter() - started
                    started = time.perf_counter()
                    counted = cluster.run(net, [str(folder / "data.csv")], client, data.sink_for("csv", null, net, np.float64))
                    remote = time.perf_counter() - started
        assert counted == rows
    report(
        f"{megabytes:.0f} MB of CSV through a 16-32-4 sigmoid network, results as CSV to /dev/null",
        [("local streaming run", local), ("Dask, 2 worker processes", remote)],
        local,
        "below 1.0x (2 workers; about 0.5x at best on 2 cores)",
    )
    print(f"  (cluster start-up, not counted: {fmt_time(startup)}; the file cut into byte ranges of 1-64 MB, a few per worker)")


if __name__ == "__main__":
    main()
