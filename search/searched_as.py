"""What a query was searched as: each word's analysed form, and the written forms that matched it.

Arabic readers want to see that الحكومة was searched as حكوم and matched
الحكومة، حكومة، للحكومة. The forms are those the page's own hits hold (their
marked words), so showing them costs no extra reading of the index.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from index.analysis import CachedChain

from .suggest import displayed

MAX_WORDS = 10  # searched words listed for one query (a prefix may stand for a hundred)
MAX_FORMS = 8  # written forms listed for one searched word
_SYNTAX = re.compile(r'^[-+"(]+|["()*~^0-9.]+$')  # a typed word's syntax: -word "phrase" (group) pre* fuzzy~2


@dataclass(frozen=True)
class SearchedWord:
    word: str  # as typed (without quotes, operators or a field name), or a word a prefix or fuzzy term found
    searched: tuple[str, ...]  # the analysed forms the index was asked for (stems; roots where searched)
    forms: tuple[str, ...]  # written forms that matched them in this page's hits, the most frequent first


@dataclass
class FormsSeen:
    """The written forms of one page's matches, counted as the hits are marked."""

    chain: CachedChain
    terms: Collection[str]  # what the query marks (its highlight terms)
    counts: Counter = field(default_factory=Counter)

    def add(self, text: str, spans: list[tuple[int, int]]) -> None:
        self.counts.update(text[left:right] for left, right in spans)

    def searched_as(self, typed: list[tuple[str, tuple[str, ...]]]) -> list[SearchedWord]:
        """Each typed word's searched forms with the forms seen, then the other terms that matched.

        Words that matched nothing on this page are left out: the line says what matched.
        """
        by_term: dict[str, Counter] = {}
        for written, count in self.counts.items():
            for term in set(self.chain.analyze(written)).intersection(self.terms):
                by_term.setdefault(term, Counter())[displayed(written).lower()] += count
        listed, covered = [], set()
        for word, stems in typed:
            searched = tuple(
                stem for stem in dict.fromkeys(stems) if stem in self.terms and stem not in covered
            )
            covered.update(searched)
            seen = sum((by_term.get(stem, Counter()) for stem in searched), Counter())
            if seen:
                listed.append(SearchedWord(_bare(word), searched, _most_common(seen)))
        for term, seen in sorted(by_term.items(), key=lambda pair: -pair[1].total()):
            if term not in covered:
                listed.append(SearchedWord(seen.most_common(1)[0][0], (term,), _most_common(seen)))
        return listed[:MAX_WORDS]


def _bare(typed: str) -> str:
    """A typed word without its field name, quotes, brackets or operator marks (title:"وزارة → وزارة)."""
    return _SYNTAX.sub("", typed.rpartition(":")[2]) or typed


def _most_common(seen: Counter) -> tuple[str, ...]:
    return tuple(form for form, _count in seen.most_common(MAX_FORMS))
