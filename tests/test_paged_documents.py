"""PDFs in an index: a hit says its page, the document page shows the pages, the original is served by id.

The PDFs are made here (tests/pdf_builder.py): a text PDF of two pages, and a
scan (a page's image with no text layer) that Tesseract recognises when it
is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.generations import rebuild
from index.readers import ocr
from index.store import IndexHome
from search.engine import SearchEngine
from web import create_app

from .conftest import write_corpus
from .pdf_builder import FONT, Text, image_pdf, shaped, text_pdf

needs_font = pytest.mark.skipif(not FONT.exists(), reason="needs fonts-dejavu-core (Debian) to draw PDFs")
needs_tesseract = pytest.mark.skipif(
    ocr.unavailable_reason() is not None, reason=f"no OCR here: {ocr.unavailable_reason()}"
)


@pytest.fixture
def paged(tmp_path: Path) -> tuple[IndexHome, Path]:
    """A folder with a two-page report, a JSON record, and (where Tesseract is) a scanned page, indexed."""
    if not FONT.exists():
        pytest.skip("needs fonts-dejavu-core (Debian) to draw PDFs")
    folder = write_corpus(
        tmp_path / "archive", {"records.jsonl": json.dumps({"id": "rec-1", "text": "quokka record"})}
    )
    text_pdf(folder / "report.pdf", [[Text("Annual report on the harbour", 20, 200)],
                                     [Text("The quokka census results", 20, 200)]])  # fmt: skip
    if ocr.unavailable_reason() is None:
        words = [Text(shaped("قانون البيئة والمحميات الطبيعية"), 40, 520, 24)]
        image_pdf(folder / "scan.pdf", text_pdf(tmp_path / "source.pdf", [words], size=(500, 700)))
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    return home, folder


def test_a_hit_in_a_pdf_says_its_page(paged) -> None:
    home, _folder = paged
    hits = {hit.id: hit for hit in SearchEngine.at(home).search("quokka").hits}
    assert hits["report.pdf"].page == 2 and not hits["report.pdf"].ocr
    assert hits["rec-1"].page is None  # not a paged file
    assert SearchEngine.at(home).search("harbour").hits[0].page == 1


def test_the_document_page_shows_the_pdf_page_by_page_with_links_to_the_original(paged) -> None:
    home, _folder = paged
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    data = client.get("/api/doc/report.pdf", query_string={"q": "quokka"}).get_json()
    assert [(page["number"], page["ocr"]) for page in data["pages"]] == [(1, False), (2, False)]
    assert "<mark>" not in data["pages"][0]["html"] and "<mark>quokka</mark>" in data["pages"][1]["html"]
    assert data["file"] and data["file_url"].endswith("/file/report.pdf")
    html = client.get("/doc/report.pdf", query_string={"q": "quokka"}).get_data(as_text=True)
    assert 'id="page-2"' in html and 'href="/file/report.pdf#page=2"' in html
    assert client.get("/api/doc/rec-1").get_json()["pages"] == []


def test_the_original_file_is_served_by_document_id_only(paged) -> None:
    home, folder = paged
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    served = client.get("/file/report.pdf")
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.data == (folder / "report.pdf").read_bytes()
    assert client.get("/api/doc/rec-1").get_json()["file_url"] is None  # a record is not a file of its own
    for unknown in (
        "rec-1",
        "records.jsonl",
        "../index/live/fahras-build.json",
        "/etc/passwd",
        "nothing.pdf",
    ):
        assert client.get(f"/file/{unknown}").status_code == 404, unknown
    (folder / "report.pdf").unlink()  # gone from the folder since it was indexed
    assert client.get("/file/report.pdf").status_code == 404


@needs_tesseract
def test_a_scanned_pdf_is_searchable_marked_and_never_recognised_twice(paged, monkeypatch) -> None:
    home, folder = paged
    hits = SearchEngine.at(home).search("المحميات").hits
    assert [hit.id for hit in hits] == ["scan.pdf"] and hits[0].ocr and hits[0].page == 1
    calls = []
    real = ocr._tesseract
    monkeypatch.setattr(ocr, "_tesseract", lambda *args: calls.append(args) or real(*args))
    rebuild(home, folder, show_progress=False)
    assert calls == [] and SearchEngine.at(home).search("المحميات").total == 1  # the rebuild read the cache
