"""Word (.docx): the body with its tables, headers and footers once each, footnotes and endnotes.

Read with the standard library (``zipfile`` + ``xml.etree``): it takes
milliseconds, and unlike python-docx it reaches text in tables, text boxes,
headers, footers and notes.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

from . import Extracted, Page, ReadOptions
from .zipxml import Container, unique_lines

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Word writes a text box twice: for new readers, and a fallback for old ones; the fallback is skipped.
FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_PART = re.compile(r"word/(header|footer)\d*\.xml")
NOTES = ("word/footnotes.xml", "word/endnotes.xml")
_SEPARATORS = {"separator", "continuationSeparator", "continuationNotice"}
_HEADING_STYLE = re.compile(r"^(Title|Heading\s*1|heading\s*1)$", re.IGNORECASE)


def read(path: Path, options: ReadOptions) -> Extracted:
    """The document's title and its text, as one page (Word files keep no page breaks of their own)."""
    with Container(path, "Word file") as docx:
        document = docx.xml("word/document.xml")
        body = paragraphs(document)
        headers = unique_lines([p for name in _parts(docx, "header") for p in paragraphs(docx.xml(name))])
        footers = unique_lines([p for name in _parts(docx, "footer") for p in paragraphs(docx.xml(name))])
        notes = [text for name in NOTES if docx.has(name) for text in _notes(docx.xml(name))]
        title = _core_title(docx) or _first_heading(document) or next(iter(body), "")
    text = "\n".join(line for line in [*headers, *body, *notes, *footers] if line.strip())
    return Extracted(title, [Page(1, text)])


def _parts(docx: Container, kind: str) -> list[str]:
    return sorted(
        name for name in docx.names() if (match := _PART.fullmatch(name)) and match.group(1) == kind
    )


def paragraphs(root: Element) -> list[str]:
    """Every paragraph's text in document order, table cells and text boxes included."""
    texts = (paragraph_text(paragraph).strip() for paragraph in paragraph_elements(root))
    return [text for text in texts if text]


def paragraph_elements(root: Element) -> list[Element]:
    """The paragraphs under ``root`` in document order, outside fallback copies."""
    found = []
    for child in root:
        if child.tag == f"{W}p":
            found.append(child)
        if child.tag != FALLBACK:
            found.extend(paragraph_elements(child))
    return found


def paragraph_text(paragraph: Element) -> str:
    """A paragraph's runs of text (tabs and breaks as spaces); paragraphs inside it (text boxes) are read apart."""
    parts: list[str] = []
    for child in paragraph:
        if child.tag in (f"{W}p", FALLBACK):
            continue
        if child.tag == f"{W}t":
            parts.append(child.text or "")
        elif child.tag in (f"{W}tab", f"{W}br", f"{W}cr"):
            parts.append(" ")
        else:
            parts.append(paragraph_text(child))
    return "".join(parts)


def _notes(root: Element) -> list[str]:
    """Footnote or endnote texts, without Word's separator notes."""
    texts = []
    for note in root:
        if note.get(f"{W}type") not in _SEPARATORS:
            texts.extend(paragraphs(note))
    return texts


def _core_title(docx: Container) -> str:
    if not docx.has("docProps/core.xml"):
        return ""
    element = docx.xml("docProps/core.xml").find(DC_TITLE)
    return " ".join((element.text or "").split()) if element is not None else ""


def _first_heading(root: Element) -> str:
    for paragraph in paragraph_elements(root):
        style = paragraph.find(f"{W}pPr/{W}pStyle")
        if style is not None and _HEADING_STYLE.match(style.get(f"{W}val", "")):
            text = " ".join(paragraph_text(paragraph).split())
            if text:
                return text
    return ""
