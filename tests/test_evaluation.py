"""Metrics a reader can check by hand."""

from textlstm.evaluation import evaluate_predictions, format_report
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
