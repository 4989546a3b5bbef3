"""Word 97-2003 (.doc): the text of every story, read through the file's piece table.

The file is an OLE compound file (opened with olefile, BSD). Its text is
not stored in order: the File Information Block (FIB) at the start of the
``WordDocument`` stream points (``fcClx``) into the table stream at the
piece table, which lists the text's pieces — each either UTF-16LE (Arabic
text always is) or "compressed" single-byte Windows-1252. Characters
below 0x20 are Word's marks (paragraph and cell ends, fields, pictures);
a field's code (``HYPERLINK "..."``) is dropped and its shown result kept.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from ..documents import BadFile, _open_regular
from . import Extracted, Page, ReadOptions
from .zipxml import unique_lines

MAX_STREAM_BYTES = 64 * 1024 * 1024
WORD_MAGIC = 0xA5EC
F_ENCRYPTED = 0x0100
F_WHICH_TABLE = 0x0200
FC_CLX_INDEX = 33  # fcClx's place among FibRgFcLcb97's (fc, lcb) pairs
STORIES = 8  # main text, footnotes, headers, macros, comments, endnotes, text boxes, header text boxes
HEADER_STORY = 2
_FIELD_CODE = re.compile("\x13[^\x13\x14\x15]*(?:\x14|\x15)")
_MARKS = str.maketrans({"\r": "\n", "\x07": "\t", "\x0b": "\n", "\x0c": "\n", "\x1e": "-", "\xa0": " "})
_DROPPED = re.compile("[\x00-\x08\x0e-\x1f]")


def read(path: Path, options: ReadOptions) -> Extracted:
    """The document's title (its summary title, else its first line) and its text, as one page."""
    import olefile

    with _open_regular(path) as file:
        try:
            ole = olefile.OleFileIO(file)
        except (OSError, ValueError) as error:  # olefile raises OSError for a file that is not OLE
            raise BadFile(f"damaged Word 97 file: {error}") from error
        with ole:
            word = _stream(ole, "WordDocument")
            fib = Fib(word)
            table = _stream(ole, "1Table" if fib.flags & F_WHICH_TABLE else "0Table")
            title = _summary_title(ole)
    stories = _stories(_text(word, table, fib), fib.story_lengths)
    lines = [line for index, story in enumerate(stories) for line in _lines(story, index == HEADER_STORY)]
    return Extracted(title or next(iter(lines), ""), [Page(1, "\n".join(lines))])


class Fib:
    """The parts of the File Information Block this reader needs."""

    def __init__(self, word: bytes) -> None:
        if len(word) < 0x22 or struct.unpack_from("<H", word, 0)[0] != WORD_MAGIC:
            raise BadFile("damaged Word 97 file: no Word document inside")
        self.flags = struct.unpack_from("<H", word, 0x0A)[0]
        if self.flags & F_ENCRYPTED:
            raise BadFile("encrypted Word file: needs a password")
        try:
            csw = struct.unpack_from("<H", word, 32)[0]
            lw_at = 34 + csw * 2
            cslw = struct.unpack_from("<H", word, lw_at)[0]
            self.story_lengths = struct.unpack_from(f"<{STORIES}i", word, lw_at + 2 + 3 * 4)
            fc_lcb_at = lw_at + 2 + cslw * 4 + 2
            self.fc_clx, self.lcb_clx = struct.unpack_from("<II", word, fc_lcb_at + FC_CLX_INDEX * 8)
        except struct.error as error:
            raise BadFile("damaged Word 97 file: its header is cut short") from error


def _stream(ole, name: str) -> bytes:
    if not ole.exists(name):
        raise BadFile(f"damaged Word 97 file: no {name} stream")
    if ole.get_size(name) > MAX_STREAM_BYTES:
        raise BadFile(f"too large (a {name} stream over {MAX_STREAM_BYTES // 1_000_000} MB)")
    return ole.openstream(name).read()


def _text(word: bytes, table: bytes, fib: Fib) -> str:
    """The document's characters in order, piece by piece."""
    clx = table[fib.fc_clx : fib.fc_clx + fib.lcb_clx]
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # Prc: formatting, skipped
        at += 3 + struct.unpack_from("<H", clx, at + 1)[0]
    if at + 5 > len(clx) or clx[at] != 0x02:
        raise BadFile("damaged Word 97 file: no piece table")
    size = struct.unpack_from("<I", clx, at + 1)[0]
    plc = clx[at + 5 : at + 5 + size]
    count = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{count + 1}i", plc, 0)
    parts = []
    for index in range(count):
        fc = struct.unpack_from("<I", plc, (count + 1) * 4 + index * 8 + 2)[0]
        parts.append(_piece(word, fc, cps[index + 1] - cps[index]))
    return "".join(parts)


def _piece(word: bytes, fc: int, characters: int) -> str:
    characters = max(characters, 0)
    if fc & 0x40000000:  # compressed: one Windows-1252 byte per character
        start = (fc & 0x3FFFFFFF) // 2
        return word[start : start + characters].decode("cp1252", "replace")
    return word[fc : fc + 2 * characters].decode("utf-16-le", "replace")


def _stories(text: str, lengths: tuple[int, ...]) -> list[str]:
    """The text cut into its stories (main text, footnotes, headers...) by their lengths in the FIB."""
    stories, at = [], 0
    for length in lengths:
        stories.append(text[at : at + max(length, 0)])
        at += max(length, 0)
    return stories


def _lines(story: str, once: bool) -> list[str]:
    """A story's lines without Word's marks and field codes; headers (``once``) without repeats."""
    text = _DROPPED.sub("", _FIELD_CODE.sub("", story).translate(_MARKS))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return unique_lines(lines) if once else [line for line in lines if line]


def _summary_title(ole) -> str:
    """The title in the summary information, decoded with its code page (Windows-1256 for Arabic)."""
    try:
        metadata = ole.get_metadata()
    except Exception:  # a damaged property set costs the title, not the document
        return ""
    raw = metadata.title or b""
    codepage = metadata.codepage if isinstance(metadata.codepage, int) and metadata.codepage > 0 else 1252
    if isinstance(raw, str):
        return " ".join(raw.split())
    try:
        return " ".join(raw.decode(f"cp{codepage}").split())
    except (LookupError, UnicodeDecodeError):
        return " ".join(raw.decode("cp1252", "replace").split())
