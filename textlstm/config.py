"""One typed, frozen configuration for tokenizer, model, task and training.

Every field has a default, a help text (the CLI turns each field into an option) and is validated
once, in ``__post_init__``. The resolved configuration is saved as JSON beside every model.
"""

import collections.abc
import dataclasses
import json
import math
import numbers
import tomllib
import typing
from pathlib import Path

from textlstm.errors import ConfigError

# 2: the n-gram branch became a TF-IDF logistic regression (ngram_c and char_ngrams in place of
# ngram_learning_rate); exports of version 1 hold the earlier branch.
# 3: ``lowercase`` (default false: tokens keep their case); version 2 always lower-cased, and
# ``upgrade_config`` reads it as ``lowercase = true``.
# 4: ``cjk_pairs`` (embedded pairs of adjacent CJK characters); earlier exports have none (0).
# 5: ``naive_bayes`` (a naive-Bayes regression in the n-gram branch) and ``ngram_max_length`` (the
# n-gram branch reads more tokens than the members); earlier exports have neither: their n-gram
# branch reads ``max_length`` tokens.
# 6: ``branch_mix`` (the branches' probabilities mixed as log-probabilities); earlier exports mixed
# them linearly.
SCHEMA_VERSION = 6
READABLE_SCHEMA_VERSIONS = (2, 3, 4, 5, 6)
# Hash buckets of the automatic ``cjk_pairs``, taken when at least CJK_PAIRS_SHARE of the training
# texts' tokens are CJK characters.
CJK_PAIR_BUCKETS = 2**16
CJK_PAIRS_SHARE = 0.5
# The training settings that are automatic when None, and their values by data size: (training
# texts at least, (batch size, epochs, learning rate)), largest first. Large data sets take bigger
# steps, at a learning rate about sqrt(256 / 32) times the small-data one, and fewer passes.
AUTOMATIC_FIELDS = ("batch_size", "epochs", "learning_rate")
AUTOMATIC_TRAINING = ((50_000, (256, 4, 3e-3)), (20_000, (64, 20, 1e-3)), (0, (32, 20, 1e-3)))
# A multi-label model predicts each label whose probability is at least its threshold.
DEFAULT_THRESHOLD = 0.5


def _by_data_size(name):
    """How the automatic value of ``name`` follows the data size, for its help text:
    "32, or 64 from 20,000 training texts, or 256 from 50,000 training texts"."""
    index = AUTOMATIC_FIELDS.index(name)
    rows = [(least, values[index]) for least, values in reversed(AUTOMATIC_TRAINING)]
    text, previous = f"{rows[0][1]:g}", rows[0][1]
    for least, value in rows[1:]:
        if value != previous:
            text += f", or {value:g} from {least:,} training texts"
        previous = value
    return text

Tokenizer = typing.Literal["auto", "word", "char"]
Encoder = typing.Literal["lstm", "gru"]
Pooling = typing.Literal["last", "max", "mean", "attention", "max+mean"]
Task = typing.Literal["single-label", "multi-label"]
EarlyStoppingMetric = typing.Literal["macro_f1", "loss"]
ClassWeight = typing.Literal["none", "balanced"]
Precision = typing.Literal["float32", "mixed_float16", "mixed_bfloat16"]
BranchMixing = typing.Literal["log", "linear"]


def _field(default, help, shown=None):
    """A setting with its help text; ``shown`` is how --help and the README show the default."""
    return dataclasses.field(default=default, metadata={"help": help, "shown": shown})


def shown_default(field):
    """The default of a Config field as the CLI and README show it."""
    if field.metadata.get("shown"):
        return field.metadata["shown"]
    if field.default is None:
        return "automatic"
    if isinstance(field.default, bool):
        return str(field.default).lower()
    return "none" if field.default == () else str(field.default)


@dataclasses.dataclass(frozen=True)
class Config:
    """All settings of a textlstm classifier. Build with keywords; invalid values raise ConfigError."""

    # Text -> token ids.
    tokenizer: Tokenizer = _field(
        "auto",
        "auto: CJK characters are tokens and other text is split into words; word: words without "
        "punctuation; char: every non-space character is a token.",
    )
    lowercase: bool = _field(
        False,
        "Lower-case texts before tokenizing. By default tokens keep their case, so 'Who' opening a "
        "question and 'US' the country are not 'who' and 'us'.",
    )
    max_tokens: int = _field(20000, "Largest vocabulary, counting the padding and out-of-vocabulary ids.")
    min_count: int = _field(1, "Keep only tokens seen at least this many times in the training texts.")
    max_length: typing.Optional[int] = _field(
        None,
        "Tokens kept per text (longer texts are truncated at the end). Default: the 95th percentile "
        "of training lengths, at most --max-length-cap.",
    )
    max_length_cap: int = _field(256, "Upper bound for the automatic --max-length.")
    ngram_max_length: int = _field(
        4096,
        "Tokens of each text the n-gram branch reads (longer texts are truncated at the end); the "
        "recurrent members read the first --max-length of them.",
    )
    # Model.
    embedding_dim: int = _field(
        32,
        "Size of each token's embedding vector (features per time step), per member; set by --embeddings when given.",
    )
    embeddings: typing.Optional[str] = _field(
        None,
        "Pretrained word vectors to start from: word2vec/GloVe/fastText text (.vec, .txt, with or without "
        "a header line) or word2vec binary.",
        shown="none (random start)",
    )
    train_embeddings: bool = _field(True, "Fine-tune the embeddings; --no-train-embeddings keeps pretrained ones frozen.")
    encoder: Encoder = _field("lstm", "Recurrent layer type.")
    num_layers: int = _field(1, "Number of stacked recurrent layers.")
    units: int = _field(16, "Hidden size of each recurrent layer (per direction), per member.")
    bidirectional: bool = _field(True, "Run each recurrent layer forwards and backwards and concatenate.")
    members: int = _field(
        3,
        "Recurrent members: embedding -> RNN -> pooling -> dense stacks, each with its own random start, "
        "trained side by side and each early-stopped on its own; the recurrent branch averages their "
        "probabilities (an ensemble inside one model). They share each RNN layer as block-diagonal "
        "weights, so all run in one loop over time.",
    )
    cjk_pairs: typing.Optional[int] = _field(
        None,
        "Hash buckets of a second embedding in each member, of each pair of adjacent CJK characters, added "
        "to the second character's vector (the tokenizer makes every CJK character a token; most Chinese "
        f"words are two characters). 0: none. Default: {CJK_PAIR_BUCKETS} when at least "
        f"{CJK_PAIRS_SHARE:.0%} of the training tokens are CJK characters, else 0.",
    )
    dropout: float = _field(0.3, "Dropout rate on embeddings, between recurrent layers and before the output.")
    pooling: Pooling = _field(
        "max",
        "How the (batch, time, features) sequence becomes one vector per text: the final state, a "
        "masked max or mean over time, additive attention, or max and mean concatenated.",
    )
    attention_units: int = _field(64, "Hidden size of the additive attention scorer (pooling=attention).")
    ngrams: int = _field(
        2,
        "Longest n-gram of the n-gram branch, a logistic regression (fitted by scikit-learn) over TF-IDF "
        "vectors of each text's tokens and hashed 2..N-grams and of its words' character n-grams (with "
        "--naive-bayes, mixed with a second one over the same tokens and n-grams), whose probabilities "
        "are averaged with the recurrent branch's. 1 turns the branch off.",
    )
    ngram_buckets: int = _field(
        2**18, "Hash buckets for the 2..N-grams and for the character n-grams of the n-gram branch (weights: buckets x classes)."
    )
    char_ngrams: int = _field(
        5,
        "Longest character n-gram (from 2) of each vocabulary word in the n-gram branch, read as "
        "' word ' (scikit-learn's char_wb analyzer); words of one character have none. 1 leaves them out.",
    )
    naive_bayes: bool = _field(
        True,
        "Add a second regression to the n-gram branch, over which tokens and 2..N-grams each text holds, "
        "each scaled by its naive-Bayes log-count ratio for the class (NBSVM's features; one binary "
        "logistic regression per class). The branch mixes it with the TF-IDF regression by validation "
        "loss. --no-naive-bayes leaves it out.",
    )
    branch_mix: BranchMixing = _field(
        "log",
        "How the output mixes the recurrent and n-gram branches' probabilities, and the n-gram branch "
        "its two regressions', with a weight w chosen by validation loss: log: the normalized weighted "
        "geometric mean, softmax(w log p1 + (1 - w) log p2) (for multi-label, each label's log-odds "
        "mixed so); linear: w p1 + (1 - w) p2.",
    )
    # Task.
    task: Task = _field("single-label", "single-label: one class per text (softmax); multi-label: any number (sigmoid).")
    label_delimiter: str = _field("|", "Separates labels of one text in the label column (multi-label).")
    threshold: float = _field(DEFAULT_THRESHOLD, "Probability at or above which a label is predicted (multi-label).")
    label_thresholds: typing.Tuple[typing.Tuple[str, float], ...] = _field(
        (), "Per-label thresholds overriding --threshold, as LABEL=VALUE (multi-label)."
    )
    # Training.
    epochs: typing.Optional[int] = _field(
        None, f"Maximum number of passes over the training data. Default: {_by_data_size('epochs')}."
    )
    batch_size: typing.Optional[int] = _field(
        None,
        f"Texts per training step. Default: {_by_data_size('batch_size')} (larger data sets need fewer, bigger steps).",
    )
    sort_window: int = _field(
        16,
        "Each epoch, the shuffled training texts are taken this many batches at a time, sorted by "
        "length and cut into batches (less padding to compute); 1 keeps batches random.",
    )
    learning_rate: typing.Optional[float] = _field(
        None, f"Adam learning rate. Default: {_by_data_size('learning_rate')} (with their bigger steps)."
    )
    ngram_c: typing.Optional[float] = _field(
        None,
        "Inverse L2 regularization strength of the n-gram branch's TF-IDF logistic regression (scikit-learn's C). "
        "Default: of 1, 10 and 100, the one with the lowest cross-entropy on the validation texts (fitted "
        "in that order until the loss rises).",
    )
    clipnorm: float = _field(1.0, "Clip each gradient to this L2 norm.")
    precision: Precision = _field(
        "float32",
        "Compute dtype of the recurrent branch: mixed_float16 (with loss scaling) or mixed_bfloat16 "
        "compute in 16 bits over float32 weights, for GPUs with tensor cores; the n-gram branch and "
        "the probabilities stay float32. On CPU, 16-bit compute is slower and the fused LSTM kernel "
        "(float32 only) is not used.",
    )
    early_stopping: EarlyStoppingMetric = _field(
        "macro_f1", "Validation metric that early stopping watches; the best epoch's weights are kept."
    )
    patience: int = _field(3, "Epochs without improvement before training stops.")
    validation_split: float = _field(
        0.1, "Fraction of the training data held out (stratified) when no validation data is given."
    )
    class_weight: typing.Union[ClassWeight, typing.Tuple[typing.Tuple[str, float], ...]] = _field(
        "none",
        "balanced: weight classes inversely to their frequency; or LABEL=WEIGHT, repeated, for weights of "
        "your own (a class not named weighs 1). Single-label.",
    )
    seed: int = _field(42, "Seed for weights, shuffling and the validation split; same seed, same CPU metrics.")

    def __post_init__(self):
        # Accept {label: value}, pairs or "LABEL=VALUE" strings; store sorted pairs.
        object.__setattr__(self, "label_thresholds", parse_label_values(self.label_thresholds, "label_thresholds"))
        object.__setattr__(self, "class_weight", parse_class_weight(self.class_weight))
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _plain(getattr(self, field.name)))
            _check_type(field, getattr(self, field.name))
        _at_least("max_tokens", self.max_tokens, 3)
        _at_least("min_count", self.min_count, 1)
        if self.max_length is not None:
            _at_least("max_length", self.max_length, 1)
        if self.cjk_pairs is not None:
            _at_least("cjk_pairs", self.cjk_pairs, 0)
        _at_least("max_length_cap", self.max_length_cap, 1)
        _at_least("ngram_max_length", self.ngram_max_length, 1)
        for name in ("embedding_dim", "num_layers", "units", "members", "attention_units", "ngrams", "ngram_buckets", "char_ngrams", "sort_window"):
            _at_least(name, getattr(self, name), 1)
        for name in ("epochs", "batch_size"):
            if getattr(self, name) is not None:
                _at_least(name, getattr(self, name), 1)
        _at_least("patience", self.patience, 0)
        _in_range("dropout", self.dropout, 0.0, 1.0, closed_high=False)
        _in_range("threshold", self.threshold, 0.0, 1.0)
        _in_range("validation_split", self.validation_split, 0.0, 1.0, closed_low=False, closed_high=False)
        for name in ("learning_rate", "ngram_c", "clipnorm"):
            if getattr(self, name) is not None and not _positive(getattr(self, name)):
                raise ConfigError(name, f"expected a number > 0, got {getattr(self, name)!r}")
        if not self.label_delimiter or self.label_delimiter.isspace():
            raise ConfigError("label_delimiter", f"expected a non-blank string, got {self.label_delimiter!r}")
        if self.class_weight != "none" and self.task == "multi-label":
            given = "'balanced' applies" if self.class_weight == "balanced" else "weights of classes apply"
            raise ConfigError("class_weight", f"{given} to single-label tasks only")
        for label, value in self.class_weight_pairs():
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError("class_weight", f"expected the weight of {label!r} to be a finite number >= 0, got {value!r}")
        for label, value in self.label_thresholds:
            _in_range("label_thresholds", value, 0.0, 1.0, what=f"threshold of {label!r}")

    def replace(self, **changes):
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain JSON-ready values (tuples become lists)."""
        values = dataclasses.asdict(self)
        values["label_thresholds"] = {label: value for label, value in self.label_thresholds}
        if self.class_weight_pairs():
            values["class_weight"] = dict(self.class_weight_pairs())
        return values

    @classmethod
    def from_dict(cls, values, source="config"):
        """Build from ``to_dict`` output or a TOML table; unknown keys and invalid values raise
        ConfigError naming ``source``."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting in {source}")
        try:
            return cls(**values)
        except ConfigError as error:
            raise ConfigError(error.field, f"{error.message} in {source}") from None

    @classmethod
    def from_toml(cls, path):
        """Read a flat TOML file of settings, e.g. ``units = 128``."""
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config", f"{path}: no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError("config", f"{path}: not valid TOML ({error})") from None
        return cls.from_dict(values, source=str(path))

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def resolve_training(self, train_count):
        """A copy whose batch_size, epochs and learning_rate that are None (automatic) are set for
        ``train_count`` training texts from AUTOMATIC_TRAINING; values given are kept."""
        values = next(values for least, values in AUTOMATIC_TRAINING if train_count >= least)
        automatic = dict(zip(AUTOMATIC_FIELDS, values))
        return self.replace(**{name: automatic[name] for name in self.automatic_training()})

    def tokenizer_length(self):
        """Tokens the tokenizer keeps per text: what the n-gram branch reads (``ngram_max_length``)
        when there is one and it reads more, else ``max_length`` (resolved)."""
        return max(self.max_length, self.ngram_max_length) if self.ngrams > 1 else self.max_length

    def resolve_cjk_pairs(self, cjk_share):
        """``cjk_pairs`` if set, else CJK_PAIR_BUCKETS when ``cjk_share`` (of the training tokens,
        those that are CJK characters) is at least CJK_PAIRS_SHARE, else 0."""
        if self.cjk_pairs is not None:
            return self.cjk_pairs
        return CJK_PAIR_BUCKETS if cjk_share >= CJK_PAIRS_SHARE else 0

    def automatic_training(self):
        """The names of AUTOMATIC_FIELDS left automatic (None) in this config."""
        return [name for name in AUTOMATIC_FIELDS if getattr(self, name) is None]

    def threshold_for(self, label):
        """The multi-label decision threshold of ``label``."""
        return dict(self.label_thresholds).get(label, self.threshold)

    def class_weight_pairs(self):
        """The weights of classes of ``class_weight``, ((label, weight), ...); () for none or balanced."""
        return () if isinstance(self.class_weight, str) else self.class_weight

    def check_labels(self, classes):
        """Raise ConfigError unless the settings that name labels apply to a fit of ``classes`` (the
        label names): only a multi-label task has thresholds, and each label that
        ``label_thresholds`` or ``class_weight`` names must be a class.

        Checked when training starts, not in ``__post_init__``: an export's config from before this
        check may hold a threshold its single-label model never used.
        """
        if self.task == "single-label" and (self.label_thresholds or self.threshold != DEFAULT_THRESHOLD):
            raise ConfigError(
                "label_thresholds" if self.label_thresholds else "threshold",
                "applies to task multi-label only (a single-label model predicts its most probable class)",
            )
        for field, pairs in (("label_thresholds", self.label_thresholds), ("class_weight", self.class_weight_pairs())):
            unknown = [label for label, _ in pairs if label not in classes]
            if unknown:
                raise ConfigError(field, f"no label {unknown[0]!r} in the training data (labels: {', '.join(classes)})")


def upgrade_config(values, schema_version):
    """The config dict of an export of ``schema_version`` (one of READABLE_SCHEMA_VERSIONS; 1 had
    another n-gram branch) as this version reads it: version 2 lower-cased every text, versions
    before 4 have no CJK character pairs and versions before 5 no naive-Bayes regression, and
    their n-gram branch reads the ``max_length`` tokens the members read; versions before 6 mix
    the branches linearly."""
    upgraded = {**values, "lowercase": True} if schema_version == 2 else dict(values)
    if schema_version < 4:
        upgraded["cjk_pairs"] = 0
    if schema_version < 5:
        upgraded["naive_bayes"] = False
        if isinstance(values.get("max_length"), int):
            upgraded["ngram_max_length"] = values["max_length"]
    if schema_version < 6:
        upgraded["branch_mix"] = "linear"
    return upgraded


def parse_label_values(value, field):
    """``{"a": 0.3}``, ``[("a", 0.3)]`` or ``["a=0.3"]`` -> ``(("a", 0.3),)``, sorted by label;
    ConfigError naming ``field`` otherwise."""
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
        raise ConfigError(field, f"expected LABEL=VALUE pairs or {{label: value}}, got {value!r}")
    else:
        pairs = []
        for item in value:
            if isinstance(item, str):
                label, sep, number = item.rpartition("=")
                if not sep or not label:
                    raise ConfigError(field, f"expected LABEL=VALUE, got {item!r}")
                try:
                    pairs.append((label, float(number)))
                except ValueError:
                    raise ConfigError(field, f"expected a number after '=', got {item!r}") from None
            else:
                pairs.append(tuple(item))
    try:
        return tuple(sorted((str(label), float(number)) for label, number in pairs))
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected numbers as the values, got {value!r}") from None


def parse_class_weight(value):
    """``"none"``, ``"balanced"`` (also None, or one of them alone in a list, as the CLI gives it), or
    weights of classes as ``parse_label_values`` reads them; no weights at all is ``"none"``."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str) and "=" not in value[0]:
        value = value[0]  # the CLI's --class-weight balanced
    if isinstance(value, str):
        if value not in ("none", "balanced"):
            raise ConfigError("class_weight", f"expected none, balanced or LABEL=WEIGHT pairs, got {value!r}")
        return value
    return parse_label_values(value, "class_weight") or "none"


def _plain(value):
    """NumPy scalars as Python's int, float, bool or str, as scikit-learn's parameter grids over arrays
    and SciPy's distributions give them (``np.int64(32)`` for units); other values as they are."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # np.str_
        return str(value)
    if getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _positive(value):
    return math.isfinite(value) and value > 0


def _check_type(field, value):
    expected = field.type
    if typing.get_origin(expected) is typing.Union:
        kinds = [kind for kind in typing.get_args(expected) if kind is not type(None)]
        if value is None and len(kinds) < len(typing.get_args(expected)):  # Optional[int] or Optional[str]
            return
        if isinstance(value, tuple) and any(typing.get_origin(kind) is tuple for kind in kinds):  # class_weight's pairs
            return
        expected = kinds[0]
    if typing.get_origin(expected) is typing.Literal:
        choices = typing.get_args(expected)
        if value not in choices:
            raise ConfigError(field.name, f"expected one of {', '.join(choices)}; got {value!r}")
        return
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if typing.get_origin(expected) is tuple:
        return
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(field.name, f"expected {expected.__name__}, got {value!r}")


def _at_least(name, value, low):
    if value < low:
        raise ConfigError(name, f"expected an integer >= {low}, got {value!r}")


def _in_range(name, value, low, high, closed_low=True, closed_high=True, what="value"):
    above = value >= low if closed_low else value > low
    below = value <= high if closed_high else value < high
    if not (math.isfinite(value) and above and below):
        left = "[" if closed_low else "("
        right = "]" if closed_high else ")"
        raise ConfigError(name, f"expected {what} in {left}{low}, {high}{right}, got {value!r}")
