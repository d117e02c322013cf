"""numpy's default random generator in pure Python, bit for bit: what ``netlang check`` draws.

A param drawn by an initialiser (``param W[2] = normal(0, 1)``) is drawn by
``numpy.random.default_rng(entropy)``'s ``standard_normal`` or ``random`` (netlang.params).
``netlang check`` must decide what a compile decides about those values (is one exactly zero,
is ``mean + std * z`` finite) without importing numpy, which alone costs more than checking
most files; so this module computes the same draws from the published algorithms:

- **SeedSequence** (numpy's seeding): the ``seed_seq_fe`` hash of O'Neill's randutils with a
  pool of four 32-bit words; the entropy is each integer's 32-bit words, least significant
  first (0 is one word), all in a row. Its state for PCG64 is eight hashed words, read as four
  little-endian 64-bit words.
- **PCG64** (O'Neill's PCG XSL RR 128/64): a 128-bit LCG, seeded as PCG's ``srandom`` with the
  first two words as the initial state and the last two as the stream; each output advances the
  state, then folds it to 64 bits (high xor low) and rotates by the top six bits.
- ``random()``: the top 53 bits of an output, times 2^-53.
- ``standard_normal()``: Marsaglia and Tsang's ziggurat with 256 layers, laid out as numpy
  draws it from one 64-bit output: the low 8 bits pick the layer, the next bit is the sign,
  the next 52 are the position in the layer; the tail beyond r by Marsaglia's pair of
  exponentials; the wedges by comparing with exp(-x^2/2). Its tables are numpy's: see
  :func:`_ziggurat`, which builds them from the construction's equations.

Each step is exact integer or single IEEE double arithmetic, so the values are numpy's on
any machine, except where numpy calls the C library: ``exp`` in a wedge test (about 1 draw in
70) and ``log1p`` in the tail (1 in 3,900). Python's ``math.exp`` and ``math.log1p`` call the
same C library functions (here both modules import glibc's ``log1p``), and each *decision* that
reads them is taken only with a margin that covers an ulp of difference anyway; a decision
inside the margin raises :class:`Undecided`, and the caller lets numpy draw (never seen: see
:func:`_slow`). The tail's value itself, r + log1p(...) / r, is the C library's bits.

tests/test_pcg64.py compares these draws with numpy's over many seeds, names and sizes.
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from decimal import Context, Decimal
from typing import Callable, List, Optional, Sequence, Tuple

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_M52 = (1 << 52) - 1
# PCG's default multiplier for a 128-bit state.
_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
# seed_seq_fe's constants (randutils), with 32-bit words: the shift is half a word.
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4


class Undecided(Exception):
    """A draw whose value depends on the last bit of the C library's ``exp`` or ``log1p``,
    which numpy calls and Python may not reproduce: numpy must draw it."""


def seed_state(entropy: Sequence[int]) -> Tuple[int, int, int, int]:
    """``SeedSequence(entropy).generate_state(4, uint64)``: PCG64's four seed words."""
    words: List[int] = []
    for number in entropy:
        if number < 0:
            raise ValueError("entropy is made of non-negative integers")
        while True:
            words.append(number & _M32)
            number >>= 32
            if not number:
                break
    multiplier = _INIT_A

    def hashmix(value: int) -> int:
        nonlocal multiplier
        value = (value ^ multiplier) & _M32
        multiplier = multiplier * _MULT_A & _M32
        value = value * multiplier & _M32
        return value ^ value >> 16

    def mix(x: int, y: int) -> int:
        result = (_MIX_L * x - _MIX_R * y) & _M32
        return result ^ result >> 16

    pool = [hashmix(words[i] if i < len(words) else 0) for i in range(_POOL)]
    for source in range(_POOL):
        for target in range(_POOL):
            if source != target:
                pool[target] = mix(pool[target], hashmix(pool[source]))
    for word in words[_POOL:]:
        for target in range(_POOL):
            pool[target] = mix(pool[target], hashmix(word))
    multiplier = _INIT_B
    state: List[int] = []
    for i in range(2 * 4):  # four 64-bit words
        value = pool[i % _POOL] ^ multiplier
        multiplier = multiplier * _MULT_B & _M32
        value = value * multiplier & _M32
        state.append(value ^ value >> 16)
    low_high = iter(state)
    first, second, third, fourth = (low | high << 32 for low, high in zip(low_high, low_high))
    return first, second, third, fourth


class PCG64:
    """numpy's ``PCG64(entropy)``, for drawing ``n`` values at a time."""

    __slots__ = ("state", "increment")

    def __init__(self, entropy: Sequence[int]) -> None:
        first, second, third, fourth = seed_state(entropy)
        self.increment = ((third << 64 | fourth) << 1 | 1) & _M128
        state = (self.increment + (first << 64 | second)) & _M128  # srandom: one step from 0, add, one step
        self.state = (state * _MULTIPLIER + self.increment) & _M128

    def raw(self, n: int) -> List[int]:
        """The next ``n`` 64-bit outputs."""
        return memoryview(self._outputs(n)).cast("Q").tolist()

    def _outputs(self, n: int) -> bytes:
        """The next ``n`` outputs as an ``array("Q")``'s bytes."""
        if n < _LANES or sys.byteorder != "little":
            return array("Q", self._one_by_one(n)).tobytes()
        return self._lane_by_lane(n)

    def _one_by_one(self, n: int) -> List[int]:
        # Plain int arithmetic, the fewest operations found: 0.5 us an output (2 shared cores,
        # Python 3.11). Rotating right by t is shifting the folded word, written twice side by
        # side, by t.
        state, increment, multiplier = self.state, self.increment, _MULTIPLIER
        out: List[int] = []
        append = out.append
        for _ in range(n):
            state = state * multiplier + increment & _M128
            folded = (state >> 64 ^ state) & _M64
            append((folded << 64 | folded) >> (state >> 122) & _M64)
        self.state = state
        return out

    def _lane_by_lane(self, n: int) -> bytes:
        """The outputs of _LANES states at a time, each state in a 256-bit lane of one int:
        state k of a block is MULT^k s + (1 + ... + MULT^(k-1)) inc, and one multiply-add of
        the whole int moves every lane _LANES steps on (the products stay in their lanes). Then
        the folds and rotations are int operations on 64-bit lanes, the rotation by each bit of
        its amount at once. 0.25 us an output, half the time of one by one."""
        lanes = _jumps()
        increment = self.increment
        first = self.state * _MULTIPLIER + increment & _M128
        states = ((first * lanes.powers) & lanes.states) + ((increment * lanes.sums) & lanes.states) & lanes.states
        onward = (lanes.jump_sum * increment & _M128) * lanes.ones
        blocks: List[bytes] = []
        for block in range((n + _LANES - 1) // _LANES):
            if block:
                states = (states * lanes.jump + onward) & lanes.states
            words = memoryview(states.to_bytes(32 * _LANES, "little")).cast("Q")
            low, high = int.from_bytes(words[0::4].tobytes(), "little"), int.from_bytes(words[1::4].tobytes(), "little")
            folded = low ^ high
            turns = (high >> 58) & lanes.six_bits
            for bit, (shift, kept, wrapped) in enumerate(lanes.rotations):
                rotated = ((folded >> shift) & kept) | ((folded << 64 - shift) & wrapped)
                folded ^= (folded ^ rotated) & ((turns >> bit) & lanes.word_ones) * _M64
            blocks.append(folded.to_bytes(8 * _LANES, "little"))
        last = (n - 1) % _LANES
        self.state = (states >> 256 * last) & _M128
        return b"".join(blocks)[: 8 * n]

    def random(self, n: int) -> "array[float]":
        """numpy's ``random(n)``: uniform doubles in [0, 1)."""
        return array("d", [(u >> 11) * _TWO_TO_MINUS_53 for u in self.raw(n)])

    def standard_normal(self, n: int) -> "array[float]":
        """numpy's ``standard_normal(n)``; raises :class:`Undecided` (rarely: see the module)."""
        ki, wi, fi = _ziggurat()
        outputs: List[int] = []
        xs: List[float] = []  # each output's value, taken if it lies in its layer's rectangle
        inside: List[bool] = []
        read = 0  # outputs used

        def more(count: int) -> None:
            new = self._outputs(count)
            outputs.extend(memoryview(new).cast("Q").tolist())
            values, rectangle = _rectangles(new, ki, wi)
            xs.extend(values)
            inside.extend(rectangle)

        def next_output() -> int:
            nonlocal read
            if read == len(outputs):
                more(64)
            read += 1
            return outputs[read - 1]

        # A rectangle takes 98.5% of draws, one output each; the rest take two or more.
        more(n + n // 32 + 8)
        drawn: List[float] = []
        while len(drawn) < n:
            if read == len(outputs):
                more(64)
            end = min(len(outputs), read + n - len(drawn))
            try:
                other = inside.index(False, read, end)
            except ValueError:
                drawn.extend(xs[read:end])
                read = end
                continue
            drawn.extend(xs[read:other])
            read = other + 1
            u = outputs[other]
            value = _slow(u & 0xFF, u >> 9 & _M52, xs[other], fi, next_output)
            if value is not None:
                drawn.append(value)
        return array("d", drawn)


def _rectangles(outputs: bytes, ki: List[int], wi: List[float]) -> Tuple[List[float], List[bool]]:
    """For each output: its value x (layer ``u & 0xFF``, sign bit 8, position ``u >> 9``, 52
    bits, times the layer's width) and whether the position is inside the layer's rectangle.

    Done a block at a time at C speed, the outputs packed into one int whose 64-bit lanes are
    masked and shifted together: 0.2 us an output, where a loop over them takes 0.3 us.
    """
    count = len(outputs) // 8
    order = sys.byteorder  # the lanes as array("Q") lays them out, and back
    packed = int.from_bytes(outputs, order)
    positions = memoryview(((packed >> 9) & _lanes(_M52, count)).to_bytes(8 * count, order)).cast("Q").tolist()
    keys = memoryview((packed & _lanes(0x1FF, count)).to_bytes(8 * count, order)).cast("Q").tolist()
    signed_widths = wi + [-width for width in wi]  # by u & 0x1FF: p * -w is -(p * w), bit for bit
    values = list(map(operator.mul, positions, map(signed_widths.__getitem__, keys)))
    return values, list(map(operator.lt, positions, map((ki + ki).__getitem__, keys)))


# Outputs computed together by PCG64._lane_by_lane: 1,024 is as fast as 4,096 and its constants
# take 1 ms to build, not 6.
_LANES = 1024


class _Jumps:
    """The constants of PCG64._lane_by_lane."""

    def __init__(self) -> None:
        power, total = 1, 0
        powers: List[int] = []
        sums: List[int] = []
        for _ in range(_LANES):
            powers.append(power)
            sums.append(total)
            power, total = power * _MULTIPLIER & _M128, (total * _MULTIPLIER + 1) & _M128
        self.jump, self.jump_sum = power, total
        self.powers, self.sums = _packed(powers, 32), _packed(sums, 32)
        self.states, self.ones = _packed([_M128] * _LANES, 32), _packed([1] * _LANES, 32)
        self.six_bits, self.word_ones = _lanes(63, _LANES), _lanes(1, _LANES)
        # Rotating each 64-bit lane right by 1, 2, 4, ... 32: what stays, what wraps to the top.
        self.rotations = [(shift, _lanes((1 << 64 - shift) - 1, _LANES), _lanes(_M64 ^ ((1 << 64 - shift) - 1), _LANES)) for shift in (1, 2, 4, 8, 16, 32)]


_jumps_built: Optional[_Jumps] = None


def _jumps() -> _Jumps:
    global _jumps_built
    if _jumps_built is None:
        _jumps_built = _Jumps()
    return _jumps_built


def _packed(values: List[int], width: int) -> int:
    """``values`` in lanes of ``width`` bytes, the first lowest."""
    return int.from_bytes(b"".join(value.to_bytes(width, "little") for value in values), "little")


def _lanes(value: int, count: int) -> int:
    """``value`` (64 bits) in each of ``count`` 64-bit lanes."""
    return int.from_bytes(value.to_bytes(8, "little") * count, "little")


_TWO_TO_MINUS_53 = 2.0**-53


def _slow(layer: int, position: int, x: float, fi: Sequence[float], next_output: Callable[[], int]) -> Optional[float]:
    """The ziggurat beyond a layer's rectangle: a value, or None (rejected: draw again).

    Each decision compares with the C library's ``exp`` or ``log1p`` (see the module), and is
    taken only when the two sides differ by more than 2^-48 of them, which an ulp of either
    function, or a compiler's fused multiply-add, cannot bridge. Measured over 2 x 10^7 draws
    (seeds 0-19 with 10 names, 100,000 draws each): no decision fell inside the margin; the
    closest was 1.0e-8 of its sides apart (2^-48 is 3.6e-15): by that, one decision in
    about 10^12 would be left to numpy.
    """
    if layer == 0:
        while True:  # the tail, x > r: Marsaglia's pair of exponentials, with 1 - U to avoid log(0)
            a = math.log1p(-((next_output() >> 11) * _TWO_TO_MINUS_53))
            b = math.log1p(-((next_output() >> 11) * _TWO_TO_MINUS_53))
            tail = -_INVERSE_R * a
            yy = -b
            if not _certainly_different(yy + yy, tail * tail):
                raise Undecided(f"tail test {yy + yy!r} against {tail * tail!r}")
            if yy + yy > tail * tail:
                return -(_R + tail) if position >> 8 & 1 else _R + tail
    # A wedge: below the curve exp(-x^2/2) over this layer's rectangle?
    curve = math.exp(-0.5 * x * x)
    height = (fi[layer - 1] - fi[layer]) * ((next_output() >> 11) * _TWO_TO_MINUS_53) + fi[layer]
    if not _certainly_different(height, curve):
        raise Undecided(f"wedge test {height!r} against exp(-x^2/2) = {curve!r}")
    return x if height < curve else None


def _certainly_different(a: float, b: float) -> bool:
    """Whether ``a`` and ``b`` (positive) differ by more than the rounding of a library
    function (an ulp) and of the expression around it (a fused multiply-add, an ulp) can change."""
    return abs(a - b) > 2.0**-48 * max(a, b)


# --- the ziggurat's tables --------------------------------------------------------------

# The ziggurat of 256 layers of equal area v under exp(-x^2/2) (Marsaglia and Tsang 2000), the
# base layer being the rectangle [0, r] and the tail beyond r. numpy's code names r (to the
# double) and a rounded v (0.00492867323399); its tables were built with v to 17 digits,
# 0.0049286732339746519 (found by rebuilding them: the rounded v changes every entry).
_R = 3.6541528853610088
_INVERSE_R = 1.0 / _R  # numpy's 0.27366123732975828 is this double
_V = 0.0049286732339746519
# Each edge follows from the one below it, in double arithmetic: f = exp(-x^2/2) and
# x' = sqrt(-2 log(f + v/x)), with exp and log correctly rounded, which the tables' builder's
# were everywhere but at one edge: exp(-x^2/2) at x[38] = 0.8826..., exactly 0.49826 ulp above
# a double (0.0017 ulp short of the midpoint), was rounded up; the edges above follow from it.
_ROUNDED_UP = 38
_tables: Optional[Tuple[List[int], List[float], List[float]]] = None


def _ziggurat() -> Tuple[List[int], List[float], List[float]]:
    """numpy's tables ``ki``, ``wi``, ``fi``, built on first use (about 10 ms, with ``decimal``).

    x[255] = r down to x[1] are the layers' right edges (x[0] = 0, the top); for layer i a
    draw's position p (52 bits) is x = p * wi[i], in the rectangle when p < ki[i], the ratio
    of the edge above to this one in units of 2^-52 (layer 0: the base's share of rectangle
    and tail); fi[i] = exp(-x[i]^2/2) bounds the wedges.
    """
    global _tables
    if _tables is None:
        scale = 2.0**52
        x = [0.0] * 256
        f = [0.0] * 256
        x[255] = _R
        f[255] = _exp(-0.5 * _R * _R)
        for i in range(254, 0, -1):
            x[i] = math.sqrt(-2.0 * _log(f[i + 1] + _V / x[i + 1]))
            f[i] = _exp(-0.5 * x[i] * x[i])
            if i == _ROUNDED_UP:
                f[i] = math.nextafter(f[i], 1.0)
        f[0] = 1.0
        ki = [0] + [round(x[i - 1] / x[i] * scale) for i in range(1, 256)]
        ki[0] = round(_R * f[255] / _V * scale)
        wi = [edge / scale for edge in x]
        wi[0] = _V / f[255] / scale
        _tables = ki, wi, f
    return _tables


# Digits of decimal's exp and ln: a double needs 17, and none of the tables' values lies
# closer to a rounding boundary than 34 digits tell apart (tests/test_pcg64.py: 60 give the same).
_PRECISION = 34


def _exp(value: float) -> float:
    """exp, correctly rounded (decimal's exp is, to its digits; then once to the double)."""
    return float(Context(prec=_PRECISION).exp(Decimal(value)))


def _log(value: float) -> float:
    """log, correctly rounded (as :func:`_exp`)."""
    return float(Context(prec=_PRECISION).ln(Decimal(value)))
