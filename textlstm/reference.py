"""Plain-NumPy forward passes of Keras's LSTM and GRU, written to be read next to the equations.

Shapes follow Keras (batch first): inputs ``x`` are (batch, time, features); ``mask`` is (batch, time),
True on real tokens (padding at the end). A layer with ``units`` = u returns the per-step outputs
(batch, time, u) and its final state: h (batch, u) and, for the LSTM, the cell c (batch, u).

LSTM (Keras weights: kernel W (features, 4u), recurrent_kernel U (u, 4u), bias b (4u,), gate order
i, f, c, o; σ is the logistic sigmoid)::

    i_t = σ(x_t W_i + h_{t-1} U_i + b_i)          input gate
    f_t = σ(x_t W_f + h_{t-1} U_f + b_f)          forget gate
    g_t = tanh(x_t W_c + h_{t-1} U_c + b_c)       candidate cell
    o_t = σ(x_t W_o + h_{t-1} U_o + b_o)          output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)                         the step's output

    parameters: 4 * u * (features + u + 1)

GRU (Keras's default ``reset_after=True``: kernel W (features, 3u), recurrent_kernel U (u, 3u),
bias (2, 3u) = an input bias b and a recurrent bias r; gate order z, r, h)::

    z_t = σ(x_t W_z + b_z + h_{t-1} U_z + r_z)              update gate
    r_t = σ(x_t W_r + b_r + h_{t-1} U_r + r_r)              reset gate
    n_t = tanh(x_t W_h + b_h + r_t * (h_{t-1} U_h + r_h))   candidate (reset applied after U)
    h_t = z_t * h_{t-1} + (1 - z_t) * n_t

    parameters: 3 * u * (features + u + 2)

Masks: at a padded step the state is carried over unchanged. The output there is the carried h for
a layer on its own, and zeros inside a ``Bidirectional`` that returns sequences (Keras's
``zero_output_for_mask``).

Bidirectional: a second layer reads the sequence backwards (its first real step is the last token);
its outputs are put back in time order and concatenated after the forward ones, (batch, time, 2u),
and each direction keeps its own final states. Stacked layers feed each layer's per-step outputs to
the next, so ``num_layers`` layers of ``directions`` directions keep num_layers x directions h (and c).
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x, kernel, recurrent_kernel, bias, mask=None, reverse=False, zero_output_for_mask=False):
    """One LSTM layer.

    Args:
        x: (batch, time, features).
        kernel, recurrent_kernel, bias: (features, 4u), (u, 4u), (4u,), Keras's gate order i, f, c, o.
        mask: (batch, time) bool or None.
        reverse: read the sequence from the last step to the first (``go_backwards``); the outputs
            are returned in the original time order.

    Returns:
        outputs (batch, time, u), h (batch, u), c (batch, u).
    """
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    mask = np.ones((batch, time), bool) if mask is None else np.asarray(mask, bool)
    h = np.zeros((batch, units), x.dtype)
    c = np.zeros((batch, units), x.dtype)
    outputs = np.zeros((batch, time, units), x.dtype)
    for t in reversed(range(time)) if reverse else range(time):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias  # (batch, 4u)
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units : 2 * units])
        g = np.tanh(z[:, 2 * units : 3 * units])
        o = sigmoid(z[:, 3 * units :])
        new_c = f * c + i * g
        new_h = o * np.tanh(new_c)
        real = mask[:, t, None]  # (batch, 1)
        c = np.where(real, new_c, c)
        h = np.where(real, new_h, h)
        outputs[:, t] = np.where(real, new_h, 0.0 if zero_output_for_mask else h)
    return outputs, h, c


def gru(x, kernel, recurrent_kernel, bias, mask=None, reverse=False, zero_output_for_mask=False):
    """One GRU layer, Keras's ``reset_after=True`` convention.

    Args:
        x: (batch, time, features).
        kernel, recurrent_kernel, bias: (features, 3u), (u, 3u), (2, 3u) [input bias; recurrent bias],
            gate order z, r, h.
        mask, reverse, zero_output_for_mask: as for ``lstm``.

    Returns:
        outputs (batch, time, u), h (batch, u).
    """
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    mask = np.ones((batch, time), bool) if mask is None else np.asarray(mask, bool)
    input_bias, recurrent_bias = bias
    h = np.zeros((batch, units), x.dtype)
    outputs = np.zeros((batch, time, units), x.dtype)
    for t in reversed(range(time)) if reverse else range(time):
        from_input = x[:, t] @ kernel + input_bias  # (batch, 3u)
        from_state = h @ recurrent_kernel + recurrent_bias  # (batch, 3u)
        z = sigmoid(from_input[:, :units] + from_state[:, :units])
        r = sigmoid(from_input[:, units : 2 * units] + from_state[:, units : 2 * units])
        n = np.tanh(from_input[:, 2 * units :] + r * from_state[:, 2 * units :])
        new_h = z * h + (1.0 - z) * n
        real = mask[:, t, None]
        h = np.where(real, new_h, h)
        outputs[:, t] = np.where(real, new_h, 0.0 if zero_output_for_mask else h)
    return outputs, h


def bidirectional(step, x, forward, backward, mask=None, zero_output_for_mask=True):
    """Both directions of one layer, outputs concatenated forward first.

    Args:
        step: ``lstm`` or ``gru``.
        forward, backward: each direction's (kernel, recurrent_kernel, bias).
        zero_output_for_mask: Keras's Bidirectional sets it when it returns sequences.

    Returns:
        outputs (batch, time, 2u), then the forward direction's final states, then the backward's
        (h, c, h, c for the LSTM; h, h for the GRU), as Keras's ``return_state`` orders them.
    """
    ahead = step(x, *forward, mask=mask, zero_output_for_mask=zero_output_for_mask)
    behind = step(x, *backward, mask=mask, reverse=True, zero_output_for_mask=zero_output_for_mask)
    return (np.concatenate([ahead[0], behind[0]], axis=-1), *ahead[1:], *behind[1:])


def layer_weights(layer):
    """Keras (kernel, recurrent_kernel, bias) of an LSTM or GRU layer, or per direction of a Bidirectional.

    Returns:
        ("lstm" | "gru", [weights of each direction]) with one entry, or two (forward, backward).
    """
    import keras

    directions = [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
    kind = "lstm" if isinstance(directions[0], keras.layers.LSTM) else "gru"
    weights = [tuple(np.asarray(w) for w in (d.cell.kernel, d.cell.recurrent_kernel, d.cell.bias)) for d in directions]
    return kind, weights


def run_layer(layer, x, mask=None):
    """Reproduce a Keras LSTM/GRU layer (or a Bidirectional one) with the functions above.

    Returns:
        (outputs (batch, time, u or 2u), [final states: h, c per direction for the LSTM, h for the GRU]).
    """
    kind, weights = layer_weights(layer)
    step = lstm if kind == "lstm" else gru
    if len(weights) == 2:
        zeros = layer.forward_layer.zero_output_for_mask
        outputs, *states = bidirectional(step, x, weights[0], weights[1], mask, zeros)
    else:
        outputs, *states = step(x, *weights[0], mask=mask, zero_output_for_mask=layer.zero_output_for_mask)
    return outputs, states


def run_stack(layers, x, mask=None):
    """Stacked layers: each reads the previous one's per-step outputs.

    Returns:
        (the last layer's outputs, [each layer's final states]), i.e. num_layers x directions h (and c).
    """
    states = []
    for layer in layers:
        x, layer_states = run_layer(layer, x, mask)
        states.append(layer_states)
    return x, states
