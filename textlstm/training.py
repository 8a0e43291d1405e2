"""The fit loop: tf.data pipelines over token ids, Adam with clipping, early stopping, seeds."""

import keras
import numpy as np
import tensorflow as tf



def set_seed(seed):
    """Seed Python, NumPy, TensorFlow and Keras: on CPU, the same seed gives the same metrics."""
    keras.utils.set_random_seed(seed)


def make_dataset(ids, targets=None, batch_size=64, shuffle_seed=None):
    """Batches of token ids, each padded only to its own longest text.

    Args:
        ids: int64 RaggedTensor, shape (n, None).
        targets: optional float32 array, shape (n, classes).
        shuffle_seed: shuffle every epoch with this seed; None keeps the order.

    Returns:
        tf.data.Dataset of ``ids`` (batch, time) or ``(ids, targets)``.
    """
    elements = ids if targets is None else (ids, targets)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(targets), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.ragged_batch(batch_size)
    if targets is None:
        dataset = dataset.map(lambda batch: batch.to_tensor())
    else:
        dataset = dataset.map(lambda batch, y: (batch.to_tensor(), y))
    return dataset.prefetch(tf.data.AUTOTUNE)


def balanced_class_weight(counts):
    """{class index: weight} from examples per class: ``n / (classes present * count)``, scikit-learn's rule.

    Args:
        counts: examples per class, shape (classes,); absent classes get no weight.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = np.flatnonzero(counts)
    return {int(index): float(counts.sum() / (len(present) * counts[index])) for index in present}


def compile_model(model, config):
    """Adam with gradient-norm clipping; cross-entropy; accuracy and macro-F1 as metrics."""
    single = config.task == "single-label"
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
        loss=keras.losses.CategoricalCrossentropy() if single else keras.losses.BinaryCrossentropy(),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="accuracy") if single else keras.metrics.BinaryAccuracy(name="accuracy"),
            keras.metrics.F1Score(average="macro", threshold=None if single else config.threshold, name="macro_f1"),
        ],
    )


def fit(model, train, validation, config, class_weight=None, verbose=1):
    """Train ``model`` in place and keep the weights of its best validation epoch.

    Args:
        model: ids -> probabilities, from ``build_model``.
        train, validation: tf.data.Datasets of (ids (batch, time), targets (batch, classes)).
        config: Config (epochs, learning rate, clipping, early stopping).
        class_weight: {class index: weight} or None.
        verbose: Keras progress-bar mode (0 silent, 1 bar, 2 one line per epoch).

    Returns:
        History: {metric name: [value per epoch]} plus ``best_epoch`` (1-based).
    """
    compile_model(model, config)
    monitor = "val_macro_f1" if config.early_stopping == "macro_f1" else "val_loss"
    stopping = keras.callbacks.EarlyStopping(
        monitor=monitor,
        mode="max" if config.early_stopping == "macro_f1" else "min",
        patience=config.patience,
        restore_best_weights=True,
    )
    history = model.fit(
        train,
        validation_data=validation,
        epochs=config.epochs,
        callbacks=[stopping],
        class_weight=class_weight,
        shuffle=False,
        verbose=verbose,
    )
    result = {name: [float(value) for value in values] for name, values in history.history.items()}
    result["best_epoch"] = int(stopping.best_epoch) + 1
    return result


def predict_dataset(model, dataset):
    """Run ``model`` over a dataset of (ids, targets).

    Returns:
        (targets (n, classes), probabilities (n, classes)) as NumPy arrays.
    """
    targets, probabilities = [], []
    for ids, batch_targets in dataset:
        probabilities.append(np.asarray(model.predict_on_batch(ids)))
        targets.append(batch_targets.numpy())
    return np.concatenate(targets), np.concatenate(probabilities)
