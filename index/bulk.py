"""Writing a whole Whoosh segment from documents held in memory: the bulk segment builder.

Whoosh's own writer sends every posting of every document through a pool
that it sorts, pickles to disk in runs and merges back before writing the
terms; profiling a 10,000-article build put two thirds of the time there.
A bulk build knows a segment's documents before it writes its terms, so
:class:`SegmentBuilder` keeps each field's postings in memory, term by term
and already in document order, and at the end writes the terms once, sorted,
through the codec's own field writer, each term's posting list handed over
whole (:mod:`index.postings`). Stored fields, lengths and columns go through
the codec's per-document writer in the order Whoosh's ``SegmentWriter`` uses,
so a segment holds what Whoosh writes for the same documents (the tests
compare every posting, term statistic, length and score, and every file but
the postings' byte for byte).

Text fields indexed through a word memo (:meth:`AnalysedText.memo_chain`)
that are copies of one text (:data:`index.schema.COPIES`: ``body``,
``body_exact`` and ``body_root`` all index the body) are analysed together:
one pass over the words of the text, and one memo lookup per distinct word
giving the forms of every chain at once. The forms come from each chain's
own :meth:`CachedChain.analyze`, so analysis rules live in
:mod:`index.analysis` alone.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from whoosh.codec.base import Segment
from whoosh.fields import FieldType, Schema, UnknownFieldError
from whoosh.filedb.filestore import Storage

from .analysis import CachedChain, WordTokenizer, script_of
from .decoded import EXTENSION, DecodedListsWriter
from .postings import BlockCodec
from .schema import COPIES, AnalysedText, joined_frequencies

# A word memo this large is dropped and started again (as CachedChain's are).
MAX_FUSED_WORDS = 1_000_000
_COPY_OF = {copy: text for text, copies in COPIES.items() for copy in copies}  # body_exact -> body


class _TermPostings:
    """One term's postings in one segment, in document order (of a field without a word memo)."""

    __slots__ = ("docnums", "values", "weights")

    def __init__(self) -> None:
        self.docnums = array("I")
        self.weights = array("d")  # doubles: the block headers keep Whoosh's exact maxima
        self.values: list[bytes | None] = []

    def add(self, docnum: int, weight: float, value: bytes | None) -> None:
        self.docnums.append(docnum)
        self.weights.append(weight)
        self.values.append(value)


@dataclass
class _MemoField:
    """A text field indexed through a word memo: its chain and how its postings are encoded.

    Its postings are kept packed, one ``array('I')`` per term holding
    ``docnum, frequency`` (and the positions, for a format that stores them)
    for each document: about 12 bytes a posting instead of 60 as Python
    objects. They are encoded when written.
    """

    name: str
    chain: CachedChain
    boost: float
    scorable: bool
    encode: Callable[[Sequence[int]], bytes]
    keeps_positions: bool
    single_position_values: dict[int, bytes] = field(default_factory=dict)  # position -> encode((position,))

    def postings(self, packed: array) -> tuple[array, list[float], list[bytes] | bytes]:
        """The docnums, weights and values of one term's packed postings, as Whoosh's field would give them.

        Frequencies, a fixed-size value, come back joined in one string.
        """
        boost = self.boost
        if not self.keeps_positions:
            docnums, frequencies = packed[0::2], packed[1::2]
            return docnums, [f * boost for f in frequencies], joined_frequencies(frequencies)
        encode, once = self.encode, self.single_position_values
        docnums, weights, values = array("I"), [], []
        end, at = len(packed), 0
        while at < end:
            frequency = packed[at + 1]
            start = at + 2
            docnums.append(packed[at])
            weights.append(frequency * boost)
            at = start + frequency
            if frequency == 1:  # most postings: their values repeat, one per position
                value = once.get(packed[start])
                if value is None:
                    value = once[packed[start]] = encode((packed[start],))
            else:
                value = encode(packed[start:at].tolist())
            values.append(value)
        return docnums, weights, values

    def flat_positions(self, packed: array, weights: list[float]) -> np.ndarray | None:
        """Every posting's positions one after another, or None for a field without positions or with a
        boost (whose weights are not the frequencies, :class:`index.decoded.KeptPositions` counts by)."""
        if not self.keeps_positions or self.boost != 1.0:
            return None
        data = np.frombuffer(packed, np.dtype(f"u{packed.itemsize}"))
        frequencies = np.asarray(weights, np.int64)
        heads = 2 * np.arange(len(frequencies)) + np.cumsum(frequencies) - frequencies  # each docnum's place
        positions = np.ones(len(data), bool)
        positions[heads] = positions[heads + 1] = False  # a posting's docnum and frequency
        return data[positions]


class FusedChains:
    """The forms of a word under several chains at once, with one memo lookup.

    Fahras's chains begin with the same normalisation and stop-word filters
    (the exact chain is nothing else), so a new word goes through that shared
    beginning once and through each chain's own last filters after it.
    A chain chooses its filters by the script of the word it was given; when
    the shared filters change a word's script (a tatweel before Latin letters)
    each chain analyses the word whole instead, so the forms are always those
    of each chain's own :meth:`CachedChain.analyze` (the tests compare them).
    """

    def __init__(self, chains: tuple[CachedChain, ...]) -> None:
        self.chains = chains
        shared = _common_prefix([chain.filters for chain in chains])
        self._shared = CachedChain(*shared)
        # None for a chain that is nothing but the shared filters (the exact chain).
        self._own = tuple(
            CachedChain(*chain.filters[len(shared) :]) if len(chain.filters) > len(shared) else None
            for chain in chains
        )
        self._memo: dict[str, tuple[tuple[int, str], ...]] = {}

    def placed_forms(self, word: str) -> tuple[tuple[int, str], ...]:
        """``(chain number, form)`` for each form of ``word`` under each chain, in chain order."""
        placed = self._memo.get(word)
        if placed is None:
            if len(self._memo) >= MAX_FUSED_WORDS:
                self._memo.clear()
            placed = self._memo[word] = tuple(
                (number, form) for number, forms in enumerate(self._analyze(word)) for form in forms
            )
        return placed

    def _analyze(self, word: str) -> tuple[tuple[str, ...], ...]:
        middle = self._shared.analyze(word)
        script = script_of(word)
        if any(script_of(text) != script for text in middle):
            return tuple(chain.analyze(word) for chain in self.chains)
        return tuple(
            middle if own is None else tuple(form for text in middle for form in own.analyze(text))
            for own in self._own
        )


def _common_prefix(sequences: list[tuple]) -> tuple:
    shared = 0
    for items in zip(*sequences, strict=False):
        if any(item != items[0] for item in items[1:]):
            break
        shared += 1
    return sequences[0][:shared]


def supports(schema: Schema) -> bool:
    """Whether the builder writes this schema's segments exactly as Whoosh would.

    Term vectors and separate spelling words are not written by the builder
    (Fahras's schema has neither); such a schema keeps Whoosh's writer.
    """
    return all(not f.vector and not f.separate_spelling() for _, f in schema.items())


# ``_stored_<field>``: what to store for a field instead of the value indexed, as
# Whoosh's writer takes it (a long body is indexed whole but stored capped).
STORED_PREFIX = "_stored_"


class SegmentBuilder:
    """Builds one segment: ``add_document`` for each document, then ``finish``.

    Document numbers are given in order from 0, as in any Whoosh segment.
    An error while adding leaves the builder unusable: the build it belongs
    to fails as a whole (nothing partial is ever committed).
    """

    def __init__(self, storage: Storage, schema: Schema, segment: Segment):
        if not supports(schema):
            raise ValueError("the bulk builder does not write term vectors or spelling words")
        self.storage = storage
        self.schema = schema
        self.segment = segment
        self.codec = segment.codec()
        self._block_codec = BlockCodec()
        self.doc_count = 0
        self.text_chars = 0  # characters of text analysed, to bound a segment's memory
        self._perdoc = self.codec.per_document_writer(storage, segment)
        self._terms: dict[str, dict] = {name: {} for name, f in schema.items() if f.indexed}
        self._memo_fields = {name: _memo_field(name, f) for name, f in schema.items() if _memo_chain(f)}
        self._fused: dict[tuple[str, ...], FusedChains] = {}

    def add_document(self, fields: Mapping[str, object]) -> None:
        """Index one document (field name -> value), as ``IndexWriter.add_document`` would."""
        docnum = self.doc_count
        names = sorted(name for name in fields if not name.startswith(STORED_PREFIX))
        self._check(names)
        self._check([name[len(STORED_PREFIX) :] for name in fields if name.startswith(STORED_PREFIX)])
        lengths: dict[str, int] = {}
        texts: dict[tuple[str, str], list[str]] = {}  # (the text a field copies, its value) -> the fields
        for name in names:
            value = fields[name]
            if value is None or not self.schema[name].indexed:
                continue
            if name in self._memo_fields and isinstance(value, str):
                texts.setdefault((_COPY_OF.get(name, name), value), []).append(name)
            else:
                lengths[name] = self._index_value(name, value, docnum)
        for (_text, value), group in texts.items():
            self._index_text(value, group, docnum, lengths)
            self.text_chars += len(value)
        self._write_per_document(fields, names, lengths, docnum)
        self.doc_count += 1

    def finish(self, on_terms: Callable[[int, int], None] | None = None, every: int = 2000) -> Segment:
        """Write the terms and postings and close the segment's files; returns the segment.

        ``on_terms(written, total)`` is called every ``every`` terms, for a progress display.
        """
        self._perdoc.close()
        self.segment.set_doc_count(self.doc_count)
        lengths_reader = self.codec.per_document_reader(self.storage, self.segment)
        writer = self._block_codec.field_writer(self.storage, self.segment)
        total = sum(len(terms) for terms in self._terms.values())
        written = 0
        decoded = DecodedListsWriter(self.doc_count)
        try:
            for name in sorted(self._terms):
                terms = self._terms.pop(name)
                if terms:
                    lengths = [lengths_reader.doc_field_length(d, name) for d in range(self.doc_count)]
                    for written_in_field in self._write_field(writer, name, terms, lengths, every, decoded):
                        if on_terms is not None:
                            on_terms(written + written_in_field, total)
                    written += len(terms)
        finally:
            writer.close()
            lengths_reader.close()
        if decoded.lists:
            with self.segment.create_file(self.storage, EXTENSION) as file:
                decoded.write(file)
        if on_terms is not None:
            on_terms(total, total)
        return self.segment

    # ------------------------------------------------------------ per document

    def _check(self, names: list[str]) -> None:
        for name in names:
            if name.startswith("_"):
                raise ValueError(f"the bulk builder takes no boosts ({name})")
            if name not in self.schema:
                raise UnknownFieldError(f"No field named {name!r} in {self.schema}")

    def _index_value(self, name: str, value: object, docnum: int) -> int:
        """Whoosh's own ``FieldType.index`` for a field without a word memo; returns its length."""
        if name in self._memo_fields:
            raise ValueError(f"field {name!r}: the bulk builder takes text as one string, not {value!r:.40}")
        field_type = self.schema[name]
        terms = self._terms[name]
        length = 0
        for term, frequency, weight, value_bytes in field_type.index(value):
            postings = terms.get(term)
            if postings is None:
                postings = terms[term] = _TermPostings()
            postings.add(docnum, weight, value_bytes)
            length += frequency
        return length if field_type.scorable else 0

    def _index_text(self, value: str, names: list[str], docnum: int, lengths: dict[str, int]) -> None:
        """Index one text into every memo field that holds it, reading its words once."""
        occurrences: dict[str, list[int]] = {}
        for position, word in enumerate(WordTokenizer.words(value)):
            found = occurrences.get(word)
            if found is None:
                occurrences[word] = [position]
            else:
                found.append(position)
        memo_fields = [self._memo_fields[name] for name in names]
        fused = self._fused.get(tuple(names))
        if fused is None:
            fused = self._fused[tuple(names)] = FusedChains(tuple(f.chain for f in memo_fields))
        by_field: list[dict[str, list[int]]] = [{} for _ in names]
        for word, positions in occurrences.items():
            for field_number, form in fused.placed_forms(word):
                forms_of_field = by_field[field_number]
                if form in forms_of_field:  # two words with one form (الانتخابات, انتخابات): positions merged
                    forms_of_field[form] = sorted(forms_of_field[form] + positions)
                else:
                    forms_of_field[form] = positions
        for memo_field, forms_of_field in zip(memo_fields, by_field, strict=True):
            lengths[memo_field.name] = self._add_text_postings(memo_field, forms_of_field, docnum)

    def _add_text_postings(self, memo_field: _MemoField, forms: dict[str, list[int]], docnum: int) -> int:
        terms = self._terms[memo_field.name]
        keeps_positions = memo_field.keeps_positions
        length = 0
        for form, positions in forms.items():
            length += len(positions)
            packed = terms.get(form)
            if packed is None:
                packed = terms[form] = array("I")
            packed.append(docnum)
            packed.append(len(positions))
            if keeps_positions:
                packed.extend(positions)
        return length if memo_field.scorable else 0

    def _write_per_document(self, fields: Mapping, names: list[str], lengths: dict, docnum: int) -> None:
        """Stored values, lengths and columns, field by field in name order (as Whoosh does)."""
        perdoc = self._perdoc
        perdoc.start_doc(docnum)
        for name in names:
            if fields[name] is None:
                continue
            value = fields.get(STORED_PREFIX + name, fields[name])  # Whoosh's own custom stored value
            field_type = self.schema[name]
            perdoc.add_field(name, field_type, value if field_type.stored else None, lengths.get(name, 0))
            if field_type.column_type and value is not None:
                perdoc.add_column_value(name, field_type.column_type, field_type.to_column_value(value))
        perdoc.finish_doc()

    # ------------------------------------------------------------ terms

    def _write_field(
        self, writer, name: str, terms: dict, lengths: list, every: int, decoded: DecodedListsWriter
    ) -> Iterator[int]:
        """One field's terms in sorted order (text sorts as its UTF-8 bytes do); yields every ``every`` terms.

        A text field's long lists go to ``decoded`` as well (:mod:`index.decoded`).
        """
        writer.start_field(name, self.schema[name])
        postings = self._block_codec.postings  # the postings writer Whoosh's field writer made for this field
        memo_field = self._memo_fields.get(name)
        for number, term in enumerate(sorted(terms), 1):
            found = terms[term]
            if memo_field is None:
                writer.start_term(term)
                docnums, weights, values = found.docnums, found.weights, found.values
            else:
                writer.start_term(term.encode("utf-8"))
                docnums, weights, values = memo_field.postings(found)
                if decoded.keeps(len(docnums)):
                    decoded.add(name, term, docnums, weights, memo_field.flat_positions(found, weights))
            postings.add_postings(docnums, weights, values, [lengths[docnum] for docnum in docnums])
            writer.finish_term()
            if number % every == 0:
                yield number
        writer.finish_field()


def _memo_chain(field_type: FieldType) -> CachedChain | None:
    return field_type.memo_chain() if isinstance(field_type, AnalysedText) else None


def _memo_field(name: str, field_type: AnalysedText) -> _MemoField:
    return _MemoField(
        name=name,
        chain=field_type.memo_chain(),
        boost=field_type.format.field_boost,
        scorable=field_type.scorable,
        encode=field_type.encoder(),
        keeps_positions=field_type.format.supports("positions"),
    )
