"""Retrieval quality on XQuAD (Arabic and English questions, one bilingual index).

Follows the protocol of ../shared/data/README.md: index the whole bilingual
corpus, run every question as plain text, keep the top 10, and report MRR@10,
Recall@10, nDCG@10 and P@1 per language. The same is repeated with 5,000
SaudiNewsNet articles added as distractors. Every analysis configuration
below is measured in the same run; Fahras's default is printed last.

    python bench/quality.py                 # full table (a few minutes)
    python bench/quality.py --no-distractors
    python bench/quality.py --configs default,isri
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import StandardAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402

from index.indexer import rebuild_index  # noqa: E402
from index.schema import AnalysisConfig  # noqa: E402
from index.store import IndexHome  # noqa: E402
from search.engine import SearchEngine  # noqa: E402
from search.evaluate import plain_query, read_qrels, read_queries, score_runs  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
XQUAD = DATA / "xquad"
SNN = DATA / "saudinewsnet" / "corpus.jsonl.gz"
K = 10

CONFIGS: dict[str, AnalysisConfig | None] = {
    "whoosh-default": None,  # Whoosh's StandardAnalyzer, title+body: the naive baseline
    "no-arabic-processing": AnalysisConfig(normalize_arabic=False, exact_fields=False, root_fields=False),
    "normalise-only": AnalysisConfig(arabic_stemmer="none", exact_fields=False, root_fields=False),
    "snowball-ar": AnalysisConfig(arabic_stemmer="snowball", exact_fields=False, root_fields=False),
    "isri": AnalysisConfig(arabic_stemmer="isri", exact_fields=False, root_fields=False),
    "arlstem2": AnalysisConfig(arabic_stemmer="arlstem2", exact_fields=False, root_fields=False),
    "light": AnalysisConfig(arabic_stemmer="light", exact_fields=False, root_fields=False),
    "light+exact": AnalysisConfig(root_fields=False),  # + unstemmed exact-form fields
    "default": AnalysisConfig(),  # light stemming + exact-form fields + ISRI root fields
}


def build_corpus(folder: Path, distractors: int) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(XQUAD / "corpus.jsonl", folder / "xquad.jsonl")
    if distractors:
        with gzip.open(SNN, "rt", encoding="utf-8") as source:
            (folder / "distractors.jsonl").write_text("".join(islice(source, distractors)), encoding="utf-8")
    return folder


class WhooshDefault:
    """Whoosh out of the box: StandardAnalyzer, BM25F, OR query over title and body."""

    def __init__(self, folder: Path, corpus: Path) -> None:
        import json

        folder.mkdir()
        schema = Schema(
            id=ID(stored=True, unique=True), title=TEXT(StandardAnalyzer()), body=TEXT(StandardAnalyzer())
        )
        self.ix = whoosh_index.create_in(str(folder), schema)
        writer = self.ix.writer(limitmb=256)
        for path in sorted(corpus.glob("*.jsonl")):
            for line in path.open(encoding="utf-8"):
                record = json.loads(line)
                writer.add_document(
                    id=record["id"], title=record.get("title") or "", body=record.get("text") or ""
                )
        writer.commit()
        self.parser = MultifieldParser(["title", "body"], schema, group=OrGroup)

    def ranking(self, text: str) -> list[str]:
        with self.ix.searcher() as searcher:
            return [hit["id"] for hit in searcher.search(self.parser.parse(plain_query(text)), limit=K)]


class Fahras:
    def __init__(self, folder: Path, corpus: Path, config: AnalysisConfig) -> None:
        home = IndexHome(folder)
        rebuild_index(home, corpus, show_progress=False, analysis=config)
        self.engine = SearchEngine(home)

    def ranking(self, text: str) -> list[str]:
        from search.engine import QueryError

        try:
            return [hit.id for hit in self.engine.search(plain_query(text), size=K, snippets=False).hits]
        except QueryError:
            return []


def measure(name: str, corpus: Path, scratch: Path) -> dict[str, object]:
    started = time.perf_counter()
    config = CONFIGS[name]
    system = (
        WhooshDefault(scratch / name, corpus) if config is None else Fahras(scratch / name, corpus, config)
    )
    row: dict[str, object] = {"config": name}
    for lang in ("ar", "en"):
        queries = read_queries(XQUAD / f"queries.{lang}.tsv")
        qrels = read_qrels(XQUAD / f"qrels.{lang}.txt")
        runs = {qid: system.ranking(text) for qid, text in queries.items()}
        row[lang] = score_runs(runs, qrels, K)
    row["seconds"] = time.perf_counter() - started
    return row


def print_table(title: str, rows: list[dict[str, object]]) -> None:
    print(f"\n{title}")
    header = "| configuration | ar MRR@10 | ar R@10 | ar nDCG@10 | ar P@1 | en MRR@10 | en R@10 | en nDCG@10 | en P@1 |"
    print(header)
    print("|---" * 9 + "|")
    for row in rows:
        ar, en = row["ar"], row["en"]
        print(
            f"| {row['config']} | {ar.mrr:.3f} | {ar.recall:.3f} | {ar.ndcg:.3f} | {ar.p1:.3f} "
            f"| {en.mrr:.3f} | {en.recall:.3f} | {en.ndcg:.3f} | {en.p1:.3f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names (default: all)")
    parser.add_argument(
        "--distractors", type=int, default=5000, help="SaudiNewsNet articles added (default 5000)"
    )
    parser.add_argument("--no-distractors", action="store_true", help="only the plain XQuAD corpus")
    args = parser.parse_args()
    if not XQUAD.exists():
        print(f"XQuAD data not found at {XQUAD}", file=sys.stderr)
        return 2
    names = [n for n in CONFIGS if n in args.configs.split(",")]
    names = [n for n in names if n != "default"] + (["default"] if "default" in names else [])
    settings = [("XQuAD, bilingual index (480 documents)", 0)]
    if not args.no_distractors and SNN.exists():
        settings.append((f"XQuAD + {args.distractors:,} SaudiNewsNet distractors", args.distractors))
    with tempfile.TemporaryDirectory(prefix="fahras-quality-") as scratch:
        for title, distractors in settings:
            work = Path(scratch) / f"d{distractors}"
            corpus = build_corpus(work / "corpus", distractors)
            rows = [measure(name, corpus, work) for name in names]
            print_table(title, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
