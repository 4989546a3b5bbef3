"""Ranking: the exact scores of Whoosh's BM25F, and fast paths that must not change what users see."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from whoosh import query as Q

from index.indexer import rebuild_index, update_index
from index.store import IndexHome
from search.engine import DEFAULT_RANKING, SearchEngine
from search.scoring import rank

from .conftest import news_index, shared

WORDS = [
    "الانتخابات", "انتخاب", "المنتخب", "الحكومة", "حكومي", "السعودية", "سعودي", "النفط", "نفطية", "الأسعار",
    "سعر", "المدارس", "مدرسة", "والمعلمين", "elections", "election", "government", "oil", "prices", "price",
    "schools", "teacher", "market", "markets",
]  # fmt: skip
QUERIES = ["الانتخابات", "الحكومة السعودية", "أسعار النفط", "oil prices", "election government", "مدرسة"]


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """150 documents mixing the words above at random (fixed seed): many ties to break."""
    folder = tmp_path_factory.mktemp("varied")
    rng = random.Random(3)
    with (folder / "docs.jsonl").open("w", encoding="utf-8") as out:
        for n in range(150):
            title = " ".join(rng.sample(WORDS, 2))
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
            out.write(
                json.dumps({"id": f"d{n:03d}", "title": title, "text": body}, ensure_ascii=False) + "\n"
            )
    home = IndexHome(folder / "index")
    rebuild_index(home, folder / "docs.jsonl", show_progress=False)
    return home


@pytest.fixture(scope="module")
def snn(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """1,500 SaudiNewsNet articles (skipped without the shared data)."""
    return news_index(tmp_path_factory, 1500)


def ranked(engine: SearchEngine, query: str, size: int = 20, page: int = 1) -> list[tuple[str, float]]:
    return [(hit.id, hit.score) for hit in engine.search(query, size=size, page=page, snippets=False).hits]


def _whoosh_query(engine: SearchEngine, text: str) -> Q.Query:
    """The same query in Whoosh's own terms: every scoring term and pair, required to match a stem."""
    plan = engine.plan(text)
    scoring = [Q.Term(t.field, t.text, boost=t.weight) for t in plan.scoring]
    pairs = [
        Q.Phrase(p.phrase.field, [slot.terms[0] for slot in p.phrase.slots], boost=p.weight)
        for p in plan.phrases
    ]
    matching = Q.Or([Q.Term(t.field, t.text) for t in plan.scoring if t.field in ("title", "body")])
    return Q.Require(Q.Or(scoring + pairs), matching)


@pytest.mark.parametrize(
    "query", ["oil prices", "election government", "market", "السعودية النفط", "الحكومة"]
)
def test_scores_are_whooshs_own_bm25f(varied: IndexHome, query: str) -> None:
    engine = SearchEngine(varied)
    with varied.open().searcher(weighting=DEFAULT_RANKING.weighting()) as searcher:
        results = searcher.search(_whoosh_query(engine, query), limit=None)
        expected = sorted(((hit["id"], hit.score) for hit in results), key=lambda item: (-item[1], item[0]))
    got = ranked(engine, query, size=100)
    assert len(expected) == engine.search(query).total > 30
    assert [doc for doc, _ in got] == [doc for doc, _ in expected[:100]]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected[:100]], abs=1e-4)
    assert all(type(score) is float for _, score in got)


def _exhaustive(engine: SearchEngine, query: str, depth: int) -> list[int]:
    engine.searcher()
    plan = engine.plan(query)
    return rank(engine._view(), plan, engine.ranking.bm25(), depth, exhaustive=True).docnums


def _fast(engine: SearchEngine, query: str, depth: int) -> list[int]:
    engine.searcher()
    return rank(engine._view(), engine.plan(query), engine.ranking.bm25(), depth).docnums


def test_proximity_only_where_it_can_matter_changes_nothing(varied: IndexHome, snn: IndexHome) -> None:
    """The proximity bonus is computed for the few matches that can still reach the page;
    scoring every match gives the same order, page after page (real news, real queries)."""
    queries = [line.split("\t", 1)[1] for line in shared("saudinewsnet", "queries.short.tsv").read_text(
        encoding="utf-8").splitlines()[:150]]  # fmt: skip
    for home, texts in ((varied, QUERIES), (snn, queries)):
        engine = SearchEngine(home)
        for text in texts:
            for depth in (10, 30, 100):
                assert _fast(engine, text, depth) == _exhaustive(engine, text, depth), text


def test_cached_answers_are_fresh_answers(varied: IndexHome, tmp_path: Path) -> None:
    warm = SearchEngine(varied)
    for query in QUERIES * 2:
        ranked(warm, query)
    for query in QUERIES:
        assert ranked(warm, query) == ranked(SearchEngine(varied), query)


def test_deletions_in_a_kept_segment_reach_a_running_engine(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(5):
        (folder / f"d{n}.txt").write_text(f"report {n}\n\nharbour news number {n}", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild_index(home, folder, show_progress=False)
    engine = SearchEngine(home)
    assert engine.search("harbour").total == 5
    (folder / "d2.txt").unlink()
    update_index(home, folder, show_progress=False)
    assert engine.search("harbour").total == 4
    assert "d2.txt" not in [hit.id for hit in engine.search("harbour").hits]


def test_exact_form_outranks_a_shared_stem(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("نتائج الانتخابات في المدينة", encoding="utf-8")
    (tmp_path / "b.txt").write_text("نتائج انتخاب المجلس في المدينة", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild_index(home, tmp_path, show_progress=False)
    hits = SearchEngine(home).search("الانتخابات").hits
    assert [hit.id for hit in hits] == ["a.txt", "b.txt"]


def test_every_word_of_a_long_question_retrieves(tmp_path: Path) -> None:
    lines = [
        {"id": "answer", "text": "the volcano erupted near the harbour while ministers met in the capital"}
    ]
    lines += [{"id": f"filler{n}", "text": f"ministers met in the capital, report {n}"} for n in range(40)]
    lines += [{"id": "partial", "text": "a volcano in the south"}]
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild_index(home, tmp_path / "docs.jsonl", show_progress=False)
    results = SearchEngine(home).search(
        "when did the volcano erupt near the harbour while ministers met in the capital"
    )
    assert results.hits[0].id == "answer"
    assert results.total == 42  # documents with only the common words match too, ranked below
