"""The seam between answering queries and the index: planning reads no index, and any backend serves.

The planner runs here with no index at all (a vocabulary in a dict) and its
plans are compared whole; then a backend that keeps documents in memory
(tests/memory_backend.py, no Whoosh in it) is indexed with ``fahras index``
and searched through the real engine, the CLI and the JSON API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fahras_cli import main
from search import cli
from search.backend import default_analysis
from search.engine import SearchEngine
from search.names import KeyedVocabulary
from search.plan import AnyOf, PhraseMatch, Plan, ScoringPhrase, ScoringTerm, Slot, Term, Without
from search.planner import Planner
from search.ranking import DEFAULT_RANKING
from search.syntax import QueryError, parse
from web import create_app

from .conftest import write_corpus
from .memory_backend import MemoryBackend


class DictLexicon:
    """A vocabulary as a dict: field -> term -> document frequency. No index anywhere."""

    def __init__(self, terms: dict[str, dict[str, int]]) -> None:
        self.terms = terms

    def document_frequency(self, field: str, term: str) -> int:
        return self.terms.get(field, {}).get(term, 0)

    def expand_prefix(self, field: str, prefix: str):
        return iter(sorted(term for term in self.terms.get(field, {}) if term.startswith(prefix)))

    def side_by_side(self, field: str, slots, limit: int) -> int:
        return 0

    def stored_text(self, field: str, term: str) -> str | None:
        return term if self.document_frequency(field, term) else None

    def most_frequent(self, field: str, limit: int) -> list[tuple[str, int]]:
        return sorted(self.terms.get(field, {}).items(), key=lambda pair: -pair[1])[:limit]

    def vocabulary(self, script: str) -> KeyedVocabulary:
        return KeyedVocabulary.of_script(self.terms.get("body_exact", {}).items(), script)


VOCABULARY = {
    "body": {"heat": 5, "wave": 3, "drought": 3, "vote": 1, "انتخاب": 4},
    "title": {"heat": 1},
    "body_exact": {"heat": 5, "wave": 3, "waves": 1, "drought": 3, "الانتخابات": 4},
    "title_exact": {"heat": 1},
}


def planner(absent_words: bool = True) -> Planner:
    ranking = DEFAULT_RANKING
    return Planner(default_analysis(), DictLexicon(VOCABULARY), dict(ranking.field_boosts),
                   ranking.proximity_boost, ranking.proximity_slop, absent_words)  # fmt: skip


def scoring(field_word_pairs: list[tuple[str, str]], weights: dict[str, float]) -> tuple[ScoringTerm, ...]:
    return tuple(ScoringTerm(name, word, weights[name]) for name, word in field_word_pairs)


WEIGHTS = dict(DEFAULT_RANKING.field_boosts)


def levels(word: str, root: str | None = None) -> list[tuple[str, str]]:
    """A word's scoring terms on title and body, at every level, in the planner's order."""
    return [
        (name + level, form)
        for name in ("title", "body")
        for level, form in (("", word), ("_exact", word), ("_root", root or word))
    ]


def test_a_plain_query_is_planned_without_an_index() -> None:
    plan = planner().plan(parse("heat wave"))
    heat, wave = (AnyOf((Term("title", word), Term("body", word))) for word in ("heat", "wave"))
    assert plan == Plan(
        match=AnyOf((heat, wave)),
        scoring=scoring(levels("heat") + levels("wave"), WEIGHTS),
        phrases=(ScoringPhrase(PhraseMatch("body", (Slot(0, ("heat",)), Slot(1, ("wave",)))), 0.15, True),),
        highlight=frozenset({"heat", "wave"}),
        title_highlight=frozenset({"heat", "wave"}),
        title_words=frozenset({"heat", "wave"}),
        words=(heat, wave),  # a keyword query: documents with both words rank first
    )


def test_operators_phrases_and_fields_are_planned_without_an_index() -> None:
    plan = planner().plan(parse('title:heat -"vote count"'))
    assert plan.match == Without(
        Term("title", "heat"),
        AnyOf(
            tuple(PhraseMatch(name, (Slot(0, ("vote",)), Slot(1, ("count",)))) for name in ("title", "body"))
        ),
    )
    assert plan.scoring == scoring(
        [("title", "heat"), ("title_exact", "heat"), ("title_root", "heat")], WEIGHTS
    )
    assert plan.title_highlight == {"heat"} and plan.highlight == frozenset() and not plan.title_words


def test_prefixes_and_fuzzy_words_expand_against_the_lexicon_given() -> None:
    prefix = planner().plan(parse("wav*"))
    assert prefix.match == AnyOf(
        (Term("body", "wave"), Term("body_exact", "wave"), Term("body_exact", "waves"))
    )
    fuzzy = planner().plan(parse("droght~1"))
    assert Term("body", "drought") in fuzzy.match.parts and Term("body_exact", "drought") in fuzzy.match.parts
    with pytest.raises(QueryError, match="at least 2 letters"):
        planner().plan(parse("w*"))


def test_a_word_that_matches_nothing_searches_its_confident_correction() -> None:
    plan = planner().plan(parse("heat droughtt"))
    assert plan.rewritten == (("droughtt", "drought"),)
    assert AnyOf((Term("title", "drought"), Term("body", "drought"))) in plan.match.parts[1].parts
    assert planner(absent_words=False).plan(parse("heat droughtt")).rewritten == ()


def test_stop_words_alone_leave_nothing_to_match() -> None:
    plan = planner().plan(parse("the في"))
    assert plan.match is None and plan.stop_words == ("the", "في")


# ------------------------------------------------------------------ a whole backend in memory

NOTES = {
    "heat.txt": "Heat wave\nA heat wave hit the coast; the heat stayed for a week.",
    "drought.txt": "Drought\nThe drought after the heat wave emptied the reservoirs.",
    "ar.txt": "الانتخابات البلدية\nبدأت الانتخابات في المدن.",
}


@pytest.fixture
def memory(tmp_path: Path, monkeypatch) -> MemoryBackend:
    """An in-memory backend, indexed from a folder by the real `fahras index` (its CLI)."""
    backend = MemoryBackend()
    monkeypatch.setattr(cli, "open_backend", lambda location: backend)
    folder = write_corpus(tmp_path / "notes", NOTES)
    assert main(["index", "--quiet", str(folder)]) == 0
    return backend


def test_the_engine_answers_from_any_backend(memory: MemoryBackend) -> None:
    engine = SearchEngine(memory)
    results = engine.search("heat wave", facets=True)
    assert [hit.id for hit in results.hits] == ["heat.txt", "drought.txt"] and results.total == 2
    assert results.hits[0].title_html == "<mark>Heat</mark> <mark>wave</mark>"
    assert "<mark>heat</mark>" in results.hits[0].snippet and results.facets["lang"] == {"en": 2}
    assert [hit.id for hit in engine.search("انتخابات").hits] == ["ar.txt"]
    assert engine.search("heat -drought").total == 1 and engine.search('"heat wave"').total == 2
    assert engine.document("ar.txt", highlight="انتخابات")["body_html"].count("<mark>") == 1
    assert engine.stats().documents == 3


def test_the_cli_indexes_and_searches_any_backend(memory: MemoryBackend, tmp_path: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["search", "--json", "heat"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [hit["id"] for hit in data["hits"]] == ["heat.txt", "drought.txt"] and data["total"] == 2
    (tmp_path / "notes" / "drought.txt").unlink()
    assert main(["index", "--quiet", str(tmp_path / "notes")]) == 0
    assert "deleted 1" in capsys.readouterr().out
    assert main(["search", "--json", "heat"]) == 0
    assert [hit["id"] for hit in json.loads(capsys.readouterr().out)["hits"]] == ["heat.txt"]


def test_the_api_and_the_page_serve_any_backend(memory: MemoryBackend) -> None:
    client = create_app({"TESTING": True}, engine=SearchEngine(memory)).test_client()
    data = client.get("/api/search", query_string={"q": "heat", "lang": "en"}).get_json()
    assert [hit["id"] for hit in data["hits"]] == ["heat.txt", "drought.txt"]
    assert client.get("/healthz").get_json() == {"status": "ok", "documents": 3}
    page = client.get("/", query_string={"q": "انتخابات"}).get_data(as_text=True)
    assert "<mark>الانتخابات</mark>" in page
