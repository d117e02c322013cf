"""The Pygments lexer: token types, agreement with the grammar, and its registration."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pygments = pytest.importorskip("pygments", reason="the highlight extra: pip install '.[highlight]'")

from pygments.lexers import get_lexer_by_name, get_lexer_for_filename  # noqa: E402
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String  # noqa: E402

from netlang.activations import PUBLIC_NAMES  # noqa: E402
from netlang.callables import BUILTINS  # noqa: E402
from netlang.parser import keywords  # noqa: E402
from netlang.pygments_lexer import NetlangLexer  # noqa: E402

from conftest import EXAMPLES  # noqa: E402


def tokens(text: str) -> list:
    return [(kind, value) for kind, value in NetlangLexer().get_tokens(text) if value.strip()]


def kind_of(text: str, word: str):
    return next(kind for kind, value in tokens(text) if value == word)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.net")), ids=lambda p: p.name)
def test_every_example_lexes_without_errors_and_round_trips(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lexed = list(NetlangLexer().get_tokens(text))
    assert [value for kind, value in lexed if kind in Error] == []
    assert "".join(value for _, value in lexed) == text


def test_windows_line_endings_and_continued_lines() -> None:
    text = "input x1, x2\r\nnode y = step(0.5*x1 +\r\n    0.5*x2 > 0.7)\r\n"
    assert not [value for kind, value in NetlangLexer().get_tokens(text) if kind in Error]


def test_every_keyword_of_the_grammar_is_a_keyword() -> None:
    assert set(keywords()) >= {"input", "let", "node", "layer", "output", "expect", "within"}
    for word in keywords():
        assert kind_of(f"{word} x", word) is Keyword


def test_words_that_start_with_a_keyword_are_names() -> None:
    assert kind_of("node inputs = x", "inputs") is Name
    assert kind_of("node layer2 = x", "layer2") is Name
    assert kind_of("node nodes = x", "nodes") is Name


def test_activations_and_builtins_are_builtins() -> None:
    for word in PUBLIC_NAMES + BUILTINS:
        assert kind_of(f"node y = {word}(x)", word) in Name.Builtin
    # A name that only contains an activation's name is an ordinary name.
    assert kind_of("node y = sigmoid2 + x", "sigmoid2") is Name


def test_numbers_comments_strings_and_operators() -> None:
    text = 'layer h[3] = relu(W @ x + 0.5) # hidden\nlet W = load("w.npy")\nexpect (1, .5e-3) -> 2 within 1E2'
    kinds = dict((value, kind) for kind, value in tokens(text))
    assert kinds["3"] is Number.Integer
    assert kinds["0.5"] is Number.Float
    assert kinds[".5e-3"] is Number.Float
    assert kinds["1E2"] is Number.Float
    assert kinds["# hidden"] in Comment
    assert kinds['"w.npy"'] in String
    for op in ("@", "+", "=", "->"):
        assert kinds[op] in Operator, op
    for bracket in ("(", ")", "[", "]", ","):
        assert kinds[bracket] is Punctuation, bracket


def test_comparisons_are_single_operators() -> None:
    assert [value for kind, value in tokens("step(a >= b) step(a<=b) step(a>b)") if kind in Operator] == [
        ">=",
        "<=",
        ">",
    ]


def test_characters_outside_the_language_are_errors() -> None:
    assert (Error, "?") in tokens("node y = x ? 1")
    assert (Error, "^") in tokens("node y = x ^ 2")


def test_the_entry_point_is_registered() -> None:
    entry_points = importlib.metadata.entry_points(group="pygments.lexers")
    (entry,) = [ep for ep in entry_points if ep.name == "netlang"]
    assert entry.load() is NetlangLexer


def test_pygments_finds_the_lexer_by_name_and_by_file_name() -> None:
    assert isinstance(get_lexer_by_name("netlang"), NetlangLexer)
    assert isinstance(get_lexer_for_filename("model.net"), NetlangLexer)


def test_pygments_recognises_netlang_text() -> None:
    from pygments.lexers import guess_lexer

    for path in sorted(EXAMPLES.glob("*.net")):
        assert isinstance(guess_lexer(path.read_text(encoding="utf-8")), NetlangLexer), path.name
    assert not isinstance(guess_lexer("import os\nprint(os.sep)\n"), NetlangLexer)


def test_pygmentize_colours_a_file() -> None:
    pygmentize = shutil.which("pygmentize", path=str(Path(sys.executable).parent))
    assert pygmentize, "pygmentize is installed with pygments"
    result = subprocess.run(
        [pygmentize, "-l", "netlang", "-f", "html", str(EXAMPLES / "and.net")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '<span class="k">input</span>' in result.stdout
    assert '<span class="nb">step</span>' in result.stdout
    assert '<span class="c1"># AND' in result.stdout


def test_netlang_does_not_import_the_lexer() -> None:
    code = "import sys, netlang, netlang.cli; print('netlang.pygments_lexer' in sys.modules, 'pygments' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]
