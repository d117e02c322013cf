"""The dependency graph of a program's definitions: which names each one reads.

One home for what the checker (evaluation order, cycles) and the linter (what reaches an
output, who reads an input) both need.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from .nodes import Expr, names_read


class Dependencies:
    """``reads[name]``: the names definition ``name`` reads, in order of first use.

    ``previous``: the graph of an earlier version of the same document (an editor's), whose
    ``reads`` are taken for the very same expressions (the incremental parser keeps the nodes
    of unchanged statements) instead of walking them again; when the graph is the same (the
    same definitions, each reading the same names in the same order, as after an edit of a
    weight), so are its order, cycles, readers and reached sets, which are taken too. What
    the methods return is shared with later versions: read it, do not change it.
    """

    def __init__(self, values: Mapping[str, Expr], previous: Optional["Dependencies"] = None) -> None:
        self.values = values
        self._order: Optional[Tuple[List[str], List[List[str]]]] = None  # and the cycles met
        self._readers: Optional[Dict[str, List[str]]] = None
        self._reached: Dict[Tuple[str, ...], Set[str]] = {}
        if previous is None:
            self.reads: Dict[str, Dict[str, None]] = {name: names_read(value) for name, value in values.items()}
            return
        before, known = previous.values, previous.reads
        same = list(values) == list(before)
        self.reads = {}
        for name, value in values.items():
            if before.get(name) is value:
                self.reads[name] = known[name]
            else:
                self.reads[name] = found = names_read(value)
                same = same and list(found) == list(known.get(name, ()))
        if same:
            self._order, self._readers, self._reached = previous._order, previous._readers, previous._reached

    def __repr__(self) -> str:
        return f"Dependencies({len(self.reads)} definitions)"

    def order(self, on_cycle: Callable[[List[str]], None]) -> List[str]:
        """Every definition after each definition it reads; ``on_cycle`` gets each cycle met.

        In order of definition and of first use, so that messages about cycles do not vary
        from run to run.
        """
        if self._order is None:
            self._order = self._ordered()
        order, cycles = self._order
        for cycle in cycles:
            on_cycle(list(cycle))
        return list(order)

    def _ordered(self) -> Tuple[List[str], List[List[str]]]:
        cycles: List[List[str]] = []
        reads = {name: [r for r in referenced if r in self.reads] for name, referenced in self.reads.items()}
        order: List[str] = []
        state: Dict[str, int] = {}  # 1: on the path being searched, 2: done
        for root in reads:
            if root in state:
                continue
            # Iterative depth-first search: netlists may be far deeper than Python's stack.
            stack: List[Tuple[str, int]] = [(root, 0)]
            path: List[str] = []
            while stack:
                name, i = stack.pop()
                if i == 0:
                    state[name] = 1
                    path.append(name)
                children = reads[name]
                if i < len(children):
                    stack.append((name, i + 1))
                    child = children[i]
                    if state.get(child) == 1:
                        cycles.append(path[path.index(child) :])
                    elif child not in state:
                        stack.append((child, 0))
                    continue
                state[name] = 2
                path.pop()
                order.append(name)
        return order, cycles

    def readers(self) -> Dict[str, List[str]]:
        """For each name, the other definitions that read it, in definition order."""
        if self._readers is None:
            self._readers = self._read_by()
        return self._readers

    def _read_by(self) -> Dict[str, List[str]]:
        readers: Dict[str, List[str]] = {}
        for name, names in self.reads.items():
            for read in names:
                if read != name:
                    readers.setdefault(read, []).append(name)
        return readers

    def reached(self, roots: Iterable[str]) -> Set[str]:
        """``roots`` and every name they depend on, followed back through the definitions."""
        key = tuple(roots)
        if key not in self._reached:
            self._reached[key] = self._followed(key)
        return self._reached[key]

    def _followed(self, roots: Tuple[str, ...]) -> Set[str]:
        reached: Set[str] = set()
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name not in reached:
                reached.add(name)
                pending.extend(self.reads.get(name, ()))
        return reached
