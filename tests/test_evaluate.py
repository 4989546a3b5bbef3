"""Evaluation metrics against hand-computed values, and `fahras eval` end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from search.evaluate import (
    EvalInputError,
    ndcg,
    read_qrels,
    read_queries,
    recall,
    reciprocal_rank,
    score_runs,
)
from search.syntax import plain_text

from .conftest import shared


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["a", "b", "c"], {"c"}, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b", "c"], {"c"}, 2) == 0.0  # beyond the cut-off
    assert reciprocal_rank([], {"a"}, 10) == 0.0


def test_recall() -> None:
    assert recall(["a", "x", "b"], {"a", "b", "c", "d"}, 10) == 0.5
    assert recall(["a", "x", "b"], {"a", "b"}, 2) == 0.5


def test_ndcg_with_binary_gains() -> None:
    # relevant at ranks 1 and 3 of two relevant: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(expected)
    assert ndcg(["a"], {"a"}, 10) == 1.0
    assert ndcg(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))


def test_means_over_judged_queries_with_missing_runs_scoring_zero() -> None:
    qrels = {"q1": {"a"}, "q2": {"b"}, "q3": {"c"}}
    runs = {"q1": ["a"], "q2": ["x", "b"]}  # q3 returned nothing
    scores = score_runs(runs, qrels, 10)
    assert scores.queries == 3
    assert scores.mrr == pytest.approx((1 + 0.5 + 0) / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.p1 == pytest.approx(1 / 3)


def test_a_question_is_searched_as_plain_words() -> None:
    assert (
        plain_text('What is "Tesla\'s" AND (first) job? title:x -y')
        == "What is Tesla's and first job? title x y"
    )
    assert plain_text("كم عدد الأهداف؟ (عام 2014)") == "كم عدد الأهداف؟ عام 2014"


def test_input_files_are_validated(tmp_path: Path) -> None:
    (tmp_path / "q.tsv").write_text("q1 no tab here\n")
    with pytest.raises(EvalInputError, match=r"q\.tsv:1"):
        read_queries(tmp_path / "q.tsv")
    (tmp_path / "qrels.txt").write_text("q1 0 d1\n")
    with pytest.raises(EvalInputError, match=r"qrels\.txt:1"):
        read_qrels(tmp_path / "qrels.txt")


def _eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fahras_cli", "eval", *args], capture_output=True, text=True, timeout=300
    )


def test_eval_command_end_to_end(tmp_path: Path, corpus: Path) -> None:
    queries = "q1\tWho won the football final?\nq2\tما هي الأزمة؟\nq3\tthe of\n"
    (tmp_path / "q.tsv").write_text(queries, encoding="utf-8")
    (tmp_path / "qrels.txt").write_text("q1 0 j1 1\nq2 0 news/crisis.txt 1\nq3 0 j2 1\n")
    run = tmp_path / "out.run"
    result = _eval("--corpus", str(corpus), "--queries", str(tmp_path / "q.tsv"),
                   "--qrels", str(tmp_path / "qrels.txt"), "--run", str(run), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["queries"] == 3
    assert scores["mrr"] == pytest.approx(2 / 3)  # q3 is only stop words: no results, scores 0
    first = run.read_text().splitlines()[0].split()
    assert first[:4] == ["q1", "Q0", "j1", "1"] and first[5] == "fahras"


def test_bad_queries_file_is_one_clear_line(tmp_path: Path, corpus: Path) -> None:
    (tmp_path / "q.tsv").write_text("no tab\n")
    (tmp_path / "qrels.txt").write_text("q1 0 j1 1\n")
    result = _eval(
        "--corpus", str(corpus), "--queries", str(tmp_path / "q.tsv"), "--qrels", str(tmp_path / "qrels.txt")
    )
    assert (
        result.returncode == 2
        and "expected 'qid<TAB>query'" in result.stderr
        and "Traceback" not in result.stderr
    )


def _arabic_scores(folder: str, corpus: str) -> dict:
    """``fahras eval --json`` on a shared set's whole corpus and Arabic questions."""
    data = shared(folder)
    result = _eval("--corpus", str(data / corpus), "--queries", str(data / "queries.ar.tsv"),
                   "--qrels", str(data / "qrels.ar.txt"), "--json")  # fmt: skip
    return json.loads(result.stdout)


def test_xquad_arabic_beats_lucene() -> None:
    scores = _arabic_scores("xquad", "corpus.jsonl")
    assert scores["queries"] == 1190
    assert scores["mrr"] > 0.908 and scores["recall"] >= 0.976  # Lucene's ArabicAnalyzer + BM25


def test_tydi_arabic_among_news_beats_lucene() -> None:
    """Issue 12's headline: among 7,095 news articles Fahras ranked below Lucene's ArabicAnalyzer + BM25."""
    scores = _arabic_scores("tydi", "corpus.jsonl.gz")
    assert scores["queries"] == 921
    assert scores["mrr"] > 0.890  # Lucene 4.10 ArabicAnalyzer + BM25 on the same questions
