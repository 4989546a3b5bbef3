"""Reading documents from a folder: text, Markdown, HTML, JSON and JSON lines.

Loading never stops on a bad file: every problem becomes a :class:`Skipped`
record (with the file, the line where it applies, and a reason) and the walk
goes on. Text is decoded as UTF-8, and Arabic files saved by older Windows
tools in Windows-1256 are recognised and decoded too.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from .analysis import ARABIC, LATIN, script_of

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl", ".jsonl.gz"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES

MAX_FILE_BYTES = 64 * 1024 * 1024  # a single text/HTML/JSON file read whole
MAX_LINE_BYTES = 32 * 1024 * 1024  # one JSON line (one document)
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024  # a gzip bomb stops here


@dataclass
class Document:
    """One searchable document, as stored in the index."""

    id: str
    title: str
    body: str
    origin: str  # the file it came from (absolute), for incremental deletes
    lang: str = ""
    source: str = ""
    date: datetime | None = None
    url: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        if not self.lang:
            self.lang = detect_language(f"{self.title}\n{self.body}")

    @property
    def fingerprint(self) -> str:
        """A hash of everything indexed, so re-indexing skips unchanged documents."""
        parts = (self.title, self.body, self.lang, self.source, str(self.date), self.url)
        return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Skipped:
    """A file (or one line of it) that could not be indexed, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class SourceFile:
    """A file found by the walk, with its size for progress reporting."""

    path: Path
    size: int
    relative: str = field(default="")


class BadFile(Exception):
    """Raised by a reader when a whole file must be skipped."""


def detect_language(text: str, sample: int = 4000) -> str:
    """'ar', 'en' or 'mixed' from the share of Arabic and Latin letters."""
    arabic = latin = 0
    for char in text[:sample]:
        if char.isalpha():
            script = script_of(char)
            if script == ARABIC:
                arabic += 1
            elif script == LATIN:
                latin += 1
    letters = arabic + latin
    if letters == 0:
        return "en"
    if arabic / letters >= 0.8:
        return "ar"
    if latin / letters >= 0.8:
        return "en"
    return "mixed"


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def find_files(root: Path) -> Iterator[SourceFile | Skipped]:
    """Supported files under root (or root itself), following symlinks without looping."""
    if root.is_file():
        yield SourceFile(root, root.stat().st_size, root.name)
        return
    seen_dirs: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=None):
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen_dirs:
            dirs.clear()
            yield Skipped(folder, "symlink loop: folder already visited")
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith(".") or suffix_of(path) not in SUPPORTED:
                continue
            try:
                size = path.stat().st_size
            except OSError as error:
                yield Skipped(str(path), f"cannot read: {error.strerror}")
                continue
            yield SourceFile(path, size, path.relative_to(root).as_posix())


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or Arabic Windows-1256."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise BadFile("invalid UTF-16 text") from error
    if not data.strip():
        raise BadFile("empty file")
    if b"\x00" in data[:8192]:
        raise BadFile("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1256", errors="replace")
    if _looks_like_arabic(text):
        return text
    raise BadFile("not UTF-8 text (nor Arabic Windows-1256)")


def _looks_like_arabic(text: str) -> bool:
    letters = [c for c in text[:20000] if c.isalpha()]
    controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\r\n\t\f")
    arabic = sum(1 for c in letters if script_of(c) == ARABIC)
    return bool(letters) and arabic / len(letters) > 0.5 and controls == 0


def _read_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadFile(f"too large ({size // 1_000_000} MB; limit {MAX_FILE_BYTES // 1_000_000} MB)")
    return path.read_bytes()


def split_title(text: str, markdown: bool = False) -> tuple[str, str]:
    """First non-empty line is the title, the rest the body."""
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    if markdown:
        title = title.lstrip("#").strip()
    return title, "\n".join(lines[1:]).strip()


class _VisibleText(HTMLParser):
    """Collects an HTML page's title, first h1, and visible text."""

    HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
              "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.in_title = self.in_h1 = False
        self.title: list[str] = []
        self.h1: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        self.in_title |= tag == "title"
        self.in_h1 |= tag == "h1" and not self.h1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1
        if tag == "title":
            self.in_title = False
        if tag == "h1":
            self.in_h1 = False
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        if self.hidden_depth:
            return
        if self.in_h1:
            self.h1.append(data)
        self.parts.append(data)


def parse_html(text: str) -> tuple[str, str]:
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    title = " ".join("".join(parser.title or parser.h1).split())
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    body = "\n".join(line for line in lines if line)
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    return title, body


def parse_date(value: object) -> datetime | None:
    """ISO dates and datetimes (2015-07-21, 2015-07-21T10:00:00); anything else is None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """Text safe to encode: JSON escapes like \\ud800 and undecodable command-line
    bytes leave unpaired surrogates, which no file, page or index can hold."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _text_field(record: dict, *names: str) -> str:
    for name in names:
        value = record.get(name)
        if isinstance(value, str):
            return without_lone_surrogates(value.strip())
    return ""


def document_from_record(record: object, fallback_id: str, origin: str) -> Document:
    """A Document from one JSON object (fields: id, title, text, date, source, url, lang)."""
    if not isinstance(record, dict):
        raise BadFile("not a JSON object")
    title = _text_field(record, "title")
    body = _text_field(record, "text", "body", "content")
    if not title and not body:
        raise BadFile("record has no title or text")
    raw_id = record.get("id")
    doc_id = without_lone_surrogates(str(raw_id).strip()) if raw_id not in (None, "") else fallback_id
    lang = _text_field(record, "lang")
    return Document(
        id=doc_id,
        title=title,
        body=body,
        origin=origin,
        lang=lang if lang in {"ar", "en", "mixed"} else "",
        source=_text_field(record, "source"),
        date=parse_date(record.get("date")),
        url=_text_field(record, "url"),
    )


def _json_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Numbered lines of a .jsonl or .jsonl.gz file, bounded in size.

    Raises BadFile (after yielding what it could) on a truncated gzip stream,
    an over-long line, or more decompressed data than MAX_DECOMPRESSED_BYTES.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    total = 0
    with opener(path, "rb") as stream:
        number = 0
        while True:
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except (EOFError, OSError, zlib.error) as error:
                raise BadFile(f"damaged or truncated after line {number} ({error})") from error
            if not line:
                return
            number += 1
            total += len(line)
            if len(line) > MAX_LINE_BYTES:
                raise BadFile(f"line {number} is longer than {MAX_LINE_BYTES // 1_000_000} MB")
            if total > MAX_DECOMPRESSED_BYTES:
                raise BadFile("decompresses to more than the allowed size (gzip bomb?)")
            yield number, line


class FileReader:
    """Turns one source file into documents and skip reports.

    ``failed`` is set when part of the file could not be read, so that the
    indexer does not delete documents it merely failed to see this time.
    """

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.failed = False
        self.origin = str(source.path.resolve())

    def __iter__(self) -> Iterator[Document | Skipped]:
        kind = suffix_of(self.source.path)
        try:
            if kind in {".jsonl", ".jsonl.gz"}:
                yield from self._read_json_lines()
            else:
                yield from self._read_whole(kind)
        except BadFile as error:
            self.failed = True
            yield Skipped(str(self.source.path), str(error))
        except OSError as error:
            self.failed = True
            yield Skipped(str(self.source.path), f"cannot read: {error.strerror or error}")

    def _read_whole(self, kind: str) -> Iterator[Document | Skipped]:
        text = decode_text(_read_bytes(self.source.path))
        if kind == ".json":
            yield from self._read_json(text)
            return
        if kind in HTML_SUFFIXES:
            title, body = parse_html(text)
        else:
            title, body = split_title(text, markdown=kind != ".txt")
        if not title and not body:
            raise BadFile("no text")
        rel = self.source.relative
        yield Document(rel, title, body, self.origin, source=_source_of(rel), path=rel)

    def _read_json(self, text: str) -> Iterator[Document | Skipped]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadFile(f"invalid JSON at line {error.lineno}: {error.msg}") from error
        records = data if isinstance(data, list) else [data]
        for number, record in enumerate(records, 1):
            yield from self._record(record, number, number)

    def _read_json_lines(self) -> Iterator[Document | Skipped]:
        for number, line in _json_lines(self.source.path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                self.failed = True
                yield Skipped(str(self.source.path), f"invalid JSON ({error})", number)
                continue
            yield from self._record(record, number, number)

    def _record(self, record: object, number: int, line: int) -> Iterator[Document | Skipped]:
        fallback_id = f"{self.source.relative}#{number}"
        try:
            document = document_from_record(record, fallback_id, self.origin)
        except BadFile as error:
            self.failed = True
            yield Skipped(str(self.source.path), str(error), line)
            return
        document.path = self.source.relative
        document.source = document.source or _source_of(self.source.relative)
        yield document


def _source_of(relative: str) -> str:
    """A file's source is its top-level folder (news/, reports/...), if any."""
    parts = relative.split("/")
    return parts[0] if len(parts) > 1 else ""
