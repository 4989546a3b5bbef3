"""PDF: the text layer read by pdfium (pypdfium2, Apache-2.0/BSD-3), repaired for Arabic, and OCR where it fails.

pdfium is native code that a hostile or broken PDF can keep busy or make
grow without end, so it runs in a forked child process (:mod:`.pdf_child`)
that dies with the build, under a memory limit, and is killed when a page
takes too long: a bad PDF costs seconds and becomes a skip reason, never a
stuck or dead build. Pages without a usable text layer (scans, or 1990s
fonts that map Arabic glyphs to Latin-1 codes) are rendered by that child
and recognised by Tesseract (:mod:`.ocr`), once per page content ever.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..documents import BadFile, _open_regular
from . import Extracted, Page, PageDone, ReadOptions
from .arabic_text import plausible_share
from .ocr import OcrFailed, OcrSettings, file_digest, recognise, unavailable_reason
from .pdf_child import PdfChild

MAX_PDF_BYTES = 1024 * 1024 * 1024
MAX_PAGES = 2000  # pages past this are not read (and the user is told)
TEXT_SECONDS = 300.0  # the text layers of one file; a file that takes longer keeps the pages read by then
MIN_LETTERS = 20  # a page with fewer letters in its text layer over an image is a scan
MIN_PLAUSIBLE = 0.5  # a text layer whose letters are mostly in implausible words is broken
TITLE_MIN_LETTERS = 4
TITLE_MAX_CHARS = 200
OCR_PROCESSES = max(1, min(os.cpu_count() or 1, 4))  # Tesseract processes at once (each one thread)


def read(path: Path, options: ReadOptions) -> Extracted:
    """The PDF's title and pages; pages without a usable text layer are recognised when Tesseract can."""
    with _open_regular(path) as file:
        size = file.seek(0, 2)
    if size > MAX_PDF_BYTES:
        raise BadFile(f"too large ({size // 1_000_000} MB; limit {MAX_PDF_BYTES // 1_000_000} MB)")
    with PdfChild(path) as child:
        count, metadata_title = child.open()
        read = _text_pages(child, path, count, options)
        notes = _cut_short(len(read), count)
        pages = [page for page, _ in read]
        unreadable = [page.number for page, ocr in read if ocr]
        pages, ocr_notes = _recognise_unreadable(child, path, pages, unreadable, options)
    return Extracted(_title(metadata_title, pages), pages, (*notes, *ocr_notes))


def _text_pages(child: PdfChild, path: Path, count: int, options: ReadOptions) -> list[tuple[Page, bool]]:
    """The text layer of each page in turn, up to MAX_PAGES pages or TEXT_SECONDS in all."""
    deadline = time.monotonic() + TEXT_SECONDS
    read = []
    for index in range(min(count, MAX_PAGES)):
        read.append(_text_page(child, path, index, options))
        if time.monotonic() > deadline:
            break
    return read


def _cut_short(read: int, count: int) -> list[str]:
    """The note for a file whose pages were not all read, and why."""
    if read == count:
        return []
    why = (
        f"at most {MAX_PAGES:,} pages are read"
        if read >= MAX_PAGES
        else f"reading took over {TEXT_SECONDS:g} s"
    )
    return [f"pages after {read:,} not read (of {count:,}): {why}"]


def _text_page(child: PdfChild, path: Path, index: int, options: ReadOptions) -> tuple[Page, bool]:
    """Page ``index`` as its text layer reads, and whether that text must be recognised from its image."""
    started = time.monotonic()
    text, images = child.text(index)
    _tell(options, path, index + 1, False, started)
    return Page(index + 1, text), needs_ocr(text, images)


def needs_ocr(text: str, images: bool) -> bool:
    """Whether a page's text layer is missing (almost no letters over an image) or broken (implausible words)."""
    letters = sum(char.isalpha() for char in text)
    return (letters < MIN_LETTERS and images) or plausible_share(text) < MIN_PLAUSIBLE


def _recognise_unreadable(
    child: PdfChild, path: Path, pages: list[Page], unreadable: list[int], options: ReadOptions
) -> tuple[list[Page], list[str]]:
    """``pages`` with each ``unreadable`` page's text recognised (or emptied), and what the user should know."""
    if not unreadable:
        return pages, []
    reason = "OCR is turned off" if not options.ocr else unavailable_reason()
    if reason:
        read_pages = {number: Page(number, "") for number in unreadable}
        return _replaced(pages, read_pages), [f"{_pages(len(unreadable))} not searchable: {reason}"]
    recogniser = _Recogniser(child, path, options)
    return _replaced(pages, recogniser.pages(unreadable)), recogniser.notes()


def _replaced(pages: list[Page], new: dict[int, Page]) -> list[Page]:
    return [new.get(page.number, page) for page in pages]


class _Recogniser:
    """OCR of one file's pages, through the cache when there is one; failures are noted, not raised.

    Pages are rendered one at a time by the pdfium child, and recognised by
    several Tesseract processes at once (one per core): a scanned gazette of
    forty pages takes a minute and a half, not three.
    """

    def __init__(self, child: PdfChild, path: Path, options: ReadOptions) -> None:
        self.child, self.path, self.options = child, path, options
        self.settings = OcrSettings()
        self.digest = file_digest(path) if options.ocr_cache else ""
        self.failures: list[str] = []

    def pages(self, numbers: list[int]) -> dict[int, Page]:
        """The recognised text of each of ``numbers``, from the cache or from Tesseract."""
        found: dict[int, Page] = {}
        cache = self.options.ocr_cache
        with ThreadPoolExecutor(max_workers=OCR_PROCESSES) as pool:
            running: dict[int, tuple[Future, float]] = {}
            for number in numbers:
                text = cache.get(self._key(number)) if cache else None
                if text is not None:
                    found[number] = Page(number, text, ocr=True)
                    continue
                if len(running) >= 2 * OCR_PROCESSES:  # bounded: each waiting image is megabytes
                    self._collect(running, found, wait_for=min(running))
                image = self.child.render(number - 1, self.settings.dpi)
                running[number] = (pool.submit(recognise, image, self.settings), time.monotonic())
            while running:
                self._collect(running, found, wait_for=min(running))
        return found

    def _collect(
        self, running: dict[int, tuple[Future, float]], found: dict[int, Page], wait_for: int
    ) -> None:
        future, started = running.pop(wait_for)
        try:
            text = future.result()
        except OcrFailed as error:
            self.failures.append(f"page {wait_for}: {error}")
            found[wait_for] = Page(wait_for, "", ocr=True)
            return
        if self.options.ocr_cache:
            self.options.ocr_cache.put(self._key(wait_for), text)
        _tell(self.options, self.path, wait_for, True, started)
        found[wait_for] = Page(wait_for, text, ocr=True)

    def _key(self, number: int) -> str:
        return (
            self.options.ocr_cache.key(self.digest, number, self.settings) if self.options.ocr_cache else ""
        )

    def notes(self) -> list[str]:
        if not self.failures:
            return []
        return [f"{_pages(len(self.failures))} could not be recognised ({'; '.join(self.failures[:3])})"]


def _pages(count: int) -> str:
    return f"{count:,} scanned page{'' if count == 1 else 's'}"


def _tell(options: ReadOptions, path: Path, number: int, ocr: bool, started: float) -> None:
    if options.on_page is not None:
        options.on_page(PageDone(path, number, ocr, time.monotonic() - started))


def _title(metadata_title: str, pages: list[Page]) -> str:
    """The metadata title when it is real text (not a file name, not Latin-1 garbage), else the first line that is."""
    if _meaningful(metadata_title) and not _looks_like_file_name(metadata_title):
        return metadata_title.strip()
    for page in pages:
        for line in page.text.splitlines():
            if _meaningful(line):
                return " ".join(line.split())[:TITLE_MAX_CHARS]
    return ""


def _meaningful(line: str) -> bool:
    letters = sum(char.isalpha() for char in line)
    return letters >= TITLE_MIN_LETTERS and plausible_share(line) >= MIN_PLAUSIBLE


def _looks_like_file_name(title: str) -> bool:
    """Titles that producers fill in by themselves: ``Microsoft Word - report.doc``, ``scan0001.pdf``."""
    lowered = title.strip().lower()
    return lowered.startswith("microsoft ") or lowered.endswith(
        (".doc", ".docx", ".pdf", ".ppt", ".pptx", ".tif")
    )
