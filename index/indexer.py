"""Indexing folders: ``fahras index`` and ``fahras rebuild``, for any place an index can live.

``update_index`` brings an index in line with a folder: new documents are
added, changed ones replaced, and documents whose file (or JSON record) is
gone are deleted; unchanged ones cost one hash comparison. ``rebuild_index``
builds a complete new index of the folders and swaps it in. Where the
documents go is a :class:`Target` (:mod:`index.generations` writes the
embedded Whoosh index; the OpenSearch backend writes a cluster): this module
only walks folders, reads each file once, and decides what changes.

An index holds one or more folders (its roots, see
:class:`~index.documents.Collection`); a document's id is its path in the
collection, so a folder indexed beside another never replaces the other's
documents. A target publishes a run's changes only when the run ends well:
a run that fails or is interrupted leaves the index as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .documents import Collection, Document, FileReader, Note, Skipped, SourceFile, find_files, is_inside
from .progress import Progress
from .readers import ReadOptions
from .readers.ocr import OcrCache
from .readers.progress import showing_ocr
from .store import StoreError, cache_dir

# Below this much input a single-process writer is faster than starting workers.
MULTIPROCESS_MIN_BYTES = 4 * 1024 * 1024
MAX_PROCESSES = 4  # workers beyond four gave no faster builds (their segments cost queries more)
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

    @classmethod
    def unless_usable(cls, error: Exception | None, warning: str | None) -> None:
        """Raise when a check found the index damaged (``error``) or built by another version (``warning``)."""
        if error:
            raise cls(str(error)) from error
        if warning:
            raise cls(f"{warning} (`fahras index` will not add documents analysed differently)")


class PublishRefused(IndexingError):
    """A new index did not read back as a search would read it: it was not published."""


# --------------------------------------------------------------------------- where documents go


@dataclass(frozen=True)
class Recorded:
    """What an index records about the folders it holds."""

    roots: tuple[tuple[Path, str], ...] = ()  # each folder with the prefix its ids carry
    indexed: tuple[str, ...] = ()  # the paths given to `fahras index`, which `fahras rebuild` reads again
    source: str | None = None  # the first path indexed (older indexes record only this)

    def paths(self) -> list[str]:
        """The folders and files a rebuild without a path reads."""
        return list(
            self.indexed
            or [str(folder) for folder, _ in self.roots]
            or ([self.source] if self.source else [])
        )


class DocumentWriter(Protocol):
    """Takes a run's changes; the target applies them all when the run ends well, else none."""

    def add(self, document: Document, read_to: int) -> None:
        """A new document; ``read_to`` is how many bytes of the run's input are read with it."""

    def replace(self, document: Document, read_to: int) -> None:
        """A document whose id the index holds already, changed."""

    def delete(self, doc_id: str) -> None: ...


class Run(Protocol):
    """One indexing run's view of its target: what is indexed, and where changes go."""

    inventory: dict[str, tuple[str, str]]  # id -> (origin, fingerprint) of every document held
    writer: DocumentWriter

    def finish(self, recorded: Recorded, report: IndexReport) -> None:
        """Apply the run's changes and make them live (a rebuild: the new index), then count the documents."""


class Target(Protocol):
    """An index location as indexing sees it (see :mod:`index.generations` for the embedded one)."""

    location: str

    def write_lock(self, timeout: float) -> AbstractContextManager[None]: ...

    def exists(self) -> bool: ...

    def refuse_unusable(self) -> None:
        """Raise RebuildNeeded if documents cannot be added as the index is (damaged, another version)."""

    def recorded(self) -> Recorded: ...

    def update(self, procs: int, progress: Progress) -> AbstractContextManager[Run]:
        """A run on the live index; leaving the block on an error leaves the index as it was."""

    def rebuild(self, procs: int, progress: Progress, expected_bytes: int) -> AbstractContextManager[Run]:
        """A run on a new, empty index that replaces the live one when it finishes."""


# --------------------------------------------------------------------------- one pass over a folder


class _FolderPass:
    """One pass over a folder, writing its changes through a run's writer.

    Deletes by inventory: a document indexed from a file under the folder
    (as walked) that this pass did not see is gone, unless that file or a
    folder holding it could not be read this time (``kept``). Passes over
    several folders into one index share ``report`` and ``seen``.
    """

    def __init__(self, run: Run, root: Path, progress: Progress, report: IndexReport, seen: dict[str, str]):
        self.inventory = run.inventory
        self.writer = run.writer
        self.root = root.resolve()
        self.progress = progress
        self.report = report
        self.seen = seen  # id -> where it was first read
        self.kept: list[str] = []  # files and folders (as walked) that could not be read
        self.read_before = 0  # bytes of input read before the current file
        # Scanned pages are recognised once ever (the cache is outside any index) and shown as a phase.
        self.read_options = ReadOptions(ocr_cache=OcrCache(cache_dir("ocr")), on_page=showing_ocr(progress))

    def run(self, walked: list[SourceFile | Skipped], read_before: int) -> int:
        """Read the walked files, writing what changed; returns the bytes read in all, ``read_before`` included."""
        self.read_before = read_before
        self.progress.adding()
        for item in walked:
            if isinstance(item, Skipped):
                self._skip(item)
            else:
                self._index_file(item)
                self.read_before += item.size
        self._delete_missing()
        self.progress.all_read()
        return self.read_before

    def _skip(self, item: Skipped) -> None:
        self.report.skipped.append(item)
        if item.keep:
            self.kept.append(item.keep)

    def _index_file(self, source: SourceFile) -> None:
        reader = FileReader(source, self.read_options)
        for item in reader:
            if isinstance(item, Skipped):
                self._skip(item)
            elif isinstance(item, Note):
                self.report.notes.append(item)
            else:
                self._index_document(item, self.read_before + reader.position)
        if reader.failed:
            self.kept.append(reader.origin)
        self.progress.adding()  # back from the OCR phase, if the file had scanned pages

    def _index_document(self, document: Document, read_to: int) -> None:
        self.progress.document_read()
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
            self.writer.add(document, read_to)
            self.report.added += 1
        else:
            self.writer.replace(document, read_to)
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
                self.writer.delete(doc_id)
                self.report.deleted += 1


def _walk(paths: list[Path], collection: Collection) -> tuple[list[list[SourceFile | Skipped]], int]:
    """Each path's files (walked once for the whole run), and their size in all."""
    walked = [list(find_files(path, collection)) for path in paths]
    size = sum(item.size for files in walked for item in files if isinstance(item, SourceFile))
    return walked, size


def _procs_for(size: int) -> int:
    """Worker processes for this much input: one per core (at most MAX_PROCESSES) when it is worth forking."""
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES)) if size >= MULTIPROCESS_MIN_BYTES else 1


def _check_paths(paths: list[Path]) -> None:
    for path in paths:
        if not path.exists():
            raise IndexingError(f"{path} does not exist")


# --------------------------------------------------------------------------- the commands


def rebuild_index(
    target: Target,
    paths: list[Path] | Path | None = None,
    *,
    only: bool = False,
    show_progress: bool = True,
    lock_timeout: float = 30.0,
) -> IndexReport:
    """Build a complete new index and swap it in atomically.

    Without paths, every folder the index records is rebuilt, with the same
    ids. With paths, the new index holds those; if the index also holds
    other folders, that would drop their documents, so it is refused
    unless ``only`` says that is what is wanted.
    """
    given = [paths] if isinstance(paths, Path) else list(paths or [])
    _check_paths(given)
    with target.write_lock(lock_timeout):
        if not given:
            given, collection = _recorded_collection(target)
        else:
            _refuse_dropping(target, given, only)
            collection = Collection.of(given[0])
            for path in given[1:]:
                collection = collection.including(path)
        started = time.monotonic()
        walked, size = _walk(given, collection)
        progress = Progress(show_progress)
        report, seen, read = IndexReport(), {}, 0
        with target.rebuild(_procs_for(size), progress, size) as run:
            for path, files in zip(given, walked, strict=True):
                read = _FolderPass(run, path, progress, report, seen).run(files, read)
            recorded = Recorded(
                collection.roots, tuple(str(path.resolve()) for path in given), str(given[0].resolve())
            )
            run.finish(recorded, report)
        report.elapsed = time.monotonic() - started
        return report


def _recorded_collection(target: Target) -> tuple[list[Path], Collection]:
    """The folders a rebuild without paths reads, and their collection (ids as before)."""
    recorded = target.recorded()
    paths = [Path(path) for path in recorded.paths()]
    if not paths:
        raise IndexingError(
            f"the index at {target.location} records no folder to rebuild from: name one (fahras rebuild FOLDER)"
        )
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise IndexingError(
            f"{', '.join(missing)} no longer exist(s): rebuilding now would drop its documents; "
            "bring it back, or name the folders to keep (fahras rebuild --only FOLDER ...)"
        )
    return paths, Collection(recorded.roots or Collection.of(paths[0]).roots)


def _refuse_dropping(target: Target, paths: list[Path], only: bool) -> None:
    """Refuse a rebuild from ``paths`` that would drop folders the index holds, unless ``only``."""
    if only or not target.exists():
        return
    recorded = target.recorded().paths()
    dropped = [known for known in recorded if not any(is_inside(known, path.resolve()) for path in paths)]
    if dropped:
        raise IndexingError(
            f"the index also holds {', '.join(dropped)}, which a rebuild from "
            f"{', '.join(str(path) for path in paths)} alone would drop: run `fahras rebuild` without a path "
            "to rebuild every folder, or add --only to keep just these"
        )


def update_index(
    target: Target, root: Path, *, show_progress: bool = True, lock_timeout: float = 30.0
) -> IndexReport:
    """Add, update and delete documents so that the index matches ``root``.

    Refuses (RebuildNeeded) an index that is damaged or was built by another
    version: adding to it would mix two analyses. On any failure or
    interruption the index is left as it was.
    """
    _check_paths([root])
    with target.write_lock(lock_timeout):
        if not target.exists():  # checked under the lock: another writer may have just built it
            return _first_build(target, root, show_progress)
        target.refuse_unusable()
        started = time.monotonic()
        recorded = target.recorded()
        collection = Collection(recorded.roots).including(root)
        walked, size = _walk([root], collection)
        progress = Progress(show_progress)
        report = IndexReport()
        with target.update(_procs_for(size), progress) as run:
            _FolderPass(run, root, progress, report, {}).run(walked[0], 0)
            indexed = _indexed_after(recorded.paths(), root)
            run.finish(
                Recorded(collection.roots, tuple(indexed), recorded.source or str(root.resolve())), report
            )
        report.elapsed = time.monotonic() - started
        return report


def _first_build(target: Target, root: Path, show_progress: bool) -> IndexReport:
    """The first run into an empty location: a rebuild of ``root`` (the write lock is held)."""
    started = time.monotonic()
    collection = Collection.of(root)
    walked, size = _walk([root], collection)
    progress = Progress(show_progress)
    report = IndexReport()
    with target.rebuild(_procs_for(size), progress, size) as run:
        _FolderPass(run, root, progress, report, {}).run(walked[0], 0)
        run.finish(Recorded(collection.roots, (str(root.resolve()),), str(root.resolve())), report)
    report.elapsed = time.monotonic() - started
    return report


def _indexed_after(recorded: list[str], path: Path) -> list[str]:
    """The paths an index records as indexed, once ``path`` has been indexed too.

    A path inside one already recorded adds nothing; one that holds recorded
    paths replaces them.
    """
    path = path.resolve()
    if any(is_inside(path, Path(known)) for known in recorded):
        return recorded
    return [known for known in recorded if not is_inside(known, path)] + [str(path)]


def iter_documents(root: Path, collection: Collection | None = None) -> Iterator[Document | Skipped | Note]:
    """Every document, note and skip report under root, in walk order (what a build will read)."""
    for item in find_files(root, collection):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from FileReader(item)
