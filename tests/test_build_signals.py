"""Real ``fahras rebuild`` processes with worker processes, killed, interrupted and starved of disk.

Whatever happens to a build, the index that was serving keeps serving, no
process is left behind, the write lock is free, and the user reads one line
(and a non-zero exit status) instead of a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.building import BulkWriter
from index.generations import rebuild
from index.indexer import MULTIPROCESS_MIN_BYTES
from index.store import LOCK, IndexHome
from search.engine import SearchEngine

from .conftest import like_a_terminal, write_corpus
from .servers import alive, children_of

pytestmark = pytest.mark.skipif(
    not Path("/proc/self").exists(), reason="needs /proc to find worker processes"
)


def big_folder(folder: Path, count: int = 3000) -> Path:
    """A folder large enough for a multi-process build, slow enough to be interrupted."""
    lines = (
        json.dumps(
            {"id": f"doc-{i}", "title": f"تقرير رقم {i}", "text": f"نص التقرير {i} word{i} كلمة{i} " * 40},
            ensure_ascii=False,
        )
        for i in range(count)
    )
    write_corpus(folder, {"big.jsonl": "\n".join(lines)})
    assert (folder / "big.jsonl").stat().st_size >= MULTIPROCESS_MIN_BYTES
    return folder


def start(*args: str, code: str = "") -> subprocess.Popen:
    """``fahras ARGS`` in a process group of its own (``code`` runs first, to simulate faults)."""
    script = f"import sys\n{code}\nfrom fahras_cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=like_a_terminal,
    )  # fmt: skip


# For the tests that signal a build in progress: the workers' chunks never
# finish, so the build cannot complete before the signal lands, however slowly
# the test runs (a fast build could otherwise finish first and exit 0).
STALLED_WORKERS = """
import time
from index.building import BulkWriter
BulkWriter._build_chunk = lambda self, task, parts, counters: time.sleep(600)
"""


def wait_for_workers(process: subprocess.Popen, count: int = 2) -> list[int]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        workers = children_of(process.pid)
        if len(workers) >= count:
            return workers
        time.sleep(0.05)
    process.kill()
    pytest.skip("the build finished before its workers could be caught")


def gone(pids: list[int], within: float = 20) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def lock_is_free(home: IndexHome) -> bool:
    with open(home.path / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def serving_the_small_corpus(home: IndexHome) -> bool:
    engine = SearchEngine.at(home)
    return engine.stats().documents == 7 and engine.search("football").total == 1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return big_folder(tmp_path / "big")


def test_a_killed_worker_fails_the_build_and_the_old_index_serves(built: IndexHome, folder: Path) -> None:
    process = start(
        "rebuild", "--only", "--quiet", "--index", str(built.path), str(folder), code=STALLED_WORKERS
    )
    workers = wait_for_workers(process)
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    out, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "Indexed" not in out
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert f"worker process (pid {workers[0]}) was killed by SIGKILL" in err
    assert serving_the_small_corpus(built) and built.leftovers() == []
    assert gone(workers) and lock_is_free(built)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_parent_leaves_no_worker_and_no_lock(
    built: IndexHome, folder: Path, corpus: Path, signum
) -> None:
    process = start(
        "rebuild", "--only", "--quiet", "--index", str(built.path), str(folder), code=STALLED_WORKERS
    )
    workers = wait_for_workers(process)
    os.kill(process.pid, signum)  # the parent alone, not its group
    _, err = process.communicate(timeout=120)
    assert gone(workers), "a worker outlived its parent"
    assert lock_is_free(built) and serving_the_small_corpus(built)
    if signum == signal.SIGTERM:
        assert process.returncode == 128 + signal.SIGTERM
        assert err.strip() == "fahras rebuild: terminated (SIGTERM); the index is unchanged"
        assert built.leftovers() == []
    rebuild(built, corpus, show_progress=False, lock_timeout=5)  # the next rebuild works
    assert serving_the_small_corpus(built) and built.leftovers() == []


def test_ctrl_c_ends_the_build_cleanly_with_one_line(built: IndexHome, folder: Path) -> None:
    process = start("rebuild", "--only", "--index", str(built.path), str(folder), code=STALLED_WORKERS)
    workers = wait_for_workers(process)
    os.killpg(process.pid, signal.SIGINT)  # a terminal sends ^C to the whole group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.strip() == "fahras rebuild: interrupted; the index is unchanged"
    assert gone(workers) and lock_is_free(built) and built.leftovers() == []
    assert serving_the_small_corpus(built)


def test_a_full_disk_fails_with_one_line_and_removes_the_new_generation(
    built: IndexHome, folder: Path
) -> None:
    # Every process of the build (the workers are forks) runs out of space once
    # it has written a few megabytes, as on a full disk.
    full_disk = """
import errno
from whoosh.filedb.structfile import StructFile
_write, _written = StructFile.write, [0]
def write(self, data):
    _written[0] += len(data)
    if _written[0] > 3_000_000:
        raise OSError(errno.ENOSPC, "No space left on device")
    return _write(self, data)
StructFile.write = write
"""
    process = start("rebuild", "--only", "--quiet", "--index", str(built.path), str(folder), code=full_disk)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2 and "Indexed" not in out
    assert err.strip().count("\n") == 0 and "Traceback" not in err and "No space left on device" in err
    assert built.leftovers() == [] and serving_the_small_corpus(built) and lock_is_free(built)


def test_an_error_in_the_parent_ends_the_workers_and_the_build(
    built: IndexHome, folder: Path, monkeypatch
) -> None:
    write_corpus(folder, {"zz-bad.json": "{}"})  # read after big.jsonl, once workers are busy
    forked = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    def bad_file(self, source) -> None:
        if source.path.name == "zz-bad.json":
            raise RecursionError("maximum recursion depth exceeded")
        real_index_file(self, source)

    from index import indexer

    real_index_file = indexer._FolderPass._index_file
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(indexer._FolderPass, "_index_file", bad_file)
    with pytest.raises(RecursionError):
        rebuild(built, folder, only=True, show_progress=False)
    assert forked and gone(forked) and built.leftovers() == []
    assert serving_the_small_corpus(built) and lock_is_free(built)


def test_a_worker_that_dies_never_publishes(home: IndexHome, folder: Path, monkeypatch) -> None:
    """A worker dying in the middle of its chunk (no result, no error) fails the commit."""

    def dies_halfway(self, task, parts, counters):
        if os.getpid() != parent:
            os._exit(0)  # quietly, as if its result had been lost
        return real_build_chunk(self, task, parts, counters)

    parent = os.getpid()
    real_build_chunk = BulkWriter._build_chunk
    monkeypatch.setattr(BulkWriter, "_build_chunk", dies_halfway)
    with pytest.raises(Exception, match="exited with status 0; the index was not changed"):
        rebuild(home, folder, show_progress=False)
    assert not home.exists() and home.leftovers() == []
