"""Per-token weights of a prediction, from an export's signatures alone, shown as text and as HTML.

Two methods:

- ``attention`` (models with ``--pooling attention``): the attention weights the ``serving_default``
  signature returns; over a text's real tokens they sum to 1.
- ``occlusion`` (every other head): for each token, the drop in the predicted class's probability
  when that token is left out (the text is rebuilt from the other tokens). Positive: the token
  supported the prediction; negative: it spoke against it.

The tokens come from the export's ``tokens`` signature, so nothing but TensorFlow is needed to read
the weights: ``tf.saved_model.load(DIR).signatures["tokens"](text=...)``. A fitted TextClassifier
is explained the same way in memory (the training report uses that).
"""

import dataclasses
import functools
import html

import numpy as np
import tensorflow as tf

from textlstm.errors import ExportError
from textlstm.model import output_dict, with_attention


@dataclasses.dataclass(frozen=True)
class Explanation:
    """One text: its tokens (as the model saw them), one weight per token, and the prediction."""

    text: str
    tokens: list
    weights: list
    label: str
    score: float
    method: str


EXPLAIN_BATCH = 256  # texts a call of the model; each text's occluded variants are one more call


def explain(source, texts):
    """Explain the predictions for ``texts`` of an export directory or of a fitted TextClassifier.

    Args:
        source: the path of an export (read through its signatures only), or a fitted TextClassifier.
        texts: list of str, read ``EXPLAIN_BATCH`` at a time.

    Returns:
        A list of Explanation, one per text.
    """
    texts = list(texts)
    if hasattr(source, "model_"):
        explain_part = functools.partial(_explain_classifier, source)
    else:
        explain_part = _export_explainer(source)
    return [
        explanation for start in range(0, len(texts), EXPLAIN_BATCH) for explanation in explain_part(texts[start : start + EXPLAIN_BATCH])
    ]


def _export_explainer(path):
    """A function: list of str -> their Explanations, by the signatures of the export at ``path``."""
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError) as error:
        raise ExportError(f"{path}: not a SavedModel ({str(error).splitlines()[0]})") from None
    if "tokens" not in loaded.signatures:
        raise ExportError(f"{path}: the export has no 'tokens' signature; re-export it (textlstm export {path}/model.keras)")
    serve, split = loaded.signatures["serving_default"], loaded.signatures["tokens"]

    def explain_part(texts):
        outputs = serve(text=tf.constant(texts))
        return _explanations(
            texts,
            split(text=tf.constant(texts))["tokens"].numpy(),
            outputs["probabilities"].numpy(),
            [label.decode("utf-8") for label in outputs["label"].numpy()],
            outputs["attention"].numpy() if "attention" in outputs else None,
            lambda variants: serve(text=tf.constant(variants))["probabilities"].numpy(),
        )

    return explain_part


def _explain_classifier(classifier, texts):
    outputs = output_dict(with_attention(classifier.model_)(classifier.tokenizer_(tf.constant(texts)), training=False))
    attention = outputs["attention"].numpy() if "attention" in outputs else None
    probabilities = np.asarray(outputs["probabilities"])  # (batch, classes)
    label_set = classifier.label_set_
    return _explanations(
        texts,
        classifier.tokenizer_.tokens(tf.constant(texts)).numpy(),
        probabilities,
        label_set.decode(label_set.decide(probabilities, classifier.thresholds_)),
        attention,
        classifier.predict_proba,
    )


def _explanations(texts, token_rows, probabilities, labels, attention, probabilities_of):
    """Explanations from the tokens (batch, time) bytes, probabilities (batch, classes), labels, and
    attention (batch, time) or None; ``probabilities_of(list of str)`` scores occluded texts."""
    explanations = []
    for row, text in enumerate(texts):
        tokens = [token.decode("utf-8") for token in token_rows[row] if token]
        if attention is not None:  # 0 past the first max_length tokens, which the members do not read
            weights = attention[row, : len(tokens)]
            method, weights = "attention", np.pad(weights, (0, len(tokens) - len(weights)))
        else:
            method, weights = "occlusion", _occlusion(probabilities_of, tokens, probabilities[row])
        score = float(np.max(probabilities[row]))
        explanations.append(Explanation(text, tokens, [float(w) for w in weights], labels[row], score, method))
    return explanations


def _occlusion(probabilities_of, tokens, probabilities):
    """Drop of the top class's probability when each token is left out, shape (tokens,)."""
    if not tokens:
        return np.zeros(0)
    top = int(np.argmax(probabilities))
    variants = [" ".join(tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))]
    without = probabilities_of(variants)[:, top]  # (tokens,)
    return probabilities[top] - without


def format_explanation(explanation):
    """Plain text: the prediction, then each token with its weight."""
    tokens = " ".join(f"{token}({weight:+.3f})" for token, weight in zip(explanation.tokens, explanation.weights))
    return (
        f"{explanation.text}\n  -> {explanation.label} ({explanation.score:.3f}); {explanation.method} weights:\n"
        f"  {tokens or '(no tokens)'}"
    )


def token_spans(explanation):
    """The tokens as HTML spans shaded by weight (orange for the prediction, blue against it)."""
    largest = max((abs(w) for w in explanation.weights), default=0.0) or 1.0
    spans = []
    for token, weight in zip(explanation.tokens, explanation.weights):
        color = "255, 140, 0" if weight >= 0 else "30, 110, 255"
        spans.append(
            f'<span class="token" style="background: rgba({color}, {abs(weight) / largest:.3f})" '
            f'title="{weight:+.4f}">{html.escape(token)}</span>'
        )
    return " ".join(spans)


def explanations_html(explanations, title="textlstm explanations"):
    """A self-contained HTML page: each token highlighted by its weight (orange for, blue against)."""
    sections = []
    for explanation in explanations:
        spans = token_spans(explanation)
        sections.append(
            "<section>"
            f'<p class="prediction">{html.escape(explanation.label)} ({explanation.score:.3f}), '
            f"{explanation.method} weights</p>"
            f'<p class="tokens">{spans or "(no tokens)"}</p>'
            "</section>"
        )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.8}"
        ".token{padding:0.1em 0.2em;border-radius:0.2em}.prediction{color:#555;margin-bottom:0}"
        "section{border-bottom:1px solid #ddd;padding-bottom:0.5em}"
        f"</style></head><body><h1>{html.escape(title)}</h1>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
