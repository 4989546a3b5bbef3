"""Names across scripts: a Latin query word also finds the Arabic words that sound like it, and back.

Haftar should find حفتر and لافروف should find Lavrov, although neither script
can spell the other's sounds exactly and each has several spellings. Nothing
here reads an index: the planner hands in a :class:`Vocabulary` of the other
script's words, built once per index version with :class:`KeyedVocabulary`.

How a word is compared
----------------------
Both scripts are read into one alphabet of *units*, a unit per sound: Latin
letters with the usual digraphs (sh, kh, gh, th, dh, ph, ch...), and Arabic
letters through pyarabic's letter-by-letter romanisation (``trans.a2en_table``:
ث th, خ kh, ش sh, ذ dh, ظ zh...), lower-cased so that the letters Latin spells
alike are one unit (ح/ه h, ص/س s, ض/د d, ط/ت t). pyarabic's whole-word
``utf82latin`` is not used: read back as Latin its output joins two Arabic
letters into a false digraph (كه reads kh, سه sh), so each letter is taken alone.

* :func:`distance` is a weighted edit distance between two unit sequences: the
  usual correspondences cost little (f/v, q/k, j/g, th/t, ch/sh...), Latin
  vowels and Arabic long vowels (ا و ي) may be left out at a small cost since
  each script writes vowels the other does not, ع and ء may vanish, and the
  Arabic article and a one-letter proclitic (و ف ب ل ك) may be left out.
* :func:`key` is a coarse consonant skeleton: consonant classes (k q kh c = K,
  j g gh = G...), vowels and و/ي dropped, repeats once. It only finds the
  words worth measuring: :class:`KeyedVocabulary` files each word under the keys
  of its readings, and :func:`candidates` looks up the query's key and every key
  one class-edit away, then measures each word found with :func:`distance`.

Precision: most words are not names. A query word is expanded only when its key
has at least two consonants (three for a class left out or added), and when its
own script's vocabulary does not show it inflected like a common word (report:
reported, reporting; تقرير: تقريرها، تقريرهم). A candidate must pass the same test
in its vocabulary, and must not be far rarer in its script than the query word in
its own (a common word of one script is seldom written in the other; a name is
written in both). The distance allowed grows with the skeleton's length, and
candidates stay within a margin of the first.

Cost: each word's skeletons are computed once per index version (about 110 µs a
word on a loaded machine: 12 s and 35 MB for 111,000 Arabic words; an update
reuses the earlier version's, see search/backends/embedded/vocabulary.py); a
query measures at most ``MAX_MEASURED`` words (bench/names.py, 585 query words:
median 0.45 ms, 95th percentile 25 ms, slowest 0.2 s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple, Protocol

from pyarabic import araby, trans

from index.analysis import ARABIC, LATIN, script_of
from search.suggest import normalize

# ------------------------------------------------------------------ units

GLOTTAL = "'"  # ع and ء: Latin writes them as a vowel, an apostrophe, or not at all
FINAL_H = "h$"  # a word-final ه (mostly ة) or a Latin h after a final vowel (Sarah, Fatimah)
LONG_VOWELS = frozenset("awy")  # ا و ي: long vowels, or (و ي) consonants
LATIN_VOWELS = frozenset("aeiou")

# pyarabic's romanisation of each letter, lower-cased (ح and ه both h), and the
# letters it leaves out: ع and the hamza forms are a glottal stop, and the
# letters of loanwords (پ ڤ گ چ ژ).
_ARABIC_UNITS: dict[str, str] = {
    **{letter: latin.lower() for letter, latin in trans.a2en_table.items() if latin.isalpha()},
    araby.ALEF: "a",
    araby.ALEF_MAKSURA: "y",
    araby.AIN: GLOTTAL,
    araby.HAMZA: GLOTTAL,
    araby.ALEF_HAMZA_ABOVE: "a",
    araby.ALEF_HAMZA_BELOW: "a",
    araby.ALEF_MADDA: "a",
    araby.WAW_HAMZA: "w",
    araby.YEH_HAMZA: "y",
    "\u067e": "p",  # پ
    "\u06a4": "v",  # ڤ
    "\u06af": "g",  # گ
    "\u0686": "ch",  # چ
    "\u0698": "zh",  # ژ
}
_ARABIC_DIGRAPHS = {araby.TEH + araby.SHEEN: "ch"}  # تشارلز: Charles

# Latin spellings, longest first; c before e, i, y is s; qu before a vowel is q.
_LATIN_UNITS = (
    ("sch", "sh"),
    ("tch", "ch"),
    ("sh", "sh"),
    ("ch", "ch"),
    ("kh", "kh"),
    ("gh", "gh"),
    ("th", "th"),
    ("dh", "dh"),
    ("zh", "zh"),
    ("ph", "f"),
    ("rh", "r"),
    ("wh", "w"),
    ("ck", "k"),
    ("x", "k s"),
    ("eau", "o"),
    ("au", "o"),
    ("eu", "u"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
)
_LATIN_PATTERN = re.compile(
    "|".join(re.escape(spelling) for spelling, _ in _LATIN_UNITS) + r"|qu(?=[aeiou])|[a-z]"
)
_LATIN_SPECIAL = {**dict(_LATIN_UNITS), "qu": "q"}
SILENT_E = "e$"  # a final e after a consonant, mostly silent (George, Pierre, Tyne; Wales, James)
FINAL_YA = "ya$"  # Arabic's final يا, Latin's final ia or ya: Syria سوريا; Arabic adds it (Italy ايطاليا)
SOFT_G = "g?"  # the g of ng, which Arabic writes (مانينغ) or not (واشنطن)


def _dedupe(units: list[str]) -> tuple[str, ...]:
    """Units with a repeated one written once (Kennedy, Manning): neither script hears a double."""
    return tuple(unit for at, unit in enumerate(units) if at == 0 or unit != units[at - 1])


def _latin_unit(word: str, spelled: str, end: int, previous: str) -> str:
    """The unit a Latin letter or digraph spells, read with its neighbours."""
    following = word[end : end + 1]
    if spelled == "c":
        return "s" if following in ("e", "i", "y") else "k"
    if spelled == "y":  # a consonant only before a vowel (Yuan, Kenya); else a vowel (Syria, Kerry)
        return "y" if following in LATIN_VOWELS else "i"
    if spelled == "g" and previous == "n":
        return SOFT_G
    if spelled == "e" and word[end:] in ("", "s") and previous not in LATIN_VOWELS and end > 3:
        return SILENT_E
    return _LATIN_SPECIAL.get(spelled, spelled)


@lru_cache(maxsize=65536)
def latin_units(word: str) -> tuple[str, ...]:
    """A lower-case Latin word as sound units: ``"haftar"`` is h a f t a r."""
    units: list[str] = []
    for match in _LATIN_PATTERN.finditer(word):
        units += _latin_unit(word, match.group(), match.end(), units[-1] if units else "").split()
    if len(units) > 2 and units[-1] == "h" and units[-2] in LATIN_VOWELS:
        units[-1] = FINAL_H
    if len(units) > 3 and units[-2] in ("i", "y") and units[-1] == "a":
        units[-2:] = [FINAL_YA]
    return _dedupe(units)


@lru_cache(maxsize=65536)
def arabic_units(word: str) -> tuple[str, ...]:
    """A normalised Arabic word as sound units: ``"حفتر"`` is h f t r, ``"لافروف"`` l a f r w f."""
    units: list[str] = []
    at = 0
    while at < len(word):
        pair = word[at : at + 2]
        if pair in _ARABIC_DIGRAPHS:
            units.append(_ARABIC_DIGRAPHS[pair])
            at += 2
            continue
        unit = _ARABIC_UNITS.get(word[at])
        if unit:
            units.append(unit)
        at += 1
    if len(units) > 1 and word.endswith(araby.HEH):
        units[-1] = FINAL_H
    if len(units) > 3 and units[-2:] == ["y", "a"]:
        units[-2:] = [FINAL_YA]
    if len(units) > 2 and units[0] == "a" and units[1] in ("w", "y"):
        del units[0]  # the alef that carries an initial long vowel: اوباما, ايران
    return _dedupe(units)


def units(word: str) -> tuple[str, ...]:
    """A normalised word of either script as sound units (a word of another script has none)."""
    script = script_of(word)
    if script == ARABIC:
        return arabic_units(word)
    return latin_units(word) if script == LATIN else ()


# ------------------------------------------------------------------ distance

# What leaving a unit out costs: a vowel little (each script writes vowels the
# other does not), ع/ء almost nothing, a consonant a whole edit.
_GAP = {
    **dict.fromkeys("aeiou", 0.2),
    SILENT_E: 0.05,
    "w": 0.3,
    "y": 0.3,
    GLOTTAL: 0.2,
    FINAL_H: 0.2,
    FINAL_YA: 0.15,
    SOFT_G: 0.3,
    "gh": 0.4,
    "h": 0.6,
}
CONSONANT_GAP = 1.0
# Units one script's writers put for the other's, with what each swap costs. Vowels
# swap cheaply: English spells a for ey (Tate تيت) and i for ay (Michael مايكل).
_NEAR = {
    0.05: ("o w", "u w", "e y", "i y", "h$ a", "h$ e", "h$ h", "g gh", "ya$ y"),
    0.1: ("f v", "b p", "k q", "g j", "t th", "z zh", "sh ch", "d dh", "ya$ a", "ya$ i", "ya$ e"),
    0.2: (
        "th dh",
        "dh z",
        "zh dh",
        "s z",
        "h$ '",
        "a o",
        "a u",
        "a y",
        "gh j",
        "' a",
        "' e",
        "' i",
        "' o",
        "' u",
    ),
    0.3: ("k kh", "kh h", "k g", "q g", "gh k", "gh q", "gh kh", "k ch", "kh ch", "th s", "f p"),
    0.35: ("a w", "w y", "i w", "e w", "o y", "u y"),
    0.4: ("w v", "j y", "h '", "s sh", "gh '"),
    0.5: ("t d", "gh h"),
}
# A unit read like another for swaps: a silent e is an e, the g of ng a g.
_SWAPS_AS = {SILENT_E: "e", SOFT_G: "g"}
_SWAP = {
    pair: cost
    for cost, pairs in _NEAR.items()
    for spelled in pairs
    for pair in (tuple(spelled.split()), tuple(reversed(spelled.split())))
}


def _swap(first: str, second: str) -> float:
    first, second = _SWAPS_AS.get(first, first), _SWAPS_AS.get(second, second)
    return 0.0 if first == second else _SWAP.get((first, second), 1.0)


def _gap(unit: str) -> float:
    return _GAP.get(unit, CONSONANT_GAP)


def unit_distance(first: Sequence[str], second: Sequence[str], limit: float = math.inf) -> float:
    """Weighted edit distance between two unit sequences (see ``_GAP`` and ``_NEAR``).

    Past ``limit`` it stops and answers ``math.inf``: a row's smallest cell only grows,
    so most words of a looked-up bucket cost a row or two.
    """
    previous = [0.0]
    for unit in second:
        previous.append(previous[-1] + _gap(unit))
    for unit in first:
        row = [previous[0] + _gap(unit)]
        for at, other in enumerate(second, 1):
            row.append(
                min(
                    previous[at] + _gap(unit),
                    row[at - 1] + _gap(other),
                    previous[at - 1] + _swap(unit, other),
                )
            )
        if min(row) > limit:
            return math.inf
        previous = row
    return previous[-1]


# Arabic words may carry a one-letter proclitic (و ف ب ل ك) and the article, which a
# name in Latin letters does not: each reading without them, with what leaving them costs.
ARTICLE = "ال"
PROCLITICS = "وفبلك"
ARTICLE_COST, PROCLITIC_COST = 0.0, 0.2


@lru_cache(maxsize=65536)
def readings(word: str) -> tuple[tuple[str, float], ...]:
    """An Arabic word and the name it may hold after a proclitic and the article, with their costs.

    A reading keeps at least three letters: ``"بوتين"`` also reads ``"وتين"`` (a cost),
    ``"لحفتر"`` reads ``"حفتر"``, ``"للرياض"`` reads ``"رياض"``, ``"بالرياض"`` reads ``"رياض"``.
    """
    found = [(word, 0.0)]
    if len(word) >= 4 and word[0] in PROCLITICS:
        found.append((word[1:], PROCLITIC_COST))
    if word.startswith("لل") and len(word) >= 5:
        found.append((word[2:], PROCLITIC_COST + ARTICLE_COST))
    for reading, cost in list(found):
        if reading.startswith(ARTICLE) and len(reading) >= 5:
            found.append((reading[2:], cost + ARTICLE_COST))
    return tuple(found)


def distance(first: str, second: str, limit: float = math.inf) -> float:
    """How far apart two words sound (0: alike), an Arabic one read also without clitics and article.

    Both are normalised words; one Latin and one Arabic, or both of one script. Beyond
    ``limit`` the answer is ``math.inf``.
    """
    if script_of(second) == ARABIC and script_of(first) != ARABIC:
        first, second = second, first
    if script_of(first) != ARABIC or script_of(second) == ARABIC:
        return round(unit_distance(units(first), units(second), limit), 3)
    latin = units(second)
    found = (
        cost + unit_distance(arabic_units(reading), latin, limit - cost) for reading, cost in readings(first)
    )
    return round(min(found), 3)


# ------------------------------------------------------------------ key

# Consonant classes of the skeleton: the units each script writes for one sound.
_CLASSES = {
    **dict.fromkeys(("b", "p"), "B"),
    **dict.fromkeys(("f", "v"), "F"),
    **dict.fromkeys(("t", "th"), "T"),
    **dict.fromkeys(("d", "dh"), "D"),
    **dict.fromkeys(("z", "zh"), "Z"),
    **dict.fromkeys(("sh", "ch"), "C"),
    **dict.fromkeys(("j", "g", "gh", SOFT_G), "G"),
    **dict.fromkeys(("k", "q", "kh"), "K"),
    **{unit: unit.upper() for unit in ("s", "h", "l", "m", "n", "r")},
}
CLASSES = "".join(sorted(set(_CLASSES.values())))
# Classes a one-class edit of the key may swap: the swaps of ``_NEAR`` that cross classes.
# What the cheapest unit of a class costs to leave out, and to swap for one of another
# class: a neighbouring skeleton is looked up only if reaching it fits the allowed distance.
_CLASS_GAP = {cls: min(_gap(unit) for unit, of in _CLASSES.items() if of == cls) for cls in CLASSES}
_CLASS_SWAP: dict[tuple[str, str], float] = {}
for (_first, _second), _cost in _SWAP.items():
    if _first in _CLASSES and _second in _CLASSES and _CLASSES[_first] != _CLASSES[_second]:
        _pair = (_CLASSES[_first], _CLASSES[_second])
        _CLASS_SWAP[_pair] = min(_cost, _CLASS_SWAP.get(_pair, math.inf))


def unit_key(sequence: Sequence[str]) -> str:
    """The consonant skeleton of a unit sequence: its consonants' classes, vowels left out."""
    return "".join(_CLASSES[unit] for unit in sequence if unit in _CLASSES)


def key(word: str) -> str:
    """A normalised word's consonant skeleton: ``key("haftar") == key("حفتر") == "HFTR"``."""
    return unit_key(units(word))


def keys(word: str) -> set[str]:
    """The skeletons a word is filed under: an Arabic word's readings' too (لحفتر under HFTR)."""
    if script_of(word) != ARABIC:
        return {key(word)}
    return {unit_key(arabic_units(reading)) for reading, _ in readings(word)}


def neighbours(skeleton: str, budget: float, fuzzy: bool = True) -> list[str]:
    """A skeleton and those one class-edit away that cost at most ``budget``: a class swapped
    for a near one; if ``fuzzy``, also one left out or added (g of ng, h)."""
    found = [skeleton]
    for at, cls in enumerate(skeleton):
        swaps = (other for (one, other), cost in _CLASS_SWAP.items() if one == cls and cost <= budget)
        found += [skeleton[:at] + other + skeleton[at + 1 :] for other in swaps]
    if fuzzy:
        found += [
            skeleton[:at] + skeleton[at + 1 :] for at, cls in enumerate(skeleton) if _CLASS_GAP[cls] <= budget
        ]
        added = [cls for cls in CLASSES if _CLASS_GAP[cls] <= budget]
        found += [skeleton[:at] + cls + skeleton[at:] for at in range(len(skeleton) + 1) for cls in added]
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------ vocabulary


SCRIPTS = (ARABIC, LATIN)  # the scripts names are carried between


def name_script(word: str) -> str | None:
    """The script of a word a vocabulary files (one of SCRIPTS): letters only, no numbers, no mixed scripts."""
    script = script_of(word) if word.isalpha() else None
    return script if script in SCRIPTS else None


class Vocabulary(Protocol):
    """One script's words of an index (its exact fields), looked up by skeleton."""

    postings: int  # the sum of all its words' document frequencies: the scale of a frequency

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` (0: none)."""
        ...

    def words_with_key(self, skeleton: str) -> Sequence[tuple[str, int]]:
        """The words filed under ``skeleton`` (see :func:`keys`), with their document frequencies."""
        ...


class KeyedVocabulary:
    """A :class:`Vocabulary` built in memory from ``(word, document frequency)`` pairs.

    Build it once per index version from the exact (normalised, unstemmed) fields:
    names are what stemming mangles (كيري stems to كير, الحوثي to حوث).
    """

    def __init__(self, words: Iterable[tuple[str, int]]) -> None:
        self._frequency: dict[str, int] = {}
        self._by_key: dict[str, list[tuple[str, int]]] = {}
        for word, frequency in words:
            self._frequency[word] = self._frequency.get(word, 0) + frequency
        self.postings = sum(self._frequency.values())
        for word, frequency in self._frequency.items():
            for skeleton in keys(word):
                if len(skeleton) >= MIN_KEY:
                    self._by_key.setdefault(skeleton, []).append((word, frequency))

    @classmethod
    def of_script(cls, words: Iterable[tuple[str, int]], script: str) -> KeyedVocabulary:
        """The words of ``script`` among ``words`` (words of letters only: no numbers, no mixed scripts)."""
        return cls((word, frequency) for word, frequency in words if name_script(word) == script)

    def frequency(self, word: str) -> int:
        return self._frequency.get(word, 0)

    def words_with_key(self, skeleton: str) -> Sequence[tuple[str, int]]:
        return self._by_key.get(skeleton, ())


# ------------------------------------------------------------------ candidates

MIN_KEY = 2  # a skeleton of one consonant matches half a vocabulary
MIN_FUZZY_KEY = 3  # shorter skeletons match only exactly: two consonants have too many false friends
MAX_MEASURED = 1000  # words measured per query word, whatever the vocabulary's size
# The distance a candidate may have grows with the query's skeleton: each consonant
# past the first may be spelled a little differently (two consonants: 0.3, five: 0.9).
ALLOWED_PER_CONSONANT, ALLOWED_BASE = 0.2, 0.1
MARGIN = 0.2  # a candidate this much farther than the first is left out
LIMIT = 3
FREQUENCY_WEIGHT = 0.1  # in the ranking, e times the documents is worth this much distance
MIN_SHARE_RATIO = 0.015  # a candidate's share of its script's text against the query word's


class Candidate(NamedTuple):
    word: str  # as the other script's vocabulary holds it
    frequency: int  # its document frequency there
    distance: float  # how far it sounds from the query word (see :func:`distance`)


def allowed(skeleton: str) -> float:
    """The largest distance accepted for a query word with this skeleton."""
    return ALLOWED_BASE + ALLOWED_PER_CONSONANT * (len(skeleton) - 1)


# ------------------------------------------------------------------ common words

# A common word shows itself by its inflections in its own vocabulary; a name seldom
# takes them. English: report has reported, reporting; reported has report.
_LATIN_ENDINGS = ("ed", "ing", "ment", "ness")
# Arabic: a noun takes possessive pronouns (تقريرها، تقريرهم، مدينتنا), a name does not.
_ARABIC_PRONOUNS = ("ها", "هم", "هما", "كم", "نا")


def _singulars(word: str) -> set[str]:
    """The word and, if it ends like an English plural, its singulars (years: year; countries: country)."""
    found = {word}
    if word.endswith("ies") and len(word) > 5:
        found.add(word[:-3] + "y")
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        found.add(word[:-1])
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        found.add(word[:-2])
    return found


def _bases(word: str) -> set[str]:
    """What an English inflected or derived form is made from: reported report, referred refer, known know."""
    found = set()
    for ending in (*_LATIN_ENDINGS, "ly", "est", "n"):
        base = word[: -len(ending)]
        if word.endswith(ending) and len(base) >= 3 and (ending != "n" or base.endswith("w")):
            found |= {base, base + "e", base[:-1] if base[-1] == base[-2] else base}
    return found


def _latin_relatives(word: str) -> set[str]:
    """The words an English word would have beside it if it inflected.

    Its bases (reported: report), and the inflected forms of it and of its singular
    (prices: priced, pricing). A plural alone proves nothing: names have them (Normans).
    """
    related = _bases(word)
    for singular in _singulars(word):
        stems = {singular, singular[:-1]} if singular.endswith("e") else {singular}
        related |= {stem + ending for stem in stems for ending in _LATIN_ENDINGS}
    related.discard(word)
    return related


def _arabic_relatives(word: str) -> set[str]:
    """The words an Arabic noun would have beside it: itself with a possessive pronoun."""
    base = word[len(ARTICLE) :] if word.startswith(ARTICLE) and len(word) > 4 else word
    bases = (base, base[:-1] + araby.TEH) if base.endswith(araby.HEH) else (base,)
    return {stem + pronoun for stem in bases for pronoun in _ARABIC_PRONOUNS}


def looks_common(word: str, vocabulary: Vocabulary) -> bool:
    """Whether ``vocabulary`` holds the word inflected like a common word rather than a name.

    The test asks the word's own vocabulary, not a word list, so it knows the words of
    the collection (and says nothing about a word whose script the index barely has).
    """
    related = _arabic_relatives(word) if script_of(word) == ARABIC else _latin_relatives(word)
    return any(vocabulary.frequency(other) for other in related)


# ------------------------------------------------------------------ candidates


def _ranked(candidate: Candidate) -> tuple[float, str]:
    """Closest first; a frequent word wins over a rare one a little closer (ايران over ارعن for Iran)."""
    return candidate.distance - FREQUENCY_WEIGHT * math.log1p(candidate.frequency), candidate.word


def _measured(word: str, skeletons: list[str], other: Vocabulary) -> list[Candidate]:
    """The other script's words filed under the skeletons or their neighbours, within the allowed distance.

    At most ``MAX_MEASURED`` words are measured, the exact skeletons' first.
    """
    most = allowed(skeletons[0])
    found: dict[str, int] = {}
    for skeleton in skeletons:
        for near in neighbours(skeleton, most, fuzzy=len(skeleton) >= MIN_FUZZY_KEY):
            found.update((w, f) for w, f in other.words_with_key(near) if w not in found)
    measured = (Candidate(w, f, distance(word, w, most)) for w, f in list(found.items())[:MAX_MEASURED])
    return sorted((c for c in measured if c.distance <= most), key=_ranked)


def candidates(word: str, own: Vocabulary, other: Vocabulary, *, limit: int = LIMIT) -> list[Candidate]:
    """Words of the other script's vocabulary that sound like ``word``, best first.

    ``own`` is the query word's own script's vocabulary, ``other`` the one searched.
    Nothing is returned for a word ``own`` shows to be common, and a candidate is left
    out when ``other`` shows it to be common or when it is far rarer in its script
    than the query word in its own (``MIN_SHARE_RATIO``): a common word of one script
    is seldom written in the other, a name is written in both. At most ``limit``
    candidates, within ``MARGIN`` of the first, and at most ``MAX_MEASURED`` words measured.
    """
    word = normalize(word)
    # An Arabic query is also read without its clitics and article (لحفتر: حفتر), the shortest first.
    skeletons = sorted((s for s in keys(word) if len(s) >= MIN_KEY), key=len)
    if not skeletons or looks_common(word, own):
        return []
    share = own.frequency(word) / max(own.postings, 1)
    chosen: list[Candidate] = []
    for candidate in _measured(word, skeletons, other):
        if len(chosen) == limit or (chosen and candidate.distance > chosen[0].distance + MARGIN):
            break
        if candidate.frequency / max(other.postings, 1) < MIN_SHARE_RATIO * share:
            continue
        if not looks_common(candidate.word, other):
            chosen.append(candidate)
    return chosen
