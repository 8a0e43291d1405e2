"""The registry of standard data sets: one JSON card per data set in ``cards/``.

A card gives the canonical URL, SHA-256 and size of each file, the license and citation, the
parser of the original format with its label names, the official splits and their published row
counts. ``load(name)`` downloads (verified, cached), parses and checks the row counts;
``standard_splits`` gives train/test (and dev) splits; ``write_csv`` writes them as ``text,label`` files.
"""

import csv
import io
import json
from pathlib import Path

from textlstm.download import cache_dir, fetch
from textlstm.errors import DataError
from textlstm.files import write_texts_atomically
from textlstm.datasets.parsers import parse
from textlstm.splits import split_corpus

CARDS_DIR = Path(__file__).resolve().parent / "cards"


def names():
    """Names of the registered data sets, sorted."""
    return sorted(path.stem for path in CARDS_DIR.glob("*.json"))


def card(name):
    """The card of data set ``name`` as a dict."""
    path = CARDS_DIR / f"{name}.json"
    if not path.is_file():
        raise DataError(f"unknown data set {name!r} (registered: {', '.join(names())})")
    return json.loads(path.read_text(encoding="utf-8"))


def download(name_or_card, cache=None, mirror=None, progress=True):
    """Fetch every file of a data set into ``<cache>/<name>/``; returns {file name: path}."""
    info = card(name_or_card) if isinstance(name_or_card, str) else name_or_card
    directory = cache_dir(cache) / info["name"]
    return {
        file: fetch(file, spec["url"], spec["sha256"], directory, spec.get("size"), mirror, progress)
        for file, spec in info["files"].items()
    }


def load(name_or_card, cache=None, mirror=None, progress=True):
    """Download if needed, parse, and check the published row counts.

    Returns:
        {split name: Corpus}, e.g. {"train", "dev", "test"} or {"all"} when there is no official split.
    """
    info = card(name_or_card) if isinstance(name_or_card, str) else name_or_card
    paths = download(info, cache, mirror, progress)
    splits = {}
    for split, file in info["splits"].items():
        corpus = parse(info["parser"], split, paths[file])
        expected = info.get("rows", {}).get(split)
        if expected is not None and len(corpus) != expected:
            raise DataError(f"{paths[file]}: {len(corpus)} rows in split {split!r}, the publisher's count is {expected}")
        splits[split] = corpus
    return splits


def standard_splits(splits, seed, test_fraction=0.1):
    """``{"train", "test"[, "dev"]}`` from ``load``'s splits.

    A data set published as one file (``"all"``) gets a seeded, stratified ``test_fraction`` test
    split, the same for the same seed.
    """
    if "all" not in splits:
        return dict(splits)
    train, _, test = split_corpus(splits["all"], dev_fraction=0, test_fraction=test_fraction, seed=seed)
    return {"train": train, "test": test}


def write_csv(splits, directory, force=False):
    """Write each split as ``<directory>/<split>.csv`` with the header ``text,label``.

    These are the files ``textlstm train --train/--dev/--test`` and ``benchmarks/compare.py`` read.
    Each file is written to a temporary file beside it; once all are written, they are renamed.

    Args:
        splits: {split name: Corpus}, e.g. from ``standard_splits``.
        directory: created if missing.
        force: overwrite split files already there; without it, one there is an error and nothing is written.

    Returns:
        {split name: Path written}.
    """
    directory = Path(directory)
    paths = {split: directory / f"{split}.csv" for split in splits}
    present = [str(path) for path in paths.values() if path.exists()]
    if present and not force:
        raise DataError(f"{present[0]}: already exists (use --force to overwrite)")
    texts = {}
    for split, corpus in splits.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(zip(corpus.texts, corpus.labels))
        texts[paths[split]] = buffer.getvalue()
    write_texts_atomically(texts)
    return paths
