"""Seeded, stratified train/dev/test splits, and the check for texts shared between splits."""

import collections

import numpy as np
from sklearn.model_selection import train_test_split

from textlstm.data import Corpus
from textlstm.errors import DataError


def stratified_indices(labels, fraction, seed):
    """Split ``range(len(labels))`` into (kept, held out) with about ``fraction`` held out.

    Stratified by label when every label occurs at least twice and the held-out part can hold one
    of each; a plain seeded shuffle otherwise (multi-label rows are stratified by their first label).

    Returns:
        Two sorted int arrays.
    """
    count = len(labels)
    size = max(1, int(round(count * fraction)))
    if not 0 < size < count:
        raise DataError(f"cannot hold out {fraction:.0%} of {count} examples")
    keys = [label[0] if isinstance(label, list) else label for label in labels]
    counts = collections.Counter(keys)
    stratify = keys if min(counts.values()) >= 2 and size >= len(counts) and count - size >= len(counts) else None
    kept, held_out = train_test_split(np.arange(count), test_size=size, random_state=seed, stratify=stratify)
    return np.sort(kept), np.sort(held_out)


def subset(corpus, indices, name):
    """The examples of ``corpus`` at ``indices``, as a Corpus named ``"<path> [name]"``."""
    return Corpus(
        f"{corpus.path} [{name}]",
        [corpus.texts[i] for i in indices],
        [corpus.labels[i] for i in indices] if corpus.labels is not None else None,
        [corpus.locations[i] for i in indices],
        weights=[corpus.weights[i] for i in indices] if corpus.weights is not None else None,
        kept={column: [values[i] for i in indices] for column, values in corpus.kept.items()} if corpus.kept else None,
    )


def split_corpus(corpus, dev_fraction=0.1, test_fraction=0.1, seed=0):
    """Seeded stratified (train, dev, test) Corpora; a fraction of 0 gives None for that split."""
    rest, test = corpus, None
    if test_fraction:
        kept, held = stratified_indices(corpus.labels, test_fraction, seed)
        rest, test = subset(corpus, kept, "train"), subset(corpus, held, "test")
    dev = None
    if dev_fraction:
        kept, held = stratified_indices(rest.labels, dev_fraction / (1 - test_fraction), seed + 1)
        rest, dev = subset(rest, kept, "train"), subset(rest, held, "dev")
    return rest, dev, test


def overlap(first, second):
    """Texts of ``second`` that also occur in ``first`` (after stripping and lower-casing).

    Returns:
        The sorted indices in ``second`` whose text is also in ``first``.
    """
    seen = {text.strip().lower() for text in first.texts}
    return [index for index, text in enumerate(second.texts) if text.strip().lower() in seen]
