"""What a build shows while it runs: one named phase at a time, on stderr, on a terminal only.

A build adds documents (counted in documents, with documents per second;
the input is read once, faster than workers analyse it, so the total is
known, and shown, once it has all been read), then writes the index, then
merges segments if its merge policy asks for it. Each phase is its own
line, so a user sees which part of the work is going on, and a file of
30,000 articles moves the count from its first document instead of jumping
from 0% to 100% when the file is done.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

ADDING = "Adding documents"
WRITING = "Writing the index"
MERGING = "Merging segments"
OCR = "Recognising scanned pages"  # counted in pages, by index.readers.progress.showing_ocr


class Progress:
    """The phases of one build. ``enabled=False`` (``--quiet``, tests) shows nothing."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.documents_read = 0
        self.total_documents: int | None = None  # known once the input has all been read
        self.phase_name: str | None = None
        self._bar: tqdm | None = None
        self._done: dict[str, int] = {}  # what each phase had done when it was left (OCR comes and goes)

    def phase(self, name: str, total: int | None = None, unit: str = "docs") -> None:
        """Start the phase ``name`` (nothing changes if it is already the current one)."""
        if name == self.phase_name:
            return
        self.close()
        self.phase_name = name
        self._bar = tqdm(
            total=total,
            initial=self._done.get(name, 0),
            desc=name,
            unit=f" {unit}" if unit else "",
            unit_scale=False,
            dynamic_ncols=True,
            # None: shown on a terminal only, never in a pipe or a log file.
            disable=None if self.enabled else True,
            file=sys.stderr,
        )

    def adding(self) -> None:
        """Enter the adding phase (out of the documents read, once they all are)."""
        self.phase(ADDING, self.total_documents)

    def document_read(self) -> None:
        self.documents_read += 1

    def all_read(self) -> None:
        """The input has been read: the documents read are the adding phase's total."""
        self.total_documents = self.documents_read
        if self._bar is not None and self.phase_name == ADDING:
            self._bar.total = self.total_documents
            self._bar.refresh()

    def advance(self, count: int = 1) -> None:
        """``count`` more units of the current phase are done."""
        if self._bar is not None and count:
            self._bar.update(count)

    def reach(self, done: int, total: int | None = None) -> None:
        """The current phase has ``done`` units done (of ``total``, when that became known)."""
        if self._bar is None:
            return
        if total is not None and total != self._bar.total:
            self._bar.total = total
        self.advance(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._done[self.phase_name] = self._bar.n
            self._bar.close()
            self._bar = None
        self.phase_name = None
