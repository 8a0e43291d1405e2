"""TextClassifier: a scikit-learn estimator over raw strings."""

import contextlib
import dataclasses
import logging

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score

from textlstm import streaming, training
from textlstm.config import CJK_PAIRS_SHARE, Config
from textlstm.data import Corpus
from textlstm.describe import describe_model
from textlstm.embeddings import align_vectors
from textlstm.errors import ConfigError, DataError, NotFittedError
from textlstm.evaluation import evaluate_file, evaluate_judged, evaluate_predictions, judge_of
from textlstm.export import PREDICT_BATCH, load_keras_model, log_probabilities, write_export
from textlstm.labels import LabelSet, split_labels
from textlstm.model import build_model, embedding_layers, fill_token_tables
from textlstm.splits import stratified_indices
from textlstm.text import TextTokenizer, as_texts, build_vocabulary, one_dimensional
from textlstm.wording import counted


class _RetracingWarnings(logging.Filter):
    """Drops TensorFlow's "... triggered tf.function retracing" warnings.

    Every fit builds a new model, whose functions (Keras's training and prediction steps, the
    validation pass, the n-gram counts) are traced anew: from the fifth fit in one process (a
    ``tune`` search, ``GridSearchCV``, a notebook) TensorFlow warned of it in a paragraph on stderr,
    but that is expected, not the mistake the warning suspects.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _without_retracing_warnings():
    """TensorFlow's logger drops its retracing warnings inside the block (and only there)."""
    logger, drop = tf.get_logger(), _RetracingWarnings()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class TextClassifier(ClassifierMixin, BaseEstimator):
    """An LSTM text classifier on raw strings.

    A scikit-learn estimator: its parameters are the Config fields (``get_params``, ``set_params``),
    so ``clone``, ``cross_val_score`` and ``GridSearchCV(TextClassifier(), {"units": [16, 32]})``
    work on lists of strings.

    Args:
        config: a Config; defaults to ``Config()``.
        **settings: Config fields overriding ``config``, e.g. ``TextClassifier(pooling="attention")``.

    Fitted attributes:
        classes_: the labels, shape (classes,): the columns of ``predict_proba`` and the values
            ``predict`` returns. Label names (str) in sorted order; where every training label was
            a number (or another non-string value, single-label), those values in the order of
            their names (``[0, 1, 10, 2]``), so that ``predict`` gives what ``fit`` was given. An
            export keeps the names.
        config_: the resolved Config (``max_length`` filled in from the data).
        tokenizer_: the TextTokenizer (raw strings -> ids (batch, time)).
        model_: the Keras model (ids (batch, time) -> probabilities (batch, classes)).
        history_: per-epoch training metrics and ``best_epoch``.
        validation_report_: metrics of the kept weights on the validation data.
        validation_texts_: the validation texts (None after ``fit_file``, which does not keep them).
        validation_targets_, validation_probabilities_: their indicator targets and predicted
            probabilities, both (n, classes).
        vocabulary_report_: vocabulary size and token-length percentiles of the training texts.
        pretrained_: AlignedVectors (matrix, found, coverage) when ``config.embeddings`` is set, else None.
        preparation_: what fit decided from the data (sizes, vocabulary, length, vectors), as printed.
    """

    def __init__(self, config=None, **settings):
        config = config if config is not None else Config()
        try:
            self.config = dataclasses.replace(config, **settings)
        except TypeError:
            known = {field.name for field in dataclasses.fields(Config)}
            unknown = sorted(set(settings) - known)
            raise ConfigError(unknown[0], "unknown setting") from None

    def get_params(self, deep=True):
        """The Config fields, {name: value}: scikit-learn's parameters of this estimator."""
        return {field.name: getattr(self.config, field.name) for field in dataclasses.fields(Config)}

    def set_params(self, **params):
        """Change Config fields (validated as ``Config`` validates them); returns self."""
        self.config = type(self)(self.config, **params).config
        return self

    def __sklearn_clone__(self):
        """An unfitted TextClassifier with the same Config (scikit-learn's ``clone``)."""
        return type(self)(self.config)

    def __repr__(self):
        """``TextClassifier(units=8, pooling='attention')``: the settings that differ from ``Config()``."""
        default = Config()
        changed = [
            f"{field.name}={getattr(self.config, field.name)!r}"
            for field in dataclasses.fields(Config)
            if getattr(self.config, field.name) != getattr(default, field.name)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    @_without_retracing_warnings()
    def fit(self, texts, labels, validation_data=None, verbose="auto", sample_weight=None, callbacks=None):
        """Learn the vocabulary, the labels and the weights.

        Args:
            texts: sequence of str.
            labels: sequence of str (several labels joined by ``config.label_delimiter`` or given as
                lists for multi-label).
            validation_data: ``(texts, labels)`` or a Corpus for early stopping; default: a stratified
                ``config.validation_split`` of the training data.
            verbose: Keras progress display ("auto", 0, 1 or 2).
            sample_weight: optional weight of each text's loss, shape (n,), finite and >= 0 (0 leaves
                a text out of the losses), as scikit-learn's ``sample_weight``: for the recurrent
                members and both n-gram regressions (with ``class_weight="balanced"``, times its
                class's weight). Validation (early stopping, C, the mix) weighs every text 1, and the
                vocabulary and idf count every training text.
            callbacks: Keras callbacks that Keras's ``fit`` runs beside textlstm's early stopping
                (``keras.callbacks.TensorBoard``, ``CSVLogger``...). With several members or the
                n-gram branch, Keras trains a view of the model with one output per member and the
                mix (``probabilities``), so their metrics are logged as ``probabilities_accuracy``,
                ``member1_probabilities_loss``, ... (``history_`` names the mix's plainly).

        Returns:
            self.
        """
        config = self.config
        texts, labels = texts_and_labels(texts, labels, config.task == "multi-label")
        weights = sample_weights(sample_weight, len(texts))
        training.set_seed(config.seed)
        label_set = LabelSet.fit(labels, config.task == "multi-label", config.label_delimiter)
        targets = label_set.encode(labels)
        if validation_data is None:
            train_rows, validation_rows = stratified_indices(labels, config.validation_split, config.seed)
            validation_texts = [texts[i] for i in validation_rows]
            validation_targets = targets[validation_rows]
            texts = [texts[i] for i in train_rows]
            targets = targets[train_rows]
            weights = None if weights is None else weights[train_rows]
        else:
            validation_texts, validation_targets = self._encode_validation(label_set, validation_data)
        report = build_vocabulary(texts, config.tokenizer, config.max_tokens, config.min_count, lowercase=config.lowercase)
        classes = given_classes(label_set, labels)
        summary = None if weights is None else (weights.min(), weights.max(), weights.mean(), int((weights == 0).sum()))
        self._prepare(report, label_set, classes, len(texts), f"{len(validation_texts)}", verbose, summary)
        self.validation_texts_ = validation_texts
        batch = self.config_.batch_size
        train = training.make_dataset(
            self.tokenizer_.ragged_ids(texts),
            targets,
            batch,
            shuffle_seed=config.seed,
            sort_window=config.sort_window,
            weights=weights,
        )
        validation_ids = self.tokenizer_.ragged_ids(validation_texts)
        order = length_order(validation_ids)  # each validation batch padded only to its own longest text
        validation = training.make_dataset(tf.gather(validation_ids, order), validation_targets[order], max(batch, 256))
        return self._train(train, validation, targets.sum(axis=0), verbose, callbacks, validation_order=order)

    @_without_retracing_warnings()
    def fit_file(self, path, options=None, validation_path=None, verbose="auto", callbacks=None):
        """Streaming fit for files larger than memory: lines are read lazily, epoch after epoch.

        One bounded-memory pass builds the vocabulary and the label set; without
        ``validation_path``, about ``config.validation_split`` of the rows (chosen by a hash of the
        seed and the line) validate. See ``textlstm.streaming``.

        Args:
            path: a labelled file in any format ``textlstm.data`` reads.
            options: its ReadOptions (validation_path is read with the same options). With a
                ``weight_column``, each training text's loss is scaled by its weight, as by
                ``fit``'s ``sample_weight``; validation rows are not weighted.
            validation_path: a labelled file for early stopping.
            callbacks: Keras callbacks, as for ``fit``.

        Returns:
            self.
        """
        config = self.config
        training.set_seed(config.seed)
        fraction = None if validation_path else config.validation_split
        scanned = streaming.scan(path, options, config, fraction)
        unweighted = dataclasses.replace(options, weight_column=None) if options else None
        if fraction:
            validation_rows, described = scanned.validation_rows, f"{scanned.validation_rows} (hash-chosen rows)"
        else:
            validation_rows = streaming.check_rows(validation_path, unweighted, scanned.label_set)
            described = f"{validation_rows} ({validation_path})"
        classes = np.array(scanned.label_set.classes)  # a file's labels are names
        self._prepare(scanned.vocabulary, scanned.label_set, classes, scanned.train_rows, described, verbose, scanned.weights)
        self.validation_texts_ = None
        batch, seed = self.config_.batch_size, config.seed
        errors = streaming.ReadingErrors()
        common = dict(tokenizer=self.tokenizer_, label_set=scanned.label_set, seed=seed, fraction=fraction, errors=errors)
        train = streaming.stream_dataset(
            path, options, batch_size=batch, part="train" if fraction else "all", rows=scanned.train_rows, shuffle=True, **common
        )
        validation = streaming.stream_dataset(
            validation_path or path,
            unweighted,
            batch_size=max(batch, 256),
            part="validation" if fraction else "all",
            rows=validation_rows,
            **common,
        )
        with errors:
            return self._train(train, validation, scanned.class_counts, verbose, callbacks)

    def _prepare(self, report, label_set, classes, train_count, validation, verbose, weights=None):
        """Resolve the config from the data, build tokenizer and model, and say what was decided.

        Args:
            classes: the fitted ``classes_``, shape (classes,), in ``label_set.classes`` order.
            weights: (lowest, highest, mean, how many are 0) of the training texts' weights, or None.
        """
        config = self.config
        config.check_labels(label_set.classes)
        self.config_ = config.resolve_training(train_count).replace(
            max_length=report.resolve_max_length(config.max_length, config.max_length_cap),
            cjk_pairs=config.resolve_cjk_pairs(report.cjk_share),
        )
        self.tokenizer_ = TextTokenizer(config.tokenizer, report.vocabulary, self.config_.tokenizer_length(), config.lowercase)
        self.label_set_ = label_set
        self.classes_ = classes
        self.vocabulary_report_ = report
        self.pretrained_ = None
        if config.embeddings:
            self.pretrained_ = align_vectors(config.embeddings, self.tokenizer_.vocabulary, config.seed)
            self.config_ = self.config_.replace(embedding_dim=self.pretrained_.matrix.shape[1])
        self.model_ = build_model(self.config_, len(self.tokenizer_.vocabulary), len(label_set.classes))
        fill_token_tables(self.model_, self.tokenizer_.vocabulary, self.config_)
        if self.pretrained_ is not None:
            for layer in embedding_layers(self.model_):
                layer.embeddings.assign(self.pretrained_.matrix)
        self.preparation_ = self._describe_preparation(train_count, validation, weights)
        if verbose != 0:
            print(self.preparation_, flush=True)

    def _train(self, train, validation, class_counts, verbose, callbacks, validation_order=None):
        """Fit on the datasets, then measure the kept weights on the validation dataset.

        Args:
            validation_order: the validation texts' row numbers in the order ``validation`` yields
                them, to give the validation targets and probabilities in the texts' own order;
                None when it is that order.
        """
        class_weight = self._class_weight(class_counts)
        self.history_ = training.fit(self.model_, train, validation, self.config_, class_weight, verbose, callbacks or ())
        if "ngram_fit" in self.history_:  # the C kept, when it was chosen on the validation texts
            self.config_ = self.config_.replace(ngram_c=self.history_["ngram_fit"]["c"])
        true, probabilities = training.predict_dataset(self.model_, validation)
        if validation_order is not None:
            true, probabilities = unsort(true, validation_order), unsort(probabilities, validation_order)
        self.validation_targets_, self.validation_probabilities_ = true, probabilities
        predicted = self.label_set_.decide(probabilities, self.thresholds_)
        self.validation_report_ = evaluate_predictions(self.label_set_, true, predicted)
        return self

    def _class_weight(self, class_counts):
        """``config.class_weight`` as {class index: weight} for Keras and scikit-learn, or None.

        Args:
            class_counts: training texts per class, shape (classes,), for "balanced".
        """
        weights = self.config_.class_weight
        if weights == "none":
            return None
        if weights == "balanced":
            return training.balanced_class_weight(class_counts)
        given = dict(self.config_.class_weight_pairs())
        return {index: given.get(name, 1.0) for index, name in enumerate(self.label_set_.classes)}

    def _describe_preparation(self, train_count, validation, weights):
        """What fit decided from the data, as printed before training (verbose fits)."""
        report, config = self.vocabulary_report_, self.config_
        lengths = report.length_percentiles
        source = "set by max_length" if self.config.max_length else f"95th percentile, cap {config.max_length_cap}"
        return "\n".join(
            [
                f"Texts: {train_count} for training, {validation} for validation; "
                f"{len(self.classes_)} classes ({config.task})",
                *([_describe_weights(*weights)] if weights is not None else []),
                f"Vocabulary: {len(self.tokenizer_.vocabulary)} ids ({report.distinct_tokens} distinct "
                f"{config.tokenizer}-mode tokens seen, {'lower-cased' if config.lowercase else 'case kept'}, "
                f"min count {config.min_count}, max tokens {config.max_tokens})",
                f"Sequence length: {config.max_length} tokens ({source}; training texts: median {lengths[50]}, "
                f"95th percentile {lengths[95]}, longest {lengths[100]})"
                + (f"; the n-gram branch reads up to {config.tokenizer_length()}" if config.tokenizer_length() > config.max_length else ""),
                _describe_parameters(describe_model(self.model_)),
                f"Training: batch size {config.batch_size}, epochs at most {config.epochs}, learning rate "
                f"{config.learning_rate:g}" + _automatic(self.config.automatic_training()),
            ]
            + ([self._describe_cjk_pairs()] if config.cjk_pairs or report.cjk_share else [])
            + (
                [
                    f"Pretrained vectors: {self.pretrained_.found} of {self.pretrained_.searched} vocabulary words "
                    f"({self.pretrained_.coverage:.1%}) found in {config.embeddings}; dimension "
                    f"{config.embedding_dim}; {'fine-tuned' if config.train_embeddings else 'frozen'}"
                ]
                if self.pretrained_ is not None
                else []
            )
        )

    def _describe_cjk_pairs(self):
        """The CJK pair embedding line: its buckets (or none), and why."""
        share, given = self.vocabulary_report_.cjk_share, self.config.cjk_pairs is not None
        pairs = self.config_.cjk_pairs
        built = f"{pairs:,} buckets, embedded in each member" if pairs else "none"
        reason = "set by cjk_pairs" if given else f"automatic: {'at least' if pairs else 'under'} {CJK_PAIRS_SHARE:.0%}"
        return f"CJK character pairs: {built} ({share:.1%} of training tokens are CJK characters; {reason})"

    @staticmethod
    def _encode_validation(label_set, validation_data):
        if isinstance(validation_data, Corpus):
            return as_texts(validation_data.texts), label_set.encode(validation_data.labels, validation_data.where)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            sized = isinstance(validation_data, (tuple, list))
            got = counted(len(validation_data), "item") if sized else f"a {type(validation_data).__name__}"
            weights = "; validation texts are not weighted" if sized and len(validation_data) == 3 else ""
            raise DataError(f"validation_data: expected (texts, labels) or a Corpus, got {got}{weights}")
        try:
            texts, labels = texts_and_labels(*validation_data, label_set.multi_label)
        except DataError as error:
            raise DataError(f"validation_data: {error}") from None
        return texts, label_set.encode(labels, lambda i: f"validation example {i}")

    @property
    def thresholds_(self):
        """Decision threshold of each class (multi-label), shape (classes,)."""
        self._check_fitted()
        return np.array([self.config_.threshold_for(name) for name in self.label_set_.classes], dtype=np.float32)

    @_without_retracing_warnings()
    def predict_proba(self, texts, batch_size=PREDICT_BATCH):
        """Probabilities, shape (n, classes), columns in ``classes_`` order."""
        self._check_fitted()
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        ids = self.tokenizer_.ragged_ids(texts)
        order = length_order(ids)  # batch texts of similar length
        dataset = training.make_dataset(tf.gather(ids, order), batch_size=batch_size)
        run = training.predict_function(self.model_)
        return unsort(np.concatenate([run(batch).numpy() for batch in dataset]), order)

    def predict_log_proba(self, texts, batch_size=PREDICT_BATCH):
        """Natural logarithms of ``predict_proba``, shape (n, classes), as scikit-learn classifiers give."""
        return log_probabilities(self.predict_proba(texts, batch_size))

    def predict(self, texts, batch_size=PREDICT_BATCH):
        """Predicted labels, shape (n,): values of ``classes_``; multi-label predictions joined by the delimiter."""
        self._check_fitted()
        decided = self.label_set_.decide(self.predict_proba(texts, batch_size), self.thresholds_)
        if self.classes_.dtype.kind not in "US":  # labels given as numbers (single-label)
            return self.classes_[decided.argmax(axis=1)]
        return np.array(self.label_set_.decode(decided), dtype=object)

    def evaluate(self, texts, labels, where=None, misclassified=None, against=None):
        """Metrics (accuracy, macro-F1, per class, confusion matrix) of predictions on labelled texts.

        Args:
            where: ``where(i)`` names example ``i`` in errors about unknown labels, and in records.
            misclassified: None, or a list to which a record of each misclassified text is
                appended (``textlstm.evaluation.misclassified_texts``: where, text, label,
                predicted, score, loss).
            against: None, or another model with the same classes (a fitted TextClassifier or a
                loaded export): the report's ``against`` then holds its report and the paired
                differences (``textlstm.evaluation.against_report``).
        """
        other = against and judge_of(against, self.classes_)(texts, labels, where)
        return evaluate_judged(self.label_set_, self._judge(texts, labels, where), where, misclassified, other)

    def evaluate_file(self, path, options=None, batch_size=PREDICT_BATCH, skipped=None, misclassified=None, against=None):
        """``evaluate`` on a labelled file of any size, ``batch_size`` texts at a time (see
        ``textlstm.evaluation.evaluate_file``); records name the file and line, and hold the
        row's ``options.keep_columns`` as ``kept``."""
        other_judge = against and judge_of(against, self.classes_)
        return evaluate_file(self.label_set_, self._judge, path, options, batch_size, skipped, misclassified, other_judge)

    def score(self, texts, labels, sample_weight=None):
        """Accuracy (exact match for multi-label), as scikit-learn classifiers define ``score``;
        with ``sample_weight`` (n,), the weighted share of texts predicted right."""
        if sample_weight is None:
            return self.evaluate(texts, labels)["accuracy"]
        _, true, _, predicted = self._judge(texts, labels)
        weights = sample_weights(sample_weight, len(true))
        return float(accuracy_score(true.astype(bool), predicted.astype(bool), sample_weight=weights))

    def _judge(self, texts, labels, where=None, batch_size=PREDICT_BATCH):
        """(texts, true, probabilities, predicted): the texts as str, the labels given and the
        predicted ones as indicators (n, classes), and the probabilities (n, classes)."""
        self._check_fitted()
        texts, labels = texts_and_labels(texts, labels, self.label_set_.multi_label)
        true = self.label_set_.encode(labels, where)
        probabilities = self.predict_proba(texts, batch_size)
        return texts, true, probabilities, self.label_set_.decide(probabilities, self.thresholds_)

    def export(self, path, force=False, files=None):
        """Write the export directory (SavedModel + textlstm.json + model.keras); see ``textlstm.export``."""
        self._check_fitted()
        return write_export(path, self.tokenizer_, self.model_, self.config_, self.label_set_, force, files)

    @classmethod
    def from_keras(cls, path):
        """A fitted classifier from a ``model.keras`` that textlstm wrote (``textlstm.json`` beside it)."""
        tokenizer, model, config, label_set = load_keras_model(path)
        classifier = cls(config)
        classifier.config_ = config
        classifier.tokenizer_ = tokenizer
        classifier.model_ = model
        classifier.label_set_ = label_set
        classifier.classes_ = np.array(label_set.classes)
        return classifier

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("This TextClassifier is not fitted yet; call fit(texts, labels) first.")


def given_classes(label_set, labels):
    """The classes as ``labels`` gave them, shape (classes,), in ``label_set.classes`` order.

    Label names (str) unless every label is a single non-string value (ints from a NumPy array,
    say); then each name's value (``"7"`` -> ``7``), so that predictions compare equal to them.
    """
    if label_set.multi_label or any(isinstance(value, (str, list, tuple)) for value in labels):
        return np.array(label_set.classes)
    given = {}
    for value in labels:
        given.setdefault(split_labels(value, False, label_set.delimiter)[0], value)
    return np.array([given[name] for name in label_set.classes])


def texts_and_labels(texts, labels, multi_label):
    """(list of str, list of labels) of equal length, no label missing; else DataError.

    A label is missing where it is None or NaN (pandas' and NumPy's empty cells), or, single-label,
    a blank string: each would otherwise become a class of its own ('None', 'nan', ''). A blank
    multi-label value is a text with none of the labels.
    """
    texts = as_texts(texts)
    one_dimensional("labels", labels, "a sequence with one label (multi-label: one list of labels) a text")
    labels = list(labels)
    if len(labels) != len(texts):
        raise DataError(f"{counted(len(texts), 'text')} but {counted(len(labels), 'label')}")
    for index, value in enumerate(labels):
        blank = isinstance(value, str) and not value.strip() and not multi_label
        if value is None or blank or (isinstance(value, (float, np.floating)) and np.isnan(value)):
            raise DataError(f"labels[{index}]: no label ({value!r})")
    return texts, labels


def sample_weights(sample_weight, count):
    """``sample_weight`` as float64 (count,), or None when it is None; else DataError.

    Each weight must be finite and >= 0, and some weight above 0.
    """
    if sample_weight is None:
        return None
    one_dimensional("sample_weight", sample_weight, "one weight a text")
    try:
        weights = np.asarray(list(sample_weight), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("sample_weight: expected numbers") from None
    if len(weights) != count:
        raise DataError(f"sample_weight: {counted(len(weights), 'weight')} for {counted(count, 'text')}")
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if len(bad):
        raise DataError(f"sample_weight[{bad[0]}]: expected a finite weight >= 0, got {float(weights[bad[0]])!r}")
    if count and not weights.any():
        raise DataError("sample_weight: every weight is 0")
    return weights


def length_order(ids):
    """Row numbers of ``ids`` (int64 RaggedTensor, (n, None)), shortest row first (stable), shape (n,)."""
    return np.argsort(ids.row_lengths().numpy(), kind="stable")


def unsort(rows, order):
    """``rows`` (n, ...), whose row k is row ``order[k]`` of some list, in that list's order."""
    restored = np.empty_like(rows)
    restored[order] = rows
    return restored


def _automatic(names):
    """' (batch size and epochs automatic for this many training texts)' for the settings left automatic."""
    if not names:
        return ""
    shown = [name.replace("_", " ") for name in names]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f" ({listed} automatic for this many training texts)"


def _describe_weights(lowest, highest, mean, zeros):
    """The training texts' weights: their range and mean, and how many weigh 0."""
    if lowest == highest:
        return f"Weights: all {lowest:g}"
    left_out = f"; {counted(zeros, 'text')} of weight 0 left out of training" if zeros else ""
    return f"Weights: {lowest:g} to {highest:g}, mean {mean:.3g}{left_out}"


def _describe_parameters(description):
    """'Model: N parameters', with Keras's own count where members' weights are held at 0 between blocks."""
    held = description.held_at_zero
    if not held:
        return f"Model: {description.total:,} parameters"
    keras_count = sum(row.keras_parameters for row in description.rows)
    return (
        f"Model: {description.total:,} parameters (Keras counts {keras_count:,}: "
        f"also the {held:,} weights held at 0 between members)"
    )
