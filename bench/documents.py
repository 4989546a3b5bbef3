"""Reading a real archive folder: the Egyptian-laws PDFs and Word 97 files, text layers and OCR.

Every file of ``documents/egyptian-laws`` is read by its reader, as a build
would (OCR on, results cached in ``--cache``), two files at a time. Each PDF
page is classed by its text layer: born-digital (a usable layer), broken
(letters in implausible words: 1990s fonts), or scanned (no letters over an
image). Quality is the share of the stored text's Arabic words that Debian's
hunspell-ar dictionary knows (typed Word text scores 98-99.5%); hunspell is
called here only, never by Fahras. Speed is pages per second of one process.
A few words seen on scanned pages are looked for in the OCR output.

    apt-get install tesseract-ocr tesseract-ocr-ara tesseract-ocr-script-arab hunspell hunspell-ar
    python bench/documents.py                       # a Markdown table on stdout
    python bench/documents.py --cache /tmp/ocr      # a second run OCRs nothing
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("FAHRAS_SHARED_DATA") or ROOT.parent / "shared" / "data")
LAWS = DATA / "documents" / "egyptian-laws"

from index.documents import BadFile, suffix_of  # noqa: E402
from index.readers import READERS, PageDone, ReadOptions  # noqa: E402
from index.readers.ocr import OcrCache  # noqa: E402
from index.readers.pdf import needs_ocr  # noqa: E402
from index.readers.pdf_child import PdfPages  # noqa: E402

DICTIONARY = "/usr/share/hunspell/ar"
# Words seen on the page images (file, page, word): the OCR output should hold them.
SEEN = [
    ("Ten.pdf", 1, "سبتمبر"),
    ("Ten.pdf", 1, "١٤٣٨"),
    ("Ten.pdf", 1, "٢٠١٧"),
    ("Ten.pdf", 3, "اختصاصات"),
    ("Ten.pdf", 3, "واللوائح"),
    ("Ten.pdf", 3, "التخصصات"),
    ("Ten.pdf", 3, "٢٠١٧"),
    ("Eight.pdf", 1, "المحميات"),
    ("Eight.pdf", 1, "الدستور"),
    ("Eight.pdf", 1, "١٩٨٣"),
    ("D.pdf", 1, "الوزراء"),
    ("D.pdf", 1, "سبتمبر"),
    ("D.pdf", 1, "٢٠١٩"),
]
_WORD = re.compile("[\u0621-\u064a]{2,}")
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")


@dataclass
class FileResult:
    name: str
    pages: list[tuple[int, str, str]] = field(default_factory=list)  # number, kind, stored text
    seconds: dict[str, float] = field(default_factory=dict)  # kind -> seconds spent on its pages
    skipped: str = ""
    notes: tuple[str, ...] = ()


def read_file(path: Path, cache: Path) -> FileResult:
    """One file read as a build reads it, its PDF pages classed by their text layer."""
    result = FileResult(path.name)
    timings: list[PageDone] = []
    try:
        extracted = READERS[suffix_of(path)].read(
            path, ReadOptions(ocr_cache=OcrCache(cache), on_page=timings.append)
        )
    except BadFile as error:
        result.skipped = str(error)
        return result
    kinds = _page_kinds(path, len(extracted.pages))
    result.notes = extracted.notes
    result.pages = [(page.number, kinds.get(page.number, "word"), page.text) for page in extracted.pages]
    seconds: dict[str, float] = defaultdict(float)
    for done in timings:
        seconds[kinds.get(done.number, "word") if done.ocr else "text layer"] += done.seconds
    result.seconds = dict(seconds)
    return result


def _page_kinds(path: Path, count: int) -> dict[int, str]:
    """For a PDF: each page's kind by its text layer (born-digital, broken, scanned)."""
    if path.suffix.lower() != ".pdf":
        return {}
    pages = PdfPages(path)
    kinds = {}
    for index in range(count):
        text, images = pages.text(index)
        letters = sum(char.isalpha() for char in text)
        kinds[index + 1] = (
            "born-digital" if not needs_ocr(text, images) else "broken" if letters >= 20 else "scanned"
        )
    return kinds


def unknown_words(words: list[str]) -> set[str]:
    """The words hunspell-ar does not know (asked once for all, through its -l CLI)."""
    done = subprocess.run(
        ["hunspell", "-d", DICTIONARY, "-l"],
        input="\n".join(sorted(set(words))),
        capture_output=True,
        text=True,
    )
    return set(done.stdout.split())


def arabic_words(text: str) -> list[str]:
    return _WORD.findall(_MARKS.sub("", text))


def report(results: list[FileResult], wall: float) -> str:
    by_kind: dict[str, list[str]] = defaultdict(list)
    pages = Counter()
    seconds = Counter()
    for result in results:
        for _, kind, text in result.pages:
            pages[kind] += 1
            by_kind[kind].extend(arabic_words(text))
        for kind, spent in result.seconds.items():
            seconds[kind] += spent
    unknown = unknown_words([word for words in by_kind.values() for word in words])
    lines = [
        "| pages | count | Arabic words | valid words (hunspell-ar) | pages/s (one process) |",
        "|---|---|---|---|---|",
    ]
    text_rate = sum(pages[k] for k in ("born-digital", "broken", "scanned")) / max(
        seconds["text layer"], 1e-9
    )
    for kind in ("born-digital", "broken", "scanned", "word"):
        words = by_kind[kind]
        valid = sum(word not in unknown for word in words) / len(words) if words else 0.0
        rate = text_rate if kind == "born-digital" else pages[kind] / seconds[kind] if seconds[kind] else 0.0
        rate_text = f"{rate:.1f}" if kind != "word" else "—"
        label = {
            "word": "Word 97 files",
            "broken": "broken text layer (OCR)",
            "scanned": "scanned (OCR)",
        }.get(kind, kind)
        lines.append(f"| {label} | {pages[kind]} | {len(words):,} | {valid:.1%} | {rate_text} |")
    read = [result for result in results if not result.skipped]
    lines += ["", f"Files read: {len(read)} of {len(results)}; pages: {sum(len(r.pages) for r in read)}; "
              f"wall time {wall:.0f} s on 2 processes; every PDF page's text layer read at {text_rate:.0f} pages/s."]  # fmt: skip
    lines += [f"- skipped {r.name}: {r.skipped}" for r in results if r.skipped]
    lines += [f"- {r.name}: {note}" for r in results for note in r.notes]
    lines += ["", "| file | page | word seen on the scan | in the OCR text |", "|---|---|---|---|"]
    texts = {(r.name, number): text for r in results for number, _, text in r.pages}
    for name, number, word in SEEN:
        found = word in texts.get((name, number), "")
        lines.append(f"| {name} | {number} | {word} | {'yes' if found else 'no'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="OCR cache folder (default: a temporary one)")
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    if not LAWS.is_dir():
        print(f"no data at {LAWS}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch)
        files = sorted(path for path in LAWS.iterdir() if suffix_of(path) in READERS)
        started = time.monotonic()
        with ProcessPoolExecutor(args.procs) as pool:
            results = list(pool.map(read_file, files, [cache] * len(files)))
        print(report(results, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
