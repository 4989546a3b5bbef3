"""Snippets mark the words that matched, as written, in escaped text."""

from __future__ import annotations

import gzip
import json
from itertools import islice

from index.analysis import WordTokenizer, exact_analyzer, stemmed_analyzer
from search import snippets
from search.backend import default_analysis
from search.snippets import MAX_MATCHES, _fold, lead, mark, matched_spans, snippet

from .conftest import demo_texts, shared

CHAIN = stemmed_analyzer().items[-1]  # the body field's memoised chain


def marked_words(html_text: str) -> list[str]:
    return [part.split("</mark>")[0] for part in html_text.split("<mark>")[1:]]


def unmarked(html_text: str) -> str:
    return html_text.replace("<mark>", "").replace("</mark>", "")


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
    filler, more = (" ".join(f"{letter}{number}" for number in range(60)) for letter in "xy")
    text = f"alpha once. {filler} beta and gamma together. {more} alpha again"
    spans = matched_spans(text, CHAIN, {"alpha", "beta", "gamma"})
    html_text = snippet(text, spans, width=200)
    assert not html_text.startswith("…") and html_text.endswith(" …")  # cut at its end, not at its start
    fragments = html_text.removesuffix(" …").split(" … ")
    assert len(fragments) == 2
    assert marked_words(fragments[0]) == ["alpha"]  # the first alpha, earlier in the text
    assert marked_words(fragments[1]) == ["beta", "gamma"]  # the best window


def test_a_snippet_never_shows_a_run_of_words_twice() -> None:
    """An article that repeats its sentence: the second fragment must add something, not repeat it."""
    sentence = "the minister said the budget of the health ministry will rise next year"
    filler, more = (" ".join(f"{letter}{number}" for number in range(60)) for letter in "xy")
    text = f"{sentence}. {filler} {sentence}. {more} the health budget again"
    html_text = snippet(text, matched_spans(text, CHAIN, {"health", "budget"}), width=200)
    fragments = html_text.removeprefix("… ").removesuffix(" …").split(" … ")
    runs = [
        {tuple(words[i : i + 4]) for i in range(len(words) - 3)}
        for words in (unmarked(f).split() for f in fragments)
    ]
    assert len(fragments) == 2 and not runs[0] & runs[1], fragments
    assert html_text.startswith("the minister")  # starts at the text's start: no "…" before it


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


def test_the_gate_never_drops_a_match_in_real_news() -> None:
    """The same, on SaudiNewsNet articles with their diacritics, tatweel and joiners (and English news).

    The gate runs on each text with those characters taken out and its
    matches moved back; each word found must be the word as written.
    """
    deleted = _fold(CHAIN.filters).deleted
    texts = []
    for name in ("saudinewsnet", "english-news"):
        with gzip.open(shared(name, "corpus.jsonl.gz"), "rt", encoding="utf-8") as lines:
            texts += [
                text
                for text in (json.loads(line)["text"] for line in islice(lines, 400))
                if deleted.search(text)
            ]
    assert len(texts) >= 20
    for text in texts[:40]:
        for number, (form, spans) in enumerate(brute_force_spans(text).items()):
            if number % 5 == 0 or any(deleted.search(text[start:end]) for start, end in spans):
                assert matched_spans(text, CHAIN, {form}) == spans[:MAX_MATCHES], form


def test_a_term_of_punctuation_marks_nothing() -> None:
    """An open range query expands to every term, punctuation included; no word holds it."""
    assert matched_spans("The final went to extra time.", CHAIN, {".", "time"}) == [(24, 28)]


def test_a_long_text_without_spaces_is_one_pass() -> None:
    """Every gate match in a text with no spaces finds its word without rescanning the text."""
    text = "خالد،" * 20_000 + "الخالدون" + ",xa" * 20_000
    assert matched_spans(text, CHAIN, {"خالد"}) == brute_force_spans(text)["خالد"][:400]
    assert matched_spans(text, CHAIN, {"xab"}) == []


def _changed_by_the_chain(char: str) -> list[str]:
    """Words holding ``char`` (Arabic and Latin) whose analysis changes or drops it: a rule applies."""
    found = []
    for word in (f"كت{char}اب", f"wor{char}king"):
        if WordTokenizer.spans(word) == [(0, len(word))] and any(
            char not in form for form in CHAIN.analyze(word)
        ):
            found.append(word)
    return found


def test_the_gate_follows_every_character_rule() -> None:
    """Every character of the BMP that the chain changes inside a word, found by running the chain.

    The characters are not listed from the filters' own maps, so a rule
    added to index/analysis.py with its map left out or wrong fails here
    (its words would go unmarked), without this test being touched.
    """
    words = [word for code in range(0x10000) for word in _changed_by_the_chain(chr(code))]
    assert len(words) > 1000  # marks, tatweel, alef forms, capitals, accents, digits, presentation forms...
    for word in words:
        for form in CHAIN.analyze(word):
            assert matched_spans(word, CHAIN, {form}) == [(0, len(word))], (word, form)


def test_the_default_chains_take_the_fast_path() -> None:
    """Every filter of the stemmed and exact chains declares its character rule, so snippets use the gate.

    A filter that declares none (the root stemmer) is never wrong, but sends
    every snippet through the analysis of every word.
    """
    assert _fold(CHAIN.filters) is not None
    assert _fold(exact_analyzer().items[-1].filters) is not None
    assert _fold(stemmed_analyzer("isri").items[-1].filters) is None


def test_a_word_longer_than_the_gate_is_still_marked() -> None:
    """The gate looks for a stem's first letters only; the word itself is still checked whole."""
    word = "pneumonoultramicroscopicsilicovolcanoconiosis"  # 45 letters, past GATE_LETTERS
    near = word[:30] + "x" * 15  # shares the gate's letters, not the word
    text = f"rare {word} and {near} words"
    spans = matched_spans(text, CHAIN, set(CHAIN.analyze(word)))
    assert marked_words(mark(text, spans)) == [word]


def test_the_character_fold_kept_on_disk_is_the_one_derived(tmp_path, monkeypatch) -> None:
    """Every `fahras search` reads the fold from the cache folder; it must be exactly the derived one, and a
    damaged file is derived again rather than trusted."""
    monkeypatch.setenv("FAHRAS_CACHE", str(tmp_path))
    filters = default_analysis().stem.filters
    derived = vars(snippets._derived_fold(filters))  # eq=False: compared field by field
    for _attempt in ("written", "read back"):
        snippets._fold.cache_clear()
        assert vars(snippets._fold(filters)) == derived
    (kept,) = (tmp_path / "snippets").glob("fold-*.pickle")
    kept.write_bytes(b"not a pickle")
    snippets._fold.cache_clear()
    assert vars(snippets._fold(filters)) == derived
    snippets._fold.cache_clear()
