"""Scoring: a network's outputs as classes, compared with labels (accuracy, per-class counts, confusion matrix)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np


def class_count(output_width: int) -> int:
    """How many classes a network's outputs tell apart: one per output, or 2 for a single output."""
    return 2 if output_width == 1 else output_width


def classes(outputs: np.ndarray) -> np.ndarray:
    """The class of each row of outputs: the argmax of a vector (the first of equal largest
    values), or for a single output 1 when it is at least 0.5 (a step's 1, a sigmoid's upper half)."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(outputs, axis=1)


def class_of(outputs: Dict[str, Any]) -> int:
    """The class of one sample's outputs given by name (``run --class``), as :func:`classes` counts it."""
    row = np.concatenate([np.ravel(np.asarray(value, dtype=np.float64)) for value in outputs.values()])
    return int(classes(row[None, :])[0])


class WithClass:
    """A network whose outputs end with a column ``class`` (``run --input --class``): what the
    data sources and sinks use of a Network, the class added to each block of outputs."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.input_width = network.input_width
        self.input_columns = network.input_columns
        self.output_names = tuple(network.output_names) + ("class",)
        self.output_sizes = tuple(network.output_sizes) + (None,)
        self.output_columns = tuple(network.output_columns) + ("class",)
        self.output_width = network.output_width + 1

    def __repr__(self) -> str:
        return f"WithClass({self.network!r})"

    def __call__(self, batch: Any, dtype: Any = np.float64) -> np.ndarray:
        outputs = self.network(batch, dtype=dtype)
        found = classes(np.asarray(outputs, dtype=np.float64)) if len(outputs) else np.zeros(0)
        return np.column_stack([outputs, found.astype(outputs.dtype)])


class Score:
    """Counts of predicted against true classes, added up block by block.

    ``confusion[i, j]``: samples of class i (the label) the network put in class j.
    """

    def __init__(self, count: int) -> None:
        self.confusion = np.zeros((count, count), dtype=np.int64)

    def add(self, outputs: np.ndarray, labels: np.ndarray) -> None:
        count = len(self.confusion)
        pairs = labels.astype(np.int64) * count + classes(outputs)
        self.confusion += np.bincount(pairs, minlength=count * count).reshape(count, count)

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def accuracy(self) -> Optional[float]:
        return self.correct / self.total if self.total else None

    def __repr__(self) -> str:
        return f"Score({self.correct}/{self.total} correct, {len(self.confusion)} classes)"

    def per_class(self) -> List[Dict[str, Any]]:
        """For each class: how many samples have it, how many of those are right, how many the network predicted."""
        rows = []
        for k in range(len(self.confusion)):
            count = int(self.confusion[k].sum())
            correct = int(self.confusion[k, k])
            rows.append(
                {
                    "class": k,
                    "count": count,
                    "correct": correct,
                    "predicted": int(self.confusion[:, k].sum()),
                    "accuracy": correct / count if count else None,
                }
            )
        return rows

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: ``accuracy``, ``correct``, ``total``, ``confusion`` (rows: labels, columns: predictions), ``classes``."""
        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "total": self.total,
            "confusion": self.confusion.tolist(),
            "classes": self.per_class(),
        }

    def text(self) -> str:
        """The score as a person reads it: accuracy, then per class, then the confusion matrix."""
        accuracy = self.accuracy
        lines = [
            f"accuracy: {accuracy:.4f} ({self.correct} of {self.total} correct)" if accuracy is not None else "accuracy: no samples"
        ]
        lines.append("")
        lines.append("class  count  correct  predicted  accuracy")
        for row in self.per_class():
            share = f"{row['accuracy']:.4f}" if row["accuracy"] is not None else "-"
            lines.append(f"{row['class']:>5}  {row['count']:>5}  {row['correct']:>7}  {row['predicted']:>9}  {share:>8}")
        lines.append("")
        lines.append("confusion (rows: label, columns: predicted class)")
        width = max(5, len(str(int(self.confusion.max(initial=0)))) + 1)
        count = len(self.confusion)
        lines.append("     " + "".join(f"{k:>{width}}" for k in range(count)))
        for k in range(count):
            lines.append(f"{k:>5}" + "".join(f"{v:>{width}}" for v in self.confusion[k]))
        return "\n".join(lines)
