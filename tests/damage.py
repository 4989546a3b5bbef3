"""Damaging a copy of an index the ways disks, people and older versions do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from index.store import BUILD_INFO, IndexHome, file_checksum

# kind -> (file suffix, what happens to it)
DAMAGE = {
    "zeroed-toc": (".toc", "zero"),
    "truncated-toc": (".toc", "half"),
    "zeroed-terms": (".trm", "zero"),
    "deleted-postings": (".pst", "delete"),
    "truncated-postings": (".pst", "half"),
    "zeroed-postings": (".pst", "zero"),  # same size: only a checksum tells
    "truncated-stored": ("._stored.col", "half"),
}


def copy_index(home: IndexHome, destination: Path) -> IndexHome:
    shutil.copytree(home.path, destination, symlinks=True)
    return IndexHome(destination)


def index_file(home: IndexHome, suffix: str) -> Path:
    live = home.live_target()
    return next(path for path in sorted(live.iterdir()) if path.name.endswith(suffix))


def damage(home: IndexHome, kind: str) -> Path:
    """Apply one kind of damage to the live generation; returns the file damaged."""
    suffix, how = DAMAGE[kind]
    path = index_file(home, suffix)
    if how == "delete":
        path.unlink()
    elif how == "half":
        os.truncate(path, path.stat().st_size // 2)
    else:
        path.write_bytes(b"\0" * path.stat().st_size)
    return path


def rename_a_pickled_class(home: IndexHome, old: bytes = b"ArabicLightStemmer") -> None:
    """Make the index's pickled schema name a class this version does not have.

    What an index written before a class was renamed looks like: the table of
    contents is intact (its recorded checksum is updated to match), but it
    cannot be unpickled.
    """
    toc = index_file(home, ".toc")
    data = toc.read_bytes()
    assert old in data
    toc.write_bytes(data.replace(old, old[:-1] + b"X"))  # same length: the file stays well formed
    info_path = home.live_target() / BUILD_INFO
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["files"][toc.name] = [toc.stat().st_size, file_checksum(toc)]
    info_path.write_text(json.dumps(info), encoding="utf-8")


def edit_build_info(home: IndexHome, **changes: object) -> None:
    """Change what the live generation records about its build (None removes a key)."""
    path = home.live_target() / BUILD_INFO
    info = json.loads(path.read_text(encoding="utf-8"))
    info.update(changes)
    path.write_text(json.dumps({k: v for k, v in info.items() if v is not None}), encoding="utf-8")
