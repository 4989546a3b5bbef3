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
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from whoosh import query as Q
from whoosh import scoring
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, OrGroup
from whoosh.searching import Searcher

from index.analysis import CachedChain
from index.documents import without_lone_surrogates
from index.schema import SEARCH_FIELDS
from index.store import IndexHome, retrying

from .snippets import lead, mark, matched_spans, snippet
from .suggest import QUERY_SYNTAX, Suggester

MAX_QUERY_CHARS = 1000
MAX_PAGE_SIZE = 100
MIN_WILDCARD_PREFIX = 2
FILTER_CACHE_SIZE = 64  # filter combinations remembered per searcher
EXACT_COUNT_UP_TO = 1000  # possible matches counted exactly; past this, totals are estimates
PHRASE_FIELDS = ("title", "body")
# The fields that retrieve candidates; the other search fields (exact forms,
# roots) and the proximity phrases only rescore the best of those candidates.
RETRIEVAL_FIELDS = frozenset(PHRASE_FIELDS)
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
    # Two-phase ranking for plain word queries: the stemmed fields retrieve
    # this many candidates, which the exact, root and proximity parts then
    # rescore. 0 scores every match with the whole query (slower, same order).
    rescore_depth: int = 30
    # Long queries: words found in more than ``prune_share`` of the documents
    # only rescore, once the ``prune_keep`` rarest words retrieve (1 turns it off).
    prune_share: float = 0.05
    prune_keep: int = 3

    probabilistic_idf: bool = True

    def weighting(self) -> scoring.BM25F:
        model = ProbabilisticBM25F if self.probabilistic_idf else scoring.BM25F
        return model(B=self.b, K1=self.k1, title_B=self.title_b, title_exact_B=self.title_b)


DEFAULT_RANKING = Ranking()


class ProximityPhrase(Q.Phrase):
    """A phrase added only to rank adjacent query words higher; it never retrieves alone."""


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
    total_exact: bool = True  # False: ``total`` is an estimate (shown as "about N")

    def to_dict(self) -> dict:
        data = asdict(self)
        # total_exact sits beside total in the JSON, whatever the field order.
        return {key: data[key] for key in ("query", "total", "total_exact")} | data


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
                self._parser = self._make_parser(schema)
                # One memoised chain for every thread's snippets: each searcher
                # unpickles its own schema, whose memo would start empty.
                self._body_chain = schema["body"].analyzer.items[-1]
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
        self._local.searcher = retrying(ix.searcher, weighting=self.ranking.weighting())
        self._local.ix = ix
        self._local.allowed = {}
        return self._local.searcher

    def _allowed(self, searcher: Searcher, filters: Filters | None) -> set[int] | None:
        """The documents a filter allows, computed once per searcher.

        Whoosh turns a filter query into a set of document numbers on every
        search; 'Arabic only' lists most of the index each time.
        """
        query = (filters or Filters()).query()
        if query is None:
            return None
        cache = self._local.allowed
        if filters not in cache:
            if len(cache) >= FILTER_CACHE_SIZE:
                cache.clear()
            cache[filters] = set(searcher.docs_for_query(query))
        return cache[filters]

    # ------------------------------------------------------------- queries

    def parse(self, text: str) -> Q.Query:
        """The Whoosh query for a user's query string (raises QueryError)."""
        return self._parse(without_lone_surrogates(text))

    def _parse(self, text: str) -> Q.Query:
        """:meth:`parse` for a text already free of lone surrogates."""
        check_syntax(text)
        self._index()
        schema = self._parser.schema  # the index's schema, read once when it was opened
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
            ProximityPhrase(
                "body", [a, b], slop=self.ranking.proximity_slop, boost=self.ranking.proximity_boost
            )
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
        parsed = self._parse(text)
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
        kwargs = {"filter": self._allowed(searcher, filters), "terms": False}
        depth = page * size
        retrieve, rescore = self._phases(parsed, searcher)
        if sort == "date":
            rescore = []  # newest first: the matches are the same, their scores don't matter
            kwargs.update(sortedby="date", reverse=True)
        # Facets and an exact total need every match visited; for a small
        # result set that is cheap, for a large one it would dwarf the search.
        countable = retrieve.estimate_size(searcher.reader()) <= EXACT_COUNT_UP_TO
        if facets and countable:
            kwargs["groupedby"] = list(FACET_FIELDS)
        limit = max(depth, self.ranking.rescore_depth) if rescore else depth
        results = searcher.search(retrieve, limit=limit, **kwargs)
        ranked = [(hit.docnum, hit.score) for hit in results]
        if rescore:
            ranked = _rescored(searcher, rescore, ranked)
        terms = self._body_terms(parsed, searcher) if snippets else set()
        chain = self._body_chain
        hits = [
            self._hit(searcher, docnum, score, terms, chain) for docnum, score in ranked[depth - size : depth]
        ]
        total, exact = _total(results, limit, retrieve, searcher, countable)
        found = SearchResults(
            query=text,
            total=total,
            total_exact=exact,
            took_ms=0.0,
            page=page,
            size=size,
            hits=hits,
            facets=_facets(results, searcher, ranked, countable, limit) if facets else {},
        )
        if suggest and found.total < 3:
            found.suggestion = Suggester(searcher).did_you_mean(text)
        return found

    def _phases(self, parsed: Q.Query, searcher: Searcher) -> tuple[Q.Query, list[Q.Query]]:
        """Split a plain word query into what retrieves candidates and what only rescores them.

        Whoosh's union matchers cost time per posting, and the exact-form and
        root fields hold as many postings again as the stemmed ones; scoring
        them for the best ``rescore_depth`` candidates only gives the same
        scores to those candidates at a fraction of the cost.
        """
        if not self.ranking.rescore_depth or not isinstance(parsed, Q.Or) or parsed.boost != 1:
            return parsed, []
        retrieve, rescore = [], []
        for sub in parsed.subqueries:
            fields = {leaf.field() for leaf in sub.leaves()}
            rescoring_only = isinstance(sub, ProximityPhrase) or not fields & RETRIEVAL_FIELDS
            (rescore if rescoring_only else retrieve).append(sub)
        if not retrieve:
            return parsed, []
        retrieve, common = self._without_common_words(retrieve, searcher)
        return Q.Or(retrieve, scale=parsed.scale), [*common, *rescore]

    def _without_common_words(self, retrieve: list[Q.Query], searcher: Searcher) -> tuple[list, list]:
        """Keep a long query's common words out of retrieval; they still rescore.

        A question of ten words, half of them in a tenth of all documents,
        makes the union walk most of the index for words that barely move
        the ranking. The rarest ``prune_keep`` words always retrieve.
        """
        words = sorted({sub.text for sub in retrieve if isinstance(sub, Q.Term)})
        if len(words) <= self.ranking.prune_keep:
            return retrieve, []
        limit = self.ranking.prune_share * searcher.doc_count_all()
        frequency = {word: searcher.doc_frequency("body", word) for word in words}
        rarest = sorted(words, key=frequency.__getitem__)[: self.ranking.prune_keep]
        common = {word for word in words if frequency[word] > limit and word not in rarest}
        kept = [sub for sub in retrieve if not (isinstance(sub, Q.Term) and sub.text in common)]
        return kept, [sub for sub in retrieve if isinstance(sub, Q.Term) and sub.text in common]

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

    def _hit(self, searcher: Searcher, docnum: int, score: float, terms: set[str], chain) -> SearchHit:
        stored = searcher.stored_fields(docnum)
        body = stored.get("body", "")
        text = snippet(body, matched_spans(body, chain, terms)) if terms else lead(body)
        return SearchHit(**_summary(stored), snippet=text, score=round(score or 0.0, 4))

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
                spans = matched_spans(body, self._body_chain, terms)
        return {
            **_summary(stored),
            "body": body,
            "body_html": mark(body, spans),
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
            counts = _facet_counts(searcher.search(Q.Every(), limit=1, groupedby=list(FACET_FIELDS)))
            cached = {
                "documents": searcher.doc_count(),
                "languages": counts["lang"],
                "sources": counts["source"],
            }
            self._cache.put(key, cached)
        return cached


def _rescored(
    searcher: Searcher, queries: list[Q.Query], ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """``ranked`` (docnum, score) pairs with each query's score added, best first.

    Each query's matcher skips straight to the candidates (in docnum order),
    so the cost grows with the candidates, not with the query's matches.
    """
    scores = dict(ranked)
    docnums = sorted(scores)
    phrases = [query for query in queries if isinstance(query, ProximityPhrase)]
    for query in queries:
        if not isinstance(query, ProximityPhrase):
            for docnum, matcher in _at_candidates(query.matcher(searcher), docnums):
                scores[docnum] += matcher.score()
    for docnum, extra in _proximity_scores(searcher, phrases, docnums).items():
        scores[docnum] += extra
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _at_candidates(matcher, docnums: list[int]) -> Iterator[tuple[int, object]]:
    """The matcher positioned on each of the (sorted) candidates it matches."""
    for docnum in docnums:
        if not matcher.is_active():
            return
        matcher.skip_to(docnum)
        if matcher.is_active() and matcher.id() == docnum:
            yield docnum, matcher


def _proximity_scores(
    searcher: Searcher, phrases: list[ProximityPhrase], docnums: list[int]
) -> dict[int, float]:
    """What Whoosh's matchers for ``phrases`` would score on each candidate.

    Whoosh's phrase matcher intersects whole posting lists and reads their
    positions before it can skip anywhere; here each word's postings are
    visited once, at the candidates only, and the positions compared directly.
    The score is Whoosh's: the boost times the words' own scores where the
    second word follows the first within ``slop`` positions.
    """
    words: dict[tuple[str, str], dict[int, tuple[float, frozenset[int]]]] = {}
    for phrase in phrases:
        for word in phrase.words:
            key = (phrase.fieldname, word)
            if key not in words:
                matcher = Q.Term(*key).matcher(searcher)
                words[key] = {
                    docnum: (found.score(), frozenset(found.value_as("positions")))
                    for docnum, found in _at_candidates(matcher, docnums)
                }
    extra: dict[int, float] = defaultdict(float)
    for phrase in phrases:
        first, second = (words[(phrase.fieldname, word)] for word in phrase.words)
        for docnum in first.keys() & second.keys():
            (first_score, before), (second_score, after) = first[docnum], second[docnum]
            if any(position + gap in after for position in before for gap in range(1, phrase.slop + 1)):
                extra[docnum] += phrase.boost * (first_score + second_score)
    return extra


def _total(results, limit: int, query: Q.Query, searcher: Searcher, countable: bool) -> tuple[int, bool]:
    """How many documents match, and whether that count is exact.

    Counting a large result set exactly means a second pass over every
    posting (Whoosh's block-max scoring skips most of them), so beyond
    ``EXACT_COUNT_UP_TO`` possible matches an estimate is given: the union of
    the body terms' document sets, assuming the terms occur independently.
    """
    if countable or results.has_exact_length() or results.scored_length() < limit:
        return len(results), True
    reader = searcher.reader()
    docs = reader.doc_count()
    missing = 1.0
    for leaf in query.leaves():
        if leaf.field() == "body":
            missing *= 1 - min(docs, leaf.estimate_size(reader)) / max(docs, 1)
    estimate = max(round(docs * (1 - missing)), results.scored_length())
    return min(estimate, docs), False


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


def _facets(
    results, searcher: Searcher, ranked: list[tuple[int, float]], countable: bool, limit: int
) -> dict:
    """Documents per facet value among all matches, where they were all visited (else empty)."""
    if countable:
        return _facet_counts(results)
    if results.scored_length() < limit:  # every match is among the scored candidates
        columns = {name: searcher.reader().column_reader(name) for name in FACET_FIELDS}
        return {
            name: _by_count(Counter(column[docnum] for docnum, _ in ranked))
            for name, column in columns.items()
        }
    return {}


def _facet_counts(results) -> dict[str, dict[str, int]]:
    return {
        name: _by_count({key: len(docs) for key, docs in results.groups(name).items()})
        for name in FACET_FIELDS
    }


def _by_count(counts: dict) -> dict[str, int]:
    """Facet values with their counts, most frequent first (ties by name), without the empty value."""
    return dict(sorted(((key, n) for key, n in counts.items() if key), key=lambda kv: (-kv[1], kv[0])))
