"""Recurrent members sharing one RNN layer as block-diagonal weights (textlstm.members)."""

import keras
import numpy as np
import pytest

from textlstm.config import Config
from textlstm.members import MemberBlockInitializer, MemberBlocks, MemberSplit, member_groups
from textlstm.model import build_model

IDS = np.array([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12], [2, 0, 0, 0, 0, 0]])


def test_member_groups_repeat_per_direction_or_gate():
    # Two members of 2 features, laid out twice (two directions or two gates).
    np.testing.assert_array_equal(member_groups(8, members=2, block=2), [0, 0, 1, 1, 0, 0, 1, 1])


def test_member_blocks_by_hand():
    # Input: two members of 1 feature. Columns: two gates, each two members of 1 unit.
    blocks = MemberBlocks(members=2, row_block=1, column_block=1)
    expected_first = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(blocks.owned((2, 4), 0), expected_first)
    np.testing.assert_array_equal(blocks.kept((2, 4)), [[1, 0, 1, 0], [0, 1, 0, 1]])
    weight = keras.ops.convert_to_tensor(np.arange(1.0, 9.0).reshape(2, 4))
    np.testing.assert_array_equal(blocks(weight), [[1, 0, 3, 0], [0, 6, 0, 8]])
    bias = MemberBlocks(members=2, row_block=None, column_block=1)
    np.testing.assert_array_equal(bias.owned((4,), 1), [False, True, False, True])
    assert MemberBlocks(**blocks.get_config()).get_config() == blocks.get_config()


def test_initializer_gives_each_member_its_own_orthogonal_block_and_zeros_between():
    # A recurrent kernel: 3 members of 2 units in; 2 gates, each 3 members of 2 units, out.
    initializer = MemberBlockInitializer(members=3, row_block=2, column_block=2, base="orthogonal")
    value = np.asarray(initializer((6, 12)))
    blocks = MemberBlocks(3, 2, 2)
    assert np.all(value[~blocks.kept((6, 12))] == 0)
    own = [value[blocks.owned((6, 12), member)].reshape(2, 4) for member in range(3)]
    for block in own:
        np.testing.assert_allclose(block @ block.T, np.eye(2), atol=1e-5)  # orthogonal rows, per block
    assert not np.allclose(own[0], own[1])
    restored = MemberBlockInitializer(**initializer.get_config())
    assert restored.get_config() == initializer.get_config()


def test_same_seed_same_member_blocks():
    starts = []
    for _ in range(2):
        keras.utils.set_random_seed(5)
        model = build_model(Config(members=2, embedding_dim=3, units=2, ngrams=1), vocabulary_size=13, num_classes=2)
        starts.append([np.asarray(weight) for weight in model.weights])
    for first, second in zip(*starts):
        np.testing.assert_array_equal(first, second)


def test_member_split_by_hand_and_round_trip():
    # Bidirectional, 2 members of 1 unit: [forward m1, forward m2, backward m1, backward m2].
    split = MemberSplit(members=2, directions=2)
    first, second = split(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_array_equal(first, [[1.0, 3.0]])
    np.testing.assert_array_equal(second, [[2.0, 4.0]])
    assert MemberSplit.from_config(split.get_config()).get_config() == split.get_config()


def _copy_member(fused, single, member):
    """Give ``single`` (one member, no n-gram branch) member ``member``'s weights from ``fused``."""
    prefix = f"member{member + 1}_"
    for layer in single.layers:
        if not layer.weights:
            continue
        if layer.name == "probabilities":
            source = fused.get_layer(f"member{member + 1}_probabilities")
        elif fused_has(fused, prefix + layer.name):
            source = fused.get_layer(prefix + layer.name)
        else:
            source = fused.get_layer(layer.name)  # a shared RNN layer: take the member's blocks
        values = []
        for source_weight, target_weight in zip(source.weights, layer.weights):
            value = np.asarray(source_weight)
            if isinstance(source_weight.constraint, MemberBlocks):
                value = value[source_weight.constraint.owned(value.shape, member)]
            values.append(value.reshape(target_weight.shape))
        layer.set_weights(values)


def fused_has(model, name):
    return any(layer.name == name for layer in model.layers)


@pytest.mark.parametrize(
    "settings",
    [
        dict(encoder="lstm", bidirectional=True, num_layers=2, pooling="max"),
        dict(encoder="gru", bidirectional=False, num_layers=1, pooling="last"),
        dict(encoder="lstm", bidirectional=True, num_layers=1, pooling="attention"),
    ],
)
def test_each_member_computes_what_a_separate_model_with_its_weights_does(settings):
    """The shared layer is only a faster way to run the members: member j's output equals that of a
    one-member model holding member j's embedding, blocks and head."""
    common = dict(embedding_dim=3, units=2, attention_units=3, **settings)
    keras.utils.set_random_seed(3)
    fused = build_model(Config(members=3, ngram_buckets=5, **common), vocabulary_size=13, num_classes=3)
    outputs = keras.Model(fused.input, [fused.get_layer(f"member{j}_probabilities").output for j in (1, 2, 3)])(IDS)
    for member in range(3):
        single = build_model(Config(members=1, ngrams=1, **common), vocabulary_size=13, num_classes=3)
        _copy_member(fused, single, member)
        np.testing.assert_allclose(outputs[member], single(IDS), atol=1e-6)


def test_training_keeps_the_blocks_between_members_at_zero():
    model = build_model(Config(members=2, embedding_dim=3, units=2, ngrams=1), vocabulary_size=13, num_classes=2)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="categorical_crossentropy")
    model.fit(IDS, np.eye(2)[[0, 1, 0]], epochs=3, verbose=0)
    for layer in (model.get_layer("bidirectional_lstm_1").forward_layer, model.get_layer("bidirectional_lstm_1").backward_layer):
        for weight in (layer.cell.kernel, layer.cell.recurrent_kernel):
            value = np.asarray(weight)
            between = ~weight.constraint.kept(value.shape)
            assert between.any() and np.all(value[between] == 0)
            assert np.all(value[~between] != 0)
