"""The query language means the same on both engines: the embedded index and an OpenSearch cluster.

Each corpus is indexed twice, by the real ``fahras index`` path, into an index folder and into an index
of a real local OpenSearch node (one per module), and each query is asked of both through the JSON API.
The two answers must be the same page: the same hits in the same order with the same scores (to the
precision of Lucene's 32-bit scores), titles and snippets, the same total, facets, suggestion and notice.
Each test also says what the answer is, so that two engines broken alike do not pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.generations import rebuild
from index.indexer import rebuild_index
from index.store import IndexHome
from search import budget
from search.backend import open_backend
from search.backends.opensearch.cluster import ClusterInfo
from search.engine import SearchEngine
from web import create_app

from .conftest import shared, write_corpus
from .opensearch import call, opensearch_node  # noqa: F401 (a fixture)
from .test_query_semantics import ABSENT, NEWS
from .test_searching import NOTES

STORY = " ".join(f"word{n} of the long story about the river crossing" for n in range(12))
RIVER = {
    "agency-a.txt": f"River story\n{STORY}",
    "agency-b.txt": f"The river story\n{STORY} (Reuters)",
    "other.txt": "Other river news\n" + " ".join(f"thing{n} unrelated river text" for n in range(20)),
}

DATED = {
    "dated.jsonl": "\n".join(
        json.dumps(record)
        for record in [
            {"id": "old", "title": "Harbour", "text": "harbour news from the old port", "date": "2015-01-01",
             "source": "okaz"},
            {"id": "none", "title": "Harbour", "text": "harbour news without a day", "source": "okaz"},
            {"id": "july", "title": "Harbour works", "text": "harbour news in july", "date": "2015-07-21",
             "source": "riyadh"},
            {"id": "new", "title": "Harbour", "text": "harbour news of the new year", "date": "2016-01-01",
             "source": "sabq", "lang": "en"},
        ]
    )
}  # fmt: skip


class Engines:
    """Two API clients over one corpus: the embedded index and the cluster's."""

    def __init__(self, embedded, opensearch) -> None:
        self.embedded = embedded
        self.opensearch = opensearch

    def both(self, **params) -> dict:
        """The answer of both engines, checked to be the same page; the embedded one is returned."""
        params.setdefault("size", 100)
        answers = []
        for client in (self.embedded, self.opensearch):
            response = client.get("/api/search", query_string=params)
            answers.append((response.status_code, response.get_json()))
        (status, mine), (other_status, theirs) = answers
        assert status == other_status, (params, mine, theirs)
        if status != 200:
            assert mine == theirs, params
            return mine
        keys = (
            "total",
            "total_all",
            "folded",
            "searched_as",
            "facets",
            "suggestion",
            "notice",
            "page",
            "size",
        )
        for key in keys:
            assert mine[key] == theirs[key], (params, key, mine[key], theirs[key])
        assert [hit["id"] for hit in mine["hits"]] == [hit["id"] for hit in theirs["hits"]], params
        for left, right in zip(mine["hits"], theirs["hits"], strict=True):
            assert left["score"] == pytest.approx(right["score"], rel=1e-5, abs=1e-4), (params, left["id"])
            for key in ("title", "title_html", "snippet", "lang", "source", "date", "url", "page", "ocr"):
                assert left[key] == right[key], (params, left["id"], key)
            similar = [[other[key] for key in ("id", "title")] for other in left["similar"]]
            assert similar == [[other[key] for key in ("id", "title")] for other in right["similar"]], params
        return mine

    def ids(self, query: str, **params) -> list[str]:
        return [hit["id"] for hit in self.both(q=query, **params)["hits"]]


def engines_of(files: dict[str, str], name: str, tmp_path_factory, node: ClusterInfo) -> Engines:
    """Both engines' indexes of a corpus written here, built by the same indexing code."""
    folder = write_corpus(tmp_path_factory.mktemp(name) / "corpus", files)
    return engines_over(folder, name, node)


def engines_over(folder: Path, name: str, node: ClusterInfo) -> Engines:
    home = IndexHome(folder.parent / "index")
    rebuild(home, folder, show_progress=False)
    url = f"{node.urls[0]}/{name}"
    rebuild_index(open_backend(url).target(), folder, show_progress=False)
    clients = [
        create_app({"INDEX_DIR": where, "TESTING": True}).test_client() for where in (str(home.path), url)
    ]
    return Engines(*clients)


@pytest.fixture(scope="module")
def cluster(opensearch_node: ClusterInfo) -> ClusterInfo:  # noqa: F811
    # Queries that expand to many words (a prefix of a hundred words, five fuzzy words) have thousands of
    # clauses; the official distribution allows 1,024 unless told otherwise (README: On an OpenSearch cluster).
    settings = {"persistent": {"indices.query.bool.max_clause_count": 65536}}
    call(opensearch_node.urls[0], "PUT", "/_cluster/settings", settings)
    return opensearch_node


@pytest.fixture(scope="module")
def news(cluster: ClusterInfo, tmp_path_factory) -> Engines:
    return engines_of(NEWS, "engines-news", tmp_path_factory, cluster)


@pytest.fixture(scope="module")
def absent(cluster: ClusterInfo, tmp_path_factory) -> Engines:
    return engines_of(ABSENT, "engines-absent", tmp_path_factory, cluster)


@pytest.fixture(scope="module")
def notes(cluster: ClusterInfo, tmp_path_factory) -> Engines:
    return engines_of({**NOTES, **RIVER}, "engines-notes", tmp_path_factory, cluster)


@pytest.fixture(scope="module")
def dated(cluster: ClusterInfo, tmp_path_factory) -> Engines:
    return engines_of(DATED, "engines-dated", tmp_path_factory, cluster)


@pytest.fixture(scope="module")
def snn(cluster: ClusterInfo, tmp_path_factory) -> Engines:
    """1,000 SaudiNewsNet articles (skipped without the shared data)."""
    import gzip

    source = shared("saudinewsnet", "corpus.jsonl.gz")
    folder = tmp_path_factory.mktemp("snn") / "corpus"
    folder.mkdir()
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        head = [next(lines) for _ in range(1000)]
    (folder / "news.jsonl").write_text("".join(head), encoding="utf-8")
    return engines_over(folder, "engines-snn", cluster)


# ------------------------------------------------------------------ operators


@pytest.mark.parametrize(
    "query", ["minister NOT resigned", "minister -resigned", "minister AND NOT resigned"]
)
def test_not_and_minus_exclude(news: Engines, query: str) -> None:
    found = news.ids(query)
    assert "politics/resignation.txt" not in found
    assert {"politics/visit.txt", "politics/scattered.txt"} <= set(found)


def test_plus_requires_a_word_and_the_rest_only_ranks(news: Engines) -> None:
    assert set(news.ids("+heat ovens")) == {"weather/heatwave.txt", "weather/heat.txt"}
    assert news.ids("+ovens heat") == ["weather/heat.txt"]
    assert news.ids("heat NOT wave") == ["weather/heat.txt"]
    assert news.ids("(heat OR drought) AND -wave") == ["weather/heat.txt"]
    assert news.ids("heat AND wave") == ["weather/heatwave.txt"]


def test_plain_words_rank_alike(news: Engines) -> None:
    assert news.ids("minister port")[:2] == ["politics/visit.txt", "politics/resignation.txt"]
    assert news.ids("الرياض")[0] in {"ar/metro.txt", "ar/riyadh.txt"}
    assert "ar/egypt2.txt" in news.ids("مصر OR ومصر OR بمصر OR لمصر")
    assert news.ids("iPhone")[0] == "iphone-ar"


@pytest.mark.parametrize("query", ["-wave", "path:x", "w*"])
def test_errors_are_the_same(news: Engines, query: str) -> None:
    assert "error" in news.both(q=query)


@pytest.mark.parametrize(
    ("query", "kind"), [("AND", "stop_words"), ("heat NOT", "plain_text"), ('"unclosed', "plain_text")]
)
def test_broken_syntax_is_searched_alike_as_plain_words(news: Engines, query: str, kind: str) -> None:
    assert news.both(q=query)["notice"]["kind"] == kind


# ------------------------------------------------------------------ phrases


@pytest.mark.parametrize(
    "phrase",
    ['"وزارة الخارجية"', '"فلسطين المحتلة"', '"بلدية الرياض"', '"لوزير الخارجية"', '"الحكومة عن خطة"'],
)
def test_arabic_phrases(news: Engines, phrase: str) -> None:
    expected = "ar/baladia.txt" if "بلدية" in phrase or "خطة" in phrase else "ar/kharijia.txt"
    assert news.ids(phrase) == [expected]


def test_phrases_keep_the_place_of_stop_words_and_take_a_slop(news: Engines) -> None:
    assert news.ids('"minister of foreign affairs"') == ["politics/visit.txt"]  # not scattered.txt
    assert news.ids('"won the championship"') == ["sport/final.txt"]
    assert news.ids('"minister foreign"') == []  # "of" stands between them
    assert news.ids('"minister foreign"~1') == ["politics/visit.txt"]
    assert news.ids('"minister foreign affairs"~1') == ["politics/visit.txt"]
    assert news.ids('"minister affairs"~3') == ["politics/visit.txt"]


# ------------------------------------------------------------------ fields and filters


def test_title_and_body_fields(news: Engines) -> None:
    titled = {hit["id"]: hit["title_html"] for hit in news.both(q="title:heat")["hits"]}
    assert titled == {
        "weather/heatwave.txt": "<mark>Heat</mark> wave grips the coast",
        "weather/heat.txt": "Kitchen <mark>heat</mark>",
    }
    assert news.ids("body:ovens") == ["weather/heat.txt"]
    assert news.ids('title:"heat wave"') == ["weather/heatwave.txt"]
    assert set(news.ids("title:(heat championship)")) == {
        "weather/heatwave.txt", "weather/heat.txt", "sport/final.txt"
    }  # fmt: skip


def test_source_and_lang_filters(news: Engines) -> None:
    assert set(news.ids("minister source:politics")) == {
        "politics/resignation.txt", "politics/visit.txt", "politics/scattered.txt"
    }  # fmt: skip
    assert news.ids("minister source:sport") == []
    assert news.ids("iPhone lang:ar") == ["iphone-ar"] and news.ids("iPhone lang:en") == []
    assert news.ids("minister -source:politics") == []
    both = news.both(q="minister OR الرياض OR heat", source=["politics", "weather"])
    assert {hit["source"] for hit in both["hits"]} == {"politics", "weather"}
    assert both["facets"]["source"] == {"politics": 3, "weather": 2}


def test_date_filters_and_sort(dated: Engines) -> None:
    assert dated.ids("harbour", sort="date") == ["new", "july", "old", "none"]
    assert sorted(dated.ids("harbour date:2015")) == ["july", "old"]
    assert dated.ids("harbour date:2015-07") == ["july"]
    assert dated.ids("harbour date:2015-07-21") == ["july"]
    assert set(dated.ids("harbour date:[2015-07-01 TO *]")) == {"july", "new"}
    assert dated.ids("harbour", **{"from": "2015-06-01"}, sort="date") == ["new", "july"]
    assert set(dated.ids("harbour source:okaz")) == {"old", "none"}
    assert set(dated.ids("harbour source:okaz source:sabq")) == {"old", "none", "new"}
    assert dated.ids("harbour -source:okaz", sort="date") == ["new", "july"]
    assert dated.ids("harbour NOT source:okaz NOT source:sabq") == ["july"]
    assert dated.ids("date:2016") == ["new"]  # filters alone


# ------------------------------------------------------------------ prefixes, fuzzy words and their caps


@pytest.mark.parametrize(
    ("query", "expected"),
    [("government~", "sport/government.txt"), ("goverment~", "sport/government.txt"),
     ("goverment~2", "sport/government.txt"), ("governmnt~1", "sport/government.txt"),
     ("الحكومة~", "ar/baladia.txt"), ("انتخابات~", "ar/elections.txt"), ("الانتخ*", "ar/elections.txt"),
     ("الحكو*", "ar/baladia.txt"), ("التكنو*", "ar/tech.txt"), ("govern*", "sport/government.txt"),
     ("الأ*", "ar/kharijia.txt")],
)  # fmt: skip
def test_prefix_and_fuzzy_words(news: Engines, query: str, expected: str) -> None:
    assert expected in news.ids(query)


def test_expansions_and_fuzzy_words_are_capped_alike(snn: Engines, news: Engines) -> None:
    for query in ("ال*", "ال~2"):
        data = snn.both(q=query)
        assert "narrow" in data["error"]
    assert "at most 5 fuzzy" in news.both(q=" ".join(f"word{n}~" for n in range(6)))["error"]


def test_a_query_over_its_time_is_stopped(news: Engines, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "QUERY_SECONDS", 0.0)
    assert "took too long" in news.both(q="minister OR heat OR الرياض")["error"]


# ------------------------------------------------------------------ help on weak results


def test_did_you_mean_and_showing_results_for(news: Engines, absent: Engines, snn: Engines) -> None:
    assert news.both(q="goverment stadium")["suggestion"] == "government stadium"
    data = snn.both(q="الرياظ")
    assert data["notice"] == {"kind": "spelling", "searched": "الرياض", "original": "الرياظ"}
    assert data["total"] == snn.both(q="الرياض")["total"] > 0
    assert snn.both(q="الرياظ", verbatim=1)["total"] == 0
    data = absent.both(q="كم مساحة البحرالميت")
    assert data["hits"][0]["id"] == "dead-sea.txt" and data["notice"]["words"] == ["البحرالميت"]
    data = absent.both(q="أين تقع كنيسة نوثردام")
    assert data["notice"]["searched"] == "أين تقع كنيسة نوتردام"
    assert absent.both(q="hope family")["suggestion"].lower() == "home family"


def test_keyboard_layout(news: Engines, snn: Engines) -> None:
    data = news.both(q="اثشف")  # h, e, a, t typed with the Arabic layout on
    assert (
        data["notice"] == {"kind": "keyboard", "searched": "heat", "original": "اثشف"} and data["total"] == 2
    )
    data = snn.both(q="hgvdhq")
    assert data["notice"] == {"kind": "keyboard", "searched": "الرياض", "original": "hgvdhq"}


def test_stop_words_alone_say_why(news: Engines) -> None:
    for query in ("the", "في", "لا"):
        data = news.both(q=query)
        assert data["total"] == 0 and data["notice"]["kind"] == "stop_words"


# ------------------------------------------------------------------ pages


@pytest.mark.parametrize("query", ["المملكة العربية السعودية", "الرياض AND NOT مترو", "وزير الخارجية", "كرة"])
def test_ten_pages_of_ten_are_one_page_of_a_hundred(snn: Engines, query: str) -> None:
    big = snn.both(q=query, size=100)
    pages = [snn.both(q=query, page=page, size=10) for page in range(1, 11)]
    walked = [hit["id"] for page in pages for hit in page["hits"]]
    assert walked == [hit["id"] for hit in big["hits"]] and len(set(walked)) == len(walked)
    assert {big["total"]} == {page["total"] for page in pages} and big["total"] > 50


def test_a_page_past_the_end_keeps_the_total(snn: Engines) -> None:
    first = snn.both(q="الرياض", size=10)
    past = snn.both(q="الرياض", page=first["total"] // 10 + 2, size=10)
    assert past["hits"] == [] and past["total"] == first["total"]


def test_the_document_page_and_suggestions(news: Engines) -> None:
    for client in (news.embedded, news.opensearch):
        page = client.get("/api/doc/ar/elections.txt", query_string={"q": "انتخابات"}).get_json()
        assert page["body_html"].count("<mark>") == 2
    left, right = (
        client.get("/api/suggest", query_string={"q": "الانت"}).get_json()
        for client in (news.embedded, news.opensearch)
    )
    assert left == right and left["suggestions"]


def test_the_engine_stats_match(news: Engines) -> None:
    stats = [
        SearchEngine.at(client.application.config["INDEX_DIR"]).stats()
        for client in (news.embedded, news.opensearch)
    ]
    assert stats[0] == stats[1] and stats[0].documents == len(NEWS)


# ------------------------------------------------------------------ everyday searching


def test_documents_with_every_keyword_rank_first_and_are_counted(notes: Engines) -> None:
    data = notes.both(q="health ministry")
    assert (data["total"], data["total_all"]) == (4, 2)
    order = [hit["id"] for hit in data["hits"]]
    assert set(order[:2]) == {"both.txt", "both-again.txt"}  # though health.txt says health ten times
    for size in (1, 3):  # pages that end inside a group, start inside one, and cross from one to the next
        walked = [hit["id"] for page in range(1, 5) for hit in notes.both(q="health ministry", size=size, page=page)["hits"]]  # fmt: skip
        assert walked == order
    assert notes.both(q="health ministry", sort="date")["total_all"] == 2  # by date: counted, not grouped
    assert notes.both(q="health ministry", lang="en")["total_all"] == 2
    assert notes.both(q="budget gover", typing=1)["total_all"] == 1
    for question in ("what is the health ministry", "health ministry?", "health"):
        assert notes.both(q=question)["total_all"] is None


def test_the_last_word_being_typed_is_searched_as_a_prefix(notes: Engines) -> None:
    assert notes.ids("gover") == ["governess.txt"]
    assert set(notes.ids("gover", typing=1)) == {"gov.txt", "gov2.txt", "gov3.txt", "governess.txt"}
    assert notes.ids("budget gover", typing=1)[0] == "gov2.txt"
    assert notes.ids("وزا", typing=1) == ["ar.txt"]
    assert notes.both(q="go", typing=1)["total"] == notes.both(q="go")["total"]


def test_pasted_text_and_searched_as(notes: Engines) -> None:
    data = notes.both(q='health "ministry')
    assert data["notice"]["kind"] == "plain_text" and data["total"] >= 1
    data = notes.both(q="governments")
    assert data["searched_as"] == [{"word": "governments", "searched": ["govern"], "forms": ["government"]}]


def test_near_duplicates_fold_alike(notes: Engines, snn: Engines) -> None:
    data = notes.both(q="river")
    assert (data["total"], data["folded"]) == (2, 1)
    holder = next(hit for hit in data["hits"] if hit["id"].startswith("agency"))
    assert len(holder["similar"]) == 1
    assert (notes.both(q="river", fold=0)["total"], notes.both(q="river", fold=0)["folded"]) == (3, 0)
    folded = 0
    for query in ("التعليم", "الحكومة", "الرياض"):
        first = snn.both(q=query, size=100)
        snn.both(q=query, size=100, page=2)  # past the folding window: the results after it, as ranked
        snn.both(q=query, size=10, page=10)
        folded += first["folded"]
    assert folded >= 1  # the agencies do repeat each other (once in education, in these thousand articles)


def test_the_vocabulary_of_words_and_names(notes: Engines) -> None:
    from index.analysis import ARABIC, LATIN

    snapshots = [SearchEngine.at(c.application.config["INDEX_DIR"]).backend.snapshot() for c in (notes.embedded, notes.opensearch)]  # fmt: skip
    embedded, opensearch = (snapshot.lexicon for snapshot in snapshots)
    assert opensearch.most_frequent("title_exact", 6) == embedded.most_frequent("title_exact", 6)
    assert opensearch.most_frequent("title_exact", 6)[0] == ("river", 3)
    assert [SearchEngine.at(c.application.config["INDEX_DIR"]).examples() for c in (notes.embedded, notes.opensearch)] == [["River", "Ministry", "health", "Government", "story"]] * 2  # fmt: skip
    latin, arabic = opensearch.vocabulary(LATIN), opensearch.vocabulary(ARABIC)
    assert latin.frequency("river") == 3 and latin.frequency("وزاره") == 0 and arabic.frequency("وزاره") == 1
    assert ("river", 3) in latin.words_with_key(next(iter(_keys("river"))))
    if hasattr(embedded, "vocabulary"):  # the embedded index's own (SQLite), where this version has it
        for script in (LATIN, ARABIC):
            mine, theirs = embedded.vocabulary(script), opensearch.vocabulary(script)
            assert mine.postings == theirs.postings
            for word in ("river", "health", "governess", "وزاره", "الصحه", "nothing"):
                assert mine.frequency(word) == theirs.frequency(word)


def _keys(word: str) -> set[str]:
    from search.names import MIN_KEY, keys

    return {key for key in keys(word) if len(key) >= MIN_KEY}
