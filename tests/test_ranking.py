"""Two-phase ranking and estimated totals: fast paths that must not change what users see."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

import search.engine as engine_module
from index.indexer import rebuild_index
from index.store import IndexHome
from search.engine import DEFAULT_RANKING, SearchEngine

WORDS = [
    "الانتخابات",
    "انتخاب",
    "المنتخب",
    "الحكومة",
    "حكومي",
    "السعودية",
    "سعودي",
    "النفط",
    "نفطية",
    "الأسعار",
    "سعر",
    "المدارس",
    "مدرسة",
    "والمعلمين",
    "elections",
    "election",
    "government",
    "oil",
    "prices",
    "price",
    "schools",
    "teacher",
    "market",
    "markets",
]
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


def ranked(engine: SearchEngine, query: str, size: int = 20) -> list[tuple[str, float]]:
    return [(hit.id, hit.score) for hit in engine.search(query, size=size, snippets=False).hits]


@pytest.mark.parametrize("query", QUERIES)
def test_rescoring_candidates_gives_the_whole_query_scores(varied: IndexHome, query: str) -> None:
    single = SearchEngine(varied, replace(DEFAULT_RANKING, rescore_depth=0))
    deep = SearchEngine(varied, replace(DEFAULT_RANKING, rescore_depth=1000))
    expected, got = ranked(single, query), ranked(deep, query)
    assert [doc for doc, _ in got] == [doc for doc, _ in expected]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], abs=1e-3)


@pytest.mark.parametrize("query", QUERIES)
def test_default_depth_keeps_the_best_hits(varied: IndexHome, query: str) -> None:
    single = SearchEngine(varied, replace(DEFAULT_RANKING, rescore_depth=0))
    default = SearchEngine(varied)
    assert ranked(default, query, size=5) == ranked(single, query, size=5)


def test_exact_form_outranks_a_shared_stem(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("نتائج الانتخابات في المدينة", encoding="utf-8")
    (tmp_path / "b.txt").write_text("نتائج انتخاب المجلس في المدينة", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild_index(home, tmp_path, show_progress=False)
    hits = SearchEngine(home).search("الانتخابات").hits
    assert [hit.id for hit in hits] == ["a.txt", "b.txt"]


def test_large_totals_are_estimated_and_flagged(varied: IndexHome, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = SearchEngine(varied).search("oil government")
    assert exact.total_exact and exact.total > 30
    monkeypatch.setattr(engine_module, "EXACT_COUNT_UP_TO", 5)
    shallow = SearchEngine(varied, replace(DEFAULT_RANKING, rescore_depth=10))
    estimated = shallow.search("oil government")
    assert not estimated.total_exact
    assert abs(estimated.total - exact.total) <= 0.25 * exact.total
    assert [hit.id for hit in estimated.hits] == [hit.id for hit in exact.hits]


def test_small_result_sets_are_counted_exactly(varied: IndexHome, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "EXACT_COUNT_UP_TO", 0)
    engine = SearchEngine(varied, replace(DEFAULT_RANKING, rescore_depth=200))
    results = engine.search("market")  # fewer matches than the 200 candidates scored
    assert results.total_exact
    assert results.total == len(engine.search("market", size=100).hits) + len(
        engine.search("market", page=2, size=100).hits
    )


def test_long_queries_retrieve_by_their_rarest_words(tmp_path: Path) -> None:
    lines = [
        {"id": "answer", "text": "the volcano erupted near the harbour while ministers met in the capital"}
    ]
    lines += [{"id": f"filler{n}", "text": f"ministers met in the capital, report {n}"} for n in range(40)]
    lines += [{"id": "partial", "text": "a volcano in the south"}]
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild_index(home, tmp_path / "docs.jsonl", show_progress=False)
    question = "when did the volcano erupt near the harbour while ministers met in the capital"

    pruned = SearchEngine(home).search(question)
    whole = SearchEngine(home, replace(DEFAULT_RANKING, prune_share=1.0)).search(question)
    assert pruned.hits[0].id == whole.hits[0].id == "answer"
    assert pruned.hits[0].score == whole.hits[0].score  # common words still count in the score
    assert pruned.total == 2 and whole.total == 42  # only the rare words (volcano, erupt, harbour) retrieve
