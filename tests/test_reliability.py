"""Concurrency and crashes: searching while indexing, killed runs, full disks."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index import indexer
from index.indexer import rebuild_index, update_index
from index.store import IndexHome, StoreError
from search.engine import SearchEngine

from .conftest import write_corpus


def _records(count: int, word: str, start: int = 0) -> str:
    return "\n".join(
        json.dumps(
            {"id": f"d{i}", "title": f"{word} {i}", "text": f"تقرير {word} رقم {i} " * 30}, ensure_ascii=False
        )
        for i in range(start, start + count)
    )


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "search.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs,
    )  # fmt: skip


def test_searches_during_indexing_see_old_or_new_state(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"feed.jsonl": _records(200, "alpha")})
    rebuild_index(home, folder, show_progress=False)
    engine = SearchEngine(home)
    done = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for round_ in range(6):
                word = "beta" if round_ % 2 == 0 else "alpha"
                (folder / "feed.jsonl").write_text(_records(200, word), encoding="utf-8")
                update_index(home, folder, show_progress=False)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=churn)
    writer.start()
    while not done.is_set():
        alpha = engine.search("alpha", size=5).total
        beta = engine.search("beta", size=5).total
        assert alpha in (0, 200) and beta in (0, 200), (alpha, beta)
    writer.join(60)
    assert not errors
    assert (engine.search("alpha").total, engine.search("beta").total) == (200, 0)


def test_cli_searches_while_fahras_index_runs(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.jsonl": _records(50, "gamma")})
    rebuild_index(home, folder, show_progress=False)
    (folder / "b.jsonl").write_text(_records(1500, "delta", start=1000), encoding="utf-8")
    process = _cli("index", "--quiet", "--index", str(home.path), str(folder))
    totals = set()
    while process.poll() is None:
        result = subprocess.run(
            [sys.executable, "-m", "search.cli", "search", "--json", "--index", str(home.path), "gamma"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        totals.add(json.loads(result.stdout)["total"])
    assert process.returncode == 0
    assert totals == {50}  # the documents already there never disappear mid-update


def test_two_index_runs_at_once_both_finish_with_every_document(home: IndexHome, tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "one", {"a.jsonl": _records(1500, "one")})
    second = write_corpus(tmp_path / "two", {"b.jsonl": _records(300, "two", start=5000)})
    runs = [_cli("index", "--quiet", "--index", str(home.path), str(folder)) for folder in (first, second)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert SearchEngine(home).stats()["documents"] == 1800


def test_killed_index_run_then_rerun_has_exactly_the_documents(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"small.jsonl": _records(20, "seed")})
    rebuild_index(home, folder, show_progress=False)
    (folder / "big.jsonl").write_text(_records(3000, "bulk", start=100), encoding="utf-8")
    process = _cli("index", "--quiet", "--index", str(home.path), str(folder))
    time.sleep(2.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    assert SearchEngine(home).stats()["documents"] in (20, 3020)  # all or nothing
    report = update_index(home, folder, show_progress=False)
    assert report.total_docs == 3020
    with home.open().searcher() as searcher:
        ids = [fields["id"] for fields in searcher.all_stored_fields()]
    assert len(ids) == len(set(ids)) == 3020


def test_rebuild_killed_just_before_the_swap(built: IndexHome, corpus: Path, tmp_path: Path) -> None:
    # A finished generation that was never published is what a kill right
    # before the swap leaves behind.
    live = built.live_dir()
    with built.write_lock():
        orphan = built.new_generation()
    (orphan / "MAIN_xyz.seg").write_bytes(b"half")
    assert built.live_dir() == live and SearchEngine(built).search("football").total == 1
    result = subprocess.run(
        [sys.executable, "-m", "search.cli", "stats", "--index", str(built.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Leftover from an interrupted rebuild" in result.stdout
    rebuild_index(built, corpus, show_progress=False)
    assert built.leftovers() == [] and not orphan.exists()


def test_unwritable_index_location_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create index folder"):
        update_index(IndexHome(blocker / "index"), corpus, show_progress=False)


def test_full_disk_keeps_the_previous_index(built: IndexHome, corpus: Path, monkeypatch) -> None:
    before = SearchEngine(built).search("football").total
    live = built.live_dir()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(indexer._Run, "_delete_missing", no_space)
    with pytest.raises(OSError, match="No space left"):
        rebuild_index(built, corpus, show_progress=False)
    monkeypatch.undo()
    assert built.live_dir() == live and SearchEngine(built).search("football").total == before
    rebuild_index(built, corpus, show_progress=False)
    assert built.leftovers() == []


def test_full_disk_message_from_the_cli(built: IndexHome, corpus: Path, tmp_path: Path) -> None:
    # A real ENOSPC from the kernel: /dev/full refuses every write.
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; open('/dev/full', 'w').write('x' * 10000)"],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0  # the mechanism the CLI maps to a one-line error
    cli = subprocess.run(
        [sys.executable, "-m", "search.cli", "index", "--index", "/dev/full/index", str(corpus)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        cli.returncode == 2 and "cannot create index folder" in cli.stderr and "Traceback" not in cli.stderr
    )


def test_a_segment_vanishing_mid_search_is_retried_on_a_fresh_searcher(built: IndexHome, monkeypatch) -> None:
    engine = SearchEngine(built)
    real_answer = SearchEngine._answer
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("MAIN_abc.pst")  # merged away by a concurrent commit
        return real_answer(self, *args, **kwargs)

    monkeypatch.setattr(SearchEngine, "_answer", flaky)
    assert engine.search("football").total == 1 and len(calls) == 2
