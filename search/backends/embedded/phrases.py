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
(plus at most ``slop`` more for each further slot). Candidates are the documents
holding a term of every slot (:meth:`IndexView.phrase_docs` intersects their
postings); positions are read only there, from the list's copy its segment keeps decoded
(:mod:`index.decoded`) or else a block at a time. Scores are not this
module's business: :mod:`search.backends.embedded.scoring` adds them up.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence

import numpy as np

from index.decoded import KeptPositions
from search.plan import PhraseMatch

from .blocks import Directory, block_values, cached_directory, segment_postings


class PhraseChecker:
    """Checks a phrase at given documents without walking the documents between.

    Each slot term's positions at a candidate are sliced from its kept positions, for a long
    list whose segment keeps them (:class:`index.decoded.KeptPositions`), or else read from
    the one posting block that may hold it, found in the term's block directory
    (:mod:`search.backends.embedded.blocks`), a block's positions decoded once per process:
    Whoosh's phrase matchers decoded the positions of every posting they passed, one Python
    call each.
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
        self._lists: dict[tuple[int, str], KeptPositions | Directory | None] = {}  # kept positions, or blocks

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
        if key not in self._lists:
            kept = segment_postings(leaf).kept_positions(self.fieldname, term)
            self._lists[key] = kept or cached_directory(segment_key, leaf, self.fieldname, term)
        found = self._lists[key]
        if found is None:
            return []
        if isinstance(found, KeptPositions):  # a long list's positions, kept decoded beside the segment
            return found.at(local)
        block = int(np.searchsorted(found.last_ids, local))
        if block == len(found.last_ids):
            return []
        ids, values = block_values(segment_key, self.fieldname, term, found, block)
        at = bisect_left(ids, local)
        if at == len(ids) or ids[at] != local:
            return []
        return self.format.decode_positions(values[at])


def _follow(at: set[int], here: set[int], gap: int, slop: int) -> set[int]:
    """Where the next slot stands, ``gap`` to ``gap + slop`` positions after one of ``at``."""
    return {position + gap + extra for position in at for extra in range(slop + 1)} & here
