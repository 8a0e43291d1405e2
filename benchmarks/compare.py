"""Default textlstm against what users would pick instead, on the same splits and seeds.

    python benchmarks/compare.py                                   # every data set in ../shared/datasets
    python benchmarks/compare.py ../shared/datasets/trec --seeds 3 --systems textlstm,tfidf
    python benchmarks/compare.py --jobs 2                          # two runs at a time, one core each
    python benchmarks/compare.py --table small.json large.json     # the tables of earlier runs
    textlstm datasets write trec50 held-out/trec50                 # a registered data set as CSV files
    python benchmarks/compare.py held-out/* --train-limit 10000    # at most 10,000 training texts each

Each data-set directory holds ``train.csv`` and ``test.csv`` (``text,label``) and optionally
``dev.csv``. Systems:

- ``textlstm``: ``TextClassifier()`` with default settings (validation: dev.csv, else its own 10%).
- ``tfidf``: TF-IDF (word 1-2-grams; character 1-3-grams for Chinese), sublinear tf, then
  LogisticRegression(C=10). Deterministic: one run.
- ``fasttext``: optional (``pip install fasttext-numpy2``), skipped with a note when missing;
  lr 0.5, 25 epochs, word bigrams, dim 100; Chinese characters space-separated.
- ``recipe``: the keras-io BiLSTM: TextVectorization (20k tokens, length = 95th percentile;
  characters for Chinese), Embedding 128, Bidirectional(LSTM 64), dropout 0.5, softmax, Adam 1e-3,
  batch 64, the best of 6 epochs on validation (dev.csv, else the same 10% textlstm holds out).

Runs go to ``--jobs N`` worker processes, each with cpu_count / N TensorFlow threads (and as many
threads for scikit-learn and fastText). A worker imports TensorFlow once and then takes run after
run, clearing Keras's state between them: a run gives the same accuracies as in a fresh process,
without paying the imports again. The training
steps of these small models are bound by per-step overhead more than by arithmetic, so two one-core
runs side by side finish sooner than two two-core runs in turn; their seconds and texts/s are then
measured under that sharing, and the JSON records ``jobs`` with every run.

Writes every run, with accuracy, macro-F1, which test texts it got right (``correct``, a string of
0 and 1), training seconds, prediction throughput and the CPU (``cpu_description``), to JSON, and
prints and writes (``--markdown``, default beside the JSON) two Markdown tables: test accuracy %
by data set and system (mean over seeds with the half-range as ±, and textlstm against each set's
best baseline with the 95% paired-bootstrap interval of that difference over the test texts,
``paired_interval``), then each system's mean accuracy, macro-F1, training seconds and
prediction texts/s.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import textlstm  # noqa: E402
from textlstm.files import write_text_atomically  # noqa: E402
from textlstm.splits import stratified_indices, subset  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SYSTEMS = ("textlstm", "tfidf", "fasttext", "recipe")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def is_chinese(texts):
    sample = "".join(texts[:500])
    return len(_CJK.findall(sample)) > 0.3 * max(1, len(sample))


def holdout(train, seed):
    """The (train, validation) texts and labels textlstm itself would use without dev.csv."""
    kept, held = stratified_indices(train.labels, 0.1, seed)
    pick = lambda rows: ([train.texts[i] for i in rows], [train.labels[i] for i in rows])  # noqa: E731
    return pick(kept), pick(held)


def run_textlstm(train, dev, test, seed, chinese):
    start = time.perf_counter()
    classifier = textlstm.TextClassifier(seed=seed).fit(
        train.texts, train.labels, validation_data=(dev.texts, dev.labels) if dev else None, verbose=0
    )
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = classifier.predict(test.texts)
    return predicted, seconds, len(test) / (time.perf_counter() - start)


def run_tfidf(train, dev, test, seed, chinese):
    vectorizer = (
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        if chinese
        else TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    )
    model = make_pipeline(vectorizer, LogisticRegression(C=10, max_iter=2000))
    start = time.perf_counter()
    model.fit(train.texts, train.labels)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(test.texts)
    return predicted, seconds, len(test) / (time.perf_counter() - start)


def run_fasttext(train, dev, test, seed, chinese):
    import fasttext

    def prepare(text):
        text = " ".join(text.split())
        return " ".join(text.replace(" ", "")) if chinese else text

    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as file:
        for text, label in zip(train.texts, train.labels):
            file.write(f"__label__{label.replace(' ', '_')} {prepare(text)}\n")
    try:
        start = time.perf_counter()
        model = fasttext.train_supervised(
            file.name, lr=0.5, epoch=25, wordNgrams=2, dim=100, seed=seed, verbose=0, thread=THREADS["count"]
        )
        seconds = time.perf_counter() - start
    finally:
        os.unlink(file.name)
    start = time.perf_counter()
    labels, _ = model.predict([prepare(text) for text in test.texts])
    rate = len(test) / (time.perf_counter() - start)
    names = {label.replace(" ", "_"): label for label in set(train.labels)}
    return [names[found[0][len("__label__") :]] for found in labels], seconds, rate


def run_recipe(train, dev, test, seed, chinese):
    keras.utils.set_random_seed(seed)
    (train_texts, train_labels), (dev_texts, dev_labels) = (
        ((train.texts, train.labels), (dev.texts, dev.labels)) if dev else holdout(train, seed)
    )
    classes = sorted(set(train.labels))
    index = {name: i for i, name in enumerate(classes)}
    split = "character" if chinese else "whitespace"
    lengths = [len(text.replace(" ", "")) if chinese else len(text.split()) for text in train_texts]
    vectorize = keras.layers.TextVectorization(
        max_tokens=20000, output_sequence_length=max(1, int(np.percentile(lengths, 95))), split=split
    )
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(1024))

    def dataset(texts, labels=None, shuffle=False):
        data = tf.data.Dataset.from_tensor_slices(texts if labels is None else (texts, [index[l] for l in labels]))
        if shuffle:
            data = data.shuffle(len(texts), seed=seed)
        data = data.batch(64)
        data = data.map(vectorize) if labels is None else data.map(lambda x, y: (vectorize(x), y))
        return data.prefetch(tf.data.AUTOTUNE)

    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int64"),
            keras.layers.Embedding(20000, 128),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=6, restore_best_weights=True)
    start = time.perf_counter()
    model.fit(dataset(train_texts, train_labels, True), validation_data=dataset(dev_texts, dev_labels), epochs=6, callbacks=[best], shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = model.predict(dataset(test.texts), verbose=0)
    rate = len(test) / (time.perf_counter() - start)
    return [classes[i] for i in probabilities.argmax(axis=1)], seconds, rate


RUNNERS = {"textlstm": run_textlstm, "tfidf": run_tfidf, "fasttext": run_fasttext, "recipe": run_recipe}
THREADS = {"count": os.cpu_count() or 1}  # per run; a worker sets it as it starts (start_worker)


def cpu_description(cpuinfo=Path("/proc/cpuinfo")):
    """The CPU the runs are measured on, e.g. ``"AMD EPYC, 2 cores, AVX2, no AVX-512"``.

    Per-seed accuracies and seconds differ between CPUs (their floating-point kernels differ), so
    every run records it. Reads ``cpuinfo`` (Linux); elsewhere, Python's ``platform.processor()``.
    """
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    flags = set(fields.get("flags", "").split())
    if not flags:
        vector = "flags unknown"
    elif "avx512f" in flags:
        vector = "AVX-512"
    elif "avx2" in flags:
        vector = "AVX2, no AVX-512"
    else:
        vector = "no AVX2"
    return f"{name}, {os.cpu_count() or 1} cores, {vector}"


def fasttext_available():
    try:
        import fasttext  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*", help=f"data-set directories (default: all in {DEFAULT_ROOT})")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N for the seeded systems")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ", ".join(SYSTEMS))
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, each with cpu_count / jobs threads")
    parser.add_argument("--train-limit", type=int, help="train on a stratified sample of this many training texts (the same for every system and seed)")
    parser.add_argument("--json", default="compare.json", help="where to write every run")
    parser.add_argument("--markdown", help="where to write the tables (default: the --json path with .md)")
    parser.add_argument("--table", nargs="+", metavar="JSON", help="only print the tables of earlier runs' JSON files (and write them with --markdown)")
    args = parser.parse_args()
    if args.table:
        runs = [run for path in args.table for run in read_runs(path, parser)]
        report = markdown_report(runs, [name for name in SYSTEMS if any(run["system"] == name for run in runs)])
        print("\n" + report, end="")
        if args.markdown:
            write_text_atomically(args.markdown, report)
        return
    if args.jobs < 1:
        parser.error(f"--jobs: expected an integer >= 1, got {args.jobs}")
    if args.train_limit is not None and args.train_limit < 2:
        parser.error(f"--train-limit: expected an integer >= 2, got {args.train_limit}")
    directories = [Path(d) for d in args.directories] or sorted(
        d for d in DEFAULT_ROOT.iterdir() if (d / "train.csv").is_file()
    )
    for directory in directories:
        if not (directory / "train.csv").is_file() or not (directory / "test.csv").is_file():
            parser.error(f"{directory}: expected train.csv and test.csv in it")
    systems = [name for name in args.systems.split(",") if name]
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown:
        parser.error(f"--systems: unknown system {unknown[0]!r}; choose from {', '.join(SYSTEMS)}")
    if "fasttext" in systems and not fasttext_available():
        print("note: fastText is not installed (pip install fasttext-numpy2); skipping it")
        systems.remove("fasttext")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    print(f"CPU: {cpu_description()}", flush=True)
    tasks = [
        (directory, system, seed)
        for directory in directories
        for system in systems
        for seed in ([1] if system == "tfidf" else range(1, args.seeds + 1))
    ]
    # Largest training files first, so that the last runs to finish are short ones.
    tasks.sort(key=lambda task: -(task[0] / "train.csv").stat().st_size)

    runs = []
    start = time.perf_counter()
    # Worker processes read their thread limits from the environment they start with.
    os.environ.update(thread_limits(threads))
    workers = concurrent.futures.ProcessPoolExecutor(
        args.jobs, multiprocessing.get_context("spawn"), initializer=start_worker, initargs=(threads,)
    )
    with workers:
        futures = [workers.submit(run_in_worker, *task, args.train_limit) for task in tasks]
        for task, future in zip(tasks, futures):  # in task order
            directory, system, seed = task
            try:
                result = future.result()
            except Exception as error:
                # Leaving the block then waits for the runs in flight, not for those never started.
                for other in futures:
                    other.cancel()
                raise SystemExit(f"{system} on {directory.name} (seed {seed}) failed: {error!r}") from error
            runs.append(result | {"jobs": args.jobs})
            print(json.dumps(runs[-1]), flush=True)
    print(f"{len(runs)} runs in {(time.perf_counter() - start) / 60:.1f} min with --jobs {args.jobs}")
    write_text_atomically(args.json, json.dumps(runs, indent=2))
    report = markdown_report(runs, systems)
    print("\n" + report, end="")
    write_text_atomically(args.markdown or Path(args.json).with_suffix(".md"), report)


def thread_limits(threads):
    """Environment variables that give BLAS and OpenMP ``threads`` threads in a new process."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def start_worker(threads):
    """Give this worker process ``threads`` TensorFlow threads (before its first op runs)."""
    THREADS["count"] = threads
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def run_in_worker(directory, system, seed, train_limit=None):
    """One (data, system, seed) run in a worker; returns its result and leaves no Keras state."""
    try:
        return run_one(directory, system, seed, train_limit)
    finally:
        keras.backend.clear_session()
        gc.collect()


def run_one(directory, system, seed, train_limit=None):
    """One (data, system, seed) run with this process's threads: a dict of its results.

    With ``train_limit``, a stratified sample of that many training texts (drawn with seed 0, so the
    same for every system and seed) replaces the training set.
    """
    train = textlstm.read_corpus(directory / "train.csv")
    if train_limit and len(train) > train_limit:
        _, sample = stratified_indices(train.labels, train_limit / len(train), 0)
        train = subset(train, sample, "train")
    test = textlstm.read_corpus(directory / "test.csv")
    dev = textlstm.read_corpus(directory / "dev.csv") if (directory / "dev.csv").is_file() else None
    predicted, seconds, rate = RUNNERS[system](train, dev, test, seed, is_chinese(train.texts))
    return {
        "data": directory.name,
        "system": system,
        "seed": seed,
        "accuracy": float(accuracy_score(test.labels, predicted)),
        "correct": "".join("1" if guess == label else "0" for guess, label in zip(predicted, test.labels)),
        "macro_f1": float(f1_score(test.labels, predicted, average="macro")),
        "training_texts": len(train),
        "train_seconds": seconds,
        "predict_texts_per_second": rate,
        "threads": THREADS["count"],
        "cpu": cpu_description(),
    }


REPORTED = ("accuracy", "macro_f1", "train_seconds", "predict_texts_per_second")


def markdown_report(runs, systems):
    """The runs as Markdown: test accuracy by data set and system (mean over seeds, ± half the
    range), textlstm against each set's best baseline, the CPUs; then every system's mean accuracy,
    macro-F1, training seconds and prediction throughput."""
    data = list(dict.fromkeys(run["data"] for run in runs))

    def of(name, system):
        return [run for run in runs if run["data"] == name and run["system"] == system]

    lines = ["| data | " + " | ".join(f"{s} acc %" for s in systems) + " | textlstm train s | textlstm vs best baseline |"]
    lines.append("|---|" + "---|" * (len(systems) + 2))
    means = {s: [] for s in systems}
    best_baselines = []
    for name in data:
        cells, values = [], {}
        for system in systems:
            accuracies = [r["accuracy"] for r in of(name, system)]
            values[system] = 100 * statistics.mean(accuracies)
            means[system].append(values[system])
            cells.append(f"{values[system]:.1f} ±{50 * (max(accuracies) - min(accuracies)):.1f}")
        seconds = [r["train_seconds"] for r in of(name, "textlstm")]
        baselines = [values[s] for s in systems if s != "textlstm"]
        versus = ""
        if "textlstm" in values and baselines:
            best = max((s for s in systems if s != "textlstm"), key=values.get)
            interval = paired_interval(of(name, "textlstm"), of(name, best))
            versus = f"{values['textlstm'] - values[best]:+.1f}" + (f" ({interval[0]:+.1f} to {interval[1]:+.1f})" if interval else "")
        best_baselines.append(max(baselines) if baselines else None)
        seconds_cell = f"{statistics.mean(seconds):.0f}" if seconds else ""
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds_cell} | {versus} |")
    lines.append("| mean | " + " | ".join(f"{statistics.mean(means[s]):.1f}" for s in systems) + " | | |")
    if "textlstm" in means and best_baselines and None not in best_baselines:
        ours, best = statistics.mean(means["textlstm"]), statistics.mean(best_baselines)
        lines.append(f"\ntextlstm mean {ours:.2f}, mean of each set's best baseline {best:.2f}: {ours - best:+.2f}")
    cpus = sorted({run.get("cpu", "CPU not recorded") for run in runs})
    lines.append("Measured on: " + "; ".join(cpus))
    lines.append("\n| data | system | runs | accuracy % | macro-F1 % | train s | predict texts/s |")
    lines.append("|---|---|---|---|---|---|---|")
    for name in data:
        for system in systems:
            chosen = of(name, system)
            mean = {key: statistics.mean(run[key] for run in chosen) for key in REPORTED}
            lines.append(
                f"| {name} | {system} | {len(chosen)} | {100 * mean['accuracy']:.2f} | {100 * mean['macro_f1']:.2f} "
                f"| {mean['train_seconds']:.1f} | {mean['predict_texts_per_second']:,.0f} |"
            )
    return "\n".join(lines) + "\n"


def paired_interval(ours, theirs, resamples=1000, confidence=0.95, seed=0):
    """The 95% paired-bootstrap interval, in points, of ``ours``' mean accuracy minus ``theirs``'
    on the same test texts; None unless every run records which texts it got right (``correct``).

    Each text scores its share of right answers over the runs of each side (their seeds), and the
    difference of those shares is averaged over texts drawn again with replacement, ``resamples``
    times: the spread that another test sample of as many texts would show.
    """
    if not all("correct" in run for run in [*ours, *theirs]) or len({len(run["correct"]) for run in [*ours, *theirs]}) != 1:
        return None
    difference = right_share(ours) - right_share(theirs)
    draws = np.random.default_rng(seed).integers(0, len(difference), size=(resamples, len(difference)))
    return [100 * float(value) for value in np.quantile(difference[draws].mean(axis=1), [(1 - confidence) / 2, (1 + confidence) / 2])]


def right_share(runs):
    """Per test text, the share of ``runs`` that got it right: shape (texts,)."""
    return np.mean([[answer == "1" for answer in run["correct"]] for run in runs], axis=0)


def read_runs(path, parser):
    """The runs in an earlier run's JSON file; a missing or unreadable file ends with a usage error."""
    try:
        runs = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        parser.error(f"--table: {path}: {error.strerror if isinstance(error, OSError) else 'not JSON: ' + str(error)}")
    if not isinstance(runs, list) or not all(isinstance(run, dict) and {"data", "system", *REPORTED} <= set(run) for run in runs):
        parser.error(f"--table: {path}: expected a list of runs as compare.py writes them")
    return runs


if __name__ == "__main__":
    main()
