"""Everyday searching: keyword queries, words being typed, pasted text, misspellings, snippets, the CLI.

Each behaviour on a small corpus written here, and where it only shows at
scale, on real news from ../shared/data (skipped without it).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from fahras_cli import main
from index import generations
from index.generations import rebuild
from index.schema import NEAR, build_schema
from index.store import IndexHome
from search.engine import SearchEngine
from search.notices import PLAIN_TEXT
from web import create_app

from .conftest import index_of, news_index, write_corpus

NOTES = {
    "both.txt": "Health ministry\nThe health ministry announced the new budget.",
    "both-again.txt": "Ministry of health\nA statement from the ministry about health services.",
    "health.txt": "Health, health, health\nHealth health health: health is wealth, and health again.",
    "ministry.txt": "Ministry news\nThe ministry of transport and the ministry of energy met.",
    "gov.txt": "Government plans\nThe government approved the plans.",
    "gov2.txt": "Government budget\nThe government budget was approved by parliament.",
    "gov3.txt": "A new government\nThe new government took office.",
    "governess.txt": "The governess\nThe governess looked after the children.",
    "ar.txt": "وزارة الصحة\nأعلنت وزارة الصحة عن حملة تطعيم جديدة في الرياض.",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return index_of(tmp_path_factory, "notes", NOTES)


@pytest.fixture(scope="module")
def engine(home: IndexHome) -> SearchEngine:
    return SearchEngine.at(home)


def ids(results) -> list[str]:
    return [hit.id for hit in results.hits]


# ------------------------------------------------------------------ keyword queries: all the words first


def test_documents_with_every_keyword_rank_first_and_are_counted(engine: SearchEngine) -> None:
    results = engine.search("health ministry", size=20)
    assert set(ids(results)[:2]) == {"both.txt", "both-again.txt"}  # though health.txt says health ten times
    assert results.total == 4 and results.total_all == 2
    assert engine.search("health ministry", size=1, page=3).hits[0].id in {"health.txt", "ministry.txt"}


def test_questions_and_sentences_rank_by_score_alone(engine: SearchEngine) -> None:
    assert engine.search("what is the health ministry").total_all is None  # stop words: a question
    assert engine.search("health ministry?").total_all is None
    assert engine.search("health").total_all is None  # one word: nothing to count


def test_the_count_line_says_both_numbers(home: IndexHome, capsys) -> None:
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    data = client.get("/api/search", query_string={"q": "health ministry"}).get_json()
    assert (data["total"], data["total_all"]) == (4, 2)
    page = client.get("/", query_string={"q": "health ministry"}).get_data(as_text=True)
    assert "2 results with all the words · 4 with some of them" in page
    assert main(["search", "--index", str(home.path), "health", "ministry"]) == 0  # unquoted: one query
    assert "2 with all the words, first; 4 with some of them" in capsys.readouterr().out


# ------------------------------------------------------------------ as you type


def test_the_last_word_being_typed_is_searched_as_a_prefix(engine: SearchEngine) -> None:
    assert ids(engine.search("gover")) == ["governess.txt"]  # submitted: a word, whose stem governess shares
    typed = engine.search("gover", typing=True)
    assert set(ids(typed)) == {"gov.txt", "gov2.txt", "gov3.txt", "governess.txt"}
    assert engine.search("وزا", typing=True).hits[0].id == "ar.txt"
    assert (
        engine.search("budget gover", typing=True).hits[0].id == "gov2.txt"
    )  # both words, the last one begun


def test_a_start_too_short_completes_nothing(engine: SearchEngine) -> None:
    assert engine.search("go", typing=True).total == engine.search("go").total


def test_instant_results_ask_for_the_prefix(home: IndexHome) -> None:
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    typed = client.get("/api/search", query_string={"q": "gover", "typing": "1"}).get_json()
    assert (typed["total"] == 4 and typed["next"] is None) or "typing" not in (typed["next"] or "")


# ------------------------------------------------------------------ pasted text


@pytest.mark.parametrize(
    ("pasted", "searched"),
    [('health "ministry', "health ministry"), ("health OR", "health or"), ("(health", "health"),
     ("health AND", "health and"), ("health ministry)", "health ministry")],
)  # fmt: skip
def test_broken_syntax_is_searched_as_plain_words_with_a_notice(
    home: IndexHome, engine: SearchEngine, pasted: str, searched: str
) -> None:
    results = engine.search(pasted)
    assert results.total >= 1 and results.notice.kind == PLAIN_TEXT and results.notice.searched == searched
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    assert client.get("/api/search", query_string={"q": pasted}).status_code == 200
    page = client.get("/", query_string={"q": pasted})
    assert page.status_code == 200 and 'id="plain-text"' in page.get_data(as_text=True)


def test_what_cannot_run_still_says_so(engine: SearchEngine) -> None:
    from search.syntax import QueryError

    for query in ("-health", "date:yesterday", "x" * 1001):
        with pytest.raises(QueryError):
            engine.search(query)


# ------------------------------------------------------------------ misspellings


def test_a_misspelling_that_stems_to_a_real_word_gets_a_did_you_mean(tmp_path: Path) -> None:
    notes = {f"gov-{n}.txt": f"Government note {n}\nThe government met on day {n}." for n in range(12)}
    notes["governess.txt"] = NOTES["governess.txt"]
    home = IndexHome(tmp_path / "index")
    rebuild(home, write_corpus(tmp_path / "notes", notes), show_progress=False)
    engine = SearchEngine.at(home)
    assert engine.search("goverment", suggest=True).suggestion == "government"  # 12 documents against 1
    assert engine.search("governess", suggest=True).suggestion is None  # a real word, however rare
    assert engine.search("government", suggest=True).suggestion is None


def test_a_correction_not_far_more_frequent_is_not_offered(engine: SearchEngine) -> None:
    assert engine.search("goverment", suggest=True).suggestion is None  # government: 3 documents, not 10×1


# ------------------------------------------------------------------ snippets on real news


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    """3,000 SaudiNewsNet articles: several agencies, so the same story more than once."""
    return SearchEngine.at(news_index(tmp_path_factory, 3000))


NEWS_QUERIES = ["الحكومة", "وزارة الصحة", "الرياض", "المملكة", "مجلس الوزراء", "الهلال", "النفط", "التعليم"]


def test_no_snippet_shows_a_run_of_four_words_twice_on_real_news(news: SearchEngine) -> None:
    checked = 0
    for query in NEWS_QUERIES:
        for hit in news.search(query, size=10).hits:
            words = hit.snippet.replace("<mark>", "").replace("</mark>", "").split()
            runs = [tuple(words[i : i + 4]) for i in range(len(words) - 3) if "…" not in words[i : i + 4]]
            assert len(runs) == len(set(runs)), (query, hit.id, hit.snippet)
            assert len(hit.snippet.replace("<mark>", "").replace("</mark>", "")) <= 320
            checked += 1
    assert checked >= 60


# ------------------------------------------------------------------ near-duplicates


def test_near_duplicates_fold_under_the_first_of_them_on_real_news(news: SearchEngine) -> None:
    folded_somewhere = 0
    for query in NEWS_QUERIES:
        every = news.search(query, size=100, fold=False)
        kept = news.search(query, size=100)
        order = [
            hit.id for page in (1, 2) for hit in news.search(query, size=100, page=page, fold=False).hits
        ]
        shown = [hit.id for hit in kept.hits]
        hidden = {other["id"]: hit.id for hit in kept.hits for other in hit.similar}
        # The folded order is the order itself with the near-duplicates taken out; nothing else moves.
        assert shown == [doc for doc in order if doc not in hidden][: len(shown)]
        assert kept.total + kept.folded == every.total and kept.folded == len(hidden)
        if (
            every.total_all is not None
        ):  # the count with all the words drops the folded ones that hold them all
            every_all = {hit.id for hit in every.hits[: every.total_all]}
            assert kept.total_all == every.total_all - len(every_all & hidden.keys()) <= kept.total
        for doc, holder in hidden.items():  # each under a result ranked before it
            assert order.index(holder) < order.index(doc)
        folded_somewhere += bool(hidden)
        # Pages of ten are slices of the one folded order.
        pages = [hit.id for page in range(1, 11) for hit in news.search(query, page=page).hits]
        assert pages == shown[: len(pages)]
    assert folded_somewhere >= 4  # the agencies do repeat each other


def test_a_page_past_the_folding_window_continues_the_order(news: SearchEngine) -> None:
    every = [
        hit.id for page in range(1, 4) for hit in news.search("المملكة", size=100, page=page, fold=False).hits
    ]
    kept = news.search("المملكة", size=100)
    hidden = {other["id"] for hit in kept.hits for other in hit.similar}
    following = news.search("المملكة", size=100, page=2)
    assert [hit.id for hit in following.hits] == [doc for doc in every if doc not in hidden][100:200]


def test_identical_articles_show_once_with_their_copies(tmp_path: Path, capsys) -> None:
    story = " ".join(f"word{n} of the long story about the river crossing" for n in range(12))
    notes = {"agency-a.txt": f"River story\n{story}", "agency-b.txt": f"The river story\n{story} (Reuters)",
             "other.txt": "Other river news\n" + " ".join(f"thing{n} unrelated river text" for n in range(20))}  # fmt: skip
    home = IndexHome(tmp_path / "index")
    rebuild(home, write_corpus(tmp_path / "notes", notes), show_progress=False)
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    data = client.get("/api/search", query_string={"q": "river"}).get_json()
    assert data["total"] == 2 and data["folded"] == 1
    holder = next(hit for hit in data["hits"] if hit["id"].startswith("agency"))
    assert [other["id"] for other in holder["similar"]] == list(
        {"agency-a.txt", "agency-b.txt"} - {holder["id"]}
    )
    assert holder["similar"][0]["title"].lower().endswith("river story")
    unfolded = client.get("/api/search", query_string={"q": "river", "fold": "0"}).get_json()
    assert unfolded["total"] == 3 and unfolded["folded"] == 0
    page = client.get("/", query_string={"q": "river"}).get_data(as_text=True)
    assert "1 similar result" in page and 'href="/?q=river&amp;fold=0"' in page
    assert main(["search", "--index", str(home.path), "river"]) == 0
    assert "1 near-duplicate folded" in capsys.readouterr().out


# ------------------------------------------------------------------ the command line


def test_unquoted_words_are_one_query_and_json_is_the_api_format(home: IndexHome, capsys) -> None:
    index = ["--index", str(home.path)]
    assert main(["search", *index, "--json", "government", "budget"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["query"] == "government budget" and printed["hits"][0]["id"] == "gov2.txt"
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    api = client.get("/api/search", query_string={"q": "government budget"}).get_json()
    assert [hit["id"] for hit in printed["hits"]] == [hit["id"] for hit in api["hits"]]
    assert set(printed["hits"][0]) == set(api["hits"][0])
    assert (
        main(["search", *index, "--", "-budget", "government"]) == 0
    )  # a leading - after --: NOT, not an option
    assert "gov2.txt" not in capsys.readouterr().out


# ------------------------------------------------------------------ export


def test_an_export_holds_every_result_in_the_pages_order(home: IndexHome) -> None:
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    lines = client.get("/api/export", query_string={"q": "health ministry", "format": "jsonl"})
    records = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    api = client.get("/api/search", query_string={"q": "health ministry", "size": 100}).get_json()
    assert records == api["hits"]
    table = client.get("/api/export", query_string={"q": "health ministry", "lang": "en"})
    assert table.mimetype == "text/csv" and "attachment" in table.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(table.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["rank", "id", "title", "date", "lang", "source", "url", "page", "score", "snippet"]
    assert [row[1] for row in rows[1:]] == [hit["id"] for hit in api["hits"]]
    assert "<mark>" not in rows[1][-1] and "health" in rows[1][-1].lower()


def test_an_export_is_spreadsheet_safe_and_refuses_bad_requests(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "notes", {"sum.txt": "=SUM(A1:A9)\n=cmd|' /C calc'!A0 is a formula"})
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    rows = list(csv.reader(io.StringIO(client.get("/api/export?q=formula").get_data(as_text=True))))
    assert rows[1][2] == "'=SUM(A1:A9)" and rows[1][-1].startswith("'=cmd")
    assert client.get("/api/export?q=formula&format=xlsx").status_code == 400
    assert client.get("/api/export?q=(formula").status_code == 200  # pasted text: searched as words
    assert client.get("/api/export?q=(").status_code == 400  # nothing to search for
    assert client.get("/api/export").status_code == 400


def test_the_page_links_its_export(home: IndexHome) -> None:
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    page = client.get("/", query_string={"q": "health", "lang": "en"}).get_data(as_text=True)
    assert 'id="export" href="/api/export?q=health&amp;lang=en"' in page


# ------------------------------------------------------------------ the empty page


def test_the_words_to_try_are_the_index_own(home: IndexHome, engine: SearchEngine) -> None:
    examples = engine.examples()
    assert {word.lower() for word in examples[:3]} == {
        "government",
        "health",
        "ministry",
    }  # in three titles each
    assert {word.lower() for word in examples} <= {
        "government",
        "health",
        "ministry",
        "governess",
        "budget",
        "new",
    }
    assert not {"the", "of", "a"} & set(examples)  # stop words are never offered
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    page = client.get("/").get_data(as_text=True)
    assert f'href="/?q={examples[0]}"' in page and "football" not in page


# ------------------------------------------------------------------ searched as


def test_searched_as_names_each_word_its_form_and_the_forms_it_matched(
    home: IndexHome, engine: SearchEngine
) -> None:
    results = engine.search('"governments" OR الصحة -budget')
    assert [(w.word, w.searched, w.forms) for w in results.searched_as] == [
        (
            "governments",
            ("govern",),
            ("government",),
        ),  # Government in titles and government in text: one form
        ("الصحة", ("صحه",), ("الصحة",)),
    ]
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    data = client.get("/api/search", query_string={"q": "governments"}).get_json()
    assert data["searched_as"] == [{"word": "governments", "searched": ["govern"], "forms": ["government"]}]
    page = client.get("/", query_string={"q": "governments"}).get_data(as_text=True)
    assert "<bdi>governments</bdi> → <bdi>govern</bdi>: <bdi>government</bdi>" in page
    assert (
        engine.search("quokka OR health").searched_as[0].word == "health"
    )  # what matched nothing is left out


def test_an_index_built_before_fingerprints_answers_unfolded(tmp_path: Path, monkeypatch) -> None:
    def without_fingerprints(*args, **kwargs):
        schema = build_schema(*args, **kwargs)
        schema.remove(NEAR)
        return schema

    story = " ".join(f"word{n} of the long story about the river crossing" for n in range(12))
    notes = {"a.txt": f"River story\n{story}", "b.txt": f"River story again\n{story}"}
    home = IndexHome(tmp_path / "index")
    with monkeypatch.context() as patched:
        patched.setattr(generations, "build_schema", without_fingerprints)
        rebuild(home, write_corpus(tmp_path / "notes", notes), show_progress=False)
    results = SearchEngine.at(home).search("river")
    assert (results.total, results.folded) == (2, 0)
