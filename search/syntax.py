"""The query language: its one description, and a parser into a small tree.

What a user can type (the README's "Query language" section says the same):

    words          plain words are OR-ed; documents matching more of them rank first
    "a phrase"     these words in this order (a stop word between them keeps its place);
                   "a phrase"~3 lets them stand up to 3 positions further apart
    A AND B        both;   A OR B   either (also what a space between words means)
    A NOT B, A -B  A, excluding documents that contain B;   +A   A is required
    ( ... )        grouping: (heat OR drought) AND -winter
    title:word     only in titles (also title:"a phrase", title:(a b)); body:word only in the text
    source:okaz  lang:ar  date:2015  date:2015-07  date:2015-07-21  date:[2015-07-01 TO 2015-07-31]
                   filters: only documents with that source, language or date ("*" leaves a range open)
    word*          words that start with "word" (at least 2 letters before the *)
    word~  word~2  words within 1 (or 2) letters' difference of "word", after normalisation

Operators are upper case (AND, OR, NOT); lower-case "and", "or", "not" are words. Anything
else, punctuation included, is text for the analyser, so a pasted sentence is a valid query.

The parser only builds the tree and rejects what cannot mean anything (a dangling AND, an
unknown field, an unclosed quote); :mod:`search.planner` turns the tree into a plan.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum

from index.schema import LANGUAGES

MAX_QUERY_CHARS = 1000
MAX_NESTING = 20
MIN_PREFIX_LETTERS = 2
MAX_FUZZY_EDITS = 2
MAX_PHRASE_SLOP = 20

TEXT_FIELDS = ("title", "body")
FIELD_ALIASES = {"text": "body"}
FILTER_FIELDS = ("source", "lang", "date")
LANGS = LANGUAGES  # the languages a document can be in (lang:ar, lang:en, lang:mixed)
OPERATORS = ("AND", "OR", "NOT")

_EXAMPLE = {"AND": "heat AND wave", "OR": "heat OR drought", "NOT": "heat NOT wave"}


class QueryError(ValueError):
    """A query the user must fix; the message says how, in one line.

    ``template`` is English with ``%(name)s`` fields, in the translation
    catalogues (pybabel extracts every ``QueryError(...)``'s first argument):
    the CLI and the API say ``str(error)``, the search page
    ``error.translated(gettext)`` in its interface language.
    """

    # Syntax that pasted text holds by accident (an unmatched quote or parenthesis, a dangling
    # operator): the engine searches such a query as plain text rather than refuse it.
    loose = False

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values
        super().__init__(template % values if values else template)

    def translated(self, gettext: Callable[..., str]) -> str:
        """The message in a catalogue's language (``gettext(template, **values)``)."""
        return gettext(self.template, **self.values)


class Occur(Enum):
    """How a clause takes part in its group (Lucene's SHOULD / MUST / MUST_NOT)."""

    SHOULD = "should"
    MUST = "must"
    MUST_NOT = "must_not"


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Words:
    """Plain text: the analyser splits it into words, which are OR-ed."""

    text: str
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Phrase:
    text: str
    slop: int = 0
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Prefix:
    text: str  # without the *
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Fuzzy:
    text: str  # without the ~
    edits: int = 1
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Filter:
    """source:, lang: or date: — restricts the whole query, never scores."""

    name: str
    value: str = ""  # source and lang
    start: datetime | None = None  # date: the first moment allowed
    end: datetime | None = None  # date: the last moment allowed


@dataclass(frozen=True)
class Clause:
    occur: Occur
    node: Node


@dataclass(frozen=True)
class Group:
    """Clauses OR-ed (SHOULD), required (MUST) or excluded (MUST_NOT)."""

    clauses: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class And:
    """``a AND b AND NOT c``: every positive part required, the negated ones excluded."""

    parts: tuple[Clause, ...] = ()


Node = Words | Phrase | Prefix | Fuzzy | Filter | Group | And


@dataclass(frozen=True)
class ParsedQuery:
    """The tree of what to match, and the filters given in the query text."""

    root: Group
    filters: tuple[Filter, ...] = ()
    excluded: tuple[Filter, ...] = ()  # -source:x, NOT lang:en
    plain: bool = True  # nothing but words: proximity and did-you-mean apply

    @property
    def words_only_text(self) -> str:
        """The plain words of the query, in order (for suggestions)."""
        return " ".join(node.text for node in _leaves(self.root) if isinstance(node, Words))


def _leaves(node: Node):
    if isinstance(node, Group | And):
        for clause in node.clauses if isinstance(node, Group) else node.parts:
            yield from _leaves(clause.node)
    else:
        yield node


# --------------------------------------------------------------------------- lexing


@dataclass
class _Token:
    kind: str  # word phrase lparen rparen op field range prefix fuzzy plus minus
    text: str
    extra: str = ""  # a phrase's slop, a fuzzy term's edits
    glued: bool = False  # follows the previous token with no space (title:"x", -word)


_CHUNK_END = re.compile(r'[\s()"]')
# name:value with the value right after the colon; "Note: ..." and "https://..." are text.
_FIELD = re.compile(r"([A-Za-z_]+):(?=[^\s)])(?!//)")
_FUZZY = re.compile(r"(.*?)~(\d*)$")
_SLOP = re.compile(r"~(\d*)")


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, glued = 0, False
    while i < len(text):
        char = text[i]
        if char.isspace():
            i, glued = i + 1, False
            continue
        if char in "()":
            tokens.append(_Token("lparen" if char == "(" else "rparen", char, glued=glued))
            i, glued = i + 1, char == "("
            continue
        if char == '"':
            close = text.find('"', i + 1)
            if close == -1:
                raise _loose(QueryError('The query has an unmatched quote ("): close it or remove it.'))
            slop = _SLOP.match(text, close + 1)
            tokens.append(_Token("phrase", text[i + 1 : close], slop.group(1) if slop else "", glued))
            i, glued = (slop.end() if slop else close + 1), True
            continue
        i, glued = _lex_chunk(text, i, glued, tokens)
    return tokens


def _lex_chunk(text: str, i: int, glued: bool, tokens: list[_Token]) -> tuple[int, bool]:
    """A run of text up to a space, a parenthesis or a quote: an operator, a field, or a term."""
    if text[i] in "+-" and i + 1 < len(text) and not text[i + 1].isspace():
        tokens.append(_Token("plus" if text[i] == "+" else "minus", text[i], glued=glued))
        return i + 1, True
    field_match = _FIELD.match(text, i)
    if field_match:
        tokens.append(_Token("field", field_match.group(1), glued=glued))
        end = field_match.end()
        if text.startswith(("[", "{"), end):
            close = text.find("]" if text[end] == "[" else "}", end)
            if close == -1:
                raise QueryError(
                    "'%(range)s': close the range with ].", range=field_match.group(0) + text[end : end + 20]
                )
            tokens.append(_Token("range", text[end + 1 : close], glued=True))
            return close + 1, True
        return end, True
    found = _CHUNK_END.search(text, i)
    end = found.start() if found else len(text)
    chunk = text[i:end]
    tokens.append(_chunk_token(chunk, glued))
    return end, True


def _chunk_token(chunk: str, glued: bool) -> _Token:
    if chunk in OPERATORS:
        return _Token("op", chunk, glued=glued)
    if chunk.endswith("*"):
        return _Token("prefix", chunk.rstrip("*"), glued=glued)
    fuzzy = _FUZZY.match(chunk)
    if fuzzy and fuzzy.group(1):
        return _Token("fuzzy", fuzzy.group(1), fuzzy.group(2), glued)
    return _Token("word", chunk, glued=glued)


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Recursive descent over the tokens: group := clause*, clause := and-chain (OR and-chain)*."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0
        self.plain = True

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def group(self, fields: tuple[str, ...], closing: bool) -> Group:
        clauses: list[Clause] = []
        after_or = False
        while (token := self.peek()) is not None and token.kind != "rparen":
            if _is_op(token, "AND", "OR"):  # an AND here has no left side: the chain took every other
                if not clauses or after_or or token.text == "AND":
                    raise _dangling(token.text)
                self.take()  # OR between words is what a space means: the query stays plain
                after_or = True
                continue
            clauses.append(self.chain(fields))
            after_or = False
        if after_or:
            raise _dangling("OR")
        if token is not None and not closing:
            raise _loose(QueryError("The query has a ')' without a matching '(': close it or remove it."))
        return Group(tuple(clauses))

    def chain(self, fields: tuple[str, ...]) -> Clause:
        first = self.unary(fields)
        parts = [first]
        while (token := self.peek()) is not None and token.kind == "op" and token.text == "AND":
            self.take()
            self.plain = False
            if self.peek() is None or self.peek().kind == "rparen" or _is_op(self.peek(), "AND", "OR"):
                raise _dangling("AND")
            parts.append(self.unary(fields))
        if len(parts) == 1:
            return first
        if all(part.occur is Occur.MUST_NOT for part in parts):
            raise QueryError("Add a word to search for: NOT and - only exclude, as in: heat AND NOT wave.")
        return Clause(Occur.MUST if first.occur is Occur.MUST else Occur.SHOULD, And(tuple(parts)))

    def unary(self, fields: tuple[str, ...]) -> Clause:
        token = self.peek()
        if token.kind in ("plus", "minus") or _is_op(token, "NOT"):
            self.take()
            self.plain = False
            following = self.peek()
            if following is None or following.kind == "rparen" or following.kind == "op":
                raise _dangling("NOT" if token.kind == "op" else token.text)
            inner = self.unary(fields)
            if inner.occur is not Occur.SHOULD:
                raise _loose(
                    QueryError(
                        "'%(word)s' cannot be combined with another +, - or NOT on the same word.",
                        word=token.text,
                    )
                )
            occur = Occur.MUST if token.kind == "plus" else Occur.MUST_NOT
            return Clause(occur, inner.node)
        return Clause(Occur.SHOULD, self.primary(fields))

    def primary(self, fields: tuple[str, ...]) -> Node:
        token = self.take()
        if token.kind == "op":
            raise _dangling(token.text)
        if token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryError("The query nests parentheses more than %(depth)s deep.", depth=MAX_NESTING)
            self.plain = False
            inner = self.group(fields, closing=True)
            if self.peek() is None:
                raise _loose(QueryError("The query has a '(' without a matching ')': close it or remove it."))
            self.take()
            self.depth -= 1
            if not inner.clauses:
                raise _loose(QueryError("'()' is empty: put words inside the parentheses or remove them."))
            return inner
        if token.kind == "field":
            return self.fielded(token, fields)
        if token.kind == "range":
            raise QueryError(
                "'[%(range)s]': ranges work on dates only, as in date:[2015-07-01 TO 2015-07-31].",
                range=token.text,
            )
        return self.term(token, fields)

    def fielded(self, token: _Token, fields: tuple[str, ...]) -> Node:
        name = FIELD_ALIASES.get(token.text.lower(), token.text.lower())
        value = self.peek()
        if value is None or not value.glued or value.kind in ("rparen", "op", "field"):
            raise _loose(
                QueryError(
                    "'%(field)s:' needs something after it, as in %(example)s.",
                    field=token.text,
                    example=_field_example(name),
                )
            )
        if name in FILTER_FIELDS:  # a filter narrows the documents; the words still rank as typed
            self.take()
            return _filter(name, value)
        self.plain = False
        if name not in TEXT_FIELDS:
            raise QueryError(
                "Unknown field '%(field)s:'. Search in %(text_fields)s or filter with %(filter_fields)s.",
                field=token.text,
                text_fields=", ".join(f"{f}:" for f in TEXT_FIELDS),
                filter_fields=", ".join(f"{f}:" for f in FILTER_FIELDS),
            )
        if name not in fields:
            raise QueryError(
                "'%(field)s:' inside '%(outer)s:' can never match: keep one field.",
                field=token.text,
                outer=fields[0],
            )
        return self.primary((name,))

    def term(self, token: _Token, fields: tuple[str, ...]) -> Node:
        if token.kind == "phrase":
            self.plain = False
            return Phrase(token.text, _slop(token), fields)
        if token.kind == "prefix":
            self.plain = False
            if len(re.sub(r"\W", "", token.text)) < MIN_PREFIX_LETTERS:
                raise short_prefix_error(token.text)
            return Prefix(token.text, fields)
        if token.kind == "fuzzy":
            self.plain = False
            return Fuzzy(token.text, _edits(token), fields)
        return Words(token.text, fields)


def short_prefix_error(prefix: str) -> QueryError:
    """The message for a prefix too short to search (before the *, or once normalised)."""
    return QueryError(
        "'%(prefix)s*': a prefix search needs at least %(letters)s letters before the *.",
        prefix=prefix,
        letters=MIN_PREFIX_LETTERS,
    )


def _is_op(token: _Token | None, *names: str) -> bool:
    return token is not None and token.kind == "op" and token.text in names


def _loose(error: QueryError) -> QueryError:
    """``error``, marked as syntax that pasted text holds by accident (see :attr:`QueryError.loose`)."""
    error.loose = True
    return error


def _dangling(operator: str) -> QueryError:
    if operator in ("-", "+"):
        return _loose(
            QueryError(
                "'%(operator)s' must be followed by the word it applies to, as in heat -wave.",
                operator=operator,
            )
        )
    if operator == "NOT":
        return _loose(QueryError("'NOT' needs a word to exclude after it, as in: heat NOT wave."))
    return _loose(
        QueryError(
            "'%(operator)s' needs words on both sides, as in: %(example)s.",
            operator=operator,
            example=_EXAMPLE[operator],
        )
    )


def _field_example(name: str) -> str:
    return {"source": "source:okaz", "lang": "lang:ar", "date": "date:2015-07-21"}.get(name, f"{name}:word")


def _slop(token: _Token) -> int:
    if not token.extra:
        return 0
    slop = int(token.extra)
    if slop > MAX_PHRASE_SLOP:
        raise QueryError(
            '"%(phrase)s"~%(slop)s: a phrase allows at most %(most)s positions of slack.',
            phrase=token.text,
            slop=slop,
            most=MAX_PHRASE_SLOP,
        )
    return slop


def _edits(token: _Token) -> int:
    edits = int(token.extra) if token.extra else 1
    if not 1 <= edits <= MAX_FUZZY_EDITS:
        raise QueryError(
            "'%(word)s~%(edits)s': a fuzzy search allows 1 or %(most)s edits.",
            word=token.text,
            edits=token.extra,
            most=MAX_FUZZY_EDITS,
        )
    return edits


# --------------------------------------------------------------------------- filters


def _filter(name: str, token: _Token) -> Filter:
    if name == "date":
        return _date_filter(token)
    if token.kind not in ("word", "phrase") or not token.text.strip():
        raise QueryError(
            "'%(field)s:' needs a plain value, as in %(example)s.", field=name, example=_field_example(name)
        )
    value = token.text.strip()
    if name == "lang" and value not in LANGS:
        raise QueryError(
            "'lang:%(value)s': the language is one of %(langs)s.", value=value, langs=", ".join(LANGS)
        )
    return Filter(name, value=value)


_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _date_filter(token: _Token) -> Filter:
    if token.kind == "range":
        low, sep, high = token.text.partition(" TO ")
        if not sep:
            raise QueryError(
                "'date:[%(range)s]': write a range as date:[2015-07-01 TO 2015-07-31].", range=token.text
            )
        start = None if low.strip() in ("", "*") else _day_bounds(low.strip())[0]
        end = None if high.strip() in ("", "*") else _day_bounds(high.strip())[1]
        if start and end and start > end:
            raise QueryError("'date:[%(range)s]': the range ends before it starts.", range=token.text)
        return Filter("date", start=start, end=end)
    start, end = _day_bounds(token.text.strip())
    return Filter("date", start=start, end=end)


def _day_bounds(text: str) -> tuple[datetime, datetime]:
    """The first and last moment of a year, a month or a day written as 2015, 2015-07 or 2015-07-21."""
    found = _DAY.match(text)
    try:
        if not found:
            raise ValueError
        year, month, day = int(found.group(1)), found.group(2), found.group(3)
        if day:
            first = last = date(year, int(month), int(day))
        elif month:
            first = date(year, int(month), 1)
            last = first.replace(day=calendar.monthrange(year, int(month))[1])
        else:
            first, last = date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise QueryError("'date:%(date)s': write a date as 2015, 2015-07 or 2015-07-21.", date=text) from None
    return datetime.combine(first, time.min), datetime.combine(last, time.max)


# --------------------------------------------------------------------------- entry points


def parse_leniently(text: str) -> tuple[ParsedQuery, QueryError | None]:
    """The tree of a query; pasted text whose syntax is broken by accident is read as plain words.

    Returns the tree and, when the text had to be read as plain words, the
    error that says what was wrong with it (for a notice). What truly cannot
    run (too long, only exclusions, a bad date) still raises.
    """
    try:
        return parse(text), None
    except QueryError as error:
        if not error.loose:
            raise
        return parse(plain_text(text)), error


def parse(text: str) -> ParsedQuery:
    """The query tree of a user's query text (raises QueryError with a one-line fix)."""
    if not text.strip():
        raise QueryError("Type something to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            "The query is too long (%(length)s characters; at most %(most)s).",
            length=len(text),
            most=MAX_QUERY_CHARS,
        )
    parser = _Parser(_lex(text))
    root = parser.group(TEXT_FIELDS, closing=False)
    root, filters, excluded = _split_filters(root)
    if not _has_positive(root) and not filters:
        if excluded or root.clauses:
            raise QueryError("Add words to search for: NOT and - only exclude, as in: heat NOT wave.")
        raise QueryError("Type something to search for.")
    return ParsedQuery(root, tuple(filters), tuple(excluded), parser.plain)


def _split_filters(root: Group) -> tuple[Group, list[Filter], list[Filter]]:
    """Filters at the top level (alone or in an AND chain) restrict the whole query.

    ``heat source:okaz`` and ``heat AND lang:ar`` both mean "heat, among those documents";
    inside parentheses or an OR a filter would mean something else for each branch, so
    it is refused there with a message saying where to put it.
    """
    kept, filters, excluded = [], [], []

    def take(clause: Clause) -> bool:
        if not isinstance(clause.node, Filter):
            return False
        (excluded if clause.occur is Occur.MUST_NOT else filters).append(clause.node)
        return True

    for clause in root.clauses:
        if take(clause):
            continue
        if isinstance(clause.node, And):
            parts = tuple(part for part in clause.node.parts if not take(part))
            if not parts:
                continue
            clause = Clause(clause.occur, And(parts) if len(parts) > 1 else parts[0].node)
            if len(parts) == 1 and parts[0].occur is not Occur.SHOULD:
                clause = parts[0]
        _refuse_nested_filters(clause.node)
        kept.append(clause)
    return Group(tuple(kept)), filters, excluded


def _refuse_nested_filters(node: Node) -> None:
    for leaf in _leaves(node):
        if isinstance(leaf, Filter):
            raise QueryError(
                "'%(field)s:' filters the whole query: put it outside parentheses and AND/OR, as in: heat %(example)s.",
                field=leaf.name,
                example=_field_example(leaf.name),
            )


def _has_positive(node: Node) -> bool:
    if isinstance(node, Group):
        return any(c.occur is not Occur.MUST_NOT and _has_positive(c.node) for c in node.clauses)
    if isinstance(node, And):
        return any(c.occur is not Occur.MUST_NOT and _has_positive(c.node) for c in node.parts)
    return True


_SYNTAX_CHARS = re.compile(r'["()*~:+\-\[\]{}]|\b(?:AND|OR|NOT|TO)\b')


def plain_text(text: str) -> str:
    """``text`` with every query-syntax character and operator removed: plain words only.

    For judged questions (``fahras eval``) and anything else that must be read as words,
    never as operators: a question mark or a colon in a question is not syntax.
    """
    without = _SYNTAX_CHARS.sub(lambda m: m.group(0).lower() if m.group(0).isalpha() else " ", text)
    return " ".join(without.split())
