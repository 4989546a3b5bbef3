"""Names across scripts (search/names.py): what a user who types a name in one script gets from the other."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fahras_cli import main
from index.generations import rebuild, update
from index.store import IndexHome
from search import names
from search.backend import default_analysis
from search.backends.embedded.vocabulary import KEPT
from search.engine import AlsoSearched, SearchEngine
from search.names import KeyedVocabulary, candidates, distance, key
from search.plan import Term
from search.planner import Planner
from search.syntax import parse
from web import create_app

from .conftest import index_of, write_corpus
from .test_backend_seam import DictLexicon


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


# ------------------------------------------------------------------ in the engine: the plan, the results, the page

FILES = {
    "libya-ar.txt": "حفتر يلتقي لافروف\nالتقى خليفة حفتر في موسكو وزير الخارجية سيرغي لافروف لبحث الأزمة الليبية.",
    "moscow-en.txt": "Lavrov meets Haftar\nSergei Lavrov met Khalifa Haftar in Moscow to discuss the crisis.",
    "weather-en.txt": "Heat wave\nThe weather report says the heat wave will last. Reports of heat keep coming.",
    "weather-ar.txt": "موجة حر\nتقرير الطقس يقول إن موجة الحر ستستمر. تقارير الحر تتوالى وتقريرها واضح.",
}


@pytest.fixture(scope="module")
def names_home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return index_of(tmp_path_factory, "names", FILES)


@pytest.fixture(scope="module")
def names_engine(names_home: IndexHome) -> SearchEngine:
    return SearchEngine.at(names_home)


def found(results) -> set[str]:
    return {Path(hit.id).name for hit in results.hits}


def test_a_latin_name_finds_the_arabic_document_and_says_so(names_engine: SearchEngine) -> None:
    results = names_engine.search("Haftar")
    assert found(results) == {"libya-ar.txt", "moscow-en.txt"}
    assert results.also_searched == [AlsoSearched("Haftar", ("حفتر",))]
    assert json.loads(json.dumps(results.to_dict()))["also_searched"] == [
        {"word": "Haftar", "also": ["حفتر"]}
    ]
    arabic = next(hit for hit in results.hits if hit.id.endswith("libya-ar.txt"))
    assert "<mark>حفتر</mark>" in arabic.snippet  # the name found is marked like a typed word
    searched = {word.word: word for word in results.searched_as}
    assert "حفتر" in searched["Haftar"].forms  # the searched-as line lists it under the typed word


def test_an_arabic_name_finds_the_english_document(names_engine: SearchEngine) -> None:
    results = names_engine.search("لافروف")
    assert found(results) == {"libya-ar.txt", "moscow-en.txt"}
    assert results.also_searched == [AlsoSearched("لافروف", ("lavrov",))]


@pytest.mark.parametrize(
    "options", [{"correct": False}, {"text": '"Haftar"'}, {"text": "title:Haftar"}, {"text": "body:Haftar"}]
)
def test_verbatim_quotes_and_fields_search_only_what_was_typed(
    names_engine: SearchEngine, options: dict
) -> None:
    text = options.pop("text", "Haftar")
    results = names_engine.search(text, **options)
    assert found(results) <= {"moscow-en.txt"} and results.also_searched == []


def test_questions_and_sentences_are_searched_in_their_own_script(names_engine: SearchEngine) -> None:
    """A question seeks its answer in its language: its names are not carried across (nor its words looked up)."""
    questions = {
        "Who did Haftar meet?": "libya-ar.txt",
        "Haftar in Moscow": "libya-ar.txt",  # "in" is a stop word: a sentence, not keywords
        "من التقى لافروف": "moscow-en.txt",
    }
    for text, other_script in questions.items():
        results = names_engine.search(text)
        assert results.also_searched == [] and other_script not in found(results), text


def test_a_name_being_typed_finds_what_the_submitted_query_finds(names_engine: SearchEngine) -> None:
    """As-you-type results, once the name is typed in full, hold the page the query loads (completions may reorder)."""
    for text in ("Haftar", "Lavrov Moscow", "لافروف"):
        typed, submitted = names_engine.search(text, typing=True), names_engine.search(text)
        assert found(typed) == found(submitted) and typed.total == submitted.total, text
        assert typed.also_searched == submitted.also_searched != [], text


def test_common_words_are_not_carried_across(names_engine: SearchEngine) -> None:
    for text in ("report", "reports", "تقرير"):
        assert names_engine.search(text).also_searched == [], text


def test_every_typed_word_still_matches_what_it_matched(names_engine: SearchEngine) -> None:
    """The expansion adds documents: those of the verbatim search all stay, in the words rule's order."""
    for text in ("Haftar Moscow", "heat Lavrov", "لافروف موسكو"):
        verbatim = found(names_engine.search(text, correct=False))
        assert verbatim <= found(names_engine.search(text)), text


def test_the_api_and_the_page_say_what_was_also_searched(names_home: IndexHome) -> None:
    client = create_app({"INDEX_DIR": str(names_home.path), "TESTING": True}).test_client()
    data = client.get("/api/search?q=Haftar").get_json()
    assert data["also_searched"] == [{"word": "Haftar", "also": ["حفتر"]}]
    assert client.get("/api/search?q=Haftar&verbatim=1").get_json()["also_searched"] == []
    page = client.get("/?q=Haftar").get_data(as_text=True)
    line = page[page.index('id="also-searched"') :].split("</p>")[0]
    assert "<bdi>حفتر</bdi>" in line and "<bdi>Haftar</bdi>" in line and "verbatim=1" in line
    assert 'id="also-searched"' not in client.get("/?q=Haftar&verbatim=1").get_data(as_text=True)


def test_the_cli_says_what_was_also_searched(names_home: IndexHome, capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "--index", str(names_home.path), "Haftar"]) == 0
    assert "Also searched: حفتر for 'Haftar'" in capsys.readouterr().out
    assert main(["search", "--index", str(names_home.path), "--verbatim", "Haftar"]) == 0
    assert "Also searched" not in capsys.readouterr().out


def test_the_vocabulary_follows_the_index(tmp_path: Path) -> None:
    """A name added by an update is found from the other script at once; the files kept stay bounded."""
    folder = write_corpus(tmp_path / "notes", {"a.txt": FILES["weather-ar.txt"]})
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    assert SearchEngine.at(home).search("Putin").hits == []
    for step, name in enumerate(("بوتين", "أوباما", "كيري", "ميركل")):
        (folder / f"{step}.txt").write_text(f"خبر\nقال {name} إن المحادثات مستمرة.", encoding="utf-8")
        update(home, folder, show_progress=False)
    engine = SearchEngine.at(home)
    for latin, file in (("Putin", "0.txt"), ("Obama", "1.txt"), ("Kerry", "2.txt"), ("Merkel", "3.txt")):
        assert file in found(engine.search(latin)), latin
    kept = list(Path(os.environ["FAHRAS_CACHE"], "names").glob("*/*/*.sqlite"))
    assert kept and len({path.parent for path in kept}) * KEPT >= len(kept)


def test_the_planner_records_names_and_reads_no_index() -> None:
    """Planning with a vocabulary in a dict: the expansion is an alternative of the typed word."""
    lexicon = DictLexicon({"body_exact": {"حفتر": 3, "الليبي": 2}, "body": {"حفتر": 3}})
    plan = Planner(default_analysis(), lexicon, {"body": 1.0}, 0.0).plan(parse("Haftar weather"))
    assert plan.also == (("Haftar", "حفتر"),)
    assert Term("body", "حفتر") in {term for term in _terms(plan.match)}
    assert plan.words and len(plan.words) == 2  # the name belongs to its word in the words rule
    verbatim = Planner(default_analysis(), lexicon, {"body": 1.0}, 0.0).plan(
        parse("Haftar weather"), rewrite=False
    )
    assert verbatim.also == ()


def _terms(match) -> Iterator[Term]:
    if isinstance(match, Term):
        yield match
    for child in getattr(match, "parts", ()):
        yield from _terms(child)


@pytest.mark.usefixtures("unwritable_cache")
def test_names_are_found_where_the_cache_cannot_be_written(names_home: IndexHome) -> None:
    """An unwritable cache folder costs filing the words in memory, not the feature."""
    results = SearchEngine.at(names_home).search("Haftar")
    assert found(results) == {"libya-ar.txt", "moscow-en.txt"}
    assert results.also_searched == [AlsoSearched("Haftar", ("حفتر",))]
