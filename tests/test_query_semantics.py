"""The query language means what was typed: NOT excludes, phrases are phrases, pages add up.

Each test drives a face a user has (``fahras search --json`` through the CLI's ``main``,
or ``/api/search`` through Flask's test client), on corpora written here and, where a
bug only shows at scale, on a few thousand SaudiNewsNet articles from ../shared/data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fahras_cli import main
from index.generations import rebuild
from index.store import IndexHome
from search import budget
from search.engine import SearchEngine
from web import create_app

from .conftest import index_of, news_index, shared, write_corpus

NEWS = {
    "politics/resignation.txt": "Minister resigned after the vote\n\nThe minister resigned on Monday after "
    "losing a vote in parliament over the port budget.",
    "politics/visit.txt": "Minister visits the port\n\nThe minister of foreign affairs visited the port and "
    "praised the workers.",
    "politics/scattered.txt": "A long day\n\nThe minister spoke first. Much later, in a foreign city, the "
    "talk turned to trade affairs.",
    "weather/heatwave.txt": "Heat wave grips the coast\n\nA heat wave pushed temperatures past forty degrees.",
    "weather/heat.txt": "Kitchen heat\n\nBakers work in the heat of the ovens all night.",
    "sport/final.txt": "They won the championship\n\nThe team won the championship after a long season.",
    "sport/government.txt": "Stadium plans\n\nThe government approved the stadium plans.",
    "ar/kharijia.txt": "بيان وزارة الخارجية\n\nأصدرت وزارة الخارجية بيانا حول الأراضي الفلسطينية، وقال "
    "لوزير الخارجية مستشاروه إن فلسطين المحتلة تنتظر حلا.",
    "ar/baladia.txt": "بلدية الرياض\n\nأعلنت بلدية الرياض خطة لتشجير الأحياء، وكشفت الحكومة عن خطة للنقل.",
    "ar/metro.txt": "مترو الرياض\n\nاقترب تشغيل مترو الرياض بعد اكتمال المحطات في الرياض.",
    "ar/riyadh.txt": "الرياض تستضيف معرضا\n\nتستضيف الرياض معرض الكتاب هذا الأسبوع.",
    "ar/egypt.txt": "زيارة إلى مصر\n\nسافر الوفد إلى مصر أمس.",
    "ar/egypt2.txt": "أخبار ومصر\n\nوصل الوفد بمصر وقال إن لمصر دورا كبيرا.",
    "ar/elections.txt": "الانتخابات البلدية\n\nبدأت الانتخابات في المدن، وشارك المواطنون في الانتخابات.",
    "ar/tech.txt": "التكنولوجيا في المدارس\n\nتدخل التكنولوجيا الفصول الدراسية.",
    "ar/iphone.jsonl": json.dumps(
        {
            "id": "iphone-ar",
            "title": "iPhone الجديد في الأسواق",
            "text": "iPhone الجديد يصل إلى الأسواق.",
            "lang": "ar",
        },
        ensure_ascii=False,
    ),
}


@pytest.fixture(scope="module")
def news_home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return index_of(tmp_path_factory, "news", NEWS)


@pytest.fixture(scope="module")
def client(news_home: IndexHome):
    return create_app({"INDEX_DIR": str(news_home.path), "TESTING": True}).test_client()


def api(client, **params) -> tuple[int, dict]:
    response = client.get("/api/search", query_string=params)
    return response.status_code, response.get_json()


def ids(client, query: str, **params) -> list[str]:
    status, data = api(client, q=query, size=100, **params)
    assert status == 200, data
    return [hit["id"] for hit in data["hits"]]


def cli_json(capsys, home: IndexHome, query: str, *options: str) -> tuple[int, dict | str]:
    code = main(["search", "--index", str(home.path), "--json", *options, "--", query])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else err)


# ------------------------------------------------------------------ boolean operators


@pytest.mark.parametrize(
    "query", ["minister NOT resigned", "minister -resigned", "minister AND NOT resigned"]
)
def test_not_and_minus_exclude(client, query: str) -> None:
    found = ids(client, query)
    assert "politics/resignation.txt" not in found
    assert {"politics/visit.txt", "politics/scattered.txt"} <= set(found)


def test_not_keeps_the_other_words(client) -> None:
    assert ids(client, "heat NOT wave") == ["weather/heat.txt"]
    assert ids(client, "الرياض -مترو") and "ar/metro.txt" not in ids(client, "الرياض -مترو")


def test_plus_requires_a_word(client) -> None:
    assert set(ids(client, "+heat ovens")) == {"weather/heatwave.txt", "weather/heat.txt"}
    assert set(ids(client, "heat ovens")) == {"weather/heatwave.txt", "weather/heat.txt"}
    assert ids(client, "+ovens heat") == ["weather/heat.txt"]


@pytest.mark.parametrize("query", ["NOT wave", "-wave"])
def test_exclusions_alone_say_what_to_type(capsys, client, news_home: IndexHome, query: str) -> None:
    code, message = cli_json(capsys, news_home, query)
    assert code == 2 and "as in" in message and message.count("\n") == 1
    status, data = api(client, q=query)
    assert status == 400 and "as in" in data["error"]


@pytest.mark.parametrize(
    ("query", "searched"), [("heat AND", "heat and"), ("OR heat", "or heat"), ("heat NOT", "heat not")]
)
def test_dangling_operators_are_searched_as_the_words_typed(
    capsys, client, news_home: IndexHome, query: str, searched: str
) -> None:
    code, printed = cli_json(capsys, news_home, query)
    assert (
        code == 0 and printed["notice"]["kind"] == "plain_text" and printed["notice"]["searched"] == searched
    )
    status, data = api(client, q=query)
    assert status == 200 and data["notice"]["searched"] == searched
    assert data["total"] == api(client, q="heat")[1]["total"]  # and, or, not: stop words once plain


@pytest.mark.parametrize("query", ["AND", "OR", "NOT"])
def test_an_operator_alone_is_a_stop_word(client, query: str) -> None:
    status, data = api(client, q=query)
    assert status == 200 and data["total"] == 0 and data["notice"]["kind"] == "stop_words"


# ------------------------------------------------------------------ long queries, pages, totals


def test_long_queries_keep_every_word(client) -> None:
    alone = ids(client, "مصر")
    every = ids(client, "مصر OR ومصر OR بمصر OR لمصر")
    assert set(alone) <= set(every) and "ar/egypt2.txt" in every
    three = set(ids(client, "minister OR football OR الحكومة"))
    assert three <= set(ids(client, "minister OR وزارة OR football OR الحكومة"))


@pytest.fixture(scope="module")
def snn_home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """2,000 SaudiNewsNet articles (skipped without the shared data)."""
    return news_index(tmp_path_factory, 2000)


@pytest.fixture(scope="module")
def snn(snn_home: IndexHome):
    return create_app({"INDEX_DIR": str(snn_home.path), "TESTING": True}).test_client()


@pytest.mark.parametrize("query", ["المملكة العربية السعودية", "الرياض AND NOT مترو", "وزير الخارجية", "كرة"])
def test_pages_are_slices_of_one_order(snn, query: str) -> None:
    _, big = api(snn, q=query, size=100)
    pages = [api(snn, q=query, page=page, size=10)[1] for page in range(1, 11)]
    walked = [hit["id"] for page in pages for hit in page["hits"]]
    assert walked == [hit["id"] for hit in big["hits"]]
    assert len(set(walked)) == len(walked)
    totals = {big["total"]} | {page["total"] for page in pages} | {api(snn, q=query, size=50)[1]["total"]}
    assert len(totals) == 1 and big["total_exact"]


def test_the_last_page_ends_the_matches_and_keeps_the_total(snn) -> None:
    _, first = api(snn, q="الرياض", size=10)
    last = -(-first["total"] // 10)
    _, end = api(snn, q="الرياض", page=last, size=10)
    _, past = api(snn, q="الرياض", page=last + 1, size=10)
    assert 1 <= len(end["hits"]) <= 10 and past["hits"] == [] and past["total"] == first["total"]
    page = snn.get("/", query_string={"q": "الرياض", "page": last + 5}).get_data(as_text=True)
    assert 'id="past-end"' in page and f"{first['total']:,}" in page


def test_every_match_of_a_long_question_counts(snn) -> None:
    question = "ما هي المدينة التي استضافت معرض الكتاب الدولي هذا العام في المملكة"
    _, data = api(snn, q=question, size=1, fold=0)  # every match, near-duplicates included
    words = [word for word in question.split() if api(snn, q=word, size=1)[1]["total"]]
    union = set()
    for word in words:
        page, found = 1, None
        while found is None or found["hits"]:
            found = api(snn, q=word, page=page, size=100, fold=0)[1]
            union |= {hit["id"] for hit in found["hits"]}
            page += 1
    assert data["total"] == len(union)


# ------------------------------------------------------------------ phrases


@pytest.mark.parametrize(
    "phrase",
    ['"وزارة الخارجية"', '"فلسطين المحتلة"', '"بلدية الرياض"', '"لوزير الخارجية"', '"الحكومة عن خطة"'],
)
def test_arabic_phrases_match_the_text_that_holds_them(client, phrase: str) -> None:
    expected = "ar/baladia.txt" if "بلدية" in phrase or "خطة" in phrase else "ar/kharijia.txt"
    assert ids(client, phrase) == [expected]


def test_phrases_keep_the_place_of_stop_words(client) -> None:
    assert ids(client, '"minister of foreign affairs"') == ["politics/visit.txt"]  # not scattered.txt
    assert ids(client, '"won the championship"') == ["sport/final.txt"]
    assert ids(client, '"minister foreign"') == []  # "of" stands between them
    assert ids(client, '"minister foreign"~1') == ["politics/visit.txt"]


# ------------------------------------------------------------------ fuzzy and prefix


@pytest.mark.parametrize(
    ("query", "expected"),
    [("government~", "sport/government.txt"), ("goverment~", "sport/government.txt"),
     ("الحكومة~", "ar/baladia.txt"), ("انتخابات~", "ar/elections.txt"), ("الانتخ*", "ar/elections.txt"),
     ("الحكو*", "ar/baladia.txt"), ("التكنو*", "ar/tech.txt")],
)  # fmt: skip
def test_fuzzy_and_prefix_terms_are_analysed_like_the_index(client, query: str, expected: str) -> None:
    assert expected in ids(client, query)


def test_expansions_are_bounded_with_a_clear_message(snn) -> None:
    for query in ("ال*", "مح* ال* وا* ام*", "ال~2"):
        status, data = api(snn, q=query)
        assert status == 400 and "narrow" in data["error"]


def test_fuzzy_terms_per_query_are_bounded(client) -> None:
    status, data = api(client, q=" ".join(f"word{n}~" for n in range(6)))
    assert status == 400 and "at most 5 fuzzy" in data["error"]


def test_a_query_over_its_time_is_stopped_with_a_message(client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "QUERY_SECONDS", 0.0)
    status, data = api(client, q="minister OR heat OR الرياض")
    assert status == 400 and "took too long" in data["error"]
    monkeypatch.undo()
    assert api(client, q="minister OR heat OR الرياض")[0] == 200


# ------------------------------------------------------------------ filters and sorting


def test_filters_without_matching_documents_give_no_hits(capsys, client, news_home: IndexHome) -> None:
    assert api(client, q="minister", source="nonexistent")[1]["total"] == 0
    assert api(client, q="minister", lang="mixed")[1]["total"] == 0
    code, data = cli_json(capsys, news_home, "minister", "--lang", "mixed")
    assert code == 0 and data["total"] == 0
    code, data = cli_json(capsys, news_home, "minister", "--source", "politics")
    assert code == 0 and data["total"] == 3


def test_filters_in_the_query_text(client) -> None:
    assert set(ids(client, "minister source:politics")) == {"politics/resignation.txt", "politics/visit.txt",
                                                           "politics/scattered.txt"}  # fmt: skip
    assert ids(client, "minister source:sport") == []
    assert ids(client, "iPhone lang:ar") == ["iphone-ar"]
    assert ids(client, "iPhone lang:en") == []
    status, data = api(client, q="path:x")
    assert status == 400 and "source:" in data["error"] and "title:" in data["error"]
    status, data = api(client, q="inventory:/home*")
    assert status == 400


def test_date_sort_puts_undated_documents_last(capsys, snn_home: IndexHome, tmp_path: Path) -> None:
    code, data = cli_json(capsys, snn_home, "الرياض", "--sort", "date", "--limit", "100")
    dates = [hit["date"] for hit in data["hits"]]
    assert code == 0 and None not in dates and dates == sorted(dates, reverse=True)
    folder = write_corpus(tmp_path / "mixed", {"a.jsonl": "\n".join(json.dumps(r) for r in [
        {"id": "old", "text": "harbour news", "date": "2015-01-01"},
        {"id": "none", "text": "harbour news"},
        {"id": "new", "text": "harbour news", "date": "2016-01-01"}])})  # fmt: skip
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    code, data = cli_json(capsys, home, "harbour", "--sort", "date")
    assert [hit["id"] for hit in data["hits"]] == ["new", "old", "none"]
    code, data = cli_json(capsys, home, "harbour", "--from", "2015-06-01")
    assert [hit["id"] for hit in data["hits"]] == ["new"]


# ------------------------------------------------------------------ help on weak results


def test_a_misspelling_is_searched_as_the_word_meant(snn) -> None:
    for typed in ("الرياظ", "الرياص", "الريياض"):
        _, data = api(snn, q=typed)
        assert data["notice"] == {"kind": "spelling", "searched": "الرياض", "original": typed}
        assert data["total"] == api(snn, q="الرياض")[1]["total"]


def test_did_you_mean_stays_quiet_for_words_that_match(snn) -> None:
    _, data = api(snn, q="حفتر")
    assert data["total"] and data["suggestion"] is None and data["notice"] is None


def test_did_you_mean_for_an_unmatched_word_among_matched_ones(capsys, news_home: IndexHome) -> None:
    code, data = cli_json(capsys, news_home, "goverment stadium")
    assert code == 0 and data["suggestion"] == "government stadium"


def test_verbatim_searches_the_typed_query(snn) -> None:
    _, data = api(snn, q="الرياظ", verbatim=1)
    assert data["total"] == 0 and data["notice"] is None


@pytest.mark.parametrize(("typed", "meant"), [("hgvdhq", "الرياض"), ("hgHofhv", "الأخبار")])
def test_wrong_keyboard_layout(snn, typed: str, meant: str) -> None:
    _, data = api(snn, q=typed)
    assert data["notice"] == {"kind": "keyboard", "searched": meant, "original": typed}
    assert data["total"] == api(snn, q=meant)[1]["total"] > 0


def test_wrong_keyboard_layout_from_arabic_to_english(client) -> None:
    _, data = api(client, q="اثشف")  # the keys h, e, a, t pressed with the Arabic layout on
    assert data["notice"] == {"kind": "keyboard", "searched": "heat", "original": "اثشف"}
    assert data["total"] == 2


def test_keyboard_layout_never_fires_on_real_queries(snn_home: IndexHome) -> None:
    queries = []
    for name in ("saudinewsnet", "english-news"):
        lines = shared(name, "queries.short.tsv").read_text(encoding="utf-8").splitlines()
        queries += [line.split("\t", 1)[1] for line in lines if "\t" in line]
    assert len(queries) == 1500
    engine = SearchEngine.at(snn_home)
    notices = [engine.search(query, suggest=True, snippets=False).notice for query in queries]
    assert [n for n in notices if n and n.kind == "keyboard"] == []


def test_stop_words_alone_say_why_nothing_was_searched(capsys, client, news_home: IndexHome) -> None:
    for query in ("the", "في", "لا"):
        status, data = api(client, q=query)
        assert status == 200 and data["total"] == 0 and data["notice"]["kind"] == "stop_words"
    main(["search", "--index", str(news_home.path), "the"])
    assert "too common" in capsys.readouterr().out


# ------------------------------------------------------------------ documents


def test_json_records_without_a_source_get_their_folder(client) -> None:
    _, data = api(client, q="iPhone")
    assert data["hits"][0]["source"] == "ar"


def test_results_are_laid_out_in_the_documents_language(client) -> None:
    page = client.get("/", query_string={"q": "iPhone"}).get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in page


# ------------------------------------------------------------------ words that match nothing

ABSENT = {
    "dead-sea.txt": "البحر الميت\n\nالبحر الميت بحيرة ملحية تبلغ مساحته نحو 605 كيلومترات مربعة.",
    "red-sea.txt": "البحر الأحمر\n\nيفصل البحر الأحمر آسيا عن أفريقيا.",
    "park.txt": "حديقة جديدة\n\nتبلغ مساحة الحديقة الجديدة عشرة آلاف متر مربع.",
    "story.txt": "قصة قصيرة\n\nوجد الصياد الطائر الميت على الشاطئ.",
    **{f"notre-dame-{n}.txt": f"كاتدرائية نوتردام\n\nزار السياح كاتدرائية نوتردام في باريس، الزيارة {n}."
       for n in range(3)},
    "church.txt": "كنيسة القرية\n\nتقع كنيسة القرية قرب النهر.",
    **{f"home-{n}.txt": f"Home news\n\nThe family moved home, report {n}." for n in range(3)},
}  # fmt: skip


@pytest.fixture(scope="module")
def absent_home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return index_of(tmp_path_factory, "absent", ABSENT)


def test_a_joined_word_that_matches_nothing_searches_its_two_words(capsys, absent_home: IndexHome) -> None:
    """البحرالميت is in no document: the query also searches البحر الميت, which documents write,
    and says so; the document about the Dead Sea comes first."""
    code, data = cli_json(capsys, absent_home, "كم مساحة البحرالميت")
    assert code == 0 and data["hits"][0]["id"] == "dead-sea.txt"
    assert data["notice"] == {"kind": "spelling", "searched": "كم مساحة البحر الميت",
                              "original": "كم مساحة البحرالميت", "words": ["البحرالميت"]}  # fmt: skip
    alone = cli_json(capsys, absent_home, "البحرالميت")[1]
    assert [hit["id"] for hit in alone["hits"]][:1] == ["dead-sea.txt"]
    code = main(["search", "--index", str(absent_home.path), "--", "كم مساحة البحرالميت"])
    assert code == 0 and "'البحرالميت': no matches as typed" in capsys.readouterr().out


def test_words_that_match_are_never_rewritten(capsys, absent_home: IndexHome) -> None:
    for query in ("البحر الميت", "مساحة الحديقة", "نوتردام"):
        code, data = cli_json(capsys, absent_home, query)
        assert code == 0 and data["total"] and data["notice"] is None, query


def test_a_word_that_matches_nothing_keeps_its_meaning_with_verbatim_and_operators(
    capsys, absent_home: IndexHome
) -> None:
    """--verbatim searches what was typed; and a query with operators means exactly what it says:
    a required or quoted word that matches nothing matches nothing."""
    code, data = cli_json(capsys, absent_home, "كم مساحة البحرالميت", "--verbatim")
    typed = cli_json(capsys, absent_home, "كم مساحة")[1]
    assert code == 0 and data["notice"] is None and data["hits"] == typed["hits"]
    assert cli_json(capsys, absent_home, "كم مساحة البحرالميت")[1]["total"] > data["total"]
    for query in ("+البحرالميت", "مساحة +البحرالميت", '"البحرالميت"', "مساحة AND البحرالميت"):
        code, data = cli_json(capsys, absent_home, query)
        assert code == 0 and data["total"] == 0 and data["notice"] is None, query


def test_a_long_misspelt_word_beside_others_is_searched_as_corrected(absent_home: IndexHome) -> None:
    """نوثردام matches nothing; three documents write نوتردام, one letter away: searched too."""
    app = create_app({"INDEX_DIR": str(absent_home.path), "TESTING": True}).test_client()
    _, data = api(app, q="أين تقع كنيسة نوثردام")
    notre_dame = {f"notre-dame-{n}.txt" for n in range(3)}
    assert notre_dame <= {hit["id"] for hit in data["hits"]}
    assert not notre_dame & {hit["id"] for hit in api(app, q="أين تقع كنيسة نوثردام", verbatim=1)[1]["hits"]}
    assert data["notice"] == {"kind": "spelling", "searched": "أين تقع كنيسة نوتردام",
                              "original": "أين تقع كنيسة نوثردام", "words": ["نوثردام"]}  # fmt: skip
    # A four-letter word is one letter from many real words: hope is not taken for home.
    _, data = api(app, q="hope family")
    assert data["notice"] is None and data["suggestion"].lower() == "home family"


# ------------------------------------------------------------------ issue 23's smaller findings


def hits(client, query: str) -> list[dict]:
    status, data = api(client, q=query, size=100)
    assert status == 200, data
    return data["hits"]


def test_a_title_query_marks_the_title_and_a_body_query_does_not(client) -> None:
    titled = {hit["id"]: hit["title_html"] for hit in hits(client, "title:heat")}
    assert titled == {
        "weather/heatwave.txt": "<mark>Heat</mark> wave grips the coast",
        "weather/heat.txt": "Kitchen <mark>heat</mark>",
    }
    assert "<mark>" in hits(client, "title:الرياض")[0]["title_html"]
    assert all("<mark>" not in hit["title_html"] for hit in hits(client, "body:ovens"))


@pytest.mark.parametrize("prefix", ["الا*", "الأ*", "ال*"])
def test_a_prefix_of_stop_word_letters_is_a_prefix_like_any_other(client, prefix: str) -> None:
    status, data = api(client, q=prefix)
    assert status == 200 and data["total"] >= 1  # الانتخابات, الأراضي, ... (no "needs 2 letters")


def test_or_between_words_ranks_exactly_as_a_space(snn_home: IndexHome) -> None:
    engine = SearchEngine.at(snn_home)
    for words in (("وزارة", "الصحة"), ("مطار", "الملك"), ("كرة", "القدم")):
        spaced = engine.search(" ".join(words), size=50)
        ored = engine.search(" OR ".join(words), size=50)
        assert [(h.id, h.score) for h in ored.hits] == [(h.id, h.score) for h in spaced.hits]
        assert ored.total == spaced.total


def test_fuzzy_words_are_compared_as_written_not_as_stems(client) -> None:
    assert ids(client, "governmnt~1") == [
        "sport/government.txt"
    ]  # its stem 'governmnt' is 3 edits from 'govern'
    assert ids(client, "goverment~2")[0] == "sport/government.txt"
    assert ids(client, "goverment~2") == ids(
        client, "government"
    )  # nothing that merely shares letters with a stem


def test_date_sort_shows_each_hit_with_its_relevance_score(snn_home: IndexHome) -> None:
    engine = SearchEngine.at(snn_home)
    by_relevance = {hit.id: hit.score for hit in engine.search("وزارة الصحة", size=100).hits}
    by_date = engine.search("وزارة الصحة", size=100, sort="date").hits
    assert all(hit.score > 0 for hit in by_date)
    shared_ids = [hit for hit in by_date if hit.id in by_relevance]
    assert shared_ids and all(hit.score == by_relevance[hit.id] for hit in shared_ids)


def test_a_repeated_filter_keeps_every_value(client) -> None:
    status, both = api(client, q="minister OR الرياض OR heat", source=["politics", "weather"], size=100)
    assert status == 200 and {hit["source"] for hit in both["hits"]} == {"politics", "weather"}
    one = api(client, q="minister OR الرياض OR heat", source="politics", size=100)[1]
    assert (
        both["total"]
        == one["total"] + api(client, q="minister OR الرياض OR heat", source="weather")[1]["total"]
    )
    status, data = api(client, q="minister", lang=["en", "xx"])
    assert status == 400 and "'lang' must be one of" in data["error"]


def test_a_reversed_date_range_is_an_error_on_the_command_line(capsys, news_home: IndexHome) -> None:
    code = main(
        ["search", "--index", str(news_home.path), "minister", "--from", "2016-01-01", "--to", "2015-01-01"]
    )
    assert code == 2 and "--from must not be after --to" in capsys.readouterr().err
