"""Exact ranking for the embedded index: every match of a plan scored with the whole ranking contract.

The contract (BM25F per analysis level, best alternative forms, phrases and
proximity, the whole-title factor) is :mod:`search.ranking`; this module
computes it over Whoosh segments. Whoosh's matchers walk posting lists one
Python call per posting, and its block-max top-k search skips well only for
one field's terms; a Fahras query scores six fields per word plus proximity,
and scoring every match that way took seconds. Here instead:

- each term's postings are read a block at a time straight from Whoosh's postings
  file (:mod:`.blocks`: a matcher call per posting was most of a query's time), or for a long
  list from the decoded copy its segment keeps (:mod:`index.decoded`), and kept as NumPy
  arrays (per segment, so a commit that adds a segment keeps the others' arrays);
- a query's match set is a boolean mask over all documents (OR, AND, NOT are array
  operations), so totals and facet counts are exact on every page;
- every match gets its BM25F score summed over all scoring terms in one
  vectorised pass (here, ``rank(..., exhaustive=True)``: the engine's path,
  :mod:`.pruning`, gives the same page without scoring the matches that cannot reach it);
- proximity (adjacent query words found adjacent) needs positions, so it is computed
  only where it can change the order: the documents whose score plus the largest
  proximity bonus they could get can still reach the page; the rest provably cannot.

The result is the ranking of scoring everything, at a cost that grows with the query's
postings, not with Python calls per posting. The statistics (document
frequency, average field length, document count) are the whole index's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial, reduce
from itertools import islice

import numpy as np
from whoosh.util.times import datetime_to_long

from index.schema import DATE, FACETS, TITLE
from search import budget
from search.plan import AllOf, AnyOf, Everything, Match, PhraseMatch, Plan, ScoringPhrase, Slot, Term, Without
from search.ranking import Ranking, Word, fielded_words
from search.syntax import Filter

from .blocks import SizedCache, doc_frequency, segment_postings
from .phrases import PhraseChecker

UNDATED = 2**64 - 1  # what Whoosh's DATETIME column holds for a document without a date
CACHED_POSTINGS = 6_000_000  # postings kept decoded per process (about 48 MB)
CACHED_SCORES = 1_000_000  # words' scores kept per index view (about 12 MB)
# Terms' postings joined over the segments, kept per index view (about 16 MB): a query asks for a
# term's postings for its match, again for the words each match holds, and for its scores.
CACHED_JOINED = 2_000_000
# A word's fields (and a phrase's slots) are joined by sorting their postings when they hold under
# 1/SPARSE of the documents, else over an array of every document (which costs a pass over all of them,
# however few hold the word).
SPARSE = 16


# --------------------------------------------------------------------------- decoded postings


class DecodedPostings:
    """A process-wide LRU of decoded posting lists, and per-document arrays, per segment.

    Segments never change once written, except that documents get deleted; the key
    holds the segment's deletion count, so a segment with new deletions is read anew.
    """

    def __init__(self, capacity: int = CACHED_POSTINGS) -> None:
        self._lists = SizedCache(capacity)  # measured in postings
        self._documents: dict = {}
        self._lock = threading.Lock()

    def term(self, segment_key: tuple, reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        segment = segment_postings(reader)
        if segment.decoded(fieldname, text):  # a copy from the file: not worth a place here
            return segment.postings(fieldname, text.encode("utf-8"))
        return self._lists.get(  # type: ignore[return-value]
            (segment_key, fieldname, text),
            lambda: segment.postings(fieldname, text.encode("utf-8")),
            lambda found: len(found[0]),
        )

    def holds(self, segment_key: tuple, reader, fieldname: str, text: str) -> bool:
        """Whether a term's postings in a segment are decoded already, here or beside the segment (reading
        them costs next to nothing)."""
        return (segment_key, fieldname, text) in self._lists or segment_postings(reader).decoded(
            fieldname, text
        )

    def lengths(self, segment_key: tuple, reader, fieldname: str) -> np.ndarray:
        """Each document's length in a field, quantised as Whoosh stores it (as its BM25 uses it)."""
        return self._per_document(segment_key, ("lengths", fieldname), lambda: np.fromiter(
            (reader.doc_field_length(docnum, fieldname) for docnum in range(reader.doc_count_all())),
            np.float64, reader.doc_count_all()))  # fmt: skip

    def column(self, segment_key: tuple, reader, fieldname: str, translate: bool = True) -> list:
        """Each document's value in a sortable field's column."""

        def read() -> list:
            column = reader.column_reader(fieldname, translate=translate)
            return [column[docnum] for docnum in range(reader.doc_count_all())]

        return self._per_document(segment_key, ("column", fieldname, translate), read)

    def _per_document(self, segment_key: tuple, what: tuple, read):
        key = (segment_key, *what)
        found = self._documents.get(key)
        if found is None:
            found = read()
            with self._lock:
                if len(self._documents) > 4096:
                    self._documents.clear()
                self._documents[key] = found
        return found


POSTINGS = DecodedPostings()


# --------------------------------------------------------------------------- one index version


class IndexView:
    """The arrays of one searcher's index version: documents, columns, term postings.

    Built lazily and shared by every thread searching the same version; a new commit
    or rebuild gives a new view (segments already read stay in :data:`POSTINGS`).
    """

    def __init__(self, searcher, home_key: str) -> None:
        self.searcher = searcher
        reader = searcher.reader()
        # An index of an empty folder has one segmentless (empty) reader: no leaves at all.
        self.leaves = [(leaf, offset, (home_key, leaf.segment().segment_id(), leaf.segment().deleted_count()))
                       for leaf, offset in reader.leaf_readers() if leaf.segment() is not None]  # fmt: skip
        self.count = reader.doc_count_all()
        self._columns: dict[str, tuple[np.ndarray, list]] = {}
        self._dates: np.ndarray | None = None
        self._live: np.ndarray | None = None
        self._phrases = SizedCache(256)  # phrases' documents, counted by phrase
        self._lengths: dict[str, np.ndarray] = {}
        self._scored = SizedCache(CACHED_SCORES)  # measured in documents scored
        self._joined = SizedCache(CACHED_JOINED)  # measured in postings

    def prepare(self, text_fields) -> None:
        """Read the per-document arrays every query needs (lengths, columns, dates) ahead of queries.

        They cost a pass over every document of new segments, which is the index's
        cost, not a query's: done before a query's time starts counting.
        """
        for fieldname in text_fields:
            self.lengths(fieldname)
        for fieldname in FACETS:
            self.column(fieldname)
        self.dates()
        self.live()

    # ------------------------------------------------------------- postings

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Global document numbers (ascending) and weights of a term, over every segment (read-only arrays)."""
        return self._joined.get(  # type: ignore[return-value]
            (fieldname, text), lambda: self._join(fieldname, text), lambda found: len(found[0]) + 1
        )

    def _join(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        parts = [
            (ids + offset, weights)
            for leaf, offset, key in self.leaves
            for ids, weights in [POSTINGS.term(key, leaf, fieldname, text)]
            if len(ids)
        ]
        if not parts:
            ids, weights = np.empty(0, np.int32), np.empty(0, np.float32)
        elif len(parts) == 1:
            ids, weights = parts[0]
        else:
            ids, weights = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        ids.flags.writeable = weights.flags.writeable = False  # shared by every query of this view
        return ids, weights

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """The term's document frequency, as the searcher's, from the term infos the postings were read with."""
        return doc_frequency([leaf for leaf, _offset, _key in self.leaves], fieldname, text)

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length in a field (joined over the segments once per view, not per query)."""
        found = self._lengths.get(fieldname)
        if found is None:
            parts = [POSTINGS.lengths(key, leaf, fieldname) for leaf, _offset, key in self.leaves]
            found = parts[0] if len(parts) == 1 else np.concatenate(parts or [np.empty(0, np.float64)])
            self._lengths[fieldname] = found
        return found

    def contributions(self, word: Word, ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
        """Each document holding the word in one of its fields, and the word's BM25F score there.

        Kept in a small LRU: a proximity pair's words are scored for its bounds, then for its bonus.
        """
        budget.check()
        return self._scored.get(  # type: ignore[return-value]
            (word, ranking), lambda: self._contributions(word, ranking), lambda found: len(found[0])
        )

    def _contributions(self, word: Word, ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
        found = [
            (fieldname, weight, *self.postings(fieldname, word.text)) for fieldname, weight in word.fields
        ]
        found = [item for item in found if len(item[2])]
        if not found:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        searcher, k1 = self.searcher, ranking.k1
        df = self.doc_frequency(found[0][0], word.text)
        idf = math.log(1 + (self.count - df + 0.5) / (df + 0.5))
        parts = []  # each field's weighted, length-normalised frequencies: T(d)'s summands
        for fieldname, weight, field_ids, tf in found:
            b = ranking.b_for(fieldname)
            avgdl = searcher.avg_field_length(fieldname) or 1.0
            lengths = self.lengths(fieldname)[field_ids]
            parts.append((field_ids, weight * tf.astype(np.float64) / ((1 - b) + b * lengths / avgdl)))
        if len(parts) == 1:
            ids, frequency = parts[0]
        elif sum(len(field_ids) for field_ids, _values in parts) * SPARSE < self.count:
            # the fields' union, added up in the fields' order as below, over the union alone
            ids = np.unique(np.concatenate([field_ids for field_ids, _values in parts]))
            frequency = np.zeros(len(ids), np.float64)
            for field_ids, values in parts:
                frequency[np.searchsorted(ids, field_ids)] += values
            held = frequency != 0  # as flatnonzero keeps below
            ids, frequency = ids[held], frequency[held]
        else:  # the fields' union, added up over one array of every document (cheaper than sorting)
            every = np.zeros(self.count, np.float64)
            for field_ids, values in parts:
                every[field_ids] += values
            ids = np.flatnonzero(every != 0)  # the same documents; NumPy finds a bool array's far faster
            frequency = every[ids]
        return ids, word.boost * idf * (k1 + 1) * frequency / (k1 + frequency)

    # ------------------------------------------------------------- documents

    def live(self) -> np.ndarray:
        """Documents not deleted."""
        if self._live is None:
            mask = np.zeros(self.count, bool)
            mask[np.fromiter(self.searcher.reader().all_doc_ids(), np.int64)] = True
            self._live = mask
        return self._live

    def column(self, fieldname: str) -> tuple[np.ndarray, list]:
        """A stored ID column as codes into its sorted distinct values (codes of "" included)."""
        found = self._columns.get(fieldname)
        if found is None:
            values = [v for leaf, _offset, key in self.leaves for v in POSTINGS.column(key, leaf, fieldname)]
            distinct, codes = (
                np.unique(np.array(values, dtype=object), return_inverse=True) if values else ([], [])
            )
            found = (np.asarray(codes, np.int32), list(distinct))
            self._columns[fieldname] = found
        return found

    def dates(self) -> np.ndarray:
        """Each document's date as Whoosh's column holds it (UNDATED where it has none)."""
        if self._dates is None:
            values = [v for leaf, _o, key in self.leaves for v in POSTINGS.column(key, leaf, DATE, False)]
            self._dates = np.array(values, np.uint64)
        return self._dates

    def phrase_docs(self, phrase: PhraseMatch) -> np.ndarray:
        """Where a phrase stands (read from positions once per index version)."""
        return self._phrases.get(  # type: ignore[return-value]
            phrase, lambda: np.fromiter(self._standing(phrase), np.int64), lambda _found: 1
        )

    def phrase_count(self, phrase: PhraseMatch, limit: int) -> int:
        """In how many documents a phrase stands, counted up to ``limit``."""
        return sum(1 for _docnum in islice(self._standing(phrase), limit))

    def _standing(self, phrase: PhraseMatch) -> Iterator[int]:
        """The documents where a phrase stands, ascending: those holding a term of every slot (their
        postings, as arrays), each checked at its positions (read from one block per term)."""
        held = [[self.postings(phrase.field, term)[0] for term in slot.terms] for slot in phrase.slots]
        if not held:
            return
        if sum(len(ids) for slot in held for ids in slot) * SPARSE < self.count:  # joined over the postings
            unions = [ids[0] if len(ids) == 1 else np.unique(np.concatenate(ids)) for ids in held]
            holders = reduce(partial(np.intersect1d, assume_unique=True), unions)
        else:  # over one array of every document (cheaper than sorting)
            every = np.ones(self.count, bool)
            for ids in held:
                holding = np.zeros(self.count, bool)
                for found in ids:
                    holding[found] = True
                every &= holding
            holders = np.flatnonzero(every)
        checker = PhraseChecker(self.searcher, phrase, self.leaves)
        for docnum in budget.checked(holders.tolist(), 256):
            if checker.stands_at(docnum):
                yield docnum

    # ------------------------------------------------------------- masks

    def mask(self, match: Match) -> np.ndarray:
        """The documents a match expression selects, as a boolean array."""
        if isinstance(match, Term):
            selected = np.zeros(self.count, bool)
            selected[self.postings(match.field, match.text)[0]] = True
            return selected
        if isinstance(match, PhraseMatch):
            selected = np.zeros(self.count, bool)
            selected[self.phrase_docs(match)] = True
            return selected
        if isinstance(match, AnyOf):
            selected = np.zeros(self.count, bool)
            for part in match.parts:
                selected |= self.mask(part)
            return selected
        if isinstance(match, AllOf):
            selected = self.mask(match.parts[0])
            for part in match.parts[1:]:
                selected &= self.mask(part)
            return selected
        if isinstance(match, Without):
            return self.mask(match.base) & ~self.mask(match.excluded)
        if isinstance(match, Everything):
            return self.live().copy()
        raise TypeError(f"not a match expression: {match!r}")

    def filter_mask(self, filters: Iterable[Filter]) -> np.ndarray | None:
        """Documents passing every kind of filter (values of one kind OR-ed), or None for no filter."""
        by_name: dict[str, list[Filter]] = {}
        for item in filters:
            by_name.setdefault(item.name, []).append(item)
        result = None
        for items in by_name.values():
            allowed = np.zeros(self.count, bool)
            for item in items:
                allowed |= self._one_filter(item)
            result = allowed if result is None else result & allowed
        return result

    def _one_filter(self, item: Filter) -> np.ndarray:
        if item.name == DATE:
            dates = self.dates()
            low = datetime_to_long(item.start) if item.start else 0
            high = datetime_to_long(item.end) if item.end else UNDATED - 1
            return (dates >= low) & (dates <= high) & (dates != UNDATED)
        codes, values = self.column(item.name)
        if item.value not in values:
            return np.zeros(self.count, bool)
        return codes == values.index(item.value)


# --------------------------------------------------------------------------- ranking


@dataclass
class Ordered:
    """A query's matches: how many, the best ``depth`` in order, and counts per facet value."""

    total: int
    docnums: list[int]
    scores: list[float]
    facets: dict[str, dict[str, int]]
    total_all: int | None = None  # matches holding every word of a keyword query (None: not one)


def matching(view: IndexView, plan: Plan) -> np.ndarray:
    """The documents ``plan`` matches (live, within its filters), ascending."""
    matches = view.mask(plan.match) & view.live()
    allowed = view.filter_mask(plan.filters)
    if allowed is not None:
        matches &= allowed
    refused = view.filter_mask(plan.excluded)
    if refused is not None:
        matches &= ~refused
    return np.flatnonzero(matches)


def rank(
    view: IndexView,
    plan: Plan,
    ranking: Ranking,
    depth: int,
    by_date: bool = False,
    exhaustive: bool = False,
) -> Ordered:
    """The first ``depth`` matches of ``plan`` in their final order, with exact totals and facets.

    ``exhaustive`` scores every match and computes the proximity bonus of each instead of
    only where it can change the order (:mod:`.pruning`): the unoptimised path the
    tests compare against.
    """
    docnums = matching(view, plan)
    facets = _facets(view, docnums)
    factor = _title_factor(view, plan, ranking)
    held = _words_held(view, plan, docnums)
    total_all = None if held is None else int(np.count_nonzero(held == len(plan.words)))
    if not by_date and not exhaustive:  # the same page without scoring the matches that cannot reach it
        from .pruning import best  # here: pruning builds on this module

        top, top_scores = [], []
        for group in _by_words_held(docnums, held):
            if len(top) >= depth:
                break
            found = best(view, plan, ranking, group, depth - len(top), factor)
            top, top_scores = top + found[0], top_scores + found[1]
        return Ordered(len(docnums), top, top_scores, facets, total_all)
    scores = _scores(view, plan, ranking)
    if by_date:  # ordered by date; each hit still shows its relevance score
        order = _by_date(view, docnums)[:depth]
        exact = _exact_scores(view, plan, ranking, order, scores, factor)
        return Ordered(len(docnums), order.tolist(), exact, facets, total_all)
    top, top_scores = [], []
    for group in _by_words_held(docnums, held):
        if len(top) >= depth:
            break
        found = _best(view, plan, ranking, group, scores, depth - len(top), exhaustive, factor)
        top, top_scores = top + found[0], top_scores + found[1]
    return Ordered(len(docnums), top, top_scores, facets, total_all)


def _by_words_held(docnums: np.ndarray, held: np.ndarray | None) -> Iterator[np.ndarray]:
    """The matches in groups that rank one after the other: those holding more of a keyword query's words first."""
    if held is None:
        yield docnums
        return
    for count in sorted(set(held.tolist()), reverse=True):
        yield docnums[held == count]


def _words_held(view: IndexView, plan: Plan, docnums: np.ndarray) -> np.ndarray | None:
    """How many of a keyword query's words each match holds (None: the plan is not a keyword query's)."""
    if not plan.words:
        return None
    held = np.zeros(len(docnums), np.int32)
    for word in plan.words:
        held += view.mask(word)[docnums]
    return held


def _scores(view: IndexView, plan: Plan, ranking: Ranking) -> np.ndarray:
    """Every document's score from the plan's terms and user phrases (proximity comes later)."""
    scores = np.zeros(view.count, np.float64)
    best: dict[int, np.ndarray] = {}  # per group of alternative forms, each document's best score
    for word in fielded_words(plan.scoring, ranking):
        ids, values = view.contributions(word, ranking)
        if word.group is None or not ranking.best_alternative:
            scores[ids] += values
        else:
            group = best.get(word.group)
            if group is None:
                group = best[word.group] = np.zeros(view.count, np.float64)
            group[ids] = np.maximum(group[ids], values)
    for group in best.values():
        scores += group
    for phrase in plan.phrases:
        if not phrase.bonus_only:
            docs = view.phrase_docs(phrase.phrase)
            scores[docs] += phrase.weight * _slot_scores(view, phrase.phrase, ranking, docs)
    return scores


def _title_factor(view: IndexView, plan: Plan, ranking: Ranking) -> np.ndarray | None:
    """Each document's score multiplier: 1 + ``title_match`` where the query's words make up its whole
    title (every word the title field holds is one of them), 1 elsewhere; None when no title can be.

    A question that names an article's subject (جامعة أم القرى, Nikola Tesla) holds the whole
    title of the article about it, where a news title shares a word or two. Every passage of one
    article has the same title, so their order among themselves stays the body's.
    """
    if not ranking.title_match or not plan.title_words:
        return None
    lengths = view.lengths(TITLE)  # exact up to 10 words, rounded up beyond: never too short
    matched = np.zeros(view.count, np.float64)
    for stem in plan.title_words:
        ids, frequencies = view.postings(TITLE, stem)
        matched[ids] += frequencies
    return np.where((lengths > 0) & (matched >= lengths), 1.0 + ranking.title_match, 1.0)


def _slot_scores(view: IndexView, phrase: PhraseMatch, ranking: Ranking, docs: np.ndarray) -> np.ndarray:
    """What the phrase's terms score in each of ``docs`` (Whoosh's phrase score: their sum)."""
    return sum(
        (_slot_score(view, phrase.field, slot, ranking, docs) for slot in phrase.slots), np.zeros(len(docs))
    )


def _slot_score(
    view: IndexView, fieldname: str, slot: Slot, ranking: Ranking, docs: np.ndarray
) -> np.ndarray:
    """What a slot's terms score in each of ``docs`` (0 where none occurs)."""
    total = np.zeros(len(docs), np.float64)
    for term in slot.terms:
        ids, values = view.contributions(Word(term, 1.0, ((fieldname, 1.0),)), ranking)
        if not len(ids):
            continue
        at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        present = ids[at] == docs
        total[present] += values[at[present]]
    return total


def _best(
    view, plan, ranking, docnums, scores, depth, exhaustive=False, factor=None
) -> tuple[list[int], list[float]]:
    """The ``depth`` best matches by score (ties by document number), proximity included exactly.

    ``factor`` multiplies each document's whole score, proximity bonus included (None: 1).
    """
    if not len(docnums) or depth <= 0:
        return [], []
    scale = np.ones(len(docnums)) if factor is None else factor[docnums]
    base = scores[docnums] * scale
    pairs = [p for p in plan.phrases if p.bonus_only]
    if not pairs:
        order = _top(base, docnums, depth)
        return docnums[order].tolist(), base[order].tolist()
    bounds = [pair.weight * _pair_bound(view, pair.phrase, ranking, docnums) * scale for pair in pairs]
    ceiling = base + sum(bounds)
    exact: dict[int, float] = {}
    batch = len(docnums) if exhaustive else depth + 16
    order = np.argsort(-ceiling, kind="stable")
    checked = 0
    while True:
        todo = order[checked : checked + batch]
        bonus = (
            _pair_bonus(view, pairs, [bound[todo] for bound in bounds], ranking, docnums[todo]) * scale[todo]
        )
        for index, extra in zip(todo.tolist(), bonus.tolist(), strict=True):
            exact[index] = float(base[index] + extra)
        checked += len(todo)
        best = sorted(exact, key=lambda i: (-exact[i], docnums[i]))[:depth]
        if checked >= len(order):
            break
        if len(best) >= min(depth, len(order)) and exact[best[-1]] > ceiling[order[checked]]:
            break
        batch *= 2
    return [int(docnums[i]) for i in best], [exact[i] for i in best]


def _exact_scores(view, plan, ranking, docs: np.ndarray, scores: np.ndarray, factor) -> list[float]:
    """The whole ranking's score of each of ``docs`` (proximity bonus and title factor included)."""
    scale = np.ones(len(docs)) if factor is None else factor[docs]
    exact = scores[docs] * scale
    pairs = [p for p in plan.phrases if p.bonus_only]
    if pairs and len(docs):
        bounds = [pair.weight * _pair_bound(view, pair.phrase, ranking, docs) * scale for pair in pairs]
        exact = exact + _pair_bonus(view, pairs, bounds, ranking, docs) * scale
    return exact.tolist()


def _top(values: np.ndarray, docnums: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the ``depth`` largest values, ties broken by lower document number."""
    if depth < len(values):
        # argpartition finds the cut; everything tied with it is kept so ties sort by docnum.
        cut = np.partition(values, len(values) - depth)[len(values) - depth]
        candidates = np.flatnonzero(values >= cut)
    else:
        candidates = np.arange(len(values))
    ordered = candidates[np.lexsort((docnums[candidates], -values[candidates]))]
    return ordered[:depth]


def _pair_bound(view, phrase: PhraseMatch, ranking: Ranking, docnums: np.ndarray) -> np.ndarray:
    """The most a proximity pair can add to each document: its words' scores where both occur."""
    first, second = (_slot_score(view, phrase.field, slot, ranking, docnums) for slot in phrase.slots)
    return np.where((first > 0) & (second > 0), first + second, 0.0)


def _pair_bonus(
    view, pairs: list[ScoringPhrase], bounds: list[np.ndarray], ranking: Ranking, docs: np.ndarray
) -> np.ndarray:
    """The exact proximity bonus of each of ``docs`` (positions read only where both words occur)."""
    bonus = np.zeros(len(docs), np.float64)
    ordered = np.argsort(docs, kind="stable")
    for pair, bound in zip(pairs, bounds, strict=True):
        both = ordered[bound[ordered] > 0]  # docs holding both words, in docnum order
        if not len(both):
            continue
        checker = PhraseChecker(view.searcher, pair.phrase, view.leaves)
        adjacent = [index for index in both.tolist() if checker.stands_at(int(docs[index]))]
        if adjacent:
            where = np.asarray(adjacent, np.int64)
            bonus[where] += pair.weight * _slot_scores(view, pair.phrase, ranking, docs[where])
    return bonus


def _by_date(view: IndexView, docnums: np.ndarray) -> np.ndarray:
    """Newest first; undated documents after every dated one; ties by document number."""
    dates = view.dates()[docnums]
    undated = dates == UNDATED
    age = UNDATED - dates  # descending dates as an ascending key, exactly (no float rounding)
    return docnums[np.lexsort((docnums, age, undated))]


def _facets(view: IndexView, docnums: np.ndarray) -> dict[str, dict[str, int]]:
    """Matches per language and per source, most frequent first (ties by name), empty values left out."""
    facets = {}
    for name in FACETS:
        codes, values = view.column(name)
        counts = (
            np.bincount(codes[docnums], minlength=len(values)) if len(docnums) else np.zeros(len(values), int)
        )
        pairs = [(values[i], int(n)) for i, n in enumerate(counts.tolist()) if n and values[i]]
        facets[name] = dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
    return facets
