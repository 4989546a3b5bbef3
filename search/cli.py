"""The ``fahras`` command: index, rebuild, search, stats, check, eval, serve.

Every subcommand takes ``--index DIR`` (else ``$FAHRAS_INDEX``, else
``~/.local/share/fahras/index``). Errors a user can fix are printed as one line
on stderr with exit status 2; there are no tracebacks for bad input, nor for
a damaged index (an unexpected error is checked against the index's files).

The ``serve`` command belongs to the web front end, above this package: the
entry module fahras_cli.py passes its handler in, so that dependencies run
one way (web → search → index).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from importlib import metadata
from pathlib import Path
from time import perf_counter

from index.analysis import ARABIC, LATIN
from index.indexer import rebuild_index, update_index
from index.schema import LANGUAGES
from index.store import default_home

from .backend import Backend, NoIndex, StoreError, open_backend
from .backends.opensearch.cluster import add_cluster_parser
from .engine import Filters, QueryError, SearchEngine
from .evaluate import EvalInputError, run_evaluation

BOLD, RESET, DIM = "\033[1m", "\033[0m", "\033[2m"
# Control characters from documents, file names and queries are shown, never obeyed:
# a title holding ESC]0;…BEL or ESC[2J would retitle or clear the user's terminal.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with its control characters (but line breaks and tabs) written as \\x1b escapes."""
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _line(text: str) -> str:
    """One line of output from text that may hold line breaks and control characters."""
    return printable(text.replace("\n", " ").replace("\r", " "))


def _backend(args: argparse.Namespace) -> Backend:
    return open_backend(args.index)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that it unwinds like Ctrl-C: locks released, work undone."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While indexing, SIGTERM raises Terminated in this process; processes forked from it just end."""
    owner = os.getpid()

    def handler(signum: int, _frame: object) -> None:
        if os.getpid() != owner:  # a worker process: the default action
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_index(args: argparse.Namespace) -> int:
    options = {"show_progress": not args.quiet, "lock_timeout": args.wait}
    backend = _backend(args)
    target = backend.target()
    with _terminate_as_interrupt():
        if args.command == "rebuild":
            report = rebuild_index(target, [Path(path) for path in args.paths], only=args.only, **options)
        else:
            report = update_index(target, Path(args.path), **options)
        print(printable(report.summary()))
        try:
            _prepare_names(backend, quiet=args.quiet)
        except KeyboardInterrupt as stopped:  # the new index is live; only the names' cache is not written
            stopped.published = True
            raise
    return 0


def _prepare_names(backend: Backend, quiet: bool) -> None:
    """Files the new version's words by sound now, so that no search waits for it (see search/names.py)."""
    started = perf_counter()
    found = [backend.snapshot().lexicon.vocabulary(script) for script in (ARABIC, LATIN)]
    if not quiet and any(vocabulary is not None for vocabulary in found):
        print(f"Filed the words by sound for names across scripts in {perf_counter() - started:.1f} s.")


def _terminal_snippet(snippet: str, color: bool) -> str:
    """The snippet's text with its marks as bold (or [brackets]); its own characters shown, never obeyed."""
    parts = re.split(r"<mark>(.*?)</mark>", snippet)
    shown = [_line(html.unescape(part)) for part in parts]
    start, end = (BOLD, RESET) if color else ("[", "]")
    return "".join(f"{start}{part}{end}" if index % 2 else part for index, part in enumerate(shown))


def cmd_search(args: argparse.Namespace) -> int:
    backend = _backend(args)
    found = backend.check()  # damage says so whatever the query reads (its terms may be intact)
    if found.error:
        raise found.error
    engine = SearchEngine(backend)
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print(
            "fahras search: --from must not be after --to: the start date is later than the end date",
            file=sys.stderr,
        )
        return 2
    filters = Filters(tuple(args.lang or ()), tuple(args.source or ()), args.date_from, args.date_to)
    results = engine.search(
        " ".join(args.query), page=args.page, size=args.limit, filters=filters, sort=args.sort, suggest=True,
        correct=not args.verbatim, fold=args.fold,
    )  # fmt: skip
    if found.warning:
        print(f"fahras search: warning: {found.warning}", file=sys.stderr)
    if args.json:
        data = results.to_dict()
        for key in ("page", "size", "facets"):
            data.pop(key)
        json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    first = (results.page - 1) * results.size + 1
    if results.notice:
        print(_line(results.notice.describe()))
    for also in results.also_searched:
        names = ", ".join(also.also)
        print(_line(f"Also searched: {names} for {also.word!r} (--verbatim searches only what was typed)"))
    print(
        f"{results.total:,} result{'' if results.total == 1 else 's'} for {results.query!r} ({results.took_ms:.0f} ms)"
    )
    if results.total_all and results.total_all < results.total:  # none with all: the count alone
        print(f"{results.total_all:,} with all the words, first; {results.total:,} with some of them")
    if results.folded:
        print(
            f"{results.folded:,} near-duplicate{'' if results.folded == 1 else 's'} folded (--no-fold shows them)"
        )
    if results.suggestion:
        print(f"Did you mean: {_line(results.suggestion)}")
    if results.total and not results.hits:
        print(f"Page {results.page} is past the last page ({results.pages:,}).")
    for rank, hit in enumerate(results.hits, first):
        title = f"{BOLD}{_line(hit.title)}{RESET}" if color else _line(hit.title)
        meta = _line(
            " · ".join(filter(None, [hit.id, hit.lang, hit.source, hit.date, f"score {hit.score:.2f}"]))
        )
        print(f"\n{rank}. {title}\n   {DIM if color else ''}{meta}{RESET if color else ''}")
        print(f"   {_terminal_snippet(hit.snippet, color)}")
        if hit.similar:
            print(
                f"   + {len(hit.similar)} similar: {_line(', '.join(other['id'] for other in hit.similar))}"
            )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """What the index holds, after a quick check of its files (exit status 1 if it needs a rebuild)."""
    backend = _backend(args)
    found = backend.check()
    stats = {"documents": None, "languages": {}, "sources": {}}
    if not found.error:
        counted = SearchEngine(backend).stats()
        stats = {"documents": counted.documents, "languages": counted.languages, "sources": counted.sources}
    stats.update(backend.describe())
    stats.update(
        check=found.summary(), error=str(found.error) if found.error else None, warning=found.warning
    )
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
    else:
        _print_stats(stats)
    return 0 if found.ok else 1


def _print_stats(stats: dict) -> None:
    stats = {key: printable(value) if isinstance(value, str) else value for key, value in stats.items()}
    stats["roots"] = [_line(root) for root in stats["roots"]]
    stats["leftovers"] = [_line(path) for path in stats["leftovers"]]
    for key in ("languages", "sources"):
        stats[key] = {_line(name): count for name, count in stats[key].items()}
    print(f"Index:       {stats['index']}")
    if stats["documents"] is not None:
        print(f"Documents:   {stats['documents']:,}")
    print(f"Size:        {stats['size_bytes'] / 1e6:.1f} MB")
    print(f"Last build:  {stats['last_build'] or 'unknown'} (from {stats['indexed_from'] or '?'})")
    if len(stats["roots"]) > 1:
        print(f"Folders:     {', '.join(stats['roots'])}")
    for title, key in (("Languages", "languages"), ("Sources", "sources")):
        counts = ", ".join(f"{name or '(none)'} {count:,}" for name, count in stats[key].items())
        print(f"{title + ':':<12} {counts or '-'}")
    print(f"Check:       {stats['check']}")
    for leftover in stats["leftovers"]:
        print(f"Leftover from an interrupted rebuild (removed by the next rebuild): {leftover}")
    for failed in stats.get("failed", []):
        print(f"Kept for a bug report (a build that did not read back; delete it when done): {_line(failed)}")


def cmd_check(args: argparse.Namespace) -> int:
    """Verify every index file against its recorded size and checksum, then open the index."""
    found = _backend(args).check(checksums=True)
    if args.json:
        data = {
            "ok": found.ok,
            "error": str(found.error) if found.error else None,
            "warning": found.warning,
            "damaged_files": found.damaged_files,
            "checked_files": found.checked_files,
            "unrecorded_files": found.unrecorded_files,
        }
        print(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        print(printable(found.summary()))
        for problem in found.damaged_files[1:]:
            print(f"  also: {_line(problem)}")
    return 0 if found.ok else 1


def cmd_eval(args: argparse.Namespace) -> int:
    return run_evaluation(args)


def _bounded(convert: Callable[[str], float], noun: str, low: float, high: float | None = None):
    """An argument type: text converted to a number from ``low`` to ``high``.

    Its errors say what was expected and what was typed ("expected a whole
    number, not 'abc'"), where argparse would name the function instead.
    """

    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, not {value!r}") from None
        if not (number >= low and (high is None or number <= high)):  # also refuses nan
            limit = f"{low} or more" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"expected {noun}, {limit}, not {value}")
        return number

    return parse


_positive = _bounded(int, "a whole number", 1)
_count = _bounded(int, "a whole number", 0)
_port = _bounded(int, "a port number", 0, 65535)
_seconds = _bounded(float, "a number of seconds", 0)


def _origin(value: str) -> str:
    """An argument type: ``*`` or one web origin (``https://app.example.org``, no path)."""
    if value == "*" or re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", value):
        return value
    raise argparse.ArgumentTypeError(f"expected * or an origin like https://app.example.org, not {value!r}")


def _version() -> str:
    """The installed distribution's version (a source checkout that was never installed says so)."""
    try:
        return metadata.version("fahras")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _day(start: bool) -> Callable[[str], datetime]:
    """An argument type: a day as its first (or last) moment."""

    def parse(value: str) -> datetime:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a day like 2015-07-21, not {value!r}") from None
        return datetime.combine(day, time.min if start else time.max)

    return parse


Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument told in one line (and where to read the usage) instead of five."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see: {self.prog} --help)\n")


def build_parser(serve: Command | None = None) -> argparse.ArgumentParser:
    """Every command's arguments; ``serve`` only when its handler is given (search never imports web)."""
    parser = _Parser(prog="fahras", description="Fahras: search Arabic and English documents.")
    parser.add_argument("--version", action="version", version=f"fahras {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index", metavar="DIR", default=None,
        help=f"index folder (default: $FAHRAS_INDEX or {default_home()})",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, text in (
        ("index", "add, update and delete documents to match PATH"),
        ("rebuild", "build a fresh index of the folders it holds (or of PATHs) and swap it in atomically"),
    ):
        cmd = sub.add_parser(name, parents=[common], help=text, description=text)
        if name == "index":
            cmd.add_argument("path", metavar="PATH", help="a folder (searched recursively) or one file")
        else:
            cmd.add_argument("paths", metavar="PATH", nargs="*",
                             help="folders or files (default: every folder the index holds)")  # fmt: skip
            cmd.add_argument("--only", action="store_true",
                             help="keep only PATHs, dropping the other folders the index holds")  # fmt: skip
        cmd.add_argument("--quiet", action="store_true", help="no progress bar")
        cmd.add_argument("--wait", type=_seconds, default=30.0, metavar="SECONDS",
                         help="how long to wait for another writer (default 30)")  # fmt: skip
        cmd.set_defaults(func=cmd_index)

    cmd = sub.add_parser("search", parents=[common], help="search the index")
    cmd.add_argument(
        "query", nargs="+", metavar="QUERY",
        help='query: words, "phrases", AND/OR/NOT, -word, +word, title:, source:, date:, prefix*, fuzzy~ '
        "(unquoted words are one query; a query starting with - goes after --)",
    )  # fmt: skip
    cmd.add_argument("--limit", type=_positive, default=10, metavar="N", help="results per page (default 10)")
    cmd.add_argument("--page", type=_positive, default=1, metavar="N", help="page number (default 1)")
    cmd.add_argument("--lang", choices=LANGUAGES, action="append",
                     help="only documents in this language (repeat for several)")  # fmt: skip
    cmd.add_argument("--source", action="append", help="only documents from this source (repeat for several)")
    cmd.add_argument("--from", dest="date_from", type=_day(start=True), metavar="YYYY-MM-DD",
                     help="only documents dated on or after this day")  # fmt: skip
    cmd.add_argument("--to", dest="date_to", type=_day(start=False), metavar="YYYY-MM-DD",
                     help="only documents dated on or before this day")  # fmt: skip
    cmd.add_argument("--sort", choices=["relevance", "date"], default="relevance",
                     help="relevance (default) or date: newest first, undated last")  # fmt: skip
    cmd.add_argument("--verbatim", action="store_true",
                     help="search only what was typed: no correction, no names in the other script")  # fmt: skip
    cmd.add_argument("--no-fold", dest="fold", action="store_false",
                     help="show near-duplicates as results of their own, not folded under the first of them")  # fmt: skip
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.set_defaults(func=cmd_search)

    cmd = sub.add_parser("stats", parents=[common], help="what the index holds, and a quick check of it")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.set_defaults(func=cmd_stats)

    text = "verify the index's files (sizes and checksums); exit status 1 if it must be rebuilt"
    cmd = sub.add_parser("check", parents=[common], help=text, description=text)
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.set_defaults(func=cmd_check)

    cmd = sub.add_parser("eval", parents=[common], help="measure ranking quality on judged queries")
    cmd.add_argument("--queries", required=True, metavar="Q.tsv", help="qid<TAB>query lines")
    cmd.add_argument("--qrels", required=True, metavar="QRELS.txt", help="TREC qrels")
    cmd.add_argument("--corpus", metavar="CORPUS.jsonl", help="index this corpus in a temporary index first")
    cmd.add_argument("--run", metavar="OUT.run", help="write a TREC run file")
    cmd.add_argument("--k", type=_positive, default=10, metavar="N", help="cut-off (default 10)")
    cmd.add_argument("--json", action="store_true", help="print the figures as JSON")
    cmd.set_defaults(func=cmd_eval)

    if serve is not None:
        _add_serve_parser(sub, common, serve)
    add_cluster_parser(sub)
    return parser


def _add_serve_parser(sub, common: argparse.ArgumentParser, serve: Command) -> None:
    cmd = sub.add_parser("serve", parents=[common], help="serve the web search page and JSON API")
    cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    cmd.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    cmd.add_argument(
        "--threads", type=_positive, default=2, metavar="N",
        help="threads per worker process (default 2: a search is CPU-bound, more threads only queue for the GIL)",
    )  # fmt: skip
    cmd.add_argument(
        "--workers", type=_positive, default=os.cpu_count() or 1, metavar="N",
        help="worker processes sharing the port (default: one per CPU core)",
    )  # fmt: skip
    cmd.add_argument(
        "--cors", nargs="?", const="*", type=_origin, metavar="ORIGIN",
        help="let web pages on other origins read the JSON API (all origins, or only ORIGIN); off by default",
    )  # fmt: skip
    cmd.add_argument(
        "--per-client", type=_count, default=100, metavar="N",
        help="connections one client address may hold per worker (default 100; 0: no limit, e.g. behind a proxy)",
    )  # fmt: skip
    cmd.add_argument("--demo", action="store_true", help="index and serve the bundled demo corpus")
    cmd.add_argument("--debug", action="store_true", help="Flask's debug server with reloader")
    cmd.set_defaults(func=serve)


_EXPECTED: tuple[type[Exception], ...] = (QueryError, StoreError, EvalInputError, OSError)


def main(argv: Sequence[str] | None = None, serve: Command | None = None) -> int:
    """Run one command; ``serve`` is the web front end's, given by the entry module (fahras_cli.py)."""
    args = build_parser(serve).parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except BrokenPipeError:  # output piped into head & co.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except _EXPECTED as error:
        print(f"fahras {args.command}: {_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        how, status = ("terminated (SIGTERM)", 143) if isinstance(error, Terminated) else ("interrupted", 130)
        print(f"fahras {args.command}: {how}{_outcome(args, error)}", file=sys.stderr)
        return status
    except Exception:
        damage = _index_damage(args)
        if damage is None:
            raise
        print(f"fahras {args.command}: {_line(str(damage))}", file=sys.stderr)
        return 2


def _outcome(args: argparse.Namespace, error: KeyboardInterrupt) -> str:
    """What a stopped ``index`` or ``rebuild`` left: the new index when it had gone live, else the old one."""
    if args.command not in {"index", "rebuild"}:
        return ""
    if getattr(error, "published", False):
        return " after the new index went live: it holds the changes"
    return "; the index is unchanged"


def _index_damage(args: argparse.Namespace) -> StoreError | None:
    """After an unexpected error: the damage to the index that explains it, if any."""
    if args.command not in {"search", "stats", "eval"}:
        return None
    try:
        return _backend(args).check(checksums=True).error
    except NoIndex:
        return None
