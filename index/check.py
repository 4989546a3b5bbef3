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

from .schema import analysis_fingerprint, default_fingerprint
from .store import (
    FORMAT_VERSION,
    INDEX_NAME,
    IndexHome,
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
        _read_every_segment(ix)
    except StoreError as error:
        result.error = error
        return result
    except Exception as error:  # Whoosh reading garbage: any error may come out
        result.error = home.damaged(f"reading it failed ({type(error).__name__}: {error})")
        return result
    result.warning = outdated(home, ix)
    return result


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


def _read_every_segment(ix: Index) -> None:
    """Open every segment and read a little of each file kind: terms, postings, stored fields."""
    with ix.reader() as reader:
        for segment, _ in reader.leaf_readers():
            for name in segment.indexed_field_names():
                for text in segment.lexicon(name):
                    postings = segment.postings(name, text)
                    postings.id(), postings.value()
                    break
            if segment.doc_count_all():
                segment.stored_fields(0)
                segment.stored_fields(segment.doc_count_all() - 1)
