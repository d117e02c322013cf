"""How errors show what they repeat from the input: control characters escaped, long text capped.

(issue 11, items 27-29: a comment or a data cell must not reach the terminal raw; a huge name
must not be echoed in full; messages say what kind of file is wrong; numpy's warnings stay out.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netlang
from netlang import data
from netlang.errors import TEXT_LIMIT, WORD_LIMIT, NetlangError, escaped, shown
from netlang.nodes import Span

from conftest import EXAMPLES

RAW = "\x1b]0;pwned\x07\x1b[2J"  # retitles the terminal, then clears it


def _unsafe(text: str) -> list:
    """The characters of ``text`` a terminal would act on (tab and newline are fine)."""
    return [ch for ch in text if ch not in "\t\n" and (not ch.isprintable() or ch in "\u202e\u2066")]


def test_a_comment_on_the_error_line_is_shown_escaped():
    source = f"input x1\nnode y = 2*q  # {RAW}\u202e\n"
    with pytest.raises(NetlangError) as info:
        netlang.compile(source)
    text = info.value.format(color=True)
    assert _unsafe(text.replace("\033[", "")) == []  # only netlang's own colours remain
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202e" in text


def test_a_data_cell_is_shown_escaped_through_the_command_line(cli, tmp_path):
    (tmp_path / "cells.csv").write_text(f"x1,x2\n1,{RAW}0\n", encoding="utf-8")
    result = cli("run", str(EXAMPLES / "xor.net"), "--input", str(tmp_path / "cells.csv"))
    assert result.exit_code == 1
    assert _unsafe(result.output) == []
    assert "'\\x1b]0;pwned\\x07\\x1b[2J0' in column x2 is not a number" in result.output


def test_names_messages_hints_and_file_names_are_escaped_everywhere_they_are_shown():
    error = NetlangError(f"bad {RAW}", Span(1, 1, 1, 2), filename=f"a{RAW}.net", hint=f"try {RAW}", source="x\n")
    for text in (error.format(), str(error), json.dumps(error.to_dict(), ensure_ascii=False)):
        assert _unsafe(text) == [], text
    assert error.message == f"bad {RAW}"  # the data itself is kept; only what is shown is escaped


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet=st.sampled_from("ab \t\x1b\x07\x9b\u202e·"), max_size=30),
    marked=st.text(alphabet=st.sampled_from("xy\x1b\x00"), min_size=1, max_size=8),
    after=st.text(alphabet=st.sampled_from("cd \x1b"), max_size=30),
)
def test_the_caret_stays_under_what_it_points_at_when_characters_are_escaped(before, marked, after):
    line = before + marked + after
    start = len(before) + 1
    error = NetlangError("m", Span(1, start, 1, start + len(marked)), source=line + "\n")
    _, shown_line, caret_line = error.format().splitlines()[:3]
    text, caret = shown_line[len("1 | ") :], caret_line[len("  | ") :]
    assert _unsafe(text) == []
    column = len(caret) - len(caret.lstrip(" \t"))
    assert caret[:column] == "".join("\t" if ch == "\t" else " " for ch in text[:column])
    assert text[column : len(caret)] == escaped(marked)


def test_a_million_character_name_is_not_echoed_in_full(tmp_path):
    path = tmp_path / "long.net"
    path.write_text("input x1\nnode y = " + "w" * 1_000_000 + "*x1\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "netlang.launcher", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NETLANG_NO_CACHE": "1"},
    )
    assert result.returncode == 1
    assert "(1000000 characters)" in result.stdout + result.stderr
    assert len(result.stdout) + len(result.stderr) < 2000


def test_shown_caps_each_word_and_the_whole_text():
    word = "v" * 10_000
    text = shown(f"unknown name '{word}'")
    assert text == f"unknown name '{'v' * (WORD_LIMIT // 2)}...(10000 characters)'"
    many = shown(" ".join(["name"] * 5000))
    assert len(many) < TEXT_LIMIT + 40 and many.endswith("more characters)")
    assert shown("a short message, as it is") == "a short message, as it is"


def _npy(tmp_path: Path, name: str, array: np.ndarray) -> str:
    np.save(tmp_path / name, array)
    return str(tmp_path / name)


def _run_data(tmp_path: Path, path: str, dtype: str = "float64") -> NetlangError:
    network = netlang.load(EXAMPLES / "xor.net")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning would fail the test
        with pytest.raises(NetlangError) as info, open(tmp_path / "out.csv", "w") as out:
            source = data.open_source(path, network, dtype=dtype)
            data.run_batch(network, source, data.CsvSink(out, network.output_columns), dtype)
    return info.value


def test_a_data_file_of_text_says_data_values_not_weights(tmp_path):
    error = _run_data(tmp_path, _npy(tmp_path, "text.npy", np.array([["0", "1"]])))
    assert "holds text (<U1); data values must be real numbers" in error.message
    assert "weights" not in error.message


def test_a_value_too_large_for_float32_is_an_error_without_numpys_warning(tmp_path):
    rows = np.zeros((5000, 2))
    rows[4500, 1] = 1e300  # in the second block of rows: the row is counted from the file's start
    error = _run_data(tmp_path, _npy(tmp_path, "big.npy", rows), dtype="float32")
    assert error.message == "row 4500 (from 0), column x2, is 1e+300: too large for float32 (about ±3.4e+38 at most)"
    assert error.code == "number-out-of-range"


@pytest.mark.skipif(np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="longdouble is float64 here")
def test_a_float128_value_beyond_float64_is_an_error_without_numpys_warning(tmp_path):
    array = np.array([[np.longdouble("1e400"), 0]], dtype=np.longdouble)
    error = _run_data(tmp_path, _npy(tmp_path, "wide.npy", array))
    assert "is 1e+400: too large for float64" in error.message
    np.save(tmp_path / "W.npy", array.reshape(2, 1).T.reshape(1, 2))
    (tmp_path / "w.net").write_text('input x1, x2\nlet W = load("W.npy")\nlayer y = W @ [x1, x2]\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NetlangError) as info:
            netlang.load(tmp_path / "w.net")
    assert "'W.npy' holds 1e+400 at [0, 0], too large for float64" in info.value.message
