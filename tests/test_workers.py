"""The worker pool: results in, failures noticed, and no worker outliving its parent."""

from __future__ import annotations

import os
import signal
import time

import pytest

from index import workers
from index.workers import Counters, WorkerFailed, WorkerPool

from .test_build_signals import alive, gone


def whole(pool: WorkerPool, key: object, task: object) -> list[tuple[object, object]]:
    """Give a task without parts to an idle worker, as a build gives a chunk it has read whole."""
    done = pool.begin(key, task)
    pool.end(key)
    return done


def square(task, parts, counters: Counters):
    counters.set(0, task)
    return task * task


def sleep_forever(task, parts, counters: Counters):
    time.sleep(3600)


def test_results_come_back_with_their_keys() -> None:
    with WorkerPool(2, square) as pool:
        done = []
        for number in range(6):
            done += whole(pool, f"task-{number}", number)
        done += pool.drain()
        assert pool.counters.total(0) > 0  # each worker's last task, summed
        pids = [worker.pid for worker in pool._workers]
    assert sorted(done) == [(f"task-{n}", n * n) for n in range(6)]
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)


def test_an_error_in_a_worker_comes_back_as_one_line(capfd) -> None:
    def fails(task, parts, counters):
        raise OSError(28, "No space left on device", "MAIN_x.pst")

    pool = WorkerPool(2, fails)
    with (
        pytest.raises(
            WorkerFailed, match=r"^a worker process failed: No space left on device \(MAIN_x.pst\)"
        ),
        pool,
    ):
        whole(pool, 1, 1)
        pool.drain()
    assert "Traceback" not in capfd.readouterr().err
    assert pool.busy == 0 and not pool.started  # ended and reaped


def collect_parts(task, parts, counters: Counters) -> list:
    """Every part, counting them as they come (so the parent sees the worker at work)."""
    received = []
    for part in parts:
        received.append(part)
        counters.set(0, len(received))
    return [task, *received]


def until(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_worker_starts_on_a_task_before_its_last_part_is_sent() -> None:
    with WorkerPool(1, collect_parts) as pool:
        pool.begin("chunk", "head")
        pool.send("chunk", ["first", "batch"])
        assert until(lambda: pool.counters.total(0) == 1)  # read and used while the task is still open
        pool.send("chunk", {"second": 2})
        pool.end("chunk")
        done = pool.drain()
        assert whole(pool, "next", "alone") + pool.drain() == [("next", ["alone"])]  # no parts left over
    assert done == [("chunk", ["head", ["first", "batch"], {"second": 2}])]


def wait_for_go_then_count(task, parts, counters: Counters) -> int:
    """Reads nothing until the parent has created the file ``task`` (or a minute has passed)."""
    counters.set(0, int(until(lambda: os.path.exists(task))))
    return sum(len(part) for part in parts)


def test_sending_never_waits_for_the_worker_to_read(tmp_path) -> None:
    go = str(tmp_path / "go")
    with WorkerPool(1, wait_for_go_then_count, spool_dir=str(tmp_path)) as pool:
        pool.begin("chunk", go)
        for _ in range(40):  # 40 MB: far more than a pipe holds
            pool.send("chunk", b"x" * 1_000_000)
        pool.end("chunk")
        open(go, "w").close()  # reached only if no send waited for the worker
        done = pool.drain()
        assert pool.counters.total(0) == 1  # the worker saw the file before reading any part
    assert done == [("chunk", 40_000_000)]
    assert os.listdir(tmp_path) == ["go"]  # the spool has no name, and is gone with the workers


def test_a_worker_that_fails_in_the_middle_of_a_task_is_noticed_when_the_next_part_is_sent() -> None:
    def fails_at_first_part(task, parts, counters):
        next(parts)
        raise ValueError("bad document")

    with pytest.raises(WorkerFailed, match="bad document"), WorkerPool(1, fails_at_first_part) as pool:
        pool.begin("chunk", None)
        pool.send("chunk", 1)
        until(lambda: pool._workers[0].connection.poll())
        pool.send("chunk", 2)


LOADED: list[int] = []


def load() -> None:
    LOADED.append(os.getpid())


def loaded_in_this_process(task, parts, counters: Counters) -> bool:
    return [os.getpid()] == LOADED


def test_started_workers_load_what_tasks_need_before_their_first_task() -> None:
    with WorkerPool(2, loaded_in_this_process, on_start=load) as pool:
        pool.start()
        assert pool.started and len(pool._workers) == 2  # forked before any task
        done = whole(pool, "a", None) + whole(pool, "b", None) + pool.drain()
    assert sorted(done) == [("a", True), ("b", True)] and LOADED == []  # loaded in the workers only


def test_an_error_while_a_worker_starts_is_its_first_tasks_failure() -> None:
    def broken() -> None:
        raise ImportError("No module named 'nltk'")

    with (
        pytest.raises(WorkerFailed, match="No module named 'nltk'"),
        WorkerPool(1, square, on_start=broken) as pool,
    ):
        whole(pool, 1, 3)
        pool.drain()


def test_a_killed_worker_is_noticed_at_once() -> None:
    pool = WorkerPool(1, sleep_forever)
    with pytest.raises(WorkerFailed, match=r"was killed by SIGKILL \(out of memory\?\)"), pool:
        whole(pool, "only", None)
        (worker,) = pool._workers
        os.kill(worker.pid, signal.SIGKILL)
        pool.drain()
    assert not alive(worker.pid)


def test_closing_ends_busy_and_idle_workers() -> None:
    pool = WorkerPool(2, sleep_forever)
    whole(pool, "busy", None)
    pids = [worker.pid for worker in pool._workers]
    pool.close()
    assert len(pids) == 1 and not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("death_signal", [True, False], ids=["PR_SET_PDEATHSIG", "watching the parent"])
def test_a_worker_never_outlives_its_parent(monkeypatch, death_signal: bool) -> None:
    if not death_signal:
        monkeypatch.setattr(workers, "_set_parent_death_signal", lambda: False)
    read_end, write_end = os.pipe()
    parent = os.fork()
    if parent == 0:  # a build's parent process, which starts a worker and then is killed
        try:
            pool = WorkerPool(1, sleep_forever)
            whole(pool, "forever", None)
            os.write(write_end, str(pool._workers[0].pid).encode())
            time.sleep(3600)
        finally:
            os._exit(1)
    os.close(write_end)
    worker = int(os.read(read_end, 64))
    os.close(read_end)
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    try:
        assert gone([worker]), "the worker outlived its parent"
    finally:
        if alive(worker):
            os.kill(worker, signal.SIGKILL)
