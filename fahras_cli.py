"""The ``fahras`` command: the commands of search/cli.py, with ``serve`` wired to the web front end.

Dependencies run one way, web → search → index: search/cli.py defines every
command but knows nothing of web/, and this module, above both faces, hands
it the one command that needs the web app. Flask and waitress are imported
only when serving, so ``fahras index`` and ``fahras search`` never load them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from search import cli


def serve(args: argparse.Namespace) -> int:
    """``fahras serve``: the search page and JSON API (web/server.py)."""
    from web.server import serve as run_server

    return run_server(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``fahras`` command (the ``[project.scripts]`` entry point)."""
    return cli.main(argv, serve=serve)


if __name__ == "__main__":
    sys.exit(main())
