"""Where indexes live on disk, and how a rebuild replaces one atomically.

An index home is a folder holding generations (``gen-*``), each a complete
Whoosh index, and a symlink ``live`` naming the one being served. A rebuild
writes a new generation in a ``tmp-*`` folder and then swaps ``live`` with a
single ``rename``: a reader sees either the old index or the new one, and a
rebuild killed at any point leaves ``live`` untouched. Readers open the
generation's real path, so a swap never changes files under an open searcher.

Writers (``fahras index`` and ``fahras rebuild``) take an exclusive ``flock``
on ``write.lock``; the kernel releases it when a process dies, so a crash
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import Index

ENV_VAR = "FAHRAS_INDEX"
LIVE = "live"
LOCK = "write.lock"
BUILD_INFO = "fahras-build.json"


class StoreError(Exception):
    """A problem with the index location that the user must fix (clear message)."""


class NoIndex(StoreError):
    pass


class WriterBusy(StoreError):
    pass


def data_dir() -> Path:
    """Fahras's folder under ``$XDG_DATA_HOME`` (~/.local/share/fahras)."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "fahras"


def default_home() -> Path:
    """``$FAHRAS_INDEX``, else ``$XDG_DATA_HOME/fahras/index`` (~/.local/share/fahras/index)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return data_dir() / "index"


class IndexHome:
    """One index location on disk (see the module docstring for the layout)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else default_home()

    # ----------------------------------------------------------------- reading

    def live_dir(self) -> Path | None:
        """The real folder of the generation being served, or None."""
        target = self.live_target()
        return target if target and retrying(whoosh_index.exists_in, str(target)) else None

    def live_target(self) -> Path | None:
        """Where the live link points, unchecked: a cheap test for a swap, once per search."""
        link = self.path / LIVE
        return link.resolve() if link.is_symlink() or link.is_dir() else None

    def exists(self) -> bool:
        return self.live_dir() is not None

    def open(self) -> Index:
        live = self.live_dir()
        if live is None:
            raise NoIndex(f"no index at {self.path} (create one with: fahras index FOLDER)")
        return retrying(MappedFileStorage(str(live)).open_index)

    def build_info(self) -> dict:
        live = self.live_dir()
        try:
            return json.loads((live / BUILD_INFO).read_text()) if live else {}
        except (OSError, ValueError):
            return {}

    def leftovers(self) -> list[Path]:
        """Temporary folders left by interrupted rebuilds."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("tmp-*") if p.is_dir())

    def size_on_disk(self) -> int:
        live = self.live_dir()
        return sum(f.stat().st_size for f in live.iterdir() if f.is_file()) if live else 0

    # ----------------------------------------------------------------- writing

    def _prepare(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create index folder {self.path}: {error.strerror}") from error
        if not os.access(self.path, os.W_OK):
            raise StoreError(f"index folder {self.path} is not writable")

    @contextmanager
    def write_lock(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the writers' lock; wait up to ``timeout`` seconds for another writer."""
        self._prepare()
        with open(self.path / LOCK, "a+") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WriterBusy(
                            f"another fahras index/rebuild is writing to {self.path}; "
                            f"gave up after waiting {timeout:g} s"
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def new_generation(self) -> Path:
        """A fresh temporary folder for a rebuild (call with the write lock held)."""
        self.clean_leftovers()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        folder = self.path / f"tmp-{stamp}-{os.getpid()}"
        folder.mkdir()
        return folder

    def clean_leftovers(self) -> list[Path]:
        """Remove interrupted rebuilds' folders (call with the write lock held)."""
        removed = self.leftovers()
        for folder in removed:
            shutil.rmtree(folder, ignore_errors=True)
        return removed

    def publish(self, built: Path) -> None:
        """Atomically make a finished temporary generation the live one.

        The previous generation is kept (an open searcher may still read it)
        and older ones are deleted.
        """
        final = self.path / built.name.replace("tmp-", "gen-", 1)
        os.rename(built, final)
        _fsync_dir(self.path)
        previous = self.live_dir()
        staged = self.path / f".{LIVE}.{os.getpid()}"
        if staged.is_symlink() or staged.exists():
            staged.unlink()
        staged.symlink_to(final.name)
        os.replace(staged, self.path / LIVE)
        _fsync_dir(self.path)
        keep = {final.resolve(), previous.resolve() if previous else None}
        for old in self.path.glob("gen-*"):
            if old.resolve() not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def record_build(self, folder: Path, **info: object) -> None:
        info = {"built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **info}
        (folder / BUILD_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=1))


class MappedFileStorage(FileStorage):
    """A folder whose files are read through memory maps instead of read() calls.

    A search reads thousands of small pieces (term lookups, posting block
    headers); through buffered files each is a seek and a read system call,
    which profiling showed to be a third of a short query's time. A map is
    shared page cache: one copy of the index in memory however many threads
    and processes read it (Whoosh's own compound-file reader copies each
    segment into every reader instead, which is why segments are not compound).
    """

    def open_file(self, name: str, **kwargs) -> StructFile:
        with open(self._fpath(name), "rb") as file:
            try:
                mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
        return StructFile(mapped, name=name, **kwargs)


def retrying(open_index, *args, attempts: int = 5, **kwargs):
    """Call a Whoosh open function, retrying when a commit races it.

    Whoosh finds the newest table of contents and then reads it; a writer
    committing in between deletes that file. The next attempt finds the new one.
    """
    for attempt in range(attempts):
        try:
            return open_index(*args, **kwargs)
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
