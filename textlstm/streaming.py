"""Train from files larger than memory: one bounded-memory scan, then tf.data reading lines lazily.

The scan counts tokens (``build_vocabulary`` over a generator of the file's texts), lengths and labels.
Memory stays bounded: when the token table grows past ``max_table`` entries, only the most frequent
half is kept, so rare tokens may be missed on huge vocabularies (they would fall below the
``max_tokens`` cut anyway). Below that size the vocabulary equals the in-memory path's exactly.

Validation rows are chosen by a hash of (seed, line), so every epoch sees the same split without
storing it: about ``fraction`` of the rows, not stratified.
"""

import collections
import dataclasses
import math
import zlib

import numpy as np
import tensorflow as tf

from textlstm.data import iter_examples
from textlstm.errors import DataError
from textlstm.labels import LabelSet, several_labels_error, split_labels
from textlstm.text import VocabularyReport, build_vocabulary
from textlstm.wording import counted

AUTO_THRESHOLD_BYTES = 512 * 1024**2  # `textlstm train` streams training files larger than this
DEFAULT_MAX_TABLE = 2_000_000
SHUFFLE_BUFFER = 10_000


def is_validation(location, seed, fraction):
    """Whether the example at ``location`` belongs to the hash-chosen validation part."""
    return zlib.crc32(f"{seed}:{location}".encode()) < fraction * 2**32


@dataclasses.dataclass(frozen=True)
class ScanReport:
    """What one pass over a training file found.

    Attributes:
        vocabulary: VocabularyReport over the training part.
        label_set: LabelSet of every label seen, in training and validation rows.
        class_counts: training examples per class, shape (classes,).
        train_rows, validation_rows: examples in each part.
        weights: (lowest, highest, mean, how many are 0) of the training rows' weights, or None
            without a weight column.
    """

    vocabulary: VocabularyReport
    label_set: LabelSet
    class_counts: np.ndarray
    train_rows: int
    validation_rows: int
    weights: tuple = None


def scan(path, options, config, validation_fraction=None, max_table=DEFAULT_MAX_TABLE):
    """Count tokens, lengths and labels of a file in one pass with bounded memory.

    Args:
        path: the training file; ``options``: its ReadOptions.
        config: Config (tokenizer mode, vocabulary limits, task).
        validation_fraction: hold out hash-chosen rows as validation; None keeps all for training.
        max_table: most token counts kept in memory at once.

    Raises:
        DataError: for the file's bad rows, and when ``options`` has a weight column whose training
            weights are all 0.
    """
    multi_label = config.task == "multi-label"
    labels = collections.Counter()
    rows = {True: 0, False: 0}
    weights = {"lowest": math.inf, "highest": 0.0, "sum": 0.0, "zeros": 0}  # of the training rows

    def training_texts():
        for location, text, label, weight, _ in iter_examples(path, options):
            validation = validation_fraction is not None and is_validation(location, config.seed, validation_fraction)
            rows[validation] += 1
            names = split_labels(label, multi_label, config.label_delimiter)
            if len(names) > 1 and not multi_label:
                raise several_labels_error(names, f"{path}, line {location}")
            labels.update({name: 0 for name in names})  # a label of validation rows only is still a class
            if not validation:
                labels.update(names)
                if weight is not None:
                    weights.update(lowest=min(weights["lowest"], weight), highest=max(weights["highest"], weight))
                    weights["sum"] += weight
                    weights["zeros"] += weight == 0
                yield text

    vocabulary = build_vocabulary(
        training_texts(), config.tokenizer, config.max_tokens, config.min_count, max_table, config.lowercase
    )
    summary = None
    if options is not None and options.weight_column is not None:
        if not weights["sum"]:
            raise DataError(f"{path}: every training weight is 0")
        summary = (weights["lowest"], weights["highest"], weights["sum"] / rows[False], weights["zeros"])
    label_set = LabelSet.fit(list(labels), multi_label, config.label_delimiter, source=str(path))
    class_counts = np.array([labels[name] for name in label_set.classes], dtype=np.int64)
    return ScanReport(vocabulary, label_set, class_counts, rows[False], rows[True], summary)


def check_rows(path, options, label_set):
    """Count the examples of a labelled file, checking each label is one of ``label_set``'s classes."""
    rows = 0
    for location, _, label, _, _ in iter_examples(path, options):
        label_set.encode([label], lambda _: f"{path}, line {location}")
        rows += 1
    return rows


class ReadingErrors:
    """What reading files raised inside tf.data, raised again as itself after the training.

    tf.data runs ``stream_dataset``'s generator in a thread of its own and reports what it raises
    as a ``tf.errors.OpError`` whose message holds the Python traceback. A file that changes while
    a model trains on it (a bad row appended, the file cut short or deleted) raises a DataError
    there; ``with errors:`` around the training raises that one-line error instead.

    Attributes:
        raised: the DataErrors and OSErrors the generators raised, in the order they were raised.
    """

    def __init__(self):
        self.raised = []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, tf.errors.OpError) and self.raised:
            raise self.raised[0] from None
        return False


def stream_dataset(path, options, tokenizer, label_set, batch_size, part, seed, fraction, rows=None, shuffle=False, errors=None):
    """Batches of (ids (batch, time), targets (batch, classes)) read lazily from ``path``, with each
    text's weight (batch,) added when ``options`` has a weight column.

    Args:
        part: "train" or "validation" (rows chosen by ``is_validation``); "all" for every row.
        rows: examples in that part, when known: Keras then shows progress bars with totals, and a
            pass that reads another number of them is a DataError (the file changed).
        shuffle: shuffle within a buffer of SHUFFLE_BUFFER examples, reseeded every epoch.
        errors: a ReadingErrors that keeps what reading the file raises.
    """

    weighted = options is not None and options.weight_column is not None

    def examples():
        count = 0
        try:
            for location, text, label, weight, _ in iter_examples(path, options):
                if part != "all" and is_validation(location, seed, fraction) != (part == "validation"):
                    continue
                target = label_set.encode([label], lambda _: f"{path}, line {location}")[0]
                count += 1
                yield (text, target, weight) if weighted else (text, target)
            if rows is not None and count != rows:
                raise DataError(f"{path}: changed during training ({counted(count, 'row')} in this pass, {rows:,} when it began)")
        except (DataError, OSError) as error:
            if errors is not None:
                errors.raised.append(error)
            raise

    signature = (tf.TensorSpec((), tf.string), tf.TensorSpec((len(label_set.classes),), tf.float32))
    signature += (tf.TensorSpec((), tf.float32),) if weighted else ()
    dataset = tf.data.Dataset.from_generator(examples, output_signature=signature)
    if shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(lambda texts, *rest: (tokenizer(texts), *rest))
    if rows is not None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-rows // batch_size)))
    return dataset.prefetch(tf.data.AUTOTUNE)
