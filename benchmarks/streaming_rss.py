"""Train by streaming from a generated 1,000,000-line CSV and report the peak resident memory.

    python benchmarks/streaming_rss.py [--rows 1000000] [--path /tmp/textlstm-stream.csv]

The file is generated once (seeded): texts of 5-40 words from a 50,000-word vocabulary, where
each of 4 classes prefers its own quarter of the words. One epoch with a small model; peak RSS is
the process's maximum resident set size (getrusage), which includes TensorFlow itself.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import csv  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import textlstm  # noqa: E402


def generate(path, rows, seed=0):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(50_000)]
    quarter = len(words) // 4
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            label = rng.randrange(4)
            own = words[label * quarter : (label + 1) * quarter]
            text = " ".join(rng.choice(own) if rng.random() < 0.3 else rng.choice(words) for _ in range(rng.randint(5, 40)))
            writer.writerow([text, f"class{label}"])


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", default="/tmp/textlstm-stream.csv")
    args = parser.parse_args()
    path = Path(args.path)
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.0f} s")
    before = peak_rss_mb()
    start = time.perf_counter()
    classifier = textlstm.TextClassifier(
        embedding_dim=32, units=32, batch_size=512, epochs=1, validation_split=0.01, max_length=32
    ).fit_file(path, verbose=2)
    seconds = time.perf_counter() - start
    report = classifier.validation_report_
    print("| rows | file MB | train s (scan + 1 epoch + validation) | validation acc % | peak RSS MB (before training) |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {path.stat().st_size / 1e6:.0f} | {seconds:.0f} | {100 * report['accuracy']:.1f} "
        f"| {peak_rss_mb():,.0f} ({before:,.0f}) |"
    )


if __name__ == "__main__":
    main()
