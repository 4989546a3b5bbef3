"""Messages that both the page and its script (instant results) say, in one place.

The page renders them with ``_``/``plural``; the script gets them translated
for the interface language (:func:`script_strings`), plural forms included,
so results that arrive while typing read exactly like a loaded page.
"""

from __future__ import annotations

from functools import cache

from .i18n import N_, N_plural, Translator

RESULTS_FOR = N_plural("%(num)s result for “%(query)s”", "%(num)s results for “%(query)s”")
STOP_WORDS = N_plural(
    "%(words)s is too common to search for (a stop word): add a more specific word.",
    "%(words)s are too common to search for (stop words): add more specific words.",
)

SCRIPT = {
    "took": N_("in %(ms)s ms"),
    # Translators: how long a search took when it was under a millisecond (%(ms)s is 1).
    "took_under": N_("in < %(ms)s ms"),
    "page": N_("Page %(page)s"),
    "page_of": N_("Page %(page)s of %(pages)s"),
    "previous": N_("Previous"),
    "next": N_("Next"),
    "lang_ar": N_("Arabic"),
    "lang_en": N_("English"),
    "lang_mixed": N_("Mixed"),
    "did_you_mean": N_("Did you mean %(suggestion)s?"),
    # Translators: the collapsed line that lists each query word, the form searched for it and the forms it matched.
    "searched_as": N_("Searched as"),
    # Translators: the separator between the items of a list.
    "separator": N_(", "),
    "showing": N_("Showing results for %(searched)s"),
    "keyboard": N_("(the query reads like text typed with the other keyboard layout)"),
    "instead": N_("Search instead for %(original)s"),
    "no_results": N_("No documents match “%(query)s”."),
    "past_end": N_("Page %(page)s is past the last page of results (%(pages)s)."),
    "plain_text": N_(
        "Quotes, parentheses or operators in the query did not pair up, so it was searched as plain words: %(searched)s."
    ),
    # Translators: names across scripts: "Also searched: حفتر for Haftar, موسكو for Moscow."
    "also_searched": N_("Also searched: %(names)s."),
    "also_for": N_("%(also)s for %(word)s"),
    "only_typed": N_("Search only what was typed"),
    "hit_page": N_("page %(number)s"),
    "scanned": N_("scanned"),
    "scanned_note": N_("Read from the scanned image: the text may hold recognition errors."),
    # Translators: the document page's match navigation: which match is shown, of how many ("3 of 12").
    "match_of": N_("%(current)s of %(total)s"),
    "show_folded": N_("Show them all"),
}
# A keyword query's count line: "88 results with all the words · 967 with some".
WITH_ALL = N_plural("%(num)s result with all the words", "%(num)s results with all the words")
WITH_SOME = N_plural("%(num)s with some of them", "%(num)s with some of them")
# Near-duplicates: under a hit ("2 similar results"), and on the count line with a link that shows them.
SIMILAR = N_plural("%(num)s similar result", "%(num)s similar results")
FOLDED = N_plural(
    "%(num)s near-duplicate is folded under the result it repeats.",
    "%(num)s near-duplicates are folded under the results they repeat.",
)
PLURALS = {
    "results_for": RESULTS_FOR, "stop_words": STOP_WORDS, "with_all": WITH_ALL, "with_some": WITH_SOME,
    "similar": SIMILAR, "folded": FOLDED,
}  # fmt: skip


@cache
def script_strings(lang: str) -> dict[str, object]:
    """Everything the page's script needs to say things in ``lang`` (JSON-ready)."""
    t = Translator(lang)
    return {
        "lang": lang,
        "numbering": t.numbering_system,
        "strings": {key: t.gettext(message) for key, message in SCRIPT.items()},
        "plurals": {key: t.plural_forms(*pair) for key, pair in PLURALS.items()},
    }
