"""Pretrained vectors: text (with and without header) and word2vec binary, alignment, coverage, errors."""

import re
import struct

import numpy as np
import pytest

from conftest import FAST, LABELS, TEXTS
from textlstm import TextClassifier
from textlstm.embeddings import align_vectors
from textlstm.errors import DataError

VOCABULARY = ["", "[UNK]", "cat", "dog", "mat", "zebra"]
VECTORS = {"cat": [1.0, 2.0, 3.0], "dog": [-1.0, 0.5, 0.0], "Mat": [0.25, 0.25, 0.25], "car": [9.0, 9.0, 9.0]}


def write_text(path, header=False, trailing=""):
    lines = [f"{len(VECTORS)} 3\n"] if header else []
    lines += [f"{word} {' '.join(str(v) for v in vector)}{trailing}\n" for word, vector in VECTORS.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_binary(path):
    with open(path, "wb") as file:
        file.write(f"{len(VECTORS)} 3\n".encode())
        for word, vector in VECTORS.items():
            file.write(word.encode() + b" " + struct.pack("<3f", *vector) + b"\n")
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda p: write_text(p / "glove.txt"),
        lambda p: write_text(p / "wiki.vec", header=True, trailing=" "),
        lambda p: write_binary(p / "vectors.bin"),
    ],
    ids=["glove-text", "fasttext-vec-header", "word2vec-binary"],
)
def test_formats_align_to_the_vocabulary(tmp_path, make):
    aligned = align_vectors(make(tmp_path), VOCABULARY)
    np.testing.assert_array_equal(aligned.matrix[2], VECTORS["cat"])
    np.testing.assert_array_equal(aligned.matrix[3], VECTORS["dog"])
    np.testing.assert_array_equal(aligned.matrix[4], VECTORS["Mat"])  # matched lower-cased
    np.testing.assert_array_equal(aligned.matrix[0], [0, 0, 0])  # padding
    assert aligned.matrix.shape == (6, 3)
    assert (aligned.found, aligned.searched, aligned.coverage) == (3, 4, 0.75)  # zebra is missing


def test_cased_vocabulary_words_take_lower_case_vectors(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("who 1 1\nUS 2 2\nus 3 3\n", encoding="utf-8")
    aligned = align_vectors(path, ["", "[UNK]", "Who", "who", "US", "us", "Us"])
    np.testing.assert_array_equal(aligned.matrix[2:], [[1, 1], [1, 1], [2, 2], [3, 3], [2, 2]])
    assert (aligned.found, aligned.searched) == (5, 5)


def test_exact_case_wins(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("cat 1 1\nCat 2 2\n", encoding="utf-8")
    np.testing.assert_array_equal(align_vectors(path, ["", "[UNK]", "cat"]).matrix[2], [1, 1])
    path.write_text("Cat 2 2\ncat 1 1\n", encoding="utf-8")
    np.testing.assert_array_equal(align_vectors(path, ["", "[UNK]", "cat"]).matrix[2], [1, 1])


@pytest.mark.parametrize(
    "content, message",
    [
        ("cat 1 2 3\ndog 1 2\n", "v.txt, line 2: 2 numbers, expected 3"),
        ("2 3\ncat 1 2 3\ndog 1 x 3\n", "v.txt, line 3: not a list of numbers after the word"),
        ("", "v.txt: the file is empty"),
    ],
)
def test_malformed_files(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        align_vectors(path, VOCABULARY)


def test_a_file_without_any_vocabulary_word_is_an_error(tmp_path):
    path = tmp_path / "de.vec"
    path.write_text("der 1 1\ndie 2 2\nund 3 3\nist 4 4\n", encoding="utf-8")
    message = (
        "de.vec: none of the 4 vocabulary words has a vector here (the file's first words: 'der', 'die', 'und'; "
        "the vocabulary's: 'cat', 'dog', 'mat')"
    )
    with pytest.raises(DataError, match=re.escape(message)):
        align_vectors(path, VOCABULARY)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.vec: no such file"):
        align_vectors(tmp_path / "nope.vec", VOCABULARY)


@pytest.mark.parametrize("train_embeddings", [False, True])
def test_frozen_or_fine_tuned(tmp_path, train_embeddings):
    path = tmp_path / "v.txt"
    path.write_text("cat 0.5 0.5 0.5 0.5\ndog -0.5 -0.5 -0.5 -0.5\n", encoding="utf-8")
    settings = dict(FAST, epochs=3, embeddings=str(path), train_embeddings=train_embeddings)
    classifier = TextClassifier(**settings).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    assert classifier.config_.embedding_dim == 4  # taken from the file
    assert classifier.pretrained_.found == 2  # cat and dog
    assert classifier.pretrained_.searched == len(classifier.tokenizer_.vocabulary) - 2
    table = classifier.model_.get_layer("embedding").embeddings.numpy()
    cat = classifier.tokenizer_.vocabulary.index("cat")
    assert np.array_equal(table[cat], [0.5] * 4) != train_embeddings  # unchanged only when frozen


def test_every_member_starts_from_the_vectors(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("cat 0.5 0.5 0.5 0.5\ndog -0.5 -0.5 -0.5 -0.5\n", encoding="utf-8")
    settings = dict(FAST, epochs=1, members=2, embeddings=str(path), train_embeddings=False)
    classifier = TextClassifier(**settings).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    cat = classifier.tokenizer_.vocabulary.index("cat")
    for name in ("member1_embedding", "member2_embedding"):
        assert np.array_equal(classifier.model_.get_layer(name).embeddings.numpy()[cat], [0.5] * 4)
