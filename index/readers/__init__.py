"""The formats Fahras reads: one table from a file's suffix to the module that reads it.

To add a format, write ``index/readers/<name>.py`` with a function
``read(path: Path, options: ReadOptions) -> Extracted`` and add its suffixes
to :data:`READERS`. Reader modules are imported when a file of theirs is
first read, so a search (or a folder without PDFs) never loads pdfium.

JSON and JSON lines are the exception: one file holds many documents, which
:class:`index.documents.FileReader` reads record by record; they are listed
here (with no module) so that the table says everything Fahras reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ocr import OcrCache


@dataclass(frozen=True)
class Page:
    """One page of a paged document; ``ocr`` when its text was recognised from its image."""

    number: int  # 1-based, as a reader would cite it
    text: str
    ocr: bool = False


@dataclass(frozen=True)
class PageDone:
    """What a progress hook hears after each page: enough to show pages per second per phase."""

    path: Path
    number: int
    ocr: bool
    seconds: float


@dataclass(frozen=True)
class ReadOptions:
    """What a build tells the readers: whether to OCR, where OCR results are kept, whom to tell.

    Without a cache every build recognises scanned pages again (seconds each);
    the indexer should pass one inside the index's home.
    """

    ocr: bool = True
    ocr_cache: OcrCache | None = None
    on_page: Callable[[PageDone], None] | None = None


@dataclass(frozen=True)
class Joined:
    """A paged document as one body, with where each page starts in it.

    ``page_starts[i]`` is the offset of page ``i + 1``'s text, so
    :meth:`page_at` maps a snippet's offset back to the page that shows it.
    """

    body: str
    page_starts: tuple[int, ...]
    ocr_pages: tuple[int, ...]

    def page_at(self, offset: int) -> int:
        """The 1-based number of the page holding ``offset`` in the body."""
        number = 1
        for index, start in enumerate(self.page_starts):
            if start <= offset:
                number = index + 1
        return number


PAGE_BREAK = "\n\n"


@dataclass(frozen=True)
class Extracted:
    """What a reader found in a file: its title, its pages (one for unpaged formats), and notes for the user.

    ``notes`` are reported with the file (pages that could not be read, why)
    without stopping it from being indexed.
    """

    title: str
    pages: list[Page]
    notes: tuple[str, ...] = field(default=())

    def joined(self) -> Joined:
        """The pages' texts as one body (pages apart by a blank line), and each page's start in it."""
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        for page in self.pages:
            starts.append(offset)
            parts.append(page.text)
            offset += len(page.text) + len(PAGE_BREAK)
        ocr = tuple(page.number for page in self.pages if page.ocr)
        return Joined(PAGE_BREAK.join(parts), tuple(starts), ocr)


@dataclass(frozen=True)
class Reader:
    """One format: its name (for messages) and ``index.readers.<module>.read``, or no module for JSON."""

    name: str
    module: str | None = None

    def read(self, path: Path, options: ReadOptions) -> Extracted:
        """``path`` read by this format's module (imported on first use)."""
        if self.module is None:
            raise TypeError(f"{self.name} files are read record by record, not as one document")
        module = importlib.import_module(f"{__name__}.{self.module}")
        return module.read(path, options)


READERS: dict[str, Reader] = {
    ".txt": Reader("plain text", "text"),
    ".md": Reader("Markdown", "text"),
    ".markdown": Reader("Markdown", "text"),
    ".html": Reader("HTML", "text"),
    ".htm": Reader("HTML", "text"),
    ".json": Reader("JSON"),
    ".jsonl": Reader("JSON lines"),
    ".jsonl.gz": Reader("JSON lines"),
    ".pdf": Reader("PDF", "pdf"),
    ".docx": Reader("Word", "docx"),
    ".odt": Reader("OpenDocument text", "odt"),
    ".epub": Reader("EPUB", "epub"),
    ".doc": Reader("Word 97-2003", "doc"),
}

SUPPORTED = frozenset(READERS)
RECORD_SUFFIXES = frozenset(suffix for suffix, reader in READERS.items() if reader.module is None)


def unsupported_reason(suffix: str) -> str | None:
    """Why a file with this suffix is not read (a photo, a spreadsheet...), or None if it is."""
    if suffix in READERS:
        return None
    kind = f"a {suffix} file" if suffix else "a file without an extension"
    return f"{kind}: not a format Fahras reads ({', '.join(sorted(SUPPORTED))})"
