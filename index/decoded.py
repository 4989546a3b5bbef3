"""A segment's long posting lists kept decoded beside it (``<segment>.dec``), for queries to read as arrays.

Whoosh 3's postings are pickled, zlib-compressed blocks of 128. Decoding them in
bulk (:mod:`search.backends.embedded.blocks`) still costs about 14 µs a block, and a
query over a large index decodes the long lists of its common words and roots whole:
at 300,000 documents, over a hundred thousand postings a short query, most of its time.
A bulk build holds every posting list in memory before it writes it, so it also writes
the lists of at least :data:`MIN_POSTINGS` postings of the text fields once more, as
plain arrays a search maps into memory and slices: a file per segment, named like the
segment's other files, so that it is checked, copied, linked into the next generation
and deleted with its segment as they are.

It is a copy, never the only one: a segment without it (merged by Whoosh's own writer,
or built before it existed) is read from its blocks, with the same results.

Layout: :data:`MAGIC`; the header's length (8 bytes, little-endian); the header (JSON:
the arrays' types and, per field and term, where its postings start and how many there
are); padding to 8 bytes; every list's document numbers, then every list's weights. The
numbers are 16-bit where the segment has at most 65,536 documents (a bulk-built one
always has), the weights 8-bit where every one is a whole number below 256 (frequencies,
as text fields store them), else 32-bit floats: what Whoosh stores.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXTENSION = ".dec"
MAGIC = b"FAHRASD1"  # raise the digit when the layout changes: an older file is then refused
MIN_POSTINGS = 512  # shorter lists decode in a few blocks; these hold nine tenths of what queries decode
_LENGTH = struct.Struct("<Q")


class DecodedListsUnreadable(ValueError):
    """A decoded-lists file that is not as written: damage to the index, as a damaged postings file is."""


class DecodedListsWriter:
    """Gathers a segment's long posting lists while it is written, then writes them in one file."""

    def __init__(self, doc_count: int) -> None:
        self._doc_count = doc_count
        self.lists: dict[str, dict[str, tuple[int, int]]] = {}
        self._ids: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._postings = 0

    def add(self, fieldname: str, term: str, docnums: Sequence[int], weights: Sequence[float]) -> None:
        """One term's postings (ascending document numbers, the weights Whoosh stores for them), if long."""
        if len(docnums) < MIN_POSTINGS:
            return
        self.lists.setdefault(fieldname, {})[term] = (self._postings, len(docnums))
        self._ids.append(np.asarray(docnums, np.int64))
        self._weights.append(np.asarray(weights, np.float32))  # what Whoosh's blocks keep
        self._postings += len(docnums)

    def write(self, file) -> None:
        """The file's bytes, to ``file`` (a segment file made through the index's storage)."""
        ids = np.concatenate(self._ids) if self._ids else np.empty(0, np.int64)
        weights = np.concatenate(self._weights) if self._weights else np.empty(0, np.float32)
        ids_type = np.dtype("<u2") if self._doc_count <= 1 << 16 else np.dtype("<i4")
        whole = len(weights) == 0 or bool((weights == np.round(weights)).all() and weights.min() >= 0)
        weights_type = (
            np.dtype("u1") if whole and (len(weights) == 0 or weights.max() < 256) else np.dtype("<f4")
        )
        header = json.dumps(
            {"ids": ids_type.str, "weights": weights_type.str, "postings": len(ids), "lists": self.lists},
            ensure_ascii=False,
        ).encode("utf-8")
        start = len(MAGIC) + _LENGTH.size + len(header)
        file.write(MAGIC + _LENGTH.pack(len(header)) + header + b"\0" * (-start % 8))
        file.write(ids.astype(ids_type).tobytes())
        file.write(weights.astype(weights_type).tobytes())


@dataclass(frozen=True)
class DecodedLists:
    """A segment's decoded long lists, mapped into memory (read-only; pages are read as they are used)."""

    lists: dict[str, dict[str, list[int]]]
    ids: np.ndarray
    weights: np.ndarray

    @classmethod
    def read(cls, path: str) -> DecodedLists | None:
        """The file at ``path`` (None when there is none); :class:`DecodedListsUnreadable` when it is damaged."""
        if not os.path.exists(path):
            return None
        try:
            data = np.asarray(np.memmap(path, np.uint8, "r"))  # a plain view: slices of a memmap cost more
            if bytes(data[: len(MAGIC)]) != MAGIC:
                raise ValueError(f"it does not start with {MAGIC!r}")
            (length,) = _LENGTH.unpack(bytes(data[len(MAGIC) : len(MAGIC) + _LENGTH.size]))
            start = len(MAGIC) + _LENGTH.size
            header = json.loads(bytes(data[start : start + length]).decode("utf-8"))
            ids_type, weights_type = np.dtype(header["ids"]), np.dtype(header["weights"])
            postings = int(header["postings"])
            at = start + length + (-(start + length) % 8)
            end = at + postings * (ids_type.itemsize + weights_type.itemsize)
            if end != len(data):
                raise ValueError(f"it holds {len(data)} bytes where its header gives {end}")
            ids = data[at : at + postings * ids_type.itemsize].view(ids_type)
            weights = data[at + postings * ids_type.itemsize : end].view(weights_type)
            return cls(header["lists"], ids, weights)
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise DecodedListsUnreadable(f"{os.path.basename(path)} does not read back: {error}") from error

    def holds(self, fieldname: str, term: str) -> bool:
        return term in self.lists.get(fieldname, ())

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's document numbers (int32) and weights (float32), or None when it is not kept here."""
        found = self.lists.get(fieldname, {}).get(term)
        if found is None:
            return None
        start, count = found
        if start < 0 or count < 0 or start + count > len(self.ids):
            raise DecodedListsUnreadable(f"the list of {fieldname}:{term!r} lies outside the file")
        kept = slice(start, start + count)
        return self.ids[kept].astype(np.int32), self.weights[kept].astype(np.float32)


def path_of(storage, segment) -> str | None:
    """Where a segment's decoded lists are, for an index in a folder (None for one in memory)."""
    folder = getattr(storage, "folder", None)
    return None if folder is None else os.path.join(folder, segment.make_filename(EXTENSION))
