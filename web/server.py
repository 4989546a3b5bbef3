"""``fahras serve``: the web app under waitress (or Flask's reloader with --debug).

waitress is a production WSGI server in pure Python: no compiler, no C
extension, the same on every OS, and a thread pool. Searches are CPU-bound
Python, so one process uses one core whatever its threads; ``--workers N``
forks N processes that accept from one shared listening socket (where the
OS can fork), each with its own threads, searchers and caches.

No worker outlives the main process, however it ends (``kill -9`` included):
on Linux the kernel signals each worker when its parent dies
(``PR_SET_PDEATHSIG``), elsewhere a thread in each worker watches its parent.
A worker that dies is replaced, after a growing pause if it keeps dying
soon after starting; its traceback is in the log.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no open-files limit to raise
    resource = None

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from index.workers import die_with_parent
from search.backend import NoIndex, StoreError, default_location, demo_location
from search.engine import RebuildNeeded, SearchEngine

from . import SECURITY_HEADERS, create_app
from .health import log_once

DEMO_CORPUS = Path(__file__).with_name("demo")
# A worker that dies sooner than this after starting is restarted after a
# pause that doubles each time (up to the maximum), so a worker that cannot
# start does not spin; one that ran this long is restarted at once.
STABLE_SECONDS = 10.0
FIRST_RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 30.0
# waitress per worker. Idle connections cost no thread, only a socket and a
# little memory, but waitress stops accepting past ``connection_limit``
# (default 100): a few hundred idle sockets locked every client out. Here each
# worker holds up to 1,000 (poll() instead of select(), which stops at 1,024
# descriptors) and closes a connection idle for 30 s (default 120).
CONNECTION_LIMIT = 1000
FILE_DESCRIPTORS_SPARE = 256  # for index files (one per memory map), logs, pipes
# What a reverse proxy would bound, bounded here (slowloris): one client address
# holds at most this many of a worker's connections, and a request's line and
# headers must arrive within HEADER_SECONDS, however slowly each byte comes
# (waitress's idle timeout starts again with every byte).
CONNECTIONS_PER_CLIENT = 100
HEADER_SECONDS = 10.0
# A request refused before it was read whole (headers too large) is answered,
# then the rest of what the client sends is read and dropped for a moment:
# closing with unread bytes makes the kernel reset the connection, and the
# client never sees the answer.
LINGER_SECONDS, LINGER_BYTES = 2.0, 4 * 1024 * 1024
WAITRESS_SETTINGS = {"channel_timeout": 30, "cleanup_interval": 2, "asyncore_use_poll": True}
HEALTH_PATH = "/healthz"


def prepare_demo(engine: SearchEngine) -> None:
    """Index the bundled demo corpus (a no-op when it is already up to date).

    The demo index is rebuilt when it cannot be updated (an older version
    built it, or it holds the demo corpus from where another install put it).
    """
    holds = engine.holds()
    if holds and holds != [DEMO_CORPUS.resolve()]:
        report = engine.rebuild(DEMO_CORPUS, only=True)
    else:
        try:
            report = engine.update(DEMO_CORPUS)
        except RebuildNeeded:
            report = engine.rebuild(DEMO_CORPUS, only=True)
    print(report.summary())


def serve(args: argparse.Namespace) -> int:
    location = args.index or (demo_location() if args.demo else None)
    engine = SearchEngine.at(location)
    if args.demo:
        prepare_demo(engine)
    where = engine.backend.location
    url = f"http://{args.host}:{args.port}/"
    if args.debug:
        print(f"Fahras is serving {where} at {url} (Ctrl-C to stop)", flush=True)
        create_app(_app_config(where, args)).run(
            host=args.host, port=args.port, debug=True, use_reloader=True
        )
        return 0
    listener = socket.create_server((args.host, args.port), backlog=1024)
    workers = args.workers if hasattr(os, "fork") else 1
    connections = _connection_limit()
    print(
        f"Fahras is serving {where} at {url} with {workers} worker(s), "
        f"up to {connections:,} connections each (Ctrl-C to stop)",
        flush=True,
    )
    _report_index(engine)
    limits = _Limits(args.threads, connections, args.per_client)
    if workers == 1:
        _serve_on(listener, _app_config(where, args), limits)
    else:
        _prefork(listener, _app_config(where, args), limits, workers)
    return 0


def _report_index(engine: SearchEngine) -> None:
    """Log once what is wrong with the index, if anything; workers inherit what was logged.

    A missing or empty index is the first thing a new user meets: say so at
    start, with the command that fills it (the page says it too).
    """
    where = engine.backend.location
    build = f"fahras index{_index_option(where)} FOLDER"
    try:
        state = engine.health()
    except NoIndex:
        log_once(
            f"there is no index at {where} yet: build one with `{build}`; until then every search answers 503"
        )
    except StoreError as error:
        log_once(str(error))  # the workers will answer 503 with a short message
    else:
        if state.warning:
            log_once(state.warning)
        if state.documents == 0:
            log_once(f"the index at {where} holds no documents yet: add some with `{build}`")


def _index_option(where: str) -> str:
    """`` --index DIR`` when the index is not where fahras looks by default."""
    default = "://" not in where and Path(where).resolve() == Path(default_location()).resolve()
    return "" if default else f" --index {shlex.quote(where)}"


def _connection_limit() -> int:
    """Connections per worker: CONNECTION_LIMIT, or fewer if the open-files limit cannot be raised."""
    if resource is None:
        return CONNECTION_LIMIT
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + FILE_DESCRIPTORS_SPARE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return CONNECTION_LIMIT
    return max(1, min(CONNECTION_LIMIT, soft - FILE_DESCRIPTORS_SPARE))


class _SecureErrorTask(ErrorTask):
    """waitress's own error responses (a malformed request, headers too large...) with our headers."""

    def execute(self) -> None:
        self.response_headers.extend(SECURITY_HEADERS.items())
        super().execute()


class _Channel(HTTPChannel):
    """waitress's connection, with a deadline for each request's headers and a lingering close after errors."""

    error_task_class = _SecureErrorTask

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request_began: float | None = None  # when the request being read began to arrive
        self.answered_error = False
        self.lingering_until: float | None = None
        self.drained = 0

    def received(self, data: bytes) -> bool:
        if self.request is None and self.request_began is None:
            self.request_began = time.monotonic()
        done = super().received(data)
        if self.request is None:  # every request received so far was read whole
            self.request_began = None
        return done

    def service(self) -> None:
        if self.requests and self.requests[0].error:
            self.answered_error = True
        super().service()

    def handle_close(self) -> None:
        if self.answered_error and self.lingering_until is None and self.connected:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_WR)  # the answer is out; now drop what still comes
                self.lingering_until = time.monotonic() + LINGER_SECONDS
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def readable(self) -> bool:
        return self.lingering_until is not None or super().readable()

    def writable(self) -> bool:
        return self.lingering_until is None and super().writable()

    def handle_read(self) -> None:
        if self.lingering_until is None:
            super().handle_read()
            return
        try:
            data = self.socket.recv(65536)
        except OSError:
            data = b""
        self.drained += len(data)
        if not data or self.drained > LINGER_BYTES or time.monotonic() > self.lingering_until:
            HTTPChannel.handle_close(self)

    def overdue(self, now: float) -> bool:
        """Whether this connection has had its time: headers too slow, or lingering long enough."""
        if self.lingering_until is not None:
            return now > self.lingering_until
        return (
            self.request_began is not None and not self.requests and now - self.request_began > HEADER_SECONDS
        )


class _Server(TcpWSGIServer):
    """waitress's server on one listening socket, bounded like a reverse proxy would bound it.

    Besides waitress's own limits: at most CONNECTIONS_PER_CLIENT connections
    per client address, headers within HEADER_SECONDS, and /healthz answered by
    a thread of its own, so that a load balancer's health check never waits
    behind a queue of slow searches.
    """

    channel_class = _Channel

    def __init__(self, *args, per_client: int = CONNECTIONS_PER_CLIENT, **kwargs) -> None:
        self.per_client = per_client
        self.health_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
        super().__init__(*args, **kwargs)

    def add_task(self, channel: _Channel) -> None:
        request = channel.requests[0]
        if not request.error and getattr(request, "path", None) == HEALTH_PATH:
            self.health_thread.submit(channel.service)
        else:
            super().add_task(channel)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
        except OSError:
            return
        if accepted is None:
            return
        connection, address = accepted
        host = address[0] if isinstance(address, tuple) else address
        held = sum(
            1 for channel in list(self.active_channels.values()) if channel.addr and channel.addr[0] == host
        )
        if self.per_client and held >= self.per_client:
            connection.close()  # one client may not take every connection (a reverse proxy would refuse it too)
            return
        self.channel_class(self, connection, self.fix_addr(address), self.adj, map=self._map)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            if isinstance(channel, _Channel) and channel.overdue(clock):
                HTTPChannel.handle_close(channel)


def _app_config(where: str, args: argparse.Namespace) -> dict[str, object]:
    """The app's settings from the command line (the index, and --cors)."""
    return {"INDEX_DIR": where, "CORS_ORIGIN": args.cors}


@dataclass(frozen=True)
class _Limits:
    """What one worker may take on: threads, connections, and connections per client address."""

    threads: int
    connections: int
    per_client: int


def _serve_on(listener: socket.socket, config: dict[str, object], limits: _Limits) -> None:
    """One worker: the app (built here, after any fork) under waitress's thread pool (as create_server builds it)."""
    app = create_app(config)
    adjustments = Adjustments(
        sockets=[listener], threads=limits.threads, ident="fahras", connection_limit=limits.connections,
        **WAITRESS_SETTINGS,
    )  # fmt: skip
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(limits.threads)
    sockinfo = (listener.family, listener.type, listener.proto, listener.getsockname())
    server = _Server(app, {}, True, listener, dispatcher=dispatcher, adj=adjustments, bind_socket=False,
                     sockinfo=sockinfo, per_client=limits.per_client)  # fmt: skip
    logging.basicConfig()  # waitress logs through logging, as waitress.serve would set up
    server.run()


def _prefork(listener: socket.socket, config: dict[str, object], limits: _Limits, workers: int) -> None:
    """Run ``workers`` child processes on one socket; restart any that dies until told to stop."""
    parent = os.getpid()
    children: dict[int, float] = {}  # pid -> when it started
    stopping = False
    delay = 0.0

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the child: serve until killed, never return into the parent's code
            _run_worker(lambda: _serve_on(listener, config, limits), parent)
        children[pid] = time.monotonic()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for _ in range(workers):
        spawn()
    while children:
        pid, status = os.wait()
        started = children.pop(pid, None)
        if stopping or started is None:
            continue
        lived = time.monotonic() - started
        delay = (
            0.0 if lived >= STABLE_SECONDS else min(MAX_RESTART_DELAY, max(FIRST_RESTART_DELAY, 2 * delay))
        )
        pause = f" in {delay:.1f} s" if delay else ""
        print(f"worker {pid} {_exit_reason(status)} after {lived:.1f} s; starting another{pause}", flush=True)
        _pause(delay, lambda: stopping)
        if not stopping:
            spawn()


def _run_worker(work: Callable[[], None], parent: int) -> None:
    """A forked worker's whole life: tied to its parent, its traceback printed if it fails."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    status = 1
    try:
        die_with_parent(parent)
        work()
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _exit_reason(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _pause(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep ``seconds``, waking early once ``stop()`` is true (set by a signal handler)."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
