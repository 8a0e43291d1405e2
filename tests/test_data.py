"""Readers: formats, line numbers, and one-line errors naming file and line."""

import pytest

from textlstm.data import corpus_from_lines, read_corpus, read_texts
from textlstm.errors import DataError


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_csv_with_quoted_newlines_keeps_line_numbers(tmp_path):
    path = write(tmp_path, "a.csv", 'label,text\npos,"two\nlines"\nneg,plain\n')
    corpus = read_corpus(path)
    assert corpus.texts == ["two\nlines", "plain"]
    assert corpus.labels == ["pos", "neg"]
    assert corpus.lines == [2, 4]
    assert corpus.where(1) == f"{path}, line 4"


def test_bom_tsv_and_columns(tmp_path):
    path = write(tmp_path, "a.tsv", "\ufeffbody\tcat\nhello\tx\n")
    corpus = read_corpus(path, text_column="body", label_column="cat")
    assert (corpus.texts, corpus.labels) == (["hello"], ["x"])


def test_jsonl_with_label_lists(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"text": "a", "label": ["x", "y"]}\n\n{"text": "b", "label": "z"}\n')
    corpus = read_corpus(path)
    assert corpus.labels == [["x", "y"], "z"]
    assert corpus.lines == [1, 3]


def test_plain_text_and_lines():
    assert corpus_from_lines(["a\n", "b\r\n"]).texts == ["a", "b"]


def test_read_texts_txt(tmp_path):
    assert read_texts(write(tmp_path, "t.txt", "one\n\ntwo\n")).texts == ["one", "", "two"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", "", "empty.csv: the file is empty"),
        ("header.csv", "text,label\n", "header.csv: no examples \\(only a header row\\)"),
        ("cols.csv", "body,label\nx,y\n", "cols.csv: no column 'text' in the header \\(columns: body, label\\)"),
        ("label.csv", "text,label\na,x\nb, \n", "label.csv, line 3: empty label in column 'label'"),
        ("short.csv", "text,label\na,x\nb\n", "short.csv, line 3: no value for label column 'label'"),
        ("long.csv", "text,label\na,x,z\n", "long.csv, line 2: 3 fields, but the header has 2"),
        ("latin.csv", b"text,label\na,x\ncaf\xe9,y\n", "latin.csv, line 3: not valid UTF-8 \\(byte 0xe9\\)"),
        ("bad.jsonl", '{"text": "a", "label": "x"}\n{oops\n', "bad.jsonl, line 2: not valid JSON"),
        ("list.jsonl", '[1, 2]\n', "list.jsonl, line 1: expected a JSON object, got list"),
        ("field.jsonl", '{"txt": "a", "label": "x"}\n', "field.jsonl, line 1: no value for text field 'text'"),
        ("notes.txt", "hello\n", "notes.txt: a plain-text file has no labels"),
        ("data.xlsx", "x", "data.xlsx: cannot tell the format from the extension"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(DataError, match=f"^{tmp_path}/{message}"):
        read_corpus(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file$"):
        read_corpus(tmp_path / "nope.csv")
