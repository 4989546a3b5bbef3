"""Building and updating indexes: ``fahras index`` and ``fahras rebuild``.

``update_index`` brings the live index in line with a folder: new documents
are added, changed ones replaced, and documents whose file (or JSON record)
is gone are deleted; unchanged ones cost one hash comparison. ``rebuild_index``
builds a complete new generation beside the live one and swaps it in
atomically (see :mod:`index.store`). Documents are written through
:class:`index.building.BulkWriter`: segments built in worker processes on
every core, committed by Whoosh's own writer.

An index holds one or more folders (its roots, see
:class:`~index.documents.Collection`); a document's id is its path in the
collection, so a folder indexed beside another never replaces the other's
documents. A run that fails or is interrupted removes what it had begun
writing: the live generation is left exactly as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from .building import BulkWriter, merge_small_segments, text_chars
from .check import check_index
from .documents import Collection, Document, FileReader, Skipped, SourceFile, find_files, is_inside
from .progress import COUNTING, Progress
from .schema import (
    DEFAULT_ANALYSIS,
    AnalysisConfig,
    build_schema,
    inventory_term,
    parse_inventory_term,
)
from .store import IndexHome, StoreError

# Below this much input a single-process writer is faster than starting workers.
MULTIPROCESS_MIN_BYTES = 4 * 1024 * 1024
# A body is indexed whole, but stored (for snippets and the document page) up to here.
MAX_STORED_BODY_CHARS = 1_000_000
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@dataclass
class IndexReport:
    """What an indexing run did, for the summary line and for tests."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    elapsed: float = 0.0
    total_docs: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.deleted

    @property
    def skipped_count(self) -> int:
        """Files and lines skipped, counting those a summary record stands for."""
        return sum(item.count for item in self.skipped)

    @property
    def docs_per_second(self) -> float:
        return (self.added + self.updated) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        if not self.changed and not self.skipped:
            head = f"Nothing to do: {self.unchanged:,} documents already up to date."
        else:
            head = (
                f"Indexed {self.added:,} new, updated {self.updated:,}, deleted {self.deleted:,}, "
                f"unchanged {self.unchanged:,}, skipped {self.skipped_count:,}"
            )
        timing = f" in {self.elapsed:.1f} s ({self.docs_per_second:,.0f} docs/s)."
        lines = [head + (timing if self.changed else "")]
        lines += [f"  skipped {item}" for item in self.skipped[:50]]
        if len(self.skipped) > 50:
            lines.append(f"  ... and {len(self.skipped) - 50} more skipped")
        lines.append(f"The index now holds {self.total_docs:,} documents.")
        return "\n".join(lines)


class IndexingError(StoreError):
    pass


class RebuildNeeded(IndexingError):
    """``fahras index`` cannot add to this index as it is; ``fahras rebuild`` can replace it."""


def _fields(document: Document, schema) -> dict:
    fields = {
        "id": document.id,
        "title": document.title,
        "body": document.body,
        "title_exact": document.title,
        "body_exact": document.body,
        "title_root": document.title,
        "body_root": document.body,
        "lang": document.lang,
        "source": document.source,
        "date": document.date,
        "url": document.url,
        "path": document.path,
        "inventory": inventory_term(document.origin, document.id, document.fingerprint),
    }
    fields = {name: value for name, value in fields.items() if name in schema}
    if len(document.body) > MAX_STORED_BODY_CHARS and "body" in schema:
        fields["_stored_body"] = document.body[:MAX_STORED_BODY_CHARS]
    return fields


def read_inventory(ix: whoosh_index.Index) -> dict[str, tuple[str, str]]:
    """``{id: (origin, fingerprint)}`` for every live document, from a column."""
    with ix.reader() as reader:
        if not reader.has_column("inventory"):  # an index without documents has no columns
            return {}
        column = reader.column_reader("inventory")
        inventory = {}
        for docnum in reader.all_doc_ids():
            origin, doc_id, fingerprint = parse_inventory_term(column[docnum])
            inventory[doc_id] = (origin, fingerprint)
        return inventory


class _FolderPass:
    """One pass over a folder, writing changes through one writer (made on the first change).

    Deletes by inventory: a document indexed from a file under the folder
    (as walked) that this pass did not see is gone, unless that file or a
    folder holding it could not be read this time (``kept``).
    """

    def __init__(
        self,
        ix,
        inventory: dict,
        root: Path,
        new_writer: Callable[[], BulkWriter],
        progress: Progress,
        collection: Collection | None = None,
    ):
        self.ix = ix
        self.inventory = inventory
        self.root = root.resolve()
        self.collection = collection or Collection.of(self.root)
        self.new_writer = new_writer
        self.progress = progress
        self.report = IndexReport()
        self.writer: BulkWriter | None = None
        self.seen: dict[str, str] = {}
        self.kept: list[str] = []  # files and folders (as walked) that could not be read

    def _writer(self) -> BulkWriter:
        if self.writer is None:
            self.writer = self.new_writer()
        return self.writer

    def run(self) -> IndexReport:
        started = time.monotonic()
        sources = [item for item in find_files(self.root, self.collection) if self._keep_source(item)]
        self.progress.adding()
        for source in sources:
            self._index_file(source)
        self._delete_missing()
        if self.writer is not None:
            self.writer.commit(mergetype=merge_small_segments)
        self.progress.close()
        self.report.elapsed = time.monotonic() - started
        return self.report

    def _keep_source(self, item: SourceFile | Skipped) -> bool:
        if isinstance(item, Skipped):
            self._skip(item)
            return False
        return True

    def _skip(self, item: Skipped) -> None:
        self.report.skipped.append(item)
        if item.keep:
            self.kept.append(item.keep)

    def _index_file(self, source: SourceFile) -> None:
        reader = FileReader(source)
        for item in reader:
            if isinstance(item, Skipped):
                self._skip(item)
            else:
                self._index_document(item)
        if reader.failed:
            self.kept.append(reader.origin)

    def _index_document(self, document: Document) -> None:
        where = document.path or document.origin
        first_seen = self.seen.get(document.id) or self._held_elsewhere(document)
        if first_seen is not None:
            reason = f"duplicate id {document.id!r} (first seen in {first_seen})"
            self.report.skipped.append(Skipped(where, reason))
            self.progress.advance()
            return
        self.seen[document.id] = where
        old = self.inventory.get(document.id)
        if old == (document.origin, document.fingerprint):
            self.report.unchanged += 1
            self.progress.advance()  # the writer counts the documents it indexes
        elif old is None:
            self._writer().add_document(**_fields(document, self.ix.schema))
            self.report.added += 1
        else:
            self._writer().update_document(**_fields(document, self.ix.schema))
            self.report.updated += 1

    def _held_elsewhere(self, document: Document) -> str | None:
        """The file outside this pass that already holds a document with this id, if it still exists.

        Replacing that document would be a silent loss: this pass cannot
        tell whether the other file still holds it.
        """
        old = self.inventory.get(document.id)
        if old is None or old[0] == document.origin or is_inside(old[0], self.root):
            return None
        return old[0] if os.path.lexists(old[0]) else None

    def _delete_missing(self) -> None:
        for doc_id, (origin, _) in self.inventory.items():
            if doc_id in self.seen or not is_inside(origin, self.root):
                continue
            if not any(is_inside(origin, Path(kept)) for kept in self.kept):
                self._writer().delete_by_term("id", doc_id)
                self.report.deleted += 1


def _procs_for(root: Path) -> int:
    size = sum(s.size for s in find_files(root) if isinstance(s, SourceFile))
    return max(1, min(os.cpu_count() or 1, 4)) if size >= MULTIPROCESS_MIN_BYTES else 1


def _count(ix) -> int:
    with ix.reader() as reader:
        return reader.doc_count()


def _check_root(root: Path) -> None:
    if not root.exists():
        raise IndexingError(f"{root} does not exist")


def _count_documents(root: Path, collection: Collection, schema, progress: Progress) -> tuple[int, int]:
    """How many documents a folder holds, and their characters of text (one fast reading pass).

    The count is the build's total; the characters decide its chunks.
    """
    progress.phase(COUNTING)
    count = chars = 0
    for item in iter_documents(root, collection):
        if isinstance(item, Document):
            count += 1
            chars += text_chars(_fields(item, schema))
            progress.advance()
    progress.total_documents = count
    return count, chars


def _build_generation(
    home: IndexHome, root: Path, show_progress: bool, analysis: AnalysisConfig
) -> IndexReport:
    """Index ``root`` into a new generation and publish it (write lock held).

    The build publishes only when the new index holds every document it read;
    on any failure the new generation is removed and the live one stays.
    """
    folder = home.new_generation()
    try:
        ix = whoosh_index.create_in(str(folder), build_schema(analysis))
        progress = Progress(show_progress)
        collection = Collection.of(root.resolve())
        expected, chars = _count_documents(root, collection, ix.schema, progress)
        with BulkWriter(
            ix, procs=_procs_for(root), progress=progress, expected_docs=expected, expected_chars=chars
        ) as writer:
            report = _FolderPass(ix, {}, root, lambda: writer, progress, collection).run()
        report.total_docs = _count(ix)
        if report.total_docs != report.added:
            raise IndexingError(
                f"the new index holds {report.total_docs:,} of the {report.added:,} documents "
                "read; the index was not changed"
            )
        home.record_build(folder, source=str(root.resolve()), documents=report.total_docs)
        ix.close()
    except BaseException as error:
        shutil.rmtree(folder, ignore_errors=True)
        _raise_plainly_if_full(
            error, f"the new index at {home.path}", "the live index is unchanged and the partial build"
        )
        raise
    home.publish(folder)
    return report


def rebuild_index(
    home: IndexHome,
    root: Path,
    *,
    show_progress: bool = True,
    lock_timeout: float = 30.0,
    analysis: AnalysisConfig = DEFAULT_ANALYSIS,
) -> IndexReport:
    """Build a complete new index of ``root`` and swap it in atomically."""
    _check_root(root)
    with home.write_lock(lock_timeout):
        return _build_generation(home, root, show_progress, analysis)


def update_index(
    home: IndexHome, root: Path, *, show_progress: bool = True, lock_timeout: float = 30.0
) -> IndexReport:
    """Add, update and delete documents so that the index matches ``root``.

    Refuses (RebuildNeeded) an index that is damaged or was built by another
    version: adding to it would mix two analyses. On any failure or
    interruption the live generation is left as it was.
    """
    _check_root(root)
    with home.write_lock(lock_timeout):
        if not home.exists():  # checked under the lock: another writer may have just built it
            return _build_generation(home, root, show_progress, DEFAULT_ANALYSIS)
        _refuse_unusable(home)
        home.clean_unfinished()
        collection = Collection(tuple(home.roots())).including(root)
        ix = home.open()
        progress = Progress(show_progress)
        try:
            with BulkWriter(ix, procs=_procs_for(root), progress=progress) as writer:
                report = _FolderPass(ix, read_inventory(ix), root, lambda: writer, progress, collection).run()
        except BaseException as error:  # the writer has cancelled itself and released Whoosh's lock
            with suppress(Exception):  # the error that stopped the run is the one to report
                home.clean_unfinished()  # (and the next run cleans up again before starting)
            _raise_plainly_if_full(
                error, f"the index at {home.path}", "the index is unchanged and the partial update"
            )
            raise
        report.total_docs = _count(ix)
        if report.changed:
            home.record_build(
                home.live_dir(),
                source=home.build_info().get("source", str(root.resolve())),
                roots=[{"path": str(folder), "prefix": prefix} for folder, prefix in collection.roots],
                documents=report.total_docs,
            )
        ix.close()
        return report


def _raise_plainly_if_full(error: BaseException, where: str, outcome: str) -> None:
    """A full disk (or quota) as one line that says nothing was lost; any other error is left alone."""
    if isinstance(error, OSError) and error.errno in _NO_SPACE:
        raise IndexingError(
            f"no space left for {where} ({error.strerror}): {outcome} was removed; free some space and run it again"
        ) from error


def _refuse_unusable(home: IndexHome) -> None:
    found = check_index(home)
    if found.error:
        raise RebuildNeeded(str(found.error)) from found.error
    if found.warning:
        raise RebuildNeeded(f"{found.warning} (`fahras index` will not add documents analysed differently)")


def iter_documents(root: Path, collection: Collection | None = None) -> Iterator[Document | Skipped]:
    """Every document and skip report under root, in walk order (what a build will read)."""
    for item in find_files(root, collection):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from FileReader(item)
