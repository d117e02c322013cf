"""Data stage: `netlang run FILE --input DATA`, streamed in blocks, results as CSV, .npy or JSON."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import netlang
from netlang import csvnumbers, data
from conftest import EXAMPLES

SOURCE = "input a, v[2]\nlayer h = sigmoid([[1, -2], [0.5, 1]] @ v + a)\nnode y = step(h[0] + h[1] > 1)\noutput y, h\n"


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "n.net"
    path.write_text(SOURCE)
    return path


def _reference(X: np.ndarray) -> np.ndarray:
    """The network in SOURCE, by hand."""
    h = 1 / (1 + np.exp(-(X[:, 1:] @ np.array([[1, -2], [0.5, 1]]).T + X[:, :1])))
    y = (h.sum(axis=1) > 1).astype(float)
    return np.column_stack([y, h])


def _csv(path: Path, rows: np.ndarray, header: str | None) -> None:
    lines = ([header] if header else []) + [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def _read_csv_output(text: str) -> tuple[list[str], np.ndarray]:
    header, *lines = text.strip().split("\n")
    return header.split(","), np.array([[float(v) for v in line.split(",")] for line in lines])


X = np.random.default_rng(1).normal(size=(25, 3))


def test_csv_with_header_in_any_column_order(cli, net_file, tmp_path):
    _csv(tmp_path / "d.csv", X[:, [2, 0, 1]], "v[1],a,v[0]")
    result = cli("run", str(net_file), "--input", str(tmp_path / "d.csv"))
    assert result.exit_code == 0, result.output
    columns, values = _read_csv_output(result.stdout)
    assert columns == ["y", "h[0]", "h[1]"]
    np.testing.assert_allclose(values, _reference(X), rtol=1e-13)


def test_csv_without_header_is_in_input_order(cli, net_file, tmp_path):
    _csv(tmp_path / "d.csv", X, None)
    result = cli("run", str(net_file), "--input", str(tmp_path / "d.csv"))
    np.testing.assert_allclose(_read_csv_output(result.stdout)[1], _reference(X), rtol=1e-13)


def test_stdin_with_quotes_crlf_bom_blank_and_comment_lines(cli, net_file):
    text = '\ufeff"a", "v[0]" ,v[1]\r\n# a comment\r\n\r\n1, 2, 3\r\n"0.5",-1,0\r\n'
    result = cli("run", str(net_file), "--input", "-", input=text)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(_read_csv_output(result.stdout)[1], _reference(np.array([[1, 2, 3], [0.5, -1, 0]])))


def test_a_first_row_with_a_typo_is_data_not_a_header(cli, net_file):
    result = cli("run", str(net_file), "--input", "-", input="1,2,3\n1,2x,3\n")
    assert result.exit_code == 1
    assert "<stdin>:2:3: error: '2x' in column v[0] is not a number" in result.stderr
    result = cli("run", str(net_file), "--input", "-", input="1,2x,3\n")
    assert "<stdin>:1:3: error: '2x' in column v[0] is not a number" in result.stderr


def test_bad_cells_name_file_line_and_column(cli, net_file, tmp_path):
    (tmp_path / "d.csv").write_text("v[0],a,v[1]\n1,2,3\n1,,3\n4,5\n1,2,nan\n")
    result = cli("run", str(net_file), "--input", str(tmp_path / "d.csv"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'd.csv'}:3:3: error: the value for a is missing" in result.stderr
    assert ":4:1: error: line 4 has 2 values, but the network takes 3 (v[0], a, v[1])" in result.stderr
    assert ":5:5: error: 'nan' in column v[1] is not a finite float64 number" in result.stderr
    assert "3 errors" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_duplicate_and_missing_header_names(cli, net_file):
    result = cli("run", str(net_file), "--input", "-", input="aa,v[0],v[0]\n1,2,3\n")
    assert result.exit_code == 1
    assert "<stdin>:1:1: error: the header names 'aa', which is not an input" in result.stderr
    assert "hint: did you mean 'a'?" in result.stderr
    assert "<stdin>:1:9: error: column 'v[0]' appears twice in the header" in result.stderr
    result = cli("run", str(net_file), "--input", "-", input="a,v[1]\n1,2\n")
    assert "the header has no column for v[0]" in result.stderr


def test_float32_overflow_is_a_located_error(cli, net_file):
    result = cli("run", str(net_file), "--input", "-", "--dtype", "float32", input="1,1e300,0\n")
    assert result.exit_code == 1 and "'1e300' in column v[0] is not a finite float32 number" in result.stderr


def test_npy_input_and_every_output_format(cli, net_file, tmp_path):
    np.save(tmp_path / "d.npy", X)
    expected = _reference(X)
    result = cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--output", str(tmp_path / "o.npy"))
    assert result.exit_code == 0 and result.stdout == ""
    np.testing.assert_allclose(np.load(tmp_path / "o.npy", allow_pickle=False), expected, rtol=1e-13)
    cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--output", str(tmp_path / "o.json"))
    records = json.loads((tmp_path / "o.json").read_text())
    assert len(records) == len(X) and set(records[0]) == {"y", "h"}
    np.testing.assert_allclose([[r["y"], *r["h"]] for r in records], expected, rtol=1e-13)
    cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--output", str(tmp_path / "o.csv"))
    np.testing.assert_allclose(_read_csv_output((tmp_path / "o.csv").read_text())[1], expected, rtol=1e-13)
    result = cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--json")
    assert json.loads(result.stdout)[0]["h"] == pytest.approx(expected[0, 1:].tolist())


def test_float32_results(cli, net_file, tmp_path):
    np.save(tmp_path / "d.npy", X)
    cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--output", str(tmp_path / "o.npy"), "--dtype", "float32")
    out = np.load(tmp_path / "o.npy")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(X), rtol=1e-5)
    text = cli("run", str(net_file), "--input", str(tmp_path / "d.npy"), "--dtype", "float32").stdout
    first = text.split("\n")[1].split(",")[1]
    assert first == str(np.float32(out[0, 1]))  # float32's own shortest digits


def test_empty_data_gives_an_empty_result(cli, net_file, tmp_path):
    assert cli("run", str(net_file), "--input", "-", input="a,v[0],v[1]\n").stdout == "y,h[0],h[1]\n"
    cli("run", str(net_file), "--input", "-", "--output", str(tmp_path / "o.npy"), input="")
    assert np.load(tmp_path / "o.npy").shape == (0, 3)
    cli("run", str(net_file), "--input", "-", "--output", str(tmp_path / "o.json"), input="")
    assert json.loads((tmp_path / "o.json").read_text()) == []


@pytest.mark.parametrize("json_output", [False, True])
def test_bad_first_block_writes_nothing_to_stdout(cli, net_file, json_output):
    result = cli("run", str(net_file), "--input", "-", *(["--json"] if json_output else []), input="a,v[0],v[1]\n1,2,x\n")
    assert result.exit_code == 1 and "'x' in column v[1] is not a number" in result.stderr
    assert result.stdout == ""


def test_bad_npy_inputs(cli, net_file, tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((2, 4)))
    result = cli("run", str(net_file), "--input", str(tmp_path / "wide.npy"))
    assert result.exit_code == 1 and "shape (2, 4)" in result.stderr and "(samples, 3)" in result.stderr
    np.save(tmp_path / "obj.npy", np.array([[None, 1, 2]], dtype=object), allow_pickle=True)
    result = cli("run", str(net_file), "--input", str(tmp_path / "obj.npy"))
    assert result.exit_code == 1 and "never loads pickles" in result.stderr
    np.save(tmp_path / "cut.npy", np.zeros((100, 3)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:500])
    result = cli("run", str(net_file), "--input", str(tmp_path / "cut.npy"))
    assert result.exit_code == 1 and "truncated" in result.stderr
    np.save(tmp_path / "nan.npy", np.array([[0, 1, 2], [0, np.nan, 1]]))
    result = cli("run", str(net_file), "--input", str(tmp_path / "nan.npy"))
    assert result.exit_code == 1 and "row 1 (from 0), column v[0], is nan" in result.stderr


def test_a_failed_run_leaves_no_half_written_output(cli, net_file, tmp_path):
    result = cli("run", str(net_file), "--input", "-", "--output", str(tmp_path / "o.npy"), input="1,2,3\n1,2\n")
    assert result.exit_code == 1 and not (tmp_path / "o.npy").exists()


def test_usage_errors(cli, net_file, tmp_path):
    both = cli("run", str(net_file), "--x", "1", "2", "3", "--input", "-", input="1,2,3\n")
    assert both.exit_code == 2 and "either --x (one sample) or --input" in both.stderr
    suffix = cli("run", str(net_file), "--input", "-", "--output", str(tmp_path / "o.txt"), input="1,2,3\n")
    assert suffix.exit_code == 2 and "'--output'" in suffix.stderr and "o.txt" in suffix.stderr
    alone = cli("run", str(net_file), "--output", str(tmp_path / "o.csv"))
    assert alone.exit_code == 2 and "--output needs --input" in alone.stderr
    dtype = cli("run", str(net_file), "--input", "-", "--dtype", "float16")
    assert dtype.exit_code == 2 and "float16" in dtype.stderr
    missing = cli("run", str(net_file), "--input", str(tmp_path / "absent.csv"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_run_x_is_unchanged(cli):
    assert cli("run", str(EXAMPLES / "xor.net"), "--x", "1", "0").stdout == "y = 1\n"
    exact = 1 / (1 + np.exp(-0.3))
    float32 = float(cli("run", str(EXAMPLES / "sigmoid.net"), "--x", "1", "1", "--dtype", "float32").stdout.split(" = ")[1])
    assert float32 == pytest.approx(exact, rel=1e-7) and float32 != exact
    assert len(str(float32)) <= 10  # float32's own digits, not the float64 expansion of a float32


def test_no_progress_bar_when_stderr_is_not_a_terminal(cli, net_file):
    text = "\n".join("1,2,3" for _ in range(5000)) + "\n"
    result = cli("run", str(net_file), "--input", "-", input=text)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 5001


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_only_once_the_work_is_long():
    now = [0.0]
    stream = _Terminal()
    progress = data.Progress(stream, total=1000, delay=1.0, clock=lambda: now[0])
    progress.update(100, 10)
    assert stream.getvalue() == ""  # quick work shows nothing
    now[0] = 1.5
    progress.update(500, 50)
    assert "50%" in stream.getvalue() and "50 rows" in stream.getvalue()
    progress.finish()
    assert stream.getvalue().endswith("\r\033[K")  # the line is cleared at the end


class _CountingNetwork:
    """Wraps a network and records the size of every block it is given."""

    def __init__(self, network: netlang.Network) -> None:
        self.network = network
        self.blocks: list[int] = []

    def __getattr__(self, name: str):
        return getattr(self.network, name)

    def __call__(self, X, dtype=np.float64):
        self.blocks.append(len(X))
        return self.network(X, dtype=dtype)


def test_csv_is_read_and_evaluated_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BLOCK_VALUES", 300)  # 100 rows of 3 inputs
    monkeypatch.setattr(csvnumbers, "BLOCK_VALUES", 300)
    monkeypatch.setattr(csvnumbers, "READ_CHARS", 4096)
    network = _CountingNetwork(netlang.compile(SOURCE))
    rows = np.random.default_rng(2).normal(size=(2500, 3))
    _csv(tmp_path / "d.csv", rows, "a,v[0],v[1]")
    out = io.StringIO()
    count = data.run_batch(network, data.open_source(str(tmp_path / "d.csv"), network), data.CsvSink(out, network.output_columns))
    assert count == 2500 and sum(network.blocks) == 2500
    assert len(network.blocks) >= 25 and max(network.blocks) <= 100
    np.testing.assert_allclose(_read_csv_output(out.getvalue())[1], _reference(rows), rtol=1e-13)


def test_memory_stays_bounded_whatever_the_input_size(tmp_path, monkeypatch):
    """A CSV 75 times the size of one block streams through with a peak far below the file's size."""
    monkeypatch.setattr(data, "BLOCK_VALUES", 3 * 2000)
    monkeypatch.setattr(csvnumbers, "BLOCK_VALUES", 3 * 2000)
    monkeypatch.setattr(csvnumbers, "READ_CHARS", 1 << 15)
    network = netlang.compile(SOURCE)
    block = ",".join(["0.123456789"] * 3) + "\n"
    path = tmp_path / "big.csv"
    with open(path, "w") as stream:
        for _ in range(15):
            stream.write(block * 10_000)  # 150 000 rows, about 5 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with open(tmp_path / "out.npy", "wb") as target:
            source = data.open_source(str(path), network)
            count = data.run_batch(network, source, data.NpySink(target, network.output_width, np.float64))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 150_000
    assert peak < size / 8, (peak, size)
    assert np.load(tmp_path / "out.npy", mmap_mode="r").shape == (150_000, 3)


def test_a_line_too_long_to_be_a_row_is_refused_without_buffering_it(cli, net_file):
    result = cli("run", str(net_file), "--input", "-", input="1,2,3\n" + "1" * 200_000)
    assert result.exit_code == 1 and "<stdin>:2:1: error: line 2 is longer than 65536 characters" in result.stderr


def test_wrong_width_everywhere_is_caught_even_when_numpy_reads_it(cli, net_file):
    result = cli("run", str(net_file), "--input", "-", input="1,2\n3,4\n")
    assert result.exit_code == 1 and "line 1 has 2 values, but the network takes 3 (a, v[0], v[1])" in result.stderr


def test_an_output_that_cannot_be_written_is_a_file_error(cli, net_file, tmp_path):
    result = cli("run", str(net_file), "--input", "-", "--output", str(tmp_path / "no" / "o.csv"), input="1,2,3\n")
    assert result.exit_code == 1 and "o.csv" in result.stderr and "Traceback" not in result.output


def test_a_one_dimensional_npy_feeds_a_one_input_network(cli, tmp_path):
    (tmp_path / "n.net").write_text("input x\nnode y = step(x > 0.5)\n")
    np.save(tmp_path / "d.npy", np.array([0.2, 0.7, 0.5, 0.9], dtype=np.float32))
    assert cli("run", str(tmp_path / "n.net"), "--input", str(tmp_path / "d.npy")).stdout == "y\n0\n1\n0\n1\n"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.tuples(*[st.floats(allow_nan=False, allow_infinity=False, width=64)] * 3), min_size=0, max_size=30
    ),
    order=st.permutations([0, 1, 2]),
    quoted=st.booleans(),
    spaces=st.sampled_from(["", " ", "\t"]),
    rows=st.integers(1, 7),
)
def test_csv_round_trip(values, order, quoted, spaces, rows):
    """Whatever the column order, quoting and spacing, the block reader gives back the exact numbers."""
    columns = ("a", "v[0]", "v[1]")
    quote = '"' if quoted else ""
    header = ",".join(f"{spaces}{quote}{columns[i]}{quote}" for i in order)
    lines = [",".join(f"{spaces}{quote}{row[i]!r}{quote}{spaces}" for i in order) for row in values]
    source = data.CsvSource(io.StringIO("\n".join([header, *lines]) + "\n"), "t.csv", columns, rows=rows)
    blocks = list(source)
    assert all(len(block) <= rows for block in blocks)
    got = np.concatenate(blocks) if blocks else np.empty((0, 3))
    assert got.tolist() == [list(row) for row in values]


def test_a_glob_pattern_runs_its_files_in_order_on_this_computer(cli, net_file, tmp_path):
    """`--input 'parts/*'` without --scheduler: the files a pattern matches, sorted, one after
    another (CSV with and without a header, .npy), as one output; a pattern matching nothing
    is a located error, and a bad file stops the run with its own location."""
    parts = tmp_path / "parts"
    parts.mkdir()
    _csv(parts / "a.csv", X[:10], "a,v[0],v[1]")
    np.save(parts / "b.npy", X[10:17])
    _csv(parts / "c.csv", X[17:], None)
    expected = _reference(X)
    result = cli("run", str(net_file), "--input", str(parts / "*"), "--output", str(tmp_path / "o.npy"))
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "o.npy", allow_pickle=False), expected, rtol=1e-13)
    header, rows = _read_csv_output(cli("run", str(net_file), "--input", str(parts / "?.csv")).stdout)
    assert header == ["y", "h[0]", "h[1]"]
    np.testing.assert_allclose(rows, np.concatenate([expected[:10], expected[17:]]), rtol=1e-13)
    result = cli("run", str(net_file), "--input", str(parts / "*.parquet"))
    assert result.exit_code == 1 and "no data file matches" in result.output
    result = cli("run", str(net_file), "--input", str(parts / "*.csv"), "--output", str(parts / "c.csv"))
    assert result.exit_code == 1 and "output-is-input" not in result.output and "destroy the data" in result.output
    (parts / "d.csv").write_text("1,2\n")
    result = cli("run", str(net_file), "--input", str(parts / "*.csv"))
    assert result.exit_code == 1 and "d.csv:1" in result.output, result.output
