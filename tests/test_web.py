"""Every route of the web app and JSON API through Flask's test client."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.indexer import rebuild_index, update_index
from index.store import IndexHome
from web import create_app

from .conftest import write_corpus

XSS_TITLE = "<script>alert(1)</script> عنوان"


@pytest.fixture
def web_corpus(corpus: Path) -> Path:
    extra = {
        "xss.txt": f"{XSS_TITLE}\n\nنص فيه <img src=x onerror=alert(2)> وكلمة خبيثة",
        **{
            f"many/doc{i}.txt": f"Report {i}\n\nQuarterly report number {i} about harvests."
            for i in range(25)
        },
    }
    return write_corpus(corpus, extra)


@pytest.fixture
def client(home: IndexHome, web_corpus: Path):
    rebuild_index(home, web_corpus, show_progress=False)
    app = create_app({"INDEX_DIR": str(home.path), "TESTING": True})
    return app.test_client()


def api(client, path: str, **params) -> tuple[int, dict]:
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json()


# ------------------------------------------------------------------ JSON API


def test_api_search_shape_and_hit_format(client) -> None:
    status, data = api(client, "/api/search", q="الازمه")
    assert status == 200
    assert list(data) == [
        "query", "total", "total_exact", "took_ms", "page", "size", "hits", "facets", "suggestion", "notice"
    ]  # fmt: skip
    assert data["total"] == 1
    assert set(data["hits"][0]) == {"id", "title", "snippet", "score", "lang", "source", "date", "url"}
    assert "<mark>الأزمة</mark>" in data["hits"][0]["snippet"]


def test_api_facets_count_the_whole_result_set(client) -> None:
    _, data = api(client, "/api/search", q="football OR كرة OR report", size=1)
    assert data["facets"]["lang"] == {"en": 26, "ar": 1}
    assert data["facets"]["source"]["many"] == 25 and data["facets"]["source"]["Sports Daily"] == 2


def test_api_filters(client) -> None:
    _, arabic = api(client, "/api/search", q="football OR كرة", lang="ar")
    assert [h["id"] for h in arabic["hits"]] == ["j2"]
    _, source = api(client, "/api/search", q="report OR football", source="Sports Daily")
    assert {h["id"] for h in source["hits"]} == {"j1"}
    _, dated = api(client, "/api/search", q="football OR كرة", **{"from": "2024-06-01", "to": "2024-12-31"})
    assert [h["id"] for h in dated["hits"]] == ["j2"]


def test_api_sort_by_date(client) -> None:
    _, data = api(client, "/api/search", q="football OR كرة", sort="date")
    assert [h["date"] for h in data["hits"]] == ["2024-06-10", "2024-05-01"]


def test_api_pagination(client) -> None:
    _, first = api(client, "/api/search", q="report", size=10)
    _, third = api(client, "/api/search", q="report", size=10, page=3)
    assert first["total"] == 25 and len(first["hits"]) == 10 and len(third["hits"]) == 5
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in third["hits"]}
    _, beyond = api(client, "/api/search", q="report", page=99)
    assert beyond["hits"] == [] and beyond["total"] == 25


def test_api_size_is_capped(client) -> None:
    _, data = api(client, "/api/search", q="report", size=100000)
    assert data["size"] == 100


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "'q' is required"),
        ({"q": "x", "page": "abc"}, "'page' must be a whole number"),
        ({"q": "x", "page": "0"}, "'page' must be at least 1"),
        ({"q": "x", "lang": "fr"}, "'lang' must be one of"),
        ({"q": "x", "sort": "random"}, "'sort' must be one of"),
        ({"q": "x", "from": "yesterday"}, "'from' must be a date"),
        ({"q": "x", "from": "2024-02-01", "to": "2024-01-01"}, "'from' must not be after 'to'"),
        ({"q": "x" * 2000}, "too long"),
        ({"q": '"open'}, "unmatched quote"),
        ({"q": "(a"}, "without a matching"),
        ({"q": "*"}, "prefix search"),
    ],
)
def test_api_bad_parameters_are_400_with_a_message(client, params: dict, message: str) -> None:
    status, data = api(client, "/api/search", **params)
    assert status == 400 and message in data["error"]


def test_query_of_stop_words_only_finds_nothing_politely(client) -> None:
    status, data = api(client, "/api/search", q="the of في")
    assert status == 200 and data["total"] == 0 and data["hits"] == []


def test_api_document(client) -> None:
    status, doc = api(client, "/api/doc/news/crisis.txt", q="الازمه")
    assert status == 200 and doc["title"] == "الأَزْمَةُ الاقتصاديّة تتفاقم"
    assert "<mark>الأزمة</mark>" in doc["body_html"]
    status, missing = api(client, "/api/doc/no-such-doc")
    assert status == 404 and "no document" in missing["error"]


def test_document_ids_never_reach_the_file_system(client) -> None:
    for path in (
        "/api/doc/..%2f..%2fetc%2fpasswd",
        "/api/doc/../../etc/passwd",
        "/doc/..%2f..%2fetc%2fpasswd",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert b"root:" not in response.data


def test_api_suggest(client) -> None:
    _, data = api(client, "/api/suggest", q="الانت")
    assert data["suggestions"] == ["الانتخابات"]
    _, english = api(client, "/api/suggest", q="quart")
    assert english["suggestions"] == ["Quarterly"]
    _, empty = api(client, "/api/suggest", q="")
    assert empty["suggestions"] == []
    status, _ = api(client, "/api/suggest", q="x" * 500)
    assert status == 400


def test_api_did_you_mean_suggests_real_words(client) -> None:
    _, data = api(client, "/api/search", q="الانتخابت")
    assert data["suggestion"] == "الانتخابات"  # a surface form, not the stem انتخاب


def test_healthz(client, tmp_path: Path) -> None:
    status, data = api(client, "/healthz")
    assert status == 200 and data == {"status": "ok", "documents": 33}
    empty = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    assert empty.get("/healthz").status_code == 503


def test_openapi_describes_the_routes(client) -> None:
    status, spec = api(client, "/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {"/api/search", "/api/doc/{id}", "/api/suggest", "/healthz"} <= set(spec["paths"])


def test_unknown_api_route_is_json_404(client) -> None:
    status, data = api(client, "/api/nothing")
    assert status == 404 and "error" in data


# ------------------------------------------------------------------ HTML pages


def test_empty_state(client) -> None:
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "What are you looking for?" in page and "33 documents indexed" in page
    assert "autofocus" in page


def test_results_page(client) -> None:
    response = client.get("/", query_string={"q": "الانتخابات"}, headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 results" in page and "<mark>الانتخابات</mark>" in page
    assert 'dir="auto"' in page and "/doc/news/election.txt?q=" in page


def test_facet_links_and_pagination_on_the_page(client) -> None:
    page = client.get(
        "/", query_string={"q": "report", "page": 2}, headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Page 2 of 3" in page and 'rel="prev"' in page and 'rel="next"' in page
    assert 'data-facet="lang" data-value="en"' in page
    assert 'start="11"' in page


def test_no_results_page_has_tips(client) -> None:
    page = client.get("/", query_string={"q": "zzzzqqq"}, headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "No documents match" in page and "Tips" in page


def test_malformed_query_page_is_400_not_500(client) -> None:
    response = client.get("/", query_string={"q": '"open'}, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "unmatched quote" in response.get_data(as_text=True)
    assert client.get("/", query_string={"page": "x", "q": "a"}).status_code == 400


def test_did_you_mean_link(client) -> None:
    page = client.get("/", query_string={"q": "الانتخابت"}, headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Did you mean" in page and ">الانتخابات</a>" in page


def test_document_page(client) -> None:
    response = client.get(
        "/doc/news/crisis.txt", query_string={"q": "الازمه"}, headers={"Accept-Language": "en"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<mark>الأزمة</mark>" in page and "Back to results" in page
    assert client.get("/doc/missing").status_code == 404


def test_xss_is_rendered_as_text_everywhere(client) -> None:
    for url, params in (
        ("/", {"q": "خبيثة"}),
        ("/doc/xss.txt", {"q": "خبيثة"}),
        ("/", {"q": "<script>alert(3)</script>"}),
    ):
        page = client.get(url, query_string=params).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
    page = client.get("/", query_string={"q": "خبيثة"}).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    _, data = api(client, "/api/search", q="خبيثة")
    assert "&lt;img src=x onerror=alert(2)&gt;" in data["hits"][0]["snippet"]
    assert data["hits"][0]["title"] == XSS_TITLE  # JSON carries raw text; HTML escapes it


def test_security_headers(client) -> None:
    for path in ("/", "/api/search?q=report", "/healthz"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_no_inline_script_in_pages(client) -> None:
    page = client.get("/", query_string={"q": "report"}).get_data(as_text=True)
    assert "<script>" not in page and "onclick" not in page and "<style>" not in page


def test_interface_language_from_accept_language(client) -> None:
    arabic = client.get("/", headers={"Accept-Language": "ar,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "عمّ تبحث؟" in arabic
    english = client.get("/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english


def test_language_switch_sets_a_cookie_and_stays_on_site(client) -> None:
    response = client.get("/ui/ar", query_string={"next": "/?q=report"})
    assert response.status_code == 302 and response.headers["Location"] == "/?q=report"
    assert "ui=ar" in response.headers["Set-Cookie"]
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'dir="rtl"' in page  # the cookie wins over Accept-Language
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert client.get("/ui/en", query_string={"next": target}).headers["Location"] == "/"


@pytest.mark.parametrize(
    "target", ["/%0d%0aSet-Cookie:%20ui=x", "/?q=a%0aLocation:%20http://evil", "/%09x", "/\x7f"]
)
def test_a_control_character_in_next_is_refused_not_a_500(client, target: str) -> None:
    response = client.get(f"/ui/en?next={target}")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert response.headers.getlist("Set-Cookie") == [response.headers["Set-Cookie"]]  # only the ui cookie


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/search"), ("DELETE", "/"), ("PUT", "/healthz")])
def test_method_not_allowed_says_what_is(client, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_files_are_served(client) -> None:
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_app_sees_index_updates_without_restart(client, home: IndexHome, web_corpus: Path) -> None:
    assert api(client, "/api/search", q="volcano")[1]["total"] == 0
    write_corpus(web_corpus, {"volcano.txt": "Volcano erupts\n\nLava reached the sea."})
    update_index(home, web_corpus, show_progress=False)
    assert api(client, "/api/search", q="volcano")[1]["total"] == 1
    (web_corpus / "volcano.txt").unlink()
    rebuild_index(home, web_corpus, show_progress=False)
    assert api(client, "/api/search", q="volcano")[1]["total"] == 0


def test_facets_count_every_match_of_a_large_result_set(client) -> None:
    status, data = api(client, "/api/search", q="report OR football", size=2)
    assert status == 200 and data["total_exact"] and data["total"] == 26 and len(data["hits"]) == 2
    assert data["facets"]["source"] == {"many": 25, "Sports Daily": 1}
    page = client.get("/?q=report&size=2").get_data(as_text=True)
    assert "25 results" in page and 'data-value="many"' in page
