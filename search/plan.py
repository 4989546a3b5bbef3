"""A query plan: what a query matches and what scores it, in terms any engine can execute.

The planner (:mod:`search.planner`) turns a parsed query into a :class:`Plan`
without touching an index: every term is a field's analysed form, so an
engine that indexes Fahras's own analysis (the embedded Whoosh index, an
OpenSearch cluster fed with Fahras's forms) executes it as it is. A plan
has two halves, computed from one analysis of the query:

- ``match``: a boolean expression over stemmed terms and phrases (OR, AND,
  AND-NOT), and the ``filters`` (language, source, date) that restrict it;
- ``scoring``: every term whose score a matching document collects, the
  phrases that add theirs where they stand, and the title words that may
  make up a document's whole title.

How those scores combine is the ranking contract, :mod:`search.ranking`.
A document *matches* a word when it holds one of the word's light stems in a
searched field: that is what "the word, in any of its forms" means to a
reader. The exact-form and root fields never decide a match (but for the
exact forms a prefix or fuzzy term stands for); they only add to the score.
"""

from __future__ import annotations

from dataclasses import dataclass

from .syntax import Filter


@dataclass(frozen=True)
class Slot:
    """The terms that may stand at one place of a phrase, ``offset`` positions after the first.

    A word read two ways at one position (a leading و ف ب ل as a proclitic or
    not) is one slot of two terms; a stop word left out keeps its place, so the
    next slot's offset counts it.
    """

    offset: int
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    """Documents holding ``text`` in ``field``."""

    field: str
    text: str


@dataclass(frozen=True)
class PhraseMatch:
    """Documents where every slot has one of its terms at the first slot's position plus its offset.

    ``slop`` lets each further slot stand up to that many positions later than the query has it.
    """

    field: str
    slots: tuple[Slot, ...]
    slop: int = 0


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Match, ...]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Match, ...]


@dataclass(frozen=True)
class Without:
    """Documents of ``base`` that match none of ``excluded``."""

    base: Match
    excluded: Match


@dataclass(frozen=True)
class Everything:
    """Every document (a query of filters alone)."""


Match = Term | PhraseMatch | AnyOf | AllOf | Without | Everything


@dataclass(frozen=True)
class ScoringTerm:
    field: str
    text: str
    weight: float
    # Terms of one group are one query word's alternative forms at one analysis level
    # (a proclitic read or not: ولدت, لدت): a document scores the best of them, not their sum.
    group: int | None = None


@dataclass(frozen=True)
class ScoringPhrase:
    """A phrase adds ``weight`` times its words' scores in documents where it stands.

    ``bonus_only`` marks the pairs of adjacent plain words: they never decide a match,
    they only rank documents holding the words side by side above the others.
    """

    phrase: PhraseMatch
    weight: float
    bonus_only: bool = False


@dataclass(frozen=True)
class Plan:
    match: Match | None  # None: nothing searchable was left (stop words only)
    scoring: tuple[ScoringTerm, ...]
    phrases: tuple[ScoringPhrase, ...]  # user phrases and adjacent-word proximity pairs
    highlight: frozenset[str]  # body terms whose words the snippets mark
    title_highlight: frozenset[str] = frozenset()  # title terms whose words the title marks
    filters: tuple[Filter, ...] = ()  # every restriction: the query's own and the request's (facets, dates)
    excluded: tuple[Filter, ...] = ()  # -source:x, NOT lang:en
    stop_words: tuple[str, ...] = ()  # typed words dropped as too common, when nothing else was left
    # Words of a plain query that match nothing, each with what was searched beside it.
    rewritten: tuple[tuple[str, str], ...] = ()
    # Words of a plain query also searched as words of the other script that sound alike (Haftar: حفتر).
    also: tuple[tuple[str, str], ...] = ()
    # The stems of a plain query's words, in titles: a title made of them all scores more.
    title_words: frozenset[str] = frozenset()
    # A short plain query's words, each as what matches it: documents holding more of them rank
    # first, and the results count those holding them all (empty: the rule does not apply).
    words: tuple[Match, ...] = ()


EVERYTHING = Plan(match=Everything(), scoring=(), phrases=(), highlight=frozenset())
