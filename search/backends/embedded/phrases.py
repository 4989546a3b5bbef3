"""Phrase matching by positions, with alternatives and gaps: Lucene's PhraseQuery, over Whoosh postings.

Whoosh's phrase query takes one word per position, each right after the
last. Fahras's analysis breaks both assumptions:

- the light stemmer gives a word that may start with a proclitic two forms at one
  position (وزارة is وزار and زار), and either may be the one a document shares;
- a stop word is not indexed but keeps its place, so "minister of foreign affairs" has
  ``foreign`` two positions after ``minister``, in the document and in the query.

So a phrase here is a list of :class:`~search.plan.Slot`, each a set of
alternative terms at an offset from the first, and a document matches where
every slot has one of its terms at the first slot's position plus its offset
(plus at most ``slop`` more for each further slot). Candidates come from the
intersection of the slots' posting lists, walked with Whoosh's matchers;
positions are read only where every slot is present. Scores are not this
module's business: :mod:`search.backends.embedded.scoring` adds them up.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterator, Sequence

import numpy as np
from whoosh.matching import binary
from whoosh.util import make_binary_tree

from search.plan import PhraseMatch

from .blocks import Directory, block_values, cached_directory


def _slot_matchers(searcher, phrase: PhraseMatch) -> list[list] | None:
    """Each slot's term matchers (terms the index lacks left out), or None when a slot has none."""
    reader = searcher.reader()
    slots = []
    for slot in phrase.slots:
        leaves = [
            searcher.postings(phrase.field, term) for term in slot.terms if (phrase.field, term) in reader
        ]
        if not leaves:
            return None
        slots.append(leaves)
    return slots


def phrase_documents(searcher, phrase: PhraseMatch) -> Iterator[int]:
    """The documents where the phrase stands, in order."""
    slots = _slot_matchers(searcher, phrase)
    if not slots:
        return
    offsets = [slot.offset for slot in phrase.slots]
    unions = [make_binary_tree(binary.UnionMatcher, leaves) for leaves in slots]
    candidates = make_binary_tree(binary.IntersectionMatcher, unions)
    while candidates.is_active():
        docnum = candidates.id()
        if _stands(slots, offsets, phrase.slop, docnum):
            yield docnum
        candidates.next()


class PhraseChecker:
    """Checks a phrase at given documents without walking the documents between.

    For ranking, where only a few candidates need positions: each slot term's positions
    at a candidate are read from the one posting block that may hold it, found in the
    term's block directory (:mod:`search.backends.embedded.blocks`); walking the phrase's
    matches would also stop at every document in between that holds all the words, and
    read their positions.
    """

    def __init__(self, searcher, phrase: PhraseMatch, leaves: Sequence[tuple[object, int, Hashable]]) -> None:
        """``leaves``: the searcher's segment readers, each with its first document number and the key
        that names it in the process-wide caches of blocks (``IndexView.leaves``)."""
        self.leaves = leaves
        self.starts = [offset for _leaf, offset, _key in leaves]
        self.fieldname = phrase.field
        self.format = searcher.reader().schema[phrase.field].format
        self.slots = [slot.terms for slot in phrase.slots]
        self.offsets = [slot.offset for slot in phrase.slots]
        self.slop = phrase.slop
        self._directories: dict[tuple[int, str], Directory | None] = {}

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
        leaf, _offset, segment_key = self.leaves[segment]
        if key not in self._directories:
            self._directories[key] = cached_directory(segment_key, leaf, self.fieldname, term)
        found = self._directories[key]
        if found is None:
            return []
        block = int(np.searchsorted(found.last_ids, local))
        if block == len(found.last_ids):
            return []
        ids, values = block_values(segment_key, self.fieldname, term, found, block)
        at = bisect_left(ids, local)
        if at == len(ids) or ids[at] != local:
            return []
        return self.format.decode_positions(values[at])


def _stands(slots: list[list], offsets: list[int], slop: int, docnum: int) -> bool:
    """Whether the slots' terms, their leaf matchers all positioned at or past ``docnum``, line up there."""
    at = _positions_at(slots[0], docnum)
    for index in range(1, len(slots)):
        at = _follow(at, _positions_at(slots[index], docnum), offsets[index] - offsets[index - 1], slop)
        if not at:
            return False
    return True


def _positions_at(leaves: list, docnum: int) -> set[int]:
    found: set[int] = set()
    for leaf in leaves:
        if leaf.is_active() and leaf.id() == docnum:
            found.update(leaf.value_as("positions"))
    return found


def _follow(at: set[int], here: set[int], gap: int, slop: int) -> set[int]:
    """Where the next slot stands, ``gap`` to ``gap + slop`` positions after one of ``at``."""
    return {position + gap + extra for position in at for extra in range(slop + 1)} & here
