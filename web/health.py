"""What a running server knows about its index: usable, damaged, or built by another version.

A damaged index must give one clear answer per request (503 and a message)
rather than a storm of 500s, and must never take a worker down: a memory map
read past the end of a file truncated under it kills the process with SIGBUS,
so mapped files are checked before each request. The full explanation (with
the server's paths) goes to the server's log once per cause; clients get a
short message without paths.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path

from index.check import IndexCheck, check_files, check_index
from index.store import (
    FORMAT_VERSION,
    IndexDamaged,
    IndexHome,
    IndexOutdated,
    NoIndex,
    StoreError,
    shrunken_files,
)
from search.blocks import PostingsUnreadable

PUBLIC_MESSAGES = {
    IndexDamaged: "The index is damaged: searches are unavailable until it is repaired "
    "(on the server: fahras check, then fahras rebuild).",
    IndexOutdated: "The index was built by an older version of Fahras and cannot be read: "
    "run `fahras rebuild` on the server.",
    NoIndex: "There is no index yet: build one on the server with `fahras index FOLDER`.",
}
OUTDATED_WARNING = (
    "This index was built by an older version of Fahras: run `fahras rebuild` on the server "
    "(until then, searches may miss documents)."
)
NEWER_WARNING = (
    "This index was built by a newer version of Fahras: upgrade Fahras on the server, or run `fahras rebuild` "
    "(until then, searches may miss documents)."
)

_logged: set[object] = set()  # inherited by forked workers: what the parent logged is not logged again
_logged_lock = threading.Lock()


def log_once(message: str, key: object = None) -> None:
    """Print ``message`` on stderr unless this process (or its parent, before forking) logged ``key``.

    ``key`` defaults to the message; the health checks use the index's state,
    so that one problem found by two routes (sizes, checksums) is told once.
    """
    with _logged_lock:
        if (key or message) in _logged:
            return
        _logged.add(key or message)
    print(f"fahras serve: {message}", file=sys.stderr, flush=True)


def public_message(error: StoreError) -> str:
    """What a client is told about an unusable index (no server paths)."""
    for kind, message in PUBLIC_MESSAGES.items():
        if isinstance(error, kind):
            return message
    return PUBLIC_MESSAGES[IndexDamaged]


def _raised_reading_the_index(error: BaseException) -> bool:
    """Whether ``error`` came out of reading the index files (Whoosh's reader, or the bulk
    postings reader's bytes), not a bug of ours."""
    if isinstance(error, PostingsUnreadable):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    return any(f"{os.sep}whoosh{os.sep}" in frame.filename for frame in frames)


class IndexHealth:
    """Checks of one index home, repeated only when the index changes (thread-safe)."""

    def __init__(self, home: IndexHome) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._opened: dict[tuple, IndexCheck] = {}  # check_index results by generation
        self._diagnosed: dict[tuple, StoreError] = {}  # damage that requests met, by generation
        self._checksummed: set[tuple] = set()  # generations whose checksums a failed request checked

    def guard(self) -> None:
        """Raise IndexDamaged before a request to a damaged index.

        Damaged: a file this process has mapped was truncated (looked at before
        each request), or the index failed its opening check (once per index
        version). A request whose own terms happen to be intact (a word of one
        document keeps its posting in the term index) is refused all the same:
        the index says it is damaged in one voice.
        """
        live = self.home.live_target()
        shrunken = shrunken_files(live)
        if shrunken:
            raise self._logged(self.home.damaged(f"{shrunken[0]} was truncated while the server had it open"))
        try:
            found = self._opened_check()
        except NoIndex:
            return  # the pages explain a missing index
        if found.error:
            raise self._logged(found.error)
        self._raise_if_failed()

    def check(self) -> IndexCheck:
        """The index's state (raises its error): file sizes every time, the rest once per generation.

        Damage that a request met (see :meth:`diagnose`) counts too, until the index changes.
        """
        files = check_files(self.home)
        if files.error:
            raise self._logged(files.error)
        found = self._opened_check()
        if found.error:
            raise self._logged(found.error)
        self._raise_if_failed()
        return found

    def _raise_if_failed(self) -> None:
        with self._lock:
            found = self._diagnosed.get(self._generation())
        if found is not None:
            raise found

    def warning(self) -> str | None:
        """The public warning for an index built by another version (cheap: once per generation)."""
        try:
            if not self._opened_check().warning:
                return None
        except NoIndex:
            return None
        recorded = self.home.build_info().get("format")
        return NEWER_WARNING if isinstance(recorded, int) and recorded > FORMAT_VERSION else OUTDATED_WARNING

    def _opened_check(self) -> IndexCheck:
        key = self._generation()
        with self._lock:
            found = self._opened.get(key)
        if found is None:
            found = check_index(self.home)
            with self._lock:
                self._opened[key] = found
            if found.warning:
                log_once(found.warning, key=("outdated", key))
        return found

    def diagnose(self, error: Exception) -> StoreError | None:
        """After an unexpected error: the index damage that explains it (checksums, once per generation).

        An error raised while Whoosh read the index is damage even when the
        checksums cannot tell (an index without a build record): every request
        gets 503 from then on, /healthz included, until the index changes.
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
        return self._logged(found) if found else None

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

    def _logged(self, error: StoreError) -> StoreError:
        log_once(str(error), key=("unusable", self._generation()))
        return error
