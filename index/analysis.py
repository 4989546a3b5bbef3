"""Bilingual (Arabic/English) analysis built from small Whoosh filters.

The chain reads like Whoosh's own: ``WordTokenizer() | Filter | Filter ...``.
Every filter handles one concern and declares which scripts it applies to, so a
document mixing Arabic and English never needs a language guess: each *token* is
dispatched on its own script (the approach of Meilisearch's charabia).

Tokens keep their character offsets into the ORIGINAL text (diacritics and
clitics included) because normalisation happens on the token text only; that
is what lets snippets mark the words exactly as the author wrote them.

Each rule lives here once. A filter that maps characters also says so
(:meth:`TokenFilter.char_map`; a ``_TranslateFilter``'s ``table`` is its map),
and search/snippets.py turns those maps around to find a query term in text
as written, so snippet marks follow a rule without a second copy of it.

Adding a rule takes one class and one test line:

1. A :class:`TokenFilter` subclass: ``scripts``, ``rewritten`` (or ``forms_in_script``
   for a word that reads two ways) and ``char_map``: a translation ``table``
   is enough for a plain character mapping; a filter that only cuts (affixes,
   stop words) returns ``{}``; one that cannot be described character by
   character keeps the default (None), and snippets then analyse every word.
   Put it in :func:`normalization_filters` (or a chain) where it must run.
2. A line ``(NewFilter(), "given", "expected")`` in ``test_filter_alone`` in
   tests/test_analysis.py. tests/test_snippets.py needs nothing: it finds
   every character the chain changes by running the chain over the whole
   Basic Multilingual Plane, and checks that each word is still marked (a map
   left out fails there); tests/test_bulk.py checks the bulk builder's fused
   analysis against every chain's own.

Indexes built before the change are not rewritten: each records the
fingerprint of its analysis (index/schema.py ``analysis_fingerprint``: every
field's analyzer, each filter's class, parameters and class-level tables,
public attributes and private UPPER_CASE constants such as ``table`` and
``SUFFIXES``), and ``fahras check``, ``stats``, ``search`` and ``/healthz``
report a mismatch as "outdated" (index/check.py ``outdated``); ``fahras
index`` refuses to add to it, and ``fahras rebuild`` builds it anew. The
fingerprint sees classes and data, not code: a new filter in a chain, or a
changed table, is reported; a rule changed only inside a method (or in a
module-level constant) is not, so keep a rule's data in a class-level table,
or else raise ``FORMAT_VERSION`` in index/store.py.

The Arabic letters are named from pyarabic's ``araby`` constants (``ALEF``,
``TEH_MARBUTA``, ``TATWEEL``...); ranges that pyarabic has no name for (the
Quranic marks, Persian letters) are written as code points. Root fields use
NLTK's ISRI stemmer, although Whoosh also ships one (``whoosh.lang.isri``, a
copy of NLTK's from 2012) and Snowball stemmers (``whoosh.lang.snowball``, with
no Arabic): NLTK's ISRI is the maintained one, and NLTK also provides the
English Snowball and the Arabic stemmers (ARLSTem, ARLSTem2, Snowball
Arabic) that bench/quality.py compares ours with, so one library serves all.
"""

from __future__ import annotations

import re
import signal
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from pyarabic import araby
from whoosh.analysis import Filter, Token, Tokenizer

ARABIC = "arabic"
LATIN = "latin"
OTHER = "other"  # digits-only tokens, other scripts: only script-neutral filters apply
ALL_SCRIPTS = frozenset({ARABIC, LATIN, OTHER})

# Arabic combining marks (harakat, tanween, shadda, sukun, hamza above/below...),
# dagger alef and Quranic annotation marks. They are word-internal, so the
# tokenizer must keep them inside words (Whoosh's default splits كَتَبَ into ك ت ب).
# pyarabic's TASHKEEL (harakat, tanween, shadda, sukun) lies inside the first range.
_MARK_RANGES = ((0x064B, 0x065F), (ord(araby.SMALL_ALEF), ord(araby.SMALL_ALEF)), (0x06D6, 0x06ED))
_MARKS = "".join(f"{chr(low)}-{chr(high)}" if low < high else chr(low) for low, high in _MARK_RANGES)
_TATWEEL = araby.TATWEEL
# Invisible joiners, directional marks, the soft hyphen (U+00AD), the word
# joiner (U+2060) and the zero-width no-break space (U+FEFF, a stray BOM):
# they may sit inside a word and must neither split nor change it.
_FORMAT_CHARS = "\u200c\u200d\u200e\u200f\u061c\u00ad\u2060\ufeff"
# The Unicode blocks of the Arabic script: Arabic, Arabic Supplement, Extended-A,
# Presentation Forms-A and -B (in script_of's terms, ARABIC).
_ARABIC_BLOCKS = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


def _char_class(codes: Iterable[int]) -> str:
    """The body of a regex character class holding exactly ``codes``, as ranges."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "") for low, high in ranges
    )


_ARABIC_CODES = frozenset(code for low, high in _ARABIC_BLOCKS for code in range(low, high + 1))
_ARABIC_LETTERS = _char_class(code for code in _ARABIC_CODES if chr(code).isalpha())
# A word is a run of one script: Arabic letters (with their marks and tatweel),
# or other letters and digits. Where Arabic letters meet digits or Latin
# letters without a space (أبولو11، 2019م، بالـiPhone) they are two words, as a
# reader sees them; Latin letters and digits stay together (G20, mp3).
_ARABIC_UNIT = f"[{_ARABIC_LETTERS}{_MARKS}{_TATWEEL}{_FORMAT_CHARS}]"
_OTHER_UNIT = f"(?:[^\\W_{_ARABIC_LETTERS}]|[{_FORMAT_CHARS}])"
_WORD_PATTERN = rf"{_ARABIC_UNIT}+(?:['’]{_ARABIC_UNIT}+)*|{_OTHER_UNIT}+(?:['’]{_OTHER_UNIT}+)*"


def script_of(word: str) -> str:
    """The script of a word, judged by its first letter (digits are neutral).

    A "word" of Arabic marks or tatweel alone (a stray tanween) is Arabic, so
    that the Arabic filters strip it away rather than index it.
    """
    for char in word:
        if char.isalpha():
            code = ord(char)
            if _is_arabic(code):
                return ARABIC
            if code <= 0x024F or 0x1E00 <= code <= 0x1EFF:
                return LATIN
            return OTHER
    return ARABIC if any(_is_arabic(ord(char)) for char in word) else OTHER


def _is_arabic(code: int) -> bool:
    return code in _ARABIC_CODES  # a set lookup: this runs for every new word of a build


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """Text safe to encode: JSON escapes like \\ud800 and undecodable command-line
    bytes leave unpaired surrogates, which no file, page or index can hold."""
    return _LONE_SURROGATE.sub("\ufffd", text)


class WordTokenizer(Tokenizer):
    """Splits text into words, keeping Arabic diacritics and tatweel inside them.

    The same text is analysed once per field (stemmed, exact, root), so the
    word spans of the most recent text are remembered and reused.

    When called with ``tokenize=False`` (Whoosh does this for wildcard and fuzzy
    query terms) the single token is flagged ``verbatim`` so that stemming
    filters leave it alone: a prefix like ``انتخاب*`` must not be stemmed.
    """

    _WORDS = re.compile(_WORD_PATTERN)
    _last: tuple[str, list[tuple[int, int]]] = ("", [])  # shared by all instances

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    @classmethod
    def matches(cls, value: str, start: int = 0) -> Iterator[re.Match]:
        """Each word of ``value`` from ``start`` on, as a regex match (text and span in one object)."""
        return cls._WORDS.finditer(value, start)

    @classmethod
    def words(cls, value: str) -> list[str]:
        """The words of ``value``, in order (what :meth:`spans` cuts out, without the spans)."""
        return cls._WORDS.findall(value)

    @classmethod
    def spans(cls, value: str) -> list[tuple[int, int]]:
        """(start, end) of each word in ``value``."""
        last_value, last_spans = cls._last
        if last_value is value:
            return last_spans
        found = [match.span() for match in cls._WORDS.finditer(value)]
        cls._last = (value, found)
        return found

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.verbatim = not tokenize
        spans = self.spans(value) if tokenize else [(0, len(value))]
        for pos, (start, end) in enumerate(spans):
            token.text = value[start:end]
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


# Arabic Presentation Forms-A and -B, first and last code point.
_PRESENTATION_FORMS = (0xFB50, 0xFEFF)
_BMP = range(0x10000)  # the characters a filter's char_map is read over when any may change


def _changed_chars(rule: Callable[[str], str], codes: Iterable[int]) -> dict[str, tuple[str, ...]]:
    """``rule`` as a character map: each of ``codes`` it changes, with its one reading."""
    chars = (chr(code) for code in codes)
    return {char: (changed,) for char in chars if (changed := rule(char)) != char}


def _emit(token: Token, forms: tuple[str, ...]) -> Iterator[Token]:
    """Yield the token once per form (same position and offsets), or as stopped."""
    if not forms:
        if not token.removestops:
            token.stopped = True
            yield token
        return
    for form in forms:
        token.text = form
        yield token


class TokenFilter(Filter):
    """A filter that rewrites the text of one token at a time.

    Subclasses implement :meth:`rewritten` and set ``scripts``; a token whose
    script is not listed passes through untouched. An empty result removes the
    token (or marks it stopped when the caller keeps stop words).
    """

    scripts: frozenset[str] = ALL_SCRIPTS
    is_stemmer = False

    def rewritten(self, word: str) -> str:
        """The word as this filter rewrites it ('' drops it); the word is in one of ``scripts``."""
        raise NotImplementedError

    def applies_to(self, word: str) -> bool:
        return self.scripts is ALL_SCRIPTS or script_of(word) in self.scripts

    def forms_in_script(self, word: str) -> tuple[str, ...]:
        """The forms of a word already known to be in one of ``scripts``.

        Usually one, none for a dropped word, several for a word that reads
        several ways (a tanween or dagger alef, a proclitic: see
        :class:`ArabicLightStemmer`); all are indexed at the same position.
        """
        text = self.rewritten(word)
        return (text,) if text else ()

    def forms_of(self, word: str) -> tuple[str, ...]:
        """The word's forms, or the word itself when the filter does not apply."""
        return self.forms_in_script(word) if self.applies_to(word) else (word,)

    def char_map(self) -> dict[str, tuple[str, ...]] | None:
        """Every character this filter changes, with what it may become; None for "not a character rule".

        search/snippets.py turns these maps around to find a query term in
        text as written, so a rule lives here once and the snippets follow it.
        A character may have several readings (a dagger alef stands for ا or
        for nothing); the first is the one a query term is folded with. Beyond
        its map, a filter may only cut a word (an affix, a whole stop word),
        never change the letters that stay, unless it says how many of the
        last ones it rewrites (:meth:`ending_rewritten`). A filter that keeps
        the default, None, makes a chain analyse every word of a snippet: slow,
        never wrong (a root stemmer, which drops inner letters, is such a filter).
        """
        return None

    def ending_rewritten(self) -> int:
        """How many of a word's last letters this filter may rewrite rather than cut (Snowball: happy → happi)."""
        return 0

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for token in tokens:
            if self.is_stemmer and getattr(token, "verbatim", False):
                yield token
            else:
                yield from _emit(token, self.forms_of(token.text))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(type(self))


class _TranslateFilter(TokenFilter):
    """Base for filters that are a plain character mapping."""

    table: dict[int, str | None] = {}

    def rewritten(self, word: str) -> str:
        return word.translate(self.table)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {chr(code): (to or "",) for code, to in self.table.items()}


# --------------------------------------------------------------------------- Arabic


class ArabicPresentationForms(TokenFilter):
    """NFKC-folds Arabic presentation forms (ﻻ, ﺍﻟﺴﻼﻡ) to ordinary letters."""

    scripts = frozenset({ARABIC})

    def rewritten(self, word: str) -> str:
        if any(_PRESENTATION_FORMS[0] <= ord(c) <= _PRESENTATION_FORMS[1] for c in word):
            return unicodedata.normalize("NFKC", word)
        return word

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return _changed_chars(
            lambda c: unicodedata.normalize("NFKC", c),
            range(_PRESENTATION_FORMS[0], _PRESENTATION_FORMS[1] + 1),
        )

    def forms_in_script(self, word: str) -> tuple[str, ...]:
        """A ligature of a whole phrase (ﷺ) gives its words, all at the word's position."""
        text = self.rewritten(word)
        if any(char.isspace() for char in word):  # a verbatim query term: whitespace is its own
            return (text,) if text else ()
        return tuple(text.split())


class TanweenAlef(TokenFilter):
    """A word with tanween fath on its final alef reads both without and with that alef.

    أمطاراً then matches أمطار, and شكراً matches شكرا, the usual spelling
    without the mark (as مستثمرًا matches مستثمرا). Must run before diacritics
    are stripped: once the mark is gone the alef is indistinguishable from a
    stem letter (or the dual ending of a verb), so an unmarked word keeps its alef.
    """

    scripts = frozenset({ARABIC})
    _ENDING = re.compile(f"(?:{araby.ALEF}{araby.FATHATAN}|{araby.FATHATAN}{araby.ALEF})[\u064b-\u065f]*$")

    def rewritten(self, word: str) -> str:
        return self._ENDING.sub("", word)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {}  # it only cuts the ending, and keeps the word as written too

    def forms_in_script(self, word: str) -> tuple[str, ...]:
        bare = self.rewritten(word)
        if bare == word:
            return (word,) if word else ()
        return (bare, word) if bare else (word,)


class DaggerAlef(TokenFilter):
    """A word with a dagger alef (superscript ـٰ) reads both with it as a full alef and without it.

    Qur'anic and vocalised text writes ٱلْكِتَٰبُ for الكتاب, but also ذَٰلِكَ and
    ٱلرَّحْمَٰنِ, whose ordinary spellings (ذلك، الرحمن) omit the alef: both
    readings are kept, at the same position. Over alef maqsura (عَلَىٰ، مُوسَىٰ)
    the mark only repeats the long vowel already written, so there it is dropped.
    Runs before :class:`StripDiacritics`, which drops the mark.
    """

    scripts = frozenset({ARABIC})
    _OVER_LONG_VOWEL = re.compile(
        f"(?<=[{araby.ALEF}{araby.ALEF_MAKSURA}])([\u064b-\u065f]*){araby.SMALL_ALEF}"
    )

    def rewritten(self, word: str) -> str:
        return self._OVER_LONG_VOWEL.sub(r"\1", word).replace(araby.SMALL_ALEF, araby.ALEF)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {araby.SMALL_ALEF: (araby.ALEF, "")}

    def forms_in_script(self, word: str) -> tuple[str, ...]:
        if araby.SMALL_ALEF not in word:
            return (word,) if word else ()
        with_alef, without = self.rewritten(word), word.replace(araby.SMALL_ALEF, "")
        return (with_alef, without) if with_alef != without else (with_alef,)


class StripDiacritics(_TranslateFilter):
    """Removes harakat, tanween, shadda, sukun, dagger alef and Quranic marks."""

    scripts = frozenset({ARABIC})
    table = {code: None for low, high in _MARK_RANGES for code in range(low, high + 1)}


class StripTatweel(_TranslateFilter):
    """Removes tatweel (kashida), the stretching stroke in جـــميل."""

    scripts = frozenset({ARABIC})
    table = {ord(_TATWEEL): None}


class StripFormatChars(_TranslateFilter):
    """Removes zero-width joiners, directional marks and soft hyphens hidden inside words."""

    table = {ord(c): None for c in _FORMAT_CHARS}


class FoldAlef(_TranslateFilter):
    """Folds hamza and madda alef forms (أ إ آ ٱ) to bare alef."""

    scripts = frozenset({ARABIC})
    # ٲ and ٳ (wavy hamza above and below) have no pyarabic name.
    table = {
        ord(c): araby.ALEF
        for c in (
            araby.ALEF_HAMZA_ABOVE,
            araby.ALEF_HAMZA_BELOW,
            araby.ALEF_MADDA,
            araby.ALEF_WASLA,
            "\u0672",
            "\u0673",
        )
    }


class FoldHamzaCarriers(_TranslateFilter):
    """Folds hamza on waw and on yeh (ؤ ئ) to the bare carrier letter."""

    scripts = frozenset({ARABIC})
    table = {ord(araby.WAW_HAMZA): araby.WAW, ord(araby.YEH_HAMZA): araby.YEH}


class FoldYeh(_TranslateFilter):
    """Folds alef maqsura and Persian yeh (ى ی) to yeh, Persian keheh (ک) to kaf."""

    scripts = frozenset({ARABIC})
    # Persian yeh (U+06CC) and keheh (U+06A9) have no pyarabic name.
    table = {ord(araby.ALEF_MAKSURA): araby.YEH, 0x06CC: araby.YEH, 0x06A9: araby.KAF}


class FoldTehMarbuta(_TranslateFilter):
    """Folds teh marbuta (ة) to heh, the usual spelling variation in news text."""

    scripts = frozenset({ARABIC})
    # U+06C0, heh with yeh above (Persian ezafe), has no pyarabic name.
    table = {ord(araby.TEH_MARBUTA): araby.HEH, 0x06C0: araby.HEH}


class StopWords(TokenFilter):
    """Removes stop words of one script; the list is normalised like the text."""

    def __init__(self, words: Iterable[str], script: str) -> None:
        self.scripts = frozenset({script})
        self.words = frozenset(words)

    def rewritten(self, word: str) -> str:
        return "" if word in self.words else word

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {}  # a word is dropped whole or kept as it is


class ArabicLightStemmer(TokenFilter):
    """Light stemming: strips the article (with its clitics) and one suffix.

    Guards keep short words whole: the article is only removed when
    ``min_stem`` letters remain (الله stays), a suffix likewise (موسكو, حفتر
    stay), and the ambiguous endings ان ين ون only when four letters remain
    (عنوان, ايران stay; المسلمين → مسلم).

    A single leading و ف ب ل is a proclitic in ومصر or بترجمة but a root
    letter in وزير or كتاب, and no length rule tells them apart. So such a
    word keeps its own stem and, when ``variants`` is on and at least
    ``min_after_proclitic`` letters follow, also gets the stem of its
    remainder, stemmed as the bare word would be, as a second form at the
    same position: وزير stays وزير, ومصر also matches مصر, and لكاليفورنيا
    كاليفورنيا (both stem to يفورنيا, كال read as an article), except before
    a three-letter feminine noun: فكرة is not ف + كرة.

    A pronoun suffix after teh marbuta turns it into ت (مدرسة, مدرستها), so
    a stem left ending in ت after a pronoun is cut also gets the teh marbuta
    reading without it (مدرست and مدرس, the stem of مدرسة); and a plural
    ات before the pronoun (سياراتها) also gets the plural's stem (سيار).
    Works on normalised text (ة → ه).
    """

    scripts = frozenset({ARABIC})
    is_stemmer = True
    ARTICLES = ("وبال", "وكال", "فبال", "وال", "فال", "بال", "كال", "ولل", "لل", "ال")
    PROCLITICS = "وفبل"  # كـ without the article is rare and كتاب-like words are not
    SUFFIXES = (
        "هما", "كما", "تين", "تان", "ات", "ان", "ون", "ين", "يه", "ها",
        "هم", "هن", "كم", "نا", "ه", "ي",
    )  # fmt: skip
    AMBIGUOUS_SUFFIXES = frozenset({"ان", "ين", "ون"})
    PRONOUN_SUFFIXES = frozenset({"هما", "كما", "ها", "هم", "هن", "كم", "نا", "ه", "ي"})
    # Class-level defaults too: indexes pickle their analyzers, and one built
    # before an option existed must still load.
    min_stem, min_after_proclitic, variants = 3, 3, True

    def __init__(self, min_stem: int = 3, min_after_proclitic: int = 3, variants: bool = True) -> None:
        self.min_stem = min_stem
        self.min_after_proclitic = min_after_proclitic
        self.variants = variants

    def rewritten(self, word: str) -> str:
        return _light_stem(word, self.min_stem)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {}  # it cuts affixes (and a teh marbuta's ت), each form a part of the word

    def forms_in_script(self, word: str) -> tuple[str, ...]:
        return _light_stem_forms(word, self.min_stem, self.min_after_proclitic if self.variants else 0)


def without_article(word: str, min_stem: int) -> str | None:
    """The word without its article; None when it is too short to be article + word (الله)."""
    for article in ArabicLightStemmer.ARTICLES:
        if word.startswith(article):
            return word[len(article) :] if len(word) - len(article) >= min_stem else None
    return word


def _suffix(stem: str, min_stem: int) -> str:
    """The suffix the stemmer cuts from ``stem`` ('' for none)."""
    for suffix in ArabicLightStemmer.SUFFIXES:
        if stem.endswith(suffix):
            keep = len(stem) - len(suffix)
            if keep >= min_stem + (suffix in ArabicLightStemmer.AMBIGUOUS_SUFFIXES):
                return suffix
    return ""


@lru_cache(maxsize=500_000)
def _light_stem(word: str, min_stem: int) -> str:
    return _stem_readings(word, min_stem)[0]


def _stem_readings(word: str, min_stem: int) -> tuple[str, ...]:
    """The light stem, then its teh marbuta (مدرستها → مدرس) and plural (سياراتها → سيار) readings."""
    base = without_article(word, min_stem)
    if base is None:
        return (word,)
    suffix = _suffix(base, min_stem)
    stem = base[: len(base) - len(suffix)]
    if suffix not in ArabicLightStemmer.PRONOUN_SUFFIXES or not stem.endswith("ت"):
        return (stem,)
    readings = [stem, stem[:-1]]
    if stem.endswith("ات"):
        readings.append(stem[:-2])
    return tuple(reading for reading in readings if len(reading) >= min_stem)


@lru_cache(maxsize=500_000)
def _light_stem_forms(word: str, min_stem: int, min_after_proclitic: int) -> tuple[str, ...]:
    forms = _stem_readings(word, min_stem)
    rest = word[1:]
    if (
        min_after_proclitic
        and word[:1] in ArabicLightStemmer.PROCLITICS
        and len(rest) >= min_after_proclitic
        and not word.startswith(ArabicLightStemmer.ARTICLES)
        # فكرة، لجنة، وحدة: before a three-letter feminine noun the letter is
        # more often the root's than a proclitic, and كرة، جنة، حدة are words.
        and not (len(rest) == 3 and rest.endswith(araby.HEH))
    ):
        forms += _stem_readings(rest, min_stem)
    return tuple(dict.fromkeys(forms))


class ExternalArabicStemmer(TokenFilter):
    """A library's Arabic stemmer, for comparison with ours (bench/quality.py).

    ``isri`` (root extraction, also used for the root fields), ``arlstem``,
    ``arlstem2`` and ``snowball`` all come from NLTK, imported on first use
    (NLTK's package import is slow); only the name is pickled.
    """

    scripts = frozenset({ARABIC})
    is_stemmer = True
    NAMES = ("isri", "arlstem", "arlstem2", "snowball")

    def __init__(self, name: str) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown Arabic stemmer {name!r}; choose from {', '.join(self.NAMES)}")
        self.name = name

    def rewritten(self, word: str) -> str:
        return _external_stem(self.name, word)


# NLTK is imported on first use (its package import is slow), and a web server
# may need it in several threads at once: concurrent first imports of NLTK
# fail (partially initialised modules, import deadlocks), so they take turns.
_NLTK_IMPORT = threading.Lock()
# The signals that stop a run (^C, and SIGTERM from a service manager).
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _importing_nltk() -> Iterator[None]:
    """One thread at a time, and in the main thread with ^C and SIGTERM delivered only afterwards.

    NLTK's package import loads optional packages (SciPy, when installed)
    under ``except ImportError``; a KeyboardInterrupt raised inside one of
    their extension modules surfaces as that ImportError and is swallowed,
    so a ``fahras index`` interrupted in that second would carry on and
    publish. The signals are recorded during the import and raised again
    after it, under the handlers the program had.
    """
    with _NLTK_IMPORT:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread handles signals
            return
        arrived: list[int] = []
        previous = {
            number: signal.signal(number, lambda n, _frame: arrived.append(n)) for number in _STOPPING_SIGNALS
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, signal.SIG_DFL if handler is None else handler)
            for number in dict.fromkeys(arrived):
                signal.raise_signal(number)


@lru_cache(maxsize=8)
def _external_stemmer(name: str):
    with _importing_nltk():
        return _load_external_stemmer(name)


def _with_plain_regexes(stemmer):
    """The stemmer with its own constant patterns compiled by the standard ``re``.

    Recent NLTK runs every regex through a ReDoS guard (the ``regex`` engine
    under a wall-clock timeout), meant for patterns callers supply. ISRI's
    three fixed character classes need no guard, and the guard made ISRI,
    which runs on every new word of the root fields, 2-3x slower.
    """
    for name, value in list(vars(stemmer).items()):
        if hasattr(value, "pattern") and not isinstance(value, re.Pattern):
            setattr(stemmer, name, re.compile(value.pattern))
    return stemmer


def _load_external_stemmer(name: str):
    if name == "snowball":
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("arabic").stem
    if name == "isri":
        from nltk.stem.isri import ISRIStemmer

        return _with_plain_regexes(ISRIStemmer()).stem
    if name == "arlstem":
        from nltk.stem.arlstem import ARLSTem

        return ARLSTem().stem
    from nltk.stem.arlstem2 import ARLSTem2

    return ARLSTem2().stem


@lru_cache(maxsize=500_000)
def _external_stem(name: str, word: str) -> str:
    return _external_stemmer(name)(word) or word


# --------------------------------------------------------------------------- Latin


class Lowercase(TokenFilter):
    """Lowercases Latin-script words (casefold, so ß → ss)."""

    scripts = frozenset({LATIN})

    def rewritten(self, word: str) -> str:
        return word.casefold()

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return _casefold_map()


class FoldAccents(TokenFilter):
    """Removes accents from Latin letters (café → cafe, Müller → muller)."""

    scripts = frozenset({LATIN})

    def rewritten(self, word: str) -> str:
        if word.isascii():
            return word
        return _without_accents(word)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return _accents_map()


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Both are read over every character, since a Latin word may hold letters of
# other scripts; computed once, as each chain of the snippets asks for them.
@lru_cache(maxsize=1)
def _casefold_map() -> dict[str, tuple[str, ...]]:
    return _changed_chars(str.casefold, _BMP)


@lru_cache(maxsize=1)
def _accents_map() -> dict[str, tuple[str, ...]]:
    return _changed_chars(_without_accents, _BMP)


class StripPossessive(TokenFilter):
    """Drops the English possessive and apostrophes: Tesla's → tesla, don’t → dont."""

    scripts = frozenset({LATIN})
    _POSSESSIVE = re.compile("['’]s$")

    def rewritten(self, word: str) -> str:
        return self._POSSESSIVE.sub("", word).replace("'", "").replace("’", "")

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {"'": ("",), "’": ("",)}  # and the final s of 's is cut


class EnglishStemmer(TokenFilter):
    """English Snowball (Porter2) stemming from NLTK, cached: the vocabulary is Zipfian."""

    scripts = frozenset({LATIN})
    is_stemmer = True

    def rewritten(self, word: str) -> str:
        return _snowball_stem(word)

    def char_map(self) -> dict[str, tuple[str, ...]]:
        return {}

    def ending_rewritten(self) -> int:
        return 2  # happy → happi, dying → die


@lru_cache(maxsize=1)
def _english_snowball():
    with _importing_nltk():
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("english")


@lru_cache(maxsize=500_000)
def _snowball_stem(word: str) -> str:
    return _english_snowball().stem(word)


# --------------------------------------------------------------------------- neutral


class AsciiDigits(_TranslateFilter):
    """Maps Arabic-Indic (٠-٩) and Persian (۰-۹) digits to ASCII digits."""

    table = {
        **{ord(digit): str(i) for i, digit in enumerate(araby.NUMBERS_EAST)},
        **{ord(digit): str(i) for i, digit in enumerate(araby.NUMBERS_PERS)},
    }


# --------------------------------------------------------------------------- chains


class CachedChain(Filter):
    """Applies a sequence of :class:`TokenFilter` with one memo per surface word.

    Each filter stays a small, separately tested piece; this wrapper only
    remembers the composed result, because news vocabulary is Zipfian and the
    same few thousand words make up most tokens. The memo is dropped when the
    object is pickled (multiprocess indexing) and capped in size.
    """

    MAX_CACHED = 1_000_000

    def __init__(self, *filters: TokenFilter) -> None:
        self.filters = filters
        self._memo: dict[str, tuple[str, ...]] = {}
        self._memo_verbatim: dict[str, tuple[str, ...]] = {}
        self._steps: dict[tuple[str, bool], tuple[TokenFilter, ...]] = {}

    def __getstate__(self) -> dict:
        return {"filters": self.filters}

    def __setstate__(self, state: dict) -> None:
        self.__init__(*state["filters"])

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.filters == other.filters

    def __hash__(self) -> int:
        return hash(self.filters)

    def analyze(self, word: str, verbatim: bool = False) -> tuple[str, ...]:
        """The indexed forms of one word (none for a stop word).

        The word's script is found once: normalisation never changes it.
        """
        memo = self._memo_verbatim if verbatim else self._memo
        result = memo.get(word)
        if result is None:
            result = (word,)
            for step in self._steps_for(script_of(word), verbatim):
                if len(result) == 1:
                    result = step.forms_in_script(result[0])
                else:
                    result = tuple(form for text in result for form in step.forms_in_script(text))
                if not result:
                    break
            if verbatim:
                result = result[:1]  # one query term in, one out (a ligature's first word)
            if len(memo) >= self.MAX_CACHED:
                memo.clear()
            memo[word] = result
        return result

    def _steps_for(self, script: str, verbatim: bool) -> tuple[TokenFilter, ...]:
        """The filters that apply to a word of ``script``, with each run of plain character maps made one.

        A new word's analysis was mostly the overhead of a dozen filters that
        are each one ``str.translate``; folded, their tables are applied as one.
        """
        steps = self._steps.get((script, verbatim))
        if steps is None:
            applying = [
                flt
                for flt in self.filters
                if not (verbatim and flt.is_stemmer) and (flt.scripts is ALL_SCRIPTS or script in flt.scripts)
            ]
            steps = self._steps[(script, verbatim)] = tuple(_folded_translations(applying))
        return steps

    def analyze_word(self, word: str) -> str:
        """The first indexed form of one word ('' for a stop word)."""
        forms = self.analyze(word)
        return forms[0] if forms else ""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        analyze = self.analyze
        for token in tokens:
            yield from _emit(token, analyze(token.text, getattr(token, "verbatim", False)))


def _folded_translations(filters: list[TokenFilter]) -> Iterator[TokenFilter]:
    """``filters`` in order, each run of consecutive plain character maps replaced by one map that composes them."""
    run: list[_TranslateFilter] = []
    for flt in [*filters, None]:
        if isinstance(flt, _TranslateFilter) and type(flt).forms_in_script is TokenFilter.forms_in_script:
            run.append(flt)
            continue
        if run:
            yield run[0] if len(run) == 1 else _ComposedTranslation(run)
            run = []
        if flt is not None:
            yield flt


class _ComposedTranslation(_TranslateFilter):
    """Several character maps applied as one: each character goes through every table, in order."""

    def __init__(self, run: list[_TranslateFilter]) -> None:
        self.table = {}
        for code in {code for flt in run for code in flt.table}:
            text = chr(code)
            for flt in run:
                text = text.translate(flt.table)
            self.table[code] = text or None


_STOPWORD_DIR = Path(__file__).with_name("stopwords")


def _read_list(name: str) -> list[str]:
    lines = (_STOPWORD_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def normalization_filters() -> list[TokenFilter]:
    """Script-specific normalisation, in order: Arabic, then Latin, then digits."""
    return [
        StripFormatChars(),
        ArabicPresentationForms(),
        TanweenAlef(),
        DaggerAlef(),
        StripDiacritics(),
        StripTatweel(),
        FoldAlef(),
        FoldHamzaCarriers(),
        FoldYeh(),
        FoldTehMarbuta(),
        *latin_filters(),
        AsciiDigits(),
    ]


def _normalize_all(words: Iterable[str]) -> list[str]:
    chain = CachedChain(*normalization_filters())
    return [chain.analyze_word(w) for w in words]


@lru_cache(maxsize=1)
def stop_filters() -> tuple[StopWords, StopWords]:
    """Arabic and English stop-word filters; lists are normalised like the text."""
    return (
        StopWords(_normalize_all(_read_list("ar.txt")), ARABIC),
        StopWords(_normalize_all(_read_list("en.txt")), LATIN),
    )


def arabic_stemmer(name: str) -> TokenFilter | None:
    """The Arabic stemming filter called ``name`` ('light', 'none', or a library's)."""
    if name == "light":
        return ArabicLightStemmer()
    if name == "none":
        return None
    return ExternalArabicStemmer(name)


def latin_filters() -> list[TokenFilter]:
    return [Lowercase(), FoldAccents(), StripPossessive()]


def exact_analyzer():
    """Normalised, unstemmed words: exact forms rank above morphological variants."""
    return WordTokenizer() | CachedChain(*normalization_filters(), *stop_filters())


def stemmed_analyzer(arabic: str = "light", normalize_arabic: bool = True):
    """The main analyzer: normalisation, stop words, then stemming per script.

    ``arabic`` names the Arabic stemmer and ``normalize_arabic=False`` turns
    Arabic processing off altogether; both exist so that bench/quality.py can
    measure what each step is worth.
    """
    if normalize_arabic:
        filters = [*normalization_filters(), *stop_filters()]
    else:
        filters = [*latin_filters(), AsciiDigits(), stop_filters()[1]]
    stemmer = arabic_stemmer(arabic) if normalize_arabic else None
    filters += [stemmer] if stemmer else []
    return WordTokenizer() | CachedChain(*filters, EnglishStemmer())
