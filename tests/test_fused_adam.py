"""FusedAdam (textlstm.fused_adam) must update as Adam on the dense gradient does, and as keras.optimizers.Adam
does but for rows a sparse gradient repeats."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textlstm.config import Config
from textlstm.fused_adam import FusedAdam
from textlstm.training import compile_model

START = np.arange(12, dtype="float32").reshape(4, 3) / 10  # a 4-row embedding table
# Three steps of gradients: dense, then sparse with row 1 twice and rows 0 and 3 absent, then dense.
DENSE = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
SPARSE = tf.IndexedSlices(
    tf.constant([[1.0, -2.0, 0.5], [0.5, 0.5, 0.5], [-1.0, 0.0, 2.0]]), tf.constant([1, 2, 1]), tf.constant([4, 3])
)
STEPS = [DENSE, SPARSE, -DENSE]
UNIQUE = tf.IndexedSlices(SPARSE.values[:2], SPARSE.indices[:2], SPARSE.dense_shape)  # rows 1 and 2 once each
UNIQUE_STEPS = [DENSE, UNIQUE, -DENSE]  # where Keras's Adam and FusedAdam agree


def numpy_adam(start, gradients, lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam as Keras documents it, on dense NumPy gradients."""
    value, m, v = start.astype("float64"), np.zeros(start.shape), np.zeros(start.shape)
    for t, gradient in enumerate(gradients, start=1):
        m += (gradient - m) * (1 - beta_1)
        v += (gradient**2 - v) * (1 - beta_2)
        value -= lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return value


def trained(optimizer, steps=STEPS):
    variable = keras.Variable(START)
    for gradient in steps:
        optimizer.apply([gradient], [variable])
    return np.asarray(variable)


def test_fused_adam_matches_numpy_adam_on_the_dense_gradient_of_repeated_rows():
    sparse_dense = np.zeros((4, 3), "float32")
    np.add.at(sparse_dense, SPARSE.indices.numpy(), SPARSE.values.numpy())  # row 1 twice: summed
    reference = numpy_adam(START, [DENSE, sparse_dense, -DENSE])
    np.testing.assert_allclose(trained(FusedAdam(0.01)), reference, rtol=1e-5, atol=1e-6)
    # Keras squares row 1's two slices before summing them into the second moment, so only that row differs.
    differs = ~np.isclose(trained(keras.optimizers.Adam(0.01)), reference, rtol=1e-5, atol=1e-6)
    assert differs[1].any() and not differs[[0, 2, 3]].any()


def test_fused_adam_matches_keras_adam_on_dense_and_sparse_gradients():
    np.testing.assert_allclose(
        trained(FusedAdam(0.01), UNIQUE_STEPS), trained(keras.optimizers.Adam(0.01), UNIQUE_STEPS), rtol=1e-5, atol=1e-6
    )


def test_fused_adam_moves_rows_a_sparse_gradient_leaves_out():
    # Rows 0 and 3 have no gradient at step 2, but Adam's first moment still moves them (LazyAdam would not).
    variable = keras.Variable(START)
    optimizer = FusedAdam(0.01)
    optimizer.apply([DENSE], [variable])
    after_dense = np.asarray(variable).copy()
    optimizer.apply([SPARSE], [variable])
    moved = np.abs(np.asarray(variable) - after_dense).max(axis=1)
    assert (moved[[0, 3]] > 1e-3).all()


def test_fused_adam_clips_and_serializes():
    optimizer = FusedAdam(0.01, clipnorm=1.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again, FusedAdam)
    assert again.get_config() == optimizer.get_config()
    clipped = trained(keras.optimizers.Adam(0.01, clipnorm=1.0), UNIQUE_STEPS)
    np.testing.assert_allclose(trained(again, UNIQUE_STEPS), clipped, rtol=1e-5, atol=1e-6)


def test_fused_adam_has_no_amsgrad():
    with pytest.raises(ValueError, match="no AMSGrad"):
        FusedAdam(amsgrad=True)


def test_training_compiles_with_fused_adam_at_the_configured_rate_and_clipping():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    compile_model(model, Config(learning_rate=0.005, clipnorm=2.0))
    assert isinstance(model.optimizer, FusedAdam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    assert model.optimizer.clipnorm == 2.0


def test_mixed_float16_scales_the_loss_around_fused_adam():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    compile_model(model, Config(learning_rate=0.005, precision="mixed_float16"))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, FusedAdam)
    compile_model(model, Config(learning_rate=0.005, precision="mixed_bfloat16"))  # bfloat16 has float32's range
    assert isinstance(model.optimizer, FusedAdam)
