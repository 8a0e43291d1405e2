"""Tiny corpora a reader can check by hand, and fitted models shared across tests (fits are slow)."""

import csv
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config):
    """Under pytest-xdist, one TensorFlow thread per worker: the workers (one per core) share the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)

def geometric_mix(first, second, weight):
    """NumPy reference of the log-probability mix: first^w * second^(1 - w), each row normalized."""
    product = first**weight * second ** (1 - weight)
    return product / product.sum(axis=1, keepdims=True)


# The publishers' original files beside the project (../shared); tests that need them skip without.
ORIGINALS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "originals"
needs_originals = pytest.mark.skipif(not ORIGINALS.is_dir(), reason="../shared/datasets/originals is not present")

# Two topics, English and Chinese; every text has a word that gives its class away.
TEXTS = [
    "the cat sat on the mat",
    "a small cat purrs",
    "my cat sleeps all day",
    "cats chase mice",
    "the dog barks loudly",
    "a big dog runs",
    "my dog fetches the ball",
    "dogs guard the house",
    "小猫在睡觉",
    "我的猫很可爱",
    "小狗在叫",
    "我的狗很大",
]
LABELS = ["cat", "cat", "cat", "cat", "dog", "dog", "dog", "dog", "cat", "cat", "dog", "dog"]


def write_weighted_csv(path):
    """A text,label,weight CSV: TEXTS with their labels at weight 1, then with the other label at weight 0."""
    flipped = [{"cat": "dog", "dog": "cat"}[label] for label in LABELS]
    rows = [*zip(TEXTS, LABELS, [1] * len(TEXTS)), *zip(TEXTS, flipped, [0] * len(TEXTS))]
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["text", "label", "weight"], *rows])
    return path


# Small, fast settings that still overfit TEXTS (and MULTI_TEXTS), with or without the n-gram branch,
# for seeds 1-5 as for the default 42. A fit's tracing costs about 5 s here and each epoch about
# 0.12 s (0.4 s streamed), so few epochs at a high learning rate.
FAST = dict(embedding_dim=16, units=8, members=1, epochs=12, learning_rate=0.05, dropout=0.0, batch_size=4, patience=12)

# Multi-label: every label a text names is in its words.
MULTI_TEXTS = ["cat", "dog", "cat and dog", "a dog with a cat", "bird", "cat bird"]
MULTI_LABELS = ["cat", "dog", "cat|dog", "cat|dog", "bird", "bird|cat"]


@pytest.fixture(scope="session")
def fitted():
    """A TextClassifier with an attention head fitted on TEXTS, validated on TEXTS."""
    from textlstm import TextClassifier

    return TextClassifier(pooling="attention", **FAST).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)


@pytest.fixture(scope="session")
def multi_label_fitted():
    """A multi-label TextClassifier fitted on MULTI_TEXTS, validated on them."""
    from textlstm import TextClassifier

    return TextClassifier(task="multi-label", **FAST).fit(
        MULTI_TEXTS, MULTI_LABELS, validation_data=(MULTI_TEXTS, MULTI_LABELS), verbose=0
    )


@pytest.fixture(scope="session")
def exported(fitted, tmp_path_factory):
    """The export directory of ``fitted``."""
    path = tmp_path_factory.mktemp("exports") / "model"
    fitted.export(path)
    return path
