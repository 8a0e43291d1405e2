"""The fit loop: tf.data pipelines over token ids, Adam with clipping, early stopping, seeds."""

import math
import weakref

import keras
import numpy as np
import tensorflow as tf

from textlstm.fused_adam import FusedAdam
from textlstm.members import member_weights
from textlstm.model import BRANCHES, NGRAM_PARTS, OUTPUT, member_outputs, member_prefix
from textlstm.ngram_fit import C_CHOICES, NAIVE_BAYES_C_CHOICES, fit_ngram_branch, tfidf_layers
from textlstm.wording import counted


# The recurrent branch's weights in the output that choose_branch_mix tries, and the fewest
# validation texts it chooses on: on 100 (1,000 training texts of mr, chnsenticorp_htl, trec and
# ag_news_small) the chosen mix beat 0.5 on all four sets, +1.1 points on their mean; on 50 it
# was mixed (two of the four lower), and on the sample data's 24 it lost 19 points.
MIX_WEIGHTS = tuple(step / 10 for step in range(11))
MIX_MIN_TEXTS = 100
# Training and validation batches run this many to one call of the compiled step function
# (Keras's ``steps_per_execution``): Keras's per-batch Python work (callbacks, metric results)
# is paid once per call. Weights, metrics and history are the same as with one batch a call.
STEPS_PER_EXECUTION = 32


def set_seed(seed):
    """Seed Python, NumPy, TensorFlow and Keras: on CPU, the same seed gives the same metrics."""
    keras.utils.set_random_seed(seed)


def make_dataset(ids, targets=None, batch_size=64, shuffle_seed=None, sort_window=1, weights=None):
    """Batches of token ids, each padded only to its own longest text.

    The pipeline shuffles, sorts and batches row numbers, then gathers each batch's rows: moving
    integers instead of ragged rows makes an sst2 epoch's batches (109 of 64 texts) about 0.05 s
    instead of 0.3 s of CPU time, which training shares with the pipeline.

    Args:
        ids: int64 RaggedTensor, shape (n, None).
        targets: optional float32 array, shape (n, classes).
        weights: optional per-text loss weights, shape (n,) (with ``targets``).
        shuffle_seed: shuffle every epoch with this seed; None keeps the order.
        sort_window: with a shuffle, sort each run of ``batch_size * sort_window`` shuffled texts by
            length before cutting it into batches; 1 leaves the batches random.

    Returns:
        tf.data.Dataset of ``ids`` (batch, time), ``(ids, targets)`` or ``(ids, targets, weights)``.
    """
    count = int(ids.nrows())
    rows = tf.data.Dataset.range(count)
    if shuffle_seed is not None:
        rows = rows.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
    if shuffle_seed is not None and sort_window > 1:
        # Texts of similar length share a batch, so less padding is computed; the order of the
        # batches is shuffled again within the window.
        lengths = ids.row_lengths()

        def shortest_first(window):
            return tf.gather(window, tf.argsort(tf.gather(lengths, window), stable=True))

        rows = rows.batch(batch_size * sort_window).map(shortest_first)
        rows = rows.unbatch().batch(batch_size).shuffle(sort_window, seed=shuffle_seed, reshuffle_each_iteration=True)
        rows = rows.apply(tf.data.experimental.assert_cardinality(math.ceil(count / batch_size)))
    else:
        rows = rows.batch(batch_size)
    if targets is None:
        dataset = rows.map(lambda batch: tf.gather(ids, batch).to_tensor())
    elif weights is None:
        targets = tf.constant(targets)
        dataset = rows.map(lambda batch: (tf.gather(ids, batch).to_tensor(), tf.gather(targets, batch)))
    else:
        targets, weights = tf.constant(targets), tf.constant(weights, tf.float32)
        dataset = rows.map(
            lambda batch: (tf.gather(ids, batch).to_tensor(), tf.gather(targets, batch), tf.gather(weights, batch))
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def balanced_class_weight(counts):
    """{class index: weight} from examples per class: ``n / (classes present * count)``, scikit-learn's rule.

    Args:
        counts: examples per class, shape (classes,); absent classes get no weight.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = np.flatnonzero(counts)
    return {int(index): float(counts.sum() / (len(present) * counts[index])) for index in present}


def _metrics(config, single):
    """Accuracy and macro-F1 for the model's output."""
    return [
        keras.metrics.CategoricalAccuracy(name="accuracy") if single else keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.F1Score(average="macro", threshold=None if single else config.threshold, name="macro_f1"),
    ]


def _loss(single):
    return keras.losses.CategoricalCrossentropy() if single else keras.losses.BinaryCrossentropy()


def _optimizer(config):
    """FusedAdam; scaling the loss under mixed_float16, whose small gradients would underflow in float16."""
    adam = FusedAdam(config.learning_rate, clipnorm=config.clipnorm)
    return keras.optimizers.LossScaleOptimizer(adam) if config.precision == "mixed_float16" else adam


def compile_model(model, config):
    """Adam (``FusedAdam``) with gradient-norm clipping; cross-entropy; accuracy and macro-F1 as metrics;
    ``STEPS_PER_EXECUTION`` batches a call."""
    single = config.task == "single-label"
    model.compile(
        optimizer=_optimizer(config),
        loss=_loss(single),
        metrics=_metrics(config, single),
        steps_per_execution=STEPS_PER_EXECUTION,
    )


def build_training_state(model, dataset):
    """Create a compiled model's optimizer, loss-tracker and metric variables before ``fit``.

    Without a distribution strategy, Keras creates them while tracing the first training step, and
    TensorFlow then traces that step a second time (a function that creates variables is traced
    once to create them and once to run). Built beforehand, the step is traced once: on the tiny
    test corpus, ``fit`` takes seconds less.

    Args:
        model: a compiled model.
        dataset: batches of (ids (batch, time), targets[, sample weights (batch,)]) as ``fit`` gets
            them; only its element spec is read: a batch of ones (two texts of two unknown tokens)
            of that spec builds the state.
    """
    ones = tf.nest.map_structure(lambda spec: tf.ones([d or 2 for d in spec.shape], spec.dtype), dataset.element_spec)
    ids, targets, *weights = ones
    predictions = model(ids)
    model.compute_loss(ids, targets, predictions, *weights)
    model.compute_metrics(ids, targets, predictions, *weights)
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()


def branch_names(model):
    """The outputs trained with their own loss: each recurrent member's, or the recurrent branch's when
    there is one member beside an n-gram branch; empty for a model with one member and no n-gram branch
    (the n-gram branch itself is fitted by scikit-learn, ``textlstm.ngram_fit``)."""
    names = {layer.name for layer in model.layers}
    return member_outputs(model) or [name for name in [BRANCHES["recurrent"]] if name in names]


def fit(model, train, validation, config, class_weight=None, verbose=1, callbacks=()):
    """Train ``model`` in place and keep the weights of its best validation epoch.

    A model with an n-gram branch (``ngrams > 1``) first has that branch fitted by scikit-learn on
    the training batches (``textlstm.ngram_fit``). A model with recurrent members (``members > 1``),
    or with one recurrent branch beside the n-gram branch, is then trained through a view that has one
    loss per member; as the members share no weights, each is early-stopped on its own validation
    metric and keeps its own best epoch's weights; training ends when every member has run out of
    patience.

    Args:
        model: ids -> probabilities, from ``build_model``.
        train, validation: tf.data.Datasets of (ids (batch, time), targets (batch, classes)); the
            training batches may add each text's loss weight (batch,).
        config: Config (epochs, learning rate, clipping, early stopping).
        class_weight: {class index: weight} or None.
        verbose: Keras progress-bar mode (0 silent, 1 bar, 2 one line per epoch).
        callbacks: more Keras callbacks for Keras's ``fit``, after textlstm's early stopping; with
            branches they see the view Keras trains, whose outputs are ``OUTPUT`` and each branch.

    Returns:
        History: {metric name: [value per epoch]} plus ``best_epoch`` (1-based; the latest of the
        members') and ``best_epochs`` ({member output: 1-based epoch}); with an n-gram branch also
        ``ngram_fit`` (from ``fit_ngram_branch``), ``recurrent_weight``, ``mix_validation_texts``,
        ``branch_mix`` and with a naive-Bayes regression ``tfidf_weight`` (from ``choose_branch_mix``).
    """
    single = config.task == "single-label"
    ngram = None
    if tfidf_layers(model):
        ngram = fit_ngram_branch(model, train, validation, config.ngram_c, single, class_weight)
    branches = branch_names(model)
    if not branches:
        compile_model(model, config)
        if len(train.element_spec) == 3:  # Keras takes class_weight or sample weights, not both
            train, class_weight = _weighted(train, class_weight), None
        build_training_state(model, train)
        stopping = _early_stopping(config)
        history = model.fit(
            train,
            validation_data=validation,
            epochs=config.epochs,
            callbacks=[stopping, StepProgress(), *callbacks],
            class_weight=class_weight,
            shuffle=False,
            verbose=verbose,
        )
        result = _plain(history.history)
        result["best_epoch"] = int(stopping.best_epoch) + 1
        result["best_epochs"] = {OUTPUT: result["best_epoch"]}
        return result
    outputs = [OUTPUT, *branches]
    view = keras.Model(model.input, {name: model.get_layer(name).output for name in outputs})
    view.compile(
        optimizer=_optimizer(config),
        loss={name: _loss(single) for name in branches},
        metrics={OUTPUT: _metrics(config, single), **{name: _metrics(config, single)[1:] for name in branches}},
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    train = _per_output(train, outputs, class_weight)
    build_training_state(view, train)
    stopping = BranchEarlyStopping(
        {name: _branch_weights(model, name) for name in branches},
        "macro_f1" if config.early_stopping == "macro_f1" else "loss",
        config.patience,
    )
    history = view.fit(
        train,
        validation_data=_per_output(validation, outputs, None),
        epochs=config.epochs,
        callbacks=[stopping, StepProgress(), *callbacks],
        shuffle=False,
        verbose=verbose,
    )
    result = _plain(history.history)
    result["best_epochs"] = {name: epoch + 1 for name, epoch in stopping.best_epochs.items()}
    result["best_epoch"] = max(result["best_epochs"].values())
    if ngram is not None:
        result["ngram_fit"] = ngram
        result.update(choose_branch_mix(model, validation, single))
    return result


def choose_branch_mix(model, validation, single, min_texts=None):
    """Set how the output mixes the branches, after training, from the validation data.

    The output is ``w * recurrent + (1 - w) * ngram`` (``BranchMix``, of log-probabilities or of
    probabilities as the layer pools; 0.5 while training, which trains each branch on its own
    loss); with a naive-Bayes regression, the n-gram branch is ``v * tfidf + (1 - v) *
    naive_bayes``, pooled the same way. ``w`` (and ``v``) become the ones of 0, 0.1, ..., 1 whose
    mix has the lowest validation cross-entropy; of equal losses, the ones nearest 0.5. With fewer
    than ``min_texts`` validation texts (default ``MIX_MIN_TEXTS``) they stay 0.5: a choice on a
    handful of texts follows their noise.

    Args:
        model: a two-branch model from ``build_model``.
        validation: tf.data.Dataset of (ids (batch, time), targets (batch, classes)).
        single: single-label (categorical cross-entropy) or multi-label (binary).

    Returns:
        {"recurrent_weight": w, "mix_validation_texts": the number of validation texts,
        "branch_mix": how the mixes pool, "log" or "linear"}, with "tfidf_weight": v when the model
        has a naive-Bayes regression.
    """
    names = {layer.name for layer in model.layers}
    parts = [BRANCHES["recurrent"], *(NGRAM_PARTS.values() if NGRAM_PARTS["tfidf"] in names else [BRANCHES["ngram"]])]
    view = keras.Model(model.input, keras.ops.stack([model.get_layer(name).output for name in parts], axis=1))
    targets, probabilities = predict_dataset(view, validation)  # (texts, parts, classes)
    # (w, v): the output mixes part 0 (weight w) with part 1 or, with three parts, with the mix of
    # part 1 (weight v) and part 2; v = 1 with two parts.
    grid = [(w, v) for w in MIX_WEIGHTS for v in (MIX_WEIGHTS if len(parts) == 3 else [1.0])]
    chosen = (0.5, 0.5 if len(parts) == 3 else 1.0)
    output_mix = model.get_layer(OUTPUT)
    ngram_mix = model.get_layer(BRANCHES["ngram"]) if len(parts) == 3 else None
    if len(targets) >= (MIX_MIN_TEXTS if min_texts is None else min_texts):
        loss = _loss(single)

        def mixed(w, v):
            ngram = ngram_mix.mix(probabilities[:, 1], probabilities[:, 2], v) if ngram_mix else probabilities[:, 1]
            return output_mix.mix(probabilities[:, 0], ngram, w)

        losses = [round(float(loss(targets, mixed(w, v))), 6) for w, v in grid]
        chosen = min(zip(losses, grid), key=lambda pair: (pair[0], abs(pair[1][0] - 0.5) + abs(pair[1][1] - 0.5)))[1]
    output_mix.first_weight.assign(chosen[0])
    result = {"recurrent_weight": chosen[0], "mix_validation_texts": len(targets), "branch_mix": output_mix.pooling}
    if ngram_mix is not None:
        ngram_mix.first_weight.assign(chosen[1])
        result["tfidf_weight"] = chosen[1]
    return result


def _early_stopping(config):
    macro_f1 = config.early_stopping == "macro_f1"
    return keras.callbacks.EarlyStopping(
        monitor="val_macro_f1" if macro_f1 else "val_loss",
        mode="max" if macro_f1 else "min",
        patience=config.patience,
        restore_best_weights=True,
    )


def _plain(history):
    """Keras history as lists of floats, the model output's metrics without their output-name prefix."""
    result = {}
    for name, values in history.items():
        stem = name.removeprefix("val_")
        if stem.startswith(OUTPUT + "_"):
            name = name.replace(OUTPUT + "_", "", 1)
        result[name] = [float(value) for value in values]
    return result


def _per_output(dataset, outputs, class_weight):
    """(ids, targets[, weights]) -> (ids, {output: targets}[, weights (batch,)]), the weights given
    times those of ``class_weight``."""
    if class_weight is None and len(dataset.element_spec) == 2:
        return dataset.map(lambda ids, targets: (ids, {name: targets for name in outputs}))
    return _weighted(dataset, class_weight).map(
        lambda ids, targets, weights: (ids, {name: targets for name in outputs}, weights)
    )


def _weighted(dataset, class_weight):
    """(ids, targets[, weights]) -> (ids, targets, weights (batch,)): each text's weight (1 when the
    dataset gives none) times its class's in ``class_weight`` (None: 1)."""
    if len(dataset.element_spec) == 2:
        dataset = dataset.map(lambda ids, targets: (ids, targets, tf.ones(tf.shape(targets)[:1])))
    if class_weight is None:
        return dataset
    table = tf.constant([class_weight.get(index, 0.0) for index in range(max(class_weight) + 1)], tf.float32)
    return dataset.map(
        lambda ids, targets, weights: (ids, targets, weights * tf.linalg.matvec(tf.cast(targets, tf.float32), table))
    )


def _branch_weights(model, branch):
    """The weights that only ``branch`` uses, as [(variable, mask or None)]: a member's own layers' and
    its blocks of the shared RNN layers for a member (``textlstm.members``); the trained weights for a
    lone recurrent branch (which exists only beside an n-gram branch, whose weights Keras does not train)."""
    members = member_outputs(model)
    if branch in members:
        member = members.index(branch)
        return member_weights(model, member_prefix(member + 1, len(members)), member)
    return [(variable, None) for variable in model.trainable_weights]


class StepProgress(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, the step it shows capped at the epoch's steps.

    With ``steps_per_execution``, Keras reports each call of the compiled step as a whole
    ``STEPS_PER_EXECUTION`` batches, also the last call of an epoch, which runs fewer: an epoch of
    7 batches showed ``32/7`` (keras-team/keras#20861).
    """

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch if self.target is None else min(batch, self.target - 1), logs)


class BranchEarlyStopping(keras.callbacks.Callback):
    """Early stopping for branches that share no weights: each keeps the weights of its own best epoch.

    Args:
        branches: {branch output name: [(variable, mask)]}, the weights only that branch uses: the
            whole variable when ``mask`` is None, else where the bool array ``mask`` is True.
        metric: "macro_f1" (higher is better) or "loss" (lower), read as ``val_<branch>_<metric>``.
        patience: epochs without improvement after which a branch is done; training stops when all are.
    """

    def __init__(self, branches, metric, patience):
        super().__init__()
        self.branches = branches
        self.metric = metric
        self.patience = patience
        self.best = {}
        self.best_epochs = {}
        self.best_weights = {}

    def on_epoch_end(self, epoch, logs=None):
        for name, weights in self.branches.items():
            value = float(logs[f"val_{name}_{self.metric}"])
            if name not in self.best or (value > self.best[name] if self.metric == "macro_f1" else value < self.best[name]):
                self.best[name], self.best_epochs[name] = value, epoch
                self.best_weights[name] = [np.array(variable) for variable, _ in weights]
        if all(epoch - best >= self.patience for best in self.best_epochs.values()):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for name, weights in self.branches.items():
            for (variable, mask), best in zip(weights, self.best_weights[name]):
                variable.assign(best if mask is None else np.where(mask, best, np.array(variable)))


def branch_mix_text(history):
    """How the output mixes the branches, from a history of ``fit``; None with one branch."""
    if "recurrent_weight" not in history:
        return None
    weight, texts = history["recurrent_weight"], history["mix_validation_texts"]
    mix = f"{weight:.1f} x recurrent + {1 - weight:.1f} x n-gram branch"
    if "tfidf_weight" in history:
        share = history["tfidf_weight"]
        mix += f" ({share:.1f} x TF-IDF + {1 - share:.1f} x naive-Bayes regression)"
    if history.get("branch_mix") == "log":
        mix += ", as log-probabilities"
    if texts < MIX_MIN_TEXTS:
        return f"{mix} (kept: {counted(texts, 'validation text')}, fewer than {MIX_MIN_TEXTS} to choose the mix on)"
    return f"{mix} (the mix with the lowest loss on {counted(texts, 'validation text')})"


def ngram_fit_text(history):
    """What scikit-learn fitted for the n-gram branch, from a history of ``fit``; None without the branch."""
    if "ngram_fit" not in history:
        return None
    fitted = history["ngram_fit"]
    text = (
        f"logistic regression ({_c_text(fitted, C_CHOICES)}) over {fitted['features']:,} TF-IDF features of "
        f"{counted(fitted['texts'], 'training text')} (scikit-learn, {counted(fitted['iterations'], 'solver iteration')})"
    )
    if "naive_bayes" in fitted:
        bayes = fitted["naive_bayes"]
        text += (
            f"; naive-Bayes logistic regression ({_c_text(bayes, NAIVE_BAYES_C_CHOICES)}) over which tokens and n-grams each "
            f"text holds ({counted(bayes['iterations'], 'solver iteration')})"
        )
    return text


def _c_text(fitted, choices):
    """"C=10" and, when C was chosen from ``choices``, ", the lowest validation loss of 1, 10, 100",
    or of those fitted: "C=1, the lowest validation loss of 1, 10; 100 not fitted: the loss rose at 10"."""
    tried = list(fitted["validation_losses"])
    if not tried:
        return f"C={fitted['c']:g}"
    text = f"C={fitted['c']:g}, the lowest validation loss of " + ", ".join(f"{value:g}" for value in tried)
    if len(tried) < len(choices):
        skipped = ", ".join(f"{value:g}" for value in choices[len(tried) :])
        text += f"; {skipped} not fitted: the loss rose at {tried[-1]:g}"
    return text


_PREDICT_FUNCTIONS = weakref.WeakKeyDictionary()


def predict_function(model):
    """``model`` at inference as one tf.function, ids (batch, time) int64 -> its output, traced once
    per model and kept while the model lives: neither batch nor time axis is known to it, where
    ``predict_on_batch`` traced again for every new padded length (about 0.3 s each; sst2's 872
    validation texts, batched by length, gave 4) and ``Model.predict`` for every new batch size
    (about 0.8 s each for the default model on 2 CPU cores: a fit's validation texts, then a first
    ``predict_proba`` of 3 texts and one of 1 text, were three traces)."""
    function = _PREDICT_FUNCTIONS.get(model)
    if function is None:
        owner = weakref.ref(model)  # the function holds the model's variables, not the model
        function = tf.function(lambda ids: owner()(ids, training=False), input_signature=[tf.TensorSpec([None, None], tf.int64)])
        _PREDICT_FUNCTIONS[model] = function
    return function


def predict_dataset(model, dataset):
    """Run ``model`` (``predict_function``) over a dataset of (ids (batch, time), targets).

    Returns:
        (targets (n, classes), probabilities (n, classes)) as NumPy arrays.
    """
    run = predict_function(model)
    targets, probabilities = [], []
    for ids, batch_targets in dataset:
        probabilities.append(run(ids).numpy())
        targets.append(batch_targets.numpy())
    return np.concatenate(targets), np.concatenate(probabilities)
