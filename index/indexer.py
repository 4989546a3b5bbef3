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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from .building import BulkWriter, merge_small_segments, text_chars
from .check import check_index, verify_generation
from .documents import Collection, Document, FileReader, Note, Skipped, SourceFile, find_files, is_inside
from .progress import COUNTING, Progress
from .schema import (
    DEFAULT_ANALYSIS,
    AnalysisConfig,
    build_schema,
    inventory_term,
    parse_inventory_term,
)
from .store import IndexDamaged, IndexHome, StoreError

# Below this much input a single-process writer is faster than starting workers.
MULTIPROCESS_MIN_BYTES = 4 * 1024 * 1024
# A body is indexed whole, but stored (for snippets and the document page) up to here.
MAX_STORED_BODY_CHARS = 1_000_000
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
SHOWN = 50  # skipped files and notes listed one by one in a summary


@dataclass
class IndexReport:
    """What an indexing run did, for the summary line and for tests."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # documents indexed with a value set aside
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
            head = f"Nothing to do: {plural(self.unchanged, 'document')} already up to date."
        else:
            head = (
                f"Indexed {self.added:,} new, updated {self.updated:,}, deleted {self.deleted:,}, "
                f"unchanged {self.unchanged:,}, skipped {self.skipped_count:,}"
            )
        timing = f" in {self.elapsed:.1f} s ({self.docs_per_second:,.0f} docs/s)."
        lines = [head + (timing if self.changed else "")]
        lines += [f"  skipped {item}" for item in self.skipped[:SHOWN]]
        if len(self.skipped) > SHOWN:
            lines.append(f"  ... and {len(self.skipped) - SHOWN} more skipped")
        lines += [f"  note: {item}" for item in self.notes[:SHOWN]]
        if len(self.notes) > SHOWN:
            lines.append(f"  ... and {len(self.notes) - SHOWN} more notes")
        lines.append(f"The index now holds {plural(self.total_docs, 'document')}.")
        return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    """``1 document``, ``2 documents``, with thousands separated."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class IndexingError(StoreError):
    pass


class RebuildNeeded(IndexingError):
    """``fahras index`` cannot add to this index as it is; ``fahras rebuild`` can replace it."""


class PublishRefused(IndexingError):
    """A new generation did not open as a search would read it: it was not published."""


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
    """One pass over a folder, writing its changes through a writer.

    Deletes by inventory: a document indexed from a file under the folder
    (as walked) that this pass did not see is gone, unless that file or a
    folder holding it could not be read this time (``kept``). Passes over
    several folders into one index share ``report`` and ``seen``.
    """

    def __init__(
        self,
        ix,
        inventory: dict,
        root: Path,
        writer: BulkWriter,
        progress: Progress,
        collection: Collection,
        report: IndexReport | None = None,
        seen: dict[str, str] | None = None,
    ):
        self.ix = ix
        self.inventory = inventory
        self.root = root.resolve()
        self.collection = collection
        self.writer = writer
        self.progress = progress
        self.report = report if report is not None else IndexReport()
        self.seen: dict[str, str] = seen if seen is not None else {}  # id -> where it was first read
        self.kept: list[str] = []  # files and folders (as walked) that could not be read

    def run(self) -> IndexReport:
        """Walk the folder, adding, replacing and deleting documents (the caller commits)."""
        sources = [item for item in find_files(self.root, self.collection) if self._keep_source(item)]
        self.progress.adding()
        for source in sources:
            self._index_file(source)
        self._delete_missing()
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
            elif isinstance(item, Note):
                self.report.notes.append(item)
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
            self.writer.add_document(**_fields(document, self.ix.schema))
            self.report.added += 1
        else:
            self.writer.update_document(**_fields(document, self.ix.schema))
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
                self.writer.delete_by_term("id", doc_id)
                self.report.deleted += 1


def _procs_for(paths: list[Path]) -> int:
    size = sum(s.size for root in paths for s in find_files(root) if isinstance(s, SourceFile))
    return max(1, min(os.cpu_count() or 1, 4)) if size >= MULTIPROCESS_MIN_BYTES else 1


def _count(ix) -> int:
    with ix.reader() as reader:
        return reader.doc_count()


def _check_paths(paths: list[Path]) -> None:
    for path in paths:
        if not path.exists():
            raise IndexingError(f"{path} does not exist")


def _count_documents(
    paths: list[Path], collection: Collection, schema, progress: Progress
) -> tuple[int, int]:
    """How many documents the folders hold, and their characters of text (one fast reading pass).

    The count is the build's total; the characters decide its chunks.
    """
    progress.phase(COUNTING)
    count = chars = 0
    for path in paths:
        for item in iter_documents(path, collection):
            if isinstance(item, Document):
                count += 1
                chars += text_chars(_fields(item, schema))
                progress.advance()
    progress.total_documents = count
    return count, chars


def _build_generation(
    home: IndexHome, paths: list[Path], collection: Collection, show_progress: bool, analysis: AnalysisConfig
) -> IndexReport:
    """Index ``paths`` into a new generation and publish it (write lock held).

    The build publishes only when the new index holds every document it
    read and opens as a search would read it; on any failure the new
    generation is removed (or set aside, when it does not open) and the
    live one stays.
    """
    started = time.monotonic()
    folder = home.new_generation()
    try:
        ix = whoosh_index.create_in(str(folder), build_schema(analysis))
        progress = Progress(show_progress)
        expected, chars = _count_documents(paths, collection, ix.schema, progress)
        report, seen = IndexReport(), {}
        with BulkWriter(
            ix, procs=_procs_for(paths), progress=progress, expected_docs=expected, expected_chars=chars
        ) as writer:
            for path in paths:
                _FolderPass(ix, {}, path, writer, progress, collection, report, seen).run()
            writer.commit()
        _verified(home, folder)
        report.total_docs = _count(ix)
        if report.total_docs != report.added:
            raise IndexingError(
                f"the new index holds {report.total_docs:,} of the {report.added:,} documents "
                "read; the index was not changed"
            )
        home.record_build(folder, source=str(paths[0].resolve()), roots=_roots_record(collection),
                          indexed=[str(path.resolve()) for path in paths], documents=report.total_docs)  # fmt: skip
        ix.close()
    except BaseException as error:
        shutil.rmtree(folder, ignore_errors=True)
        _raise_plainly_if_full(
            error, f"the new index at {home.path}", "the live index is unchanged and the partial build"
        )
        raise
    _publish(home, folder)
    report.elapsed = time.monotonic() - started
    return report


def _verified(home: IndexHome, folder: Path) -> None:
    """Check that a committed generation reads back as a search reads it, before anything else reads it.

    One that does not is set aside for a bug report and the command fails
    in one line; the live generation stays.
    """
    try:
        verify_generation(folder)
    except IndexDamaged as error:
        kept = home.set_aside(folder)
        raise PublishRefused(
            f"{error}: it was not published and the live index is unchanged; the new one is kept in "
            f"{kept} for a bug report"
        ) from error


def _publish(home: IndexHome, folder: Path) -> None:
    """Make a verified generation live (see IndexHome.publish).

    A stop signal that arrives while it goes live is delivered once it is
    live: the exception says so (``published``), so that the command does
    not claim the index is unchanged.
    """
    final = home.path / folder.name.replace("tmp-", "gen-", 1)
    try:
        home.publish(folder)
    except BaseException as error:
        if home.live_target() == final.resolve():
            error.published = True  # the new generation went live before the signal was delivered
        else:
            for begun in (folder, final):
                shutil.rmtree(begun, ignore_errors=True)
        raise


def _roots_record(collection: Collection) -> list[dict[str, str]]:
    return [{"path": str(folder), "prefix": prefix} for folder, prefix in collection.roots]


def _indexed_after(recorded: list[str], path: Path) -> list[str]:
    """The paths an index records as indexed, once ``path`` has been indexed too.

    A path inside one already recorded adds nothing; one that holds recorded
    paths replaces them.
    """
    path = path.resolve()
    if any(is_inside(path, Path(known)) for known in recorded):
        return recorded
    return [known for known in recorded if not is_inside(known, path)] + [str(path)]


def rebuild_index(
    home: IndexHome,
    paths: list[Path] | Path | None = None,
    *,
    only: bool = False,
    show_progress: bool = True,
    lock_timeout: float = 30.0,
    analysis: AnalysisConfig = DEFAULT_ANALYSIS,
) -> IndexReport:
    """Build a complete new index and swap it in atomically.

    Without paths, every folder the index records is rebuilt, with the same
    ids. With paths, the new index holds those; if the index also holds
    other folders, that would drop their documents, so it is refused
    unless ``only`` says that is what is wanted.
    """
    given = [paths] if isinstance(paths, Path) else list(paths or [])
    _check_paths(given)
    with home.write_lock(lock_timeout):
        if not given:
            given, collection = _recorded_collection(home)
        else:
            _refuse_dropping(home, given, only)
            collection = Collection.of(given[0])
            for path in given[1:]:
                collection = collection.including(path)
        return _build_generation(home, given, collection, show_progress, analysis)


def _recorded_collection(home: IndexHome) -> tuple[list[Path], Collection]:
    """The folders a rebuild without paths reads, and their collection (ids as before)."""
    info = home.build_info()
    indexed = info.get("indexed") or [str(folder) for folder, _ in home.roots()]
    if not indexed and info.get("source"):
        indexed = [info["source"]]
    if not indexed:
        raise IndexingError(
            f"the index at {home.path} records no folder to rebuild from: name one (fahras rebuild FOLDER)"
        )
    paths = [Path(path) for path in indexed]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise IndexingError(
            f"{', '.join(missing)} no longer exist(s): rebuilding now would drop its documents; "
            "bring it back, or name the folders to keep (fahras rebuild --only FOLDER ...)"
        )
    roots = tuple(home.roots()) or Collection.of(paths[0]).roots
    return paths, Collection(roots)


def _refuse_dropping(home: IndexHome, paths: list[Path], only: bool) -> None:
    """Refuse a rebuild from ``paths`` that would drop folders the index holds, unless ``only``."""
    if only or not home.exists():
        return
    recorded = home.build_info().get("indexed") or [str(folder) for folder, _ in home.roots()]
    dropped = [known for known in recorded if not any(is_inside(known, path.resolve()) for path in paths)]
    if dropped:
        raise IndexingError(
            f"the index also holds {', '.join(dropped)}, which a rebuild from "
            f"{', '.join(str(path) for path in paths)} alone would drop: run `fahras rebuild` without a path "
            "to rebuild every folder, or add --only to keep just these"
        )


def update_index(
    home: IndexHome, root: Path, *, show_progress: bool = True, lock_timeout: float = 30.0
) -> IndexReport:
    """Add, update and delete documents so that the index matches ``root``.

    The changes are committed into a copy of the live generation (hard
    links) that is published like a rebuild, so a run that fails or is
    interrupted at any point leaves the live generation as it was. Refuses
    (RebuildNeeded) an index that is damaged or was built by another
    version: adding to it would mix two analyses.
    """
    _check_paths([root])
    with home.write_lock(lock_timeout):
        if not home.exists():  # checked under the lock: another writer may have just built it
            return _build_generation(home, [root], Collection.of(root), show_progress, DEFAULT_ANALYSIS)
        _refuse_unusable(home)
        started = time.monotonic()
        info = home.build_info()
        collection = Collection(tuple(home.roots())).including(root)
        staged = home.staged_copy()
        try:
            ix = whoosh_index.open_dir(str(staged))
            progress = Progress(show_progress)
            with BulkWriter(ix, procs=_procs_for([root]), progress=progress) as writer:
                report = _FolderPass(ix, read_inventory(ix), root, writer, progress, collection).run()
                if report.changed:
                    writer.commit(mergetype=merge_small_segments)
                else:
                    writer.cancel()
            progress.close()
            if report.changed:
                _verified(home, staged)
            report.total_docs = _count(ix)
            if report.changed:
                indexed = _indexed_after(info.get("indexed") or [str(f) for f, _ in home.roots()], root)
                home.record_build(staged, source=info.get("source", str(root.resolve())),
                                  roots=_roots_record(collection), indexed=indexed,
                                  documents=report.total_docs)  # fmt: skip
            ix.close()
        except BaseException as error:
            shutil.rmtree(staged, ignore_errors=True)
            _raise_plainly_if_full(
                error, f"the index at {home.path}", "the index is unchanged and the partial update"
            )
            raise
        if report.changed:
            _publish(home, staged)
        else:
            shutil.rmtree(staged, ignore_errors=True)
        report.elapsed = time.monotonic() - started
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
