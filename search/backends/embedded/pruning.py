"""The exact top k of a query without scoring every match: MaxScore over the analysis levels.

The match set, and so the totals and facets, comes from the light-stem fields (``title``,
``body``), whose postings are decoded whole for it anyway; their Ranking scores are computed
for every match from those arrays. The exact-form and root levels (``*_exact``, ``*_root``)
only add to a score, and their posting lists are as long again (a root stands for many
words): they are the non-essential terms of MaxScore (Turtle & Flood, 1995). What they can
add to a document is bounded, first by each term's largest weight and shortest field
length in its term info (the whole list), then by the same figures in the header of the
block that may hold the document (block-max, Ding & Suel, 2011), which costs no
decompression. A document whose score from the stem level, plus those bounds, plus the
most its adjacent-word pairs could add, times its title factor, is below the score of k
documents already scored exactly cannot enter the page and is never scored.

The candidates are scored exactly in batches, best bound first, reading only the blocks
that hold them; scoring stops when the next bound is below the k-th exact score. Each
candidate's score is computed with the same operations, in the same order, as scoring
every match does (``scoring._scores`` and ``_best``), so scores are equal to
the last bit and ties fall the same way; the bounds carry a margin of a billionth so that
rounding never makes one too tight. ``rank(..., exhaustive=True)`` scores everything and is
the oracle the tests compare with.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from index.schema import TEXT_FIELDS
from search import budget
from search.plan import PhraseMatch, Plan
from search.ranking import Ranking, Word, fielded_words

from .blocks import Directory, cached_directory, segment_postings
from .scoring import POSTINGS, IndexView, _best, _pair_bound, _slot_scores

ArrayOrFloat = np.ndarray | float
MATCH_FIELDS = frozenset(TEXT_FIELDS)  # decoded whole for the match set: their words are scored eagerly
MARGIN = 1e-9  # relative slack of every bound, far above float64 rounding of a few dozen operations
# Beyond this many candidates, a non-essential word is scored for every match instead: bounding it
# block by block and decoding the blocks of each candidate would cost more than decoding it whole.
MAX_CANDIDATES = 5000
# Below that, a word is scored whole when decoding its posting lists costs less than finding each
# candidate's block in each of its fields (a rare word: a few blocks, against one per candidate).
# Microseconds, measured on the 300,000-document index: a whole list decodes at about 5.8 million
# postings a second, a candidate's block is found and decoded in about 40 µs.
POSTING_COST = 0.17
BLOCK_COST = 40.0


class _LazyField:
    """One non-essential term in one field, over every segment: bounds from its term infos and block headers,
    postings on demand (a segment's block directory is read only when a candidate lies in it)."""

    def __init__(self, view: IndexView, fieldname: str, text: str, weight: float, ranking: Ranking) -> None:
        self.view, self.fieldname, self.text, self.weight = view, fieldname, text, weight
        self.b = ranking.b_for(fieldname)
        self.avgdl = view.searcher.avg_field_length(fieldname) or 1.0
        btext = text.encode("utf-8")
        self.parts = [  # the segments holding the term: offset, reader, cache key, term info
            (offset, leaf, key, info)
            for leaf, offset, key in view.leaves
            if (info := segment_postings(leaf).info(fieldname, btext)) is not None
        ]
        self._decoded: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def present(self) -> bool:
        """Whether a live document holds the term (as ``IndexView.postings`` would find it non-empty)."""
        for _offset, leaf, key, _info in self.parts:
            deleted = leaf.segment().deleted_count()
            if not deleted or len(POSTINGS.term(key, leaf, self.fieldname, self.text)[0]):
                return True
        return False

    def _normalised(self, tf: ArrayOrFloat, lengths: ArrayOrFloat) -> ArrayOrFloat:
        """Ranking's summand of this field, as ``IndexView.contributions`` computes it."""
        b = self.b
        return self.weight * tf / ((1 - b) + b * lengths / self.avgdl)

    def bound(self) -> float:
        """The most this field's summand reaches in any document (from each segment's term info)."""
        return max(
            (self._normalised(info.max_weight(), info.min_length()) for *_, info in self.parts), default=0.0
        )

    def _segments(self, docs: np.ndarray) -> Iterator[tuple[int, slice, np.ndarray, Directory]]:
        """Each segment holding some of ``docs`` (ascending): its slice of them, their local numbers, its directory."""
        for offset, leaf, key, _info in self.parts:
            low, high = np.searchsorted(docs, (offset, offset + leaf.doc_count_all()))
            if low < high:
                yield (
                    offset,
                    slice(low, high),
                    docs[low:high] - offset,
                    cached_directory(key, leaf, self.fieldname, self.text),
                )

    def bounds_at(self, docs: np.ndarray) -> np.ndarray:
        """The most this field's summand reaches in each of ``docs`` (ascending): its block's bound."""
        found = np.zeros(len(docs))
        lengths = self.view.lengths(self.fieldname)
        for _offset, where, local, directory in self._segments(docs):
            blocks = np.searchsorted(directory.last_ids, local)
            inside = np.flatnonzero(blocks < len(directory.last_ids))
            held = docs[where][inside]
            found[where.start + inside] = np.where(
                lengths[held] > 0, self._normalised(directory.max_weights[blocks[inside]], lengths[held]), 0.0
            )
        return found

    def summand_at(self, docs: np.ndarray) -> np.ndarray:
        """This field's exact summand in each of ``docs`` (ascending; 0 where the term is absent)."""
        tf = np.zeros(len(docs), np.float64)
        for offset, where, local, directory in self._segments(docs):
            blocks = np.unique(np.searchsorted(directory.last_ids, local))
            blocks = blocks[blocks < len(directory.last_ids)].tolist()
            if not blocks:
                continue
            for index in blocks:  # each block decoded once per query, whatever the batch
                if (offset, index) not in self._decoded:
                    self._decoded[offset, index] = directory.decode([index])
            ids = np.concatenate([self._decoded[offset, index][0] for index in blocks])
            weights = np.concatenate([self._decoded[offset, index][1] for index in blocks])
            at = np.minimum(np.searchsorted(ids, local), len(ids) - 1)
            hit = ids[at] == local
            tf[where][hit] = weights[at[hit]]
        summand = np.zeros(len(docs), np.float64)
        held = tf > 0
        summand[held] = self._normalised(tf[held], self.view.lengths(self.fieldname)[docs[held]])
        return summand


class _LazyWord:
    """A non-essential word (its exact-form or root fields): its score's bounds, and its exact score on demand."""

    def __init__(self, view: IndexView, word: Word, ranking: Ranking) -> None:
        fields = [_LazyField(view, name, word.text, weight, ranking) for name, weight in word.fields]
        self.fields = [field for field in fields if field.parts and field.present()]
        self.k1 = ranking.k1
        self.factor = 0.0
        if self.fields:  # the same idf as IndexView.contributions: the first field holding the word
            df = view.doc_frequency(self.fields[0].fieldname, word.text)
            idf = math.log(1 + (view.count - df + 0.5) / (df + 0.5))
            self.factor = word.boost * idf * (self.k1 + 1)

    def _saturated(self, frequency: ArrayOrFloat) -> ArrayOrFloat:
        return self.factor * frequency / (self.k1 + frequency)

    def bound(self) -> float:
        return float(self._saturated(sum(field.bound() for field in self.fields))) if self.fields else 0.0

    def decode_cost(self) -> float:
        """What decoding its posting lists whole would cost (µs): its postings in every field and segment,
        but for the lists decoded already."""
        return POSTING_COST * sum(
            info.doc_frequency()
            for field in self.fields
            for _offset, leaf, key, info in field.parts
            if not POSTINGS.holds(key, leaf, field.fieldname, field.text)
        )

    def bounds_at(self, docs: np.ndarray) -> np.ndarray:
        if not self.fields:
            return np.zeros(len(docs))
        return self._saturated(sum(field.bounds_at(docs) for field in self.fields))

    def values_at(self, docs: np.ndarray) -> np.ndarray:
        """The word's score in each of ``docs`` (ascending), as ``IndexView.contributions`` gives it."""
        frequency = np.zeros(len(docs), np.float64)
        for field in self.fields:  # added up from 0 in the fields' order, as over the array of every document
            frequency += field.summand_at(docs)
        values = np.zeros(len(docs), np.float64)
        held = frequency > 0
        values[held] = self._saturated(frequency[held])
        return values


def best(
    view: IndexView, plan: Plan, ranking: Ranking, docnums: np.ndarray, depth: int, factor: np.ndarray | None
) -> tuple[list[int], list[float]]:
    """The ``depth`` best of ``docnums`` (ascending) with their scores: what ``scoring._best`` gives after
    ``scoring._scores``, without scoring the documents that cannot reach the page."""
    if not len(docnums) or depth <= 0:
        return [], []
    scale = np.ones(len(docnums)) if factor is None else factor[docnums]
    alternatives = ranking.best_alternative
    words = fielded_words(plan.scoring, ranking)
    # Each word, or group of alternative forms (which scores its best form), is one unit of the sum.
    units: dict[tuple, list[int]] = {}
    for index, word in enumerate(words):
        grouped = word.group is not None and alternatives
        units.setdefault(("group", word.group) if grouped else ("word", index), []).append(index)
    eager: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    lazy: dict[int, _LazyWord] = {}
    partial = np.zeros(view.count, np.float64)  # every document's score from the eager units and phrases
    spare: dict[tuple, float] = {}  # the most each non-essential unit adds to any document
    for unit, indices in units.items():
        if any(name in MATCH_FIELDS for index in indices for name, _weight in words[index].fields):
            _score_whole(view, ranking, words, indices, unit[0] == "group", eager, partial)
        else:
            lazy.update((index, _LazyWord(view, words[index], ranking)) for index in indices)
            spare[unit] = max(lazy[index].bound() for index in indices)
    phrases = []
    for phrase in plan.phrases:
        if not phrase.bonus_only:
            docs = view.phrase_docs(phrase.phrase)
            phrases.append((docs, phrase.weight * _slot_scores(view, phrase.phrase, ranking, docs)))
            partial[docs] += phrases[-1][1]
    pairs = [p for p in plan.phrases if p.bonus_only]
    extra = sum(
        pair.weight * _pair_ceiling(view, pair.phrase, ranking) for pair in pairs
    )  # per candidate below
    threshold = -np.inf
    while True:
        known = partial[docnums]
        ceiling = (known + extra + sum(spare.values())) * scale * (1 + MARGIN)
        candidates = np.arange(len(docnums))
        if len(docnums) <= depth:
            break
        # The k-th best floor: no document whose ceiling is below it can reach the page.
        threshold = _kth_largest(known * scale * (1 - MARGIN), depth, threshold)
        candidates = np.flatnonzero(ceiling >= threshold)
        unit = _scored_whole(spare, units, lazy, len(candidates))
        if unit is None:
            break
        del spare[unit]
        for index in units[unit]:
            del lazy[index]
        _score_whole(view, ranking, words, units[unit], unit[0] == "group", eager, partial)
    if (lazy or pairs) and len(candidates) > depth:  # tighter: each candidate's own pairs and blocks
        docs = docnums[candidates]
        pair_bounds = sum(
            (pair.weight * _pair_bound(view, pair.phrase, ranking, docs) for pair in pairs), 0.0
        )
        ceiling = np.full(len(docnums), -np.inf)
        ceiling[candidates] = _ceilings(words, lazy, alternatives, docs, known[candidates], pair_bounds,
                                        scale[candidates])  # fmt: skip
    order = candidates[np.argsort(-ceiling[candidates], kind="stable")]
    # Best ceiling first, the candidates' exact scores before proximity: each is a floor of its final score.
    scores = np.zeros(view.count, np.float64)  # where evaluated, what scoring._scores gives
    evaluated = np.zeros(len(docnums), bool)
    floors = np.empty(0)
    batch, checked = depth + 16, 0
    while checked < len(order):
        budget.check()
        todo = np.sort(order[checked : checked + batch])
        base = _exact(view, words, eager, lazy, phrases, alternatives, docnums[todo])
        scores[docnums[todo]] = base
        evaluated[todo] = True
        floors = np.concatenate([floors, base * scale[todo]])
        checked += len(todo)
        if checked < len(order) and len(floors) >= depth:
            kth = np.partition(floors, len(floors) - depth)[len(floors) - depth]
            if kth > ceiling[order[checked]]:  # k documents score more than any left can
                break
        batch *= 2
    # The proximity bonus where it can change the order, as when every match is scored.
    return _best(view, plan, ranking, docnums[evaluated], scores, depth, False, factor)


def _kth_largest(values: np.ndarray, k: int, at_least: float) -> float:
    """The ``k``-th largest of ``values`` (at least ``k`` of them), known to be at least ``at_least``.

    A floor only rises as units are scored whole (their contributions are never negative),
    so the last threshold bounds the next one: only the values from it are partitioned.
    """
    above = values[values >= at_least] if at_least > -np.inf else values
    return float(np.partition(above, len(above) - k)[len(above) - k])


def _scored_whole(
    spare: dict[tuple, float], units: dict[tuple, list[int]], lazy: dict[int, _LazyWord], candidates: int
) -> tuple | None:
    """The non-essential unit to score for every match now (MaxScore's essential terms), or None.

    With too many candidates, the unit that could add the most; else the one that could add
    the most among those cheaper to decode whole than to look up candidate by candidate.
    """
    if not spare:
        return None
    if candidates > MAX_CANDIDATES:
        return max(spare, key=spare.__getitem__)
    cheaper = [
        unit
        for unit in spare
        if sum(lazy[index].decode_cost() for index in units[unit])
        < candidates * BLOCK_COST * sum(len(lazy[index].fields) for index in units[unit])
    ]
    return max(cheaper, key=spare.__getitem__, default=None)


def _score_whole(
    view: IndexView,
    ranking: Ranking,
    words: list[Word],
    indices: list[int],
    grouped: bool,
    eager: dict[int, tuple[np.ndarray, np.ndarray]],
    partial: np.ndarray,
) -> None:
    """Scores the words at ``indices`` in every document (kept in ``eager``, added to ``partial``)."""
    best_form = np.zeros(view.count, np.float64) if grouped else partial
    for index in indices:
        ids, values = eager[index] = view.contributions(words[index], ranking)
        if grouped:
            best_form[ids] = np.maximum(best_form[ids], values)
        else:
            best_form[ids] += values
    if grouped:
        partial += best_form


def _pair_ceiling(view: IndexView, phrase: PhraseMatch, ranking: Ranking) -> float:
    """The most a proximity pair's words score in any document (``scoring._pair_bound`` of the best)."""
    return sum(
        float(values.max())
        for slot in phrase.slots
        for term in slot.terms
        for _ids, values in [view.contributions(Word(term, 1.0, ((phrase.field, 1.0),)), ranking)]
        if len(values)
    )


def _ceilings(
    words: list[Word],
    lazy: dict[int, _LazyWord],
    alternatives: bool,
    docs: np.ndarray,
    known: np.ndarray,
    extra: np.ndarray | float,
    scale: np.ndarray,
) -> np.ndarray:
    """Each of ``docs``' (ascending) ceiling with the non-essential words bounded per block."""
    summed = np.zeros(len(docs))
    groups: dict[int, np.ndarray] = {}
    for index, word_lazy in lazy.items():
        bounds = word_lazy.bounds_at(docs)
        group = words[index].group
        if group is None or not alternatives:
            summed += bounds
        else:
            groups[group] = np.maximum(groups[group], bounds) if group in groups else bounds
    for bounds in groups.values():
        summed += bounds
    return (known + extra + summed) * scale * (1 + MARGIN)


def _exact(
    view: IndexView,
    words: list[Word],
    eager: dict[int, tuple[np.ndarray, np.ndarray]],
    lazy: dict[int, _LazyWord],
    phrases: list[tuple[np.ndarray, np.ndarray]],
    alternatives: bool,
    docs: np.ndarray,
) -> np.ndarray:
    """The score ``scoring._scores`` gives each of ``docs`` (ascending), summed in its order."""
    scores = np.zeros(len(docs), np.float64)
    best_forms: dict[int, np.ndarray] = {}
    for index, word in enumerate(words):
        values = _at(*eager[index], docs) if index in eager else lazy[index].values_at(docs)
        if word.group is None or not alternatives:
            scores += values
        else:
            group = best_forms.setdefault(word.group, np.zeros(len(docs), np.float64))
            best_forms[word.group] = np.maximum(group, values)
    for group in best_forms.values():
        scores += group
    for phrase_docs, values in phrases:
        scores += _at(phrase_docs, values, docs)
    return scores


def _at(ids: np.ndarray, values: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """``values`` at each of ``docs`` (0 where ``ids``, ascending, lacks it)."""
    found = np.zeros(len(docs), np.float64)
    if len(ids):
        at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        hit = ids[at] == docs
        found[hit] = values[at[hit]]
    return found
