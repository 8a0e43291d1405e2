"""Pooling heads that honour the padding mask.

Keras's ``GlobalAveragePooling1D`` respects masks and is used as is for ``mean``; its
``GlobalMaxPooling1D`` ignores them, so padded positions (zeros after the RNN) can win the max.
These two layers close that gap. Both take ``mask`` explicitly: (batch, time) bool, True on tokens.
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
    for k = 1..n-1; its id is ``h + 1``, and 0 (padding) when any of its tokens is padding.

    Args:
        order: longest n-gram (>= 2).
        buckets: number of hash buckets; output ids lie in [0, buckets].

    Input shape: (batch, time) int64, 0 = padding.
    Output shape: (batch, sum over n of max(time - n + 1, 0)) int64: the bigrams, then the trigrams...
    """

    MULTIPLIER = 1000003

    def __init__(self, order=2, buckets=2**17, **kwargs):
        super().__init__(**kwargs)
        self.order = int(order)
        self.buckets = int(buckets)

    def call(self, ids):
        ids = ops.cast(ids, "int64")
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

    def get_config(self):
        config = super().get_config()
        config.update(order=self.order, buckets=self.buckets)
        return config


@keras.saving.register_keras_serializable(package="textlstm")
class BranchMix(keras.layers.Layer):
    """``w * recurrent + (1 - w) * ngram``: the two branches' probabilities, mixed by a weight that
    is not trained by gradient descent but chosen on validation data after training (0.5 until then).

    Input shapes: [(batch, classes), (batch, classes)]. Output shape: (batch, classes).
    """

    def build(self, input_shape):
        self.recurrent_weight = self.add_weight(
            name="recurrent_weight", shape=(), initializer=keras.initializers.Constant(0.5), trainable=False
        )

    def call(self, inputs):
        recurrent, ngram = inputs
        return self.recurrent_weight * recurrent + (1.0 - self.recurrent_weight) * ngram

    def compute_output_shape(self, input_shape):
        return input_shape[0]
