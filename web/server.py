"""``fahras serve``: the web app under waitress (or Flask's reloader with --debug).

waitress is a production WSGI server in pure Python: no compiler, no C
extension, the same on every OS, and a thread pool, which suits an app whose
work is CPU-bound Whoosh searches behind a shared per-thread searcher cache.
"""

from __future__ import annotations

import argparse
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
    app = create_app({"INDEX_DIR": str(home.path)})
    url = f"http://{args.host}:{args.port}/"
    print(f"Fahras is serving {home.path} at {url} (Ctrl-C to stop)", flush=True)
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True, use_reloader=True)
        return 0
    from waitress import serve as waitress_serve

    waitress_serve(app, host=args.host, port=args.port, threads=args.threads, ident="fahras")
    return 0
