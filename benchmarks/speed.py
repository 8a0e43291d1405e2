"""textlstm against the keras-io BiLSTM recipe, same architecture and data: training and serving speed.

    python benchmarks/speed.py                                       # sst2 and online_shopping_10cats
    python benchmarks/speed.py ../shared/datasets/sst2 --seeds 3 --train-limit 10000

Both systems train Embedding(20,000 ids, 128) -> Bidirectional(LSTM 64), last state -> Dropout 0.5
-> Dense softmax with Adam 1e-3 at batch 64 for ``--epochs`` epochs, keeping the epoch with the best
validation score (textlstm also drops out embeddings at the same rate and clips gradients; its
n-gram branch is off). They differ in the pipeline around the model and in how Adam runs:

- recipe: TextVectorization in tf.data, every text padded to one length (95th percentile of the
  training lengths), shuffled batches; the SavedModel wraps the vectorizer and the model.
- textlstm: ``TextClassifier(ngrams=1, members=1, pooling="last", ...)``: in-graph tokenizer, batches from
  length-sorted windows padded only to their own longest text; its own export. Its LSTM trains
  on TensorFlow's fused BlockLSTM kernel (``textlstm.fused_lstm``: training batches of at most 64)
  and predicts batches of at most 32 texts on it. Its Adam is ``FusedAdam``
  (``textlstm.fused_adam``): Keras's arithmetic, each variable updated in one kernel. Its process
  runs TensorFlow with one thread per op (``textlstm.use_rnn_threads``, as the ``textlstm``
  command does); the recipe's keeps TensorFlow's defaults, as its code does.

Each (data, system, seed) trains in a child process, which reports its peak RSS. Training
examples/s is (training texts x epochs run) / fit seconds, validation included. Then one more
child, with TensorFlow's default threads as any serving process has, loads both SavedModels and
measures them in turns (``core_metrics.export_speeds``): texts/s at batch 256 and single-text
latency, through the signature only. Training sets longer than ``--train-limit`` are subsampled
(stratified, seeded) and the table says so. Prints a Markdown table with means over seeds and the
textlstm / recipe ratios; writes every run to JSON.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import DEFAULT_ROOT, cpu_description, holdout, is_chinese  # noqa: E402
from core_metrics import export_speeds  # noqa: E402

SYSTEMS = ("recipe", "textlstm")
MAX_TOKENS, EMBEDDING, UNITS, DROPOUT, BATCH, LEARNING_RATE = 20000, 128, 64, 0.5, 64, 1e-3


def load(directory, train_limit, seed):
    """(train, validation, test) as (texts, labels) lists; train subsampled to ``train_limit``."""
    import textlstm
    from textlstm.splits import stratified_indices

    train = textlstm.read_corpus(directory / "train.csv")
    test = textlstm.read_corpus(directory / "test.csv")
    dev_path = directory / "dev.csv"
    if dev_path.is_file():
        dev = textlstm.read_corpus(dev_path)
        pair, validation = (train.texts, train.labels), (dev.texts, dev.labels)
    else:
        pair, validation = holdout(train, seed)
    if len(pair[0]) > train_limit:
        _, sample = stratified_indices(pair[1], train_limit / len(pair[0]), seed)
        pair = ([pair[0][i] for i in sample], [pair[1][i] for i in sample])
    return pair, validation, (test.texts, test.labels)


def run_recipe(train, validation, test, seed, epochs, chinese, export_dir):
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    classes = sorted(set(train[1]))
    index = {name: i for i, name in enumerate(classes)}
    lengths = [len(text.replace(" ", "")) if chinese else len(text.split()) for text in train[0]]
    vectorize = keras.layers.TextVectorization(
        max_tokens=MAX_TOKENS,
        output_sequence_length=max(1, int(np.percentile(lengths, 95))),
        split="character" if chinese else "whitespace",
    )
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(train[0]).batch(1024))

    def dataset(pair, shuffle=False):
        data = tf.data.Dataset.from_tensor_slices((pair[0], [index[label] for label in pair[1]]))
        if shuffle:
            data = data.shuffle(len(pair[0]), seed=seed)
        return data.batch(BATCH).map(lambda x, y: (vectorize(x), y)).prefetch(tf.data.AUTOTUNE)

    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int64"),
            keras.layers.Embedding(MAX_TOKENS, EMBEDDING),
            keras.layers.Bidirectional(keras.layers.LSTM(UNITS)),
            keras.layers.Dropout(DROPOUT),
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(LEARNING_RATE), "sparse_categorical_crossentropy", metrics=["accuracy"])
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=epochs, restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(dataset(train, True), validation_data=dataset(validation), epochs=epochs, callbacks=[best], verbose=0)
    seconds = time.perf_counter() - start
    probabilities = model.predict(dataset(test), verbose=0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == np.array([index[label] for label in test[1]])))
    text = keras.Input(shape=(), dtype="string")
    serving = keras.Model(text, model(vectorize(text)))
    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint("serving_default", lambda text: {"probabilities": serving(text)}, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(str(export_dir), verbose=False)
    return seconds, len(history.history["loss"]), int(np.argmax(history.history["val_accuracy"])) + 1, accuracy


def run_textlstm(train, validation, test, seed, epochs, chinese, export_dir):
    import textlstm

    classifier = textlstm.TextClassifier(
        seed=seed, ngrams=1, members=1, pooling="last", embedding_dim=EMBEDDING, units=UNITS, dropout=DROPOUT,
        batch_size=BATCH, learning_rate=LEARNING_RATE, max_tokens=MAX_TOKENS, epochs=epochs, patience=epochs,
    )
    start = time.perf_counter()
    classifier.fit(train[0], train[1], validation_data=validation, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = classifier.score(test[0], test[1])
    classifier.export(export_dir)
    return seconds, len(classifier.history_["loss"]), classifier.history_["best_epoch"], accuracy


def run_child(script, arguments, what):
    """Run ``python script arguments...`` in a fresh process and return the JSON object on its last
    stdout line (each run in its own process, so that its peak memory is its own). A failed child
    ends the benchmark with ``what`` and the end of the child's stderr.
    """
    done = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(directory, system, seed, epochs, train_limit, export_dir):
    """One training run, its export written to ``export_dir``; prints one JSON line."""
    if system == "textlstm":
        import textlstm

        textlstm.use_rnn_threads()
    train, validation, test = load(directory, train_limit, seed)
    runner = {"recipe": run_recipe, "textlstm": run_textlstm}[system]
    seconds, epochs_run, best_epoch, accuracy = runner(
        train, validation, test, seed, epochs, is_chinese(train[0]), export_dir
    )
    print(
        json.dumps(
            {
                "data": directory.name,
                "system": system,
                "seed": seed,
                "train_texts": len(train[0]),
                "train_examples_per_second": len(train[0]) * epochs_run / seconds,
                "epochs": epochs_run,
                "best_epoch": best_epoch,
                "test_accuracy": accuracy,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "cpu": cpu_description(),
            }
        )
    )


def serve_child(directory, export_dirs):
    """Both systems' exports served in turns over the test texts; prints {system: speeds} as JSON."""
    import textlstm

    texts = textlstm.read_corpus(directory / "test.csv").texts
    speeds = export_speeds(dict(zip(SYSTEMS, export_dirs)), texts)
    keys = ("export_texts_per_second", "latency_p50_ms", "latency_p99_ms")
    print(json.dumps({system: dict(zip(keys, values)) for system, values in speeds.items()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*", help="data-set directories (default: sst2 and online_shopping_10cats)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6, help="epochs each system trains (the best one is kept)")
    parser.add_argument("--train-limit", type=int, default=20000, help="subsample larger training sets to this many texts")
    parser.add_argument("--json", default="speed.json", help="where to write every run")
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "SEED", "EXPORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=len(SYSTEMS), metavar="EXPORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    directories = [Path(d) for d in args.directories] or [DEFAULT_ROOT / "sst2", DEFAULT_ROOT / "online_shopping_10cats"]
    if args.child:
        child(directories[0], args.child[0], int(args.child[1]), args.epochs, args.train_limit, Path(args.child[2]))
        return
    if args.serve:
        serve_child(directories[0], args.serve)
        return
    runs = []
    for directory in directories:
        for seed in range(1, args.seeds + 1):
            with tempfile.TemporaryDirectory() as scratch:
                exports = [str(Path(scratch) / system) for system in SYSTEMS]
                trained = []
                for system, export in zip(SYSTEMS, exports):
                    arguments = [str(directory), "--child", system, str(seed), export,
                                 "--epochs", str(args.epochs), "--train-limit", str(args.train_limit)]
                    trained.append(run_child(__file__, arguments, f"{system} on {directory.name} (seed {seed})"))
                served = run_child(__file__, [str(directory), "--serve", *exports], f"serving on {directory.name} (seed {seed})")
            for run in trained:
                runs.append(run | served[run["system"]])
                print(json.dumps(runs[-1]), flush=True)
    Path(args.json).write_text(json.dumps(runs, indent=2))
    print_table(runs)


def print_table(runs):
    columns = [
        ("train_examples_per_second", "training ex/s", "{:,.0f}"),
        ("test_accuracy", "test acc %", "{:.1f}"),
        ("best_epoch", "best epoch", "{:.1f}"),
        ("export_texts_per_second", "SavedModel texts/s @256", "{:,.0f}"),
        ("latency_p50_ms", "p50 ms", "{:.2f}"),
        ("latency_p99_ms", "p99 ms", "{:.2f}"),
        ("peak_rss_mb", "peak RSS MB", "{:,.0f}"),
    ]
    print("\n| data (training texts) | system | " + " | ".join(title for _, title, _ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for name in dict.fromkeys(run["data"] for run in runs):
        means = {}
        for system in SYSTEMS:
            rows = [run for run in runs if run["data"] == name and run["system"] == system]
            means[system] = {key: statistics.mean(row[key] * (100 if key == "test_accuracy" else 1) for row in rows) for key, _, _ in columns}
            cells = [form.format(means[system][key]) for key, _, form in columns]
            print(f"| {name} ({rows[0]['train_texts']:,}) | {system} | " + " | ".join(cells) + " |")
        ratio = lambda key: means["textlstm"][key] / means["recipe"][key]  # noqa: E731
        print(
            f"| {name} | textlstm / recipe | {ratio('train_examples_per_second'):.2f}x | "
            f"{means['textlstm']['test_accuracy'] - means['recipe']['test_accuracy']:+.1f} | | "
            f"{ratio('export_texts_per_second'):.2f}x | | | |"
        )


if __name__ == "__main__":
    main()
