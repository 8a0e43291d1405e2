"""use_rnn_threads (textlstm.threads): set before TensorFlow starts, never changed after."""

import subprocess
import sys

import tensorflow as tf

from textlstm.threads import available_cores, use_rnn_threads

COUNTS = "tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads()"


def fresh_python(*lines):
    """The words ``lines`` print in a new Python process, where TensorFlow has not started."""
    code = "\n".join(["import tensorflow as tf", "import textlstm", *lines])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_one_thread_per_op_and_one_op_per_core_before_tensorflow_starts():
    printed = fresh_python(f"print(textlstm.use_rnn_threads(), {COUNTS}, textlstm.use_rnn_threads())")
    assert printed == ["True", "1", str(available_cores()), "False"]


def test_thread_counts_the_caller_chose_are_kept():
    printed = fresh_python("tf.config.threading.set_inter_op_parallelism_threads(1)", f"print(textlstm.use_rnn_threads(), {COUNTS})")
    assert printed == ["False", "0", "1"]


def test_after_tensorflow_has_run_an_op_nothing_changes():
    tf.constant(1.0) + 1.0
    before = (tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
    assert use_rnn_threads() is False
    assert (tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads()) == before


def test_the_command_line_sets_them_as_it_starts():
    printed = fresh_python(
        "from click.testing import CliRunner",
        "import cli",
        "CliRunner().invoke(cli.main, ['datasets', 'list'])",
        f"print({COUNTS})",
    )
    assert printed == ["1", str(available_cores())]
