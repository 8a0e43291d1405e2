"""Metrics a reader can check by hand."""

import math

from textlstm.evaluation import evaluate_predictions, format_report, misclassified_texts
from textlstm.labels import LabelSet

LABELS = LabelSet(("a", "b"))
# true: a a b b; predicted: a b b b
TRUE = [[1, 0], [1, 0], [0, 1], [0, 1]]
PREDICTED = [[1, 0], [0, 1], [0, 1], [0, 1]]


def test_single_label_metrics():
    report = evaluate_predictions(LABELS, TRUE, PREDICTED)
    assert report["accuracy"] == 0.75
    assert report["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert report["per_class"]["b"]["precision"] == 2 / 3 and report["per_class"]["b"]["recall"] == 1.0
    assert abs(report["macro_f1"] - (2 / 3 + 0.8) / 2) < 1e-12
    assert report["confusion_matrix"] == [[1, 1], [0, 2]]


def test_multi_label_metrics():
    labels = LabelSet(("x", "y"), multi_label=True)
    report = evaluate_predictions(labels, [[1, 1], [0, 1]], [[1, 0], [0, 1]])
    assert report["accuracy"] == 0.5  # exact match
    assert report["confusion_matrix"][0] == [[1, 0], [0, 1]]  # x: tn 1, fp 0, fn 0, tp 1
    assert report["per_class"]["y"]["recall"] == 0.5


def test_format_report_lists_every_class_and_the_matrix():
    text = format_report(evaluate_predictions(LABELS, TRUE, PREDICTED))
    assert "accuracy   0.7500" in text
    assert "confusion matrix (rows: true class, columns: predicted)" in text
    assert text.splitlines()[-1].split() == ["b", "0", "2"]


def test_misclassified_texts_are_the_wrong_ones_with_their_cross_entropy():
    labels = LabelSet(("a", "b", "c"))
    texts = ["right", "wrong", "sure and wrong"]
    true = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    probabilities = [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [1.0, 0.0, 0.0]]
    predicted = [[1, 0, 0], [1, 0, 0], [1, 0, 0]]
    records = misclassified_texts(labels, texts, true, probabilities, predicted, lambda i: f"t.csv, line {i + 2}")
    assert records == [
        {"where": "t.csv, line 3", "text": "wrong", "label": "b", "predicted": "a", "score": 0.5, "loss": round(-math.log(0.4), 6)},
        # p(c) = 0 is clipped to 1e-7, as Keras's cross-entropy clips it
        {"where": "t.csv, line 4", "text": "sure and wrong", "label": "c", "predicted": "a", "score": 1.0, "loss": round(-math.log(1e-7), 6)},
    ]


def test_misclassified_multi_label_texts_have_the_mean_binary_cross_entropy():
    labels = LabelSet(("x", "y"), multi_label=True, delimiter="|")
    records = misclassified_texts(labels, ["both", "none"], [[1, 1], [0, 1]], [[0.9, 0.3], [0.2, 0.4]], [[1, 0], [0, 0]])
    assert len(records) == 2
    assert records[0] == {
        "where": "example 0", "text": "both", "label": "x|y", "predicted": "x", "score": 0.9,
        "loss": round(-(math.log(0.9) + math.log(0.3)) / 2, 6),
    }
    assert records[1]["predicted"] == "" and records[1]["loss"] == round(-(math.log(0.8) + math.log(0.4)) / 2, 6)
