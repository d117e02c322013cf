"""Parquet in run --input / --output (netlang/parquet.py): the same results as CSV, row for row."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import netlang
from netlang.parquet import ParquetSink, ParquetSource

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'netlang[parquet]')")
pq = pytest.importorskip("pyarrow.parquet")

SOURCE = """\
input x1, x2
input v[2]
layer h[2] = tanh([[1, -2], [0.5, 0.25]] @ v + [0.1, 0])
node y = sigmoid(x1 - 2*x2 + h[0])
output y, h
"""


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "net.net"
    path.write_text(SOURCE)
    return path


def _table(X: np.ndarray, names, extra: bool = True):
    columns = {name: X[:, i] for i, name in enumerate(names)}
    if extra:
        columns = {"id": np.arange(len(X)), **dict(reversed(list(columns.items())))}  # any order, an extra column
    return pa.table(columns)


def test_parquet_in_and_out_equal_the_csv_run(cli, net_file, tmp_path):
    net = netlang.load(net_file)
    X = np.random.default_rng(0).normal(size=(5000, net.input_width))
    data = tmp_path / "data.parquet"
    pq.write_table(_table(X, net.input_columns), data, row_group_size=700)
    csv = tmp_path / "data.csv"
    csv.write_text(",".join(net.input_columns) + "\n" + "\n".join(",".join(repr(v) for v in row) for row in X.tolist()) + "\n")
    out = tmp_path / "out.parquet"
    assert cli("run", str(net_file), "--input", str(data), "--output", str(out)).exit_code == 0
    table = pq.read_table(out)
    assert table.column_names == list(net.output_columns)
    got = np.column_stack([table.column(name).to_numpy() for name in table.column_names])
    np.testing.assert_array_equal(got, net(X))
    # stdout from Parquet prints exactly what the CSV run prints
    from_parquet = cli("run", str(net_file), "--input", str(data))
    from_csv = cli("run", str(net_file), "--input", str(csv))
    assert from_parquet.exit_code == from_csv.exit_code == 0
    assert from_parquet.output == from_csv.output


def test_float32_output_is_a_float32_column(cli, net_file, tmp_path):
    net = netlang.load(net_file)
    X = np.random.default_rng(1).normal(size=(10, net.input_width))
    data = tmp_path / "data.pq"
    pq.write_table(_table(X, net.input_columns, extra=False), data)
    out = tmp_path / "out.pq"
    assert cli("run", str(net_file), "--input", str(data), "--output", str(out), "--dtype", "float32").exit_code == 0
    table = pq.read_table(out)
    assert table.schema.field("y").type == pa.float32()
    np.testing.assert_allclose(table.column("y").to_numpy(), net(X)[:, 0], atol=1e-6)


def test_sources_read_in_blocks_and_count_rows(tmp_path):
    X = np.arange(30.0).reshape(15, 2)
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"b": X[:, 1], "a": X[:, 0]}), path)
    source = ParquetSource(open(path, "rb"), "d.parquet", ["a", "b"], rows=4)
    blocks = list(source)
    source.close()
    assert [len(b) for b in blocks] == [4, 4, 4, 3] and source.position == source.total == 15
    np.testing.assert_array_equal(np.vstack(blocks), X)


def test_an_empty_result_is_a_valid_file(tmp_path):
    path = tmp_path / "out.parquet"
    with open(path, "wb") as stream:
        ParquetSink(stream, ["y", "h[0]"]).close()
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.column_names == ["y", "h[0]"]


def test_a_missing_column_is_named_with_a_suggestion(cli, net_file, tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x1": [1.0], "x_2": [2.0], "v[0]": [0.0], "v[1]": [0.0]}), path)
    result = cli("run", str(net_file), "--input", str(path))
    assert result.exit_code == 1
    assert "has no column 'x2'" in result.output and "x_2" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "column, expected",
    [
        (pa.array([1.0, None, 3.0]), "row 2 of 'd.parquet', column x2, is empty (null)"),
        (pa.array([1.0, 2.0, np.inf]), "row 3 of 'd.parquet', column x2, is inf"),
        (pa.array(["a", "b", "c"]), "column 'x2' of 'd.parquet' holds string values, not numbers"),
    ],
)
def test_bad_values_name_the_row_and_column(cli, net_file, tmp_path, monkeypatch, column, expected):
    monkeypatch.chdir(tmp_path)
    pq.write_table(pa.table({"x1": [1.0, 2.0, 3.0], "x2": column, "v[0]": [0.0] * 3, "v[1]": [1] * 3}), "d.parquet")
    out = tmp_path / "out.parquet"
    result = cli("run", str(net_file), "--input", "d.parquet", "--output", str(out))
    assert result.exit_code == 1 and expected in result.output, result.output
    assert not out.exists()  # a failed run leaves no output file


def test_a_file_that_is_not_parquet(cli, net_file, tmp_path):
    path = tmp_path / "d.parquet"
    path.write_text("x1,x2\n1,2\n")
    result = cli("run", str(net_file), "--input", str(path))
    assert result.exit_code == 1 and "cannot read" in result.output and "as a Parquet file" in result.output


def test_without_pyarrow_the_message_names_the_extra(cli, net_file, tmp_path, monkeypatch):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x1": [1.0]}), path)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = cli("run", str(net_file), "--input", str(path))
    assert result.exit_code == 1 and "netlang[parquet]" in result.output
