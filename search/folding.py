"""Folding near-duplicates: each result's near-identical copies further down go under it.

The same article from two agencies fills a page twice. Walking the results
in their order, a result whose body is a near-duplicate of one kept before it
(:mod:`index.nearness`) is folded under that one: the page shows the best of
each group with "N similar". A result's fate depends only on the results
before it, so the folded order of the first k results is the beginning of the
folded order of more: pages stay slices of one order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.nearness import bands, near

from .backend import Identity

FOLD_WINDOW = (
    100  # near-duplicates are folded among the first this many results (one page of the largest size)
)


@dataclass
class Folded:
    """A result kept in the folded order, with the near-duplicates folded under it (in their order)."""

    first: Identity
    similar: list[Identity] = field(default_factory=list)


def fold(ranked: list[Identity]) -> list[Folded]:
    """The results with each near-duplicate folded under the first kept result it is near to."""
    kept: list[Folded] = []
    holders: dict[bytes, list[int]] = {}  # a fingerprint's band -> the kept results that have it
    for result in ranked:
        value = result.near
        pieces = () if value is None else bands(value)
        under = _first_near(value, pieces, kept, holders) if pieces else None
        if under is not None:
            kept[under].similar.append(result)
            continue
        for band in pieces:
            holders.setdefault(band, []).append(len(kept))
        kept.append(Folded(result))
    return kept


def _first_near(
    value: bytes, pieces: tuple[bytes, ...], kept: list[Folded], holders: dict[bytes, list[int]]
) -> int | None:
    """The first kept result whose fingerprint is near ``value`` (any such shares one of its bands, ``pieces``)."""
    places = {place for band in pieces for place in holders.get(band, ())}
    return min((place for place in places if near(value, kept[place].first.near)), default=None)  # type: ignore[arg-type]
