"""explain: attention weights sum to 1 over real tokens, occlusion by hand, each token once in the HTML."""

import re
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import FAST, LABELS, TEXTS
from textlstm import ExportError, TextClassifier, explain
from textlstm.explain import explanations_html, format_explanation


def test_attention_weights_are_a_distribution_over_the_tokens(exported):
    explanations = explain(exported, ["the cat sat on the mat", "小狗在叫", "!!!"])
    cat, dog, empty = explanations
    assert cat.method == "attention" and cat.tokens == ["the", "cat", "sat", "on", "the", "mat"]
    assert dog.tokens == ["小", "狗", "在", "叫"]  # CJK characters are tokens
    for explanation in (cat, dog):
        assert len(explanation.weights) == len(explanation.tokens)
        assert sum(explanation.weights) == pytest.approx(1.0, abs=1e-5)
        assert min(explanation.weights) >= 0
    assert cat.label == "cat" and dog.label == "dog"
    assert empty.tokens == [] and empty.weights == []


def test_attention_covers_the_tokens_the_members_read(tmp_path):
    """max_length 3: the members attend over the first three tokens, while the n-gram branch reads all
    six; the other three get no weight, from the classifier and from its export alike."""
    classifier = TextClassifier(**dict(FAST, epochs=1, pooling="attention", max_length=3)).fit(TEXTS, LABELS, verbose=0)
    classifier.export(tmp_path / "model")
    mine, exported = explain(classifier, ["the cat sat on the mat"]) + explain(tmp_path / "model", ["the cat sat on the mat"])
    for explanation in (mine, exported):
        assert explanation.tokens == ["the", "cat", "sat", "on", "the", "mat"]
        assert explanation.weights[3:] == [0.0, 0.0, 0.0] and sum(explanation.weights) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(mine.weights, exported.weights, atol=1e-5)


def test_tokens_signature_needs_no_textlstm(exported):
    tokens = tf.saved_model.load(str(exported)).signatures["tokens"](text=tf.constant(["A cat, purring!"]))["tokens"]
    assert tokens.numpy().tolist() == [[b"A", b"cat", b"purring"]]  # case kept (Config.lowercase)


def test_occlusion_is_the_probability_drop_without_each_token(tmp_path):
    classifier = TextClassifier(**dict(FAST, epochs=10)).fit(TEXTS, LABELS, verbose=0)
    classifier.export(tmp_path / "model")
    (explanation,) = explain(tmp_path / "model", ["my cat sleeps"])
    assert explanation.method == "occlusion"
    probabilities = classifier.predict_proba(["my cat sleeps", "cat sleeps", "my sleeps", "my cat"])
    top = list(classifier.classes_).index(explanation.label)
    np.testing.assert_allclose(explanation.weights, probabilities[0, top] - probabilities[1:, top], atol=1e-5)


def test_html_holds_each_token_once_and_escapes_it(exported):
    explanations = explain(exported, ["a big dog runs", "<b>cats</b> & mice"])
    page = explanations_html(explanations)
    spans = re.findall(r'<span class="token"[^>]*>([^<]*)</span>', page)
    assert spans == ["a", "big", "dog", "runs", "b", "cats", "b", "mice"]
    assert "<b>" not in page.split("<body>")[1]
    lines = format_explanation(explanations[0]).splitlines()  # the text, the prediction, each token and weight
    assert lines[0] == "a big dog runs"
    assert re.fullmatch(r"  a\(\+[\d.]+\) big\(\+[\d.]+\) dog\(\+[\d.]+\) runs\(\+[\d.]+\)", lines[2])


def test_not_an_export(tmp_path):
    with pytest.raises(ExportError, match="not a SavedModel"):
        explain(tmp_path, ["text"])


def test_a_fitted_classifier_explains_like_its_export(fitted, exported, monkeypatch):
    texts = ["my dog fetches the ball", "我的猫很可爱", "cats chase mice"]
    whole = explain(exported, texts)
    monkeypatch.setattr(sys.modules["textlstm.explain"], "EXPLAIN_BATCH", 2)  # parts of 2 and 1 texts (the package's explain is the function)
    for in_memory, from_export, at_once in zip(explain(fitted, texts), explain(exported, texts), whole, strict=True):
        assert in_memory.tokens == from_export.tokens == at_once.tokens and in_memory.label == from_export.label == at_once.label
        np.testing.assert_allclose(in_memory.weights, from_export.weights, atol=1e-5)
        np.testing.assert_allclose(at_once.weights, from_export.weights, atol=1e-5)
