"""The build's OCR phase: recognising a scanned page takes seconds, so a build shows it as its own phase."""

from __future__ import annotations

from collections.abc import Callable

from ..progress import OCR, Progress
from . import PageDone


def showing_ocr(progress: Progress) -> Callable[[PageDone], None]:
    """A :attr:`ReadOptions.on_page` hook: each recognised page counts in the OCR phase, shown in pages per second.

    Pages read from a text layer take milliseconds and are not shown. The
    build returns to its own phase (``progress.adding()``) when the file is done.
    """

    def on_page(done: PageDone) -> None:
        if done.ocr:
            progress.phase(OCR, unit="pages")
            progress.advance()

    return on_page
