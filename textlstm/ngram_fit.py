"""Fit the n-gram branch with scikit-learn: TF-IDF weights, then logistic regression; and the
naive-Bayes regression beside it.

The branch's ``TfidfLogits`` layers compute, in the graph, what scikit-learn's
``TfidfTransformer(sublinear_tf=True)`` computes from a count matrix. This module reads each
training text's id counts from those layers, fits the transformers and one
``LogisticRegression`` on the stacked TF-IDF matrices, and writes the idf weights, coefficients
and intercepts into the layers. The export then needs nothing but TensorFlow. The character
bag's rows are scaled by the share of each text's tokens that are not CJK characters, as the
graph scales them (``NonCjkShare``).

The naive-Bayes regression (``BinaryBagLogits``, with ``Config.naive_bayes``) reads the word
bag's ids too, present or not. For each class it is NBSVM's logistic regression (Wang and
Manning, 2012): each id's feature is its log-count ratio r = log(p / |p|) - log(q / |q|), where
p and q count the training texts of the class and of the others that hold it (plus one), and
the layer's kernel is r times the regression's coefficients.
"""

import warnings

import keras
import numpy as np
import scipy.sparse
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression

from textlstm.layers import TfidfLogits
from textlstm.model import CHAR_NGRAM_WEIGHTS, NAIVE_BAYES_WEIGHTS, NGRAM_WEIGHTS, NON_CJK_SHARE

# Logit of a class or label that the training data never shows (or always shows): about 1e-13.
ABSENT_LOGIT = -30.0
MAX_ITERATIONS = 2000
# The regressions' solver. scikit-learn's default, L-BFGS, spends most of a fit on its own update
# of the (features x classes) coefficients (online_shopping_10cats: 229,576 features, 10 classes,
# C=1: 21 of 32 s), and takes 54-189 iterations where Newton-CG takes 5-13, each a few sparse
# products; Newton-CG's validation losses were lower, or within 0.001 (benchmarks/EXPERIMENTS.md,
# "Newton-CG"). One exception measured: online_shopping_10cats's 30 binary naive-Bayes fits took
# 77 s, 23 with L-BFGS.
SOLVER = "newton-cg"
# The values of C tried when ``Config.ngram_c`` is automatic.
C_CHOICES = (1.0, 10.0, 100.0)
# The values of C tried for the naive-Bayes regression (its features are not normalized: a text
# holds tens of them, each of size up to about 10).
NAIVE_BAYES_C_CHOICES = (0.1, 1.0, 10.0)


def tfidf_layers(model):
    """The model's TfidfLogits layers (the n-gram branch's bags), the word bag (which holds the
    bias) first, then the character bag; empty without the branch."""
    bags = [layer for layer in model.layers if isinstance(layer, TfidfLogits)]
    return sorted(bags, key=lambda layer: layer.name != NGRAM_WEIGHTS)


def row_scales(model):
    """{bag name: the layer whose (batch, 1) output scales that bag's rows}: the character bag's
    ``NonCjkShare``, when the model has one."""
    names = {layer.name for layer in model.layers}
    return {CHAR_NGRAM_WEIGHTS: model.get_layer(NON_CJK_SHARE)} if NON_CJK_SHARE in names else {}


def bag_counter(model):
    """One traced function, ids (batch, time) -> for each bag, its ``TfidfLogits.counts`` and its
    rows' scales (batch,) (ones for a bag that is not scaled); for ``count_matrices``."""
    layers, scales = tfidf_layers(model), row_scales(model)
    outputs = [layer.input for layer in layers] + [scales[layer.name].output for layer in layers if layer.name in scales]
    view = keras.Model(model.input, outputs)

    def count(ids):
        # tf.nest.flatten: a model of one output (no character bag) returns that tensor, not a list.
        bags = tf.nest.flatten(view(ids))
        scale_outputs = iter(bags[len(layers) :])
        result = []
        for layer, bag in zip(layers, bags):
            scale = next(scale_outputs)[:, 0] if layer.name in scales else tf.ones(tf.shape(ids)[:1])
            result.append((*layer.counts(bag), scale))
        return result

    return tf.function(count, input_signature=[tf.TensorSpec([None, None], tf.int64)])


def count_matrices(model, dataset, counter=None):
    """Each bag's id counts over the texts of ``dataset``, in the order it yields them.

    Args:
        model: a model with an n-gram branch.
        dataset: batches of (ids (batch, time), targets (batch, classes), ...).
        counter: ``bag_counter(model)``, to reuse one traced function over several datasets.

    Returns:
        ([(scipy CSR (texts, bag size) of counts, row scales (texts,)), one per TfidfLogits layer],
        targets (texts, classes), the texts' weights (texts,) or None when the batches hold none).
    """
    layers = tfidf_layers(model)
    run = counter or bag_counter(model)
    parts, scales, targets, weights, offset = [[] for _ in layers], [[] for _ in layers], [], [], 0
    for ids, batch_targets, *batch_weights in dataset:
        for part, scale, (rows, columns, counts, row_scale) in zip(parts, scales, run(ids)):
            part.append((rows.numpy() + offset, columns.numpy(), counts.numpy()))
            scale.append(row_scale.numpy())
        targets.append(np.asarray(batch_targets))
        weights.extend(np.asarray(w, np.float64) for w in batch_weights)
        offset += len(batch_targets)
    bags = []
    for layer, part, scale in zip(layers, parts, scales):
        rows, columns, counts = (np.concatenate(values) for values in zip(*part))
        bags.append((scipy.sparse.csr_matrix((counts, (rows, columns)), shape=(offset, layer.size)), np.concatenate(scale)))
    return bags, np.concatenate(targets), np.concatenate(weights) if weights else None


def fit_ngram_branch(model, train, validation, c, single, class_weight=None):
    """Fit the n-gram branch on the training texts and set its weights.

    Single-label: one multinomial (binary for two classes) ``LogisticRegression(C=c)``; classes the
    training texts lack get ``ABSENT_LOGIT``. Multi-label: one binary regression per label; a label
    that is always or never present gets a constant logit. With ``c`` None, C is chosen from
    ``C_CHOICES`` by the cross-entropy of the probabilities on the validation texts
    (``choose_c``). A model with a naive-Bayes regression has it fitted too (``fit_naive_bayes``).

    Args:
        model: a model with an n-gram branch (``build_model`` with ``ngrams > 1``).
        train, validation: batches of (ids (batch, time), targets (batch, classes)[, weights
            (batch,)]); the training texts' weights scale their losses, as ``sample_weight`` does in
            scikit-learn (the idf counts every text).
        c: inverse L2 strength (``Config.ngram_c``), or None to choose it.
        single: single-label (softmax over classes) or multi-label (a sigmoid per label).
        class_weight: {class index: weight} or None (single-label).

    Returns:
        {"texts": training texts, "features": distinct ids seen in them, "c": the C kept,
        "iterations": its solver iterations (the most of its regressions), "validation_losses":
        {C: validation cross-entropy} of the C fitted when C was chosen, else {}}; with a
        naive-Bayes regression, also "naive_bayes": what ``fit_naive_bayes`` returned.
    """
    layers, counter = tfidf_layers(model), bag_counter(model)
    bayes = naive_bayes_layer(model)
    bags, targets, weights = count_matrices(model, train, counter)
    if c is None or bayes is not None:
        validation_bags, validation_targets, _ = count_matrices(model, validation, counter)
    transformers = [TfidfTransformer(sublinear_tf=True).fit(matrix) for matrix, _ in bags]
    features = _stack(transformers, bags)
    # The regressions see only the columns the training texts use: an unused hashed bucket's
    # coefficient stays 0 anyway, and the solver's work grows with the number of coefficients.
    used = np.flatnonzero(features.getnnz(axis=0))
    features = features[:, used]
    if c is None:
        validation_features = _stack(transformers, validation_bags)[:, used]
        c, (used_kernel, bias, iterations), losses = choose_c(
            C_CHOICES,
            lambda value: _fit(features, targets, value, single, class_weight, weights),
            lambda fit: _cross_entropy(validation_features @ fit[0] + fit[1], validation_targets, single),
        )
    else:
        (used_kernel, bias, iterations), losses = _fit(features, targets, c, single, class_weight, weights), {}
    kernel = np.zeros((sum(layer.size for layer in layers), len(bias)), np.float32)
    kernel[used] = used_kernel
    start = 0
    for layer, transformer in zip(layers, transformers):
        layer.idf.assign(transformer.idf_.astype(np.float32))
        layer.kernel.assign(kernel[start : start + layer.size])
        start += layer.size
    layers[0].bias.assign(bias)
    result = {"texts": len(targets), "features": len(used), "c": c, "iterations": iterations, "validation_losses": losses}
    if bayes is not None:
        # The word bag (layers[0]) reads the same ids as the naive-Bayes layer.
        presence, validation_presence = (_binary(matrices[0][0]) for matrices in (bags, validation_bags))
        result["naive_bayes"] = fit_naive_bayes(
            bayes, presence, targets, validation_presence, validation_targets, single, class_weight, weights
        )
    return result


def naive_bayes_layer(model):
    """The model's naive-Bayes regression (a ``BinaryBagLogits``), or None."""
    return next((layer for layer in model.layers if layer.name == NAIVE_BAYES_WEIGHTS), None)


def fit_naive_bayes(
    layer, presence, targets, validation_presence, validation_targets, single, class_weight=None, sample_weight=None
):
    """Fit NBSVM's logistic regressions on which ids each text holds and set ``layer``'s weights.

    One binary problem per class (single-label; with two classes one, the second class against
    the first) or label (multi-label): each id's feature is its log-count ratio for the class
    (``log_count_ratios``) where the text holds it, else 0. C is chosen from
    ``NAIVE_BAYES_C_CHOICES`` by the cross-entropy of the probabilities on the validation texts
    (``choose_c``). The probabilities are each class's sigmoid divided by their sum (single-label)
    or each label's sigmoid (multi-label). Classes or labels that the training texts always or
    never show get ``±ABSENT_LOGIT``.

    Args:
        layer: the model's ``BinaryBagLogits``.
        presence, validation_presence: scipy CSR (texts, layer.size), 1 where a text holds an id.
        targets, validation_targets: (texts, classes) indicators.
        single: single-label or multi-label.
        class_weight: {class index: weight} or None (single-label): each text weighs its class's.
        sample_weight: each training text's weight (texts,), or None: it scales the text's loss and
            its count in the log-count ratios.

    Returns:
        {"c": the C kept, "iterations": its solver iterations (the most of its regressions),
        "validation_losses": {C: validation cross-entropy} of the C fitted}.
    """
    used = np.flatnonzero(presence.getnnz(axis=0))
    features, validation_features = presence[:, used], validation_presence[:, used]
    weights = sample_weight
    if single and class_weight:
        weights = np.array([class_weight.get(label, 1.0) for label in targets.argmax(axis=1)])
        weights = weights if sample_weight is None else weights * sample_weight

    def loss(fit):
        logits = validation_features @ fit[0] + fit[1]
        return _cross_entropy(_log_sigmoid(logits) if single else logits, validation_targets, single)

    c, (used_kernel, bias, iterations), losses = choose_c(
        NAIVE_BAYES_C_CHOICES, lambda value: _fit_naive_bayes(features, targets, value, single, weights, sample_weight), loss
    )
    kernel = np.zeros((layer.size, len(bias)), np.float32)
    kernel[used] = used_kernel
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    return {"c": c, "iterations": iterations, "validation_losses": losses}


def choose_c(choices, fit, loss):
    """Fit the values of C in ``choices`` (increasing) in turn and keep the one with the lowest
    validation loss (of equal losses, the smaller C; losses are compared to 6 decimals).

    The validation loss of these regressions falls with C to a lowest point and rises after it, so
    once a C's loss is higher than the one before, the larger C are not fitted: they are the
    slowest (the solver needs more iterations as the penalty weakens), and the choice is the same
    whenever the losses have one lowest point. On the seven benchmark sets and the two held-out
    ones, every regression's losses over its three C did (benchmarks/EXPERIMENTS.md, "Newton-CG").

    Args:
        choices: increasing values of C.
        fit: C -> a fit (any object).
        loss: a fit -> its validation loss (float).

    Returns:
        (C kept, its fit, {C: validation loss} of the C fitted, in order).
    """
    fits, losses, last = {}, {}, None
    for value in choices:
        fits[value] = fit(value)
        losses[value] = loss(fits[value])
        if last is not None and round(losses[value], 6) > round(last, 6):
            break
        last = losses[value]
    c = min(losses, key=lambda value: round(losses[value], 6))
    return c, fits[c], losses


def log_count_ratios(presence, positive, weights=None):
    """NBSVM's log-count ratio of each column: log(p / sum(p)) - log(q / sum(q)), where p (q) is one
    plus the number (or with ``weights``, the summed weight) of positive (other) rows that hold it.

    Args:
        presence: scipy CSR (texts, features) of 0/1.
        positive: (texts,) bool.
        weights: optional (texts,) row weights.

    Returns:
        (features,) float64.
    """
    if weights is not None:
        presence = scipy.sparse.diags(weights) @ presence
    p = np.asarray(presence[positive].sum(axis=0)).ravel() + 1.0
    q = np.asarray(presence[~positive].sum(axis=0)).ravel() + 1.0
    return np.log(p / p.sum()) - np.log(q / q.sum())


def _fit_naive_bayes(features, targets, c, single, loss_weight, count_weight):
    """(kernel (features, classes), bias (classes,), solver iterations) of the naive-Bayes regressions
    at ``c``: texts weigh ``loss_weight`` in the losses and ``count_weight`` in the ratios (None: 1)."""
    classes = targets.shape[1]
    kernel = np.zeros((features.shape[1], classes), np.float32)
    bias = np.full(classes, ABSENT_LOGIT, np.float32)
    if single:
        labels = targets.argmax(axis=1)
        seen = np.unique(labels)
        if len(seen) == 1:
            bias[seen[0]] = -ABSENT_LOGIT
            return kernel, bias, 0
        problems = [(seen[1], labels == seen[1])] if len(seen) == 2 else [(label, labels == label) for label in seen]
    else:
        problems = []
        for label in range(classes):
            present = targets[:, label] > 0.5
            if present.all():
                bias[label] = -ABSENT_LOGIT
            elif present.any():
                problems.append((label, present))
    iterations = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for label, positive in problems:
            ratios = log_count_ratios(features, positive, count_weight)
            regression = _regression(c, None).fit(features.multiply(ratios).tocsr(), positive, sample_weight=loss_weight)
            iterations = max(iterations, int(np.max(regression.n_iter_)))
            kernel[:, label], bias[label] = ratios * regression.coef_[0], regression.intercept_[0]
    if single and len(seen) == 2:  # one regression: the first class's logit is the second's, negated
        kernel[:, seen[0]], bias[seen[0]] = -kernel[:, seen[1]], -bias[seen[1]]
    return kernel, bias, iterations


def _binary(matrix):
    """A CSR count matrix with every stored count set to 1."""
    binary = matrix.copy()
    binary.data[:] = 1.0
    return binary


def _log_sigmoid(logits):
    return -np.logaddexp(0.0, -np.asarray(logits, np.float64))


def _stack(transformers, bags):
    """The bags' TF-IDF matrices, rows scaled, side by side: scipy CSR (texts, sum of bag sizes)."""
    return scipy.sparse.hstack([_scaled(transformer.transform(matrix), scale) for transformer, (matrix, scale) in zip(transformers, bags)]).tocsr()


def _scaled(matrix, scale):
    """``matrix`` (CSR) with row i times ``scale[i]``; the matrix itself when every scale is 1 (a
    product would reorder its entries, and the solver's path with them)."""
    if np.all(scale == 1.0):
        return matrix
    return scipy.sparse.diags(scale) @ matrix


def _fit(features, targets, c, single, class_weight, sample_weight=None):
    """(kernel (features, classes), bias (classes,), solver iterations) of the regressions at ``c``,
    each text's loss weighted by ``sample_weight`` (texts,) (None: 1) and its class's ``class_weight``."""
    classes = targets.shape[1]
    kernel = np.zeros((features.shape[1], classes), np.float32)
    bias = np.full(classes, ABSENT_LOGIT, np.float32)
    iterations = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if single:
            labels = targets.argmax(axis=1)
            seen = np.unique(labels)
            if len(seen) == 1:
                bias[seen[0]] = 0.0
                return kernel, bias, iterations
            regression = _regression(c, class_weight).fit(features, labels, sample_weight=sample_weight)
            iterations = int(np.max(regression.n_iter_))
            if len(seen) == 2:  # one coefficient vector: the second class's logit against the first's
                kernel[:, seen[1]], bias[seen[1]], bias[seen[0]] = regression.coef_[0], regression.intercept_[0], 0.0
            else:
                kernel[:, seen], bias[seen] = regression.coef_.T, regression.intercept_
            return kernel, bias, iterations
        for label in range(classes):
            present = targets[:, label] > 0.5
            if present.all() or not present.any():
                bias[label] = -ABSENT_LOGIT if present.all() else ABSENT_LOGIT
                continue
            regression = _regression(c, None).fit(features, present, sample_weight=sample_weight)
            iterations = max(iterations, int(np.max(regression.n_iter_)))
            kernel[:, label], bias[label] = regression.coef_[0], regression.intercept_[0]
    return kernel, bias, iterations


def _cross_entropy(logits, targets, single):
    """Mean cross-entropy of logits (n, classes) against indicator targets: softmax for single-label,
    a sigmoid per label (mean over labels) for multi-label."""
    logits = np.asarray(logits, np.float64)
    if single:
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-(targets * log_probabilities).sum(axis=1).mean())
    return float((np.logaddexp(0, logits) - targets * logits).mean())


def _regression(c, class_weight):
    return LogisticRegression(C=c, solver=SOLVER, max_iter=MAX_ITERATIONS, class_weight=class_weight)
