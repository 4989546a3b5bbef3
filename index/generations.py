"""The embedded index as indexing writes it: generations of a Whoosh index, each published whole.

:class:`EmbeddedTarget` is the :class:`~index.indexer.Target` of an index
folder (:class:`~index.store.IndexHome`). Every run writes a new generation
and swaps it in (see :meth:`IndexHome.publish`):

- a rebuild writes a fresh ``tmp-*`` folder;
- an update commits into a ``tmp-*`` copy of the live generation made of hard
  links (:meth:`IndexHome.staged_copy`), so the live one is never written to;

and before the swap the new generation is read back as a search reads it
(:func:`~index.check.verify_generation`): one that does not read back is set
aside as ``failed-*`` and never published. Documents are written through
:class:`~index.building.BulkWriter`: segments built in worker processes,
committed by Whoosh's own writer.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index

from .building import BulkWriter, merge_small_segments
from .check import check_index, verify_generation
from .documents import Document
from .indexer import (
    IndexingError,
    IndexReport,
    PublishRefused,
    RebuildNeeded,
    Recorded,
    rebuild_index,
    update_index,
)
from .nearness import fingerprint
from .progress import Progress
from .schema import (
    BODY,
    COPIES,
    DATE,
    DEFAULT_ANALYSIS,
    ID,
    INVENTORY,
    LANG,
    NEAR,
    OCR_PAGES,
    ORIGIN,
    PAGES,
    PATH,
    SOURCE,
    TITLE,
    URL,
    AnalysisConfig,
    build_schema,
    inventory_term,
    parse_inventory_term,
)
from .store import IndexDamaged, IndexHome

# A body is indexed whole, but stored (for snippets and the document page) up to here.
MAX_STORED_BODY_CHARS = 1_000_000
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class EmbeddedTarget:
    """Where ``fahras index`` and ``fahras rebuild`` write an index folder."""

    def __init__(self, home: IndexHome, analysis: AnalysisConfig = DEFAULT_ANALYSIS) -> None:
        self.home = home
        self.analysis = analysis
        self.location = str(home.path)

    def write_lock(self, timeout: float):
        return self.home.write_lock(timeout)

    def exists(self) -> bool:
        return self.home.exists()

    def refuse_unusable(self) -> None:
        found = check_index(self.home)
        RebuildNeeded.unless_usable(found.error, found.warning)

    def recorded(self) -> Recorded:
        info = self.home.build_info()
        return Recorded(tuple(self.home.roots()), tuple(info.get("indexed") or ()), info.get("source"))

    @contextmanager
    def update(self, procs: int, progress: Progress) -> Iterator[_Run]:
        """A run committed into a hard-linked copy of the live generation, then published."""
        staged = self.home.staged_copy()
        with self._removed_on_error(staged, "the index", "the index is unchanged and the partial update"):
            ix = whoosh_index.open_dir(str(staged))
            with BulkWriter(ix, procs=procs, progress=progress) as bulk:
                yield _Run(self.home, staged, ix, bulk, read_inventory(ix), fresh=False)

    @contextmanager
    def rebuild(self, procs: int, progress: Progress, expected_bytes: int) -> Iterator[_Run]:
        """A run into a new, empty generation, published in place of the live one."""
        folder = self.home.new_generation()
        with self._removed_on_error(
            folder, "the new index", "the live index is unchanged and the partial build"
        ):
            ix = whoosh_index.create_in(str(folder), build_schema(self.analysis))
            with BulkWriter(ix, procs=procs, progress=progress, expected_bytes=expected_bytes) as bulk:
                yield _Run(self.home, folder, ix, bulk, {}, fresh=True)

    @contextmanager
    def _removed_on_error(self, folder: Path, what: str, outcome: str) -> Iterator[None]:
        """Remove an unpublished generation when its run fails; a full disk is said in one line."""
        try:
            yield
        except BaseException as error:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, OSError) and error.errno in _NO_SPACE:
                raise IndexingError(
                    f"no space left for {what} at {self.home.path} ({error.strerror}): {outcome} was removed; "
                    "free some space and run it again"
                ) from error
            raise


class _Writer:
    """A run's writer: Fahras documents to the Whoosh fields of the schema."""

    def __init__(self, bulk: BulkWriter) -> None:
        self.bulk = bulk
        self.schema = bulk.schema

    def add(self, document: Document, read_to: int) -> None:
        self.bulk.add_document(document_fields(document, self.schema), read_to)

    def replace(self, document: Document, read_to: int) -> None:
        self.bulk.update_document(document_fields(document, self.schema), read_to)

    def delete(self, doc_id: str) -> None:
        self.bulk.delete_by_term(ID, doc_id)


class _Run:
    """One run on a generation being written: its inventory, its writer, and how it ends."""

    def __init__(self, home: IndexHome, folder: Path, ix, bulk: BulkWriter, inventory: dict, fresh: bool):
        self.home, self.folder, self.ix, self.bulk, self.fresh = home, folder, ix, bulk, fresh
        self.inventory = inventory
        self.writer = _Writer(bulk)

    def finish(self, recorded: Recorded, report: IndexReport) -> None:
        """Commit, read back, record and publish the generation; an update without changes publishes nothing.

        A rebuild publishes only when the new index holds every document it read.
        """
        if not self.fresh and not report.changed:
            self.bulk.cancel()
            report.total_docs = len(self.inventory)
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        self.bulk.commit(mergetype=merge_small_segments)
        self._verified()
        report.total_docs = _count(self.ix)
        if self.fresh and report.total_docs != report.added:
            raise IndexingError(
                f"the new index holds {report.total_docs:,} of the {report.added:,} documents "
                "read; the index was not changed"
            )
        self.home.record_build(
            self.folder, source=recorded.source, documents=report.total_docs, indexed=list(recorded.indexed),
            roots=[{"path": str(folder), "prefix": prefix} for folder, prefix in recorded.roots],
        )  # fmt: skip
        self.ix.close()
        _publish(self.home, self.folder)

    def _verified(self) -> None:
        """Read the committed generation back as a search reads it, before anything else reads it.

        One that does not read back is set aside for a bug report and the
        command fails in one line; the live generation stays.
        """
        try:
            verify_generation(self.folder)
        except IndexDamaged as error:
            kept = self.home.set_aside(self.folder)
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


def _count(ix) -> int:
    with ix.reader() as reader:
        return reader.doc_count()


def document_fields(document: Document, schema) -> dict:
    """A document as the schema's fields: its title and body once per analysis level (:data:`COPIES`)."""
    fields = {
        ID: document.id,
        **{name: document.title for name in COPIES[TITLE]},
        **{name: document.body for name in COPIES[BODY]},
        LANG: document.lang,
        SOURCE: document.source,
        DATE: document.date,
        URL: document.url,
        PATH: document.path,
        ORIGIN: document.origin,
        PAGES: document.pages or None,
        OCR_PAGES: document.ocr_pages or None,
        NEAR: fingerprint(document.body) or b"",  # a value for every document: every segment has the column
        INVENTORY: inventory_term(document.origin, document.id, document.fingerprint),
    }
    fields = {name: value for name, value in fields.items() if name in schema}
    if len(document.body) > MAX_STORED_BODY_CHARS and BODY in schema:
        fields[f"_stored_{BODY}"] = document.body[:MAX_STORED_BODY_CHARS]
    return fields


def read_inventory(ix: whoosh_index.Index) -> dict[str, tuple[str, str]]:
    """``{id: (origin, fingerprint)}`` for every live document, from a column."""
    with ix.reader() as reader:
        if not reader.has_column(INVENTORY):  # an index without documents has no columns
            return {}
        column = reader.column_reader(INVENTORY)
        inventory = {}
        for docnum in reader.all_doc_ids():
            origin, doc_id, fingerprint = parse_inventory_term(column[docnum])
            inventory[doc_id] = (origin, fingerprint)
        return inventory


def rebuild(
    home: IndexHome, paths=None, *, analysis: AnalysisConfig = DEFAULT_ANALYSIS, **options
) -> IndexReport:
    """:func:`~index.indexer.rebuild_index` of an index folder."""
    return rebuild_index(EmbeddedTarget(home, analysis), paths, **options)


def update(home: IndexHome, root: Path, **options) -> IndexReport:
    """:func:`~index.indexer.update_index` of an index folder."""
    return update_index(EmbeddedTarget(home), root, **options)
