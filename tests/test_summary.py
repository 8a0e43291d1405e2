"""The data report on a corpus a reader can count by hand."""

from textlstm.data import Corpus
from textlstm.summary import format_summary, summarize


def test_summary_counts():
    train = Corpus("t", ["a b c", "A B C", "", "猫在睡觉"], ["x", "x", "y", ["x", "z"]], [1, 2, 3, 4])
    test = Corpus("s", ["a b c", "new"], ["x", "y"], [1, 2])
    report = summarize({"train": train, "test": test})
    split = report["splits"]["train"]
    assert split["rows"] == 4
    assert split["classes"] == {"x": 3, "y": 1, "z": 1}
    assert split["tokens"][100] == 4  # 猫 在 睡 觉
    assert split["characters"][100] == 5
    assert split["vocabulary"] == 10  # a b c A B C 猫 在 睡 觉: case kept, as training keeps it
    assert (split["empty"], split["duplicates"], split["conflicting"]) == (1, 1, 0)
    assert report["overlap"] == {"train/test": 1}
    text = format_summary(report)
    assert "train: 4 rows, 3 classes, vocabulary 10 tokens" in text
    assert summarize({"train": train}, lowercase=True)["splits"]["train"]["vocabulary"] == 7  # a b c 猫 在 睡 觉
    assert "overlap: 1 test text also occurs in train" in text


def test_counts_read_as_english():
    one = format_summary(summarize({"data": Corpus("d", ["hello"], ["a"], [1])}))
    assert one.splitlines()[0] == "data: 1 row, 1 class, vocabulary 1 token"
    many = Corpus("d", [f"w{i}" for i in range(1200)], ["a", "b"] * 600, list(range(1, 1201)))
    assert format_summary(summarize({"data": many})).splitlines()[0] == "data: 1,200 rows, 2 classes, vocabulary 1,200 tokens"


def test_texts_given_different_labels_are_counted_once_each():
    texts = ["good film", "Good film ", "good film", "bad film", "bad film", "", "", "odd", "odd"]
    labels = ["pos", "pos", "neg", "neg", "neg", "pos", "neg", ["a", "b"], ["b", "a"]]
    report = summarize({"data": Corpus("d", texts, labels, list(range(1, 10)))})
    split = report["splits"]["data"]
    # "good film" (case and spaces aside) carries pos and neg; "bad film" only neg; empty texts are
    # counted as empty; "odd" has the same label set twice.
    assert (split["empty"], split["duplicates"], split["conflicting"]) == (2, 5, 1)
    assert "  empty texts: 2; duplicate texts: 5; texts given different labels: 1" in format_summary(report).splitlines()
