"""Highlighted snippets: the words that matched, as written, inside escaped text.

A document's stored text is analysed with its field's own analyzer, so a word
is marked exactly when the index matched it (الانتخابات, والانتخابات and
انتخابات for the query انتخابات), with its diacritics and clitics intact.
This replaces Whoosh's highlighter for speed: a regex finds the few words that
may match and only those are analysed, then the window holding the most
distinct matched words is chosen.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Iterator
from functools import lru_cache

from index.analysis import (
    ARABIC,
    ArabicLightStemmer,
    ArabicPresentationForms,
    AsciiDigits,
    CachedChain,
    DaggerAlef,
    EnglishStemmer,
    FoldAccents,
    FoldAlef,
    FoldHamzaCarriers,
    FoldTehMarbuta,
    FoldYeh,
    Lowercase,
    StopWords,
    StripDiacritics,
    StripFormatChars,
    StripPossessive,
    StripTatweel,
    TanweenAlef,
    WordTokenizer,
    script_of,
)

SNIPPET_CHARS = 320
FRAGMENTS = 2
LEAD_CONTEXT = 60  # characters of context shown before a fragment's first match
MAX_MATCHES = 400  # enough for any snippet; keeps fragment choice cheap on huge texts


# Filters whose output a per-character fold of the word still contains (give
# or take a stem's last letters): only chains made of these get the gate.
_GATE_SAFE = (
    ArabicPresentationForms, TanweenAlef, DaggerAlef, StripDiacritics, StripTatweel, StripFormatChars, FoldAlef,
    FoldHamzaCarriers, FoldYeh, FoldTehMarbuta, Lowercase, FoldAccents, StripPossessive, AsciiDigits,
    StopWords, ArabicLightStemmer, EnglishStemmer,
)  # fmt: skip


def _fold_table() -> dict[int, str | None]:
    """One character map doing every normalisation of the chain at once."""
    arabic = [StripFormatChars, StripDiacritics, StripTatweel, FoldAlef, FoldHamzaCarriers, FoldYeh,
              FoldTehMarbuta, AsciiDigits]  # fmt: skip

    def fold(text: str) -> str:
        for flt in arabic:
            text = text.translate(flt.table)
        text = unicodedata.normalize("NFKD", text.casefold())
        return "".join(c for c in text if not unicodedata.combining(c) and c not in "'’")

    chars = {chr(code) for flt in arabic for code in flt.table}
    chars |= {chr(code) for code in [*range(0x41, 0x5B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]}
    chars |= {"'", "’"}
    table: dict[int, str | None] = {ord(c): fold(c) or None for c in chars}
    for code in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFEFD)]:
        table[code] = fold(unicodedata.normalize("NFKC", chr(code))) or None
    return table


_FOLD = _fold_table()


def _inverse_fold() -> tuple[dict[str, str], str, str]:
    """The fold turned around, so that it can be searched for in unfolded text.

    For each folded character, a regex class of every character that folds
    to it; the class of characters the fold deletes (marks, tatweel,
    joiners, apostrophes), which may sit anywhere inside a word; and the
    class of characters folding to several (ß, ligatures), whose texts take
    the slow path.
    """
    sources: dict[str, set[str]] = {}
    deleted, expanding = [], []
    for code, folded in _FOLD.items():
        char = chr(code)
        if not folded:
            deleted.append(char)
        elif len(folded) > 1:
            expanding.append(char)
        else:
            sources.setdefault(folded, {folded}).add(char)
    # The fold drops a dagger alef, but DaggerAlef also reads it as ا: it may stand for either.
    sources.setdefault("\u0627", {"\u0627"}).add("\u0670")
    classes = {
        folded: "[" + "".join(map(re.escape, sorted(chars))) + "]" for folded, chars in sources.items()
    }
    return classes, "".join(map(re.escape, sorted(deleted))), "".join(map(re.escape, sorted(expanding)))


_SOURCES, _DELETED, _EXPANDING = _inverse_fold()
_EXPANDING_CHARS = re.compile(f"[{_EXPANDING}]")


@lru_cache(maxsize=256)
def _gate(terms: frozenset[str]) -> re.Pattern:
    """A pattern that finds, in the text as written, any of the terms' stems (or their start).

    The Arabic light stemmer only cuts affixes, so its stem lies whole in the
    folded word. Snowball may change an English stem's last letters (happy →
    happi, dying → die), so two are left out. Each letter matches every
    character that folds to it, with any deleted characters (diacritics,
    tatweel) between.
    """
    between = f"[{_DELETED}]*"
    cores = set()
    for term in terms:
        folded = term.translate(_FOLD)
        keep = len(folded) if script_of(term) == ARABIC else max(1, len(folded) - 2)
        cores.add(folded[:keep])
    patterns = [
        between.join(_SOURCES.get(char, re.escape(char)) for char in core)
        for core in sorted(cores, key=len, reverse=True)
        if core  # a term of marks alone (from a range query) folds to nothing: no word holds it
    ]
    return re.compile("|".join(patterns) or "(?!)")


def _word_at(text: str, index: int, floor: int) -> re.Match | None:
    """The word of ``text`` that holds the character at ``index``, if any.

    Tokenizing from a space, a line break, or ``floor`` (where the previous
    word ended) gives the same words as tokenizing from the start, and never
    looks behind ``floor``: a long text without spaces costs one pass, not
    one pass per gate match.
    """
    start = max(floor, text.rfind(" ", floor, index) + 1, text.rfind("\n", floor, index) + 1)
    for found in WordTokenizer.matches(text, start):
        if found.end() > index:
            return found if found.start() <= index else None
    return None


def _candidate_words(text: str, chain: CachedChain, terms: frozenset[str]) -> Iterator[re.Match]:
    """The words that may hold a term: those a gate match falls in, or every word.

    Only chains made of filters whose output a fold still contains can use the
    gate, and only on texts without characters that fold to several.
    """
    if not all(isinstance(f, _GATE_SAFE) for f in chain.filters) or _EXPANDING_CHARS.search(text):
        yield from WordTokenizer.matches(text)
        return
    floor = 0
    for hit in _gate(terms).finditer(text):
        if hit.start() < floor:
            continue  # inside the word just given
        found = _word_at(text, hit.start(), floor)
        if found is None:  # a term of punctuation, from a range query, matched no word
            floor = hit.start()
        else:
            floor = found.end()
            yield found


def matched_spans(text: str, chain: CachedChain, terms: Collection[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text`` whose analysed forms include one of ``terms``.

    Works on the words and the field's memoised chain directly, without
    Whoosh's token stream, and decides each distinct word once. Most words of
    a hit cannot hold any term's stem: a regex finds the few that may (see
    :func:`_gate`), and only those are analysed. Analysing every word of
    every hit dominated the cost of snippets.
    """
    spans: list[tuple[int, int]] = []
    if not terms:
        return spans
    wanted = frozenset(terms)
    analyze = chain.analyze
    decided: dict[str, bool] = {}
    for found in _candidate_words(text, chain, wanted):
        word = found.group()
        matched = decided.get(word)
        if matched is None:
            matched = decided[word] = not wanted.isdisjoint(analyze(word))
        if matched:
            spans.append(found.span())
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
