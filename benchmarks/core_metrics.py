"""Default textlstm on data-set directories: accuracy, macro-F1, training time, export speed.

Each directory holds ``train.csv`` (``text,label``), ``test.csv`` and optionally ``dev.csv``
(otherwise a stratified 10% of train validates). Prints a Markdown table and writes JSON.

    python benchmarks/core_metrics.py ../shared/datasets/sst2 ../shared/datasets/trec --seeds 1

Export speed goes through the SavedModel signature only (``tf.saved_model.load``): texts/s at
batch 256 over the test texts (the median of 5 passes), and the median and p99 latency of
single-text calls.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import textlstm  # noqa: E402

LATENCY_CALLS = 500


def export_speeds(paths, texts, rounds=5):
    """{name: (texts/s at batch 256, p50 ms, p99 ms of one-text calls)} through plain SavedModels.

    Args:
        paths: {name: SavedModel directory}; they are measured in turns (one pass over ``texts``,
            then one single-text call, each model in turn), so a slower spell of the machine
            falls on all of them alike.
        texts: the texts to serve.
        rounds: passes over ``texts`` per model; texts/s is the median pass.
    """
    serves = {name: tf.saved_model.load(str(path)).signatures["serving_default"] for name, path in paths.items()}
    batches = [tf.constant(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    singles = [tf.constant([text]) for text in texts[:LATENCY_CALLS]]
    for serve in serves.values():  # warm up
        serve(text=batches[0])
        serve(text=singles[0])
    passes = {name: [] for name in serves}
    for _ in range(rounds):
        for name, serve in serves.items():
            start = time.perf_counter()
            for batch in batches:
                serve(text=batch)
            passes[name].append(len(texts) / (time.perf_counter() - start))
    latencies = {name: [] for name in serves}
    for single in (singles * (LATENCY_CALLS // len(singles) + 1))[:LATENCY_CALLS]:
        for name, serve in serves.items():
            start = time.perf_counter()
            serve(text=single)
            latencies[name].append((time.perf_counter() - start) * 1000)
    return {
        name: (statistics.median(passes[name]), float(np.percentile(latencies[name], 50)), float(np.percentile(latencies[name], 99)))
        for name in serves
    }


def run(directory, seed):
    directory = Path(directory)
    train = textlstm.read_corpus(directory / "train.csv")
    test = textlstm.read_corpus(directory / "test.csv")
    dev = textlstm.read_corpus(directory / "dev.csv") if (directory / "dev.csv").exists() else None
    start = time.perf_counter()
    classifier = textlstm.TextClassifier(seed=seed).fit(train.texts, train.labels, validation_data=dev, verbose=0)
    train_seconds = time.perf_counter() - start
    report = classifier.evaluate(test.texts, test.labels, test.where)
    with tempfile.TemporaryDirectory() as scratch:
        classifier.export(Path(scratch) / "model")
        throughput, p50, p99 = export_speeds({"textlstm": Path(scratch) / "model"}, test.texts)["textlstm"]
    epochs = len(classifier.history_["loss"])
    return {
        "data": directory.name,
        "seed": seed,
        "test_accuracy": report["accuracy"],
        "test_macro_f1": report["macro_f1"],
        "train_seconds": train_seconds,
        "epochs": epochs,
        "best_epoch": classifier.history_["best_epoch"],
        "train_examples_per_second": len(train) * epochs / train_seconds,
        "max_length": classifier.config_.max_length,
        "predict_texts_per_second_batch256": throughput,
        "latency_ms_p50": p50,
        "latency_ms_p99": p99,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", help="data-set directories (train.csv, test.csv, optional dev.csv)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (1, 2, ...) to average over")
    parser.add_argument("--json", default="core_metrics.json", help="where to write all results")
    args = parser.parse_args()
    results = [run(directory, seed) for directory in args.directories for seed in range(1, args.seeds + 1)]
    Path(args.json).write_text(json.dumps(results, indent=2))
    print("| data | seeds | test acc % | macro-F1 % | train s | epochs (best) | train ex/s | export texts/s @256 | latency p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(result["data"] for result in results):
        rows = [result for result in results if result["data"] == name]

        def mean(key):
            return statistics.mean(row[key] for row in rows)

        spread = max(r["test_accuracy"] for r in rows) - min(r["test_accuracy"] for r in rows)
        print(
            f"| {name} | {len(rows)} | {100 * mean('test_accuracy'):.1f} (±{100 * spread / 2:.1f}) "
            f"| {100 * mean('test_macro_f1'):.1f} | {mean('train_seconds'):.0f} "
            f"| {'/'.join(str(r['epochs']) for r in rows)} ({'/'.join(str(r['best_epoch']) for r in rows)}) "
            f"| {mean('train_examples_per_second'):,.0f} | {mean('predict_texts_per_second_batch256'):,.0f} "
            f"| {mean('latency_ms_p50'):.2f} / {mean('latency_ms_p99'):.2f} |"
        )


if __name__ == "__main__":
    main()
