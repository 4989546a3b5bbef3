"""Repairs for Arabic text taken from a PDF's text layer, and a dictionary-free test of whether text is text.

PDF text layers hold glyphs, not words: the same page comes out of
different producers with ligatures' letters swapped, lines in visual
(left-to-right) order, presentation forms instead of letters, or — from
1990s typesetting fonts — Latin-1 codes for Arabic glyphs. Each repair here
works on one line of glyphs (a character and its box on the page), so it
can use where a glyph was drawn, which no dictionary could tell.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

Box = tuple[float, float, float, float]  # left, bottom, right, top


@dataclass
class Glyph:
    """One character of the text layer and the box it was drawn in (None for generated spaces)."""

    char: str
    box: Box | None


Line = list[Glyph]

_ARABIC_LETTERS = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\ufb50-\ufdff\ufe70-\ufefc]")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")
# Letters that never join the letter after them: a ligature cannot start with one.
_RIGHT_JOINING = frozenset("اأإآٱدذرزوؤةءۀەۃ")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
# What keeps its left-to-right order inside a right-to-left line: Latin words and numbers.
_LTR_RUN = re.compile(
    r"[A-Za-z0-9\u00c0-\u024f\u0660-\u0669\u06f0-\u06f9]+(?:[.,:/\-٫٬][A-Za-z0-9\u00c0-\u024f\u0660-\u0669\u06f0-\u06f9]+)*"
)
_URDU_LETTERS = frozenset("ٹڈڑںےۓ")
_HEH_DOACHASHMEE = "\u06be"


def is_arabic_letter(char: str) -> bool:
    return bool(_ARABIC_LETTERS.match(char))


# --------------------------------------------------------------------------- ligatures


def ligature_groups(line: Line) -> list[tuple[int, int]]:
    """(start, end) of each run of two or more Arabic letters drawn as one glyph (one shared box)."""
    groups = []
    start = 0
    for index in range(1, len(line) + 1):
        if index < len(line) and _same_glyph(line[start], line[index]):
            continue
        if index - start >= 2:
            groups.append((start, index))
        start = index
    return groups


def _same_glyph(first: Glyph, second: Glyph) -> bool:
    box = first.box
    return (
        box is not None
        and box == second.box
        and box[0] != box[2]
        and is_arabic_letter(first.char)
        and is_arabic_letter(second.char)
    )


def ligature_vote(text: str) -> int:
    """+1 if a ligature's letters read as reversed, -1 if in order, 0 if its letters cannot tell.

    A ligature joins its letters, so its first letter must join the next:
    one starting with alef, dal, reh, waw... (``أل`` for the ligature of
    ``لأ``) was reversed; one ending with such a letter (``لا``) was not.
    """
    if text[0] in _RIGHT_JOINING:
        return 1
    if text[-1] in _RIGHT_JOINING:
        return -1
    return 0


def repair_ligatures(lines: list[Line]) -> None:
    """Puts the letters of each ligature of the page in logical order, in place.

    Some producers give a ligature's letters reversed (pdfium reverses a
    right-to-left run, and a ligature's several letters with it), others
    do not; the page's ligatures that can tell decide for those that cannot
    (``من`` or ``نم``).
    """
    found = [(line, start, end) for line in lines for start, end in ligature_groups(line)]
    votes = [ligature_vote("".join(g.char for g in line[start:end])) for line, start, end in found]
    page_reversed = sum(votes) > 0
    for (line, start, end), vote in zip(found, votes, strict=True):
        if vote > 0 or (vote == 0 and page_reversed):
            line[start:end] = line[start:end][::-1]


# --------------------------------------------------------------------------- visual order


def visual_order_score(text: str) -> int:
    """Words ending in «لا» minus words starting with «ال»: positive on a visually ordered (reversed) page.

    The article «ال» starts a large share of Arabic words; reversed, it
    ends them. Counting both tells most pages apart without a dictionary.
    """
    words = [word for word in re.findall("[\u0621-\u064a]{3,}", text)]
    starts = sum(word.startswith("ال") for word in words)
    ends = sum(word.endswith("لا") for word in words)
    return ends - starts


def is_visual_page(text: str, margin: int = 3) -> bool:
    """Whether the page's Arabic reads reversed, by a clear margin (an undecided page is left alone)."""
    return visual_order_score(text) >= margin


def from_visual(text: str) -> str:
    """A visually ordered line in logical order: reversed, with each Latin word and number read as written.

    pdfium gives such a line (logical text drawn left to right by a tool
    that knew no bidi) with every word in reverse order, Latin ones too, so
    reversing the characters puts the words right and only each word
    written left to right needs turning back.
    """
    return _LTR_RUN.sub(lambda match: match.group()[::-1], text[::-1])


def _ltr_runs_in_order(words: list[str]) -> list[str]:
    """``words`` with each run of consecutive Latin words put back in its reading order."""
    result: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if _LATIN.search(word):
            run.append(word)
            continue
        result.extend(reversed(run))
        run = []
        result.append(word)
    return result[:-1]


# --------------------------------------------------------------------------- mixed-direction lines


def words_of(line: Line) -> list[Line]:
    """The line's words (glyphs between spaces)."""
    words: list[Line] = [[]]
    for glyph in line:
        if glyph.char.isspace():
            words.append([])
        else:
            words[-1].append(glyph)
    return [word for word in words if word]


def laid_left_to_right(words: list[Line]) -> bool:
    """Whether the line's Arabic words follow each other left to right on the page (visual order).

    A line mixing Arabic and Latin may come out of the text layer in the
    Latin order, its Arabic words reversed («البيئة وزارة»): where they were
    drawn says so.
    """
    centres = [_centre(word) for word in words if any(is_arabic_letter(g.char) for g in word)]
    centres = [centre for centre in centres if centre is not None]
    pairs = list(itertools.pairwise(centres))
    rightward = sum(after > before for before, after in pairs)
    return bool(pairs) and rightward > len(pairs) - rightward


def _centre(word: Line) -> float | None:
    boxes = [glyph.box for glyph in word if glyph.box is not None]
    return sum((box[0] + box[2]) / 2 for box in boxes) / len(boxes) if boxes else None


def in_logical_order(line: Line) -> str:
    """The line's text, its words reordered right to left when it was laid out left to right."""
    words = words_of(line)
    texts = ["".join(glyph.char for glyph in word) for word in words]
    if not laid_left_to_right(words):
        return "".join(glyph.char for glyph in line)
    return " ".join(_ltr_runs_in_order(texts[::-1]))


# --------------------------------------------------------------------------- brackets

_MIRRORED = str.maketrans("()[]{}", ")(][}{")
_REVERSED_PAIR = re.compile(r"\)[^()]*\(")
_PAIR = re.compile(r"\([^()]*\)")


def mirror_brackets(text: str) -> str:
    """The page with ( and ) swapped when most of its bracket pairs read «)المادة الأولى(».

    Some producers draw a right-to-left line's brackets as they look, which
    reversed into logical order leaves each pair backwards; whether a page
    has them so is read from its pairs, so a page that is right is left alone.
    """
    if len(_REVERSED_PAIR.findall(text)) > len(_PAIR.findall(text)):
        return text.translate(_MIRRORED)
    return text


# --------------------------------------------------------------------------- characters


def fold_presentation_forms(text: str) -> str:
    """Presentation forms (ﻻ, ﺍﻟﺴﻼﻡ) as the ordinary letters they show, so snippets read and match normally."""
    return _PRESENTATION_FORMS.sub(lambda match: unicodedata.normalize("NFKC", match.group()), text)


def fold_heh(text: str) -> str:
    """Heh doachashmee (ھ), which Word's Arabic fonts put for every medial heh, as heh — except in Urdu."""
    if _HEH_DOACHASHMEE not in text or any(char in _URDU_LETTERS for char in text):
        return text
    return text.replace(_HEH_DOACHASHMEE, "\u0647")


def clean_page(text: str) -> str:
    """The page's characters as they should be stored: forms folded, brackets facing each other, no U+FFFD."""
    return mirror_brackets(fold_heh(fold_presentation_forms(text)).replace("\ufffd", ""))


# --------------------------------------------------------------------------- plausibility


def plausible_share(text: str) -> float:
    """The share of the text's letters that stand in plausible words (1.0 for a page without letters).

    A word is plausible when its letters are of one script, it holds no
    control characters, and (Latin) most of its letters are plain ASCII:
    what 1990s Arabic typesetting fonts leave in a text layer
    (``ÁÇÑÒu\\x13Ç``) fails all three, real text in any language passes.
    """
    total = good = 0
    for word in text.split():
        letters = sum(char.isalpha() for char in word)
        total += letters
        if letters and _plausible_word(word):
            good += letters
    return good / total if total else 1.0


def _plausible_word(word: str) -> bool:
    if any(unicodedata.category(char) == "Cc" for char in word):
        return False
    letters = [char for char in word if char.isalpha()]
    arabic = sum(is_arabic_letter(char) for char in letters)
    if arabic:
        return arabic == len(letters)
    ascii_letters = sum(char.isascii() for char in letters)
    return ascii_letters * 2 > len(letters)
