"""Training-step time of the default model (three members sharing one loop) against one larger stack.

    python benchmarks/member_step.py                      # 24 and 120 tokens
    python benchmarks/member_step.py --lengths 32 --steps 200
    python benchmarks/member_step.py --keras-adam         # Keras's Adam instead of textlstm's FusedAdam

Random token ids (vocabulary 20,000, every text of the given length), two classes, batch 32, the
whole model as ``build_model`` makes it (n-gram branch included), compiled with one loss and the
optimizer textlstm trains with (``FusedAdam``, or Keras's Adam with ``--keras-adam``). After a
10-step warm-up, the models take turns for ``--rounds`` timed epochs of ``--steps`` steps each; the
table gives the median milliseconds per step. Models:

- ``members 3 x 32/16``: the default, three members of embedding 32 and BiLSTM 16 in one loop;
- ``members 1 x 128/64``: one stack of embedding 128 and BiLSTM 64 (the earlier default);
- ``members 3 x 32/16, separate``: the same three members as three separate layer stacks, each
  with its own loop over time (how ``--members`` first ran), built here from one-member models.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from textlstm import Config  # noqa: E402
from textlstm.fused_adam import FusedAdam  # noqa: E402
from textlstm.model import build_model  # noqa: E402

VOCABULARY, CLASSES, BATCH = 20000, 2, 32


def separate_members(members, settings):
    """``members`` one-member models over the same ids, outputs averaged: each runs its own loop
    over time, and the first also carries the n-gram branch, as the shared model does once."""
    ids = keras.Input(shape=(None,), dtype="int64")
    outputs = []
    for member in range(members):
        alone = build_model(Config(members=1, ngrams=2 if member == 0 else 1, **settings), VOCABULARY, CLASSES)
        outputs.append(keras.Model(alone.input, alone.output, name=f"separate_member{member + 1}")(ids))
    return keras.Model(ids, keras.layers.Average()(outputs))


def timed_steps(model, ids, targets):
    """Milliseconds per training step over one epoch of (ids, targets)."""
    start = time.perf_counter()
    model.fit(ids, targets, batch_size=BATCH, epochs=1, verbose=0)
    return 1000 * (time.perf_counter() - start) / (len(ids) // BATCH)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[24, 120], help="tokens per text")
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per model, length and round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the models taking turns; the median is shown")
    parser.add_argument("--keras-adam", action="store_true", help="train with keras.optimizers.Adam, not FusedAdam")
    args = parser.parse_args()
    for option, values in (("--lengths", args.lengths), ("--steps", [args.steps]), ("--rounds", [args.rounds])):
        if min(values) < 1:
            parser.error(f"{option}: expected integers >= 1, got {min(values)}")
    small = dict(embedding_dim=32, units=16)
    adam = keras.optimizers.Adam if args.keras_adam else FusedAdam
    builders = {
        "members 3 x 32/16": lambda: build_model(Config(members=3, **small), VOCABULARY, CLASSES),
        "members 1 x 128/64": lambda: build_model(Config(members=1, embedding_dim=128, units=64), VOCABULARY, CLASSES),
        "members 3 x 32/16, separate": lambda: separate_members(3, small),
    }
    rng = np.random.default_rng(0)
    times = {name: {} for name in builders}
    for length in args.lengths:
        ids = rng.integers(1, VOCABULARY, size=(BATCH * args.steps, length))
        targets = np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH * args.steps)]
        models = {name: build() for name, build in builders.items()}
        for model in models.values():
            model.compile(adam(1e-3, clipnorm=1.0), "categorical_crossentropy")
            model.fit(ids[: BATCH * 10], targets[: BATCH * 10], batch_size=BATCH, epochs=1, verbose=0)  # warm-up
        rounds = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, model in models.items():
                rounds[name].append(timed_steps(model, ids, targets))
        for name in models:
            times[name][length] = statistics.median(rounds[name])
    print("| model | " + " | ".join(f"{length} tokens, ms/step" for length in args.lengths) + " |")
    print("|---|" + "---|" * len(args.lengths))
    for name, by_length in times.items():
        print(f"| {name} | " + " | ".join(f"{by_length[length]:.1f}" for length in args.lengths) + " |")


if __name__ == "__main__":
    main()
