"""Worker processes for bulk builds: forked, watched, and never outliving their build.

A build deals tasks (chunks of documents) to a few forked workers and takes
back their results. What the parent can count on:

- a worker that dies (``kill -9``, the out-of-memory killer, a crash) is
  noticed at once, through its pipe, and fails the build with one line
  that says how it died; a result never goes missing silently;
- a worker that fails sends its error as one line, without a traceback;
- a task can be streamed: the worker starts on it at once and its parts
  follow as the parent produces them, written to the worker's spool file
  (an unnamed temporary file, gone with the last process that has it open)
  and announced over the pipe, so the parent never waits for a busy worker
  to read them;
- a worker never outlives the parent: on Linux the kernel kills it when the
  parent dies (``PR_SET_PDEATHSIG``), elsewhere it watches its parent and
  exits when it is gone; it ignores SIGINT, which the parent handles for
  the whole build;
- :meth:`WorkerPool.close` ends every worker and reaps it, so an error or
  an interruption in the parent never leaves one running (or holding the
  inherited write lock).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import mmap
import os
import pickle
import signal
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from typing import BinaryIO

from .store import StoreError

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_SECONDS = 0.5
_COUNTER = struct.Struct("q")
HELD_WHILE_FORKING = {signal.SIGINT, signal.SIGTERM}  # the signals that end a build (see WorkerPool._fork)


class WorkerFailed(StoreError):
    """A worker process failed or died: the build is abandoned and nothing is published."""


class Counters:
    """A few integers per worker in memory shared with the parent, for progress display.

    Each worker writes only its own slot; the parent only reads. A value
    read while it is being written may be stale, which a progress bar allows.
    """

    def __init__(self, workers: int, per_worker: int) -> None:
        self.per_worker = per_worker
        self._memory = mmap.mmap(-1, _COUNTER.size * workers * per_worker)
        self.slot = 0

    def set(self, index: int, value: int) -> None:
        """Set counter ``index`` of this worker's slot (called in the worker)."""
        _COUNTER.pack_into(self._memory, _COUNTER.size * (self.slot * self.per_worker + index), value)

    def total(self, index: int) -> int:
        """Counter ``index`` summed over every worker (called in the parent)."""
        slots = len(self._memory) // (_COUNTER.size * self.per_worker)
        return sum(
            _COUNTER.unpack_from(self._memory, _COUNTER.size * (slot * self.per_worker + index))[0]
            for slot in range(slots)
        )


@dataclass
class _Worker:
    pid: int
    connection: Connection
    spool: BinaryIO  # the parts of its task, written by the parent
    task: object = None  # the key of the task it is working on, None when idle
    spooled: int = 0  # bytes of its task's parts written to the spool


class WorkerPool:
    """Up to ``procs`` forked processes, each calling ``handle(task, parts, counters)`` for the tasks it is given.

    A task is given with :meth:`begin`, its parts with :meth:`send` and its
    end with :meth:`end`; ``parts``
    iterates over the parts as they arrive, ending with the task's end.
    Workers are forked when the first task that needs one is begun, so
    a build that never fills a chunk starts none, or all at once by
    :meth:`start` when they will be needed. Each calls ``on_start`` once
    forked, before its first task: what every task needs is loaded there
    while the parent is still preparing the tasks. ``on_wait`` is called
    every ``poll_seconds`` while the parent waits for a worker (to show
    progress). Use as a context manager: leaving it (normally, on an error
    or on an interruption) ends every worker.
    """

    def __init__(
        self,
        procs: int,
        handle: Callable[[object, Iterator[object], Counters], object],
        counters: int = 1,
        on_wait: Callable[[], None] = lambda: None,
        poll_seconds: float = 0.2,
        on_start: Callable[[], None] = lambda: None,
        spool_dir: str | None = None,
    ) -> None:
        self.procs = procs
        self.spool_dir = spool_dir
        self.handle = handle
        self.on_start = on_start
        self.counters = Counters(procs, counters)
        self.on_wait = on_wait
        self.poll_seconds = poll_seconds
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(kill=error is not None)

    def start(self) -> None:
        """Fork every worker now, so that each has started before its first task arrives."""
        while len(self._workers) < self.procs:
            self._fork(len(self._workers))

    @property
    def started(self) -> bool:
        return bool(self._workers)

    @property
    def busy(self) -> int:
        return sum(1 for worker in self._workers if worker.task is not None)

    def begin(self, key: object, task: object) -> list[tuple[object, object]]:
        """Give ``task`` to an idle worker, waiting for one; returns the results that came back meanwhile.

        The worker starts on it at once; its parts follow with :meth:`send`.
        """
        done = []
        worker = self._idle_worker()
        while worker is None:
            done += self._wait()
            worker = self._idle_worker()
        worker.spool.truncate(0)  # the worker has read its previous task's parts
        worker.spooled = 0
        self._tell(worker, "run", task)
        worker.task = key
        return done

    def send(self, key: object, part: object) -> None:
        """Hand the worker of task ``key`` one more part; never waits for the worker to read it."""
        worker = self._worker_of(key)
        data = pickle.dumps(part, pickle.HIGHEST_PROTOCOL)
        written = 0
        while written < len(data):
            written += os.pwrite(worker.spool.fileno(), memoryview(data)[written:], worker.spooled + written)
        worker.spooled += len(data)
        self._tell(worker, "part", worker.spooled)

    def end(self, key: object) -> None:
        """Tell the worker of task ``key`` that its task has no more parts."""
        self._tell(self._worker_of(key), "end", None)

    def drain(self) -> list[tuple[object, object]]:
        """Wait for every task given out; returns their ``(key, result)``."""
        done = []
        while self.busy:
            done += self._wait()
        return done

    def _worker_of(self, key: object) -> _Worker:
        return next(worker for worker in self._workers if worker.task == key)

    def _tell(self, worker: _Worker, order: str, value: object) -> None:
        """Send a worker one message; a worker that failed or died meanwhile fails the build here."""
        if worker.task is not None and worker.connection.poll():  # a busy worker spoke first: it failed
            self._answer(worker)
        try:
            worker.connection.send((order, value))
        except OSError:  # its end of the pipe is closed: it died
            raise self._death(worker) from None

    def close(self, kill: bool = False) -> None:
        """End every worker and reap it: idle ones are told to stop, busy ones (or all, with ``kill``) are killed."""
        for worker in self._workers:
            if kill or worker.task is not None:
                _kill(worker.pid)
            else:
                with contextlib.suppress(OSError):
                    worker.connection.send(("stop", None))
        for worker in self._workers:
            _end(worker.pid)
            worker.connection.close()
            worker.spool.close()
        self._workers = []

    def _wait(self) -> list[tuple[object, object]]:
        """``(key, result)`` for each task finished within one poll; raises if a worker failed or died."""
        busy = {worker.connection: worker for worker in self._workers if worker.task is not None}
        done = []
        for connection in wait(list(busy), self.poll_seconds):
            worker = busy[connection]
            done.append((worker.task, self._answer(worker)))
            worker.task = None
        self.on_wait()
        return done

    def _answer(self, worker: _Worker) -> object:
        """A busy worker's message: its task's result, or the failure or death it reports, raised."""
        try:
            status, payload = worker.connection.recv()
        except (EOFError, OSError):
            raise self._death(worker) from None
        if status == "failed":
            raise WorkerFailed(f"a worker process failed: {payload}; the index was not changed")
        return payload

    # ------------------------------------------------------------ processes

    def _idle_worker(self) -> _Worker | None:
        for worker in self._workers:
            if worker.task is None:
                return worker
        if len(self._workers) < self.procs:
            self._fork(len(self._workers))
            return self._workers[-1]
        return None

    def _fork(self, slot: int) -> None:
        """Start a worker and list it in ``self._workers``, with ^C and SIGTERM held meanwhile.

        A signal in the moment between fork and the worker's own handlers would raise
        KeyboardInterrupt in the child (a traceback on the user's screen), or in the
        parent before it knows the worker (one it could not end). Held, it reaches the
        parent once the worker is listed, and the worker after it has chosen to ignore it.
        """
        parent_end, child_end = Pipe()
        spool = tempfile.TemporaryFile(dir=self.spool_dir)  # noqa: SIM115 (closed with the worker, in close)
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_WHILE_FORKING)
        try:
            pid = os.fork()
            if pid == 0:  # the worker: it never returns from here
                status = 1
                try:
                    parent_end.close()
                    self.counters.slot = slot
                    status = _serve(child_end, spool.fileno(), parent, self, held)
                finally:
                    os._exit(status)
            child_end.close()
            self._workers.append(_Worker(pid, parent_end, spool))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _death(self, worker: _Worker) -> WorkerFailed:
        """The error for a worker whose pipe closed: how it ended, in one line."""
        status = _end(worker.pid)
        worker.task = None
        if status is not None and os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else number
            cause = f"was killed by {name}" + (" (out of memory?)" if number == signal.SIGKILL else "")
        elif status is not None and os.WIFEXITED(status):
            cause = f"exited with status {os.WEXITSTATUS(status)}"
        else:
            cause = "stopped answering"
        return WorkerFailed(f"a worker process (pid {worker.pid}) {cause}; the index was not changed")


def _serve(
    connection: Connection, spool: int, parent: int, pool: WorkerPool, mask: set[signal.Signals]
) -> int:
    """A worker's life: tasks in, results out, until told to stop or the parent is gone.

    An error in ``on_start`` is the answer to the first task, like an error in the task.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C reaches the whole group; the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # the signals held while forking, let through
    die_with_parent(parent)
    # A task's objects live until it ends: the cyclic collector would only
    # spend time walking them (and copy the parent's pages doing so). They are
    # collected when the next task arrives, not before the result is sent.
    gc.freeze()
    gc.disable()
    startup_error = None
    try:
        pool.on_start()
    except Exception as error:
        startup_error = error
    while True:
        try:
            order, task = connection.recv()
        except (EOFError, OSError):
            return 1  # the parent is gone
        if order == "stop":
            return 0
        gc.collect()  # the previous task's leftovers (a worker's last task's go with the process)
        parts = _Parts(connection, spool)
        try:
            if startup_error is not None:
                raise startup_error
            result = pool.handle(task, iter(parts), pool.counters)
            parts.skip_rest()
        except BaseException as error:
            connection.send(("failed", one_line(error)))
            return 1
        connection.send(("done", result))
        del task, parts, result


class _Parts:
    """A task's parts, in a worker: each announced by the parent with its end in the spool, then read there."""

    def __init__(self, connection: Connection, spool: int) -> None:
        self._connection = connection
        self._spool = spool
        self._read = 0  # where the next part starts in the spool
        self._ended = False

    def __iter__(self) -> Iterator[object]:
        while (end := self._next_end()) is not None:
            data = bytearray()
            while len(data) < end - self._read:
                chunk = os.pread(self._spool, end - self._read - len(data), self._read + len(data))
                if not chunk:
                    raise EOFError("the spool file ended before its part")
                data += chunk
            self._read = end
            yield pickle.loads(data)

    def skip_rest(self) -> None:
        """Read the announcements of parts the task did not ask for, up to its end."""
        while self._next_end() is not None:
            pass

    def _next_end(self) -> int | None:
        if self._ended:
            return None
        order, end = self._connection.recv()  # EOFError if the parent is gone
        if order == "end":
            self._ended = True
            return None
        return end


def one_line(error: BaseException) -> str:
    """An error as the one line a user reads: its message, or its kind when it has none."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    text = " ".join(str(error).split())
    return text or type(error).__name__


def die_with_parent(parent: int) -> None:
    """Make this (forked) process end when ``parent`` does, even if the parent is killed with SIGKILL."""
    if not _set_parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """The portable fallback: once the parent is gone the worker is re-parented, and exits."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _end(pid: int, grace_seconds: float = 5.0) -> int | None:
    """Wait for a worker to end (killing it after ``grace_seconds``); its wait status, None if already reaped."""
    deadline = time.monotonic() + grace_seconds
    try:
        while time.monotonic() < deadline:
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped:
                return status
            time.sleep(0.01)
        _kill(pid)
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None
