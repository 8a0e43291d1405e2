"""Raw text -> token ids, in the TensorFlow graph, identical in training and in the export.

Tokenization uses core TF string ops only (RE2 regular expressions), so a stock TF Serving binary
runs the exported model. Three modes:

Every mode drops invisible format characters (zero-width spaces, BOMs) and keeps the letters'
case unless ``lowercase`` is set (``Config.lowercase``): "Who" and "who", "US" and "us" are then
different tokens.

- ``word``: drop apostrophes, turn other punctuation and symbols into spaces, split on
  whitespace. ``"Don't stop!"`` -> ``["Dont", "stop"]``.
- ``auto``: as ``word``, and every CJK character (Han, Hiragana, Katakana, Hangul) becomes its own
  token, so ``"我爱NLP"`` -> ``["我", "爱", "NLP"]``.
- ``char``: every non-space character is a token, punctuation included.

Ids: 0 is padding, 1 the out-of-vocabulary token ``[UNK]``, 2.. the vocabulary by falling count.
"""

import collections
import dataclasses
import zlib

import keras
import numpy as np
import tensorflow as tf

from textlstm.errors import DataError

PADDING_ID = 0
OOV_ID = 1
_CJK = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}])"
_COUNT_BATCH = 4096


def standardize(texts, mode, lowercase=False):
    """Normalize texts so that tokens are separated by whitespace.

    Args:
        texts: tf.string tensor, shape (batch,).
        mode: ``"auto"``, ``"word"`` or ``"char"``.
        lowercase: lower-case the texts first (Unicode-aware).

    Returns:
        tf.string tensor, shape (batch,).
    """
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, r"\p{Cf}", "")  # zero-width and BOM characters
    if mode == "char":
        return tf.strings.regex_replace(texts, r"(\S)", r"\1 ")
    texts = tf.strings.regex_replace(texts, r"['’]", "")
    texts = tf.strings.regex_replace(texts, r"[\p{P}\p{S}]", " ")
    if mode == "auto":
        texts = tf.strings.regex_replace(texts, _CJK, r" \1 ")
    return texts


def char_ngram_table(vocabulary, order, buckets, width):
    """The character n-grams (2 <= n <= ``order``) of every vocabulary token, hashed to buckets.

    A token is read with a space before and after, as scikit-learn's ``char_wb`` analyzer reads a
    word: ``"ab"`` -> ``" a", "ab", "b ", " ab", "ab ", " ab "``. Tokens of one character (CJK
    characters, "a") get none: their n-grams would only repeat the token. An n-gram's id is its
    CRC-32 modulo ``buckets``, plus 1; a token keeps its first ``width`` n-grams (shortest first).

    Args:
        vocabulary: all tokens by id (``TextTokenizer.vocabulary``); padding and OOV get none.

    Returns:
        int32 array (len(vocabulary), width), 0 where a token has no more n-grams.
    """
    table = np.zeros((len(vocabulary), width), np.int32)
    for index, token in enumerate(vocabulary):
        if index <= OOV_ID or len(token) < 2:
            continue
        padded = f" {token} "
        grams = [padded[start : start + n] for n in range(2, order + 1) for start in range(len(padded) - n + 1)]
        ids = [zlib.crc32(gram.encode("utf-8")) % buckets + 1 for gram in grams[:width]]
        table[index, : len(ids)] = ids
    return table


def cjk_character_table(vocabulary):
    """Which vocabulary tokens are one CJK character (Han, Hiragana, Katakana, Hangul), as the
    ``auto`` and ``char`` tokenizers make them.

    Args:
        vocabulary: all tokens by id (``TextTokenizer.vocabulary``); padding and OOV are not.

    Returns:
        float32 array (len(vocabulary),): 1.0 for a CJK character, else 0.0.
    """
    flags = tf.strings.regex_full_match(tf.constant(list(vocabulary), tf.string), _CJK).numpy().astype(np.float32)
    flags[: OOV_ID + 1] = 0.0
    return flags


def tokenize(texts, mode, lowercase=False):
    """Split texts into tokens: tf.string (batch,) -> tf.RaggedTensor of tf.string (batch, None)."""
    return tf.strings.split(standardize(tf.convert_to_tensor(texts, tf.string), mode, lowercase))


@dataclasses.dataclass(frozen=True)
class VocabularyReport:
    """What ``build_vocabulary`` saw: sizes, token-length percentiles and the share of tokens that
    are CJK characters, over the training texts."""

    vocabulary: list
    distinct_tokens: int
    length_percentiles: dict  # {50: n, 95: n, 100: n} tokens per text
    cjk_share: float = 0.0  # of all token occurrences, those that are one CJK character

    def resolve_max_length(self, max_length, cap):
        """``max_length`` if given, else the 95th percentile of lengths, at least 1 and at most ``cap``."""
        if max_length is not None:
            return max_length
        return int(min(max(self.length_percentiles[95], 1), cap))


def build_vocabulary(texts, mode, max_tokens, min_count, max_table=None, lowercase=False):
    """Count tokens over ``texts`` in batches and keep the most frequent.

    Args:
        texts: an iterable of str, consumed once, lazily (a list or a generator over a file).
        mode, lowercase: how texts become tokens (``tokenize``).
        max_tokens: vocabulary size limit including the padding and OOV ids.
        min_count: drop tokens seen fewer times.
        max_table: bound the token-count table: past this many entries only the most frequent half
            is kept (rare tokens of huge vocabularies may be missed). None: exact counts.

    Returns:
        VocabularyReport; its ``vocabulary`` is ordered by count (descending), then token, and
        excludes the padding and OOV entries that ``TextTokenizer`` adds. Its ``cjk_share`` counts
        the tokens of the table as kept (with ``max_table``, rare tokens dropped from it are not counted).
    """
    counts = collections.Counter()
    lengths = collections.Counter()
    for batch in _batches(texts, _COUNT_BATCH):
        tokens = tokenize(batch, mode, lowercase)
        lengths.update(tokens.row_lengths().numpy().tolist())
        unique, _, batch_counts = tf.unique_with_counts(tokens.flat_values)
        counts.update(dict(zip(unique.numpy().tolist(), batch_counts.numpy().tolist())))
        if max_table is not None and len(counts) > max_table:
            kept = counts.most_common(max_table // 2)
            counts.clear()
            counts.update(dict(kept))
    kept = sorted(
        ((token, count) for token, count in counts.items() if count >= min_count),
        key=lambda item: (-item[1], item[0]),
    )[: max_tokens - 2]
    return VocabularyReport(
        vocabulary=[token.decode("utf-8") for token, _ in kept],
        distinct_tokens=len(counts),
        length_percentiles=length_percentiles(lengths),
        cjk_share=_cjk_share(counts),
    )


def _cjk_share(counts):
    """Of the token occurrences in ``counts`` ({token bytes: count}), the share that are one CJK character."""
    if not counts:
        return 0.0
    tokens, numbers = zip(*counts.items())
    cjk = tf.strings.regex_full_match(tf.constant(tokens, tf.string), _CJK).numpy()
    return float(np.dot(cjk, numbers) / sum(numbers))


def _batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def length_percentiles(histogram):
    """{50, 95, 100: length} from a {length: count} histogram: NumPy's (linear) percentiles, rounded up."""
    values = np.array(sorted(histogram), dtype=np.float64)
    if not len(values):
        return {50: 0, 95: 0, 100: 0}
    last_index = np.cumsum([histogram[int(value)] for value in values]) - 1  # of each length when sorted
    total = last_index[-1] + 1
    result = {}
    for p in (50, 95, 100):
        rank = p / 100 * (total - 1)
        low = values[np.searchsorted(last_index, np.floor(rank))]
        high = values[np.searchsorted(last_index, np.ceil(rank))]
        result[p] = int(np.ceil(low + (high - low) * (rank - np.floor(rank))))
    return result


@keras.saving.register_keras_serializable(package="textlstm")
class TextTokenizer(keras.layers.Layer):
    """Raw strings -> token ids, right-padded to the batch's longest text (at most ``max_length``).

    Built on ``keras.layers.TextVectorization`` over ``standardize``'s output. A text with no
    tokens (empty, only punctuation) becomes a single OOV id, never an all-padding row.

    Args:
        mode: ``"auto"``, ``"word"`` or ``"char"`` (see the module docstring).
        vocabulary: list of tokens for ids 2, 3, ...
        max_length: tokens kept per text; longer texts are truncated at the end.
        lowercase: lower-case texts before splitting them (``standardize``).

    Input shape: (batch,) tf.string.
    Output shape: (batch, time) int64, ``1 <= time <= max_length``; 0 marks padding.
    """

    def __init__(self, mode="auto", vocabulary=(), max_length=256, lowercase=False, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.mode = mode
        self.max_length = int(max_length)
        self.lowercase = bool(lowercase)
        self.vectorizer = keras.layers.TextVectorization(
            standardize=None, split="whitespace", vocabulary=list(vocabulary), ragged=True
        )
        self.built = True  # no weights of its own; the vocabulary is fixed at construction

    @property
    def vocabulary(self):
        """All tokens by id: ``["", "[UNK]", ...]``."""
        return [str(token) for token in self.vectorizer.get_vocabulary()]

    def ragged_ids(self, texts):
        """Token ids without padding: tf.string (batch,) -> int64 RaggedTensor (batch, None), every row >= 1 id."""
        ids = self.vectorizer(standardize(tf.convert_to_tensor(texts, tf.string), self.mode, self.lowercase))
        ids = ids[:, : self.max_length]
        empty = tf.equal(ids.row_lengths(), 0)  # (batch,)
        filler = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(tf.cast(empty, tf.int64))], tf.constant(OOV_ID, tf.int64)),
            tf.cast(empty, tf.int64),
        )
        return tf.concat([ids, filler], axis=1)

    def call(self, texts):
        return self.ragged_ids(texts).to_tensor(default_value=PADDING_ID)

    def tokens(self, texts):
        """The tokens behind the ids: tf.string (batch,) -> tf.string (batch, time), padded with "".

        Unlike ``call``, a text without tokens gets an empty row (its id row holds one OOV id).
        """
        pieces = tokenize(tf.convert_to_tensor(texts, tf.string), self.mode, self.lowercase)[:, : self.max_length]
        return pieces.to_tensor(default_value="")

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int64")

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, vocabulary=self.vocabulary[2:], max_length=self.max_length, lowercase=self.lowercase)
        config.pop("trainable", None)
        return config

    @classmethod
    def from_config(cls, config):
        # Tokenizers saved before ``lowercase`` existed (schema version 2) always lower-cased.
        return cls(**{"lowercase": True, **config})


def one_dimensional(name, values, expected):
    """Raise DataError when ``values`` is a table (a DataFrame, a 2-D array) where a sequence was expected.

    A DataFrame iterates over its column names, so without this check ``fit(df[["text"]], y)`` saw
    one text, "text".
    """
    shape = getattr(values, "shape", None)
    if shape is not None and len(shape) != 1:
        raise DataError(f"{name}: expected {expected}, got a table of shape {tuple(shape)}")


def as_texts(texts):
    """A list of str; anything else raises DataError naming the first bad item.

    None and NaN (an empty cell of pandas or NumPy) are "no text", as a missing label is "no label".
    """
    if isinstance(texts, str):
        raise DataError("texts: expected a sequence of strings, got one string")
    one_dimensional("texts", texts, "a sequence of strings")
    texts = list(texts)
    for index, text in enumerate(texts):
        if text is None or (isinstance(text, (float, np.floating)) and np.isnan(text)):
            raise DataError(f"texts[{index}]: no text ({text!r})")
        if not isinstance(text, str):
            raise DataError(f"texts[{index}]: expected str, got {type(text).__name__}")
    return texts
