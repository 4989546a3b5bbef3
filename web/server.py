"""``fahras serve``: the web app under waitress (or Flask's reloader with --debug).

waitress is a production WSGI server in pure Python: no compiler, no C
extension, the same on every OS, and a thread pool. Searches are CPU-bound
Python, so one process uses one core whatever its threads; ``--workers N``
forks N processes that accept from one shared listening socket (where the
OS can fork), each with its own threads, searchers and caches.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
from pathlib import Path

from index.indexer import update_index
from index.store import IndexHome, data_dir

from . import create_app

DEMO_CORPUS = Path(__file__).with_name("demo")


def demo_home(requested: str | None) -> IndexHome:
    """Where the demo index lives: --index if given, else beside the default index."""
    if requested:
        return IndexHome(requested)
    return IndexHome(data_dir() / "demo")


def prepare_demo(home: IndexHome) -> None:
    """Index the bundled demo corpus (a no-op when it is already up to date)."""
    report = update_index(home, DEMO_CORPUS)
    print(report.summary())


def serve(args: argparse.Namespace) -> int:
    home = demo_home(args.index) if args.demo else IndexHome(args.index)
    if args.demo:
        prepare_demo(home)
    url = f"http://{args.host}:{args.port}/"
    if args.debug:
        print(f"Fahras is serving {home.path} at {url} (Ctrl-C to stop)", flush=True)
        create_app({"INDEX_DIR": str(home.path)}).run(
            host=args.host, port=args.port, debug=True, use_reloader=True
        )
        return 0
    listener = socket.create_server((args.host, args.port), backlog=1024)
    workers = args.workers if hasattr(os, "fork") else 1
    print(f"Fahras is serving {home.path} at {url} with {workers} worker(s) (Ctrl-C to stop)", flush=True)
    if workers == 1:
        _serve_on(listener, home, args.threads)
    else:
        _prefork(listener, home, args.threads, workers)
    return 0


def _serve_on(listener: socket.socket, home: IndexHome, threads: int) -> None:
    """One worker: the app (built here, after any fork) under waitress's thread pool."""
    from waitress import serve as waitress_serve

    app = create_app({"INDEX_DIR": str(home.path)})
    waitress_serve(app, sockets=[listener], threads=threads, ident="fahras")


def _prefork(listener: socket.socket, home: IndexHome, threads: int, workers: int) -> None:
    """Run ``workers`` child processes on one socket; restart any that dies until told to stop."""
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the child: serve until killed, never return into the parent's code
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                _serve_on(listener, home, threads)
            finally:
                os._exit(1)
        children.add(pid)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for _ in range(workers):
        spawn()
    while children:
        pid, status = os.wait()
        children.discard(pid)
        if not stopping:
            print(f"worker {pid} exited ({os.waitstatus_to_exitcode(status)}); starting another", flush=True)
            spawn()
