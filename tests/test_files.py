"""write_text(s)_atomically: whole files or nothing, and errors that name the path the caller gave."""

import pytest

from textlstm.files import nearest_existing, write_text_atomically, write_texts_atomically


def test_writes_the_text_and_creates_missing_folders(tmp_path):
    write_text_atomically(tmp_path / "a" / "b" / "out.json", "{}\n")
    assert (tmp_path / "a" / "b" / "out.json").read_text() == "{}\n"
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["out.json"]


def test_a_refused_path_is_named_and_nothing_is_left(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(OSError) as refused:
        write_text_atomically(tmp_path / "f.txt" / "sub" / "out.json", "{}")
    assert refused.value.filename == str(tmp_path / "f.txt" / "sub" / "out.json")
    assert refused.value.strerror == f"cannot be created: {tmp_path / 'f.txt'} is not a directory"
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError) as refused:
        write_text_atomically(tmp_path / "folder", "{}")
    assert refused.value.filename == str(tmp_path / "folder")  # not the temporary file's name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt", "folder"]


def test_several_files_are_written_all_or_none(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(OSError) as refused:
        write_texts_atomically({tmp_path / "out" / "train.csv": "a", tmp_path / "f.txt" / "test.csv": "b"})
    assert refused.value.filename == str(tmp_path / "f.txt" / "test.csv")
    assert list((tmp_path / "out").iterdir()) == []  # train.csv was not renamed into place
    write_texts_atomically({tmp_path / "out" / "train.csv": "a", tmp_path / "out" / "test.csv": "b"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test.csv", "train.csv"]


def test_nearest_existing(tmp_path):
    assert nearest_existing(tmp_path / "x" / "y") == tmp_path
    assert nearest_existing(tmp_path) == tmp_path
