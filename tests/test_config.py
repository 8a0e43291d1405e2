"""Config validation messages, TOML and JSON round trips."""

import json

import numpy as np
import pytest

from textlstm.config import Config
from textlstm.errors import ConfigError


def test_defaults_are_valid_and_round_trip_through_json():
    config = Config(label_thresholds=(("b", 0.3), ("a", 0.7)))
    again = Config.from_dict(json.loads(config.to_json()))
    assert again == config
    assert again.threshold_for("a") == 0.7 and again.threshold_for("zzz") == 0.5


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"units": 0}, "units: expected an integer >= 1, got 0"),
        ({"units": 2.5}, "units: expected int, got 2.5"),
        ({"cjk_pairs": -1}, "cjk_pairs: expected an integer >= 0, got -1"),
        ({"pooling": "min"}, "pooling: expected one of last, max, mean, attention, max\\+mean; got 'min'"),
        ({"dropout": 1.0}, "dropout: expected value in \\[0.0, 1.0\\), got 1.0"),
        ({"validation_split": 0}, "validation_split: expected value in \\(0.0, 1.0\\), got 0"),
        ({"learning_rate": -1.0}, "learning_rate: expected a number > 0, got -1.0"),
        ({"bidirectional": "yes"}, "bidirectional: expected bool, got 'yes'"),
        ({"task": "multi-label", "class_weight": "balanced"}, "class_weight: 'balanced' applies to single-label"),
        ({"label_thresholds": (("a", 2.0),)}, "label_thresholds: expected threshold of 'a' in \\[0.0, 1.0\\]"),
        ({"task": "multi-label", "class_weight": {"a": 2}}, "class_weight: weights of classes apply to single-label tasks only"),
        ({"class_weight": "heavy"}, "class_weight: expected none, balanced or LABEL=WEIGHT pairs, got 'heavy'"),
        ({"class_weight": ["heavy"]}, "class_weight: expected none, balanced or LABEL=WEIGHT pairs, got 'heavy'"),
        ({"class_weight": {"a": -1}}, "class_weight: expected the weight of 'a' to be a finite number >= 0, got -1.0"),
        ({"class_weight": {"a": "x"}}, "class_weight: expected numbers as the values, got \\{'a': 'x'\\}"),
        ({"class_weight": ["a=2", "b"]}, "class_weight: expected LABEL=VALUE, got 'b'"),
    ],
)
def test_invalid_values_name_the_field(settings, message):
    with pytest.raises(ConfigError, match=message):
        Config(**settings)


def test_class_weight_is_none_balanced_or_weights_of_classes_and_round_trips():
    # scikit-learn's None and {label: weight}; the CLI's repeated --class-weight gives a tuple of strings.
    assert Config(class_weight=None).class_weight == "none"
    assert Config(class_weight=("balanced",)).class_weight == "balanced"
    assert Config(class_weight={}).class_weight == "none"
    pairs = (("ham", 1.0), ("spam", 5.0))
    for given in ({"spam": 5, "ham": 1}, ["spam=5", "ham=1"], [("spam", 5), ("ham", 1)]):
        assert Config(class_weight=given).class_weight == pairs
    config = Config(class_weight={"spam": 5})
    assert config.to_dict()["class_weight"] == {"spam": 5.0}
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_numpy_scalars_become_python_values():
    # scikit-learn's grids over arrays and SciPy's distributions give NumPy scalars.
    config = Config(units=np.int64(8), dropout=np.float64(0.2), bidirectional=np.True_, pooling=np.str_("mean"))
    assert (config.units, config.dropout, config.bidirectional, config.pooling) == (8, 0.2, True, "mean")
    assert [type(value) for value in (config.units, config.dropout, config.bidirectional, config.pooling)] == [int, float, bool, str]
    assert json.loads(config.to_json())["units"] == 8
    with pytest.raises(ConfigError, match=r"^units: expected int, got 8.0$"):
        Config(units=np.float32(8))


@pytest.mark.parametrize(
    "train_count, expected",
    [(0, (32, 20, 1e-3)), (19_999, (32, 20, 1e-3)), (20_000, (64, 20, 1e-3)), (49_999, (64, 20, 1e-3)), (50_000, (256, 4, 3e-3))],
)
def test_automatic_training_settings_by_data_size(train_count, expected):
    resolved = Config().resolve_training(train_count)
    assert (resolved.batch_size, resolved.epochs, resolved.learning_rate) == expected


def test_training_settings_given_are_kept():
    config = Config(batch_size=8, learning_rate=0.01)
    assert config.automatic_training() == ["epochs"]
    resolved = config.resolve_training(60_000)
    assert (resolved.batch_size, resolved.epochs, resolved.learning_rate) == (8, 4, 0.01)
    assert resolved.automatic_training() == []
    with pytest.raises(ConfigError, match="epochs: expected an integer >= 1, got 0"):
        Config(epochs=0)


@pytest.mark.parametrize("share, expected", [(0.0, 0), (0.49, 0), (0.5, 2**16), (0.98, 2**16)])
def test_cjk_pairs_are_automatic_from_half_the_training_tokens_being_cjk_characters(share, expected):
    assert Config().resolve_cjk_pairs(share) == expected
    assert Config(cjk_pairs=0).resolve_cjk_pairs(share) == 0 and Config(cjk_pairs=9).resolve_cjk_pairs(share) == 9


def test_the_tokenizer_keeps_what_the_ngram_branch_reads():
    assert Config(max_length=10).tokenizer_length() == 4096  # ngram_max_length
    assert Config(max_length=10, ngram_max_length=20).tokenizer_length() == 20
    assert Config(max_length=30, ngram_max_length=20).tokenizer_length() == 30  # never fewer than the members read
    assert Config(max_length=10, ngrams=1).tokenizer_length() == 10  # no n-gram branch


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().units = 3


def test_toml(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('units = 32\npooling = "attention"\n[label_thresholds]\nspam = 0.8\n', encoding="utf-8")
    config = Config.from_toml(path)
    assert (config.units, config.pooling, config.threshold_for("spam")) == (32, "attention", 0.8)
    path.write_text("[class_weight]\nspam = 5\n", encoding="utf-8")
    assert Config.from_toml(path).class_weight == (("spam", 5.0),)
    path.write_text("unit = 32\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"unit: unknown setting in {path}"):
        Config.from_toml(path)
    path.write_text('pooling = "min"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^pooling: expected one of .* got 'min' in {path}$"):
        Config.from_toml(path)
    path.write_text("units = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.from_toml(path)
