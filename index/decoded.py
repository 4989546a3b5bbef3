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

The lists of a positional field without a boost (``title``, ``body``) keep their positions
too: proximity and phrases read a candidate document's positions, and from Whoosh's blocks
that is a whole block inflated and unpickled for one document (most of a short query's
proximity time at 300,000 documents); here it is a slice.

Layout: :data:`MAGIC`; the header's length (8 bytes, little-endian); the header (JSON:
the arrays' types and sizes and, per field and term, where its postings start, how many
there are and, for a list with positions, where its skips start); padding to 8 bytes;
every list's document numbers, then every list's weights; padding to 8 bytes, every
kept list's positions (each posting's, ascending, one posting after another: as many as
its weight, its frequency); padding to 8 bytes, the skips: where the positions of every
:data:`SKIP`-th posting of a list start. The numbers are 16-bit where the segment has at
most 65,536 documents (a bulk-built one always has), the weights 8-bit where every one is
a whole number below 256 (frequencies, as text fields store them), else 32-bit floats:
what Whoosh stores; positions are 16-bit where every one is below 65,536. A file of the
first layout (:data:`MAGIC_WITHOUT_POSITIONS`, no positions) is read as it is.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXTENSION = ".dec"
MAGIC = b"FAHRASD2"  # raise the digit when the layout changes
MAGIC_WITHOUT_POSITIONS = b"FAHRASD1"  # the first layout, which ends after the weights
MIN_POSTINGS = 512  # shorter lists decode in a few blocks; these hold nine tenths of what queries decode
SKIP = 128  # a list's postings per skip: finding a posting's positions adds up at most this many weights
_LENGTH = struct.Struct("<Q")


class DecodedListsUnreadable(ValueError):
    """A decoded-lists file that is not as written: damage to the index, as a damaged postings file is."""


class DecodedListsWriter:
    """Gathers a segment's long posting lists while it is written, then writes them in one file."""

    def __init__(self, doc_count: int) -> None:
        self._doc_count = doc_count
        self.lists: dict[str, dict[str, list[int]]] = {}
        self._ids: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []
        self._skips: list[np.ndarray] = []
        self._postings = self._position_count = self._skip_count = 0

    @staticmethod
    def keeps(postings: int) -> bool:
        """Whether a list of this many postings is kept."""
        return postings >= MIN_POSTINGS

    def add(
        self,
        fieldname: str,
        term: str,
        docnums: Sequence[int],
        weights: Sequence[float],
        positions: np.ndarray | None = None,
    ) -> None:
        """One term's postings (ascending document numbers, the weights Whoosh stores for them), if long;
        ``positions``: each posting's positions one after another, as many as its weight (or None)."""
        if not self.keeps(len(docnums)):
            return
        entry = [self._postings, len(docnums)]
        self._ids.append(np.asarray(docnums, np.int64))
        self._weights.append(np.asarray(weights, np.float32))  # what Whoosh's blocks keep
        self._postings += len(docnums)
        if positions is not None:
            ends = np.cumsum(np.asarray(weights, np.int64))
            if ends[-1] != len(positions):
                raise ValueError(
                    f"{fieldname}:{term!r} has {len(positions)} positions for frequencies of {ends[-1]}"
                )
            entry.append(self._skip_count)
            skips = self._position_count + np.concatenate(([0], ends[:-1]))[::SKIP]
            self._skips.append(skips)
            self._positions.append(np.asarray(positions, np.int64))
            self._skip_count += len(skips)
            self._position_count += len(positions)
        self.lists.setdefault(fieldname, {})[term] = entry

    def write(self, file) -> None:
        """The file's bytes, to ``file`` (a segment file made through the index's storage)."""
        ids, weights, positions, skips = (
            np.concatenate(parts) if parts else np.empty(0, dtype)
            for parts, dtype in (
                (self._ids, np.int64), (self._weights, np.float32), (self._positions, np.int64),
                (self._skips, np.int64),
            )
        )  # fmt: skip
        ids_type = _smallest(self._doc_count - 1, "<u2", "<i4")
        whole = len(weights) == 0 or bool((weights == np.round(weights)).all() and weights.min() >= 0)
        weights_type = (
            np.dtype("u1") if whole and (len(weights) == 0 or weights.max() < 256) else np.dtype("<f4")
        )
        positions_type = _smallest(int(positions.max()) if len(positions) else 0, "<u2", "<u4")
        skips_type = _smallest(len(positions), "<u4", "<i8")
        header = json.dumps(
            {
                "ids": ids_type.str, "weights": weights_type.str, "postings": len(ids),
                "positions": positions_type.str, "position_count": len(positions),
                "skips": skips_type.str, "skip_count": len(skips), "lists": self.lists,
            },
            ensure_ascii=False,
        ).encode("utf-8")  # fmt: skip
        written = len(MAGIC) + _LENGTH.size + len(header)
        file.write(MAGIC + _LENGTH.pack(len(header)) + header)
        for array, dtype in ((ids, ids_type), (weights, weights_type), (positions, positions_type),
                             (skips, skips_type)):  # fmt: skip
            if array is not weights:  # the weights follow the ids unpadded, as in the first layout
                file.write(b"\0" * (-written % 8))
                written += -written % 8
            data = array.astype(dtype).tobytes()
            file.write(data)
            written += len(data)


def _smallest(largest: int, small: str, large: str) -> np.dtype:
    """The small type when it holds ``largest`` (and 0), else the large one."""
    return np.dtype(small) if largest <= np.iinfo(np.dtype(small)).max else np.dtype(large)


@dataclass(frozen=True)
class KeptPositions:
    """One list's positions in a decoded-lists file: each of its documents' positions, by document number."""

    ids: np.ndarray
    weights: np.ndarray  # each posting's frequency: its number of positions
    skips: np.ndarray  # where the positions of postings 0, SKIP, 2 * SKIP... start
    positions: np.ndarray  # the file's positions (every list's)

    def at(self, docnum: int) -> list[int]:
        """The positions of the term in the segment's document ``docnum`` (none when it is not there)."""
        posting = int(np.searchsorted(self.ids, docnum))
        if posting == len(self.ids) or self.ids[posting] != docnum:
            return []
        start = int(self.skips[posting // SKIP]) + int(self.weights[posting - posting % SKIP : posting].sum())
        end = start + int(self.weights[posting])
        if end > len(self.positions):
            raise DecodedListsUnreadable(f"positions {start}-{end} lie outside the file")
        return self.positions[start:end].tolist()


@dataclass(frozen=True)
class DecodedLists:
    """A segment's decoded long lists, mapped into memory (read-only; pages are read as they are used)."""

    lists: dict[str, dict[str, list[int]]]
    ids: np.ndarray
    weights: np.ndarray
    positions: np.ndarray
    skips: np.ndarray

    @classmethod
    def read(cls, path: str) -> DecodedLists | None:
        """The file at ``path`` (None when there is none); :class:`DecodedListsUnreadable` when it is damaged."""
        if not os.path.exists(path):
            return None
        try:
            data = np.asarray(np.memmap(path, np.uint8, "r"))  # a plain view: a memmap's slices cost more
            return cls._parse(data)
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise DecodedListsUnreadable(f"{os.path.basename(path)} does not read back: {error}") from error

    @classmethod
    def _parse(cls, data: np.ndarray) -> DecodedLists:
        magic = bytes(data[: len(MAGIC)])
        if magic not in (MAGIC, MAGIC_WITHOUT_POSITIONS):
            raise ValueError(f"it does not start with {MAGIC!r}")
        (length,) = _LENGTH.unpack(bytes(data[len(MAGIC) : len(MAGIC) + _LENGTH.size]))
        start = len(MAGIC) + _LENGTH.size
        header = json.loads(bytes(data[start : start + length]).decode("utf-8"))
        sections = [("ids", "postings"), ("weights", "postings")]
        if magic == MAGIC:
            sections += [("positions", "position_count"), ("skips", "skip_count")]
        arrays, at = {"positions": np.empty(0, np.uint16), "skips": np.empty(0, np.uint32)}, start + length
        for name, count in sections:
            if name != "weights":
                at += -at % 8
            dtype = np.dtype(header[name])
            end = at + int(header[count]) * dtype.itemsize
            if end > len(data):
                raise ValueError(f"it holds {len(data)} bytes where its header gives more")
            arrays[name], at = data[at:end].view(dtype), end
        if at != len(data):
            raise ValueError(f"it holds {len(data)} bytes where its header gives {at}")
        return cls(header["lists"], **arrays)

    def holds(self, fieldname: str, term: str) -> bool:
        return term in self.lists.get(fieldname, ())

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's document numbers (int32) and weights (float32), or None when it is not kept here."""
        found = self._span(fieldname, term)
        if found is None:
            return None
        kept, _entry = found
        return self.ids[kept].astype(np.int32), self.weights[kept].astype(np.float32)

    def kept_positions(self, fieldname: str, term: str) -> KeptPositions | None:
        """The term's positions, or None when they are not kept here."""
        found = self._span(fieldname, term)
        if found is None or len(found[1]) < 3:
            return None
        kept, (_start, count, first) = found
        wanted = -(-count // SKIP)
        skips = self.skips[first : first + wanted]
        if first < 0 or len(skips) != wanted:
            raise DecodedListsUnreadable(f"the skips of {fieldname}:{term!r} lie outside the file")
        return KeptPositions(self.ids[kept], self.weights[kept], skips, self.positions)

    def _span(self, fieldname: str, term: str) -> tuple[slice, list[int]] | None:
        """Where the term's postings lie in the file's arrays, and its header entry (None when it is not
        kept here)."""
        entry = self.lists.get(fieldname, {}).get(term)
        if entry is None:
            return None
        start, count = entry[:2]
        if start < 0 or count < 0 or start + count > len(self.ids):
            raise DecodedListsUnreadable(f"the list of {fieldname}:{term!r} lies outside the file")
        return slice(start, start + count), entry


def path_of(storage, segment) -> str | None:
    """Where a segment's decoded lists are, for an index in a folder (None for one in memory)."""
    folder = getattr(storage, "folder", None)
    return None if folder is None else os.path.join(folder, segment.make_filename(EXTENSION))
