"""Fuzzing, bounded: generated programs against the interpreter, mutated files against crashes.

tests/fuzz.py runs the same for as long as asked; every crash it finds is saved in
tests/fuzz_regressions/ and replayed here.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlang
from fuzzing import REGRESSIONS, compare_with_interpreter, exercise, exercise_cli, mutate, programs, seeds


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
