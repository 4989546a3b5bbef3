"""The ``fahras`` command: in-process through ``main(argv)``, and once through its installed entry point."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from fahras_cli import main

from .conftest import HIT_FIELDS, shared, write_corpus


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def fahras(*args: str) -> Result:
    """Run ``fahras ARGS`` in this process, as the entry point would (argparse's exits included)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path) -> str:
    folder = str(tmp_path / "ix")
    result = fahras("index", "--index", folder, str(corpus))
    assert result.returncode == 0, result.stderr
    return folder


def test_installed_entry_point_lists_every_command() -> None:
    executable = shutil.which("fahras")
    assert executable, "pip install . must provide the fahras command"
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=60)
    listed = re.findall(r"^ {4}(\w+) +\S", result.stdout, re.MULTILINE)  # each command beside its help
    assert result.returncode == 0
    assert listed == ["index", "rebuild", "search", "stats", "check", "eval", "serve", "cluster"]


def test_index_prints_a_summary(tmp_path: Path, corpus: Path) -> None:
    result = fahras("index", "--index", str(tmp_path / "ix"), str(corpus))
    assert result.returncode == 0
    assert "Indexed 7 new" in result.stdout and "docs/s" in result.stdout
    again = fahras("index", "--index", str(tmp_path / "ix"), str(corpus))
    assert again.stdout.startswith("Nothing to do: 7 documents already up to date")


def test_search_json_format(index_dir: str) -> None:
    result = fahras("search", "--index", index_dir, "--json", "الأَزْمَة")
    data = json.loads(result.stdout)
    assert list(data) == ["query", "total", "total_exact", "took_ms", "hits", "suggestion", "notice", "total_all",
                          "searched_as", "folded", "also_searched"]  # fmt: skip
    assert data["searched_as"] == [{"word": "الأَزْمَة", "searched": ["ازم"], "forms": ["الأزمة"]}]
    assert data["total"] == 1
    hit = data["hits"][0]
    assert set(hit) == HIT_FIELDS
    assert hit["id"] == "news/crisis.txt" and hit["lang"] == "ar"
    assert "<mark>الأزمة</mark>" in hit["snippet"]


def test_search_marks_original_words_with_clitics(index_dir: str) -> None:
    data = json.loads(fahras("search", "--index", index_dir, "--json", "انتخابات").stdout)
    snippet = data["hits"][0]["snippet"]
    assert set(re.findall("<mark>(.*?)</mark>", snippet)) == {"الانتخابات"}  # the word as written, with ال


def test_plain_output_lists_ranked_hits(index_dir: str) -> None:
    result = fahras("search", "--index", index_dir, "football")
    assert result.returncode == 0
    assert result.stdout.startswith("1 result for 'football'")
    assert "[football]" in result.stdout  # matches are marked (bold on a terminal)


def test_lang_filter_and_paging(index_dir: str) -> None:
    both = json.loads(fahras("search", "--index", index_dir, "--json", "football OR كرة").stdout)
    assert both["total"] == 2
    arabic = json.loads(
        fahras("search", "--index", index_dir, "--json", "--lang", "ar", "football OR كرة").stdout
    )
    assert [h["id"] for h in arabic["hits"]] == ["j2"]
    page2 = json.loads(
        fahras(
            "search", "--index", index_dir, "--json", "--limit", "1", "--page", "2", "football OR كرة"
        ).stdout
    )
    assert len(page2["hits"]) == 1 and page2["hits"][0]["id"] != both["hits"][0]["id"]


@pytest.mark.parametrize("query", ["-alone", "a*", "*", "date:someday"])
def test_malformed_query_is_one_clear_line(index_dir: str, query: str) -> None:
    result = fahras("search", "--index", index_dir, query)
    assert result.returncode == 2
    assert result.stderr.startswith("fahras search: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("query", ['"unclosed phrase', "(open"])
def test_pasted_text_is_searched_as_words_and_said_so(index_dir: str, query: str) -> None:
    result = fahras("search", "--index", index_dir, query)
    assert result.returncode == 0 and result.stdout.startswith("Searched as plain words: ")


def test_search_without_index_is_a_clear_error(tmp_path: Path) -> None:
    result = fahras("search", "--index", str(tmp_path / "none"), "x")
    assert result.returncode == 2 and "no index at" in result.stderr


def test_index_location_from_environment(tmp_path: Path, corpus: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAHRAS_INDEX", str(tmp_path / "env-ix"))
    assert fahras("index", str(corpus)).returncode == 0
    assert (tmp_path / "env-ix" / "live").exists()


def test_stats(index_dir: str) -> None:
    data = json.loads(fahras("stats", "--index", index_dir, "--json").stdout)
    assert data["documents"] == 7
    assert data["languages"] == {"ar": 3, "en": 3, "mixed": 1}
    assert data["sources"]["Sports Daily"] == 2
    assert data["size_bytes"] > 0 and data["last_build"]
    text = fahras("stats", "--index", index_dir).stdout
    assert "Documents:   7" in text


def test_rebuild_command(index_dir: str, corpus: Path) -> None:
    result = fahras("rebuild", "--index", index_dir, str(corpus))
    assert result.returncode == 0 and "Indexed 7 new" in result.stdout


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = fahras("index", "--index", str(tmp_path / "ix"), str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_seed_article_is_found(tmp_path: Path) -> None:
    seed = shared("seed")
    folder = str(tmp_path / "ix")
    assert fahras("index", "--index", folder, str(seed)).returncode == 0
    for query, marked in (("الازمه", "الأزمة"), ("hafter", "HAFTER"), ("انتخابات", "انتخابات")):
        data = json.loads(fahras("search", "--index", folder, "--json", query).stdout)
        assert data["total"] == 1, query
        hit = data["hits"][0]
        assert f"<mark>{marked}</mark>" in hit["snippet"] + hit["title_html"]


def test_version() -> None:
    from importlib.metadata import version

    result = fahras("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"fahras {version('fahras')}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "--limit", "abc", "x"), "argument --limit: expected a whole number, not 'abc'"),
        (("search", "--page", "0", "x"), "argument --page: expected a whole number, 1 or more, not 0"),
        (("serve", "--port", "http"), "argument --port: expected a port number, not 'http'"),
        (("index", "--wait", "soon", "x"), "argument --wait: expected a number of seconds, not 'soon'"),
        (
            ("serve", "--cors", "ftp://x/y"),
            "argument --cors: expected * or an origin like https://app.example.org, not 'ftp://x/y'",
        ),
    ],
)
def test_argument_errors_say_what_was_expected(args: tuple[str, ...], message: str) -> None:
    result = fahras(*args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"fahras {args[0]}: {message} (see: fahras {args[0]} --help)"]
    assert "_positive" not in result.stderr and "invalid" not in result.stderr


def test_control_characters_from_documents_are_shown_not_obeyed(tmp_path: Path) -> None:
    """A title, id or text holding terminal escapes (retitle, clear screen) prints them as \\x1b, never raw."""
    hostile = "\x1b]0;owned\x07 \x1b[2J"
    records = [{"id": f"evil{hostile}", "title": f"Harbour {hostile}", "text": f"harbour {hostile} news"}]
    folder = write_corpus(tmp_path / "c", {"feed.jsonl": json.dumps(records[0])})
    (folder / "bad\x1b[31mname.txt").write_bytes(b"\x00\x01binary")
    index = str(tmp_path / "index")
    indexed = fahras("index", "--index", index, str(folder))
    searched = fahras("search", "--index", index, "harbour")
    for result in (indexed, searched):
        assert (
            result.returncode == 0
            and "\x1b" not in result.stdout + result.stderr
            and "\x07" not in result.stdout
        )
    assert "\\x1b]0;owned\\x07" in searched.stdout and "bad\\x1b[31mname.txt" in indexed.stdout
