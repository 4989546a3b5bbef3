"""Top-k pruning changes what a query costs, never what it returns.

Every comparison is between ``rank`` as the engine runs it (search/pruning.py: the
documents that cannot reach the page are not scored) and ``rank(..., exhaustive=True)``,
which scores every match: the same documents in the same order with the same scores to
the last bit, the same total and facets, on real news in an index of several segments with
deleted documents (the paths a long-running archive takes).
"""

from __future__ import annotations

import contextlib
import gzip
import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.matching import binary
from whoosh.util import make_binary_tree

from index import decoded
from index.generations import rebuild, update
from index.store import IndexHome
from search.backends.embedded import pruning
from search.backends.embedded.scoring import rank
from search.engine import SearchEngine
from search.syntax import QueryError

from .conftest import shared, words_by_frequency
from .test_ranking import _reference

pytestmark = pytest.mark.shared_data


def _write(path: Path, records: list[str]) -> None:
    path.write_text("".join(records), encoding="utf-8")


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """1,200 articles in two segments: the first 900 built, then 300 added and 100 of the first deleted.

    Lists of 64 postings or more are kept decoded (index/decoded.py), as a large index's common words
    are: pruning counts them as free to score whole, and reads the rest from their blocks.
    """
    with gzip.open(shared("saudinewsnet", "corpus.jsonl.gz"), "rt", encoding="utf-8") as lines:
        records = list(islice(lines, 1200))
    folder = tmp_path_factory.mktemp("pruning")
    corpus = folder / "corpus" / "news.jsonl"
    corpus.parent.mkdir()
    _write(corpus, records[:900])
    home = IndexHome(folder / "index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decoded, "MIN_POSTINGS", 64)
        rebuild(home, corpus.parent, show_progress=False)
        _write(corpus, records[100:])
        update(home, corpus.parent, show_progress=False)
    assert list(home.live_target().glob(f"*{decoded.EXTENSION}"))
    return home


@pytest.fixture(scope="module")
def engine(news: IndexHome) -> SearchEngine:
    engine = SearchEngine.at(news)
    with news.open().searcher() as searcher:
        leaves = [leaf for leaf, _offset in searcher.reader().leaf_readers()]
        assert len(leaves) > 1 and any(leaf.segment().deleted_count() for leaf in leaves)
    return engine


@pytest.fixture(scope="module")
def vocabulary(news: IndexHome) -> dict[str, list[str]]:
    """Words as documents write them (exact forms), the most frequent and the rarest, and real bigrams."""
    words = words_by_frequency(news)
    with gzip.open(shared("saudinewsnet", "corpus.jsonl.gz"), "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"].split() for line in islice(lines, 50)]
    bigrams = [f"{text[at]} {text[at + 1]}" for text in texts for at in range(0, len(text) - 1, 17)]
    return {"common": words[:300], "middling": words[2000:2600], "rare": words[-600:], "bigrams": bigrams}


def _both(engine: SearchEngine, text: str, depth: int) -> tuple:
    plan = engine.plan(text)
    if plan.match is None:
        return None, None
    view = engine.backend.snapshot().view
    fast = rank(view, plan, engine.ranking, depth)
    slow = rank(view, plan, engine.ranking, depth, exhaustive=True)
    return fast, slow


def _assert_same(engine: SearchEngine, text: str, depth: int) -> None:
    fast, slow = _both(engine, text, depth)
    if fast is None:
        return
    assert fast.docnums == slow.docnums, text
    assert fast.scores == slow.scores, text  # to the last bit: the same operations in the same order
    assert (fast.total, fast.facets, fast.total_all) == (slow.total, slow.facets, slow.total_all), text


def _short_queries(count: int) -> list[str]:
    lines = shared("saudinewsnet", "queries.short.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines[:count]]


def _questions(count: int) -> list[str]:
    lines = shared("xquad", "queries.ar.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1].rstrip("؟?") for line in lines[:count]]


# (MAX_CANDIDATES, BLOCK_COST): the defaults; candidates always looked up block by block, whatever
# a whole list would cost (a block costing nothing); the exact-form and root words scored for every
# match (0); only some of them (30), in an index too small to reach the default.
LIMITS = [
    (pruning.MAX_CANDIDATES, pruning.BLOCK_COST),
    (pruning.MAX_CANDIDATES, 0.0),
    (0, pruning.BLOCK_COST),
    (30, 0.0),
]


def _limit(monkeypatch: pytest.MonkeyPatch, limits: tuple[int, float]) -> None:
    monkeypatch.setattr(pruning, "MAX_CANDIDATES", limits[0])
    monkeypatch.setattr(pruning, "BLOCK_COST", limits[1])


@pytest.mark.parametrize("limits", LIMITS)
def test_real_queries_rank_as_when_every_match_is_scored(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch, limits: tuple[int, float]
) -> None:
    _limit(monkeypatch, limits)
    for text in _short_queries(200) + _questions(60):
        for depth in (10, 30, 100):
            _assert_same(engine, text, depth)


def test_ten_pages_of_ten_are_one_page_of_a_hundred(engine: SearchEngine) -> None:
    for text in _short_queries(40) + _questions(20):
        whole = engine.search(text, size=100, snippets=False, fold=False)
        pages = [engine.search(text, page=page, size=10, snippets=False, fold=False) for page in range(1, 11)]
        walked = [(hit.id, hit.score) for page in pages for hit in page.hits]
        assert walked == [(hit.id, hit.score) for hit in whole.hits], text
        assert {page.total for page in pages} == {whole.total}, text
        fast, slow = _both(engine, text, 100)
        assert fast is None or whole.total == slow.total


def test_a_pages_documents_are_those_of_its_ids(news: IndexHome, engine: SearchEngine) -> None:
    """A page's documents (and those folded under them) are read by the document numbers the ranking
    gave: each is the document its id names, as an engine that has ranked nothing reads it by id."""
    by_id = SearchEngine.at(news)
    fields = ("title", "lang", "source", "date", "url")
    checked = 0
    for text in _short_queries(40) + _questions(10):
        for hit in engine.search(text, size=10).hits:
            stored = by_id.document(hit.id)
            assert stored is not None and tuple(getattr(hit, name) for name in fields) == tuple(
                stored[name] for name in fields
            ), (text, hit.id)
            for similar in hit.similar:
                assert by_id.document(similar["id"])["title"] == similar["title"], (text, similar["id"])
                checked += 1
            checked += 1
    assert checked > 300


# Words with no second reading (a leading و ف ب ل): the reference scores a pair's first forms only.
@pytest.mark.parametrize("text", ["المملكة العربية السعودية", "مجلس الوزراء", "أسعار النفط", "كرة القدم"])
def test_the_pruned_page_scores_as_the_slow_formula(news: IndexHome, engine: SearchEngine, text: str) -> None:
    """Each hit of the page has the score written out from the formula (test_ranking._reference)."""
    reference = _reference(news, engine, text)  # in the ranking's order (the words rule included)
    expected = dict(reference)
    hits = engine.search(text, size=100, snippets=False, fold=False).hits
    assert len(hits) == 100
    assert [hit.score for hit in hits] == pytest.approx([expected[hit.id] for hit in hits], abs=1e-4)
    assert [hit.score for hit in hits] == pytest.approx([score for _id, score in reference[:100]], abs=1e-4)


def _query(draw, vocabulary: dict[str, list[str]]) -> str:
    """A query as people type them, of words drawn from the index: common, rare, with operators and phrases."""
    word = st.sampled_from(vocabulary["common"] + vocabulary["middling"] + vocabulary["rare"])
    common = st.sampled_from(vocabulary["common"])
    words = draw(st.lists(st.one_of(word, common), min_size=1, max_size=6))
    form = draw(st.sampled_from(["plain", "or", "and", "not", "minus", "plus", "phrase", "grouped"]))
    if form == "or":
        return " OR ".join(words)
    if form == "and" and len(words) > 1:
        return " AND ".join(words[:3])
    if form in ("not", "minus") and len(words) > 1:
        return " ".join(words[:-1]) + (" NOT " if form == "not" else " -") + words[-1]
    if form == "plus":
        return "+" + " ".join(words)
    if form == "phrase":
        return f'"{draw(st.sampled_from(vocabulary["bigrams"]))}" ' + " ".join(words[:2])
    if form == "grouped" and len(words) > 2:
        return f"({words[0]} OR {words[1]}) AND {' '.join(words[2:])}"
    return " ".join(words)


FILTERS = [
    "",
    " source:okaz",
    " source:alriyadh source:aawsat",
    " date:2015-07",
    " date:[2015-07-25 TO *]",
    " lang:ar",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_queries_rank_as_when_every_match_is_scored(
    engine: SearchEngine, vocabulary: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch, data
) -> None:
    _limit(monkeypatch, data.draw(st.sampled_from(LIMITS)))
    text = _query(data.draw, vocabulary) + data.draw(st.sampled_from(FILTERS))
    depth = data.draw(st.sampled_from([1, 10, 20, 50, 100]))
    with contextlib.suppress(QueryError):  # a word the analysis drops, alone beside an operator
        _assert_same(engine, text, depth)


def _whooshs_phrase_documents(searcher, phrase) -> list[int]:
    """Where a phrase stands, by Whoosh's matchers (the slots' unions intersected, positions read as walked)."""
    reader = searcher.reader()
    slots = [
        [searcher.postings(phrase.field, t) for t in slot.terms if (phrase.field, t) in reader]
        for slot in phrase.slots
    ]
    if not all(slots):
        return []
    candidates = make_binary_tree(
        binary.IntersectionMatcher, [make_binary_tree(binary.UnionMatcher, s) for s in slots]
    )
    found = []
    while candidates.is_active():
        docnum = candidates.id()
        at, previous = None, 0
        for slot, leaves in zip(phrase.slots, slots, strict=True):
            here = {
                p
                for leaf in leaves
                if leaf.is_active() and leaf.id() == docnum
                for p in leaf.value_as("positions")
            }
            # each slot stands its offset after the last one's, plus at most the slop
            gap = slot.offset - previous
            at = here if at is None else {p + gap + e for p in at for e in range(phrase.slop + 1)} & here
            previous = slot.offset
        if at:
            found.append(docnum)
        candidates.next()
    return found


def test_phrases_stand_where_whooshs_matchers_find_them(engine: SearchEngine) -> None:
    """Phrases are found by intersecting their slots' postings and reading each candidate's positions from
    one block: the documents Whoosh's phrase matchers find, for real adjacent pairs and phrases; counted
    up to a limit (the planner's split words), their number up to it."""
    view, found = engine.backend.snapshot().view, 0
    for text in [*_short_queries(150), '"وزير الخارجية"', '"المملكة العربية السعودية"']:
        plan = engine.plan(text)
        for phrase in {scoring.phrase for scoring in plan.phrases}:
            expected = _whooshs_phrase_documents(view.searcher, phrase)
            assert view.phrase_docs(phrase).tolist() == expected, text
            for limit in (1, 3, 100):
                assert view.phrase_count(phrase, limit) == min(limit, len(expected)), text
            found += len(expected)
    assert found > 200


def test_block_bounds_are_never_below_a_documents_exact_summand(
    engine: SearchEngine, vocabulary: dict[str, list[str]]
) -> None:
    """The bound of a document in a block (the block's largest frequency at the document's own length)
    is at least what the term scores there, and nothing where the document's field is empty."""
    view = engine.backend.snapshot().view
    docs, tight = np.arange(view.count), 0
    for word in vocabulary["common"][:15] + vocabulary["middling"][:15] + vocabulary["rare"][:15]:
        for fieldname in ("title_exact", "body_exact"):
            field = pruning._LazyField(view, fieldname, word, 1.5, engine.ranking)
            if not field.parts:
                continue
            bounds, exact = field.bounds_at(docs), field.summand_at(docs)
            assert (bounds >= exact).all(), (word, fieldname)
            assert (bounds[view.lengths(fieldname) == 0] == 0).all(), (word, fieldname)
            assert (exact <= field.bound()).all(), (word, fieldname)
            tight += int(np.count_nonzero((exact > 0) & np.isclose(bounds, exact)))
    assert tight  # the bound is the exact summand where a document holds its block's largest frequency
