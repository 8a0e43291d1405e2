"""benchmarks/compare.py's report, from hand-made runs."""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    """benchmarks/compare.py imported by name, as its spawned workers import it."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("compare")
    finally:
        sys.path.remove(str(BENCHMARKS))


def run(data, system, seed, accuracy, macro_f1, seconds, rate):
    return {
        "data": data,
        "system": system,
        "seed": seed,
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "train_seconds": seconds,
        "predict_texts_per_second": rate,
        "cpu": "Test CPU, 2 cores",
    }


RUNS = [
    run("trec", "textlstm", 1, 0.90, 0.88, 20.0, 1000.0),
    run("trec", "textlstm", 2, 0.92, 0.90, 30.0, 3000.0),
    run("trec", "tfidf", 1, 0.88, 0.86, 1.0, 50000.0),
    run("mr", "textlstm", 1, 0.80, 0.79, 40.0, 2000.0),
    run("mr", "textlstm", 2, 0.78, 0.77, 50.0, 2000.0),
    run("mr", "tfidf", 1, 0.80, 0.80, 2.0, 40000.0),
]


def test_the_report_by_hand(compare):
    # trec: textlstm 91 ±1 (mean of 90 and 92), TF-IDF 88: +3; mr: 79 ±1 against 80: -1.
    # Means 85 and 84: textlstm +1.00 over the best baselines.
    assert compare.markdown_report(RUNS, ["textlstm", "tfidf"]) == (
        "| data | textlstm acc % | tfidf acc % | textlstm train s | textlstm vs best baseline |\n"
        "|---|---|---|---|---|\n"
        "| trec | 91.0 ±1.0 | 88.0 ±0.0 | 25 | +3.0 |\n"
        "| mr | 79.0 ±1.0 | 80.0 ±0.0 | 45 | -1.0 |\n"
        "| mean | 85.0 | 84.0 | | |\n"
        "\n"
        "textlstm mean 85.00, mean of each set's best baseline 84.00: +1.00\n"
        "Measured on: Test CPU, 2 cores\n"
        "\n"
        "| data | system | runs | accuracy % | macro-F1 % | train s | predict texts/s |\n"
        "|---|---|---|---|---|---|---|\n"
        "| trec | textlstm | 2 | 91.00 | 89.00 | 25.0 | 2,000 |\n"
        "| trec | tfidf | 1 | 88.00 | 86.00 | 1.0 | 50,000 |\n"
        "| mr | textlstm | 2 | 79.00 | 78.00 | 45.0 | 2,000 |\n"
        "| mr | tfidf | 1 | 80.00 | 80.00 | 2.0 | 40,000 |\n"
    )


def test_table_mode_prints_and_writes_the_report_of_earlier_runs(compare, tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs.json"
    runs.write_text(compare.json.dumps(RUNS))
    monkeypatch.setattr("sys.argv", ["compare.py", "--table", str(runs), "--markdown", str(tmp_path / "report.md")])
    compare.main()
    report = compare.markdown_report(RUNS, ["textlstm", "tfidf"])
    assert capsys.readouterr().out == "\n" + report
    assert (tmp_path / "report.md").read_text() == report
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.md", "runs.json"]  # no temporary file left


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--table", "{tmp}/none.json"], "--table: {tmp}/none.json: No such file or directory"),
        (["--table", "{tmp}/bad.json"], "--table: {tmp}/bad.json: not JSON: Expecting value: line 1 column 1 (char 0)"),
        (["--table", "{tmp}/other.json"], "--table: {tmp}/other.json: expected a list of runs as compare.py writes them"),
    ],
)
def test_bad_table_files_are_one_line_usage_errors(compare, tmp_path, monkeypatch, capsys, arguments, message):
    (tmp_path / "bad.json").write_text("runs")
    (tmp_path / "other.json").write_text('{"runs": []}')
    monkeypatch.setattr("sys.argv", ["compare.py", *[argument.format(tmp=tmp_path) for argument in arguments]])
    with pytest.raises(SystemExit) as raised:
        compare.main()
    assert raised.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "compare.py: error: " + message.format(tmp=tmp_path)


def test_a_failed_run_names_itself_and_writes_nothing(compare, tmp_path, monkeypatch):
    """The worker's error ends the benchmark with the run and the file's line; no JSON or Markdown
    is written."""
    bad, good = tmp_path / "bad", tmp_path / "good"
    for directory, rows in ((bad, ['"a cat",x', '"a dog"'] * 200), (good, ['"a cat",x', '"a dog",y'])):
        directory.mkdir()
        for name in ("train.csv", "test.csv"):
            (directory / name).write_text("\n".join(["text,label", *rows]) + "\n")
    output = tmp_path / "out.json"
    for name in compare.thread_limits(1):  # main() sets them for its workers; restored after the test
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.argv", ["compare.py", str(bad), str(good), "--systems", "tfidf", "--json", str(output)])
    with pytest.raises(SystemExit) as raised:
        compare.main()
    assert str(raised.value) == f"tfidf on bad (seed 1) failed: DataError('{bad / 'train.csv'}, line 3: 1 field, but the header has 2')"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad", "good"]


def test_textlstm_against_the_best_baseline_with_the_paired_interval_of_the_test_texts(compare):
    # Four test texts. textlstm gets every one right in both seeds and tfidf none: every text's
    # difference is 1, so however the texts are drawn again the interval is +100 to +100.
    runs = [{**RUNS[0], "correct": "1111"}, {**RUNS[1], "correct": "1111"}, {**RUNS[2], "correct": "0000"}]
    assert "| trec | 91.0 ±1.0 | 88.0 ±0.0 | 25 | +3.0 (+100.0 to +100.0) |" in compare.markdown_report(runs, ["textlstm", "tfidf"])
    # Texts 1-2 right for both, text 3 for textlstm's seed 1 only, text 4 for tfidf only:
    # differences 0, 0, 0.5, -1 (mean -0.125); drawn again, the mean lies between -1 and +0.5.
    ours = [{"correct": "1110"}, {"correct": "1100"}]
    low, high = compare.paired_interval(ours, [{"correct": "1101"}], resamples=2000)
    assert -100 <= low < -12.5 < high <= 50
    assert compare.paired_interval(ours, [{"correct": "110"}]) is None  # another test set
    assert compare.paired_interval(ours, [{}]) is None  # a run from before ``correct`` was recorded
