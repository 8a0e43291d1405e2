"""What a model is made of: each layer's output shape, the RNN states, what the pooling head reads, and
each layer's parameter count from its formula, checked against Keras's own count.

Shapes are written with names for the axes Keras leaves open: ``batch`` (texts per call), ``time``
(tokens per text, the batch's longest) and ``grams`` (n-grams per text). Keras, like PyTorch with
``batch_first=True``, is batch-first: an RNN reads the input cube (batch, time, features). The
time-major view, (time, batch, features), is PyTorch's default and how the cuDNN kernel lays out
the data; the numbers are the same, only the first two axes swap.
"""

import dataclasses

import keras

from textlstm.layers import (
    AttentionPooling,
    BinaryBagLogits,
    BranchMix,
    CjkCharacterPairs,
    NonCjkShare,
    TfidfLogits,
    TokenCharNgrams,
)
from textlstm.members import MemberBlocks
from textlstm.model import MEMBER_SPLIT, member_outputs, member_prefix

POOLING_LAYERS = ("max_pooling", "mean_pooling", "attention_pooling")


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer: ``formula`` (e.g. ``2·4·64·(128+64+1)``) evaluates to ``parameters``; ``keras_parameters``
    is ``layer.count_params()``, which also counts the ``held_at_zero`` weights between members' blocks
    of a shared RNN layer (``textlstm.members``)."""

    name: str
    kind: str
    shape: str
    formula: str
    parameters: int
    keras_parameters: int
    held_at_zero: int = 0


@dataclasses.dataclass(frozen=True)
class Description:
    """``rows`` per layer, ``states`` (one line per RNN layer and direction), ``pooling`` (what the head
    reads) and the total parameter count."""

    rows: list
    states: list
    pooling: str
    total: int
    time_major: bool

    @property
    def held_at_zero(self):
        """Weights Keras counts that are held at 0 between members' blocks (not parameters)."""
        return sum(row.held_at_zero for row in self.rows)


def describe_model(model, time_major=False):
    """Describe an ids -> probabilities model from ``build_model``.

    Args:
        model: the Keras model (token ids (batch, time) -> probabilities (batch, classes)).
        time_major: write sequence shapes as (time, batch, features).

    Returns:
        Description, its rows in ``flow_order``.
    """
    rows, states = [], []
    for layer in flow_order(model):
        formula, parameters = parameter_formula(layer)
        held = sum(int((~variable.constraint.kept(tuple(variable.shape))).sum()) for variable in _blocked(layer))
        shape = _shape(layer, time_major)
        rows.append(LayerRow(layer.name, type(layer).__name__, shape, formula, parameters, layer.count_params(), held))
        states.extend(_states(layer))
    return Description(rows, states, _pooling(model, time_major), sum(row.parameters for row in rows), time_major)


def flow_order(model):
    """The model's layers in the order the data flows through them, one branch at a time.

    Keras lists a functional model's layers by depth, so the layers of parallel branches alternate
    (an embedding, then an n-gram layer, then an LSTM). Here each output is traced back to the
    input depth-first, each layer after all the layers it reads: the recurrent branch (each member's
    embedding in turn, the RNN, each member's head), then the n-gram branch, then their mix, as
    ``textlstm.model`` draws them.

    Returns:
        list of the layers in ``model.layers``, each once.
    """
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.parent_nodes:
            visit(parent)
        order.append(node.operation)

    for tensor in model.outputs:
        operation, node_index, _ = tensor._keras_history
        visit(operation._inbound_nodes[node_index])
    layers = {id(layer) for layer in model.layers}
    return list({id(operation): operation for operation in order if id(operation) in layers}.values())  # a layer called twice: once


def parameter_formula(layer):
    """(formula text, its value) for ``layer``'s weights.

    LSTM 4·u·(in+u+1) (four gates, each with input weights, recurrent weights and a bias); GRU
    3·u·(in+u+2) with Keras's ``reset_after=True`` (two biases per gate), 3·u·(in+u+1) without;
    ×2 for a Bidirectional layer; ×M for an RNN layer shared by M members, with ``u`` and ``in`` per
    member; Embedding V·d; Dense in·out+out; additive attention f·a+a+a; the branch mix 1; an n-gram
    bag's TF-IDF logits S·(C+1)(+C) (an idf and C weights per id, C biases); the words' character
    n-gram table V·64; which tokens are CJK characters V.
    """
    if isinstance(layer, keras.layers.Bidirectional):
        formula, value = _recurrent_formula(layer.forward_layer)
        return f"2·{formula}", 2 * value
    if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return _recurrent_formula(layer)
    if isinstance(layer, keras.layers.Embedding):
        rows, width = layer.input_dim, layer.output_dim
        return f"{rows}·{width}", rows * width
    if isinstance(layer, keras.layers.Dense):
        inputs, outputs = layer.kernel.shape
        return f"{inputs}·{outputs}+{outputs}", inputs * outputs + outputs
    if isinstance(layer, AttentionPooling):
        features, units = layer.kernel.shape
        return f"{features}·{units}+{units}+{units}", features * units + 2 * units
    if isinstance(layer, BranchMix):
        return "1 (the branches' mix, chosen after training)", 1
    if isinstance(layer, TfidfLogits):
        bias = f"+{layer.classes}" if layer.use_bias else ""
        value = layer.size * (layer.classes + 1) + (layer.classes if layer.use_bias else 0)
        return f"{layer.size}·({layer.classes}+1){bias} (idf and logistic regression, fitted by scikit-learn)", value
    if isinstance(layer, BinaryBagLogits):
        value = layer.size * layer.classes + layer.classes
        return f"{layer.size}·{layer.classes}+{layer.classes} (naive-Bayes logistic regression, fitted by scikit-learn)", value
    if isinstance(layer, TokenCharNgrams):
        return f"{layer.vocabulary_size}·{layer.width} (each word's character n-gram ids, not trained)", layer.vocabulary_size * layer.width
    if isinstance(layer, (NonCjkShare, CjkCharacterPairs)):
        return f"{layer.vocabulary_size} (which tokens are CJK characters, not trained)", layer.vocabulary_size
    if layer.weights:
        raise ValueError(f"no parameter formula for layer {layer.name!r} ({type(layer).__name__})")
    return "0", 0


def _recurrent_formula(layer):
    members = _members(layer)
    units, inputs = layer.units // members, layer.cell.kernel.shape[0] // members
    shared = f"{members}·" if members > 1 else ""
    if isinstance(layer, keras.layers.LSTM):
        return f"{shared}4·{units}·({inputs}+{units}+1)", members * 4 * units * (inputs + units + 1)
    biases = 2 if layer.cell.reset_after else 1
    return f"{shared}3·{units}·({inputs}+{units}+{biases})", members * 3 * units * (inputs + units + biases)


def _members(rnn):
    """How many members share an RNN layer (1 when it is not shared)."""
    blocks = rnn.cell.kernel.constraint
    return blocks.members if isinstance(blocks, MemberBlocks) else 1


def _blocked(layer):
    """The layer's weights with zeros held between members' blocks."""
    return [variable for variable in layer.weights if isinstance(variable.constraint, MemberBlocks)]


def _shape(layer, time_major):
    """The layer's output shape with named open axes, e.g. (batch, time, 128)."""
    outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
    written = [_written(output.shape, layer.name, time_major) for output in outputs]
    if len(written) > 1 and len(set(written)) == 1:
        return f"{len(written)} x {written[0]}"
    return " and ".join(written)


def _written(shape, name, time_major):
    """A shape with named open axes: (batch, time, 16); (batch, grams) for the n-gram ids.

    Time-major swaps the first two axes of every shape with a time axis: the sequences (time, batch,
    16), and also the token ids and attention weights (time, batch).
    """
    names = ["batch", "grams" if name in ("hashed_ngrams", "char_ngrams") else "time"]
    dims = [names[i] if size is None and i < 2 else str(size) for i, size in enumerate(shape)]
    if time_major and dims[1:2] == ["time"]:
        dims[0], dims[1] = dims[1], dims[0]
    return f"({', '.join(dims)})"


def _states(layer):
    """One line per direction of an RNN layer: its final h (and c) shapes."""
    if isinstance(layer, keras.layers.Bidirectional):
        directions = [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
    elif isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        directions = [("forward", layer)]
    else:
        return []
    lines = []
    for direction, rnn in directions:
        kept = "h, c" if isinstance(rnn, keras.layers.LSTM) else "h"
        shapes = ", ".join(f"{name} (batch, {rnn.units})" for name in kept.split(", "))
        members = _members(rnn)
        shared = f" = {members} members x {rnn.units // members}" if members > 1 else ""
        lines.append(f"{layer.name} {direction}: {shapes}{shared}")
    return lines


def _pooling(model, time_major):
    """Which tensor the pooling head reads (of the first recurrent member, when there are several)."""
    names = {layer.name for layer in model.layers}
    members = len(member_outputs(model)) or 1
    prefix = member_prefix(1, members)
    last = [layer for layer in model.layers if _states(layer)][-1]
    read = f"{last.name}, {_shape(last, time_major)}"
    each = ""
    if members > 1:
        share = _written(model.get_layer(MEMBER_SPLIT).output[0].shape, "", time_major)
        read = f"member 1's share, {share}, of {read}"
        each = f" (the same in each of the {members} members)"
    for name in POOLING_LAYERS:
        if prefix + name in names:
            return f"{prefix + name} reads the per-step outputs of {read}{each}"
    if isinstance(last, keras.layers.Bidirectional):
        return (
            f"the head reads the final states of {read}: the forward h after the last real token and the "
            f"backward h after the first, concatenated{each}"
        )
    return f"the head reads the final h of {read}, after the last real token{each}"


def format_description(description):
    """The description as a plain-text table and notes."""
    header = ("layer", "type", "output shape", "parameters = formula", "Keras count")
    table = [header] + [
        (
            row.name,
            row.kind,
            row.shape,
            f"{row.parameters:,}" + (f" = {row.formula}" if row.parameters else ""),
            f"{row.keras_parameters:,}" + (f" ({row.held_at_zero:,} held at 0)" if row.held_at_zero else ""),
        )
        for row in description.rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    agree = all(row.parameters + row.held_at_zero == row.keras_parameters for row in description.rows)
    held = description.held_at_zero
    directions = len(description.states)
    lines += [
        "",
        f"total parameters: {description.total:,} ({'equal to' if agree else 'DIFFERENT FROM'} Keras's count"
        + (f" less the {held:,} weights held at 0 between members" if held else "")
        + ")",
        "",
        f"RNN final states, one set per layer and direction ({directions} = layers x directions):",
        *(f"  {line}" for line in description.states),
        "",
        f"pooling: {description.pooling}",
        "",
        "axes: "
        + (
            "time-major (time, batch, features) shown; Keras computes batch-first (batch, time, features)."
            if description.time_major
            else "batch-first (batch, time, features), as Keras computes; --time-major shows (time, batch, features)."
        ),
    ]
    return "\n".join(lines)
