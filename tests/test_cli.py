"""The CLI end to end with click's CliRunner, and every bad input: one line, no traceback, nothing written."""

import csv
import hashlib
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from conftest import LABELS, ORIGINALS, TEXTS, needs_originals, write_weighted_csv
from textlstm.datasets import registry
from textlstm.errors import DataError

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
FAST_OPTIONS = ["--epochs", "12", "--units", "8", "--embedding-dim", "16", "--learning-rate", "0.05",
                "--dropout", "0", "--batch-size", "4", "--patience", "12", "--quiet"]


def write_csv(path, texts, labels, header="text,label"):
    rows = [header] + [f'"{t}",{l}' for t, l in zip(texts, labels)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_csv(root / "train.csv", TEXTS, LABELS)
    write_csv(root / "test.csv", TEXTS[:4], LABELS[:4])
    return root


@pytest.fixture(scope="module")
def trained(workspace):
    """`textlstm train` on the tiny corpus, its result and its export directory."""
    output = workspace / "model"
    result = CliRunner().invoke(
        main,
        ["train", "--train", str(workspace / "train.csv"), "--dev", str(workspace / "train.csv"),
         "--test", str(workspace / "test.csv"), "--output", str(output), "--seed", "3", *FAST_OPTIONS],
    )
    return result, output


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def test_train_writes_the_export_and_prints_metrics(trained):
    result, output = trained
    assert result.exit_code == 0, result.output
    for name in ("saved_model.pb", "model.keras", "textlstm.json", "metrics.json", "history.json", "report.html"):
        assert (output / name).exists()
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == 1.0
    assert "macro-F1   1.0000" in result.output
    assert f"textlstm predict {output} 'the cat sat on the mat'" in result.output
    history = json.loads((output / "history.json").read_text())
    assert {"loss", "val_loss", "val_macro_f1", "best_epoch", "recurrent_weight"} <= set(history)
    weight = history["recurrent_weight"]
    share = history["tfidf_weight"]
    assert (
        f"Output: {weight:.1f} x recurrent + {1 - weight:.1f} x n-gram branch "
        f"({share:.1f} x TF-IDF + {1 - share:.1f} x naive-Bayes regression)"
    ) in result.output
    fitted, bayes = history["ngram_fit"], history["ngram_fit"]["naive_bayes"]
    assert (
        f"N-gram branch: logistic regression (C={fitted['c']:g}, the lowest validation loss of 1, 10, 100) "
        f"over {fitted['features']:,} TF-IDF features of "
        f"{fitted['texts']:,} training texts (scikit-learn, {fitted['iterations']} solver iterations); "
        f"naive-Bayes logistic regression (C={bayes['c']:g}, the lowest validation loss of 0.1, 1, 10) over "
        f"which tokens and n-grams each text holds ({bayes['iterations']} solver iterations)"
    ) in result.output


def test_evaluate(trained, workspace, tmp_path):
    _, output = trained
    result = run("evaluate", output, "--test", workspace / "test.csv", "--output", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert "accuracy   1.0000" in result.output
    assert json.loads((tmp_path / "m.json").read_text())["examples"] == 4


def test_evaluate_writes_the_misclassified_texts_largest_loss_first(trained, workspace, tmp_path):
    _, output = trained
    flipped = [{"cat": "dog", "dog": "cat"}[label] if i in (1, 3) else label for i, label in enumerate(LABELS[:4])]
    write_csv(tmp_path / "t.csv", TEXTS[:4], flipped)  # the model gets all four right (test_evaluate)
    result = run("evaluate", output, "--test", tmp_path / "t.csv", "--misclassified", tmp_path / "wrong.csv")
    assert result.exit_code == 0, result.output
    assert "accuracy   0.5000" in result.output
    assert f"2 misclassified texts written to {tmp_path / 'wrong.csv'} (largest loss first)" in result.output
    with open(tmp_path / "wrong.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert sorted(row["where"] for row in rows) == [f"{tmp_path / 't.csv'}, line {i + 2}" for i in (1, 3)]
    assert [row["label"] for row in rows] != [row["predicted"] for row in rows]
    assert float(rows[0]["loss"]) >= float(rows[1]["loss"])
    assert all(math.isclose(float(row["loss"]), -math.log(1 - float(row["score"])), abs_tol=1e-5) for row in rows)  # two classes
    assert_one_line_error(run("evaluate", output, "--test", tmp_path / "t.csv", "--misclassified", tmp_path / "wrong.txt"), 2,
                          f"Invalid value for '--misclassified': {tmp_path / 'wrong.txt'}: the name must end in .csv, .tsv or .jsonl, the format to write")
    assert_one_line_error(run("evaluate", output, "--test", tmp_path / "t.csv", "--misclassified", tmp_path / "m.csv", "--output", tmp_path / "m.csv"), 2,
                          "--output and --misclassified name the same file; give each its own")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["t.csv", "wrong.csv"]


def test_evaluate_keeps_columns_of_the_test_file_in_the_misclassified_records(trained, tmp_path):
    _, output = trained
    flipped = [{"cat": "dog", "dog": "cat"}[label] if i == 3 else label for i, label in enumerate(LABELS[:4])]
    write_csv(tmp_path / "t.csv", [f'{text}",id{i},"x' for i, text in enumerate(TEXTS[:4])], flipped, header="text,id,note,label")
    result = run("evaluate", output, "--test", tmp_path / "t.csv", "--misclassified", tmp_path / "wrong.tsv",
                 "--keep-column", "id=row_id", "--keep-column", "2", "--keep-column", "label=given_label")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "wrong.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row_id\t2\tgiven_label\twhere\ttext\tlabel\tpredicted\tscore\tloss"
    assert lines[1].startswith(f"id3\tx\t{flipped[3]}\t{tmp_path / 't.csv'}, line 5\t{TEXTS[3]}\t{flipped[3]}\t{LABELS[3]}\t")
    assert len(lines) == 2
    assert_one_line_error(run("evaluate", output, "--test", tmp_path / "t.csv", "--keep-column", "id"), 2,
                          "--keep-column copies columns into the --misclassified records; give --misclassified FILE")
    assert_one_line_error(run("evaluate", output, "--test", tmp_path / "t.csv", "--misclassified", tmp_path / "w.csv", "--keep-column", "label"), 2,
                          "Invalid value for '--keep-column': 'label' is a field of the misclassified records themselves; copy it under another name, e.g. label=true_label")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["t.csv", "wrong.tsv"]



def test_evaluate_against_another_export_on_the_same_texts(trained, workspace, tmp_path):
    _, output = trained
    result = run("evaluate", output, "--test", workspace / "test.csv", "--against", output, "--output", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert f"{output} minus {output}, on the same texts:" in result.output
    assert "accuracy   +0.00 points   95% paired interval +0.00 to +0.00" in result.output
    assert json.loads((tmp_path / "m.json").read_text())["against"]["report"]["examples"] == 4
    other = tmp_path / "other"
    shutil.copytree(output, other)
    metadata = json.loads((other / "textlstm.json").read_text())
    metadata["labels"]["classes"] = ["bird", "cat"]
    (other / "textlstm.json").write_text(json.dumps(metadata))
    assert_one_line_error(run("evaluate", output, "--test", workspace / "test.csv", "--against", other), 2,
                          f"Invalid value for '--against': {other} predicts other classes (bird, cat) than {output} (cat, dog)")


def test_predict_arguments_jsonl_top_k(trained):
    _, output = trained
    result = run("predict", output, "my cat sleeps", "小狗在叫", "--top-k", "2")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [row["label"] for row in rows] == ["cat", "dog"]
    assert rows[1]["text"] == "小狗在叫"
    assert [item["label"] for item in rows[0]["top_k"]] == ["cat", "dog"]
    assert rows[0]["top_k"][0]["probability"] == rows[0]["score"]


def test_predict_files_stdin_and_csv(trained, workspace, tmp_path):
    _, output = trained
    lines = tmp_path / "texts.txt"
    lines.write_text("a small cat purrs\nthe dog barks loudly\n", encoding="utf-8")
    from_txt = run("predict", output, "--input", lines, "--format", "csv")
    assert from_txt.exit_code == 0, from_txt.output
    assert from_txt.output.splitlines()[0] == "text,label,score,label_1,probability_1"
    assert [row.split(",")[1] for row in from_txt.output.splitlines()[1:]] == ["cat", "dog"]
    from_csv = run("predict", output, "--input", workspace / "test.csv", "--output", tmp_path / "p.jsonl")
    assert from_csv.exit_code == 0
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 4
    from_stdin = run("predict", output, input="my dog fetches the ball\n")
    assert json.loads(from_stdin.output)["label"] == "dog"
    dash = run("predict", output, "-", input="my dog fetches the ball\n")
    assert json.loads(dash.output)["text"] == "my dog fetches the ball"


def test_predict_keeps_columns_of_the_input_rows_it_classifies(trained, tmp_path):
    _, output = trained
    rows = tmp_path / "rows.csv"
    rows.write_text('id,text,source\n17,"a small cat purrs",web\n18\n19,"the dog barks loudly",\n', encoding="utf-8")
    as_csv = run("predict", output, "--input", rows, "--keep-column", "id", "--keep-column", "2=source", "--format", "csv",
                 "--on-bad-row", "skip", "--batch-size", "1")  # read, classified and written a text at a time
    assert as_csv.exit_code == 0, as_csv.output
    assert f"{rows}: skipped 1 bad row (line 3)" in as_csv.output
    lines = [line for line in as_csv.output.splitlines() if "skipped" not in line]
    assert lines[0] == "id,source,text,label,score,label_1,probability_1"
    assert [line.split(",")[:4] for line in lines[1:]] == [["17", "web", "a small cat purrs", "cat"], ["19", "", "the dog barks loudly", "dog"]]
    records = tmp_path / "rows.jsonl"
    records.write_text('{"text": "a small cat purrs", "meta": {"id": 17}}\n{"text": "the dog barks loudly"}\n', encoding="utf-8")
    as_jsonl = run("predict", output, "--input", records, "--keep-column", "meta.id", "--keep-column", "text=given")
    assert as_jsonl.exit_code == 0, as_jsonl.output
    predictions = [json.loads(line) for line in as_jsonl.output.splitlines()]
    assert [(p["meta.id"], p["label"]) for p in predictions] == [(17, "cat"), (None, "dog")]
    assert list(predictions[0])[:3] == ["meta.id", "given", "text"] and predictions[1]["given"] == "the dog barks loudly"


def test_predict_names_the_file_of_each_text_of_a_folder(trained, tmp_path):
    _, output = trained
    (tmp_path / "docs" / "more").mkdir(parents=True)
    (tmp_path / "docs" / "b.txt").write_text("the dog barks loudly\n", encoding="utf-8")
    (tmp_path / "docs" / "more" / "a.txt").write_text("a small cat purrs", encoding="utf-8")
    (tmp_path / "docs" / "notes.md").write_text("not a text", encoding="utf-8")
    result = run("predict", output, "--input", tmp_path / "docs", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert [line.split(",")[:3] for line in result.output.splitlines()] == [
        ["file", "text", "label"], [str(tmp_path / "docs" / "b.txt"), "the dog barks loudly", "dog"],
        [str(tmp_path / "docs" / "more" / "a.txt"), "a small cat purrs", "cat"],
    ]


def test_predict_stops_at_a_bad_row_past_the_first_batches_and_writes_no_output(trained, tmp_path):
    _, output = trained
    rows = tmp_path / "rows.csv"
    rows.write_text("text\nthe cat\nthe dog\na cat, a dog\n", encoding="utf-8")
    result = run("predict", output, "--input", rows, "--batch-size", "1", "--output", tmp_path / "p.jsonl")
    assert_one_line_error(result, 1, f"{rows}, line 4: 2 fields, but the header has 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_export_from_keras_file(trained, tmp_path):
    _, output = trained
    result = run("export", output / "model.keras", "--output", tmp_path / "again")
    assert result.exit_code == 0, result.output
    again = run("predict", tmp_path / "again", "the cat sat on the mat")
    original = run("predict", output, "the cat sat on the mat")
    assert again.output == original.output


def test_train_into_a_file_or_pipe_prints_a_line_per_epoch(workspace, tmp_path):
    """CliRunner's output is not a terminal: Keras's one line per epoch, no redrawn bar."""
    options = [option for option in FAST_OPTIONS if option != "--quiet"]
    options[options.index("--epochs") + 1] = "2"
    result = run("train", "--train", workspace / "train.csv", "--output", tmp_path / "m", *options)
    assert result.exit_code == 0, result.output
    epochs = [line for line in result.output.splitlines() if line.startswith("Epoch ")]
    assert epochs == ["Epoch 1/2", "Epoch 2/2"]
    assert "\x1b[" not in result.output and "━" not in result.output


def test_default_train_uses_the_embedded_sample(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("train", "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert "embedded sample data" in result.output
    # The README's walkthrough quotes what the first command prints before training (its epochs are 20).
    quoted = README.split("Before training, textlstm prints")[1].split("```")[1].strip().splitlines()
    assert [line for line in quoted if not line.startswith("Training:")] == [
        line for line in result.output.splitlines() if line.split(":")[0] in {"Texts", "Vocabulary", "Sequence length", "Model", "CJK character pairs"}
    ]
    assert "Test (" in result.output
    assert (tmp_path / "textlstm-model" / "saved_model.pb").exists()


def test_dev_applies_to_the_sample_data_too(tmp_path, monkeypatch):
    """Without --train, a given --dev is still checked and validates (it was once dropped unread)."""
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "bad.csv", ["hello there"], ["greeting"])
    unknown = run("train", "--dev", tmp_path / "bad.csv", "--output", tmp_path / "m")
    assert_one_line_error(unknown, 1, f"{tmp_path}/bad.csv, line 2: label 'greeting' was not seen in training")
    assert not (tmp_path / "m").exists()
    write_csv(tmp_path / "dev.csv", ["rain and wind all day", "the team won the match"], ["weather", "sport"])
    result = run("train", "--dev", tmp_path / "dev.csv", "--output", tmp_path / "m", "--epochs", "1", "--members", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert "Texts: 240 for training, 2 for validation; 4 classes (single-label)" in result.output
    assert f"Validation: {tmp_path}/dev.csv; best epoch 1 of 1" in result.output


def assert_one_line_error(result, exit_code, message):
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1 and message in error_lines[0], result.output


def test_ctrl_c_exits_130_as_shells_report_an_interrupted_command(monkeypatch, tmp_path):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr("textlstm.load", interrupted)
    result = run("predict", tmp_path, "a text")
    assert result.exit_code == 130 and result.output == "Aborted!\n"


@pytest.mark.parametrize("log_level", [None, "3"])
def test_a_bad_input_in_a_fresh_process_writes_one_line_to_stderr(tmp_path, log_level):
    # TensorFlow's native start-up logs reach file descriptor 2 unless the command mutes them,
    # as it does by default and when TF_CPP_MIN_LOG_LEVEL asks for fatal logs only.
    (tmp_path / "t.csv").write_text("")
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    if log_level is not None:
        environment["TF_CPP_MIN_LOG_LEVEL"] = log_level
    process = subprocess.run(
        [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())", "train", "--train", str(tmp_path / "t.csv")],
        capture_output=True, text=True, env=environment, cwd=Path(__file__).resolve().parents[1],
    )
    assert process.returncode == 1
    assert process.stderr == f"Error: {tmp_path}/t.csv: the file is empty\n"


def test_predict_into_a_pipe_closed_early_stops_quietly(trained, tmp_path):
    # as `textlstm predict ... | head -1`: the reader goes away while predictions are still written
    _, output = trained
    (tmp_path / "many.txt").write_text("a small cat purrs\n" * 2000, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())", "predict", str(output),
         "--input", str(tmp_path / "many.txt"), "--batch-size", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )
    assert json.loads(process.stdout.readline())["label"] == "cat"
    process.stdout.close()
    assert process.wait() == 141  # as shells report a command that SIGPIPE stopped
    assert process.stderr.read() == b""


@pytest.mark.parametrize(
    "files, options, exit_code, message",
    [
        ({}, ["--train", "{d}/nope.csv"], 2, "Invalid value for '--train': Path '{d}/nope.csv' does not exist."),
        ({"t.csv": ""}, ["--train", "{d}/t.csv"], 1, "{d}/t.csv: the file is empty"),
        ({"t.csv": "body,label\na,b\n"}, ["--train", "{d}/t.csv"], 1, "{d}/t.csv: no column 'text' in the header"),
        ({"t.csv": "text,label\na,b\nc,\n"}, ["--train", "{d}/t.csv"], 1, "{d}/t.csv, line 3: empty label in column 'label'"),
        ({"t.csv": b"text,label\na,b\n\xff,c\n"}, ["--train", "{d}/t.csv"], 1, "{d}/t.csv, line 3: not valid utf-8"),
        ({"t.csv": "text,label\na,x\nb,x\n"}, ["--train", "{d}/t.csv"], 1, "{d}/t.csv: only one class ('x') in the labels"),
        ({"t.txt": "__label__x a\n__label__x __label__y b\n__label__y c\n"}, ["--train", "{d}/t.txt"], 1,
         "{d}/t.txt, line 2: 2 labels (x, y) for one text, but the task is single-label; the multi-label task takes several"),
        ({"t.csv": "text,label\na,x\nb,y\n", "s.csv": "text,label\na,x\nb,z\n"},
         ["--train", "{d}/t.csv", "--test", "{d}/s.csv"], 1, "{d}/s.csv, line 3: label 'z' was not seen in training"),
        ({}, ["--pooling", "min"], 2, "Invalid value for '--pooling': 'min' is not one of"),
        ({}, ["--units", "0"], 2, "Invalid value for '--units': expected an integer >= 1, got 0"),
        ({}, ["--label-threshold", "spam"], 2, "Invalid value for '--label-threshold': expected LABEL=VALUE"),
        ({}, ["--threshold", "0.3"], 2, "Invalid value for '--threshold': applies to task multi-label only"),
        ({}, ["--task", "multi-label", "--label-threshold", "spam=0.3"], 2,
         "Invalid value for '--label-threshold': no label 'spam' in the training data (labels: food, sport, tech, weather)"),
        ({}, ["--class-weight", "food=2", "--class-weight", "spam=3"], 2,
         "Invalid value for '--class-weight': no label 'spam' in the training data (labels: food, sport, tech, weather)"),
        ({}, ["--class-weight", "heavy"], 2, "Invalid value for '--class-weight': expected none, balanced or LABEL=WEIGHT pairs, got 'heavy'"),
        ({"c.toml": "unit = 3\n"}, ["--config", "{d}/c.toml"], 2, "Invalid value for '--config': unit: unknown setting in {d}/c.toml"),
        ({"c.toml": "units = 0\n"}, ["--config", "{d}/c.toml"], 2,
         "Invalid value for '--config': units: expected an integer >= 1, got 0 in {d}/c.toml"),
        pytest.param({}, ["--tensorboard", "{d}/logs"], 2,
                     "--tensorboard writes its logs with the tensorboard package, which is not installed: pip install tensorboard",
                     marks=pytest.mark.skipif(HAS_TENSORBOARD, reason="the tensorboard package is installed")),
        ({"out/keep.txt": "x"}, ["--output", "{d}/out"], 1, "{d}/out: already exists; pass --force to overwrite it"),
        ({"f.txt": "x"}, ["--output", "{d}/f.txt/sub/m"], 1, "{d}/f.txt/sub/m: cannot be created: {d}/f.txt is not a directory"),
    ],
)
def test_train_bad_input(tmp_path, files, options, exit_code, message):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    options = [o.format(d=tmp_path) for o in options]
    if "--output" not in options:
        options += ["--output", str(tmp_path / "model")]
    result = run("train", *options, "--epochs", "1", "--quiet")
    assert_one_line_error(result, exit_code, message.format(d=tmp_path))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing", "{d}/missing: no such export directory"),
        (lambda d: d, "{d}: not a textlstm export (no textlstm.json)"),
    ],
)
def test_bad_export_directory(tmp_path, make, message):
    assert_one_line_error(run("predict", make(tmp_path), "text"), 1, message.format(d=tmp_path))
    (tmp_path / "t.csv").write_text("text,label\na,b\n")
    assert_one_line_error(run("evaluate", make(tmp_path), "--test", tmp_path / "t.csv"), 1, message.format(d=tmp_path))


def test_damaged_export_metadata_is_a_one_line_error_naming_the_file(trained, tmp_path):
    """An unknown setting in an export's textlstm.json is the file's fault, not a command-line option's."""
    _, output = trained
    metadata = json.loads((output / "textlstm.json").read_text())
    (tmp_path / "textlstm.json").write_text(json.dumps({**metadata, "config": {**metadata["config"], "zzz": 1}}))
    message = f"{tmp_path}/textlstm.json: zzz: unknown setting in config"
    assert_one_line_error(run("predict", tmp_path, "text"), 1, message)
    (tmp_path / "t.csv").write_text("text,label\na,b\n")
    assert_one_line_error(run("evaluate", tmp_path, "--test", tmp_path / "t.csv"), 1, message)


def test_predict_usage_errors(trained, tmp_path):
    _, output = trained
    result = run("predict", output, "x", "--input", tmp_path / "a.txt")
    assert_one_line_error(result, 2, "give TEXT arguments or --input, not both")
    assert_one_line_error(run("predict", output, "x", "--format", "xml"), 2, "Invalid value for '--format'")
    assert_one_line_error(run("predict", output, "--input", tmp_path / "nope.txt"), 1, "nope.txt: no such file")
    assert_one_line_error(run("predict", output, "x", "--keep-column", "id"), 2,
                          "--keep-column copies columns of an --input file; TEXT arguments and stdin have none")
    (tmp_path / "a.csv").write_text("text,label,id\na,b,1\n")
    assert_one_line_error(run("predict", output, "--input", tmp_path / "a.csv", "--keep-column", "label"), 2,
                          "Invalid value for '--keep-column': 'label' is a field of the predictions themselves; "
                          "copy it under another name, e.g. label=true_label")
    assert_one_line_error(run("predict", output, "--input", tmp_path / "a.csv", "--keep-column", "id", "--keep-column", "label=id"), 2,
                          "Invalid value for '--keep-column': two columns would be copied as 'id'; give one another name with COLUMN=NAME")
    assert_one_line_error(run("predict", output, "--input", tmp_path / "a.csv", "--keep-column", "ID"), 1,
                          f"{tmp_path}/a.csv: no column 'ID' in the header (columns: text, label, id)")
    (tmp_path / "a.txt").write_text("a\n")
    assert_one_line_error(run("predict", output, "--input", tmp_path / "a.txt", "--keep-column", "id"), 1,
                          f"{tmp_path}/a.txt: a txt source has no columns to keep; they are kept from CSV, TSV or JSONL")
    (tmp_path / "a.txt").unlink()
    (tmp_path / "a.csv").unlink()
    (tmp_path / "f.txt").write_text("x")
    refused = run("predict", output, "x", "--output", tmp_path / "f.txt" / "p.jsonl")
    assert_one_line_error(refused, 1, f"Error: {tmp_path}/f.txt/p.jsonl: cannot be created: {tmp_path}/f.txt is not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_evaluate_unknown_label(trained, tmp_path):
    _, output = trained
    write_csv(tmp_path / "t.csv", ["a cat", "a bird"], ["cat", "bird"])
    result = run("evaluate", output, "--test", tmp_path / "t.csv")
    assert_one_line_error(result, 1, f"{tmp_path}/t.csv, line 3: label 'bird' was not seen in training (known: cat, dog)")
    (tmp_path / "s.csv").write_text("text,label\na cat,cat\na dog,dog,extra\nthe dog,dog\n")
    skipped = run("evaluate", output, "--test", tmp_path / "s.csv", "--on-bad-row", "skip")
    assert skipped.exit_code == 0, skipped.output
    assert f"{tmp_path}/s.csv: skipped 1 bad row (line 3)" in skipped.output and "examples   2" in skipped.output


def test_every_config_field_is_an_option_with_help():
    result = run("train", "--help")
    for option in ("--tokenizer", "--max-tokens", "--min-count", "--max-length", "--encoder", "--num-layers",
                   "--units", "--bidirectional / --no-bidirectional", "--pooling", "--task", "--label-threshold",
                   "--early-stopping", "--class-weight", "--seed", "--config"):
        assert option in result.output


def test_train_on_a_folder_with_skips_reported(tmp_path):
    for index, (text, label) in enumerate(zip(TEXTS, LABELS)):
        (tmp_path / "data" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / label / f"{index}.txt").write_text(text, encoding="utf-8")
    broken = tmp_path / "test.csv"
    broken.write_text('text,label\nthe cat sat,cat\nno label,\nthe dog barks,dog\n', encoding="utf-8")
    result = run("train", "--train", tmp_path / "data", "--test", broken, "--on-bad-row", "skip",
                 "--output", tmp_path / "m", *FAST_OPTIONS, "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert f"{broken}: skipped 1 bad row (line 3)" in result.output
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["examples"] == 2


def test_bad_read_option_is_a_usage_error(tmp_path):
    assert_one_line_error(run("train", "--encoding", "klingon"), 2, "Invalid value for '--encoding': unknown encoding 'klingon'")


def test_datasets_list_and_file_info(workspace):
    listing = run("datasets", "list")
    assert listing.exit_code == 0
    assert "sst2" in listing.output and "train 6,920, dev 872, test 1,821" in listing.output
    header, *lines = listing.output.splitlines()
    columns = [header.index(name) for name in ("lang", "rows", "title")]
    # Every row's fields start under their heading, the longest name's too.
    for line in lines:
        assert all(line[column - 1] == " " and line[column] != " " for column in columns), line
    info = run("datasets", "info", workspace / "train.csv", "--test", workspace / "test.csv")
    assert info.exit_code == 0, info.output
    assert "data: 12 rows, 2 classes" in info.output
    assert "overlap: 4 test texts also occur in data" in info.output


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    """A registered data set "tiny" of two TREC questions, in a local mirror: the options that read it."""
    content = b"HUM:ind Who invented the telephone ?\nNUM:date When was the telephone invented ?\n"
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "TREC.test").write_bytes(content)
    file = {"url": "https://example.invalid/TREC.test", "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    card = {"name": "tiny", "files": {"TREC.test": file}, "parser": {"name": "trec", "label": "fine"},
            "splits": {"train": "TREC.test", "test": "TREC.test"}, "rows": {"train": 2, "test": 2}}
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "tiny.json").write_text(json.dumps(card))
    monkeypatch.setattr(registry, "CARDS_DIR", tmp_path / "cards")
    return ["--mirror", tmp_path / "mirror", "--cache-dir", tmp_path / "cache"]


def test_dev_applies_to_a_registered_data_set(tmp_path, tiny_dataset):
    write_csv(tmp_path / "bad.csv", ["Who wrote Hamlet ?"], ["HUM:writer"])
    result = run("train", "--dataset", "tiny", *tiny_dataset, "--dev", tmp_path / "bad.csv", "--output", tmp_path / "m")
    assert_one_line_error(result, 1, f"{tmp_path}/bad.csv, line 2: label 'HUM:writer' was not seen in training")


def test_datasets_write_gives_text_label_csv_files(tmp_path, tiny_dataset):
    common = tiny_dataset
    result = run("datasets", "write", "tiny", tmp_path / "out", *common)
    assert result.exit_code == 0, result.output
    assert f"{tmp_path}/out/train.csv: 2 texts (train)" in result.output
    assert (tmp_path / "out" / "test.csv").read_text() == (
        "text,label\nWho invented the telephone ?,HUM:ind\nWhen was the telephone invented ?,NUM:date\n"
    )
    again = run("datasets", "write", "tiny", tmp_path / "out", *common)
    assert_one_line_error(again, 1, f"{tmp_path}/out/train.csv: already exists (use --force to overwrite)")
    assert run("datasets", "write", "tiny", tmp_path / "out", *common, "--force").exit_code == 0
    # A path the system refuses (here, under a file) is a one-line error too, and nothing is written.
    (tmp_path / "f.txt").write_text("x")
    refused = run("datasets", "write", "tiny", tmp_path / "f.txt" / "out", *common)
    assert_one_line_error(refused, 1, f"Error: {tmp_path}/f.txt/out/train.csv: cannot be created: {tmp_path}/f.txt is not a directory")
    assert (tmp_path / "f.txt").read_text() == "x"


@needs_originals
def test_train_and_evaluate_on_a_registered_data_set(tmp_path):
    common = ["--mirror", ORIGINALS, "--cache-dir", tmp_path / "cache"]
    downloaded = run("datasets", "download", "trec", *common)
    assert downloaded.exit_code == 0, downloaded.output
    assert "TREC.train: " in downloaded.output and "(SHA-256 verified)" in downloaded.output
    result = run("train", "--dataset", "trec", *common, "--output", tmp_path / "m", "--epochs", "1",
                 "--units", "8", "--embedding-dim", "8", "--quiet")
    assert result.exit_code == 0, result.output
    assert "Warning: 11 test texts also occur in the training data" in result.output
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["examples"] == 500
    evaluated = run("evaluate", tmp_path / "m", "--dataset", "trec", *common)
    assert evaluated.exit_code == 0, evaluated.output
    assert "examples   500" in evaluated.output


@needs_originals
def test_registered_data_set_without_test_split_gets_a_seeded_one(tmp_path):
    result = run("datasets", "info", "mr", "--mirror", ORIGINALS, "--cache-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "all: 10,662 rows, 2 classes" in result.output


def test_train_streaming(workspace, tmp_path):
    test = tmp_path / "test.csv"
    test.write_text((workspace / "test.csv").read_text() + "a bad,row,here\n")
    result = run("train", "--train", workspace / "train.csv", "--dev", workspace / "train.csv", "--test",
                 test, "--on-bad-row", "skip", "--streaming", "--output", tmp_path / "m", *FAST_OPTIONS, "--members", "1")
    assert result.exit_code == 0, result.output
    assert f"Streaming {workspace / 'train.csv'}" in result.output
    assert f"{test}: skipped 1 bad row (line 6)" in result.output  # the test file is read in parts, after training
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["examples"] == 4
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["accuracy"] == 1.0
    assert_one_line_error(run("train", "--streaming", "--output", tmp_path / "n"), 2, "--streaming reads a --train file")


def test_unknown_data_set_and_missing_source(tmp_path):
    assert_one_line_error(run("datasets", "download", "sst3"), 1, "unknown data set 'sst3' (registered: ag_news")
    assert_one_line_error(run("train", "--dataset", "sst3", "--output", tmp_path / "m"), 1, "unknown data set 'sst3'")
    assert_one_line_error(run("evaluate", tmp_path), 2, "give --test FILE or --dataset NAME (one of them)")


def test_a_missing_vectors_file_is_named_before_any_data_is_read(workspace, tmp_path):
    for command in ("train", "tune"):
        budget = ["--budget", "1"] if command == "tune" else []
        result = run(command, "--train", workspace / "train.csv", *budget, "--embeddings", tmp_path / "nope.vec", "--output", tmp_path / "m")
        assert_one_line_error(result, 2, f"Invalid value for '--embeddings': {tmp_path / 'nope.vec'}: no such file")
        assert "Training data" not in result.output
    result = run("train", "--embeddings", tmp_path, "--output", tmp_path / "m")
    assert_one_line_error(result, 2, f"{tmp_path}: a directory, not a vectors file")
    assert not (tmp_path / "m").exists()


def test_train_with_pretrained_vectors_reports_coverage(workspace, tmp_path):
    vectors = tmp_path / "v.vec"
    vectors.write_text("2 3\ncat 0.1 0.2 0.3 \ndog 0.3 0.2 0.1 \n", encoding="utf-8")
    result = run("train", "--train", workspace / "train.csv", "--embeddings", vectors, "--no-train-embeddings",
                 "--output", tmp_path / "m", "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert "Pretrained vectors: 2 of " in result.output and f"found in {vectors}; dimension 3; frozen" in result.output
    bad = tmp_path / "bad.vec"
    bad.write_text("cat 0.1 0.2\ndog 0.3\n", encoding="utf-8")
    result = run("train", "--train", workspace / "train.csv", "--embeddings", bad, "--output", tmp_path / "n", "--epochs", "1", "--quiet")
    assert_one_line_error(result, 1, f"{bad}, line 2: 1 number, expected 2")
    assert not (tmp_path / "n").exists()


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="needs the tensorboard package")
def test_train_writes_tensorboard_logs_of_every_epoch(workspace, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = tmp_path / "logs"
    result = run("train", "--train", workspace / "train.csv", "--output", tmp_path / "m", "--tensorboard", logs,
                 *FAST_OPTIONS, "--epochs", "3", "--patience", "3", "--members", "1", "--ngrams", "1")
    assert result.exit_code == 0, result.output
    for split in ("train", "validation"):
        events = EventAccumulator(str(logs / split), size_guidance={"tensors": 0})
        events.Reload()
        assert [event.step for event in events.Tensors("epoch_loss")] == [0, 1, 2]


def test_train_with_a_weight_column_leaves_out_texts_of_weight_0(workspace, tmp_path):
    # The dev and test files have no weight column: only --train is read with it.
    result = run("train", "--train", write_weighted_csv(tmp_path / "w.csv"), "--weight-column", "weight", "--dev",
                 workspace / "train.csv", "--test", workspace / "train.csv", "--output", tmp_path / "m",
                 "--members", "1", "--ngrams", "1", *FAST_OPTIONS)
    assert result.exit_code == 0, result.output
    assert "Weights: 0 to 1, mean 0.5; 12 texts of weight 0 left out of training" in result.output
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["accuracy"] == 1.0


def test_weight_column_errors(workspace, tmp_path):
    usage = "--weight-column reads a --train file; it does not apply to --dataset or the sample data"
    for command in ("train", "tune"):
        budget = ["--budget", "1"] if command == "tune" else []
        assert_one_line_error(run(command, *budget, "--weight-column", "w", "--output", tmp_path / "m"), 2, usage)
    zero = tmp_path / "zero.csv"
    zero.write_text("text,label,w\na cat,cat,0\na dog,dog,0\n", encoding="utf-8")
    assert_one_line_error(run("train", "--train", zero, "--weight-column", "w", "--output", tmp_path / "m"), 1,
                          f"{zero}: every weight is 0 (--weight-column)")
    result = run("train", "--train", workspace / "train.csv", "--weight-column", "2", "--output", tmp_path / "m")
    assert_one_line_error(result, 1, f"{workspace / 'train.csv'}: column index 2 is past the header's 2 columns")
    assert not (tmp_path / "m").exists()


def test_tune_passes_the_weight_column_to_the_search(workspace, tmp_path, monkeypatch):
    seen = {}

    def search(texts, labels, *args, sample_weight=None, **kwargs):
        seen.update(texts=texts, weights=sample_weight)
        raise DataError("searched")

    monkeypatch.setattr("textlstm.tune", search)
    path = write_weighted_csv(tmp_path / "w.csv")
    assert_one_line_error(run("tune", "--budget", "1", "--train", path, "--weight-column", "weight",
                              "--dev", workspace / "train.csv", "--output", tmp_path / "m"), 1, "searched")
    assert seen == {"texts": TEXTS + TEXTS, "weights": [1.0] * 12 + [0.0] * 12}


def test_tune_exports_the_best_trial_with_its_trials(workspace, tmp_path):
    output = tmp_path / "tuned"
    result = run("tune", "--budget", "10", "--max-trials", "2", "--train", workspace / "train.csv",
                 "--dev", workspace / "train.csv", "--test", workspace / "test.csv", "--output", output,
                 "--epochs", "2", "--units", "8", "--embedding-dim", "16", "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert "batch_size for 10 minutes (validation macro-F1 decides)." in result.output
    assert "trial 1: val macro-F1" in result.output and "trial 2: val macro-F1" in result.output
    tuning = json.loads((output / "tuning.json").read_text())
    assert len(tuning["trials"]) == 2
    assert json.loads((output / "textlstm.json").read_text())["config"] == tuning["config"]


def test_tune_needs_a_positive_budget(workspace, tmp_path):
    result = run("tune", "--budget", "0", "--train", workspace / "train.csv", "--output", tmp_path / "m")
    assert result.exit_code == 2
    assert "--budget" in result.output
    assert not (tmp_path / "m").exists()


def test_tune_checks_thresholds_before_the_search(workspace, tmp_path):
    result = run("tune", "--budget", "1", "--train", workspace / "train.csv", "--threshold", "0.3", "--output", tmp_path / "m")
    assert_one_line_error(result, 2, "Invalid value for '--threshold': applies to task multi-label only")
    assert "Searching" not in result.output
    assert not (tmp_path / "m").exists()


def test_describe_a_configuration_and_an_export(trained):
    result = run("describe", "--units", "8", "--embedding-dim", "4", "--vocabulary-size", "50", "--classes", "3")
    assert result.exit_code == 0, result.output
    # The default three members share the layer: 2 directions x 3 members x 4 gates x 8 units x (4 + 8 + 1).
    assert "2·3·4·8·(4+8+1)" in result.output and "equal to Keras's count less the" in result.output
    _, output = trained
    result = run("describe", output, "--time-major")
    assert result.exit_code == 0, result.output
    assert "(time, batch, 16)" in result.output
    for option in (["--units", "4"], ["--classes", "3"], ["--vocabulary-size", "50"]):
        assert_one_line_error(run("describe", output, *option), 2, "configuration options, --classes and --vocabulary-size describe a new model; give them without SOURCE")


def test_explain_prints_weights_and_writes_html(trained, tmp_path):
    _, output = trained
    page = tmp_path / "why.html"
    result = run("explain", output, "the dog barks", "小猫", "--html", page)
    assert result.exit_code == 0, result.output
    assert "occlusion weights" in result.output and "barks(" in result.output
    assert page.read_text(encoding="utf-8").count('class="token"') == 3 + 2
    from_stdin = run("explain", output, "-", "--html", page, input="the dog barks\n小猫\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.output == result.output
    (tmp_path / "wrong.csv").write_text('where,text,label\n"t.csv, line 2",the dog barks,cat\nx,小猫,dog\n', encoding="utf-8")
    from_file = run("explain", output, "--input", tmp_path / "wrong.csv", "--html", page)  # as evaluate --misclassified writes
    assert from_file.exit_code == 0, from_file.output
    assert from_file.output == result.output
    assert_one_line_error(run("explain", output), 2, "nothing to explain: give TEXT arguments or --input FILE (- for stdin)")
    assert_one_line_error(run("explain", output, "x", "--input", tmp_path / "wrong.csv"), 2, "give TEXT arguments or --input, not both")
