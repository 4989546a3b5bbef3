"""An index version's words, filed by sound for names across scripts and in order for prefix walks, kept on disk.

:mod:`search.names` finds the Arabic words of the index that sound like a Latin
query word (and back) by looking up skeleton keys. Filing every word of an
index under its keys takes seconds (about 60 µs a word), too long for a query
and too long to repeat in every ``fahras search``. So it is done once per
index version, when the vocabulary is first asked for (``fahras index`` and
``fahras rebuild`` ask right after they publish), and kept in an SQLite file
under the cache folder, named by the version's segments: a process opens it in
a millisecond and looks a key up in microseconds. The file is a cache, never
the index: deleting it costs one rebuild of it.

The same file keeps each exact field's terms in order (:class:`StoredTerms`): a
prefix walk over them, which did-you-mean makes over thousands of words, reads
one B-tree instead of merging every segment's term index in Python (at 300,000
documents in 21 segments, Whoosh's walk was a tenth of a question's time, and
most of the slowest questions' time).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from index.schema import BODY, EXACT, TITLE
from index.store import cache_dir
from search.names import MIN_KEY, SCRIPTS, KeyedVocabulary, Vocabulary, keys, name_script

FORMAT = 2  # raise when the file's layout or the keys change: older files are then not read
STALE_SECONDS = 3600  # a half-written file this old was left by a killed build
KEPT = 3  # an index's vocabularies kept: the live version's, and those a server may still be answering from
_LOCK = threading.Lock()  # one build at a time in a process
PAGE = 256  # terms read from the file at a time by a prefix walk (a walk is often stopped early)


class StoredVocabulary:
    """One script's words of an index version (a :class:`search.names.Vocabulary`), read from SQLite."""

    def __init__(self, connection: sqlite3.Connection, script: str, lock: threading.Lock) -> None:
        self._connection, self.script, self._lock = connection, script, lock
        with lock:
            row = connection.execute("SELECT postings FROM scripts WHERE script = ?", (script,)).fetchone()
        self.postings = row[0] if row else 0

    def frequency(self, word: str) -> int:
        with self._lock:
            row = self._connection.execute(
                "SELECT frequency FROM words WHERE script = ? AND word = ?", (self.script, word)
            ).fetchone()
        return row[0] if row else 0

    def words_with_key(self, skeleton: str) -> Sequence[tuple[str, int]]:
        with self._lock:
            return self._connection.execute(
                "SELECT word, frequency FROM keyed JOIN words USING (script, word) WHERE script = ? AND key = ?",
                (self.script, skeleton),
            ).fetchall()


class StoredTerms:
    """The exact fields' terms of an index version in order, as Whoosh's term index walks them, from the file."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.Lock) -> None:
        self._connection, self._lock = connection, lock

    def starting(self, field: str, prefix: str) -> Iterator[str]:
        """The field's terms that start with ``prefix``, in Whoosh's order (UTF-8 bytes, which is code points)."""
        after, inclusive = prefix, True
        while True:  # a page at a time, the lock held only while one is read
            with self._lock:
                page = [word for (word,) in self._connection.execute(
                    f"SELECT word FROM terms WHERE field = ? AND word {'>=' if inclusive else '>'} ? "
                    "ORDER BY word LIMIT ?", (field, after, PAGE))]  # fmt: skip
            for word in page:
                if not word.startswith(prefix):
                    return
                yield word
            if len(page) < PAGE:
                return
            after, inclusive = page[-1], False


class HeldTerms:
    """The same terms held in memory, sorted (where the cache folder cannot be written)."""

    def __init__(self, terms: dict[str, list[str]]) -> None:
        self._terms = {field: sorted(words) for field, words in terms.items()}

    def starting(self, field: str, prefix: str) -> Iterator[str]:
        terms = self._terms.get(field, [])
        for term in islice(terms, bisect_left(terms, prefix), None):
            if not term.startswith(prefix):
                return
            yield term


FiledTerms = StoredTerms | HeldTerms


@dataclass
class Filed:
    """An index version's filed words: each script's vocabulary (names), and the exact fields' terms in order."""

    scripts: dict[str, Vocabulary]
    terms: FiledTerms | None
    fields: frozenset[str] = frozenset()  # the fields whose terms are filed


def vocabularies(reader, home_key: str) -> Filed:
    """The filed words of the index version ``reader`` reads (built and stored on first use).

    Without exact fields (an index built for comparison) there are none. Where the
    cache folder cannot be written, they are built in memory, for this process only.
    """
    fields = [name for name in (TITLE + EXACT, BODY + EXACT) if name in reader.indexed_field_names()]
    if not fields:
        return Filed({}, None)
    leaves = [leaf for leaf, _offset in reader.leaf_readers() if leaf.segment() is not None]
    ids = "|".join(sorted(leaf.segment().segment_id() for leaf in leaves))
    folder = cache_dir("names") / f"v{FORMAT}" / hashlib.sha256(home_key.encode()).hexdigest()[:16]
    path = folder / f"{hashlib.sha256(ids.encode()).hexdigest()[:32]}.sqlite"
    try:
        if not path.exists():
            with _LOCK:
                if not path.exists():
                    _build(path, _per_field(leaves, fields))
                    with contextlib.suppress(FileNotFoundError):  # another process tidying at once
                        _forget_older(folder, path)
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    except (OSError, sqlite3.Error):
        per_field = _per_field(leaves, fields)
        counted = _counted(per_field)
        scripts = {script: KeyedVocabulary.of_script(counted.items(), script) for script in SCRIPTS}
        held = HeldTerms({name: list(words) for name, words in per_field.items()})
        return Filed(scripts, held, frozenset(fields))
    lock = threading.Lock()
    stored = {script: StoredVocabulary(connection, script, lock) for script in SCRIPTS}
    return Filed(stored, StoredTerms(connection, lock), frozenset(fields))


def _forget_older(folder: Path, kept: Path) -> None:
    """Deletes all but the newest ``KEPT`` vocabularies of an index (a process reading one keeps its file open),
    and those of its earlier formats, which no longer serve."""
    for format_number in range(1, FORMAT):
        shutil.rmtree(folder.parent.parent / f"v{format_number}" / folder.name, ignore_errors=True)
    files = sorted(folder.glob("*.sqlite"), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in [path for path in files if path != kept][KEPT - 1 :]:
        old.unlink(missing_ok=True)
    for partial in folder.glob("*.partial"):  # left by a build that was killed
        if time.time() - partial.stat().st_mtime > STALE_SECONDS:
            partial.unlink(missing_ok=True)


def _per_field(leaves: list, fields: list[str]) -> dict[str, dict[str, int]]:
    """Each exact field's words with their document frequencies.

    Read segment by segment: Whoosh's multi-segment term walk merges in Python, ten times slower.
    Deleted documents may count until their segment is merged away, as in every document frequency.
    """
    counted: dict[str, dict[str, int]] = {}
    for name in fields:
        per_field = counted.setdefault(name, {})
        for leaf in leaves:
            for term, info in leaf.iter_field(name):
                word = term.decode("utf-8") if isinstance(term, bytes) else term
                per_field[word] = per_field.get(word, 0) + info.doc_frequency()
    return counted


def _counted(counted: dict[str, dict[str, int]]) -> dict[str, int]:
    """Each word with its document frequency: the larger of title's and body's."""
    found: dict[str, int] = {}
    for per_field in counted.values():
        for word, frequency in per_field.items():
            if frequency > found.get(word, 0):
                found[word] = frequency
    return found


def _rows(counted: dict[str, int], known: dict[str, list[str]]) -> Iterator[tuple[str, str, str]]:
    """Each word's skeleton keys: from ``known`` (an earlier version's file) where it has the word."""
    for word in counted:
        if script := name_script(word):
            found = known.get(word)
            for skeleton in found if found is not None else keys(word):
                if len(skeleton) >= MIN_KEY:
                    yield script, skeleton, word


def _known_keys(folder: Path) -> dict[str, list[str]]:
    """The keys of every word of the newest vocabulary kept for the index: an update adds few words."""
    files = sorted(folder.glob("*.sqlite"), key=lambda path: path.stat().st_mtime, reverse=True)
    known: dict[str, list[str]] = {}
    if files:
        with contextlib.closing(sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True)) as connection:
            known = {word: [] for (word,) in connection.execute("SELECT word FROM words")}
            for word, skeleton in connection.execute("SELECT word, key FROM keyed"):
                known[word].append(skeleton)
    return known


def _build(path: Path, per_field: dict[str, dict[str, int]]) -> None:
    """Writes the vocabulary beside ``path`` and renames it into place: a reader never sees half a file."""
    counted = _counted(per_field)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        known = _known_keys(path.parent)
    except sqlite3.Error:  # an unreadable earlier file: every word's keys computed anew
        known = {}
    partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)
    try:
        with sqlite3.connect(partial) as connection:
            connection.executescript(
                "CREATE TABLE words (script TEXT, word TEXT, frequency INTEGER, PRIMARY KEY (script, word));"
                "CREATE TABLE keyed (script TEXT, key TEXT, word TEXT);"
                "CREATE TABLE scripts (script TEXT PRIMARY KEY, postings INTEGER);"
                "CREATE TABLE terms (field TEXT, word TEXT, PRIMARY KEY (field, word)) WITHOUT ROWID;"
            )
            connection.executemany(
                "INSERT INTO terms VALUES (?, ?)",
                ((name, w) for name, words in per_field.items() for w in words),
            )
            words = [(script, w, f) for w, f in counted.items() if (script := name_script(w))]
            connection.executemany("INSERT INTO words VALUES (?, ?, ?)", words)
            connection.executemany("INSERT INTO keyed VALUES (?, ?, ?)", _rows(counted, known))
            connection.execute("CREATE INDEX by_key ON keyed (script, key)")
            connection.executemany(
                "INSERT INTO scripts VALUES (?, ?)",
                [(script, sum(f for s, _w, f in words if s == script)) for script in SCRIPTS],
            )
        connection.close()
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
