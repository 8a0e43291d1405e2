"""TextClassifier behaves like a scikit-learn estimator on raw strings."""

import dataclasses
import logging
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV

from conftest import FAST, LABELS, MULTI_LABELS, MULTI_TEXTS, TEXTS
from textlstm import Config, TextClassifier, training
from textlstm.classifier import _describe_weights, _without_retracing_warnings, texts_and_labels
from textlstm.describe import describe_model
from textlstm.errors import ConfigError, DataError, NotFittedError
from textlstm.model import BRANCHES


def test_overfits_a_tiny_corpus(fitted):
    assert fitted.score(TEXTS, LABELS) == 1.0
    assert fitted.validation_report_["accuracy"] == 1.0
    assert list(fitted.predict(TEXTS)) == LABELS


def test_probability_columns_follow_classes(fitted):
    probabilities = fitted.predict_proba(TEXTS)
    assert probabilities.shape == (len(TEXTS), 2)
    assert list(fitted.classes_) == ["cat", "dog"]
    np.testing.assert_array_equal(fitted.classes_[probabilities.argmax(axis=1)], fitted.predict(TEXTS))


def test_log_probabilities_are_the_logarithms_of_the_probabilities(fitted):
    log_probabilities = fitted.predict_log_proba(TEXTS)
    assert log_probabilities.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(np.exp(log_probabilities), fitted.predict_proba(TEXTS), rtol=1e-6)


def test_a_text_does_not_depend_on_its_batch(fitted):
    texts = TEXTS + ["", "a much longer text about a cat that sits and sleeps and purrs all day long"]
    together = fitted.predict_proba(texts)
    alone = np.concatenate([fitted.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(fitted.predict_proba(texts, batch_size=3), together, atol=1e-5)


def test_validation_results_follow_the_validation_texts_order(fitted):
    # Validation batches run shortest text first; the results come back in the texts' own order.
    assert fitted.validation_texts_ == TEXTS
    np.testing.assert_array_equal(fitted.validation_targets_.argmax(axis=1), [["cat", "dog"].index(label) for label in LABELS])
    np.testing.assert_allclose(fitted.validation_probabilities_, fitted.predict_proba(TEXTS), atol=1e-5)


def test_fit_returns_self_and_resolves_max_length_and_training_settings():
    settings = {name: value for name, value in FAST.items() if name not in ("batch_size", "learning_rate")}
    classifier = TextClassifier(**dict(settings, epochs=1))
    assert classifier.fit(TEXTS, LABELS, verbose=0) is classifier
    assert classifier.config.max_length is None
    assert classifier.config_.max_length == 6  # 95th percentile of the training texts' lengths
    # 11 training texts (one held out): the small-data row of AUTOMATIC_TRAINING.
    assert (classifier.config_.batch_size, classifier.config_.learning_rate) == (32, 1e-3)
    assert "Training: batch size 32, epochs at most 1, learning rate 0.001 (batch size and learning rate automatic " \
        "for this many training texts)" in classifier.preparation_.splitlines()
    assert f"Model: {classifier.model_.count_params():,} parameters" in classifier.preparation_.splitlines()


@pytest.fixture
def without_training(monkeypatch):
    """``fit`` decides everything it prints before training (config, tokenizer, model,
    ``preparation_``) and then trains nothing: for tests of those decisions alone."""
    monkeypatch.setattr(TextClassifier, "_train", lambda self, *args, **kwargs: self)


def test_the_parameter_count_leaves_out_the_weights_held_at_0_between_members(without_training):
    classifier = TextClassifier(**dict(FAST, members=2, epochs=1)).fit(TEXTS, LABELS, verbose=0)
    # One BiLSTM layer of 2 x 8 units a direction over 2 x 16 inputs: each direction's kernel (32, 64)
    # and recurrent kernel (16, 64) hold half their weights at 0, 1,536 a direction.
    held = 2 * (32 * 64 + 16 * 64) // 2
    assert describe_model(classifier.model_).held_at_zero == held
    assert f"Model: {classifier.model_.count_params() - held:,} parameters (Keras counts " \
        f"{classifier.model_.count_params():,}: also the {held:,} weights held at 0 between members)" in classifier.preparation_.splitlines()


def test_the_ngram_branch_reads_past_the_members_max_length():
    """max_length 2: the members read "the cat", the n-gram branch every token, so only it tells
    "... mat" from "... dog"."""
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=2, ngram_max_length=8)).fit(TEXTS, LABELS, verbose=0)
    assert classifier.tokenizer_.max_length == 8
    assert "; the n-gram branch reads up to 8" in classifier.preparation_.splitlines()[2]
    texts = ["the cat sat on the mat", "the cat sat on the dog"]
    ids = classifier.tokenizer_(np.array(texts))
    assert ids.shape == (2, 6)
    parts = keras.Model(classifier.model_.input, [classifier.model_.get_layer(name).output for name in BRANCHES.values()])
    recurrent, ngram = (output.numpy() for output in parts(ids))
    np.testing.assert_allclose(recurrent[0], recurrent[1], atol=1e-6)
    assert not np.allclose(ngram[0], ngram[1], atol=1e-3)
    np.testing.assert_allclose(recurrent, parts(ids[:, :2])[0], atol=1e-6)  # the first two tokens only


def test_cjk_pairs_are_automatic_from_the_training_tokens(fitted, without_training):
    # TEXTS: 35 English words and 20 Chinese characters, so no pair embedding.
    assert fitted.config_.cjk_pairs == 0
    line = "CJK character pairs: none (36.4% of training tokens are CJK characters; automatic: under 50%)"
    assert line in fitted.preparation_.splitlines()
    chinese, labels = TEXTS[8:], LABELS[8:]
    classifier = TextClassifier(**dict(FAST, epochs=1)).fit(chinese, labels, validation_data=(chinese, labels), verbose=0)
    assert classifier.config_.cjk_pairs == 2**16
    line = "CJK character pairs: 65,536 buckets, embedded in each member (100.0% of training tokens are CJK characters; automatic: at least 50%)"
    assert line in classifier.preparation_.splitlines()
    english = TextClassifier(**dict(FAST, epochs=1), cjk_pairs=5).fit(TEXTS[:8], LABELS[:8], verbose=0)
    assert english.config_.cjk_pairs == 5  # a setting is kept
    assert "CJK character pairs: 5 buckets, embedded in each member (0.0% of training tokens are CJK characters; set by cjk_pairs)" \
        in english.preparation_.splitlines()
    assert "CJK character pairs" not in TextClassifier(**dict(FAST, epochs=1)).fit(TEXTS[:8], LABELS[:8], verbose=0).preparation_


def test_lowercase_setting_reaches_the_tokenizer(without_training):
    texts, labels = ["Who is it", "who is it", "Where is it", "where is it"], ["a", "a", "b", "b"]
    cases = ((False, {"Who", "who", "Where", "where"}, "case kept"), (True, {"who", "where"}, "lower-cased"))
    for lowercase, words, printed in cases:
        classifier = TextClassifier(**dict(FAST, epochs=1), lowercase=lowercase)
        classifier.fit(texts, labels, validation_data=(texts, labels), verbose=0)
        assert classifier.tokenizer_.lowercase is lowercase
        assert set(classifier.tokenizer_.vocabulary[2:]) == words | {"is", "it"}
        assert f"auto-mode tokens seen, {printed}," in classifier.preparation_


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        TextClassifier().predict(["x"])


def test_unknown_setting():
    with pytest.raises(ConfigError, match="^colour: unknown setting$"):
        TextClassifier(colour="red")


def test_bad_inputs():
    classifier = TextClassifier(**dict(FAST, epochs=1))
    with pytest.raises(DataError, match="one string"):
        classifier.fit("just one text", ["a"])
    with pytest.raises(DataError, match=r"texts\[1\]: expected str, got int"):
        classifier.fit(["a", 3], ["x", "y"])
    with pytest.raises(DataError, match="12 texts but 2 labels"):
        classifier.fit(TEXTS, ["x", "y"])
    with pytest.raises(DataError, match="validation example 1: label 'bird' was not seen in training"):
        classifier.fit(TEXTS, LABELS, validation_data=(["a", "b"], ["cat", "bird"]))


@pytest.mark.parametrize(
    "validation, message",
    [
        ((["a", "b"], ["cat"]), "validation_data: 2 texts but 1 label"),
        ((["a", None], ["cat", "dog"]), r"validation_data: texts\[1\]: no text \(None\)"),
        ((["a", "b"], ["cat", None]), r"validation_data: labels\[1\]: no label \(None\)"),
        ((["a"], ["cat"], [2.0]), r"validation_data: expected \(texts, labels\) or a Corpus, got 3 items; validation texts are not weighted"),
        ((["a", "b", "c"],), r"validation_data: expected \(texts, labels\) or a Corpus, got 1 item"),
        ("a", r"validation_data: expected \(texts, labels\) or a Corpus, got a str"),
    ],
)
def test_bad_validation_data_is_named(validation, message):
    with pytest.raises(DataError, match=f"^{message}$"):
        TextClassifier(**dict(FAST, epochs=1)).fit(TEXTS, LABELS, validation_data=validation)


@pytest.mark.parametrize("missing", [None, float("nan"), np.float32("nan"), "", "  "])
def test_a_missing_training_label_is_an_error_not_a_class(missing):
    labels = list(LABELS)
    labels[3] = missing
    with pytest.raises(DataError, match=rf"^labels\[3\]: no label \({re.escape(repr(missing))}\)$"):
        TextClassifier(**dict(FAST, epochs=1)).fit(TEXTS, labels)


def test_a_table_or_a_missing_text_is_refused():
    with pytest.raises(DataError, match=r"^texts: expected a sequence of strings, got a table of shape \(2, 1\)$"):
        texts_and_labels(np.array([["a"], ["b"]]), ["x", "y"], multi_label=False)  # as df[["text"]] would be
    indicators = np.array([[1, 0], [1, 1]])
    with pytest.raises(DataError, match=r"^labels: expected a sequence with one label \(multi-label: one list of labels\) a text, got a table of shape \(2, 2\)$"):
        texts_and_labels(["a", "b"], indicators, multi_label=True)
    with pytest.raises(DataError, match=r"^texts\[1\]: no text \(nan\)$"):
        texts_and_labels(["a", float("nan")], ["x", "y"], multi_label=False)
    with pytest.raises(DataError, match="^1 text but 2 labels$"):
        texts_and_labels(["a"], ["x", "y"], multi_label=False)


class _Stop(Exception):
    pass


def test_weights_of_classes_reach_training_by_class_index(monkeypatch):
    seen = []

    def stop(model, train, validation, config, class_weight=None, *args):
        seen.append(class_weight)
        raise _Stop

    monkeypatch.setattr(training, "fit", stop)
    with pytest.raises(_Stop):
        TextClassifier(**FAST, class_weight={"dog": 3}).fit(TEXTS, LABELS, verbose=0)
    numbers = [2 if label == "cat" else 10 for label in LABELS]  # classes 10, 2: names in order
    with pytest.raises(_Stop):
        TextClassifier(**FAST, class_weight={10: 0.5}).fit(TEXTS, numbers, verbose=0)
    assert seen == [{0: 1.0, 1: 3.0}, {0: 0.5, 1: 1.0}]
    with pytest.raises(ConfigError, match=r"^class_weight: no label 'cats' in the training data \(labels: cat, dog\)$"):
        TextClassifier(**FAST, class_weight={"cats": 3}).fit(TEXTS, LABELS, verbose=0)


def test_the_weights_line_gives_their_range_mean_and_the_texts_left_out():
    assert _describe_weights(0.0, 3.0, 1.25, 1) == "Weights: 0 to 3, mean 1.25; 1 text of weight 0 left out of training"
    assert _describe_weights(0.5, 2.0, 1.0, 0) == "Weights: 0.5 to 2, mean 1"
    assert _describe_weights(2.0, 2.0, 2.0, 0) == "Weights: all 2"


@pytest.mark.parametrize("settings", [dict(members=1, ngrams=1, class_weight="balanced"), dict(class_weight="balanced")])
def test_a_text_of_weight_0_is_left_out_of_training(settings):
    """The English texts twice, the second time with the other label and weight 0: the members (one
    recurrent model alone, or three beside the n-gram branch) learn the first labels only. (One
    model alone without class weights: test_tuning's test_sample_weights_reach_every_trial.)"""
    other = {"cat": "dog", "dog": "cat"}
    texts, labels = TEXTS[:8] * 2, LABELS[:8] + [other[label] for label in LABELS[:8]]
    weights = [1.0] * 8 + [0.0] * 8
    classifier = TextClassifier(**dict(FAST, **settings)).fit(texts, labels, sample_weight=weights, validation_data=(TEXTS[:8], LABELS[:8]), verbose=0)
    assert list(classifier.predict(TEXTS[:8])) == LABELS[:8]
    assert "Weights: 0 to 1, mean 0.5; 8 texts of weight 0 left out of training" in classifier.preparation_.splitlines()
    assert classifier.score(texts, labels, sample_weight=weights) == 1.0
    assert classifier.score(texts, labels) == 0.5
    with pytest.raises(DataError, match="^16 texts but 15 labels$"):
        classifier.score(texts, labels[:-1], sample_weight=weights)
    with pytest.raises(DataError, match="^16 texts but 15 labels$"):
        classifier.score(texts, labels[:-1])  # scikit-learn's own error said 'inconsistent numbers of samples'


def test_sample_weight_errors():
    for weights, message in [
        ([1.0] * 11, "sample_weight: 11 weights for 12 texts"),
        ([1.0] * 11 + [-1.0], r"sample_weight\[11\]: expected a finite weight >= 0, got -1.0"),
        ([1.0] * 3 + [float("nan")] + [1.0] * 8, r"sample_weight\[3\]: expected a finite weight >= 0, got nan"),
        ([0] * 12, "sample_weight: every weight is 0"),
        (["heavy"] * 12, "sample_weight: expected numbers"),
        (np.ones((12, 1)), r"sample_weight: expected one weight a text, got a table of shape \(12, 1\)"),
    ]:
        with pytest.raises(DataError, match=f"^{message}$"):
            TextClassifier(**dict(FAST, epochs=1)).fit(TEXTS, LABELS, sample_weight=weights, verbose=0)


def test_a_blank_multi_label_value_is_a_text_without_labels():
    assert texts_and_labels(["a", "b"], ["x|y", ""], multi_label=True) == (["a", "b"], ["x|y", ""])
    with pytest.raises(DataError, match=r"^labels\[1\]: no label \(None\)$"):
        texts_and_labels(["a", "b"], ["x|y", None], multi_label=True)


def test_multi_label(multi_label_fitted):
    assert list(multi_label_fitted.classes_) == ["bird", "cat", "dog"]
    assert list(multi_label_fitted.predict(MULTI_TEXTS)) == MULTI_LABELS
    assert multi_label_fitted.score(MULTI_TEXTS, MULTI_LABELS) == 1.0


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"threshold": 0.3}, "^threshold: applies to task multi-label only"),
        ({"label_thresholds": (("cat", 0.3),)}, "^label_thresholds: applies to task multi-label only"),
        ({"task": "multi-label", "label_thresholds": (("cats", 0.3),)},
         r"^label_thresholds: no label 'cats' in the training data \(labels: cat, dog\)$"),
    ],
)
def test_thresholds_that_would_do_nothing_are_errors(settings, message):
    """A threshold of a single-label model, or of a label the data lacks, is an error before training."""
    with pytest.raises(ConfigError, match=message):
        TextClassifier(**dict(FAST, **settings)).fit(TEXTS, LABELS, verbose=0)


def test_the_default_threshold_given_to_a_single_label_model_is_no_error():
    assert TextClassifier(**dict(FAST, epochs=1, threshold=0.5)).fit(TEXTS, LABELS, verbose=0).classes_.tolist() == ["cat", "dog"]


def test_scikit_learn_parameters_are_the_config_fields():
    classifier = TextClassifier(units=8, pooling="attention")
    params = classifier.get_params()
    assert list(params) == [field.name for field in dataclasses.fields(Config)]
    assert params["units"] == 8 and params["pooling"] == "attention" and params["dropout"] == Config().dropout
    assert classifier.set_params(units=32) is classifier
    assert (classifier.config.units, classifier.config.pooling) == (32, "attention")
    assert repr(classifier) == "TextClassifier(units=32, pooling='attention')"
    with pytest.raises(ConfigError, match="^unit: unknown setting$"):
        classifier.set_params(unit=3)
    with pytest.raises(ConfigError, match="^units: expected an integer >= 1, got 0$"):
        classifier.set_params(units=0)
    assert classifier.config.units == 32


def test_clone_is_an_unfitted_classifier_with_the_same_config(fitted):
    copy = clone(fitted)
    assert is_classifier(copy) and copy.config == fitted.config
    with pytest.raises(NotFittedError):
        copy.predict(TEXTS)


def test_grid_search_sets_each_candidate_and_refits_the_best():
    search = GridSearchCV(TextClassifier(**dict(FAST, epochs=2, ngrams=1)), {"pooling": ["max", "mean"]}, cv=2)
    search.fit(TEXTS, LABELS, verbose=0)
    assert [params["pooling"] for params in search.cv_results_["params"]] == ["max", "mean"]
    assert all(0 <= score <= 1 for score in search.cv_results_["mean_test_score"])
    assert search.best_estimator_.config_.pooling == search.best_params_["pooling"]
    assert search.score(TEXTS, LABELS) == search.best_estimator_.score(TEXTS, LABELS)


RETRACING = "5 out of the last 5 calls to <function f at 0x1> triggered tf.function retracing. Tracing is expensive"


def test_retracing_warnings_are_dropped_inside_the_block_only(caplog):
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        with _without_retracing_warnings():
            tf.get_logger().warning(RETRACING)
            tf.get_logger().warning("another warning")
        tf.get_logger().warning(RETRACING)
    assert [record.getMessage() for record in caplog.records] == ["another warning", RETRACING]


def test_fit_and_predict_drop_retracing_warnings(fitted, monkeypatch, caplog):
    def warns(original):
        def call(*args, **kwargs):
            tf.get_logger().warning(RETRACING)
            tf.get_logger().warning("kept")
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(training, "predict_dataset", warns(training.predict_dataset))  # the end of fit
    monkeypatch.setattr(training, "make_dataset", warns(training.make_dataset))  # in predict_proba
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        TextClassifier(**dict(FAST, epochs=1, ngrams=1)).fit(TEXTS, LABELS, verbose=0)
        fitted.predict_proba(TEXTS[:1])
    assert {record.getMessage() for record in caplog.records} == {"kept"}


@pytest.mark.parametrize(
    "settings, logged",
    [(dict(ngrams=1), {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1"}),
     (dict(members=2, ngrams=1), {"val_probabilities_macro_f1", "val_member1_probabilities_loss", "val_member2_probabilities_loss"})],
)
def test_keras_callbacks_given_to_fit_run_every_epoch(settings, logged):
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append((epoch, set(logs))))
    classifier = TextClassifier(**dict(FAST, epochs=3, **settings))
    classifier.fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0, callbacks=[callback])
    assert [epoch for epoch, _ in epochs] == [0, 1, 2]
    assert all(logged <= names for _, names in epochs)
    assert len(classifier.history_["val_macro_f1"]) == 3


def test_predictions_of_any_batch_size_or_length_reuse_one_trace_of_the_model(fitted):
    run = training.predict_function(fitted.model_)
    assert training.predict_function(fitted.model_) is run
    fitted.predict_proba(["a"])
    fitted.predict_proba(TEXTS * 30)  # 360 texts: two batches of 256 and 104, up to 6 tokens
    assert run.experimental_get_tracing_count() == 1  # traced for the validation texts in fit


def test_number_labels_come_back_as_the_numbers_given():
    numbers = [2 if label == "cat" else 10 for label in LABELS]
    classifier = TextClassifier(pooling="attention", **FAST)
    classifier.fit(TEXTS, np.array(numbers), validation_data=(TEXTS, numbers), verbose=0)
    assert classifier.classes_.tolist() == [10, 2]  # the order of the names "10" < "2", as the columns
    assert classifier.predict(TEXTS).tolist() == numbers
    np.testing.assert_array_equal(classifier.classes_[classifier.predict_proba(TEXTS).argmax(axis=1)], numbers)
    assert classifier.score(TEXTS, numbers) == 1.0
    assert list(classifier.label_set_.classes) == ["10", "2"]
