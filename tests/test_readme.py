"""The README stays true: its configuration reference lists every Config field with its default, and
the describe output it walks through is what describe prints."""

import dataclasses
from pathlib import Path

from textlstm.config import Config, shown_default

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_configuration_reference_lists_every_field():
    for field in dataclasses.fields(Config):
        row = next((line for line in README.splitlines() if f"(`{field.name}`)" in line), None)
        assert row is not None, f"README has no row for {field.name}"
        assert f"| `{shown_default(field)}` |" in row, f"README shows another default for {field.name}"


def test_first_commands():
    assert 'pip install -e ".[test]" && textlstm train' in README
    assert "python -m pytest" in README


def test_the_describe_walkthrough_is_what_describe_prints():
    from textlstm.describe import describe_model, format_description
    from textlstm.model import build_model

    quoted = README.split("**Reading it.**")[1].split("```")[1].strip("\n")
    model = build_model(Config(members=1, ngrams=1, num_layers=2), vocabulary_size=1000, num_classes=3)
    assert quoted == format_description(describe_model(model))
