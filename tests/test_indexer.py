"""Incremental indexing, atomic rebuilds, crashes and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from whoosh.fields import TEXT

from index.indexer import rebuild_index, update_index
from index.schema import AnalysedText, build_schema
from index.store import IndexHome, NoIndex, WriterBusy
from search.engine import SearchEngine

from .conftest import write_corpus
from .test_snippets import demo_texts


def ids(home: IndexHome) -> set[str]:
    with home.open().searcher() as searcher:
        return {fields["id"] for fields in searcher.all_stored_fields()}


def hits(home: IndexHome, query: str) -> list[str]:
    return [hit.id for hit in SearchEngine(home).search(query, size=50).hits]


def test_first_index_adds_everything(home: IndexHome, corpus: Path) -> None:
    report = update_index(home, corpus, show_progress=False)
    assert report.added == 7 and report.total_docs == 7
    assert "Indexed 7 new" in report.summary()


def test_second_run_changes_nothing(built: IndexHome, corpus: Path) -> None:
    generation = built.live_dir()
    report = update_index(built, corpus, show_progress=False)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 7)
    assert report.summary().startswith("Nothing to do")
    assert built.live_dir() == generation


def test_updates_and_deletes_follow_the_folder(built: IndexHome, corpus: Path) -> None:
    (corpus / "news" / "crisis.txt").write_text("أزمة المياه\n\nنقص المياه في الصيف.", encoding="utf-8")
    (corpus / "science" / "stars.md").unlink()
    write_corpus(corpus, {"new.txt": "Volcano erupts\n\nLava reached the sea."})
    report = update_index(built, corpus, show_progress=False)
    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert "science/stars.md" not in ids(built)
    assert hits(built, "volcano") == ["new.txt"]
    assert hits(built, "المياه") == ["news/crisis.txt"]
    assert hits(built, "الاقتصادية") == []  # the old text is gone


def test_removing_a_folder_leaves_no_dead_segment(built: IndexHome, corpus: Path) -> None:
    def segments() -> int:
        with built.open().reader() as reader:
            return len(list(reader.leaf_readers()))

    before = segments()
    write_corpus(corpus, {"extra/one.txt": "Volcano erupts\n\nLava.", "extra/two.txt": "Lava flows\n\nAsh."})
    update_index(built, corpus, show_progress=False)
    assert segments() == before + 1  # an incremental run writes a segment of its own
    for path in (corpus / "extra").iterdir():
        path.unlink()
    report = update_index(built, corpus, show_progress=False)
    assert report.deleted == 2 and segments() == before
    assert hits(built, "volcano") == [] and len(ids(built)) == 7


def test_removed_json_record_is_deleted(built: IndexHome, corpus: Path) -> None:
    feed = corpus / "feed.jsonl"
    feed.write_text(feed.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    report = update_index(built, corpus, show_progress=False)
    assert report.deleted == 1 and "j2" not in ids(built)


def test_indexing_a_subfolder_leaves_the_rest_alone(built: IndexHome, corpus: Path) -> None:
    # Ids are paths relative to the folder given, so the subfolder's two files
    # are re-filed under their new ids: replaced, never duplicated.
    report = update_index(built, corpus / "news", show_progress=False)
    assert (report.added, report.deleted) == (2, 2)
    assert ids(built) == {"election.txt", "crisis.txt", "science/stars.md", "science/mixed.txt",
                          "culture/poetry.html", "j1", "j2"}  # fmt: skip


def test_a_damaged_file_does_not_delete_its_documents(built: IndexHome, corpus: Path) -> None:
    feed = corpus / "feed.jsonl"
    feed.write_text(feed.read_text(encoding="utf-8").splitlines()[0] + "\n{broken", encoding="utf-8")
    report = update_index(built, corpus, show_progress=False)
    assert report.deleted == 0 and {"j1", "j2"} <= ids(built)
    assert report.skipped and report.skipped[0].line == 2


def test_duplicate_ids_are_reported(home: IndexHome, tmp_path: Path) -> None:
    write_corpus(tmp_path / "c", {"a.json": json.dumps({"id": "same", "title": "A", "text": "a"}),
                                  "b.json": json.dumps({"id": "same", "title": "B", "text": "b"})})  # fmt: skip
    report = update_index(home, tmp_path / "c", show_progress=False)
    assert report.added == 1 and "duplicate id 'same'" in report.skipped[0].reason


def test_rebuild_swaps_in_a_new_generation(built: IndexHome, corpus: Path) -> None:
    old = built.live_dir()
    write_corpus(corpus, {"extra.txt": "Extra\n\nMore text"})
    report = rebuild_index(built, corpus, show_progress=False)
    assert report.total_docs == 8
    assert built.live_dir() != old and "extra.txt" in ids(built)
    assert built.leftovers() == []


def test_open_searcher_survives_a_rebuild(built: IndexHome, corpus: Path) -> None:
    engine = SearchEngine(built)
    assert engine.search("football").total == 1
    searcher = engine.searcher()
    (corpus / "feed.jsonl").unlink()
    rebuild_index(built, corpus, show_progress=False)
    assert searcher.document(id="j1") is not None  # the old generation is still readable
    assert engine.search("football").total == 0  # the engine moved to the new one


def test_missing_index_is_a_clear_error(home: IndexHome) -> None:
    with pytest.raises(NoIndex, match="fahras index FOLDER"):
        home.open()


def test_second_writer_waits_then_fails_clearly(built: IndexHome, corpus: Path) -> None:
    with built.write_lock():
        started = time.monotonic()
        with pytest.raises(WriterBusy, match="another fahras index/rebuild is writing"):
            update_index(built, corpus, show_progress=False, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5


def test_second_writer_proceeds_once_the_first_is_done(built: IndexHome, corpus: Path) -> None:
    write_corpus(corpus, {"late.txt": "Late\n\nArrived late"})
    results = {}

    def second() -> None:
        results["report"] = update_index(built, corpus, show_progress=False, lock_timeout=10)

    with built.write_lock():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()  # waiting for the lock
    thread.join(10)
    assert results["report"].added == 1 and "late.txt" in ids(built)


def _big_corpus(folder: Path, count: int) -> Path:
    lines = (
        json.dumps(
            {"id": f"doc-{i}", "title": f"تقرير رقم {i}", "text": f"نص التقرير {i} " * 150},
            ensure_ascii=False,
        )
        for i in range(count)
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "big.jsonl").write_text("\n".join(lines), encoding="utf-8")
    return folder


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "search.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_killed_rebuild_leaves_the_old_index_serving(built: IndexHome, tmp_path: Path, delay: float) -> None:
    before = hits(built, "football")
    process = _cli("rebuild", "--quiet", "--index", str(built.path), str(_big_corpus(tmp_path / "big", 4000)))
    deadline = time.monotonic() + 20
    while not built.leftovers() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)  # wait until the new generation is being written
    time.sleep(delay)
    if process.poll() is not None:
        pytest.skip("the rebuild finished before it could be killed")
    os.killpg(process.pid, signal.SIGKILL)  # the writer and its worker processes
    process.wait(10)
    assert hits(built, "football") == before and len(ids(built)) == 7
    assert built.leftovers()  # reported by `fahras stats`, removed by the next rebuild
    report = rebuild_index(built, tmp_path / "big", show_progress=False)
    assert report.total_docs == 4000 and built.leftovers() == []


def test_analysed_text_gives_whooshs_own_postings() -> None:
    """The memo path of every text field indexes exactly what Whoosh's token path would."""
    schema = build_schema()
    texts = [*demo_texts(), "", "   ", "و في the", "ﷺ كتابًا كتاباً dying O'Neill's ١٢٣ 123"]
    for name in ("title", "body", "title_exact", "body_exact", "title_root", "body_root"):
        field = schema[name]
        assert isinstance(field, AnalysedText)
        for text in texts:
            assert list(field.index(text)) == list(TEXT.index(field, text)), (name, text[:40])
