"""textlstm: LSTM text classifiers from labelled text to a self-contained TensorFlow SavedModel.

    from textlstm import TextClassifier
    classifier = TextClassifier(pooling="attention").fit(texts, labels)
    classifier.export("my-model")
    textlstm.load("my-model").predict(["a new text"])
"""

__version__ = "0.1.0"

from textlstm.classifier import TextClassifier  # noqa: E402
from textlstm.config import Config  # noqa: E402
from textlstm.data import Corpus, ReadOptions, read_corpus, read_texts  # noqa: E402
from textlstm.describe import Description, describe_model  # noqa: E402
from textlstm.errors import ConfigError, DataError, ExportError, NotFittedError, TextlstmError  # noqa: E402
from textlstm.explain import Explanation, explain  # noqa: E402
from textlstm.export import Predictor, load  # noqa: E402
from textlstm.threads import use_rnn_threads  # noqa: E402
from textlstm.tuning import TuningResult, tune  # noqa: E402

__all__ = [
    "Config",
    "ConfigError",
    "Corpus",
    "DataError",
    "Description",
    "ExportError",
    "Explanation",
    "NotFittedError",
    "Predictor",
    "ReadOptions",
    "TextClassifier",
    "TextlstmError",
    "TuningResult",
    "describe_model",
    "explain",
    "load",
    "read_corpus",
    "read_texts",
    "tune",
    "use_rnn_threads",
]
