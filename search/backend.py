"""The seam between answering queries and the engine that holds the index.

:class:`~search.engine.SearchEngine` parses, plans and presents; a
:class:`Backend` holds the documents. A backend gives, for each version of
its index, a :class:`Snapshot`: the analysis its documents were indexed
with, a :class:`Lexicon` (what the planner may ask about the vocabulary),
and the execution of a :class:`~search.plan.Plan` under the ranking
contract (:mod:`search.ranking`). Besides, it says how the index is
(health, for ``/healthz`` and the CLI) and where indexing writes
(:class:`index.indexer.Target`).

The embedded backend (``search/backends/embedded``: Whoosh segments scored
with NumPy) is the default; ``search/backends/opensearch`` is the other.
Errors a user can act on are :class:`StoreError` subclasses, whatever the
engine.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index.analysis import CachedChain
from index.indexer import Target
from index.schema import BODY, DEFAULT_ANALYSIS, EXACT, ROOT, SEARCH_FIELDS, build_schema
from index.store import IndexDamaged, IndexHome, IndexOutdated, NoIndex, StoreError, data_dir, default_home

from .plan import Plan, Slot
from .ranking import Ranking

if TYPE_CHECKING:  # search.names reads search.suggest, which reads this module
    from .names import Vocabulary

__all__ = [
    "Analysis",
    "Backend",
    "Checked",
    "Health",
    "IndexDamaged",
    "IndexOutdated",
    "IndexStats",
    "Lexicon",
    "NoIndex",
    "Ranked",
    "Snapshot",
    "StoreError",
    "StoredDocument",
    "default_analysis",
    "open_backend",
]


@dataclass(frozen=True)
class Analysis:
    """What a query's words are analysed with: the chains the index's own documents went through.

    One path for indexing and querying: a word's forms are
    :meth:`CachedChain.analyze` of the field's chain, as when the document was
    indexed. ``fields`` are the searchable fields the index has (an index
    built for comparison may lack the exact or root levels).
    """

    stem: CachedChain
    exact: CachedChain | None
    root: CachedChain | None
    fields: frozenset[str]

    @classmethod
    def of_schema(cls, schema) -> Analysis:
        """The chains a schema analyses its text fields with (each field's analyser ends in its chain)."""

        def chain(name: str) -> CachedChain | None:
            return schema[name].analyzer.items[-1] if name in schema else None

        return cls(
            stem=chain(BODY),
            exact=chain(BODY + EXACT),
            root=chain(BODY + ROOT),
            fields=frozenset(name for name in SEARCH_FIELDS if name in schema),
        )


def default_analysis() -> Analysis:
    """This version's analysis, as a new index is built with it."""
    return Analysis.of_schema(build_schema(DEFAULT_ANALYSIS))


class Lexicon(Protocol):
    """What the planner and the suggestions may ask about an index's vocabulary."""

    def document_frequency(self, field: str, term: str) -> int:
        """In how many documents ``field`` holds ``term`` (deleted ones may count until merged away)."""

    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]:
        """The terms of ``field`` that start with ``prefix``, in sorted order."""

    def side_by_side(self, field: str, slots: tuple[Slot, ...], limit: int) -> int:
        """In how many documents the slots stand as a phrase in ``field`` (counted up to ``limit``)."""

    def stored_text(self, field: str, term: str) -> str | None:
        """The stored text (title or body, as ``field`` names) of a document holding ``term``."""

    def most_frequent(self, field: str, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` terms of ``field`` with their document frequency, the most frequent first."""

    def vocabulary(self, script: str) -> Vocabulary | None:
        """The words of one script (``ARABIC`` or ``LATIN``) of the exact fields, filed by sound.

        For names across scripts (:mod:`search.names`); ``None`` when the index has no exact fields.
        Built once per index version: the first call may take seconds, later ones none.
        """


@dataclass(frozen=True)
class StoredDocument:
    """A document as stored: what a hit and the document page show."""

    id: str
    title: str
    body: str
    lang: str = ""
    source: str = ""
    date: str | None = None  # the day, ISO 8601
    url: str | None = None
    path: str | None = None
    origin: str | None = None  # the file it was read from (a record's: its JSON file)
    pages: tuple[int, ...] = ()  # where each page starts in the body (a paged file)
    ocr_pages: tuple[int, ...] = ()  # the pages whose text was recognised from their image

    def page_at(self, offset: int) -> int | None:
        """The number of the page that holds ``offset`` of the body (None for a document without pages)."""
        if not self.pages:
            return None
        return bisect_right(self.pages, offset) or 1

    @property
    def whole_file(self) -> bool:
        """Whether the document is a whole file (its id is its path), not a record of a JSON file."""
        return self.path is not None and self.path == self.id


@dataclass
class Ranked:
    """One page of a plan's matches: the total, the hits of the page with their scores, counts per facet."""

    total: int
    hits: list[tuple[StoredDocument, float]]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total_all: int | None = None  # of a keyword query (Plan.words): the matches holding all its words
    identities: list[Identity] = field(default_factory=list)  # the page, when asked without its documents


@dataclass(frozen=True)
class Identity:
    """A result known by its id, score and near-duplicate fingerprint alone: what folding needs."""

    id: str
    score: float
    near: bytes | None  # index/nearness.py; None for a short text (or an index built before fingerprints)


@dataclass(frozen=True)
class IndexStats:
    documents: int
    languages: dict[str, int]
    sources: dict[str, int]


class Snapshot(Protocol):
    """One version of an index, as searches read it: every call answers from that version."""

    generation: Hashable  # changes whenever the index does (a key for cached results)
    analysis: Analysis
    lexicon: Lexicon

    def execute(
        self, plan: Plan, ranking: Ranking, sort: str, start: int, size: int, documents: bool = True
    ) -> Ranked:
        """The page ``[start, start + size)`` of the plan's matches in the contract's order, exact totals and facets.

        Without ``documents``, the page comes as ``identities`` (no stored text read) and ``hits`` is empty.
        """

    def count(self, plan: Plan) -> int:
        """How many documents the plan matches (no scoring)."""

    def document(self, doc_id: str) -> StoredDocument | None: ...

    def stats(self) -> IndexStats: ...


# Said to clients of an index that works but should be rebuilt (no server paths).
OLDER_WARNING = (
    "This index was built by an older version of Fahras: run `fahras rebuild` on the server "
    "(until then, searches may miss documents)."
)
NEWER_WARNING = (
    "This index was built by a newer version of Fahras: upgrade Fahras on the server, or run `fahras rebuild` "
    "(until then, searches may miss documents)."
)


@dataclass(frozen=True)
class Health:
    """How the index is, as /healthz and the page say it (raised errors are StoreErrors)."""

    documents: int
    warning: str | None = None  # the index works but should be rebuilt (built by another version)


class Backend(Protocol):
    """An index location: its snapshots, its health, and where indexing writes."""

    location: str

    def snapshot(self, fresh: bool = False) -> Snapshot:
        """This thread's view of the current index (``fresh``: not the one in hand, which failed)."""

    def warm_up(self) -> None:
        """Load what the first query would otherwise wait for."""

    def guard(self) -> None:
        """Raise the StoreError of an index no search may use now (damaged, unreadable); cheap."""

    def health(self) -> Health:
        """The index's state for /healthz, raising the StoreError of an unusable index."""

    def diagnose(self, error: Exception) -> StoreError | None:
        """After an unexpected error: the damage to the index that explains it, if any (then remembered)."""

    def warning(self) -> str | None:
        """Why an index that works should be rebuilt (built by another version), for clients; cheap."""

    def target(self) -> Target:
        """Where ``fahras index`` and ``fahras rebuild`` write this index."""

    def check(self, checksums: bool = False) -> Checked:
        """``fahras check`` (``checksums``: read everything) and ``fahras stats`` (quick)."""

    def describe(self) -> dict:
        """What ``fahras stats`` says of the index beyond its documents (where it is, its size, its build)."""


class Checked(Protocol):
    """What a check found: an error (unusable), a warning (works, rebuild advised), or neither."""

    error: StoreError | None
    warning: str | None
    damaged_files: list[str]  # what is wrong, one line each
    checked_files: int
    unrecorded_files: list[str]

    @property
    def ok(self) -> bool: ...

    def summary(self) -> str: ...


def default_location() -> str:
    """Where an index lives when none is named: ``$FAHRAS_INDEX``, else in the user's data folder."""
    return str(default_home())


def demo_location() -> str:
    """Where ``fahras serve --demo`` keeps the demo's index: beside the default index."""
    return str(data_dir() / "demo")


def open_backend(location: str | Path | IndexHome | None) -> Backend:
    """The backend of an index location: a folder (the embedded index, the default) or an OpenSearch URL."""
    from .backends.embedded import EmbeddedBackend

    if isinstance(location, str) and location.startswith(("http://", "https://")):
        from .backends.opensearch.backend import OpenSearchBackend

        return OpenSearchBackend(location)
    if isinstance(location, IndexHome):
        return EmbeddedBackend(location)
    return EmbeddedBackend(IndexHome(location))
