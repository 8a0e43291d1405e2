"""Build the classifier, token ids -> probabilities, from a Config.

    token_ids (batch, time) int64, 0 = padding; the members read the first max_length steps
    -> Embedding                              (batch, time, embedding_dim), mask = ids != 0
       (+ with cjk_pairs > 0: an embedding of the pair of CJK characters ending at each step,
       hashed to cjk_pairs buckets; zero where there is none)
    -> [LSTM|GRU], optionally Bidirectional,  (batch, time, units or 2*units), ``num_layers`` deep,
       each given the mask explicitly
    -> pooling head                           (batch, features)
    -> Dense softmax (single-label) or sigmoid (multi-label)   (batch, classes)

With ``members > 1`` there are that many such stacks, each with its own embedding, random start,
pooling head and dense layer, and the recurrent branch is the mean of their probabilities (an
ensemble inside one model; each member is trained on its own loss and early-stopped on its own).
The members share each RNN layer as block-diagonal weights, one loop over time for all:

    M embeddings, concatenated                (batch, time, M*embedding_dim)
    -> RNN of M*units per direction           (batch, time, directions*M*units), member blocks only
    -> split per member                       M x (batch, time, directions*units)

With ``ngrams > 1`` (the default) the output mixes that with an n-gram branch:

    token_ids and their hashed 2..N-grams     (batch, time + grams), 0 = padding
    -> TF-IDF vector x weights                                 (batch, classes)
    + the same over the words' character 2..5-grams            (batch, time * 64) -> (batch, classes)
    -> softmax or sigmoid                                      (batch, classes)   n-gram branch
    w * recurrent + (1 - w) * ngram, as log-probabilities      (batch, classes)   BranchMix

With ``naive_bayes`` (the default) the n-gram branch is itself a mix of two regressions over the
same token and n-gram ids:

    TF-IDF regression, as above               -> softmax or sigmoid         (batch, classes)
    which ids the text holds x weights (naive Bayes, ``BinaryBagLogits``)   (batch, classes)
    -> normalized one-vs-rest sigmoids (single-label) or sigmoids           (batch, classes)
    v * tfidf + (1 - v) * naive_bayes, as log-probabilities                 (batch, classes)   BranchMix

Both mixes pool as ``config.branch_mix`` says: ``log`` (the default) adds the weighted
log-probabilities and normalizes (softmax; for multi-label, each label's log-odds and a sigmoid),
``linear`` adds the weighted probabilities. The regressions are fitted by scikit-learn before the
recurrent members train (``textlstm.ngram_fit``); Keras does not train their weights. ``w`` and
``v`` are 0.5 until training chooses them on the validation data (``training.choose_branch_mix``).
"""

import re

import keras

from textlstm.fused_lstm import FUSED_TRAINING_MAX_BATCH, FusedLSTM
from textlstm.layers import (
    AttentionPooling,
    BinaryBagLogits,
    BranchMix,
    CjkCharacterPairs,
    HashedNgrams,
    MaskedGlobalMaxPooling1D,
    NonCjkShare,
    TfidfLogits,
    TokenCharNgrams,
)
from textlstm.members import MemberBlockInitializer, MemberBlocks, MemberSplit
from textlstm.text import TextTokenizer, char_ngram_table, cjk_character_table

ATTENTION_LAYER = "attention_pooling"
OUTPUT = "probabilities"
# With ngrams > 1 the model mixes two branches' probabilities: scikit-learn fits the n-gram branch, Keras
# trains the recurrent one.
BRANCHES = {"recurrent": "recurrent_probabilities", "ngram": "ngram_probabilities"}
# With naive_bayes, the n-gram branch mixes two regressions' probabilities.
NGRAM_PARTS = {"tfidf": "tfidf_probabilities", "naive_bayes": "naive_bayes_probabilities"}
NGRAM_WEIGHTS = "ngram_weights"
NAIVE_BAYES_WEIGHTS = "naive_bayes_weights"
CHAR_NGRAMS = "char_ngrams"
CHAR_NGRAM_WEIGHTS = "char_ngram_weights"
# Scales the character bag by the share of a text's tokens that are not CJK characters.
NON_CJK_SHARE = "non_cjk_share"
# Character n-grams kept per vocabulary word: all of those of a word of up to 16 characters
# (4 * 16 - 2 for n = 2..5).
CHAR_NGRAMS_PER_TOKEN = 64
# The ids of the pairs of adjacent CJK characters (cjk_pairs > 0), read by every member.
CJK_PAIRS = "cjk_pairs"
# With members > 1 each recurrent member has its own output, and the recurrent branch is their mean.
MEMBER_OUTPUT = "member{}_probabilities"
# The layer that cuts the shared RNN layer's output into the members' shares.
MEMBER_SPLIT = "member_split"


def build_model(config, vocabulary_size, num_classes):
    """The model; with an n-gram branch that reads more tokens than the members
    (``Config.tokenizer_length``), the members read the first ``max_length`` of its input's steps.

    Args:
        config: a Config, resolved for its training data (``Config.resolve_training``,
            ``Config.resolve_cjk_pairs``); automatic training settings still None are resolved as
            for a small data set, and an automatic ``cjk_pairs`` builds no pair embedding.
        vocabulary_size: number of ids, padding and OOV included.
        num_classes: width of the output.

    Returns:
        A functional ``keras.Model`` named ``textlstm``: (batch, time) int64 -> (batch, classes).
    """
    config = config.resolve_training(0)
    token_ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")
    member_ids = token_ids
    if config.max_length is not None and config.tokenizer_length() > config.max_length:
        member_ids = token_ids[:, : config.max_length]  # the members read the first max_length tokens
    mask = keras.ops.not_equal(member_ids, 0)  # (batch, time) bool
    recurrent_name = OUTPUT if config.ngrams == 1 else BRANCHES["recurrent"]
    recurrent = _recurrent(config, member_ids, mask, vocabulary_size, num_classes, recurrent_name)
    if config.ngrams == 1:
        return keras.Model(token_ids, recurrent, name="textlstm")
    multi_label = config.task == "multi-label"
    bag_ids = _bag_ids(config, token_ids, vocabulary_size)
    tfidf_logits = _tfidf_logits(config, token_ids, bag_ids, vocabulary_size, num_classes)
    tfidf_name = NGRAM_PARTS["tfidf"] if config.naive_bayes else BRANCHES["ngram"]
    ngram = keras.layers.Activation(_activation(config), name=tfidf_name)(tfidf_logits)
    if config.naive_bayes:
        size = vocabulary_size + config.ngram_buckets
        bayes_logits = BinaryBagLogits(size, num_classes, name=NAIVE_BAYES_WEIGHTS)(bag_ids)
        if config.task == "single-label":  # each class's sigmoid, divided by their sum
            bayes_logits = keras.ops.log_sigmoid(bayes_logits)
        bayes = keras.layers.Activation(_activation(config), name=NGRAM_PARTS["naive_bayes"])(bayes_logits)
        ngram = BranchMix(config.branch_mix, multi_label, name=BRANCHES["ngram"])([ngram, bayes])
    probabilities = BranchMix(config.branch_mix, multi_label, name=OUTPUT)([recurrent, ngram])
    return keras.Model(token_ids, probabilities, name="textlstm")


def fill_token_tables(model, vocabulary, config):
    """Write the vocabulary's character n-grams (``char_ngram_table``) and which tokens are CJK
    characters (``cjk_character_table``) into the model's tables, if it has them.

    Args:
        vocabulary: all tokens by id (``TextTokenizer.vocabulary``).
    """
    names = {layer.name for layer in model.layers}
    if CHAR_NGRAMS in names:
        table = char_ngram_table(vocabulary, config.char_ngrams, config.ngram_buckets, CHAR_NGRAMS_PER_TOKEN)
        model.get_layer(CHAR_NGRAMS).table.assign(table)
    for name in (NON_CJK_SHARE, CJK_PAIRS):
        if name in names:
            model.get_layer(name).cjk.assign(cjk_character_table(vocabulary))


def member_prefix(member, members):
    """The layer-name prefix of recurrent member ``member`` (1-based) of ``members``: none when alone."""
    return "" if members == 1 else f"member{member}_"


def _recurrent(config, token_ids, mask, vocabulary_size, num_classes, output_name):
    """The recurrent branch: embeddings -> RNN stack -> pooling -> dense, once per member.

    Each member has its own embedding (and CJK pair embedding), pooling head and dense layer (names
    prefixed ``memberJ_``); the members share each RNN layer as block-diagonal weights (see
    ``textlstm.members``), so the stack runs one loop over time for all of them.

    Its layers compute in ``config.precision`` (a Keras dtype policy: float32 weights either way);
    the dense output layers compute in float32, so the probabilities are float32.

    Returns:
        Probabilities, (batch, classes): the mean of the members' when there are several.
    """
    members, dtype = config.members, config.precision
    pairs = config.cjk_pairs or 0
    if pairs:
        pair_ids = CjkCharacterPairs(vocabulary_size, pairs, name=CJK_PAIRS)(token_ids)  # (batch, time)
    embedded = []
    for member in range(1, members + 1):
        prefix = member_prefix(member, members)
        x = keras.layers.Embedding(
            vocabulary_size, config.embedding_dim, trainable=config.train_embeddings, name=prefix + "embedding", dtype=dtype
        )(token_ids)  # (batch, time, embedding_dim)
        if pairs:
            paired = keras.layers.Embedding(pairs + 1, config.embedding_dim, name=prefix + "cjk_pair_vectors", dtype=dtype)(pair_ids)
            present = keras.ops.cast(keras.ops.expand_dims(keras.ops.not_equal(pair_ids, 0), -1), paired.dtype)
            x = keras.layers.Add(name=prefix + "embedding_with_pairs", dtype=dtype)([x, paired * present])
        embedded.append(keras.layers.Dropout(config.dropout, name=prefix + "embedding_dropout", dtype=dtype)(x))
    x = embedded[0] if members == 1 else keras.layers.Concatenate(name="member_embeddings", dtype=dtype)(embedded)
    for index in range(1, config.num_layers + 1):
        is_last = index == config.num_layers
        input_block = config.embedding_dim if index == 1 else config.units
        layer = _rnn(config, index, return_sequences=not (is_last and config.pooling == "last"), input_block=input_block)
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{config.encoder}_{index}", dtype=dtype)
        x = layer(x, mask=mask)  # (batch, time, directions * members * units), or (batch, ...) when last
        if not is_last:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{index}", dtype=dtype)(x)
    sequences = [x] if members == 1 else MemberSplit(members, 2 if config.bidirectional else 1, name=MEMBER_SPLIT, dtype=dtype)(x)
    outputs = []
    for member, sequence in enumerate(sequences, start=1):
        prefix = member_prefix(member, members)
        pooled = _pool(config, sequence, mask, prefix)
        pooled = keras.layers.Dropout(config.dropout, name=prefix + "pooled_dropout", dtype=dtype)(pooled)
        name = output_name if members == 1 else MEMBER_OUTPUT.format(member)
        dense = keras.layers.Dense(num_classes, activation=_activation(config), name=name, dtype="float32")
        outputs.append(dense(pooled))
    return outputs[0] if members == 1 else keras.layers.Average(name=output_name)(outputs)


def _rnn(config, index, return_sequences, input_block):
    """The ``index``-th recurrent layer: ``members * units`` units, block-diagonal when members > 1.

    An LSTM is a ``FusedLSTM``; it trains on the fused kernel when the training batch
    (``config.batch_size``) is at most ``FUSED_TRAINING_MAX_BATCH``, else on the Keras loop.

    Args:
        input_block: features per member in its input (the embedding size, or ``units`` above the first layer).
    """
    settings = {"dtype": config.precision}
    if config.encoder == "lstm":
        settings["fused_training"] = config.batch_size <= FUSED_TRAINING_MAX_BATCH
    recurrent = {"lstm": FusedLSTM, "gru": keras.layers.GRU}[config.encoder]
    if config.members > 1:
        kernel = dict(members=config.members, row_block=input_block, column_block=config.units)
        square = dict(members=config.members, row_block=config.units, column_block=config.units)
        settings.update(
            kernel_initializer=MemberBlockInitializer(**kernel, base="glorot_uniform"),
            kernel_constraint=MemberBlocks(**kernel),
            recurrent_initializer=MemberBlockInitializer(**square, base="orthogonal"),
            recurrent_constraint=MemberBlocks(**square),
            bias_constraint=MemberBlocks(config.members, None, config.units),
        )
    return recurrent(
        config.members * config.units, return_sequences=return_sequences, name=f"{config.encoder}_{index}", **settings
    )


def _activation(config):
    """Softmax over the classes for single-label tasks, an independent sigmoid per label for multi-label."""
    return "softmax" if config.task == "single-label" else "sigmoid"


def _pool(config, sequence, mask, prefix=""):
    """(batch, time, features) -> (batch, features) with the configured head; ``last`` is the RNN's own."""
    if config.pooling == "last":
        return sequence
    if config.pooling == "attention":
        pooled, _ = AttentionPooling(config.attention_units, name=prefix + ATTENTION_LAYER, dtype=config.precision)(sequence, mask=mask)
        return pooled
    pooled = []
    if config.pooling in ("max", "max+mean"):
        pooled.append(MaskedGlobalMaxPooling1D(name=prefix + "max_pooling", dtype=config.precision)(sequence, mask=mask))
    if config.pooling in ("mean", "max+mean"):
        pooled.append(keras.layers.GlobalAveragePooling1D(name=prefix + "mean_pooling", dtype=config.precision)(sequence, mask=mask))
    if len(pooled) == 1:
        return pooled[0]
    return keras.layers.Concatenate(name=prefix + "max_mean_pooling", dtype=config.precision)(pooled)


def _bag_ids(config, token_ids, vocabulary_size):
    """The n-gram branch's word bag: the token ids, then the hashed 2..N-grams of the text read as
    start, tokens, end (``HashedNgrams`` with edges) shifted past the vocabulary,
    (batch, time + grams) int64 in [0, vocabulary_size + ngram_buckets), 0 = padding."""
    gram_ids = HashedNgrams(config.ngrams, config.ngram_buckets, edges=True, name="hashed_ngrams")(token_ids)  # (batch, grams)
    shifted = keras.ops.where(gram_ids > 0, gram_ids + vocabulary_size - 1, 0)  # after the token ids
    return keras.ops.concatenate([token_ids, shifted], axis=1)


def _tfidf_logits(config, token_ids, bag_ids, vocabulary_size, num_classes):
    """The n-gram branch's TF-IDF regression: its logits over TF-IDF vectors of the text, (batch, classes).

    Two bags, each a TF-IDF vector of its own (``TfidfLogits``), as scikit-learn's union of a word
    and a ``char_wb`` vectorizer: ``bag_ids`` (``_bag_ids``), and the character n-grams of the
    text's vocabulary words (``TokenCharNgrams``), whose vector is scaled by the share of the
    text's tokens that are not CJK characters (``NonCjkShare``; 1 without them). scikit-learn fits
    the weights before the recurrent members train (``textlstm.ngram_fit``).
    """
    logits = TfidfLogits(vocabulary_size + config.ngram_buckets, num_classes, name=NGRAM_WEIGHTS)(bag_ids)
    if config.char_ngrams > 1:
        char_ids = TokenCharNgrams(vocabulary_size, CHAR_NGRAMS_PER_TOKEN, name=CHAR_NGRAMS)(token_ids)
        char_logits = TfidfLogits(config.ngram_buckets + 1, num_classes, use_bias=False, name=CHAR_NGRAM_WEIGHTS)(char_ids)
        share = NonCjkShare(vocabulary_size, name=NON_CJK_SHARE)(token_ids)  # (batch, 1)
        logits = keras.layers.Add(name="ngram_logits")([logits, keras.ops.multiply(char_logits, share)])
    return logits


def with_attention(model):
    """The same model, returning ``{"probabilities", "attention"}`` when it has an attention head.

    With several recurrent members, ``attention`` is the mean of their attention weights.

    Returns:
        A ``keras.Model`` sharing ``model``'s layers: (batch, time) -> {"probabilities": (batch, classes),
        "attention": (batch, time)}; or ``model`` itself for other heads.
    """
    heads = [layer for layer in model.layers if layer.name.endswith(ATTENTION_LAYER)]
    if not heads:
        return model
    weights = [keras.ops.cast(head.output[1], "float32") for head in heads]  # float32 under mixed precision too
    attention = weights[0] if len(weights) == 1 else keras.layers.Average(name="mean_attention")(weights)
    return keras.Model(model.input, {"probabilities": model.output, "attention": attention})


def member_outputs(model):
    """The names of the model's recurrent members' outputs, each trained with its own loss; empty when
    the model has one member."""
    return [layer.name for layer in model.layers if re.fullmatch(MEMBER_OUTPUT.format(r"\d+"), layer.name)]


def embedding_layers(model):
    """Every member's token embedding (not the n-gram weights)."""
    return [layer for layer in model.layers if layer.name == "embedding" or layer.name.endswith("_embedding")]


def output_dict(outputs):
    """What a ``with_attention`` model returned, always as ``{"probabilities"[, "attention"]}``."""
    return outputs if isinstance(outputs, dict) else {"probabilities": outputs}


def text_model(tokenizer, model):
    """Raw strings -> probabilities: ``model`` behind ``tokenizer``, saved as ``model.keras``.

    Input shape: (batch,) tf.string. Output shape: (batch, classes).
    """
    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, model(tokenizer(text)), name="textlstm_text")


def split_text_model(full):
    """Inverse of ``text_model``: (tokenizer, ids -> probabilities model)."""
    tokenizers = [layer for layer in full.layers if isinstance(layer, TextTokenizer)]
    models = [layer for layer in full.layers if isinstance(layer, keras.Model)]
    if len(tokenizers) != 1 or len(models) != 1:
        raise ValueError("not a textlstm text model (expected one TextTokenizer and one inner model)")
    return tokenizers[0], models[0]
