"""Training a .net file: provenance, write-back, atomicity, determinism, the API and the command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang import experiment, training
from netlang.errors import NetlangError
from netlang.formatter import format_source
from netlang.parser import parse
from netlang.pipeline import compile, read_source
from netlang.provenance import trace
from netlang.writeback import INLINE_LIMIT, WritePlan, number_text

GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)

AND = """\
# AND, learned by the perceptron rule
input x1, x2
param node y = step(0*x1 + 0*x2 > 0)  # every weight starts at 0
output y
train rule = perceptron, rate = 0.1, epochs = 10, shuffle = false
"""

XOR = """\
# XOR in two layers
input x[2]
param W1[3, 2] = xavier()  # drawn from the seed
param b1 = [0, 0, 0]
layer h[3] = sigmoid(W1 @ x + b1)
param W2[1, 3] = xavier()
layer y[1] = sigmoid(W2 @ h + 0.5)  # a fixed bias
output y
train rate = 3, epochs = 1000, batch = 4, seed = 1
"""


AND_DATA = "x1,x2,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n"


def _train_and(cli, folder: Path, data: str, *options: str):
    """``netlang train and.net --input and.csv OPTIONS`` in ``folder``: the file's path and the result."""
    path = _write(folder, "and.net", AND)
    (folder / "and.csv").write_text(data)
    return path, cli("train", str(path), "--input", str(folder / "and.csv"), *options)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _recompiled(path: Path) -> netlang.Network:
    return compile(read_source(path), os.fspath(path))


def _same_network(first: netlang.Network, second: netlang.Network) -> None:
    assert len(first.layers) == len(second.layers)
    for a, b in zip(first.layers, second.layers):
        assert np.array_equal(a.weights, b.weights)
        assert np.array_equal(a.bias, b.bias)


# --- provenance -----------------------------------------------------------------------


def test_a_threshold_is_bound_with_its_sign():
    provenance = trace(parse(AND))
    assert provenance.size == 3
    (weights,), (bias,) = provenance.weight_index, provenance.bias_index
    assert weights.tolist() == [[0, 1]] and bias.tolist() == [2]
    assert provenance.sign.tolist() == [1.0, 1.0, -1.0]


def test_a_number_broadcast_over_a_layer_is_one_shared_parameter():
    provenance = trace(parse("input x[3]\nparam layer y = sigmoid(x + 0.5)\noutput y\n"))
    assert provenance.size == 1
    assert provenance.bias_index[0].tolist() == [0, 0, 0]
    assert provenance.weight_index[0] is None  # the identity weights stay fixed


@pytest.mark.parametrize(
    "source",
    [
        "input x\nparam w = 0.5\nnode y = sigmoid(2*w*x)\noutput y\n",
        "input x\nparam w = 0.5\nnode y = sigmoid(w*x + w*x)\noutput y\n",
        "input x\nparam node y = sigmoid(2*0.5*x)\noutput y\n",
        "input x\nparam t = 0.5\nnode y = step(t*x > t)\noutput y\n",
        "input x[2]\nparam W = [[1, 2], [3, 4]]\nlet V = W @ W\nlayer y = V @ x\noutput y\n",
    ],
)
def test_what_cannot_be_written_back_is_refused_with_a_location(source):
    with pytest.raises(NetlangError) as caught:
        trace(parse(source))
    assert caught.value.code == "not-learnable"
    assert caught.value.line >= 2


# --- write-back -----------------------------------------------------------------------


def test_learned_numbers_replace_the_written_ones_and_keep_every_comment(tmp_path):
    path = _write(tmp_path, "and.net", AND)
    trained = netlang.train(path, (GATE_INPUTS, [0, 0, 0, 1]))
    text = path.read_text()
    assert trained.converged_epoch is not None
    assert text.splitlines()[0] == "# AND, learned by the perceptron rule"
    assert "# every weight starts at 0" in text
    assert text.splitlines()[4] == AND.splitlines()[4]  # the train statement, untouched
    assert format_source(text) == text
    written = _recompiled(path)
    _same_network(written, trained.network)
    assert np.array_equal(written(GATE_INPUTS).ravel(), [0, 0, 0, 1])


def test_run_after_write_gives_the_trained_outputs_bit_for_bit(tmp_path):
    path = _write(tmp_path, "xor.net", XOR)
    trained = netlang.train(path, (GATE_INPUTS, [0, 1, 1, 0]))
    written = _recompiled(path)
    _same_network(written, trained.network)
    assert np.array_equal(written(GATE_INPUTS), trained.network(GATE_INPUTS))
    assert trained.history[-1].accuracy == 1.0
    text = path.read_text()
    assert "xavier" not in text and "# drawn from the seed" in text and "0.5)  # a fixed bias" in text


def test_the_same_seed_gives_byte_identical_files(tmp_path):
    outputs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        path = _write(folder, "xor.net", XOR.replace("param W2[1, 3] = xavier()", "param W2[1, 3] = he()"))
        netlang.train(path, (GATE_INPUTS, [0, 1, 1, 0]), epochs=20)
        outputs.append(_snapshot(folder))
    assert outputs[0] == outputs[1]
    other = tmp_path / "c"
    other.mkdir()
    path = _write(other, "xor.net", XOR)
    netlang.train(path, (GATE_INPUTS, [0, 1, 1, 0]), epochs=20, seed=2)
    assert _snapshot(other)["xor.net"] != outputs[0]["xor.net"]


def test_large_initialised_params_go_to_a_weights_file_and_load_it_next_time(tmp_path):
    rows = INLINE_LIMIT // 4 + 1
    source = f"input x[4]\nparam W[{rows}, 4] = he()\nlayer h = relu(W @ x)\nparam V[1, {rows}] = xavier()\nlayer y = V @ h\noutput y\n"
    path = _write(tmp_path, "wide.net", source)
    rng = np.random.default_rng(0)
    inputs = rng.random((16, 4))
    targets = inputs.sum(axis=1, keepdims=True)
    first = netlang.train(path, (inputs, targets), rate=0.01, epochs=3, batch=4)
    text = path.read_text()
    assert 'param W[26, 4] = load("wide.npz", "W")' in text
    assert "xavier" not in text  # V, 26 entries, is written into the file
    assert (tmp_path / "wide.npz").exists()
    _same_network(_recompiled(path), first.network)
    # Trained again: W comes from the weights file and goes back into it.
    second = netlang.train(path, (inputs, targets), rate=0.01, epochs=3, batch=4)
    assert 'param W[26, 4] = load("wide.npz", "W")' in path.read_text()
    _same_network(_recompiled(path), second.network)
    assert not np.array_equal(first.network.layers[0].weights, second.network.layers[0].weights)


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".npz"])
def test_arrays_from_load_are_written_back_to_their_files(tmp_path, suffix):
    W = np.array([[0.5, -0.25], [0.125, 0.75]])
    if suffix == ".npy":
        np.save(tmp_path / "w.npy", W)
        call = 'load("w.npy")'
    elif suffix == ".csv":
        (tmp_path / "w.csv").write_text("0.5,-0.25\n0.125,0.75\n")
        call = 'load("w.csv")'
    else:
        np.savez(tmp_path / "w.npz", W=W, other=np.arange(3.0))
        call = 'load("w.npz", "W")'
    source = f"input x[2]\nparam W = {call}\nlayer y = sigmoid(W @ x)\noutput y\n"
    path = _write(tmp_path, "net.net", source)
    trained = netlang.train(path, (GATE_INPUTS, GATE_INPUTS), epochs=5)
    assert path.read_text() == source  # the file itself does not change
    _same_network(_recompiled(path), trained.network)
    if suffix == ".npz":
        from netlang.weights import load_weights

        assert np.array_equal(load_weights(tmp_path / "w.npz", "other"), np.arange(3.0))


def test_output_writes_a_new_file_and_leaves_the_original_alone(tmp_path):
    np.save(tmp_path / "w.npy", np.array([[0.5, -0.25], [0.125, 0.75]]))
    path = _write(tmp_path, "net.net", 'input x[2]\nparam W = load("w.npy")  # mine\nlayer y = sigmoid(W @ x)\noutput y\n')
    before = _snapshot(tmp_path)
    trained = netlang.train(path, (GATE_INPUTS, GATE_INPUTS), epochs=5, output=tmp_path / "trained.net")
    after = _snapshot(tmp_path)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"trained.net", "trained.npz"}
    assert 'param W = load("trained.npz", "W")  # mine' in (tmp_path / "trained.net").read_text()
    _same_network(_recompiled(tmp_path / "trained.net"), trained.network)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=7, max_size=7))
@settings(max_examples=60, deadline=None)
def test_any_learned_values_are_written_so_that_they_compile_to_exactly_them(values):
    source = format_source(
        "input x[2]\n# weights\nparam W = [[0.5, -0.25], [1, 2]]\nlayer h = W @ x\nparam node y = sigmoid(-0.5*h[0] + 1e-3*h[1] - 2)\noutput y\n"
    )
    provenance = trace(parse(source, "t.net"))
    plan = WritePlan(provenance, "t.net")
    learned = np.array(values)
    text = plan.render(learned)[Path("t.net")].decode()
    theta = provenance.sign * learned[provenance.values]
    expected = training.with_parameters(provenance.network, provenance.binding(), theta)
    _same_network(compile(text), expected)
    assert "# weights" in text and "--" not in text and format_source(text) == text


def test_number_text_reads_back_to_the_same_float():
    for value in (0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, 1e-05, 123456789.0):
        program = parse(f"input x\nnode y = {number_text(value)}*x\noutput y\n")
        assert compile(program).layers[0].weights[0, 0] == value


# --- errors leave every file as it was --------------------------------------------------


def test_an_interrupt_leaves_every_file_untouched(tmp_path):
    path = _write(tmp_path, "xor.net", XOR)
    before = _snapshot(tmp_path)

    def interrupt(epoch):
        if epoch.epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        netlang.train(path, (GATE_INPUTS, [0, 1, 1, 0]), on_epoch=interrupt)
    assert _snapshot(tmp_path) == before


def test_keep_last_writes_the_last_completed_epoch(tmp_path):
    path = _write(tmp_path, "xor.net", XOR)
    seen = []

    def interrupt(epoch):
        seen.append(epoch)
        if epoch.epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        netlang.train(path, (GATE_INPUTS, [0, 1, 1, 0]), on_epoch=interrupt, keep_last=True)
    provenance = trace(parse(XOR))
    expected = training.with_parameters(provenance.network, provenance.binding(), seen[-1].theta)
    _same_network(_recompiled(path), expected)


def test_a_failing_write_leaves_every_file_as_it_was(tmp_path, monkeypatch):
    np.save(tmp_path / "w.npy", np.array([[0.5, -0.25], [0.125, 0.75]]))
    path = _write(tmp_path, "net.net", 'input x[2]\nparam W = load("w.npy")\nparam node y = sigmoid(0.5*x[0] + 0.1)\noutput y\n')
    before = _snapshot(tmp_path)
    real_replace = os.replace
    calls = []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 2:  # the second file: the first is already in place
            raise OSError(28, "No space left on device", target)
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(NetlangError) as caught:
        netlang.train(path, (GATE_INPUTS, GATE_INPUTS[:, :1]), epochs=2)
    monkeypatch.undo()
    assert caught.value.code == "cannot-write" and "No space left" in caught.value.message
    assert len(calls) >= 2
    assert _snapshot(tmp_path) == before


def test_a_file_that_cannot_be_written_is_found_before_training(tmp_path):
    path = _write(tmp_path, "and.net", AND)
    (tmp_path / "trained.net").mkdir()  # in the way of the new file
    epochs = []
    with pytest.raises(NetlangError) as caught:
        netlang.train(path, (GATE_INPUTS, [0, 0, 0, 1]), output=tmp_path / "trained.net", on_epoch=epochs.append)
    assert caught.value.code == "cannot-write" and "not a regular file" in caught.value.message
    assert epochs == []  # no training was done


def test_a_weights_file_that_is_not_ours_is_not_overwritten(tmp_path):
    (tmp_path / "wide.npz").write_bytes(b"someone else's")
    path = _write(tmp_path, "wide.net", f"input x[2]\nparam W[{INLINE_LIMIT}, 2] = he()\nlayer y = W @ x\noutput y\n")
    with pytest.raises(NetlangError) as caught:
        netlang.train(path, (GATE_INPUTS, np.zeros((4, INLINE_LIMIT))))
    assert caught.value.code == "cannot-write" and "--weights" in caught.value.hint
    assert (tmp_path / "wide.npz").read_bytes() == b"someone else's"


def test_nothing_to_learn_is_a_clear_error(tmp_path):
    path = _write(tmp_path, "fixed.net", "input x\nnode y = sigmoid(0.5*x)\noutput y\n")
    with pytest.raises(NetlangError) as caught:
        netlang.train(path, (GATE_INPUTS[:, :1], GATE_INPUTS[:, :1]))
    assert caught.value.code == "nothing-to-learn"


def test_a_bad_setting_on_the_command_line_is_an_error(tmp_path):
    path = _write(tmp_path, "and.net", AND)
    with pytest.raises(NetlangError) as caught:
        netlang.train(path, (GATE_INPUTS, [0, 0, 0, 1]), rate=-1)
    assert caught.value.code == "bad-setting"


# --- the command ------------------------------------------------------------------------


def test_the_command_trains_prints_each_epoch_and_writes_back(cli, tmp_path):
    path = _write(tmp_path, "and.net", AND)
    (tmp_path / "and.csv").write_text("x1,x2,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n")
    result = cli("train", str(path), "--input", str(tmp_path / "and.csv"), "--explain", "--log", str(tmp_path / "h.csv"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("training 3 parameters of")
    assert "  y = 0, wanted 1: w(x1) +0.1, w(x2) +0.1, threshold -0.1" in lines
    assert any(line.startswith("epoch  1/10  loss 0.375  accuracy 0.2500") for line in lines)
    assert "every sample is right after epoch 5" in lines
    log = (tmp_path / "h.csv").read_text().splitlines()
    assert log[0] == "epoch,loss,accuracy,validation_accuracy,seconds,evaluation_seconds" and len(log) == 6
    for row in log[1:]:
        seconds, evaluation = map(float, row.split(",")[-2:])
        assert 0 < evaluation <= seconds
    run = cli("run", str(path), "--x", "1", "1")
    assert run.output.strip() == "y = 1"


def test_xor_is_not_separable_for_one_perceptron(cli, tmp_path):
    path = _write(tmp_path, "xor1.net", AND)
    (tmp_path / "xor.csv").write_text("x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    result = cli("train", str(path), "--input", str(tmp_path / "xor.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "some samples are still wrong after 10 epochs" in result.output
    assert path.read_text() == AND


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--rate", "-1", "'rate' must be positive, not -1"),
        ("--epochs", "0", "'epochs' must be a whole number, at least 1, not 0"),
        ("--batch", "2.5", "not a valid integer"),
        ("--momentum", "1", "'momentum' must lie in [0, 1), not 1"),
        ("--seed", "-4", "'seed' must be a whole number from 0 to 2^63 - 1, not -4"),
    ],
)
def test_a_bad_setting_given_as_an_option_is_a_usage_error_naming_it(cli, tmp_path, option, value, words):
    """The option's value is checked by the rule that checks the file's `train` settings,
    before the file is read: exit 2 (a usage error), the option named, nothing written."""
    path, result = _train_and(cli, tmp_path, AND_DATA, option, value)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output and words in result.output
    assert path.read_text() == AND


def test_the_first_line_counts_one_epoch_in_the_singular(cli, tmp_path):
    path, result = _train_and(cli, tmp_path, AND_DATA, "--epochs", "1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("rule perceptron at rate 0.1, 1 epoch, seed 0")


def test_the_command_reports_an_error_and_writes_nothing(cli, tmp_path):
    path, result = _train_and(cli, tmp_path, AND_DATA, "--rule", "backprop")
    assert result.exit_code == 1
    # The engine sees arrays; the error is placed at the step neuron's name in the file.
    assert f"{path}:3:12: error: backpropagation cannot pass through 'y', a step neuron" in result.output
    assert "param node y = step(" in result.output and "Traceback" not in result.output
    assert path.read_text() == AND


def test_targets_the_rule_cannot_learn_are_an_error_naming_the_data_file(cli, tmp_path):
    path, result = _train_and(cli, tmp_path, AND_DATA.replace("1,1,1", "1,1,7"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'and.csv'}: error: the perceptron rule needs targets of 0 and 1" in result.output
    assert "sample 3 (from 0) wants 7 for y" in result.output and "<input>" not in result.output
    assert path.read_text() == AND


def test_gradient_check_compares_backprop_with_numbers(cli, tmp_path):
    path = _write(tmp_path, "xor.net", XOR)
    (tmp_path / "xor.csv").write_text("x[0],x[1],y[0]\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    result = cli("train", str(path), "--input", str(tmp_path / "xor.csv"), "--gradient-check")
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()[1:]
    assert rows and all(float(row.split()[-1]) < 1e-6 for row in rows)
    assert path.read_text() == XOR


# --- the books' presets -----------------------------------------------------------------

BOOKS = Path(__file__).resolve().parent.parent / "examples" / "books"


def _mnist_like(folder: Path, name: str, rows: int, seed: int) -> np.ndarray:
    """A CSV as the MNIST files come: the label first, 784 pixels 0..255, no header."""
    rng = np.random.default_rng(seed)
    table = np.concatenate([rng.integers(0, 10, (rows, 1)), rng.integers(0, 256, (rows, 784))], axis=1)
    np.savetxt(folder / name, table, fmt="%d", delimiter=",")
    return table.astype(float)


def test_rashids_preset_is_his_update_sample_by_sample(tmp_path):
    shutil.copy(BOOKS / "rashid-100.net", tmp_path)
    table = _mnist_like(tmp_path, "mnist_train.csv", 30, 1)
    _mnist_like(tmp_path, "mnist_test.csv", 10, 2)
    path = tmp_path / "rashid-100.net"
    start = trace(parse(path.read_text(), os.fspath(path)), tmp_path)
    wih, who = (layer.weights.copy() for layer in start.network.layers)
    trained = netlang.train(path)
    # His published update, written here from its equations, one sample at a time in file order.
    inputs = table[:, 1:] / 255 * 0.99 + 0.01
    targets = np.full((len(table), 10), 0.01)
    targets[np.arange(len(table)), table[:, 0].astype(int)] = 0.99
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for x, t in zip(inputs, targets):
        h = sigmoid(wih @ x)
        o = sigmoid(who @ h)
        e_o = t - o
        e_h = who.T @ e_o
        who += 0.3 * np.outer(e_o * o * (1 - o), h)
        wih += 0.3 * np.outer(e_h * h * (1 - h), x)
    learned = [layer.weights for layer in trained.network.layers]
    assert np.allclose(learned[0], wih, rtol=0, atol=1e-12) and np.allclose(learned[1], who, rtol=0, atol=1e-12)
    assert trained.history[-1].validation_accuracy is not None
    assert 'param W_input_hidden[100, 784] = load("rashid-100.npz", "W_input_hidden")' in path.read_text()
    _same_network(_recompiled(path), trained.network)


def test_saitos_preset_trains_his_two_layer_net(tmp_path):
    shutil.copy(BOOKS / "saito.net", tmp_path)
    _mnist_like(tmp_path, "mnist_train.csv", 200, 3)
    _mnist_like(tmp_path, "mnist_test.csv", 20, 4)
    trained = netlang.train(tmp_path / "saito.net", epochs=2, write=False)
    assert trained.settings["batch"] == 100 and trained.settings["loss"] == "cross_entropy"
    assert len(trained.history) == 2 and trained.history[1].loss < trained.history[0].loss


def test_evaluate_false_in_the_file_or_no_evaluate_reports_the_batches_and_learns_the_same(cli, tmp_path):
    """The evaluation after each epoch only reports: without it (the file's `evaluate = false`,
    or --no-evaluate) the lines give the loss and accuracy of the epoch's batches, and training
    writes the very same file."""
    (tmp_path / "xor.csv").write_text("x[0],x[1],y[0]\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    written = {}
    for name, text, options in (
        ("evaluated.net", XOR, ()),
        ("in_file.net", XOR.replace("seed = 1", "seed = 1, evaluate = false"), ()),
        ("option.net", XOR, ("--no-evaluate",)),
        ("back_on.net", XOR.replace("seed = 1", "seed = 1, evaluate = false"), ("--evaluate",)),
    ):
        path = _write(tmp_path, name, text)
        result = cli("train", str(path), "--input", str(tmp_path / "xor.csv"), "--epochs", "3", "--log", str(tmp_path / f"{name}.csv"), *options)
        assert result.exit_code == 0, result.output
        epochs = [line for line in result.output.splitlines() if line.startswith("epoch")]
        batches = name in ("in_file.net", "option.net")
        assert len(epochs) == 3 and all(("batch loss" in line) == batches for line in epochs), epochs
        assert all(("batch accuracy" in line) == batches and "accuracy" in line for line in epochs)
        written[name] = path.read_text().replace(", evaluate = false", "")
    assert len(set(written.values())) == 1 and written["evaluated.net"] != XOR
    trained = netlang.train(_write(tmp_path, "api.net", XOR), (GATE_INPUTS, [0, 1, 1, 0]), evaluate=False, epochs=2, write=False)
    assert [epoch.evaluated for epoch in trained.history] == [False, False]
    assert trained.settings["evaluate"] is False


def test_lines_for_a_network_that_is_not_two_inputs_fail_before_training(cli, tmp_path):
    path = _write(tmp_path, "xor.net", XOR.replace("input x[2]", "input x[2], z"))
    (tmp_path / "d.csv").write_text("x[0],x[1],z,y[0]\n0,0,0,0\n0,1,0,1\n1,0,0,1\n1,1,0,0\n")
    result = cli("train", str(path), "--input", str(tmp_path / "d.csv"), "--lines", str(tmp_path / "l.png"))
    assert result.exit_code == 1 and "epoch" not in result.output
    assert not (tmp_path / "l.png").exists()


def test_curves_and_lines_are_pictures(cli, tmp_path):
    pytest.importorskip("matplotlib")
    path = _write(tmp_path, "and.net", AND)
    (tmp_path / "and.csv").write_text("x1,x2,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n")
    result = cli(
        "train", str(path), "--input", str(tmp_path / "and.csv"), "--dry-run",
        "--curves", str(tmp_path / "c.png"), "--lines", str(tmp_path / "l.svg"),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "l.svg").read_bytes()[:400]
    assert path.read_text() == AND


def test_a_matrix_used_as_x_at_w_is_bound_row_major_for_the_engines_fast_path():
    provenance = trace(parse("input x[3]\nparam W[3, 2] = [[1, 2], [3, 4], [5, 6]]\nparam b = [7, 8]\nlayer y = x @ W + b\noutput y\n"))
    (weights,), (bias,) = provenance.weight_index, provenance.bias_index
    assert weights.tolist() == [[0, 1, 2], [3, 4, 5]] and bias.tolist() == [6, 7]
    assert provenance.theta0.tolist() == [1, 3, 5, 2, 4, 6, 7, 8]  # W transposed, as the layer holds it


@pytest.mark.parametrize("keep_last", [False, True])
def test_ctrl_c_in_a_real_process(tmp_path, keep_last):
    import signal
    import subprocess
    import sys

    path = _write(tmp_path, "xor.net", XOR.replace("epochs = 1000", "epochs = 1000000"))
    (tmp_path / "xor.csv").write_text("x[0],x[1],y[0]\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    before = _snapshot(tmp_path)
    command = [sys.executable, "-m", "netlang", "train", str(path), "--input", str(tmp_path / "xor.csv"), "--every", "100"]
    process = subprocess.Popen(
        command + (["--keep-last"] if keep_last else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()  # "training ..."
    process.stdout.readline()  # epoch 1 is done
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode not in (0, 1) and "Traceback" not in errors
    if keep_last:
        assert "the values after epoch" in errors
        assert _snapshot(tmp_path) != before
        _recompiled(path)  # a whole, valid file
    else:
        assert "every file is as it was" in errors
        assert _snapshot(tmp_path) == before


PIXELS = """input x[4]
param W[2, 4] = zeros()
param b[2] = zeros()
layer y = softmax(W @ x + b)
output y
"""


def test_a_pixel_scale_on_inputs_scaled_already_is_a_warning(cli, tmp_path):
    path = _write(tmp_path, "pixels.net", PIXELS)
    rows = [(0, 0.0, 0.1, 0.9, 1.0), (1, 1.0, 0.8, 0.0, 0.2), (0, 0.1, 0.0, 1.0, 0.7)]
    (tmp_path / "scaled.csv").write_text("".join(",".join(map(str, row)) + "\n" for row in rows))
    (tmp_path / "raw.csv").write_text("".join(",".join(str(v if i == 0 else v * 255) for i, v in enumerate(row)) + "\n" for row in rows))
    warned = cli("train", str(path), "--input", str(tmp_path / "scaled.csv"), "--preset", "saito", "--epochs", "1", "--dry-run")
    assert warned.exit_code == 0, warned.output
    assert f"{tmp_path / 'scaled.csv'}: warning: every input is between 0 and 1 already" in warned.stderr
    assert "--scale 1 --shift 0" in warned.stderr
    for args in (["--input", str(tmp_path / "raw.csv"), "--preset", "saito"], ["--input", str(tmp_path / "scaled.csv"), "--preset", "saito", "--scale", "1"]):
        quiet = cli("train", str(path), *args, "--epochs", "1", "--dry-run")
        assert quiet.exit_code == 0, quiet.output
        assert "warning" not in quiet.stderr
    trained = netlang.train(path, tmp_path / "scaled.csv", preset="saito", epochs=1, write=False)
    assert [w.code for w in trained.warnings] == ["scaled-twice"]


def test_counts_are_singular_for_one(cli, tmp_path):
    path = _write(tmp_path, "one.net", "input x\nparam w = 0.5\nnode y = sigmoid(w*x)\noutput y\n")
    (tmp_path / "one.csv").write_text("x,y\n0,1\n1,0\n")
    result = cli("train", str(path), "--input", str(tmp_path / "one.csv"), "--epochs", "1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"training 1 parameter of {path}: ") and ", 1 epoch, seed" in result.output
    checked = cli("check", str(path))
    assert checked.output.strip().endswith("ok: 1 input value, 1 neuron in 1 layer, outputs y")
