"""The fit loop: tf.data pipelines over token ids, Adam with clipping, early stopping, seeds."""

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from textlstm.errors import DataError


def set_seed(seed):
    """Seed Python, NumPy, TensorFlow and Keras: on CPU, the same seed gives the same metrics."""
    keras.utils.set_random_seed(seed)


def split_validation(targets, fraction, seed, multi_label):
    """Indices of a seeded train/validation split, stratified by class for single-label data.

    Args:
        targets: indicators, shape (n, classes).

    Returns:
        (train_indices, validation_indices), sorted int arrays.
    """
    count = len(targets)
    indices = np.arange(count)
    size = max(1, int(round(count * fraction)))
    if count - size < 1:
        raise DataError(f"only {count} training examples: too few to hold out a validation split")
    classes = targets.argmax(axis=1)
    stratify = None
    if not multi_label and np.bincount(classes).min() >= 2 and size >= targets.shape[1]:
        stratify = classes
    train, validation = train_test_split(indices, test_size=size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(validation)


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


def balanced_class_weight(targets):
    """{class index: weight}, weights inversely proportional to class frequency (scikit-learn's rule)."""
    classes = targets.argmax(axis=1)
    present = np.unique(classes)
    weights = compute_class_weight("balanced", classes=present, y=classes)
    return {int(index): float(weight) for index, weight in zip(present, weights)}


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


def fit(model, train, validation, config, verbose=1):
    """Train ``model`` in place and keep the weights of its best validation epoch.

    Args:
        model: ids -> probabilities, from ``build_model``.
        train, validation: (ids RaggedTensor (n, None), targets (n, classes)).
        config: Config (epochs, batch size, learning rate, clipping, early stopping, class weights, seed).
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
    class_weight = None
    if config.class_weight == "balanced":
        class_weight = balanced_class_weight(train[1])
    history = model.fit(
        make_dataset(*train, batch_size=config.batch_size, shuffle_seed=config.seed),
        validation_data=make_dataset(*validation, batch_size=max(config.batch_size, 256)),
        epochs=config.epochs,
        callbacks=[stopping],
        class_weight=class_weight,
        shuffle=False,
        verbose=verbose,
    )
    result = {name: [float(value) for value in values] for name, values in history.history.items()}
    result["best_epoch"] = int(stopping.best_epoch) + 1
    return result
