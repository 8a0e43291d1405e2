"""Masked pooling layers against NumPy references, padding invariance, and Keras's layer harness."""

import keras
import numpy as np
import pytest
from keras.src.testing import TestCase

from conftest import geometric_mix
from textlstm.layers import (
    AttentionPooling,
    BinaryBagLogits,
    BranchMix,
    CjkCharacterPairs,
    HashedNgrams,
    MaskedGlobalMaxPooling1D,
    NonCjkShare,
    TfidfLogits,
    TokenCharNgrams,
    mix_probabilities,
)

RNG = np.random.default_rng(0)
# (batch=3, time=5, features=4); real lengths 5, 2, 1 (padding at the end).
INPUTS = RNG.normal(size=(3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=bool)


def numpy_masked_max(x, mask):
    return np.stack([x[i, mask[i]].max(axis=0) for i in range(len(x))])


def numpy_attention(x, mask, kernel, bias, vector):
    pooled, weights = [], np.zeros(mask.shape, dtype="float32")
    for i in range(len(x)):
        h = x[i, mask[i]]  # (length, features)
        scores = np.tanh(h @ kernel + bias) @ vector
        a = np.exp(scores - scores.max())
        a /= a.sum()
        weights[i, : len(a)] = a
        pooled.append(a @ h)
    return np.stack(pooled), weights


def test_masked_max_matches_numpy_and_ignores_padding_values():
    layer = MaskedGlobalMaxPooling1D()
    expected = numpy_masked_max(INPUTS, MASK)
    np.testing.assert_allclose(layer(INPUTS, mask=MASK), expected, atol=1e-6)
    # Padded positions hold huge values: the output must not change.
    loud = np.where(MASK[..., None], INPUTS, 1e4).astype("float32")
    np.testing.assert_allclose(layer(loud, mask=MASK), expected, atol=1e-6)


def test_keras_mean_pooling_honours_the_mask():
    expected = np.stack([INPUTS[i, MASK[i]].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(keras.layers.GlobalAveragePooling1D()(INPUTS, mask=MASK), expected, atol=1e-6)


def test_attention_matches_numpy_and_weights_sum_to_one_on_tokens():
    layer = AttentionPooling(units=6)
    pooled, weights = layer(INPUTS, mask=MASK)
    kernel, bias, vector = (w.numpy() for w in layer.weights)
    expected_pooled, expected_weights = numpy_attention(INPUTS, MASK, kernel, bias, vector)
    np.testing.assert_allclose(pooled, expected_pooled, atol=1e-5)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(weights.numpy().sum(axis=1), 1.0, atol=1e-6)
    assert np.all(weights.numpy()[~MASK] == 0.0)


def test_attention_ignores_padding_values_and_extra_padding():
    layer = AttentionPooling(units=6)
    pooled, weights = layer(INPUTS, mask=MASK)
    loud = np.where(MASK[..., None], INPUTS, 1e4).astype("float32")
    np.testing.assert_allclose(layer(loud, mask=MASK)[0], pooled, atol=1e-6)
    longer = np.concatenate([INPUTS, np.zeros((3, 3, 4), "float32")], axis=1)
    longer_mask = np.concatenate([MASK, np.zeros((3, 3), bool)], axis=1)
    pooled_longer, weights_longer = layer(longer, mask=longer_mask)
    np.testing.assert_allclose(pooled_longer, pooled, atol=1e-6)
    np.testing.assert_allclose(weights_longer[:, :5], weights, atol=1e-6)


def numpy_hashed_ngrams(ids, order, buckets, edges=False):
    """The n-gram ids HashedNgrams documents, one window at a time; with ``edges``, each row with
    tokens read as -1 (start), its tokens, -2 (end)."""
    if edges:
        rows = []
        for row in ids:
            tokens = [int(v) for v in row if v]
            marked = [-1, *tokens, -2] if tokens else []
            rows.append(marked + [0] * (ids.shape[1] + 2 - len(marked)))
        ids = np.array(rows, dtype="int64")
    columns = []
    for n in range(2, order + 1):
        for start in range(ids.shape[1] - n + 1):
            column = []
            for row in ids:
                window = [int(v) for v in row[start : start + n]]
                value = window[0]
                for following in window[1:]:
                    value = (value * 1000003 + following) % buckets
                column.append(0 if 0 in window else value + 1)
            columns.append(column)
    return np.array(columns, dtype="int64").T.reshape(len(ids), -1)


def test_hashed_ngrams_match_numpy_and_are_zero_over_padding():
    ids = np.array([[5, 6, 7, 8], [9, 3, 0, 0], [4, 0, 0, 0]], dtype="int64")
    got = HashedNgrams(order=3, buckets=50)(ids).numpy()
    assert got.shape == (3, 3 + 2)  # three bigrams, then two trigrams, per row
    np.testing.assert_array_equal(got, numpy_hashed_ngrams(ids, 3, 50))
    # By hand: the bigram (5, 6) is (5 * 1000003 + 6) mod 50 + 1 = 22; (9, 3) is 31; anything with padding is 0.
    assert got[0, 0] == 22 and got[1, 0] == 31
    np.testing.assert_array_equal(got[2], 0)
    assert got.min() >= 0 and got.max() <= 50


def test_hashed_ngrams_with_edges_include_the_grams_that_open_and_close_each_text():
    ids = np.array([[5, 6, 7, 8], [9, 3, 0, 0], [4, 0, 0, 0], [0, 0, 0, 0]], dtype="int64")
    got = HashedNgrams(order=3, buckets=50, edges=True)(ids).numpy()
    assert got.shape == (4, 5 + 4)  # five bigrams, then four trigrams, over six steps
    np.testing.assert_array_equal(got, numpy_hashed_ngrams(ids, 3, 50, edges=True))
    # By hand: (start, 5) is (-1 * 1000003 + 5) mod 50 + 1 = 3, (8, end) is (8 * 1000003 - 2) mod 50 + 1 = 23;
    # the bigram (5, 6) is 22 as without edges. The second row: (start, 9), (9, 3), (3, end), then padding.
    assert got[0, :5].tolist() == [3, 22, 26, 30, 23]
    assert got[1, :5].tolist() == [7, 31, 8, 0, 0]
    # The third row, one token: (start, 4), (4, end) and the trigram (start, 4, end); the fourth, no tokens: nothing.
    assert np.count_nonzero(got[2]) == 3
    np.testing.assert_array_equal(got[3], 0)
    assert got.min() >= 0 and got.max() <= 50


def test_token_char_ngrams_gathers_each_tokens_row_by_hand():
    layer = TokenCharNgrams(vocabulary_size=4, width=2)
    layer.build((None, None))
    # Token 2 has n-grams 5 and 9, token 3 only 7; padding (0) and out-of-vocabulary (1) have none.
    layer.table.assign(np.array([[0, 0], [0, 0], [5, 9], [7, 0]], dtype="int32"))
    got = layer(np.array([[2, 3, 1], [3, 0, 0]], dtype="int64")).numpy()
    assert got.dtype == np.int64
    assert got.tolist() == [[5, 9, 7, 0, 0, 0], [7, 0, 0, 0, 0, 0]]


def test_hashed_ngrams_saved_before_edges_load_without_them():
    """A model saved before the layer had ``edges`` has none in its config and reads as it did."""
    config = HashedNgrams(order=2, buckets=50, name="h").get_config()
    del config["edges"]
    ids = np.array([[5, 6, 7]], dtype="int64")
    assert HashedNgrams.from_config(config)(ids).numpy().tolist() == [[22, 26]]


def test_hashed_ngrams_of_texts_shorter_than_n_are_empty():
    # Two tokens: one bigram, (3 * 1000003 + 4) mod 50 + 1 = 14, and no trigrams or 4-grams.
    assert HashedNgrams(order=4, buckets=50)(np.array([[3, 4]], dtype="int64")).numpy().tolist() == [[14]]
    assert HashedNgrams(order=2, buckets=50)(np.array([[3]], dtype="int64")).shape == (1, 0)


def test_non_cjk_share_counts_tokens_not_padding():
    layer = NonCjkShare(vocabulary_size=6)
    layer.build((None, None))
    layer.cjk.assign([0, 0, 1, 1, 0, 0])  # ids 2 and 3 are CJK characters
    ids = np.array([[2, 3, 4, 5, 0, 0], [4, 5, 1, 0, 0, 0], [2, 2, 2, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype="int64")
    # By hand: 2 of 4 tokens are CJK; none of 3; all 3; a row without tokens counts as 1.
    np.testing.assert_allclose(layer(ids).numpy(), [[0.5], [1.0], [0.0], [1.0]])
    assert layer(ids[1:2]).numpy()[0, 0] == 1.0  # exactly: a text without CJK characters keeps its bag as it is


def test_cjk_character_pairs_match_numpy_and_need_two_cjk_characters():
    layer = CjkCharacterPairs(vocabulary_size=6, buckets=50)
    layer.build((None, None))
    layer.cjk.assign([0, 0, 1, 1, 0, 1])  # ids 2, 3 and 5 are CJK characters
    ids = np.array([[2, 3, 5, 4, 5, 0], [4, 2, 2, 0, 0, 0], [3, 0, 0, 0, 0, 0]], dtype="int64")
    cjk = np.isin(ids, [2, 3, 5])
    previous = np.pad(ids[:, :-1], [(0, 0), (1, 0)])
    expected = np.where(cjk & np.pad(cjk[:, :-1], [(0, 0), (1, 0)]), (previous * 1000003 + ids) % 50 + 1, 0)
    got = layer(ids).numpy()
    np.testing.assert_array_equal(got, expected)
    # By hand: (2, 3) -> (2 * 1000003 + 3) mod 50 + 1 = 10 at step 1, (3, 5) -> 3000014 mod 50 + 1 = 15
    # at step 2; the word 4 breaks the run, so the 5 after it starts none; (2, 2) -> 2000008 mod 50 + 1 = 9.
    assert got.tolist() == [[0, 10, 15, 0, 0, 0], [0, 0, 9, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    assert layer(ids[:, :0]).shape == (3, 0)


def test_log_mix_is_the_normalized_weighted_geometric_mean():
    first = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]], "float32")
    second = np.array([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]], "float32")
    np.testing.assert_allclose(mix_probabilities(first, second, 0.25, "log"), geometric_mix(first, second, 0.25), rtol=1e-5)
    np.testing.assert_allclose(mix_probabilities(first, second, 0.25, "linear"), 0.25 * first + 0.75 * second, rtol=1e-6)
    np.testing.assert_allclose(mix_probabilities(first, second, 1.0, "log"), first, rtol=1e-5)  # w = 1: the first alone
    # A class one branch rules out (probability 0) stays ruled out, without NaN.
    np.testing.assert_allclose(mix_probabilities(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]), 0.5, "log"), [[1.0, 0.0]], atol=1e-12)


def test_log_mix_of_labels_mixes_each_labels_log_odds():
    first, second = np.array([[0.8, 0.5]], "float32"), np.array([[0.5, 0.1]], "float32")
    # 0.5 * logit(0.8) + 0.5 * logit(0.5) = 0.5 * log(4); 0.5 * logit(0.5) + 0.5 * logit(0.1) = -0.5 * log(9).
    np.testing.assert_allclose(mix_probabilities(first, second, 0.5, "log", multi_label=True), [[2 / 3, 0.25]], rtol=1e-5)


def test_branch_mix_layer_pools_as_configured_and_mixes_linearly_by_default():
    first, second = np.array([[0.8, 0.2]], "float32"), np.array([[0.2, 0.8]], "float32")
    layer = BranchMix("log", name="mix")
    layer.build([first.shape, second.shape])
    layer.first_weight.assign(0.75)
    np.testing.assert_allclose(layer([first, second]), mix_probabilities(first, second, 0.75, "log"), rtol=1e-6)
    assert BranchMix().pooling == "linear"  # the layers of models saved before log pooling existed
    with pytest.raises(ValueError, match="pooling must be 'linear' or 'log', got 'mean'"):
        BranchMix("mean")


@pytest.mark.parametrize(
    "layer",
    [
        BranchMix("log", multi_label=True, name="b"),
        MaskedGlobalMaxPooling1D(name="m"),
        AttentionPooling(units=3, name="a"),
        HashedNgrams(3, 99, edges=True, name="h"),
        NonCjkShare(7, name="s"),
        CjkCharacterPairs(7, 99, name="p"),
        TokenCharNgrams(7, 3, name="c"),
        TfidfLogits(99, 4, use_bias=False, name="t"),
        BinaryBagLogits(99, 4, name="n"),
    ],
)
def test_get_config_round_trip(layer):
    rebuilt = layer.__class__.from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()


class KerasHarnessTest(TestCase):
    """Keras's own checks: serialization, masking support, training and mixed precision."""

    def test_masked_max(self):
        self.run_layer_test(
            MaskedGlobalMaxPooling1D,
            init_kwargs={},
            input_shape=(2, 5, 4),
            expected_output_shape=(2, 4),
            expected_num_trainable_weights=0,
            supports_masking=True,
        )

    def test_attention(self):
        self.run_layer_test(
            AttentionPooling,
            init_kwargs={"units": 3},
            input_shape=(2, 5, 4),
            expected_output_shape=((2, 4), (2, 5)),
            expected_num_trainable_weights=3,
            supports_masking=True,
        )
