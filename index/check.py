"""Checking an index: are its files as written, and was it built the way this version builds?

``fahras check`` runs :func:`check_index` with checksums, ``fahras stats`` and
the server's health check without (sizes only, which is what a truncated or
deleted file changes). Two kinds of finding:

* ``error``: the index cannot be used as it is, because a file is missing,
  shorter or longer than written, or not what was written (checksum), or the
  index cannot be opened at all. Searches would fail or return wrong results.
* ``warning``: the index works but was built by another version of Fahras
  (another index format or text analysis): searches run, and may miss
  documents until it is rebuilt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, Index

from .decoded import DecodedLists, DecodedListsUnreadable, path_of
from .schema import analysis_fingerprint, default_fingerprint
from .store import (
    FORMAT_VERSION,
    INDEX_NAME,
    IndexDamaged,
    IndexHome,
    MappedFileStorage,
    NoIndex,
    StoreError,
    file_checksum,
    index_files,
    read_build_info,
    size_mismatch,
)


@dataclass
class IndexCheck:
    """What a check of the live generation found."""

    folder: Path
    error: StoreError | None = None  # the index cannot be used as it is (IndexDamaged, IndexOutdated)
    warning: str | None = None  # it works, but should be rebuilt
    damaged_files: list[str] = field(default_factory=list)  # "name: what is wrong"
    checked_files: int = 0
    unrecorded_files: list[str] = field(default_factory=list)  # written after the last build record
    checksums: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.warning is None

    def summary(self) -> str:
        """One line: the verdict, or how much was verified."""
        if self.error or self.warning:
            return str(self.error or self.warning)
        how = "sizes and checksums" if self.checksums else "sizes"
        extra = f"; {len(self.unrecorded_files)} written since the last record, not checked" * bool(
            self.unrecorded_files
        )
        return f"ok: the {how} of {self.checked_files} index files are as written{extra}"


def check_index(home: IndexHome, checksums: bool = False) -> IndexCheck:
    """Check the live generation of ``home``: its files, then open it (raises NoIndex without one)."""
    result = check_files(home, checksums)
    if result.error:
        return result
    try:
        ix = home.open()
        read_every_segment(ix)
    except StoreError as error:
        result.error = error
        return result
    except UnreadableTerm as error:
        result.error = home.damaged(str(error))
        result.damaged_files.append(str(error))
        return result
    except Exception as error:  # Whoosh reading garbage: any error may come out
        result.error = home.damaged(f"reading it failed ({_describe(error)})")
        return result
    result.warning = outdated(home, ix)
    return result


def verify_generation(folder: Path) -> None:
    """Open a finished generation and read from every segment and field, as a search would.

    The guard before publishing: a build or update that wrote something
    this version cannot read fails instead of going live. Raises
    IndexDamaged saying what could not be read.
    """
    try:
        ix = MappedFileStorage(str(folder)).open_index()
        read_every_segment(ix)
        ix.close()
    except UnreadableTerm as error:
        raise IndexDamaged(f"the new index does not read back: {error}") from error
    except Exception as error:
        raise IndexDamaged(f"the new index does not read back ({_describe(error)})") from error


def check_files(home: IndexHome, checksums: bool = False) -> IndexCheck:
    """Compare the live generation's files with its build record: a stat per file (and a read with checksums)."""
    folder = home.live_dir()
    if folder is None:
        raise NoIndex(f"no index at {home.path} (create one with: fahras index FOLDER)")
    result = IndexCheck(folder=folder, checksums=checksums)
    recorded = read_build_info(folder).get("files", {})
    current = _current_files(folder)
    for name in current if current is not None else index_files(folder):
        problem = _file_problem(folder, name, recorded.get(name), checksums)
        if problem:
            result.damaged_files.append(f"{name}: {problem}")
        elif name in recorded:
            result.checked_files += 1
        else:
            result.unrecorded_files.append(name)
    if result.damaged_files:
        result.error = home.damaged(result.damaged_files[0])
    return result


def outdated(home: IndexHome, ix: Index) -> str | None:
    """Why the index should be rebuilt although it works (another format or analysis), or None."""
    info = home.build_info()
    rebuild = f"run `{home.rebuild_command()}`"
    recorded = info.get("format")
    if isinstance(recorded, int) and recorded > FORMAT_VERSION:
        return (
            f"this index was built by a newer version of Fahras (index format {recorded}; this version "
            f"writes {FORMAT_VERSION}): upgrade Fahras, or {rebuild}"
        )
    if recorded != FORMAT_VERSION:
        return f"this index was built by an older version of Fahras (an older index format): {rebuild}"
    fingerprint = analysis_fingerprint(ix.schema)
    if info.get("analysis") != fingerprint or (
        info.get("default_analysis") and fingerprint != default_fingerprint()
    ):
        return (
            "this index was built by an older version of Fahras, whose text analysis differs from this "
            f"version's (searches may miss documents): {rebuild}"
        )
    return None


def _current_files(folder: Path) -> list[str] | None:
    """The files the newest table of contents needs, or None when it cannot be read.

    Files of segments that a commit merged away are not needed any more,
    even if the build record still lists them.
    """
    try:
        toc = TOC.read(FileStorage(str(folder)), INDEX_NAME)
    except Exception:  # unreadable: the open below reports why
        return None
    segments = {segment.segment_id() for segment in toc.segments}
    toc_name = f"_{INDEX_NAME}_{toc.generation}.toc"
    recorded = read_build_info(folder).get("files", {})
    names = set(index_files(folder)) | {name for name in recorded if name.split(".")[0] in segments}
    return sorted(name for name in names if name == toc_name or name.split(".")[0] in segments)


def _file_problem(folder: Path, name: str, entry: list[int] | None, checksums: bool) -> str | None:
    try:
        size = os.stat(folder / name).st_size
    except FileNotFoundError:
        return "missing" if entry else None
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if entry is None:
        return None
    if size != entry[0]:
        return size_mismatch(size, entry[0])
    if checksums and file_checksum(folder / name) != entry[1]:
        return "its content is not what was written (checksum differs)"
    return None


class UnreadableTerm(Exception):
    """A term whose postings cannot be read back: the message names the segment, the field and the term."""


def read_every_segment(ix: Index) -> None:
    """Read a little of every segment's files: each field's first term, stored fields, columns.

    A term's postings are read through the codec, deleted documents
    included: the bytes on disk are what is checked, whatever was deleted
    since (a term whose only documents are deleted is still stored), and
    through the reader as a search reads them.
    """
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            segment = leaf.segment()
            if segment is None:  # the reader of an index without segments
                continue
            terms = segment.codec().terms_reader(ix.storage, segment)
            try:
                for name in leaf.indexed_field_names():
                    first = next(iter(leaf.lexicon(name)), None)
                    if first is not None:
                        _read_term(leaf, terms, segment.segment_id(), name, first)
            finally:
                terms.close()
            _read_documents(leaf)
            _read_decoded(ix.storage, segment)


def _read_term(leaf, terms, segment_id: str, name: str, text: bytes) -> None:
    try:
        fmt = leaf.schema[name].format
        raw = terms.matcher(name, text, fmt)
        while raw.is_active():
            raw.id(), raw.weight(), raw.value()
            raw.next()
        found = leaf.postings(name, text)
        while found.is_active():
            found.id(), found.weight()
            found.next()
    except Exception as error:
        term = text.decode("utf-8", "replace")
        raise UnreadableTerm(
            f"segment {segment_id}, field {name!r}, term {term[:40]!r}: its postings cannot be read "
            f"({_describe(error)})"
        ) from error


def _read_decoded(storage, segment) -> None:
    """The segment's decoded long lists (:mod:`index.decoded`), when it has them: their header and size."""
    path = path_of(storage, segment)
    try:
        if path is not None:
            DecodedLists.read(path)
    except DecodedListsUnreadable as error:
        raise UnreadableTerm(f"segment {segment.segment_id()}: {error}") from error


def _read_documents(leaf) -> None:
    count = leaf.doc_count_all()
    if not count:
        return
    leaf.stored_fields(0)
    leaf.stored_fields(count - 1)
    for name in leaf.schema.names():
        if leaf.has_column(name):
            column = leaf.column_reader(name, translate=False)
            column[0], column[count - 1]


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
