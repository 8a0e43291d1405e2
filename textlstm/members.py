"""Several recurrent members in one recurrent layer: block-diagonal weights.

With ``members = M`` the recurrent members share each RNN layer: one LSTM (or GRU) of ``M·u``
units per direction reads the M embeddings concatenated, ``(batch, time, M·d)``, and runs one loop
over time instead of M. Its features are grouped by member: along the input, M blocks of ``d``
(the embeddings) or of ``u`` (a lower layer's output, per direction); along the gates, each gate's
``M·u`` columns are M blocks of ``u``. ``MemberBlocks`` keeps every weight that connects one member's
block to another's at exactly zero, so member j's gates see only member j's inputs and states, and
the layer computes what M separate layers of ``u`` units would.

Example, M = 2, u = 1, one gate: the recurrent kernel is ``[[w1, 0], [0, w2]]``.
"""

import keras
import numpy as np
from keras import ops


def member_groups(size, members, block):
    """The member (0-based) of each of ``size`` features laid out as repeats of ``members`` blocks of
    ``block``: ``(index mod members·block) // block``; shape (size,)."""
    return (np.arange(size) % (members * block)) // block


@keras.saving.register_keras_serializable(package="textlstm")
class MemberBlocks(keras.constraints.Constraint):
    """Zero every weight that connects two different members' features.

    Args:
        members: M.
        row_block: features per member block along the rows (a kernel's input), or None for a bias,
            grouped by its last axis only (nothing to zero).
        column_block: features per member block along the columns (the gates' units).

    Weight shape: (rows, columns), or a bias (columns,) or (2, columns).
    """

    def __init__(self, members, row_block, column_block):
        self.members = int(members)
        self.row_block = None if row_block is None else int(row_block)
        self.column_block = int(column_block)

    def owned(self, shape, member):
        """Bool array of ``shape``, True on the weights of member ``member`` (0-based)."""
        columns = member_groups(shape[-1], self.members, self.column_block) == member
        if self.row_block is None:
            return np.broadcast_to(columns, shape)  # GRU's bias is (2, columns) with reset_after
        rows = member_groups(shape[0], self.members, self.row_block) == member
        return rows[:, None] & columns[None, :]

    def kept(self, shape):
        """Bool array of ``shape``, True on the weights of some member (False where they are held at 0)."""
        return np.logical_or.reduce([self.owned(shape, member) for member in range(self.members)])

    def __call__(self, weight):
        if self.row_block is None:
            return weight
        return weight * ops.cast(self.kept(tuple(weight.shape)), weight.dtype)

    def get_config(self):
        return {"members": self.members, "row_block": self.row_block, "column_block": self.column_block}


@keras.saving.register_keras_serializable(package="textlstm")
class MemberBlockInitializer(keras.initializers.Initializer):
    """Start each member's block from ``base`` at the block's own shape, and the rest at zero.

    Glorot scales by fan-in and fan-out and an orthogonal start is orthogonal per matrix, so each
    member starts as a separate ``u``-unit layer would, not as a slice of one ``M·u`` layer.

    Args:
        members, row_block, column_block: as ``MemberBlocks``.
        base: a Keras initializer (name, config or unseeded instance) for one member's block; a
            fresh one draws each member's block, as an unseeded Keras initializer repeats its values.

    Weight shape: (rows, columns), a kernel.
    """

    def __init__(self, members, row_block, column_block, base):
        self.blocks = MemberBlocks(members, row_block, column_block)
        self.base = keras.initializers.serialize(keras.initializers.get(base))

    def __call__(self, shape, dtype=None):
        value = np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype or "float32"))
        for member in range(self.blocks.members):
            owned = self.blocks.owned(shape, member)
            block_shape = (int(owned.any(axis=1).sum()), int(owned.any(axis=0).sum()))
            block = keras.initializers.get(self.base)(block_shape, dtype=dtype)
            value[owned] = ops.convert_to_numpy(block).reshape(-1)
        return ops.convert_to_tensor(value, dtype=dtype)

    def get_config(self):
        return {**self.blocks.get_config(), "base": self.base}


@keras.saving.register_keras_serializable(package="textlstm")
class MemberSplit(keras.layers.Layer):
    """Cut a shared RNN layer's output into each member's features.

    The output of a layer of ``M·u`` units per direction is ``[forward: M blocks of u | backward:
    M blocks of u]``; member j's features are its forward block, then its backward block.

    Args:
        members: M.
        directions: 2 after a Bidirectional layer, else 1.

    Input shape: (batch, [time,] directions·M·u). Output: M tensors of (batch, [time,] directions·u).
    """

    def __init__(self, members, directions, **kwargs):
        super().__init__(**kwargs)
        self.members = int(members)
        self.directions = int(directions)
        self.supports_masking = True

    def call(self, inputs):
        blocks = ops.split(inputs, self.directions * self.members, axis=-1)  # direction-major
        split = []
        for member in range(self.members):
            own = [blocks[direction * self.members + member] for direction in range(self.directions)]
            split.append(own[0] if len(own) == 1 else ops.concatenate(own, axis=-1))
        return split

    def compute_mask(self, inputs, mask=None):
        return [mask] * self.members

    def compute_output_shape(self, input_shape):
        width = None if input_shape[-1] is None else input_shape[-1] // self.members
        return [(*input_shape[:-1], width)] * self.members

    def get_config(self):
        config = super().get_config()
        config.update(members=self.members, directions=self.directions)
        return config


def member_weights(model, prefix, member):
    """The weights member ``member`` (0-based) owns: all of its own layers' (names starting with
    ``prefix``), and its blocks of the shared RNN layers.

    Returns:
        [(variable, mask)]: ``mask`` is None for a whole variable, else a bool array of its shape.
    """
    owned = []
    for layer in model.layers:
        for variable in layer.weights:
            if isinstance(variable.constraint, MemberBlocks):
                owned.append((variable, variable.constraint.owned(tuple(variable.shape), member)))
            elif layer.name.startswith(prefix):
                owned.append((variable, None))
    return owned
