"""textlstm's own Keras layers, each serializable (``get_config``); the rest of the model is Keras's.

- Pooling heads that honour the padding mask: ``MaskedGlobalMaxPooling1D``, ``AttentionPooling``.
  Keras's ``GlobalAveragePooling1D`` respects masks and is used as is for ``mean``; its
  ``GlobalMaxPooling1D`` ignores them, so padded positions (zeros after the RNN) can win the max.
  Both take ``mask`` explicitly: (batch, time) bool, True on tokens.
- Ids derived from the token ids, for the members and the n-gram branch: ``HashedNgrams`` (word
  n-grams, optionally with the text's start and end), ``TokenCharNgrams`` (each word's character
  n-grams), ``CjkCharacterPairs`` (pairs of adjacent CJK characters, embedded by the members) and
  ``NonCjkShare`` (the share of a text's tokens that are not CJK characters).
- The n-gram branch and the output: ``TfidfLogits`` (a TF-IDF logistic regression whose weights
  scikit-learn sets), ``BinaryBagLogits`` (a linear model over which ids a text holds: the
  naive-Bayes regression's) and ``BranchMix`` (two branches' mix: recurrent and n-gram, or the
  n-gram branch's two regressions).
"""

import keras
import tensorflow as tf
from keras import ops


def _lowest(dtype):
    """The most negative finite value of ``dtype`` (bfloat16 included): masked positions never win a
    max or softmax."""
    return float(tf.as_dtype(keras.backend.standardize_dtype(dtype)).min)


@keras.saving.register_keras_serializable(package="textlstm")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Maximum over time of each feature, over unmasked steps only.

    Input shape: (batch, time, features); mask (batch, time), True where there is a token.
    Output shape: (batch, features).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        keep = ops.expand_dims(ops.cast(mask, "bool"), axis=-1)  # (batch, time, 1)
        return ops.max(ops.where(keep, inputs, _lowest(inputs.dtype)), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="textlstm")
class AttentionPooling(keras.layers.Layer):
    """Additive (Bahdanau) attention over time steps, returning the pooled vector and the weights.

    ``score_t = v · tanh(W h_t + b)``; ``a = softmax(score)`` over unmasked steps (exactly 0 on
    padding); ``pooled = sum_t a_t h_t``.

    Args:
        units: hidden size of the scorer (rows of ``W``'s output).

    Input shape: (batch, time, features); mask (batch, time), True where there is a token.
    Output shapes: pooled (batch, features) and weights (batch, time).
    """

    def __init__(self, units=64, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(features, self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,), initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)  # (batch, time, units)
        scores = ops.sum(hidden * self.score_vector, axis=-1)  # (batch, time)
        if mask is not None:
            mask = ops.cast(mask, "bool")
            scores = ops.where(mask, scores, _lowest(scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = weights * ops.cast(mask, weights.dtype)
        pooled = ops.sum(ops.expand_dims(weights, -1) * inputs, axis=1)  # (batch, features)
        return pooled, weights

    def compute_mask(self, inputs, mask=None):
        return [None, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2]), (input_shape[0], input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class HashedNgrams(keras.layers.Layer):
    """Ids of the contiguous n-grams (2 <= n <= ``order``) of a padded id sequence, hashed to buckets.

    The n-gram starting at step t is ``h = id_t``, then ``h = (h * 1000003 + id_{t+k}) mod buckets``
    for k = 1..n-1 (mod rounding down, so the result is never negative); its id is ``h + 1``, and 0
    (padding) when any of its tokens is padding.

    With ``edges``, each text that has a token is read as ``START tokens END`` (START = -1 and
    END = -2 stand for the text's edges), so its n-grams include the ones that open and close it:
    "What" opening a question and "in" ending one give n-grams of their own.

    Args:
        order: longest n-gram (>= 2).
        buckets: number of hash buckets; output ids lie in [0, buckets].
        edges: whether the text's start and end take part in n-grams.

    Input shape: (batch, time) int64, right-padded with 0.
    Output shape: (batch, sum over n of max(steps - n + 1, 0)) int64, steps = time (time + 2 with
    ``edges``): the bigrams, then the trigrams...
    """

    MULTIPLIER = 1000003
    START, END = -1, -2

    def __init__(self, order=2, buckets=2**17, edges=False, **kwargs):
        super().__init__(**kwargs)
        self.order = int(order)
        self.buckets = int(buckets)
        self.edges = bool(edges)

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        if self.edges:
            ids = self._with_edges(ids)
        grams = []
        for n in range(2, self.order + 1):
            starts = ops.maximum(ops.shape(ids)[1] - n + 1, 0)  # n-grams per row
            hashed = ids[:, :starts]
            present = ops.not_equal(hashed, 0)
            for k in range(1, n):
                following = ids[:, k : k + starts]
                hashed = ops.mod(hashed * self.MULTIPLIER + following, self.buckets)
                present = ops.logical_and(present, ops.not_equal(following, 0))
            grams.append(ops.where(present, hashed + 1, 0))
        return ops.concatenate(grams, axis=1)

    def _with_edges(self, ids):
        """(batch, time) -> (batch, time + 2): START, the tokens, END, then padding; a row without
        tokens stays padding."""
        length = ops.sum(ops.cast(ops.not_equal(ids, 0), "int64"), axis=1, keepdims=True)  # (batch, 1)
        has_tokens = ops.greater(length, 0)
        start = ops.where(has_tokens, self.START, 0)  # (batch, 1)
        padded = ops.concatenate([start, ids, ops.zeros_like(start)], axis=1)
        steps = ops.expand_dims(ops.arange(ops.shape(padded)[1], dtype="int64"), 0)  # (1, time + 2)
        at_end = ops.logical_and(ops.equal(steps, length + 1), has_tokens)
        return ops.where(at_end, self.END, padded)

    def get_config(self):
        config = super().get_config()
        config.update(order=self.order, buckets=self.buckets, edges=self.edges)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class TokenCharNgrams(keras.layers.Layer):
    """Each token id's character n-grams, looked up in a fixed table (``char_ngram_table``).

    Args:
        vocabulary_size: rows of the table (ids, padding and OOV included).
        width: n-gram ids per token (columns of the table).

    Weights: ``table`` (vocabulary_size, width) int32, not trained: row i holds token i's n-gram
    ids, 0 where it has no more.

    Input shape: (batch, time) int64, 0 = padding.
    Output shape: (batch, time * width) int64, 0 = none.
    """

    def __init__(self, vocabulary_size, width, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.width = int(width)

    def build(self, input_shape):
        self.table = self.add_weight(
            shape=(self.vocabulary_size, self.width), dtype="int32", initializer="zeros", trainable=False, name="table"
        )

    def call(self, ids):
        grams = ops.take(self.table, ops.cast(ids, "int32"), axis=0)  # (batch, time, width)
        return ops.cast(ops.reshape(grams, (ops.shape(ids)[0], -1)), "int64")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, width=self.width)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class NonCjkShare(keras.layers.Layer):
    """The share of each row's tokens that are not single CJK characters.

    A CJK character is a token of its own and has no character n-grams, so in a Chinese text the
    character bag describes only the few Latin words and numbers. The model scales that bag's
    unit-length vector by this share, so that they weigh as much as their part of the text; a
    text without CJK characters gets exactly 1.

    Args:
        vocabulary_size: rows of the table (ids, padding and OOV included).

    Weights: ``cjk`` (vocabulary_size,) float32, not trained: 1 for a token that is one CJK
    character (``textlstm.text.cjk_character_table``), else 0.

    Input shape: (batch, time) int64, 0 = padding.
    Output shape: (batch, 1) float32: 1 - (CJK characters / tokens); 1 for a row without tokens.
    """

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)

    def build(self, input_shape):
        self.cjk = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", trainable=False, name="cjk")

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        tokens = ops.sum(ops.cast(ops.not_equal(ids, 0), "float32"), axis=1, keepdims=True)
        cjk = ops.sum(ops.take(self.cjk, ids, axis=0), axis=1, keepdims=True)
        return 1.0 - cjk / ops.maximum(tokens, 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class CjkCharacterPairs(keras.layers.Layer):
    """Ids of the pairs of adjacent CJK characters, each at the step of its second character.

    The tokenizer makes every CJK character a token, while most Chinese words are two characters:
    a pair's id lets the recurrent members embed it as a whole. The pair ending at step t >= 1,
    when tokens t-1 and t are both CJK characters, gets ``(id_{t-1} * 1000003 + id_t) mod buckets
    + 1``; every other step (the first, padding, a word that is not a CJK character, and the
    character after one) gets 0.

    Args:
        vocabulary_size: rows of the table (ids, padding and OOV included).
        buckets: number of hash buckets; output ids lie in [0, buckets].

    Weights: ``cjk`` (vocabulary_size,) float32, not trained: 1 for a token that is one CJK
    character (``textlstm.text.cjk_character_table``), else 0.

    Input shape: (batch, time) int64, 0 = padding.
    Output shape: (batch, time) int64.
    """

    MULTIPLIER = HashedNgrams.MULTIPLIER

    def __init__(self, vocabulary_size, buckets, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.buckets = int(buckets)

    def build(self, input_shape):
        self.cjk = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", trainable=False, name="cjk")

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        previous = ops.concatenate([ops.zeros_like(ids[:, :1]), ids], axis=1)[:, : ops.shape(ids)[1]]
        both = ops.logical_and(self._is_cjk(ids), self._is_cjk(previous))
        return ops.where(both, ops.mod(previous * self.MULTIPLIER + ids, self.buckets) + 1, 0)

    def _is_cjk(self, ids):
        return ops.greater(ops.take(self.cjk, ops.cast(ids, "int32"), axis=0), 0.0)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, buckets=self.buckets)
        return config


def bag_counts(ids, size):
    """How often each id occurs in each row of ``ids`` (batch, n) int64, 0 = none, ids < ``size``:
    three (entries,) tensors, rows and ids int64 and counts float32, one entry per distinct id of a row."""
    ids = tf.cast(ids, tf.int64)
    rows = tf.broadcast_to(tf.range(tf.shape(ids, out_type=tf.int64)[0])[:, None], tf.shape(ids, out_type=tf.int64))
    keys = tf.boolean_mask(rows * size + ids, tf.not_equal(ids, 0))
    unique, _, counts = tf.unique_with_counts(keys, out_idx=tf.int64)
    return unique // size, unique % size, tf.cast(counts, tf.float32)


@keras.saving.register_keras_serializable(package="textlstm")
class TfidfLogits(keras.layers.Layer):
    """A linear model over the TF-IDF vector of each row's ids; its weights are set by scikit-learn.

    A row's ids (0 = none) become a sparse vector: id j, seen c times in the row, gets
    ``(1 + ln c) * idf[j]``, and the vector is scaled to unit L2 norm. That is scikit-learn's
    ``TfidfTransformer(sublinear_tf=True)`` with ``idf_ = idf``. The logits are that vector times
    ``kernel``, plus ``bias``. Keras does not train the weights: ``textlstm.ngram_fit`` fits them.

    Args:
        size: ids lie in [0, size).
        classes: logits per row.
        use_bias: add ``bias``.

    Weights (not trained): ``idf`` (size,), ``kernel`` (size, classes), ``bias`` (classes,).

    Input shape: (batch, n) int64, 0 = none. Output shape: (batch, classes) float32.
    """

    def __init__(self, size, classes, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.classes = int(classes)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        self.idf = self.add_weight(shape=(self.size,), initializer="ones", trainable=False, name="idf")
        self.kernel = self.add_weight(shape=(self.size, self.classes), initializer="zeros", trainable=False, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.classes,), initializer="zeros", trainable=False, name="bias")

    def counts(self, ids):
        """How often each id occurs in each row: three (entries,) tensors, rows and ids int64 and counts float32."""
        return bag_counts(ids, self.size)

    def features(self, ids):
        """The rows' TF-IDF vectors as three (entries,) tensors: rows, ids (int64) and values (float32)."""
        rows, columns, counts = self.counts(ids)
        values = (1.0 + tf.math.log(counts)) * tf.gather(self.idf, columns)
        norms = tf.sqrt(tf.math.unsorted_segment_sum(values * values, rows, tf.shape(ids, out_type=tf.int64)[0]))
        return rows, columns, values / tf.gather(norms, rows)

    def call(self, ids):
        rows, columns, values = self.features(ids)
        logits = tf.math.unsorted_segment_sum(
            values[:, None] * tf.gather(self.kernel, columns), rows, tf.shape(ids, out_type=tf.int64)[0]
        )
        return logits + self.bias if self.use_bias else logits

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.classes)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, classes=self.classes, use_bias=self.use_bias)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class BinaryBagLogits(keras.layers.Layer):
    """A linear model over which ids each row holds: logit c is ``bias[c]`` plus the sum of
    ``kernel[j, c]`` over the distinct ids j of the row, however often each occurs. Keras does not
    train the weights: ``textlstm.ngram_fit`` sets them to a naive-Bayes logistic regression's (its
    coefficients times each feature's log-count ratio).

    Args:
        size: ids lie in [0, size).
        classes: logits per row.

    Weights (not trained): ``kernel`` (size, classes), ``bias`` (classes,).

    Input shape: (batch, n) int64, 0 = none. Output shape: (batch, classes) float32.
    """

    def __init__(self, size, classes, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.classes = int(classes)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.size, self.classes), initializer="zeros", trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(self.classes,), initializer="zeros", trainable=False, name="bias")

    def call(self, ids):
        rows, columns, _ = bag_counts(ids, self.size)
        logits = tf.math.unsorted_segment_sum(tf.gather(self.kernel, columns), rows, tf.shape(ids, out_type=tf.int64)[0])
        return logits + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.classes)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, classes=self.classes)
        return config


# Probabilities are read as at least this (and, for labels, at most 1 minus it) before a log.
PROBABILITY_FLOOR = 1e-30


def mix_probabilities(first, second, weight, pooling="linear", multi_label=False):
    """Two (batch, classes) probability arrays mixed with ``weight`` on the first (tensors or NumPy).

    ``linear``: ``w * first + (1 - w) * second``. ``log`` (a logarithmic opinion pool):
    ``softmax(w * log(first) + (1 - w) * log(second))``, the normalized weighted geometric mean;
    with ``multi_label``, each label's ``sigmoid(w * logit(first) + (1 - w) * logit(second))``.

    Returns:
        (batch, classes) tensor.
    """
    if pooling == "linear":
        return weight * first + (1.0 - weight) * second

    def log_odds(probabilities):
        present = ops.log(ops.maximum(probabilities, PROBABILITY_FLOOR))
        if not multi_label:
            return present
        return present - ops.log(ops.maximum(1.0 - probabilities, PROBABILITY_FLOOR))

    pooled = weight * log_odds(first) + (1.0 - weight) * log_odds(second)
    return ops.sigmoid(pooled) if multi_label else ops.softmax(pooled, axis=-1)


@keras.saving.register_keras_serializable(package="textlstm")
class BranchMix(keras.layers.Layer):
    """Two branches' probabilities, mixed by a weight ``w`` on the first that is not trained by
    gradient descent but chosen on validation data after training (0.5 until then):
    ``mix_probabilities`` with ``pooling``, ``linear`` (``w * first + (1 - w) * second``) or ``log``
    (the normalized weighted geometric mean; each label's log-odds with ``multi_label``).

    Args:
        pooling: "linear" or "log".
        multi_label: the inputs are independent per-label probabilities (``log`` pools log-odds).

    Weights (not trained): ``first_weight`` () float32, ``w``.

    Input shapes: [(batch, classes), (batch, classes)]. Output shape: (batch, classes).
    """

    def __init__(self, pooling="linear", multi_label=False, **kwargs):
        super().__init__(**kwargs)
        if pooling not in ("linear", "log"):
            raise ValueError(f"pooling must be 'linear' or 'log', got {pooling!r}")
        self.pooling = pooling
        self.multi_label = bool(multi_label)

    def build(self, input_shape):
        self.first_weight = self.add_weight(
            name="first_weight", shape=(), initializer=keras.initializers.Constant(0.5), trainable=False
        )

    def call(self, inputs):
        first, second = inputs
        return self.mix(first, second, self.first_weight)

    def mix(self, first, second, weight):
        """``first`` and ``second`` (batch, classes) mixed as this layer pools, at ``weight`` (tensors
        or NumPy): how ``training.choose_branch_mix`` scores a candidate weight."""
        return mix_probabilities(first, second, weight, self.pooling, self.multi_label)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(pooling=self.pooling, multi_label=self.multi_label)
        return config
