"""Checking an index: damage is found and named, versions are recorded, a rebuild always repairs.

Every damage is done to a copy of a freshly built index (tests/damage.py).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from index import analysis
from index.check import check_index
from index.generations import rebuild, update
from index.indexer import IndexingError, RebuildNeeded
from index.schema import analysis_fingerprint, build_schema, default_fingerprint
from index.store import LIVE, IndexDamaged, IndexHome, IndexOutdated
from search.engine import SearchEngine
from web import create_app

from .conftest import write_corpus
from .damage import DAMAGE, copy_index, damage, edit_build_info, rename_a_pickled_class


def fahras(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fahras_cli", *args], capture_output=True, text=True, timeout=120
    )


def one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def stemmer_without_at(monkeypatch):
    """This version's light stemmer with 'ات' removed from its suffixes (the issue's example)."""
    caches = (analysis._light_stem, analysis._light_stem_forms)
    for cache in caches:
        cache.cache_clear()
    suffixes = tuple(s for s in analysis.ArabicLightStemmer.SUFFIXES if s != "ات")
    monkeypatch.setattr(analysis.ArabicLightStemmer, "SUFFIXES", suffixes)
    yield
    monkeypatch.undo()
    for cache in caches:
        cache.cache_clear()


# ------------------------------------------------------------------ damage


@pytest.mark.parametrize("kind", DAMAGE)
def test_check_names_the_damaged_file(built: IndexHome, tmp_path: Path, kind: str) -> None:
    copy = copy_index(built, tmp_path / "copy")
    path = damage(copy, kind)
    found = check_index(copy, checksums=True)
    assert isinstance(found.error, IndexDamaged) and path.name in str(found.error)
    assert "fahras rebuild" in str(found.error)
    result = fahras("check", "--index", str(copy.path))
    assert result.returncode == 1 and path.name in result.stdout
    stats = fahras("stats", "--json", "--index", str(copy.path))
    assert stats.returncode == 1 and "damaged" in json.loads(stats.stdout)["error"]


def test_an_intact_index_checks_ok(built: IndexHome) -> None:
    result = fahras("check", "--index", str(built.path))
    assert result.returncode == 0 and result.stdout.startswith("ok: the sizes and checksums of")
    assert fahras("stats", "--index", str(built.path)).returncode == 0


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_index_gives_one_clear_error_per_request(
    built: IndexHome, tmp_path: Path, kind: str
) -> None:
    copy = copy_index(built, tmp_path / "copy")
    damage(copy, kind)
    client = create_app({"INDEX_DIR": str(copy.path), "TESTING": True}).test_client()
    for path in ("/healthz", "/api/search?q=football", "/api/suggest?q=fo"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.status_code)
        assert "damaged" in response.get_json()["error"]
    page = client.get("/?q=football")
    assert page.status_code == 503 and "damaged" in page.get_data(as_text=True)
    result = fahras("search", "--index", str(copy.path), "football")
    assert result.returncode == 2 and "damaged" in one_clear_line(result)


@pytest.mark.parametrize("kind", ["zeroed-toc", "truncated-toc", "deleted-postings", "zeroed-postings"])
def test_rebuild_repairs_a_damaged_index(built: IndexHome, corpus: Path, tmp_path: Path, kind: str) -> None:
    copy = copy_index(built, tmp_path / "copy")
    damage(copy, kind)
    result = fahras("rebuild", "--quiet", "--index", str(copy.path), str(corpus))
    assert result.returncode == 0, result.stderr
    assert check_index(copy, checksums=True).ok
    assert SearchEngine.at(copy).search("football").total == 1
    assert copy.leftovers() == [] and len(list(copy.path.glob("gen-*"))) == 2  # the new one and the previous


# ------------------------------------------------------------------ generations


def test_a_failed_swap_leaks_no_generation(built: IndexHome, corpus: Path, monkeypatch) -> None:
    live = built.live_dir()
    real_point = IndexHome._point

    def failing_point(self, name, folder):
        if name == LIVE:
            raise OSError(28, "No space left on device")
        return real_point(self, name, folder)

    monkeypatch.setattr(IndexHome, "_point", failing_point)
    with pytest.raises(IndexingError, match="no space left for the new index"):
        rebuild(built, corpus, show_progress=False)
    monkeypatch.undo()
    assert built.live_dir() == live and SearchEngine.at(built).search("football").total == 1
    assert built.leftovers() == []  # the new generation was removed
    rebuild(built, corpus, show_progress=False)
    assert built.leftovers() == [] and len(list(built.path.glob("gen-*"))) == 2


def test_a_generation_neither_live_nor_previous_is_a_leftover(built: IndexHome, corpus: Path) -> None:
    # What a rebuild killed between naming its generation and swapping it in leaves.
    stray = built.path / "gen-20000101T000000000000-1"
    stray.mkdir()
    assert built.leftovers() == [stray]
    assert str(stray) in fahras("stats", "--index", str(built.path)).stdout
    rebuild(built, corpus, show_progress=False)
    rebuild(built, corpus, show_progress=False)
    assert not stray.exists() and built.leftovers() == []
    assert len(list(built.path.glob("gen-*"))) == 2


# ------------------------------------------------------------------ versions


def test_the_analysis_fingerprint_is_stable() -> None:
    schema = build_schema()
    fingerprint = analysis_fingerprint(schema)
    assert fingerprint == default_fingerprint()
    assert analysis_fingerprint(pickle.loads(pickle.dumps(schema))) == fingerprint  # as an index stores it
    list(schema["body"].analyzer("الانتخابات في موسكو"))  # filling the memos changes nothing
    assert analysis_fingerprint(schema) == fingerprint
    other = subprocess.run(
        [sys.executable, "-c", "from index.schema import default_fingerprint; print(default_fingerprint())"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": "123"},
    )  # fmt: skip
    assert other.stdout.strip() == fingerprint  # sets and dicts are described in a fixed order


def test_the_analysis_fingerprint_follows_every_filters_configuration(monkeypatch) -> None:
    schema = build_schema()
    before = analysis_fingerprint(schema)
    filters = schema["body"].analyzer.items[-1].filters
    stemmer = next(f for f in filters if isinstance(f, analysis.ArabicLightStemmer))
    stop_words = next(f for f in filters if isinstance(f, analysis.StopWords))
    changes = [
        (
            analysis.ArabicLightStemmer,
            "SUFFIXES",
            tuple(s for s in stemmer.SUFFIXES if s != "ات"),
        ),  # a class table
        (stemmer, "min_stem", 4),  # a parameter
        (stop_words, "words", stop_words.words - {"في"}),  # a stop-word list
        (analysis.FoldYeh, "table", {}),  # a character map
        (analysis.TanweenAlef, "_ENDING", analysis.re.compile("x")),  # a private constant pattern
    ]
    for owner, name, value in changes:
        monkeypatch.setattr(owner, name, value)
        assert analysis_fingerprint(schema) != before, name
        monkeypatch.undo()
    assert analysis_fingerprint(schema) == before


def test_an_index_of_an_older_analysis_says_rebuild(
    built: IndexHome, corpus: Path, stemmer_without_at
) -> None:
    found = check_index(built)
    assert found.error is None and "older version" in found.warning and "fahras rebuild" in found.warning
    assert SearchEngine.at(built).search("football").total == 1  # searches still work
    with pytest.raises(RebuildNeeded, match="older version"):
        update(built, corpus, show_progress=False)
    client = create_app({"INDEX_DIR": str(built.path), "TESTING": True}).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "outdated" and "fahras rebuild" in health["warning"]
    assert "older version" in client.get("/api/search?q=football").get_json()["warning"]
    assert "older version of Fahras" in client.get("/?q=football").get_data(as_text=True)
    rebuild(built, corpus, show_progress=False)
    assert check_index(built).ok


def test_every_command_line_face_says_rebuild(built: IndexHome, corpus: Path) -> None:
    edit_build_info(built, analysis="0123456789abcdef")  # as recorded by a version analysing differently
    index = str(built.path)
    search = fahras("search", "--json", "--index", index, "football")
    assert search.returncode == 0 and json.loads(search.stdout)["total"] == 1
    assert "older version" in one_clear_line(search) and "fahras rebuild" in search.stderr
    stats = fahras("stats", "--index", index)
    assert stats.returncode == 1 and "older version" in stats.stdout
    assert fahras("check", "--index", index).returncode == 1
    refused = fahras("index", "--index", index, str(corpus))
    assert refused.returncode == 2 and "older version" in one_clear_line(refused)
    assert fahras("rebuild", "--quiet", "--index", index, str(corpus)).returncode == 0
    assert fahras("check", "--index", index).returncode == 0


def test_an_index_without_versions_is_from_an_older_version(built: IndexHome, corpus: Path) -> None:
    edit_build_info(built, format=None, analysis=None)
    assert "older version" in check_index(built).warning
    with pytest.raises(RebuildNeeded):
        update(built, corpus, show_progress=False)


def test_an_unreadable_pickled_schema_says_rebuild(built: IndexHome, corpus: Path) -> None:
    rename_a_pickled_class(built)
    assert isinstance(check_index(built).error, IndexOutdated)
    index = str(built.path)
    for command in (("search", "football"), ("index", str(corpus))):
        result = fahras(command[0], "--index", index, *command[1:])
        line = one_clear_line(result)
        assert result.returncode == 2 and "older version" in line and "fahras rebuild" in line
    assert fahras("stats", "--index", index).returncode == 1
    client = create_app({"INDEX_DIR": index, "TESTING": True}).test_client()
    for path in ("/healthz", "/api/search?q=football"):
        response = client.get(path)
        assert response.status_code == 503 and "older version" in response.get_json()["error"]
    assert fahras("rebuild", "--quiet", "--index", index, str(corpus)).returncode == 0
    assert SearchEngine.at(IndexHome(index)).search("football").total == 1


# ------------------------------------------------------------------ damage met by a request


def _zero_postings_of(home: IndexHome, field: str, word: str) -> None:
    """Overwrite one term's posting blocks with zeros (same size: only reading them tells)."""
    ix = home.open()
    with ix.reader() as reader:
        leaf = next(leaf for leaf, _ in reader.leaf_readers() if (field, word) in leaf)
        segment = leaf.segment()
        info = segment.codec().terms_reader(ix.storage, segment).term_info(field, word.encode())
        offset, _length = info.extent()  # (Whoosh reads the length back as a tuple)
    path = home.live_target() / f"{segment.make_filename('.pst')}"
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(b"\0" * 64)  # the start of its first block


@pytest.mark.parametrize("record", ["with checksums", "without a build record"])
def test_damage_a_search_meets_makes_the_server_say_unusable_until_rebuilt(
    tmp_path: Path, record: str
) -> None:
    docs = {f"d{i}.txt": f"Note {i}\nharbour news {i} " + "port " * (i % 7) for i in range(300)}
    folder = write_corpus(tmp_path / "c", docs)
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    if record == "without a build record":
        edit_build_info(home, files=None)
    _zero_postings_of(home, "body", "harbour")
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    assert client.get("/healthz").status_code == 200  # the opening check reads other terms: it passes
    assert client.get("/api/search?q=port").status_code == 200
    failed = client.get("/api/search?q=harbour")
    assert failed.status_code == 503 and "damaged" in failed.get_json()["error"]  # never a 500
    for path in ("/healthz", "/api/search?q=port", "/?q=port"):
        assert client.get(path).status_code == 503, path  # once seen, the damage is the index's state
    rebuild(home, folder, show_progress=False)
    assert (
        client.get("/healthz").status_code == 200 and client.get("/api/search?q=harbour").status_code == 200
    )


def test_an_index_of_a_newer_format_is_called_newer(built: IndexHome) -> None:
    edit_build_info(built, format=99)
    client = create_app({"INDEX_DIR": str(built.path), "TESTING": True}).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "outdated" and "newer version" in health["warning"]


def test_a_missing_table_of_contents_is_damage_not_a_missing_index(built: IndexHome) -> None:
    for toc in built.live_target().glob("*.toc"):
        toc.unlink()
    found = check_index(built)
    assert isinstance(found.error, IndexDamaged) and "_MAIN_" in str(found.error)
    client = create_app({"INDEX_DIR": str(built.path), "TESTING": True}).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unusable"


def test_no_index_says_so_without_the_servers_paths(tmp_path: Path) -> None:
    client = create_app({"INDEX_DIR": str(tmp_path / "secret-place"), "TESTING": True}).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "no index"
    assert (
        "secret-place" not in health.get_data(as_text=True) and "fahras index" in health.get_json()["error"]
    )
