"""The query language's parser: what each piece of syntax means, and what it refuses."""

from __future__ import annotations

from datetime import datetime

import pytest

from search.syntax import (
    And,
    Clause,
    Filter,
    Fuzzy,
    Group,
    Occur,
    Phrase,
    Prefix,
    QueryError,
    Words,
    parse,
    plain_text,
)

SHOULD, MUST, NOT = Occur.SHOULD, Occur.MUST, Occur.MUST_NOT


def clauses(text: str) -> list[tuple[Occur, object]]:
    return [(clause.occur, clause.node) for clause in parse(text).root.clauses]


def test_words_are_or_ed() -> None:
    assert clauses("heat wave") == [(SHOULD, Words("heat")), (SHOULD, Words("wave"))]
    assert clauses("heat OR wave") == clauses("heat wave")
    assert parse("heat OR wave") == parse("heat wave")  # OR is what a space means, ranking included
    assert parse("heat wave source:okaz").plain and not parse("heat AND wave").plain


@pytest.mark.parametrize("text", ["heat NOT wave", "heat -wave", "heat OR NOT wave"])
def test_not_and_minus_exclude_from_their_group(text: str) -> None:
    assert clauses(text) == [(SHOULD, Words("heat")), (NOT, Words("wave"))]


def test_plus_requires() -> None:
    assert clauses("+heat wave") == [(MUST, Words("heat")), (SHOULD, Words("wave"))]


def test_and_binds_tighter_than_or() -> None:
    chain = And((Clause(SHOULD, Words("heat")), Clause(SHOULD, Words("wave"))))
    assert clauses("heat AND wave OR drought") == [(SHOULD, chain), (SHOULD, Words("drought"))]
    assert clauses("heat AND NOT wave") == [
        (SHOULD, And((Clause(SHOULD, Words("heat")), Clause(NOT, Words("wave")))))
    ]


def test_a_hyphen_inside_a_word_is_text() -> None:
    assert clauses("COVID-19 al-Qaeda") == [(SHOULD, Words("COVID-19")), (SHOULD, Words("al-Qaeda"))]


def test_groups_nest() -> None:
    inner = Group((Clause(SHOULD, Words("heat")), Clause(SHOULD, Words("drought"))))
    assert clauses("(heat OR drought) -winter") == [(SHOULD, inner), (NOT, Words("winter"))]


def test_phrases_with_slop_and_fields() -> None:
    assert clauses('"minister of foreign affairs"~2') == [(SHOULD, Phrase("minister of foreign affairs", 2))]
    assert clauses('title:"a b"') == [(SHOULD, Phrase("a b", 0, ("title",)))]
    assert clauses("title:(a b)") == [
        (SHOULD, Group((Clause(SHOULD, Words("a", ("title",))), Clause(SHOULD, Words("b", ("title",))))))
    ]


def test_prefix_and_fuzzy_terms() -> None:
    assert clauses("انتخ* government~ word~2") == [
        (SHOULD, Prefix("انتخ")),
        (SHOULD, Fuzzy("government", 1)),
        (SHOULD, Fuzzy("word", 2)),
    ]


def test_filters_restrict_the_whole_query() -> None:
    parsed = parse("heat source:okaz -lang:en date:2015-07")
    assert clauses("heat source:okaz") == [(SHOULD, Words("heat"))]
    assert parsed.filters == (
        Filter("source", value="okaz"),
        Filter("date", start=datetime(2015, 7, 1), end=datetime(2015, 7, 31, 23, 59, 59, 999999)),
    )
    assert parsed.excluded == (Filter("lang", value="en"),)
    assert parse("heat AND lang:ar").filters == (Filter("lang", value="ar"),)


def test_date_ranges_and_open_ends() -> None:
    both = parse("date:[2015-07-01 TO 2015-08]").filters[0]
    assert (both.start, both.end) == (datetime(2015, 7, 1), datetime(2015, 8, 31, 23, 59, 59, 999999))
    assert parse("date:[* TO 2015]").filters[0].start is None
    assert parse("x date:2016-02").filters[0].end.day == 29  # a leap year's February


def test_text_that_only_looks_like_syntax_is_text() -> None:
    assert clauses("Note: hello") == [(SHOULD, Words("Note:")), (SHOULD, Words("hello"))]
    assert clauses("https://example.com/a") == [(SHOULD, Words("https://example.com/a"))]
    assert clauses("and or not") == [(SHOULD, Words("and")), (SHOULD, Words("or")), (SHOULD, Words("not"))]
    assert clauses("what? ما؟") == [(SHOULD, Words("what?")), (SHOULD, Words("ما؟"))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type something"),
        ("x" * 1001, "too long"),
        ("AND", "needs words on both sides"),
        ("heat AND", "needs words on both sides"),
        ("OR heat", "needs words on both sides"),
        ("heat OR", "needs words on both sides"),
        ("heat NOT", "a word to exclude"),
        ("NOT wave", "only exclude"),
        ("-wave", "only exclude"),
        ("NOT a AND NOT b", "only exclude"),
        ("NOT NOT x", "a word to exclude"),
        ("+-x", "cannot be combined"),
        ('"open', "unmatched quote"),
        ("(x", "without a matching ')'"),
        ("x)", "without a matching '('"),
        ("()", "is empty"),
        ("(" * 21 + "x" + ")" * 21, "more than 20 deep"),
        ("a*", "at least 2 letters"),
        ("*", "at least 2 letters"),
        ("x~3", "1 or 2 edits"),
        ('"a b"~21', "at most 20"),
        ("path:x", "Unknown field 'path:'"),
        ("title:source:x", "needs something after it"),
        ("x OR (source:y)", "filters the whole query"),
        ("lang:fr x", "one of ar, en, mixed"),
        ("date:yesterday", "write a date as"),
        ("date:2015-13", "write a date as"),
        ("date:[2016 TO 2015]", "ends before it starts"),
        ("date:[2015-01-01]", "write a range as"),
        ("body:[a TO b]", "ranges work on dates only"),
    ],
)
def test_what_cannot_mean_anything_says_what_to_type(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_plain_text_neutralises_every_piece_of_syntax() -> None:
    text = 'title:"a b" AND (c OR -d) +e f* g~2 date:[2015 TO 2016]'
    plain = plain_text(text)
    assert plain == "title a b and c or d e f g 2 date 2015 to 2016"
    assert parse(plain).plain
