"""netlang.pcg64 draws what numpy's default generator draws, bit for bit.

Differential: the seeding (SeedSequence), the raw outputs (PCG64), ``random`` and
``standard_normal`` against numpy's over many seeds, param names and sizes, with enough draws
to reach every slow path of the ziggurat (its wedges and its tail), which this module counts
so that a test that never reached them would fail; and the ziggurat's tables, built from their
equations, against the bytes of numpy's compiled module.
"""

from __future__ import annotations

import glob
import importlib.machinery
import math
import os
import sys
import zlib
from array import array
from typing import List, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netlang import pcg64
from netlang.params import entropy

_seeds = st.integers(0, 2**63 - 1) | st.integers(0, 5)
_names = st.text(min_size=1, max_size=12)


def _bits(values: "array[float]") -> bytes:
    return values.tobytes()


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 2**130), min_size=1, max_size=9))
def test_seeding_is_numpys_seed_sequence(words: List[int]) -> None:
    expected = [int(word) for word in np.random.SeedSequence(words).generate_state(4, np.uint64)]
    assert list(pcg64.seed_state(words)) == expected


@settings(max_examples=100, deadline=None)
@given(seed=_seeds, name=_names, counts=st.lists(st.integers(0, 3000), min_size=1, max_size=3))
def test_raw_outputs_are_numpys_pcg64(seed: int, name: str, counts: List[int]) -> None:
    # One by one below 1,024 outputs, in lanes above: each continues where the last left off.
    words = entropy(seed, name)
    generator = pcg64.PCG64(words)
    mine = [u for count in counts for u in generator.raw(count)]
    assert mine == [int(u) for u in np.random.PCG64(words).random_raw(sum(counts))]


@settings(max_examples=200, deadline=None)
@given(seed=_seeds, name=_names, count=st.integers(0, 3000), method=st.sampled_from(["random", "standard_normal"]))
def test_draws_are_numpys_bit_for_bit(seed: int, name: str, count: int, method: str) -> None:
    words = entropy(seed, name)
    mine = getattr(pcg64.PCG64(words), method)(count)
    theirs = getattr(np.random.default_rng(words), method)(count)
    assert _bits(mine) == theirs.tobytes()


def _paths(words: List[int], count: int) -> Tuple[int, int]:
    """How many of the first ``count`` outputs of a standard normal draw leave their layer's
    rectangle for a wedge and for the tail (an upper count: the outputs a slow path reads as
    uniforms are counted as draws too, and a few of them start one)."""
    ki, _, _ = pcg64._ziggurat()
    wedges = tails = 0
    for u in pcg64.PCG64(words).raw(count):
        layer = u & 0xFF
        if u >> 9 & (2**52 - 1) >= ki[layer]:
            tails += layer == 0
            wedges += layer != 0
    return wedges, tails


def test_many_draws_reach_every_path_and_are_numpys():
    # 2.4 million standard normals (60 seeds, 4 names, 10,000 draws each): 599 of them from the
    # tail (beyond r: log1p's), 35,000 outputs sent to a wedge test (exp's).
    wedges = tails = beyond = 0
    for seed in range(60):
        for name in ("W", "b1", "weights", "é"):
            words = entropy(seed, name)
            mine = pcg64.PCG64(words).standard_normal(10_000)
            theirs = np.random.default_rng(words).standard_normal(10_000)
            assert _bits(mine) == theirs.tobytes(), (seed, name)
            beyond += int(np.count_nonzero(np.abs(theirs) > pcg64._R))  # only the tail gives these
            more_wedges, more_tails = _paths(words, 10_000)
            wedges, tails = wedges + more_wedges, tails + more_tails
    assert beyond > 500 and tails > 500 and wedges > 30_000, (beyond, tails, wedges)


def test_a_long_draw_is_numpys():
    # 784 x 100 weights, as a layer of MNIST's: the size the docs time.
    words = entropy(0, "W1")
    assert _bits(pcg64.PCG64(words).standard_normal(78_400)) == np.random.default_rng(words).standard_normal(78_400).tobytes()


@pytest.mark.skipif(sys.byteorder != "little", reason="the tables' bytes are searched for as a little-endian machine stores them")
def test_the_ziggurat_tables_are_numpys_own_bytes():
    # The tables built from their equations are, byte for byte, arrays numpy's compiled random
    # module holds (each 2,048 bytes: found by chance never).
    ki, wi, fi = pcg64._ziggurat()
    folder = os.path.join(os.path.dirname(np.__file__), "random")
    modules = [path for suffix in importlib.machinery.EXTENSION_SUFFIXES for path in glob.glob(os.path.join(folder, "_generator" + suffix))]
    assert len(modules) == 1, modules
    with open(modules[0], "rb") as stream:
        compiled = stream.read()
    for name, table in (("ki", array("Q", ki)), ("wi", array("d", wi)), ("fi", array("d", fi))):
        assert compiled.find(table.tobytes()) >= 0, name


def test_the_tables_are_built_with_correctly_rounded_functions():
    # decimal's 34 digits decide each rounding with room to spare: 60 digits give the same tables.
    tables = pcg64._ziggurat()
    saved = pcg64._PRECISION
    try:
        pcg64._PRECISION, pcg64._tables = 60, None
        assert pcg64._ziggurat() == tables
    finally:
        pcg64._PRECISION, pcg64._tables = saved, tables


def test_a_decision_too_close_to_call_is_left_to_numpy():
    # Wedge and tail tests compare with the C library's exp and log1p: within 2^-48 of each
    # other, an ulp of difference could change the decision, so none is taken.
    assert pcg64._certainly_different(1.0, 1.0 + 2.0**-40)
    assert not pcg64._certainly_different(1.0, 1.0 + 2.0**-50)
    assert not pcg64._certainly_different(0.5, math.nextafter(0.5, 1.0))


def test_the_entropy_is_the_seed_and_the_names_crc():
    assert entropy(3, "W") == [3, zlib.crc32(b"W")]


def test_an_undecided_draw_is_numpys_own(monkeypatch):
    # Every decision left undecided (as one in about 10^12 is): the param is drawn by numpy.
    from netlang import params

    monkeypatch.setattr(pcg64, "_certainly_different", lambda a, b: False)
    with pytest.raises(pcg64.Undecided):
        pcg64.PCG64(entropy(0, "W")).standard_normal(1000)
    drawn = params._draw_plainly("standard_normal", 1.0, 0.5, (10, 100), 0, "W")
    expected = 1.0 + 0.5 * params.generator(0, "W").standard_normal((10, 100))
    assert drawn.tobytes() == expected.tobytes()
