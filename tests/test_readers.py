"""The format readers: PDF text repairs for Arabic, OCR and its cache, bounds, Word/ODT/EPUB/Word 97."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from index import documents
from index.documents import BadFile, FileReader, SourceFile, find_files
from index.generations import update
from index.progress import OCR, Progress
from index.readers import (
    READERS,
    Extracted,
    Page,
    PageDone,
    ReadOptions,
    doc,
    docx,
    epub,
    ocr,
    odt,
    pdf,
    pdf_child,
    zipxml,
)
from index.readers.arabic_text import (
    Glyph,
    clean_page,
    fold_heh,
    from_visual,
    is_visual_page,
    plausible_share,
    repair_ligatures,
)
from index.readers.ocr import OcrCache, OcrSettings
from index.readers.progress import showing_ocr
from index.store import IndexHome
from search.engine import SearchEngine

from . import office_builder as office
from .conftest import SHARED
from .pdf_builder import FONT, Text, encrypted_pdf, image_pdf, shaped, text_pdf, with_ligature_mapping
from .servers import alive, children_of

LAWS = SHARED / "documents" / "egyptian-laws"
OPTIONS = ReadOptions()
needs_font = pytest.mark.skipif(
    not FONT.exists(), reason="needs fonts-dejavu-core (an Arabic font to draw with)"
)
needs_tesseract = pytest.mark.skipif(
    ocr.unavailable_reason() is not None, reason=f"no OCR here: {ocr.unavailable_reason()}"
)


def raw_text(path: Path, page: int = 0) -> str:
    """What pdfium itself returns: each fixture must show the fault the reader repairs."""
    return pdfium.PdfDocument(path)[page].get_textpage().get_text_range()


def glyphs(text: str, box: tuple[float, float, float, float] | None = None) -> list[Glyph]:
    return [Glyph(char, box) for char in text]


# --------------------------------------------------------------------------- registry


def test_every_registered_format_has_a_reader_module() -> None:
    for suffix, reader in READERS.items():
        if reader.module is not None:
            assert callable(importlib.import_module(f"index.readers.{reader.module}").read), suffix
    assert {".pdf", ".docx", ".odt", ".epub", ".doc", ".txt", ".jsonl.gz"} <= set(READERS)


def test_unsupported_files_name_every_format_read(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "notes.txt").write_text("title\nbody", encoding="utf-8")
    found = list(find_files(tmp_path))
    reasons = [item.reason for item in found if isinstance(item, documents.Skipped)]
    assert len(reasons) == 1 and reasons[0].startswith("a .jpg file: not a format Fahras reads (")
    assert ".pdf" in reasons[0] and ".docx" in reasons[0] and ".epub" in reasons[0]


def test_joined_pages_map_offsets_back_to_pages() -> None:
    extracted = Extracted("t", [Page(1, "first page"), Page(2, ""), Page(3, "third", ocr=True)])
    joined = extracted.joined()
    assert joined.body == "first page\n\n\n\nthird"
    assert joined.page_starts == (0, 12, 14) and joined.ocr_pages == (3,)
    assert joined.page_at(joined.body.index("third")) == 3 and joined.page_at(3) == 1


# --------------------------------------------------------------------------- PDF text, Arabic


@needs_font
def test_pdf_arabic_in_logical_order_with_both_kinds_of_numbers(tmp_path: Path) -> None:
    path = text_pdf(
        tmp_path / "gazette.pdf", [[Text(shaped("صدر في ٢١ رجب سنة ١٤٤٣ الموافق 2022"), 20, 200)]]
    )
    text = pdf.read(path, OPTIONS).pages[0].text
    assert text == "صدر في ٢١ رجب سنة ١٤٤٣ الموافق 2022"


@needs_font
def test_a_search_for_the_year_finds_the_pdf_in_either_digits(tmp_path: Path) -> None:
    folder = tmp_path / "laws"
    folder.mkdir()
    text_pdf(folder / "decree.pdf", [[Text(shaped("قرار رئيس مجلس الوزراء سنة ١٤٤٣"), 20, 200)]])
    home = IndexHome(tmp_path / "index")
    update(home, folder, show_progress=False)
    for query in ("١٤٤٣", "1443", "الوزراء"):
        assert [hit.id for hit in SearchEngine.at(home).search(query).hits] == ["decree.pdf"], query


@needs_font
def test_lam_alef_ligature_letters_are_put_back_in_order(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "ligature.pdf", [[Text("ﻷ", 100, 100)]])
    with_ligature_mapping(path, "ﻷ", "لأ")  # as Word maps its lam-alef glyph
    assert "أل" in raw_text(path)  # pdfium reverses the ligature's two letters
    assert pdf.read(path, OPTIONS).pages[0].text == "لأ"


def test_a_ligature_that_cannot_tell_follows_the_page() -> None:
    box = (10.0, 0.0, 20.0, 10.0)
    reversed_lam_alef = glyphs("ا", (30, 0, 32, 10)) + glyphs("أل", box)  # «األ»: one glyph, letters reversed
    ambiguous = glyphs("من", (50.0, 0.0, 60.0, 10.0))  # nun-meem or meem-nun: both join either way
    lines = [reversed_lam_alef, ambiguous]
    repair_ligatures(lines)
    assert ["".join(g.char for g in line) for line in lines] == ["الأ", "نم"]
    in_order = [glyphs("لا", box), glyphs("من", (50.0, 0.0, 60.0, 10.0))]
    repair_ligatures(in_order)
    assert ["".join(g.char for g in line) for line in in_order] == ["لا", "من"]


def test_presentation_forms_heh_and_unmapped_glyphs_are_folded() -> None:
    assert clean_page("ﺍﻟﺴﻼﻡ ﻋﻠﻴﻜﻢ") == "السلام عليكم"
    assert clean_page("وعل\ufffdى ق\ufffdرار") == "وعلى قرار"
    assert fold_heh("الجمھورية") == "الجمهورية"
    assert fold_heh("ھے") == "ھے"  # Urdu keeps its heh
    assert clean_page(")المادة الأولى( مكرر )ب(") == "(المادة الأولى) مكرر (ب)"
    assert (
        clean_page("(المادة الأولى) و)ب(") == "(المادة الأولى) و)ب("
    )  # most pairs face each other: left alone


@needs_font
def test_a_visually_ordered_page_is_reversed_with_latin_and_numbers_kept(tmp_path: Path) -> None:
    lines = [Text("الأمل في السلام والعدل", 20, 200), Text("الجريدة الرسمية سنة 1443 Cairo Gazette", 20, 150)]
    path = text_pdf(tmp_path / "visual.pdf", [lines])
    assert raw_text(path).startswith("لدعلاو مالسلا")  # pdfium returns it reversed
    assert (
        pdf.read(path, OPTIONS).pages[0].text
        == "الأمل في السلام والعدل\nالجريدة الرسمية سنة 1443 Cairo Gazette"
    )


def test_visual_order_needs_a_clear_margin() -> None:
    assert is_visual_page("لمألا يف مالسلا ةديرجلا ةيمسرلا")
    assert not is_visual_page("الأمل في السلام الجريدة الرسمية")
    assert not is_visual_page("كتاب قديم")  # no article either way: left alone
    assert from_visual("١٤٤٣ ةنس 2022 ويلوي") == "يوليو 2022 سنة ١٤٤٣"


@needs_font
def test_a_line_mixing_arabic_and_english_reads_in_logical_order(tmp_path: Path) -> None:
    line = [Text("Ministry of Environment", 20, 100), Text(shaped("وزارة البيئة"), 300, 100)]
    path = text_pdf(tmp_path / "letterhead.pdf", [line])
    assert "البيئة وزارة" in raw_text(path)  # pdfium keeps the Arabic words in left-to-right order
    assert pdf.read(path, OPTIONS).pages[0].text == "وزارة البيئة Ministry of Environment"


def test_a_broken_text_layer_is_not_plausible_but_real_text_is() -> None:
    layer = "²°±¶ WM\x07 d\x19L\x10u\x15 ¸ v\x10 ©Ì¨ ÑdJ\x14 ´´ ÏbF\x13Ç \xad WOL\x07d\x13Ç Éb\x17d'Ç ²\nÁÇÑÒu\x13Ç fK\x1c\x14 fOzÑ"
    assert plausible_share(layer) < 0.2  # the first line of A.pdf, a 1990s gazette
    assert plausible_share("قانون البيئة Environment law, café 2022") == 1.0
    assert pdf.needs_ocr("", images=True) and not pdf.needs_ocr("", images=False)  # a scan, a blank page
    assert pdf.needs_ocr("ÁÇÑÒu ÇäÙÏÏ åãÑÑ ÁÇÑÒu ÇäÙÏÏ åãÑÑ ÁÇÑÒu", images=False)
    assert not pdf.needs_ocr("صدر في رجب", images=False)  # short, but real text with no image under it


@needs_font
def test_pdf_title_prefers_real_metadata_over_garbage_and_file_names(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "t.pdf", [[Text("12", 20, 250), Text(shaped("قانون حماية البيئة"), 20, 200)]])
    assert pdf.read(path, OPTIONS).title == "قانون حماية البيئة"
    assert pdf._title("ÇäÙÏÏ€44€åãÑÑ", [Page(1, "قانون رقم ٤")]) == "قانون رقم ٤"
    assert pdf._title("Microsoft Word - law.doc", [Page(1, "Law 4 of 1994")]) == "Law 4 of 1994"


# --------------------------------------------------------------------------- OCR


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    if not FONT.exists():
        pytest.skip("needs fonts-dejavu-core")
    words = [
        Text(shaped("الجريدة الرسمية"), 60, 600, 30),
        Text(shaped("قانون البيئة والمحميات الطبيعية"), 40, 520, 24),
    ]
    source = text_pdf(tmp_path / "source.pdf", [words], size=(500, 700))
    return image_pdf(tmp_path / "scan.pdf", source)


@pytest.fixture
def tesseract_calls(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = ocr._tesseract

    def counted(image, settings, languages, psm):
        calls.append(languages)
        return real(image, settings, languages, psm)

    monkeypatch.setattr(ocr, "_tesseract", counted)
    return calls


@needs_tesseract
def test_a_scanned_page_is_recognised_and_marked(scan: Path) -> None:
    assert raw_text(scan) == ""
    done = []
    extracted = pdf.read(scan, ReadOptions(on_page=done.append))
    text = extracted.pages[0].text
    for word in ("الجريدة", "الرسمية", "قانون", "البيئة", "الطبيعية"):
        assert word in text
    assert extracted.pages[0].ocr and extracted.joined().ocr_pages == (1,)
    assert extracted.title == "الجريدة الرسمية"
    assert [(event.number, event.ocr) for event in done] == [(1, False), (1, True)]


@needs_tesseract
def test_the_ocr_cache_means_a_page_is_never_recognised_twice(
    scan: Path, tmp_path: Path, tesseract_calls
) -> None:
    cache = OcrCache(tmp_path / "ocr-cache")
    first = pdf.read(scan, ReadOptions(ocr_cache=cache))
    assert tesseract_calls and list((tmp_path / "ocr-cache").rglob("*.txt"))
    tesseract_calls.clear()
    copy = shutil.copy(scan, tmp_path / "renamed copy.pdf")  # same bytes, another name
    assert pdf.read(Path(copy), ReadOptions(ocr_cache=cache)).pages == first.pages
    assert tesseract_calls == []
    assert not list((tmp_path / "ocr-cache").rglob(".ocr-*"))  # no temporary file left behind


def test_cache_keys_cover_content_page_and_settings(tmp_path: Path) -> None:
    cache = OcrCache(tmp_path)
    key = cache.key("a" * 64, 1, OcrSettings())
    assert key != cache.key("b" * 64, 1, OcrSettings()) != cache.key("a" * 64, 2, OcrSettings())
    assert key != cache.key("a" * 64, 1, OcrSettings(dpi=400))
    assert cache.get(key) is None
    cache.put(key, "نص")
    assert cache.get(key) == "نص"


@needs_font
def test_without_tesseract_scans_are_noted_once_and_the_rest_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "unavailable_reason", lambda: "install tesseract-ocr and tesseract-ocr-ara")
    text = text_pdf(tmp_path / "text.pdf", [[Text(shaped("مقدمة القانون الجديد للبيئة"), 20, 200)]])
    broken = [Text("ÁÇÑÒu ÇäÙÏÏ åãÑÑ ÁÇÑÒu ÇäÙÏÏ åãÑÑ", 20, 200)]
    path = text_pdf(
        tmp_path / "mixed.pdf", [[Text(shaped("مقدمة القانون الجديد للبيئة"), 20, 200)], broken, []]
    )
    assert text.exists()
    extracted = pdf.read(path, OPTIONS)
    assert [page.text for page in extracted.pages] == ["مقدمة القانون الجديد للبيئة", "", ""]
    assert extracted.notes == ("1 scanned page not searchable: install tesseract-ocr and tesseract-ocr-ara",)
    items = list(FileReader(SourceFile(path, path.stat().st_size, "mixed.pdf")))
    assert [type(item).__name__ for item in items] == ["Note", "Document"]  # noted, not counted as skipped
    assert items[1].body == "مقدمة القانون الجديد للبيئة"


# --------------------------------------------------------------------------- bad and hostile PDFs


def test_corrupt_and_encrypted_pdfs_are_clear_skips(tmp_path: Path) -> None:
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    encrypted_pdf(tmp_path / "locked.pdf")
    reasons = {Path(item.path).name: item.reason for item in _read_folder(tmp_path)}
    assert reasons == {
        "corrupt.pdf": "damaged PDF: not a PDF, or damaged beyond repair",
        "locked.pdf": "encrypted PDF: needs a password",
    }


def _read_folder(folder: Path) -> list:
    return [item for source in find_files(folder) for item in FileReader(source)]


@needs_font
def test_pages_past_the_cap_are_not_read_and_the_user_is_told(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    path = text_pdf(tmp_path / "long.pdf", [[Text(f"page {n} text here", 20, 200)] for n in range(1, 4)])
    extracted = pdf.read(path, OPTIONS)
    assert [page.number for page in extracted.pages] == [1, 2]
    assert extracted.notes == ("pages after 2 not read (of 3): at most 2 pages are read",)
    monkeypatch.setattr(pdf, "MAX_PAGES", 10)
    monkeypatch.setattr(pdf, "TEXT_SECONDS", 0.0)  # the file's time is up after its first page
    extracted = pdf.read(path, OPTIONS)
    assert [page.number for page in extracted.pages] == [1]
    assert extracted.notes == ("pages after 1 not read (of 3): reading took over 0 s",)


@needs_font
def test_a_page_that_hangs_pdfium_is_killed_in_bounded_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pdf_child, "PAGE_SECONDS", 1.0)
    monkeypatch.setattr(pdf_child.PdfPages, "text", lambda self, index: time.sleep(600))
    path = text_pdf(tmp_path / "hang.pdf", [[Text("text", 20, 200)]])
    before = set(children_of(os.getpid()))
    started = time.monotonic()
    with pytest.raises(BadFile, match="page 1 took longer than 1 s"):
        pdf.read(path, OPTIONS)
    assert time.monotonic() - started < 10
    assert set(children_of(os.getpid())) <= before  # the child was killed and reaped: not even a zombie


@needs_font
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc to find the child process")
def test_the_pdf_child_dies_with_a_killed_build(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "slow.pdf", [[Text("text", 20, 200)]])
    busy = tmp_path / "busy"
    script = (
        "import sys, time; from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from index.readers import ReadOptions, pdf, pdf_child\n"
        f"pdf_child.PdfPages.text = lambda self, index: (Path({str(busy)!r}).touch(), time.sleep(600))\n"
        f"pdf.read(Path({str(path)!r}), ReadOptions())\n"
    )
    build = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not busy.exists() and time.monotonic() < deadline:  # the child is inside pdfium's (hanging) call
        time.sleep(0.05)
    (child,) = children_of(build.pid)
    build.kill()
    build.wait()
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


@needs_font
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (lambda self, index: os._exit(9), "the PDF library failed while page 1"),
        (lambda self, index: bytearray(8 * 1024**3), "damaged PDF: MemoryError"),
    ],
    ids=["crash", "memory"],
)
def test_a_crash_or_a_memory_bomb_in_pdfium_costs_one_file(
    tmp_path: Path, monkeypatch, fault, reason
) -> None:
    monkeypatch.setattr(pdf_child.PdfPages, "text", fault)
    path = text_pdf(tmp_path / "bomb.pdf", [[Text("text", 20, 200)]])
    with pytest.raises(BadFile, match=reason):
        pdf.read(path, OPTIONS)


def test_a_huge_page_is_rendered_within_the_pixel_cap(tmp_path: Path) -> None:
    document = pdfium.PdfDocument.new()
    document.new_page(14400, 14400)  # 200 inches square: 3.6 gigapixels at 300 dpi
    document.save(tmp_path / "huge.pdf")
    image = pdf_child.PdfPages(tmp_path / "huge.pdf").render(0, 300)
    width, height = map(int, image.split(b"\n")[1].split())
    assert width * height <= pdf_child.MAX_RENDER_PIXELS and width > 1000


def test_a_pdf_over_the_size_cap_is_not_opened(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "MAX_PDF_BYTES", 100)
    (tmp_path / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    with pytest.raises(BadFile, match="too large"):
        pdf.read(tmp_path / "big.pdf", OPTIONS)


# --------------------------------------------------------------------------- Word, ODT, EPUB


def test_docx_reads_body_tables_headers_once_and_footnotes(tmp_path: Path) -> None:
    body = (
        office.w_paragraph("قانون البيئة", "Heading1")
        + office.w_paragraph("المادة الأولى")
        + office.w_table([["الملوث", "الحد"], ["الرصاص", "٠٫٥"]])
    )
    path = office.docx(
        tmp_path / "law.docx", body, headers=["وزارة البيئة", "وزارة البيئة"], footnotes=["حاشية المادة"]
    )
    extracted = docx.read(path, OPTIONS)
    assert extracted.title == "قانون البيئة"
    assert extracted.pages[0].text.splitlines() == [
        "وزارة البيئة",
        "قانون البيئة",
        "المادة الأولى",
        "الملوث",
        "الحد",
        "الرصاص",
        "٠٫٥",
        "حاشية المادة",
    ]


def test_docx_title_comes_from_core_properties_and_text_boxes_are_read_once(tmp_path: Path) -> None:
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    box = f"<w:p><w:r><w:t>text </w:t></w:r><mc:AlternateContent xmlns:mc='{mc}'><mc:Choice>{office.w_paragraph('in a box')}</mc:Choice><mc:Fallback>{office.w_paragraph('in a box')}</mc:Fallback></mc:AlternateContent></w:p>"
    path = office.docx(tmp_path / "t.docx", box, title="Annual report")
    extracted = docx.read(path, OPTIONS)
    assert extracted.title == "Annual report"
    assert extracted.pages[0].text == "text\nin a box"


def test_odt_reads_tables_notes_and_page_styles_once(tmp_path: Path) -> None:
    body = (
        "<text:h>تقرير البيئة</text:h>"
        "<text:p>نص<text:s text:c='3'/>الفقرة<text:note><text:note-citation>1</text:note-citation>"
        "<text:note-body><text:p>حاشية</text:p></text:note-body></text:note></text:p>"
        "<table:table><table:table-row><table:table-cell><text:p>خلية</text:p></table:table-cell>"
        "</table:table-row></table:table><text:p>bomb<text:s text:c='999999999'/>end</text:p>"
    )
    path = office.odt(tmp_path / "report.odt", body, header="رأس الصفحة", footer="تذييل")
    extracted = odt.read(path, OPTIONS)
    assert extracted.title == "تقرير البيئة"
    lines = extracted.pages[0].text.splitlines()
    assert lines[:5] == ["رأس الصفحة", "تقرير البيئة", "نص   الفقرة", "حاشية", "خلية"]
    assert lines[5] == "bomb" + " " * odt.MAX_SPACES + "end" and lines[6:] == ["تذييل"]


def test_epub_chapters_are_pages_in_spine_order(tmp_path: Path) -> None:
    chapters = [
        ("one.xhtml", "<h1>الفصل الأول</h1><p>نص أول</p>"),
        ("two.xhtml", "<p>نص ثان</p><script>x()</script>"),
    ]
    extracted = epub.read(office.epub(tmp_path / "book.epub", "كتاب البيئة", chapters), OPTIONS)
    assert extracted.title == "كتاب البيئة"
    assert [page.text for page in extracted.pages] == ["نص ثان", "الفصل الأول\nنص أول"]


def test_zip_bombs_entities_and_non_zips_are_refused(tmp_path: Path, monkeypatch) -> None:
    path = office.docx(tmp_path / "big.docx", office.w_paragraph("x" * 5000))
    monkeypatch.setattr(zipxml, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(BadFile, match="zip bomb"):
        docx.read(path, OPTIONS)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>'
    )
    with zipfile.ZipFile(tmp_path / "laughs.odt", "w") as archive:
        archive.writestr("content.xml", laughs)
    with pytest.raises(BadFile, match="declaring entities is refused"):
        odt.read(tmp_path / "laughs.odt", OPTIONS)
    (tmp_path / "fake.epub").write_bytes(b"not a zip")
    with pytest.raises(BadFile, match="damaged EPUB: not a zip file"):
        epub.read(tmp_path / "fake.epub", OPTIONS)


# --------------------------------------------------------------------------- Word 97


def test_word97_marks_and_field_codes_are_dropped() -> None:
    story = '\x13 HYPERLINK "http://x" \x14الموقع\x15 نص\rسطر\x07خلية\x07\r\x01'
    assert doc._lines(story, once=False) == ["الموقع نص", "سطر خلية"]
    assert doc._lines("رأس\rرأس\r", once=True) == ["رأس"]
    assert doc._piece(b"\x00\x00" + "نص".encode("utf-16-le"), 2, 2) == "نص"
    assert doc._piece(b"abcd", 0x40000000 | 2, 2) == "bc"  # compressed: one byte a character


def test_a_file_that_is_not_word97_is_a_clear_skip(tmp_path: Path) -> None:
    (tmp_path / "fake.doc").write_text("plain text saved as .doc", encoding="utf-8")
    with pytest.raises(BadFile, match="damaged Word 97 file"):
        doc.read(tmp_path / "fake.doc", OPTIONS)


# --------------------------------------------------------------------------- the real folder


shared = pytest.mark.skipif(not LAWS.is_dir(), reason=f"shared data absent ({LAWS})")


@pytest.mark.shared_data
@shared
def test_every_real_file_with_a_text_layer_gives_text(capsys) -> None:
    """Each file of the Egyptian-laws folder, read without OCR: text where it has a text layer, else a note."""
    outcomes = {}
    for source in find_files(LAWS):
        items = list(FileReader(source, ReadOptions(ocr=False)))
        document = next((item for item in items if isinstance(item, documents.Document)), None)
        notes = [item.reason for item in items if isinstance(item, documents.Skipped | documents.Note)]
        outcomes[source.path.name] = (len(document.body) if document else 0, notes)
    with capsys.disabled():
        print("\nfile: characters of text; notes")
        for name, (size, notes) in sorted(outcomes.items()):
            print(f"  {name}: {size:,}; {' / '.join(notes)}")
    assert len(outcomes) == 43
    for name, (size, notes) in outcomes.items():
        assert size > 0 or notes, name  # nothing is silently empty
        if name.endswith(".pdf") and not size:
            assert "not searchable: OCR is turned off" in notes[0], name
    for name in ("One.pdf", "TTwo.pdf", "Q5.pdf", "S.pdf", "Two.doc", "Q4.doc", "ApplicationForm.doc"):
        assert outcomes[name][0] > 200, name


@pytest.mark.shared_data
@shared
def test_real_arabic_text_layers_are_repaired() -> None:
    def text(name: str) -> str:
        return pdf.read(LAWS / name, ReadOptions(ocr=False)).joined().body

    assert "الصادر فى ٢١ من رجب سنة ١٤٤٣" in text("TTwo.pdf")  # Arabic-Indic numbers in their order
    assert "قرر مجلس الشعب القانون الآتي نصه" in text("One.pdf")  # lam-alef, not «اآلتي»
    assert "(المادة الأولي )" in text("One.pdf")  # brackets facing each other, not «)المادة الأولي(»
    assert "وزارة البيئة Ministry of Environment" in text("Q5.pdf")  # the letterhead's mixed line
    assert "بعد الاطلاع على الدستور" in text("S.pdf")
    assert "نموذج طلب الحصول على موافقة مسبقة" in text("Q3.pdf")  # ligature «من» follows the page: «نموذج»
    assert "لاستيراد مواد خاضعة للرقابة" in doc.read(LAWS / "Q4.doc", OPTIONS).pages[0].text


@pytest.mark.shared_data
@shared
@needs_tesseract
def test_a_real_scanned_decree_is_searchable_after_ocr() -> None:
    extracted = pdf.read(LAWS / "Eight.pdf", OPTIONS)
    text = extracted.joined().body
    for word in ("رئيس", "مجلس", "الوزراء", "الدستور", "المحميات", "الطبيعية"):
        assert word in text
    assert extracted.joined().ocr_pages == (1,)


def test_the_ocr_phase_counts_recognised_pages_only(tmp_path: Path) -> None:
    class Recorder(Progress):
        def __init__(self) -> None:
            super().__init__(enabled=False)
            self.counted: list[tuple[str | None, int]] = []

        def advance(self, count: int = 1) -> None:
            self.counted.append((self.phase_name, count))

    progress = Recorder()
    hook = showing_ocr(progress)
    hook(PageDone(tmp_path, 1, False, 0.01))
    hook(PageDone(tmp_path, 2, True, 4.0))
    hook(PageDone(tmp_path, 3, True, 4.0))
    assert progress.counted == [(OCR, 1), (OCR, 1)]
