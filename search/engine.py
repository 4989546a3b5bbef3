"""Answering queries: the searcher's lifecycle, and one query's way from text to hits.

One :class:`SearchEngine` serves the CLI and the web app alike. It keeps a searcher
open per thread and reopens it when the index changes (a new commit from ``fahras
index`` or a swap from ``fahras rebuild``), so a long-running server always answers
from the latest complete index.

A query travels: text → :func:`search.syntax.parse` (the tree, or a one-line error) →
:class:`search.querying.Planner` (what matches, what scores, with the index's own
analysers) → :func:`search.scoring.rank` (every match scored, exact totals and facets)
→ stored fields and snippets for the page asked for.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from whoosh.searching import Searcher

from index.analysis import CachedChain, without_lone_surrogates
from index.schema import SEARCH_FIELDS
from index.store import IndexHome, retrying

from . import budget, syntax
from .querying import Everything, Plan, Planner
from .scoring import BM25F, FIELD_PAIRS, IndexView, matching, rank
from .snippets import lead, mark, matched_spans, prepare_fold, snippet
from .suggest import Suggester, swap_layout
from .syntax import MAX_QUERY_CHARS, QueryError

__all__ = ["MAX_PAGE_SIZE", "MAX_QUERY_CHARS", "Filters", "QueryError", "SearchEngine", "SearchResults"]

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Ranking:
    """Ranking parameters: BM25F constants, field weights, and the proximity bonus.

    Chosen with bench/quality.py on the whole shared suite (see the README): long
    news articles beside short answers want strong length normalisation (b 0.8, where
    0.4 suited same-length paragraphs only), a title occurrence counts for several body
    ones, and Lucene's k1. A later saturation (k1 2.0) scores 0.003 more on average but
    costs the uniform XQuAD paragraphs more than the 0.005 a set may lose.
    search/scoring.py says how the fields combine.
    """

    k1: float = 1.2
    b: float = 0.8  # body fields
    title_b: float = 1.0
    title_weight: float = 5.0  # one title occurrence counts as this many body ones
    field_boosts: tuple[tuple[str, float], ...] = tuple(SEARCH_FIELDS.items())
    # Adjacent query words found next to each other in the body (a removed stop
    # word keeps its gap) add this times their own scores; 0 turns it off.
    proximity_boost: float = 0.15
    # How many positions further apart than in the query the pair may stand and
    # still count (0: exactly as typed).
    proximity_slop: int = 0
    # A query word read in several forms (a proclitic or not: ولدت, لدت) scores its best
    # form in each document; False adds the forms up, counting the word once per form.
    best_alternative: bool = True
    # A document whose whole title is made of the query's words (a question naming an
    # article's subject) scores this much more: 0.3 is 30%; 0 turns it off.
    title_match: float = 0.3
    # A plain query's word that matches nothing also searches the two words it joins
    # (البحرالميت) or its confident correction, and the results say so (search.querying).
    absent_words: bool = True

    def bm25f(self) -> BM25F:
        titles = tuple((title, self.title_b) for _body, title in FIELD_PAIRS)
        return BM25F(self.k1, self.b, titles, self.title_weight, self.best_alternative, self.title_match)


DEFAULT_RANKING = Ranking()


@dataclass
class SearchHit:
    """One result, in the format shared by ``fahras search --json`` and /api/search."""

    id: str
    title: str
    snippet: str  # HTML-escaped text; matches wrapped in <mark>...</mark>
    score: float
    lang: str
    source: str
    date: str | None
    url: str | None
    title_html: str = ""  # the title HTML-escaped, with the query's matches marked like the snippet's


@dataclass
class SearchResults:
    query: str
    total: int
    took_ms: float
    page: int
    size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None
    total_exact: bool = True  # every match is counted; kept for clients of the estimating versions
    notice: dict | None = None  # why the results are what they are (see search.notices)

    def to_dict(self) -> dict:
        data = asdict(self)
        # total_exact sits beside total in the JSON, whatever the field order.
        return {key: data[key] for key in ("query", "total", "total_exact")} | data

    @property
    def pages(self) -> int:
        """How many pages the total fills (at least one, for the page that says there is nothing)."""
        return max(1, math.ceil(self.total / self.size))


class ResultCache:
    """A small thread-safe LRU of finished result pages.

    Keys include the index folder and generation, so a commit or a rebuild
    makes old entries unreachable; they simply age out.
    """

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class Filters:
    """Restrictions on the result set (the facets a user clicked, the CLI's --lang, --source and dates).

    Several languages or sources are OR-ed: documents in any of them.
    """

    lang: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    date_from: datetime | None = None
    date_to: datetime | None = None

    def as_query_filters(self) -> list[syntax.Filter]:
        found = [syntax.Filter("lang", value=value) for value in self.lang]
        found += [syntax.Filter("source", value=value) for value in self.source]
        if self.date_from or self.date_to:
            found.append(syntax.Filter("date", start=self.date_from, end=self.date_to))
        return found


SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchRequest:
    """Everything that decides a page of results: built once by the CLI or the web, used as the cache key."""

    query: str
    page: int = 1
    size: int = 10
    filters: Filters = Filters()
    sort: str = "relevance"  # or "date": newest first, undated last
    facets: bool = False  # count matches per language and source
    suggest: bool = False  # did-you-mean, and searching a correction when nothing matches
    snippets: bool = True
    correct: bool = True  # with suggest: search the correction of a query that matches nothing

    def bounded(self) -> SearchRequest:
        """The request with its text made encodable and its page and size within bounds."""
        return replace(
            self,
            query=without_lone_surrogates(self.query),
            page=max(1, self.page),
            size=max(1, min(self.size, MAX_PAGE_SIZE)),
            filters=self.filters or Filters(),
        )


class SearchEngine:
    """Queries one index home; safe to share between threads."""

    def __init__(self, home: IndexHome, ranking: Ranking = DEFAULT_RANKING) -> None:
        self.home = home
        self.ranking = ranking
        self._local = threading.local()
        self._ix_lock = threading.Lock()
        self._ix = None
        self._ix_dir: Path | None = None
        self._body_chain: CachedChain | None = None
        self._cache = ResultCache()

    # ------------------------------------------------------------- searchers

    def _index(self):
        """The Index of the live generation, reopened after a rebuild swap."""
        live = self.home.live_target()
        with self._ix_lock:
            if self._ix is None or live != self._ix_dir:
                self._ix = self.home.open()
                self._ix_dir = live
                schema = retrying(getattr, self._ix, "schema")  # read from the table of contents
                # One memoised chain for every thread's snippets: each searcher
                # unpickles its own schema, whose memo would start empty.
                self._body_chain = schema["body"].analyzer.items[-1]
            return self._ix

    def warm_up(self) -> None:
        """Open the index, load every analyzer's stemmers, read the per-document arrays, derive the snippet fold."""
        self.plan("warm up تحميل")
        self._view()
        prepare_fold(self._body_chain)

    def searcher(self) -> Searcher:
        """This thread's searcher, refreshed when the index has changed."""
        ix = self._index()
        current: Searcher | None = getattr(self._local, "searcher", None)
        if current is not None and getattr(self._local, "ix", None) is ix and current.up_to_date():
            return current
        if current is not None:
            # Not Searcher.refresh(): it reuses segment readers by segment id
            # and so misses documents deleted from an existing segment.
            current.close()
        searcher = retrying(ix.searcher)
        # Keyed by the home, not the generation: an update links the segments it keeps into its new
        # generation, and their decoded postings stay good (a segment's id names its content).
        view = IndexView(searcher, str(self.home.path))
        view.prepare(name for name, _weight in self.ranking.field_boosts if name in searcher.schema)
        planner = Planner(searcher.schema, searcher.reader(), dict(self.ranking.field_boosts),
                          self.ranking.proximity_boost, self.ranking.proximity_slop,
                          searcher if self.ranking.absent_words else None)  # fmt: skip
        planner.plan(syntax.parse("تحميل load"))  # loads the stemmers now, not in a query's time
        self._local.searcher, self._local.ix, self._local.view = searcher, ix, view
        self._local.planner = planner
        return searcher

    def _view(self) -> IndexView:
        self.searcher()
        return self._local.view

    def _planner(self) -> Planner:
        self.searcher()
        return self._local.planner

    # ------------------------------------------------------------- queries

    def plan(self, text: str) -> Plan:
        """What a query matches and scores in this index (raises QueryError with a one-line fix)."""
        return self._planner().plan(syntax.parse(without_lone_surrogates(text)))

    def search(self, text: str, **options) -> SearchResults:
        """:meth:`run` for a query text and the options of :class:`SearchRequest`."""
        return self.run(SearchRequest(text, **options))

    def run(self, request: SearchRequest) -> SearchResults:
        """Ranked, highlighted results for one page (repeats come from a cache).

        Every page is a slice of one order, and ``total`` counts every match, so
        walking the pages gives each match once.
        """
        started = time.perf_counter()
        request = request.bounded()
        searcher = self.searcher()
        key = (self._ix_dir, searcher.reader().generation(), request)
        cached = self._cache.get(key)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        try:
            with budget.time_limit():
                found = self._answer(request)
        except OSError:
            # Segment files are opened lazily; a commit that merged segments may
            # have removed one under this (now outdated) searcher. Retry once on
            # a fresh searcher rather than fail the request.
            stale, self._local.searcher = self._local.searcher, None
            stale.close()
            with budget.time_limit():
                found = self._answer(request)
        found.took_ms = round((time.perf_counter() - started) * 1000, 2)
        self._cache.put(key, found)
        return found

    def _answer(self, request: SearchRequest) -> SearchResults:
        parsed = syntax.parse(request.query)
        planner = self._planner()
        plan = planner.plan(parsed, rewrite=request.correct)
        if plan.match is None:
            if not plan.stop_words:
                raise QueryError(
                    "There is nothing to search for in %(query)r: type some words.", query=request.query
                )
            empty = SearchResults(request.query, 0, 0.0, request.page, request.size, [])
            empty.notice = {"kind": "stop_words", "words": list(plan.stop_words)}
            return empty
        found = self._ranked(request, plan)
        searched = request.query
        if plan.rewritten:  # words that match nothing searched with an alternative: say so
            searched = _rewritten(request.query, plan.rewritten)
            found.notice = {"kind": "spelling", "searched": searched, "original": request.query,
                            "words": [typed for typed, _instead in plan.rewritten]}  # fmt: skip
        if not request.suggest or not parsed.plain:
            return found
        suggester = Suggester(self.searcher())
        # Suggested for the query as searched: a word already searched with an alternative is not corrected again.
        words = planner.typed_words(searched)
        spelling = suggester.did_you_mean(words)
        if request.correct and not self._matches_as_typed(request, found, plan, parsed):
            # The whole query typed on the other layout, or corrected, explains it better than its words' alternatives.
            typed = suggester.did_you_mean(planner.typed_words(request.query)) if plan.rewritten else spelling
            confident = typed.text if typed and typed.confident else None
            for kind, other in (("keyboard", swap_layout(request.query)), ("spelling", confident)):
                if other and self._every_word_matches(other, suggester):
                    instead = self._ranked(request, planner.plan(syntax.parse(other)))
                    if instead.total:
                        instead.notice = {"kind": kind, "searched": other, "original": request.query}
                        return instead
        if spelling and (found.total < 3 or not all(suggester.matches(word, stems) for word, stems in words)):
            found.suggestion = spelling.text
        return found

    def _matches_as_typed(self, request: SearchRequest, found: SearchResults, plan: Plan, parsed) -> bool:
        """Whether the query's own words match anything (without the alternatives of words that match nothing)."""
        if not plan.rewritten:
            return bool(found.total)
        typed = self._planner().plan(parsed, rewrite=False)
        return (
            typed.match is not None
            and len(matching(self._view(), typed, request.filters.as_query_filters())) > 0
        )

    def _every_word_matches(self, text: str, suggester: Suggester) -> bool:
        """Whether each searchable word of ``text`` is a word several documents write as such."""
        words = [word for word, stems in self._planner().typed_words(text) if stems]
        return bool(words) and all(suggester.written(word) >= 2 for word in words)

    def _ranked(self, request: SearchRequest, plan: Plan) -> SearchResults:
        """One page of a plan's matches, in the order of one page holding them all."""
        view = self._view()
        depth = request.page * request.size
        ranked = rank(view, plan, self.ranking.bm25f(), depth, request.filters.as_query_filters(),
                      by_date=request.sort == "date")  # fmt: skip
        start = (request.page - 1) * request.size
        marked = (plan.highlight, plan.title_highlight) if request.snippets else (frozenset(), frozenset())
        hits = [
            self._hit(view.searcher, docnum, score, marked, self._body_chain)
            for docnum, score in zip(ranked.docnums[start:], ranked.scores[start:], strict=True)
        ]
        facets = ranked.facets if request.facets else {}
        return SearchResults(request.query, ranked.total, 0.0, request.page, request.size, hits, facets)

    def _hit(
        self, searcher: Searcher, docnum: int, score: float, marked: tuple[frozenset, frozenset], chain
    ) -> SearchHit:
        """A hit: its body terms mark the snippet, its title terms the title."""
        body_terms, title_terms = marked
        stored = searcher.stored_fields(docnum)
        body = stored.get("body", "")
        text = snippet(body, matched_spans(body, chain, body_terms)) if body_terms else lead(body)
        summary = _summary(stored)
        title_html = mark(summary["title"], matched_spans(summary["title"], chain, title_terms))
        return SearchHit(**summary, snippet=text, score=round(score or 0.0, 4), title_html=title_html)

    def document(self, doc_id: str, highlight: str | None = None) -> dict | None:
        """A stored document with its body HTML-escaped (and query matches marked)."""
        searcher = self.searcher()
        stored = searcher.document(id=doc_id)
        if stored is None:
            return None
        body = stored.get("body", "")
        summary = _summary(stored)
        terms = title_terms = frozenset()
        if highlight:
            with contextlib.suppress(QueryError):  # a bad ?q= only loses the marks
                plan = self.plan(highlight)
                terms, title_terms = plan.highlight, plan.title_highlight
        return {
            **summary,
            "title_html": mark(
                summary["title"], matched_spans(summary["title"], self._body_chain, title_terms)
            ),
            "body": body,
            "body_html": mark(body, matched_spans(body, self._body_chain, terms)),
            "path": stored.get("path") or None,
        }

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        return Suggester(self.searcher()).complete(prefix, limit)

    def stats(self) -> dict:
        """Documents, and documents per language and source (cached per index version)."""
        searcher = self.searcher()
        key = ("stats", self._ix_dir, searcher.reader().generation())
        cached = self._cache.get(key)
        if cached is None:
            view = self._view()
            everything = rank(view, Plan(match=Everything(), scoring=(), phrases=(), highlight=frozenset()),
                              self.ranking.bm25f(), 0)  # fmt: skip
            cached = {
                "documents": searcher.doc_count(),
                "languages": everything.facets["lang"],
                "sources": everything.facets["source"],
            }
            self._cache.put(key, cached)
        return cached


def _rewritten(query: str, rewritten: tuple[tuple[str, str], ...]) -> str:
    """The query with each word that matched nothing replaced by what was searched for it."""
    for typed, instead in rewritten:
        query = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", lambda _match, text=instead: text, query, count=1)
    return query


def _summary(stored: dict) -> dict:
    """The fields a hit and a document page share, from a document's stored fields."""
    date = stored.get("date")
    return {
        "id": stored["id"],
        "title": stored.get("title") or stored["id"],
        "lang": stored.get("lang", ""),
        "source": stored.get("source", ""),
        "date": date.date().isoformat() if date else None,
        "url": stored.get("url") or None,
    }
