"""Indexing and query speed: Fahras against naive Whoosh, measured in one run.

Each system runs in its own child process, once per repeat: it indexes the
set (a prefix of the SaudiNewsNet corpus, or ``--scale N`` synthetic
documents recombined from its paragraphs) and reports documents per second,
CPU time, index size and peak memory (the largest process, and the sum over
the process and its workers, sampled from /proc). After the last repeat of
the last set it opens one searcher, as the web server does, and times short
queries and long question queries, top 10, with and without snippets.
Medians of the repeats and the Fahras/naive ratios are printed at the end,
with the machine's load average before and after (the machine is shared).

    python bench/speed.py                       # 10,000 and all 30,676 articles
    python bench/speed.py --repeats 3           # medians of three builds each
    python bench/speed.py --sets 5000 --queries 0
    python bench/speed.py --scale 300000 --systems fahras --queries 300
    python bench/speed.py --scale 300000 --systems fahras --queries 300 --keep /var/tmp/fahras-300k
    python bench/speed.py --sets all --engine opensearch   # into `fahras cluster start`'s cluster, 1 and 2 analysers

``--keep DIR`` keeps each system's index of the (one) set in DIR and, on a later run,
times queries on it instead of building it again (the build figures shown are those
recorded when it was built): a 300,000-document build takes ten minutes. (Not for the
opensearch systems, whose index lives in the cluster.)
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("FAHRAS_SHARED_DATA") or ROOT.parent / "shared" / "data")
SNN = DATA / "saudinewsnet" / "corpus.jsonl.gz"
SHORT_QUERIES = DATA / "saudinewsnet" / "queries.short.tsv"
QUESTIONS = DATA / "xquad" / "queries.ar.tsv"


def read_queries(path: Path, limit: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines if "\t" in line][:limit]


def write_corpus(folder: Path, docs: int, scale: int) -> Path:
    """The corpus as one JSON-lines file: a prefix of SaudiNewsNet, or a synthetic one."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "corpus.jsonl"
    with gzip.open(SNN, "rt", encoding="utf-8") as source:
        records = [json.loads(line) for line in islice(source, docs or None)]
    if scale:
        records = synthesise(records, scale)
    with target.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def synthesise(records: list[dict], count: int, seed: int = 7) -> list[dict]:
    """``count`` documents made of real paragraphs, recombined with a fixed seed."""
    rng = random.Random(seed)
    paragraphs = [p for r in records for p in r["text"].split("\n") if len(p) > 40]
    titles = [r["title"] for r in records if r["title"]]
    sources = sorted({r["source"] for r in records})
    return [
        {
            "id": f"syn-{n:07d}",
            "title": rng.choice(titles),
            "text": "\n".join(rng.sample(paragraphs, rng.randint(2, 8))),
            "date": f"2015-{rng.randint(7, 8):02d}-{rng.randint(1, 28):02d}",
            "source": rng.choice(sources),
            "lang": "ar",
        }
        for n in range(count)
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered)}


# Queries run once before the timed ones (imports, first reads of the index): the
# ones after those timed, so that none of the timed queries is answered from a cache.
WARM_UP = 50


def time_queries(run_one, queries: list[str], warm_up: list[str], repeats: int = 1) -> dict[str, float]:
    """Latency in ms per query (the fastest of ``repeats`` runs), after running ``warm_up`` once."""
    for query in warm_up:
        run_one(query)
    timings = []
    for query in queries:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            run_one(query)
            best = min(best, (time.perf_counter() - started) * 1000)
        timings.append(best)
    return percentiles(timings)


# ----------------------------------------------------------------- the two systems


def naive_build(corpus: Path, folder: Path) -> dict:
    """Whoosh out of the box: StandardAnalyzer, one process, body stored."""
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema

    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(stored=True), body=TEXT(stored=True))
    started, cpu = time.perf_counter(), cpu_seconds()
    ix = whoosh_index.create_in(str(folder), schema)
    writer = ix.writer()
    count = 0
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            writer.add_document(id=record["id"], title=record["title"], body=record["text"])
            count += 1
    writer.commit()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"docs": count, "index_s": elapsed, "cpu_s": cpu}


def naive_search(folder: Path) -> dict:
    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser, OrGroup

    from search.syntax import plain_text

    ix = whoosh_index.open_dir(str(folder))
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)
    searcher = ix.searcher()

    def search(text: str) -> None:
        list(searcher.search(parser.parse(plain_text(text)), limit=10))

    return {"search": search}


def fahras_build(corpus: Path, folder: Path) -> dict:
    from index.generations import rebuild
    from index.store import IndexHome

    started, cpu = time.perf_counter(), cpu_seconds()
    report = rebuild(IndexHome(folder), corpus, show_progress=False)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"docs": report.total_docs, "index_s": elapsed, "cpu_s": cpu}


def fahras_search(folder: Path) -> dict:
    from index.store import IndexHome
    from search.engine import QueryError, SearchEngine
    from search.syntax import plain_text

    engine = SearchEngine.at(IndexHome(folder))

    def searcher_for(snippets: bool):
        def search(text: str) -> None:
            with contextlib.suppress(QueryError):  # a query of stop words only
                engine.search(plain_text(text), size=10, snippets=snippets)

        return search

    return {"search": searcher_for(False), "search_snippets": searcher_for(True)}


def opensearch_backend():
    from search.backends.opensearch.backend import OpenSearchBackend

    return OpenSearchBackend(f"{os.environ['FAHRAS_BENCH_CLUSTER'].rstrip('/')}/speed-bench")


def opensearch_build(corpus: Path, analysers: int) -> dict:
    """Fahras on the cluster at $FAHRAS_BENCH_CLUSTER: ``fahras rebuild`` with ``analysers`` processes."""
    from index.indexer import rebuild_index
    from search.backends.opensearch.target import OpenSearchTarget

    backend = opensearch_backend()
    started, cpu = time.perf_counter(), cpu_seconds()
    report = rebuild_index(
        OpenSearchTarget(backend, workers=analysers), corpus, only=True, show_progress=False
    )
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    index = backend.live_index()
    stats = backend.cluster.call(lambda client: client.indices.stats(index=index, metric="store"))
    return {"docs": report.total_docs, "index_s": elapsed, "cpu_s": cpu,
            "size_bytes": stats["_all"]["total"]["store"]["size_in_bytes"]}  # fmt: skip


def opensearch_search(_folder: Path) -> dict:
    from search.engine import QueryError, SearchEngine
    from search.syntax import plain_text

    engine = SearchEngine(opensearch_backend())

    def searcher_for(snippets: bool):
        def search(text: str) -> None:
            with contextlib.suppress(QueryError):
                engine.search(plain_text(text), size=10, snippets=snippets)

        return search

    return {"search": searcher_for(False), "search_snippets": searcher_for(True)}


BUILT = "speed-build.json"  # beside a kept index: the figures of its build


def run_worker(system: str, corpus: Path, queries: int, keep: Path | None = None) -> dict:
    """Index ``corpus`` with one system (in this process and its workers); time queries if asked.

    With ``keep``, the index lives there and one already built there is searched as it is.
    """
    from load import RssMonitor, status_kb  # bench/load.py: memory of a process and its children

    with tempfile.TemporaryDirectory(prefix=f"fahras-speed-{system}-") as scratch:
        folder = keep if keep else Path(scratch) / "index"
        if keep and (keep / BUILT).exists():
            out = json.loads((keep / BUILT).read_text())
        else:
            folder.mkdir(parents=True, exist_ok=True)
            monitor = RssMonitor(os.getpid())
            monitor.start()
            if system.startswith("opensearch-"):  # opensearch-N: N analysing processes
                result = opensearch_build(corpus, int(system.removeprefix("opensearch-")))
            else:
                result = (naive_build if system == "naive" else fahras_build)(corpus, folder)
            peaks = monitor.stop()
            size = result.get("size_bytes") or sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            out = {
                "system": system,
                "docs": result["docs"],
                "index_s": result["index_s"],
                "cpu_s": result["cpu_s"],
                "docs_per_s": result["docs"] / result["index_s"],
                "size_mb": size / 1e6,
                "peak_rss_all_mb": peaks[0] if peaks else None,
                "peak_rss_mb": max(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                ) / 1024,
            }  # fmt: skip
            if keep:
                (keep / BUILT).write_text(json.dumps(out))
        if queries:
            searcher = {"naive": naive_search, "fahras": fahras_search}.get(system, opensearch_search)
            found = searcher(folder)
            for kind, path in (("short", SHORT_QUERIES), ("questions", QUESTIONS)):
                read = read_queries(path, queries + WARM_UP)
                timed, warm_up = read[:queries], read[queries:]
                out[kind] = time_queries(found["search"], timed, warm_up)
                if "search_snippets" in found:
                    out[f"{kind}_snippets"] = time_queries(found["search_snippets"], timed, warm_up)
            # The searcher's memory after every query: resident (mapped index pages included) and private.
            pid = os.getpid()
            out["searcher_rss_mb"] = (status_kb(pid, "VmRSS") / 1024, status_kb(pid, "RssAnon") / 1024)
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (a bulk build's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# ----------------------------------------------------------------- report


def fmt_latency(stats: dict[str, float] | None) -> str:
    return f"{stats['p50']:.1f} / {stats['p95']:.1f} / {stats['p99']:.1f}" if stats else "-"


def median_row(runs: list[dict]) -> dict:
    """One row from the repeats of a system on a set: the medians of the build figures."""
    row = dict(runs[-1])  # query timings come from the last run
    for key in ("index_s", "cpu_s", "docs_per_s", "size_mb", "peak_rss_mb", "peak_rss_all_mb"):
        values = [run[key] for run in runs if run.get(key) is not None]
        row[key] = statistics.median(values) if values else None
    row["repeats"] = [round(run["index_s"], 1) for run in runs]
    return row


def print_report(rows: list[dict], loads: list[tuple[float, float, float]]) -> None:
    print("\n| system | docs | index s (median; runs) | docs/s | CPU s | size MB | peak RSS MB "
          "(largest process / all) |")  # fmt: skip
    print("|---" * 7 + "|")
    for row in rows:
        everything = f"{row['peak_rss_all_mb']:.0f}" if row["peak_rss_all_mb"] else "-"
        runs = ", ".join(f"{seconds:.1f}" for seconds in row["repeats"])
        print(
            f"| {row['system']} | {row['docs']:,} | {row['index_s']:.1f} ({runs}) | {row['docs_per_s']:.0f} | "
            f"{row['cpu_s']:.1f} | {row['size_mb']:.0f} | {row['peak_rss_mb']:.0f} / {everything} |"
        )
    by_set: dict[int, dict[str, dict]] = {}
    for row in rows:
        by_set.setdefault(row["docs"], {})[row["system"]] = row
    print("\nIndexing, Fahras / naive docs/s (same run, medians):")
    for docs, systems in by_set.items():
        if {"naive", "fahras"} <= set(systems):
            ratio = systems["fahras"]["docs_per_s"] / systems["naive"]["docs_per_s"]
            target = f" (target >= {TARGETS[docs]}x)" if docs in TARGETS else ""
            print(f"  {docs:,} documents: {ratio:.2f}x{target}")
    timed = [row for row in rows if "short" in row]
    if timed:
        print("\n| system | docs | short p50/p95/p99 ms | short+snippets | questions p50/p95/p99 ms | "
              "questions+snippets | searcher RSS MB (all / private) |")  # fmt: skip
        print("|---" * 7 + "|")
        for row in timed:
            print(
                f"| {row['system']} | {row['docs']:,} | {fmt_latency(row['short'])} | "
                f"{fmt_latency(row.get('short_snippets'))} | {fmt_latency(row['questions'])} | "
                f"{fmt_latency(row.get('questions_snippets'))} | "
                "{:.0f} / {:.0f} |".format(*row["searcher_rss_mb"])
            )
    print("\nLoad average (1, 5, 15 min) before and after: " + " -> ".join(
        " ".join(f"{value:.2f}" for value in load) for load in loads))  # fmt: skip


# The indexing targets of the speed issue: Fahras's docs/s over naive Whoosh's, by set size.
TARGETS = {10_000: 1.8, 30_676: 2.0}


def run_system(system: str, corpus: Path, queries: int, keep: Path | None = None) -> dict:
    print(f"running {system} on {corpus.stem} ...", file=sys.stderr, flush=True)
    kept = ["--keep", str(keep)] if keep else []
    output = subprocess.run(
        [sys.executable, __file__, "--worker", system, "--corpus", str(corpus), "--queries", str(queries),
         *kept],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="10000,all", help="comma-separated set sizes (default 10000,all)")
    parser.add_argument("--docs", type=int, default=0, help="one set: the first N articles")
    parser.add_argument(
        "--scale", type=int, default=0, help="one set: N documents synthesised from the articles"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="builds of each system on each set (default 1)"
    )
    parser.add_argument("--queries", type=int, default=1000,
                        help="queries of each kind, timed on the last set (default 1000; 0: none)")  # fmt: skip
    parser.add_argument("--systems", default=None,
                        help="comma-separated: naive, fahras, opensearch-N (N analysing processes)")  # fmt: skip
    parser.add_argument(
        "--engine", choices=["embedded", "opensearch"], default="embedded",
        help="embedded: naive Whoosh and Fahras (default); opensearch: Fahras embedded and on the cluster "
        "with 1 and 2 analysing processes",
    )  # fmt: skip
    parser.add_argument("--cluster", default="http://127.0.0.1:9200",
                        help="the cluster's URL for the opensearch systems (default: fahras cluster start's)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument("--keep", type=Path,
                        help="one set: keep each system's index in this folder, and search one already there")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.systems is None:
        args.systems = "naive,fahras" if args.engine == "embedded" else "fahras,opensearch-1,opensearch-2"
    os.environ["FAHRAS_BENCH_CLUSTER"] = args.cluster
    if args.worker:
        result = run_worker(args.worker, Path(args.corpus), args.queries, args.keep)
        print(json.dumps(result))
        return 0
    if not SNN.exists():
        print(f"SaudiNewsNet not found at {SNN}", file=sys.stderr)
        return 2
    if args.docs or args.scale:
        sets = [(args.docs, args.scale)]
    else:
        sets = [(0 if size == "all" else int(size), 0) for size in args.sets.split(",")]
    if args.keep and (len(sets) > 1 or args.repeats > 1):
        print("--keep keeps one set's index, built once: give one set and one repeat", file=sys.stderr)
        return 2
    systems = args.systems.split(",")
    rows, loads = [], [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="fahras-speed-") as scratch:
        for number, (docs, scale) in enumerate(sets):
            kept = {system: args.keep / system if args.keep else None for system in systems}
            if all(folder and (folder / BUILT).exists() for folder in kept.values()):
                corpus = Path(scratch) / f"set-{number}" / "corpus.jsonl"  # every index is built: no corpus
            else:
                corpus = write_corpus(Path(scratch) / f"set-{number}", docs, scale)
            last_set = number == len(sets) - 1
            runs: dict[str, list[dict]] = {system: [] for system in systems}
            for repeat in range(args.repeats):
                for system in runs:
                    queries = args.queries if last_set and repeat == args.repeats - 1 else 0
                    runs[system].append(run_system(system, corpus, queries, kept[system]))
            rows += [median_row(system_runs) for system_runs in runs.values()]
            shutil.rmtree(corpus.parent, ignore_errors=True)
    loads.append(os.getloadavg())
    print_report(rows, loads)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
