"""OpenDocument text (.odt): the body with its tables and notes, and the page styles' headers and footers once each."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from . import Extracted, Page, ReadOptions
from .zipxml import Container, unique_lines

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
MAX_SPACES = 100
_BLOCKS = (f"{TEXT}p", f"{TEXT}h")
_HEADERS = tuple(f"{STYLE}{name}" for name in ("header", "header-left", "header-first"))
_FOOTERS = tuple(f"{STYLE}{name}" for name in ("footer", "footer-left", "footer-first"))


def read(path: Path, options: ReadOptions) -> Extracted:
    """The document's title and its text, as one page."""
    with Container(path, "OpenDocument file") as odt:
        body_root = odt.xml("content.xml").find(f"{OFFICE}body")
        body = blocks(body_root) if body_root is not None else []
        styles = odt.xml("styles.xml") if odt.has("styles.xml") else None
        headers = unique_lines(_page_parts(styles, _HEADERS))
        footers = unique_lines(_page_parts(styles, _FOOTERS))
        title = _meta_title(odt) or _first_heading(body_root) or next(iter(body), "")
    text = "\n".join([*headers, *body, *footers])
    return Extracted(title, [Page(1, text)])


def blocks(root: Element) -> list[str]:
    """Each paragraph's and heading's text in document order (in tables, frames and notes too)."""
    texts = (block_text(element) for element in root.iter() if element.tag in _BLOCKS)
    return [text for text in texts if text.strip()]


def block_text(block: Element) -> str:
    """A paragraph's text: its spans, ``text:s`` spaces, tabs and line breaks; its notes are read apart."""
    parts = [block.text or ""]
    for child in block:
        if child.tag == f"{TEXT}s":
            parts.append(" " * _spaces(child.get(f"{TEXT}c", "1")))
        elif child.tag in (f"{TEXT}tab", f"{TEXT}line-break"):
            parts.append(" ")
        elif child.tag not in (f"{TEXT}note", *_BLOCKS):
            parts.append(block_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _spaces(count: str) -> int:
    """How many spaces ``text:s`` stands for, at most MAX_SPACES (a huge count must not fill memory)."""
    return min(int(count), MAX_SPACES) if count.isdigit() else 1


def _page_parts(styles: Element | None, tags: tuple[str, ...]) -> list[str]:
    if styles is None:
        return []
    return [text for element in styles.iter() if element.tag in tags for text in blocks(element)]


def _meta_title(odt: Container) -> str:
    if not odt.has("meta.xml"):
        return ""
    element = odt.xml("meta.xml").find(f".//{DC_TITLE}")
    return " ".join((element.text or "").split()) if element is not None else ""


def _first_heading(root: Element | None) -> str:
    for heading in root.iter(f"{TEXT}h") if root is not None else ():
        text = " ".join(block_text(heading).split())
        if text:
            return text
    return ""
