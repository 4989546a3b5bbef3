"""Snippets mark the words that matched, as written, in escaped text."""

from __future__ import annotations

from index.analysis import WordTokenizer, stemmed_analyzer
from search.snippets import lead, mark, matched_spans, snippet

from .conftest import demo_texts

CHAIN = stemmed_analyzer().items[-1]  # the body field's memoised chain


def marked_words(html_text: str) -> list[str]:
    return [part.split("</mark>")[0] for part in html_text.split("<mark>")[1:]]


def test_marks_original_forms_with_clitics_and_diacritics() -> None:
    text = "جرت الانتخابات، ثم أُعلنت نتائج الإنتخابات والانتخابَاتِ البلدية."
    spans = matched_spans(text, CHAIN, {"انتخاب"})
    assert marked_words(mark(text, spans)) == ["الانتخابات", "الإنتخابات", "والانتخابَاتِ"]


def test_everything_else_is_escaped() -> None:
    text = "<b>bold</b> & a <script>alert(1)</script> election"
    html_text = snippet(text, matched_spans(text, CHAIN, {"elect"}))
    assert "<b>" not in html_text and "<script>" not in html_text
    assert "&lt;script&gt;" in html_text and html_text.endswith("<mark>election</mark>")


def test_fragments_hold_the_most_distinct_matches_in_text_order() -> None:
    filler = " ".join(["word"] * 60)
    text = f"alpha once. {filler} beta and gamma together. {filler} alpha again"
    spans = matched_spans(text, CHAIN, {"alpha", "beta", "gamma"})
    html_text = snippet(text, spans, width=200, count=2)
    fragments = html_text.split(" … ")
    assert len(fragments) == 2
    assert marked_words(fragments[0]) == ["alpha"]  # the first alpha, earlier in the text
    assert marked_words(fragments[1]) == ["beta", "gamma"]  # the best window


def test_lead_when_nothing_matched() -> None:
    assert lead("short & sweet") == "short &amp; sweet"
    long_text = "word " * 100
    assert lead(long_text, 50).endswith(" …") and len(lead(long_text, 50)) <= 52


def brute_force_spans(text: str) -> dict[str, list[tuple[int, int]]]:
    """Every indexed form of the text, with the spans of the words that yield it."""
    found: dict[str, list[tuple[int, int]]] = {}
    for start, end in WordTokenizer.spans(text):
        for form in CHAIN.analyze(text[start:end]):
            found.setdefault(form, []).append((start, end))
    return found


def test_the_gate_never_drops_a_match() -> None:
    """Every form of every word, searched alone, marks exactly the words that yield it."""
    for text in demo_texts():
        for form, spans in brute_force_spans(text).items():
            assert matched_spans(text, CHAIN, {form}) == spans, form


def test_a_term_of_punctuation_marks_nothing() -> None:
    """An open range query expands to every term, punctuation included; no word holds it."""
    assert matched_spans("The final went to extra time.", CHAIN, {".", "time"}) == [(24, 28)]


def test_a_long_text_without_spaces_is_one_pass() -> None:
    """Every gate match in a text with no spaces finds its word without rescanning the text."""
    text = "خالد،" * 20_000 + "الخالدون" + ",xa" * 20_000
    assert matched_spans(text, CHAIN, {"خالد"}) == brute_force_spans(text)["خالد"][:400]
    assert matched_spans(text, CHAIN, {"xab"}) == []
