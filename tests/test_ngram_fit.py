"""The n-gram branch: character n-grams of words, TF-IDF in the graph, the naive-Bayes regression,
and their scikit-learn fits."""

import zlib

import keras
import numpy as np
import pytest
import scipy.sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_union

from conftest import FAST, LABELS, MULTI_LABELS, MULTI_TEXTS, TEXTS, geometric_mix
from textlstm import TextClassifier
from textlstm.layers import BinaryBagLogits, TfidfLogits
from textlstm.model import BRANCHES, NGRAM_PARTS
from textlstm.ngram_fit import (
    C_CHOICES,
    NAIVE_BAYES_C_CHOICES,
    SOLVER,
    choose_c,
    log_count_ratios,
    naive_bayes_layer,
    tfidf_layers,
)
from textlstm.text import char_ngram_table, cjk_character_table, tokenize
from textlstm.training import ngram_fit_text


def test_char_ngram_table_by_hand():
    vocabulary = ["", "[UNK]", "ab", "a", "猫"]
    table = char_ngram_table(vocabulary, order=5, buckets=1000, width=8)
    grams = [" a", "ab", "b ", " ab", "ab ", " ab "]  # " ab " read as scikit-learn's char_wb reads "ab"
    expected = [zlib.crc32(gram.encode("utf-8")) % 1000 + 1 for gram in grams]
    np.testing.assert_array_equal(table[2], expected + [0, 0])
    np.testing.assert_array_equal(table[[0, 1, 3, 4]], 0)  # padding, OOV and one-character words: none
    assert list(char_ngram_table(vocabulary, order=5, buckets=1000, width=4)[2]) == expected[:4]


def test_cjk_character_table_by_hand():
    vocabulary = ["", "[UNK]", "猫", "ab", "a", "カ", "한", "7", "猫猫"]
    np.testing.assert_array_equal(cjk_character_table(vocabulary), [0, 0, 1, 0, 0, 1, 1, 0, 0])


def test_tfidf_logits_equal_scikit_learns_tfidf_transformer():
    ids = np.array([[3, 3, 5, 0], [5, 0, 0, 0], [4, 3, 5, 5]], "int64")  # 0 = none
    counts = scipy.sparse.csr_matrix(np.array([[0, 0, 0, 2, 0, 1], [0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 2]], "float32"))
    transformer = TfidfTransformer(sublinear_tf=True).fit(counts)
    layer = TfidfLogits(size=6, classes=2)
    layer.build((None, None))
    layer.idf.assign(transformer.idf_)
    kernel = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    layer.kernel.assign(kernel)
    layer.bias.assign([0.5, -0.5])
    rows, columns, values = (tensor.numpy() for tensor in layer.features(ids))
    dense = np.zeros((3, 6), "float32")
    dense[rows, columns] = values
    expected = transformer.transform(counts).toarray()
    np.testing.assert_allclose(dense, expected, atol=1e-6)
    np.testing.assert_allclose(layer(ids), expected @ kernel + [0.5, -0.5], atol=1e-5)
    # A row without ids gets the bias alone.
    np.testing.assert_allclose(layer(np.zeros((1, 3), "int64")), [[0.5, -0.5]], atol=1e-6)


def tokens_of(text):
    """The tokens textlstm's auto tokenizer makes of ``text``."""
    return [token.decode() for token in tokenize([text], "auto")[0].numpy()]


def scikit_learn_features(max_n, characters=True):
    """scikit-learn vectorizers over the same features as the branch: a word vectorizer for the tokens
    and their 2..max_n-grams, and (``characters``) a char_wb one over the words of two or more
    characters."""
    words = TfidfVectorizer(analyzer=lambda text: _word_grams(tokens_of(text), max_n), sublinear_tf=True)
    if not characters:
        return words
    char_wb = TfidfVectorizer(
        analyzer=lambda text: [
            gram for word in tokens_of(text) if len(word) > 1 for gram in _char_grams(f" {word} ")
        ],
        sublinear_tf=True,
    )
    return make_union(words, char_wb)


def ngram_probabilities(classifier, texts, part="tfidf"):
    """The probabilities of ``texts`` of the fitted n-gram branch's TF-IDF (``part="tfidf"``) or
    naive-Bayes regression, or of the whole branch (``part=None``): (texts, classes)."""
    output = BRANCHES["ngram"] if part is None else NGRAM_PARTS[part]
    branch = keras.Model(classifier.model_.input, classifier.model_.get_layer(output).output)
    return branch(classifier.tokenizer_(np.array(texts))).numpy()


def reference_regression(c):
    """scikit-learn's LogisticRegression(C=c) with the n-gram branch's solver: the tests' reference."""
    return LogisticRegression(C=c, solver=SOLVER, max_iter=2000)


def regression_probabilities(matrix, labels, classes):
    """scikit-learn's LogisticRegression(C=10), with the branch's solver, fitted on ``matrix``: its
    probabilities of the same rows, columns in the order of ``classes``."""
    regression = reference_regression(10).fit(matrix, labels)
    return regression.predict_proba(matrix)[:, [list(regression.classes_).index(c) for c in classes]]


def _word_grams(tokens, max_n):
    """The tokens, then the 2..max_n-grams of the text read as ``<start> tokens <end>`` (the branch's
    ``HashedNgrams`` with edges)."""
    marked = ["<start>", *tokens, "<end>"]
    return tokens + [" ".join(marked[i : i + n]) for n in range(2, max_n + 1) for i in range(len(marked) - n + 1)]


def _char_grams(padded):
    return [padded[i : i + n] for n in range(2, 6) for i in range(len(padded) - n + 1)]


@pytest.mark.parametrize("labels", [LABELS, ["cat", "cat", "cat", "bird", "dog", "dog", "dog", "bird", "cat", "bird", "dog", "dog"]])
def test_the_fitted_branch_is_scikit_learns_tfidf_and_logistic_regression(labels):
    """Two and three classes (the binary case keeps one coefficient vector): the branch's
    probabilities equal those of scikit-learn's vectorizers and LogisticRegression(C=10) on the same
    training texts, features and tokens."""
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=50, ngram_c=10.0)).fit(
        TEXTS, labels, validation_data=(TEXTS[:2], labels[:2]), verbose=0
    )
    matrix = scikit_learn_features(2).fit_transform(TEXTS)
    expected = regression_probabilities(matrix, labels, classifier.classes_)
    np.testing.assert_allclose(ngram_probabilities(classifier, TEXTS), expected, atol=2e-3)
    assert classifier.history_["ngram_fit"]["texts"] == len(TEXTS)
    # The regression saw only the columns the texts use (scikit-learn's vocabulary); the rest stay 0.
    assert classifier.history_["ngram_fit"]["features"] == matrix.shape[1]
    kernels = [layer.kernel.numpy() for layer in tfidf_layers(classifier.model_)]
    assert sum(int(np.any(kernel != 0, axis=1).sum()) for kernel in kernels) == matrix.shape[1]
    assert classifier.history_["ngram_fit"]["validation_losses"] == {}  # C given: nothing chosen


def test_the_character_bag_is_scaled_by_the_share_of_tokens_that_are_not_cjk_characters():
    """Texts mixing Chinese characters and Latin words: the character bag's TF-IDF rows are scaled
    by the share of each text's tokens that are not CJK characters, in scikit-learn's fit and in
    the graph alike."""
    texts = TEXTS + ["我的cat很好", "小狗 barks 叫", "cat 猫", "dog狗狗"]
    labels = LABELS + ["cat", "dog", "cat", "dog"]
    # By hand: 我 的 cat 很 好 -> 1 of 5 tokens is not a CJK character; 小 狗 barks 叫 -> 1 of 4; ...
    shares = [1.0] * 8 + [0.0] * 4 + [1 / 5, 1 / 4, 1 / 2, 1 / 3]
    assert [len(tokens_of(text)) for text in texts[-4:]] == [5, 4, 2, 3]
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=50, ngram_c=10.0)).fit(
        texts, labels, validation_data=(texts[:2], labels[:2]), verbose=0
    )
    words, characters = (transformer for _, transformer in scikit_learn_features(2).transformer_list)
    matrix = scipy.sparse.hstack([words.fit_transform(texts), scipy.sparse.diags(shares) @ characters.fit_transform(texts)])
    expected = regression_probabilities(matrix.tocsr(), labels, classifier.classes_)
    np.testing.assert_allclose(ngram_probabilities(classifier, texts), expected, atol=2e-3)


def test_without_character_ngrams_the_branch_is_the_word_vectorizer_alone():
    """char_ngrams=1 leaves one bag (tokens and bigrams): the fit still runs, and the branch is
    scikit-learn's word vectorizer and LogisticRegression(C=10) without the char_wb union."""
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=50, ngram_c=10.0, char_ngrams=1)).fit(
        TEXTS, LABELS, validation_data=(TEXTS[:2], LABELS[:2]), verbose=0
    )
    assert [layer.name for layer in tfidf_layers(classifier.model_)] == ["ngram_weights"]
    matrix = scikit_learn_features(2, characters=False).fit_transform(TEXTS)
    expected = regression_probabilities(matrix, LABELS, classifier.classes_)
    np.testing.assert_allclose(ngram_probabilities(classifier, TEXTS), expected, atol=2e-3)
    assert classifier.history_["ngram_fit"]["features"] == matrix.shape[1]


def assert_chosen_by_validation_loss(fitted, choices):
    """The C fitted are the first of ``choices``, up to the first whose loss rose (or all), and the
    one kept has the lowest of their losses."""
    losses = [round(loss, 6) for loss in fitted["validation_losses"].values()]
    tried = list(fitted["validation_losses"])
    assert tried == list(choices[: len(tried)])
    assert all(later <= earlier for earlier, later in zip(losses[:-2], losses[1:-1]))
    assert len(tried) == len(choices) or losses[-1] > losses[-2]
    assert fitted["c"] == min(tried, key=lambda c: fitted["validation_losses"][c])


def fitting(losses):
    """A ``choose_c`` fit and loss for {C: loss}, recording the C fitted."""
    fitted = []
    return fitted, lambda c: fitted.append(c) or f"fit at {c}", lambda fit: losses[float(fit.split()[-1])]


def test_choose_c_fits_in_turn_until_the_loss_rises():
    fitted, fit, loss = fitting({1.0: 0.5, 10.0: 0.4, 100.0: 0.45})
    assert choose_c(C_CHOICES, fit, loss) == (10.0, "fit at 10.0", {1.0: 0.5, 10.0: 0.4, 100.0: 0.45})
    fitted, fit, loss = fitting({1.0: 0.5, 10.0: 0.6, 100.0: 0.1})
    assert choose_c(C_CHOICES, fit, loss) == (1.0, "fit at 1.0", {1.0: 0.5, 10.0: 0.6})
    assert fitted == [1.0, 10.0]  # 100 is not fitted once the loss rose at 10
    fitted, fit, loss = fitting({1.0: 0.4, 10.0: 0.4 + 1e-8, 100.0: 0.3})
    assert choose_c(C_CHOICES, fit, loss)[0] == 100.0  # equal to 6 decimals is not a rise
    fitted, fit, loss = fitting({1.0: 0.3, 10.0: 0.3, 100.0: 0.5})
    assert choose_c(C_CHOICES, fit, loss)[0] == 1.0  # of equal losses, the smaller C


def test_the_printed_fit_names_the_c_fitted_and_those_not():
    history = {
        "ngram_fit": {
            "texts": 1200,
            "features": 34567,
            "c": 10.0,
            "iterations": 7,
            "validation_losses": {1.0: 0.5, 10.0: 0.4, 100.0: 0.45},
            "naive_bayes": {"c": 0.1, "iterations": 9, "validation_losses": {0.1: 0.3, 1.0: 0.31}},
        }
    }
    assert ngram_fit_text(history) == (
        "logistic regression (C=10, the lowest validation loss of 1, 10, 100) over 34,567 TF-IDF features "
        "of 1,200 training texts (scikit-learn, 7 solver iterations); naive-Bayes logistic regression "
        "(C=0.1, the lowest validation loss of 0.1, 1; 10 not fitted: the loss rose at 1) over which "
        "tokens and n-grams each text holds (9 solver iterations)"
    )
    history["ngram_fit"].update(c=100.0, validation_losses={})  # C given: nothing chosen
    assert ngram_fit_text(history).startswith("logistic regression (C=100) over 34,567")


def test_automatic_c_is_the_one_with_the_lowest_validation_cross_entropy():
    validation = (TEXTS[::3], LABELS[::3])
    classifier = TextClassifier(**dict(FAST, epochs=1)).fit(TEXTS[1::3] + TEXTS[2::3], LABELS[1::3] + LABELS[2::3], validation_data=validation, verbose=0)
    fitted = classifier.history_["ngram_fit"]
    assert_chosen_by_validation_loss(fitted, C_CHOICES)
    assert classifier.config_.ngram_c == fitted["c"]  # the resolved configuration records it
    probabilities = ngram_probabilities(classifier, validation[0])
    expected = log_loss(validation[1], probabilities, labels=list(classifier.classes_))
    assert fitted["validation_losses"][fitted["c"]] == pytest.approx(expected, abs=1e-4)


def test_multi_label_branch_is_one_logistic_regression_per_label():
    texts, labels = MULTI_TEXTS + ["a dog"], MULTI_LABELS + ["dog"]
    classifier = TextClassifier(task="multi-label", **dict(FAST, epochs=1, ngram_c=10.0)).fit(
        texts, labels, validation_data=(MULTI_TEXTS, MULTI_LABELS), verbose=0
    )
    features = scikit_learn_features(2).fit_transform(texts)
    got = ngram_probabilities(classifier, texts)
    for column, label in enumerate(classifier.classes_):
        present = np.array([label in text_labels.split("|") for text_labels in labels])
        expected = reference_regression(10).fit(features, present).predict_proba(features)[:, 1]
        np.testing.assert_allclose(got[:, column], expected, atol=2e-3, err_msg=label)


def test_binary_bag_logits_count_each_id_once():
    layer = BinaryBagLogits(size=6, classes=2)
    layer.build((None, None))
    kernel = np.arange(12, dtype="float32").reshape(6, 2)
    layer.kernel.assign(kernel)
    layer.bias.assign([0.5, -0.5])
    ids = np.array([[3, 3, 5, 0], [0, 0, 0, 0]], "int64")
    # Row 0 holds ids 3 and 5 (3 twice, counted once); row 1 holds none: the bias alone.
    np.testing.assert_allclose(layer(ids), [kernel[3] + kernel[5] + [0.5, -0.5], [0.5, -0.5]])
    again = BinaryBagLogits.from_config(layer.get_config())
    assert (again.size, again.classes, again.name) == (6, 2, layer.name)


def test_log_count_ratios_by_hand():
    presence = scipy.sparse.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]], "float64"))
    positive = np.array([True, True, False])
    # p = 1 + [2, 1, 0] = [3, 2, 1] (sum 6); q = 1 + [0, 0, 1] = [1, 1, 2] (sum 4).
    expected = np.log(np.array([3, 2, 1]) / 6) - np.log(np.array([1, 1, 2]) / 4)
    np.testing.assert_allclose(log_count_ratios(presence, positive), expected)


def naive_bayes_reference(texts, labels, classes, c):
    """NBSVM by scikit-learn on its own: binary token and bigram counts, one LogisticRegression(C=c)
    per class on the features scaled by that class's log-count ratios (one, of the second class, for
    two classes); each class's probability divided by their sum. (texts, classes)."""
    matrix = CountVectorizer(analyzer=lambda text: _word_grams(tokens_of(text), 2), binary=True).fit_transform(texts)
    matrix = matrix.astype("float64")
    labels = np.array(labels)
    problems = classes[1:] if len(classes) == 2 else classes
    probabilities = []
    for label in problems:
        positive = labels == label
        scaled = matrix.multiply(log_count_ratios(matrix, positive)).tocsr()
        regression = reference_regression(c).fit(scaled, positive)
        probabilities.append(regression.predict_proba(scaled)[:, 1])
    probabilities = np.stack(probabilities, axis=1)
    if len(classes) == 2:
        probabilities = np.concatenate([1 - probabilities, probabilities], axis=1)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("labels", [LABELS, ["cat", "cat", "cat", "bird", "dog", "dog", "dog", "bird", "cat", "bird", "dog", "dog"]])
def test_the_naive_bayes_regression_is_nbsvm_by_scikit_learn(labels):
    """Two classes (one regression) and three (one per class, normalized): the regression's
    probabilities equal scikit-learn's NBSVM at the C it kept, and C is the one of
    NAIVE_BAYES_C_CHOICES with the lowest validation loss, which is the loss of those probabilities."""
    validation = (TEXTS[:4], labels[:4])
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=50)).fit(TEXTS, labels, validation_data=validation, verbose=0)
    fitted = classifier.history_["ngram_fit"]["naive_bayes"]
    assert_chosen_by_validation_loss(fitted, NAIVE_BAYES_C_CHOICES)
    expected = naive_bayes_reference(TEXTS, labels, list(classifier.classes_), fitted["c"])
    got = ngram_probabilities(classifier, TEXTS, "naive_bayes")
    np.testing.assert_allclose(got, expected, atol=2e-3)
    loss = log_loss(validation[1], got[:4], labels=list(classifier.classes_))
    assert fitted["validation_losses"][fitted["c"]] == pytest.approx(loss, abs=1e-4)
    # The branch is the two regressions' mix (of log-probabilities), v chosen beside the recurrent weight.
    v = classifier.history_["tfidf_weight"]
    mixed = geometric_mix(ngram_probabilities(classifier, TEXTS), got, v)
    np.testing.assert_allclose(ngram_probabilities(classifier, TEXTS, None), mixed, atol=1e-6)


def test_multi_label_naive_bayes_is_one_regression_per_label():
    """Each label's sigmoid, not normalized; a label every text holds gets a constant probability of 1."""
    texts, labels = MULTI_TEXTS + ["a dog"], [f"{label}|pet" for label in MULTI_LABELS + ["dog"]]
    classifier = TextClassifier(task="multi-label", **dict(FAST, epochs=1)).fit(
        texts, labels, validation_data=(texts, labels), verbose=0
    )
    c = classifier.history_["ngram_fit"]["naive_bayes"]["c"]
    matrix = CountVectorizer(analyzer=lambda text: _word_grams(tokens_of(text), 2), binary=True).fit_transform(texts)
    matrix = matrix.astype("float64")
    got = ngram_probabilities(classifier, texts, "naive_bayes")
    for column, label in enumerate(classifier.classes_):
        present = np.array([label in text_labels.split("|") for text_labels in labels])
        if present.all():
            np.testing.assert_allclose(got[:, column], 1.0, err_msg=label)
            continue
        scaled = matrix.multiply(log_count_ratios(matrix, present)).tocsr()
        expected = reference_regression(c).fit(scaled, present).predict_proba(scaled)[:, 1]
        np.testing.assert_allclose(got[:, column], expected, atol=2e-3, err_msg=label)


def test_without_naive_bayes_the_branch_is_the_tfidf_regression():
    classifier = TextClassifier(**dict(FAST, epochs=1, naive_bayes=False)).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    assert naive_bayes_layer(classifier.model_) is None
    assert "naive_bayes" not in classifier.history_["ngram_fit"] and "tfidf_weight" not in classifier.history_
    assert NGRAM_PARTS["tfidf"] not in {layer.name for layer in classifier.model_.layers}


def test_sample_weights_reach_both_regressions():
    """Weights 0, 1 and 3: the TF-IDF regression is scikit-learn's LogisticRegression(C=10) fitted with
    them as sample_weight (the idf still counts every text), and the naive-Bayes one NBSVM with them
    in its loss and its log-count ratios (1 + the summed weight of the texts holding each feature)."""
    weights = np.array([1, 3, 0, 1, 1, 0, 3, 1, 1, 1, 0, 1], "float64")
    classifier = TextClassifier(**dict(FAST, epochs=1, max_length=50, ngram_c=10.0)).fit(
        TEXTS, LABELS, validation_data=(TEXTS[:4], LABELS[:4]), sample_weight=weights, verbose=0
    )
    regression = reference_regression(10).fit(scikit_learn_features(2).fit_transform(TEXTS), LABELS, sample_weight=weights)
    expected = regression.predict_proba(scikit_learn_features(2).fit_transform(TEXTS))
    np.testing.assert_allclose(ngram_probabilities(classifier, TEXTS), expected[:, [list(regression.classes_).index(c) for c in classifier.classes_]], atol=2e-3)
    binary = CountVectorizer(analyzer=lambda text: _word_grams(tokens_of(text), 2), binary=True).fit_transform(TEXTS).astype("float64")
    positive = np.array(LABELS) == classifier.classes_[1]  # two classes: one regression, of the second
    p = 1 + binary[positive].T @ weights[positive]
    q = 1 + binary[~positive].T @ weights[~positive]
    scaled = binary.multiply(np.log(p / p.sum()) - np.log(q / q.sum())).tocsr()
    c = classifier.history_["ngram_fit"]["naive_bayes"]["c"]
    second = reference_regression(c).fit(scaled, positive, sample_weight=weights).predict_proba(scaled)[:, 1]
    np.testing.assert_allclose(ngram_probabilities(classifier, TEXTS, "naive_bayes"), np.stack([1 - second, second], axis=1), atol=2e-3)
