"""netlang on a real Dask cluster (netlang/cluster.py): a distributed.LocalCluster of 2 worker processes.

Results must equal a local run row for row (files cut into many byte ranges), survive a worker
killed during the run, and report a bad row with the file, line and column a local run gives.
"""

from __future__ import annotations

import io
import os
import signal

import numpy as np
import pytest

import netlang
from netlang import cluster, data

distributed = pytest.importorskip("distributed", reason="dask is not installed (pip install 'netlang[dask]')")

SOURCE = """\
input x1, x2
input v[2]
layer h[3] = tanh([[1, -2], [0.5, 0.25], [-1, 1]] @ v + [0.1, 0, -0.3])
node y = sigmoid(x1 - 2*x2 + h[0])
node z = step(h[1] + h[2] > 0)
output y, z, h
"""


@pytest.fixture(scope="module")
def client():
    # Two small worker processes, one thread each: this machine has 2 cores.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB"
    ) as local, distributed.Client(local) as connection:
        yield connection


@pytest.fixture
def net():
    return netlang.compile(SOURCE)


def _write_files(tmp_path, net, sizes, seed=0):
    """CSV files written as people write them: headers in other orders, comments, blank lines, \\r\\n."""
    rng = np.random.default_rng(seed)
    paths = []
    for k, size in enumerate(sizes):
        X = rng.normal(size=(size, net.input_width))
        columns = list(net.input_columns)
        order = rng.permutation(len(columns)) if k % 2 else np.arange(len(columns))
        lines = ["# made for the cluster test", ",".join(columns[i] for i in order)]
        for n, row in enumerate(X.tolist()):
            cells = [repr(row[i]) for i in order]
            if n % 97 == 5:
                cells[0] = f' "{cells[0]}" '
            lines.append(",".join(cells))
            if n % 113 == 7:
                lines.append("")
        end = "\r\n" if k == 1 else "\n"
        path = tmp_path / f"part{k:02d}.csv"
        path.write_bytes((end.join(lines) + end).encode())
        paths.append(str(path))
    return paths


def _local(net, paths, kind="csv"):
    """What a local run prints for the files in order (one header)."""
    out = io.StringIO()
    sink = data.sink_for(kind, out, net, np.float64)
    for path in paths:
        source = data.open_source(path, net)
        for block in source:
            sink.write(net(block))
        source.close()
    sink.close()
    return out.getvalue()


def test_results_equal_a_local_run_row_for_row(client, net, tmp_path):
    paths = _write_files(tmp_path, net, [700, 1, 0, 1300, 250])
    for size in (997, 1 << 20):  # many ranges cut mid-line, and one range per file
        out = io.StringIO()
        rows = cluster.run(net, paths, client, data.sink_for("csv", out, net, np.float64), size=size)
        assert rows == 700 + 1 + 1300 + 250
        assert out.getvalue() == _local(net, paths)
    assert len(cluster.partitions(paths, 997)) > 20


def test_the_network_is_sent_once(client, net, tmp_path, monkeypatch):
    paths = _write_files(tmp_path, net, [400, 400])
    scattered = []
    original = client.scatter

    def counting(value, **kwargs):
        scattered.append((type(value).__name__, kwargs.get("broadcast"), kwargs.get("hash")))
        return original(value, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    cluster.run(net, paths, client, data.sink_for("csv", io.StringIO(), net, np.float64), size=2000)
    assert scattered == [("Network", True, False)]


def test_partitioned_output_one_file_per_partition(client, net, tmp_path):
    paths = _write_files(tmp_path, net, [300, 200])
    out = tmp_path / "out"
    out.mkdir()
    rows = cluster.run_to(net, paths, client, str(out / "part-*.csv"), "csv", size=3000)
    written = sorted(out.iterdir())
    assert rows == 500 and len(written) == len(cluster.partitions(paths, 3000)) > 2
    assert [p.name for p in written][:2] == ["part-00000.csv", "part-00001.csv"]
    bodies = [p.read_text().split("\n", 1) for p in written]
    header = bodies[0][0]
    assert all(h == header for h, _ in bodies)
    assert header + "\n" + "".join(body for _, body in bodies) == _local(net, paths)


def test_a_worker_killed_during_the_run_loses_nothing(client, net, tmp_path):
    paths = _write_files(tmp_path, net, [20_000, 20_000], seed=3)
    pids = client.run(os.getpid)  # worker address -> its process (started by this test's cluster)
    killed = []

    def kill_one(index):
        if index == 0:
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)  # as a crash: no goodbye to the scheduler
            killed.append(victim)

    out = io.StringIO()
    rows = cluster.run(net, paths, client, data.sink_for("csv", out, net, np.float64), size=60_000, on_result=kill_one)
    assert killed and rows == 40_000
    assert out.getvalue() == _local(net, paths)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, under a new address
    assert killed[0] not in client.scheduler_info()["workers"]


def test_a_bad_row_on_a_worker_is_located_as_locally(client, net, tmp_path):
    paths = _write_files(tmp_path, net, [200, 900], seed=4)
    lines = open(paths[1], encoding="utf-8", newline="").read().split("\r\n")
    cells = lines[700].split(",")
    cells[2] = "oops"
    lines[700] = ",".join(cells)
    open(paths[1], "w", encoding="utf-8", newline="").write("\r\n".join(lines))
    with pytest.raises(netlang.NetlangError) as local:
        _local(net, paths)
    with pytest.raises(netlang.NetlangError) as remote:
        cluster.run(net, paths, client, data.sink_for("csv", io.StringIO(), net, np.float64), size=1500)
    assert remote.value.line == 701 and remote.value.filename == paths[1]
    assert remote.value.format() == local.value.format()


def test_the_command_line_on_a_cluster(cli, client, net, tmp_path):
    paths = _write_files(tmp_path, net, [120, 80])
    (tmp_path / "net.net").write_text(SOURCE)
    address = client.scheduler.address
    result = cli("run", str(tmp_path / "net.net"), "--input", str(tmp_path / "part*.csv"), "--scheduler", address)
    assert result.exit_code == 0 and result.output == _local(net, paths)
    out = tmp_path / "results.json"
    result = cli("run", str(tmp_path / "net.net"), "--input", str(tmp_path / "part*.csv"), "--scheduler", address, "--output", str(out))
    assert result.exit_code == 0 and out.read_text() == _local(net, paths, "json")


def test_an_unreachable_scheduler_is_a_usage_error(cli, tmp_path):
    (tmp_path / "net.net").write_text(SOURCE)
    (tmp_path / "d.csv").write_text("1,2,3,4\n")
    result = cli("run", str(tmp_path / "net.net"), "--input", str(tmp_path / "d.csv"), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot reach a Dask scheduler" in result.output


def test_dask_arrays_and_dataframes(client, net):
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    X = np.random.default_rng(5).normal(size=(1000, net.input_width))
    lazy = cluster.evaluate(net, da.from_array(X, chunks=(128, 2)))
    keys = [k for k in dict(lazy.__dask_graph__()) if "Network" in str(k)]
    assert len(keys) == 1  # the network is one key of the graph: sent once
    np.testing.assert_array_equal(lazy.compute(), net(X))
    frame = pd.DataFrame(X[:, ::-1], columns=list(net.input_columns)[::-1])
    frame["id"] = np.arange(len(X))
    result = cluster.evaluate(net, dd.from_pandas(frame, npartitions=7)).compute()
    assert list(result.columns) == list(net.output_columns) and (result.index == frame.index).all()
    np.testing.assert_array_equal(result.to_numpy(), net(X))
    with pytest.raises(netlang.NetlangError, match="no column for x2"):
        cluster.evaluate(net, dd.from_pandas(frame.drop(columns="x2"), npartitions=2))
