"""Read labelled or unlabelled texts from CSV, TSV, JSONL and plain-text files.

Every error names the file, and the line where there is one. Files are decoded strictly (UTF-8, a
BOM is accepted); a byte that is not UTF-8 is reported with its line.
"""

import csv
import dataclasses
import io
import json
from pathlib import Path

from textlstm.errors import DataError

FORMATS = ("csv", "tsv", "jsonl", "txt")


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Texts read from one file.

    Attributes:
        path: where they came from (used in error messages).
        texts: list of str.
        labels: list of str (or list of str for multi-label JSONL), or None for unlabelled text.
        lines: the line on which each example starts, 1-based.
    """

    path: str
    texts: list
    labels: list = None
    lines: list = None

    def __len__(self):
        return len(self.texts)

    def where(self, index):
        """``"file, line N"`` for example ``index``."""
        return f"{self.path}, line {self.lines[index]}"


def detect_format(path, format=None):
    """``format`` if given, else the file extension: csv, tsv, jsonl (also .json/.ndjson) or txt."""
    if format is not None:
        if format not in FORMATS:
            raise DataError(f"{path}: unknown format {format!r} (expected one of {', '.join(FORMATS)})")
        return format
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {"ndjson": "jsonl", "json": "jsonl", "text": "txt"}
    suffix = aliases.get(suffix, suffix)
    if suffix not in FORMATS:
        raise DataError(f"{path}: cannot tell the format from the extension (expected .csv, .tsv, .jsonl or .txt)")
    return suffix


def read_corpus(path, text_column="text", label_column="label", format=None):
    """Read a labelled file. Every example needs a non-empty label.

    Args:
        path: a .csv/.tsv file with a header row, or a .jsonl file of objects.
        text_column, label_column: column (CSV/TSV) or field (JSONL) names.

    Returns:
        Corpus with labels.
    """
    format = detect_format(path, format)
    if format == "txt":
        raise DataError(f"{path}: a plain-text file has no labels; use a .csv, .tsv or .jsonl file")
    return _read_records(path, format, text_column, label_column)


def read_texts(path, text_column="text", format=None):
    """Read unlabelled texts: one per line (.txt), or a text column (.csv/.tsv) or field (.jsonl)."""
    format = detect_format(path, format)
    if format == "txt":
        content = _decode(path)
        lines = content.splitlines()
        return Corpus(str(path), lines, None, list(range(1, len(lines) + 1)))
    return _read_records(path, format, text_column, None)


def corpus_from_lines(lines, source="<stdin>"):
    """A Corpus of unlabelled texts from an iterable of str (stdin, command-line arguments)."""
    texts = [line.rstrip("\r\n") for line in lines]
    return Corpus(source, texts, None, list(range(1, len(texts) + 1)))


def _read_records(path, format, text_column, label_column):
    content = _decode(path)
    if not content.strip():
        raise DataError(f"{path}: the file is empty")
    if format == "jsonl":
        records = _jsonl_records(path, content)
    else:
        records = _csv_records(path, content, "\t" if format == "tsv" else ",", text_column, label_column)
    texts, labels, lines = [], [], []
    for line, record in records:
        text = record.get(text_column)
        if text is None:
            raise DataError(f"{path}, line {line}: no value for text {_kind(format)} {text_column!r}")
        if not isinstance(text, str):
            raise DataError(f"{path}, line {line}: text {_kind(format)} {text_column!r} is not a string")
        texts.append(text)
        lines.append(line)
        if label_column is not None:
            labels.append(_label(path, line, format, record.get(label_column), label_column))
    if not texts:
        raise DataError(f"{path}: no examples (only a header row)")
    return Corpus(str(path), texts, labels if label_column is not None else None, lines)


def _kind(format):
    return "field" if format == "jsonl" else "column"


def _label(path, line, format, value, label_column):
    if value is None:
        raise DataError(f"{path}, line {line}: no value for label {_kind(format)} {label_column!r}")
    if isinstance(value, list):
        value = [str(item).strip() for item in value]
        if not value or not all(value):
            raise DataError(f"{path}, line {line}: empty label in {_kind(format)} {label_column!r}")
        return value
    value = str(value).strip()
    if not value:
        raise DataError(f"{path}, line {line}: empty label in {_kind(format)} {label_column!r}")
    return value


def _decode(path):
    """The file's text; a missing file or a non-UTF-8 byte raises DataError naming file and line."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8"
        ) from None


def _csv_records(path, content, delimiter, text_column, label_column):
    """Yield (line, {column: value}) for each data row; the header must name the columns."""
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise DataError(f"{path}, line 1: {error}") from None
    for column in (text_column, label_column):
        if column is not None and column not in header:
            raise DataError(f"{path}: no column {column!r} in the header (columns: {', '.join(header)})")
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(f"{path}, line {start}: {error}") from None
        if row:
            if len(row) > len(header):
                raise DataError(f"{path}, line {start}: {len(row)} fields, but the header has {len(header)}")
            yield start, dict(zip(header, row))
        start = reader.line_num + 1


def _jsonl_records(path, content):
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        yield number, record
