"""The export: plain TensorFlow gets the same numbers, atomic writes, and clear loading errors."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import textlstm
from conftest import FAST, LABELS, MULTI_LABELS, MULTI_TEXTS, TEXTS
from textlstm import TextClassifier
from textlstm.data import ReadOptions
from textlstm.errors import DataError, ExportError
from textlstm.export import read_metadata

PROBE = ["the cat sleeps", "我的狗", "", "a dog and a cat"]
# The fused LSTM kernel runs on CPU only; with a GPU, every model serves in groups of SERVE_CHUNK.
ON_GPU = bool(tf.config.list_logical_devices("GPU"))

PLAIN_TENSORFLOW = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
meta = json.loads(model.signatures["metadata"]()["textlstm_json"].numpy().decode())
print(json.dumps({
    "keys": sorted(out),
    "probabilities": out["probabilities"].numpy().tolist(),
    "label": [x.decode() for x in out["label"].numpy()],
    "score": out["score"].numpy().tolist(),
    "attention": out["attention"].numpy().tolist(),
    "classes": meta["labels"]["classes"],
    "imported_textlstm": "textlstm" in sys.modules,
}))
"""


def plain_tensorflow(export, texts):
    """What PLAIN_TENSORFLOW, run in a fresh process without textlstm, reads from ``export`` for ``texts``."""
    process = subprocess.run(
        [sys.executable, "-c", PLAIN_TENSORFLOW, str(export), json.dumps(texts)],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
        cwd="/",
    )
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_plain_tensorflow_gets_the_same_predictions(fitted, exported):
    result = plain_tensorflow(exported, PROBE)
    assert not result["imported_textlstm"]
    assert result["keys"] == ["attention", "label", "probabilities", "score"]
    expected = fitted.predict_proba(PROBE)
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert result["label"] == list(fitted.predict(PROBE))
    np.testing.assert_allclose(result["score"], expected.max(axis=1), atol=1e-5)
    attention = np.array(result["attention"])
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-5)
    assert attention[2].tolist()[0] == pytest.approx(1.0)  # the empty text is one OOV token
    assert result["classes"] == ["cat", "dog"]


def test_cjk_pair_embeddings_export_to_plain_tensorflow(tmp_path):
    chinese, labels = TEXTS[8:], LABELS[8:]
    classifier = TextClassifier(pooling="attention", **FAST, cjk_pairs=64).fit(chinese, labels, validation_data=(chinese, labels), verbose=0)
    assert classifier.score(chinese, labels) == 1.0
    classifier.export(tmp_path / "model")
    probe = [*chinese, "我的小猫", "dog 小狗", ""]
    result = plain_tensorflow(tmp_path / "model", probe)
    assert not result["imported_textlstm"]
    np.testing.assert_allclose(result["probabilities"], classifier.predict_proba(probe), atol=1e-5)
    assert textlstm.load(tmp_path / "model").config.cjk_pairs == 64


def test_export_layout_and_predictor(fitted, exported):
    assert {"saved_model.pb", "variables", "textlstm.json", "model.keras"} <= {p.name for p in exported.iterdir()}
    metadata = json.loads((exported / "textlstm.json").read_text())
    assert metadata["schema_version"] == 6
    assert metadata["config"]["lowercase"] is False
    assert metadata["config"]["max_length"] == fitted.config_.max_length
    predictor = textlstm.load(exported)
    np.testing.assert_allclose(predictor.predict_proba(PROBE), fitted.predict_proba(PROBE), atol=1e-5)
    assert list(predictor.predict(PROBE)) == list(fitted.predict(PROBE))
    assert predictor.predict_proba([]).shape == (0, 2)
    np.testing.assert_allclose(predictor.predict_log_proba(PROBE), np.log(predictor.predict_proba(PROBE)), rtol=1e-6)


def test_the_predictor_refuses_what_is_not_a_list_of_strings(exported):
    predictor = textlstm.load(exported)
    assert repr(predictor) == f"Predictor({str(exported)!r}, classes=['cat', 'dog'])"
    with pytest.raises(DataError, match=r"^texts: expected a sequence of strings, got one string$"):
        predictor.predict("a single text")
    with pytest.raises(DataError, match=r"^texts\[1\]: expected str, got int$"):
        predictor.predict_proba(["a text", 7])


def test_keras_model_reloads_to_the_same_classifier(fitted, exported):
    again = TextClassifier.from_keras(exported / "model.keras")
    np.testing.assert_allclose(again.predict_proba(PROBE), fitted.predict_proba(PROBE), atol=1e-6)


def test_never_overwrites_without_force(fitted, exported, tmp_path):
    with pytest.raises(ExportError, match="already exists; pass --force to overwrite it"):
        fitted.export(exported)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ExportError, match="exists and is not a textlstm export; refusing to overwrite it"):
        fitted.export(other, force=True)
    assert (other / "holiday.jpg").exists()


def test_force_replaces_an_export(fitted, tmp_path):
    path = tmp_path / "m"
    fitted.export(path)
    (path / "stale.txt").write_text("old")
    fitted.export(path, force=True)
    assert not (path / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failure_leaves_nothing_half_written(fitted, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("keras.Model.save", broken)
    with pytest.raises(OSError, match="disk full"):
        fitted.export(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_misclassified_records_hold_the_kept_columns(fitted, tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"r{i},{text},{'dog' if i in (1, 6) else label}" for i, (text, label) in enumerate(zip(TEXTS[:8], LABELS[:8]))]
    path.write_text("\n".join(["id,text,label", *rows]) + "\n", encoding="utf-8")
    records = []
    fitted.evaluate_file(path, ReadOptions(keep_columns=("id", "label", 1)), misclassified=records)
    assert [(r["text"], r["label"], r["kept"]) for r in records] == [(TEXTS[1], "dog", {"id": "r1", "label": "dog", "1": TEXTS[1]})]  # row 6 is a dog already
    assert list(records[0]) == ["where", "text", "label", "predicted", "score", "loss", "kept"]
    fitted.evaluate_file(path, misclassified=records)
    assert "kept" not in records[1]


def test_multi_label_export_joins_labels(multi_label_fitted, tmp_path):
    multi_label_fitted.export(tmp_path / "m")
    assert list(textlstm.load(tmp_path / "m").predict(MULTI_TEXTS)) == MULTI_LABELS


def test_evaluate_file_reads_in_parts_and_gives_the_report_of_evaluate(fitted, exported, multi_label_fitted, tmp_path):
    labels = [{"cat": "dog", "dog": "cat"}[label] if i in (1, 6, 7) else label for i, label in enumerate(LABELS)]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in zip(TEXTS, labels)), encoding="utf-8")
    in_memory, from_file = [], []
    expected = fitted.evaluate(TEXTS, labels, misclassified=in_memory)
    assert expected["accuracy"] == 0.75  # the three wrong labels cost what they should
    assert fitted.evaluate_file(path, batch_size=5, misclassified=from_file) == expected  # parts of 5, 5 and 2 texts
    assert [(r["where"], r["text"], r["label"]) for r in in_memory] == [(f"example {i}", TEXTS[i], labels[i]) for i in (1, 6, 7)]
    assert [r["where"] for r in from_file] == [f"{path}, line {i + 1}" for i in (1, 6, 7)]
    assert [{**r, "where": None} for r in from_file] == [pytest.approx({**r, "where": None}, abs=1e-5) for r in in_memory]
    predictor, exported_records = textlstm.load(exported), []
    assert predictor.evaluate_file(path, batch_size=5, misclassified=exported_records) == predictor.evaluate(TEXTS, labels)
    assert [r["text"] for r in exported_records] == [TEXTS[i] for i in (1, 6, 7)]
    # against its own export: the same answers, so no difference whichever texts are drawn
    against = fitted.evaluate_file(path, batch_size=5, against=predictor)["against"]
    assert against["report"]["accuracy"] == 0.75 and against["accuracy"] == 0.0
    assert against["intervals"]["accuracy"] == [0.0, 0.0] and against["intervals"]["macro_f1"] == [0.0, 0.0]
    assert predictor.evaluate(TEXTS, labels, against=fitted)["against"] == against
    with pytest.raises(DataError, match=r"^against: the other model predicts other classes \(bird, cat, dog\) than this one \(cat, dog\)$"):
        fitted.evaluate(TEXTS, labels, against=multi_label_fitted)
    with pytest.raises(TypeError, match="^against: expected a fitted TextClassifier or a loaded export, got str$"):
        predictor.evaluate_file(path, against=str(exported))
    multi = tmp_path / "m.jsonl"
    multi.write_text("".join(json.dumps({"text": t, "label": l.split("|")}) + "\n" for t, l in zip(MULTI_TEXTS, MULTI_LABELS)))
    assert multi_label_fitted.evaluate_file(multi, batch_size=4) == multi_label_fitted.evaluate(MULTI_TEXTS, MULTI_LABELS)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "missing: no such export directory"),
        (lambda p: p, "not a textlstm export \\(no textlstm.json\\)"),
    ],
)
def test_load_errors(tmp_path, make, message):
    with pytest.raises(ExportError, match=message):
        textlstm.load(make(tmp_path))


def test_an_export_and_its_model_file_given_the_wrong_way_round(exported, tmp_path):
    with pytest.raises(ExportError, match=r"model.keras: a file, not an export directory \(give the directory that holds it\)$"):
        textlstm.load(exported / "model.keras")
    with pytest.raises(ExportError, match=r": a directory, not a model file \(give the model.keras inside it\)$"):
        TextClassifier.from_keras(exported)
    (tmp_path / "data.csv").write_text("text,label\n")
    with pytest.raises(ExportError, match=r"data.csv: no textlstm.json beside it \(textlstm writes both into an export directory\)$"):
        TextClassifier.from_keras(tmp_path / "data.csv")


def test_metadata_of_earlier_schema_versions_reads_as_what_they_built(exported, tmp_path):
    metadata = json.loads((exported / "textlstm.json").read_text())
    config = {
        key: value
        for key, value in metadata["config"].items()
        if key not in ("lowercase", "cjk_pairs", "naive_bayes", "ngram_max_length", "branch_mix")
    }

    def read(version, **settings):
        (tmp_path / "textlstm.json").write_text(json.dumps({**metadata, "schema_version": version, "config": {**config, **settings}}))
        return read_metadata(tmp_path)["config"]

    assert read(2)["lowercase"] is True  # version 2 always lower-cased
    assert read(2)["cjk_pairs"] == 0  # before version 4, no pair embedding
    assert read(2)["naive_bayes"] is False  # before version 5, no naive-Bayes regression
    assert read_metadata(exported)["config"]["lowercase"] is False and read_metadata(exported)["config"]["naive_bayes"] is True
    assert read(3, lowercase=False)["lowercase"] is False and read(3, lowercase=False)["cjk_pairs"] == 0
    assert read(4, lowercase=False, cjk_pairs=7)["cjk_pairs"] == 7 and read(4, lowercase=False, cjk_pairs=7)["naive_bayes"] is False
    # Before version 5 the n-gram branch read the members' max_length tokens.
    assert read(4, lowercase=False, cjk_pairs=7)["ngram_max_length"] == metadata["config"]["max_length"]
    # Before version 6 the branches were mixed linearly.
    assert read(5, lowercase=False, cjk_pairs=7, naive_bayes=True)["branch_mix"] == "linear"
    assert read_metadata(exported)["config"]["branch_mix"] == "log"
    (tmp_path / "textlstm.json").write_text(json.dumps({**metadata, "schema_version": 1}))
    with pytest.raises(ExportError, match="textlstm.json: schema version 1, this textlstm reads 2, 3, 4, 5 and 6"):
        read_metadata(tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: [m], "expected a JSON object, got list"),
        (lambda m: {k: v for k, v in m.items() if k != "config"}, "'config' must be a JSON object"),
        (lambda m: {**m, "labels": 5}, "'labels' must be a JSON object"),
        (lambda m: {**m, "config": {**m["config"], "zzz": 1}}, "zzz: unknown setting in config"),
        (lambda m: {**m, "config": {**m["config"], "units": "many"}}, "units: expected int, got 'many'"),
        (lambda m: {**m, "labels": {"classes": ["a", "b"]}}, "labels: expected classes, multi_label and delimiter"),
        (lambda m: {**m, "thresholds": [0.5]}, "'thresholds' must be a list of 2 numbers, one per class"),
    ],
)
def test_damaged_metadata_is_an_error_naming_the_file(exported, tmp_path, damage, message):
    metadata = json.loads((exported / "textlstm.json").read_text())
    assert len(metadata["labels"]["classes"]) == 2
    (tmp_path / "textlstm.json").write_text(json.dumps(damage(metadata)))
    with pytest.raises(ExportError, match=f"^{re.escape(str(tmp_path / 'textlstm.json'))}: {message}"):
        read_metadata(tmp_path)


def test_serving_runs_texts_sorted_by_length_in_chunks_and_restores_their_order(fitted):
    from textlstm.export import run_by_length
    from textlstm.model import with_attention

    network = with_attention(fitted.model_)
    texts = ["a dog and a cat and a dog", "cat", "我的狗", "the cat sleeps", "dog dog"]
    ids = fitted.tokenizer_.ragged_ids(texts)  # lengths 8, 1, 3, 3, 2: chunks of 2 after sorting
    outputs = run_by_length(network, ids, chunk=2, classes=2)
    width = max(len(row) for row in ids.to_list())
    for i in range(len(texts)):  # each text alone, unpadded
        alone = network(ids[i : i + 1].to_tensor(), training=False)
        np.testing.assert_allclose(outputs["probabilities"][i], alone["probabilities"][0], atol=1e-6)
        attention = alone["attention"][0].numpy()
        np.testing.assert_allclose(outputs["attention"][i], np.pad(attention, (0, width - len(attention))), atol=1e-6)


def test_a_batch_of_several_fused_kernel_groups_serves_what_the_classifier_predicts(fitted, exported):
    from textlstm.export import SERVE_CHUNK, serving_chunk
    from textlstm.fused_lstm import FUSED_MAX_BATCH

    chunk = serving_chunk(fitted.model_)
    assert chunk == (SERVE_CHUNK if ON_GPU else FUSED_MAX_BATCH)  # on CPU, the groups run on the fused kernel
    words = ["the", "cat", "dog", "sat", "on", "a", "mat", "my", "小", "猫", "狗", "barks"]
    rng = np.random.default_rng(0)
    count = 2 * chunk + 7  # two full groups and a short one, in one signature call
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(count)]
    served = textlstm.load(exported).predict_proba(texts, batch_size=count)
    np.testing.assert_allclose(served, fitted.predict_proba(texts), atol=1e-5)


def test_members_model_exports_the_same_predictions_and_mean_attention(tmp_path):
    settings = dict(FAST, epochs=2, members=2, pooling="attention")
    classifier = TextClassifier(**settings).fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    classifier.export(tmp_path / "m")
    predictor = textlstm.load(tmp_path / "m")
    np.testing.assert_allclose(predictor.predict_proba(PROBE), classifier.predict_proba(PROBE), atol=1e-5)
    again = TextClassifier.from_keras(tmp_path / "m" / "model.keras")
    np.testing.assert_allclose(again.predict_proba(PROBE), classifier.predict_proba(PROBE), atol=1e-6)
    attention = textlstm.explain(tmp_path / "m", PROBE[:2])
    assert all(item.method == "attention" and abs(sum(item.weights) - 1.0) < 1e-5 for item in attention)


def test_export_keeps_the_chosen_branch_mix(tmp_path):
    classifier = TextClassifier(**dict(FAST, epochs=2)).fit(TEXTS, LABELS, verbose=0)
    classifier.model_.get_layer("probabilities").first_weight.assign(0.2)  # as if chosen on validation
    classifier.model_.get_layer("ngram_probabilities").first_weight.assign(0.7)
    classifier.export(tmp_path / "m")
    np.testing.assert_allclose(textlstm.load(tmp_path / "m").predict_proba(PROBE), classifier.predict_proba(PROBE), atol=1e-5)
    again = TextClassifier.from_keras(tmp_path / "m" / "model.keras")
    assert float(again.model_.get_layer("probabilities").first_weight.numpy()) == pytest.approx(0.2)
    assert float(again.model_.get_layer("ngram_probabilities").first_weight.numpy()) == pytest.approx(0.7)


def test_a_mixed_float16_model_trains_and_exports_float32_probabilities(tmp_path):
    classifier = TextClassifier(**dict(FAST, precision="mixed_float16", pooling="attention"))
    classifier.fit(TEXTS, LABELS, validation_data=(TEXTS, LABELS), verbose=0)
    assert classifier.score(TEXTS, LABELS) == 1.0
    classifier.export(tmp_path / "m")
    served = textlstm.load(tmp_path / "m").predict_proba(PROBE)
    assert served.dtype == np.float32
    np.testing.assert_allclose(served, classifier.predict_proba(PROBE), atol=1e-5)
    again = TextClassifier.from_keras(tmp_path / "m" / "model.keras")
    assert again.config_.precision == "mixed_float16"
    assert again.model_.get_layer("bidirectional_lstm_1").compute_dtype == "float16"
    np.testing.assert_allclose(again.predict_proba(PROBE), classifier.predict_proba(PROBE), atol=1e-6)


@pytest.mark.parametrize(
    "settings, fused",
    [({}, True), ({"encoder": "gru"}, False), ({"precision": "mixed_bfloat16"}, False), ({"num_layers": 2, "bidirectional": False}, True)],
)
def test_serving_chunks_are_the_fused_kernels_batch_when_every_lstm_predicts_on_it(settings, fused):
    from textlstm.config import Config
    from textlstm.export import SERVE_CHUNK, serving_chunk
    from textlstm.fused_lstm import FUSED_MAX_BATCH
    from textlstm.model import build_model

    model = build_model(Config(embedding_dim=4, units=3, **settings), vocabulary_size=10, num_classes=2)
    assert serving_chunk(model) == (FUSED_MAX_BATCH if fused and not ON_GPU else SERVE_CHUNK)
