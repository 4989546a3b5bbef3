"""Each analysis filter alone, then the chains, with real Arabic and English."""

from __future__ import annotations

import gzip
import json
import pickle
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import (
    ALL_SCRIPTS,
    ArabicLightStemmer,
    ArabicPresentationForms,
    AsciiDigits,
    CachedChain,
    DaggerAlef,
    EnglishStemmer,
    FoldAccents,
    FoldAlef,
    FoldHamzaCarriers,
    FoldTehMarbuta,
    FoldYeh,
    Lowercase,
    StripDiacritics,
    StripFormatChars,
    StripPossessive,
    StripTatweel,
    TanweenAlef,
    WordTokenizer,
    exact_analyzer,
    script_of,
    stemmed_analyzer,
    stop_filters,
)
from index.schema import build_schema

from .conftest import demo_texts, shared


def words(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text)]


@pytest.mark.parametrize(
    ("flt", "given", "expected"),
    [
        (StripDiacritics(), "كَتَبَ", "كتب"),
        (StripDiacritics(), "مُرْضِيَةٌ", "مرضيه".replace("ه", "ة")),
        (StripDiacritics(), "الرَّحْمَٰن", "الرحمن"),  # shadda, sukun and dagger alef
        (StripDiacritics(), "ذَٰلِكَ", "ذلك"),
        (StripTatweel(), "جـــميل", "جميل"),
        (FoldAlef(), "أحمد", "احمد"),
        (FoldAlef(), "إسلام", "اسلام"),
        (FoldAlef(), "آمن", "امن"),
        (FoldAlef(), "ٱلله", "الله"),
        (FoldHamzaCarriers(), "مؤتمر", "موتمر"),
        (FoldHamzaCarriers(), "رئيس", "رييس"),
        (FoldYeh(), "مستشفى", "مستشفي"),
        (FoldYeh(), "کتاب", "كتاب"),  # Persian keheh
        (FoldYeh(), "فارسی", "فارسي"),  # Persian yeh
        (FoldTehMarbuta(), "مدرسة", "مدرسه"),
        (TanweenAlef(), "أمطاراً", "أمطار"),
        (TanweenAlef(), "دوراً", "دور"),
        (TanweenAlef(), "شكرًا", "شكر"),  # tanween written before the alef
        (TanweenAlef(), "كتبا", "كتبا"),  # a dual verb without tanween keeps its alef
        (DaggerAlef(), "ٱلْكِتَٰبُ", "ٱلْكِتَابُ"),
        (DaggerAlef(), "عَلَىٰ", "عَلَى"),  # over alef maqsura it repeats the long vowel
        (ArabicPresentationForms(), "ﺍﻟﺴﻼﻡ", "السلام"),
        (ArabicPresentationForms(), "ﻻ", "لا"),
        (StripFormatChars(), "مي\u200cخواهم", "ميخواهم"),
        (StripFormatChars(), "مدر\u00adسة", "مدرسة"),  # soft hyphen
        (StripFormatChars(), "Wiki\ufeffpedia", "Wikipedia"),  # a stray BOM
        (AsciiDigits(), "٢٠٢٤", "2024"),
        (AsciiDigits(), "۱۴۰۲", "1402"),
        (Lowercase(), "KHALIFA", "khalifa"),
        (FoldAccents(), "café", "cafe"),
        (FoldAccents(), "müller", "muller"),
        (StripPossessive(), "tesla's", "tesla"),
        (EnglishStemmer(), "running", "run"),
        (EnglishStemmer(), "elections", "elect"),
    ],
)
def test_filter_alone(flt, given: str, expected: str) -> None:
    assert flt.rewritten(given) == expected


def test_script_filters_leave_other_scripts_alone() -> None:
    assert Lowercase().forms_of("أحمد") == ("أحمد",)
    assert FoldAlef().forms_of("Ahmad") == ("Ahmad",)
    assert EnglishStemmer().forms_of("المدارس") == ("المدارس",)
    assert ArabicLightStemmer().forms_of("running") == ("running",)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("الانتخابات", "انتخاب"),
        ("والانتخابات", "انتخاب"),
        ("انتخابات", "انتخاب"),
        ("بالمدرسه", "مدرس"),
        ("للطلاب", "طلاب"),
        ("كالعاده", "عاد"),
        ("فالمدينه", "مدين"),
        ("المعلمون", "معلم"),
        ("المسلمين", "مسلم"),
        ("كتابها", "كتاب"),
    ],
)
def test_light_stemmer_strips_article_and_suffix(word: str, stem: str) -> None:
    assert ArabicLightStemmer().forms_of(word) == (stem,)


@pytest.mark.parametrize("word", ["موسكو", "حفتر", "ولد", "بيت", "الله", "لبن", "عنوان", "ايران"])
def test_light_stemmer_guards_short_words(word: str) -> None:
    assert ArabicLightStemmer().forms_of(word) == (word,)


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("وتابعت", ("وتابعت", "تابعت")),
        ("لكاليفورنيا", ("لكاليفورنيا", "يفورنيا")),  # كاليفورنيا stems to يفورنيا too
        ("بترجمه", ("بترجم", "ترجم")),
        ("وزيره", ("وزير", "زير")),  # وزيرة reads both ways; its own stem comes first
        ("وزير", ("وزير", "زير")),
        ("ومصر", ("ومصر", "مصر")),  # three letters after the proclitic
        ("فقال", ("فقال", "قال")),
    ],
)
def test_single_proclitic_gives_a_second_form(word: str, forms: tuple[str, ...]) -> None:
    assert ArabicLightStemmer().forms_of(word) == forms


@pytest.mark.parametrize(("word", "stem"), [("فكره", "فكر"), ("لجنه", "لجن"), ("وحده", "وحد")])
def test_a_three_letter_feminine_noun_takes_no_proclitic(word: str, stem: str) -> None:
    assert ArabicLightStemmer().forms_of(word) == (stem,)  # فكرة is not ف + كرة (ball)


@pytest.mark.parametrize(
    ("bare", "with_proclitic"),
    [
        ("مصر", "ومصر"),
        ("مصر", "بمصر"),
        ("مصر", "لمصر"),
        ("قال", "وقال"),
        ("قال", "فقال"),
        ("كاليفورنيا", "لكاليفورنيا"),  # the remainder is stemmed like the bare word (كال...)
    ],
)
def test_a_proclitic_word_meets_the_bare_word(bare: str, with_proclitic: str) -> None:
    analyzer = stemmed_analyzer()
    assert set(words(analyzer, bare)) <= set(words(analyzer, with_proclitic))


@pytest.mark.parametrize(
    ("bare", "with_pronoun"),
    [("مدرسة", "مدرستها"), ("سيارة", "سيارتي"), ("حكومة", "حكومتهم"), ("سيارة", "سياراتها")],
)
def test_teh_marbuta_before_a_pronoun_meets_the_bare_word(bare: str, with_pronoun: str) -> None:
    analyzer = stemmed_analyzer()
    assert set(words(analyzer, bare)) <= set(words(analyzer, with_pronoun))


@pytest.mark.parametrize("word", ["بيتها", "صوته", "وقتهم"])
def test_a_stem_letter_teh_is_kept_before_a_pronoun(word: str) -> None:
    assert ArabicLightStemmer().forms_of(word)[0] == word[:3]  # بيت، صوت، وقت: no shorter reading
    assert all(len(form) >= 3 for form in ArabicLightStemmer().forms_of(word))


def test_second_forms_can_be_turned_off() -> None:
    assert ArabicLightStemmer(variants=False).forms_of("وتابعت") == ("وتابعت",)


def test_both_forms_share_a_position() -> None:
    tokens = [(t.text, t.pos) for t in stemmed_analyzer()("قال لكاليفورنيا", positions=True)]
    assert tokens == [("قال", 0), ("لكاليفورنيا", 1), ("يفورنيا", 1)]


def test_stop_words_are_matched_after_normalisation() -> None:
    arabic, english = stop_filters()
    assert arabic.forms_of("الي") == ()  # إلى after normalisation
    assert arabic.forms_of("التي") == ()
    assert arabic.forms_of("كتاب") == ("كتاب",)
    assert english.forms_of("which") == ()
    assert english.forms_of("telescope") == ("telescope",)


def test_tokenizer_keeps_diacritics_inside_words() -> None:
    tokens = [t.text for t in WordTokenizer()("كَتَبَ الطالبُ الدرسَ")]
    assert tokens == ["كَتَبَ", "الطالبُ", "الدرسَ"]


def test_tokenizer_splits_underscores_and_keeps_apostrophes() -> None:
    tokens = [t.text for t in WordTokenizer()("Super_Bowl_50 Tesla's")]
    assert tokens == ["Super", "Bowl", "50", "Tesla's"]


def test_arabic_letters_glued_to_digits_or_latin_letters_are_separate_words() -> None:
    tokens = [t.text for t in WordTokenizer()("أبولو11 عام 2019م و٢٠٢٠م بالـiPhone قمة G20 mp3")]
    assert tokens == [
        "أبولو", "11", "عام", "2019", "م", "و", "٢٠٢٠", "م", "بالـ", "iPhone", "قمة", "G20", "mp3",
    ]  # fmt: skip
    analyzer = stemmed_analyzer()
    assert words(analyzer, "مهمة أبولو11")[-2:] == words(analyzer, "أبولو 11")
    assert "2019" in words(analyzer, "في عام 2019م")


def test_script_detection() -> None:
    assert script_of("كتاب") == "arabic"
    assert script_of("book") == "latin"
    assert script_of("2024") == "other"
    assert script_of("ﻻ") == "arabic"


def test_offsets_point_into_the_original_text() -> None:
    text = "اجتمع حفتر مع لافروف، وقال إن «الأَزْمَةَ» ستُحل. KHALIFA HAFTER ٢٠١٧"
    for token in stemmed_analyzer()(text, chars=True):
        original = text[token.startchar : token.endchar]
        assert original.strip() == original and original
    marked = {text[t.startchar : t.endchar]: t.text for t in stemmed_analyzer()(text, chars=True)}
    assert marked["الأَزْمَةَ"] == "ازم"
    assert marked["HAFTER"] == "hafter"
    assert marked["٢٠١٧"] == "2017"


def test_mixed_text_dispatches_per_token() -> None:
    text = "ناقش المؤتمر تقنيات machine learning والذكاء الاصطناعي في Running systems"
    assert words(stemmed_analyzer(), text) == [
        "ناقش", "موتمر", "تقني", "machin", "learn", "ذكاء", "اصطناع", "run", "system",
    ]  # fmt: skip


def test_spelling_variants_meet() -> None:
    analyzer = stemmed_analyzer()
    assert words(analyzer, "الأَزْمَة") == words(analyzer, "الازمه") == words(analyzer, "الأزمة")
    assert words(analyzer, "مستشفى") == words(analyzer, "مستشفي")
    assert words(analyzer, "أمطار") == words(analyzer, "أمطاراً")[:1]


@pytest.mark.parametrize("analyzer", [stemmed_analyzer(), exact_analyzer()], ids=["stemmed", "exact"])
@pytest.mark.parametrize(
    ("marked", "plain"),
    [
        ("شكراً", "شكرا"),  # tanween: the usual spelling drops the mark, not the alef
        ("مستثمرًا", "مستثمرا"),
        ("ٱلْكِتَٰبُ", "الكتاب"),  # dagger alef read as alef
        ("ٱلرَّحْمَٰنِ", "الرحمن"),  # ... or not written at all
        ("مدر\u00adسة", "مدرسة"),  # a soft hyphen inside the word
        ("\ufeffمدرسة", "مدرسة"),
    ],
)
def test_marked_spellings_meet_the_plain_ones(analyzer, marked: str, plain: str) -> None:
    assert set(words(analyzer, plain)) <= set(words(analyzer, marked))


def test_format_characters_never_split_a_word() -> None:
    assert len(list(WordTokenizer()("Wiki\u00adpedia مدر\u2060سة مدر\ufeffسة"))) == 3


def test_exact_analyzer_normalises_without_stemming() -> None:
    assert words(exact_analyzer(), "والانتخابات في الأزمة") == ["والانتخابات", "الازمه"]


def test_wildcard_terms_are_not_stemmed() -> None:
    tokens = [t.text for t in stemmed_analyzer()("الانتخابات*", tokenize=False, mode="query")]
    assert tokens == ["الانتخابات*"]


def test_stop_words_kept_as_stopped_when_asked() -> None:
    stopped = [t.stopped for t in stemmed_analyzer()("ذهب إلى السوق", removestops=False)]
    assert stopped == [False, True, False]


def test_analyzer_survives_pickling() -> None:
    analyzer = pickle.loads(pickle.dumps(stemmed_analyzer()))
    assert words(analyzer, "والانتخابات") == ["انتخاب"]


def test_isri_roots_are_nltks_own() -> None:
    """The root fields' ISRI runs with plain regexes; its roots must not change."""
    from nltk.stem.isri import ISRIStemmer

    from index.analysis import ExternalArabicStemmer

    words = [
        "والمعلمين",
        "بالانتخابات",
        "الحكومة",
        "مستشفيات",
        "يكتبون",
        "أمطار",
        "إسلامية",
        "آمال",
        "مُعلِّم",
        "سيارتها",
        "ترجمة",
        "مترجم",
    ]
    reference = ISRIStemmer()
    assert [ExternalArabicStemmer("isri").rewritten(word) for word in words] == [
        reference.stem(w) for w in words
    ]


def test_a_stray_mark_is_not_a_word() -> None:
    assert [t.text for t in stemmed_analyzer()("كتب ً قرأ ـــ")] == ["كتب", "قرا"]


def test_a_phrase_ligature_gives_its_words_at_one_position() -> None:
    tokens = [(t.text, t.pos) for t in stemmed_analyzer()("قال ﷺ", positions=True)]
    assert tokens == [("قال", 0), ("صلي", 1), ("الله", 1), ("وسلم", 1), ("سلم", 1)]


def test_the_diacritics_include_pyarabics_tashkeel() -> None:
    """pyarabic names the harakat, tanween, shadda and sukun; the stripped range holds them all."""
    from pyarabic import araby

    assert {*araby.TASHKEEL, araby.SMALL_ALEF} <= {chr(code) for code in StripDiacritics.table}


def test_ctrl_c_while_nltk_is_imported_is_not_lost(monkeypatch) -> None:
    """An optional import inside NLTK's package swallows a KeyboardInterrupt as an ImportError.

    ``fahras index`` interrupted in that second carried on and published; the
    ^C must reach the program once the import is over.
    """
    import os
    import signal

    from index import analysis

    def import_that_swallows(_name: str):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        except KeyboardInterrupt:  # what `except ImportError` around a C extension's import does to it
            pass
        return str.lower

    monkeypatch.setattr(analysis, "_load_external_stemmer", import_that_swallows)
    with pytest.raises(KeyboardInterrupt):
        analysis._external_stemmer.__wrapped__("isri")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the program's handler is back


# ---------------------------------------------------------------- a chain's folded character maps


def filter_by_filter(chain: CachedChain, word: str, verbatim: bool = False) -> tuple[str, ...]:
    """What a chain gives for a word when each of its filters is applied in turn (the unoptimised path)."""
    script = script_of(word)
    result = (word,)
    for flt in chain.filters:
        if (verbatim and flt.is_stemmer) or not (flt.scripts is ALL_SCRIPTS or script in flt.scripts):
            continue
        result = tuple(form for text in result for form in flt.forms_in_script(text))
        if not result:
            break
    return result[:1] if verbatim else result


def every_chain() -> list[CachedChain]:
    schema = build_schema()
    return [schema[name].memo_chain() for name in ("body", "body_exact", "body_root")]


def test_folding_a_chains_character_maps_never_changes_a_word() -> None:
    words = {word for text in demo_texts() for word in WordTokenizer.words(text)}
    words |= {
        "ﷺ",
        "كتابًا",
        "ٱلْكِتَٰبُ",
        "O'Neill's",
        "١٢٣",
        "ـabc",
        "مي\u200cخواهم",
        "ﺍﻟﺴﻼﻡ",
        "ً",
        "ـــ",
        "\u00adكتاب",
    }
    for chain in every_chain():
        for word in sorted(words):
            assert chain.analyze(word) == filter_by_filter(chain, word), word
            assert chain.analyze(word, verbatim=True) == filter_by_filter(chain, word, verbatim=True), word


@pytest.mark.shared_data
def test_folding_a_chains_character_maps_never_changes_a_word_of_real_news() -> None:
    with gzip.open(shared("saudinewsnet", "corpus.jsonl.gz"), "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in islice(lines, 1500)]
    words = {word for text in texts for word in WordTokenizer.words(text)}
    assert len(words) > 50_000
    for chain in every_chain():
        for word in words:
            assert chain.analyze(word) == filter_by_filter(chain, word), word


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcXYZé'’0١۴ابتةىأإآؤئًٌٍَُِّْٰـ\u200c\u00adﻻﷺ"), max_size=12))
def test_folding_a_chains_character_maps_never_changes_any_word(text: str) -> None:
    for chain in every_chain():
        for word in WordTokenizer.words(text):
            assert chain.analyze(word) == filter_by_filter(chain, word), word
