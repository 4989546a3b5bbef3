"""Indexing and query speed: Fahras against naive Whoosh, measured in one run.

Each system runs in its own child process (so peak RSS is its own): it indexes
the SaudiNewsNet corpus (or a ``--docs N`` prefix, or ``--scale N`` synthetic
documents recombined from its paragraphs), then opens one searcher, as the web
server does, and times short queries and long question queries, top 10, with
and without highlighted snippets. Ratios Fahras/naive are printed at the end.

    python bench/speed.py                  # the full 30,676-article corpus
    python bench/speed.py --docs 5000      # a quick run
    python bench/speed.py --scale 100000 --systems fahras
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import resource
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


def time_queries(run_one, queries: list[str], repeats: int = 1) -> dict[str, float]:
    """Latency in ms per query (the fastest of ``repeats`` runs, after one warm-up pass)."""
    for query in queries[:50]:
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


def naive_worker(corpus: Path, folder: Path) -> dict:
    """Whoosh out of the box: StandardAnalyzer, one process, body stored."""
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import MultifieldParser, OrGroup

    from search.evaluate import plain_query

    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(stored=True), body=TEXT(stored=True))
    started = time.perf_counter()
    ix = whoosh_index.create_in(str(folder), schema)
    writer = ix.writer()
    count = 0
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            writer.add_document(id=record["id"], title=record["title"], body=record["text"])
            count += 1
    writer.commit()
    elapsed = time.perf_counter() - started
    parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
    searcher = ix.searcher()

    def search(text: str) -> None:
        list(searcher.search(parser.parse(plain_query(text)), limit=10))

    return {"docs": count, "index_s": elapsed, "search": search}


def fahras_worker(corpus: Path, folder: Path) -> dict:
    from index.indexer import rebuild_index
    from index.store import IndexHome
    from search.engine import QueryError, SearchEngine
    from search.evaluate import plain_query

    home = IndexHome(folder)
    started = time.perf_counter()
    report = rebuild_index(home, corpus, show_progress=False)
    elapsed = time.perf_counter() - started
    engine = SearchEngine(home)

    def searcher_for(snippets: bool):
        def search(text: str) -> None:
            with contextlib.suppress(QueryError):  # a query of stop words only
                engine.search(plain_query(text), size=10, snippets=snippets)

        return search

    return {"docs": report.total_docs, "index_s": elapsed, "search": searcher_for(False),
            "search_snippets": searcher_for(True)}  # fmt: skip


def run_worker(system: str, corpus: Path, queries: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"fahras-speed-{system}-") as scratch:
        folder = Path(scratch) / "index"
        folder.mkdir()
        worker = naive_worker if system == "naive" else fahras_worker
        result = worker(corpus, folder)
        size = sum(f.stat().st_size for f in Path(scratch).rglob("*") if f.is_file())
        short = read_queries(SHORT_QUERIES, queries)
        questions = read_queries(QUESTIONS, queries)
        out = {
            "system": system,
            "docs": result["docs"],
            "index_s": result["index_s"],
            "docs_per_s": result["docs"] / result["index_s"],
            "size_mb": size / 1e6,
            "short": time_queries(result["search"], short),
            "questions": time_queries(result["search"], questions),
        }
        if "search_snippets" in result:
            out["short_snippets"] = time_queries(result["search_snippets"], short)
            out["questions_snippets"] = time_queries(result["search_snippets"], questions)
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    out["peak_rss_mb"] = peak_kb / 1024
    return out


# ----------------------------------------------------------------- report


def fmt_latency(stats: dict[str, float] | None) -> str:
    return f"{stats['p50']:.1f} / {stats['p95']:.1f} / {stats['p99']:.1f}" if stats else "-"


def print_report(rows: list[dict]) -> None:
    print("\n| system | docs | index s | docs/s | size MB | peak RSS MB | short p50/p95/p99 ms | "
          "short+snippets | questions p50/p95/p99 ms | questions+snippets |")  # fmt: skip
    print("|---" * 10 + "|")
    for row in rows:
        print(
            f"| {row['system']} | {row['docs']:,} | {row['index_s']:.1f} | {row['docs_per_s']:.0f} | "
            f"{row['size_mb']:.0f} | {row['peak_rss_mb']:.0f} | {fmt_latency(row['short'])} | "
            f"{fmt_latency(row.get('short_snippets'))} | {fmt_latency(row['questions'])} | "
            f"{fmt_latency(row.get('questions_snippets'))} |"
        )
    by_name = {row["system"]: row for row in rows}
    if {"naive", "fahras"} <= set(by_name):
        naive, fahras = by_name["naive"], by_name["fahras"]
        print("\nRatios Fahras / naive (same run):")
        print(f"  indexing docs/s: {fahras['docs_per_s'] / naive['docs_per_s']:.2f}x")
        for kind in ("short", "questions"):
            for pct in ("p50", "p95"):
                ratio = fahras[kind][pct] / naive[kind][pct]
                print(f"  {kind} {pct} latency (no snippets): {ratio:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=0, help="only the first N articles (default: all)")
    parser.add_argument("--scale", type=int, default=0, help="synthesise N documents from the articles")
    parser.add_argument("--queries", type=int, default=1000, help="queries of each kind (default 1000)")
    parser.add_argument("--systems", default="naive,fahras", help="comma-separated: naive, fahras")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_worker(args.worker, Path(args.corpus), args.queries)
        print(json.dumps(result))
        return 0
    if not SNN.exists():
        print(f"SaudiNewsNet not found at {SNN}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="fahras-speed-") as scratch:
        corpus = write_corpus(Path(scratch), args.docs, args.scale)
        for system in args.systems.split(","):
            print(f"running {system} ...", file=sys.stderr, flush=True)
            output = subprocess.run(
                [sys.executable, __file__, "--worker", system, "--corpus", str(corpus), "--queries", str(args.queries)],
                capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
            ).stdout  # fmt: skip
            rows.append(json.loads(output.strip().splitlines()[-1]))
    print_report(rows)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
