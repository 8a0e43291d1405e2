"""Label names <-> indicator matrices, for single-label and multi-label tasks."""

import dataclasses

import numpy as np

from textlstm.errors import DataError


@dataclasses.dataclass(frozen=True)
class LabelSet:
    """The classes a model predicts, in output-column order.

    Attributes:
        classes: sorted label names; column ``j`` of every probability matrix is ``classes[j]``.
        multi_label: whether a text may carry several labels.
        delimiter: separates several labels in one label string (multi-label).
    """

    classes: tuple
    multi_label: bool = False
    delimiter: str = "|"

    @classmethod
    def fit(cls, labels, multi_label, delimiter, source="training data"):
        """Collect the classes of ``labels`` (a list of str, or of lists for multi-label).

        Raises:
            DataError: fewer than two classes.
        """
        found = set()
        for value in labels:
            found.update(split_labels(value, multi_label, delimiter))
        classes = tuple(sorted(found))
        if len(classes) < 2:
            only = f" ({classes[0]!r})" if classes else ""
            raise DataError(f"{source}: only one class{only} in the labels; a classifier needs at least two")
        return cls(classes, multi_label, delimiter)

    def encode(self, labels, where=None):
        """Labels -> float32 indicators, shape (n, classes): one-hot, or multi-hot for multi-label.

        Args:
            labels: list of str (or of lists).
            where: ``where(i)`` describes example ``i`` for errors, e.g. ``"test.csv, line 7"``.

        Raises:
            DataError: a label that is not in ``classes``, or several labels for one text of a
                single-label task (a list, as fastText lines and JSONL give them).
        """
        index = {name: column for column, name in enumerate(self.classes)}
        targets = np.zeros((len(labels), len(self.classes)), dtype=np.float32)
        where = where or (lambda row: f"example {row}")
        for row, value in enumerate(labels):
            names = split_labels(value, self.multi_label, self.delimiter)
            if not self.multi_label and len(names) > 1:
                raise several_labels_error(names, where(row))
            for name in names:
                if name not in index:
                    raise DataError(
                        f"{where(row)}: label {name!r} was not seen in training (known: {', '.join(self.classes)})"
                    )
                targets[row, index[name]] = 1.0
        return targets

    def decide(self, probabilities, thresholds):
        """Probabilities (n, classes) -> predicted indicators (n, classes), bool.

        Single-label: the argmax column. Multi-label: every column at or above its threshold.
        """
        probabilities = np.asarray(probabilities)
        if not self.multi_label:
            return np.eye(len(self.classes), dtype=bool)[probabilities.argmax(axis=1)]
        return probabilities >= np.asarray(thresholds)[None, :]

    def decode(self, indicators):
        """Indicators (n, classes) -> label strings; several labels are joined by the delimiter."""
        return [self.delimiter.join(np.asarray(self.classes)[row]) for row in np.asarray(indicators, dtype=bool)]

    def to_dict(self):
        return {"classes": list(self.classes), "multi_label": self.multi_label, "delimiter": self.delimiter}

    @classmethod
    def from_dict(cls, values):
        return cls(tuple(values["classes"]), bool(values["multi_label"]), values["delimiter"])


def split_labels(value, multi_label, delimiter):
    """The label names in one label value: a list as is; a string split at ``delimiter`` (multi-label)."""
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value]
    if multi_label:
        return [part.strip() for part in str(value).split(delimiter) if part.strip()]
    return [str(value).strip()]


def several_labels_error(names, place):
    """The DataError for the labels ``names`` (more than one) of one text of a single-label task."""
    return DataError(
        f"{place}: {len(names)} labels ({', '.join(names)}) for one text, but the task is single-label; "
        "the multi-label task takes several"
    )
