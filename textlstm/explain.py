"""Per-token weights of a prediction, from an export's signatures alone, shown as text and as HTML.

Two methods:

- ``attention`` (models with ``--pooling attention``): the attention weights the ``serving_default``
  signature returns; over a text's real tokens they sum to 1.
- ``occlusion`` (every other head): for each token, the drop in the predicted class's probability
  when that token is left out (the text is rebuilt from the other tokens). Positive: the token
  supported the prediction; negative: it spoke against it.

The tokens come from the export's ``tokens`` signature, so nothing but TensorFlow is needed to read
the weights: ``tf.saved_model.load(DIR).signatures["tokens"](text=...)``.
"""

import dataclasses
import html

import numpy as np
import tensorflow as tf

from textlstm.errors import ExportError


@dataclasses.dataclass(frozen=True)
class Explanation:
    """One text: its tokens (as the model saw them), one weight per token, and the prediction."""

    text: str
    tokens: list
    weights: list
    label: str
    score: float
    method: str


def explain(path, texts):
    """Explain the predictions of the export at ``path`` for ``texts``.

    Returns:
        A list of Explanation, one per text.
    """
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError) as error:
        raise ExportError(f"{path}: not a SavedModel ({str(error).splitlines()[0]})") from None
    if "tokens" not in loaded.signatures:
        raise ExportError(f"{path}: the export has no 'tokens' signature; re-export it (textlstm export {path}/model.keras)")
    serve, split = loaded.signatures["serving_default"], loaded.signatures["tokens"]
    outputs = serve(text=tf.constant(texts))
    token_rows = [[token.decode("utf-8") for token in row if token] for row in split(text=tf.constant(texts))["tokens"].numpy()]
    probabilities = outputs["probabilities"].numpy()  # (batch, classes)
    labels = [label.decode("utf-8") for label in outputs["label"].numpy()]
    scores = outputs["score"].numpy()
    explanations = []
    for row, (text, tokens) in enumerate(zip(texts, token_rows)):
        if "attention" in outputs:
            method, weights = "attention", outputs["attention"].numpy()[row, : len(tokens)]
        else:
            method, weights = "occlusion", _occlusion(serve, tokens, probabilities[row])
        explanations.append(
            Explanation(text, tokens, [float(w) for w in weights], labels[row], float(scores[row]), method)
        )
    return explanations


def _occlusion(serve, tokens, probabilities):
    """Drop of the top class's probability when each token is left out, shape (tokens,)."""
    if not tokens:
        return np.zeros(0)
    top = int(np.argmax(probabilities))
    variants = [" ".join(tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))]
    without = serve(text=tf.constant(variants))["probabilities"].numpy()[:, top]  # (tokens,)
    return probabilities[top] - without


def format_explanation(explanation):
    """Plain text: the prediction, then each token with its weight."""
    tokens = " ".join(f"{token}({weight:+.3f})" for token, weight in zip(explanation.tokens, explanation.weights))
    return (
        f"{explanation.text}\n  -> {explanation.label} ({explanation.score:.3f}); {explanation.method} weights:\n"
        f"  {tokens or '(no tokens)'}"
    )


def explanations_html(explanations, title="textlstm explanations"):
    """A self-contained HTML page: each token highlighted by its weight (orange for, blue against)."""
    sections = []
    for explanation in explanations:
        largest = max((abs(w) for w in explanation.weights), default=0.0) or 1.0
        spans = []
        for token, weight in zip(explanation.tokens, explanation.weights):
            color = "255, 140, 0" if weight >= 0 else "30, 110, 255"
            spans.append(
                f'<span class="token" style="background: rgba({color}, {abs(weight) / largest:.3f})" '
                f'title="{weight:+.4f}">{html.escape(token)}</span>'
            )
        sections.append(
            "<section>"
            f'<p class="prediction">{html.escape(explanation.label)} ({explanation.score:.3f}), '
            f"{explanation.method} weights</p>"
            f'<p class="tokens">{" ".join(spans) or "(no tokens)"}</p>'
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
