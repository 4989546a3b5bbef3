"""From a parsed query to a :class:`~search.plan.Plan`, reading no index.

Each word of the query is analysed by the chains the index's documents went
through (:class:`~search.backend.Analysis`: ``CachedChain.analyze``, the
same call indexing makes), giving its light stems, exact forms and roots at
its position (a stop word leaves its position empty). What the planner must
know of the vocabulary (prefix and fuzzy expansion, whether a word matches
anything, the alternatives of a word that matches nothing) it asks a
:class:`~search.backend.Lexicon`, so a plan can be made, and tested, with
any engine behind it or none.

Prefix and fuzzy terms are expanded with a bound on how many words one query
may stand for, so that no query's cost is unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import islice, pairwise

from index.analysis import ARABIC, LATIN, WordTokenizer, script_of, without_article
from index.schema import BODY, EXACT, ROOT, STEM, TITLE

from . import budget, names
from .backend import Analysis, Lexicon
from .plan import (
    AllOf,
    AnyOf,
    Everything,
    Match,
    PhraseMatch,
    Plan,
    ScoringPhrase,
    ScoringTerm,
    Slot,
    Term,
    Without,
)
from .suggest import MAX_CORRECTED_WORDS, Suggester, displayed, normalize, words_within
from .syntax import (
    MIN_PREFIX_LETTERS,
    And,
    Clause,
    Fuzzy,
    Group,
    Occur,
    ParsedQuery,
    Phrase,
    Prefix,
    QueryError,
    Words,
    short_prefix_error,
)

MAX_EXPANSIONS = 100  # words one prefix or fuzzy term may stand for
MAX_FUZZY_TERMS = 5  # fuzzy terms in one query: each walks the vocabulary
MAX_SCORING_TERMS = 2000  # terms one query may score, after expansion
REWRITE_LETTERS = 5  # a word that matches nothing gets its confident correction from this length on
MIN_TYPING_LETTERS = 3  # a word being typed is completed from this many letters on
MAX_SPLIT_LETTERS = 40  # longer words are not tried as two words joined
MAX_SPLIT_COUNT = 100  # documents counted for each way of splitting a word that matches nothing
# A plain query of up to this many words and no stop word is a keyword query: documents holding more
# of its words rank first (Meilisearch's "words" rule); questions are ranked by score alone.
MAX_KEYWORDS = 4
# What a word of the other script found for a name scores, against the typed word: the same name in
# another script is the same word. Lower, the typed script's documents come first, but the other's
# seldom reach the first page (bench/names.py --search: Latin names bring Arabic documents that write
# them into the top 10 for 48 of 58 development pairs at 1.0, 37 at 0.5, 26 at 0.2).
NAME_WEIGHT = 1.0
QUESTION_MARKS = ("?", "؟")


@dataclass(frozen=True)
class Position:
    """One word of the query as each level's chain sees it, at its position (stop words leave gaps)."""

    offset: int
    word: str  # as typed
    stems: tuple[str, ...]
    exact: tuple[str, ...]
    roots: tuple[str, ...]


@dataclass
class _Part:
    """What one node of the tree contributes: a match, scoring terms and phrases."""

    match: Match | None
    scoring: list[ScoringTerm] = field(default_factory=list)
    phrases: list[ScoringPhrase] = field(default_factory=list)


class Planner:
    """Turns parsed queries into plans for one index: its analysis and its vocabulary (immutable; share it)."""

    def __init__(
        self,
        analysis: Analysis,
        lexicon: Lexicon,
        weights: dict[str, float],
        proximity_boost: float,
        proximity_slop: int = 0,
        absent_words: bool = True,
    ) -> None:
        self.analysis = analysis
        self.lexicon = lexicon
        self.weights = {name: weight for name, weight in weights.items() if name in analysis.fields}
        self.proximity_boost = proximity_boost
        self.proximity_slop = proximity_slop
        self.absent_words = absent_words  # a word that matches nothing may search an alternative

    def plan(self, parsed: ParsedQuery, rewrite: bool = True, typing: bool = False) -> Plan:
        """The plan of a parsed query.

        ``rewrite`` lets a plain query's words that match nothing search an
        alternative too (see :meth:`_Planning._absent`); ``typing`` says the query
        is being typed: its last word, perhaps unfinished, is searched as a
        prefix too (``gover``: government), as search boxes do while one types.
        """
        return _Planning(self, parsed, rewrite and self.absent_words, typing).plan()

    def positions(self, text: str) -> list[Position]:
        """Each word of ``text`` with its forms at each level (stop words left out, their places kept)."""
        found = []
        for offset, word in enumerate(WordTokenizer.words(text)):
            stems = self._forms(self.analysis.stem, word)
            if stems:
                exact, roots = self._forms(self.analysis.exact, word), self._forms(self.analysis.root, word)
                found.append(Position(offset, word, stems, exact, roots))
        return found

    def stop_words(self, text: str) -> list[str]:
        """The words of ``text`` the analysis drops (stop words)."""
        return [word for word in WordTokenizer.words(text) if not self.analysis.stem.analyze(word)]

    def typed_words(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Each space-separated word of a plain query with its stems (none for a stop word)."""
        return [(word, tuple(s for p in self.positions(word) for s in p.stems)) for word in text.split()]

    def matches(self, stems: tuple[str, ...], fields: tuple[str, ...]) -> bool:
        """Whether any document holds one of the stems in one of the fields."""
        return any(self.lexicon.document_frequency(name, stem) for name in fields for stem in stems)

    @staticmethod
    def _forms(chain, word: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(chain.analyze(word))) if chain is not None else ()


class _Planning:
    """One plan being made: the planner's settings, and what this query has met so far."""

    def __init__(self, planner: Planner, parsed: ParsedQuery, rewrite: bool, typing: bool = False) -> None:
        self.planner = planner
        self.parsed = parsed
        last = parsed.root.clauses[-1].node if parsed.plain and parsed.root.clauses else None
        self.unfinished = last if typing and isinstance(last, Words) else None  # the words being typed
        self.lexicon = planner.lexicon
        self.weights = planner.weights
        self.rewriting = rewrite and parsed.plain
        self.stopped: list[str] = []
        self.fuzzy_terms = 0
        self.groups = 0
        self.absent_count = 0
        self.rewritten: list[tuple[str, str]] = []
        self.title_words: set[str] = set()
        self.words: list[Match] = []  # what matches each word of a plain query, in order
        self.nested = 0  # inside an alternative searched for a word: its words are not the query's
        self.keywords = parsed.plain and self._few_keywords()
        self.naming = self.rewriting and self.keywords  # names searched across scripts (_names)
        self.also: list[tuple[str, str]] = []  # (typed word, a word of the other script also searched)

    def plan(self) -> Plan:
        parsed = self.parsed
        part = self._group(parsed.root) if parsed.root.clauses else _Part(Everything())
        if parsed.plain and part.match is not None:
            part.phrases.extend(self._proximity())
        match = part.match
        if match is None and not parsed.root.clauses and parsed.filters:
            match = Everything()
        if len(part.scoring) > MAX_SCORING_TERMS:
            raise QueryError(
                "The query stands for too many words (%(count)s; at most %(most)s):"
                " use fewer prefixes and fuzzy terms, or make them longer.",
                count=f"{len(part.scoring):,}",
                most=f"{MAX_SCORING_TERMS:,}",
            )
        return Plan(
            match=match,
            scoring=tuple(part.scoring),
            phrases=tuple(part.phrases),
            highlight=_highlighted(part, BODY),
            title_highlight=_highlighted(part, TITLE),
            filters=parsed.filters,
            excluded=parsed.excluded,
            stop_words=tuple(self.stopped) if match is None else (),
            rewritten=tuple(self.rewritten),
            also=tuple(self.also),
            title_words=frozenset(self.title_words) if parsed.plain else frozenset(),
            # The words rule: documents holding more of two or more keywords rank first.
            words=tuple(self.words) if self.keywords and len(self.words) > 1 else (),
        )

    def _few_keywords(self) -> bool:
        """Whether the query is a few keywords, not a question or a sentence.

        One to MAX_KEYWORDS words, no stop word and no question mark: what people type
        in a search box (وزارة الصحة, heat wave; OR between them is a space). Two or more
        get the words rule, and names are carried across scripts only in such a query.
        A question names its words among stop words or ends with a question mark (ما هي
        عاصمة فرنسا, ماهي عاصمة منغوليا ؟): its answer need not hold them all (ranked by
        score alone, the shared question sets score higher: bench/quality.py,
        docs/quality.md), and it is written in the language whose answer it seeks —
        carried across, its names brought the other language's parallel paragraphs above
        the answers (tydi-ar and tydi-en 0.002 lower, even scored at a tenth:
        docs/names.md), and each of its words cost a lookup.
        """
        text = self.parsed.words_only_text
        words = WordTokenizer.words(text)
        asked = any(mark in text for mark in QUESTION_MARKS)
        return 0 < len(words) <= MAX_KEYWORDS and not asked and not self.planner.stop_words(text)

    def _analyse(self, text: str, quiet: bool = False) -> list[Position]:
        """The planner's :meth:`Planner.positions`; the stop words met are noted, unless ``quiet`` or nested."""
        if not quiet and not self.nested:
            self.stopped += self.planner.stop_words(text)
        return self.planner.positions(text)

    # ------------------------------------------------------------- tree nodes

    def _node(self, node) -> _Part:
        if isinstance(node, Words):
            return self._words(node)
        if isinstance(node, Phrase):
            return self._phrase(node)
        if isinstance(node, Prefix):
            return self._prefix(node)
        if isinstance(node, Fuzzy):
            return self._fuzzy(node)
        if isinstance(node, Group):
            return self._group(node)
        if isinstance(node, And):
            return self._and(node.parts)
        raise QueryError("'%(field)s:' filters the whole query: put it outside parentheses.", field=node.name)

    def _group(self, group: Group) -> _Part:
        by_occur: dict[Occur, list[_Part]] = {occur: [] for occur in Occur}
        for clause in group.clauses:
            by_occur[clause.occur].append(self._node(clause.node))
        musts = [p for p in by_occur[Occur.MUST] if p.match is not None]
        shoulds = [p for p in by_occur[Occur.SHOULD] if p.match is not None]
        nots = [p for p in by_occur[Occur.MUST_NOT] if p.match is not None]
        if musts:
            base: Match | None = _all([p.match for p in musts])
        else:
            base = _any([p.match for p in shoulds])
        scoring = [t for p in musts + shoulds for t in p.scoring]
        phrases = [ph for p in musts + shoulds for ph in p.phrases]
        if base is None:
            return _Part(None, scoring, phrases)
        if nots:
            base = Without(base, _any([p.match for p in nots]))
        return _Part(base, scoring, phrases)

    def _and(self, parts: tuple[Clause, ...]) -> _Part:
        compiled = [(clause.occur, self._node(clause.node)) for clause in parts]
        positive = [p for occur, p in compiled if occur is not Occur.MUST_NOT and p.match is not None]
        negative = [p for occur, p in compiled if occur is Occur.MUST_NOT and p.match is not None]
        base = _all([p.match for p in positive])
        if base is None:
            return _Part(None)
        if negative:
            base = Without(base, _any([p.match for p in negative]))
        return _Part(
            base, [t for p in positive for t in p.scoring], [ph for p in positive for ph in p.phrases]
        )

    def _words(self, node: Words) -> _Part:
        positions = self._analyse(node.text)
        if not positions:
            return _Part(None)
        matches, scoring, phrases = [], [], []
        for position in positions:
            if TITLE in node.fields:
                self.title_words.update(position.stems)
            word = [Term(name, stem) for name in node.fields for stem in position.stems]
            for name in node.fields:
                scoring.extend(self._scoring_terms(name, position))
            # A name is searched in the other script as typed, finished or not: when typing stops,
            # the results are those of the query submitted.
            found = [self._names(position.word, node.fields)]
            if node is self.unfinished and position is positions[-1]:
                completed = self._completions(position.word, node.fields)
                word += completed
                scoring += [
                    ScoringTerm(t.field, t.text, self.weights[t.field])
                    for t in completed
                    if t.field in self.weights
                ]
            elif self.rewriting and not self.planner.matches(position.stems, node.fields):
                found.append(self._absent(position.word, node.fields))
            for part in filter(None, found):
                word.append(part.match)
                scoring += part.scoring
                phrases += part.phrases
            matches.extend(word)
            if not self.nested:
                self.words.append(_any(word))
        return _Part(_any(matches), scoring, phrases)

    # ------------------------------------------------------------- words that match nothing

    def _absent(self, typed: str, fields: tuple[str, ...]) -> _Part | None:
        """What a plain query's word that no document holds also searches, or None.

        As search engines do with typos (Meilisearch's split words, a confident
        did-you-mean): the two words it joins when documents write them side by side
        (البحرالميت: البحر الميت), else its confident correction when the word is long
        enough for one edit to be a typo rather than another word (four-letter Arabic
        words are one letter from many others). Only a word that matches nothing gets
        an alternative, so what the typed words match is unchanged; the plan records
        it, and the results say what was searched (``notice``).
        """
        self.absent_count += 1
        if self.absent_count > MAX_CORRECTED_WORDS:
            return None
        word = displayed(typed)
        instead = self._split(word)
        if instead is None and len(normalize(word)) >= REWRITE_LETTERS:
            found = Suggester(self.lexicon).correct(word)
            instead = found.word if found and found.confident else None
        if instead is None:
            return None
        self.nested += 1
        try:
            part = self._words(Words(instead, fields))
        finally:
            self.nested -= 1
        if part.match is None:
            return None
        for first, second in pairwise(self._analyse(instead, quiet=True)):  # a split's halves, side by side
            part.phrases.append(self._side_by_side(first, second, slop=0))
        self.rewritten.append((typed, instead))
        return part

    # ------------------------------------------------------------- names across scripts

    def _names(self, typed: str, fields: tuple[str, ...]) -> _Part | None:
        """What a plain query's word also searches in the other script, or None (see :mod:`search.names`).

        Haftar is also searched as حفتر and لافروف as Lavrov, when the index's own
        vocabulary writes them so. Only in a query of a few keywords, with
        ``rewrite`` on (see :meth:`_few_keywords`): quotes, fields and ``--verbatim``
        search only what was typed. The typed word still matches what it matches;
        the plan records each word added (``Plan.also``).
        """
        if not self.naming or self.nested:
            return None
        script = script_of(normalize(typed))
        other = {ARABIC: LATIN, LATIN: ARABIC}.get(script)
        own_words = self.lexicon.vocabulary(script) if other else None
        other_words = self.lexicon.vocabulary(other) if own_words is not None else None
        if other_words is None:
            return None
        found = [c.word for c in names.candidates(displayed(typed), own_words, other_words)]
        self.nested += 1
        try:
            parts = [(name, self._words(Words(name, fields))) for name in found]
        finally:
            self.nested -= 1
        parts = [(name, part) for name, part in parts if part.match is not None]
        if not parts:
            return None
        self.also += [(typed, name) for name, _part in parts]
        scoring = [replace(t, weight=t.weight * NAME_WEIGHT) for _name, part in parts for t in part.scoring]
        return _Part(_any([part.match for _name, part in parts]), scoring)

    def _split(self, word: str) -> str | None:
        """``word`` cut into the two words that documents most often write side by side, or None."""
        if len(word) > MAX_SPLIT_LETTERS:
            return None
        best: tuple[int, str] | None = None
        for cut in range(2, len(word) - 1):
            halves = [self._analyse(half, quiet=True) for half in (word[:cut], word[cut:])]
            if any(len(found) != 1 for found in halves):
                continue  # a stop word, or no word at all
            slots = (Slot(0, halves[0][0].stems), Slot(1, halves[1][0].stems))
            count = sum(self.lexicon.side_by_side(name, slots, MAX_SPLIT_COUNT) for name in (BODY, TITLE))
            if count and (best is None or count > best[0]):
                best = (count, f"{word[:cut]} {word[cut:]}")
        return best[1] if best else None

    # ------------------------------------------------------------- scoring and phrases

    def _scoring_terms(self, name: str, position: Position) -> list[ScoringTerm]:
        terms = []
        levels = ((STEM, position.stems), (EXACT, position.exact), (ROOT, position.roots))
        for suffix, forms in levels:
            weight = self.weights.get(name + suffix)
            if not weight:
                continue
            group = None
            if len(forms) > 1:  # one word's alternative forms: a document scores the best one
                self.groups += 1
                group = self.groups
            terms.extend(ScoringTerm(name + suffix, form, weight, group) for form in forms)
        return terms

    def _phrase(self, node: Phrase) -> _Part:
        positions = self._analyse(node.text)
        if len(positions) <= 1:
            return self._words(Words(node.text, node.fields))
        first = positions[0].offset
        slots = tuple(Slot(p.offset - first, p.stems) for p in positions)
        matches, phrases = [], []
        for name in node.fields:
            phrase = PhraseMatch(name, slots, node.slop)
            matches.append(phrase)
            phrases.append(ScoringPhrase(phrase, self.weights[name]))
        return _Part(_any(matches), [], phrases)

    def _proximity(self) -> list[ScoringPhrase]:
        """Adjacent plain words found as adjacent in the body (stop words keep their gap) score more."""
        if not self.planner.proximity_boost:
            return []
        positions = self._analyse(self.parsed.words_only_text, quiet=True)
        pairs = []
        for first, second in pairwise(positions):
            if not set(first.stems) & set(second.stems):
                pairs.append(self._side_by_side(first, second, self.planner.proximity_slop))
        return pairs

    def _side_by_side(self, first: Position, second: Position, slop: int) -> ScoringPhrase:
        """The proximity bonus of two query words found as they stand in the query (give or take ``slop``)."""
        slots = (Slot(0, first.stems), Slot(second.offset - first.offset, second.stems))
        return ScoringPhrase(PhraseMatch(BODY, slots, slop), self.planner.proximity_boost, bonus_only=True)

    # ------------------------------------------------------------- prefixes and fuzzy terms

    def _prefix(self, node: Prefix) -> _Part:
        """Words starting with the prefix, among the stems (article removed) and the exact forms."""
        # The first word, normalised: stop words are letters like any others at the start of a word.
        typed = _first_word_normalised(node.text)
        exact = typed if self.planner.analysis.exact is not None else ""
        stem = without_article(typed, MIN_PREFIX_LETTERS) or typed
        if len(stem) < MIN_PREFIX_LETTERS and len(exact) < MIN_PREFIX_LETTERS:
            raise short_prefix_error(node.text)
        shown, expanded = node.text + "*", []
        for name in node.fields:
            if len(stem) >= MIN_PREFIX_LETTERS:
                expanded += [
                    Term(name, text) for text in self._bounded(self.lexicon.expand_prefix(name, stem), shown)
                ]
            if exact and name + EXACT in self.planner.analysis.fields:
                words = self._bounded(self.lexicon.expand_prefix(name + EXACT, exact), shown)
                expanded += [Term(name + EXACT, text) for text in words]
        return self._expanded(expanded)

    def _fuzzy(self, node: Fuzzy) -> _Part:
        """The typed word and the words written within the edit distance of it, in every form the stemmer relates.

        The typed word (normalised) is compared with the words as documents
        write them (the exact-form fields), not with stems: a stem is not what
        was typed (``goverment`` stems to ``gover``, two edits from ``goe``).
        Each word found matches in all its forms through its stems, as a typed
        word does. The walk goes over the vocabulary's words with the typed
        word's first two letters (see :func:`search.suggest.words_within`),
        ten times shorter than with one (most typos are later in the word).
        """
        self.fuzzy_terms += 1
        if self.fuzzy_terms > MAX_FUZZY_TERMS:
            raise QueryError(
                "A query may hold at most %(most)s fuzzy (~) words: remove some.", most=MAX_FUZZY_TERMS
            )
        typed = _first_word_normalised(node.text)
        if not typed:
            return _Part(None)
        stem_chain = self.planner.analysis.stem
        shown, expanded = f"{node.text}~{node.edits}", []
        for name in node.fields:
            exact_field = name + EXACT
            if exact_field not in self.planner.analysis.fields:  # an index without exact forms: stems
                stem = next(iter(stem_chain.analyze(typed)), "")
                words = words_within(self.lexicon, name, stem, node.edits, prefix=min(2, len(stem) - 1))
                expanded += [Term(name, word) for word in self._bounded(words, shown)] if stem else []
                continue
            words = words_within(self.lexicon, exact_field, typed, node.edits, prefix=min(2, len(typed) - 1))
            written = self._bounded(words, shown)
            own = stem_chain.analyze(node.text)  # the word itself, in every form, as when typed plainly
            stems = dict.fromkeys([*own, *(stem for word in written for stem in stem_chain.analyze(word))])
            expanded += [Term(name, stem) for stem in stems] + [Term(exact_field, word) for word in written]
        return self._expanded(expanded)

    def _completions(self, typed: str, fields: tuple[str, ...]) -> list[Term]:
        """The words a word being typed may become: its prefix among stems and written forms.

        Bounded as prefixes are, but quietly: a start too short to narrow anything
        (more than MAX_EXPANSIONS words, or fewer than MIN_TYPING_LETTERS letters)
        completes nothing, and the word is searched as typed.
        """
        start = _first_word_normalised(typed)
        if len(start) < MIN_TYPING_LETTERS:
            return []
        stem = without_article(start, MIN_PREFIX_LETTERS) or start
        found = []
        for name in fields:
            for searched, prefix in ((name, stem), (name + EXACT, start)):
                if searched not in self.planner.analysis.fields:
                    continue
                words = list(islice(self.lexicon.expand_prefix(searched, prefix), MAX_EXPANSIONS + 1))
                if len(words) > MAX_EXPANSIONS:
                    return []
                found += [Term(searched, word) for word in words]
        return found

    def _grouped(self, terms: list[Term]) -> list[ScoringTerm]:
        """The scoring terms of one word's alternatives: per field, a document scores its best, not their sum."""
        groups: dict[str, int] = {}
        scoring = []
        for term in terms:
            if term.field not in self.weights:
                continue
            if term.field not in groups:
                self.groups += 1
                groups[term.field] = self.groups
            scoring.append(ScoringTerm(term.field, term.text, self.weights[term.field], groups[term.field]))
        return scoring

    def _bounded(self, words, shown: str) -> list[str]:
        found = []
        for word in budget.checked(words, every=64):
            found.append(word)
            if len(found) > MAX_EXPANSIONS:
                raise QueryError(
                    "'%(term)s' stands for more than %(most)s words: add letters to narrow it.",
                    term=shown,
                    most=MAX_EXPANSIONS,
                )
        return found

    def _expanded(self, terms: list[Term]) -> _Part:
        if not terms:
            return _Part(AnyOf(()))  # a valid query that matches nothing here
        matching = [t for t in terms if not t.field.endswith(EXACT)]
        exact_only = [t for t in terms if t.field.endswith(EXACT)]
        scoring = [ScoringTerm(t.field, t.text, self.weights.get(t.field, 0.0)) for t in terms]
        return _Part(_any(matching + exact_only), [s for s in scoring if s.weight])


def _first_word_normalised(text: str) -> str:
    return normalize(next(iter(WordTokenizer.words(text)), ""))


def _highlighted(part: _Part, name: str) -> frozenset[str]:
    """The stemmed terms a field's text is marked with: the query's scoring terms and phrase words there."""
    terms = {term.text for term in part.scoring if term.field == name}
    phrases = {
        t for p in part.phrases if p.phrase.field == name for slot in p.phrase.slots for t in slot.terms
    }
    return frozenset(terms | phrases)


def _any(parts: list[Match]) -> Match | None:
    unique = list(dict.fromkeys(parts))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else AnyOf(tuple(unique))


def _all(parts: list[Match]) -> Match | None:
    unique = list(dict.fromkeys(parts))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else AllOf(tuple(unique))
