"""Adam whose update of each variable is one fused TensorFlow kernel.

``keras.optimizers.Adam`` updates a variable with about ten element-wise ops, each a full pass over
the variable and its two moments, and densifies an embedding's sparse gradient (an
``IndexedSlices`` of the rows a batch used) once for the first moment and again for the second.
For textlstm's default model that is most of a training step: three 20,000 x 32 token embeddings
and a (20,000 + 2^18) x classes n-gram table are rewritten every step, because Adam moves every row
(its moments decay even where a batch has no gradient). TensorFlow's ``ResourceApplyAdam`` does
the same update in one pass, after the gradient is densified once. The arithmetic is Keras's:

    m <- m + (g - m) (1 - beta_1)
    v <- v + (g^2 - v) (1 - beta_2)
    variable <- variable - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

at step ``t`` (1-based). It is Keras's Adam to float rounding, but for one thing: where a batch
uses a row several times, Keras squares each use's gradient before summing them into ``v``
(``sum g_i^2``), while this squares the row's gradient (``(sum g_i)^2``), as Adam on the dense
gradient does.
"""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="textlstm")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (without AMSGrad), each variable updated by ``ResourceApplyAdam``.

    Args:
        as ``keras.optimizers.Adam``; ``amsgrad`` must be False.
    """

    def __init__(self, *args, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("FusedAdam has no AMSGrad variant; use keras.optimizers.Adam(amsgrad=True)")
        super().__init__(*args, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        """One Adam step of ``variable`` from ``gradient`` (a tensor of its shape, or ``IndexedSlices``)."""
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(tf.convert_to_tensor(gradient), dtype),
        )
