"""The lexer (the pipeline's first step, inside the parser): .net source text to Lark tokens, by the grammar's own terminals.

Lark's contextual lexer tries the terminals one token at a time and counts lines and
columns through a ``LineCounter``: on a large netlist that was a third of the parse.
:class:`GrammarLexer` finds the same tokens with one regular expression built from the
grammar's terminals (tried in the order Lark tries them), which also steps over the
whitespace before each token. Whenever the parser's state does not accept what it found
(an ``INT`` where a size is expected, or a mistake), it hands that one token to Lark's
contextual lexer, so that the tokens and the errors are exactly Lark's.
"""

from __future__ import annotations

import re
from typing import Any, Collection, Dict, FrozenSet, Iterator, List, Optional, Tuple

from lark.common import LexerConf
from lark.lexer import BasicLexer, ContextualLexer, Lexer, LexerState, Token

# Token(...) without its check for a deprecated keyword argument (Lark 1.2+); Token itself otherwise.
_new_token = getattr(Token, "_future_new", Token)


class GrammarLexer(Lexer):
    """A Lark custom lexer (``Lark(..., lexer=GrammarLexer)``) with the contextual lexer's results.

    A subclass that post-processes the tokens inside ``lex`` (rather than through Lark's
    ``postlex=``, which is shared by every parse) names the terminals its post-lexer reads in
    every parser state in ``ALWAYS_ACCEPT``, and the ignored terminals it wants to see (comments)
    in ``WATCHED``: :meth:`tokens` hands those to the list it is given.
    """

    __future_interface__ = 2  # lex(lexer_state, parser_state), as Lark's own lexers
    ALWAYS_ACCEPT: Tuple[str, ...] = ()
    WATCHED: Tuple[str, ...] = ()

    def __init__(self, conf: LexerConf) -> None:
        self.conf = conf
        # Lark's own lexer over every terminal: it validates them and sorts them into the
        # order its scanner tries them (priority, then longest possible match first).
        every_terminal = BasicLexer(conf)
        terminals = every_terminal.terminals
        self.callbacks: Dict[str, Any] = dict(conf.callbacks)
        self.ignored: FrozenSet[str] = frozenset(conf.ignore)
        self.always_accept: FrozenSet[str] = frozenset(conf.postlex.always_accept if conf.postlex else self.ALWAYS_ACCEPT)
        self.watched: FrozenSet[str] = frozenset(self.WATCHED)
        # Ignored terminals that nobody watches (whitespace) are skipped inside the match.
        skipped = [t for t in terminals if t.name in self.ignored and t.name not in self.callbacks and t.name not in self.watched]
        matched = [t for t in terminals if t not in skipped]
        skip = "|".join(t.pattern.to_regexp() for t in skipped)
        body = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in matched)
        # At most one skipped run before a token: `(?:WS)*` would backtrack exponentially over a
        # long run of blanks that ends in a mistake. Two runs in a row (possible only with two
        # skipped terminals) make the match fail, and the contextual lexer takes over.
        self.pattern = re.compile(f"(?:{skip})?(?:{body})" if skip else body, conf.g_regex_flags)
        self.multiline = every_terminal.newline_types  # terminals whose pattern may match a newline
        self._contextual: Optional[ContextualLexer] = None

    def contextual(self, parse_states: Dict[Any, Dict[str, Any]]) -> ContextualLexer:
        """Lark's contextual lexer for this grammar, built the first time a token needs it."""
        if self._contextual is None:
            states: Dict[int, Collection[str]] = {state: list(actions) for state, actions in parse_states.items()}
            self._contextual = ContextualLexer(self.conf, states, always_accept=self.always_accept)
        return self._contextual

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        return self.tokens(lexer_state, parser_state, [])

    def tokens(self, lexer_state: LexerState, parser_state: Any, watched: List[Token]) -> Iterator[Token]:
        """The tokens the parser takes; the ignored ones named in ``WATCHED`` are appended to ``watched``."""
        text = lexer_state.text.text
        end = lexer_state.text.end
        counter = lexer_state.line_ctr
        position, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
        match = self.pattern.match
        parse_states = parser_state.parse_conf.states
        state_stack = parser_state.state_stack  # the parser changes this list in place
        callbacks, ignored, always_accept, multiline = self.callbacks, self.ignored, self.always_accept, self.multiline
        watching = self.watched
        last: Optional[Token] = lexer_state.last_token
        while position < end:
            found = match(text, position, end)
            kind = found.lastgroup if found is not None else None
            if found is None or kind is None or (kind not in parse_states[state_stack[-1]] and kind not in always_accept and kind not in ignored):
                # Not a token this state takes, or no token at all: Lark's contextual lexer
                # decides (another terminal, the end of the text, or the error it raises).
                counter.char_pos, counter.line, counter.line_start_pos = position, line, line_start
                counter.column = position - line_start + 1
                lexer_state.last_token = last
                token = next(self.contextual(parse_states).lex(lexer_state, parser_state), None)
                if token is None:
                    return
                position, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
                last = token
                yield token
                continue
            start = found.start(kind)
            value = found.group(kind)
            column = start - line_start + 1
            position = found.end()
            if kind in multiline and "\n" in value:
                first_line = line
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
                token = _new_token(kind, value, start, first_line, column, line, position - line_start + 1, position)
            else:
                token = _new_token(kind, value, start, line, column, line, column + len(value), position)
            if kind in callbacks:
                token = callbacks[kind](token)
            if kind in ignored:
                if kind in watching:
                    watched.append(token)
                continue
            last = token
            yield token
        counter.char_pos, counter.line, counter.line_start_pos = position, line, line_start
        counter.column = position - line_start + 1
        lexer_state.last_token = last

