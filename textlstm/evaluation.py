"""Metrics with scikit-learn, and their readable tables."""

import numpy as np
import scipy.sparse
from sklearn import metrics as skm

from textlstm.data import iter_corpora
from textlstm.errors import DataError

INTERVAL_CONFIDENCE = 0.95
INTERVAL_RESAMPLES = 1000
BOOTSTRAP_UNITS = 5000  # distinct (true, predicted) rows drawn from; more are dealt into as many groups
LOSS_EPSILON = 1e-7  # keras.config.epsilon(), which Keras's cross-entropies clip probabilities by


def evaluate_predictions(label_set, true, predicted):
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        label_set: LabelSet naming the columns.
        true, predicted: indicator arrays, shape (n, classes).

    Returns:
        A JSON-ready dict. Single-label: ``confusion_matrix[i][j]`` counts texts of class ``i``
        predicted as ``j``. Multi-label: ``accuracy`` is the exact-match ratio and the matrix is one
        2x2 ``[[tn, fp], [fn, tp]]`` per class. ``intervals``: ``bootstrap_intervals``'s.
    """
    true = np.asarray(true, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    columns = list(range(len(label_set.classes)))
    if label_set.multi_label:
        y_true, y_pred = true.astype(int), predicted.astype(int)
        matrix = skm.multilabel_confusion_matrix(y_true, y_pred).tolist()
    else:
        y_true, y_pred = true.argmax(axis=1), predicted.argmax(axis=1)
        matrix = skm.confusion_matrix(y_true, y_pred, labels=columns).tolist()
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=columns, zero_division=0
    )
    return {
        "examples": int(len(true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=columns, average="macro", zero_division=0)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_set.classes)
        },
        "intervals": bootstrap_intervals(true, predicted),
        "classes": list(label_set.classes),
        "multi_label": label_set.multi_label,
        "confusion_matrix": matrix,
    }


def bootstrap_intervals(
    true, predicted, resamples=INTERVAL_RESAMPLES, confidence=INTERVAL_CONFIDENCE, seed=0, max_units=BOOTSTRAP_UNITS
):
    """Percentile-bootstrap intervals of accuracy (exact match) and macro-F1: how far they could
    move on another sample of as many texts from the same source.

    Each of ``resamples`` resamples draws the n texts again with replacement. Such a draw is a
    multinomial draw of how often each distinct (true, predicted) row occurs, so the cost grows
    with the number of distinct rows (at most classes^2 for single-label), not with n. Where there
    are more than ``max_units`` distinct rows (multi-label, many classes), the texts are dealt at
    random into ``max_units`` groups and whole groups are drawn again: the groups' totals are
    independent and alike, as the texts are, so their spread is the texts'. ``seed`` makes the
    intervals the same for the same predictions.

    Args:
        true, predicted: indicators, shape (n, classes), n > 0.

    Returns:
        {"confidence", "resamples", "accuracy": [low, high], "macro_f1": [low, high]}; macro-F1 as
        scikit-learn's ``f1_score(average="macro", zero_division=0)`` over all the classes.
    """
    ((accuracy, macro_f1),) = _resampled_scores(true, [predicted], resamples, seed, max_units)
    return _intervals(accuracy, macro_f1, resamples, confidence)


def paired_intervals(
    true, predicted, other, resamples=INTERVAL_RESAMPLES, confidence=INTERVAL_CONFIDENCE, seed=0, max_units=BOOTSTRAP_UNITS
):
    """Percentile-bootstrap intervals of ``predicted``'s accuracy and macro-F1 minus ``other``'s
    on the same texts: each resample draws the texts once and scores both on them, so what the two
    get right or wrong together does not widen the interval (as ``bootstrap_intervals`` draws).

    Args:
        true, predicted, other: indicators, shape (n, classes), n > 0.

    Returns:
        As ``bootstrap_intervals``, of the differences.
    """
    (accuracy, macro_f1), (other_accuracy, other_macro_f1) = _resampled_scores(true, [predicted, other], resamples, seed, max_units)
    return _intervals(accuracy - other_accuracy, macro_f1 - other_macro_f1, resamples, confidence)


def _intervals(accuracy, macro_f1, resamples, confidence):
    bounds = [(1 - confidence) / 2, (1 + confidence) / 2]
    return {
        "confidence": confidence,
        "resamples": resamples,
        "accuracy": [float(value) for value in np.quantile(accuracy, bounds)],
        "macro_f1": [float(value) for value in np.quantile(macro_f1, bounds)],
    }


def _resampled_scores(true, predictions, resamples, seed, max_units):
    """[(accuracy, macro-F1)], each of shape (resamples,), of every indicator matrix of
    ``predictions`` on the same bootstrap resamples of the texts (see ``bootstrap_intervals``)."""
    true = np.asarray(true, dtype=bool)
    predictions = [np.asarray(predicted, dtype=bool) for predicted in predictions]
    packed = np.ascontiguousarray(np.packbits(np.concatenate([true, *predictions], axis=1), axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    # per distinct row and prediction: right (1), then per class a hit and a miss (false positive or negative)
    row_true = true[first]
    per_row = np.concatenate(
        [
            part
            for predicted in predictions
            for part in (
                (row_true == predicted[first]).all(axis=1, keepdims=True), row_true & predicted[first], row_true ^ predicted[first]
            )
        ],
        axis=1,
    ).astype(np.float64)
    rng = np.random.default_rng(seed)
    if len(counts) <= max_units:
        units, sizes = per_row, np.ones(len(counts))
        draws = rng.multinomial(len(true), counts / len(true), size=resamples)  # (resamples, distinct rows)
    else:
        groups = rng.integers(0, max_units, len(true))
        membership = scipy.sparse.csr_matrix((np.ones(len(true)), (groups, inverse.ravel())), shape=(max_units, len(counts)))
        units, sizes = membership @ per_row, np.bincount(groups, minlength=max_units)
        draws = rng.multinomial(max_units, np.full(max_units, 1 / max_units), size=resamples)  # (resamples, groups)
    totals = draws @ units  # (resamples, predictions * (1 + 2 classes))
    texts, classes = draws @ sizes, true.shape[1]
    scores = []
    for block in np.split(totals, len(predictions), axis=1):
        hits, misses = block[:, 1 : 1 + classes], block[:, 1 + classes :]
        f1 = np.divide(2 * hits, 2 * hits + misses, out=np.zeros(hits.shape), where=2 * hits + misses > 0)
        scores.append((block[:, 0] / texts, f1.mean(axis=1)))
    return scores


def evaluate_judged(label_set, judged, where=None, misclassified=None, other_judged=None):
    """``evaluate_predictions`` of a model's judgement of labelled texts.

    Args:
        judged: (texts, true, probabilities, predicted): the n texts, the true and the predicted
            indicators (n, classes), and the probabilities (n, classes) the prediction came from.
        where: ``where(i)`` names text ``i`` in the records (default ``"example i"``).
        misclassified: None, or a list to which ``misclassified_texts``' records are appended.
        other_judged: None, or another model's judgement of the same texts: the report then holds
            ``against_report``'s as ``against``.
    """
    if misclassified is not None:
        misclassified.extend(misclassified_texts(label_set, *judged, where))
    report = evaluate_predictions(label_set, judged[1], judged[3])
    if other_judged is not None:
        report["against"] = against_report(label_set, report, judged[1], judged[3], other_judged[3])
    return report


def evaluate_file(label_set, judge, path, options, batch_size, skipped=None, misclassified=None, other_judge=None):
    """``evaluate_predictions`` on a labelled file of any size, read and predicted ``batch_size``
    texts at a time (``textlstm.data.iter_corpora``, whose ``skipped`` this takes); only the true
    and predicted indicators are kept, as (n, classes) bools, and the misclassified texts' records
    where ``misclassified`` is a list, with its row's ``options.keep_columns`` as ``kept``.

    Args:
        judge: (texts, labels, where, batch_size) -> (texts, true, probabilities, predicted), as
            ``evaluate_judged`` takes them: a model's.
        other_judge: None, or another model's: the report then holds ``against_report``'s as
            ``against``.
    """
    true, predicted, other = [], [], []
    for part in iter_corpora(path, options, batch_size, skipped=skipped):
        judged = judge(part.texts, part.labels, part.where, batch_size)
        if misclassified is not None:
            misclassified.extend(misclassified_texts(label_set, *judged, part.where, part.kept))
        true.append(np.asarray(judged[1], dtype=bool))
        predicted.append(np.asarray(judged[3], dtype=bool))
        if other_judge is not None:
            other.append(np.asarray(other_judge(part.texts, part.labels, part.where, batch_size)[3], dtype=bool))
    true, predicted = np.concatenate(true), np.concatenate(predicted)
    report = evaluate_predictions(label_set, true, predicted)
    if other_judge is not None:
        report["against"] = against_report(label_set, report, true, predicted, np.concatenate(other))
    return report


def judge_of(model, classes):
    """The judging function (``TextClassifier._judge``) of ``model``, another model to evaluate
    ``against``: a fitted TextClassifier or a loaded export whose classes are ``classes``.

    Raises:
        TypeError: anything else.
        DataError: other classes.
    """
    if not hasattr(model, "_judge") or not hasattr(model, "classes_"):
        raise TypeError(f"against: expected a fitted TextClassifier or a loaded export, got {type(model).__name__}")
    theirs, ours = [str(name) for name in model.classes_], [str(name) for name in classes]
    if theirs != ours:
        raise DataError(f"against: the other model predicts other classes ({', '.join(theirs)}) than this one ({', '.join(ours)})")
    return model._judge


def against_report(label_set, ours, true, predicted, other):
    """Another model's predictions ``other`` on the same texts: its own report, and this model's
    accuracy and macro-F1 (in ``ours``, its report) minus its own, with ``paired_intervals``'."""
    other_report = evaluate_predictions(label_set, true, other)
    return {
        "report": other_report,
        "accuracy": ours["accuracy"] - other_report["accuracy"],
        "macro_f1": ours["macro_f1"] - other_report["macro_f1"],
        "intervals": paired_intervals(true, predicted, other),
    }


def format_against(report, name, other_name):
    """The difference of ``report["against"]`` as a line per metric, in points."""
    against = report["against"]
    intervals = against["intervals"]
    share = f"{intervals['confidence']:.0%}"
    lines = [f"{name} minus {other_name}, on the same texts:"]
    for key, label in ("accuracy", "accuracy"), ("macro_f1", "macro-F1"):
        low, high = intervals[key]
        lines.append(f"{label:<10} {100 * against[key]:+.2f} points   {share} paired interval {100 * low:+.2f} to {100 * high:+.2f}")
    return "\n".join(lines)


def misclassified_texts(label_set, texts, true, probabilities, predicted, where=None, kept=None):
    """A record of each text whose predicted labels are not its true ones, in the texts' order.

    Args:
        texts: n strings.
        true, predicted: indicators, shape (n, classes).
        probabilities: the model's, shape (n, classes).
        where: ``where(i)`` names text ``i``, e.g. ``"test.csv, line 7"`` (default ``"example i"``).
        kept: None, or ``{column: [value per text]}`` (``Corpus.kept``): each record then also
            holds ``kept``, ``{column (an index as digits): the text's value}``.

    Returns:
        A list of JSON-ready dicts: ``where``, ``text``, ``label`` (the true labels, several joined
        by the delimiter), ``predicted`` (likewise; empty when a multi-label model predicts none),
        ``score`` (the highest probability, as ``predict`` gives it) and ``loss``: the text's
        cross-entropy, ``-ln p(true class)``, or for multi-label the mean binary cross-entropy over
        the classes, with probabilities clipped to [1e-7, 1 - 1e-7] as Keras's losses clip them.
        Sorting by ``loss``, largest first, puts the most confident mistakes first.
    """
    true = np.asarray(true, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    wrong = np.flatnonzero((true != predicted).any(axis=1))
    clipped = np.clip(probabilities[wrong], LOSS_EPSILON, 1 - LOSS_EPSILON)
    hits = true[wrong]
    if label_set.multi_label:
        losses = -np.where(hits, np.log(clipped), np.log(1 - clipped)).mean(axis=1)
    else:
        losses = -np.log(clipped[hits])  # one true column a row
    where = where or (lambda row: f"example {row}")
    true_names, predicted_names = label_set.decode(true[wrong]), label_set.decode(predicted[wrong])
    records = [
        {
            "where": where(int(row)),
            "text": str(texts[row]),
            "label": true_names[i],
            "predicted": predicted_names[i],
            "score": round(float(probabilities[row].max()), 6),
            "loss": round(float(losses[i]), 6),
        }
        for i, row in enumerate(wrong)
    ]
    if kept:
        for record, row in zip(records, wrong):
            record["kept"] = {str(column): values[row] for column, values in kept.items()}
    return records


MISCLASSIFIED_FIELDS = ("where", "text", "label", "predicted", "score", "loss")


def interval_text(report, metric):
    """``"95% interval 0.8900-0.9380"``: the bootstrap interval of ``metric`` in a report."""
    intervals = report["intervals"]
    low, high = intervals[metric]
    return f"{intervals['confidence']:.0%} interval {low:.4f}-{high:.4f}"


def format_report(report):
    """The metrics of ``evaluate_predictions`` as plain-text tables."""
    classes = report["classes"]
    width = max(12, *(len(name) for name in classes)) + 2
    lines = [
        f"examples   {report['examples']}",
        f"accuracy   {report['accuracy']:.4f}   {interval_text(report, 'accuracy')}",
        f"macro-F1   {report['macro_f1']:.4f}   {interval_text(report, 'macro_f1')}",
        f"(bootstrap: the {report['examples']:,} texts resampled {report['intervals']['resamples']:,} times)",
        "",
        f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<{width}}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10}"
        )
    lines.append("")
    if report["multi_label"]:
        lines.append(f"{'class':<{width}}{'tn':>8}{'fp':>8}{'fn':>8}{'tp':>8}")
        for name, ((tn, fp), (fn, tp)) in zip(classes, report["confusion_matrix"]):
            lines.append(f"{name:<{width}}{tn:>8}{fp:>8}{fn:>8}{tp:>8}")
    else:
        cell = max(7, *(len(name) + 1 for name in classes))
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        lines.append(" " * width + "".join(f"{name:>{cell}}" for name in classes))
        for name, row in zip(classes, report["confusion_matrix"]):
            lines.append(f"{name:<{width}}" + "".join(f"{count:>{cell}}" for count in row))
    return "\n".join(lines)
