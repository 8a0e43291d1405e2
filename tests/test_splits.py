"""Seeded stratified splits and the train/test overlap check."""

import collections
import dataclasses

from textlstm.data import Corpus
from textlstm.splits import overlap, split_corpus, stratified_indices


def corpus(labels):
    return Corpus("c.csv", [f"text {i}" for i in range(len(labels))], labels, list(range(2, len(labels) + 2)))


def test_stratified_and_seeded():
    labels = ["a"] * 80 + ["b"] * 20
    kept, held = stratified_indices(labels, 0.1, seed=1)
    assert collections.Counter(labels[i] for i in held) == {"a": 8, "b": 2}
    assert sorted(list(kept) + list(held)) == list(range(100))
    assert list(stratified_indices(labels, 0.1, seed=1)[1]) == list(held)
    assert list(stratified_indices(labels, 0.1, seed=2)[1]) != list(held)


def test_three_way_split_keeps_every_example_once():
    data = corpus(["a"] * 50 + ["b"] * 50)
    train, dev, test = split_corpus(data, 0.1, 0.2, seed=0)
    assert (len(train), len(dev), len(test)) == (70, 10, 20)
    assert sorted(train.texts + dev.texts + test.texts) == sorted(data.texts)
    assert collections.Counter(test.labels) == {"a": 10, "b": 10}
    assert test.path == "c.csv [test]"
    assert test.where(0).startswith("c.csv [test], line ")
    assert train.weights is None


def test_a_split_keeps_each_text_with_its_weight_and_kept_columns():
    data = dataclasses.replace(
        corpus(["a"] * 10 + ["b"] * 10), weights=[float(i) for i in range(20)], kept={"id": [str(i) for i in range(20)]}
    )
    train, dev, test = split_corpus(data, 0.2, 0.2, seed=0)
    for part in (train, dev, test):
        assert part.weights == [float(text.split()[1]) for text in part.texts]
        assert part.kept == {"id": [text.split()[1] for text in part.texts]}


def test_overlap_ignores_case_and_spaces():
    train = Corpus("train", ["Hello world", "b"], ["x", "y"], [1, 2])
    test = Corpus("test", ["c", " hello WORLD ", "b"], ["x", "x", "y"], [1, 2, 3])
    assert overlap(train, test) == [1, 2]
