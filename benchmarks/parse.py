"""The incremental parser: a one-character edit of a 1,000-line netlist, parsed again.

What the language server does on each change: ``IncrementalParser.parse`` of the edited text
(one weight changed, alternately in two places), against ``parse_recovering`` of the same
text, which parses the whole file (what every change cost before). Also: a line inserted at
the top (every statement below moves, none is parsed again), and the first version of the
document (parsed whole, then split into its statements). Each result is checked equal to
``parse_recovering``'s before anything is timed.
"""

from __future__ import annotations

from typing import Callable, List

from _common import arguments, interleaved, machine_note, netlist, report

from netlang.parser import IncrementalParser, parse_recovering


def _same(first: object, second: object) -> bool:
    (program, errors, unparsed), (program2, errors2, unparsed2) = first, second  # type: ignore[misc]
    return program.to_json() == program2.to_json() and [e.format() for e in errors] == [e.format() for e in errors2] and unparsed == unparsed2


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    machine_note()
    lines = 1000
    text = netlist(lines)
    # Two edits of one character each, in the middle of the file, applied in turn.
    edits = [text.replace(f"node n{lines // 2} = sigmoid(0.5*", f"node n{lines // 2} = sigmoid(0.6*"), text]
    inserted = ["# a new first line\n" + text, text]
    repeats = 5 if args.quick else 21

    def cycling(versions: List[str], parser: IncrementalParser) -> Callable[[], object]:
        turn = [0]

        def parse() -> object:
            turn[0] += 1
            return parser.parse(versions[turn[0] % 2])

        return parse

    for versions in (edits, inserted):
        parser = IncrementalParser()
        parser.parse(text)
        for version in versions + versions:
            assert _same(parser.parse(version), parse_recovering(version))
    whole, edit, insert, first = interleaved(
        [
            lambda: parse_recovering(edits[0]),
            cycling(edits, _warm(text)),
            cycling(inserted, _warm(text)),
            lambda: IncrementalParser().parse(text),
        ],
        repeats,
    )
    report(
        f"a {lines}-line netlist ({len(text)} characters), parsed after each change",
        [
            ("parse_recovering, the whole text", whole),
            ("IncrementalParser, one character edited", edit),
            ("IncrementalParser, a line inserted at the top", insert),
            ("IncrementalParser, the first version", first),
        ],
        whole,
        "a one-character edit well under the language server's 50 ms",
    )


def _warm(text: str) -> IncrementalParser:
    parser = IncrementalParser()
    parser.parse(text)
    return parser


if __name__ == "__main__":
    main()
