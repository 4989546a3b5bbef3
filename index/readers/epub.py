"""EPUB: the chapters in reading (spine) order, each a page, their visible text read like any HTML page."""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from ..documents import BadFile, _visible, decode_text
from . import Extracted, Page, ReadOptions
from .zipxml import Container

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
MAX_CHAPTERS = 5000


def read(path: Path, options: ReadOptions) -> Extracted:
    """The book's title and its chapters (spine items), numbered from 1 in reading order."""
    with Container(path, "EPUB") as epub:
        package_path = _package_path(epub.xml("META-INF/container.xml"))
        package = epub.xml(package_path)
        pages = [
            Page(number, _chapter_text(epub, name))
            for number, name in enumerate(spine(package, posixpath.dirname(package_path))[:MAX_CHAPTERS], 1)
        ]
    title_element = package.find(f"{OPF}metadata/{DC_TITLE}")
    title = " ".join((title_element.text or "").split()) if title_element is not None else ""
    return Extracted(title, pages)


def _package_path(container: Element) -> str:
    rootfile = container.find(f"{CONTAINER}rootfiles/{CONTAINER}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise BadFile("damaged EPUB: META-INF/container.xml names no package")
    return rootfile.get("full-path", "")


def spine(package: Element, folder: str) -> list[str]:
    """The zip names of the spine's documents, in reading order (hrefs are relative to the package)."""
    manifest = {item.get("id"): item.get("href", "") for item in package.iter(f"{OPF}item")}
    names = []
    for itemref in package.iter(f"{OPF}itemref"):
        href = manifest.get(itemref.get("idref"))
        if href:
            names.append(posixpath.normpath(posixpath.join(folder, unquote(href.split("#")[0]))))
    return names


def _chapter_text(epub: Container, name: str) -> str:
    """A chapter's visible text; a chapter missing or empty is empty rather than the whole book lost."""
    data = epub.read(name) if epub.has(name) else b""
    return _visible(decode_text(data)).text() if data.strip() else ""
