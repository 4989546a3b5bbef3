"""Concurrency and crashes: searching while indexing, killed runs, full disks."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from index import indexer
from index.generations import rebuild, update
from index.store import IndexHome, StoreError
from search.engine import SearchEngine

from .conftest import like_a_terminal, write_corpus


def _records(count: int, word: str, start: int = 0) -> str:
    return "\n".join(
        json.dumps(
            {"id": f"d{i}", "title": f"{word} {i}", "text": f"تقرير {word} رقم {i} " * 30}, ensure_ascii=False
        )
        for i in range(start, start + count)
    )


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fahras_cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=like_a_terminal, **kwargs,
    )  # fmt: skip


def test_searches_during_indexing_see_old_or_new_state(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"feed.jsonl": _records(200, "alpha")})
    rebuild(home, folder, show_progress=False)
    engine = SearchEngine.at(home)
    done = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for round_ in range(6):
                word = "beta" if round_ % 2 == 0 else "alpha"
                (folder / "feed.jsonl").write_text(_records(200, word), encoding="utf-8")
                update(home, folder, show_progress=False)
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
    rebuild(home, folder, show_progress=False)
    (folder / "b.jsonl").write_text(_records(1500, "delta", start=1000), encoding="utf-8")
    process = _cli("index", "--quiet", "--index", str(home.path), str(folder))
    totals = set()
    while process.poll() is None:
        result = subprocess.run(
            [sys.executable, "-m", "fahras_cli", "search", "--json", "--index", str(home.path), "gamma"],
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
    assert SearchEngine.at(home).stats().documents == 1800


def test_killed_index_run_then_rerun_has_exactly_the_documents(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"small.jsonl": _records(20, "seed")})
    rebuild(home, folder, show_progress=False)
    (folder / "big.jsonl").write_text(_records(3000, "bulk", start=100), encoding="utf-8")
    process = _cli("index", "--quiet", "--index", str(home.path), str(folder))
    time.sleep(2.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    assert SearchEngine.at(home).stats().documents in (20, 3020)  # all or nothing
    report = update(home, folder, show_progress=False)
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
    assert built.live_dir() == live and SearchEngine.at(built).search("football").total == 1
    result = subprocess.run(
        [sys.executable, "-m", "fahras_cli", "stats", "--index", str(built.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Leftover from an interrupted rebuild" in result.stdout
    rebuild(built, corpus, show_progress=False)
    assert built.leftovers() == [] and not orphan.exists()


def test_unwritable_index_location_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create index folder"):
        update(IndexHome(blocker / "index"), corpus, show_progress=False)


def test_full_disk_keeps_the_previous_index(built: IndexHome, corpus: Path, monkeypatch) -> None:
    before = SearchEngine.at(built).search("football").total
    live = built.live_dir()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(indexer._FolderPass, "_delete_missing", no_space)
    with pytest.raises(indexer.IndexingError, match="no space left for the new index"):
        rebuild(built, corpus, show_progress=False)
    monkeypatch.undo()
    assert built.live_dir() == live and SearchEngine.at(built).search("football").total == before
    rebuild(built, corpus, show_progress=False)
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
        [sys.executable, "-m", "fahras_cli", "index", "--index", "/dev/full/index", str(corpus)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        cli.returncode == 2 and "cannot create index folder" in cli.stderr and "Traceback" not in cli.stderr
    )


def test_a_segment_vanishing_mid_search_is_retried_on_a_fresh_searcher(built: IndexHome, monkeypatch) -> None:
    engine = SearchEngine.at(built)
    engine.search("warm up")
    first = engine.backend.snapshot()
    real_execute = type(first).execute
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 1:
            raise FileNotFoundError("MAIN_abc.pst")  # merged away by a concurrent commit
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(type(first), "execute", flaky)
    assert engine.search("football").total == 1 and len(calls) == 2
    assert calls[0] is first and calls[1] is not first  # the retry ran on a fresh snapshot


# ------------------------------------------------------------------ failed and interrupted updates


def _state(home: IndexHome) -> dict[str, int]:
    """Every file of the live generation with its size: what a failed run must leave as it found."""
    return {path.name: path.stat().st_size for path in home.live_dir().iterdir() if path.is_file()} | {
        path.name + "/": 0 for path in home.live_dir().iterdir() if path.is_dir()
    }


def _assert_untouched(home: IndexHome, state: dict[str, int], documents: int) -> None:
    assert _state(home) == state  # no partial segment, no temporary folder
    with home.write_lock(timeout=0):  # the lock is free
        pass
    assert SearchEngine.at(home).stats().documents == documents


def test_a_full_disk_during_an_update_leaves_the_index_as_it_was(
    home: IndexHome, tmp_path: Path, monkeypatch
) -> None:
    from whoosh.filedb.structfile import StructFile

    folder = write_corpus(tmp_path / "c", {"small.jsonl": _records(20, "seed")})
    rebuild(home, folder, show_progress=False)
    state = _state(home)
    (folder / "big.jsonl").write_text(_records(2000, "bulk", start=100), encoding="utf-8")
    budget = [300_000]  # bytes the disk still takes
    real_write = StructFile.write

    def write(self, data):
        budget[0] -= len(data)
        if budget[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(StructFile, "write", write)
    with pytest.raises(indexer.IndexingError, match=r"no space left .* the index is unchanged"):
        update(home, folder, show_progress=False)
    monkeypatch.undo()
    _assert_untouched(home, state, 20)
    assert update(home, folder, show_progress=False).added == 2000


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@contextmanager
def _small_disk(folder: Path, size: str) -> Iterator[None]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the file-size limit variant still runs")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("disk", ["tmpfs", "file-size-limit"])
def test_a_real_write_failure_is_one_line_and_cleaned_up(tmp_path: Path, disk: str) -> None:
    folder = write_corpus(tmp_path / "c", {"small.jsonl": _records(20, "seed")})
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "big.jsonl").write_text(_records(3000, "bulk", start=100), encoding="utf-8")
    with contextlib.ExitStack() as stack:
        if disk == "tmpfs":
            stack.enter_context(_small_disk(tmp_path / "disk", "2m"))
        home = IndexHome(tmp_path / "disk" / "index")
        rebuild(home, folder, show_progress=False)
        state = _state(home)
        shutil.copy(tmp_path / "big" / "big.jsonl", folder / "big.jsonl")
        limit = {"preexec_fn": _limit_file_size(512 * 1024)} if disk == "file-size-limit" else {}
        result = subprocess.run(
            [sys.executable, "-m", "fahras_cli", "index", "--quiet", "--index", str(home.path), str(folder)],
            capture_output=True, text=True, timeout=300, **limit,
        )  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "the index is unchanged" in result.stderr
        _assert_untouched(home, state, 20)


@pytest.mark.parametrize(("how", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_update_ends_cleanly(home: IndexHome, tmp_path: Path, how: int, status: int) -> None:
    folder = write_corpus(tmp_path / "c", {"small.jsonl": _records(20, "seed")})
    rebuild(home, folder, show_progress=False)
    state = _state(home)
    (folder / "big.jsonl").write_text(_records(4000, "bulk", start=100), encoding="utf-8")
    process = _cli("index", "--quiet", "--index", str(home.path), str(folder))
    deadline = time.monotonic() + 60
    while not _begun(home, state) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # until it has begun writing its segment
    if process.poll() is not None:
        pytest.skip("the update finished before it could be interrupted")
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    assert stderr.strip().splitlines() == [
        f"fahras index: {'interrupted' if how == signal.SIGINT else 'terminated (SIGTERM)'}; "
        "the index is unchanged"
    ]
    _assert_untouched(home, state, 20)
    assert home.leftovers() == []


def _begun(home: IndexHome, state: dict[str, int]) -> bool:
    """Whether an update has written a file of its own into its staged copy of the live generation."""
    return any(path.name not in state for staged in home.path.glob("tmp-*") for path in staged.iterdir())
