"""A :class:`~search.plan.Plan` as OpenSearch query DSL: the same matches, scored by the ranking contract.

**Matching** is plain DSL over the fields Fahras analysed itself
(:mod:`.fields`): a term is a ``term`` query, a group of terms of one field a
``terms`` query, AND/OR/AND-NOT are ``bool`` queries, filters are ``terms``
and ``range`` queries in filter context. A phrase is a ``match_phrase`` whose
text is written in the serialised form (``وزار|زار صحه _ اجراء``): the
``fahras`` analyser gives each slot's alternatives one position and each gap
its place, so Lucene builds the multi-term phrase with exactly the plan's
offsets. A slop lets each further slot stand up to that many positions later
than the one before, which Lucene's sloppy phrase does not express (it bounds
the spread of all the words, in any order), so a sloppy phrase is the OR of
the exact phrases it stands for; past :data:`MAX_SLOPPY_PHRASES` of them,
nested ``span_near`` queries (exact for two slots; for three or more Lucene's
ordered spans take the first position of a repeated word, so a phrase that
only stands through a later one is missed).

**Scoring** is the contract of :mod:`search.ranking`, computed by the cluster
for every match, so that totals, facets and every page come from one order:

- the fields' similarity returns a term's frequency (``fahras_tf``, a
  scripted similarity), and a ``script_score`` divides it by the field's
  length normalisation, read from the quantised length stored with the
  document (:mod:`.fields`): one field's ``weight * tf / (1 - b + b * len / avglen)``;
- a word's fields are summed by a ``bool`` and saturated once by another
  ``script_score`` (``boost * idf * (k1 + 1) * T / (k1 + T)``): BM25F;
- a word's alternative forms are a ``dis_max`` (their best); phrases and
  proximity pairs add their words' one-field scores where they stand
  (a ``bool`` filtered by the phrase), times their weight;
- the whole-title factor is a ``function_score`` whose filter is a
  ``script_score`` with ``min_score`` (the title words' frequencies reach
  the title's length).

The statistics (document count, mean field lengths, document frequencies) are
the whole index's, fetched by aggregations and counts, which are exact across
shards: no score depends on what one shard holds, so any number of shards and
replicas ranks the same (no ``dfs_query_then_fetch`` round trip is needed).
Lucene keeps scores as 32-bit floats: two documents whose scores differ in the
eighth significant digit may be ordered as tied (by index order) where the
embedded engine, in 64-bit floats, orders them by score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from index.schema import DATE, TITLE
from search.plan import AllOf, AnyOf, Everything, Match, PhraseMatch, Plan, ScoringPhrase, Term, Without
from search.ranking import Ranking, Word, fielded_words
from search.syntax import Filter

from .fields import DATE_KEY, ORDER, length_field, microseconds, phrase_text

MAX_SLOPPY_PHRASES = 64  # exact phrases a sloppy phrase is written as, before nested spans take over
FACET_SIZE = 65_000  # values counted per facet (the cluster's default limit is 65,535 buckets in all)

# One field's length-normalised frequency: T(d)'s summand.
NORMALISED = "params.w * _score / (params.c + params.d * doc[params.f].value)"
# BM25F's saturation of T(d), the sum of a word's normalised frequencies.
SATURATED = "double t = _score; return params.a * t / (params.k1 + t);"
# Both at once, for a word scored in one field.
ONE_FIELD = (
    "double t = params.w * _score / (params.c + params.d * doc[params.f].value);"
    " return params.a * t / (params.k1 + t);"
)
# 1 where the title holds nothing but the query's words (their frequencies reach its length), else 0.
WHOLE_TITLE = "double l = doc[params.f].value; return l > 0 && _score >= l ? 1 : 0;"

Frequencies = Callable[[Iterable[tuple[str, str]]], dict[tuple[str, str], int]]


@dataclass(frozen=True)
class Statistics:
    """The whole index's statistics the contract scores with."""

    documents: int
    mean_lengths: dict[str, float]  # per field: its total length over the number of documents


def _script(source: str, **params) -> dict:
    return {"source": source, "lang": "painless", "params": params}


# --------------------------------------------------------------------------- matching


def match_query(match: Match) -> dict:
    """The documents a match expression selects, as a query in filter context (no scores)."""
    if isinstance(match, Term):
        return {"term": {match.field: match.text}}
    if isinstance(match, PhraseMatch):
        return phrase_query(match)
    if isinstance(match, AnyOf):
        if not match.parts:
            return {"match_none": {}}
        grouped: dict[str, list[str]] = {}
        others = []
        for part in match.parts:
            if isinstance(part, Term):
                grouped.setdefault(part.field, []).append(part.text)
            else:
                others.append(match_query(part))
        # One terms query per field: a prefix of a hundred words is one clause, not a hundred.
        should = [{"terms": {field: texts}} for field, texts in grouped.items()] + others
        return should[0] if len(should) == 1 else {"bool": {"should": should, "minimum_should_match": 1}}
    if isinstance(match, AllOf):
        return {"bool": {"filter": [match_query(part) for part in match.parts]}}
    if isinstance(match, Without):
        return {"bool": {"filter": [match_query(match.base)], "must_not": [match_query(match.excluded)]}}
    if isinstance(match, Everything):
        return {"match_all": {}}
    raise TypeError(f"not a match expression: {match!r}")


def phrase_query(phrase: PhraseMatch) -> dict:
    """Documents where every slot has one of its terms at the first slot's position plus its offset."""
    slots = [(slot.offset, slot.terms) for slot in phrase.slots]
    if len(slots) == 1:
        return {"terms": {phrase.field: list(slots[0][1])}}
    if not phrase.slop:
        return _exact_phrase(phrase.field, slots)
    if (phrase.slop + 1) ** (len(slots) - 1) <= MAX_SLOPPY_PHRASES:
        shifted = []
        for extra in itertools.product(range(phrase.slop + 1), repeat=len(slots) - 1):
            moved = [0, *itertools.accumulate(extra)]
            shifted.append([(offset + moved[i], terms) for i, (offset, terms) in enumerate(slots)])
        exact = [_exact_phrase(phrase.field, placed) for placed in shifted]
        return {"bool": {"should": exact, "minimum_should_match": 1}}
    return _spans(phrase)


def _exact_phrase(field: str, slots: list[tuple[int, tuple[str, ...]]]) -> dict:
    first = slots[0][0]
    text = phrase_text([(offset - first, terms) for offset, terms in slots])
    return {"match_phrase": {field: {"query": text, "slop": 0}}}


def _spans(phrase: PhraseMatch) -> dict:
    """Nested ordered ``span_near`` queries: each slot ``gap`` to ``gap + slop`` positions after the last."""

    def alternatives(terms: tuple[str, ...]) -> dict:
        spans = [{"span_term": {phrase.field: term}} for term in terms]
        return spans[0] if len(spans) == 1 else {"span_or": {"clauses": spans}}

    span = alternatives(phrase.slots[0].terms)
    for before, slot in itertools.pairwise(phrase.slots):
        gap = slot.offset - before.offset
        clauses = [
            span,
            *([{"span_gap": {phrase.field: gap - 1}}] if gap > 1 else []),
            alternatives(slot.terms),
        ]
        span = {"span_near": {"clauses": clauses, "slop": phrase.slop, "in_order": True}}
    return span


def filter_queries(filters: Iterable[Filter]) -> list[dict]:
    """One query per kind of filter, its values OR-ed (documents in any of them)."""
    kinds: dict[str, list[Filter]] = {}
    for item in filters:
        kinds.setdefault(item.name, []).append(item)
    found = []
    for name, items in kinds.items():
        if name == DATE:
            ranges = [_date_range(item) for item in items]
            found.append(ranges[0] if len(ranges) == 1 else {"bool": {"should": ranges}})
        else:
            found.append({"terms": {name: [item.value for item in items]}})
    return found


def _date_range(item: Filter) -> dict:
    bounds = {}
    if item.start:
        bounds["gte"] = microseconds(item.start)
    if item.end:
        bounds["lte"] = microseconds(item.end)
    return {"range": {DATE_KEY: bounds}} if bounds else {"exists": {"field": DATE_KEY}}


def selection(plan: Plan) -> dict:
    """What the plan matches, within its filters and without its exclusions (unscored)."""
    excluded = filter_queries(plan.excluded)
    return {
        "bool": {
            "filter": [match_query(plan.match), *filter_queries(plan.filters)],
            # As the embedded engine reads them: a document is refused when it has every excluded kind.
            "must_not": [{"bool": {"filter": excluded}}] if excluded else [],
        }
    }


def holding(words: list[dict], least: int) -> dict:
    """Documents that match at least ``least`` of a keyword query's words (each a match query)."""
    return {"bool": {"should": words, "minimum_should_match": least}}


def holding_exactly(words: list[dict], count: int) -> dict:
    """Documents that match exactly ``count`` of a keyword query's words: one group of the words rule."""
    found: dict = {"bool": {}}
    if count:
        found["bool"]["filter"] = [holding(words, count)]
    if count < len(words):
        found["bool"]["must_not"] = [holding(words, count + 1)]
    return found


# --------------------------------------------------------------------------- scoring


def needed_frequencies(plan: Plan, ranking: Ranking) -> set[tuple[str, str]]:
    """The (field, term) pairs whose document frequencies the plan's scores need."""
    needed = {(field, word.text) for word in fielded_words(plan.scoring, ranking) for field, _ in word.fields}
    for phrase in plan.phrases:
        needed |= {(phrase.phrase.field, term) for slot in phrase.phrase.slots for term in slot.terms}
    return needed


class Scorer:
    """The scoring clauses of one plan, given the index's statistics and the frequencies it needs."""

    def __init__(
        self, ranking: Ranking, statistics: Statistics, frequency: dict[tuple[str, str], int]
    ) -> None:
        self.ranking = ranking
        self.statistics = statistics
        self.frequency = frequency

    def query(self, plan: Plan) -> dict:
        """The plan's selection, each match scored by the whole contract."""
        should: list[dict] = []
        groups: dict[int, list[dict]] = {}
        for word in fielded_words(plan.scoring, self.ranking):
            scored = self.word(word)
            if scored is None:
                continue
            if word.group is None or not self.ranking.best_alternative:
                should.append(scored)
            else:
                groups.setdefault(word.group, []).append(scored)
        for alternatives in groups.values():  # a word read two ways scores its best reading
            should.append(
                alternatives[0] if len(alternatives) == 1 else {"dis_max": {"queries": alternatives}}
            )
        should += [scored for phrase in plan.phrases if (scored := self.phrase(phrase)) is not None]
        query = selection(plan)
        query["bool"]["should"] = should
        whole = self.whole_title(plan)
        if whole is None:
            return query
        return {
            "function_score": {
                "query": query,
                "functions": [{"filter": whole, "weight": 1.0 + self.ranking.title_match}],
                "score_mode": "multiply",
                "boost_mode": "multiply",
            }
        }

    def word(self, word: Word) -> dict | None:
        """One word's BM25F over its fields (those that hold it), or None where none does."""
        present = [(field, weight) for field, weight in word.fields if self.frequency.get((field, word.text))]
        if not present:
            return None
        documents, k1 = self.statistics.documents, self.ranking.k1
        df = self.frequency[(present[0][0], word.text)]
        idf = math.log(1 + (documents - df + 0.5) / (df + 0.5))
        saturation = {"a": word.boost * idf * (k1 + 1), "k1": k1}
        if len(present) == 1:
            field, weight = present[0]
            return self._script_score(
                {"term": {field: word.text}}, ONE_FIELD, **self._normalisation(field, weight), **saturation
            )
        parts = [
            self._script_score({"term": {field: word.text}}, NORMALISED, **self._normalisation(field, weight))
            for field, weight in present
        ]
        return self._script_score({"bool": {"should": parts}}, SATURATED, **saturation)

    def phrase(self, phrase: ScoringPhrase) -> dict | None:
        """A phrase's (or proximity pair's) weight times its words' one-field scores, where it stands."""
        field = phrase.phrase.field
        words = [
            scored
            for slot in phrase.phrase.slots
            for term in slot.terms
            if (scored := self.word(Word(term, 1.0, ((field, 1.0),)))) is not None
        ]
        if not words or not phrase.weight:
            return None
        return {"bool": {"filter": [phrase_query(phrase.phrase)], "should": words, "boost": phrase.weight}}

    def whole_title(self, plan: Plan) -> dict | None:
        """Documents whose title holds nothing but the plan's title words (their frequencies fill it)."""
        if not self.ranking.title_match or not plan.title_words:
            return None
        words = {"bool": {"should": [{"term": {TITLE: stem}} for stem in sorted(plan.title_words)]}}
        query = self._script_score(words, WHOLE_TITLE, f=length_field(TITLE))
        query["script_score"]["min_score"] = 1
        return query

    def _normalisation(self, field: str, weight: float) -> dict:
        b = self.ranking.b_for(field)
        mean = self.statistics.mean_lengths.get(field) or 1.0
        return {"w": weight, "c": 1 - b, "d": b / mean, "f": length_field(field)}

    @staticmethod
    def _script_score(query: dict, source: str, **params) -> dict:
        return {"script_score": {"query": query, "script": _script(source, **params)}}


def sort_order(sort: str) -> list[dict]:
    """The contract's order: by score, ties by index order; by date, newest first, undated last."""
    if sort == "date":
        return [{DATE_KEY: {"order": "desc", "missing": "_last"}}, {ORDER: {"order": "asc"}}]
    return [{"_score": {"order": "desc"}}, {ORDER: {"order": "asc"}}]


def facet_aggregations(names: Iterable[str]) -> dict:
    return {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in names}


def facet_counts(aggregations: dict, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Matches per value, most frequent first (ties by name), as the embedded engine gives them."""
    facets = {}
    for name in names:
        pairs = [
            (bucket["key"], bucket["doc_count"]) for bucket in aggregations[name]["buckets"] if bucket["key"]
        ]
        facets[name] = dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
    return facets
