"""A bound on the time one query may take, checked wherever its work grows with the index.

The query language bounds what can be bounded by counting (words a prefix or fuzzy term
stands for, fuzzy terms per query, scoring terms); this is the net under the rest: a
phrase of very common words on a large archive, or an index far larger than the
counts were chosen for. A query over its time gets the same kind of one-line message
as any other query the user must change, and never holds a worker for long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .syntax import QueryError

QUERY_SECONDS = 2.0

_local = threading.local()
T = TypeVar("T")


@contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Run a query's work under a deadline (nested limits keep the outer, earlier one)."""
    outer = getattr(_local, "deadline", None)
    mine = time.monotonic() + (QUERY_SECONDS if seconds is None else seconds)
    _local.deadline = mine if outer is None else min(outer, mine)
    try:
        yield
    finally:
        _local.deadline = outer


@contextmanager
def exempt() -> Iterator[None]:
    """Run work that is done once per index version, not per query, without the query's deadline.

    Loading the stemmers and filing the vocabulary by sound (search/names.py)
    may fall to whichever query first meets a new index version.
    """
    outer = getattr(_local, "deadline", None)
    started = time.monotonic()
    _local.deadline = None
    try:
        yield
    finally:  # the query's own time starts again where it stopped
        _local.deadline = None if outer is None else outer + time.monotonic() - started


def check() -> None:
    """Raise a QueryError when the current query is past its deadline."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise QueryError(
            "The query took too long (over %(seconds)s s): make it more specific, "
            "with fewer very common words, prefixes or fuzzy terms.",
            seconds=f"{QUERY_SECONDS:g}",
        )


def checked(items: Iterable[T], every: int = 512) -> Iterator[T]:
    """``items``, with the deadline checked every ``every`` of them."""
    for count, item in enumerate(items):
        if count % every == 0:
            check()
        yield item
