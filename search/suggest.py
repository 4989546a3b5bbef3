"""Query completion and "did you mean", in words people actually wrote.

The index holds normalised forms (الازمه, not الأزمة), so a suggestion is first
found among indexed terms and then shown in a surface form read back from a
document that contains it: suggestions are real words, never stems.
"""

from __future__ import annotations

import re

from whoosh.searching import Searcher

from index.analysis import (
    CachedChain,
    StripDiacritics,
    StripFormatChars,
    StripTatweel,
    WordTokenizer,
    normalization_filters,
)

SUGGEST_FIELDS = ("title_exact", "body_exact")
MAX_SCANNED_TERMS = 5000
_NORMALIZE = CachedChain(*normalization_filters())
_DISPLAY = CachedChain(StripFormatChars(), StripDiacritics(), StripTatweel())
_TOKENIZE = WordTokenizer()
# Query-syntax characters and operators: a query holding any is not plain words.
QUERY_SYNTAX = re.compile(r'["()*?~:^]|\b(?:AND|OR|NOT)\b')


def normalize(word: str) -> str:
    """A word's indexed exact form (stop words kept)."""
    return _NORMALIZE.analyze_word(word)


class Suggester:
    """Suggestions from one searcher's vocabulary."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()

    def _frequency(self, term: str) -> int:
        return sum(self.reader.doc_frequency(f, term) for f in SUGGEST_FIELDS)

    def surface(self, term: str) -> str:
        """How ``term`` is written in a document that contains it (diacritics removed)."""
        for fieldname in SUGGEST_FIELDS:
            if not self.reader.doc_frequency(fieldname, term):
                continue
            docnum = next(iter(self.reader.postings(fieldname, term).all_ids()), None)
            if docnum is None:
                continue
            stored = self.reader.stored_fields(docnum)
            text = stored.get("title" if fieldname == "title_exact" else "body", "")
            for token in _TOKENIZE(text):
                if normalize(token.text) == term:
                    return _DISPLAY.analyze_word(token.text)
        return term

    def complete(self, prefix: str, limit: int = 8) -> list[str]:
        """Completions of the last word of ``prefix``, most frequent first."""
        words = prefix.split()
        if not words or len(prefix) > 200:
            return []
        stem = normalize(words[-1])
        if len(stem) < 1:
            return []
        counts: dict[str, int] = {}
        for fieldname in SUGGEST_FIELDS:
            for scanned, term in enumerate(self.reader.expand_prefix(fieldname, stem)):
                if scanned >= MAX_SCANNED_TERMS:
                    break
                term = term.decode("utf-8") if isinstance(term, bytes) else term
                counts[term] = counts.get(term, 0) + self.reader.doc_frequency(fieldname, term)
        best = sorted(counts, key=lambda t: (-counts[t], t))[:limit]
        head = " ".join(words[:-1])
        return [f"{head} {self.surface(t)}".strip() for t in best]

    def did_you_mean(self, text: str) -> str | None:
        """The query with unknown or rare words replaced by close, frequent ones."""
        if QUERY_SYNTAX.search(text):
            return None
        changed = False
        parts = []
        for word in text.split():
            replacement = self._correct(word)
            changed |= replacement is not None
            parts.append(replacement or word)
        return " ".join(parts) if changed else None

    def _correct(self, word: str) -> str | None:
        term = normalize(word)
        if not term or len(term) < 3 or term.isdigit():
            return None
        known = self._frequency(term)
        maxdist = 1 if len(term) <= 5 else 2
        best, best_count = None, known
        # A fixed prefix keeps the Levenshtein walk over the lexicon fast; the
        # article ال is too common to narrow anything, so it does not count.
        prefix = 3 if term.startswith("ال") else 2
        for fieldname in SUGGEST_FIELDS:
            for candidate in self.reader.terms_within(fieldname, term, maxdist, prefix=prefix):
                count = self._frequency(candidate)
                if count > max(best_count, 2 * known):
                    best, best_count = candidate, count
        return self.surface(best) if best else None
