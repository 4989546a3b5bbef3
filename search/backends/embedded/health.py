"""What a long-running process knows about its index folder: usable, damaged, or built by another version.

A damaged index must give one clear answer per request (the error to turn
into a 503) rather than a storm of 500s, and must never take a worker down:
a memory map read past the end of a file truncated under it kills the process
with SIGBUS, so mapped files are checked before each request. Checks that read
files run once per index version.
"""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path

from index.check import IndexCheck, check_files, check_index
from index.store import FORMAT_VERSION, IndexHome, NoIndex, StoreError, shrunken_files

from .blocks import PostingsUnreadable


class IndexHealth:
    """Checks of one index home, repeated only when the index changes (thread-safe)."""

    def __init__(self, home: IndexHome) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._opened: dict[tuple, IndexCheck] = {}  # check_index results by generation
        self._diagnosed: dict[tuple, StoreError] = {}  # damage that requests met, by generation
        self._checksummed: set[tuple] = set()  # generations whose checksums a failed request checked

    def guard(self) -> None:
        """Raise IndexDamaged before a request to a damaged index (a missing one is the pages' to explain).

        Damaged: a file this process has mapped was truncated (looked at before
        each request), the index failed its opening check (once per index
        version), or a request met damage (:meth:`diagnose`). A request whose own
        terms happen to be intact is refused all the same: the index says it is
        damaged in one voice.
        """
        shrunken = shrunken_files(self.home.live_target())
        if shrunken:
            raise self.home.damaged(f"{shrunken[0]} was truncated while the server had it open")
        try:
            found = self._opened_check()
        except NoIndex:
            return
        if found.error:
            raise found.error
        self._raise_if_failed()

    def check(self) -> IndexCheck:
        """The index's state (raises its error): file sizes every time, the rest once per generation."""
        files = check_files(self.home)
        if files.error:
            raise files.error
        found = self._opened_check()
        if found.error:
            raise found.error
        self._raise_if_failed()
        return found

    def newer(self) -> bool:
        """Whether the index was built by a newer version of Fahras (its format is later than this one's)."""
        recorded = self.home.build_info().get("format")
        return isinstance(recorded, int) and recorded > FORMAT_VERSION

    def warning(self) -> str | None:
        """Why the index should be rebuilt although it works (once per generation), or None."""
        try:
            return self._opened_check().warning
        except NoIndex:
            return None

    def diagnose(self, error: Exception) -> StoreError | None:
        """After an unexpected error: the index damage that explains it (checksums, once per generation).

        An error raised while Whoosh read the index is damage even when the
        checksums cannot tell (an index without a build record): every request
        is refused from then on, until the index changes.
        """
        if isinstance(error, StoreError):
            return error
        key = self._generation()
        with self._lock:
            found, checked = self._diagnosed.get(key), key in self._checksummed
        if found is None:
            if not checked:  # once per generation: a bug that fails every request must not checksum each time
                try:
                    found = check_index(self.home, checksums=True).error
                except NoIndex as missing:
                    found = missing
                with self._lock:
                    self._checksummed.add(key)
            if found is None and _raised_reading_the_index(error):
                found = self.home.damaged(f"reading it failed ({type(error).__name__}: {error})")
            if found is not None:
                with self._lock:
                    self._diagnosed[key] = found
        return found

    def _raise_if_failed(self) -> None:
        with self._lock:
            found = self._diagnosed.get(self._generation())
        if found is not None:
            raise found

    def _opened_check(self) -> IndexCheck:
        key = self._generation()
        with self._lock:
            found = self._opened.get(key)
        if found is None:
            found = check_index(self.home)
            with self._lock:
                self._opened[key] = found
        return found

    def _generation(self) -> tuple:
        """What identifies the index's current state: the live folder and its newest files."""
        live = self.home.live_target()
        if live is None:
            return (None,)
        try:
            names = sorted(
                path.name for path in Path(live).iterdir() if path.name.endswith((".toc", ".json"))
            )
            stamps = tuple((name, (live / name).stat().st_mtime_ns) for name in names)
        except OSError:
            stamps = ()
        return (live, stamps)


def _raised_reading_the_index(error: BaseException) -> bool:
    """Whether ``error`` came out of reading the index files (Whoosh's reader, or the bulk
    postings reader's bytes), not a bug of ours."""
    if isinstance(error, PostingsUnreadable):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    return any(f"{os.sep}whoosh{os.sep}" in frame.filename for frame in frames)
