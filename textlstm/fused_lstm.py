"""An LSTM that runs small batches on CPU through TensorFlow's fused ``BlockLSTM`` kernel.

On CPU, Keras runs an LSTM as a ``while`` loop of a dozen small ops per time step, so a small batch
pays per-op overhead, not arithmetic. TensorFlow's ``BlockLSTM`` op runs the whole sequence in one
kernel. The same masked BiLSTM (64 units over 128 features) on 2 cores takes, forward only:

    batch 1:    20 steps 1.52 ms -> 0.39 ms;   155 steps 9.07 ms -> 1.47 ms
    batch 32:   20 steps 3.02 ms -> 2.35 ms;   155 steps 21.9 ms -> 16.6 ms
    batch 64:   20 steps 4.43 ms -> 5.88 ms    (the Keras loop wins from here on)

and a training step (gradients included) of the default model's layer (48 units over 96 features)
at batch 32 takes 8.9 -> 5.4 ms over 20 steps and 26.0 -> 14.7 ms over 100. So ``FusedLSTM``
predicts batches of at most ``FUSED_MAX_BATCH`` texts on the kernel and larger ones on the Keras
loop. Training batches are never larger than the model's training batch size, so a model that
trains at most ``FUSED_TRAINING_MAX_BATCH`` texts a batch trains on the kernel alone: no switch,
and no gradient of the Keras loop to build. At batch 64 that pays in whole fits, tracing
included: the speed benchmark's sst2 fit (Embedding 128, BiLSTM 64, 6 epochs) took 15.7 -> 14.5 s,
and 16.5 -> 12.4 s with ``textlstm.threads.use_rnn_threads`` (means of 3-5 runs); on 5,000 long
online_shopping texts it was even (33.9 vs 32.3 s with those threads). On a GPU ``FusedLSTM``
leaves Keras's cuDNN path alone. The weights, the configuration and the outputs (to float
rounding) are those of ``keras.layers.LSTM``.

The kernel reads gates in the order (input, cell, forget, output) where Keras stores (input,
forget, cell, output), and it has no mask: it takes each row's length from the mask, which must be
right-padded (True then False, as textlstm's token ids always are), reverses each row within its
own length for ``go_backwards`` (as cuDNN does), and zeroes or holds the padded steps as Keras does.
``BlockLSTMV2`` would take Keras's gate order, but its registered gradient is V1's, which reads the
gates in V1's order, so the V1 op with reordered weights is used for training and inference alike.
"""

import keras
import tensorflow as tf

# Inference batches of at most this many rows take the kernel; the export's serving signature also
# runs its length-sorted groups at this size (``textlstm.export.serving_chunk``).
FUSED_MAX_BATCH = 32
# Larger training batches train faster on the kernel too (batch 256: 20-35% off the recurrent
# part's time), but on online_shopping_10cats, the one benchmark set trained at batch 256, the
# whole fit gained 8% and all three seeds lost accuracy (90.06 -> 89.95), so they keep the Keras
# loop (benchmarks/EXPERIMENTS.md, "Fused LSTM kernel on CPU").
FUSED_TRAINING_MAX_BATCH = 64


def _icfo(weights):
    """Keras's gate blocks (i, f, c, o) along the last axis -> BlockLSTM's (i, c, f, o)."""
    i, f, c, o = tf.split(weights, 4, axis=-1)
    return tf.concat([i, c, f, o], axis=-1)


def _last_step(sequence, lengths, empty):
    """(batch, time, units) at each row's step ``length - 1``, ``empty`` (batch, units) for rows of length 0."""
    picked = tf.gather(sequence, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)
    return tf.where(lengths[:, None] > 0, picked, empty)


@keras.saving.register_keras_serializable(package="textlstm")
class FusedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` whose batches of at most ``FUSED_MAX_BATCH`` rows run as one fused kernel on CPU.

    Args:
        fused_training: whether training batches take the kernel, all of them and whatever their
            size; else they take the Keras loop (``build_model`` sets it from the training batch
            size and ``FUSED_TRAINING_MAX_BATCH``). Inference always switches on the batch size.
        **kwargs: as ``keras.layers.LSTM``.

    Input: (batch, time, features), mask (batch, time) right-padded. Output and states as
    ``keras.layers.LSTM`` with the same arguments.
    """

    def __init__(self, *args, fused_training=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fused_training = bool(fused_training)

    def get_config(self):
        return {**super().get_config(), "fused_training": self.fused_training}

    def fusable(self):
        """Whether this layer can run on the kernel here: TensorFlow on CPU, float32, no dropout inside the
        cell, Keras's default activations."""
        cell = self.cell
        return (
            keras.backend.backend() == "tensorflow"
            and self.compute_dtype == "float32"
            and not tf.config.list_logical_devices("GPU")
            and not (cell.dropout or cell.recurrent_dropout or self.unroll or self.stateful)
            and cell.use_bias
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """(last output (batch, units), outputs (batch, time, units) in processing order, (h, c))."""
        keras_loop = lambda: keras.layers.LSTM.inner_loop(self, sequences, initial_state, mask, training)  # noqa: E731
        if not self.fusable() or (training and not self.fused_training):
            return keras_loop()
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        fused = lambda: self._fused_loop(sequences, initial_state, mask)  # noqa: E731
        if training:
            return fused()
        return tf.cond(tf.shape(sequences)[0] <= FUSED_MAX_BATCH, fused, keras_loop)

    def _fused_loop(self, sequences, initial_state, mask):
        if mask is None:
            lengths = tf.fill([tf.shape(sequences)[0]], tf.cast(tf.shape(sequences)[1], tf.int64))
            mask = tf.ones(tf.shape(sequences)[:2], tf.bool)
        else:
            mask = tf.cast(mask, tf.bool)
            lengths = tf.reduce_sum(tf.cast(mask, tf.int64), axis=1)  # (batch,)
        inputs = tf.transpose(sequences, [1, 0, 2])  # (time, batch, features)
        if self.go_backwards:
            inputs = tf.reverse_sequence(inputs, lengths, seq_axis=0, batch_axis=1)
        cell = self.cell
        no_peephole = tf.zeros([cell.units], sequences.dtype)
        block = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.reduce_max(tf.concat([lengths, [0]], axis=0)),
            x=inputs,
            cs_prev=initial_state[1],
            h_prev=initial_state[0],
            w=_icfo(tf.concat([cell.kernel, cell.recurrent_kernel], axis=0)),
            wci=no_peephole,
            wcf=no_peephole,
            wco=no_peephole,
            b=_icfo(cell.bias),
            forget_bias=0.0,
            cell_clip=-1.0,
            use_peephole=False,
        )
        steps = tf.transpose(block[6], [1, 0, 2])  # h per processed step, (batch, time, units)
        cells = tf.transpose(block[1], [1, 0, 2])  # c per processed step
        h = _last_step(steps, lengths, initial_state[0])  # an empty row keeps its initial state
        c = _last_step(cells, lengths, initial_state[1])
        keep = mask[:, :, None]
        if self.go_backwards:
            steps = tf.reverse_sequence(steps, lengths, seq_axis=1, batch_axis=0)
            outputs = tf.reverse(tf.where(keep, steps, tf.zeros_like(steps)), axis=[1])
        else:
            held = tf.zeros_like(steps) if self.zero_output_for_mask else tf.broadcast_to(h[:, None], tf.shape(steps))
            outputs = tf.where(keep, steps, held)
        if not self.return_sequences:
            outputs = h[:, None]  # what the Keras loop gives without return_sequences
        return h, outputs, (h, c)


def predicts_fused(model):
    """Whether every recurrent layer of ``model`` (Bidirectional ones included) is a ``FusedLSTM`` that
    predicts batches of at most ``FUSED_MAX_BATCH`` texts on the kernel here."""
    recurrent = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            recurrent += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, keras.layers.RNN):
            recurrent.append(layer)
    return bool(recurrent) and all(isinstance(layer, FusedLSTM) and layer.fusable() for layer in recurrent)
