"""describe: parameter formulas equal Keras's counts; shapes, states and the pooling input are named."""

import keras
import pytest

from textlstm.config import Config
from textlstm.describe import describe_model, flow_order, format_description, parameter_formula
from textlstm.model import build_model


@pytest.mark.parametrize("encoder", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_formulas_equal_keras_counts(encoder, num_layers, bidirectional):
    config = Config(encoder=encoder, num_layers=num_layers, bidirectional=bidirectional, units=7, embedding_dim=5, ngram_buckets=11, members=1)
    description = describe_model(build_model(config, vocabulary_size=13, num_classes=3))
    for row in description.rows:
        assert row.parameters == row.keras_parameters, row
    assert description.total == build_model(config, 13, 3).count_params()
    assert len(description.states) == num_layers * (2 if bidirectional else 1)


def test_lstm_formula_by_hand():
    model = build_model(Config(units=64, embedding_dim=128, ngrams=1, members=1), vocabulary_size=1000, num_classes=2)
    formula, value = parameter_formula(model.get_layer("bidirectional_lstm_1"))
    assert formula == "2·4·64·(128+64+1)" and value == 2 * 4 * 64 * (128 + 64 + 1) == 98_816
    assert parameter_formula(model.get_layer("embedding")) == ("1000·128", 128_000)
    assert parameter_formula(model.get_layer("probabilities")) == ("128·2+2", 258)


def test_gru_formula_uses_reset_after():
    model = build_model(Config(encoder="gru", bidirectional=False, units=4, embedding_dim=3, ngrams=1, members=1), 10, 2)
    assert parameter_formula(model.get_layer("gru_1")) == ("3·4·(3+4+2)", 108)


def test_shapes_states_and_pooling_are_named():
    model = build_model(Config(units=8, embedding_dim=6, num_layers=2, pooling="attention", members=1), 20, 3)
    description = describe_model(model)
    shapes = {row.name: row.shape for row in description.rows}
    assert shapes["embedding"] == "(batch, time, 6)"
    assert shapes["bidirectional_lstm_2"] == "(batch, time, 16)"
    assert shapes["hashed_ngrams"] == "(batch, grams)"
    assert shapes["attention_pooling"] == "(batch, 16) and (batch, time)"
    assert description.states == [
        "bidirectional_lstm_1 forward: h (batch, 8), c (batch, 8)",
        "bidirectional_lstm_1 backward: h (batch, 8), c (batch, 8)",
        "bidirectional_lstm_2 forward: h (batch, 8), c (batch, 8)",
        "bidirectional_lstm_2 backward: h (batch, 8), c (batch, 8)",
    ]
    assert description.pooling == "attention_pooling reads the per-step outputs of bidirectional_lstm_2, (batch, time, 16)"
    major = describe_model(model, time_major=True)
    major_shapes = {row.name: row.shape for row in major.rows}
    assert major_shapes["embedding"] == "(time, batch, 6)"
    assert major_shapes["token_ids"] == "(time, batch)" and major_shapes["hashed_ngrams"] == "(batch, grams)"
    assert major_shapes["attention_pooling"] == "(batch, 16) and (time, batch)"
    text = format_description(description)
    assert "equal to Keras's count" in text and "(4 = layers x directions)" in text


def test_last_state_pooling_reads_the_final_states():
    model = build_model(Config(units=8, embedding_dim=6, pooling="last", members=1), 20, 3)
    assert "final states of bidirectional_lstm_1, (batch, 16)" in describe_model(model).pooling


def test_members_share_each_rnn_layer_and_each_has_the_same_head():
    model = build_model(Config(units=8, embedding_dim=6, members=3, pooling="max"), 20, 3)
    description = describe_model(model)
    rnn = {row.name: row for row in description.rows}["bidirectional_lstm_1"]
    # Per member and direction 4·8·(6+8+1); Keras also counts the full 24-unit layer's zeros between members.
    assert rnn.formula == "2·3·4·8·(6+8+1)" and rnn.parameters == 2 * 3 * 4 * 8 * 15 == 2880
    assert rnn.keras_parameters == 2 * 4 * 24 * (18 + 24 + 1) and rnn.held_at_zero == rnn.keras_parameters - 2880
    assert description.states == [
        "bidirectional_lstm_1 forward: h (batch, 24), c (batch, 24) = 3 members x 8",
        "bidirectional_lstm_1 backward: h (batch, 24), c (batch, 24) = 3 members x 8",
    ]
    assert description.pooling == (
        "member1_max_pooling reads the per-step outputs of member 1's share, (batch, time, 16), of "
        "bidirectional_lstm_1, (batch, time, 48) (the same in each of the 3 members)"
    )
    assert description.total == model.count_params() - rnn.held_at_zero
    assert "equal to Keras's count less the 5,376 weights held at 0 between members" in format_description(description)


def test_layers_are_listed_as_the_data_flows_one_branch_at_a_time():
    """Keras lists the branches' layers by depth, alternating; describe lists each branch in turn:
    each member's embedding, the shared RNN, each member's head, then the n-gram branch, then the mix."""
    model = build_model(Config(units=8, embedding_dim=6, members=2, pooling="max"), 20, 3)
    assert [layer.name for layer in model.layers][:4] == ["token_ids", "member1_embedding", "member2_embedding", "hashed_ngrams"]
    assert [row.name for row in describe_model(model).rows] == [
        "token_ids",
        "member1_embedding", "member1_embedding_dropout", "member2_embedding", "member2_embedding_dropout",
        "member_embeddings", "bidirectional_lstm_1", "member_split",
        "member1_max_pooling", "member1_pooled_dropout", "member1_probabilities",
        "member2_max_pooling", "member2_pooled_dropout", "member2_probabilities",
        "recurrent_probabilities",
        "hashed_ngrams", "ngram_weights", "char_ngrams", "char_ngram_weights", "non_cjk_share", "ngram_logits",
        "tfidf_probabilities", "naive_bayes_weights", "naive_bayes_probabilities", "ngram_probabilities",
        "probabilities",
    ]
    assert sorted(layer.name for layer in flow_order(model)) == sorted(layer.name for layer in model.layers)


def test_a_layer_called_twice_is_listed_once_where_it_is_first_read():
    inputs = keras.Input((3,), name="x")
    shared = keras.layers.Dense(3, name="shared")
    outputs = keras.layers.Add(name="sum")([shared(inputs), shared(keras.layers.ReLU(name="relu")(inputs))])
    assert [layer.name for layer in flow_order(keras.Model(inputs, outputs))] == ["x", "shared", "relu", "sum"]
