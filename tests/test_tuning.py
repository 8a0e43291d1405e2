"""tune: the first trial is the starting configuration, the budget and trial cap end the search."""

import threading

import keras
import pytest

from conftest import FAST, LABELS, TEXTS
from textlstm import Config, ConfigError, DataError, tune
from textlstm.tuning import SEARCH_SPACE, _choices, _trial_callbacks

SMALL = Config(**dict(FAST, epochs=2))


def test_first_trial_is_the_starting_configuration_and_the_best_is_kept():
    seen, epochs = [], []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    result = tune(TEXTS, LABELS, budget_minutes=10, config=SMALL, validation_data=(TEXTS, LABELS), max_trials=2,
                  on_trial=seen.append, callbacks=[callback])
    assert seen == result.trials and len(result.trials) == 2
    assert epochs == [0, 1, 0, 1]  # a copy of the callback ran in each trial's fit
    assert result.trials[0]["settings"] == {name: getattr(SMALL, name) for name in SEARCH_SPACE}
    assert result.trials[1]["settings"] != result.trials[0]["settings"]
    best = result.trials[result.best]
    assert best["val_macro_f1"] == max(trial["val_macro_f1"] for trial in result.trials)
    assert {name: getattr(result.classifier.config_, name) for name in SEARCH_SPACE} == best["settings"]
    assert result.classifier.validation_report_["macro_f1"] == best["val_macro_f1"]
    assert result.to_dict()["config"]["seed"] == SMALL.seed


def test_an_expired_budget_still_runs_the_first_trial():
    result = tune(TEXTS, LABELS, budget_minutes=1e-6, config=SMALL, on_trial=lambda record: None)
    assert len(result.trials) == 1


def test_callbacks_run_in_copies_per_trial_and_tensorboard_logs_go_to_one_folder_each(tmp_path):
    copies = _trial_callbacks([keras.callbacks.TensorBoard(tmp_path / "logs"), keras.callbacks.CSVLogger("log.csv")], 3)
    assert copies[0].log_dir == str(tmp_path / "logs" / "trial_3")
    assert isinstance(copies[1], keras.callbacks.CSVLogger)


def test_callbacks_that_cannot_be_copied_are_a_config_error_before_any_fit():
    class Locked(keras.callbacks.Callback):
        lock = None

    callback = Locked()
    callback.lock = threading.Lock()
    with pytest.raises(ConfigError, match="^callbacks: every trial runs a copy of them, but they cannot be copied"):
        tune(TEXTS, LABELS, 10, config=SMALL, callbacks=[callback])


def test_choices_include_the_current_value():
    assert _choices((1, 2), 2) == [1, 2]
    assert _choices((32, 128), 64) == [32, 64, 128]
    assert _choices(("max", "mean"), "last") == ["max", "mean", "last"]


@pytest.mark.parametrize("budget, max_trials, field", [(0, None, "budget"), (1, 0, "max_trials")])
def test_bad_budget_or_trials(budget, max_trials, field):
    with pytest.raises(ConfigError, match=field):
        tune(TEXTS, LABELS, budget, config=SMALL, max_trials=max_trials)


def test_bad_data_raises_its_own_error_instead_of_failing_every_trial():
    with pytest.raises(DataError, match="12 texts but 11 labels"):
        tune(TEXTS, LABELS[:-1], 10, config=SMALL)
    with pytest.raises(DataError, match="validation"):  # a label the training data lacks, found in trial 1
        tune(TEXTS, LABELS, 10, config=SMALL, validation_data=(TEXTS[:1], ["bird"]))


def test_sample_weights_reach_every_trial():
    other = {"cat": "dog", "dog": "cat"}
    texts, labels = TEXTS[:8] * 2, LABELS[:8] + [other[label] for label in LABELS[:8]]
    weights = [1.0] * 8 + [0.0] * 8  # the second copy, labelled the other way, weighs nothing
    config = Config(**dict(FAST, members=1, ngrams=1))
    result = tune(texts, labels, 10, config=config, validation_data=(TEXTS[:8], LABELS[:8]), max_trials=1, on_trial=lambda record: None, sample_weight=weights)
    assert list(result.classifier.predict(TEXTS[:8])) == LABELS[:8]
    with pytest.raises(DataError, match="^sample_weight: 15 weights for 16 texts$"):
        tune(texts, labels, 10, config=config, sample_weight=weights[:-1])
