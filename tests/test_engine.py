"""The search engine (search/engine.py) on a small built index: pages, totals, filters, documents."""

from __future__ import annotations

from index.store import IndexHome
from search.engine import Filters, SearchEngine


def test_pages_are_slices_of_one_ranking(built: IndexHome) -> None:
    """Two pages of one are the first page of two, and every page counts every match."""
    engine = SearchEngine.at(built)
    whole = engine.search("الانتخابات OR الأزمة OR football OR المباراة", size=4)
    first = engine.search("الانتخابات OR الأزمة OR football OR المباراة", size=2)
    second = engine.search("الانتخابات OR الأزمة OR football OR المباراة", size=2, page=2)
    assert whole.total >= 3
    assert [h.id for h in first.hits + second.hits] == [h.id for h in whole.hits][:4]
    assert first.total == second.total == whole.total


def test_a_language_filter_keeps_only_that_language(built: IndexHome) -> None:
    engine = SearchEngine.at(built)
    everything = engine.search("الانتخابات OR election OR football", size=20)
    arabic = engine.search("الانتخابات OR election OR football", size=20, filters=Filters(lang=("ar",)))
    assert {hit.lang for hit in everything.hits} > {"ar"}
    assert arabic.hits and {hit.lang for hit in arabic.hits} == {"ar"}
    assert arabic.total == sum(hit.lang == "ar" for hit in everything.hits)


def test_a_document_marks_the_query_as_written(built: IndexHome) -> None:
    engine = SearchEngine.at(built)
    hit = engine.search("انتخابات").hits[0]
    found = engine.document(hit.id, highlight="انتخابات")
    assert found is not None and "<mark>الانتخابات</mark>" in found["body_html"]
    assert engine.document("no such id") is None
