"""Tokenizer modes, vocabulary building and the TextTokenizer layer."""

import numpy as np
import pytest
import tensorflow as tf

from textlstm.text import OOV_ID, TextTokenizer, build_vocabulary, tokenize


def tokens(text, mode, lowercase=False):
    return [t.decode("utf-8") for t in tokenize([text], mode, lowercase)[0].numpy()]


@pytest.mark.parametrize(
    "mode, text, expected",
    [
        ("word", "Don't STOP, believin'!", ["Dont", "STOP", "believin"]),
        ("auto", "我爱NLP，真的！", ["我", "爱", "NLP", "真", "的"]),
        ("auto", "Who won in the US ? who", ["Who", "won", "in", "the", "US", "who"]),
        ("auto", "Café NAÏVE", ["Café", "NAÏVE"]),
        ("char", "Hi, 你好", ["H", "i", ",", "你", "好"]),
    ],
)
def test_tokenize_keeps_case_by_default(mode, text, expected):
    assert tokens(text, mode) == expected


@pytest.mark.parametrize(
    "mode, text, expected",
    [
        ("word", "Don't STOP, believin'!", ["dont", "stop", "believin"]),
        ("word", "state-of-the-art (2024)", ["state", "of", "the", "art", "2024"]),
        ("word", "我爱NLP", ["我爱nlp"]),
        ("auto", "我爱NLP，真的！", ["我", "爱", "nlp", "真", "的"]),
        ("auto", "Tokyo 東京 カタカナ 한국", ["tokyo", "東", "京", "カ", "タ", "カ", "ナ", "한", "국"]),
        ("auto", "Café NAÏVE", ["café", "naïve"]),
        ("auto", "It’s 好的!Don't", ["its", "好", "的", "dont"]),
        ("auto", "\ufeff做\u200b父母 zero\u200bwidth", ["做", "父", "母", "zerowidth"]),
        ("char", "Hi, 你好", ["h", "i", ",", "你", "好"]),
        ("auto", "", []),
        ("auto", "?!…", []),
    ],
)
def test_tokenize_lowercase(mode, text, expected):
    assert tokens(text, mode, lowercase=True) == expected


def test_vocabulary_order_min_count_and_max_tokens():
    texts = ["b a a", "c a b", "d"]
    report = build_vocabulary(texts, "word", max_tokens=100, min_count=1)
    assert report.vocabulary == ["a", "b", "c", "d"]  # by count, then alphabetically
    assert build_vocabulary(texts, "word", max_tokens=100, min_count=2).vocabulary == ["a", "b"]
    assert build_vocabulary(texts, "word", max_tokens=3, min_count=1).vocabulary == ["a"]  # 3 = padding + OOV + 1
    assert report.distinct_tokens == 4
    assert report.length_percentiles[100] == 3


def test_max_length_is_95th_percentile_capped():
    report = build_vocabulary(["w " * n for n in range(1, 101)], "word", 100, 1)
    assert report.resolve_max_length(None, cap=1000) == 96  # ceil of numpy's 95th percentile, 95.05
    assert report.resolve_max_length(None, cap=50) == 50
    assert report.resolve_max_length(7, cap=50) == 7


def test_ids_right_padded_truncated_at_end_and_never_empty():
    layer = TextTokenizer("word", ["a", "b", "c"], max_length=3)
    ids = layer(tf.constant(["a b", "c c c a b", "", "!!", "zzz a"])).numpy()
    np.testing.assert_array_equal(
        ids,
        [
            [2, 3, 0],
            [4, 4, 4],  # truncated at the end to max_length
            [OOV_ID, 0, 0],  # empty text: one OOV id, not an all-padding row
            [OOV_ID, 0, 0],
            [OOV_ID, 2, 0],  # unknown word
        ],
    )
    assert layer(tf.constant(["a"])).shape == (1, 1)  # padded to the batch's longest, not max_length


def test_tokenizer_get_config_round_trip():
    layer = TextTokenizer("auto", ["猫", "cat"], max_length=5)
    rebuilt = TextTokenizer.from_config(layer.get_config())
    assert rebuilt.vocabulary == ["", "[UNK]", "猫", "cat"]
    texts = tf.constant(["cat 猫 dog", "", "Cat"])
    np.testing.assert_array_equal(rebuilt(texts), layer(texts))
    np.testing.assert_array_equal(rebuilt(texts)[2], [OOV_ID, 0, 0])  # "Cat" is not "cat"


def test_tokenizer_lowercase_and_the_saved_form_before_the_option():
    cased = TextTokenizer("word", ["Who", "who"], max_length=3)
    lowered = TextTokenizer("word", ["who"], max_length=3, lowercase=True)
    texts = tf.constant(["Who who WHO"])
    np.testing.assert_array_equal(cased(texts), [[2, 3, OOV_ID]])
    np.testing.assert_array_equal(lowered(texts), [[2, 2, 2]])
    assert TextTokenizer.from_config(lowered.get_config()).lowercase
    old = {key: value for key, value in cased.get_config().items() if key != "lowercase"}
    assert TextTokenizer.from_config(old).lowercase  # saved before the option: it lower-cased


def test_vocabulary_keeps_case_unless_lowercase():
    texts = ["Who is who", "WHO"]
    assert build_vocabulary(texts, "word", 100, 1).vocabulary == ["WHO", "Who", "is", "who"]
    assert build_vocabulary(texts, "word", 100, 1, lowercase=True).vocabulary == ["who", "is"]


def test_bounded_table_keeps_the_frequent_tokens():
    texts = ["common often"] * 50 + [f"rare{i}" for i in range(5000)]
    exact = build_vocabulary(texts, "word", 4, 1)
    bounded = build_vocabulary(texts, "word", 4, 1, max_table=100)
    assert bounded.vocabulary == exact.vocabulary == ["common", "often"]
    assert bounded.distinct_tokens <= 100 < exact.distinct_tokens  # the table stayed small
