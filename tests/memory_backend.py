"""A whole backend in memory, for tests: documents in a list, plans executed by walking them.

It is not fast and scores simply (each matched term adds its weight times its
frequency), but it is a complete :class:`search.backend.Backend`: the real
engine, CLI and API answer queries over it, and ``fahras index`` writes into
it through :class:`index.indexer.Target`. Nothing in it imports Whoosh: that
it works is the proof that the seam is whole.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from index.documents import Document
from index.indexer import IndexReport, Recorded
from index.nearness import fingerprint
from index.progress import Progress
from index.schema import BODY, COPIES, EXACT, ROOT, TITLE
from search.backend import Health, Identity, IndexStats, NoIndex, Ranked, StoredDocument, default_analysis
from search.names import KeyedVocabulary
from search.plan import AllOf, AnyOf, Everything, Match, PhraseMatch, Plan, Slot, Term, Without
from search.ranking import Ranking
from search.syntax import Filter

CHAIN_OF_LEVEL = {"": "stem", EXACT: "exact", ROOT: "root"}


@dataclass
class _Entry:
    """A document held in memory: what is stored, and each field's terms at their positions."""

    stored: StoredDocument
    origin: str
    fingerprint: str
    date: object = None
    near: bytes | None = None  # the body's near-duplicate fingerprint
    positions: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # field -> term -> positions


class MemorySnapshot:
    """The in-memory index as it is now (one version: it changes only between runs)."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend
        self.analysis = backend.analysis
        self.lexicon = self
        self.generation = backend.version

    @property
    def entries(self) -> list[_Entry]:
        return list(self.backend.entries.values())

    # ------------------------------------------------------------- the lexicon

    def document_frequency(self, name: str, term: str) -> int:
        return sum(1 for entry in self.entries if term in entry.positions.get(name, {}))

    def expand_prefix(self, name: str, prefix: str):
        return iter(
            sorted({t for e in self.entries for t in e.positions.get(name, {}) if t.startswith(prefix)})
        )

    def most_frequent(self, name: str, limit: int) -> list[tuple[str, int]]:
        counts = Counter(term for entry in self.entries for term in entry.positions.get(name, {}))
        return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]

    def vocabulary(self, script: str) -> KeyedVocabulary:
        holders = Counter(
            word
            for entry in self.entries
            for word in {*entry.positions.get(TITLE + EXACT, {}), *entry.positions.get(BODY + EXACT, {})}
        )
        return KeyedVocabulary.of_script(holders.items(), script)

    def side_by_side(self, name: str, slots: tuple[Slot, ...], limit: int) -> int:
        return min(limit, sum(1 for entry in self.entries if _stands(entry, PhraseMatch(name, slots))))

    def stored_text(self, name: str, term: str) -> str | None:
        entry = next((e for e in self.entries if term in e.positions.get(name, {})), None)
        return (
            None if entry is None else (entry.stored.title if name.startswith(TITLE) else entry.stored.body)
        )

    # ------------------------------------------------------------- execution

    def execute(
        self, plan: Plan, ranking: Ranking, sort: str, start: int, size: int, documents: bool = True
    ) -> Ranked:
        found = [entry for entry in self.entries if _selected(entry, plan)]
        scored = [(entry, _score(entry, plan)) for entry in found]
        if sort == "date":
            scored.sort(key=lambda pair: (pair[0].stored.date is None, _negated(pair[0].stored.date)))
        else:
            scored.sort(key=lambda pair: -pair[1])
        facets = {
            "lang": dict(Counter(e.stored.lang for e in found if e.stored.lang)),
            "source": dict(Counter(e.stored.source for e in found if e.stored.source)),
        }
        chosen = scored[start : start + size]
        if not documents:
            return Ranked(
                len(found), [], facets, identities=[Identity(e.stored.id, s, e.near) for e, s in chosen]
            )
        return Ranked(len(found), [(entry.stored, score) for entry, score in chosen], facets)

    def count(self, plan: Plan) -> int:
        return sum(1 for entry in self.entries if _selected(entry, plan))

    def document(self, doc_id: str) -> StoredDocument | None:
        entry = self.backend.entries.get(doc_id)
        return None if entry is None else entry.stored

    def stats(self) -> IndexStats:
        entries = self.entries
        return IndexStats(
            len(entries),
            dict(Counter(e.stored.lang for e in entries)),
            dict(Counter(e.stored.source for e in entries)),
        )


def _negated(day: str | None) -> str:
    """A day as a key that sorts the newest first."""
    return "".join(chr(0x10FFFF - ord(char)) for char in day or "")


def _selected(entry: _Entry, plan: Plan) -> bool:
    return (
        plan.match is not None
        and _matches(entry, plan.match)
        and _passes(entry, plan.filters)
        and not any(_passes(entry, (item,)) for item in plan.excluded)
    )


def _passes(entry: _Entry, filters: tuple[Filter, ...]) -> bool:
    """Every kind of filter holds (values of one kind OR-ed), as the contract says."""
    kinds: dict[str, list[Filter]] = {}
    for item in filters:
        kinds.setdefault(item.name, []).append(item)
    return all(any(_one_filter(entry, item) for item in items) for items in kinds.values())


def _one_filter(entry: _Entry, item: Filter) -> bool:
    if item.name == "date":
        date = entry.date
        return (
            date is not None and (not item.start or date >= item.start) and (not item.end or date <= item.end)
        )
    return getattr(entry.stored, item.name) == item.value


def _matches(entry: _Entry, match: Match) -> bool:
    if isinstance(match, Term):
        return match.text in entry.positions.get(match.field, {})
    if isinstance(match, PhraseMatch):
        return _stands(entry, match)
    if isinstance(match, AnyOf):
        return any(_matches(entry, part) for part in match.parts)
    if isinstance(match, AllOf):
        return all(_matches(entry, part) for part in match.parts)
    if isinstance(match, Without):
        return _matches(entry, match.base) and not _matches(entry, match.excluded)
    return isinstance(match, Everything)


def _stands(entry: _Entry, phrase: PhraseMatch) -> bool:
    terms = entry.positions.get(phrase.field, {})

    def at(slot: Slot) -> set[int]:
        return {position for term in slot.terms for position in terms.get(term, ())}

    starts = at(phrase.slots[0])
    for previous, slot in zip(phrase.slots, phrase.slots[1:], strict=False):
        gap = slot.offset - previous.offset
        starts = {p + gap + extra for p in starts for extra in range(phrase.slop + 1)} & at(slot)
    return bool(starts)


def _score(entry: _Entry, plan: Plan) -> float:
    total = sum(
        term.weight * len(entry.positions.get(term.field, {}).get(term.text, ())) for term in plan.scoring
    )
    return total + sum(phrase.weight for phrase in plan.phrases if _stands(entry, phrase.phrase))


class MemoryBackend:
    """Documents in memory behind the Backend protocol; ``fahras index`` writes them through :meth:`target`."""

    def __init__(self, location: str = "memory:test") -> None:
        self.location = location
        self.analysis = default_analysis()
        self.entries: dict[str, _Entry] = {}
        self.version = 0
        self.built = False
        self.recorded = Recorded()

    def snapshot(self, fresh: bool = False) -> MemorySnapshot:
        if not self.built:
            raise NoIndex(f"no index at {self.location} (create one with: fahras index FOLDER)")
        return MemorySnapshot(self)

    def warm_up(self) -> None:
        self.snapshot()

    def guard(self) -> None:
        pass

    def health(self) -> Health:
        return Health(self.snapshot().stats().documents)

    def diagnose(self, error: Exception):
        return None

    def warning(self) -> str | None:
        return None

    def target(self) -> MemoryTarget:
        return MemoryTarget(self)

    def check(self, checksums: bool = False) -> _Checked:
        return _Checked()

    def describe(self) -> dict:
        return {"index": self.location, "roots": [str(folder) for folder, _ in self.recorded.roots]}

    def add(self, document: Document) -> None:
        """Index one document (what the target's writer does)."""
        chains = {"stem": self.analysis.stem, "exact": self.analysis.exact, "root": self.analysis.root}
        entry = _Entry(
            StoredDocument(document.id, document.title or document.id, document.body, document.lang,
                           document.source, document.date.date().isoformat() if document.date else None,
                           document.url or None, document.path or None),
            document.origin, document.fingerprint, document.date, fingerprint(document.body),
        )  # fmt: skip
        for text_field, text in ((TITLE, document.title), (BODY, document.body)):
            for name in COPIES[text_field]:
                chain = chains[CHAIN_OF_LEVEL[name[len(text_field) :]]]
                terms: dict[str, list[int]] = {}
                for position, word in enumerate(_words(text)):
                    for form in chain.analyze(word):
                        terms.setdefault(form, []).append(position)
                entry.positions[name] = terms
        self.entries[document.id] = entry


def _words(text: str) -> list[str]:
    from index.analysis import WordTokenizer

    return WordTokenizer.words(text)


@dataclass
class _Checked:
    """Memory cannot be damaged: every check is sound."""

    error: None = None
    warning: None = None
    damaged_files: list = field(default_factory=list)
    checked_files: int = 0
    unrecorded_files: list = field(default_factory=list)
    ok: bool = True

    def summary(self) -> str:
        return "ok: held in memory"


class _Writer:
    def __init__(self, changes: list) -> None:
        self.changes = changes

    def add(self, document: Document, read_to: int) -> None:
        self.changes.append(("add", document))

    def replace(self, document: Document, read_to: int) -> None:
        self.changes.append(("add", document))

    def delete(self, doc_id: str) -> None:
        self.changes.append(("delete", doc_id))


class _Run:
    def __init__(self, backend: MemoryBackend, fresh: bool) -> None:
        self.backend, self.fresh = backend, fresh
        self.changes: list = []
        self.inventory = {} if fresh else {i: (e.origin, e.fingerprint) for i, e in backend.entries.items()}
        self.writer = _Writer(self.changes)

    def finish(self, recorded: Recorded, report: IndexReport) -> None:
        """All the run's changes at once (as a target must), then one new version."""
        if self.fresh:
            self.backend.entries = {}
        for kind, item in self.changes:
            if kind == "add":
                self.backend.add(item)
            else:
                self.backend.entries.pop(item, None)
        self.backend.built, self.backend.recorded = True, recorded
        self.backend.version += 1
        report.total_docs = len(self.backend.entries)


class MemoryTarget:
    """Where ``fahras index`` writes the in-memory backend."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend
        self.location = backend.location

    def write_lock(self, timeout: float):
        return nullcontext()

    def exists(self) -> bool:
        return self.backend.built

    def refuse_unusable(self) -> None:
        pass

    def recorded(self) -> Recorded:
        return self.backend.recorded

    @contextmanager
    def update(self, procs: int, progress: Progress):
        yield _Run(self.backend, fresh=False)

    @contextmanager
    def rebuild(self, procs: int, progress: Progress, expected_bytes: int):
        yield _Run(self.backend, fresh=True)
