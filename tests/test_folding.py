"""Folding near-duplicates (search/folding.py) against the plain model: each result under the first
kept result whose fingerprint shares enough bytes with its own, every earlier kept result compared."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.nearness import NEAR_SAMPLES, SAMPLES, bands, near
from search.backend import Identity
from search.folding import fold


def equal_bytes(one: bytes, other: bytes) -> int:
    return sum(a == b for a, b in zip(one, other, strict=True))


def folded_by_model(ranked: list[Identity]) -> list[tuple[str, list[str]]]:
    """Every result compared with every kept one before it, no bands."""
    kept: list[tuple[Identity, list[str]]] = []
    for result in ranked:
        holder = next(
            (
                group
                for group in kept
                if result.near is not None
                and group[0].near is not None
                and equal_bytes(result.near, group[0].near) >= NEAR_SAMPLES
            ),
            None,
        )
        if holder is None:
            kept.append((result, []))
        else:
            holder[1].append(result.id)
    return [(first.id, similar) for first, similar in kept]


@st.composite
def rankings(draw) -> list[Identity]:
    """Results whose fingerprints are copies of a few originals with some bytes changed (or none at all)."""
    originals = draw(st.lists(st.binary(min_size=SAMPLES, max_size=SAMPLES), min_size=1, max_size=4))
    ranked = []
    for number in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 9)) == 0:
            ranked.append(Identity(f"d{number}", 1.0, None))
            continue
        value = bytearray(draw(st.sampled_from(originals)))
        for place in draw(st.lists(st.integers(0, SAMPLES - 1), max_size=12)):
            value[place] = draw(st.integers(0, 255))
        ranked.append(Identity(f"d{number}", 1.0, bytes(value)))
    return ranked


@settings(max_examples=300, deadline=None)
@given(rankings())
def test_folding_puts_each_result_under_the_first_kept_result_near_it(ranked: list[Identity]) -> None:
    folded = [(group.first.id, [other.id for other in group.similar]) for group in fold(ranked)]
    assert folded == folded_by_model(ranked)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=SAMPLES, max_size=SAMPLES), st.lists(st.integers(0, SAMPLES - 1), max_size=SAMPLES))
def test_near_counts_equal_bytes_and_near_fingerprints_share_a_band(value: bytes, changed: list[int]) -> None:
    other = bytearray(value)
    for place in changed:
        other[place] ^= 0x5A
    other = bytes(other)
    assert near(value, other) == (equal_bytes(value, other) >= NEAR_SAMPLES)
    if near(value, other):  # folding only compares results that share a band: none near is missed
        assert set(bands(value)) & set(bands(other))
