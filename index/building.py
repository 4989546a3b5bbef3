"""The writer behind ``fahras index`` and ``fahras rebuild``: bulk-built segments, committed by Whoosh.

:class:`BulkWriter` takes documents the way Whoosh's writer does
(``add_document``, ``update_document``, ``delete_by_term``, ``commit``) and
writes them as follows:

- documents are gathered in contiguous chunks, bounded by a number of
  documents and of characters of text (so a worker's memory is bounded
  too); each chunk becomes one segment, built by :class:`SegmentBuilder`
  in a forked worker process (or in this process, when the build is small);
- a worker starts on its chunk with the chunk's first documents: the rest
  follow in batches as they are read, so the first worker builds while
  this process reads the next chunk, instead of waiting for all of its own;
- deletions, the merge policy and the commit go through Whoosh's own
  ``SegmentWriter``: it takes Whoosh's lock, merges what the policy asks
  for, and writes one table of contents listing the old segments and then
  the new ones in chunk order (so document numbers follow the input order,
  whatever the number of workers);
- the commit happens only once every chunk is back and the segments hold
  exactly the documents that were added; a worker that died or failed
  fails the whole build, and ``cancel`` (or leaving the ``with`` block on
  an error) ends the workers and deletes the segments that were written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain

from whoosh.codec.base import Segment
from whoosh.index import Index
from whoosh.reading import SegmentReader
from whoosh.writing import IndexWriter

from .bulk import SegmentBuilder
from .postings import segment_codec
from .progress import ADDING, MERGING, WRITING, Progress
from .workers import Counters, WorkerFailed, WorkerPool

# A segment holds at most this many documents and characters of text: a
# worker needs about 200 MB plus 25 KB per document of its segment (1.6 GB
# for 58,000 documents of 320 million characters).
SEGMENT_MAX_DOCS = 64_000
SEGMENT_MAX_CHARS = 320_000_000
# The first chunks are bounded at 1/SEGMENT_GROWTH of that, and the bounds double after
# each round of one chunk per worker (16,000 documents, then 32,000, then 64,000): small
# first chunks set every worker going early and keep a build of a few tens of thousands
# of documents parallel; large later ones give a large archive few segments, and every
# query pays for each segment (a term lookup per word and field, a list read in each).
SEGMENT_GROWTH = 4
# Each incremental run adds a small segment; once more than MAX_SMALL_SEGMENTS
# hold fewer than SMALL_SEGMENT_DOCS live documents, they are merged into one.
SMALL_SEGMENT_DOCS = 2_000
MAX_SMALL_SEGMENTS = 3
# A last chunk this small is built in this process when no worker was started
# (the few documents of most incremental runs): forking would cost more.
IN_PROCESS_MAX_DOCS = 2_000
# Documents are handed to a chunk's worker in batches of this many.
BATCH_DOCS = 200
# How often (in documents, and in terms) a segment being built reports progress.
REPORT_EVERY = 200

# The counters each worker keeps for the progress display.
_DOCS, _TERMS, _TERMS_WRITTEN = range(3)

MergePolicy = Callable[[IndexWriter, list], list]


class BulkWriter:
    """Writes documents into new segments of ``ix`` (see the module docstring)."""

    def __init__(
        self,
        ix: Index,
        *,
        procs: int,
        progress: Progress,
        expected_bytes: int | None = None,
        max_docs: int = SEGMENT_MAX_DOCS,
        max_chars: int = SEGMENT_MAX_CHARS,
        growth: int = SEGMENT_GROWTH,
    ) -> None:
        self.ix = ix
        self.schema = ix.schema
        self.codec = segment_codec()
        self.progress = progress
        # A build that knows how many bytes of input it will read (a rebuild) deals
        # them evenly, one chunk per worker when they fit: a chunk ends where its
        # share of the input does (``add_document``'s ``read_to``), since a worker's
        # time goes with the text it analyses and the first half of an archive can
        # hold a quarter more text than the second. Bytes, not documents: the input
        # is read once, so the documents are not counted beforehand.
        self.share = -(-expected_bytes // procs) if expected_bytes else None
        self.procs, self.growth = procs, growth
        self.max_docs, self.max_chars = max_docs, max_chars
        self.added = 0
        self._pending: list[dict] = []  # documents of the open chunk not yet handed to its worker
        self._chunk_docs = 0  # documents and characters of the open chunk
        self._chunk_chars = 0
        self._chunks_ended = 0
        self._streaming: int | None = None  # the open chunk's number, once a worker has it
        self._segments: list[Segment] = []  # in chunk order
        self._built: set[int] = set()  # chunk numbers whose segment is finished
        self._here = [0, 0, 0]  # progress counters of segments built in this process
        self._worker_counts: list[int] | None = None  # a worker's own (set in the worker)
        self._shown_docs = 0
        self._committing = False
        self._committed = False
        self._whoosh: IndexWriter | None = None
        self._pool = None
        if procs > 1:
            self._pool = WorkerPool(
                procs, self._build_chunk, counters=3, on_wait=self._show, on_start=self._load_analysers,
                spool_dir=getattr(ix.storage, "folder", None),
            )  # fmt: skip
            if (
                expected_bytes
            ):  # every worker will have a chunk: each loads its analysers while this one reads
                try:
                    self._pool.start()
                except BaseException:
                    self._pool.close(kill=True)
                    raise

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None:
            self.cancel()

    # ------------------------------------------------------------ IndexWriter's methods

    def add_document(self, fields: dict, read_to: int = 0) -> None:
        """Add one document's fields; ``read_to`` is how many bytes of the build's input are read with it."""
        self._pending.append(fields)
        self._chunk_docs += 1
        self._chunk_chars += text_chars(fields)
        self.added += 1
        share_read = self.share is not None and read_to >= self.share * (self._chunks_ended + 1)
        most_docs, most_chars = self._chunk_bounds()
        if share_read or self._chunk_docs >= most_docs or self._chunk_chars >= most_chars:
            self._end_chunk()
        elif self._pool is not None and len(self._pending) >= self._batch_docs():
            self._hand_over()

    def update_document(self, fields: dict, read_to: int = 0) -> None:
        """Replace the documents sharing a unique field's value (as Whoosh's writer does)."""
        for name, field_type in self.schema.items():
            if field_type.unique and name in fields:
                self.delete_by_term(name, fields[name])
        self.add_document(fields, read_to)

    def delete_by_term(self, fieldname: str, text: str) -> None:
        self._whoosh_writer().delete_by_term(fieldname, text)

    def commit(self, mergetype: MergePolicy | None = None) -> None:
        """Finish every segment, check them, and commit them with the existing ones (after ``mergetype``)."""
        policy = mergetype or merge_small_segments
        self._committing = True
        try:
            if self._chunk_docs:
                self._end_chunk(last=True)
            if self._pool is not None:
                self._collect(self._pool.drain())
            new = self._finished_segments()
            self._whoosh_writer().commit(mergetype=lambda writer, old: self._merge(policy, writer, old) + new)
            self._whoosh, self._segments, self._committed = None, [], True
        except BaseException:
            self.cancel()
            raise
        finally:
            self.progress.close()
        if self._pool is not None:
            self._pool.close()

    def _merge(self, policy: MergePolicy, writer: IndexWriter, old: list) -> list:
        """Apply the merge policy; the segments it merges are written after it, in a phase of their own."""
        kept = policy(writer, old)
        merged = [segment for segment in old if segment not in kept and segment.doc_count() > 0]
        if merged:
            self.progress.phase(MERGING, total=len(merged), unit="segments")
        return kept

    def cancel(self) -> None:
        """Abandon the build: end the workers, delete the new segments' files, release Whoosh's lock.

        After a commit there is nothing left to abandon (the workers are ended all the same).
        """
        if self._pool is not None:
            self._pool.close(kill=True)
        if self._committed:
            return
        storage = self.ix.storage
        for segment in self._segments:
            for name in segment.list_files(storage):
                storage.delete_file(name)
        self._segments = []
        if self._whoosh is not None:
            self._whoosh.cancel()  # releases Whoosh's lock and removes its temporary files
            self._whoosh = None
        else:  # the per-document writers' temporary folder (a commit's writer removes it)
            storage.temp_storage(f"{self.ix.indexname}.tmp").destroy()

    # ------------------------------------------------------------ chunks

    def _chunk_bounds(self) -> tuple[int, int]:
        """The documents and characters the open chunk may hold (see SEGMENT_GROWTH)."""
        doubled = 1 << min(self._chunks_ended // self.procs, self.growth.bit_length())
        share = min(doubled, self.growth) / self.growth
        return max(1, int(self.max_docs * share)), max(1, int(self.max_chars * share))

    def _batch_docs(self) -> int:
        """Pending documents that make a batch: once workers run, a batch; before, more than fit in-process."""
        return BATCH_DOCS if self._streaming is not None or self._pool.started else IN_PROCESS_MAX_DOCS + 1

    def _hand_over(self) -> None:
        """Hand the pending documents to the open chunk's worker, giving the chunk to one first."""
        if self._streaming is None:
            self._streaming = self._new_segment()
            self._collect(self._pool.begin(self._streaming, self._segments[self._streaming]))
        if self._pending:
            self._pool.send(self._streaming, self._pending)
            self._pending = []

    def _end_chunk(self, last: bool = False) -> None:
        """Close the open chunk: its worker gets the rest, or a small last one is built here."""
        in_process = self._pool is None or (last and not self._pool.started)
        if self._streaming is None and in_process:
            number = self._new_segment()
            self._segments[number] = self._build(
                self._segments[number], self._pending, self._here, self._show
            )
            self._built.add(number)
        else:
            self._hand_over()
            self._pool.end(self._streaming)
            self._streaming = None
        self._pending, self._chunk_docs, self._chunk_chars = [], 0, 0
        self._chunks_ended += 1

    def _new_segment(self) -> int:
        self._segments.append(self.codec.new_segment(self.ix.storage, self.ix.indexname))
        return len(self._segments) - 1

    def _load_analysers(self) -> None:
        """Run every field's analyser once (a worker's start, while the parent reads its chunk).

        The analysers import NLTK's stemmers on first use, up to a second of
        imports, which would otherwise delay the worker's first document.
        """
        for _name, field_type in self.schema.items():
            analyser = getattr(field_type, "analyzer", None)  # stored-only fields have none
            if analyser is not None:
                for _token in analyser("كتاب book"):
                    pass

    def _build_chunk(self, segment: Segment, batches: Iterator[list[dict]], counters: Counters) -> Segment:
        """A worker's task: one chunk, arriving in batches, into one segment (runs in the worker process)."""
        documents = chain.from_iterable(batches)
        if self._worker_counts is None:  # this worker's first chunk
            self._worker_counts = [0, 0, 0]
        counts = self._worker_counts

        def report() -> None:
            for index, value in enumerate(counts):
                counters.set(index, value)

        return self._build(segment, documents, counts, report)

    def _build(self, segment: Segment, documents: Iterable[dict], counts: list[int], report) -> Segment:
        """Build one segment, keeping ``counts`` (documents, terms, terms written) up to date."""
        builder = SegmentBuilder(self.ix.storage, self.schema, segment)
        for number, fields in enumerate(documents, 1):
            builder.add_document(fields)
            counts[_DOCS] += 1
            if number % REPORT_EVERY == 0:
                report()
        report()
        terms_before, written_before = counts[_TERMS], counts[_TERMS_WRITTEN]

        def on_terms(written: int, total: int) -> None:
            counts[_TERMS] = terms_before + total
            counts[_TERMS_WRITTEN] = written_before + written
            report()

        return builder.finish(on_terms, every=REPORT_EVERY * 10)

    def _collect(self, results: list[tuple[object, Segment]]) -> None:
        for number, segment in results:
            self._segments[number] = segment
            self._built.add(number)

    def _finished_segments(self) -> list[Segment]:
        """The new segments, once all are finished and hold every document that was added."""
        missing = set(range(len(self._segments))) - self._built
        built = sum(segment.doc_count_all() for segment in self._segments)
        if missing or built != self.added:
            raise WorkerFailed(
                f"only {built:,} of the {self.added:,} documents were built "
                f"({len(missing)} segment(s) missing); the index was not changed"
            )
        return list(self._segments)

    def _whoosh_writer(self) -> IndexWriter:
        # compound=False: whoosh-reloaded copies a compound segment into memory
        # for every reader that opens it (see index.store.MappedFileStorage).
        if self._whoosh is None:
            self._whoosh = self.ix.writer(limitmb=256, compound=False, codec=self.codec)
        return self._whoosh

    # ------------------------------------------------------------ progress

    def _show(self) -> None:
        """Bring the display up to date: documents added so far, then terms written."""
        counts = list(self._here)
        if self._pool is not None:
            counts = [here + self._pool.counters.total(index) for index, here in enumerate(counts)]
        if self.progress.phase_name == ADDING:
            self.progress.advance(counts[_DOCS] - self._shown_docs)
            self._shown_docs = counts[_DOCS]
        if self._committing and counts[_DOCS] >= self.added and counts[_TERMS]:
            self.progress.phase(WRITING, unit="terms")
            self.progress.reach(counts[_TERMS_WRITTEN], counts[_TERMS])


def text_chars(fields: Mapping[str, object]) -> int:
    """The characters of text in a document's fields: what chunks are measured and bounded by."""
    return sum(len(value) for value in fields.values() if isinstance(value, str))


def merge_small_segments(writer: IndexWriter, segments: list) -> list:
    """The merge policy of every commit: which existing segments to keep (Whoosh's ``mergetype`` hook).

    One segment answers queries fastest, but merging segments means writing
    their documents again through Whoosh's writer, nearly the cost of
    indexing them: so the segments of a bulk build are kept as they are
    (one per worker, or per chunk on a large archive), and what is merged is
    what piles up over updates. A segment whose documents are all deleted
    is dropped (every query would still look its terms up), and once more
    than MAX_SMALL_SEGMENTS segments hold fewer than SMALL_SEGMENT_DOCS live
    documents (each incremental run adds one), they are merged into one: a
    cost bounded by their size. ``fahras rebuild`` returns to the fewest segments.
    """
    live = [segment for segment in segments if segment.doc_count() > 0]
    small = [segment for segment in live if segment.doc_count() < SMALL_SEGMENT_DOCS]
    if len(small) <= MAX_SMALL_SEGMENTS:
        return live
    for segment in small:
        with SegmentReader(writer.storage, writer.schema, segment) as reader:
            writer.add_reader(reader)
    return [segment for segment in live if segment not in small]
