"""The embedded backend: an index folder of Whoosh segments, scored with NumPy, in this process.

:class:`EmbeddedBackend` is a :class:`search.backend.Backend` over an
:class:`~index.store.IndexHome`. Each thread keeps a searcher of the live
generation and reopens it when the index changes (a commit or a swap), so a
long-running server always answers from the latest complete index; a
searcher's :class:`EmbeddedSnapshot` plans, scores and fetches from that one
version.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from index.check import IndexCheck, check_index
from index.generations import EmbeddedTarget
from index.schema import FACETS, ID, INVENTORY, NEAR, parse_inventory_term
from index.store import IndexHome, retrying
from search import budget
from search.backend import (
    NEWER_WARNING,
    OLDER_WARNING,
    Analysis,
    Health,
    Identity,
    IndexStats,
    Ranked,
    StoredDocument,
)
from search.plan import EVERYTHING, Plan
from search.ranking import DEFAULT_RANKING, Ranking

from .health import IndexHealth
from .lexicon import WhooshLexicon
from .scoring import IndexView, matching, rank

MAX_NUMBERS = 100_000  # ids whose document numbers a snapshot keeps (a ranking gives 100 at most)


class EmbeddedSnapshot:
    """One searcher's index version: its analysis, vocabulary, and plans executed over it."""

    def __init__(self, searcher, analysis: Analysis, home_key: str, live: Path) -> None:
        self.searcher = searcher
        self.analysis = analysis
        self.generation = (str(live), searcher.reader().generation())
        self.home_key = home_key
        self.lexicon = WhooshLexicon(searcher, home_key, lambda: self.view)
        self._stats: IndexStats | None = None
        # The document numbers of the ids the last rankings gave, for reading their documents: looking
        # an id up (its term in every segment, then a matcher) took 0.2-4 ms, reading by number 0.04.
        self._numbers: dict[str, int] = {}

    @cached_property
    def view(self) -> IndexView:
        """The scoring view, its per-document arrays read on first use: once per version and thread, never
        in a query's time, and not at all by a process that only files the words (``fahras index``)."""
        # Keyed by the home, not the generation: an update links the segments it keeps into its new
        # generation, and their decoded postings stay good (a segment's id names its content).
        view = IndexView(self.searcher, self.home_key)
        with budget.exempt():
            view.prepare(self.analysis.fields)
        return view

    @cached_property
    def _columns(self) -> tuple | None:
        """The id and fingerprint columns' readers, made once per version (at 300,000 documents in 21
        segments, making them took 26 ms: more than reading a hundred documents' values from them)."""
        reader = self.searcher.reader()
        if not reader.has_column(INVENTORY):
            return None
        held = NEAR in reader.schema and reader.has_column(NEAR)  # not in an index built before fingerprints
        return reader.column_reader(INVENTORY), reader.column_reader(NEAR) if held else None

    def execute(
        self, plan: Plan, ranking: Ranking, sort: str, start: int, size: int, documents: bool = True
    ) -> Ranked:
        ordered = rank(self.view, plan, ranking, start + size, by_date=sort == "date")
        page = list(zip(ordered.docnums[start:], ordered.scores[start:], strict=True))
        if not documents:
            return Ranked(ordered.total, [], ordered.facets, ordered.total_all, self._identities(page))
        hits = [(self._stored(self.searcher.stored_fields(docnum)), score) for docnum, score in page]
        return Ranked(ordered.total, hits, ordered.facets, ordered.total_all)

    def _identities(self, page: list[tuple[int, float]]) -> list[Identity]:
        """Ids and fingerprints from the index's columns, without unpickling any stored text."""
        if not page or self._columns is None:
            return []
        inventory, near = self._columns
        if len(self._numbers) > MAX_NUMBERS:
            self._numbers.clear()
        identities = []
        for docnum, score in page:
            doc_id = parse_inventory_term(inventory[docnum])[1]
            self._numbers[doc_id] = docnum
            identities.append(Identity(doc_id, score, (near[docnum] or None) if near is not None else None))
        return identities

    def count(self, plan: Plan) -> int:
        return len(matching(self.view, plan))

    def document(self, doc_id: str) -> StoredDocument | None:
        docnum = self._numbers.get(doc_id)
        stored = (
            self.searcher.stored_fields(docnum)
            if docnum is not None
            else self.searcher.document(**{ID: doc_id})
        )
        return None if stored is None else self._stored(stored)

    def stats(self) -> IndexStats:
        if self._stats is None:
            facets = rank(self.view, EVERYTHING, DEFAULT_RANKING, 0).facets
            self._stats = IndexStats(self.searcher.doc_count(), *(facets[name] for name in FACETS))
        return self._stats

    @staticmethod
    def _stored(stored: dict) -> StoredDocument:
        date = stored.get("date")
        return StoredDocument(
            id=stored["id"],
            title=stored.get("title") or stored["id"],
            body=stored.get("body", ""),
            lang=stored.get("lang", ""),
            source=stored.get("source", ""),
            date=date.date().isoformat() if date else None,
            url=stored.get("url") or None,
            path=stored.get("path") or None,
            origin=stored.get("origin") or None,
            pages=tuple(stored.get("pages") or ()),
            ocr_pages=tuple(stored.get("ocr_pages") or ()),
        )


class EmbeddedBackend:
    """An index folder (see :mod:`index.store`), searched in this process; safe to share between threads."""

    def __init__(self, home: IndexHome) -> None:
        self.home = home
        self.location = str(home.path)
        self.checks = IndexHealth(home)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ix = None
        self._ix_dir: Path | None = None
        self._analysis: Analysis | None = None

    def _index(self):
        """The Index of the live generation, reopened after a swap, and its analysis.

        One analysis per index version, shared by every thread: its chains
        memoise the words they have analysed (each searcher's own unpickled
        schema would start with empty memos).
        """
        live = self.home.live_target()
        with self._lock:
            if self._ix is None or live != self._ix_dir:
                self._ix = self.home.open()
                self._ix_dir = live
                self._analysis = Analysis.of_schema(retrying(getattr, self._ix, "schema"))
            return self._ix, self._ix_dir, self._analysis

    def snapshot(self, fresh: bool = False) -> EmbeddedSnapshot:
        ix, live, analysis = self._index()
        current: EmbeddedSnapshot | None = getattr(self._local, "snapshot", None)
        in_hand = current is not None and self._local.ix is ix and not fresh
        if in_hand and current.searcher.up_to_date():
            return current
        if current is not None:
            # Not Searcher.refresh(): it reuses segment readers by segment id
            # and so misses documents deleted from an existing segment.
            current.searcher.close()
        self._local.snapshot = EmbeddedSnapshot(retrying(ix.searcher), analysis, self.location, live)
        self._local.ix = ix
        return self._local.snapshot

    def warm_up(self) -> None:
        self.snapshot().view  # noqa: B018 (reads the per-document arrays now, before any query)

    def guard(self) -> None:
        self.checks.guard()

    def health(self) -> Health:
        self.checks.check()
        return Health(self.snapshot().stats().documents, self.warning())

    def warning(self) -> str | None:
        if not self.checks.warning():
            return None
        return NEWER_WARNING if self.checks.newer() else OLDER_WARNING

    def diagnose(self, error: Exception):
        return self.checks.diagnose(error)

    def target(self) -> EmbeddedTarget:
        return EmbeddedTarget(self.home)

    def check(self, checksums: bool = False) -> IndexCheck:
        """``fahras check`` (with checksums) and ``fahras stats`` (sizes): the files, then a read of every segment."""
        return check_index(self.home, checksums=checksums)

    def describe(self) -> dict:
        """What ``fahras stats`` says of the index beyond its documents: where, how large, built when and from what."""
        info = self.home.build_info()
        return {
            "index": str(self.home.path),
            "size_bytes": self.home.size_on_disk(),
            "last_build": info.get("built_at"),
            "indexed_from": info.get("source"),
            "roots": [str(folder) for folder, _ in self.home.roots()],
            "format": info.get("format"),
            "analysis": info.get("analysis"),
            "leftovers": [str(path) for path in self.home.leftovers()],
            "failed": [str(path) for path in self.home.failed()],
        }

    def rebuild_command(self) -> str:
        return self.home.rebuild_command()
