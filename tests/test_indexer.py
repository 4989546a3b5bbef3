"""Incremental indexing, atomic rebuilds, crashes and concurrent writers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from whoosh.fields import TEXT

from index.generations import rebuild, update
from index.schema import AnalysedText, build_schema
from index.store import IndexHome, NoIndex, WriterBusy
from search.engine import SearchEngine

from .conftest import demo_texts, write_corpus


def ids(home: IndexHome) -> set[str]:
    with home.open().searcher() as searcher:
        return {fields["id"] for fields in searcher.all_stored_fields()}


def hits(home: IndexHome, query: str) -> list[str]:
    return [hit.id for hit in SearchEngine.at(home).search(query, size=50).hits]


def test_first_index_adds_everything(home: IndexHome, corpus: Path) -> None:
    report = update(home, corpus, show_progress=False)
    assert report.added == 7 and report.total_docs == 7
    assert "Indexed 7 new" in report.summary()


def test_second_run_changes_nothing(built: IndexHome, corpus: Path) -> None:
    generation = built.live_dir()
    report = update(built, corpus, show_progress=False)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 7)
    assert report.summary().startswith("Nothing to do")
    assert built.live_dir() == generation


def test_updates_and_deletes_follow_the_folder(built: IndexHome, corpus: Path) -> None:
    (corpus / "news" / "crisis.txt").write_text("أزمة المياه\n\nنقص المياه في الصيف.", encoding="utf-8")
    (corpus / "science" / "stars.md").unlink()
    write_corpus(corpus, {"new.txt": "Volcano erupts\n\nLava reached the sea."})
    report = update(built, corpus, show_progress=False)
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
    update(built, corpus, show_progress=False)
    assert segments() == before + 1  # an incremental run writes a segment of its own
    for path in (corpus / "extra").iterdir():
        path.unlink()
    report = update(built, corpus, show_progress=False)
    assert report.deleted == 2 and segments() == before
    assert hits(built, "volcano") == [] and len(ids(built)) == 7


def test_removed_json_record_is_deleted(built: IndexHome, corpus: Path) -> None:
    feed = corpus / "feed.jsonl"
    feed.write_text(feed.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    report = update(built, corpus, show_progress=False)
    assert report.deleted == 1 and "j2" not in ids(built)


def test_indexing_a_subfolder_leaves_the_rest_alone(built: IndexHome, corpus: Path) -> None:
    # Ids are paths in the collection (relative to the folder first indexed),
    # so a subfolder's files keep their ids, and nothing outside it is touched.
    before = ids(built)
    (corpus / "news" / "election.txt").unlink()
    (corpus / "science" / "stars.md").unlink()  # outside the subfolder: not looked at
    report = update(built, corpus / "news", show_progress=False)
    assert (report.added, report.deleted, report.unchanged) == (0, 1, 1)
    assert ids(built) == before - {"news/election.txt"}


def test_a_damaged_file_does_not_delete_its_documents(built: IndexHome, corpus: Path) -> None:
    feed = corpus / "feed.jsonl"
    feed.write_text(feed.read_text(encoding="utf-8").splitlines()[0] + "\n{broken", encoding="utf-8")
    report = update(built, corpus, show_progress=False)
    assert report.deleted == 0 and {"j1", "j2"} <= ids(built)
    assert report.skipped and report.skipped[0].line == 2


def test_duplicate_ids_are_reported(home: IndexHome, tmp_path: Path) -> None:
    write_corpus(tmp_path / "c", {"a.json": json.dumps({"id": "same", "title": "A", "text": "a"}),
                                  "b.json": json.dumps({"id": "same", "title": "B", "text": "b"})})  # fmt: skip
    report = update(home, tmp_path / "c", show_progress=False)
    assert report.added == 1 and "duplicate id 'same'" in report.skipped[0].reason


def test_rebuild_swaps_in_a_new_generation(built: IndexHome, corpus: Path) -> None:
    old = built.live_dir()
    write_corpus(corpus, {"extra.txt": "Extra\n\nMore text"})
    report = rebuild(built, corpus, show_progress=False)
    assert report.total_docs == 8
    assert built.live_dir() != old and "extra.txt" in ids(built)
    assert built.leftovers() == []


def test_open_searcher_survives_a_rebuild(built: IndexHome, corpus: Path) -> None:
    engine = SearchEngine.at(built)
    assert engine.search("football").total == 1
    snapshot = engine.backend.snapshot()
    (corpus / "feed.jsonl").unlink()
    rebuild(built, corpus, show_progress=False)
    assert snapshot.document("j1") is not None  # the old generation is still readable
    assert engine.search("football").total == 0  # the engine moved to the new one


def test_missing_index_is_a_clear_error(home: IndexHome) -> None:
    with pytest.raises(NoIndex, match="fahras index FOLDER"):
        home.open()


def test_second_writer_waits_then_fails_clearly(built: IndexHome, corpus: Path) -> None:
    with built.write_lock():
        started = time.monotonic()
        with pytest.raises(WriterBusy, match="another fahras index/rebuild is writing"):
            update(built, corpus, show_progress=False, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5


def test_second_writer_proceeds_once_the_first_is_done(built: IndexHome, corpus: Path) -> None:
    write_corpus(corpus, {"late.txt": "Late\n\nArrived late"})
    results = {}

    def second() -> None:
        results["report"] = update(built, corpus, show_progress=False, lock_timeout=10)

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
        [sys.executable, "-m", "fahras_cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_killed_rebuild_leaves_the_old_index_serving(built: IndexHome, tmp_path: Path, delay: float) -> None:
    before = hits(built, "football")
    process = _cli(
        "rebuild", "--only", "--quiet", "--index", str(built.path), str(_big_corpus(tmp_path / "big", 4000))
    )
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
    report = rebuild(built, tmp_path / "big", only=True, show_progress=False)
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


# ------------------------------------------------------------------ several folders, links, permissions


def test_same_named_files_in_two_folders_never_replace_each_other(home: IndexHome, tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "f1", {"notes.txt": "First notes\n\nalpha", "feed.jsonl": json.dumps({"id": "shared", "text": "kept copyone"})})  # fmt: skip
    second = write_corpus(tmp_path / "f2", {"notes.txt": "Second notes\n\nbeta", "feed.jsonl": json.dumps({"id": "shared", "text": "refused copytwo"})})  # fmt: skip
    update(home, first, show_progress=False)
    report = update(home, second, show_progress=False)
    assert (report.added, report.updated, report.deleted) == (1, 0, 0)
    assert [s.reason for s in report.skipped] == [
        f"duplicate id 'shared' (first seen in {first / 'feed.jsonl'})"
    ]
    assert ids(home) == {"notes.txt", "shared", "f2/notes.txt"}
    assert hits(home, "alpha") == ["notes.txt"] and hits(home, "beta") == ["f2/notes.txt"]
    assert hits(home, "copyone") == ["shared"] and hits(home, "copytwo") == []
    assert update(home, first, show_progress=False).changed == 0  # each folder keeps its own
    (second / "notes.txt").unlink()
    assert update(home, second, show_progress=False).deleted == 1
    assert ids(home) == {"notes.txt", "shared"}


def test_a_link_that_goes_away_takes_its_document(home: IndexHome, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", {"a/doc.txt": "Linked\n\nvolcano", "b/own.txt": "Own\n\nlava"})
    update(home, corpus, show_progress=False)
    (corpus / "b" / "alias.txt").symlink_to(corpus / "a" / "doc.txt")
    update(home, corpus / "b", show_progress=False)  # the link leads outside the folder walked
    assert set(hits(home, "volcano")) == {"a/doc.txt", "b/alias.txt"}
    (corpus / "b" / "alias.txt").unlink()
    assert update(home, corpus / "b", show_progress=False).deleted == 1
    assert hits(home, "volcano") == ["a/doc.txt"]


def test_a_link_out_of_the_folder_is_not_indexed(home: IndexHome, tmp_path: Path) -> None:
    secret = write_corpus(tmp_path / "private", {"passwd.txt": "root\n\nroot:x:0:0 secretword"})
    corpus = write_corpus(tmp_path / "c", {"ok.txt": "Fine\n\nA normal file"})
    (corpus / "passwd.txt").symlink_to(secret / "passwd.txt")
    report = update(home, corpus, show_progress=False)
    assert report.added == 1 and "not followed" in report.skipped[0].reason
    assert hits(home, "secretword") == [] and hits(home, "root") == []


def _unprivileged() -> list[str]:
    """A command prefix under which permissions apply (root reads everything otherwise)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def test_an_unreadable_subfolder_keeps_its_documents(home: IndexHome, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", {"sub/inner.txt": "Inner\n\nvolcano", "top.txt": "Top\n\nlava"})
    update(home, corpus, show_progress=False)
    (corpus / "sub").chmod(0)
    try:
        command = [*_unprivileged(), sys.executable, "-m", "fahras_cli", "index", "--index", str(home.path), str(corpus)]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        (corpus / "sub").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert f"{corpus / 'sub'}: cannot read folder: Permission denied; its documents are kept" in result.stdout
    assert "deleted 0" in result.stdout and hits(home, "volcano") == ["sub/inner.txt"]


def test_a_long_body_is_stored_capped_and_searched_whole(
    home: IndexHome, tmp_path: Path, monkeypatch
) -> None:
    from index import generations

    monkeypatch.setattr(generations, "MAX_STORED_BODY_CHARS", 1000)
    text = "filler " * 1000 + "needleword"
    update(home, write_corpus(tmp_path / "c", {"long.txt": f"Long\n\n{text}"}), show_progress=False)
    assert hits(home, "needleword") == ["long.txt"]
    assert len(SearchEngine.at(home).document("long.txt")["body"]) == 1000


def test_an_index_of_an_empty_folder_takes_documents_later(home: IndexHome, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert update(home, folder, show_progress=False).total_docs == 0
    write_corpus(folder, {"first.txt": "First\n\nAt last a document"})
    assert update(home, folder, show_progress=False).added == 1 and ids(home) == {"first.txt"}


def test_a_name_that_is_not_utf8_is_reported_and_the_rest_indexed(home: IndexHome, tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "f", {"ok.txt": "Fine\nharbour news\n"})
    (folder / os.fsdecode(b"\xff\xfe.txt")).write_text("Bad\nharbour name\n", encoding="utf-8")
    (folder / os.fsdecode(b"\xfadir")).mkdir()
    (folder / os.fsdecode(b"\xfadir") / "inside.txt").write_text("In\nharbour folder\n", encoding="utf-8")
    report = update(home, folder, show_progress=False)
    assert report.added == 1 and ids(home) == {"ok.txt"}
    assert sorted(str(item) for item in report.skipped) == [
        f"{folder}/\\xfadir: its name is not valid UTF-8 text: not read (rename it to index it)",
        f"{folder}/\\xff\\xfe.txt: its name is not valid UTF-8 text: not read (rename it to index it)",
    ]
    report.summary().encode("utf-8")  # printable as it is
