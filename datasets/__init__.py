"""Data sets shipped with textlstm (installed as ``textlstm.datasets``).

``sample/``: a small labelled data set written for this project: short English and Chinese texts
about four topics (food, sport, tech, weather), ``text,label`` CSV with a train and a test split.
"""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def sample_path(split):
    """Path of the embedded sample data's ``split`` ("train" or "test") CSV file."""
    return SAMPLE_DIR / f"{split}.csv"
