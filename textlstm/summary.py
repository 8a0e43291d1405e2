"""A data report: class balance, text lengths, vocabulary, empty and duplicate rows (and texts given
different labels), split overlap."""

import collections

import numpy as np

from textlstm.splits import overlap
from textlstm.text import build_vocabulary
from textlstm.wording import counted

_VOCABULARY_LIMIT = 10**9


def summarize(splits, mode="auto", lowercase=False):
    """Describe labelled corpora.

    Args:
        splits: {split name: Corpus}, e.g. {"train": ..., "test": ...}.
        mode, lowercase: how tokens are counted (see ``textlstm.text``).

    Returns:
        JSON-ready {"splits": {name: {...}}, "overlap": {"train/test": n, ...}}.
    """
    report = {"splits": {}, "overlap": {}}
    for name, corpus in splits.items():
        vocabulary = build_vocabulary(corpus.texts, mode, _VOCABULARY_LIMIT, 1, lowercase=lowercase)
        characters = np.array([len(text) for text in corpus.texts])
        keys = [text.strip().lower() for text in corpus.texts]
        labels = collections.Counter(
            label for value in corpus.labels for label in (value if isinstance(value, list) else [value])
        )
        report["splits"][name] = {
            "rows": len(corpus),
            "classes": dict(sorted(labels.items(), key=lambda item: (-item[1], item[0]))),
            "tokens": vocabulary.length_percentiles,
            "characters": {p: int(np.ceil(np.percentile(characters, p))) for p in (50, 95, 100)},
            "vocabulary": vocabulary.distinct_tokens,
            "empty": sum(1 for key in keys if not key),
            "duplicates": len(keys) - len(set(keys)),
            "conflicting": _conflicting(keys, corpus.labels),
        }
    names = list(splits)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            report["overlap"][f"{first}/{second}"] = len(overlap(splits[first], splits[second]))
    return report


def _conflicting(keys, labels):
    """How many distinct non-empty texts (by ``keys``) occur with more than one label (or label set)."""
    seen = collections.defaultdict(set)
    for key, label in zip(keys, labels):
        if key:
            seen[key].add(tuple(sorted(label)) if isinstance(label, list) else label)
    return sum(1 for found in seen.values() if len(found) > 1)


def format_summary(report):
    """The report as plain-text tables."""
    lines = []
    for name, split in report["splits"].items():
        total = split["rows"]
        lines.append(
            f"{name}: {counted(total, 'row')}, {counted(len(split['classes']), 'class', 'classes')}, "
            f"vocabulary {counted(split['vocabulary'], 'token')}"
        )
        lines.append(
            f"  tokens per text: median {split['tokens'][50]}, 95th percentile {split['tokens'][95]}, max {split['tokens'][100]}"
        )
        lines.append(
            f"  characters per text: median {split['characters'][50]}, 95th percentile {split['characters'][95]}, "
            f"max {split['characters'][100]}"
        )
        lines.append(
            f"  empty texts: {split['empty']}; duplicate texts: {split['duplicates']}; "
            f"texts given different labels: {split['conflicting']}"
        )
        width = max(len(label) for label in split["classes"]) + 2
        for label, count in split["classes"].items():
            lines.append(f"    {label:<{width}}{count:>8}  {100 * count / total:5.1f}%")
    for pair, count in report["overlap"].items():
        first, second = pair.split("/")
        lines.append(f"overlap: {counted(count, second + ' text')} also {'occurs' if count == 1 else 'occur'} in {first}")
    return "\n".join(lines)
