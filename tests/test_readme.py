"""The README stays true: its configuration reference lists every Config field with its default."""

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
