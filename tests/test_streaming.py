"""Streaming: the scan equals the in-memory path, lengths percentiles match NumPy, a streamed fit works."""

import csv
import random
import re

import keras
import numpy as np
import pytest

from conftest import FAST, LABELS, TEXTS, write_weighted_csv
from textlstm import TextClassifier
from textlstm.config import Config
from textlstm.errors import DataError
from textlstm.data import ReadOptions, read_corpus
from textlstm.labels import LabelSet
from textlstm.streaming import is_validation, scan, stream_dataset
from textlstm.text import TextTokenizer, build_vocabulary, length_percentiles


def generated_csv(path, rows=3000, seed=0):
    """Texts of random words; class 'a' favours the first words, 'b' the last; some Chinese rows."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)] + list("猫狗鱼鸟")
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            label = rng.choice("ab")
            pool = words[:250] if label == "a" else words[150:]
            writer.writerow([" ".join(rng.choice(pool) for _ in range(rng.randint(0, 30))), label])
    return path


def test_scan_gives_the_in_memory_vocabulary(tmp_path):
    path = generated_csv(tmp_path / "big.csv")
    config = Config(min_count=2, max_tokens=300)
    scanned = scan(path, None, config, max_table=1000)  # 404 distinct tokens: the bound never bites
    corpus = read_corpus(path)
    in_memory = build_vocabulary(corpus.texts, config.tokenizer, config.max_tokens, config.min_count)
    assert scanned.vocabulary == in_memory
    assert scanned.train_rows == len(corpus) and scanned.validation_rows == 0
    assert scanned.label_set.classes == ("a", "b")
    assert scanned.class_counts.tolist() == [corpus.labels.count("a"), corpus.labels.count("b")]


def test_scan_counts_tokens_as_the_config_cases_them(tmp_path):
    path = tmp_path / "cased.csv"
    path.write_text("text,label\nWho is who,a\nWHO,b\n", encoding="utf-8")
    assert scan(path, None, Config(), max_table=None).vocabulary.vocabulary == ["WHO", "Who", "is", "who"]
    assert scan(path, None, Config(lowercase=True), max_table=None).vocabulary.vocabulary == ["who", "is"]


def test_scan_holds_out_hash_chosen_rows(tmp_path):
    path = generated_csv(tmp_path / "big.csv")
    scanned = scan(path, None, Config(seed=3), validation_fraction=0.1)
    chosen = sum(is_validation(line, 3, 0.1) for line in read_corpus(path).locations)
    assert scanned.validation_rows == chosen and 200 < chosen < 400
    assert scanned.train_rows + scanned.validation_rows == 3000


def test_scan_takes_the_labels_of_validation_rows_as_classes_without_training_counts(tmp_path):
    # With seed 42 and a tenth held out, line 5 is a validation row and lines 2-4 are not.
    assert [is_validation(line, 42, 0.1) for line in (2, 3, 4, 5)] == [False, False, False, True]
    path = tmp_path / "t.csv"
    path.write_text("text,label\nx,a\ny,b\nz,a\nw,c\n", encoding="utf-8")
    scanned = scan(path, None, Config(seed=42), validation_fraction=0.1)
    assert scanned.label_set.classes == ("a", "b", "c")
    assert scanned.class_counts.tolist() == [2, 1, 0]


def test_scan_refuses_several_labels_for_one_text_of_a_single_label_task(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("__label__a x\n__label__b y\n__label__a __label__b z\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^.*t.txt, line 3: 2 labels \(a, b\) for one text, but the task is single-label"):
        scan(path, None, Config(), validation_fraction=0.1)
    assert scan(path, None, Config(task="multi-label")).class_counts.tolist() == [2, 2]


def test_length_percentiles_from_a_histogram_match_numpy():
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 50, size=1001)
    histogram = {int(value): int(count) for value, count in zip(*np.unique(lengths, return_counts=True))}
    expected = {p: int(np.ceil(np.percentile(lengths, p))) for p in (50, 95, 100)}
    assert length_percentiles(histogram) == expected


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(rows)
    return path


def test_a_stream_with_a_weight_column_adds_each_texts_weight(tmp_path):
    path = write_weighted_csv(tmp_path / "w.csv")
    label_set = LabelSet.fit(LABELS, False, "|")
    common = dict(tokenizer=TextTokenizer("auto", ["cat"], 8), label_set=label_set, batch_size=24, seed=0, fraction=None)
    ids, targets, weights = next(iter(stream_dataset(path, ReadOptions(weight_column="weight"), part="all", **common)))
    assert (ids.shape[0], targets.shape) == (24, (24, 2))
    assert weights.numpy().tolist() == [1.0] * 12 + [0.0] * 12
    assert len(next(iter(stream_dataset(path, None, part="all", **common)))) == 2
    assert scan(path, ReadOptions(weight_column="weight"), Config()).weights == (0.0, 1.0, 0.5, 12)
    assert scan(path, None, Config()).weights is None
    with pytest.raises(DataError, match=f"^{tmp_path}/z.csv: every training weight is 0$"):
        scan(write_rows(tmp_path / "z.csv", [["text", "label", "w"], ["a", "x", "0"]]), ReadOptions(weight_column="w"), Config())


def test_streamed_fit_overfits_the_tiny_corpus_and_leaves_out_texts_of_weight_0(tmp_path):
    path = write_weighted_csv(tmp_path / "tiny.csv")
    validation = write_rows(tmp_path / "dev.csv", [["text", "label"], *zip(TEXTS, LABELS)])  # no weight column
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    classifier = TextClassifier(**FAST).fit_file(path, ReadOptions(weight_column="weight"), validation, verbose=0, callbacks=[callback])
    assert len(classifier.history_["loss"]) == FAST["epochs"]  # every epoch re-reads the file
    assert epochs == list(range(FAST["epochs"]))
    assert classifier.score(TEXTS, LABELS) == 1.0
    assert classifier.validation_report_["examples"] == len(TEXTS)
    assert classifier.vocabulary_report_ == build_vocabulary(TEXTS + TEXTS, "auto", 20000, 1)
    assert "Weights: 0 to 1, mean 0.5; 12 texts of weight 0 left out of training" in classifier.preparation_.splitlines()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda path: path.open("a").write("a new text,bird\n"), "{path}, line 26: label 'bird' was not seen in training (known: cat, dog)"),
        (lambda path: path.write_text("text,label\nthe cat sleeps,cat\n"), "{path}: changed during training (1 row in this pass, 24 when it began)"),
    ],
)
def test_a_file_changed_during_training_is_a_one_line_error(tmp_path, change, message):
    """tf.data reports a generator's exception as an OpError holding a traceback; fit_file raises
    the DataError itself, naming the file (and the line)."""
    path = write_rows(tmp_path / "t.csv", [["text", "label"], *zip(TEXTS, LABELS), *zip(TEXTS, LABELS)])
    changed = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch == 0 and change(path))
    classifier = TextClassifier(**dict(FAST, epochs=3, ngrams=1))
    with pytest.raises(DataError, match=f"^{re.escape(message.format(path=path))}$"):
        classifier.fit_file(path, validation_path=write_rows(tmp_path / "dev.csv", [["text", "label"], *zip(TEXTS, LABELS)]),
                            verbose=0, callbacks=[changed])
