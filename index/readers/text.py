"""Plain text, Markdown and HTML: one file, decoded whole, is one document of one page."""

from __future__ import annotations

from pathlib import Path

from ..documents import _read_bytes, decode_text, parse_html, parse_markdown, split_title, suffix_of
from . import Extracted, Page, ReadOptions

_PARSERS = {".md": parse_markdown, ".markdown": parse_markdown, ".html": parse_html, ".htm": parse_html}


def read(path: Path, options: ReadOptions) -> Extracted:
    """The file's title (its first line, or its HTML title) and the rest of its text."""
    parse = _PARSERS.get(suffix_of(path), split_title)
    title, body = parse(decode_text(_read_bytes(path)))
    return Extracted(title, [Page(1, body)])
