"""Write a self-contained SavedModel (raw strings in, probabilities and labels out) and load one.

An export directory is a SavedModel that ``tf.saved_model.load`` reads without textlstm:

    DIR/saved_model.pb, variables/, assets/   signatures ``serving_default``, ``metadata`` and ``tokens``
    DIR/textlstm.json                         schema version, resolved config, labels, vocabulary size
    DIR/model.keras                           the same model (text -> probabilities) to train further

``serving_default(text: tf.string [batch])`` returns ``probabilities`` [batch, classes] (columns in
``classes`` order), ``label`` tf.string [batch] (several labels joined by the delimiter for
multi-label), ``score`` [batch] (the highest probability) and, for the attention head,
``attention`` [batch, time]. ``metadata()`` returns ``{"textlstm_json": <the JSON above>}``.
``tokens(text)`` returns ``tokens`` tf.string [batch, time]: the tokens the model sees, padded with "".
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from textlstm import __version__
from textlstm.config import READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, Config, upgrade_config
from textlstm.errors import ExportError
from textlstm.evaluation import evaluate_file, evaluate_judged, judge_of
from textlstm.files import apply_umask, nearest_existing
from textlstm.fused_lstm import FUSED_MAX_BATCH, predicts_fused
from textlstm.labels import LabelSet
from textlstm.model import output_dict, split_text_model, text_model, with_attention
from textlstm.text import as_texts

METADATA_FILE = "textlstm.json"
KERAS_FILE = "model.keras"
PREDICT_BATCH = 256
# Texts per model call inside ``serving_default``: a batch is sorted by length and run in chunks, each
# padded only to its own longest text. A model whose LSTMs predict on the fused kernel
# (``textlstm.fused_lstm``) takes chunks of ``FUSED_MAX_BATCH``, the kernel's batch limit; others take
# ``SERVE_CHUNK``. Measured by hand on 2 CPU cores, batch 256, texts/s (exports of
# benchmarks/speed.py's BiLSTM; the default model with an LSTM and with a GRU):
#
#     chunk                                   32       64      128
#     speed.py BiLSTM, online_shopping     7,641        -    5,234   (recipe 3,026)
#     speed.py BiLSTM, sst2               18,579        -   17,325   (recipe 15,813)
#     default model, online_shopping       8,051    6,765    6,006
#     default model, sst2                 18,611   16,990   18,537
#     default model with a GRU, sst2      13,150   16,816   18,320
SERVE_CHUNK = 128


def export_metadata(config, label_set, vocabulary_size):
    """The JSON-ready description stored in and beside every export."""
    return {
        "schema_version": SCHEMA_VERSION,
        "textlstm_version": __version__,
        "config": config.to_dict(),
        "labels": label_set.to_dict(),
        "thresholds": [config.threshold_for(name) for name in label_set.classes],
        "vocabulary_size": vocabulary_size,
    }


def serving_chunk(model):
    """Texts per model call when serving ``model``: ``FUSED_MAX_BATCH`` if its LSTMs predict on the
    fused kernel, else ``SERVE_CHUNK``. Decided on the machine that exports, and fixed in the signature."""
    return FUSED_MAX_BATCH if predicts_fused(model) else SERVE_CHUNK


def serving_function(tokenizer, model, label_set, thresholds, chunk=None):
    """A tf.function: text (batch,) -> {probabilities, label, score[, attention]}.

    The model runs over the batch sorted by length, ``chunk`` texts per call (``run_by_length``;
    default ``serving_chunk(model)``).
    """
    if chunk is None:
        chunk = serving_chunk(model)
    network = with_attention(model)
    classes = tf.constant(list(label_set.classes))
    thresholds = tf.constant(thresholds, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        outputs = run_by_length(network, tokenizer.ragged_ids(text), chunk, len(label_set.classes))
        probabilities = outputs["probabilities"]  # (batch, classes)
        if label_set.multi_label:
            chosen = tf.ragged.boolean_mask(
                tf.broadcast_to(classes, tf.shape(probabilities)), probabilities >= thresholds
            )
            label = tf.strings.reduce_join(chosen, axis=1, separator=label_set.delimiter)
        else:
            label = tf.gather(classes, tf.argmax(probabilities, axis=1))
        return {**outputs, "label": label, "score": tf.reduce_max(probabilities, axis=1)}

    return serve, network


def run_by_length(network, ids, chunk, classes):
    """Run ``network`` over texts sorted by length, ``chunk`` texts per call, each padded to its own longest.

    In a batch of mixed lengths the short texts then stop where they end instead of running the
    recurrent loop to the longest text's length.

    Args:
        network: (batch, time) ids -> probabilities (batch, classes), or a dict that also holds
            ``attention`` (batch, time).
        ids: int64 RaggedTensor, shape (batch, None), every row at least one id.
        chunk: texts per call.
        classes: width of the probabilities.

    Returns:
        {"probabilities": (batch, classes)[, "attention": (batch, time)]} in the order of ``ids``;
        attention is padded with zeros to the batch's longest text.
    """
    lengths = ids.row_lengths()
    order = tf.argsort(lengths, stable=True)  # (batch,)
    ids = tf.gather(ids, order)
    width = tf.cast(tf.reduce_max(lengths), tf.int32)
    calls = (tf.size(order) + chunk - 1) // chunk
    names = ["probabilities", "attention"] if isinstance(network.output, dict) else ["probabilities"]
    shapes = {"probabilities": [None, classes], "attention": [None, None]}

    def body(index, parts):
        outputs = output_dict(network(ids[index * chunk : (index + 1) * chunk].to_tensor(), training=False))
        if "attention" in outputs:
            weights = outputs["attention"]  # (chunk, time of this chunk)
            outputs["attention"] = tf.pad(weights, [[0, 0], [0, width - tf.shape(weights)[1]]])
        return index + 1, [part.write(index, outputs[name]) for name, part in zip(names, parts)]

    parts = [
        tf.TensorArray(tf.float32, size=calls, infer_shape=False, element_shape=shapes[name]) for name in names
    ]
    _, parts = tf.while_loop(lambda index, _: index < calls, body, [tf.constant(0), parts])
    restore = tf.argsort(order)  # inverse permutation
    return {name: tf.gather(part.concat(), restore) for name, part in zip(names, parts)}


def write_export(path, tokenizer, model, config, label_set, force=False, files=None):
    """Write an export directory atomically: build it in a temporary sibling, then rename.

    Args:
        path: the export directory to create.
        tokenizer, model: a TextTokenizer and its ids -> probabilities model.
        config: the resolved Config.
        label_set: LabelSet of the model's output columns.
        force: replace an existing textlstm export at ``path``.
        files: extra {file name: str written as is, or a JSON-ready value} written beside (metrics,
            history, report).

    Raises:
        ExportError: ``path`` exists and ``force`` is false, or exists and is not a textlstm export.
    """
    path = Path(path)
    check_writable(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = export_metadata(config, label_set, len(tokenizer.vocabulary))
    text = json.dumps(metadata, indent=2, ensure_ascii=False)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    apply_umask(temporary, 0o777)
    try:
        serve, network = serving_function(tokenizer, model, label_set, metadata["thresholds"])

        @tf.function(input_signature=[])
        def describe():
            return {"textlstm_json": tf.constant(text)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def tokens(text):
            return {"tokens": tokenizer.tokens(text)}

        archive = keras.export.ExportArchive()
        archive.track(tokenizer)
        archive.track(network)
        archive.add_endpoint("serving_default", serve)
        archive.add_endpoint("metadata", describe)
        archive.add_endpoint("tokens", tokens)
        archive.write_out(str(temporary), verbose=False)
        (temporary / METADATA_FILE).write_text(text, encoding="utf-8")
        text_model(tokenizer, model).save(temporary / KERAS_FILE)
        for name, value in (files or {}).items():
            text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
            (temporary / name).write_text(text, encoding="utf-8")
        _replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def check_writable(path, force):
    """Raise ExportError unless an export may be written at ``path``: absent, with a directory to
    create it in, or a textlstm export and ``force``."""
    path = Path(path)
    if not path.exists():
        ancestor = nearest_existing(path)
        if not ancestor.is_dir():
            raise ExportError(f"{path}: cannot be created: {ancestor} is not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise ExportError(f"{path}: cannot be created: {ancestor} is not writable")
        return
    if not force:
        raise ExportError(f"{path}: already exists; pass --force to overwrite it")
    if not (path.is_dir() and ((path / METADATA_FILE).is_file() or not any(path.iterdir()))):
        raise ExportError(f"{path}: exists and is not a textlstm export; refusing to overwrite it")


def _replace(temporary, path):
    if not path.exists():
        temporary.rename(path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    path.rename(old / path.name)
    temporary.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def read_metadata(path):
    """The parsed ``textlstm.json`` of an export (or of a directory holding a model.keras).

    Raises:
        ExportError: no such directory or file; not JSON; a schema version this textlstm does not
            read; or a file that does not hold a valid config, labels and one threshold per class.
    """
    path = Path(path)
    if path.is_file():
        raise ExportError(f"{path}: a file, not an export directory (give the directory that holds it)")
    if not path.is_dir():
        raise ExportError(f"{path}: no such export directory")
    file = path / METADATA_FILE
    if not file.is_file():
        raise ExportError(f"{path}: not a textlstm export (no {METADATA_FILE})")
    try:
        metadata = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportError(f"{file}: not valid JSON ({error})") from None
    if not isinstance(metadata, dict):
        raise ExportError(f"{file}: expected a JSON object, got {type(metadata).__name__}")
    if metadata.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        raise ExportError(
            f"{file}: schema version {metadata.get('schema_version')!r}, this textlstm reads "
            + ", ".join(str(version) for version in READABLE_SCHEMA_VERSIONS[:-1])
            + f" and {READABLE_SCHEMA_VERSIONS[-1]}"
        )
    for key in ("config", "labels"):
        if not isinstance(metadata.get(key), dict):
            raise ExportError(f"{file}: '{key}' must be a JSON object")
    config = upgrade_config(metadata["config"], metadata["schema_version"])
    try:
        Config.from_dict(config)
    except (TypeError, ValueError) as error:
        raise ExportError(f"{file}: {error}") from None
    try:
        classes = LabelSet.from_dict(metadata["labels"]).classes
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{file}: labels: expected classes, multi_label and delimiter ({error!r})") from None
    thresholds = metadata.get("thresholds")
    if not (
        isinstance(thresholds, list)
        and len(thresholds) == len(classes)
        and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in thresholds)
    ):
        raise ExportError(f"{file}: 'thresholds' must be a list of {len(classes)} numbers, one per class")
    return {**metadata, "config": config}


def load_keras_model(path):
    """A ``model.keras`` written by textlstm -> (tokenizer, model, config, label_set).

    The config and labels come from ``textlstm.json`` in the same directory.
    """
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: a directory, not a model file (give the {KERAS_FILE} inside it)")
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    if not (path.parent / METADATA_FILE).is_file():
        raise ExportError(f"{path}: no {METADATA_FILE} beside it (textlstm writes both into an export directory)")
    metadata = read_metadata(path.parent)
    try:
        full = keras.saving.load_model(path)
    except (ValueError, OSError) as error:
        raise ExportError(f"{path}: not a Keras model file ({str(error).splitlines()[0]})") from None
    tokenizer, model = split_text_model(full)
    return tokenizer, model, Config.from_dict(metadata["config"]), LabelSet.from_dict(metadata["labels"])


class Predictor:
    """Predictions from an export directory, through its ``serving_default`` signature only.

    Args:
        path: an export directory written by textlstm.

    Attributes:
        classes_: label names, the columns of ``predict_proba``.
        config: the resolved Config the model was trained with.
        metadata: the parsed ``textlstm.json``.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        self.config = Config.from_dict(self.metadata["config"])
        self.label_set = LabelSet.from_dict(self.metadata["labels"])
        self.classes_ = np.array(self.label_set.classes)
        try:
            self._signature = tf.saved_model.load(str(self.path)).signatures["serving_default"]
        except (OSError, KeyError, ValueError) as error:
            raise ExportError(f"{self.path}: cannot load the SavedModel ({str(error).splitlines()[0]})") from None

    def __repr__(self):
        """``Predictor('my-model', classes=['neg', 'pos'])``."""
        return f"{type(self).__name__}({str(self.path)!r}, classes={self.classes_.tolist()!r})"

    def predict_outputs(self, texts, batch_size=PREDICT_BATCH):
        """Run the signature in batches. Returns {"probabilities" (n, classes), "label" (n,), "score" (n,)}.

        Raises:
            DataError: ``texts`` is one string, or holds something other than strings.
        """
        texts = as_texts(texts)
        parts = {"probabilities": [], "label": [], "score": []}
        for start in range(0, len(texts), batch_size):
            outputs = self._signature(text=tf.constant(texts[start : start + batch_size], dtype=tf.string))
            for name in parts:
                parts[name].append(outputs[name].numpy())
        if not texts:
            return {
                "probabilities": np.zeros((0, len(self.classes_)), np.float32),
                "label": np.array([], dtype=object),
                "score": np.zeros(0, np.float32),
            }
        result = {name: np.concatenate(values) for name, values in parts.items()}
        result["label"] = np.array([label.decode("utf-8") for label in result["label"]], dtype=object)
        return result

    def predict_proba(self, texts, batch_size=PREDICT_BATCH):
        """Probabilities, shape (n, classes), columns in ``classes_`` order."""
        return self.predict_outputs(texts, batch_size)["probabilities"]

    def predict_log_proba(self, texts, batch_size=PREDICT_BATCH):
        """Natural logarithms of ``predict_proba``, shape (n, classes), as ``TextClassifier`` gives them."""
        return log_probabilities(self.predict_proba(texts, batch_size))

    def predict(self, texts, batch_size=PREDICT_BATCH):
        """Predicted label strings, shape (n,)."""
        return self.predict_outputs(texts, batch_size)["label"]

    def evaluate(self, texts, labels, where=None, misclassified=None, against=None):
        """Metrics of the export's predictions on labelled texts (see ``evaluate_predictions``).

        Args:
            where: ``where(i)`` names example ``i`` in errors about labels unknown to the model,
                and in records.
            misclassified: None, or a list to which a record of each misclassified text is
                appended (``textlstm.evaluation.misclassified_texts``).
            against: None, or another model with the same classes, as ``TextClassifier.evaluate``
                takes it.
        """
        other = against and judge_of(against, self.classes_)(texts, labels, where)
        return evaluate_judged(self.label_set, self._judge(texts, labels, where), where, misclassified, other)

    def evaluate_file(self, path, options=None, batch_size=PREDICT_BATCH, skipped=None, misclassified=None, against=None):
        """``evaluate`` on a labelled file of any size, ``batch_size`` texts at a time (see
        ``textlstm.evaluation.evaluate_file``); records name the file and line, and hold the
        row's ``options.keep_columns`` as ``kept``."""
        other_judge = against and judge_of(against, self.classes_)
        return evaluate_file(self.label_set, self._judge, path, options, batch_size, skipped, misclassified, other_judge)

    def _judge(self, texts, labels, where=None, batch_size=PREDICT_BATCH):
        """(texts, true, probabilities, predicted), as ``TextClassifier._judge`` gives them."""
        texts = as_texts(texts)
        true = self.label_set.encode(list(labels), where)
        probabilities = self.predict_proba(texts, batch_size)
        return texts, true, probabilities, self.label_set.decide(probabilities, self.metadata["thresholds"])


def log_probabilities(probabilities):
    """Natural logarithms of probabilities (n, classes); one that rounded to 0 is -inf, as in scikit-learn."""
    with np.errstate(divide="ignore"):
        return np.log(probabilities)


def load(path):
    """Open an export directory for prediction: ``textlstm.load(DIR).predict(["some text"])``."""
    return Predictor(path)
