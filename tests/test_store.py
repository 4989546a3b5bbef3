"""The index on disk (index/store.py): generations, the atomic swap, the writers' lock, retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.store import IndexHome, WriterBusy, retrying


def _generation(home: IndexHome, marker: str) -> Path:
    folder = home.new_generation()
    (folder / "marker").write_text(marker)
    return folder


def test_publish_swaps_live_keeps_the_previous_and_deletes_older(home: IndexHome) -> None:
    """A searcher of the generation before may still read it; older ones are gone."""
    with home.write_lock():
        for marker in ("one", "two", "three"):
            home.publish(_generation(home, marker))
    assert (home.live_target() / "marker").read_text() == "three"
    generations = sorted(home.path.glob("gen-*"))
    assert sorted((g / "marker").read_text() for g in generations) == ["three", "two"]
    assert home.leftovers() == []


def test_an_interrupted_rebuild_is_a_leftover_the_next_one_removes(home: IndexHome) -> None:
    with home.write_lock():
        home.publish(_generation(home, "live"))
        unfinished = home.new_generation()  # a rebuild killed before its swap
    assert home.leftovers() == [unfinished]
    with home.write_lock():
        fresh = home.new_generation()
    assert not unfinished.exists() and home.leftovers() == [fresh]
    assert (home.live_target() / "marker").read_text() == "live"


def test_a_second_writer_gives_up_after_its_wait(home: IndexHome) -> None:
    with (
        home.write_lock(),
        pytest.raises(WriterBusy, match=r"gave up after waiting 0\.2 s"),
        IndexHome(home.path).write_lock(timeout=0.2),
    ):
        pass


def test_retrying_outlasts_a_racing_commit_and_then_gives_its_error() -> None:
    """Whoosh's table of contents may vanish between finding and reading it: the next try finds the new one."""
    calls: list[int] = []

    def racing(value: str) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise FileNotFoundError("MAIN_5.toc")
        return value

    assert retrying(racing, "opened") == "opened" and len(calls) == 3

    def gone() -> None:
        raise FileNotFoundError("MAIN_6.toc")

    with pytest.raises(FileNotFoundError):
        retrying(gone, attempts=2)
