"""Answering queries: parsing, ranking, filtering, facets and snippets.

One :class:`SearchEngine` serves the CLI and the web app alike. It keeps a
searcher open per thread and reopens it when the index changes (a new commit
from ``fahras index`` or a swap from ``fahras rebuild``), so a long-running
server always answers from the latest complete index.
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
from itertools import pairwise
from pathlib import Path

from whoosh import query as Q
from whoosh import scoring
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, OrGroup
from whoosh.searching import Hit, Searcher

from index.documents import without_lone_surrogates
from index.schema import SEARCH_FIELDS
from index.store import IndexHome

from .snippets import lead, mark, matched_spans, snippet
from .suggest import QUERY_SYNTAX, Suggester

MAX_QUERY_CHARS = 1000
MAX_PAGE_SIZE = 100
MIN_WILDCARD_PREFIX = 2
PHRASE_FIELDS = ("title", "body")
FACET_FIELDS = ("lang", "source")


class ProbabilisticBM25F(scoring.BM25F):
    """BM25F with the probabilistic IDF of Robertson/Sparck Jones (as in Lucene).

    Whoosh's default IDF, log(N / (df + 1)) + 1, never falls below 1, so very
    common words still add a full point per match; this one tends to 0 for
    them, which matters for long natural-language questions.
    """

    def idf(self, searcher, fieldname: str, text) -> float:
        df = searcher.doc_frequency(fieldname, text)
        total = searcher.doc_count_all()
        return math.log(1 + (total - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Ranking:
    """Ranking parameters: BM25 constants, field weights, and proximity boosts.

    The defaults were chosen with bench/quality.py (see the README); the
    fields' scores are summed, so a word matching in its exact form, its
    light stem and its root outranks one that only shares a root.
    """

    k1: float = 0.9
    b: float = 0.4
    title_b: float = 0.5
    field_boosts: tuple[tuple[str, float], ...] = tuple(SEARCH_FIELDS.items())
    # Adjacent query words found near each other in the body add a phrase
    # match with this boost (0 turns it off); ``proximity_slop`` is how many
    # positions apart they may be (removed stop words leave gaps).
    proximity_boost: float = 0.3
    proximity_slop: int = 1

    probabilistic_idf: bool = True

    def weighting(self) -> scoring.BM25F:
        model = ProbabilisticBM25F if self.probabilistic_idf else scoring.BM25F
        return model(B=self.b, K1=self.k1, title_B=self.title_b, title_exact_B=self.title_b)


DEFAULT_RANKING = Ranking()


class QueryError(ValueError):
    """A query the user must fix; the message says how (shown as-is)."""


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

    def to_dict(self) -> dict:
        return asdict(self)


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
    """Restrictions on the result set (the facets a user clicked)."""

    lang: str | None = None
    source: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def query(self) -> Q.Query | None:
        parts: list[Q.Query] = []
        if self.lang:
            parts.append(Q.Term("lang", self.lang))
        if self.source:
            parts.append(Q.Term("source", self.source))
        if self.date_from or self.date_to:
            parts.append(Q.DateRange("date", self.date_from, self.date_to))
        return Q.And(parts) if parts else None


_UNBALANCED_HINT = "close it or remove it"


MAX_NESTING = 20
MAX_FUZZY_DISTANCE = 2
_FUZZY = re.compile(r"(\S*?)~(\d*(?:\.\d+)?)(?:/(\d+))?")
_UNSUPPORTED_FIELDS = {"date": "use the date filter (from/to) to limit dates"}


def check_syntax(text: str) -> None:
    """Reject what Whoosh would silently misread, fail on, or take too long over."""
    if not text.strip():
        raise QueryError("Type something to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is too long ({len(text)} characters; at most {MAX_QUERY_CHARS}).")
    if text.count('"') % 2:
        raise QueryError(f'The query has an unmatched quote ("): {_UNBALANCED_HINT}.')
    _check_parentheses(text)
    for word in re.findall(r"\S*[*?]\S*", text):
        letters = re.match(r"[^*?]*", word.split(":")[-1]).group(0)
        if len(letters) < MIN_WILDCARD_PREFIX:
            raise QueryError(
                f"'{word}': a wildcard needs at least {MIN_WILDCARD_PREFIX} letters before * or ?."
            )
    for word, distance, prefix in _FUZZY.findall(text):
        _check_fuzzy(word, distance, prefix)
    for name, hint in _UNSUPPORTED_FIELDS.items():
        if re.search(rf"(?<!\w){name}:", text):
            raise QueryError(f"'{name}:' cannot be searched in the query: {hint}.")


def _check_parentheses(text: str) -> None:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise QueryError(f"The query has a ')' without a matching '(': {_UNBALANCED_HINT}.")
        if depth > MAX_NESTING:
            raise QueryError(f"The query nests parentheses more than {MAX_NESTING} deep.")
    if depth:
        raise QueryError(f"The query has a '(' without a matching ')': {_UNBALANCED_HINT}.")


def _check_fuzzy(word: str, distance: str, prefix: str) -> None:
    """Fuzzy terms: a bounded edit distance (cost grows fast) and a prefix inside the word."""
    if distance and float(distance) > MAX_FUZZY_DISTANCE:
        raise QueryError(f"'{word}~{distance}': a fuzzy search allows at most {MAX_FUZZY_DISTANCE} edits.")
    if prefix and int(prefix) >= len(word.split(":")[-1]):
        raise QueryError(f"'{word}~{distance}/{prefix}': the fixed prefix must be shorter than the word.")


def _drop_unpositioned_phrases(node: Q.Query) -> Q.Query:
    # Exact-form fields carry no positions; phrases are matched on the
    # positional (stemmed) fields only.
    if isinstance(node, Q.Phrase) and node.fieldname not in PHRASE_FIELDS:
        return Q.NullQuery
    return node


class SearchEngine:
    """Queries one index home; safe to share between threads."""

    def __init__(self, home: IndexHome, ranking: Ranking = DEFAULT_RANKING) -> None:
        self.home = home
        self.ranking = ranking
        self._local = threading.local()
        self._ix_lock = threading.Lock()
        self._ix = None
        self._ix_dir: Path | None = None
        self._parser: MultifieldParser | None = None
        self._cache = ResultCache()

    # ------------------------------------------------------------- searchers

    def _index(self):
        """The Index of the live generation, reopened after a rebuild swap."""
        live = self.home.live_dir()
        with self._ix_lock:
            if self._ix is None or live != self._ix_dir:
                self._ix = self.home.open()
                self._ix_dir = live
                self._parser = self._make_parser(self._ix.schema)
            return self._ix

    def _make_parser(self, schema) -> MultifieldParser:
        """One parser per index: building it costs more than most parses."""
        fields = {name: boost for name, boost in self.ranking.field_boosts if name in schema}
        parser = MultifieldParser(list(fields), schema, fieldboosts=fields, group=OrGroup)
        parser.add_plugin(FuzzyTermPlugin())
        return parser

    def warm_up(self) -> None:
        """Open the index and load every analyzer's stemmers before the first request."""
        self.parse("warm up تحميل")
        self.searcher()

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
        self._local.searcher = ix.searcher(weighting=self.ranking.weighting())
        self._local.ix = ix
        return self._local.searcher

    # ------------------------------------------------------------- queries

    def parse(self, text: str) -> Q.Query:
        """The Whoosh query for a user's query string (raises QueryError)."""
        text = without_lone_surrogates(text)
        check_syntax(text)
        schema = self._index().schema
        try:
            parsed = self._parser.parse(text)
        except (IndexError, AssertionError, RecursionError) as error:  # Whoosh on operator runs
            raise QueryError("Could not understand the query: check where AND, OR and NOT stand.") from error
        error = _first_error(parsed)
        if error:
            raise QueryError(f"Could not understand the query: {error}")
        parsed = parsed.accept(_drop_unpositioned_phrases).normalize()
        if parsed is Q.NullQuery or not list(parsed.leaves()):
            return Q.NullQuery  # only stop words ('the', 'في'): nothing indexed can match
        return self._with_proximity(parsed, text, schema)

    def _with_proximity(self, parsed: Q.Query, text: str, schema) -> Q.Query:
        """Add a boost for each pair of adjacent query words that appear close together."""
        if not self.ranking.proximity_boost or not isinstance(parsed, Q.Or) or QUERY_SYNTAX.search(text):
            return parsed
        stems = [token.text for token in schema["body"].analyzer(text, mode="query")]
        pairs = [
            Q.Phrase("body", [a, b], slop=self.ranking.proximity_slop, boost=self.ranking.proximity_boost)
            for a, b in pairwise(stems)
            if a != b
        ]
        return Q.Or([*parsed.subqueries, *pairs], boost=parsed.boost, scale=parsed.scale) if pairs else parsed

    def search(
        self,
        text: str,
        page: int = 1,
        size: int = 10,
        filters: Filters | None = None,
        sort: str = "relevance",
        facets: bool = False,
        suggest: bool = False,
        snippets: bool = True,
    ) -> SearchResults:
        """Ranked, highlighted results for one page (repeats come from a cache)."""
        started = time.perf_counter()
        text = without_lone_surrogates(text)
        parsed = self.parse(text)
        page = max(1, page)
        size = max(1, min(size, MAX_PAGE_SIZE))
        searcher = self.searcher()
        key = (
            self._ix_dir,
            searcher.reader().generation(),
            text,
            page,
            size,
            filters,
            sort,
            facets,
            suggest,
            snippets,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 2))
        try:
            found = self._search(searcher, parsed, text, page, size, filters, sort, facets, suggest, snippets)
        except OSError:
            # Segment files are opened lazily; a commit that merged segments may
            # have removed one under this (now outdated) searcher. Retry once on
            # a fresh searcher rather than fail the request.
            stale, self._local.searcher = self._local.searcher, None
            stale.close()
            searcher = self.searcher()
            found = self._search(searcher, parsed, text, page, size, filters, sort, facets, suggest, snippets)
        found.took_ms = round((time.perf_counter() - started) * 1000, 2)
        self._cache.put(key, found)
        return found

    def _search(
        self, searcher, parsed, text, page, size, filters, sort, facets, suggest, snippets
    ) -> SearchResults:
        if parsed is Q.NullQuery:
            return SearchResults(query=text, total=0, took_ms=0.0, page=page, size=size, hits=[])
        kwargs = {"filter": (filters or Filters()).query(), "terms": False}
        if sort == "date":
            kwargs.update(sortedby="date", reverse=True)
        if facets:
            kwargs["groupedby"] = list(FACET_FIELDS)
        results = searcher.search(parsed, limit=page * size, **kwargs)
        terms = self._body_terms(parsed, searcher) if snippets else set()
        chain = _body_chain(searcher)
        hits = [self._hit(hit, terms, chain) for hit in results[(page - 1) * size : page * size]]
        found = SearchResults(
            query=text,
            total=len(results),
            took_ms=0.0,
            page=page,
            size=size,
            hits=hits,
            facets=_facet_counts(results) if facets else {},
        )
        if suggest and found.total < 3:
            found.suggestion = Suggester(searcher).did_you_mean(text)
        return found

    def _body_terms(self, parsed: Q.Query, searcher: Searcher) -> set[str]:
        """The body terms the query matches (wildcards and fuzzy terms expanded).

        Not Query.existing_terms(): its loop variable shadows its field filter,
        so it drops every field after the first it meets.
        """
        reader = searcher.reader()
        terms = set()
        for leaf in parsed.leaves():
            if leaf.field() == "body":
                for field_, text in leaf.expanded_terms(reader, phrases=True):
                    if field_ == "body":
                        terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
        return terms

    def _hit(self, hit: Hit, terms: set[str], chain) -> SearchHit:
        stored = hit.fields()
        body = stored.get("body", "")
        text = snippet(body, matched_spans(body, chain, terms)) if terms else lead(body)
        return SearchHit(**_summary(stored), snippet=text, score=round(hit.score or 0.0, 4))

    def document(self, doc_id: str, highlight: str | None = None) -> dict | None:
        """A stored document with its body HTML-escaped (and query matches marked)."""
        searcher = self.searcher()
        stored = searcher.document(id=doc_id)
        if stored is None:
            return None
        body = stored.get("body", "")
        spans: list[tuple[int, int]] = []
        if highlight:
            with contextlib.suppress(QueryError):  # a bad ?q= only loses the marks
                terms = self._body_terms(self.parse(highlight), searcher)
                spans = matched_spans(body, _body_chain(searcher), terms)
        return {
            **_summary(stored),
            "body": body,
            "body_html": mark(body, spans),
            "path": stored.get("path") or None,
        }

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        return Suggester(self.searcher()).complete(prefix, limit)

    def stats(self) -> dict:
        searcher = self.searcher()
        counts = _facet_counts(searcher.search(Q.Every(), limit=1, groupedby=list(FACET_FIELDS)))
        return {
            "documents": searcher.doc_count(),
            "languages": counts["lang"],
            "sources": counts["source"],
        }


def _body_chain(searcher: Searcher):
    """The body field's memoised chain (its analyzer is WordTokenizer | CachedChain)."""
    return searcher.schema["body"].analyzer.items[-1]


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


def _first_error(node: Q.Query) -> str | None:
    """Whoosh marks unparseable parts (e.g. a bad date range) with ``.error``."""
    if getattr(node, "error", None):
        return str(node.error)
    return next(filter(None, map(_first_error, node.children())), None)


def _facet_counts(results) -> dict[str, dict[str, int]]:
    counts = {}
    for name in FACET_FIELDS:
        groups = results.groups(name)
        counts[name] = dict(
            sorted(((k or "", len(v)) for k, v in groups.items() if k), key=lambda kv: (-kv[1], kv[0]))
        )
    return counts
