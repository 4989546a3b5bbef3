"""Phrase matching by positions, with alternatives and gaps: Lucene's PhraseQuery, for Whoosh.

Whoosh's :class:`~whoosh.query.Phrase` takes one word per position, each right after the
last. Fahras's analysis breaks both assumptions:

- the light stemmer gives a word that may start with a proclitic two forms at one
  position (وزارة is وزار and زار), and either may be the one a document shares;
- a stop word is not indexed but keeps its place, so "minister of foreign affairs" has
  ``foreign`` two positions after ``minister``, in the document and in the query.

So a phrase here is a list of *slots*, each a set of alternative terms at an offset from
the first, and a document matches where every slot has one of its terms at the first
slot's position plus its offset (plus at most ``slop`` more for each further slot).

The matcher intersects the slots' posting lists with Whoosh's own matchers and checks
positions only where every slot is present. It scores what the union of its terms would
score there, so its score has an upper bound and Whoosh's block-max top-k search can skip
with it like with any term.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from whoosh import matching
from whoosh.matching import binary
from whoosh.query import qcore
from whoosh.util import make_binary_tree

from .blocks import Directory, segment_postings


@dataclass(frozen=True)
class Slot:
    """The terms that may stand at one place of a phrase, ``offset`` positions after the first."""

    offset: int
    terms: tuple[str, ...]


class PositionalPhrase(qcore.Query):
    """Documents with ``slots`` in order at their offsets in ``fieldname`` (a positional field).

    ``slop`` lets each slot stand up to that many positions further from the previous one
    than the query had it. The score is the sum of the matched terms' scores, times ``boost``.
    """

    def __init__(self, fieldname: str, slots: Sequence[Slot], slop: int = 0, boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.slots = tuple(slots)
        self.slop = slop
        self.boost = boost

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.fieldname == other.fieldname
            and self.slots == other.slots
            and self.slop == other.slop
            and self.boost == other.boost
        )

    def __hash__(self) -> int:
        return hash((type(self), self.fieldname, self.slots, self.slop, self.boost))

    def __repr__(self) -> str:
        slots = " ".join("|".join(slot.terms) + f"@{slot.offset}" for slot in self.slots)
        return f"{type(self).__name__}({self.fieldname!r}, {slots!r}, slop={self.slop}, boost={self.boost})"

    def is_leaf(self) -> bool:
        return True

    def field(self) -> str:
        return self.fieldname

    def has_terms(self) -> bool:
        return True

    def terms(self, phrases: bool = False) -> Iterator[tuple[str, str]]:
        if phrases:
            for slot in self.slots:
                for term in slot.terms:
                    yield self.fieldname, term

    def normalize(self) -> qcore.Query:
        return self

    def estimate_size(self, reader) -> int:
        return min(self._slot_size(reader, slot) for slot in self.slots) if self.slots else 0

    def estimate_min_size(self, reader) -> int:
        return 0

    def _slot_size(self, reader, slot: Slot) -> int:
        return sum(reader.doc_frequency(self.fieldname, term) for term in slot.terms)

    def matcher(self, searcher, context=None) -> matching.Matcher:
        reader = searcher.reader()
        weighting = context.weighting if context else searcher.weighting
        slots = []
        for slot in self.slots:
            leaves = [
                searcher.postings(self.fieldname, term, weighting=weighting)
                for term in slot.terms
                if (self.fieldname, term) in reader
            ]
            if not leaves:
                return matching.NullMatcher()
            slots.append(leaves)
        if not slots:
            return matching.NullMatcher()
        return PhraseMatcher(slots, [slot.offset for slot in self.slots], self.slop, self.boost)


def phrase_stands(slots: list[list], offsets: list[int], slop: int, docnum: int) -> bool:
    """Whether the slots' terms, their leaf matchers all positioned at or past ``docnum``, line up there."""
    at = _positions_at(slots[0], docnum)
    for index in range(1, len(slots)):
        at = _follow(at, _positions_at(slots[index], docnum), offsets[index] - offsets[index - 1], slop)
        if not at:
            return False
    return True


class PhraseChecker:
    """Checks a phrase at given documents without walking the documents between.

    For ranking, where only a few candidates need positions: each slot term's positions
    at a candidate are read from the one posting block that may hold it, found in the
    term's block directory (:mod:`search.blocks`); a phrase matcher would also stop at
    every document in between that holds all the words, and read their positions.
    """

    def __init__(self, searcher, phrase: PositionalPhrase) -> None:
        reader = searcher.reader()
        self.leaves = [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.segment() is not None]
        self.starts = [offset for _leaf, offset in self.leaves]
        self.fieldname = phrase.fieldname
        self.format = reader.schema[phrase.fieldname].format
        self.slots = [slot.terms for slot in phrase.slots]
        self.offsets = [slot.offset for slot in phrase.slots]
        self.slop = phrase.slop
        self._directories: dict[tuple[int, str], Directory | None] = {}
        self._blocks: dict[tuple[int, str, int], tuple[list[int], tuple]] = {}

    def stands_at(self, docnum: int) -> bool:
        segment = bisect_right(self.starts, docnum) - 1
        local = docnum - self.starts[segment]
        at: set[int] = set()
        for index, terms in enumerate(self.slots):
            here = {position for term in terms for position in self._positions(segment, term, local)}
            if index == 0:
                at = here
                continue
            at = _follow(at, here, self.offsets[index] - self.offsets[index - 1], self.slop)
            if not at:
                return False
        return True

    def _positions(self, segment: int, term: str, local: int) -> list[int]:
        """Where ``term`` stands in the segment's document ``local`` (none when it is not there)."""
        key = (segment, term)
        if key not in self._directories:
            leaf = self.leaves[segment][0]
            self._directories[key] = segment_postings(leaf).directory(self.fieldname, term.encode("utf-8"))
        directory = self._directories[key]
        if directory is None:
            return []
        block = int(np.searchsorted(directory.last_ids, local))
        if block == len(directory.last_ids):
            return []
        if (segment, term, block) not in self._blocks:
            self._blocks[segment, term, block] = directory.values(block)
        ids, values = self._blocks[segment, term, block]
        at = bisect_left(ids, local)
        if at == len(ids) or ids[at] != local:
            return []
        return self.format.decode_positions(values[at])


class PhraseMatcher(matching.Matcher):
    """Walks the intersection of the slots and stops where the positions line up.

    The intersection and unions are Whoosh's, so skipping by block quality works as for
    any conjunction; the leaves are kept to read each slot's positions at a candidate.
    """

    def __init__(self, slots: list[list], offsets: list[int], slop: int, boost: float) -> None:
        self.slots = slots
        self.offsets = offsets
        self.slop = slop
        self.boost = boost
        unions = [make_binary_tree(binary.UnionMatcher, leaves) for leaves in slots]
        self.child = make_binary_tree(binary.IntersectionMatcher, unions)
        self._settle()

    def _settle(self) -> None:
        """Move forward from the child's current document to the first where the phrase stands."""
        while self.child.is_active() and not phrase_stands(
            self.slots, self.offsets, self.slop, self.child.id()
        ):
            self.child.next()

    # Whoosh's matcher protocol, delegated to the intersection and filtered by positions.

    def is_active(self) -> bool:
        return self.child.is_active()

    def id(self) -> int:
        return self.child.id()

    def next(self) -> bool:
        renew = self.child.next()
        self._settle()
        return renew

    def skip_to(self, docnum: int) -> bool:
        if self.child.is_active():
            self.child.skip_to(docnum)
            self._settle()
        return False

    def copy(self) -> PhraseMatcher:
        return PhraseMatcher([[leaf.copy() for leaf in leaves] for leaves in self.slots], self.offsets,
                             self.slop, self.boost)  # fmt: skip

    def replace(self, minquality: float = 0) -> matching.Matcher:
        # The child's unions must stay unions (any alternative may carry the position),
        # so only the whole phrase is dropped when it cannot reach the threshold.
        if not self.is_active() or (minquality and self.max_quality() < minquality):
            return matching.NullMatcher()
        return self

    def supports(self, astype: str) -> bool:
        return False

    def supports_block_quality(self) -> bool:
        return self.child.supports_block_quality()

    def max_quality(self) -> float:
        return self.child.max_quality() * self.boost

    def block_quality(self) -> float:
        return self.child.block_quality() * self.boost

    def skip_to_quality(self, minquality: float) -> int:
        skipped = self.child.skip_to_quality(minquality / self.boost)
        self._settle()
        return skipped

    def weight(self) -> float:
        return self.child.weight() * self.boost

    def score(self) -> float:
        return self.child.score() * self.boost

    def term_matchers(self) -> Iterator:
        for leaves in self.slots:
            yield from leaves


def _positions_at(leaves: list, docnum: int) -> set[int]:
    found: set[int] = set()
    for leaf in leaves:
        if leaf.is_active() and leaf.id() == docnum:
            found.update(leaf.value_as("positions"))
    return found


def _follow(at: set[int], here: set[int], gap: int, slop: int) -> set[int]:
    """Where the next slot stands, ``gap`` to ``gap + slop`` positions after one of ``at``."""
    return {position + gap + extra for position in at for extra in range(slop + 1)} & here
