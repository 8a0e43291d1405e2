"""FusedLSTM (textlstm.fused_lstm): TensorFlow's BlockLSTM kernel must give what keras.layers.LSTM gives."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textlstm.config import Config
from textlstm.fused_lstm import FUSED_MAX_BATCH, FUSED_TRAINING_MAX_BATCH, FusedLSTM
from textlstm.model import build_model

LENGTHS = np.array([5, 2, 0, 4])  # right-padded rows, one of them empty
MASK = np.arange(5)[None, :] < LENGTHS[:, None]


def pair(wrapper=None, **kwargs):
    """A FusedLSTM and a keras.layers.LSTM holding the same weights (random biases, so gate order matters)."""
    make = lambda kind: kind(3, bias_initializer="random_normal", **kwargs)  # noqa: E731
    fused, plain = make(FusedLSTM), make(keras.layers.LSTM)
    if wrapper:
        fused, plain = wrapper(fused), wrapper(plain)
    inputs = np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")
    fused(inputs, mask=MASK)
    plain(inputs, mask=MASK)
    plain.set_weights(fused.get_weights())
    return fused, plain, inputs


def outputs_and_gradients(layer, inputs, training, mask=MASK):
    inputs = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs, mask=mask, training=training)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        loss = sum(tf.reduce_sum(output**3) for output in outputs)
    return [np.asarray(o) for o in outputs], [np.asarray(g) for g in tape.gradient(loss, layer.trainable_weights + [inputs])]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        dict(return_sequences=True),
        dict(return_sequences=True, go_backwards=True),
        dict(return_sequences=False, return_state=True),
        dict(return_sequences=False, return_state=True, go_backwards=True),
        dict(return_sequences=True, return_state=True, zero_output_for_mask=True),
    ],
)
def test_fused_equals_keras_lstm_outputs_states_and_gradients(settings, training):
    fused, plain, inputs = pair(**settings)
    got, got_gradients = outputs_and_gradients(fused, inputs, training)
    want, want_gradients = outputs_and_gradients(plain, inputs, training)
    for a, b in zip(got + got_gradients, want + want_gradients):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fused_bidirectional_equals_keras_on_the_unpadded_steps():
    fused, plain, inputs = pair(lambda layer: keras.layers.Bidirectional(layer), return_sequences=True)
    got, got_gradients = outputs_and_gradients(fused, inputs, True)
    want, want_gradients = outputs_and_gradients(plain, inputs, True)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    assert np.all(got[0][~MASK] == 0)
    for a, b in zip(got_gradients, want_gradients):
        np.testing.assert_allclose(a, b, atol=1e-6)


def graph_ops(layer, training):
    graph = tf.function(lambda x: layer(x, training=training)).get_concrete_function(tf.TensorSpec([None, None, 2]))
    definition = graph.graph.as_graph_def()
    return {node.op for node in definition.node} | {node.op for f in definition.library.function for node in f.node_def}


def test_the_fused_kernel_runs_up_to_its_batch_limit_and_the_keras_loop_above():
    assert {"BlockLSTM", "While"} <= graph_ops(FusedLSTM(3), training=False)  # both branches of the batch-size switch
    fused, plain, _ = pair(return_sequences=True)
    for rows in (FUSED_MAX_BATCH, FUSED_MAX_BATCH + 1):
        inputs = np.random.default_rng(rows).normal(size=(rows, 4, 2)).astype("float32")
        np.testing.assert_allclose(fused(inputs), plain(inputs), atol=1e-6)


def test_training_takes_the_kernel_alone_or_the_keras_loop_alone_by_the_training_batch_size():
    assert graph_ops(FusedLSTM(3), training=True) >= {"BlockLSTM"}
    assert "While" not in graph_ops(FusedLSTM(3), training=True)  # no switch: no Keras loop to differentiate
    layer = FusedLSTM(3, fused_training=False)
    assert "BlockLSTM" not in graph_ops(layer, training=True)
    assert "BlockLSTM" in graph_ops(layer, training=False)
    for batch_size, fused in ((FUSED_TRAINING_MAX_BATCH, True), (FUSED_TRAINING_MAX_BATCH + 1, False), (None, True)):
        model = build_model(Config(members=1, batch_size=batch_size), vocabulary_size=30, num_classes=2)
        assert model.get_layer("bidirectional_lstm_1").forward_layer.fused_training is fused


def test_training_batches_above_the_inference_limit_give_keras_outputs_and_gradients():
    fused, plain, _ = pair(return_sequences=True)
    random = np.random.default_rng(5)
    rows = random.normal(size=(FUSED_MAX_BATCH + 1, 5, 2)).astype("float32")
    mask = np.arange(5)[None, :] < random.integers(0, 6, size=FUSED_MAX_BATCH + 1)[:, None]
    got, got_gradients = outputs_and_gradients(fused, rows, True, mask)
    want, want_gradients = outputs_and_gradients(plain, rows, True, mask)
    for a, b in zip(got + got_gradients, want + want_gradients):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fused_lstm_round_trips_through_its_config_and_model_file(tmp_path):
    layer = FusedLSTM(3, return_sequences=True, fused_training=False, name="encoder")
    clone = FusedLSTM.from_config(layer.get_config())
    assert type(clone) is FusedLSTM and clone.get_config() == layer.get_config()
    model = build_model(Config(members=1), vocabulary_size=30, num_classes=2)
    assert any(isinstance(layer.forward_layer, FusedLSTM) for layer in model.layers if hasattr(layer, "forward_layer"))
    model.save(tmp_path / "model.keras")
    ids = np.array([[3, 4, 5, 0], [6, 0, 0, 0]])
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded(ids), model(ids), atol=1e-6)
