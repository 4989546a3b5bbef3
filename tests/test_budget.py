"""Every query runs under a deadline (search/budget.py): past it, the user reads one line, never a hung worker.

The clock is the test's: each reading of it moves time on, so a query's
work passes the deadline after a known number of checks, on any machine.
"""

from __future__ import annotations

import itertools

import pytest

from index.store import IndexHome
from search import budget
from search.engine import QueryError, SearchEngine
from web import create_app


@pytest.fixture
def slow_clock(monkeypatch) -> None:
    """A clock on which every reading is a second later than the one before."""
    seconds = itertools.count(start=1_000.0, step=1.0)
    monkeypatch.setattr(budget.time, "monotonic", lambda: next(seconds))


def test_a_query_past_its_deadline_is_refused_with_one_line(built: IndexHome, slow_clock) -> None:
    with pytest.raises(QueryError, match=r"^The query took too long \(over 2 s\): make it more specific"):
        SearchEngine.at(built).search("الانتخابات OR election OR وزير")


def test_the_api_answers_400_when_the_deadline_passes(built: IndexHome, slow_clock) -> None:
    client = create_app({"INDEX_DIR": str(built.path), "TESTING": True}).test_client()
    response = client.get("/api/search", query_string={"q": "الانتخابات OR election"})
    assert response.status_code == 400
    assert "took too long" in response.get_json()["error"]


def test_a_query_within_its_deadline_is_answered(built: IndexHome) -> None:
    assert SearchEngine.at(built).search("الانتخابات").total > 0


def test_nested_limits_keep_the_earlier_deadline(slow_clock) -> None:
    with budget.time_limit(10.0), budget.time_limit(1_000.0):
        budget.check()  # a few readings in: within the outer ten seconds
        with pytest.raises(QueryError):
            for _ in range(20):
                budget.check()


def test_work_done_once_per_index_version_is_not_the_querys_time(slow_clock) -> None:
    """Filing the vocabulary for a new index version (seconds) must not use up the query that met it."""
    with budget.time_limit(5.0):
        with budget.exempt():
            for _ in range(100):  # a hundred seconds on this clock, unchecked
                budget.check()
        budget.check()  # the query's own time goes on where it stopped
        with pytest.raises(QueryError):
            for _ in range(10):
                budget.check()
