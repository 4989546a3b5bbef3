"""A stop at every rename and sync of ``fahras index`` and ``fahras rebuild`` leaves a readable index.

Each command runs in a forked child whose ``os.rename``, ``os.replace`` and
``os.fsync`` are counted; run after run, the child is stopped at the next one
of them: SIGTERM just before the call (delivered when Python next checks,
or once the signals are released), or SIGKILL just after it (nothing more
runs, as on a power cut for the process). After every run the index must
open, pass ``fahras check`` and hold either the documents it held before or
the ones the command was writing, never a mix and never nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from index.check import check_index
from index.generations import rebuild
from index.store import IndexHome
from search.cli import main
from search.engine import SearchEngine

from .conftest import write_corpus

COUNTED = ("rename", "replace", "fsync")


def _run_stopped(command: list[str], stop_at: int, how: str) -> tuple[int, int]:
    """Run ``fahras COMMAND`` in a child stopped at its ``stop_at``-th counted call; (exit status, calls made)."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: count the calls, stop at the chosen one, report the count
        os.close(reading)
        calls = [0]
        for name in COUNTED:
            _count(name, calls, stop_at, how)
        status = 1
        try:
            status = main(command)
        finally:
            os.write(writing, str(calls[0]).encode())
            os._exit(status)
    os.close(writing)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(reading) as report:
        made = report.read()
    return os.waitstatus_to_exitcode(status), int(made or 0)


def _count(name: str, calls: list[int], stop_at: int, how: str) -> None:
    real = getattr(os, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        if calls[0] == stop_at and how == "term":
            os.kill(os.getpid(), signal.SIGTERM)
        result = real(*args, **kwargs)
        if calls[0] == stop_at and how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(os, name, counted)


def _documents(home: IndexHome) -> set[str]:
    found = check_index(home, checksums=True)
    assert found.ok, found.summary()
    results = SearchEngine.at(home).search("note", size=100, correct=False, snippets=False)
    return {hit.id for hit in results.hits}


def _note(number: int) -> str:
    return f"Note {number}\nnote number {number}\n"


@pytest.fixture
def before(tmp_path: Path) -> tuple[Path, Path]:
    """A folder indexed with four notes (the pristine index is copied for each run), then changed."""
    folder = write_corpus(tmp_path / "notes", {f"n{i}.txt": _note(i) for i in range(4)})
    pristine = tmp_path / "pristine"
    rebuild(IndexHome(pristine), folder, show_progress=False)
    (folder / "n0.txt").unlink()  # the alphabetically first: its deletion once made indexes unreadable
    (folder / "n1.txt").write_text(_note(11), encoding="utf-8")
    write_corpus(folder, {f"m{i}.txt": _note(20 + i) for i in range(3)})
    return folder, pristine


@pytest.mark.parametrize("command", ["index", "rebuild"])
def test_a_stop_at_any_rename_or_sync_leaves_the_old_or_the_new_index(
    before: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    folder, pristine = before
    old = {f"n{i}.txt" for i in range(4)}
    new = {"n1.txt", "n2.txt", "n3.txt", "m0.txt", "m1.txt", "m2.txt"}
    home = IndexHome(tmp_path / "index")
    args = [command, "--quiet", "--index", str(home.path), str(folder)]
    shutil.copytree(pristine, home.path, symlinks=True)
    status, total = _run_stopped(args, 0, "none")
    assert status == 0 and _documents(home) == new and total >= 10
    outcomes = {"old": 0, "new": 0}
    for stop_at in range(1, total + 1):
        for how in ("term", "kill"):
            shutil.rmtree(home.path)
            shutil.copytree(pristine, home.path, symlinks=True)
            status, _ = _run_stopped(args, stop_at, how)
            found = _documents(home)
            assert found in (old, new), f"{how} at call {stop_at}: {sorted(found)}"
            outcomes["new" if found == new else "old"] += 1
            if how == "term":
                assert status in (0, 143)  # 0: the signal came once the work was done
            status, _ = _run_stopped(args, 0, "none")  # the next run finishes the job
            assert status == 0 and _documents(home) == new and home.leftovers() == []
    assert outcomes["old"] and outcomes["new"]  # the stops fell on both sides of the swap
