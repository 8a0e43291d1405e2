"""Pretrained word vectors (word2vec, GloVe, fastText) aligned to a vocabulary.

Formats, recognised from the file itself:

- text: one ``word v1 ... vd`` line per word (GloVe), optionally after a ``count dim`` header line
  (word2vec text, fastText ``.vec``);
- word2vec binary: a ``count dim`` header line, then per word ``word<space>`` and ``dim`` little-endian
  float32 values (optionally followed by a newline).

Only the vocabulary's words are kept while reading, so the file is never held in memory.
"""

import dataclasses
import os

import numpy as np

from textlstm.errors import ConfigError, DataError
from textlstm.wording import counted

_EXAMPLES = 3  # words of the file and of the vocabulary shown when none match


@dataclasses.dataclass(frozen=True)
class AlignedVectors:
    """Vectors for a vocabulary.

    Attributes:
        matrix: float32 (vocabulary size, dim); row 0 (padding) is zero; words not in the file get
            small random vectors with the found vectors' scale.
        found: how many vocabulary words (padding and OOV excluded) the file had.
        searched: how many vocabulary words were looked for.
    """

    matrix: np.ndarray
    found: int
    searched: int

    @property
    def coverage(self):
        return self.found / self.searched if self.searched else 0.0


def check_vectors_path(path):
    """Raise ConfigError (field ``embeddings``) unless ``path`` is a file: a mistyped path is then
    named before any training data is read."""
    if not os.path.isfile(path):
        reason = "a directory, not a vectors file" if os.path.isdir(path) else "no such file"
        raise ConfigError("embeddings", f"{path}: {reason}")


def align_vectors(path, vocabulary, seed=0):
    """Read ``path`` and build the embedding matrix of ``vocabulary`` (ids in list order).

    Words match exactly, else case-insensitively (vectors files often hold only lower-case words,
    while the vocabulary keeps case unless ``Config.lowercase``): "Who" takes the vector of "who"
    when the file has no "Who". Ids 0 and 1 (padding, OOV) are not searched.

    Raises:
        DataError: naming the file (and line) for a missing file, an empty one, malformed vectors, or
            a file without a vector for any vocabulary word (another language, or another tokenization).
    """
    exact, folded = {}, {}
    for index, word in enumerate(vocabulary[2:], start=2):
        exact.setdefault(word, index)
        folded.setdefault(word.lower(), []).append(index)
    try:
        with open(path, "rb") as file:
            first = file.readline()
            if not first:
                raise DataError(f"{path}: the file is empty")
            header = _header(first)
            binary = header is not None and _looks_binary(file, header[1])
            file.seek(0)
            if header is not None:
                file.readline()
            reader = _binary_vectors(file, header[1], path) if binary else _text_vectors(file, path, header)
            dim, rows, first_words = None, {}, []
            for word, vector in reader:
                dim = dim or len(vector)
                if len(first_words) < _EXAMPLES:
                    first_words.append(word)
                if word in exact:
                    rows[exact[word]] = vector
                for index in folded.get(word.lower(), ()):
                    if index not in rows:  # an exact match wins over a case-insensitive one
                        rows[index] = vector
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    if dim is None:
        raise DataError(f"{path}: no vectors found")
    if exact and not rows:
        raise DataError(
            f"{path}: none of the {len(exact):,} vocabulary words has a vector here (the file's first words: "
            f"{_quoted(first_words)}; the vocabulary's: {_quoted(list(exact)[:_EXAMPLES])})"
        )
    return _matrix(rows, len(exact), len(vocabulary), dim, seed)


def _quoted(words):
    return ", ".join(repr(word) for word in words)


def _header(line):
    """(count, dim) when ``line`` is a word2vec/fastText header, else None."""
    parts = line.split()
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        return int(parts[0]), int(parts[1])
    return None


def _looks_binary(file, dim):
    """After a header: word2vec binary has a word, a space, then 4*dim raw bytes rarely all printable."""
    position = file.tell()
    sample = file.read(256 + 4 * dim)
    file.seek(position)
    word, _, rest = sample.partition(b" ")
    chunk = rest[: 4 * dim]
    try:
        chunk.decode("utf-8")
        text = all(32 <= byte < 127 or byte in b"\t\n\r" for byte in chunk)
    except UnicodeDecodeError:
        text = False
    return not text


def _text_vectors(file, path, header):
    dim = header[1] if header else None
    for number, raw in enumerate(file, start=2 if header else 1):
        line = raw.decode("utf-8", errors="replace").rstrip("\n\r")
        if not line.strip():
            continue
        parts = line.rstrip().split(" ")
        word, values = parts[0], parts[1:]
        dim = dim or len(values)
        if len(values) != dim:
            raise DataError(f"{path}, line {number}: {counted(len(values), 'number')}, expected {dim}")
        try:
            yield word, np.asarray(values, dtype=np.float32)
        except ValueError:
            raise DataError(f"{path}, line {number}: not a list of numbers after the word") from None


def _binary_vectors(file, dim, path):
    size = 4 * dim
    while True:
        word = bytearray()
        while True:
            byte = file.read(1)
            if not byte:
                if word.strip():
                    raise DataError(f"{path}: truncated after word {word.decode('utf-8', 'replace')!r}")
                return
            if byte == b" ":
                break
            if byte != b"\n" or word:
                word += byte
        values = file.read(size)
        if len(values) != size:
            raise DataError(f"{path}: truncated vector for word {word.decode('utf-8', 'replace')!r}")
        yield word.decode("utf-8", errors="replace"), np.frombuffer(values, dtype="<f4").astype(np.float32)


def _matrix(rows, searched, size, dim, seed):
    """rows: {vocabulary index: vector}; searched: how many vocabulary words were looked up."""
    found = np.stack(list(rows.values())) if rows else np.zeros((1, dim), np.float32)
    scale = float(found.std()) or 0.1
    matrix = np.random.default_rng(seed).normal(0.0, scale, size=(size, dim)).astype(np.float32)
    matrix[0] = 0.0
    for index, vector in rows.items():
        matrix[index] = vector
    return AlignedVectors(matrix, len(rows), searched)
