"""Highlighted snippets: the words that matched, as written, inside escaped text.

A document's stored text is analysed with its field's own analyzer, so a word
is marked exactly when the index matched it (الانتخابات, والانتخابات and
انتخابات for the query انتخابات), with its diacritics and clitics intact.
This replaces Whoosh's highlighter for speed: a regex finds the few words that
may match and only those are analysed, then the window holding the most
distinct matched words is chosen.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import pickle
import re
import sys
import unicodedata
from bisect import bisect_right
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product, takewhile
from pathlib import Path

from index.analysis import ALL_SCRIPTS, CachedChain, TokenFilter, WordTokenizer, script_of
from index.store import cache_dir

GATE_LETTERS = 24  # a stem's letters the gate looks for (see _Fold.gate)

SNIPPET_CHARS = 240  # about what Google and Elasticsearch show
FRAGMENTS = 2
REPEAT_WORDS = 4  # a run this long shown twice in one snippet is a repeat
LEAD_CONTEXT = 60  # characters of context shown before a fragment's first match
MAX_MATCHES = 400  # enough for any snippet; keeps fragment choice cheap on huge texts


@dataclass(frozen=True, eq=False)
class _Fold:
    """A chain's character rules turned around, so that its terms can be searched for in text as written.

    Derived from the filters' own :meth:`TokenFilter.char_map`, so a rule added
    to the analysis is followed here without being written twice.
    """

    table: dict[int, str | None]  # each changed character to its first reading: folds a term
    sources: dict[str, str]  # a regex class of every character one character may be read from
    deleted: re.Pattern  # characters always read as nothing (marks, tatweel, joiners)
    optional: str  # the class of characters read as nothing or as a letter (superscript alef)
    expanding: re.Pattern  # characters read as several (ß, ligatures): their texts take the slow path
    ending: dict[str, int]  # per script: how many last letters a filter may rewrite

    def gate(self, terms: frozenset[str]) -> re.Pattern:
        """A pattern that finds, in text without its characters read as nothing, any of the terms' stems.

        A stemmer's stem lies whole in the folded word, except for the last
        letters a filter says it may rewrite (Snowball: happy → happi), which
        are left out. Each letter matches every character read as it, with
        the few characters read as a letter or as nothing between. The
        pattern is searched for in the text with the characters always read
        as nothing (diacritics, tatweel, joiners) taken out (see
        :func:`_gate_starts`): with a class of those between every two
        letters, a pattern took 15 ms to compile, a third of a search's time.
        Only a stem's first ``GATE_LETTERS`` letters are looked for: the words
        they find are analysed anyway, and a hostile 1,000-letter query word
        made a pattern that took a second to compile.
        """
        cores = set()
        for term in terms:
            folded = term.translate(self.table)
            core = folded[: max(1, len(folded) - self.ending.get(script_of(term), 0))]
            cores.add(core[:GATE_LETTERS])
        between = f"[{self.optional}]*" if self.optional else ""
        patterns = [
            between.join(self.sources.get(char, re.escape(char)) for char in core)
            for core in sorted(cores, key=len, reverse=True)
            if core  # a term of marks alone (from a range query) folds to nothing: no word holds it
        ]
        return re.compile("|".join(patterns) or "(?!)")


def _readings(char: str, rules: list[dict[str, tuple[str, ...]]]) -> tuple[str, ...]:
    """Every text the rules, applied in chain order, may turn ``char`` into; the first is the fold."""
    readings = (char,)
    for rule in rules:
        if not any(c in rule for text in readings for c in text):
            continue
        readings = tuple(
            dict.fromkeys(
                "".join(parts) for text in readings for parts in product(*(rule.get(c, (c,)) for c in text))
            )
        )
    return readings


@lru_cache(maxsize=16)
def _fold(filters: tuple[TokenFilter, ...]) -> _Fold | None:
    """The fold of a chain of filters, or None when one of them is not a character rule.

    Deriving it takes most of a second (the accent rule alone covers 15,000
    characters), which every ``fahras search`` would pay: so it is kept in the
    cache folder, named by the filters, their code and Unicode's version.
    """
    path = cache_dir("snippets") / f"fold-{_fold_key(filters)}.pickle"
    with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return pickle.loads(path.read_bytes())
    fold = _derived_fold(filters)
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the time again
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(fold))
        os.replace(partial, path)
    return fold


def _fold_key(filters: tuple[TokenFilter, ...]) -> str:
    """What a fold depends on: the filters and their settings, the code that reads them, Unicode's tables."""
    settings = [(type(flt).__qualname__, _canonical(vars(flt))) for flt in filters]
    digest = hashlib.sha256(f"{settings!r}|{unicodedata.unidata_version}".encode())
    for module in sorted({sys.modules[type(flt).__module__].__file__ for flt in filters} | {__file__}):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:32]


def _canonical(value: object) -> object:
    """``value`` with its sets and mappings in sorted order: the same text in every process."""
    if isinstance(value, dict):
        return sorted((repr(key), _canonical(item)) for key, item in value.items())
    if isinstance(value, set | frozenset):
        return sorted(repr(item) for item in value)
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return repr(value)


def _derived_fold(filters: tuple[TokenFilter, ...]) -> _Fold | None:
    rules = [flt.char_map() for flt in filters]
    if any(rule is None for rule in rules):
        return None
    table: dict[int, str | None] = {}
    sources: dict[str, set[str]] = {}
    deleted, optional, expanding = [], [], []
    for char in sorted(set().union(*rules)):
        readings = _readings(char, rules)
        table[ord(char)] = readings[0] or None
        if "" in readings:
            (deleted if set(readings) == {""} else optional).append(char)
        for reading in readings:
            if not reading:
                continue
            if len(reading) > 1:
                expanding.append(char)
            else:
                sources.setdefault(reading, {reading}).add(char)
    ending = {
        script: max(
            (
                flt.ending_rewritten()
                for flt in filters
                if flt.scripts is ALL_SCRIPTS or script in flt.scripts
            ),
            default=0,
        )
        for script in ALL_SCRIPTS
    }
    return _Fold(
        table=table,
        sources={
            folded: "[" + "".join(map(re.escape, sorted(chars))) + "]" for folded, chars in sources.items()
        },
        deleted=re.compile(f"[{''.join(map(re.escape, deleted))}]+" if deleted else "(?!)"),
        optional="".join(map(re.escape, optional)),
        expanding=re.compile(f"[{''.join(map(re.escape, expanding))}]" if expanding else "(?!)"),
        ending=ending,
    )


def prepare_fold(chain: CachedChain) -> None:
    """Derive the chain's fold now (about a third of a second), not on a user's first snippet."""
    _fold(chain.filters)


@lru_cache(maxsize=256)
def _gate(fold: _Fold, terms: frozenset[str]) -> re.Pattern:
    return fold.gate(terms)


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

    Only chains whose every filter is a character rule (see
    :meth:`TokenFilter.char_map`) can use the gate, and only on texts without
    characters read as several.
    """
    fold = _fold(chain.filters)
    if fold is None or fold.expanding.search(text):
        yield from WordTokenizer.matches(text)
        return
    floor = 0
    for start in _gate_starts(_gate(fold, terms), fold.deleted, text):
        if start < floor:
            continue  # inside the word just given
        found = _word_at(text, start, floor)
        if found is None:  # a term of punctuation, from a range query, matched no word
            floor = start
        else:
            floor = found.end()
            yield found


def _gate_starts(gate: re.Pattern, deleted: re.Pattern, text: str) -> Iterator[int]:
    """Where, in ``text``, the gate's matches start, searched for in the text without the ``deleted`` characters.

    A match in the stripped text starts at a letter; it is moved right by the
    number of characters taken out before that letter.
    """
    runs = [(found.start(), found.end()) for found in deleted.finditer(text)]
    if not runs:
        yield from (hit.start() for hit in gate.finditer(text))
        return
    stripped_at: list[int] = []  # where each run was, in the stripped text
    removed_before: list[int] = []  # characters taken out up to and including each run
    removed = 0
    for start, end in runs:
        stripped_at.append(start - removed)
        removed += end - start
        removed_before.append(removed)
    for hit in gate.finditer(deleted.sub("", text)):
        runs_before = bisect_right(stripped_at, hit.start())
        yield hit.start() + (removed_before[runs_before - 1] if runs_before else 0)


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
    inside = list(takewhile(lambda span: span[1] <= limit, spans[first:]))
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


def _shingles(text: str) -> set[tuple[str, ...]]:
    """The runs of REPEAT_WORDS words of ``text`` (casefolded): what a second fragment must not show again."""
    words = [word.casefold() for word in WordTokenizer.words(text)]
    return {tuple(words[at : at + REPEAT_WORDS]) for at in range(len(words) - REPEAT_WORDS + 1)}


def fragments(
    text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS, count: int = FRAGMENTS
) -> list[tuple[int, int]]:
    """Up to ``count`` fragments of ``text``, about ``width`` characters in all, in text order.

    The first is the window with the most distinct matched words; each next one
    the best among the matches outside the fragments chosen, that neither
    overlaps them nor shows again a run of words they show (news articles
    repeat their sentences: the same words on both sides of a "…" say nothing).
    """
    if not spans:
        return []
    fragment_width = width // count
    chosen: list[tuple[int, int]] = []
    shown: set[tuple[str, ...]] = set()
    candidates = sorted(
        range(len(spans)), key=lambda i: _window_score(text, spans, i, fragment_width), reverse=True
    )
    for index in candidates:
        if len(chosen) == count:
            break
        start, end = _bounds(text, spans, index, fragment_width)
        if any(start < right and left < end for left, right in chosen):
            continue
        runs = _shingles(text[start:end])
        if runs & shown:
            continue
        chosen.append((start, end))
        shown |= runs
    return sorted(chosen)


def snippet(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    """The fragments of :func:`fragments` escaped and marked, with "…" wherever the text is cut."""
    return shown(text, spans, fragments(text, spans, width), width)


def shown(
    text: str, spans: list[tuple[int, int]], chosen: list[tuple[int, int]], width: int = SNIPPET_CHARS
) -> str:
    """Chosen fragments escaped and marked, with "…" wherever the text is cut (the lead when none)."""
    if not chosen:
        return lead(text, width)
    parts = [mark(text, spans, start, end) for start, end in chosen]
    head = "… " if chosen[0][0] > 0 else ""
    tail = " …" if chosen[-1][1] < len(text) else ""
    return head + " … ".join(parts) + tail


def lead(text: str, width: int = SNIPPET_CHARS) -> str:
    """The start of a text, cut at a word boundary, escaped: the snippet when nothing matched."""
    if len(text) <= width:
        return html.escape(text, quote=False)
    cut = text.rfind(" ", 0, width)
    return html.escape(text[: cut if cut > 0 else width], quote=False) + " …"
