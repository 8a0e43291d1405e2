"""Metrics a reader can check by hand."""

import math

import numpy as np
from sklearn.metrics import f1_score

from textlstm.evaluation import bootstrap_intervals, evaluate_predictions, format_report, misclassified_texts, paired_intervals
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
    assert "accuracy   0.7500   95% interval 0.2500-1.0000" in text
    assert "(bootstrap: the 4 texts resampled 1,000 times)" in text
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


def test_bootstrap_intervals_of_a_single_kind_of_row_do_not_move():
    # every text is class a and predicted a: accuracy 1 and, class b never occurring, F1 (1 + 0) / 2
    intervals = bootstrap_intervals([[1, 0]] * 5, [[1, 0]] * 5)
    assert intervals == {"confidence": 0.95, "resamples": 1000, "accuracy": [1.0, 1.0], "macro_f1": [0.5, 0.5]}


def exact_match(true, predicted):
    return np.mean(true == predicted) if true.ndim == 1 else np.mean((true == predicted).all(axis=1))


def index_bootstrap(true, predicted, score, resamples, rng):
    """The textbook bootstrap: draw n row indices with replacement, score the rows drawn."""
    draws = rng.integers(0, len(true), size=(resamples, len(true)))
    return np.quantile([score(true[rows], predicted[rows]) for rows in draws], [0.025, 0.975])


def test_bootstrap_intervals_match_resampling_the_texts_themselves():
    rng = np.random.default_rng(7)
    true = rng.integers(0, 4, 400)
    predicted = np.where(rng.random(400) < 0.7, true, rng.integers(0, 4, 400))
    one_hot = np.eye(4, dtype=bool)
    intervals = bootstrap_intervals(one_hot[true], one_hot[predicted], resamples=2000)
    macro = lambda t, p: f1_score(t, p, labels=[0, 1, 2, 3], average="macro", zero_division=0)  # noqa: E731
    np.testing.assert_allclose(intervals["accuracy"], index_bootstrap(true, predicted, exact_match, 600, rng), atol=0.01)
    np.testing.assert_allclose(intervals["macro_f1"], index_bootstrap(true, predicted, macro, 600, rng), atol=0.01)
    # multi-label: exact match and the per-class F1 of the indicator columns
    true_sets = rng.random((300, 3)) < 0.4
    predicted_sets = true_sets ^ (rng.random((300, 3)) < 0.15)
    multi_macro = lambda t, p: f1_score(t, p, average="macro", zero_division=0)  # noqa: E731
    accuracy = index_bootstrap(true_sets, predicted_sets, exact_match, 600, rng)
    macro_f1 = index_bootstrap(true_sets, predicted_sets, multi_macro, 600, rng)
    # drawn as its 41 distinct rows, and as 20 groups of about 15 texts
    for intervals in bootstrap_intervals(true_sets, predicted_sets, resamples=2000), bootstrap_intervals(true_sets, predicted_sets, resamples=2000, max_units=20):
        np.testing.assert_allclose(intervals["accuracy"], accuracy, atol=0.015)
        np.testing.assert_allclose(intervals["macro_f1"], macro_f1, atol=0.015)


def test_paired_intervals_of_two_models_on_the_same_texts():
    rng = np.random.default_rng(3)
    true = rng.integers(0, 3, 500)
    ours = np.where(rng.random(500) < 0.8, true, rng.integers(0, 3, 500))
    theirs = np.where(rng.random(500) < 0.9, ours, rng.integers(0, 3, 500))  # mostly the same answers
    one_hot = np.eye(3, dtype=bool)
    same = paired_intervals(one_hot[true], one_hot[ours], one_hot[ours])
    assert same["accuracy"] == [0.0, 0.0] and same["macro_f1"] == [0.0, 0.0]
    intervals = paired_intervals(one_hot[true], one_hot[ours], one_hot[theirs], resamples=2000)
    macro = lambda t, p: f1_score(t, p, labels=[0, 1, 2], average="macro", zero_division=0)  # noqa: E731
    draws = rng.integers(0, 500, size=(600, 500))
    for name, score in ("accuracy", exact_match), ("macro_f1", macro):
        differences = [score(true[rows], ours[rows]) - score(true[rows], theirs[rows]) for rows in draws]
        np.testing.assert_allclose(intervals[name], np.quantile(differences, [0.025, 0.975]), atol=0.006)
        # paired: narrower than one model's own interval (two independent ones would differ by sqrt(2) times it)
        alone = bootstrap_intervals(one_hot[true], one_hot[ours])[name]
        assert intervals[name][1] - intervals[name][0] < alone[1] - alone[0]
