"""Query completion, "did you mean", and queries typed on the wrong keyboard layout.

The index holds normalised forms (الازمه, not الأزمة), so a suggestion is first
found among indexed terms and then shown in a surface form read back from a
document that contains it: suggestions are real words, never stems.

A correction is offered only for a word that matches nothing: a word with matches
is what the user meant, however rare. Among the words of the vocabulary within one
or two edits, the closest wins and, at the same distance, the most frequent; the
letters Arabic writers confuse (ض ظ ص, ث س, ذ ز, ت ط) cost half an edit, and a
swap of two neighbours one (electoin → election). Hamza and alef forms, ة/ه and ى/ي
need no cost at all: normalisation already made them one letter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from itertools import chain, zip_longest
from typing import NamedTuple

from index.analysis import (
    CachedChain,
    StripDiacritics,
    StripFormatChars,
    StripTatweel,
    WordTokenizer,
    normalization_filters,
    script_of,
)
from index.schema import BODY, EXACT, TEXT_FIELDS, TITLE

from .backend import Lexicon

SUGGEST_FIELDS = (TITLE + EXACT, BODY + EXACT)  # words as documents write them (normalised)
# A correction is searched instead of a query that matches nothing only when it is one
# edit away, from a word of some length, to a word several documents use; weaker ones
# are only offered ("did you mean").
CONFIDENT_COST, CONFIDENT_LENGTH, CONFIDENT_FREQUENCY = 1.0, 4, 3
MAX_CORRECTED_WORDS = 4  # unmatched words of one query looked up: each walks the vocabulary
# A word written in no document, though its stem matches (goverment, whose stem gover matches
# governess), is offered a correction when one edit away a word is written by this many times
# more documents: a rare real form (وبالانتخابات) is never "corrected" into a common one.
FAR_MORE_FREQUENT = 10
MATCH_FIELDS = TEXT_FIELDS
MAX_SCANNED_TERMS = 5000
EXAMPLE_CANDIDATES = 300  # the most frequent title words looked at for the empty page's "Try:" examples
_NORMALIZE = CachedChain(*normalization_filters())
_DISPLAY = CachedChain(StripFormatChars(), StripDiacritics(), StripTatweel())

_CONFUSED = ("ضظص", "ثس", "ذز", "تط")
_HALF_COST = {(a, b) for group in _CONFUSED for a in group for b in group if a != b}

# The standard Arabic (101) keyboard: what each key types. Punctuation keys type letters
# there (; is ك, , is و), and b types the two letters لا.
_UNSHIFTED = dict(
    zip(
        "`qwertyuiop[]asdfghjkl;'zxcvbnm,./",
        ["ذ", "ض", "ص", "ث", "ق", "ف", "غ", "ع", "ه", "خ", "ح", "ج", "د", "ش", "س", "ي", "ب", "ل", "ا",
         "ت", "ن", "م", "ك", "ط", "ئ", "ء", "ؤ", "ر", "لا", "ى", "ة", "و", "ز", "ظ"],
        strict=True,
    )
)  # fmt: skip
_SHIFTED = {"H": "أ", "Y": "إ", "N": "آ", "G": "لأ", "T": "لإ", "B": "لآ"}
# Arabic back to keys, longest first so that لا is read as the one key b.
_BACK = sorted(
    ((arabic, key) for key, arabic in {**_UNSHIFTED, **_SHIFTED}.items()), key=lambda kv: -len(kv[0])
)


def normalize(word: str) -> str:
    """A word's indexed exact form (stop words kept)."""
    return _NORMALIZE.analyze_word(word)


def displayed(word: str) -> str:
    """A word as typed, without its diacritics, tatweel and invisible format characters."""
    return _DISPLAY.analyze_word(word)


def words_within(lexicon: Lexicon, field: str, text: str, maxdist: int, prefix: int = 0) -> Iterator[str]:
    """The words of ``field`` that start with ``text``'s first ``prefix`` letters and are within ``maxdist`` edits.

    Every candidate's edit distance is computed in Python (about 50 µs a word;
    a long unmatched word walked 600 of them). An edit changes a word's length,
    and the letters it holds counted as a bag, by at most one, so a term whose
    length or bag differs from ``text``'s by more than ``maxdist`` is skipped
    unmeasured.
    """
    letters, distinct = Counter(text), frozenset(text)
    for word in lexicon.expand_prefix(field, text[:prefix]):
        if abs(len(word) - len(text)) > maxdist:
            continue
        # Each letter one word has and the other lacks is one in the bags' difference: a quick first test.
        if len(distinct.difference(word)) > maxdist or len(frozenset(word).difference(distinct)) > maxdist:
            continue
        held = Counter(word)
        if max((held - letters).total(), (letters - held).total()) > maxdist:
            continue
        if edit_distance(word, text, maxdist) <= maxdist:
            yield word


def edit_distance(first: str, second: str, limit: int) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours between two words; ``limit + 1`` once past it."""
    before: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b and a != b:
                best = min(best, before[j - 2] + 1)
            current.append(best)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def edit_cost(typed: str, known: str) -> float:
    """Damerau (adjacent swap) edit distance, with the commonly confused Arabic letters at half cost."""
    rows = [[float(j) for j in range(len(known) + 1)]]
    for i, a in enumerate(typed, 1):
        row = [float(i)]
        for j, b in enumerate(known, 1):
            substitute = 0.0 if a == b else 0.5 if (a, b) in _HALF_COST else 1.0
            best = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + substitute)
            if i > 1 and j > 1 and a == known[j - 2] and typed[i - 2] == b:
                best = min(best, rows[-2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[-1][-1]


def swap_layout(text: str) -> str | None:
    """``text`` as it reads typed on the other layout (Latin keys ↔ Arabic letters), or None.

    Only text written wholly with the keys of one layout (plus spaces and digits) is
    mapped; anything else is a real query in its own right.
    """
    if not any(char.isalpha() for char in text):
        return None
    if all(char.isspace() or char.isdigit() or char in _UNSHIFTED or char in _SHIFTED or
           char.lower() in _UNSHIFTED for char in text):  # fmt: skip
        return "".join(_SHIFTED.get(c) or _UNSHIFTED.get(c.lower(), c) for c in text)
    mapped, at = [], 0  # Arabic typed for English: every letter must come from a letter key
    while at < len(text):
        if text[at].isspace() or text[at].isdigit():
            mapped.append(text[at])
            at += 1
            continue
        found = next(((arabic, key) for arabic, key in _BACK if text.startswith(arabic, at)), None)
        if found is None or not found[1].isalpha():
            return None
        mapped.append(found[1])
        at += len(found[0])
    return "".join(mapped)


def in_case_of(typed: str, written: str) -> str:
    """A correction in the letter case the user typed (goverment → government, though titles write Government)."""
    if typed.islower():
        return written.lower()
    return written.upper() if typed.isupper() and len(typed) > 1 else written


class Replacement(NamedTuple):
    word: str  # as written in a document
    confident: bool
    cost: float = 0.0  # edits from the typed word (confused Arabic letters count half)
    frequency: int = 0  # documents that write it


class Correction(NamedTuple):
    text: str  # the query with its unmatched words replaced
    confident: bool  # every replacement is confident: worth searching instead


class Suggester:
    """Suggestions from one index version's vocabulary."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def _frequency(self, term: str) -> int:
        return sum(self.lexicon.document_frequency(f, term) for f in SUGGEST_FIELDS)

    def surface(self, term: str) -> str:
        """How ``term`` is written in a document that contains it (diacritics removed)."""
        for fieldname in SUGGEST_FIELDS:
            text = self.lexicon.stored_text(fieldname, term)
            for word in WordTokenizer.words(text or ""):
                if normalize(word) == term:
                    return displayed(word)
        return term

    def examples(self, stop_word: Callable[[str], bool], limit: int) -> list[str]:
        """Words to try on an empty page: the titles' most frequent words, taking turns between scripts.

        Stop words, numbers, short words and words of one title are passed over,
        so a news archive offers its recurring subjects and a bilingual one both languages.
        """
        by_script: dict[str, list[str]] = {}
        for term, count in self.lexicon.most_frequent(TITLE + EXACT, EXAMPLE_CANDIDATES):
            if count >= 2 and len(term) >= 3 and term.isalpha() and not stop_word(term):
                by_script.setdefault(script_of(term), []).append(term)
        turns = chain.from_iterable(zip_longest(*by_script.values()))
        return [self.surface(term) for term in turns if term is not None][:limit]

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
            for scanned, term in enumerate(self.lexicon.expand_prefix(fieldname, stem)):
                if scanned >= MAX_SCANNED_TERMS:
                    break
                counts[term] = counts.get(term, 0) + self.lexicon.document_frequency(fieldname, term)
        best = sorted(counts, key=lambda t: (-counts[t], t))[:limit]
        head = " ".join(words[:-1])
        return [f"{head} {self.surface(t)}".strip() for t in best]

    # ------------------------------------------------------------- corrections

    def written(self, word: str) -> int:
        """How many documents write ``word`` in this very form (after normalisation), in titles and bodies."""
        term = normalize(word)
        return self._frequency(term) if term else 0

    def matches(self, word: str, stems: tuple[str, ...]) -> bool:
        """Whether any document holds the word (one of its stems in a searched field)."""
        return any(self.lexicon.document_frequency(f, stem) for f in MATCH_FIELDS for stem in stems)

    def misspelt(self, word: str, stems: tuple[str, ...]) -> bool:
        """Whether a word that matches through its stem is written as typed in no document (goverment → gover)."""
        return bool(stems) and self.written(word) == 0

    def _far_more_frequent(self, found: Replacement, stems: tuple[str, ...]) -> bool:
        """Whether a correction one edit away is written by far more documents than the word's stems match."""
        matched = sum(self.lexicon.document_frequency(f, stem) for f in MATCH_FIELDS for stem in stems)
        return found.cost <= 1 and found.frequency >= FAR_MORE_FREQUENT * max(1, matched)

    def did_you_mean(self, words: list[tuple[str, tuple[str, ...]]]) -> Correction | None:
        """The words with each unmatched one replaced by its closest frequent neighbour, or None.

        ``words`` are the typed words with their stems, in order.
        """
        parts, replaced, tried = [], [], 0
        for word, stems in words:
            doubtful = bool(stems) and (not self.matches(word, stems) or self.misspelt(word, stems))
            tried += doubtful
            found = self.correct(word) if doubtful and tried <= MAX_CORRECTED_WORDS else None
            if found and self.matches(word, stems) and not self._far_more_frequent(found, stems):
                found = None  # a real word, however rare: not corrected
            parts.append(in_case_of(word, found.word) if found else word)
            if found:
                replaced.append(found)
        if not replaced:
            return None
        return Correction(" ".join(parts), all(found.confident for found in replaced))

    def correct(self, word: str) -> Replacement | None:
        """The vocabulary word closest to ``word`` (ties: the most frequent), shown as written."""
        term = normalize(word)
        if len(term) < 3 or term.isdigit():
            return None
        allowed = 1.0 if len(term) <= 5 else 2.0
        # A fixed start keeps the walk over the lexicon short (ten times shorter with two
        # letters than with one); the article ال is too common to narrow anything.
        prefix = 4 if term.startswith("ال") and len(term) > 5 else 2
        best: tuple[float, int, str] | None = None
        for fieldname in SUGGEST_FIELDS:
            for candidate in words_within(self.lexicon, fieldname, term, int(allowed), prefix=prefix):
                cost = edit_cost(term, candidate)
                if cost == 0 or cost > allowed:
                    continue
                ranked = (cost, -self._frequency(candidate), candidate)
                best = ranked if best is None or ranked < best else best
        if best is None:
            return None
        cost, frequency = best[0], -best[1]
        confident = (
            cost <= CONFIDENT_COST and len(term) >= CONFIDENT_LENGTH and frequency >= CONFIDENT_FREQUENCY
        )
        return Replacement(self.surface(best[2]), confident, cost, frequency)
