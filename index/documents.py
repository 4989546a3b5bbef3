"""Reading documents from a folder: every format in :data:`index.readers.READERS`.

Loading never stops on a bad file: every problem becomes a :class:`Skipped`
record (with the file, the line where it applies, and a reason) and the walk
goes on. Text is decoded as UTF-8, and Arabic files saved by older Windows
tools in Windows-1256 are recognised and decoded too.

The walk reads regular files only (a FIFO would block it forever), follows
symbolic links only to places inside the collection, and reports a folder it
cannot read so that the indexer keeps that folder's documents.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import stat
import zlib
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO

from markdown_it import MarkdownIt

from .analysis import ARABIC, LATIN, script_of, without_lone_surrogates
from .readers import READERS, RECORD_SUFFIXES, ReadOptions, unsupported_reason
from .schema import LANGUAGES

MAX_FILE_BYTES = 64 * 1024 * 1024  # a single text/HTML/JSON file read whole
MAX_LINE_BYTES = 32 * 1024 * 1024  # one JSON line (one document)
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024  # a gzip bomb stops here
# Lines of one JSON lines file, blank ones included: a gzip of newlines or of tiny
# records must not cost hours and unbounded memory; a larger feed is split in files.
MAX_LINES_PER_FILE = 2_000_000
MAX_SKIPS_PER_FILE = 20  # skipped lines listed per file; the rest are counted in one record
# Stored and shown with every hit: a longer title is cut (its full text goes
# to the body, where it stays searchable); longer ids are refused.
MAX_TITLE_CHARS = 300
MAX_SOURCE_CHARS = 200
MAX_URL_CHARS = 2000
MAX_ID_CHARS = 1000


@dataclass
class Document:
    """One searchable document, as stored in the index."""

    id: str
    title: str
    body: str
    origin: str  # the file it came from, as walked (absolute), for incremental deletes
    lang: str = ""
    source: str = ""
    date: datetime | None = None
    url: str = ""
    path: str = ""
    notes: list[str] = field(default_factory=list)  # values of the record set aside, and why (not indexed)
    pages: tuple[int, ...] = ()  # where each page starts in the body (paged formats: PDF)
    ocr_pages: tuple[int, ...] = ()  # the pages whose text was recognised from their image

    def __post_init__(self) -> None:
        if len(self.title) > MAX_TITLE_CHARS:
            self.body = f"{self.title}\n{self.body}"
            self.title = capped(self.title, MAX_TITLE_CHARS)
        if not self.lang:
            self.lang = detect_language(f"{self.title}\n{self.body}")

    @property
    def fingerprint(self) -> str:
        """A hash of everything indexed, so re-indexing skips unchanged documents."""
        parts = (self.title, self.body, self.lang, self.source, str(self.date), self.url)
        return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Skipped:
    """A file (or one line of it) that could not be indexed, and why.

    ``keep`` names a file or folder (as walked) that could not be read this
    time: the documents indexed from it are kept, not deleted. ``count`` is
    how many skips one record stands for (a summary of a file's many bad lines).
    """

    path: str
    reason: str
    line: int | None = None
    keep: str | None = None
    count: int = 1

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class Note:
    """A document indexed with a value of its record set aside (an invalid date or language), and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class SourceFile:
    """A file found by the walk, with its size for progress reporting.

    ``relative`` is its path in the collection: the base of its documents' ids.
    """

    path: Path
    size: int
    relative: str = field(default="")


@dataclass(frozen=True)
class Collection:
    """The folders an index holds, and the prefix each gives the ids of its files.

    A file's id is its path relative to the deepest folder holding it, after
    that folder's prefix. The first folder indexed has none, so its ids are
    plain relative paths (``news/crisis.txt``); a folder indexed later beside
    it gets its own name (``reports/notes.txt``), so same-named files in two
    folders never share an id, and re-indexing a subfolder keeps its ids.
    """

    roots: tuple[tuple[Path, str], ...] = ()

    @classmethod
    def of(cls, path: Path) -> Collection:
        """The collection of one folder (or of the folder of one file)."""
        return cls(((_folder_of(path), ""),))

    def holding(self, path: Path) -> tuple[Path, str] | None:
        """The deepest root that holds ``path`` (a real path), with its prefix."""
        inside = [(folder, prefix) for folder, prefix in self.roots if is_inside(path, folder)]
        return max(inside, key=lambda root: len(root[0].parts), default=None)

    def relative(self, path: Path) -> str:
        """The id path of a walked file (the collection's deepest root holding it comes first)."""
        folder, prefix = self.holding(path) or (_folder_of(path), "")
        return prefix + path.relative_to(folder).as_posix()

    def boundary(self, path: Path) -> Path:
        """The outermost root holding ``path``: symbolic links may point anywhere inside it."""
        holding = [folder for folder, _ in self.roots if is_inside(path, folder)]
        return min(holding, key=lambda folder: len(folder.parts), default=_folder_of(path))

    def including(self, path: Path) -> Collection:
        """This collection, with ``path``'s folder as a new root if no root holds it yet."""
        if self.holding(path.resolve()):
            return self
        folder = _folder_of(path)
        if not self.roots:
            return Collection(((folder, ""),))
        return Collection((*self.roots, (folder, self._new_prefix(folder.name or "root"))))

    def _new_prefix(self, name: str) -> str:
        """``name/``, or ``name-2/``...: unused by other roots and by the top level of unprefixed ones."""
        taken = {prefix for _, prefix in self.roots}
        candidate, number = name, 1
        while f"{candidate}/" in taken or any(
            (folder / candidate).exists() for folder, prefix in self.roots if not prefix
        ):
            number += 1
            candidate = f"{name}-{number}"
        return f"{candidate}/"


def _folder_of(path: Path) -> Path:
    real = path.resolve()
    return real if real.is_dir() else real.parent


def is_inside(path: Path | str, folder: Path) -> bool:
    text, base = str(path), str(folder)
    return text == base or text.startswith(base.rstrip(os.sep) + os.sep)


class BadFile(Exception):
    """Raised by a reader when a whole file must be skipped."""


TOO_DEEP = "JSON nested too deeply to read"
NOT_REGULAR = "not a regular file (a FIFO, socket or device): not read"


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


def find_files(root: Path, collection: Collection | None = None) -> Iterator[SourceFile | Skipped]:
    """Supported files under root (or root itself), with their paths in ``collection``.

    Symbolic links are followed only to places inside the collection's root
    (without looping); non-regular files are never opened; a folder that
    cannot be read is reported with ``keep`` set, so its documents stay.
    """
    root = root.resolve()
    collection = collection or Collection.of(root)
    if not root.is_dir():
        yield _source_file(root, collection)
        return
    boundary = collection.boundary(root)
    errors: list[OSError] = []
    seen_dirs: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=errors.append):
        yield from _unreadable_folders(errors)
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen_dirs:
            dirs.clear()
            yield Skipped(folder, "symlink loop: folder already visited")
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in list(dirs):
            reason = _bad_name(name) or _unfollowed_link(Path(folder, name), root, boundary)
            if reason:
                dirs.remove(name)
                yield Skipped(printable_path(Path(folder, name)), reason)
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith("."):
                continue
            if _bad_name(name):
                yield Skipped(printable_path(path), _bad_name(name))
                continue
            reason = unsupported_reason(suffix_of(path)) or _unfollowed_link(path, root, boundary)
            yield Skipped(str(path), reason) if reason else _source_file(path, collection)
    yield from _unreadable_folders(errors)


def _bad_name(name: str) -> str | None:
    """Why a file or folder name cannot be an id: bytes that are not UTF-8 (Python keeps them as surrogates)."""
    if name != without_lone_surrogates(name):
        return "its name is not valid UTF-8 text: not read (rename it to index it)"
    return None


def printable_path(path: Path | str) -> str:
    """A path as text that can be printed: bytes that are not UTF-8 shown as \\xff escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _unfollowed_link(path: Path, root: Path, boundary: Path) -> str | None:
    """Why the walk must not follow ``path`` if it is a symbolic link, else None.

    Links are followed to places inside the collection (``boundary``) that
    this walk of ``root`` would not reach anyway: a link to a folder being
    walked would index its documents twice (or loop), one leading out of the
    collection could expose any file the server can read.
    """
    if not path.is_symlink() or not path.exists():  # a broken link is reported as such when read
        return None
    target = os.path.realpath(path)
    if not is_inside(target, boundary):
        return f"a symbolic link to {target}, outside {boundary}: not followed"
    if is_inside(os.path.realpath(path.parent), Path(target)):
        return "symlink loop: a link to a folder that holds it, not followed"
    if is_inside(target, root):
        return f"a symbolic link to {target}, which is indexed under its own name: not followed"
    return None


def _source_file(path: Path, collection: Collection) -> SourceFile | Skipped:
    try:
        info = path.stat()
    except FileNotFoundError:  # a dangling link, or deleted during the walk: gone
        return Skipped(str(path), "broken symbolic link" if path.is_symlink() else "vanished during the walk")
    except OSError as error:
        return Skipped(str(path), f"cannot read: {error.strerror}; its documents are kept", keep=str(path))
    if not stat.S_ISREG(info.st_mode):
        return Skipped(str(path), NOT_REGULAR)
    return SourceFile(path, info.st_size, collection.relative(path))


def _unreadable_folders(errors: list[OSError]) -> Iterator[Skipped]:
    for error in errors:
        reason = f"cannot read folder: {error.strerror}; its documents are kept"
        yield Skipped(str(error.filename), reason, keep=str(error.filename))
    errors.clear()


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


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused unless it is a regular file.

    Opened without blocking and checked on the open file: a FIFO put in the
    file's place after the walk cannot stop indexing.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadFile(NOT_REGULAR)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_bytes(path: Path) -> bytes:
    with _open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise BadFile(f"too large ({size // 1_000_000} MB; limit {MAX_FILE_BYTES // 1_000_000} MB)")
        return file.read()


def capped(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters or so when it is longer."""
    return text if len(text) <= limit else shortened(text, limit)


def shortened(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a space when one is near, with an ellipsis."""
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def split_title(text: str) -> tuple[str, str]:
    """First non-empty line is the title, the rest the body."""
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return title, "\n".join(lines[1:]).strip()


# CommonMark with GitHub's tables and strikethrough; raw HTML inside Markdown is
# passed on to the HTML reader, which keeps its visible text only.
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_markdown(text: str) -> tuple[str, str]:
    """Markdown read as text: rendered, then its visible text taken, so markup is neither indexed nor shown.

    The first line of that text is the title, as for plain text.
    """
    return split_title(_visible(_MARKDOWN.render(text)).text())


class _VisibleText(HTMLParser):
    """Collects an HTML page's title, first h1, and visible text."""

    HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
    CELLS = {"td", "th"}  # a table's cells are words apart
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
        elif tag in self.CELLS:
            self.parts.append(" ")

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

    def text(self) -> str:
        """The visible text, a line per block, spaces collapsed."""
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def _visible(text: str) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return parser


def parse_html(text: str) -> tuple[str, str]:
    parser = _visible(text)
    title = " ".join("".join(parser.title or parser.h1).split())
    body = parser.text()
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


# A character reference as scraped records carry them (&quot; &#8220; &#x27;): complete, with its ";".
_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def with_characters(text: str) -> str:
    """``text`` with its complete HTML character references replaced by the characters they stand for."""
    return _CHARACTER_REFERENCE.sub(lambda found: html.unescape(found.group()), text)


def _text_field(record: dict, *names: str) -> str:
    """A record's text field, its HTML character references shown as the characters they stand for."""
    for name in names:
        value = record.get(name)
        if isinstance(value, str):
            return without_lone_surrogates(with_characters(value).strip())
    return ""


def document_from_record(record: object, fallback_id: str, origin: str) -> Document:
    """A Document from one JSON object (fields: id, title, text, date, source, url, lang)."""
    if not isinstance(record, dict):
        raise BadFile("not a JSON object")
    title = _text_field(record, "title")
    body = _text_field(record, "text", "body", "content")
    if not title and not body:
        raise BadFile("record has no title or text")
    lang = _text_field(record, "lang")
    date = parse_date(record.get("date"))
    document = Document(
        id=_record_id(record.get("id"), fallback_id),
        title=title,
        body=body,
        origin=origin,
        lang=lang if lang in LANGUAGES else "",
        source=capped(_text_field(record, "source"), MAX_SOURCE_CHARS),
        date=date,
        url=_text_field(record, "url")[:MAX_URL_CHARS],
    )
    if lang and lang not in LANGUAGES:
        document.notes.append(
            f"'lang' {lang[:20]!r} is not one of {', '.join(LANGUAGES)}: detected as {document.lang}"
        )
    if date is None and record.get("date") not in (None, ""):
        document.notes.append(
            f"'date' {str(record['date'])[:30]!r} is not a date like 2015-07-21: indexed undated"
        )
    return document


def _record_id(raw: object, fallback: str) -> str:
    """A record's ``id`` as text (strings and numbers only), else ``fallback`` when it has none."""
    if raw is None or raw == "":
        return fallback
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise BadFile("'id' must be a string or a number")
    doc_id = without_lone_surrogates(str(raw).strip())
    if len(doc_id) > MAX_ID_CHARS:
        raise BadFile(f"'id' is longer than {MAX_ID_CHARS:,} characters")
    return doc_id


def _json_lines(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """Numbered lines of a .jsonl or .jsonl.gz file, bounded in size, with the bytes of the file read so far.

    Raises BadFile (after yielding what it could) on a truncated gzip stream,
    an over-long line, or more decompressed data than MAX_DECOMPRESSED_BYTES.
    """
    compressed = path.name.lower().endswith(".gz")
    total = 0
    with _open_regular(path) as raw, gzip.open(raw, "rb") if compressed else nullcontext(raw) as stream:
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
            if number > MAX_LINES_PER_FILE:
                raise BadFile(
                    f"stopped after line {MAX_LINES_PER_FILE:,}: a file may hold at most {MAX_LINES_PER_FILE:,} "
                    "lines (split it into several files); the lines before were read"
                )
            if len(line) > MAX_LINE_BYTES:
                raise BadFile(f"line {number} is longer than {MAX_LINE_BYTES // 1_000_000} MB")
            if total > MAX_DECOMPRESSED_BYTES:
                raise BadFile("decompresses to more than the allowed size (gzip bomb?)")
            yield number, line, raw.tell()


class FileReader:
    """Turns one source file into documents and skip reports.

    ``failed`` is set when part of the file could not be read, so that the
    indexer does not delete documents it merely failed to see this time.
    A file's first MAX_SKIPS_PER_FILE skips are reported one by one, the
    rest in one record that counts them.
    """

    def __init__(self, source: SourceFile, options: ReadOptions | None = None) -> None:
        self.source = source
        self.options = options or ReadOptions()
        self.failed = False
        self.origin = str(source.path)
        self.position = 0  # bytes of the file read so far (compressed bytes for a .gz): a build deals by them

    def __iter__(self) -> Iterator[Document | Skipped]:
        skipped = 0
        for item in self._items():
            if isinstance(item, Skipped):
                skipped += 1
                if skipped > MAX_SKIPS_PER_FILE:
                    continue
            yield item
        if skipped > MAX_SKIPS_PER_FILE:
            more = skipped - MAX_SKIPS_PER_FILE
            reason = f"{more:,} more lines could not be indexed (the first {MAX_SKIPS_PER_FILE} are listed)"
            yield Skipped(str(self.source.path), reason, count=more)

    def _items(self) -> Iterator[Document | Skipped]:
        kind = suffix_of(self.source.path)
        try:
            if kind in RECORD_SUFFIXES:
                yield from self._read_records(kind)
            else:
                yield from self._read_document(kind)
        except BadFile as error:
            self.failed = True
            yield Skipped(str(self.source.path), str(error))
        except OSError as error:
            self.failed = True
            yield Skipped(str(self.source.path), f"cannot read: {error.strerror or error}")

    def _read_records(self, kind: str) -> Iterator[Document | Skipped]:
        if kind == ".json":
            text = decode_text(_read_bytes(self.source.path))
            self.position = self.source.size
            yield from self._read_json(text)
        else:
            yield from self._read_json_lines()

    def _read_document(self, kind: str) -> Iterator[Document | Skipped]:
        """A file that is one document, read by its format's reader; its notes are reported, not skipped."""
        extracted = READERS[kind].read(self.source.path, self.options)
        joined = extracted.joined()
        body = joined.body.strip()
        cut = len(joined.body) - len(joined.body.lstrip())  # what strip() took from the front: pages move up
        if not extracted.title and not body:
            raise BadFile("; ".join(extracted.notes) or "no text")
        for note in extracted.notes:
            yield Note(str(self.source.path), note)
        rel = self.source.relative
        self.position = self.source.size
        paged = len(joined.page_starts) > 1 or joined.ocr_pages
        yield Document(
            rel, extracted.title, body, self.origin, source=_source_of(self.source), path=rel,
            pages=tuple(max(0, start - cut) for start in joined.page_starts) if paged else (),
            ocr_pages=joined.ocr_pages,
        )  # fmt: skip

    def _read_json(self, text: str) -> Iterator[Document | Skipped]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadFile(f"invalid JSON at line {error.lineno}: {error.msg}") from error
        except RecursionError as error:
            raise BadFile(TOO_DEEP) from error
        records = data if isinstance(data, list) else [data]
        for number, record in enumerate(records, 1):
            yield from self._record(record, number, number)

    def _read_json_lines(self) -> Iterator[Document | Skipped]:
        for number, line, position in _json_lines(self.source.path):
            self.position = position
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
                self.failed = True
                reason = TOO_DEEP if isinstance(error, RecursionError) else f"invalid JSON ({error})"
                yield Skipped(str(self.source.path), reason, number)
                continue
            yield from self._record(record, number, number)

    def _record(self, record: object, number: int, line: int) -> Iterator[Document | Skipped | Note]:
        fallback_id = f"{self.source.relative}#{number}"
        try:
            document = document_from_record(record, fallback_id, self.origin)
        except BadFile as error:
            self.failed = True
            yield Skipped(str(self.source.path), str(error), line)
            return
        document.path = self.source.relative
        document.source = document.source or _source_of(self.source)
        yield document
        for note in document.notes:
            yield Note(str(self.source.path), note, line)


def _source_of(source: SourceFile) -> str:
    """A file's source: its top-level folder in the collection (news/, reports/...).

    A file at the top of a folder gets that folder's own name: a flat folder of
    files is one source, named as its owner named it.
    """
    parts = source.relative.split("/")
    return parts[0] if len(parts) > 1 else source.path.parent.name
