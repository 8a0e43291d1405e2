"""LabelSet: classes in column order, one-hot and multi-hot targets, decisions and errors."""

import numpy as np
import pytest

from textlstm.errors import DataError
from textlstm.labels import LabelSet


def test_single_label_encode_decide_decode():
    labels = LabelSet.fit(["b", "a", "b"], multi_label=False, delimiter="|")
    assert labels.classes == ("a", "b")
    np.testing.assert_array_equal(labels.encode(["b", "a"]), [[0, 1], [1, 0]])
    decided = labels.decide([[0.2, 0.8], [0.6, 0.4]], thresholds=[0.5, 0.5])
    assert labels.decode(decided) == ["b", "a"]


def test_multi_label_with_delimiter_lists_and_thresholds():
    labels = LabelSet.fit(["x|y", ["z"], "y"], multi_label=True, delimiter="|")
    assert labels.classes == ("x", "y", "z")
    np.testing.assert_array_equal(labels.encode(["x | z", ["y"]]), [[1, 0, 1], [0, 1, 0]])
    decided = labels.decide([[0.9, 0.4, 0.2], [0.1, 0.2, 0.3]], thresholds=[0.5, 0.3, 0.25])
    assert labels.decode(decided) == ["x|y", "z"]


def test_unseen_label_names_the_place():
    labels = LabelSet.fit(["a", "b"], False, "|")
    with pytest.raises(DataError, match=r"^test.csv, line 7: label 'c' was not seen in training \(known: a, b\)$"):
        labels.encode(["a", "c"], where=lambda i: f"test.csv, line {6 + i}")


def test_several_labels_for_one_text_of_a_single_label_task_is_an_error():
    labels = LabelSet.fit(["a", ["a", "b"]], False, "|")
    np.testing.assert_array_equal(labels.encode([["b"], "a"]), [[0, 1], [1, 0]])
    with pytest.raises(DataError, match=r"^t.jsonl, line 2: 2 labels \(a, b\) for one text, but the task is single-label"):
        labels.encode(["a", ["a", "b"]], where=lambda i: f"t.jsonl, line {1 + i}")


def test_one_class_is_an_error():
    with pytest.raises(DataError, match=r"^train.csv: only one class \('a'\) in the labels"):
        LabelSet.fit(["a", "a"], False, "|", source="train.csv")
