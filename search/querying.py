"""From a parsed query to a plan: which documents match, and which terms score them.

A document *matches* a word when it holds one of the word's light stems in a searched
field (``title``, ``body``): that is what "the word, in any of its forms" means to a
reader. The exact-form and ISRI-root fields never decide a match; they only add to the
score of documents that match, as does the proximity of adjacent query words. So a
plan has two halves, computed from the same analysis of the query:

- ``match``: a boolean expression over stemmed terms and phrases (OR, AND, AND-NOT);
- ``scoring``: every term (field, text, weight) whose BM25 score a matching document
  collects, and the phrases and adjacent-word pairs that add theirs where they stand.

Prefix and fuzzy terms are expanded against the index here, with a bound on how many
words one query may expand to, so that no query's cost is unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from index.analysis import ArabicLightStemmer, WordTokenizer

from . import budget, syntax
from .phrases import PositionalPhrase, Slot
from .suggest import MAX_CORRECTED_WORDS, Suggester, displayed, normalize, words_within
from .syntax import And, Clause, Filter, Fuzzy, Group, Occur, ParsedQuery, Phrase, Prefix, QueryError, Words

MAX_EXPANSIONS = 100  # words one prefix or fuzzy term may stand for
MAX_FUZZY_TERMS = 5  # fuzzy terms in one query: each walks the vocabulary
MAX_SCORING_TERMS = 2000  # terms one query may score, after expansion
REWRITE_LETTERS = 5  # a word that matches nothing gets its confident correction from this length on
MAX_SPLIT_LETTERS = 40  # longer words are not tried as two words joined
MAX_SPLIT_COUNT = 100  # documents counted for each way of splitting a word that matches nothing

# The fields a text field is searched in: its stemmed (matching, positional) field and
# the fields that only add to the score.
EXACT_SUFFIX, ROOT_SUFFIX = "_exact", "_root"


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Term:
    """Documents holding ``text`` in ``field``."""

    field: str
    text: str


@dataclass(frozen=True)
class PhraseMatch:
    """Documents where the slots stand in order in ``field`` (see :mod:`search.phrases`)."""

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
    filters: tuple[Filter, ...] = ()
    excluded: tuple[Filter, ...] = ()
    stop_words: tuple[str, ...] = ()  # typed words dropped as too common, when nothing else was left
    # Words of a plain query that match nothing, each with what was searched beside it (Planner._absent).
    rewritten: tuple[tuple[str, str], ...] = ()
    # The stems of a plain query's words, in titles: a title made of them all scores more (search.scoring).
    title_words: frozenset[str] = frozenset()


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class _Position:
    """One word of the query as each field's analyser sees it."""

    offset: int
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
    """Turns parsed queries into plans for one index (its schema's analysers and vocabulary)."""

    def __init__(
        self,
        schema,
        reader,
        weights: dict[str, float],
        proximity_boost: float,
        proximity_slop: int = 0,
        searcher=None,
    ) -> None:
        self.schema = schema
        self.reader = reader
        self.searcher = searcher  # for the words that match nothing (None: they get no alternative)
        self.weights = {name: weight for name, weight in weights.items() if name in schema}
        self.proximity_boost = proximity_boost
        self.proximity_slop = proximity_slop
        self.stemmed = schema["body"].analyzer
        self.stem_chain = self.stemmed.items[-1]  # the body analyser's CachedChain: one word's stems
        self.exact = schema[f"body{EXACT_SUFFIX}"].analyzer if f"body{EXACT_SUFFIX}" in schema else None
        self.root = schema[f"body{ROOT_SUFFIX}"].analyzer if f"body{ROOT_SUFFIX}" in schema else None
        self.stopped: list[str] = []
        self.fuzzy_terms = 0
        self.groups = 0

    def plan(self, parsed: ParsedQuery, rewrite: bool = True) -> Plan:
        """The plan of a parsed query; ``rewrite`` lets a plain query's words that match nothing
        search an alternative too (see :meth:`_absent`)."""
        self.stopped = []
        self.fuzzy_terms = 0
        self.groups = 0
        self.rewriting = rewrite and parsed.plain
        self.rewritten: list[tuple[str, str]] = []
        self.absent = 0
        self.title_words: set[str] = set()
        part = self._group(parsed.root) if parsed.root.clauses else _Part(Everything())
        if parsed.plain and part.match is not None:
            part.phrases.extend(self._proximity(parsed))
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
            highlight=_highlighted(part, "body"),
            title_highlight=_highlighted(part, "title"),
            filters=parsed.filters,
            excluded=parsed.excluded,
            stop_words=tuple(self.stopped) if match is None else (),
            rewritten=tuple(self.rewritten),
            title_words=frozenset(self.title_words) if parsed.plain else frozenset(),
        )

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
        typed = (
            {at: word for at, (word, _stop) in _typed(self.stemmed, node.text).items()}
            if self.rewriting
            else {}
        )
        for position in positions:
            if "title" in node.fields:
                self.title_words.update(position.stems)
            for name in node.fields:
                matches.extend(Term(name, stem) for stem in position.stems)
                scoring.extend(self._scoring_terms(name, position))
            if position.offset in typed and not self._matches(position.stems, node.fields):
                found = self._absent(typed[position.offset], node.fields)
                if found is not None:
                    matches.append(found.match)
                    scoring += found.scoring
                    phrases += found.phrases
        return _Part(_any(matches), scoring, phrases)

    def _matches(self, stems: tuple[str, ...], fields: tuple[str, ...]) -> bool:
        return any(self.reader.doc_frequency(name, stem) for name in fields for stem in stems)

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
        self.absent += 1
        if self.searcher is None or self.absent > MAX_CORRECTED_WORDS:
            return None
        word = displayed(typed)
        instead = self._split(word)
        if instead is None and len(normalize(word)) >= REWRITE_LETTERS:
            found = Suggester(self.searcher).correct(word)
            instead = found.word if found and found.confident else None
        if instead is None:
            return None
        part = self._words(Words(instead, fields))
        if part.match is None:
            return None
        for first, second in pairwise(self._analyse(instead, quiet=True)):  # a split's halves, side by side
            part.phrases.append(self._side_by_side(first, second, slop=0))
        self.rewritten.append((typed, instead))
        return part

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
            count = sum(self._phrase_count(name, slots) for name in ("body", "title"))
            if count and (best is None or count > best[0]):
                best = (count, f"{word[:cut]} {word[cut:]}")
        return best[1] if best else None

    def _phrase_count(self, name: str, slots: tuple[Slot, ...]) -> int:
        """In how many documents the slots stand side by side in a field (counted up to MAX_SPLIT_COUNT)."""
        matcher = PositionalPhrase(name, slots).matcher(self.searcher)
        count = 0
        while matcher.is_active() and count < MAX_SPLIT_COUNT:
            count += 1
            matcher.next()
            budget.check()
        return count

    def _scoring_terms(self, name: str, position: _Position) -> list[ScoringTerm]:
        terms = []
        levels = (("", position.stems), (EXACT_SUFFIX, position.exact), (ROOT_SUFFIX, position.roots))
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

    def _proximity(self, parsed: ParsedQuery) -> list[ScoringPhrase]:
        """Adjacent plain words found as adjacent in the body (stop words keep their gap) score more."""
        if not self.proximity_boost:
            return []
        positions = self._analyse(parsed.words_only_text)
        pairs = []
        for first, second in pairwise(positions):
            if not set(first.stems) & set(second.stems):
                pairs.append(self._side_by_side(first, second, self.proximity_slop))
        return pairs

    def _side_by_side(self, first: _Position, second: _Position, slop: int) -> ScoringPhrase:
        """The proximity bonus of two query words found as they stand in the query (give or take ``slop``)."""
        slots = (Slot(0, first.stems), Slot(second.offset - first.offset, second.stems))
        return ScoringPhrase(PhraseMatch("body", slots, slop), self.proximity_boost, bonus_only=True)

    def _prefix(self, node: Prefix) -> _Part:
        """Words starting with the prefix, among the stems (article removed) and the exact forms."""
        # The first word, normalised: stop words are letters like any others at the start of a word.
        typed = normalize(next(iter(WordTokenizer.words(node.text)), ""))
        exact = typed if self.exact else ""
        stem = _without_article(typed)
        if len(stem) < syntax.MIN_PREFIX_LETTERS and len(exact) < syntax.MIN_PREFIX_LETTERS:
            raise QueryError(
                "'%(prefix)s*': a prefix search needs at least %(letters)s letters before the *.",
                prefix=node.text,
                letters=syntax.MIN_PREFIX_LETTERS,
            )
        expanded: list[Term] = []
        for name in node.fields:
            if len(stem) >= syntax.MIN_PREFIX_LETTERS:
                expanded += [Term(name, text) for text in self._expand(name, stem, node.text + "*")]
            if exact and name + EXACT_SUFFIX in self.schema:
                expanded += [
                    Term(name + EXACT_SUFFIX, t)
                    for t in self._expand(name + EXACT_SUFFIX, exact, node.text + "*")
                ]
        return self._expanded(expanded, node.text + "*")

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
        typed = normalize(next(iter(WordTokenizer.words(node.text)), ""))
        if not typed:
            return _Part(None)
        shown, expanded = f"{node.text}~{node.edits}", []
        for name in node.fields:
            exact_field = name + EXACT_SUFFIX
            if exact_field not in self.schema:  # an index without exact forms (a comparison build): stems
                stem = _first_form(self.stemmed, node.text)
                words = words_within(self.reader, name, stem, node.edits, prefix=min(2, len(stem) - 1))
                expanded += [Term(name, word) for word in self._bounded(words, shown)] if stem else []
                continue
            words = words_within(self.reader, exact_field, typed, node.edits, prefix=min(2, len(typed) - 1))
            written = self._bounded(words, shown)
            own = self.stem_chain.analyze(node.text)  # the word itself, in every form, as when typed plainly
            stems = dict.fromkeys(
                [*own, *(stem for word in written for stem in self.stem_chain.analyze(word))]
            )
            expanded += [Term(name, stem) for stem in stems] + [Term(exact_field, word) for word in written]
        return self._expanded(expanded, f"{node.text}~")

    def _expand(self, name: str, prefix: str, shown: str) -> list[str]:
        words = (
            t.decode("utf-8") if isinstance(t, bytes) else t for t in self.reader.expand_prefix(name, prefix)
        )
        return self._bounded(words, shown)

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

    def _expanded(self, terms: list[Term], shown: str) -> _Part:
        if not terms:
            return _Part(AnyOf(()))  # a valid query that matches nothing here
        matching = [t for t in terms if not t.field.endswith(EXACT_SUFFIX)]
        exact_only = [t for t in terms if t.field.endswith(EXACT_SUFFIX)]
        scoring = [ScoringTerm(t.field, t.text, self.weights.get(t.field, 0.0)) for t in terms]
        return _Part(_any(matching + exact_only), [s for s in scoring if s.weight])

    # ------------------------------------------------------------- analysis

    def typed_words(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Each space-separated word of a plain query with its stems (none for a stop word)."""
        return [(word, tuple(s for p in self._analyse(word) for s in p.stems)) for word in text.split()]

    def _analyse(self, text: str, quiet: bool = False) -> list[_Position]:
        """Each query word's stems, exact forms and roots, at its position (stop words leave gaps).

        The stop words met are noted for the plan, unless ``quiet`` (text that is not the query's).
        """
        stems = _by_position(self.stemmed, text)
        exact = _by_position(self.exact, text) if self.exact else {}
        roots = _by_position(self.root, text) if self.root else {}
        if not quiet:
            self.stopped += [word for word, stopped in _typed(self.stemmed, text).values() if stopped]
        return [
            _Position(offset, tuple(forms), tuple(exact.get(offset, ())), tuple(roots.get(offset, ())))
            for offset, forms in sorted(stems.items())
        ]


def _highlighted(part: _Part, name: str) -> frozenset[str]:
    """The stemmed terms a field's text is marked with: the query's scoring terms and phrase words there."""
    terms = {term.text for term in part.scoring if term.field == name}
    phrases = {
        t for p in part.phrases if p.phrase.field == name for slot in p.phrase.slots for t in slot.terms
    }
    return frozenset(terms | phrases)


def _by_position(analyzer, text: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for token in analyzer(text, positions=True, mode="query"):
        forms = found.setdefault(token.pos, [])
        if token.text not in forms:
            forms.append(token.text)
    return found


def _typed(analyzer, text: str) -> dict[int, tuple[str, bool]]:
    """Each position's word as typed (punctuation around it left out), and whether it is a stop word."""
    tokens = analyzer(text, positions=True, removestops=False, keeporiginal=True, mode="query")
    seen: dict[int, tuple[str, bool]] = {}
    for token in tokens:
        seen.setdefault(token.pos, (token.original, token.stopped))
    return seen


def _first_form(analyzer, text: str, verbatim: bool = False) -> str:
    tokens = analyzer(text, mode="query", tokenize=not verbatim)
    return next((token.text for token in tokens), "")


def _without_article(stem: str) -> str:
    """A prefix without the article (الانتخ → انتخ), as the stemmed field holds its words."""
    for article in ArabicLightStemmer.ARTICLES:
        if stem.startswith(article) and len(stem) - len(article) >= syntax.MIN_PREFIX_LETTERS:
            return stem[len(article) :]
    return stem


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
