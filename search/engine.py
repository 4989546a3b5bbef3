"""Answering queries: one query's way from text to a page of hits, over any backend.

One :class:`SearchEngine` serves the CLI and the web app alike, over a
:class:`~search.backend.Backend` (the embedded index, or a cluster). A query
travels: text → :func:`search.syntax.parse` (the tree, or a one-line error) →
:class:`search.planner.Planner` (what matches, what scores, analysed as the
index was) → the backend's snapshot executes the plan under the ranking
contract (:mod:`search.ranking`: every match scored, exact totals and facets)
→ the page's hits with snippets (:mod:`search.snippets`) marking the words
that matched. A query that matches nothing may be searched as its correction
(spelling, keyboard layout), and the results say so (:mod:`search.notices`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from index.analysis import WordTokenizer, without_lone_surrogates
from index.documents import is_inside
from index.indexer import IndexReport, RebuildNeeded, rebuild_index, update_index
from index.schema import DATE, LANG, SOURCE
from index.store import IndexHome

from . import budget, syntax
from .backend import (
    Backend,
    Health,
    Identity,
    IndexStats,
    Ranked,
    Snapshot,
    StoredDocument,
    StoreError,
    open_backend,
)
from .folding import FOLD_WINDOW, fold
from .notices import KEYBOARD, PLAIN_TEXT, SPELLING, STOP_WORDS, Notice
from .plan import Plan
from .planner import Planner
from .ranking import DEFAULT_RANKING, Ranking
from .searched_as import FormsSeen, SearchedWord
from .snippets import fragments, mark, matched_spans, prepare_fold, shown
from .suggest import Suggester, swap_layout
from .syntax import MAX_QUERY_CHARS, ParsedQuery, QueryError

__all__ = [
    "DEFAULT_RANKING",
    "MAX_EXPORTED",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_CHARS",
    "AlsoSearched",
    "Filters",
    "QueryError",
    "Ranking",
    "RebuildNeeded",
    "SearchEngine",
    "SearchResults",
]

MAX_PAGE_SIZE = 100
MAX_EXPORTED = 10_000  # results one export holds: the first hundred pages of a hundred


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
    page: int | None = None  # in a paged file (PDF): the page the snippet is on
    ocr: bool = False  # the snippet's page was recognised from its image: its text may hold OCR errors
    similar: list[dict] = field(default_factory=list)  # near-duplicates folded under this hit (id, title...)


@dataclass(frozen=True)
class AlsoSearched:
    """A query word also searched as words of the other script that sound like it (Haftar: حفتر)."""

    word: str
    also: tuple[str, ...]


def also_searched(plan: Plan) -> list[AlsoSearched]:
    """The plan's names across scripts, one entry per typed word."""
    grouped: dict[str, list[str]] = {}
    for typed, name in plan.also:
        grouped.setdefault(typed, []).append(name)
    return [AlsoSearched(typed, tuple(found)) for typed, found in grouped.items()]


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
    notice: Notice | None = None  # why the results are what they are
    total_all: int | None = None  # a keyword query's matches that hold all its words (they come first)
    searched_as: list[SearchedWord] = field(default_factory=list)  # each word's searched form, forms matched
    folded: int = 0  # near-duplicates folded under other hits (not in ``total``)
    also_searched: list[AlsoSearched] = field(default_factory=list)  # names also searched in the other script

    def to_dict(self) -> dict:
        data = asdict(self)
        data["notice"] = self.notice.to_json() if self.notice else None
        # total_exact sits beside total in the JSON, whatever the field order.
        return {key: data[key] for key in ("query", "total", "total_exact")} | data

    @property
    def pages(self) -> int:
        """How many pages the total fills (at least one, for the page that says there is nothing)."""
        return max(1, math.ceil(self.total / self.size))


class ResultCache:
    """A small thread-safe LRU of finished result pages.

    Keys include the index's location and generation, so a commit or a rebuild
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

    def as_query_filters(self) -> tuple[syntax.Filter, ...]:
        found = [syntax.Filter(LANG, value=value) for value in self.lang]
        found += [syntax.Filter(SOURCE, value=value) for value in self.source]
        if self.date_from or self.date_to:
            found.append(syntax.Filter(DATE, start=self.date_from, end=self.date_to))
        return tuple(found)


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
    typing: bool = False  # being typed (instant results): the last word may be unfinished, a prefix too
    fold: bool = True  # near-duplicates go under the first of them (among the first FOLD_WINDOW results)

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
    """Queries one backend; safe to share between threads."""

    def __init__(self, backend: Backend, ranking: Ranking = DEFAULT_RANKING) -> None:
        self.backend = backend
        self.ranking = ranking
        self._planners: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # snapshot -> Planner
        self._cache = ResultCache()

    @classmethod
    def at(cls, location: str | Path | IndexHome | None, ranking: Ranking = DEFAULT_RANKING) -> SearchEngine:
        """The engine of an index location (a folder, or what :func:`search.backend.open_backend` takes)."""
        return cls(open_backend(location), ranking)

    # ------------------------------------------------------------- snapshots

    def _planner(self, snapshot: Snapshot) -> Planner:
        planner = self._planners.get(snapshot)
        if planner is None:
            ranking = self.ranking
            planner = Planner(snapshot.analysis, snapshot.lexicon, dict(ranking.field_boosts),
                              ranking.proximity_boost, ranking.proximity_slop, ranking.absent_words)  # fmt: skip
            with budget.exempt():  # loads the stemmers and files the words by sound now, once per version
                planner.plan(syntax.parse("تحميل load"))
            self._planners[snapshot] = planner
        return planner

    def warm_up(self) -> None:
        """Open the index, load every analyser's stemmers, read the per-document arrays, derive the snippet fold."""
        self.backend.warm_up()
        snapshot = self.backend.snapshot()
        self._planner(snapshot)
        prepare_fold(snapshot.analysis.stem)

    # ------------------------------------------------------------- queries

    def plan(self, text: str) -> Plan:
        """What a query matches and scores in this index (raises QueryError with a one-line fix)."""
        return self._planner(self.backend.snapshot()).plan(syntax.parse(without_lone_surrogates(text)))

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
        snapshot = self.backend.snapshot()
        key = (self.backend.location, snapshot.generation, request)
        cached = self._cache.get(key)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        try:
            with budget.time_limit():
                found = _Answer(self, snapshot, request).run()
        except OSError:
            # Index files are opened lazily; a commit that merged segments may have
            # removed one under this (now outdated) snapshot. Retry once on a fresh
            # one rather than fail the request.
            with budget.time_limit():
                found = _Answer(self, self.backend.snapshot(fresh=True), request).run()
        found.took_ms = round((time.perf_counter() - started) * 1000, 2)
        self._cache.put(key, found)
        return found

    def every_hit(self, request: SearchRequest, most: int = MAX_EXPORTED) -> Iterator[SearchHit]:
        """The request's results from the first, in the order of its pages, up to ``most`` (an export).

        Pages of the largest size, each through :meth:`run`: the same order,
        correction and filters as the page the user sees, one bounded query at a
        time; near-duplicates are not folded (an export holds every match).
        """
        request = replace(request, page=1, size=MAX_PAGE_SIZE, facets=False, fold=False)
        given = 0
        while given < most:
            results = self.run(request)
            yield from results.hits[: most - given]
            given += len(results.hits)
            if request.page >= results.pages or not results.hits:
                return
            request = replace(request, page=request.page + 1)

    def document(self, doc_id: str, highlight: str | None = None) -> dict | None:
        """A stored document with its body HTML-escaped (and query matches marked)."""
        snapshot = self.backend.snapshot()
        stored = snapshot.document(doc_id)
        if stored is None:
            return None
        chain = snapshot.analysis.stem
        terms = title_terms = frozenset()
        if highlight:
            with contextlib.suppress(QueryError):  # a bad ?q= only loses the marks
                plan = self._planner(snapshot).plan(syntax.parse(without_lone_surrogates(highlight)))
                terms, title_terms = plan.highlight, plan.title_highlight
        spans = matched_spans(stored.body, chain, terms)
        return {
            **_summary(stored),
            "title_html": mark(stored.title, matched_spans(stored.title, chain, title_terms)),
            "body": stored.body,
            "body_html": mark(stored.body, spans),
            "path": stored.path,
            "pages": _pages(stored, spans),
            "file": self.original(doc_id) is not None,
        }

    def original(self, doc_id: str) -> Path | None:
        """The file a document was read from, when it is one whole file still in a folder the index holds.

        Only a document id reaches here, never a path: the path is the one the
        index recorded when it read the file, checked again now.
        """
        stored = self.backend.snapshot().document(doc_id)
        if stored is None or not stored.whole_file or not stored.origin:
            return None
        path = Path(stored.origin)
        held = any(is_inside(os.path.realpath(path), folder) for folder in self.holds())
        return path if held and path.is_file() and not path.is_symlink() else None

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        return Suggester(self.backend.snapshot().lexicon).complete(prefix, limit)

    def examples(self, limit: int = 5) -> list[str]:
        """Words of this index's own to try (its titles' most frequent), cached per index version."""
        snapshot = self.backend.snapshot()
        key = ("examples", self.backend.location, snapshot.generation, limit)
        cached = self._cache.get(key)
        if cached is None:
            planner = self._planner(snapshot)
            cached = Suggester(snapshot.lexicon).examples(
                lambda word: not planner.typed_words(word)[0][1], limit
            )
            self._cache.put(key, cached)
        return cached

    # ------------------------------------------------------------- indexing

    def update(self, path: Path, **options) -> IndexReport:
        """``fahras index``: bring the index in line with a folder (see :func:`index.indexer.update_index`)."""
        return update_index(self.backend.target(), path, **options)

    def rebuild(self, paths: list[Path] | Path | None = None, **options) -> IndexReport:
        """``fahras rebuild``: a complete new index swapped in (see :func:`index.indexer.rebuild_index`)."""
        return rebuild_index(self.backend.target(), paths, **options)

    def holds(self) -> list[Path]:
        """The folders the index holds (none for a location without an index)."""
        target = self.backend.target()
        return [folder for folder, _ in target.recorded().roots] if target.exists() else []

    # ------------------------------------------------------------- the index's state

    def guard(self) -> None:
        """Raise the StoreError of an index no search may use now (before each request; cheap)."""
        self.backend.guard()

    def health(self) -> Health:
        """The index's state for /healthz (raises the StoreError of an unusable index)."""
        return self.backend.health()

    def diagnose(self, error: Exception) -> StoreError | None:
        """After an unexpected error: the damage to the index that explains it, if any."""
        return self.backend.diagnose(error)

    def warning(self) -> str | None:
        """Why an index that works should be rebuilt, for clients (cheap: once per index version)."""
        return self.backend.warning()

    def stats(self) -> IndexStats:
        """Documents, and documents per language and source (cached per index version)."""
        snapshot = self.backend.snapshot()
        key = ("stats", self.backend.location, snapshot.generation)
        cached = self._cache.get(key)
        if cached is None:
            cached = snapshot.stats()
            self._cache.put(key, cached)
        return cached


class _Answer:
    """One request answered on one snapshot: the query planned once, a correction planned once if needed."""

    def __init__(self, engine: SearchEngine, snapshot: Snapshot, request: SearchRequest) -> None:
        self.engine = engine
        self.snapshot = snapshot
        self.request = request
        self.planner = engine._planner(snapshot)
        self.filters = request.filters.as_query_filters()

    def run(self) -> SearchResults:
        request = self.request
        parsed, broken = syntax.parse_leniently(request.query)
        plan = self.planner.plan(parsed, rewrite=request.correct, typing=request.typing)
        if plan.match is None:
            if not plan.stop_words:
                raise QueryError(
                    "There is nothing to search for in %(query)r: type some words.", query=request.query
                )
            empty = SearchResults(request.query, 0, 0.0, request.page, request.size, [])
            empty.notice = Notice(STOP_WORDS, words=plan.stop_words)
            return empty
        searched, notice = request.query, None
        if broken is not None:  # pasted text with broken syntax: searched as plain words, and said so
            searched = syntax.plain_text(request.query)
            notice = Notice(PLAIN_TEXT, searched=searched, original=request.query, detail=str(broken))
        if plan.rewritten:  # words that match nothing searched with an alternative: say so
            searched = _rewritten(searched, plan.rewritten)
            words = tuple(typed for typed, _instead in plan.rewritten)
            notice = Notice(SPELLING, searched=searched, original=request.query, words=words)
        found = self.ranked(plan, searched)
        found.notice = notice
        if not request.suggest or not parsed.plain:
            return found
        return self._helped(found, plan, parsed, searched)

    def _helped(self, found: SearchResults, plan: Plan, parsed: ParsedQuery, searched: str) -> SearchResults:
        """The results with did-you-mean, or the query's correction's results when it matches nothing as typed."""
        request, planner = self.request, self.planner
        suggester = Suggester(self.snapshot.lexicon)
        # Suggested for the query as searched: a word already searched with an alternative is not corrected again.
        words = planner.typed_words(searched)
        spelling = suggester.did_you_mean(words)
        if request.correct and not self._matches_as_typed(found, plan, parsed):
            # The whole query typed on the other layout, or corrected, explains it better than its words' alternatives.
            typed = suggester.did_you_mean(planner.typed_words(request.query)) if plan.rewritten else spelling
            confident = typed.text if typed and typed.confident else None
            for kind, other in ((KEYBOARD, swap_layout(request.query)), (SPELLING, confident)):
                if other and self._every_word_matches(other, suggester):
                    instead = self.ranked(planner.plan(syntax.parse(other)), other)
                    if instead.total:
                        instead.notice = Notice(kind, searched=other, original=request.query)
                        return instead
        doubtful = any(
            not suggester.matches(word, stems) or suggester.misspelt(word, stems) for word, stems in words
        )
        if spelling and (found.total < 3 or doubtful):
            found.suggestion = spelling.text
        return found

    def _matches_as_typed(self, found: SearchResults, plan: Plan, parsed: ParsedQuery) -> bool:
        """Whether the query's own words match anything (without the alternatives of words that match nothing)."""
        if not plan.rewritten:
            return bool(found.total)
        typed = self.planner.plan(parsed, rewrite=False)
        return typed.match is not None and self.snapshot.count(self._filtered(typed)) > 0

    def _every_word_matches(self, text: str, suggester: Suggester) -> bool:
        """Whether each searchable word of ``text`` is a word several documents write as such."""
        words = [word for word, stems in self.planner.typed_words(text) if stems]
        return bool(words) and all(suggester.written(word) >= 2 for word in words)

    def _filtered(self, plan: Plan) -> Plan:
        """The plan with the request's filters beside its own: one channel for every restriction."""
        return replace(plan, filters=plan.filters + self.filters) if self.filters else plan

    def ranked(self, plan: Plan, searched: str) -> SearchResults:
        """One page of a plan's matches, in the order of one page holding them all.

        ``searched`` is the text the plan was made of: its words head the "searched as" list.
        """
        request = self.request
        page, ranked, folded, folded_all = self._page(
            self._filtered(plan), (request.page - 1) * request.size, request.size
        )
        marked = (plan.highlight, plan.title_highlight) if request.snippets else (frozenset(), frozenset())
        chain = self.snapshot.analysis.stem
        seen = FormsSeen(chain, plan.highlight | plan.title_highlight)
        hits = [_hit(result.stored, result.score, marked, chain, seen) for result in page]
        for hit, result in zip(hits, page, strict=True):
            hit.similar = [_summary(stored) for stored in result.similar]
        facets = ranked.facets if request.facets else {}
        total_all = (
            None if ranked.total_all is None else min(ranked.total_all - folded_all, ranked.total - folded)
        )
        searched_as = seen.searched_as(self._typed_words(plan, searched)) if request.snippets else []
        return SearchResults(request.query, ranked.total - folded, 0.0, request.page, request.size, hits, facets,
                             total_all=total_all, searched_as=searched_as, folded=folded,
                             also_searched=also_searched(plan))  # fmt: skip

    def _typed_words(self, plan: Plan, searched: str) -> list[tuple[str, tuple[str, ...]]]:
        """Each typed word with its stems, and those of the other script's words also searched for it."""
        typed = self.planner.typed_words(searched)
        if not plan.also:
            return typed
        also: dict[str, list[str]] = {}
        for word, name in plan.also:
            also.setdefault(word, []).extend(s for p in self.planner.positions(name) for s in p.stems)
        return [
            (word, stems + tuple(s for token in WordTokenizer.words(word) for s in also.get(token, ())))
            for word, stems in typed
        ]

    def _page(self, plan: Plan, start: int, size: int) -> tuple[list[Shown], Ranked, int, int]:
        """The page's results, the ranking that counted them, and how many near-duplicates were folded.

        Folded, the first FOLD_WINDOW results are ranked by id and fingerprint
        alone and folded (:mod:`search.folding`), and only the page's documents
        are read; a page that runs past the window continues with the results
        after it, as ranked. The last number is how many of the folded hold all
        of a keyword query's words (by relevance, those come first).
        """

        def execute(first: int, count: int, documents: bool = True) -> Ranked:
            return self.snapshot.execute(
                plan, self.engine.ranking, self.request.sort, first, count, documents
            )

        if not self.request.fold:
            ranked = execute(start, size)
            return [Shown(stored, score) for stored, score in ranked.hits], ranked, 0, 0
        head = execute(0, FOLD_WINDOW, documents=False)
        kept = fold(head.identities)
        page = [Shown(stored, folded.first.score, self._documents(folded.similar))
                for folded in kept[start : start + size] if (stored := self.snapshot.document(folded.first.id))]  # fmt: skip
        if len(page) < size and len(head.identities) == FOLD_WINDOW:
            after = execute(FOLD_WINDOW + max(0, start - len(kept)), size - len(page))
            page += [Shown(stored, score) for stored, score in after.hits]
        with_all = (
            {i.id for i in head.identities[: head.total_all or 0]} if self.request.sort != "date" else set()
        )
        folded_all = sum(1 for folded in kept for similar in folded.similar if similar.id in with_all)
        return page, head, len(head.identities) - len(kept), folded_all

    def _documents(self, identities: list[Identity]) -> list[StoredDocument]:
        return [stored for identity in identities if (stored := self.snapshot.document(identity.id))]


@dataclass
class Shown:
    """A result on the page: its document, score, and the near-duplicates folded under it."""

    stored: StoredDocument
    score: float
    similar: list[StoredDocument] = field(default_factory=list)


def _hit(
    stored: StoredDocument, score: float, marked: tuple[frozenset, frozenset], chain, seen: FormsSeen
) -> SearchHit:
    """A hit: its body terms mark the snippet, its title terms the title; in a paged file, the snippet's page."""
    body_terms, title_terms = marked
    body = stored.body
    spans = matched_spans(body, chain, body_terms) if body_terms else []
    chosen = fragments(body, spans)
    # The page of the snippet's first match (its fragment may begin on the page before).
    first = next((left for left, _right in spans if chosen and left >= chosen[0][0]), 0)
    page = stored.page_at(first)
    title_spans = matched_spans(stored.title, chain, title_terms)
    seen.add(body, spans)
    seen.add(stored.title, title_spans)
    title_html = mark(stored.title, title_spans)
    return SearchHit(**_summary(stored), snippet=shown(body, spans, chosen), score=round(score or 0.0, 4),
                     title_html=title_html, page=page, ocr=page in stored.ocr_pages)  # fmt: skip


def _rewritten(query: str, rewritten: tuple[tuple[str, str], ...]) -> str:
    """The query with each word that matched nothing replaced by what was searched for it."""
    for typed, instead in rewritten:
        query = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", lambda _match, text=instead: text, query, count=1)
    return query


def _pages(stored: StoredDocument, spans: list[tuple[int, int]]) -> list[dict]:
    """A paged file's text page by page, marked, each with its number and whether it was recognised (OCR)."""
    if not stored.pages:
        return []
    ends = [*stored.pages[1:], len(stored.body)]
    return [
        {
            "number": number,
            "html": mark(stored.body, spans, start, end).strip(),
            "ocr": number in stored.ocr_pages,
        }
        for number, (start, end) in enumerate(zip(stored.pages, ends, strict=True), 1)
        if start < len(stored.body)
    ]


def _summary(stored: StoredDocument) -> dict:
    """The fields a hit and a document page share."""
    return {
        "id": stored.id,
        "title": stored.title,
        "lang": stored.lang,
        "source": stored.source,
        "date": stored.date,
        "url": stored.url,
    }
