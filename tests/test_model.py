"""Every head and encoder: padding changes nothing; attention weights are a distribution over tokens."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import geometric_mix
from textlstm.config import Config
from textlstm.model import BRANCHES, CJK_PAIRS, NGRAM_PARTS, build_model, embedding_layers, fill_token_tables, member_outputs, with_attention

# (batch=3, time=4) ids; lengths 4, 2, 1; 0 = padding at the end.
IDS = np.array([[5, 6, 7, 8], [9, 3, 0, 0], [4, 0, 0, 0]], dtype="int64")
POOLINGS = ["last", "max", "mean", "attention", "max+mean"]


def small_model(**settings):
    config = Config(**{"embedding_dim": 6, "units": 5, "attention_units": 4, "num_layers": 2, "ngram_buckets": 20, "members": 1, **settings})
    return build_model(config, vocabulary_size=12, num_classes=3)


@pytest.mark.parametrize("encoder", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing(encoder, pooling):
    model = small_model(encoder=encoder, pooling=pooling, bidirectional=True)
    expected = model(IDS).numpy()
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, atol=1e-6)
    longer = np.pad(IDS, [(0, 0), (0, 5)])  # five more padding steps
    np.testing.assert_allclose(model(longer), expected, atol=1e-5)
    for variable in (model.get_layer("embedding").embeddings, model.get_layer("ngram_weights").kernel):
        table = variable.numpy()
        table[0] = 100.0  # whatever the padding row holds
        variable.assign(table)
    np.testing.assert_allclose(model(longer), expected, atol=1e-5)


@pytest.mark.parametrize("pooling", ["log", "linear"])
def test_output_mixes_the_recurrent_and_ngram_branches(pooling):
    model = small_model(naive_bayes=False, branch_mix=pooling)
    mix = geometric_mix if pooling == "log" else lambda first, second, weight: weight * first + (1 - weight) * second
    rng = np.random.default_rng(0)
    weights = model.get_layer("ngram_weights")
    for variable in (weights.idf, weights.kernel, weights.bias):
        variable.assign(rng.uniform(0.5, 2.0, size=variable.shape))
    branches = keras.Model(model.input, [model.get_layer(name).output for name in BRANCHES.values()])
    recurrent, ngram = (output.numpy().astype("float64") for output in branches(IDS))
    np.testing.assert_allclose(model(IDS), mix(recurrent, ngram, 0.5), atol=1e-6)  # 0.5 until training chooses
    model.get_layer("probabilities").first_weight.assign(0.3)
    np.testing.assert_allclose(model(IDS), mix(recurrent, ngram, 0.3), atol=1e-6)
    expected = numpy_ngram_branch(IDS, *(variable.numpy() for variable in (weights.idf, weights.kernel, weights.bias)), 12, 20)
    np.testing.assert_allclose(ngram, expected, atol=1e-5)


def test_the_ngram_branch_mixes_tfidf_and_naive_bayes_regressions():
    """The naive-Bayes regression reads the TF-IDF word bag's ids, each once, and its probabilities
    are the classes' sigmoids divided by their sum; the branch is the normalized tfidf^v * naive Bayes^(1 - v)."""
    model = small_model()
    rng = np.random.default_rng(0)
    weights, bayes = model.get_layer("ngram_weights"), model.get_layer("naive_bayes_weights")
    for variable in (weights.idf, weights.kernel, weights.bias, bayes.kernel, bayes.bias):
        variable.assign(rng.uniform(-2.0, 2.0, size=variable.shape))
    ids = np.concatenate([IDS, [[5, 6, 5, 6]]])  # a token and a bigram held twice
    names = [BRANCHES["ngram"], *NGRAM_PARTS.values()]
    ngram, tfidf, naive_bayes = keras.Model(model.input, [model.get_layer(name).output for name in names])(ids)
    expected = numpy_ngram_branch(ids, *(variable.numpy() for variable in (weights.idf, weights.kernel, weights.bias)), 12, 20)
    np.testing.assert_allclose(tfidf, expected, atol=1e-5)
    kernel, bias = bayes.kernel.numpy(), bayes.bias.numpy()
    rows = []
    for row in ids:
        tokens = [int(v) for v in row if v]
        marked = [-1, *tokens, -2]  # the text's start and end take part in bigrams
        held = set(tokens) | {(a * 1000003 + b) % 20 + 12 for a, b in zip(marked, marked[1:])}
        sigmoids = 1 / (1 + np.exp(-(kernel[sorted(held)].sum(axis=0) + bias)))
        rows.append(sigmoids / sigmoids.sum())
    np.testing.assert_allclose(naive_bayes, rows, atol=1e-5)
    tfidf, naive_bayes = np.asarray(tfidf, "float64"), np.asarray(naive_bayes, "float64")
    np.testing.assert_allclose(ngram, geometric_mix(tfidf, naive_bayes, 0.5), atol=1e-6)  # 0.5 until training chooses
    model.get_layer(BRANCHES["ngram"]).first_weight.assign(0.8)
    recurrent = keras.Model(model.input, model.get_layer(BRANCHES["recurrent"]).output)(ids).numpy().astype("float64")
    np.testing.assert_allclose(model(ids), geometric_mix(recurrent, geometric_mix(tfidf, naive_bayes, 0.8), 0.5), atol=1e-6)


def numpy_ngram_branch(ids, idf, kernel, bias, vocabulary_size, buckets):
    """softmax(TF-IDF vector of a text's tokens and hashed bigrams x kernel + bias): the bigrams of
    the text read as start (-1), tokens, end (-2); an id seen c times weighs (1 + ln c) * idf, and the
    vector has unit length. The character n-gram table is empty here."""
    rows = []
    for row in ids:
        tokens = [int(v) for v in row if v]
        marked = [-1, *tokens, -2]
        grams = [(a * 1000003 + b) % buckets + vocabulary_size for a, b in zip(marked, marked[1:])]
        features = {}
        for feature in tokens + grams:
            features[feature] = features.get(feature, 0) + 1
        values = {feature: (1 + np.log(count)) * idf[feature] for feature, count in features.items()}
        norm = np.sqrt(sum(value**2 for value in values.values()))
        logits = sum(value / norm * kernel[feature] for feature, value in values.items()) + bias
        rows.append(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    return np.array(rows)


def test_members_are_averaged_then_averaged_with_the_ngram_branch():
    model = small_model(members=3, pooling="max+mean")
    members = [f"member{j}_probabilities" for j in (1, 2, 3)]
    assert member_outputs(model) == members
    assert len(embedding_layers(model)) == 3  # each member has its own embedding
    parts = keras.Model(model.input, [model.get_layer(name).output for name in [*members, BRANCHES["ngram"]]])
    *member_probabilities, ngram = (output.numpy() for output in parts(IDS))
    assert not np.allclose(member_probabilities[0], member_probabilities[1])  # different random starts
    np.testing.assert_allclose(model(IDS), (np.mean(member_probabilities, axis=0) + ngram) / 2, atol=1e-6)
    # Padding changes no member's output.
    np.testing.assert_allclose(model(np.pad(IDS, [(0, 0), (0, 5)])), model(IDS), atol=1e-5)


def test_each_member_adds_the_vectors_of_cjk_character_pairs_and_only_of_them():
    config = Config(embedding_dim=6, units=5, ngram_buckets=20, members=2, cjk_pairs=7)
    model = build_model(config, vocabulary_size=12, num_classes=3)
    vocabulary = ["", "[UNK]", "a", "好", "吃", "的", "b", "c", "d", "e", "f", "g"]  # ids 3, 4 and 5 are CJK
    fill_token_tables(model, vocabulary, config)
    assert len(embedding_layers(model)) == 2  # the pair tables are not token embeddings
    ids = np.array([[3, 4, 5, 8], [9, 3, 0, 0], [4, 0, 0, 0]], dtype="int64")  # pairs only in row 0, at steps 1 and 2
    np.testing.assert_array_equal(model.get_layer(CJK_PAIRS)(ids).numpy()[1:], 0)
    expected = model(ids).numpy()
    tables = [model.get_layer(f"member{j}_cjk_pair_vectors").embeddings for j in (1, 2)]
    for table in tables:
        rows = table.numpy()
        rows[0] = 100.0  # the row of "no pair" is never read
        table.assign(rows)
    np.testing.assert_allclose(model(np.pad(ids, [(0, 0), (0, 5)])), expected, atol=1e-5)
    for table in tables:
        table.assign(table.numpy() + 1.0)
    changed = model(ids).numpy()
    assert not np.allclose(changed[0], expected[0])  # row 0's pairs are read
    np.testing.assert_allclose(changed[1:], expected[1:], atol=1e-6)  # rows without pairs are not


def test_cjk_pairs_0_or_automatic_builds_no_pair_embedding():
    for setting in (0, None):
        names = {layer.name for layer in small_model(members=2, cjk_pairs=setting).layers}
        assert CJK_PAIRS not in names and not any("pair" in name for name in names)


def test_attention_of_several_members_is_their_mean():
    model = small_model(members=2, pooling="attention")
    heads = [model.get_layer(f"member{j}_attention_pooling").output[1] for j in (1, 2)]
    weights = [output.numpy() for output in keras.Model(model.input, heads)(IDS)]
    attention = with_attention(model)(IDS)["attention"].numpy()
    np.testing.assert_allclose(attention, (weights[0] + weights[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-6)


def test_ngrams_1_is_the_recurrent_model_alone():
    model = small_model(ngrams=1)
    names = {layer.name for layer in model.layers}
    assert "ngram_weights" not in names and "recurrent_probabilities" not in names
    assert model.get_layer("probabilities").activation.__name__ == "softmax"


@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_layer_unidirectional_and_bidirectional(bidirectional):
    model = build_model(Config(embedding_dim=6, units=5, pooling="last", bidirectional=bidirectional), 12, 3)
    expected = model(IDS).numpy()
    np.testing.assert_allclose(model(np.pad(IDS, [(0, 0), (0, 3)])), expected, atol=1e-5)


def test_multi_label_outputs_are_independent_sigmoids():
    model = small_model(task="multi-label")
    for name in [BRANCHES["recurrent"], *NGRAM_PARTS.values()]:
        assert model.get_layer(name).activation.__name__ == "sigmoid"
    assert not np.allclose(model(IDS).numpy().sum(axis=1), 1.0)


def test_attention_output_is_a_distribution_over_tokens():
    model = with_attention(small_model(pooling="attention"))
    outputs = model(IDS)
    weights = outputs["attention"].numpy()
    assert weights.shape == (3, 4)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(weights[IDS == 0] == 0.0)
    assert outputs["probabilities"].shape == (3, 3)


def test_with_attention_returns_other_models_unchanged():
    model = small_model(pooling="max")
    assert with_attention(model) is model


@pytest.mark.parametrize("precision, rounding", [("mixed_float16", 2e-3), ("mixed_bfloat16", 2e-2)])
def test_mixed_precision_computes_the_recurrent_branch_in_16_bits_and_gives_float32(precision, rounding):
    mixed = with_attention(small_model(precision=precision, members=2, pooling="attention"))
    plain = with_attention(small_model(members=2, pooling="attention"))
    plain.set_weights(mixed.get_weights())
    assert mixed.get_layer("bidirectional_lstm_1").compute_dtype == precision.removeprefix("mixed_")
    assert mixed.get_layer("member1_probabilities").compute_dtype == "float32"
    # Every weight is float32 but the character n-gram table, which holds ids.
    assert {weight.path: weight.dtype for weight in mixed.weights if weight.dtype != "float32"} == {"char_ngrams/table": "int32"}
    got, want = mixed(IDS), plain(IDS)
    assert got["probabilities"].dtype == "float32" and got["attention"].dtype == "float32"
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=rounding)
    np.testing.assert_allclose(got["attention"], want["attention"], atol=rounding)
    assert np.all(got["attention"].numpy()[IDS == 0] == 0.0)


def recurrent_graph_ops(config):
    """{training: the op types in the traced graph of ``config``'s model on (batch, time) ids}, for
    training True and False, from one built model."""
    model = build_model(config, vocabulary_size=100, num_classes=3)
    ops = {}
    for training in (True, False):
        concrete = tf.function(lambda ids: model(ids, training=training)).get_concrete_function(
            tf.TensorSpec([None, None], tf.int64)
        )
        graph = concrete.graph.as_graph_def()
        ops[training] = {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}
    return ops


@pytest.mark.skipif(not tf.config.list_logical_devices("GPU"), reason="no GPU: the cuDNN kernel is checked where one exists")
@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
@pytest.mark.parametrize("encoder", ["lstm", "gru"])
def test_default_model_stays_on_the_cudnn_kernel(encoder, precision):
    """Right padding, explicit masks and no recurrent dropout keep Keras on CudnnRNNV3 in training and inference."""
    for ops in recurrent_graph_ops(Config(encoder=encoder, num_layers=2, precision=precision)).values():
        assert "CudnnRNNV3" in ops


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
@pytest.mark.parametrize("encoder", ["lstm", "gru"])
def test_where_a_gpu_is_listed_every_recurrent_layer_traces_to_cudnn(encoder, precision, monkeypatch):
    """Without a GPU: Keras and ``FusedLSTM`` choose their path by listing GPUs, so with one listed the
    default model's graph (traced, not run) holds cuDNN's op and no loop over time steps."""
    listed = tf.config.list_logical_devices
    gpu = [tf.config.LogicalDevice("/device:GPU:0", "GPU")]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: gpu if kind == "GPU" else listed(kind))
    for ops in recurrent_graph_ops(Config(encoder=encoder, num_layers=2, precision=precision)).values():
        assert "CudnnRNNV3" in ops
        assert not ops & {"While", "StatelessWhile", "BlockLSTM"}
