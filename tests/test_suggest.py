"""Suggestions' parts: the edit cost that knows Arabic, and the keyboard layouts."""

from __future__ import annotations

import pytest
from whoosh.support.levenshtein import distance

from search.engine import SearchEngine
from search.suggest import edit_cost, swap_layout, words_within

from .conftest import news_index


@pytest.mark.parametrize(
    ("typed", "known", "cost"),
    [
        ("الرياظ", "الرياض", 0.5),  # ض ظ ص are easily confused
        ("الرياص", "الرياض", 0.5),
        ("مثتشفى", "مستشفى", 0.5),  # ث س
        ("الريياض", "الرياض", 1.0),  # a letter too many
        ("electoin", "election", 1.0),  # two letters swapped: one edit
        ("goverment", "government", 1.0),
        ("الرياظ", "الرييس", 2.0),
        ("same", "same", 0.0),
    ],
)
def test_edit_cost(typed: str, known: str, cost: float) -> None:
    assert edit_cost(typed, known) == cost


def test_the_closest_word_wins_over_a_frequent_one() -> None:
    # The reason for weighting: الرئيس (normalised الرييس) is far more frequent than
    # الرياض, but further from what was typed.
    assert edit_cost("الرياظ", "الرياض") < edit_cost("الرياظ", "الرييس")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("hgvdhq", "الرياض"),  # Latin keys pressed for Arabic letters
        ("hgHofhv", "الأخبار"),  # shift-h is أ
        ("hgvdhq 2015", "الرياض 2015"),
        ("ثمثؤفهخىس", "elections"),  # Arabic letters typed for an English word
        ("لاشي", "bad"),  # the key b types لا: read back as b
    ],
)
def test_layouts_map_key_for_key(typed: str, meant: str) -> None:
    assert swap_layout(typed) == meant


@pytest.mark.parametrize("text", ["iPhone جديد", "123", "", "الرياض؛"])
def test_mixed_or_letterless_text_is_not_mapped(text: str) -> None:
    assert swap_layout(text) is None


def test_arabic_mapping_to_punctuation_keys_is_not_english() -> None:
    # ك is the ; key: a real Arabic word with ك never maps to an English word.
    assert swap_layout("كتب") is None


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    return news_index(tmp_path_factory, 400)


def _typos(word: str) -> list[str]:
    """The word with a letter dropped, two swapped, one changed and one added."""
    middle = len(word) // 2
    return [
        word,
        word[:middle] + word[middle + 1 :],
        word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :],
        word[:middle] + "ز" + word[middle + 1 :],
        word + "ها",
    ]


def _within_unfiltered(reader, typed: str, maxdist: int, prefix: int) -> list[str]:
    """The unoptimised walk: every term with the prefix, its Damerau-Levenshtein distance measured."""
    terms = (term.decode("utf-8") for term in reader.expand_prefix("body_exact", typed[:prefix]))
    return [term for term in terms if distance(term, typed, limit=maxdist) <= maxdist]


def test_words_within_yields_every_word_within_the_distance(news) -> None:
    """The pre-filtered walk gives exactly the unfiltered one, word for word and in order, on real news."""
    lexicon = SearchEngine.at(news).backend.snapshot().lexicon
    with news.open().reader() as reader:
        vocabulary = [term.decode("utf-8") for term in reader.lexicon("body_exact")]
        sample = [word for word in vocabulary[:: max(1, len(vocabulary) // 30)] if len(word) >= 4]
        compared = 0
        for typed in (typo for word in sample for typo in _typos(word)):
            fixed = 4 if typed.startswith("ال") else 2  # as Suggester.correct walks: ال narrows nothing
            for maxdist, prefix in ((1, fixed), (2, fixed)):
                expected = _within_unfiltered(reader, typed, maxdist, prefix)
                assert list(words_within(lexicon, "body_exact", typed, maxdist, prefix)) == expected, typed
                compared += len(expected)
        assert compared > 100  # the sample does reach real neighbours


def test_a_swap_is_one_edit_whatever_the_segments(news) -> None:
    """Whoosh's own terms_within counts a swap as two edits in a one-segment index (its automaton)
    and as one in several; Fahras counts it as one in both, as the suggestions say."""
    lexicon = SearchEngine.at(news).backend.snapshot().lexicon
    with news.open().reader() as reader:
        words = (term.decode("utf-8") for term in reader.lexicon("body_exact"))
        word = next(word for word in words if len(word) >= 7 and word[3] != word[4])
        swapped = word[:3] + word[4] + word[3] + word[5:]
        assert word in words_within(lexicon, "body_exact", swapped, 1, prefix=2)
