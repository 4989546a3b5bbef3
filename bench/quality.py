"""Retrieval quality on the whole shared suite, one table for every configuration tried.

The suite (../shared/data/README.md): XQuAD (one bilingual index of 480 paragraphs),
XQuAD among the first 5,000 SaudiNewsNet articles, and TyDi QA among 7,095 news articles,
each with its Arabic and its English questions: six sets. Every question is run as plain
text and the top 10 kept; each set reports MRR@10 and Recall@10, and the table ends with
the macro-average over the six sets, the figure a change must raise (without costing any
set more than 0.005).

A configuration is an *analysis* (how documents are indexed) and a *ranking* (how matches
are scored). Each index is built once per analysis and corpus; every ranking is then
evaluated on it, since ranking parameters need no re-index. Every match is scored with
the whole query (search/scoring.py), so these are exactly the results users get.

    python bench/quality.py                                   # default analysis and ranking
    python bench/quality.py --rankings all                    # every ranking tried
    python bench/quality.py --analyses all --rankings default # every analysis baseline
    python bench/quality.py --keep /tmp/fahras-indexes        # reuse indexes between runs
    python bench/quality.py --engine both                     # and on the cluster of `fahras cluster start`
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import StandardAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402

from index.generations import rebuild  # noqa: E402
from index.indexer import rebuild_index  # noqa: E402
from index.schema import DEFAULT_ANALYSIS, AnalysisConfig  # noqa: E402
from index.store import IndexHome  # noqa: E402
from search.backend import open_backend  # noqa: E402
from search.engine import DEFAULT_RANKING, QueryError, Ranking, SearchEngine  # noqa: E402
from search.evaluate import Scores, read_qrels, read_queries, score_runs  # noqa: E402
from search.syntax import plain_text  # noqa: E402

# ../shared/data beside the project; FAHRAS_SHARED_DATA points elsewhere (a git worktree).
DATA = Path(os.environ.get("FAHRAS_SHARED_DATA") or ROOT.parent / "shared" / "data")
XQUAD = DATA / "xquad"
TYDI = DATA / "tydi"
SNN = DATA / "saudinewsnet" / "corpus.jsonl.gz"
K = 10
DEFAULT_CLUSTER = "http://127.0.0.1:9200"  # `fahras cluster start`
DROP_ALLOWED = 0.005  # the brief's rule: no set may lose more than this


@dataclass(frozen=True)
class QuerySet:
    name: str
    corpus: str  # a key of CORPORA
    queries: Path
    qrels: Path


SETS = tuple(
    QuerySet(f"{name}-{lang}", corpus, folder / f"queries.{lang}.tsv", folder / f"qrels.{lang}.txt")
    for name, corpus, folder in (
        ("xquad", "xquad", XQUAD),
        ("xquad-d", "xquad-d", XQUAD),
        ("tydi", "tydi", TYDI),
    )
    for lang in ("ar", "en")
)


def _xquad(folder: Path, distractors: int) -> None:
    shutil.copy(XQUAD / "corpus.jsonl", folder / "xquad.jsonl")
    if distractors:
        with gzip.open(SNN, "rt", encoding="utf-8") as source:
            (folder / "distractors.jsonl").write_text("".join(islice(source, distractors)), encoding="utf-8")


CORPORA: dict[str, Callable[[Path, int], None]] = {
    "xquad": lambda folder, _distractors: _xquad(folder, 0),
    "xquad-d": _xquad,
    "tydi": lambda folder, _distractors: shutil.copy(TYDI / "corpus.jsonl.gz", folder / "tydi.jsonl.gz"),
}

# Analysis configurations (None: Whoosh's StandardAnalyzer with its own BM25F, the naive baseline).
ANALYSES: dict[str, AnalysisConfig | None] = {
    "whoosh-default": None,
    "no-arabic-processing": AnalysisConfig(normalize_arabic=False, exact_fields=False, root_fields=False),
    "normalise-only": AnalysisConfig(arabic_stemmer="none", exact_fields=False, root_fields=False),
    "snowball-ar": AnalysisConfig(arabic_stemmer="snowball", exact_fields=False, root_fields=False),
    "isri": AnalysisConfig(arabic_stemmer="isri", exact_fields=False, root_fields=False),
    "arlstem2": AnalysisConfig(arabic_stemmer="arlstem2", exact_fields=False, root_fields=False),
    "light": AnalysisConfig(arabic_stemmer="light", exact_fields=False, root_fields=False),
    "light+exact": AnalysisConfig(root_fields=False),  # + unstemmed exact-form fields
    "default": DEFAULT_ANALYSIS,  # light stemming + exact-form fields + ISRI root fields
}

_NO_ROOTS = tuple(item for item in DEFAULT_RANKING.field_boosts if not item[0].endswith("_root"))
# Ranking configurations: the default and what each of its choices is worth.
RANKINGS: dict[str, Ranking] = {
    "default": DEFAULT_RANKING,
    "k1-2.0-b-0.9-title-4": replace(DEFAULT_RANKING, k1=2.0, b=0.9, title_weight=4.0),  # best macro
    "k1-1.5": replace(DEFAULT_RANKING, k1=1.5),
    "b-0.75": replace(DEFAULT_RANKING, b=0.75),  # Lucene's b
    "title-weight-1": replace(DEFAULT_RANKING, title_weight=1.0),
    "title-b-0.8": replace(DEFAULT_RANKING, title_b=0.8),
    "no-root-fields": replace(DEFAULT_RANKING, field_boosts=_NO_ROOTS),
    "no-proximity": replace(DEFAULT_RANKING, proximity_boost=0.0),
    "proximity-0.3": replace(DEFAULT_RANKING, proximity_boost=0.3),
    "sum-alternatives": replace(DEFAULT_RANKING, best_alternative=False),
    "no-title-match": replace(DEFAULT_RANKING, title_match=0.0),
    "title-match-0.5": replace(DEFAULT_RANKING, title_match=0.5),
    "no-absent-words": replace(DEFAULT_RANKING, absent_words=False),
}


def _source_digest() -> str:
    """A digest of everything that decides what an index holds, so a kept index is never stale."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "index").glob("*.py"), *(ROOT / "index" / "stopwords").glob("*.txt")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ------------------------------------------------------------------ the systems


def build_whoosh_default(folder: Path, corpus: Path) -> None:
    """Whoosh out of the box: StandardAnalyzer, BM25F, title and body."""
    schema = Schema(
        id=ID(stored=True, unique=True), title=TEXT(StandardAnalyzer()), body=TEXT(StandardAnalyzer())
    )
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), schema)
    writer = ix.writer(limitmb=256)
    for path in sorted(corpus.iterdir()):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                writer.add_document(
                    id=record["id"], title=record.get("title") or "", body=record.get("text") or ""
                )
    writer.commit()


def whoosh_default_runs(folder: Path, queries: dict[str, str]) -> dict[str, list[str]]:
    ix = whoosh_index.open_dir(str(folder))
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)
    with ix.searcher() as searcher:
        return {
            qid: [hit["id"] for hit in searcher.search(parser.parse(plain_text(text)), limit=K)]
            for qid, text in queries.items()
        }


def fahras_runs(location: Path | str, ranking: Ranking, queries: dict[str, str]) -> dict[str, list[str]]:
    """Each question's top ten from the engine users get, over an index folder or a cluster's URL."""
    engine = SearchEngine.at(IndexHome(location) if isinstance(location, Path) else location, ranking)
    runs = {}
    for qid, text in queries.items():
        try:
            runs[qid] = [hit.id for hit in engine.search(plain_text(text), size=K, snippets=False).hits]
        except QueryError:
            runs[qid] = []
    return runs


def evaluate_set(folder: Path | str, ranking: Ranking | None, query_set: QuerySet) -> tuple[Scores, float]:
    """Scores of one ranking (None: Whoosh's baseline) on one set, and the seconds it took."""
    started = time.perf_counter()
    queries = read_queries(query_set.queries)
    runs = whoosh_default_runs(folder, queries) if ranking is None else fahras_runs(folder, ranking, queries)
    return score_runs(runs, read_qrels(query_set.qrels), K), time.perf_counter() - started


# ------------------------------------------------------------------ the run


@dataclass
class Suite:
    scratch: Path
    keep: Path | None
    distractors: int
    cluster: str = DEFAULT_CLUSTER

    def corpus(self, name: str) -> Path:
        folder = self.scratch / "corpora" / name
        if not folder.exists():
            folder.mkdir(parents=True)
            CORPORA[name](folder, self.distractors)
        return folder

    def index(self, corpus: str, analysis: str) -> Path:
        """The index of ``corpus`` under ``analysis``, built unless a kept one is current."""
        config = ANALYSES[analysis]
        tag = hashlib.sha256(f"{config!r}|{self.distractors}|{_source_digest()}".encode()).hexdigest()[:12]
        folder = (self.keep or self.scratch / "indexes") / f"{corpus}-{analysis}-{tag}"
        if (folder / "complete").exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        source = self.corpus(corpus)
        if config is None:
            build_whoosh_default(folder, source)
        else:
            rebuild(IndexHome(folder), source, show_progress=False, analysis=config)
        (folder / "complete").touch()
        took = time.perf_counter() - started
        progress(f"indexed {corpus} with analysis {analysis} in {took:.0f} s")
        return folder

    def cluster_index(self, corpus: str) -> str:
        """The corpus indexed with the default analysis into the cluster (rebuilt every run)."""
        location = f"{self.cluster.rstrip('/')}/quality-{corpus}"
        started = time.perf_counter()
        rebuild_index(open_backend(location).target(), self.corpus(corpus), only=True, show_progress=False)
        progress(f"indexed {corpus} into {location} in {time.perf_counter() - started:.0f} s")
        return location


def progress(message: str) -> None:
    print(f"[quality] {message}", file=sys.stderr, flush=True)


def run_suite(
    suite: Suite,
    analyses: list[str],
    rankings: list[str],
    sets: list[QuerySet],
    jobs: int,
    engines: tuple[str, ...] = ("embedded",),
) -> dict[str, dict[str, Scores]]:
    """{row name: {set name: scores}}: indexes are built first, one at a time (each build
    already uses the cores), then every (ranking, set) evaluation runs in ``jobs`` processes.
    ``engines``: the embedded index (every analysis) and/or an OpenSearch cluster (the default analysis)."""
    tasks = []
    if "opensearch" in engines:
        for corpus in dict.fromkeys(s.corpus for s in sets):
            location = suite.cluster_index(corpus)
            for ranking in rankings:
                for query_set in (s for s in sets if s.corpus == corpus):
                    tasks.append((f"opensearch / {ranking}", location, ranking, query_set))
    for analysis in analyses if "embedded" in engines else ():
        row_rankings = [None] if ANALYSES[analysis] is None else rankings
        for corpus in dict.fromkeys(s.corpus for s in sets):
            folder = suite.index(corpus, analysis)
            for ranking in row_rankings:
                row = analysis if ranking is None else f"{analysis} / {ranking}"
                for query_set in (s for s in sets if s.corpus == corpus):
                    tasks.append((row, folder, ranking, query_set))
    table: dict[str, dict[str, Scores]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            (row, query_set, pool.submit(evaluate_set, folder, RANKINGS.get(ranking), query_set))
            for row, folder, ranking, query_set in tasks
        ]
        for done, (row, query_set, future) in enumerate(futures, 1):
            scores, took = future.result()
            table.setdefault(row, {})[query_set.name] = scores
            rate = scores.queries / took if took else 0.0
            progress(
                f"{done}/{len(futures)} {row} on {query_set.name}: MRR@10 {scores.mrr:.4f} "
                f"({took:.0f} s, {rate:.0f} questions/s)"
            )
    return table


def macro(row: dict[str, Scores], metric: str) -> float:
    return sum(getattr(scores, metric) for scores in row.values()) / len(row)


def print_table(table: dict[str, dict[str, Scores]], sets: list[QuerySet], baseline: str | None) -> None:
    """One row per configuration: MRR@10 / R@10 per set, then the macro-averages.

    With a baseline row, a set that drops by more than the allowed 0.005 is marked with !.
    """
    names = [s.name for s in sets]
    print("\nMRR@10 / R@10 per set; macro over the sets\n")
    print("| configuration | " + " | ".join(names) + " | macro MRR@10 | macro R@10 |")
    print("|---" * (len(names) + 3) + "|")
    base = table.get(baseline) if baseline else None
    for row_name, row in table.items():
        cells = []
        for name in names:
            scores = row[name]
            dropped = base is not None and base[name].mrr - scores.mrr > DROP_ALLOWED
            cells.append(f"{scores.mrr:.3f}{'!' if dropped else ''} / {scores.recall:.3f}")
        change = ""
        if base is not None and row is not base:
            change = f" ({macro(row, 'mrr') - macro(base, 'mrr'):+.4f})"
        print(
            f"| {row_name} | "
            + " | ".join(cells)
            + f" | {macro(row, 'mrr'):.4f}{change} | {macro(row, 'recall'):.4f} |"
        )


def _names(value: str, known: dict) -> list[str]:
    names = list(known) if value == "all" else value.split(",")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown configuration {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--analyses", default="default", help=f"comma-separated, or all: {', '.join(ANALYSES)}"
    )
    parser.add_argument(
        "--rankings", default="default", help=f"comma-separated, or all: {', '.join(RANKINGS)}"
    )
    parser.add_argument(
        "--sets", default="all", help=f"comma-separated, or all: {', '.join(s.name for s in SETS)}"
    )
    parser.add_argument("--distractors", type=int, default=5000, help="SaudiNewsNet articles in xquad-d")
    parser.add_argument(
        "--jobs", type=int, default=2, help="evaluation processes (default 2: the machine is shared)"
    )
    parser.add_argument("--keep", type=Path, help="keep indexes in this folder and reuse current ones")
    parser.add_argument("--baseline", help="row that the others are compared with (default: the first)")
    parser.add_argument(
        "--engine", choices=["embedded", "opensearch", "both"], default="embedded",
        help="the embedded index (default), an OpenSearch cluster (--cluster, default analysis), or both",
    )  # fmt: skip
    parser.add_argument(
        "--cluster",
        default=DEFAULT_CLUSTER,
        help=f"the cluster's URL for --engine opensearch ({DEFAULT_CLUSTER})",
    )
    args = parser.parse_args()
    engines = ("embedded", "opensearch") if args.engine == "both" else (args.engine,)
    analyses, rankings = _names(args.analyses, ANALYSES), _names(args.rankings, RANKINGS)
    sets = [s for s in SETS if s.name in _names(args.sets, {s.name: s for s in SETS})]
    missing = [path for path in (XQUAD, TYDI, SNN) if not path.exists()]
    if missing:
        print(f"shared data not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fahras-quality-") as scratch:
        suite = Suite(Path(scratch), args.keep, args.distractors, args.cluster)
        jobs = max(1, min(args.jobs, os.cpu_count() or 1))
        table = run_suite(suite, analyses, rankings, sets, jobs, engines)
    print_table(table, sets, args.baseline or next(iter(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
