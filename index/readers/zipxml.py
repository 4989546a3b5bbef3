"""Zip containers of XML (DOCX, ODT, EPUB) read within bounds: no zip bomb, no entity expansion.

Each member is read up to its declared size (which the zip reader enforces
while decompressing), and a file's members together may not decompress to
more than MAX_TOTAL_BYTES. XML is parsed by the standard library's expat
only after declarations of entities are refused: a document never needs
them, and they are how "billion laughs" and external-entity attacks work.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from ..documents import BadFile, _open_regular

MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
_ENTITY_DECLARATIONS = (b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))


class Container:
    """An opened zip file whose members are read with a size budget; use it as a context manager."""

    def __init__(self, path: Path, kind: str) -> None:
        self.kind = kind
        self.file = _open_regular(path)
        try:
            self.zip = zipfile.ZipFile(self.file)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            self.file.close()
            raise BadFile(f"damaged {kind}: not a zip file ({error})") from error
        self.budget = MAX_TOTAL_BYTES

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.zip.close()
        self.file.close()

    def names(self) -> list[str]:
        return self.zip.namelist()

    def has(self, name: str) -> bool:
        try:
            self.zip.getinfo(name)
        except KeyError:
            return False
        return True

    def read(self, name: str) -> bytes:
        """Member ``name``'s bytes; a member or a file that decompresses to too much is refused."""
        try:
            info = self.zip.getinfo(name)
        except KeyError as error:
            raise BadFile(f"damaged {self.kind}: {name} is missing") from error
        if info.file_size > min(MAX_MEMBER_BYTES, self.budget):
            raise BadFile(f"{self.kind} decompresses to more than the allowed size (zip bomb?)")
        try:
            with self.zip.open(info) as member:
                data = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError) as error:
            raise BadFile(f"damaged {self.kind}: {name} cannot be read ({error})") from error
        self.budget -= len(data)
        return data

    def xml(self, name: str) -> ElementTree.Element:
        return parse_xml(self.read(name), f"{self.kind} ({name})")


def parse_xml(data: bytes, what: str) -> ElementTree.Element:
    """``data`` parsed as XML; declarations of entities are refused before parsing."""
    if any(declaration in data for declaration in _ENTITY_DECLARATIONS):
        raise BadFile(f"{what}: XML declaring entities is refused (an entity-expansion attack?)")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise BadFile(f"damaged {what}: invalid XML ({error})") from error


def unique_lines(texts: list[str]) -> list[str]:
    """``texts`` without repeats or blanks, in first-seen order: a header on every section is read once."""
    seen: dict[str, None] = {}
    for text in texts:
        if text.strip():
            seen.setdefault(text.strip(), None)
    return list(seen)
