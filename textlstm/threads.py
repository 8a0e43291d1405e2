"""TensorFlow's CPU threads for recurrent models: one thread per op, as many ops at once as cores.

By default TensorFlow splits each op over all cores (intra-op threads) and runs that many ops at
once (inter-op threads). A recurrent layer is a chain of small per-step matrix products that gain
little from being split, while the forward and backward directions of a bidirectional layer (and
the n-gram branch beside them) are independent and can run side by side, one per core. On this
project's 2-core machine, the speed benchmark's sst2 fit (Embedding 128, BiLSTM 64, batch 64, 6
epochs) took 14.5 -> 12.4 s with these threads, and the keras-io recipe's fit of the same model
27.8 -> 20.3 s (means of 2-3 runs), with the same accuracy.

TensorFlow takes thread settings only before it runs its first op, so the ``textlstm`` command
sets them as it starts; from Python, call ``use_rnn_threads()`` first.
"""

import os

import tensorflow as tf


def available_cores():
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_rnn_threads():
    """Run each TensorFlow op on one thread and up to ``available_cores()`` ops at once.

    Returns:
        True when set; False, changing nothing, when TensorFlow has run an op already or its thread
        counts were set before (by the caller, who chose them).
    """
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() or threading.get_inter_op_parallelism_threads():
        return False
    try:
        threading.set_intra_op_parallelism_threads(1)
        threading.set_inter_op_parallelism_threads(available_cores())
    except RuntimeError:  # TensorFlow has started: its thread pools exist
        return False
    return True
