"""Every head and encoder: padding changes nothing; attention weights are a distribution over tokens."""

import numpy as np
import pytest

from textlstm.config import Config
from textlstm.model import build_model, with_attention

# (batch=3, time=4) ids; lengths 4, 2, 1; 0 = padding at the end.
IDS = np.array([[5, 6, 7, 8], [9, 3, 0, 0], [4, 0, 0, 0]], dtype="int64")
POOLINGS = ["last", "max", "mean", "attention", "max+mean"]


def small_model(**settings):
    config = Config(embedding_dim=6, units=5, attention_units=4, num_layers=2, **settings)
    return build_model(config, vocabulary_size=12, num_classes=3)


@pytest.mark.parametrize("encoder", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing(encoder, pooling):
    model = small_model(encoder=encoder, pooling=pooling, bidirectional=True)
    expected = model(IDS).numpy()
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, atol=1e-6)
    longer = np.pad(IDS, [(0, 0), (0, 5)])  # five more padding steps
    np.testing.assert_allclose(model(longer), expected, atol=1e-5)
    embedding = model.get_layer("embedding")
    table = embedding.embeddings.numpy()
    table[0] = 100.0  # whatever the padding row holds
    embedding.embeddings.assign(table)
    np.testing.assert_allclose(model(longer), expected, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_layer_unidirectional_and_bidirectional(bidirectional):
    model = build_model(Config(embedding_dim=6, units=5, pooling="last", bidirectional=bidirectional), 12, 3)
    expected = model(IDS).numpy()
    np.testing.assert_allclose(model(np.pad(IDS, [(0, 0), (0, 3)])), expected, atol=1e-5)


def test_multi_label_outputs_are_independent_sigmoids():
    model = small_model(task="multi-label")
    assert model.get_layer("probabilities").activation.__name__ == "sigmoid"
    assert not np.allclose(model(IDS).numpy().sum(axis=1), 1.0)


def test_attention_output_is_a_distribution_over_tokens():
    model = with_attention(small_model(pooling="attention"))
    outputs = model(IDS)
    weights = outputs["attention"].numpy()
    assert weights.shape == (3, 4)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(weights[IDS == 0] == 0.0)
    assert outputs["probabilities"].shape == (3, 3)


def test_with_attention_returns_other_models_unchanged():
    model = small_model(pooling="max")
    assert with_attention(model) is model
