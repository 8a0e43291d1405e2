"""Validation split, class weights, the tf.data pipeline and seeded reproducibility."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import FAST, LABELS, TEXTS, geometric_mix
from textlstm import TextClassifier, training
from textlstm.config import Config
from textlstm.members import MemberBlocks
from textlstm.model import build_model
from textlstm.training import (
    MIX_WEIGHTS,
    BranchEarlyStopping,
    StepProgress,
    _branch_weights,
    balanced_class_weight,
    build_training_state,
    branch_mix_text,
    branch_names,
    choose_branch_mix,
    make_dataset,
    ngram_fit_text,
)

# The n-gram branch's layers, whose weights scikit-learn sets (or, for the table, the vocabulary).
NGRAM_LAYERS = ("ngram_weights/", "char_ngram_weights/", "char_ngrams/", "non_cjk_share/", "naive_bayes_weights/")
# The mixes, chosen after training.
MIX_WEIGHT_PATHS = ("probabilities/first_weight", "ngram_probabilities/first_weight")


def test_balanced_class_weight_by_hand():
    assert balanced_class_weight([3, 1]) == {0: 4 / (2 * 3), 1: 4 / (2 * 1)}
    assert balanced_class_weight([3, 0, 1]) == {0: 4 / (2 * 3), 2: 4 / (2 * 1)}


def test_batches_are_padded_to_their_own_longest_text():
    ids = tf.ragged.constant([[1], [2, 3], [4, 5, 6, 7], [8]], dtype=tf.int64)
    shapes = [batch.shape for batch in make_dataset(ids, batch_size=2)]
    assert shapes == [(2, 2), (2, 4)]


def test_sorted_windows_batch_texts_of_similar_length_and_keep_every_example():
    lengths = [5, 1, 4, 2, 6, 3, 8, 7]
    ids = tf.ragged.constant([[length] * length for length in lengths], dtype=tf.int64)  # each id is its length
    targets = np.eye(8, dtype="float32")  # one-hot row i marks example i
    dataset = make_dataset(ids, targets, batch_size=2, shuffle_seed=3, sort_window=4)
    assert dataset.cardinality() == 4
    seen = []
    for batch, batch_targets in dataset:
        rows = batch_targets.numpy().argmax(axis=1)
        seen += rows.tolist()
        # Within a window of 4 batches (here all 8 texts) the texts were sorted by length, so
        # each batch holds two neighbours in length order and is padded to the longer one.
        assert sorted(lengths[i] for i in rows) in ([1, 2], [3, 4], [5, 6], [7, 8])
        assert batch.shape[1] == max(lengths[i] for i in rows)
    assert sorted(seen) == list(range(8))


class CountingModel(keras.Model):
    """Counts the Python runs of its training step: one per trace."""

    traces = 0

    def train_step(self, data):
        self.traces += 1
        return super().train_step(data)


@pytest.mark.parametrize("prebuilt, traces", [(False, 2), (True, 1)])
def test_state_built_before_fit_traces_the_training_step_once(prebuilt, traces):
    inputs = keras.Input((None,), dtype="int64")
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(5, 3)(inputs)))
    model = CountingModel(inputs, {"a": outputs, "b": outputs})
    model.compile(optimizer="adam", loss={"a": "categorical_crossentropy", "b": "categorical_crossentropy"}, metrics={"a": ["accuracy"]})
    ids = np.array([[1, 2], [3, 4]], "int64")
    targets = np.eye(2, dtype="float32")
    dataset = tf.data.Dataset.from_tensor_slices((ids, {"a": targets, "b": targets}, np.ones(2, "float32"))).batch(2)
    if prebuilt:
        build_training_state(model, dataset)
        assert model.optimizer.built
        assert all(float(variable.numpy().sum()) == 0 for metric in model.metrics for variable in metric.variables)
    model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert model.traces == traces


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


class FakeModel:
    stop_training = False


def test_branch_early_stopping_keeps_each_branch_best_epoch():
    """Branch a peaks at epoch 0 and b at epoch 2; each gets back its own weights from that epoch."""
    a, b = keras.Variable(0.0), keras.Variable(0.0)
    stopping = BranchEarlyStopping({"a": [(a, None)], "b": [(b, None)]}, "macro_f1", patience=2)
    stopping.set_model(FakeModel())
    scores = [(0.9, 0.1), (0.8, 0.2), (0.7, 0.3), (0.6, 0.2), (0.5, 0.1)]
    for epoch, (score_a, score_b) in enumerate(scores):
        a.assign(float(epoch))
        b.assign(float(epoch))
        stopping.on_epoch_end(epoch, {"val_a_macro_f1": score_a, "val_b_macro_f1": score_b})
        # a ran out of patience at epoch 2, b at epoch 4: only then does training stop.
        assert stopping.model.stop_training == (epoch == 4)
    stopping.on_train_end()
    assert (float(a.numpy()), float(b.numpy())) == (0.0, 2.0)
    assert stopping.best_epochs == {"a": 0, "b": 2}


def test_branch_early_stopping_on_loss_prefers_lower():
    variable = keras.Variable(0.0)
    stopping = BranchEarlyStopping({"a": [(variable, None)]}, "loss", patience=5)
    stopping.set_model(FakeModel())
    for epoch, loss in enumerate([0.5, 0.3, 0.4]):
        variable.assign(float(epoch))
        stopping.on_epoch_end(epoch, {"val_a_loss": loss})
    stopping.on_train_end()
    assert float(variable.numpy()) == 1.0


def test_branch_early_stopping_restores_only_the_masked_part_a_branch_owns():
    """Two branches own one element each of a shared variable (as members own blocks of a shared
    RNN kernel); a peaks at epoch 0 and b at epoch 1."""
    shared = keras.Variable([0.0, 0.0])
    branches = {"a": [(shared, np.array([True, False]))], "b": [(shared, np.array([False, True]))]}
    stopping = BranchEarlyStopping(branches, "macro_f1", patience=1)
    stopping.set_model(FakeModel())
    for epoch, scores in enumerate([(0.9, 0.1), (0.8, 0.2), (0.7, 0.1)]):
        shared.assign([epoch + 1.0, epoch + 1.0])
        stopping.on_epoch_end(epoch, {"val_a_macro_f1": scores[0], "val_b_macro_f1": scores[1]})
    stopping.on_train_end()
    np.testing.assert_array_equal(shared.numpy(), [1.0, 2.0])


def _branch_model(ngram_weight, bayes_weight=None, pooling="linear"):
    """Two classes; the recurrent branch says 0.5/0.5 to every text, and the n-gram branch gives
    token 2 to class 0 and token 3 to class 1 with logits of +-20 * ngram_weight (a one-token text's
    TF-IDF vector is 1 at its token). With ``bayes_weight`` the model has a naive-Bayes regression,
    whose logits are the same times ``bayes_weight``. The mixes pool as ``pooling`` says."""
    config = Config(
        embedding_dim=4, units=3, members=1, ngram_buckets=7, naive_bayes=bayes_weight is not None, branch_mix=pooling
    )
    model = build_model(config, vocabulary_size=10, num_classes=2)
    dense = model.get_layer("recurrent_probabilities")
    dense.set_weights([np.zeros_like(weight) for weight in dense.get_weights()])
    for name, weight in (("ngram_weights", ngram_weight), ("naive_bayes_weights", bayes_weight)):
        if weight is not None:
            kernel = np.zeros(model.get_layer(name).kernel.shape, "float32")
            kernel[2], kernel[3] = [20 * weight, -20 * weight], [-20 * weight, 20 * weight]
            model.get_layer(name).kernel.assign(kernel)
    return model


def _validation(ids, classes):
    return tf.data.Dataset.from_tensor_slices((np.array(ids, "int64"), np.eye(2, dtype="float32")[classes])).batch(2)


def _mix(w, texts, pooling="linear"):
    return {"recurrent_weight": w, "mix_validation_texts": texts, "branch_mix": pooling}


@pytest.mark.parametrize(("pooling", "w"), [("log", 0.3), ("linear", 0.6)])
def test_branch_mix_chooses_by_the_loss_of_the_layers_own_pooling(pooling, w):
    """A recurrent branch that says 0.99/0.01 to every text and a uniform n-gram branch, on texts
    four fifths of class 0. Mixed as log-probabilities, class 0 gets 99^w / (99^w + 1), 0.80 at
    w = 0.3 (the grid's lowest loss; 0.80 exactly at w = 0.302); mixed linearly, 0.5 + 0.49 w,
    0.79 at w = 0.6 (0.80 exactly at w = 0.612)."""
    model = _branch_model(0.0, pooling=pooling)
    model.get_layer("recurrent_probabilities").bias.assign([np.log(99.0), 0.0])
    chosen = choose_branch_mix(model, _validation([[2], [3], [2], [3], [2]], [0, 0, 0, 0, 1]), single=True, min_texts=1)
    assert chosen == _mix(w, 5, pooling)


def test_branch_mix_takes_the_weight_with_the_lowest_validation_loss():
    model = _branch_model(1.0)
    chosen = choose_branch_mix(model, _validation([[2], [3], [2]], [0, 1, 0]), single=True, min_texts=1)
    assert chosen == _mix(0.0, 3)  # the n-gram branch alone
    assert float(model.get_layer("probabilities").first_weight.numpy()) == 0.0
    # Texts the n-gram branch gets wrong: the uniform recurrent branch loses less.
    assert choose_branch_mix(model, _validation([[2], [3]], [1, 0]), single=True, min_texts=1) == _mix(1.0, 2)


def test_branch_mix_stays_at_one_half_on_too_few_validation_texts():
    model = _branch_model(1.0)
    assert choose_branch_mix(model, _validation([[2], [3], [2]], [0, 1, 0]), single=True, min_texts=4) == _mix(0.5, 3)
    assert float(model.get_layer("probabilities").first_weight.numpy()) == 0.5


def test_branch_mix_is_chosen_from_100_validation_texts():
    model = _branch_model(1.0)  # the n-gram branch is right on these texts: w = 0 when chosen
    assert choose_branch_mix(model, _validation([[2], [3]] * 49 + [[2]], [0, 1] * 49 + [0]), single=True) == _mix(0.5, 99)
    assert choose_branch_mix(model, _validation([[2], [3]] * 50, [0, 1] * 50), single=True) == _mix(0.0, 100)


def test_branch_mix_of_equal_losses_stays_at_one_half():
    model = _branch_model(0.0)  # both branches uniform: every mix has the same loss
    assert choose_branch_mix(model, _validation([[2], [3]], [0, 1]), single=True, min_texts=1) == _mix(0.5, 2)


def test_branch_mix_chooses_the_ngram_branchs_two_regressions_too():
    """A uniform TF-IDF regression and a naive-Bayes one that is right: all of the naive-Bayes
    regression; one that is wrong: all of the TF-IDF one, half and half with the recurrent branch
    (equal losses stay nearest 0.5)."""
    model = _branch_model(0.0, bayes_weight=1.0)
    chosen = choose_branch_mix(model, _validation([[2], [3], [2]], [0, 1, 0]), single=True, min_texts=1)
    assert chosen == {**_mix(0.0, 3), "tfidf_weight": 0.0}
    assert float(model.get_layer("ngram_probabilities").first_weight.numpy()) == 0.0
    chosen = choose_branch_mix(model, _validation([[2], [3]], [1, 0]), single=True, min_texts=1)
    assert chosen == {**_mix(0.5, 2), "tfidf_weight": 1.0}
    assert choose_branch_mix(model, _validation([[2], [3]], [1, 0]), single=True, min_texts=3) == {**_mix(0.5, 2), "tfidf_weight": 0.5}


@pytest.mark.parametrize("pooling", ["log", "linear"])
def test_the_output_is_the_chosen_mix_of_the_three_parts(pooling, monkeypatch):
    """A NumPy reference of both mixes, from the recurrent branch's and the two regressions' probabilities."""
    monkeypatch.setattr(training, "MIX_MIN_TEXTS", 1)
    classifier = TextClassifier(**dict(FAST, epochs=2, branch_mix=pooling)).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    w, v = classifier.history_["recurrent_weight"], classifier.history_["tfidf_weight"]
    assert classifier.history_["branch_mix"] == pooling
    model = classifier.model_
    names = ("recurrent_probabilities", "tfidf_probabilities", "naive_bayes_probabilities", "probabilities")
    view = keras.Model(model.input, [model.get_layer(name).output for name in names])
    recurrent, tfidf, bayes, output = (part.numpy().astype("float64") for part in view(classifier.tokenizer_(np.array(TEXTS))))
    if pooling == "log":
        expected = geometric_mix(recurrent, geometric_mix(tfidf, bayes, v), w)
    else:
        expected = w * recurrent + (1 - w) * (v * tfidf + (1 - v) * bayes)
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-6)


def test_a_fit_records_the_branch_mix(monkeypatch):
    classifier = TextClassifier(**dict(FAST, epochs=2)).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    history = classifier.history_
    assert (history["recurrent_weight"], history["tfidf_weight"], history["mix_validation_texts"]) == (0.5, 0.5, len(TEXTS))
    assert branch_mix_text(history) == (
        "0.5 x recurrent + 0.5 x n-gram branch (0.5 x TF-IDF + 0.5 x naive-Bayes regression), as log-probabilities "
        f"(kept: {len(TEXTS)} validation texts, fewer than 100 to choose the mix on)"
    )
    monkeypatch.setattr(training, "MIX_MIN_TEXTS", 1)
    classifier = TextClassifier(**dict(FAST, epochs=2)).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    weight, share = classifier.history_["recurrent_weight"], classifier.history_["tfidf_weight"]
    assert weight in MIX_WEIGHTS and share in MIX_WEIGHTS
    assert float(classifier.model_.get_layer("probabilities").first_weight.numpy()) == pytest.approx(weight)
    assert float(classifier.model_.get_layer("ngram_probabilities").first_weight.numpy()) == pytest.approx(share)
    assert branch_mix_text(classifier.history_).endswith(f"(the mix with the lowest loss on {len(TEXTS)} validation texts)")


def test_step_progress_shows_at_most_the_epochs_steps():
    progress = StepProgress()
    progress.set_params({"verbose": 0, "epochs": 1, "steps": 7})
    progress.on_epoch_begin(0)
    progress.on_train_batch_end(31)  # one call of 32 batches' size ran the epoch's 7
    assert progress.seen == 7
    progress.set_params({"verbose": 0, "epochs": 1, "steps": 199})
    progress.on_epoch_begin(0)
    progress.on_train_batch_end(31)
    assert progress.seen == 32


def test_history_of_a_two_branch_model_names_the_output_metrics_plainly():
    classifier = TextClassifier(**dict(FAST, epochs=2)).fit(TEXTS, LABELS, verbose=0)
    history = classifier.history_
    assert {"loss", "accuracy", "macro_f1", "val_loss", "val_accuracy", "val_macro_f1"} <= set(history)
    assert "val_recurrent_probabilities_macro_f1" in history
    assert history["best_epochs"] == {"recurrent_probabilities": history["best_epoch"]}
    assert history["ngram_fit"]["texts"] == len(TEXTS) - 1  # the n-gram branch was fitted on the training texts


def test_one_branch_model_history():
    classifier = TextClassifier(**dict(FAST, epochs=2, ngrams=1)).fit(TEXTS, LABELS, verbose=0)
    assert classifier.history_["best_epochs"] == {"probabilities": classifier.history_["best_epoch"]}


@pytest.mark.parametrize("ngrams", [1, 2])
def test_each_member_owns_disjoint_weights_covering_the_recurrent_branch(ngrams):
    config = Config(embedding_dim=4, units=3, members=3, ngrams=ngrams, ngram_buckets=7)
    model = build_model(config, vocabulary_size=10, num_classes=2)
    branches = branch_names(model)
    assert branches == ["member1_probabilities", "member2_probabilities", "member3_probabilities"]
    # Count, per weight, the members that own it: one each, except the weights between two members'
    # blocks of a shared RNN layer, which no member owns as they are held at zero, the mix of the
    # two branches, chosen after training, and the n-gram branch's, which scikit-learn fits.
    owners = {id(variable): np.zeros(variable.shape, int) for variable in model.weights}
    for name in branches:
        weights = _branch_weights(model, name)
        assert weights
        for variable, mask in weights:
            owners[id(variable)] += 1 if mask is None else mask
    for variable in model.weights:
        blocks = variable.constraint
        expected = blocks.kept(tuple(variable.shape)) if isinstance(blocks, MemberBlocks) else 1
        if variable.path in MIX_WEIGHT_PATHS or variable.path.startswith(NGRAM_LAYERS):
            expected = 0
        np.testing.assert_array_equal(owners[id(variable)], np.broadcast_to(expected, variable.shape), err_msg=variable.path)
    shared = model.get_layer("bidirectional_lstm_1").forward_layer.cell.recurrent_kernel
    assert owners[id(shared)].sum() == 3 * 3 * 4 * 3  # members x (units x 4 gates) x units


def test_members_are_early_stopped_on_their_own():
    settings = dict(FAST, members=2, epochs=3)
    classifier = TextClassifier(**settings).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    history = classifier.history_
    assert set(history["best_epochs"]) == {"member1_probabilities", "member2_probabilities"}
    assert history["best_epoch"] == max(history["best_epochs"]["member1_probabilities"], history["best_epochs"]["member2_probabilities"])
    assert "val_member2_probabilities_macro_f1" in history


def test_one_text_and_one_iteration_read_in_the_singular():
    history = {"recurrent_weight": 0.5, "mix_validation_texts": 1, "ngram_fit": {"c": 10, "validation_losses": {}, "features": 3, "texts": 1, "iterations": 1}}
    assert branch_mix_text(history) == "0.5 x recurrent + 0.5 x n-gram branch (kept: 1 validation text, fewer than 100 to choose the mix on)"
    assert ngram_fit_text(history) == "logistic regression (C=10) over 3 TF-IDF features of 1 training text (scikit-learn, 1 solver iteration)"
