"""Validation split, class weights, the tf.data pipeline and seeded reproducibility."""

import numpy as np
import tensorflow as tf

from conftest import FAST, LABELS, TEXTS
from textlstm import TextClassifier
from textlstm.training import balanced_class_weight, make_dataset


def test_balanced_class_weight_by_hand():
    assert balanced_class_weight([3, 1]) == {0: 4 / (2 * 3), 1: 4 / (2 * 1)}
    assert balanced_class_weight([3, 0, 1]) == {0: 4 / (2 * 3), 2: 4 / (2 * 1)}


def test_batches_are_padded_to_their_own_longest_text():
    ids = tf.ragged.constant([[1], [2, 3], [4, 5, 6, 7], [8]], dtype=tf.int64)
    shapes = [batch.shape for batch in make_dataset(ids, batch_size=2)]
    assert shapes == [(2, 2), (2, 4)]


def test_same_seed_same_metrics():
    settings = dict(FAST, epochs=6, dropout=0.2, seed=7)
    first = TextClassifier(**settings).fit(TEXTS, LABELS, verbose=0)
    second = TextClassifier(**settings).fit(TEXTS, LABELS, verbose=0)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.predict_proba(TEXTS), second.predict_proba(TEXTS))


def test_balanced_class_weight_changes_training():
    texts, labels = TEXTS + TEXTS[:4] * 3, LABELS + LABELS[:4] * 3  # 18 cat, 6 dog
    settings = dict(FAST, epochs=3, seed=5)
    plain = TextClassifier(**settings).fit(texts, labels, validation_data=(TEXTS, LABELS), verbose=0)
    weighted = TextClassifier(**settings, class_weight="balanced").fit(
        texts, labels, validation_data=(TEXTS, LABELS), verbose=0
    )
    # Same seed, data and settings: only the class weights differ, so the training losses must.
    assert plain.history_["loss"][0] != weighted.history_["loss"][0]
    assert plain.history_["val_loss"][0] != weighted.history_["val_loss"][0]
