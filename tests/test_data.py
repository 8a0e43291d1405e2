"""Readers: every format, line numbers, encodings, bad-row policy, one-line errors naming file and line."""

import csv
import dataclasses

import pytest

from textlstm import data
from textlstm.data import (
    ReadOptions,
    SkippedRowsWarning,
    corpus_from_lines,
    detect_format,
    iter_examples,
    iter_corpora,
    read_corpus,
    read_texts,
)
from textlstm.errors import ConfigError, DataError


def write(tmp_path, name, content):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_csv_with_quoted_newlines_keeps_line_numbers(tmp_path):
    path = write(tmp_path, "a.csv", 'label,text\npos,"two\nlines"\nneg,plain\n')
    corpus = read_corpus(path)
    assert corpus.texts == ["two\nlines", "plain"]
    assert corpus.labels == ["pos", "neg"]
    assert corpus.locations == [2, 4]
    assert corpus.where(1) == f"{path}, line 4"


def test_bom_tsv_and_named_columns(tmp_path):
    path = write(tmp_path, "a.tsv", "\ufeffbody\tcat\nhello\tx\n")
    corpus = read_corpus(path, ReadOptions(text_columns="body", label_column="cat"))
    assert (corpus.texts, corpus.labels) == (["hello"], ["x"])


def test_no_header_columns_by_index_joined_text(tmp_path):
    # AG News layout: class index, title, description; no header.
    path = write(tmp_path, "ag.csv", '"3","Title one","Body one"\n"1","Title two","Body, two"\n')
    corpus = read_corpus(path, ReadOptions(text_columns=(1, 2), label_column=0))
    assert corpus.texts == ["Title one Body one", "Title two Body, two"]
    assert corpus.labels == ["3", "1"]
    assert corpus.locations == [1, 2]


def test_delimiter_is_detected(tmp_path):
    path = write(tmp_path, "semi.csv", "text;label\nhello, world;a\nbye;b\n")
    assert read_corpus(path).texts == ["hello, world", "bye"]


def test_cp1252_with_encoding_option(tmp_path):
    path = write(tmp_path, "latin.csv", "text,label\ncafé crème,x\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"latin.csv, line 2: not valid utf-8 \(byte 0xe9\)"):
        read_corpus(path)
    assert read_corpus(path, ReadOptions(encoding="cp1252")).texts == ["café crème"]
    assert read_corpus(path, ReadOptions(encoding_errors="replace")).texts == ["caf\ufffd cr\ufffdme"]


def test_a_utf16_file_is_named_as_one(tmp_path):
    path = write(tmp_path, "excel.tsv", "text\tlabel\r\ncafé\tx\r\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"excel.tsv: a UTF-16 file \(it starts with a UTF-16 byte-order mark\), not utf-8; give the encoding utf-16$"):
        read_corpus(path)
    assert read_corpus(path, ReadOptions(encoding="utf-16")).texts == ["café"]


def test_jsonl_fields_and_label_lists(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"t": "a", "b": "x", "y": ["p", "q"]}\n\n{"t": "c", "b": "d", "y": "r"}\n')
    corpus = read_corpus(path, ReadOptions(text_columns=("t", "b"), label_column="y"))
    assert corpus.texts == ["a x", "c d"]
    assert corpus.labels == [["p", "q"], "r"]
    assert corpus.locations == [1, 3]


def test_jsonl_nested_fields_by_dotted_path(tmp_path):
    path = write(
        tmp_path,
        "n.jsonl",
        '{"review": {"title": "Good", "body": "Fine food"}, "meta": {"label": "p"}}\n'
        '{"review.title": "Flat", "review": {"body": "A dotted key is read first"}, "meta": {"label": "n"}}\n'
        '{"review": "not an object", "meta": {"label": "n"}}\n',
    )
    options = ReadOptions(text_columns=("review.title", "review.body"), label_column="meta.label")
    with pytest.raises(DataError, match=r"n.jsonl, line 3: no text in fields 'review.title', 'review.body'$"):
        read_corpus(path, options)
    with pytest.warns(SkippedRowsWarning, match=r"n.jsonl: skipped 1 bad row \(line 3\)$"):
        corpus = read_corpus(path, dataclasses.replace(options, on_bad_row="skip"))
    assert corpus.texts == ["Good Fine food", "Flat A dotted key is read first"]
    assert corpus.labels == ["p", "n"]


def test_jsonl_labels_true_and_false_read_as_json_writes_them_and_objects_are_refused(tmp_path):
    path = write(tmp_path, "b.jsonl", '{"text": "a", "label": true}\n{"text": "b", "label": [false, 3]}\n')
    assert read_corpus(path).labels == ["true", ["false", "3"]]
    path = write(tmp_path, "o.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": {"name": "y"}}\n')
    with pytest.raises(DataError, match=r"^.*o.jsonl, line 2: field 'label': expected a label \(a string, number or list\), got an object$"):
        read_corpus(path)
    path = write(tmp_path, "l.jsonl", '{"text": "a", "label": [{"name": "y"}]}\n')
    with pytest.raises(DataError, match=r"l.jsonl, line 1: field 'label': expected a label \(a string, number or list\), got a list holding objects or lists$"):
        read_corpus(path)


def test_jsonl_text_fields_absent_or_null_are_left_out_unless_all_are(tmp_path):
    options = ReadOptions(text_columns=("title", "body"))
    path = write(tmp_path, "a.jsonl", '{"title": "Good", "label": "p"}\n{"title": "Bad", "body": null, "label": "n"}\n')
    assert read_corpus(path, options).texts == ["Good", "Bad"]
    path = write(tmp_path, "b.jsonl", '{"title": "Good", "label": "p"}\n{"label": "n"}\n')
    with pytest.raises(DataError, match=r"b.jsonl, line 2: no text in fields 'title', 'body'$"):
        read_corpus(path, options)
    path = write(tmp_path, "c.jsonl", '{"title": "Good", "body": 7, "label": "p"}\n')
    with pytest.raises(DataError, match=r"c.jsonl, line 1: no text in field 'body'$"):
        read_corpus(path, options)


def test_fasttext_lines_multi_label(tmp_path):
    path = write(tmp_path, "train.txt", "__label__a __label__b both here\n__label__c just c\n\n")
    assert detect_format(path) == "fasttext"
    corpus = read_corpus(path)
    assert corpus.texts == ["both here", "just c"]
    assert corpus.labels == [["a", "b"], "c"]


def test_folder_per_class(tmp_path):
    write(tmp_path, "root/pos/1.txt", "good film\n")
    write(tmp_path, "root/pos/2.txt", "great")
    write(tmp_path, "root/neg/1.txt", "bad")
    write(tmp_path, "root/neg/notes.md", "ignored")
    corpus = read_corpus(tmp_path / "root")
    assert corpus.texts == ["bad", "good film", "great"]
    assert corpus.labels == ["neg", "pos", "pos"]
    assert corpus.where(0) == str(tmp_path / "root/neg/1.txt")


def test_unlabelled_folder_is_every_txt_file_under_it(tmp_path):
    write(tmp_path, "root/b.txt", "second\n")
    write(tmp_path, "root/a/z.txt", "first")
    write(tmp_path, "root/c/notes.md", "ignored")
    corpus = read_texts(tmp_path / "root")
    assert corpus.texts == ["first", "second"]
    assert [corpus.where(i) for i in range(2)] == [str(tmp_path / "root/a/z.txt"), str(tmp_path / "root/b.txt")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=f"^{tmp_path}/empty: no .txt files in it or its sub-folders$"):
        read_texts(tmp_path / "empty")


def test_plain_text_and_lines(tmp_path):
    assert corpus_from_lines(["a\n", "b\r\n"]).texts == ["a", "b"]
    assert read_texts(write(tmp_path, "t.txt", "one\n\ntwo\n")).texts == ["one", "", "two"]
    assert read_texts(write(tmp_path, "t.csv", "text,label\nx,\n")).texts == ["x"]  # no label needed


def test_skip_reports_exactly_the_bad_lines(tmp_path):
    path = write(tmp_path, "b.csv", "text,label\ngood,a\nno label,\nok,b\ntoo,many,fields\n\"multi\nline\",c\nempty,\n")
    with pytest.warns(SkippedRowsWarning, match=r"b.csv: skipped 3 bad rows \(lines 3, 5, 8\)"):
        corpus = read_corpus(path, ReadOptions(on_bad_row="skip"))
    assert corpus.skipped == (3, 5, 8)
    assert corpus.texts == ["good", "ok", "multi\nline"]
    with pytest.raises(DataError, match=r"b.csv, line 3: empty label in column 'label'$"):
        read_corpus(path)


def test_a_long_document_is_one_field_and_a_field_past_the_limit_is_a_bad_row(tmp_path, monkeypatch):
    long = "word " * 100_000  # 500,000 characters: past the csv module's own limit of 131,072
    assert read_corpus(write(tmp_path, "a.csv", f"text,label\n{long},x\nshort,y\n")).texts == [long, "short"]
    limit = csv.field_size_limit()
    monkeypatch.setattr(data, "FIELD_LIMIT", 1000)
    try:
        csv.field_size_limit(1000)
        path = write(tmp_path, "b.csv", 'text,label\n"an open quote,x\n' + "more text\n" * 200)
        with pytest.raises(DataError, match=r"b.csv, line 2: a field longer than 1,000 characters \(a quote left open\?\)$"):
            read_corpus(path)
    finally:
        csv.field_size_limit(limit)


def test_weights_from_a_csv_column_by_name_or_index_and_a_jsonl_field(tmp_path):
    path = write(tmp_path, "w.csv", "text,label,weight\na,x,1\nb,y, 0.5 \nc,x,0\nd,y,2e1\n")
    assert read_corpus(path).weights is None  # no weight column given
    assert read_corpus(path, ReadOptions(weight_column="weight")).weights == [1.0, 0.5, 0.0, 20.0]
    unnamed = write(tmp_path, "w.tsv", "a\tx\t3\n")
    assert read_corpus(unnamed, ReadOptions(text_columns=0, label_column=1, weight_column=2)).weights == [3.0]
    path = write(tmp_path, "w.jsonl", '{"text": "a", "label": "x", "w": 2}\n{"text": "b", "label": "y", "w": "0.25"}\n')
    assert read_corpus(path, ReadOptions(weight_column="w")).weights == [2.0, 0.25]
    corpus = read_texts(path, ReadOptions(weight_column="w"))
    assert (corpus.texts, corpus.labels, corpus.weights) == (["a", "b"], None, [2.0, 0.25])
    nested = write(tmp_path, "n.jsonl", '{"text": "a", "label": "x", "meta": {"w": 0}}\n')
    assert read_corpus(nested, ReadOptions(weight_column="meta.w")).weights == [0.0]


@pytest.mark.parametrize(
    "name, content, column, message",
    [
        ("a.csv", "text,label,w\na,x,1\nb,y,\n", "w", "a.csv, line 3: no weight in column 'w'$"),
        ("b.csv", "text,label,w\na,x,heavy\n", "w", "b.csv, line 2: weight 'heavy' in column 'w' is not a number$"),
        ("c.csv", "text,label,w\na,x,-1\n", "w", "c.csv, line 2: weight '-1' in column 'w': expected a finite number >= 0$"),
        ("d.csv", "text,label,w\na,x,nan\n", "w", "d.csv, line 2: weight 'nan' in column 'w': expected a finite number >= 0$"),
        ("e.csv", "text,label\na,x\n", "w", "e.csv: no column 'w' in the header \\(columns: text, label\\)$"),
        ("f.jsonl", '{"text": "a", "label": "x", "w": true}\n', "w", "f.jsonl, line 1: weight 'true' in field 'w' is not a number$"),
        ("g.jsonl", '{"text": "a", "label": "x"}\n', "w", "g.jsonl, line 1: no weight in field 'w'$"),
        ("h.txt", "__label__x a\n", "w", "h.txt: a fasttext source has no weight column; weights are read from CSV, TSV or JSONL$"),
    ],
)
def test_bad_weights_name_the_file_line_and_column(tmp_path, name, content, column, message):
    path = write(tmp_path, name, content)
    with pytest.raises(DataError, match=f"^{tmp_path}/{message}"):
        read_corpus(path, ReadOptions(weight_column=column))


def test_a_folder_has_no_weight_column(tmp_path):
    write(tmp_path / "pos", "a.txt", "good")
    with pytest.raises(DataError, match=f"^{tmp_path}: a folder source has no weight column"):
        read_corpus(tmp_path, ReadOptions(weight_column="w"))


def test_kept_columns_come_as_they_are_beside_weights_and_skipped_rows(tmp_path):
    path = write(tmp_path, "k.csv", "id,text,label,w,note\n7,a,x,1, first \n8,b,y,oops,\n9,c,,2,third\n10,d,y,3,\n")
    with pytest.warns(SkippedRowsWarning):
        corpus = read_texts(path, ReadOptions(keep_columns=("id", "note"), weight_column="w", on_bad_row="skip"))
    assert (corpus.texts, corpus.weights, corpus.skipped) == (["a", "c", "d"], [1.0, 2.0, 3.0], (3,))
    assert corpus.kept == {"id": ["7", "9", "10"], "note": [" first ", "third", ""]}
    assert read_texts(path).kept is None
    unnamed = write(tmp_path, "u.csv", "a,x,7\n")
    assert read_corpus(unnamed, ReadOptions(text_columns=0, label_column=1, keep_columns=2)).kept == {2: ["7"]}
    jsonl = write(tmp_path, "k.jsonl", '{"text": "a", "id": 7, "meta": {"src": "web"}}\n{"text": "b"}\n')
    corpus = read_texts(jsonl, ReadOptions(keep_columns=("id", "meta.src", "meta")))
    assert corpus.kept == {"id": [7, None], "meta.src": ["web", None], "meta": [{"src": "web"}, None]}


@pytest.mark.parametrize(
    "name, content, column, message",
    [
        ("a.csv", "text,label\na,x\n", "id", "a.csv: no column 'id' in the header \\(columns: text, label\\)$"),
        ("b.csv", "a,x\n", "id", "b.csv: column 'id' is a name, but the file has no header; give column indices$"),
        ("c.txt", "a\n", "id", "c.txt: a txt source has no columns to keep; they are kept from CSV, TSV or JSONL$"),
    ],
)
def test_columns_to_keep_that_cannot_be_read(tmp_path, name, content, column, message):
    path = write(tmp_path, name, content)
    options = ReadOptions(text_columns=0, keep_columns=column, header=False) if name == "b.csv" else ReadOptions(keep_columns=column)
    with pytest.raises(DataError, match=f"^{tmp_path}/{message}"):
        read_texts(path, options)


def test_iter_corpora_reads_parts_lazily_and_says_when_there_were_none(tmp_path):
    path = write(tmp_path, "t.csv", "text,label,id\na,x,1\nb,y,2\nc,x,3\nd,y,4,extra\n")
    parts = iter_corpora(path, ReadOptions(keep_columns="id"), size=2)
    first = next(parts)
    assert (first.texts, first.labels, first.kept, first.where(1)) == (["a", "b"], ["x", "y"], {"id": ["1", "2"]}, f"{path}, line 3")
    with pytest.raises(DataError, match="t.csv, line 5: 4 fields, but the header has 3$"):
        next(parts)  # the bad row, read only now, ends the part holding it
    skipped = []
    parts = list(iter_corpora(path, ReadOptions(on_bad_row="skip"), size=2, labelled=False, skipped=skipped))
    assert [part.texts for part in parts] == [["a", "b"], ["c"]] and parts[0].labels is None and skipped == [5]
    with pytest.warns(SkippedRowsWarning, match=r"t.csv: skipped 1 bad row \(line 5\)$"):
        assert len(list(iter_corpora(path, ReadOptions(on_bad_row="skip"), size=10))) == 1
    empty = write(tmp_path, "e.csv", "text,label\n\n")
    with pytest.raises(DataError, match=f"^{empty}: no examples$"):
        list(iter_corpora(empty))


def test_iteration_is_lazy(tmp_path):
    path = write(tmp_path, "lazy.csv", "text,label\na,x\nb,\n")
    rows = iter_examples(path)
    assert next(rows) == (2, "a", "x", None, ())  # the bad row on line 3 is not read yet
    with pytest.raises(DataError, match="line 3"):
        next(rows)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", "", "empty.csv: the file is empty"),
        ("header.csv", "text,label\n", "header.csv: no examples"),
        ("cols.csv", "body,label\nx,y\n", "cols.csv: no column 'text' in the header \\(columns: body, label\\)"),
        ("label.csv", "text,label\na,x\nb, \n", "label.csv, line 3: empty label in column 'label'"),
        ("short.csv", "text,label\na,x\nb\n", "short.csv, line 3: 1 field, but the header has 2"),
        ("open.csv", 'text,label\n"an open quote,x\nmore,y\n', "open.csv, line 2: 1 field over lines 2-3, but the header has 2 \\(a quote left open\\?\\)"),
        ("long.csv", "text,label\na,x,z\n", "long.csv, line 2: 3 fields, but the header has 2"),
        ("latin.csv", b"text,label\na,x\ncaf\xe9,y\n", "latin.csv, line 3: not valid utf-8 \\(byte 0xe9\\)"),
        ("bad.jsonl", '{"text": "a", "label": "x"}\n{oops\n', "bad.jsonl, line 2: not valid JSON"),
        ("list.jsonl", '[1, 2]\n', "list.jsonl, line 1: expected a JSON object, got list"),
        ("field.jsonl", '{"txt": "a", "label": "x"}\n', "field.jsonl, line 1: no text in field 'text'"),
        ("ft.txt", "__label__a fine\nno label here\n", "ft.txt, line 2: no label"),
        ("notes.txt", "hello\n", "notes.txt: a plain-text file has no labels"),
        ("data.xlsx", "x", "data.xlsx: cannot tell the format from the extension"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(DataError, match=f"^{tmp_path}/{message}"):
        read_corpus(path)


def test_missing_file_and_named_columns_without_header(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file or directory$"):
        read_corpus(tmp_path / "nope.csv")
    path = write(tmp_path, "a.csv", "x,y\n")
    with pytest.raises(DataError, match="column 'text' is a name, but the file has no header"):
        read_corpus(path, ReadOptions(header=False))


def test_invalid_options_name_the_setting():
    with pytest.raises(ConfigError, match="encoding: unknown encoding 'klingon'"):
        ReadOptions(encoding="klingon")
    with pytest.raises(ConfigError, match="on_bad_row: expected error or skip"):
        ReadOptions(on_bad_row="ignore")


def test_a_headerless_row_without_the_label_column_names_its_line(tmp_path):
    path = write(tmp_path, "bare.csv", "a,x\nb\n")
    with pytest.raises(DataError, match=r"bare.csv, line 2: 1 field, column 1 is missing$"):
        read_corpus(path, ReadOptions(text_columns=(0,), label_column=1))
