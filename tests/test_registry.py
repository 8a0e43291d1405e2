"""The registry: cards, parsers of the original formats, published row counts (with ../shared when present)."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading

import pytest

from conftest import ORIGINALS, needs_originals
from textlstm import read_corpus
from textlstm.data import Corpus
from textlstm.datasets import registry
from textlstm.errors import DataError



def test_every_card_is_complete():
    assert {"sst2", "sst5", "mr", "trec", "ag_news", "imdb", "chnsenticorp_htl", "online_shopping_10cats"} <= set(registry.names())
    for name in registry.names():
        card = registry.card(name)
        assert card["name"] == name
        for key in ("title", "language", "labels", "license", "citation", "files", "parser", "splits", "rows", "homepage"):
            assert card[key], f"{name}: {key}"
        for file in card["files"].values():
            assert file["url"].startswith("https://") and len(file["sha256"]) == 64
        assert set(card["splits"].values()) <= set(card["files"])
        assert set(card["rows"]) == set(card["splits"])


def test_unknown_name():
    with pytest.raises(DataError, match="unknown data set 'sst3' \\(registered: ag_news, chnsenticorp_htl, imdb"):
        registry.card("sst3")


@pytest.fixture(scope="module")
def originals_server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ORIGINALS))
    handler.func.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@needs_originals
@pytest.mark.parametrize(
    "name, rows, first_label",
    [
        ("sst2", {"train": 6920, "dev": 872, "test": 1821}, "positive"),
        ("sst5", {"train": 8544, "dev": 1101, "test": 2210}, "very positive"),
        ("trec", {"train": 5452, "test": 500}, "DESC"),
        ("trec50", {"train": 5452, "test": 500}, "DESC:manner"),
        ("mr", {"all": 10662}, "negative"),
        ("chnsenticorp_htl", {"all": 7766}, "positive"),
        ("online_shopping_10cats", {"all": 62774}, "书籍"),
        ("online_shopping_sentiment", {"all": 62774}, "positive"),
    ],
)
def test_download_verify_parse_with_published_counts(originals_server, tmp_path, name, rows, first_label):
    splits = registry.load(name, cache=tmp_path, mirror=originals_server, progress=False)
    assert {split: len(corpus) for split, corpus in splits.items()} == rows
    first = next(iter(splits.values()))
    assert first.labels[0] == first_label
    assert set(first.labels) == set(registry.card(name)["labels"])


@needs_originals
def test_corrupted_original_fails_the_checksum_and_keeps_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = (ORIGINALS / "TREC.test").read_bytes()
    (mirror / "TREC.test").write_bytes(data.replace(b"What", b"Whot", 1))
    (mirror / "TREC.train").write_bytes((ORIGINALS / "TREC.train").read_bytes())
    with pytest.raises(Exception, match="TREC.test: SHA-256 mismatch"):
        registry.load("trec", cache=tmp_path / "cache", mirror=mirror, progress=False)
    assert not (tmp_path / "cache" / "trec" / "TREC.test").exists()


def card_for(tmp_path, file, content, parser, splits, rows):
    path = tmp_path / "mirror" / file
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    return {"name": "tiny", "files": {file: {"url": "https://example.invalid/" + file, "sha256": sha, "size": len(content)}},
            "parser": parser, "splits": splits, "rows": rows}


def test_aclimdb_parser_on_a_tiny_tarball(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in [("train/pos/1_9.txt", "Great<br />film"), ("train/neg/2_1.txt", "Bad"),
                           ("train/unsup/3_0.txt", "unlabelled"), ("test/pos/4_8.txt", "Fine")]:
            info = tarfile.TarInfo("aclImdb/" + name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    card = card_for(tmp_path, "aclImdb_v1.tar.gz", buffer.getvalue(),
                    {"name": "aclimdb", "labels": {"neg": "negative", "pos": "positive"}},
                    {"train": "aclImdb_v1.tar.gz", "test": "aclImdb_v1.tar.gz"}, {"train": 2, "test": 1})
    splits = registry.load(card, cache=tmp_path / "cache", mirror=tmp_path / "mirror", progress=False)
    assert splits["train"].texts == ["Bad", "Great\nfilm"] and splits["train"].labels == ["negative", "positive"]
    assert splits["test"].texts == ["Fine"]


def test_ag_news_layout_and_row_count_check(tmp_path):
    content = b'"3","Wall St.","Stocks fell\\again."\n"2","Cup final","Team wins."\n'
    parser = {"name": "csv", "header": False, "text_columns": [1, 2], "label_column": 0,
              "backslash_is_newline": True, "labels": {"2": "Sports", "3": "Business"}}
    card = card_for(tmp_path, "test.csv", content, parser, {"test": "test.csv"}, {"test": 2})
    corpus = registry.load(card, cache=tmp_path / "cache", mirror=tmp_path / "mirror", progress=False)["test"]
    assert corpus.texts == ["Wall St. Stocks fell\nagain.", "Cup final Team wins."]
    assert corpus.labels == ["Business", "Sports"]
    card["rows"]["test"] = 3
    with pytest.raises(DataError, match="2 rows in split 'test', the publisher's count is 3"):
        registry.load(card, cache=tmp_path / "cache", mirror=tmp_path / "mirror", progress=False)


def test_trec_parser_reads_coarse_or_fine_labels(tmp_path):
    content = b"DESC:manner How did serfdom develop ?\nNUM:date When was the telephone invented ?\n"
    coarse = card_for(tmp_path, "TREC.test", content, {"name": "trec"}, {"test": "TREC.test"}, {"test": 2})
    fine = dict(coarse, parser={"name": "trec", "label": "fine"})
    load = functools.partial(registry.load, cache=tmp_path / "cache", mirror=tmp_path / "mirror", progress=False)
    assert load(coarse)["test"].labels == ["DESC", "NUM"]
    corpus = load(fine)["test"]
    assert corpus.labels == ["DESC:manner", "NUM:date"]
    assert corpus.texts == ["How did serfdom develop ?", "When was the telephone invented ?"]


def test_write_csv_round_trips_and_overwrites_only_with_force(tmp_path):
    texts = ['a "quoted", comma', "two\nlines", "plain"]
    splits = {"train": Corpus("t", texts, ["x", "y", "x"], [1, 2, 3]), "test": Corpus("s", ["last"], ["y"], [1])}
    paths = registry.write_csv(splits, tmp_path / "out")
    assert paths == {"train": tmp_path / "out" / "train.csv", "test": tmp_path / "out" / "test.csv"}
    train = read_corpus(paths["train"])
    assert (train.texts, train.labels) == (texts, ["x", "y", "x"])
    assert paths["test"].read_text(encoding="utf-8") == "text,label\nlast,y\n"
    smaller = {"train": Corpus("t", ["new"], ["z"], [1]), "test": Corpus("s", ["newer"], ["z"], [1])}
    with pytest.raises(DataError, match=f"^{paths['train']}: already exists \\(use --force to overwrite\\)$"):
        registry.write_csv(smaller, tmp_path / "out")
    assert read_corpus(paths["train"]).texts == texts and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test.csv", "train.csv"]
    registry.write_csv(smaller, tmp_path / "out", force=True)
    assert read_corpus(paths["train"]).texts == ["new"]
