"""Real data: scikit-learn's handwritten digits (examples/digits), trained by netlang's engine
to at least 97% on the fixed 30% test split, and the example's data script is deterministic."""

from __future__ import annotations

import shutil
import sys

import pytest

from conftest import ROOT

import netlang
from netlang import training
from netlang.labelled import read_examples, score_file

pytest.importorskip("sklearn", reason="the digits come with scikit-learn (the digits extra, in the test extra)")
EXAMPLE = ROOT / "examples" / "digits"
sys.path.insert(0, str(EXAMPLE))
import make_data  # noqa: E402  (examples/digits/make_data.py)

# digits.net's train statement, as the engine's settings (rule, loss, rate, epochs, batch, seed).
SETTINGS = training.Settings(rule="rashid", loss="mse", learning_rate=0.3, epochs=20, batch_size=1, seed=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    make_data.write(folder)
    shutil.copy(EXAMPLE / "digits.net", folder / "digits.net")
    return folder


def test_make_data_writes_the_same_files_every_time(folder, tmp_path):
    make_data.write(tmp_path)
    for name in ("train.csv", "test.csv"):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes()
    lines = (folder / "train.csv").read_text().splitlines()
    assert len(lines) == 1 + 1258 and len((folder / "test.csv").read_text().splitlines()) == 1 + 539
    assert lines[0].split(",")[:3] == ["label", "x[0]", "x[1]"]


def test_the_digits_network_learns_to_97_percent(folder):
    net = netlang.load(folder / "digits.net")
    assert (net.input_width, net.output_width) == (64, 10)
    assert [layer.activation[0] for layer in net.layers] == ["sigmoid", "sigmoid"]
    X, T = read_examples(folder / "train.csv", net, labels="label", one_hot=(0.01, 0.99))
    before = score_file(net, folder / "test.csv", "label").accuracy
    result = training.fit(net, training.binding_all(net), X, T, SETTINGS)
    after = score_file(result.network, folder / "test.csv", "label")
    assert before < 0.3 and after.accuracy >= 0.97, (before, after.accuracy)
    assert after.total == 539
    # What training reports is what scoring the trained network on the training data gives.
    assert result.history[-1].accuracy == score_file(result.network, folder / "train.csv", "label").accuracy
