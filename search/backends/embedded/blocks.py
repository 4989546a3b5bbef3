"""A term's postings read in bulk, a block at a time, straight from Whoosh 3's postings file.

Whoosh's matchers hand out postings one Python call at a time (``id()``, ``weight()``,
``next()``), which made decoding a long posting list the largest part of a query over a
large index. The format itself is made for bulk reading (:mod:`index.postings` writes it,
``whoosh.codec.whoosh3`` reads it): a term's postings are, after a 4-byte tag, blocks of up
to 128 postings, each

    [int32 size, negative for the last block][pickled info tuple][data]

where the info tuple is (postings, last document number, largest weight, compression
level, shortest and longest field length as bytes) and the data, zlib-compressed when the
level is not 0, is the pickle of (document numbers delta-encoded from 0, the weights: None
when all are 1, one float when all are equal, else a tuple; the values). A posting list of
one document is kept in the term index instead (``W3TermInfo.inlined_postings``).

So each block costs one ``zlib.decompress`` and one ``pickle.loads`` here, and the ids of
all blocks one ``np.cumsum``: the same numbers as the matchers give, at a fraction of
the Python calls. A long list that the segment's build also kept decoded
(:mod:`index.decoded`) is read from that copy instead, at the cost of a copy of memory.
Deleted documents are dropped with one mask, as Whoosh's reader filters them.
"""

from __future__ import annotations

import io
import pickle
import struct
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate, chain

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from index.decoded import DecodedLists, KeptPositions, path_of

_BLOCK_SIZE = struct.Struct("!i")  # Whoosh's pack_int: a block's byte count, negative for the last
CACHED_TERM_INFOS = 4096  # per segment: the terms of the last few queries


class PostingsUnreadable(ValueError):
    """Posting bytes that do not decode: damage to the index, as an error inside Whoosh's reader is."""


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Any error decoding ``what``'s bytes (pickle, zlib, a tag or ids not as written) as index damage."""
    try:
        yield
    except Exception as error:
        raise PostingsUnreadable(f"{what} does not read back ({type(error).__name__}: {error})") from error


def empty() -> tuple[np.ndarray, np.ndarray]:
    """No postings: ids and weights of the types every posting list has."""
    return np.empty(0, np.int32), np.empty(0, np.float32)


class SegmentPostings:
    """One segment's posting lists, read in bulk (one per segment reader, as its files are).

    Opens the segment's postings file once more, through the codec's segment API, so that
    reading it never moves the file position Whoosh's own matchers of the same reader use.
    """

    def __init__(self, reader) -> None:
        # Weakly: these are kept per reader in a WeakKeyDictionary, which a strong reference
        # back to the reader would keep alive (with its files) after its searcher is closed.
        self._reader = weakref.ref(reader)
        segment = reader.segment()
        self._postfile = segment.open_file(reader.storage(), reader.codec().POSTS_EXT)
        self._lock = threading.Lock()  # the file position is shared by whoever reads through it
        deleted = reader.deleted_docs_set
        self._deleted = np.fromiter(sorted(deleted), np.int64, len(deleted)) if deleted else None
        path = path_of(reader.storage(), segment)
        with _reading(f"segment {segment.segment_id()}'s decoded lists"):
            self._decoded = DecodedLists.read(path) if path else None  # its long lists, as arrays
        # A query looks a term up for its match, its score and its document frequency: once here.
        self._infos = SizedCache(CACHED_TERM_INFOS)  # counted by term

    def info(self, fieldname: str, btext: bytes) -> W3TermInfo | None:
        """The term's ``W3TermInfo`` in this segment (None when it lacks the term), from a small LRU."""
        return self._infos.get(
            (fieldname, btext), lambda: self._looked_up(fieldname, btext), lambda _found: 1
        )  # type: ignore[return-value]

    def _looked_up(self, fieldname: str, btext: bytes) -> W3TermInfo | None:
        try:
            return self._reader().term_info(fieldname, btext)
        except TermNotFound:
            return None

    def directory(self, fieldname: str, btext: bytes) -> Directory | None:
        """The term's block directory (None when the segment lacks the term)."""
        info = self.info(fieldname, btext)
        if info is None:
            return None
        if info.is_inlined():
            ids, weights, values = info.inlined_postings()
            return Directory(
                b"", (), np.array([info.max_id()], np.int64), np.array([info.max_weight()], np.float64),
                np.array([info.min_length()], np.float64),
                (np.array(ids, np.int64), np.array(weights, np.float64)), tuple(values),
            )  # fmt: skip
        with _reading(f"the postings of {fieldname}:{btext!r}"):
            return directory_of(self._read(info))

    def _read(self, info) -> bytes:
        """A posting list's bytes in the postings file."""
        offset, length = info.extent()
        # Whoosh's W3TermInfo.from_bytes reads the length back with struct.unpack: a 1-tuple.
        length = length[0] if isinstance(length, tuple) else length
        with self._lock:
            return self._postfile.get(offset, length)

    def decoded(self, fieldname: str, text: str) -> bool:
        """Whether the term's list is kept decoded beside the segment (reading it costs a copy)."""
        return self._decoded is not None and self._decoded.holds(fieldname, text)

    def kept_positions(self, fieldname: str, text: str) -> KeptPositions | None:
        """The term's positions as the segment's decoded lists keep them (None when they do not)."""
        if self._decoded is None:
            return None
        with _reading(f"the decoded positions of {fieldname}:{text!r}"):
            return self._decoded.kept_positions(fieldname, text)

    def postings(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """The term's document numbers (ascending, int32) and weights (float32), deleted documents left out."""
        found = None
        if self._decoded is not None and fieldname in self._decoded.lists:  # a text field: UTF-8 terms
            with _reading(f"the decoded list of {fieldname}:{btext!r}"):
                found = self._decoded.postings(fieldname, btext.decode("utf-8"))
        if found is not None:
            return self._live(found)
        info = self.info(fieldname, btext)
        if info is None:
            return empty()
        if info.is_inlined():
            ids, weights, _values = info.inlined_postings()
            found = np.array(ids, np.int32), np.array(weights, np.float32)
        else:
            with _reading(f"the postings of {fieldname}:{btext!r}"):
                found = decode_blocks(self._read(info))
        return self._live(found)

    def _live(self, found: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A list's postings of documents not deleted."""
        if self._deleted is not None:
            keep = ~np.isin(found[0], self._deleted, assume_unique=True)
            found = found[0][keep], found[1][keep]
        return found


@dataclass(frozen=True)
class Directory:
    """A posting list's blocks as their headers give them, read without inflating any block.

    Each block's last document number, largest weight and shortest field length bound
    what any of its postings can score (:mod:`search.pruning`), and a block is decoded
    alone when a document it may hold is asked for.
    """

    raw: bytes  # the posting list as stored (its tag and blocks); empty when inlined
    spans: tuple[tuple[int, int, int, int], ...]  # each block's data: start, end, compression, postings
    last_ids: np.ndarray  # int64, per block
    max_weights: np.ndarray  # float64, per block
    min_lengths: np.ndarray  # float64, per block: the shortest field length, quantised as documents' are
    inlined: tuple[np.ndarray, np.ndarray] | None = None  # a one-document list kept in the term index
    inlined_values: tuple = ()  # its value (a positional field's positions)

    def decode(self, indices: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """The ids (int64) and weights (float64) of the blocks at ``indices`` (ascending), deleted documents included."""
        if self.inlined is not None:
            return self.inlined
        ids, weights = [], []
        for index in indices:
            start, end, compression, count = self.spans[index]
            with _reading("a posting block"):
                deltas, block_weights = _block(self.raw[start:end], compression, count)
            ids.append(np.cumsum(np.fromiter(deltas, np.int64, count)))  # a block's first id is absolute
            weights.append(block_weights)
        if not ids:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return np.concatenate(ids), np.concatenate(weights)

    def values(self, index: int) -> tuple[list[int], tuple]:
        """The ids and values (for a positional field, its encoded positions) of the block at ``index``."""
        if self.inlined is not None:
            return self.inlined[0].tolist(), self.inlined_values
        start, end, compression, _count = self.spans[index]
        data = self.raw[start:end]
        with _reading("a posting block"):
            deltas, _weights, values = pickle.loads(zlib.decompress(data) if compression else data)
            return list(accumulate(deltas)), values


def directory_of(raw: bytes) -> Directory:
    """The directory of a posting list's bytes in the postings file (its tag and blocks)."""
    if raw[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"not a Whoosh 3 posting list (tag {raw[:4]!r})")
    stream = io.BytesIO(raw)
    spans, last_ids, max_weights, min_lengths = [], [], [], []
    position, last = len(WHOOSH3_HEADER_MAGIC), False
    while not last:
        (size,) = _BLOCK_SIZE.unpack_from(raw, position)
        last, size = size < 0, abs(size)
        stream.seek(position + _BLOCK_SIZE.size)
        count, last_id, heaviest, compression, shortest, _longest = pickle.load(stream)
        position += _BLOCK_SIZE.size + size
        spans.append((stream.tell(), position, compression, count))
        last_ids.append(last_id)
        max_weights.append(heaviest)
        min_lengths.append(byte_to_length(shortest))
    return Directory(
        raw, tuple(spans), np.array(last_ids, np.int64), np.array(max_weights, np.float64),
        np.array(min_lengths, np.float64),
    )  # fmt: skip


def decode_blocks(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A posting list's ids and weights from its bytes in the postings file (tag and blocks)."""
    directory = directory_of(raw)
    id_blocks, weight_blocks = [], []
    for start, end, compression, count in directory.spans:
        deltas, weights = _block(raw[start:end], compression, count)
        id_blocks.append(deltas)
        weight_blocks.append(weights)
    counts = np.fromiter((span[3] for span in directory.spans), np.int64, len(directory.spans))
    deltas = np.fromiter(chain.from_iterable(id_blocks), np.int64, int(counts.sum()))
    # Every block's first id is absolute: made relative to the previous block's last, one cumsum decodes all.
    ends = np.cumsum(counts)
    deltas[ends[:-1]] -= directory.last_ids[:-1]
    ids = np.cumsum(deltas)
    if not np.array_equal(ids[ends - 1], directory.last_ids):
        raise ValueError("a posting block's ids do not end at the last id its header gives")
    return ids.astype(np.int32), np.concatenate(weight_blocks).astype(np.float32)


def _block(data: bytes, compression: int, count: int) -> tuple[tuple[int, ...], np.ndarray]:
    """One block's delta-encoded ids and its weights (float64), from its stored data."""
    found = _leading(data, count) if compression and count > 3 else None
    if found is None:
        deltas, weights, _values = pickle.loads(zlib.decompress(data) if compression else data)
        found = deltas, _weights(weights, count)
    return found


# The ids tuple closed (TUPLE) and memoised first (BINPUT 0), as pickle protocol 2 writes a block.
_IDS_END = b"tq\x00"
_BINFLOAT = np.dtype([("opcode", "u1"), ("value", ">f8")])  # one float of a pickled tuple: 'G' and 8 bytes


def _leading(data: bytes, count: int) -> tuple[tuple[int, ...], np.ndarray] | None:
    """A compressed block's ids and weights, inflating only the start of it, or None when it is not as expected.

    The block's pickle holds the ids, then the weights, then the values (a positional
    field's positions: three quarters of its bytes), so ``zlib`` stops once the weights
    are out, and the values are neither inflated nor unpickled. The ids' tuple (more than
    three items: MARK ... TUPLE) is unpickled alone; the weights are None (all 1), one
    float, or a tuple of floats of fixed size, read as an array. Anything else (which
    protocol 2 does not write for these tuples) gets None, and the whole block is unpickled.
    """
    head = zlib.decompressobj().decompress(data, 14 * count + 16)
    end = head.find(_IDS_END, 3)
    if end < 0 or head[:3] != b"\x80\x02(":
        return None
    deltas = pickle.loads(head[: end + 1] + b".")
    at = end + len(_IDS_END)
    kind = head[at : at + 1]
    if kind == b"N":
        weights = np.ones(count)
    elif kind == b"G":
        weights = np.full(count, struct.unpack_from(">d", head, at + 1)[0])
    elif kind == b"(" and head[at + 1 + 9 * count : at + 2 + 9 * count] == b"t":
        floats = np.frombuffer(head, _BINFLOAT, count, at + 1)
        if not (floats["opcode"] == ord("G")).all():
            return None
        weights = floats["value"]
    else:
        return None
    return (deltas, weights) if len(deltas) == count else None


def _weights(weights, count: int) -> np.ndarray:
    """A block's weights as Whoosh minifies them (None: all 1; one float: all equal; else each)."""
    if weights is None:
        return np.ones(count)
    if not isinstance(weights, (tuple, list)):
        return np.full(count, weights)
    return np.asarray(weights, np.float64)


class SizedCache:
    """A thread-safe LRU of what is read or computed from posting lists, bounded by the total of a size
    its user measures (bytes, postings, documents).

    Segments never change once written, so what is read from one stays true; keys
    name the segment (with its deletion count where deletions matter).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._found: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._found

    def get(self, key: Hashable, read: Callable[[], object], size: Callable[[object], int]) -> object:
        """``key``'s value, from ``read()`` when not kept (then kept, counting ``size(value)``)."""
        with self._lock:
            if key in self._found:
                self._found.move_to_end(key)
                return self._found[key][0]
        found = read()
        with self._lock:
            if key not in self._found:
                self._found[key] = (found, size(found))
                self.size += self._found[key][1]
            while self.size > self.capacity and len(self._found) > 1:
                _, (_dropped, dropped_size) = self._found.popitem(last=False)
                self.size -= dropped_size
        return found


# Block directories of the terms of the last queries (their posting lists' bytes), and
# positions read from blocks (a block's encoded positions: what proximity reads).
DIRECTORIES = SizedCache(64_000_000)
POSITIONS = SizedCache(32_000_000)


def cached_directory(segment_key: Hashable, reader, fieldname: str, text: str) -> Directory | None:
    """A term's block directory in a segment (None when it lacks the term), from :data:`DIRECTORIES`."""
    return DIRECTORIES.get(  # type: ignore[return-value]
        (segment_key, fieldname, text),
        lambda: segment_postings(reader).directory(fieldname, text.encode("utf-8")),
        lambda found: len(found.raw) + 64 if found else 64,
    )


def block_values(
    segment_key: Hashable, fieldname: str, text: str, found: Directory, index: int
) -> tuple[list[int], tuple]:
    """A block's ids and values (:meth:`Directory.values`), from :data:`POSITIONS`."""
    return POSITIONS.get(  # type: ignore[return-value]
        (segment_key, fieldname, text, index),
        lambda: found.values(index),
        lambda values: 64 * len(values[0]) + sum(map(len, values[1])),  # a position field's values: bytes
    )


_OPENED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_OPENED_LOCK = threading.Lock()


def segment_postings(reader) -> SegmentPostings:
    """The :class:`SegmentPostings` of a segment reader, opened once per reader."""
    with _OPENED_LOCK:
        opened = _OPENED.get(reader)
        if opened is None:
            opened = _OPENED[reader] = SegmentPostings(reader)
    return opened


def doc_frequency(leaves, fieldname: str, text: str) -> int:
    """In how many documents of these segment readers the term is (deleted ones included, as Whoosh counts)."""
    btext = text.encode("utf-8")
    infos = (segment_postings(leaf).info(fieldname, btext) for leaf in leaves)
    return sum(info.doc_frequency() for info in infos if info is not None)
