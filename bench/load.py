"""Load test of ``fahras serve``: concurrent clients against a real server process.

Latency under contention, throughput of waitress's thread pool, the server's
memory, and correct answers while ``fahras index`` writes to the same index
only show up end to end, so the server runs as its own process and is
queried over loopback sockets. The clients use the standard library alone
(threads and one keep-alive ``http.client`` connection each) so the bench runs
wherever Fahras does; client threads share this process's GIL, so the
latencies are an upper bound on what the server alone would show.

    python bench/load.py --smoke            # CI: demo corpus, 4 clients, 5 s; needs no shared data
    python bench/load.py --build            # (re)build the SaudiNewsNet + English news index first
    python bench/load.py --clients 16 --duration 20 --mix-bad 0.05 --while-indexing 1000
    python bench/load.py --json             # one JSON object on stdout (progress goes to stderr)

Exit status: 0 without errors, 1 with errors (deliberate 400s are not errors),
2 when the bench could not run (missing data, a server that did not start).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import math
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CORPORA = {
    "saudinewsnet.jsonl.gz": DATA / "saudinewsnet" / "corpus.jsonl.gz",
    "english-news.jsonl.gz": DATA / "english-news" / "corpus.jsonl.gz",
}
QUERY_FILES = (DATA / "saudinewsnet" / "queries.short.tsv", DATA / "english-news" / "queries.short.tsv")
DEMO = ROOT / "web" / "demo"
# Words that occur in the demo corpus, so smoke-test searches have hits.
SMOKE_QUERIES = (
    "الانتخابات", "الأزمة", "موسكو", "المدينة", "المياه", "الذكاء", "الشعر",
    "election", "science", "climate", "chess", "penalties", "poems", "coral", "silk road",
    "machine learning",
)  # fmt: skip
SMOKE = {"clients": 4, "duration": 5.0, "mix_bad": 0.1, "while_indexing": 50}

HOST = "127.0.0.1"
SEED = 20240601
SERVER_THREADS = 2  # fahras serve's default
REQUEST_TIMEOUT = 10.0
STARTUP_TIMEOUT = 60.0
BUILD_TIMEOUT = 1800.0
INDEX_TIMEOUT = 600.0
COUNT_TIMEOUT = 15.0
RSS_INTERVAL = 0.5
INDEXING_DELAY = 5.0
# The request mix, in percent of the well-formed requests.
KINDS = {"plain": 70, "page": 10, "lang": 10, "date": 5, "html": 5}
PARAGRAPH_SOURCE_DOCS = 2000
MIN_PARAGRAPH_WORDS = 8
MAX_MESSAGES = 5
MAX_TRACEBACK_LINES = 30  # the end of a traceback, where the error is
ARABIC_LETTER = re.compile("[\u0600-\u06ff]")


class SetupError(Exception):
    """The bench could not run (exit status 2); the message says why."""


def log(message: str) -> None:
    """Progress goes to stderr so that --json leaves stdout to the JSON object."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- the fahras command


def fahras(*args: str) -> list[str]:
    """The ``fahras`` console script, run by this interpreter so a venv need not be on PATH."""
    return [sys.executable, "-m", "fahras_cli", *args]


def run_fahras(args: Sequence[str], timeout: float) -> float:
    """Run one ``fahras`` command to completion; its wall time in seconds."""
    started = time.monotonic()
    try:
        done = subprocess.run(fahras(*args), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise SetupError(f"fahras {args[0]} did not finish within {timeout:.0f} s") from error
    if done.returncode:
        raise SetupError(f"fahras {args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return time.monotonic() - started


def has_index(index: Path) -> bool:
    """Whether ``index`` holds a servable index (asked of fahras itself, not of its layout)."""
    done = subprocess.run(
        fahras("stats", "--index", str(index)), capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0


def build_index(index: Path, smoke: bool, scratch: Path) -> float:
    """``fahras rebuild`` of the demo corpus (smoke) or of both news corpora (copied to scratch).

    Copied, not linked: fahras follows no symbolic link out of the folder it indexes.
    """
    if smoke:
        source = DEMO
    else:
        source = scratch / "corpus"
        source.mkdir()
        for name, path in CORPORA.items():
            shutil.copyfile(require(path), source / name)
    log(f"Building the index in {index} from {source} ...")
    seconds = run_fahras(["rebuild", "--quiet", "--index", str(index), str(source)], BUILD_TIMEOUT)
    log(f"Built the index in {seconds:.1f} s.")
    return seconds


def require(path: Path) -> Path:
    """``path``, or a SetupError naming it: a missing data file should not look like a crash."""
    if not path.exists():
        raise SetupError(f"{path} is missing (the full bench needs ../shared/data; try --smoke)")
    return path


# ----------------------------------------------------------------- queries and documents


@dataclass(frozen=True)
class Query:
    text: str
    lang: str


def language_of(text: str) -> str:
    """'ar' when the text has Arabic letters, else 'en': enough to pick a matching lang filter."""
    return "ar" if ARABIC_LETTER.search(text) else "en"


def load_queries(smoke: bool) -> list[Query]:
    """The short queries of both data sets (or the built-in words), shuffled with a fixed seed."""
    if smoke:
        texts = list(SMOKE_QUERIES)
    else:
        texts = []
        for path in QUERY_FILES:
            lines = require(path).read_text(encoding="utf-8").splitlines()
            texts += [line.split("\t", 1)[1].strip() for line in lines if "\t" in line]
    queries = [Query(text, language_of(text)) for text in texts if text]
    random.Random(SEED).shuffle(queries)
    return queries


def split_paragraphs(text: str) -> list[str]:
    """Lines long enough to read as paragraphs (headings and bylines are left out)."""
    return [line.strip() for line in text.splitlines() if len(line.split()) >= MIN_PARAGRAPH_WORDS]


def source_texts(smoke: bool) -> Iterator[str]:
    """Real article texts to recombine: the demo corpus, or the start of each news corpus."""
    if smoke:
        for path in sorted(DEMO.rglob("*")):
            if path.suffix in {".txt", ".md"}:
                yield path.read_text(encoding="utf-8")
            elif path.suffix == ".jsonl":
                yield from (json.loads(line)["text"] for line in path.open(encoding="utf-8"))
        return
    for path in CORPORA.values():
        with gzip.open(require(path), "rt", encoding="utf-8") as lines:
            yield from (json.loads(line)["text"] for line in islice(lines, PARAGRAPH_SOURCE_DOCS))


def paragraph_pools(smoke: bool) -> dict[str, list[str]]:
    """Paragraphs by language, so that a synthetic document stays in one language."""
    pools: dict[str, list[str]] = {}
    for text in source_texts(smoke):
        for paragraph in split_paragraphs(text):
            pools.setdefault(language_of(paragraph), []).append(paragraph)
    return pools


def synthetic_documents(count: int, pools: dict[str, list[str]], tag: str) -> Iterator[dict]:
    """Deterministic new documents made of real paragraphs; ``tag`` keeps ids new on every run."""
    rng = random.Random(SEED)
    langs = sorted(pools)
    for number in range(count):
        lang = rng.choice(langs)
        paragraphs = rng.sample(pools[lang], k=min(len(pools[lang]), rng.randint(3, 6)))
        yield {
            "id": f"load-{tag}-{number:05d}",
            "title": " ".join(paragraphs[0].split()[:10]),
            "text": "\n\n".join(paragraphs),
            "date": (date(2016, 1, 1) + timedelta(days=number % 365)).isoformat(),
            "source": "synthetic",
            "lang": lang,
        }


def write_synthetic(folder: Path, count: int, smoke: bool, tag: str) -> None:
    """One JSON-lines file, the format fahras indexes fastest."""
    pools = paragraph_pools(smoke)
    with (folder / "synthetic.jsonl").open("w", encoding="utf-8") as out:
        for document in synthetic_documents(count, pools, tag):
            out.write(json.dumps(document, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------- the server process


def free_port() -> int:
    """A port the kernel says is free, so that parallel runs do not collide."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str) -> tuple[int, bytes]:
    """One request on a fresh connection (for health checks, not for the load)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def document_count(port: int) -> int:
    """The number of documents the server sees now (from /healthz)."""
    status, body = fetch(port, "/healthz")
    if status != 200:
        raise SetupError(f"/healthz answered {status}: {body[:200].decode(errors='replace')}")
    return json.loads(body)["documents"]


def start_server(index: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``fahras serve`` as its own process; its output goes to a file so a full pipe never blocks it."""
    command = fahras("serve", "--index", str(index), "--host", HOST, "--port", str(port))
    command += ["--threads", str(SERVER_THREADS)]
    with log_path.open("wb") as log_file:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_until_healthy(server: subprocess.Popen, port: int, log_path: Path) -> int:
    """The document count once /healthz answers; a dead or silent server is a SetupError."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:]
            raise SetupError(f"fahras serve exited with status {server.returncode}:\n{tail}")
        try:
            return document_count(port)
        except OSError:
            time.sleep(0.1)
    raise SetupError(f"fahras serve did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 5 s: the bench never leaves a server behind."""
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class RssMonitor(threading.Thread):
    """Peak resident memory of a process and its children, polled from /proc.

    The main process's VmHWM catches peaks between polls; worker processes
    add their sampled VmRSS. RSS counts the index files each searcher maps
    (shared page cache, once per mapping), so the private memory (RssAnon)
    is tracked too: that is what each process really adds.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.peak_private_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(RSS_INTERVAL):
            self.sample()

    def sample(self) -> None:
        children = descendants(self.pid)
        total = max(status_kb(self.pid, "VmHWM"), status_kb(self.pid, "VmRSS"))
        total += sum(status_kb(pid, "VmRSS") for pid in children)
        self.peak_kb = max(self.peak_kb, total)
        private = sum(status_kb(pid, "RssAnon") for pid in [self.pid, *children])
        self.peak_private_kb = max(self.peak_private_kb, private)

    def stop(self) -> tuple[float, float] | None:
        """Stop polling; the peaks (RSS, private) in MB (None where /proc is not available)."""
        self.done.set()
        self.join()
        self.sample()
        if not self.peak_kb:
            return None
        return round(self.peak_kb / 1024, 1), round(self.peak_private_kb / 1024, 1)


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/<pid>/status; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root: int) -> list[int]:
    """Children, grandchildren... of ``root``, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


# ----------------------------------------------------------------- the clients


@dataclass(frozen=True)
class Request:
    path: str
    kind: str
    bad: bool


class Plan:
    """Hands out requests in one seeded order: every request gets the next query."""

    def __init__(self, queries: list[Query], mix_bad: float) -> None:
        self.queries = queries
        self.mix_bad = mix_bad
        self.rng = random.Random(SEED)
        self.count = 0
        self.lock = threading.Lock()

    def next(self) -> Request:
        with self.lock:
            query = self.queries[self.count % len(self.queries)]
            self.count += 1
            if self.rng.random() < self.mix_bad:
                return Request(bad_path(query, self.rng), "bad", bad=True)
            kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
            return Request(good_path(query, kind, self.rng), kind, bad=False)


def good_path(query: Query, kind: str, rng: random.Random) -> str:
    """A well-formed request of one kind of the mix (see KINDS)."""
    params: dict[str, object] = {"q": query.text}
    if kind == "page":
        params["page"] = rng.choice((2, 3))
    elif kind == "lang":
        params["lang"] = query.lang
    elif kind == "date":
        params["sort"] = "date"
    return f"{'/' if kind == 'html' else '/api/search'}?{urlencode(params)}"


def bad_path(query: Query, rng: random.Random) -> str:
    """A request the API must refuse with 400."""
    text = query.text.replace('"', "")
    params = rng.choice((
        {"q": f"-{text.split()[0]}"},  # only an exclusion: nothing to search for
        {"q": text, "page": "abc"},
        {"q": text, "lang": "xx"},
        {"q": text, "from": "2015-02-30"},
        {"q": text, "sort": "oldest"},
    ))  # fmt: skip
    return f"/api/search?{urlencode(params)}"


@dataclass
class ClientResult:
    """What one client saw; each client has its own, so counting needs no lock."""

    requests: int = 0
    latencies_by_kind: dict[str, list[float]] = field(default_factory=dict)  # answered requests only
    deliberate_400s: int = 0
    errors: int = 0
    messages: list[tuple[float, str]] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append((time.monotonic(), message))


def problem(request: Request, status: int, body: bytes) -> str | None:
    """What is wrong with a response, or None when it is what the request deserves."""
    if request.bad:
        return None if status == 400 else f"expected 400, got {status}"
    if not 200 <= status < 300:
        return f"{status}: {body[:200].decode(errors='replace').strip()}"
    if request.kind != "html" and "total" not in json.loads(body):
        return "JSON without 'total'"
    return None


def client(port: int, plan: Plan, deadline: float, result: ClientResult) -> None:
    """Send requests back to back on one keep-alive connection until the deadline."""
    conn: http.client.HTTPConnection | None = None
    while time.monotonic() < deadline:
        request = plan.next()
        result.requests += 1
        conn = conn or http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            conn.request("GET", request.path)
            response = conn.getresponse()
            body = response.read()
            wrong = problem(request, response.status, body)
        except (OSError, http.client.HTTPException, ValueError) as error:
            conn.close()
            conn = None
            result.error(f"GET {unquote_plus(request.path)}: {error!r}")
            continue
        took_ms = (time.perf_counter() - started) * 1000
        result.latencies_by_kind.setdefault(request.kind, []).append(took_ms)
        if wrong:
            result.error(f"GET {unquote_plus(request.path)} -> {wrong}")
        elif request.bad:
            result.deliberate_400s += 1
        if response.will_close:
            conn.close()
            conn = None
    if conn:
        conn.close()


# ----------------------------------------------------------------- indexing under load


@dataclass
class IndexingJob:
    """``fahras index`` of a folder of new documents, started a few seconds into the load."""

    index: Path
    folder: Path
    documents: int
    delay: float
    seconds: float | None = None
    failure: str | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        time.sleep(self.delay)
        log(f"Indexing {self.documents:,} new documents while the load runs ...")
        try:
            command = ["index", "--quiet", "--index", str(self.index), str(self.folder)]
            self.seconds = run_fahras(command, INDEX_TIMEOUT)
        except SetupError as error:
            self.failure = str(error)

    def wait(self) -> None:
        if self.thread:
            self.thread.join(self.delay + INDEX_TIMEOUT + 10)


def wait_for_count(port: int, expected: int) -> int:
    """The server's document count, polled until it is ``expected`` (or COUNT_TIMEOUT passes)."""
    deadline = time.monotonic() + COUNT_TIMEOUT
    count = document_count(port)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        count = document_count(port)
    return count


def remove_synthetic(index: Path, folder: Path) -> None:
    """Delete the synthetic documents again (re-index their emptied folder) so reruns compare."""
    (folder / "synthetic.jsonl").unlink()
    seconds = run_fahras(["index", "--quiet", "--index", str(index), str(folder)], INDEX_TIMEOUT)
    log(f"Removed the synthetic documents from the index again ({seconds:.1f} s).")


# ----------------------------------------------------------------- running and reporting


def run_clients(port: int, plan: Plan, clients: int, duration: float) -> tuple[list[ClientResult], float]:
    """All clients for ``duration`` seconds; their results and the wall time until all stopped."""
    started = time.monotonic()
    deadline = started + duration
    results = [ClientResult() for _ in range(clients)]
    threads = [
        threading.Thread(target=client, args=(port, plan, deadline, result), daemon=True)
        for result in results
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT + 5)
    return results, time.monotonic() - started


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a sorted list (0 for an empty one)."""
    if not ordered:
        return 0.0
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 1)


def merge(results: list[ClientResult], elapsed: float, extra_errors: list[str]) -> dict:
    """One report from all clients (plus errors found outside them, e.g. by the indexing check)."""
    by_kind = latencies_by_kind(results)
    latencies = sorted(ms for kind_ms in by_kind.values() for ms in kind_ms)
    messages = [message for _, message in sorted(m for r in results for m in r.messages)] + extra_errors
    requests = sum(r.requests for r in results)
    return {
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1) if elapsed else 0.0,
        "elapsed_s": round(elapsed, 1),
        "errors": sum(r.errors for r in results) + len(extra_errors),
        "error_messages": messages[:MAX_MESSAGES],
        "deliberate_400s": sum(r.deliberate_400s for r in results),
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": percentile(latencies, 1.0),
        },
        "mix": dict(Counter({kind: len(ms) for kind, ms in by_kind.items()}).most_common()),
        # p50 and p95 for each kind of request, to tell which kind makes the tail.
        "latency_by_kind_ms": {
            kind: {"p50": percentile(ms, 0.50), "p95": percentile(ms, 0.95)}
            for kind, ms in sorted(by_kind.items())
        },
    }


def latencies_by_kind(results: list[ClientResult]) -> dict[str, list[float]]:
    """Every client's latencies, pooled per kind of request and sorted."""
    by_kind: dict[str, list[float]] = {}
    for result in results:
        for kind, latencies in result.latencies_by_kind.items():
            by_kind.setdefault(kind, []).extend(latencies)
    return {kind: sorted(ms) for kind, ms in by_kind.items()}


def check_indexing(job: IndexingJob | None, port: int, before: int) -> tuple[dict | None, list[str]]:
    """Wait for the indexing job and check that the server now counts its documents."""
    if job is None:
        return None, []
    job.wait()
    report: dict = {"documents": job.documents, "started_after_s": round(job.delay, 1), "seconds": None}
    if job.seconds is None:
        return report, [f"indexing: {job.failure or 'did not finish'}"]
    expected = before + job.documents
    after = wait_for_count(port, expected)
    report.update(seconds=round(job.seconds, 1), documents_before=before, documents_after=after)
    report["verified"] = after == expected
    if report["verified"]:
        return report, []
    return report, [
        f"indexing: expected {expected:,} documents after adding {job.documents:,}, got {after:,}"
    ]


def prepare_indexing(args: argparse.Namespace, index: Path, scratch: Path) -> IndexingJob | None:
    """Write the new documents before the load starts, so that writing them is not measured."""
    if not args.while_indexing:
        return None
    folder = scratch / "new-documents"
    folder.mkdir()
    write_synthetic(folder, args.while_indexing, args.smoke, tag=scratch.name)
    return IndexingJob(index, folder, args.while_indexing, delay=min(INDEXING_DELAY, args.duration / 3))


def serve_and_load(args: argparse.Namespace, index: Path, scratch: Path, job: IndexingJob | None) -> dict:
    """Start the server, run the load (and the indexing job), always stop the server."""
    port = args.port or free_port()
    log_path = scratch / "server.log"
    server = start_server(index, port, log_path)
    try:
        before = wait_until_healthy(server, port, log_path)
        monitor = RssMonitor(server.pid)
        monitor.start()
        log(f"Serving {before:,} documents: {args.clients} clients for {args.duration:g} s ...")
        if job:
            job.start()
        plan = Plan(load_queries(args.smoke), args.mix_bad)
        results, elapsed = run_clients(port, plan, args.clients, args.duration)
        indexing, extra_errors = check_indexing(job, port, before)
        peaks = monitor.stop()
    finally:
        stop_server(server)
    report = {"documents": before, "clients": args.clients, "duration_s": args.duration, "port": port}
    report.update(merge(results, elapsed, extra_errors))
    rss, private = peaks or (None, None)
    report.update(
        server_peak_rss_mb=rss,
        server_peak_private_mb=private,
        indexing=indexing,
        server_traceback=last_traceback(log_path),
    )
    return report


def last_traceback(log_path: Path) -> str | None:
    """The server log's last traceback: a 500's message alone does not say what failed."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return None
    lines = [line for line in text[start:].splitlines() if line.strip(" ^~")]  # no caret lines
    return "\n".join(lines[:1] + lines[1:][-MAX_TRACEBACK_LINES:])


def run_bench(args: argparse.Namespace) -> dict:
    """Build if needed, load, and clean up; the smoke test uses a throw-away index."""
    scratch = Path(tempfile.mkdtemp(prefix="fahras-load-"))
    try:
        index = scratch / "index" if args.smoke else Path(args.index)
        build_seconds = None
        if args.build or args.smoke or not has_index(index):
            build_seconds = round(build_index(index, args.smoke, scratch), 1)
        job = prepare_indexing(args, index, scratch)
        report = serve_and_load(args, index, scratch, job)
        report["build_s"] = build_seconds
        if job and job.seconds is not None and not args.smoke:
            remove_synthetic(index, job.folder)
        return report
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def print_table(report: dict) -> None:
    """The report as aligned rows, for people; --json is for scripts."""
    latency, indexing = report["latency_ms"], report["indexing"]
    rows = [
        ("server", f"{report['documents']:,} documents, {SERVER_THREADS} threads, port {report['port']}"),
        ("load", f"{report['clients']} clients, {report['duration_s']:g} s (ran {report['elapsed_s']:g} s)"),
        ("requests", f"{report['requests']:,} ({report['requests_per_s']:,} req/s)"),
        ("request mix", ", ".join(f"{kind} {count:,}" for kind, count in report["mix"].items())),
        ("errors", f"{report['errors']:,}"),
        ("deliberate 400s", f"{report['deliberate_400s']:,}"),
        ("latency (ms)", "  ".join(f"{name} {value:,.1f}" for name, value in latency.items())),
        (
            "p50 / p95 by kind",
            ", ".join(
                f"{kind} {ms['p50']:,.0f} / {ms['p95']:,.0f}"
                for kind, ms in report["latency_by_kind_ms"].items()
            ),
        ),
        (
            "server peak RSS",
            (
                f"{report['server_peak_rss_mb']} MB, of which private {report['server_peak_private_mb']} MB "
                "(the rest: the index's memory-mapped files, shared page cache)"
            )
            if report["server_peak_rss_mb"]
            else "n/a",
        ),
    ]
    if report["build_s"] is not None:
        rows.append(("index build", f"{report['build_s']:g} s"))
    if indexing:
        rows.append(("indexing", describe_indexing(indexing)))
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    for message in report["error_messages"]:
        print(f"  error: {message}")
    if report["server_traceback"]:
        print(f"last traceback in the server log:\n{report['server_traceback']}")


def describe_indexing(indexing: dict) -> str:
    """One line on the indexing job: how long it took and whether the server saw the result."""
    head = f"+{indexing['documents']:,} documents, started after {indexing['started_after_s']:g} s"
    if indexing["seconds"] is None:
        return f"{head}: failed"
    counts = f"{indexing['documents_before']:,} -> {indexing['documents_after']:,}"
    check = "verified" if indexing["verified"] else "NOT verified"
    return f"{head}, took {indexing['seconds']:g} s; documents {counts} ({check})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; --smoke supplies its own defaults, which explicit options still override."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--index",
        default="/tmp/fahras-load-index",
        metavar="DIR",
        help="index folder, built when empty (default /tmp/fahras-load-index; --smoke uses a temporary one)",
    )
    parser.add_argument("--build", action="store_true", help="rebuild the index first")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--port", type=int, default=0, help="server port (default 0: any free port)")
    parser.add_argument(
        "--mix-bad",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction of deliberately bad requests, expected to get 400 (default 0)",
    )
    parser.add_argument(
        "--while-indexing",
        type=int,
        default=0,
        metavar="N",
        help="add N new documents with fahras index during the load (default 0)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI check on the demo corpus (4 clients, 5 s, 10%% bad, +50 docs)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or not 0 <= args.mix_bad <= 1 or args.while_indexing < 0:
        parser.error("need --clients >= 1, --duration > 0, 0 <= --mix-bad <= 1 and --while-indexing >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 0 without errors, 1 with errors, 2 when the bench could not run."""
    args = parse_args(argv)
    try:
        report = run_bench(args)
    except SetupError as error:
        log(f"bench/load.py: {error}")
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report)
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
