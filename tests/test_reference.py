"""The NumPy reference reproduces Keras's LSTM and GRU: outputs and final states to 1e-5, with masks."""

import keras
import numpy as np
import pytest

from conftest import FAST, LABELS, TEXTS
from textlstm import TextClassifier, reference

RNG = np.random.default_rng(1)
X = RNG.normal(size=(3, 5, 4)).astype("float32")  # (batch, time, features)
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=bool)  # padding at the end


def randomize(layer):
    for weight in layer.weights:
        weight.assign(RNG.normal(scale=0.5, size=weight.shape))


@pytest.mark.parametrize("kind", [keras.layers.LSTM, keras.layers.GRU])
@pytest.mark.parametrize("mask", [None, MASK])
def test_one_layer_outputs_and_states(kind, mask):
    layer = kind(3, return_sequences=True, return_state=True)
    layer(X)
    randomize(layer)
    expected = [np.asarray(t) for t in layer(X, mask=mask)]
    outputs, states = reference.run_layer(layer, X, mask)
    np.testing.assert_allclose(outputs, expected[0], atol=1e-5)
    for got, want in zip(states, expected[1:], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("kind", [keras.layers.LSTM, keras.layers.GRU])
def test_bidirectional_outputs_and_both_directions_states(kind):
    layer = keras.layers.Bidirectional(kind(3, return_sequences=True, return_state=True))
    layer(X)
    randomize(layer)
    expected = [np.asarray(t) for t in layer(X, mask=MASK)]
    outputs, states = reference.run_layer(layer, X, MASK)
    assert outputs.shape == (3, 5, 6)
    np.testing.assert_allclose(outputs, expected[0], atol=1e-5)
    assert len(states) == (4 if kind is keras.layers.LSTM else 2)  # h, c per direction, or h per direction
    for got, want in zip(states, expected[1:], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(outputs[~MASK], 0.0)


def test_lstm_by_hand_one_step():
    """One step from zero state with all-ones weights: every gate sees z = sum(x) + 1."""
    x = np.array([[[0.5, -0.25]]], dtype="float32")  # (1, 1, 2)
    outputs, h, c = reference.lstm(x, np.ones((2, 4)), np.ones((1, 4)), np.ones(4))
    z = 0.5 - 0.25 + 1.0
    gate = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(c, [[gate * np.tanh(z)]], atol=1e-6)
    np.testing.assert_allclose(h, [[gate * np.tanh(gate * np.tanh(z))]], atol=1e-6)
    np.testing.assert_allclose(outputs[0, 0], h[0], atol=1e-6)


def test_trained_two_layer_model_matches_on_padded_ids():
    classifier = TextClassifier(**dict(FAST, epochs=3, num_layers=2, pooling="max", ngrams=1)).fit(TEXTS, LABELS, verbose=0)
    model = classifier.model_
    ids = np.asarray(classifier.tokenizer_(np.array(TEXTS[:4], dtype=object)))  # (4, time), right-padded
    mask = ids != 0
    embedded = np.asarray(model.get_layer("embedding")(ids))
    layers = [model.get_layer(f"bidirectional_lstm_{i}") for i in (1, 2)]
    outputs, states = reference.run_stack(layers, embedded, mask)
    keras_outputs = keras.Model(model.input, layers[-1].output)(ids)
    np.testing.assert_allclose(outputs, keras_outputs, atol=1e-5)
    assert [len(layer_states) for layer_states in states] == [4, 4]  # 2 layers x 2 directions x (h, c)
