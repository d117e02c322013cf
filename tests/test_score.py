"""Scoring against labels (netlang/scoring.py, netlang/labelled.py, `netlang score`) and the
reader of labelled data that training uses: compared with a plain count over the rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang import data, labelled
from netlang.errors import NetlangError
from netlang.scoring import Score, classes

THREE = """input x[4]
layer h[3] = sigmoid([[0.5, -1, 0.3, 0.2], [-0.4, 0.8, 0.1, -0.6], [0.9, 0.2, -0.7, 0.4]] @ x + [0.1, -0.2, 0.05])
layer y[3] = softmax([[1.2, -0.5, 0.3], [-0.8, 1.1, 0.2], [0.3, 0.4, -1.3]] @ h)
output y
"""


def reference_confusion(outputs, labels, count):
    """One sample at a time, in plain Python: the class is the first largest output (or >= 0.5 for one)."""
    confusion = [[0] * count for _ in range(count)]
    for row, label in zip(outputs.tolist(), labels):
        if len(row) == 1:
            predicted = 1 if row[0] >= 0.5 else 0
        else:
            predicted = row.index(max(row))
        confusion[int(label)][predicted] += 1
    return confusion


def write_csv(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(repr(float(v)) if not float(v).is_integer() else str(int(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.sampled_from(["header-first", "header-last", "no-header"]))
def test_the_score_equals_a_plain_count(tmp_path_factory, seed, samples, layout):
    tmp_path = tmp_path_factory.mktemp("score")
    net = netlang.compile(THREE)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (samples, 4))
    labels = rng.integers(0, 3, samples)
    names = list(net.input_columns)
    if layout == "header-first":
        write_csv(tmp_path / "d.csv", ["label"] + names, np.column_stack([labels, X]))
        column = "label"
    elif layout == "header-last":
        write_csv(tmp_path / "d.csv", names + ["digit"], np.column_stack([X, labels]))
        column = "digit"
    else:
        write_csv(tmp_path / "d.csv", None, np.column_stack([labels, X]))
        column = "0"
    score = labelled.score_file(net, tmp_path / "d.csv", column)
    expected = reference_confusion(net(X), labels, 3)
    assert score.confusion.tolist() == expected
    assert score.total == samples and score.correct == sum(expected[k][k] for k in range(3))
    assert score.accuracy == score.correct / samples


def test_a_single_output_is_class_one_from_one_half():
    outputs = np.array([[0.0], [0.4999], [0.5], [1.0]])
    assert classes(outputs).tolist() == [0, 0, 1, 1]
    assert classes(np.array([[0.2, 0.7, 0.7], [0.9, 0.1, 0.0]])).tolist() == [1, 0]  # ties: the first


def test_score_streams_block_by_block_and_locates_a_bad_label_in_a_later_block(tmp_path, monkeypatch):
    net = netlang.compile(THREE)
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, (500, 4))
    labels = rng.integers(0, 3, 500)
    write_csv(tmp_path / "d.csv", ["label"] + list(net.input_columns), np.column_stack([labels, X]))
    whole = labelled.score_file(net, tmp_path / "d.csv", "label")
    monkeypatch.setattr(data, "BLOCK_VALUES", 40)  # blocks of 10 rows
    blocks = list(labelled.Examples(tmp_path / "d.csv", net, labels="label"))
    assert len(blocks) >= 50  # blocks of at most 10 rows
    assert labelled.score_file(net, tmp_path / "d.csv", "label").confusion.tolist() == whole.confusion.tolist()
    text = (tmp_path / "d.csv").read_text().splitlines()
    text[377] = "3" + text[377][1:]  # line 378 of the file
    (tmp_path / "d.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(NetlangError) as caught:
        labelled.score_file(net, tmp_path / "d.csv", "label")
    assert (caught.value.code, caught.value.line, caught.value.column) == ("bad-label", 378, 1)
    assert "classes 0 to 2" in caught.value.message


def test_columns_can_be_skipped_by_name_or_position(tmp_path):
    net = netlang.compile("input x1, x2\nnode y = step(0.5*x1 + 0.5*x2 > 0.7)\noutput y\n")
    (tmp_path / "h.csv").write_text("id,x2,label,x1,note\n1,1,1,1,5\n2,0,0,1,5\n3,1,1,0,5\n")
    score = labelled.score_file(net, tmp_path / "h.csv", "label", skip=["id", "4"])
    assert score.confusion.tolist() == [[1, 0], [1, 1]]  # x1, x2 found by name in any order
    (tmp_path / "n.csv").write_text("9,1,1,1\n9,0,1,0\n")
    assert labelled.score_file(net, tmp_path / "n.csv", "-1", skip=["0"]).correct == 2
    with pytest.raises(NetlangError) as caught:
        labelled.score_file(net, tmp_path / "h.csv", "label", skip=["id"])
    assert caught.value.code == "bad-header" and "'note'" in caught.value.message


def test_read_examples_targets_by_name_and_one_hot_from_labels(tmp_path):
    net = netlang.compile(THREE)
    (tmp_path / "t.csv").write_text("y[2],x[0],x[1],x[2],x[3],y[0],y[1]\n0.2,1,2,3,4,0.5,0.3\n")
    X, T = labelled.read_examples(tmp_path / "t.csv", net)
    assert X.tolist() == [[1, 2, 3, 4]] and T.tolist() == [[0.5, 0.3, 0.2]]
    (tmp_path / "l.csv").write_text("2,1,2,3,4\n0,5,6,7,8\n")
    X, T = labelled.read_examples(tmp_path / "l.csv", net, labels=0, one_hot=(0.01, 0.99))
    assert X.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert T.tolist() == [[0.01, 0.01, 0.99], [0.99, 0.01, 0.01]]
    (tmp_path / "n.csv").write_text("1,2,3,4,0,1,0\n")  # no header, no labels: inputs then targets
    assert labelled.read_examples(tmp_path / "n.csv", net)[1].tolist() == [[0, 1, 0]]
    gate = netlang.compile("input x1, x2\nnode y = sigmoid(x1 + x2)\noutput y\n")
    (tmp_path / "g.csv").write_text("x1,x2,c\n0,0,0\n1,1,1\n")
    assert labelled.read_examples(tmp_path / "g.csv", gate, labels="c", one_hot=(0.01, 0.99))[1].tolist() == [[0.01], [0.99]]


@pytest.mark.parametrize(
    "text, labels, code, words",
    [
        ("x[0],x[1],x[2],x[3]\n1,2,3,4\n", "label", "missing-column", "no label column 'label'"),
        ("1,2,3,4,1\n", "label", "missing-column", "no header"),
        ("1,2,3,4,1\n", "7", "missing-column", "number 7"),
        ("lab,x[0],x[1],x[2]\n1,2,3,4\n", "lab", "missing-column", "x[3]"),
        ("label,x[0],x[1],x[2],x[3]\n1.5,1,2,3,4\n", "label", "bad-label", "not a whole number"),
        ("label,x[0],x[1],x[2],x[3]\n-1,1,2,3,4\n", "label", "bad-label", "out of range"),
        ("label,x[0],x[1],x[2],x[3]\n1,1,nan,3,4\n", "label", "non-finite-value", "not a finite"),
        ("1,2,3,4\n", "0", "wrong-column-count", "4 inputs + the label make 5"),
        ("", "0", "no-samples", "no samples"),
    ],
)
def test_bad_labelled_data_are_located_errors(tmp_path, text, labels, code, words):
    net = netlang.compile(THREE)
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(NetlangError) as caught:
        labelled.score_file(net, tmp_path / "d.csv", labels)
    assert caught.value.code == code and words in caught.value.message, caught.value.format()
    assert caught.value.filename == str(tmp_path / "d.csv")


def test_score_command_text_and_json(cli, tmp_path):
    (tmp_path / "d.csv").write_text("label,x1,x2\n0,0,0\n0,0,1\n0,1,0\n1,1,1\n1,0,1\n")
    result = cli("score", "examples/and.net", "--input", str(tmp_path / "d.csv"), "--labels", "label")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("accuracy: 0.8000 (4 of 5 correct)")
    result = cli("score", "examples/and.net", "--input", str(tmp_path / "d.csv"), "--labels", "label", "--json")
    report = json.loads(result.output)
    assert {"accuracy", "correct", "total", "confusion"} <= set(report)
    assert report["confusion"] == [[3, 0], [1, 1]] and report["accuracy"] == 0.8
    assert report["classes"][1] == {"class": 1, "count": 2, "correct": 1, "predicted": 1, "accuracy": 0.5}


def test_score_command_reads_stdin_and_reports_bad_labels_with_exit_status_1(cli):
    result = cli("score", "examples/and.net", "--input", "-", "--labels", "0", input="1,1,1\n0,1,0\n")
    assert result.exit_code == 0 and "accuracy: 1.0000 (2 of 2 correct)" in result.output
    result = cli("score", "examples/and.net", "--input", "-", "--labels", "0", input="1,1,1\n2,1,0\n")
    assert result.exit_code == 1
    assert "<stdin>:2:1: error: label 2 is out of range" in result.output and "Traceback" not in result.output


def test_score_repr_and_text():
    score = Score(2)
    score.add(np.array([[0.2], [0.9], [0.7]]), np.array([0, 1, 0]))
    assert repr(score) == "Score(2/3 correct, 2 classes)"
    assert "confusion (rows: label, columns: predicted class)" in score.text()
    assert Score(3).accuracy is None


def test_a_one_element_vector_may_be_named_without_its_index(tmp_path):
    net = netlang.compile("input x[1]\nlayer y[1] = sigmoid([[2]] @ x)\noutput y\n")
    (tmp_path / "d.csv").write_text("y,x\n1,0.5\n0,-1\n")
    X, T = labelled.read_examples(tmp_path / "d.csv", net)
    assert X.tolist() == [[0.5], [-1.0]] and T.tolist() == [[1.0], [0.0]]


def test_run_prints_the_class_beside_the_outputs(cli, tmp_path):
    result = cli("run", "examples/dlfs.net", "--x", "1.0", "0.5", "--class")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "class = 1"  # y = [0.317, 0.696]: the second is largest
    result = cli("run", "examples/and.net", "--x", "1", "1", "--class", "--json")
    assert json.loads(result.output) == {"y": 1, "class": 1}
    (tmp_path / "d.csv").write_text("x1,x2\n1,1\n0,1\n")
    result = cli("run", "examples/and.net", "--input", str(tmp_path / "d.csv"), "--class")
    assert result.output == "y,class\n1,1\n0,0\n"
    result = cli("run", "examples/and.net", "--input", str(tmp_path / "d.csv"), "--class", "--json")
    assert json.loads(result.output) == [{"y": 1, "class": 1}, {"y": 0, "class": 0}]
    assert cli("run", "examples/and.net", "--x", "1", "1", "--class", "--explain").exit_code == 2


def test_score_reads_inputs_as_training_does_and_reports_the_accuracy_training_reported(cli, tmp_path):
    # A file whose train statement scales the inputs: training reads x*scale + shift, so score
    # must too, or it would report another accuracy on the same data.
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(60, 2))
    label = (pixels[:, 0] > pixels[:, 1]).astype(int)
    rows = "\n".join(f"{a},{b},{c}" for (a, b), c in zip(pixels, label))
    (tmp_path / "data.csv").write_text("x1,x2,label\n" + rows + "\n", encoding="utf-8")
    (tmp_path / "gt.net").write_text(
        "input x1, x2\n"
        "param node y = sigmoid(0*x1 + 0*x2 + 0)\n"
        "output y\n"
        "train rate = 2, epochs = 30, batch = 4, seed = 1, scale = 0.00390625, shift = -0.5, labels = \"label\"\n",
        encoding="utf-8",
    )
    trained = netlang.train(tmp_path / "gt.net", tmp_path / "data.csv")
    reported = trained.history[-1].accuracy
    assert reported is not None and reported > 0.8
    scored = json.loads(cli("score", str(tmp_path / "gt.net"), "--input", str(tmp_path / "data.csv"), "--labels", "label", "--json").output)
    assert scored["accuracy"] == pytest.approx(reported, abs=1e-12)
    # The same network scored on unscaled inputs would differ: the scaling is what makes them agree.
    net = netlang.load(tmp_path / "gt.net")
    raw = labelled.score_file(net, tmp_path / "data.csv", "label")
    assert raw.accuracy != scored["accuracy"]


def _tables(tmp_path, header, table):
    """The same table as CSV (with ``header``), .npy and Parquet; the formats a user may have."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_csv(tmp_path / "d.csv", header, table)
    np.save(tmp_path / "d.npy", table)
    pq.write_table(pa.table({name: table[:, i] for i, name in enumerate(header)}), tmp_path / "d.parquet")
    return tmp_path / "d.csv", tmp_path / "d.npy", tmp_path / "d.parquet"


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 200))
def test_npy_and_parquet_labelled_data_score_and_read_as_csv_does(tmp_path_factory, seed, samples):
    """A .npy file's columns are found by position (no names), a Parquet file's by name, as a CSV
    file's without and with a header: the score and the examples read are the same."""
    tmp_path = tmp_path_factory.mktemp("formats")
    net = netlang.compile(THREE)
    rng = np.random.default_rng(seed)
    table = np.column_stack([rng.uniform(-2, 2, (samples, 4)), rng.integers(0, 3, samples), rng.uniform(0, 1, samples)])
    header = list(net.input_columns) + ["label", "weight"]
    csv, npy, parquet = _tables(tmp_path, header, table)
    by_name = labelled.score_file(net, csv, "label", skip=["weight"])
    assert labelled.score_file(net, npy, "4", skip=["5"]).confusion.tolist() == by_name.confusion.tolist()
    assert labelled.score_file(net, parquet, "label", skip=["weight"]).confusion.tolist() == by_name.confusion.tolist()
    expected = labelled.read_examples(csv, net, labels="label", skip=["weight"], one_hot=(0.01, 0.99))
    for other, label, skipped in ((npy, 4, [5]), (parquet, "label", ["weight"])):
        got = labelled.read_examples(other, net, labels=label, skip=skipped, one_hot=(0.01, 0.99))
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))


def test_npy_and_parquet_targets_and_their_errors(tmp_path, cli):
    net = netlang.compile(THREE)
    rng = np.random.default_rng(3)
    table = np.column_stack([rng.uniform(-2, 2, (20, 4)), rng.uniform(0, 1, (20, 3))])
    csv, npy, parquet = _tables(tmp_path, list(net.input_columns) + list(net.output_columns), table)
    expected = labelled.read_examples(csv, net)
    for other in (npy, parquet):  # targets: the columns after the inputs (.npy), named like the outputs (Parquet)
        assert all(np.array_equal(a, b) for a, b in zip(labelled.read_examples(other, net), expected))
    with pytest.raises(NetlangError) as wrong:
        labelled.score_file(net, npy, "1")  # 7 columns: 4 inputs + the label leave 2 over
    assert wrong.value.code == "wrong-column-count" and "each row has 7 values" in wrong.value.message
    with pytest.raises(NetlangError) as unnamed:
        labelled.score_file(net, npy, "label")
    assert unnamed.value.code == "missing-column" and "position" in unnamed.value.hint
    labelled_rows = np.column_stack([table[:, :4], np.arange(20) % 3])
    labelled_rows[11, 4] = 3
    np.save(tmp_path / "bad.npy", labelled_rows)
    result = cli("score", "-", "--input", str(tmp_path / "bad.npy"), "--labels", "4", input=THREE)
    assert result.exit_code == 1 and "row 11 (from 0): label 3 is out of range" in result.output, result.output
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    result = cli("score", "-", "--input", str(tmp_path / "cube.npy"), "--labels", "0", input=THREE)
    assert result.exit_code == 1 and "(samples, columns)" in result.output, result.output
