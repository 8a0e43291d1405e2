"""Read labelled or unlabelled texts: CSV/TSV, JSONL, a folder per class, fastText lines, plain text.

One interface for every format: ``iter_examples`` yields ``(location, text, label, weight, kept)`` lazily
(the streaming path uses it directly); ``read_corpus`` and ``read_texts`` collect it into a
Corpus, ``iter_corpora`` into one Corpus per part for files of any size.
Every error names the file, and the line where there is one. Rows that cannot be used (wrong
number of fields, no label, broken JSON...) stop the read, or with ``on_bad_row="skip"`` are
skipped and reported: never silently.
"""

import codecs
import csv
import dataclasses
import io
import itertools
import json
import math
import warnings
from pathlib import Path

from textlstm.errors import ConfigError, DataError
from textlstm.wording import counted

FORMATS = ("csv", "tsv", "jsonl", "fasttext", "folder", "txt")
FASTTEXT_PREFIX = "__label__"
_SNIFF_BYTES = 64 * 1024
# Longest CSV/TSV field, in characters: Python's csv module stops at 131,072, which a long document
# (a report, a chapter) passes; a field this long is rather a quote left open.
FIELD_LIMIT = 2**24
_SHOWN_SKIPS = 5


class SkippedRowsWarning(UserWarning):
    """Rows were skipped under ``on_bad_row="skip"``; the message says how many and where."""


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How to read a data file.

    Attributes:
        format: one of FORMATS; None picks it from the path (see ``detect_format``).
        text_columns: CSV/TSV columns or JSONL fields holding the text: names, or 0-based indices
            for files without a header; a JSONL field may be a dotted path to a nested one
            (``review.body``). Several are joined with a space (e.g. title and body).
        label_column: column or field (name or index; a dotted path in JSONL) holding the label.
        weight_column: CSV/TSV column or JSONL field holding each example's weight, a number >= 0
            (``Corpus.weights``, for ``fit(..., sample_weight=corpus.weights)``); None: no weights.
        keep_columns: CSV/TSV columns or JSONL fields read as they are into ``Corpus.kept``, e.g.
            an id to line predictions (and ``evaluate_file``'s misclassified records) up with their
            rows; a JSONL record without one gives None.
        header: whether a CSV/TSV file starts with a header row; None: yes, unless every column is
            given by index.
        delimiter: CSV field separator; None: tab for .tsv, else detected among , ; | and tab.
        encoding: text encoding of the file; a UTF-8 BOM is always accepted.
        encoding_errors: "strict" (invalid bytes are an error naming the line) or "replace".
        on_bad_row: "error" (stop at the first bad row) or "skip" (skip and report them).
    """

    format: str = None
    text_columns: tuple = ("text",)
    label_column: object = "label"
    weight_column: object = None
    keep_columns: tuple = ()
    header: bool = None
    delimiter: str = None
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    on_bad_row: str = "error"

    def __post_init__(self):
        for name in ("text_columns", "keep_columns"):
            columns = getattr(self, name)
            object.__setattr__(self, name, (columns,) if isinstance(columns, (str, int)) else tuple(columns))
        if not self.text_columns:
            raise ConfigError("text_columns", "give at least one column")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError("format", f"expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.encoding_errors not in ("strict", "replace"):
            raise ConfigError("encoding_errors", f"expected strict or replace, got {self.encoding_errors!r}")
        if self.on_bad_row not in ("error", "skip"):
            raise ConfigError("on_bad_row", f"expected error or skip, got {self.on_bad_row!r}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError("encoding", f"unknown encoding {self.encoding!r}") from None


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Texts read from one source.

    Attributes:
        path: where they came from (used in messages).
        texts: list of str.
        labels: list of str (a list of str for multi-label JSONL/fastText rows), or None.
        locations: per example, the 1-based line where it starts, or its file (a folder source).
        skipped: line numbers of skipped bad rows.
        weights: list of float, each example's weight (ReadOptions.weight_column), or None.
        kept: ``{column: [value per example]}`` for ReadOptions.keep_columns, or None without any.
    """

    path: str
    texts: list
    labels: list = None
    locations: list = None
    skipped: tuple = ()
    weights: list = None
    kept: dict = None

    def __len__(self):
        return len(self.texts)

    def where(self, index):
        """``"file, line N"`` (or the example's own file) for example ``index``."""
        location = self.locations[index]
        return f"{self.path}, line {location}" if isinstance(location, int) else str(location)


def detect_format(path, format=None):
    """The format of ``path``: ``format`` if given; a directory is ``folder``; else by extension.

    ``.txt`` files whose first non-blank line starts with ``__label__`` are ``fasttext``.
    """
    if format is not None:
        if format not in FORMATS:
            raise DataError(f"{path}: unknown format {format!r} (expected one of {', '.join(FORMATS)})")
        return format
    path = Path(path)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower().lstrip(".")
    suffix = {"ndjson": "jsonl", "json": "jsonl", "text": "txt", "ft": "fasttext"}.get(suffix, suffix)
    if suffix == "txt" and _first_line_starts_with(path, FASTTEXT_PREFIX):
        return "fasttext"
    if suffix not in FORMATS:
        raise DataError(
            f"{path}: cannot tell the format from the extension "
            "(expected .csv, .tsv, .jsonl, .txt or a folder; or give the format)"
        )
    return suffix


def iter_examples(path, options=None, labelled=True, skipped=None):
    """Yield ``(location, text, label, weight, kept)`` for each usable row, reading the file lazily.

    Args:
        path: a file, or a folder with one sub-folder of .txt files per class.
        options: ReadOptions.
        labelled: whether rows must carry a label (``label`` is None otherwise).
        skipped: a list that receives the line numbers of skipped bad rows.

    ``weight`` is the float in ``options.weight_column``, or None when there is none; ``kept`` the
    tuple of the row's values in ``options.keep_columns`` (empty without any).

    Raises:
        DataError: naming the file and line, for unreadable files and (unless skipping) bad rows.
    """
    options = options or ReadOptions()
    format = detect_format(path, options.format)
    if not Path(path).exists():
        raise DataError(f"{path}: no such file or directory")
    if format not in ("csv", "tsv", "jsonl"):
        if options.weight_column is not None:
            raise DataError(f"{path}: a {format} source has no weight column; weights are read from CSV, TSV or JSONL")
        if options.keep_columns:
            raise DataError(f"{path}: a {format} source has no columns to keep; they are kept from CSV, TSV or JSONL")
    if format == "folder":
        rows = _folder_rows(Path(path), options, labelled)
    else:
        if Path(path).is_dir():
            raise DataError(f"{path}: is a directory; a folder of classes needs format 'folder'")
        if format == "txt" and labelled:
            raise DataError(f"{path}: a plain-text file has no labels; use .csv, .tsv, .jsonl or fastText lines")
        readers = {"csv": _csv_rows, "tsv": _csv_rows, "jsonl": _jsonl_rows, "fasttext": _fasttext_rows, "txt": _txt_rows}
        rows = readers[format](Path(path), options, labelled, format)
    for row in rows:
        if isinstance(row, _BadRow):
            if options.on_bad_row == "error":
                raise DataError(f"{path}, line {row.line}: {row.message}")
            if skipped is not None:
                skipped.append(row.line)
            continue
        yield row


def read_corpus(path, options=None):
    """Read a labelled file or folder into a Corpus; every example has a non-empty label."""
    return _collect(path, options, labelled=True)


def read_texts(path, options=None):
    """Read unlabelled texts: a .txt file (one per line), or the text column(s) of any labelled format."""
    return _collect(path, options, labelled=False)


def iter_corpora(path, options=None, size=256, labelled=True, skipped=None):
    """Yield the file's examples as Corpora of up to ``size`` each, read lazily: ``read_corpus``
    (or, unlabelled, ``read_texts``) in parts, for files of any size. Each part's ``path`` is the
    file's, so ``where`` names the file and line; its ``skipped`` is empty (see ``skipped``).

    Args:
        skipped: a list that receives the line numbers of skipped bad rows; without one, a
            SkippedRowsWarning says at the end how many were skipped, as ``read_corpus`` does.

    Raises:
        DataError: as ``iter_examples``; and, once the file is read, when it had no examples.
    """
    options = options or ReadOptions()
    lines = [] if skipped is None else skipped
    rows = iter_examples(path, options, labelled, lines)
    count = 0
    while part := list(itertools.islice(rows, size)):
        count += len(part)
        yield _corpus(path, [list(column) for column in zip(*part)], options, labelled, ())
    if not count:
        raise _no_examples(path, lines)
    if lines and skipped is None:
        warnings.warn(skipped_summary(path, lines), SkippedRowsWarning, stacklevel=2)


def corpus_from_lines(lines, source="<stdin>"):
    """A Corpus of unlabelled texts from an iterable of str (stdin, command-line arguments)."""
    texts = [line.rstrip("\r\n") for line in lines]
    return Corpus(source, texts, None, list(range(1, len(texts) + 1)))


def skipped_summary(path, skipped):
    """``"FILE: skipped N bad rows (lines a, b, c, ...)"``."""
    shown = ", ".join(str(line) for line in skipped[:_SHOWN_SKIPS])
    more = ", ..." if len(skipped) > _SHOWN_SKIPS else ""
    return f"{path}: skipped {counted(len(skipped), 'bad row')} ({'line' if len(skipped) == 1 else 'lines'} {shown}{more})"


def _collect(path, options, labelled):
    options = options or ReadOptions()
    skipped = []
    columns = [], [], [], [], []
    for row in iter_examples(path, options, labelled, skipped):
        for column, value in zip(columns, row):
            column.append(value)
    if not columns[0]:
        raise _no_examples(path, skipped)
    if skipped:
        warnings.warn(skipped_summary(path, skipped), SkippedRowsWarning, stacklevel=3)
    return _corpus(path, columns, options, labelled, skipped)


def _corpus(path, columns, options, labelled, skipped):
    """A Corpus of ``iter_examples`` rows given as five lists: locations, texts, labels, weights, kept."""
    locations, texts, labels, weights, kept = columns
    weights = weights if options.weight_column is not None else None
    kept = {column: [values[i] for values in kept] for i, column in enumerate(options.keep_columns)} or None
    return Corpus(str(path), texts, labels if labelled else None, locations, tuple(skipped), weights, kept)


def _no_examples(path, skipped):
    return DataError(f"{path}: no examples" + (f" ({len(skipped)} bad rows skipped)" if skipped else ""))


@dataclasses.dataclass(frozen=True)
class _BadRow:
    line: int
    message: str


def _clean_label(value):
    """A label value -> str or list of str; None when missing or blank."""
    if isinstance(value, list):
        items = [str(item).strip() for item in value]
        return items if items and all(items) else None
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _weight(value, where):
    """A weight cell or field (``where``: "column 'w'") -> (float, None), or (None, why it is no weight)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"no weight in {where}"
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return None, f"weight {value!r} in {where} is not a number"
    if not math.isfinite(weight) or weight < 0:
        return None, f"weight {value!r} in {where}: expected a finite number >= 0"
    return weight, None


def _codec(options):
    """The codec to decode with: UTF-8 also accepts (and drops) a leading BOM."""
    return "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding


def iter_lines(path, options):
    """Yield (line number, line with its ending) decoded with the options' encoding.

    An invalid byte raises DataError naming the line, unless ``encoding_errors="replace"``.
    """
    encoding = _codec(options)
    number = 0
    with open(path, "rb") as raw:
        start = raw.read(2)
        if start == b"":
            raise DataError(f"{path}: the file is empty")
        if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and encoding == "utf-8-sig":
            # Excel's "Unicode text" and Windows tools write UTF-16 with a byte-order mark.
            raise DataError(
                f"{path}: a UTF-16 file (it starts with a UTF-16 byte-order mark), not utf-8; give the encoding utf-16"
            )
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, errors=options.encoding_errors, newline="")
        try:
            for number, line in enumerate(text, start=1):
                yield number, line
        except UnicodeDecodeError as error:
            line, byte = _locate_decode_error(path, encoding)
            raise DataError(
                f"{path}, line {line}: not valid {options.encoding} (byte 0x{byte:02x}); "
                "give the right encoding, or choose replacement of invalid bytes"
            ) from error


def _locate_decode_error(path, encoding):
    """(line, byte) of the first undecodable byte; only run after decoding failed."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as error:
                return number, line[error.start] if error.start < len(line) else line[-1]
    return number, 0


def _first_line_starts_with(path, prefix):
    try:
        with open(path, "rb") as raw:
            for line in raw:
                if line.strip():
                    return line.lstrip(codecs.BOM_UTF8).lstrip().startswith(prefix.encode())
    except OSError:
        return False
    return False


def _sniff_delimiter(path, options, format):
    if options.delimiter is not None:
        return options.delimiter
    if format == "tsv":
        return "\t"
    with open(path, "rb") as raw:
        sample = raw.read(_SNIFF_BYTES).decode(options.encoding, errors="replace").lstrip("\ufeff")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _csv_problem(error):
    """The csv module's complaint about a row, in words a user can act on."""
    if str(error).startswith("field larger than field limit"):
        return f"a field longer than {csv.field_size_limit():,} characters (a quote left open?)"
    return str(error)


def _width_problem(fields, width, first, last):
    """A row of ``fields`` fields under a header of ``width``, read from lines ``first``..``last``:
    one that runs over several lines most likely holds a quote left open."""
    found = counted(fields, "field")
    if last > first:
        return f"{found} over lines {first}-{last}, but the header has {width} (a quote left open?)"
    return f"{found}, but the header has {width}"


def _csv_rows(path, options, labelled, format):
    delimiter = _sniff_delimiter(path, options, format)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))  # process-wide; only ever raised
    lines = iter_lines(path, options)
    counter = _LineCounter(lines)
    reader = csv.reader(counter, delimiter=delimiter)
    weighted = options.weight_column is not None
    wanted = [
        *options.text_columns,
        *([options.label_column] if labelled else []),
        *([options.weight_column] if weighted else []),
        *options.keep_columns,
    ]
    by_index = all(isinstance(column, int) for column in wanted)
    header = options.header if options.header is not None else not by_index
    width = None
    index = {}
    if header:
        try:
            names = next(reader)
        except StopIteration:
            raise DataError(f"{path}: the file is empty") from None
        except csv.Error as error:
            raise DataError(f"{path}, line 1: {error}") from None
        width = len(names)
        for column in wanted:
            if isinstance(column, int):
                if column >= width:
                    raise DataError(f"{path}: column index {column} is past the header's {width} columns")
            elif column not in names:
                raise DataError(f"{path}: no column {column!r} in the header (columns: {', '.join(names)})")
        index = {name: position for position, name in enumerate(names)}
    elif not by_index:
        named = next(column for column in wanted if not isinstance(column, int))
        raise DataError(f"{path}: column {named!r} is a name, but the file has no header; give column indices")
    positions = [column if isinstance(column, int) else index[column] for column in wanted]
    # ``wanted`` in order: the text columns, then the label, weight and kept ones that are read.
    texts_end = len(options.text_columns)
    text_positions, keep_positions = positions[:texts_end], positions[texts_end + labelled + weighted :]
    label_position = positions[texts_end] if labelled else None
    weight_position = positions[texts_end + labelled] if weighted else None
    start = counter.count + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _BadRow(start, _csv_problem(error))
            start = counter.count + 1
            continue
        line, start = start, counter.count + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if width is not None and len(row) != width:
            yield _BadRow(line, _width_problem(len(row), width, line, counter.count))
            continue
        if max(positions) >= len(row):
            yield _BadRow(line, f"{counted(len(row), 'field')}, column {max(positions)} is missing")
            continue
        text = " ".join(row[position] for position in text_positions)
        label = weight = None
        if labelled:
            label = _clean_label(row[label_position])
            if label is None:
                yield _BadRow(line, f"empty label in column {options.label_column!r}")
                continue
        if weighted:
            weight, problem = _weight(row[weight_position], f"column {options.weight_column!r}")
            if problem:
                yield _BadRow(line, problem)
                continue
        yield line, text, label, weight, tuple(row[position] for position in keep_positions)


class _LineCounter:
    """Feeds decoded lines to csv.reader and counts them, so rows know the line they start on."""

    def __init__(self, lines):
        self.lines = lines
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.count, line = next(self.lines)
        return line


def _jsonl_rows(path, options, labelled, format):
    for number, line in iter_lines(path, options):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield _BadRow(number, f"not valid JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            yield _BadRow(number, f"expected a JSON object, got {type(record).__name__}")
            continue
        # Of several text fields (a title and a body), an absent or null one is left out; a field
        # holding something other than text, or a record with none of them, is a bad row.
        values = {field: _json_field(record, field) for field in options.text_columns}
        wrong = [field for field, value in values.items() if value is not None and not isinstance(value, str)]
        present = [value for value in values.values() if isinstance(value, str)]
        if wrong or not present:
            fields = wrong[:1] or options.text_columns
            yield _BadRow(number, f"no text in field{'s' if len(fields) > 1 else ''} {', '.join(map(repr, fields))}")
            continue
        text = " ".join(present)
        label = None
        if labelled:
            value = _json_field(record, options.label_column)
            nested = value if isinstance(value, list) else [value]
            if any(isinstance(item, (dict, list)) for item in nested):
                kind = "an object" if isinstance(value, dict) else "a list holding objects or lists"
                yield _BadRow(number, f"field {options.label_column!r}: expected a label (a string, number or list), got {kind}")
                continue
            # JSON's true and false read as JSON writes them, not as Python's True and False.
            label = _clean_label([_json_scalar(item) for item in value] if isinstance(value, list) else _json_scalar(value))
            if label is None:
                yield _BadRow(number, f"no label in field {options.label_column!r}")
                continue
        weight = None
        if options.weight_column is not None:
            value = _json_scalar(_json_field(record, options.weight_column))
            weight, problem = _weight(value, f"field {options.weight_column!r}")
            if problem:
                yield _BadRow(number, problem)
                continue
        yield number, text, label, weight, tuple(_json_field(record, field) for field in options.keep_columns)


def _json_scalar(value):
    return json.dumps(value) if isinstance(value, bool) else value


def _json_field(record, name):
    """``record[name]``, else the value at the dotted path ``name`` through nested objects, else None.

    ``_json_field({"review": {"body": "Great"}}, "review.body")`` -> ``"Great"``; a key that itself
    holds a dot (``{"review.body": ...}``) is read first.
    """
    if name in record:
        return record[name]
    value = record
    for key in name.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _fasttext_rows(path, options, labelled, format):
    for number, line in iter_lines(path, options):
        tokens = line.split()
        if not tokens:
            continue
        labels = []
        while tokens and tokens[0].startswith(FASTTEXT_PREFIX):
            labels.append(tokens.pop(0)[len(FASTTEXT_PREFIX) :])
        if labelled and not (labels and all(labels)):
            yield _BadRow(number, f"no label (expected {FASTTEXT_PREFIX}NAME before the text)")
            continue
        yield number, " ".join(tokens), (labels[0] if len(labels) == 1 else labels) if labelled else None, None, ()


def _txt_rows(path, options, labelled, format):
    for number, line in iter_lines(path, options):
        yield number, line.rstrip("\r\n"), None, None, ()


def _folder_rows(root, options, labelled):
    """Labelled: ``root/<label>/*.txt``, classes and files in sorted order. Unlabelled: every
    ``.txt`` file under ``root``, sub-folders included, in sorted order (as Keras's
    ``text_dataset_from_directory`` reads a folder with ``labels=None``). Each file is one text."""
    if not labelled:
        files = sorted(file for file in root.rglob("*.txt") if file.is_file())
        if not files:
            raise DataError(f"{root}: no .txt files in it or its sub-folders")
        for file in files:
            yield str(file), _file_text(file, options), None, None, ()
        return
    classes = sorted(child for child in root.iterdir() if child.is_dir())
    if not classes:
        raise DataError(f"{root}: no class folders (expected {root}/<label>/*.txt)")
    found = False
    for folder in classes:
        for file in sorted(folder.glob("*.txt")):
            found = True
            yield str(file), _file_text(file, options), folder.name, None, ()
    if not found:
        raise DataError(f"{root}: no .txt files in its class folders")


def _file_text(file, options):
    """The whole text of one file of a folder source, stripped."""
    try:
        text = file.read_bytes().decode(_codec(options), errors=options.encoding_errors)
    except UnicodeDecodeError as error:
        raise DataError(f"{file}: not valid {options.encoding} (byte at offset {error.start})") from None
    return text.strip()
