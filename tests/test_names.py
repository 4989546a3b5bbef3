"""Names across scripts (search/names.py): what a user who types a name in one script gets from the other."""

from __future__ import annotations

import pytest

from search import names
from search.names import KeyedVocabulary, candidates, distance, key


def vocabulary(*words: str, frequency: int = 5) -> KeyedVocabulary:
    return KeyedVocabulary((word, frequency) for word in words)


# An Arabic news vocabulary in miniature: the names, their clitic forms, and words that
# share their consonants but are not them.
ARABIC = vocabulary(
    "حفتر", "لحفتر", "وحفتر", "لافروف", "موسكو", "بموسكو", "اوباما", "بوتين", "بطن", "فتره", "حافظ",
    "الروسي", "وزير", "الخارجيه", "مسكن", "ليبيا", "تقرير", "ريبورت",
)  # fmt: skip
ENGLISH = vocabulary(
    "haftar", "lavrov", "moscow", "obama", "putin", "report", "reported", "reporting", "reports",
    "the", "was", "minister", "foreign", "libya", "after", "obtain",
)  # fmt: skip


def words(found: list[names.Candidate]) -> list[str]:
    return [candidate.word for candidate in found]


@pytest.mark.parametrize("typed", ["Haftar", "Hafter", "haftar", "HAFTAR"])
def test_haftar_finds_its_arabic_spelling_first(typed: str) -> None:
    found = words(candidates(typed, ENGLISH, ARABIC))
    assert found[0] == "حفتر"
    assert "حافظ" not in found and "فتره" not in found


@pytest.mark.parametrize(
    ("typed", "written"), [("Lavrov", "لافروف"), ("Moscow", "موسكو"), ("Putin", "بوتين")]
)
def test_latin_names_find_the_arabic_words_that_sound_like_them(typed: str, written: str) -> None:
    assert words(candidates(typed, ENGLISH, ARABIC))[0] == written


def test_an_arabic_name_finds_its_latin_spelling() -> None:
    assert words(candidates("لافروف", ARABIC, ENGLISH)) == ["lavrov"]
    assert words(candidates("أوباما", ARABIC, ENGLISH)) == ["obama"]  # hamza and all: normalised first


def test_an_arabic_name_with_a_proclitic_finds_the_name() -> None:
    assert words(candidates("لحفتر", ARABIC, ENGLISH)) == ["haftar"]


def test_clitic_forms_rank_after_the_bare_name() -> None:
    found = words(candidates("Haftar", ENGLISH, ARABIC))
    assert found.index("حفتر") < found.index("لحفتر")


def test_the_key_is_shared_across_scripts() -> None:
    assert key("haftar") == key("hafter") == key("حفتر")
    assert key("lavrov") == key("لافروف")
    assert key("moscow") == key("موسكو")
    assert "RD" in names.keys("الرياض")  # the article is optional


def test_correspondences_cost_less_than_other_letters() -> None:
    assert distance("lavrov", "لافروف") < distance("lavrov", "لاكروف")
    assert distance("haftar", "حفتر") == distance("haftar", "حفطر") < distance("haftar", "حمتر")


def test_a_common_english_word_is_not_expanded() -> None:
    # report inflects in its own vocabulary (reported, reporting): not a name, though روبرت-like
    # words sound close.
    assert candidates("report", ENGLISH, ARABIC) == []
    assert candidates("reporting", ENGLISH, ARABIC) == []


def test_a_common_arabic_word_is_not_expanded() -> None:
    arabic = vocabulary("تقرير", "تقريرها", "تقريرهم")
    english = vocabulary("tackrir", "report")
    assert candidates("تقرير", arabic, english) == []


def test_a_candidate_its_own_vocabulary_shows_to_be_common_is_left_out() -> None:
    english = vocabulary("obtain", "obtained", "obtaining")
    assert candidates("اوبتين", vocabulary("اوبتين"), english) == []


@pytest.mark.parametrize("typed", ["the", "was", "of", "a", "في"])
def test_words_of_one_consonant_bring_nothing(typed: str) -> None:
    assert candidates(typed, ENGLISH, ARABIC) == candidates(typed, ARABIC, ENGLISH) == []


def test_short_words_are_matched_exactly_and_bounded() -> None:
    # Two consonants: only the same skeleton (or a near swap), and few candidates.
    crowded = vocabulary(
        *(f"ب{middle}م" for middle in ("ا", "و", "ي", "اا", "وا", "يا", "اي", "وي")), "اوباما"
    )
    found = candidates("obama", vocabulary("obama"), crowded)
    assert len(found) <= names.LIMIT
    assert found[0].word == "اوباما"
    assert candidates("obama", vocabulary("obama"), vocabulary("بمطر", "ابلما")) == []


def test_a_far_rarer_candidate_is_left_out() -> None:
    # A word in half the English text, and its only sound-alike in one Arabic document of thousands.
    english = KeyedVocabulary([("lavrov", 5000), *((f"w{n}", 1) for n in range(5000))])
    arabic = KeyedVocabulary([("لافروف", 1), *((f"ك{n}", 1) for n in range(10000))])
    assert candidates("lavrov", english, arabic) == []


def filler(number: int) -> str:
    """A different run of long vowels for each number (its base-3 digits as ا و ي)."""
    digits = ""
    while number:
        number, digit = divmod(number, 3)
        digits += "اوي"[digit]
    return digits


def test_the_work_is_bounded_on_a_large_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    # 30,000 words under Haftar's skeleton (حفتر and long vowels): only MAX_MEASURED are measured.
    crowded = KeyedVocabulary([("حفتر", 50), *((f"حفت{filler(n)}ر", 1) for n in range(1, 30_000))])
    measured = []
    real = names.distance
    monkeypatch.setattr(names, "distance", lambda *args: measured.append(args) or real(*args))
    found = candidates("haftar", ENGLISH, crowded)
    assert len(measured) <= names.MAX_MEASURED < 30_000
    assert 0 < len(found) <= names.LIMIT
    assert found[0].word == "حفتر"
