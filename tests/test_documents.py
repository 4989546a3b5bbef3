"""Reading every input format, and reporting every kind of bad file."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from index import documents
from index.documents import (
    Document,
    FileReader,
    Note,
    Skipped,
    SourceFile,
    decode_text,
    detect_language,
    parse_html,
)
from index.generations import update
from index.indexer import iter_documents
from index.store import IndexHome

from .conftest import write_corpus


def load(root: Path) -> tuple[dict[str, Document], list[Skipped]]:
    docs, skipped = {}, []
    for item in iter_documents(root):
        if isinstance(item, Skipped):
            skipped.append(item)
        elif isinstance(item, Document):
            docs[item.id] = item
    return docs, skipped


def test_every_format_is_read(corpus: Path) -> None:
    docs, skipped = load(corpus)
    assert skipped == []
    assert set(docs) == {
        "news/election.txt", "news/crisis.txt", "science/stars.md", "science/mixed.txt",
        "culture/poetry.html", "j1", "j2",
    }  # fmt: skip
    assert docs["news/election.txt"].title == "الانتخابات البلدية في المدينة"
    assert docs["news/election.txt"].body.startswith("أعلنت اللجنة")
    assert docs["science/stars.md"].title == "Counting the stars"
    assert docs["j1"].source == "Sports Daily" and docs["j1"].date.year == 2024
    assert docs["news/crisis.txt"].source == "news"  # top-level folder


def test_html_keeps_visible_text_only() -> None:
    title, body = parse_html(
        "<html><head><title>A &amp; B</title><script>alert(1)</script></head>"
        "<body><h1>Heading</h1><p>Visible <b>text</b></p><style>.x{}</style><noscript>no</noscript></body></html>"
    )
    assert title == "A & B"
    assert "Visible text" in body and "alert" not in body and ".x" not in body and "no" not in body.split()


def test_language_detection() -> None:
    assert detect_language("هذا نص عربي خالص") == "ar"
    assert detect_language("Plain English text") == "en"
    assert detect_language("نص عربي مع some English words in it here") == "mixed"


def test_record_language_wins_over_detection(tmp_path: Path) -> None:
    record = {"id": "x", "title": "عنوان", "text": "نص", "lang": "en"}
    write_corpus(tmp_path, {"a.json": json.dumps(record)})
    docs, _ = load(tmp_path)
    assert docs["x"].lang == "en"


def test_character_references_in_records_become_the_characters(tmp_path: Path) -> None:
    record = {
        "id": "x",
        "title": "&quot;iOS 9&#8243; from AT&amp;T",
        "text": "&#8220;قال&#8221; AT&T &copy 5 &#99999999;",
    }
    write_corpus(tmp_path, {"a.json": json.dumps(record)})
    docs, _ = load(tmp_path)
    assert docs["x"].title == '"iOS 9″ from AT&T'
    assert docs["x"].body == "“قال” AT&T &copy 5 &#99999999;"  # incomplete or impossible references stay text


def test_windows_1256_arabic_is_decoded(tmp_path: Path) -> None:
    text = "الأزمة الاقتصادية\n\nتفاقمت الأزمة في المدينة."
    write_corpus(tmp_path, {"old.txt": text.encode("cp1256")})
    docs, skipped = load(tmp_path)
    assert skipped == []
    assert docs["old.txt"].title == "الأزمة الاقتصادية"


def test_utf8_bom_and_utf16_are_decoded() -> None:
    assert decode_text("\ufeffنص".encode()) == "نص"
    assert decode_text("نص عربي".encode("utf-16")) == "نص عربي"


def test_json_list_and_gzipped_lines(tmp_path: Path) -> None:
    records = [{"id": f"r{i}", "title": f"Title {i}", "text": "Body"} for i in range(3)]
    with gzip.open(tmp_path / "feed.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write("\n".join(json.dumps(r) for r in records))
    write_corpus(tmp_path, {"list.json": json.dumps([{"id": "l1", "title": "T", "text": "B"}])})
    docs, skipped = load(tmp_path)
    assert skipped == [] and set(docs) == {"r0", "r1", "r2", "l1"}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("empty.txt", b"   \n\n", "empty"),
        ("latin1.txt", "café crème brûlée à la française".encode("latin-1"), "not UTF-8"),
        ("broken.json", b'{"id": "x", "title": ', "invalid JSON"),
        (
            "truncated.jsonl.gz",
            gzip.compress(b'{"id": "a", "title": "A", "text": "x"}\n' * 50)[:-30],
            "truncated",
        ),
    ],
)
def test_bad_files_are_reported_and_skipped(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    write_corpus(tmp_path, {name: content, "good.txt": "Good title\n\nGood body"})
    docs, skipped = load(tmp_path)
    assert "good.txt" in docs
    assert len(skipped) == 1 and skipped[0].path.endswith(name)
    assert reason in skipped[0].reason


def test_truncated_gzip_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    lines = b"".join(
        json.dumps({"id": f"d{i}", "title": "t", "text": "x" * 200}).encode() + b"\n" for i in range(200)
    )
    write_corpus(tmp_path, {"feed.jsonl.gz": gzip.compress(lines)[:-100]})
    docs, skipped = load(tmp_path)
    assert 100 < len(docs) < 200
    assert "truncated" in skipped[0].reason


def test_an_invalid_date_or_language_is_reported_and_the_record_indexed(tmp_path: Path) -> None:
    records = [
        {"id": "a", "title": "Harbour", "text": "harbour news", "date": "yesterday", "lang": "english"},
        {"id": "b", "title": "Harbour", "text": "harbour news", "date": "2015-07-21", "lang": "en"},
    ]
    write_corpus(tmp_path / "c", {"feed.jsonl": "\n".join(json.dumps(r) for r in records)})
    notes = [item for item in iter_documents(tmp_path / "c") if isinstance(item, Note)]
    assert [(note.line, note.reason) for note in notes] == [
        (1, "'lang' 'english' is not one of ar, en, mixed: detected as en"),
        (1, "'date' 'yesterday' is not a date like 2015-07-21: indexed undated"),
    ]
    report = update(IndexHome(tmp_path / "index"), tmp_path / "c", show_progress=False)
    assert report.added == 2 and report.skipped == []
    assert "  note: " + str(notes[1]) in report.summary().splitlines()


def test_invalid_json_line_is_reported_with_its_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "title": "A", "text": "x"}),
        "{not json",
        json.dumps({"id": "b", "title": "B", "text": "y"}),
    ]
    write_corpus(tmp_path, {"feed.jsonl": "\n".join(lines)})
    docs, skipped = load(tmp_path)
    assert set(docs) == {"a", "b"}
    assert skipped[0].line == 2 and "feed.jsonl:2" in str(skipped[0])


def test_record_without_text_is_reported(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"feed.jsonl": json.dumps({"id": "a"}) + "\n" + json.dumps([1, 2])})
    _, skipped = load(tmp_path)
    assert [s.reason for s in skipped] == ["record has no title or text", "not a JSON object"]


def test_multi_megabyte_single_line_is_indexed(tmp_path: Path) -> None:
    body = "كلمة " * 600_000
    write_corpus(
        tmp_path, {"big.jsonl": json.dumps({"id": "big", "title": "كبير", "text": body}, ensure_ascii=False)}
    )
    docs, skipped = load(tmp_path)
    assert skipped == [] and len(docs["big"].body) > 2_000_000


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"a/doc.txt": "Title\n\nBody"})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    docs, skipped = load(tmp_path)
    assert list(docs) == ["a/doc.txt"]
    assert any("symlink loop" in s.reason for s in skipped)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"secret.txt": "Title\n\nBody"})
    (tmp_path / "secret.txt").chmod(0)
    _, skipped = load(tmp_path)
    assert "cannot read" in skipped[0].reason


def test_arabic_file_names_with_spaces(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"تقارير سنوية/تقرير ٢٠٢٤.txt": "التقرير السنوي\n\nنص التقرير"})
    docs, skipped = load(tmp_path)
    assert skipped == [] and list(docs) == ["تقارير سنوية/تقرير ٢٠٢٤.txt"]


def test_unsupported_files_are_reported_and_hidden_ones_ignored(tmp_path: Path) -> None:
    write_corpus(
        tmp_path,
        {"photo.jpg": b"\xff\xd8", "scans/scan.tiff": b"II*\x00", "LICENSE": "MIT", ".hidden.txt": "x\ny",
         ".git/x.txt": "a\nb", "ok.txt": "T\nB"},
    )  # fmt: skip
    docs, skipped = load(tmp_path)
    assert list(docs) == ["ok.txt"]
    reasons = {Path(item.path).name: item.reason for item in skipped}
    assert set(reasons) == {"photo.jpg", "scan.tiff", "LICENSE"}  # hidden files stay unmentioned
    assert reasons["scan.tiff"].startswith("a .tiff file: not a format Fahras reads (")
    assert ".pdf" in reasons["scan.tiff"] and ".jsonl" in reasons["scan.tiff"]
    assert reasons["LICENSE"].startswith("a file without an extension")


def test_markdown_is_read_as_text(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"notes/lucena.md": (
        "Lucena **rebuilt**\n=================\n\n## 4. The *old* bridge\n\n"
        "See [the map](http://example.com/map) and `code`.\n\n"
        "| city | year |\n|---|---|\n| Lucena | 1492 |\n\n<script>hidden()</script>\n- ~~gone~~ kept\n"
    )})  # fmt: skip
    docs, skipped = load(tmp_path)
    doc = docs["notes/lucena.md"]
    assert skipped == [] and doc.title == "Lucena rebuilt"
    assert doc.body.splitlines()[0] == "4. The old bridge"
    assert "See the map and code." in doc.body and "1492" in doc.body and "gone kept" in doc.body
    for markup in ("**", "##", "](", "`", "|", "~~", "===", "hidden()", "http://"):
        assert markup not in doc.body, markup


def test_a_flat_folder_is_its_own_source(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "minutes", {"a.txt": "A\nx", "b.jsonl": '{"id": "r", "text": "y"}\n',
                                                 "sub/c.txt": "C\nz"})  # fmt: skip
    docs, _ = load(folder)
    assert docs["a.txt"].source == "minutes" and docs["r"].source == "minutes"
    assert docs["sub/c.txt"].source == "sub"  # a subfolder is still its own source


def test_gzip_bomb_is_stopped_and_reported(tmp_path: Path, monkeypatch) -> None:
    from index import documents

    monkeypatch.setattr(documents, "MAX_DECOMPRESSED_BYTES", 1_000_000)
    line = json.dumps({"id": "x", "title": "t", "text": "a" * 1000}).encode() + b"\n"
    write_corpus(tmp_path, {"bomb.jsonl.gz": gzip.compress(line * 5000), "good.txt": "Good\n\nBody"})
    docs, skipped = load(tmp_path)
    assert "good.txt" in docs
    assert "gzip bomb" in skipped[0].reason


def test_a_gzip_of_newlines_costs_a_bounded_number_of_lines(tmp_path: Path) -> None:
    """200 MiB of newlines from a 200 KB file: read up to the cap (seconds), not to the end (minutes)."""
    write_corpus(tmp_path, {"newlines.jsonl.gz": gzip.compress(b"\n" * 200 * 1024 * 1024, compresslevel=9)})
    docs, skipped = load(tmp_path)
    assert docs == {} and [item.reason.split(":")[0] for item in skipped] == ["stopped after line 2,000,000"]


def test_a_file_of_tiny_records_is_read_up_to_the_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(documents, "MAX_LINES_PER_FILE", 1000)
    lines = "".join(json.dumps({"id": i, "text": "x"}) + "\n" for i in range(5000))
    write_corpus(tmp_path, {"tiny.jsonl": lines})
    docs, skipped = load(tmp_path)
    assert len(docs) == 1000 and "split it into several files" in skipped[0].reason


def test_endless_line_in_a_gzip_is_stopped(tmp_path: Path, monkeypatch) -> None:
    from index import documents

    monkeypatch.setattr(documents, "MAX_LINE_BYTES", 100_000)
    write_corpus(tmp_path, {"zeros.jsonl.gz": gzip.compress(b"0" * 5_000_000)})
    _, skipped = load(tmp_path)
    assert "longer than" in skipped[0].reason


# ------------------------------------------------------------------ hostile files


def within(seconds: float, work):
    """``work()``'s result, failing the test if it has not returned after ``seconds`` (a hang)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"still running after {seconds} s"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"ok.txt": "Fine\n\nA normal file"})
    os.mkfifo(tmp_path / "pipe.txt")
    docs, skipped = within(60, lambda: load(tmp_path))
    assert list(docs) == ["ok.txt"]
    assert [s.reason for s in skipped] == ["not a regular file (a FIFO, socket or device): not read"]
    # A FIFO put in a file's place after the walk saw a regular file is refused when opened.
    source = SourceFile(tmp_path / "pipe.txt", 0, "pipe.txt")
    items = within(60, lambda: list(FileReader(source)))
    assert [item.reason for item in items] == ["not a regular file (a FIFO, socket or device): not read"]


@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl"])
def test_deeply_nested_json_is_skipped(tmp_path: Path, name: str) -> None:
    write_corpus(tmp_path, {name: "[" * 100_000, "ok.txt": "Fine\n\nA normal file"})
    if name.endswith("l"):
        (tmp_path / name).write_text("[" * 100_000 + '\n{"id": "good", "text": "kept"}\n', encoding="utf-8")
    docs, skipped = load(tmp_path)
    assert {"ok.txt"} <= set(docs) and ("good" in docs) == name.endswith("l")
    assert [s.reason for s in skipped] == ["JSON nested too deeply to read"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": [[[1]]], "text": "x"}, "'id' must be a string or a number"),
        ({"id": {"a": 1}, "text": "x"}, "'id' must be a string or a number"),
        ({"id": "x" * 1001, "text": "x"}, "'id' is longer than 1,000 characters"),
    ],
)
def test_unusable_record_ids_are_reported(tmp_path: Path, record: dict, reason: str) -> None:
    write_corpus(tmp_path, {"feed.jsonl": json.dumps(record) + '\n{"id": 7, "text": "number id"}'})
    docs, skipped = load(tmp_path)
    assert list(docs) == ["7"] and [s.reason for s in skipped] == [reason]


def test_a_file_of_bad_lines_gives_a_bounded_report(tmp_path: Path) -> None:
    # 200,000 lines of {} (the 29 KB file had 10 million): each is a
    # record without text; they are counted, and only the first few listed.
    write_corpus(tmp_path, {"empty.jsonl.gz": gzip.compress(b"{}\n" * 200_000)})
    _, skipped = load(tmp_path)
    assert len(skipped) == documents.MAX_SKIPS_PER_FILE + 1
    assert sum(item.count for item in skipped) == 200_000
    assert "199,980 more lines could not be indexed" in skipped[-1].reason


def test_a_huge_title_is_cut_and_its_words_stay_in_the_body(tmp_path: Path) -> None:
    words = [f"word{i}" for i in range(200_000)]
    write_corpus(
        tmp_path,
        {"one-line.txt": " ".join(words), "feed.jsonl": json.dumps({"id": "r", "title": "t" * 5000})},
    )
    docs, _ = load(tmp_path)
    for doc in docs.values():
        assert len(doc.title) <= documents.MAX_TITLE_CHARS and doc.title.endswith("…")
    assert docs["one-line.txt"].title.startswith("word0 word1 ") and "word199999" in docs["one-line.txt"].body
    assert "t" * 5000 in docs["r"].body


def test_long_sources_and_urls_are_capped(tmp_path: Path) -> None:
    record = {"id": "r", "text": "body", "source": "s" * 10_000, "url": "http://x/" + "u" * 10_000}
    write_corpus(tmp_path, {"feed.jsonl": json.dumps(record)})
    doc = load(tmp_path)[0]["r"]
    assert len(doc.source) <= documents.MAX_SOURCE_CHARS and len(doc.url) == documents.MAX_URL_CHARS


# ------------------------------------------------------------------ links and folders


def test_symlinks_are_followed_only_inside_the_folder(tmp_path: Path) -> None:
    outside = write_corpus(
        tmp_path / "outside", {"secret.txt": "Secret\n\nroot:x:0:0", "dir/s.txt": "S\n\nx"}
    )
    corpus = write_corpus(tmp_path / "corpus", {"real/doc.txt": "Doc\n\nInside"})
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "elsewhere").symlink_to(outside / "dir")
    (corpus / "alias.txt").symlink_to(corpus / "real" / "doc.txt")
    (corpus / "again").symlink_to(corpus / "real")
    docs, skipped = load(corpus)
    assert set(docs) == {"real/doc.txt"}  # the aliases are not indexed a second time
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"elsewhere", "passwd.txt", "alias.txt", "again"}
    assert "outside" in reasons["passwd.txt"] and "outside" in reasons["elsewhere"]
    assert "indexed under its own name" in reasons["alias.txt"] and "not followed" in reasons["again"]


def test_an_unreadable_folder_is_reported_and_kept(tmp_path: Path, monkeypatch) -> None:
    corpus = write_corpus(tmp_path, {"sub/a.txt": "A\n\nx", "b.txt": "B\n\ny"})
    if os.geteuid() == 0:  # root reads any folder: refuse this one as the kernel would
        real_scandir = os.scandir

        def scandir(path="."):
            if Path(path) == corpus / "sub":
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        (corpus / "sub").chmod(0)
    try:
        docs, skipped = load(corpus)
    finally:
        (corpus / "sub").chmod(0o755)
    assert list(docs) == ["b.txt"]
    assert [(s.reason, s.keep) for s in skipped] == [
        ("cannot read folder: Permission denied; its documents are kept", str(corpus / "sub"))
    ]
