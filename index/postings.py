"""Writing a term's postings a block at a time, in the format of Whoosh's own codec.

Whoosh's field writer takes postings one call at a time (``add(docnum,
weight, value, length)``, then the codec's ``add_posting``, with its type
checks), which was a fifth of a bulk build. A bulk build already holds a
term's whole posting list, so :class:`BlockCodec` gives Whoosh's field writer
a postings writer that also takes the list at once (:meth:`BlockPostingsWriter.
add_postings`) and writes Whoosh 3's blocks: 128 postings each, the document
numbers delta-encoded, the weights and values minified, the block pickled,
and the term's statistics those Whoosh would record. Everything else (the
term index, field numbers, files) stays Whoosh's field writer's.

One difference, which Whoosh's format provides for: a block whose pickle is
shorter than MIN_COMPRESSED_BYTES is stored uncompressed (its header says so,
as Whoosh's reader expects). zlib spends about 12 µs setting itself up for
each block, whatever its size, so compressing the two thirds of blocks that
hold a posting or two was a tenth of a build, and made them no smaller; Whoosh's
writer means to skip such blocks too (under 20 bytes) but compresses them all.
The tests compare every posting, term statistic, stored field and score with
an index written by Whoosh's writer, and every other file byte for byte.

Segments keep naming Whoosh's plain :class:`W3Codec` (the builder makes them
with it), so an index never needs this module to be read.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence
from itertools import pairwise
from pickle import dumps

from whoosh.codec.base import PostingsWriter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.formats import Format
from whoosh.system import pack_int
from whoosh.util.numeric import length_to_byte

# Postings per block: Whoosh 3's default. zlib level 1 rather than Whoosh's 3: a build
# spends a tenth of its time compressing blocks, level 1 about half as long, for an
# index 1% larger (reading is as fast). Whoosh's writer inlines no posting list (at
# its default limit of 1; above it, it calls a ``set_inline`` that W3TermInfo lacks).
BLOCK_LIMIT, COMPRESSION = 128, 1
_SETTINGS = {"blocklimit": BLOCK_LIMIT, "compression": COMPRESSION, "inlinelimit": 1}
# Shorter pickles are stored as they are: compressed, they come out no smaller.
MIN_COMPRESSED_BYTES = 80
# The block writer keeps posting lists this short in the term index itself, as
# Whoosh's format provides (``W3TermInfo.set_inlined``, read back by its reader):
# half the terms of a segment are in one document only, and a posting list of
# their own cost each of them a block header and two pickles more. Not for a
# format without values (ids): Whoosh's reader gives an inlined posting of one
# the value "", which its writer refuses when it merges the segment.
INLINE_LIMIT = 2


def segment_codec() -> W3Codec:
    """The codec every segment of a Fahras index is written with (and names): Whoosh's, at zlib level 1."""
    return W3Codec(**_SETTINGS)


class BlockCodec(W3Codec):
    """Whoosh's codec, with a postings writer that takes a whole posting list.

    Its field writer is Whoosh's; ``postings`` is the postings writer it uses
    for the field being written (Whoosh's field writer makes one per field).
    """

    def __init__(self) -> None:
        super().__init__(**_SETTINGS)
        self.postings: BlockPostingsWriter | None = None

    def postings_writer(self, dbfile, byteids=False) -> BlockPostingsWriter:
        if byteids:
            raise ValueError("the block writer writes document postings, not term vectors")
        self.postings = BlockPostingsWriter(dbfile)
        return self.postings


class BlockPostingsWriter(PostingsWriter):
    """Writes one term's postings at a time as Whoosh 3's postings writer would, block by block."""

    def __init__(self, postfile) -> None:
        self._postfile = postfile
        self._format: Format | None = None
        self._terminfo: W3TermInfo | None = None
        # Where the next term starts: only postings writers write to this file, so
        # the offset is counted rather than asked for (a system call) twice a term.
        self._offset = postfile.tell()

    def start_postings(self, format_: Format, terminfo: W3TermInfo) -> None:
        self._format = format_
        self._terminfo = None

    def add_postings(
        self,
        docnums: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes] | bytes,
        lengths: Sequence[int],
    ) -> None:
        """A term's whole posting list, in document order: each document's weight, value and field length.

        For a format whose values have a fixed size, ``values`` may be them all in one string.
        """
        if not docnums:
            raise ValueError("a term needs a posting")
        fixed_size = self._format.fixed_value_size()
        if len(docnums) < INLINE_LIMIT and fixed_size != 0:
            self._terminfo = _inlined(docnums, weights, values, lengths, fixed_size)
            return
        postfile = self._postfile
        postfile.write(WHOOSH3_HEADER_MAGIC)
        written = len(WHOOSH3_HEADER_MAGIC)
        joined = isinstance(values, bytes)
        total_weight, minlength, maxlength, maxweight = 0, None, 0, 0
        for start in range(0, len(docnums), BLOCK_LIMIT):
            end = start + BLOCK_LIMIT
            ids = docnums[start:end]
            stored_weights, low, high, heaviest = _statistics(weights[start:end], lengths[start:end])
            total_weight += sum(stored_weights)
            minlength = low if minlength is None else min(minlength, low)
            maxlength, maxweight = max(maxlength, high), max(maxweight, heaviest)
            block_values = values[start * fixed_size : end * fixed_size] if joined else values[start:end]
            data = (
                _delta_encoded(ids),
                _minified_weights(stored_weights),
                _minified_values(block_values, fixed_size),
            )
            databytes = dumps(data, 2)
            level = COMPRESSION if len(databytes) >= MIN_COMPRESSED_BYTES else 0
            if level:
                databytes = zlib.compress(databytes, level)
            info = (len(ids), ids[-1], heaviest, level, length_to_byte(low), length_to_byte(high))
            infobytes = dumps(info, 2)
            size = len(infobytes) + len(databytes)
            header = pack_int(-size if end >= len(docnums) else size)  # negative: the last block
            postfile.write(header)
            postfile.write(infobytes)
            postfile.write(databytes)
            written += len(header) + size
        terminfo = W3TermInfo(
            total_weight, len(docnums), minlength, maxlength, maxweight, docnums[0], docnums[-1]
        )
        terminfo.set_extent(self._offset, written)
        self._offset += written
        self._terminfo = terminfo

    def finish_postings(self) -> W3TermInfo:
        terminfo, self._terminfo = self._terminfo, None
        if terminfo is None:
            raise ValueError("finish_postings before add_postings")
        return terminfo


def _inlined(
    docnums: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes] | bytes,
    lengths: Sequence[int],
    fixed_size: int | None,
) -> W3TermInfo:
    """The term info of a short posting list kept in the term index, as Whoosh's writer inlines it."""
    stored_weights, low, high, heaviest = _statistics(weights, lengths)
    if isinstance(values, bytes):
        values = [values[at : at + fixed_size] for at in range(0, len(values), fixed_size)]
    terminfo = W3TermInfo(sum(stored_weights), len(docnums), low, high, heaviest, docnums[0], docnums[-1])
    terminfo.set_inlined(docnums, stored_weights, [value for value in values if value])
    return terminfo


def _statistics(weights: Sequence[float], lengths: Sequence[int]) -> tuple[array, int | None, int, float]:
    """A block's weights as Whoosh stores them (32-bit floats), its shortest and longest
    field lengths (documents of length 0 left out, as Whoosh does) and its largest weight."""
    present = [length for length in lengths if length]
    low = min(present) if present else None
    return array("f", weights), low, max(present, default=0), max(0, max(weights))


def _delta_encoded(ids: Sequence[int]) -> tuple[int, ...]:
    return (ids[0], *(later - earlier for earlier, later in pairwise(ids)))


def _minified_weights(weights: array) -> float | tuple[float, ...] | None:
    first = weights[0]
    if first == 1.0 and all(weight == 1.0 for weight in weights):
        return None
    if all(weight == first for weight in weights):
        return first
    return tuple(weights)


def _minified_values(
    values: Sequence[bytes] | bytes, fixed_size: int | None
) -> tuple[bytes, ...] | bytes | None:
    if isinstance(values, bytes):  # fixed-size values, already joined
        return values
    present = [value for value in values if value]  # Whoosh keeps no empty value
    if fixed_size is None or fixed_size < 0:
        return tuple(present)
    if fixed_size == 0:
        return None
    return b"".join(present)
