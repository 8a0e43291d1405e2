"""The training report: one self-contained HTML page (inline SVG and CSS; no scripts, no network).

It shows the learning curves, the validation confusion matrix as a heatmap, per-class precision,
recall and F1, the resolved configuration, the data summary, and the most confidently misclassified
validation texts with each token highlighted by its weight (see ``textlstm.explain``).
"""

import html

import numpy as np

from textlstm.evaluation import interval_text
from textlstm.explain import explain, token_spans
from textlstm.training import branch_mix_text
from textlstm.wording import counted

WORST = 10
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
CSS = (
    "body{font-family:sans-serif;max-width:64em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:right}"
    "th{background:#f4f4f4}td.name,th.name{text-align:left}pre{background:#f8f8f8;padding:0.6em;overflow-x:auto}"
    ".token{padding:0.1em 0.2em;border-radius:0.2em}.charts{display:flex;flex-wrap:wrap;gap:1em}"
    "li{margin-bottom:0.8em;line-height:1.7}"
)


def training_report(classifier, data_summary=None, title="textlstm training report"):
    """The report of a fitted TextClassifier, as an HTML string.

    Args:
        classifier: fitted; ``history_`` and ``validation_report_`` are read, and the misclassified
            texts come from ``validation_texts_`` (the section is left out when it is None).
        data_summary: optional plain text describing the data (e.g. ``format_summary`` output).
    """
    report = classifier.validation_report_
    history = classifier.history_
    mix = branch_mix_text(history)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Validation: accuracy {report['accuracy']:.4f} ({interval_text(report, 'accuracy')}), "
        f"macro-F1 {report['macro_f1']:.4f} ({interval_text(report, 'macro_f1')}) on "
        f"{counted(report['examples'], 'text')}; best epochs {html.escape(_best_epochs(history))}"
        + (f"; output {html.escape(mix)}" if mix else "")
        + ".</p>",
        "<h2>Learning curves</h2>",
        '<div class="charts">',
        line_chart("loss", {name: history[name] for name in _names(history, "loss")}, _best(history)),
        line_chart("accuracy and macro-F1", {name: history[name] for name in _names(history, "accuracy", "macro_f1")}, _best(history)),
        "</div>",
        "<h2>Confusion matrix (validation)</h2>",
        confusion_heatmap(report),
        "<h2>Per class (validation)</h2>",
        per_class_table(report),
    ]
    if classifier.validation_texts_ is not None:
        parts += ["<h2>Most confident mistakes (validation)</h2>", _worst(classifier)]
    parts += ["<h2>Data</h2>", f"<pre>{html.escape(classifier.preparation_)}</pre>"]
    if data_summary:
        parts.append(f"<pre>{html.escape(data_summary)}</pre>")
    parts += ["<h2>Configuration</h2>", _config_table(classifier.config_.to_dict())]
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _names(history, *stems):
    """The per-epoch series of the output (not of one branch) for ``stems``, training then validation."""
    return [name for stem in stems for name in (stem, f"val_{stem}") if name in history]


def _best(history):
    return sorted(set(history.get("best_epochs", {}).values()) or {history["best_epoch"]})


def _best_epochs(history):
    epochs = history.get("best_epochs") or {"model": history["best_epoch"]}
    return ", ".join(f"{name.removesuffix('_probabilities')} {epoch}" for name, epoch in epochs.items())


def line_chart(title, series, marks=(), width=420, height=240):
    """An inline SVG line chart of per-epoch values.

    Args:
        series: {name: [value per epoch]} (epochs counted from 1).
        marks: epochs to mark with a dashed vertical line (the kept epochs).
    """
    left, right, top, bottom = 48, 12, 24, 36
    values = [v for points in series.values() for v in points]
    low, high = min(values), max(values)
    if high == low:
        high = low + 1.0
    epochs = max(len(points) for points in series.values())

    def x(epoch):
        return left + (width - left - right) * (epoch - 1) / max(epochs - 1, 1)

    def y(value):
        return top + (height - top - bottom) * (high - value) / (high - low)

    elements = [
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>',
    ]
    for value in np.linspace(low, high, 5):
        elements.append(f'<text x="{left - 4}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="10">{value:.3g}</text>')
    for epoch in sorted({1, epochs, *range(1, epochs + 1, max(1, epochs // 6))}):
        elements.append(f'<text x="{x(epoch):.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10">{epoch}</text>')
    elements.append(f'<text x="{width / 2}" y="{height - 4}" text-anchor="middle" font-size="11">epoch</text>')
    for epoch in marks:
        elements.append(
            f'<line x1="{x(epoch):.1f}" y1="{top}" x2="{x(epoch):.1f}" y2="{height - bottom}" stroke="#aaa" stroke-dasharray="4 3"/>'
        )
    for index, (name, points) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        coordinates = " ".join(f"{x(i + 1):.1f},{y(v):.1f}" for i, v in enumerate(points))
        elements.append(f'<polyline class="curve" fill="none" stroke="{color}" stroke-width="2" points="{coordinates}"/>')
        elements.append(f'<text x="{width - right - 4}" y="{top + 12 + 13 * index}" text-anchor="end" font-size="11" fill="{color}">{html.escape(name)}</text>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">' + "".join(elements) + "</svg>"


def confusion_heatmap(report):
    """The confusion matrix as a table whose cells are shaded by their share of the row (true class)."""
    classes = report["classes"]
    if report["multi_label"]:
        return "".join(
            f"<p>{html.escape(name)}</p>" + _heat_table(["no", "yes"], report["confusion_matrix"][i])
            for i, name in enumerate(classes)
        )
    return _heat_table(classes, report["confusion_matrix"])


def _heat_table(classes, matrix):
    header = "".join(f"<th>{html.escape(name)}</th>" for name in classes)
    rows = []
    for name, counts in zip(classes, matrix):
        total = max(sum(counts), 1)
        cells = "".join(
            f'<td style="background:rgba(31,119,180,{count / total:.3f})">{count}</td>' for count in counts
        )
        rows.append(f'<tr><th class="name">{html.escape(name)}</th>{cells}</tr>')
    return (
        '<table class="confusion"><tr><th class="name">true \\ predicted</th>' + header + "</tr>" + "".join(rows) + "</table>"
    )


def per_class_table(report):
    rows = "".join(
        f'<tr><td class="name">{html.escape(name)}</td><td>{values["precision"]:.4f}</td><td>{values["recall"]:.4f}</td>'
        f'<td>{values["f1"]:.4f}</td><td>{values["support"]}</td></tr>'
        for name, values in report["per_class"].items()
    )
    return (
        '<table class="per-class"><tr><th class="name">class</th><th>precision</th><th>recall</th><th>F1</th>'
        f"<th>support</th></tr>{rows}</table>"
    )


def _worst(classifier):
    """The validation texts predicted wrong with the highest confidence, tokens highlighted."""
    true = classifier.validation_targets_.argmax(axis=1)
    probabilities = classifier.validation_probabilities_
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != true)
    if wrong.size == 0:
        return "<p>None: every validation text was predicted right.</p>"
    worst = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:WORST]
    explanations = explain(classifier, [classifier.validation_texts_[i] for i in worst])
    items = []
    for row, explanation in zip(worst, explanations):
        spans = token_spans(explanation)
        items.append(
            f"<li>true <b>{html.escape(classifier.label_set_.classes[true[row]])}</b>, predicted "
            f"<b>{html.escape(classifier.label_set_.classes[predicted[row]])}</b> ({probabilities[row, predicted[row]]:.3f}); "
            f"{explanation.method}:<br>{spans}</li>"
        )
    return "<ol>" + "".join(items) + "</ol>"


def _config_table(values):
    rows = "".join(
        f'<tr><td class="name">{html.escape(name)}</td><td class="name">{html.escape(str(value))}</td></tr>'
        for name, value in values.items()
    )
    return f'<table class="config"><tr><th class="name">setting</th><th class="name">value</th></tr>{rows}</table>'
