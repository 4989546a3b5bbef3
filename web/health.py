"""What a running server says about its index: in its log once per problem, and to clients without paths.

The checks themselves are the backend's (``SearchEngine.guard``, ``health``,
``diagnose``); this module tells the server's operator, on stderr, the full
explanation (with the server's paths and the command to run) once per cause,
and gives clients a short message without paths.
"""

from __future__ import annotations

import sys
import threading

from search.backend import IndexDamaged, IndexOutdated, NoIndex, StoreError

PUBLIC_MESSAGES = {
    IndexDamaged: "The index is damaged: searches are unavailable until it is repaired "
    "(on the server: fahras check, then fahras rebuild).",
    IndexOutdated: "The index was built by an older version of Fahras and cannot be read: "
    "run `fahras rebuild` on the server.",
    NoIndex: "There is no index yet: build one on the server with `fahras index FOLDER`.",
}

_logged: set[object] = set()  # inherited by forked workers: what the parent logged is not logged again
_logged_lock = threading.Lock()


def log_once(message: str, key: object = None) -> None:
    """Print ``message`` on stderr unless this process (or its parent, before forking) logged ``key``.

    ``key`` defaults to the message.
    """
    with _logged_lock:
        if (key or message) in _logged:
            return
        _logged.add(key or message)
    print(f"fahras serve: {message}", file=sys.stderr, flush=True)


def logged(error: StoreError) -> StoreError:
    """``error``, told once in the server's log (a missing index is the pages' to explain)."""
    if not isinstance(error, NoIndex):
        log_once(str(error))
    return error


def public_message(error: StoreError) -> str:
    """What a client is told about an unusable index (no server paths)."""
    for kind, message in PUBLIC_MESSAGES.items():
        if isinstance(error, kind):
            return message
    return PUBLIC_MESSAGES[IndexDamaged]
