"""Parsers for the publishers' original file formats: (file, split, card's parser spec) -> Corpus.

Each card in ``cards/`` names its parser and options under ``"parser"``:

- ``label_first``: one example a line, ``<label id> <text>`` (SST, MR as published by Kim 2014).
- ``trec``: ``COARSE:fine question`` lines; the label is the coarse class, or with ``"label": "fine"``
  the whole ``COARSE:fine`` (TREC's 50 fine classes).
- ``csv``: a CSV file (optionally a ``member`` of a zip archive), read with ``textlstm.data``.
- ``aclimdb``: the aclImdb tarball, ``aclImdb/<split>/{pos,neg}/*.txt``.

``labels`` in a spec maps the raw label to its name; a raw label outside it is an error naming the
file and line.
"""

import tarfile
import tempfile
import zipfile
from pathlib import Path

from textlstm.data import Corpus, ReadOptions, iter_lines, read_corpus
from textlstm.errors import DataError


def parse(spec, split, path):
    """The examples of ``split`` in the downloaded file ``path``, parsed as ``spec`` says."""
    parsers = {"label_first": _label_first, "trec": _trec, "csv": _csv, "aclimdb": _aclimdb}
    if spec["name"] not in parsers:
        raise DataError(f"unknown parser {spec['name']!r} (known: {', '.join(parsers)})")
    return parsers[spec["name"]](Path(path), split, spec)


def _name(spec, raw, place):
    names = spec.get("labels")
    if names is None:
        return raw
    if raw not in names:
        raise DataError(f"{place}: label {raw!r} is not one of {', '.join(names)}")
    return names[raw]


def _split_lines(path, spec, separator):
    """(line, head, rest) of each non-blank line split once at ``separator``."""
    for number, line in iter_lines(path, ReadOptions(encoding=spec.get("encoding", "utf-8"))):
        line = line.strip()
        if not line:
            continue
        head, found, rest = line.partition(separator)
        if not found:
            raise DataError(f"{path}, line {number}: expected '<label>{separator}<text>'")
        yield number, head, rest


def _label_first(path, split, spec):
    texts, labels, lines = [], [], []
    for number, head, rest in _split_lines(path, spec, " "):
        texts.append(rest.strip())
        labels.append(_name(spec, head, f"{path}, line {number}"))
        lines.append(number)
    return Corpus(str(path), texts, labels, lines)


def _trec(path, split, spec):
    texts, labels, lines = [], [], []
    for number, head, rest in _split_lines(path, spec, " "):
        coarse, colon, _ = head.partition(":")
        if not colon:
            raise DataError(f"{path}, line {number}: expected 'COARSE:fine question'")
        texts.append(rest.strip())
        labels.append(_name(spec, head if spec.get("label") == "fine" else coarse, f"{path}, line {number}"))
        lines.append(number)
    return Corpus(str(path), texts, labels, lines)


def _csv(path, split, spec):
    if "member" in spec:
        path = _extract(path, spec["member"])
    options = ReadOptions(
        format="csv",
        text_columns=tuple(spec["text_columns"]),
        label_column=spec["label_column"],
        header=spec.get("header"),
        delimiter=spec.get("delimiter", ","),
        encoding=spec.get("encoding", "utf-8"),
    )
    corpus = read_corpus(path, options)
    texts = corpus.texts
    if spec.get("backslash_is_newline"):
        texts = [text.replace("\\", "\n") for text in texts]
    labels = [_name(spec, label, corpus.where(i)) for i, label in enumerate(corpus.labels)]
    return Corpus(corpus.path, texts, labels, corpus.locations)


def _extract(archive, member):
    """``member`` of the zip ``archive``, extracted once beside it (temporary file, then rename)."""
    target = Path(archive).with_name(member)
    if target.is_file():
        return target
    with zipfile.ZipFile(archive) as zipped, tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{member}.", suffix=".part", delete=False
    ) as out:
        try:
            out.write(zipped.read(member))
        except KeyError:
            Path(out.name).unlink()
            raise DataError(f"{archive}: no member {member!r}") from None
    Path(out.name).replace(target)
    return target


def _aclimdb(path, split, spec):
    texts, labels, names = [], [], []
    prefix = f"aclImdb/{split}/"
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if not (member.isfile() and member.name.startswith(prefix) and member.name.endswith(".txt")):
                continue
            folder = member.name[len(prefix) :].split("/")[0]
            if folder not in spec["labels"]:
                continue  # unsup/ and other folders hold no labelled reviews
            raw = archive.extractfile(member).read()
            texts.append(raw.decode(spec.get("encoding", "utf-8")).replace("<br />", "\n"))
            labels.append(spec["labels"][folder])
            names.append(f"{path}:{member.name}")
    order = sorted(range(len(names)), key=names.__getitem__)
    return Corpus(str(path), [texts[i] for i in order], [labels[i] for i in order], [names[i] for i in order])
