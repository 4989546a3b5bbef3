"""Suggestions' parts: the edit cost that knows Arabic, and the keyboard layouts."""

from __future__ import annotations

import pytest

from search.suggest import edit_cost, swap_layout


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
