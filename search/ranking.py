"""The ranking contract: how a plan's terms score a document, written once for every engine.

Every match of a plan gets, from the plan's ``scoring`` terms:

1. **BM25F per word and analysis level** (Robertson, Zaragoza & Taylor, 2004).
   A word's length-normalised frequencies in the title and in the body are
   added up first, a title occurrence weighing ``title_weight`` body ones,
   and saturated once::

       T(d)  = sum over fields f of  weight_f * tf_f(d) / (1 - b_f + b_f * len_f(d) / avglen_f)
       score = boost * idf * (k1 + 1) * T(d) / (k1 + T(d))

   with Lucene's probabilistic IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``
   from the body's document frequency (the title's when the body never has
   the word). ``len_f`` is the field's length in words, ``avglen_f`` its mean
   over the index, ``N`` the number of documents: **global statistics** —
   an engine that splits the index (shards) must use the whole index's. Each
   level (light stem, exact form, ISRI root) pairs its own title and body
   fields (:data:`FIELD_PAIRS`) and the levels' scores add up, weighted by
   the plan (``ScoringTerm.weight``: 1.0, 0.5, 0.6). A field alone (a user's
   ``title:`` query, a phrase's words) is the same formula with one field.
2. **Alternative forms score their best**: terms of one ``group`` (one word
   read two ways, a proclitic or not) give a document the best of their
   scores, not the sum.
3. **Phrases**: a user's phrase adds ``weight`` times the sum of its words'
   scores (each word as a one-field BM25) in documents where it stands.
4. **Proximity**: a ``bonus_only`` phrase (two adjacent plain words found
   adjacent) adds the same, but never decides a match.
5. **Whole title**: a document whose title holds nothing but the plan's
   ``title_words`` (its title-field length is at most the sum of their
   frequencies there) has its whole score, proximity included, multiplied by
   ``1 + title_match``.

Matches are ordered by score, ties by document order (the order documents
were indexed in); every page is a slice of that one order, and totals and
facets count every match. ``sort=date`` orders by date, newest first,
undated last, and each hit keeps its score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.schema import BODY, EXACT, ROOT, SEARCH_FIELDS, TITLE

from .plan import ScoringTerm

# The (body, title) fields of each analysis level: a word's two fields that saturate together.
FIELD_PAIRS = ((BODY, TITLE), (BODY + EXACT, TITLE + EXACT), (BODY + ROOT, TITLE + ROOT))
_BODY_OF = {title: body for body, title in FIELD_PAIRS}


@dataclass(frozen=True)
class Ranking:
    """The constants of the ranking contract.

    Chosen with bench/quality.py on the whole shared suite (docs/quality.md):
    long news articles beside short answers want strong length normalisation (b 0.8),
    a title occurrence counts for several body ones, and Lucene's k1.
    """

    k1: float = 1.2
    b: float = 0.8  # body fields
    title_b: float = 1.0
    title_weight: float = 5.0  # one title occurrence counts as this many body ones
    field_boosts: tuple[tuple[str, float], ...] = tuple(SEARCH_FIELDS.items())
    # Adjacent query words found next to each other in the body (a removed stop
    # word keeps its gap) add this times their own scores; 0 turns it off.
    proximity_boost: float = 0.15
    # How many positions further apart than in the query the pair may stand and
    # still count (0: exactly as typed).
    proximity_slop: int = 0
    # A query word read in several forms (a proclitic or not: ولدت, لدت) scores its best
    # form in each document; False adds the forms up, counting the word once per form.
    best_alternative: bool = True
    # A document whose whole title is made of the query's words (a question naming an
    # article's subject) scores this much more: 0.3 is 30%; 0 turns it off.
    title_match: float = 0.3
    # A plain query's word that matches nothing also searches the two words it joins
    # (البحرالميت) or its confident correction, and the results say so (search.planner).
    absent_words: bool = True

    def b_for(self, field: str) -> float:
        """A field's length normalisation: titles have their own."""
        return self.title_b if field in _BODY_OF else self.b


DEFAULT_RANKING = Ranking()


@dataclass(frozen=True)
class Word:
    """One word scored by BM25F over ``fields`` (name, occurrence weight): the body's first."""

    text: str
    boost: float
    fields: tuple[tuple[str, float], ...]
    group: int | None = None  # the ScoringTerm group of the body term


def fielded_words(terms: Iterable[ScoringTerm], ranking: Ranking) -> list[Word]:
    """The plan's scoring terms with each word's title and body terms joined into one :class:`Word`.

    A title term weighs ``title_weight`` times its boost relative to the body term's;
    a term without its partner (a ``title:`` query) is scored on its own field.
    """
    terms = list(terms)
    titles: dict[tuple[str, str], list[ScoringTerm]] = {}
    for term in terms:
        if term.field in _BODY_OF:
            titles.setdefault((_BODY_OF[term.field], term.text), []).append(term)
    words = []
    for term in terms:
        if term.field in _BODY_OF:
            continue
        partners = titles.get((term.field, term.text))
        fields = [(term.field, 1.0)]
        if partners:
            title = partners.pop()
            fields.append((title.field, ranking.title_weight * title.weight / term.weight))
        words.append(Word(term.text, term.weight, tuple(fields), term.group))
    lone = [title for left in titles.values() for title in left]
    return words + [Word(title.text, title.weight, ((title.field, 1.0),), title.group) for title in lone]
