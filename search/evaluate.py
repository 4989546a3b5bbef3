"""``fahras eval``: ranking quality on judged queries (MRR, Recall, nDCG, P@1).

Queries are ``qid<TAB>text`` lines and judgements TREC qrels (``qid 0 docid
rel``). Each query is run as plain text (:func:`search.syntax.plain_text`): its
quotes, parentheses, colons and operators are read as words, never as syntax.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from index.indexer import rebuild_index

from .backend import open_backend
from .engine import QueryError, SearchEngine
from .syntax import plain_text


class EvalInputError(ValueError):
    """A malformed queries or qrels file (the message names the line)."""


def read_queries(path: Path) -> dict[str, str]:
    queries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("\t")
        if not sep:
            raise EvalInputError(f"{path}:{number}: expected 'qid<TAB>query'")
        queries[qid.strip()] = text.strip()
    return queries


def read_qrels(path: Path) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise EvalInputError(f"{path}:{number}: expected 'qid 0 docid relevance'")
        qid, _, doc_id, grade = parts
        if not grade.lstrip("-").isdigit():
            raise EvalInputError(f"{path}:{number}: relevance must be a number, not {grade!r}")
        if int(grade) > 0:
            relevant.setdefault(qid, set()).add(doc_id)
    return relevant


def reciprocal_rank(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    for rank, doc_id in enumerate(ranking[:k], 1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def recall(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0


def ndcg(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """nDCG@k with binary gains."""
    dcg = sum(1 / math.log2(rank + 1) for rank, d in enumerate(ranking[:k], 1) if d in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


@dataclass
class Scores:
    queries: int
    mrr: float
    recall: float
    ndcg: float
    p1: float
    k: int

    def line(self) -> str:
        k = self.k
        return (
            f"queries {self.queries}  MRR@{k} {self.mrr:.3f}  Recall@{k} {self.recall:.3f}  "
            f"nDCG@{k} {self.ndcg:.3f}  P@1 {self.p1:.3f}"
        )


def score_runs(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]], k: int) -> Scores:
    """Mean metrics over every judged query (a query missing from runs scores 0)."""
    judged = [qid for qid in qrels if qrels[qid]]
    if not judged:
        return Scores(0, 0.0, 0.0, 0.0, 0.0, k)

    def mean(metric) -> float:
        return sum(metric(runs.get(q, []), qrels[q], k) for q in judged) / len(judged)

    return Scores(
        queries=len(judged),
        mrr=mean(reciprocal_rank),
        recall=mean(recall),
        ndcg=mean(ndcg),
        p1=mean(lambda r, rel, _k: 1.0 if r[:1] and r[0] in rel else 0.0),
        k=k,
    )


def run_queries(
    engine: SearchEngine, queries: Mapping[str, str], k: int
) -> dict[str, list[tuple[str, float]]]:
    """Top-k (doc id, score) per query; an unanswerable query gets no results."""
    runs = {}
    for qid, text in queries.items():
        try:
            results = engine.search(plain_text(text), size=k, snippets=False)
        except QueryError:
            runs[qid] = []
            continue
        runs[qid] = [(hit.id, hit.score) for hit in results.hits]
    return runs


def write_run(path: Path, runs: Mapping[str, Iterable[tuple[str, float]]], tag: str = "fahras") -> None:
    with path.open("w", encoding="utf-8") as out:
        for qid, ranking in runs.items():
            for rank, (doc_id, score) in enumerate(ranking, 1):
                out.write(f"{qid} Q0 {doc_id} {rank} {score:.4f} {tag}\n")


def evaluate(
    engine: SearchEngine, queries_path: Path, qrels_path: Path, k: int, run_path: Path | None = None
):
    queries = read_queries(queries_path)
    qrels = {q: docs for q, docs in read_qrels(qrels_path).items() if q in queries}
    runs = run_queries(engine, queries, k)
    if run_path:
        write_run(run_path, runs)
    return score_runs({q: [d for d, _ in r] for q, r in runs.items()}, qrels, k)


def run_evaluation(args: argparse.Namespace) -> int:
    """The ``fahras eval`` command."""
    run_path = Path(args.run) if args.run else None
    with tempfile.TemporaryDirectory(prefix="fahras-eval-") as scratch:
        backend = open_backend(scratch if args.corpus else args.index)
        if args.corpus:
            rebuild_index(backend.target(), Path(args.corpus), show_progress=not args.json)
        scores = evaluate(SearchEngine(backend), Path(args.queries), Path(args.qrels), args.k, run_path)
    print(json.dumps(asdict(scores)) if args.json else scores.line())
    return 0
