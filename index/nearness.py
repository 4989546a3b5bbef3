"""Near-duplicate fingerprints: a b-bit MinHash of a document's word shingles.

The same article reaches an archive from two agencies, or twice from one with
a changed line; a result page full of such pairs hides everything else.
Two bodies are near-duplicates when most of their three-word shingles are
shared (Jaccard resemblance of at least ``NEAR_RESEMBLANCE``). MinHash
(Broder 1997) estimates resemblance from a few minima of permuted shingle
hashes; keeping one byte of each (b-bit minwise hashing, Li and König 2010)
makes the fingerprint ``SAMPLES`` bytes. It is made once, when a document is
indexed, from its body alone (titles differ between sources) and stored with
it; searching only compares. SimHash was tried first: on articles of a hundred
words, two added words moved it six bits, so short near-duplicates escaped it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .analysis import WordTokenizer

SHINGLE_WORDS = 3  # words per shingle: the unit of text two near-duplicates share
MIN_SHINGLES = 24  # shorter texts get no fingerprint: a few words alone say nothing about sameness
MAX_WORDS = 5000  # the words of a long body that are fingerprinted: bounded cost per document
SAMPLES = 32  # minima kept, one byte each
NEAR_RESEMBLANCE = 0.8  # shingles shared, of all the two texts hold, for near-duplicates
# Equal bytes needed: a byte also agrees by chance (1 in 256) where the minima differ.
NEAR_SAMPLES = int(np.ceil(SAMPLES * (NEAR_RESEMBLANCE + (1 - NEAR_RESEMBLANCE) / 256)))
BAND_SAMPLES = 4  # bytes per band: near-duplicates agree on a whole band almost surely (see bands())

_RANDOM = np.random.default_rng(20261207)  # fixed: every index and every process permutes alike
_MULTIPLIERS = _RANDOM.integers(1, 2**63, SAMPLES, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_ADDENDS = _RANDOM.integers(0, 2**63, SAMPLES, dtype=np.uint64)


def fingerprint(text: str) -> bytes | None:
    """The MinHash bytes of ``text``'s word shingles, or None for a text too short to judge."""
    words = WordTokenizer.words(text[: MAX_WORDS * 20].casefold())[:MAX_WORDS]
    if len(words) < MIN_SHINGLES + SHINGLE_WORDS - 1:
        return None
    known = _HASHES.get
    hashed = np.fromiter((known(word) or _hash(word) for word in words), dtype=np.uint64, count=len(words))
    shingles = hashed[: len(words) - SHINGLE_WORDS + 1].copy()
    for offset in range(
        1, SHINGLE_WORDS
    ):  # each word's hash rotated by its place: "a b c" differs from "b a c"
        following = hashed[offset : offset + len(shingles)]
        shingles ^= (following << np.uint64(offset * 7)) | (following >> np.uint64(64 - offset * 7))
    with np.errstate(over="ignore"):  # the permutations are arithmetic modulo 2**64
        permuted = np.unique(shingles)[:, None] * _MULTIPLIERS + _ADDENDS
    minima = permuted.min(axis=0)
    return ((minima >> np.uint64(24)) & np.uint64(0xFF)).astype(np.uint8).tobytes()  # well-mixed middle bits


def near(one: bytes, other: bytes) -> bool:
    """Whether two fingerprints are of near-duplicate texts."""
    equal_bytes = (int.from_bytes(one) ^ int.from_bytes(other)).to_bytes(SAMPLES).count(0)
    return equal_bytes >= NEAR_SAMPLES


def bands(value: bytes) -> tuple[bytes, ...]:
    """The fingerprint in pieces, each tagged with its place: near-duplicates share at least one.

    At resemblance 0.8 two texts agree on a piece of four samples with
    probability 0.8**4, and on one of eight pieces with probability 0.98;
    above 0.9, 0.9999. Pieces only propose candidates; :func:`near` decides.
    """
    return tuple(tag + value[start:end] for tag, start, end in _BAND_CUTS)


_BAND_CUTS = tuple(
    (bytes([place]), place * BAND_SAMPLES, (place + 1) * BAND_SAMPLES)
    for place in range(SAMPLES // BAND_SAMPLES)
)


_HASHES: dict[str, int] = {}  # words recur from document to document: most are hashed once per process
_MAX_HASHES = 1 << 18


def _hash(word: str) -> int:
    """A hash of a word that every process and every run agrees on (Python's own hash is salted)."""
    if len(_HASHES) >= _MAX_HASHES:
        _HASHES.clear()
    value = int.from_bytes(
        hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )
    _HASHES[word] = value or 1  # 0 would read as "not known"
    return value or 1
