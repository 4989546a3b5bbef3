"""Highlighted snippets: the words that matched, as written, inside escaped text.

A document's stored text is analysed with its field's own analyzer, so a word
is marked exactly when the index matched it (الانتخابات, والانتخابات and
انتخابات for the query انتخابات), with its diacritics and clitics intact.
This replaces Whoosh's highlighter for speed: one pass over the words, then a
choice of the window holding the most distinct matched words.
"""

from __future__ import annotations

import html
from collections.abc import Collection

from index.analysis import CachedChain, WordTokenizer

SNIPPET_CHARS = 320
FRAGMENTS = 2
LEAD_CONTEXT = 60  # characters of context shown before a fragment's first match
MAX_MATCHES = 400  # enough for any snippet; keeps fragment choice cheap on huge texts


def matched_spans(text: str, chain: CachedChain, terms: Collection[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text`` whose analysed forms include one of ``terms``.

    Works on word spans and the field's memoised chain directly, without
    Whoosh's token stream: a page of ten snippets analyses ~3,000 words.
    """
    spans: list[tuple[int, int]] = []
    if not terms:
        return spans
    analyze = chain.analyze
    for start, end in WordTokenizer.spans(text):
        if any(form in terms for form in analyze(text[start:end])):
            spans.append((start, end))
            if len(spans) >= MAX_MATCHES:
                break
    return spans


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` HTML-escaped, with each span wrapped in ``<mark>``."""
    end = len(text) if end is None else end
    out, cursor = [], start
    for left, right in spans:
        if left < cursor or right > end:
            continue
        out.append(html.escape(text[cursor:left], quote=False))
        out.append(f"<mark>{html.escape(text[left:right], quote=False)}</mark>")
        cursor = right
    out.append(html.escape(text[cursor:end], quote=False))
    return "".join(out)


def _window_score(text: str, spans: list[tuple[int, int]], first: int, width: int) -> tuple[int, int]:
    limit = spans[first][0] + width
    inside = [span for span in spans[first:] if span[1] <= limit]
    distinct = {text[left:right].casefold() for left, right in inside}
    return len(distinct), len(inside)


def _bounds(text: str, spans: list[tuple[int, int]], first: int, width: int) -> tuple[int, int]:
    """A fragment around ``spans[first]``, cut at spaces, holding whole matches."""
    start = max(0, spans[first][0] - LEAD_CONTEXT)
    if start:
        space = text.find(" ", start, spans[first][0])
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", max(spans[first][1], start), end)
        end = space if space != -1 else end
    return start, max(end, spans[first][1])


def snippet(
    text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS, count: int = FRAGMENTS
) -> str:
    """Up to ``count`` fragments, about ``width`` characters in all, shown in text order.

    The first fragment is the window with the most distinct matched words;
    the next is the best window among the matches left outside it.
    """
    if not spans:
        return lead(text, width)
    fragment_width = width // count
    chosen: list[tuple[int, int]] = []
    for _ in range(count):
        free = [i for i in range(len(spans)) if not any(s <= spans[i][0] < e for s, e in chosen)]
        if not free:
            break
        best = max(free, key=lambda i: _window_score(text, spans, i, fragment_width))
        chosen.append(_bounds(text, spans, best, fragment_width))
    chosen.sort()
    return " … ".join(mark(text, spans, start, end) for start, end in chosen)


def lead(text: str, width: int = SNIPPET_CHARS) -> str:
    """The start of a text, cut at a word boundary, escaped: the snippet when nothing matched."""
    if len(text) <= width:
        return html.escape(text, quote=False)
    cut = text.rfind(" ", 0, width)
    return html.escape(text[: cut if cut > 0 else width], quote=False) + " …"
