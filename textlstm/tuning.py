"""Hyper-parameter search within a time budget: KerasTuner's random search over TextClassifier fits.

Each trial fits a whole ``TextClassifier`` (tokenizer, vocabulary and model) with some settings
changed, on the same training texts and the same validation split, and scores it by validation
macro-F1. The first trial is the starting configuration itself, so the search never returns
anything worse on validation than not searching. No trial starts after the budget has run out;
the one running then finishes. The best trial's fitted classifier is kept: every trial uses the
same data and seed, so training its configuration again would reproduce it.

KerasTuner supplies the search (its oracle proposes settings, records trials and never repeats
one); ``run_trial`` is overridden because a trial changes the tokenizer as well as the model.
"""

import copy
import dataclasses
import os
import tempfile
import time

import keras
import keras_tuner

from textlstm.classifier import TextClassifier, sample_weights, texts_and_labels
from textlstm.config import Config
from textlstm.errors import ConfigError, TextlstmError
from textlstm.splits import stratified_indices

# Settings searched, with the values tried; each search also tries the starting configuration's value.
SEARCH_SPACE = {
    "embedding_dim": (32, 64, 128),
    "units": (16, 32, 64),
    "members": (1, 3),
    "num_layers": (1, 2),
    "pooling": ("max", "max+mean", "attention", "last"),
    "dropout": (0.2, 0.3, 0.5),
    "learning_rate": (3e-4, 1e-3, 3e-3),
    "ngrams": (1, 2, 3),
    "batch_size": (32, 64),
}
OBJECTIVE = "val_macro_f1"


@dataclasses.dataclass(frozen=True)
class TuningResult:
    """What ``tune`` found.

    Attributes:
        classifier: the fitted TextClassifier of the best trial.
        trials: one dict per finished trial, in order: ``trial``, ``settings`` (the searched
            values), ``val_macro_f1``, ``val_accuracy`` and ``seconds``.
        best: index into ``trials`` of the best one.
    """

    classifier: TextClassifier
    trials: list
    best: int

    def to_dict(self):
        """JSON-ready: the trials and the best trial's index and resolved configuration."""
        return {"best": self.best, "config": self.classifier.config_.to_dict(), "trials": self.trials}


class _UserError(keras_tuner.errors.FatalError):
    """A TextlstmError inside a trial: KerasTuner re-raises FatalErrors instead of marking the trial failed."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class _DeadlineOracle(keras_tuner.oracles.RandomSearchOracle):
    """Random search that proposes no new trial once ``deadline`` (time.monotonic()) has passed."""

    def __init__(self, deadline, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline

    def populate_space(self, trial_id):
        if self.trials and time.monotonic() >= self.deadline:
            return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}
        return super().populate_space(trial_id)


class _ClassifierTuner(keras_tuner.Tuner):
    """A KerasTuner tuner whose trial is one TextClassifier fit, scored on the validation data."""

    def __init__(self, base, texts, labels, weights, validation_data, on_trial, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self.texts, self.labels, self.weights, self.validation_data = texts, labels, weights, validation_data
        self.on_trial = on_trial
        self.best_classifier, self.best_score, self.records = None, None, []

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        settings = {
            name: hp.Choice(name, _choices(values, getattr(self.base, name)), default=getattr(self.base, name))
            for name, values in SEARCH_SPACE.items()
        }
        number = len(self.records) + 1
        start = time.perf_counter()
        try:
            callbacks = _trial_callbacks(kwargs.get("callbacks", ()), number)
            classifier = TextClassifier(self.base, **settings).fit(
                self.texts, self.labels, validation_data=self.validation_data, verbose=0, sample_weight=self.weights,
                callbacks=callbacks,
            )
        except TextlstmError as error:  # bad data or callbacks: no other trial can do better
            raise _UserError(error) from None
        report = classifier.validation_report_
        record = {
            "trial": number,
            "settings": settings,
            OBJECTIVE: report["macro_f1"],
            "val_accuracy": report["accuracy"],
            "seconds": round(time.perf_counter() - start, 1),
        }
        self.records.append(record)
        if self.best_score is None or report["macro_f1"] > self.best_score:
            self.best_classifier, self.best_score = classifier, report["macro_f1"]
        self.on_trial(record)
        return {OBJECTIVE: report["macro_f1"]}


def _trial_callbacks(callbacks, number):
    """Copies of ``callbacks`` for trial ``number``, as KerasTuner's own trials get them: a callback
    keeps state from the fit it ran in. A TensorBoard one writes to ``<log_dir>/trial_<number>``."""
    try:
        copies = copy.deepcopy(list(callbacks))
    except Exception as error:  # what deepcopy raises depends on what the callback holds
        raise ConfigError("callbacks", f"every trial runs a copy of them, but they cannot be copied ({error})") from None
    for callback in copies:
        if isinstance(callback, keras.callbacks.TensorBoard):
            callback.log_dir = os.path.join(str(callback.log_dir), f"trial_{number}")
    return copies


def _choices(values, current):
    """``values`` with ``current`` added (sorted where the values are numbers)."""
    if current in values:
        return list(values)
    merged = list(values) + [current]
    return sorted(merged) if all(isinstance(v, (int, float)) for v in merged) else merged


def tune(
    texts, labels, budget_minutes, config=None, validation_data=None, max_trials=None, on_trial=print, sample_weight=None,
    callbacks=None,
):
    """Search ``SEARCH_SPACE`` for ``budget_minutes`` and return the best fitted classifier.

    Args:
        texts, labels: training data, as for ``TextClassifier.fit``.
        budget_minutes: no trial starts after this many minutes (> 0); the first always runs.
        config: the starting Config (default ``Config()``); trial 1 uses it unchanged, and the
            settings outside ``SEARCH_SPACE`` stay as it has them in every trial.
        validation_data: ``(texts, labels)`` or a Corpus scoring every trial; default: one stratified
            ``config.validation_split`` of the training data, the same for all trials.
        max_trials: stop after this many trials even if time is left (default: only the budget).
        on_trial: called with each finished trial's record (see ``TuningResult.trials``).
        sample_weight: optional weight of each training text's loss, shape (n,), as for
            ``TextClassifier.fit``; the validation data scores every text alike.
        callbacks: Keras callbacks for every trial's fit (see ``TextClassifier.fit``). Each trial
            runs fresh copies; a ``keras.callbacks.TensorBoard(log_dir)`` writes trial N's epochs
            to ``log_dir/trial_N``.

    Returns:
        TuningResult.
    """
    config = config if config is not None else Config()
    if not budget_minutes > 0:
        raise ConfigError("budget", f"expected minutes > 0, got {budget_minutes!r}")
    if max_trials is not None and max_trials < 1:
        raise ConfigError("max_trials", f"expected an integer >= 1, got {max_trials!r}")
    texts, labels = texts_and_labels(texts, labels, config.task == "multi-label")
    weights = sample_weights(sample_weight, len(texts))
    if validation_data is None:
        kept, held = stratified_indices(labels, config.validation_split, config.seed)
        validation_data = ([texts[i] for i in held], [labels[i] for i in held])
        texts, labels = [texts[i] for i in kept], [labels[i] for i in kept]
        weights = None if weights is None else weights[kept]
    config = config.resolve_training(len(texts))
    deadline = time.monotonic() + 60 * budget_minutes
    oracle = _DeadlineOracle(
        deadline,
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        max_trials=max_trials or 10**6,
        seed=config.seed,
    )
    with tempfile.TemporaryDirectory(prefix="textlstm-tune-") as directory:
        tuner = _ClassifierTuner(
            config, texts, labels, weights, validation_data, on_trial, oracle=oracle, directory=directory, project_name="tune"
        )
        try:
            tuner.search(verbose=0, callbacks=list(callbacks or ()))
        except _UserError as wrapped:
            raise wrapped.error from None
    if tuner.best_classifier is None:
        raise RuntimeError("no trial finished")
    best = max(range(len(tuner.records)), key=lambda i: tuner.records[i][OBJECTIVE])
    return TuningResult(tuner.best_classifier, tuner.records, best)
