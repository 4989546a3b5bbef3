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

Each generation also holds ``fahras-build.json``: when and from which folders
it was built, the versions of Fahras's index format and text analysis it was
built with, and the size and CRC-32 of every index file as written. Segment
files never change once written, so a file whose size differs is damage, and
readers refuse it at open rather than fail (or crash, through a memory map)
on whatever they read from it.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import re
import shlex
import shutil
import signal
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import Index

from .schema import analysis_fingerprint, default_fingerprint

ENV_VAR = "FAHRAS_INDEX"
LIVE = "live"
PREVIOUS = "previous"
LOCK = "write.lock"
T = TypeVar("T")

BUILD_INFO = "fahras-build.json"
INDEX_NAME = "MAIN"  # Whoosh's default index name, the prefix of every file it writes
# What Fahras writes into an index beyond Whoosh's own format: the fields, the
# inventory (2: origins are the paths as walked, ids relative to recorded roots;
# 3: each document's file and page starts are stored, for the document page).
FORMAT_VERSION = 4
_TOC_FILE = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
_INDEX_FILE = re.compile(rf"^(?:_{INDEX_NAME}_[0-9]+\.toc|{INDEX_NAME}_[0-9a-z]+\..+)$")
MAX_FAILED = 2  # generations that failed their opening check, kept for a bug report
# Errors a pickled schema raises when a class it names is gone or renamed.
_SCHEMA_ERRORS = (ImportError, AttributeError)


class StoreError(Exception):
    """A problem with the index location that the user must fix (clear message)."""


class NoIndex(StoreError):
    pass


class WriterBusy(StoreError):
    pass


class IndexDamaged(StoreError):
    """Index files that do not read back as they were written."""


class IndexOutdated(StoreError):
    """An index this version of Fahras cannot read at all (a class it pickled is gone)."""


def data_dir() -> Path:
    """Fahras's folder under ``$XDG_DATA_HOME`` (~/.local/share/fahras)."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "fahras"


def cache_dir(kind: str) -> Path:
    """Where a kind of cache is kept: ``$FAHRAS_CACHE/<kind>``, else ``$XDG_CACHE_HOME/fahras/<kind>`` (~/.cache).

    Outside any index, so every index and every rebuild reuses what it can; deleting it costs only time.
    """
    base = (
        os.environ.get("FAHRAS_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fahras"
    )
    return Path(base) / kind


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
        """The real folder of the generation being served, or None.

        Never reads the index: a damaged one still has a live folder (to
        report on, and to replace), even one whose table of contents is gone.
        """
        target = self.live_target()
        return target if target and target.is_dir() else None

    def live_target(self) -> Path | None:
        """Where the live link points, unchecked: a cheap test for a swap, once per search."""
        return _link_target(self.path / LIVE)

    def exists(self) -> bool:
        return self.live_dir() is not None

    def open(self) -> Index:
        """The live index (raises NoIndex, IndexDamaged or IndexOutdated with a message to act on)."""
        live = self.live_dir()
        if live is None:
            raise NoIndex(f"no index at {self.path} (create one with: fahras index FOLDER)")
        if not _has_toc(live):
            raise self.damaged("its table of contents (_MAIN_*.toc) is missing")
        try:
            return retrying(MappedFileStorage(str(live)).open_index)
        except StoreError:
            raise
        except Exception as error:
            raise self.unreadable(live, error) from error

    def unreadable(self, folder: Path, error: Exception) -> StoreError:
        """The error to show for an index whose table of contents cannot be read.

        A table of contents that is byte for byte as written, yet fails to
        load, names a class this version no longer has; any other is damaged.
        """
        toc = _latest_toc(folder)
        intact = toc is not None and _file_matches(folder, toc, read_build_info(folder).get("files", {}))
        if intact or (toc is None and isinstance(error, _SCHEMA_ERRORS)):
            return IndexOutdated(
                f"the index at {self.path} was built by an older version of Fahras and cannot be read "
                f"by this one ({_describe_error(error)}): run `{self.rebuild_command()}`"
            )
        return self.damaged(f"{toc or 'its table of contents'} cannot be read ({_describe_error(error)})")

    def damaged(self, detail: str) -> IndexDamaged:
        return IndexDamaged(
            f"the index at {self.path} is damaged: {detail}; "
            f"run `fahras check` for details and `{self.rebuild_command()}` to repair it"
        )

    def rebuild_command(self) -> str:
        """The command that rebuilds this index from the folders it holds.

        With several folders it names none: ``fahras rebuild`` without a
        path rebuilds every folder the index records.
        """
        index = f" --index {shlex.quote(str(self.path))}" if self.path != default_home() else ""
        roots = self.roots()
        if len(roots) > 1:
            return f"fahras rebuild{index}"
        source = str(roots[0][0]) if roots else self.build_info().get("source")
        return f"fahras rebuild{index} {shlex.quote(source) if source else 'FOLDER'}"

    def build_info(self) -> dict:
        """What the live generation records about its build (empty when unknown)."""
        return read_build_info(self.live_target())

    def roots(self) -> list[tuple[Path, str]]:
        """The folders the index holds, each with the prefix its files' ids carry."""
        return [(Path(root["path"]), root["prefix"]) for root in self.build_info().get("roots", [])]

    def leftovers(self) -> list[Path]:
        """Folders left by interrupted or failed rebuilds: removed by the next rebuild.

        Temporary folders, and generations that are neither live nor the
        previous one (kept for searchers that may still read it).
        """
        if not self.path.is_dir():
            return []
        kept = {self.live_target(), _link_target(self.path / PREVIOUS)}
        found = [p for p in self.path.glob("tmp-*") if p.is_dir()]
        found += [p for p in self.path.glob("gen-*") if p.is_dir() and p.resolve() not in kept]
        return sorted(found)

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
        """A fresh temporary folder for a build (call with the write lock held)."""
        self.clean_leftovers()
        folder = self.path / f"tmp-{_stamp()}-{os.getpid()}"
        folder.mkdir()
        return folder

    def staged_copy(self) -> Path:
        """A new temporary generation holding the live one's index files, as hard links (write lock held).

        ``fahras index`` commits its changes there and publishes it like a
        rebuild: the live generation is never written to, so a run that is
        killed, interrupted or fails at any point (Whoosh's own commit
        included) leaves it exactly as it was. Whoosh never changes a segment
        file once written (deletions live in the table of contents), so
        linking costs no copy and the copy cannot disturb the original.
        """
        live = self.live_dir()
        if live is None:
            raise NoIndex(f"no index at {self.path} (create one with: fahras index FOLDER)")
        folder = self.new_generation()
        for name in index_files(live):
            os.link(live / name, folder / name)
        if (live / BUILD_INFO).exists():
            shutil.copy2(live / BUILD_INFO, folder / BUILD_INFO)
        return folder

    def clean_leftovers(self) -> list[Path]:
        """Remove interrupted builds' folders (call with the write lock held)."""
        removed = self.leftovers()
        for folder in removed:
            shutil.rmtree(folder, ignore_errors=True)
        return removed

    def set_aside(self, built: Path) -> Path:
        """Keep a generation that failed its opening check as ``failed-*``, for a bug report.

        Only the newest MAX_FAILED are kept: a bug that repeats must not fill the disk.
        """
        kept = self.path / built.name.replace("tmp-", "failed-", 1)
        os.rename(built, kept)
        for old in self.failed()[:-MAX_FAILED]:
            shutil.rmtree(old, ignore_errors=True)
        return kept

    def failed(self) -> list[Path]:
        """Generations set aside because they did not open (oldest first)."""
        return sorted(p for p in self.path.glob("failed-*") if p.is_dir()) if self.path.is_dir() else []

    def publish(self, built: Path) -> None:
        """Make a finished temporary generation the live one, durably and atomically.

        First every file of the new generation and its folder reach the disk,
        then one ``rename`` makes it ``gen-*`` and another swaps ``live``, each
        followed by a sync of the index folder: after a power cut the live
        link names either the old generation or the complete new one. SIGINT
        and SIGTERM are held from the first rename to the last, so a stop
        signal never leaves a half-done swap (it is delivered afterwards, see
        :class:`Published`). Never reads the live index (it may be the
        damaged one being replaced). The previous generation is kept (an open
        searcher may still read it) and older ones are deleted.
        """
        previous = self.live_target()
        _sync_tree(built, previous)
        final = self.path / built.name.replace("tmp-", "gen-", 1)
        with held_signals():
            os.rename(built, final)
            _fsync_dir(self.path)
            if previous and previous.is_dir() and previous != final.resolve():
                self._point(PREVIOUS, previous)
            self._point(LIVE, final)
            keep = {final.resolve(), previous}
            for old in self.path.glob("gen-*"):
                if old.resolve() not in keep:
                    shutil.rmtree(old, ignore_errors=True)

    def _point(self, name: str, folder: Path) -> None:
        """Make the link ``name`` name ``folder``, in one rename, synced."""
        staged = self.path / f".{name}.{os.getpid()}"
        if staged.is_symlink() or staged.exists():
            staged.unlink()
        staged.symlink_to(folder.name)
        os.replace(staged, self.path / name)
        _fsync_dir(self.path)

    def record_build(self, folder: Path, **info: object) -> None:
        """Write ``folder``'s build record once its index is committed (write lock held).

        Besides ``info`` it records the format and analysis versions and the
        size and CRC-32 of every index file; ``roots`` defaults to the ones
        already recorded, else to the folder (or a file's folder) in ``source``.
        """
        previous = read_build_info(folder)
        fingerprint = analysis_fingerprint(FileStorage(str(folder)).open_index().schema)
        record = {
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **info,
            "format": FORMAT_VERSION,
            "analysis": fingerprint,
            "default_analysis": fingerprint == default_fingerprint(),
        }
        record["roots"] = info.get("roots") or previous.get("roots") or _roots_of(info.get("source"))
        record["files"] = _manifest(folder, previous.get("files", {}))
        staged = folder / f".{BUILD_INFO}.{os.getpid()}"
        with open(staged, "w", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False, indent=1))
            file.flush()
            os.fsync(file.fileno())
        os.replace(staged, folder / BUILD_INFO)


class MappedFileStorage(FileStorage):
    """A folder whose files are read through memory maps instead of read() calls.

    A search reads thousands of small pieces (term lookups, posting block
    headers); through buffered files each is a seek and a read system call,
    which profiling showed to be a third of a short query's time. A map is
    shared page cache: one copy of the index in memory however many threads
    and processes read it (Whoosh's own compound-file reader copies each
    segment into every reader instead, which is why segments are not compound).

    A file whose size is not the one recorded when it was written is refused
    (IndexDamaged): reading a map past the end of a truncated file kills the
    process with SIGBUS. Files truncated after they were mapped are found by
    :func:`shrunken_files`, which the server calls before each request.
    """

    def __init__(self, path, *args, **kwargs) -> None:
        super().__init__(path, *args, **kwargs)
        self._recorded: tuple[int, dict] = (-1, {})

    def open_file(self, name: str, **kwargs) -> StructFile:
        path = self._fpath(name)
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            expected = self._recorded_size(name)
            if expected is not None and size != expected:
                home = IndexHome(Path(self.folder).parent)  # generations live in their home folder
                raise home.damaged(f"{name}: {size_mismatch(size, expected)}")
            try:
                mapped = _Map(file.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                return super().open_file(name, **kwargs)
        mapped.path = path
        _remember_map(mapped)
        return StructFile(mapped, name=name, **kwargs)

    def _recorded_size(self, name: str) -> int | None:
        """The size ``name`` had when its generation's build was recorded (None: not recorded)."""
        try:
            stamp = os.stat(os.path.join(self.folder, BUILD_INFO)).st_mtime_ns
        except OSError:
            return None
        if stamp != self._recorded[0]:
            self._recorded = (stamp, read_build_info(Path(self.folder)).get("files", {}))
        entry = self._recorded[1].get(name)
        return entry[0] if entry else None


class _Map(mmap.mmap):
    """A memory map that remembers the path of its file."""

    path = ""


_MAPS: weakref.WeakSet[_Map] = weakref.WeakSet()
_MAPS_LOCK = threading.Lock()


def _remember_map(mapped: _Map) -> None:
    with _MAPS_LOCK:
        _MAPS.add(mapped)


def shrunken_files(folder: Path | None) -> list[str]:
    """Files of ``folder`` that this process has mapped and that are now shorter than their map.

    Touching a map beyond its file's end raises SIGBUS, which kills the
    process; a server checks before each request so that a truncated file
    gives an error instead. One ``fstat`` per mapped file.
    """
    if folder is None:
        return []
    prefix = f"{folder}{os.sep}"
    with _MAPS_LOCK:
        maps = list(_MAPS)
    checked: set[str] = set()
    shrunken = []
    for mapped in maps:
        if mapped.closed or not mapped.path.startswith(prefix) or mapped.path in checked:
            continue
        checked.add(mapped.path)
        with suppress(ValueError, OSError):  # closed meanwhile
            if mapped.size() < len(mapped):
                shrunken.append(os.path.basename(mapped.path))
    return sorted(shrunken)


def size_mismatch(size: int, expected: int) -> str:
    return f"{size:,} bytes long, but written with {expected:,}"


def read_build_info(folder: Path | None) -> dict:
    """A generation's build record, or {} when it has none (or it cannot be read)."""
    if folder is None:
        return {}
    try:
        info = json.loads((folder / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def index_files(folder: Path) -> list[str]:
    """The names of the Whoosh files in a generation folder (tables of contents and segments)."""
    try:
        return sorted(name for name in os.listdir(folder) if _INDEX_FILE.match(name))
    except OSError:
        return []


def file_checksum(path: Path) -> int:
    """CRC-32 of a file, read in blocks."""
    crc = 0
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return crc


def _manifest(folder: Path, previous: dict) -> dict[str, list[int]]:
    """``{name: [size, crc32]}`` for every index file; files recorded before keep their entry."""
    files = {}
    for name in index_files(folder):
        size = (folder / name).stat().st_size
        known = previous.get(name)
        files[name] = known if known and known[0] == size else [size, file_checksum(folder / name)]
    return files


def _file_matches(folder: Path, name: str, files: dict) -> bool:
    entry = files.get(name)
    try:
        return bool(entry) and [(folder / name).stat().st_size, file_checksum(folder / name)] == entry
    except OSError:
        return False


def _roots_of(source: object) -> list[dict[str, str]]:
    """The roots of an index built from ``source``: that folder, or the folder of that file."""
    if not isinstance(source, str) or not source:
        return []
    path = Path(source)
    return [{"path": str(path if path.is_dir() else path.parent), "prefix": ""}]


def _link_target(link: Path) -> Path | None:
    return link.resolve() if link.is_symlink() or link.is_dir() else None


def _has_toc(folder: Path) -> bool:
    return _latest_toc(folder) is not None


def _latest_toc(folder: Path) -> str | None:
    """The name of the newest table of contents in a folder, without reading it."""
    try:
        found = [
            (int(match.group(1)), name) for name in os.listdir(folder) if (match := _TOC_FILE.match(name))
        ]
    except OSError:
        return None
    return max(found)[1] if found else None


def _describe_error(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def retrying(open_index: Callable[..., T], *args: object, attempts: int = 5, **kwargs: object) -> T:
    """Call a Whoosh open function, retrying when a commit races it.

    Whoosh finds the newest table of contents and then reads it; a writer
    committing in between deletes that file. The next attempt finds the new one.
    """
    for attempt in range(attempts - 1):
        try:
            return open_index(*args, **kwargs)
        except FileNotFoundError:
            time.sleep(0.01 * (attempt + 1))
    return open_index(*args, **kwargs)  # the last attempt's error is the caller's


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_tree(folder: Path, live: Path | None) -> None:
    """Flush every new file of a generation, then the folder's entries, to the disk.

    Files hard-linked from the live generation (same inode) reached the disk
    when it was published; syncing them again would only flush the link
    count, which the folder's sync commits anyway (about 10 ms a file here).
    """
    for path in folder.iterdir():
        if path.is_file() and not _same_file(path, live / path.name if live else None):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _same_file(path: Path, other: Path | None) -> bool:
    try:
        return other is not None and os.path.samefile(path, other)
    except OSError:
        return False


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for a few system calls that must not be cut in the middle.

    A signal that arrives meanwhile is delivered when the block ends (as
    KeyboardInterrupt, or the SIGTERM handler's exception), after the work
    it would have cut short is done. Only the main thread can hold them;
    elsewhere signals go to the main thread anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
