"""Fuzzing, bounded: generated programs against the interpreter, mutated files against crashes.

tests/fuzz.py runs the same for as long as asked; every crash it finds is saved in
tests/fuzz_regressions/ and replayed here.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
import fuzzing
from fuzzing import REGRESSIONS, compare_with_interpreter, exercise, exercise_cli, mutate, programs, seeds
from fuzzing import exercise_file, exercise_load_name, file_seeds, load_name, mutate_file, special_cases


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**32 - 1))
def test_generated_programs_agree_with_the_interpreter(source, seed):
    network = netlang.compile(source)
    rng = np.random.default_rng(seed)
    samples = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], size=(6, network.input_width))
    samples[3:] = rng.uniform(-3, 3, size=(3, network.input_width))
    compare_with_interpreter(source, samples)


def test_the_differential_check_can_fail():
    # A broken compiled network must be caught: flip one weight and compare again.
    source = "input x1, x2\nnode y = relu(0.5*x1 - 2*x2 + 1)\n"
    samples = np.array([[1.0, 0.25], [2.0, -1.0]])
    assert compare_with_interpreter(source, samples) == 2
    original = netlang.compile
    try:
        def broken(program, *args, **kwargs):
            network = original(program, *args, **kwargs)
            network.layers[0].weights  # dense copy exists; perturb the bias used at run time
            network.layers[0].bias[0] += 1.0
            return network

        netlang.compile = broken
        with pytest.raises(AssertionError):
            compare_with_interpreter(source, samples)
    finally:
        netlang.compile = original


def test_steps_near_their_threshold_are_left_out():
    # 0.1*x1 + 0.2*x2 > 0.3 at (1, 1): 0.30000000000000004 - 0.3 is 5.6e-17, within the margin.
    source = "input x1, x2\nnode y = step(0.1*x1 + 0.2*x2 > 0.3)\n"
    assert compare_with_interpreter(source, np.array([[1.0, 1.0], [1.0, 2.0]])) == 1


@pytest.mark.parametrize("seed", range(6))
def test_mutated_examples_only_raise_located_errors(seed, tmp_path):
    rng = random.Random(seed)
    originals = seeds()
    for _ in range(40):
        data = mutate(rng.choice(originals), rng)
        crash = exercise(data, tmp_path)
        assert crash is None, f"{data!r}\n{crash}"


def test_mutated_examples_through_the_command_line(tmp_path):
    rng = random.Random(2024)
    originals = seeds()
    for _ in range(15):
        data = mutate(rng.choice(originals), rng)
        crash = exercise_cli(data, tmp_path)
        assert crash is None, f"{data!r}\n{crash}"


def test_the_crash_detector_reports_a_crash(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(netlang, "compile", explode)
    assert "KeyError" in exercise(b"input x\nnode y = x\n", tmp_path)


def test_fuzz_regressions(tmp_path):
    # Every crash the fuzzer ever found, replayed (tests/fuzz.py adds them).
    for path in sorted(REGRESSIONS.glob("*.net")):
        data = path.read_bytes()
        assert exercise(data, tmp_path) is None, path.name
        assert exercise_cli(data, tmp_path) is None, path.name
    for path in sorted(REGRESSIONS.glob("file-*")):
        _, _, role, name = path.name.split("-", 3)
        assert exercise_file(role, name, path.read_bytes(), tmp_path) is None, path.name


# --- data and weight files (issue 11) -------------------------------------------------


def test_special_files_as_data_and_weights(tmp_path):
    """FIFOs, /dev/zero, /dev/urandom, a directory, a link out of the folder: exit 1 (or 0 for an
    empty FIFO as data) with a located error, never a hang or a traceback."""
    import threading

    for role, name, data in special_cases():
        outcome: list = []
        thread = threading.Thread(target=lambda: outcome.append(exercise_file(role, name, data, tmp_path)), daemon=True)
        thread.start()
        thread.join(30)
        assert outcome, f"{role} file {name}: no answer within 30 s"
        assert outcome[0] is None, f"{role} file {name}:\n{outcome[0]}"


@pytest.mark.parametrize("seed", range(4))
def test_mutated_data_and_weight_files(seed, tmp_path):
    rng = random.Random(seed)
    corpus = file_seeds()
    for _ in range(40):
        role, name, original = rng.choice(corpus)
        data = mutate_file(original, rng)
        report = exercise_file(role, name, data, tmp_path)
        assert report is None, f"{role} file {name}: {data[:300]!r}\n{report}"


def test_hostile_names_in_load(tmp_path):
    rng = random.Random(11)
    names = [load_name(rng) for _ in range(60)] + ["w\x00.npy", "../w.npy", "/etc/passwd", "a" * 5000 + ".npy", "w.npy\x00"]
    for name in names:
        assert exercise_load_name(name, tmp_path) is None


def test_the_file_detector_reports_each_kind_of_failure(tmp_path, monkeypatch):
    good = b"x1,x2\n1,1\n"
    assert exercise_file("data", "d.csv", good, tmp_path) is None
    # A traceback.
    from netlang import data

    def explode(*args, **kwargs):
        raise KeyError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(data, "open_source", explode)
        assert "KeyError" in exercise_file("data", "d.csv", good, tmp_path)
    # A failed run that leaves its output file behind.
    original = data.run_to_file

    def leaves_a_file(network, source, output, *args, **kwargs):
        Path(output).write_text("half")
        raise netlang.NetlangError("failed", filename=source.filename)

    with monkeypatch.context() as patch:
        patch.setattr(data, "run_to_file", leaves_a_file)
        assert "left ['out.csv']" in exercise_file("data", "d.csv", good, tmp_path)
    assert data.run_to_file is original
    # An error that does not name the file.
    def unlocated(*args, **kwargs):
        raise netlang.NetlangError("something")

    with monkeypatch.context() as patch:
        patch.setattr(data, "open_source", unlocated)
        assert "does not name the file" in exercise_file("data", "d.csv", good, tmp_path)
    # Too much memory for the file's size.
    with monkeypatch.context() as patch:
        patch.setattr(fuzzing, "MAX_CASE_MEMORY", 1)
        assert "MiB of memory" in exercise_file("weights", "w.npy", file_seeds()[3][2], tmp_path)
