"""pdfium in a child process: killed when a page takes too long, limited in memory, dying with its parent.

The parent asks for one thing at a time (open, a page's text, a page's
image) and waits a bounded time for each answer; a child that overruns is
killed, one that dies (a crash in native code, the memory limit) is noticed
through its pipe, and either becomes a :class:`BadFile` for this one file.
Where ``fork`` does not exist the same work runs in the build's process,
bounded by the page and size caps only.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from ..documents import BadFile
from ..workers import die_with_parent, one_line
from .arabic_text import (
    Glyph,
    Line,
    clean_page,
    from_visual,
    in_logical_order,
    is_visual_page,
    repair_ligatures,
)

OPEN_SECONDS = 60.0
PAGE_SECONDS = 60.0  # one page's text, or its image
MEMORY_BYTES = 2 * 1024**3  # address space the child may add to what it inherits
MAX_RENDER_PIXELS = 40_000_000  # a page bigger than this at the OCR resolution is rendered smaller
_NEWLINES = "\r\n"


class PdfChild:
    """A PDF opened in a child process (or in this one where there is no fork); use it as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid: int | None = None
        self.connection: Connection | None = None
        self.local: PdfPages | None = None

    def __enter__(self) -> PdfChild:
        if hasattr(os, "fork"):
            self._fork()
        else:
            self.local = PdfPages(self.path)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None
        if self.connection is not None:
            self.connection.close()

    def open(self) -> tuple[int, str]:
        """The page count and the metadata title."""
        return self._call("open", (), OPEN_SECONDS, "opening it")

    def text(self, index: int) -> tuple[str, bool]:
        """Page ``index``'s repaired text, and whether the page shows an image (a scan may be under it)."""
        return self._call("text", (index,), PAGE_SECONDS, f"page {index + 1}")

    def render(self, index: int, dpi: int) -> bytes:
        """Page ``index`` as a greyscale PGM image at ``dpi`` (less for a huge page)."""
        return self._call("render", (index, dpi), PAGE_SECONDS, f"rendering page {index + 1}")

    def _call(self, order: str, arguments: tuple, seconds: float, doing: str) -> Any:
        if self.local is not None:
            return getattr(self.local, order)(*arguments)
        assert self.connection is not None
        try:
            self.connection.send((order, arguments))
            if not self.connection.poll(seconds):
                raise BadFile(f"damaged PDF: {doing} took longer than {seconds:g} s")
            status, value = self.connection.recv()
        except (EOFError, OSError) as error:
            raise BadFile(f"damaged PDF: the PDF library failed while {doing}") from error
        if status == "bad":
            raise BadFile(value)
        return value

    def _fork(self) -> None:
        parent_end, child_end = Pipe()
        parent = os.getpid()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            parent_end.close()
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for the build
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os._exit(_serve(self.path, child_end, parent))
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        child_end.close()
        self.pid, self.connection = pid, parent_end


def _serve(path: Path, connection: Connection, parent: int) -> int:  # pragma: no cover - runs in the child
    """The child's loop: answer each order with ("ok", value) or ("bad", reason) until the pipe closes."""
    die_with_parent(parent)
    _limit_memory()
    pages: PdfPages | None = None
    while True:
        try:
            order, arguments = connection.recv()
        except (EOFError, OSError):
            return 0
        try:
            pages = pages or PdfPages(path)
            connection.send(("ok", getattr(pages, order)(*arguments)))
        except BadFile as error:
            connection.send(("bad", str(error)))
        except Exception as error:
            connection.send(("bad", f"damaged PDF: {one_line(error)}"))


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    """Lets the child grow by MEMORY_BYTES at most (a PDF bomb then fails here, not the machine)."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = used + MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):
        return  # not Linux: the time limit still holds


class PdfPages:
    """One PDF opened by pdfium: its page count, each page's text (repaired), each page's image."""

    def __init__(self, path: Path) -> None:
        import pypdfium2 as pdfium

        try:
            self.pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as error:
            raise BadFile(_open_error(error)) from error

    def open(self) -> tuple[int, str]:
        title = self.pdf.get_metadata_value("Title") if len(self.pdf) else ""
        return len(self.pdf), title

    def text(self, index: int) -> tuple[str, bool]:
        import pypdfium2.raw as pdfium_c

        page = self.pdf[index]
        images = next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2), None) is not None
        return repaired_text(_lines(page.get_textpage())), images

    def render(self, index: int, dpi: int) -> bytes:
        page = self.pdf[index]
        width, height = page.get_size()
        scale = min(
            dpi / 72, math.sqrt(0.99 * MAX_RENDER_PIXELS / max(width * height, 1.0))
        )  # 1% for rounding
        bitmap = page.render(scale=scale, grayscale=True)
        return _pgm(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride)


def _open_error(error: Exception) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(error, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "encrypted PDF: needs a password"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "encrypted PDF: its security handler is not supported"
    return "damaged PDF: not a PDF, or damaged beyond repair"


def _lines(textpage: Any) -> list[Line]:
    """The page's text layer as lines of glyphs (a character and its box; none for generated characters)."""
    text = textpage.get_text_range()
    with_boxes = len(text) == textpage.count_chars()  # the boxes are indexed like the characters
    lines: list[Line] = [[]]
    for index, char in enumerate(text):
        if char in _NEWLINES:
            if char == "\n" or not text.startswith("\n", index + 1):
                lines.append([])
            continue
        box = textpage.get_charbox(index) if with_boxes and not char.isspace() else None
        lines[-1].append(Glyph(char, box))
    return lines


def repaired_text(lines: list[Line]) -> str:
    """A page's lines as stored: ligatures in order, each line in logical order, characters folded."""
    repair_ligatures(lines)
    texts = [in_logical_order(line) for line in lines]
    if is_visual_page(clean_page("\n".join(texts))):
        texts = [from_visual(text) for text in texts]
    return clean_page("\n".join(text.strip() for text in texts if text.strip()))


def _pgm(buffer: bytes, width: int, height: int, stride: int) -> bytes:
    """A greyscale bitmap as a binary PGM, which Tesseract reads without any image library."""
    rows = (
        buffer
        if stride == width
        else b"".join(buffer[y * stride : y * stride + width] for y in range(height))
    )
    return b"P5\n%d %d\n255\n" % (width, height) + rows
