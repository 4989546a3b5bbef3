"""Incremental indexing against a model: every step of random edits leaves an index that opens and is right.

A hypothesis state machine edits one or two folders (text files and a JSON
lines file whose records carry languages, sources and dates), runs
``fahras index`` after each edit, and checks after every step that:

- the index opens and ``fahras check`` finds it sound;
- every probe query (each word of the vocabulary, each document's own word,
  the language, source and date filters) finds exactly the documents the
  model holds;
- a ``fahras rebuild`` of the same folders finds the same.

The words are chosen to sit at the ends of each field's vocabulary (digits
sort first, ``zymurgy`` last), to be held by one document only, and to come
and go, which is what once broke the index when the only holder of a
field's lowest term was deleted.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, rule

from index.check import check_index
from index.documents import detect_language
from index.generations import rebuild, update
from index.store import IndexHome
from search.engine import Filters, SearchEngine

# Latin and Arabic words with distinct stems; "0" and "9999" sort before every letter.
WORDS = ("0", "9999", "aardvark", "quokka", "kiwi", "zymurgy", "قمر", "شمس", "بحر", "نهر")
LANGS = ("ar", "en", "mixed", None)
SOURCES = ("aa", "mm", "zz", None)
DATES = ("1900-01-01", "2015-07-21", "2099-12-31", None)
PROBE_FILTERS = ("lang:ar", "lang:en", "lang:mixed", "source:aa", "source:zz", "date:1900", "date:2099")
EXAMPLES = 12  # enough to have found the deleted-lowest-term defect in every seeded run (see the README)
STEPS = 14

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)


@dataclass
class Doc:
    """What the model expects of one document."""

    title: list[str]
    body: list[str]
    lang: str
    source: str
    date: str | None = None

    def holds(self, word: str) -> bool:
        return word in self.title or word in self.body


@dataclass
class Record:
    """One JSON lines record, as written to the file."""

    id: str
    title: list[str]
    body: list[str]
    lang: str | None
    source: str | None
    date: str | None

    def as_json(self) -> dict:
        data = {"id": self.id, "title": " ".join(self.title), "text": " ".join(self.body)}
        data.update(
            {k: v for k, v in (("lang", self.lang), ("source", self.source), ("date", self.date)) if v}
        )
        return data


@dataclass
class Folder:
    path: Path
    files: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # name -> title, body
    records: dict[str, Record] = field(default_factory=dict)
    indexed: bool = False


class IncrementalIndexing(RuleBasedStateMachine):
    """Edits folders, indexes them, and compares the index with the model after every step."""

    file_names = Bundle("file_names")
    record_ids = Bundle("record_ids")

    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="fahras-model-"))
        self.home = IndexHome(self.base / "index")
        self.folders = {"a": Folder(self.base / "a"), "b": Folder(self.base / "b")}
        for folder in self.folders.values():
            folder.path.mkdir()
        self.engine = SearchEngine.at(self.home)
        self.counter = 0
        self.indexed_order: list[str] = []

    # ------------------------------------------------------------- edits

    def _unique(self) -> str:
        self.counter += 1
        return f"w{self.counter}"

    @rule(
        target=file_names,
        folder=st.sampled_from("ab"),
        contents=st.lists(st.tuples(texts, texts, st.booleans()), min_size=1, max_size=3),
    )
    def add_files(self, folder: str, contents: list[tuple[list[str], list[str], bool]]):
        """Several files indexed in one run: one new segment holding them all."""
        names = []
        for title, body, sub in contents:
            name = f"{'s1/' if sub else ''}f{self._unique()}.txt"
            self._write_file(folder, name, [*title, self._unique()], body, index=False)
            names.append(f"{folder}:{name}")
        self._index(folder)
        return multiple(*names)

    @rule(name=file_names, title=texts, body=texts)
    def update_file(self, name: str, title: list[str], body: list[str]) -> None:
        folder, relative = name.split(":", 1)
        if relative in self.folders[folder].files:
            self._write_file(folder, relative, [*title, self._unique()], body)

    @rule(name=consumes(file_names))
    def delete_file(self, name: str) -> None:
        folder, relative = name.split(":", 1)
        if self.folders[folder].files.pop(relative, None) is not None:
            (self.folders[folder].path / relative).unlink()
            self._index(folder)

    @rule(target=file_names, name=consumes(file_names))
    def rename_file(self, name: str) -> str:
        folder, relative = name.split(":", 1)
        content = self.folders[folder].files.pop(relative, None)
        if content is None:
            return name
        renamed = f"r{self._unique()}-{Path(relative).name}"
        (self.folders[folder].path / relative).rename(self.folders[folder].path / renamed)
        self.folders[folder].files[renamed] = content
        self._index(folder)
        return f"{folder}:{renamed}"

    @rule(
        target=record_ids,
        records=st.lists(
            st.tuples(texts, texts, st.sampled_from(LANGS), st.sampled_from(SOURCES), st.sampled_from(DATES)),
            min_size=1,
            max_size=3,
        ),
    )
    def add_records(self, records: list[tuple]):
        """Records added in one run (one new segment), with languages, sources and dates at the extremes."""
        ids = []
        for title, body, lang, source, date in records:
            record = Record(f"rec-{self._unique()}", title, [*body, self._unique()], lang, source, date)
            self.folders["a"].records[record.id] = record
            ids.append(record.id)
        self._write_records()
        return multiple(*ids)

    @rule(record=record_ids, lang=st.sampled_from(LANGS), source=st.sampled_from(SOURCES), body=texts)
    def update_record(self, record: str, lang, source, body: list[str]) -> None:
        found = self.folders["a"].records.get(record)
        if found is not None:
            found.lang, found.source, found.body = lang, source, [*body, self._unique()]
            self._write_records()

    @rule(record=consumes(record_ids))
    def delete_record(self, record: str) -> None:
        if self.folders["a"].records.pop(record, None) is not None:
            self._write_records()

    def _write_file(
        self, folder: str, name: str, title: list[str], body: list[str], index: bool = True
    ) -> None:
        path = self.folders[folder].path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{' '.join(title)}\n{' '.join(body)}\n", encoding="utf-8")
        self.folders[folder].files[name] = (title, body)
        if index:
            self._index(folder)

    def _write_records(self) -> None:
        lines = [
            json.dumps(record.as_json(), ensure_ascii=False) for record in self.folders["a"].records.values()
        ]
        (self.folders["a"].path / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._index("a")

    def _index(self, name: str) -> None:
        update(self.home, self.folders[name].path, show_progress=False, lock_timeout=5)
        if name not in self.indexed_order:
            self.indexed_order.append(name)
        self.folders[name].indexed = True

    # ------------------------------------------------------------- the model

    def expected(self) -> dict[str, Doc]:
        """Every document the index must hold, by id, as the model sees the folders."""
        docs: dict[str, Doc] = {}
        for position, name in enumerate(self.indexed_order):
            folder = self.folders[name]
            prefix = "" if position == 0 else f"{name}/"
            for relative, (title, body) in folder.files.items():
                source = relative.split("/")[0] if "/" in relative and not prefix else name
                text = f"{' '.join(title)}\n{' '.join(body)}"
                docs[prefix + relative] = Doc(title, body, detect_language(text), source)
            for record in folder.records.values():
                text = f"{' '.join(record.title)}\n{' '.join(record.body)}"
                lang = record.lang or detect_language(text)
                docs[record.id] = Doc(record.title, record.body, lang, record.source or name, record.date)
        return docs

    def probes(self, docs: dict[str, Doc]) -> dict[str, set[str]]:
        """Each probe query and the ids it must find."""
        words = set(WORDS) | {word for doc in docs.values() for word in doc.title + doc.body}
        found = {word: {doc_id for doc_id, doc in docs.items() if doc.holds(word)} for word in words}
        for probe in PROBE_FILTERS:
            name, value = probe.split(":")
            if name == "date":
                found[probe] = {i for i, d in docs.items() if d.date and d.date.startswith(value)}
            else:
                found[probe] = {i for i, d in docs.items() if getattr(d, name) == value}
        return found

    # ------------------------------------------------------------- checks

    @invariant()
    def index_matches_the_model(self) -> None:
        if not self.indexed_order:
            return
        check = check_index(self.home, checksums=True)
        assert check.ok, check.summary()
        docs = self.expected()
        assert self.engine.stats().documents == len(docs)
        rebuilt = IndexHome(self.base / f"rebuilt-{self.counter}")
        rebuild(rebuilt, [self.folders[name].path for name in self.indexed_order], show_progress=False)
        fresh = SearchEngine.at(rebuilt)
        for query, ids in self.probes(docs).items():
            assert _found(self.engine, query) == ids, f"{query!r} after {self.counter} edits"
            assert _found(fresh, query) == ids, f"{query!r} in a rebuild after {self.counter} edits"
        shutil.rmtree(rebuilt.path)

    def teardown(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _found(engine: SearchEngine, query: str) -> set[str]:
    results = engine.search(query, size=100, correct=False, snippets=False, filters=Filters())
    assert results.total == len(results.hits) or results.total > 100
    return {hit.id for hit in results.hits}


def test_incremental_indexing_matches_the_model() -> None:
    run = IncrementalIndexing.TestCase
    run.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=False,
    )
    run().runTest()
