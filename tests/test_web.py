"""Every route of the web app and JSON API through Flask's test client."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from index.generations import rebuild, update
from index.store import IndexHome
from search.snippets import MAX_MATCHES
from web import create_app
from web import messages as M
from web.pages import numbered_marks, page_numbers

from .conftest import HIT_FIELDS, files_opened, write_corpus

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
    rebuild(home, web_corpus, show_progress=False)
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
        "query", "total", "total_exact", "took_ms", "page", "size", "hits", "facets", "suggestion", "notice",
        "total_all", "searched_as", "folded", "also_searched", "next",
    ]  # fmt: skip
    assert data["total"] == 1
    assert set(data["hits"][0]) == HIT_FIELDS
    assert "<mark>الأزمة</mark>" in data["hits"][0]["snippet"]
    assert (
        data["hits"][0]["title_html"] == "<mark>الأَزْمَةُ</mark> الاقتصاديّة تتفاقم"
    )  # titles marked like snippets


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
        ({"q": "-open"}, "NOT and - only exclude"),
        ({"q": "x~3"}, "1 or 2 edits"),
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
        with files_opened() as opened:
            response = client.get(path)
        assert response.status_code == 404
        assert not [name for name in opened if "passwd" in name]  # the id was only looked up


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
    assert "1 result for “<bdi>الانتخابات</bdi>”" in page and "<mark>الانتخابات</mark>" in page
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
    response = client.get("/", query_string={"q": "date:someday"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "write a date as 2015" in response.get_data(as_text=True)
    pasted = client.get("/", query_string={"q": '"open'}, headers={"Accept-Language": "en"})
    assert pasted.status_code == 200 and "it was searched as plain words" in pasted.get_data(as_text=True)
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
    assert response.status_code == 200 and '<mark id="m1">الأزمة</mark>' in page and "Back to results" in page
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
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "////evil.example/phish",
        "///evil",
    ):
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
    update(home, web_corpus, show_progress=False)
    assert api(client, "/api/search", q="volcano")[1]["total"] == 1
    (web_corpus / "volcano.txt").unlink()
    rebuild(home, web_corpus, show_progress=False)
    assert api(client, "/api/search", q="volcano")[1]["total"] == 0


def test_facets_count_every_match_of_a_large_result_set(client) -> None:
    status, data = api(client, "/api/search", q="report OR football", size=2)
    assert status == 200 and data["total_exact"] and data["total"] == 26 and len(data["hits"]) == 2
    assert data["facets"]["source"] == {"many": 25, "Sports Daily": 1}
    page = client.get("/?q=report&size=2").get_data(as_text=True)
    assert "25 results" in page and 'data-value="many"' in page


def test_api_next_links_walk_every_page(client) -> None:
    seen, url, pages = [], "/api/search?q=report&size=10&lang=en&sort=date", 0
    while url:
        response = client.get(url.replace("http://localhost", ""))
        data = response.get_json()
        assert response.status_code == 200
        seen += [hit["id"] for hit in data["hits"]]
        url, pages = data["next"], pages + 1
        if url:
            assert url.startswith("http://localhost/api/search?") and "sort=date" in url and "lang=en" in url
    assert pages == 3 and len(seen) == len(set(seen)) == 25
    assert api(client, "/api/search", q="report", page=99)[1]["next"] is None


def _openapi_validator(client, pointer: str):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = client.get("/api/openapi.json").get_json()
    registry = Registry().with_resource("urn:fahras", Resource.from_contents(spec, DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"urn:fahras#{pointer}"}, registry=registry)


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        ("/api/search?q=report&size=2", "~1api~1search", 200),
        ("/api/search?q=-a", "~1api~1search", 400),
        ("/api/search?q=(report", "~1api~1search", 200),
        ("/api/doc/news/crisis.txt?q=الازمه", "~1api~1doc~1{id}", 200),
        ("/api/doc/nothing-here", "~1api~1doc~1{id}", 404),
        ("/api/suggest?q=الانت", "~1api~1suggest", 200),
        ("/healthz", "~1healthz", 200),
    ],
)
def test_responses_match_their_openapi_schemas(client, path: str, route: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    validator = _openapi_validator(
        client, f"/paths/{route}/get/responses/{status}/content/application~1json/schema"
    )
    validator.validate(response.get_json())  # raises with the first mismatch


def test_unusable_index_responses_match_the_error_schema(tmp_path: Path) -> None:
    empty = create_app({"INDEX_DIR": str(tmp_path / "none"), "TESTING": True}).test_client()
    for path, route in (
        ("/healthz", "~1healthz"),
        ("/api/search?q=x", "~1api~1search"),
        ("/api/doc/x", "~1api~1doc~1{id}"),
    ):
        response = empty.get(path)
        assert response.status_code == 503
        schema = f"/paths/{route}/get/responses/503/content/application~1json/schema"
        _openapi_validator(empty, schema).validate(response.get_json())


def test_cors_is_off_unless_asked_for(home: IndexHome, web_corpus: Path, client) -> None:
    assert "Access-Control-Allow-Origin" not in client.get("/api/search?q=report").headers
    app = create_app({"INDEX_DIR": str(home.path), "TESTING": True, "CORS_ORIGIN": "*"})
    open_client = app.test_client()
    response = open_client.get("/api/search?q=report", headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = open_client.options("/api/search", headers={"Origin": "https://elsewhere.example",
                                                            "Access-Control-Request-Method": "GET"})  # fmt: skip
    assert preflight.status_code == 200 and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in open_client.get("/").headers  # the API only, not the pages


# ------------------------------------------------------------------ the page's words, structure and state


def page(client, path: str, ui: str = "en", **params) -> tuple[int, str]:
    response = client.get(path, query_string=params, headers={"Accept-Language": ui})
    return response.status_code, response.get_data(as_text=True)


def test_results_pages_have_one_h1_and_a_reachable_skip_link(client) -> None:
    status, html = page(client, "/", q="report")
    assert (
        status == 200
        and html.count("<h1") == 1
        and '<h1 id="total">25 results for “<bdi>report</bdi>”</h1>' in html
    )
    assert (
        '<a class="skip" href="#main">Skip to results</a>' in html
        and '<main id="main" tabindex="-1">' in html
    )
    assert "autofocus" not in html  # the first Tab reaches the skip link, not past it
    assert html.index('id="hits"') < html.index('<aside id="filters"')  # focus order: box, results, filters
    assert '<label class="visually-hidden" for="q">Search the documents</label>' in html
    _, home = page(client, "/")
    assert "autofocus" in home  # on the empty page, typing starts at once


def test_arabic_page_counts_with_arabic_plurals(client) -> None:
    _, html = page(client, "/", "ar", q="الانتخابات")
    assert "نتيجة واحدة عن «<bdi>الانتخابات</bdi>»" in html
    _, many = page(client, "/", "ar", q="report")
    assert "25 نتيجة عن «<bdi>report</bdi>»" in many  # 11-99: singular noun
    _, home = page(client, "/", "ar")
    assert "33 وثيقة مفهرسة" in home


def test_titles_are_marked_like_snippets(client) -> None:
    _, html = page(client, "/", q="Quarterly report number 7")
    assert (
        '"><mark>Report</mark> <mark>7</mark></a></h2>' in html and '"><mark>Report</mark> 0</a></h2>' in html
    )


def test_facets_show_counts_and_active_filters_are_removable_chips(client) -> None:
    _, html = page(client, "/", q="report OR football", source="many")
    assert '<span class="label"><bdi>many</bdi></span><span class="count">25</span>' in html
    assert 'aria-label="Remove the filter Source: many">Source: many' in html
    chip = html.split('class="chip removable" href="')[1].split('"')[0]
    assert chip == "/?q=report+OR+football"  # the chip's link drops that filter and keeps the query
    _, unfiltered = page(client, "/", q="football OR كرة OR report", size=2)
    lang = unfiltered.split('id="facet-lang"')[1].split("</section>")[0]
    assert (
        lang.count('class="count"') == 3
        and '<span class="label">All</span><span class="count">27</span>' in lang
    )


def test_an_unexpected_error_is_a_translated_500(home: IndexHome, web_corpus: Path) -> None:
    rebuild(home, web_corpus, show_progress=False)
    app = create_app({"INDEX_DIR": str(home.path)})
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    response = app.test_client().get("/boom", headers={"Accept-Language": "ar"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "حدث خطأ" in html and 'dir="rtl"' in html


def test_home_hint_isolates_each_spelling_pair(client) -> None:
    _, english = page(client, "/")
    assert "Spelling variants (<bdi>أ/ا</bdi>, <bdi>ة/ه</bdi>, <bdi>ى/ي</bdi>) and diacritics" in english
    _, arabic = page(client, "/", "ar")
    assert "(<bdi>أ/ا</bdi>، <bdi>ة/ه</bdi>، <bdi>ى/ي</bdi>)" in arabic


def test_a_bad_date_range_keeps_the_search_and_speaks_the_interface_language(client) -> None:
    params = {"q": "report", "lang": "en", "from": "2024-05-01", "to": "2024-01-01"}
    status, html = page(client, "/", "ar", **params)
    assert status == 400 and '<html lang="ar" dir="rtl">' in html
    assert "تعذّر تنفيذ هذا البحث" in html and "تاريخ البداية («من») بعد تاريخ النهاية («إلى»)" in html
    assert 'id="q" value="report"' in html and '<input type="hidden" name="lang" value="en">' in html
    assert 'name="from" value="2024-05-01"' in html and 'name="to" value="2024-01-01"' in html  # to correct
    status, english = page(client, "/", "en", **params)
    assert status == 400 and "the start date is later than the end date" in english


def test_a_query_error_keeps_the_query(client) -> None:
    status, html = page(client, "/", "ar", q="-open", source="many")
    assert status == 400 and 'value="-open"' in html and 'name="source" value="many"' in html
    assert (
        "أضف كلمات للبحث عنها: NOT و- تستبعدان فقط، مثل: heat NOT wave." in html
    )  # said in the page's language
    status, html = page(client, "/", "en", q="-open")
    assert status == 400 and "Add words to search for: NOT and - only exclude, as in: heat NOT wave." in html


def test_a_query_error_with_the_query_in_it_is_translated_whole(client) -> None:
    status, html = page(client, "/", "ar", q="a*", source="many")
    assert status == 400 and "&#39;a*&#39;: يحتاج البحث بالبادئة إلى 2 من الأحرف على الأقل قبل *." in html


@pytest.mark.parametrize(
    ("lang", "direction", "title"), [("ar", "rtl", "الصفحة غير موجودة"), ("en", "ltr", "Page not found")]
)
def test_404_pages_are_translated_and_laid_out_in_the_interface_direction(
    client, lang, direction, title
) -> None:
    status, html = page(client, "/no/such/page", lang)
    assert status == 404 and f'<html lang="{lang}" dir="{direction}">' in html
    assert f'<h1 id="error-title">{title}</h1>' in html and "Not Found" not in html
    status, missing = page(client, "/doc/missing", lang, q="report")
    assert status == 404 and ("الوثيقة غير موجودة" if lang == "ar" else "Document not found") in missing
    assert 'id="q" value="report"' in missing


def test_405_page_is_translated(client) -> None:
    response = client.delete("/", headers={"Accept-Language": "ar"})
    html = response.get_data(as_text=True)
    assert response.status_code == 405 and "طريقة غير مسموح بها" in html and 'dir="rtl"' in html


def test_the_document_page_keeps_the_search_all_the_way(client) -> None:
    _, results = page(client, "/", q="report", lang="en", page=2, sort="date")
    link = results.split('<li class="hit">')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert link.startswith("/doc/many/") and "q=report" in link and "page=2" in link and "lang=en" in link
    response = client.get(link, headers={"Accept-Language": "ar"})
    status, doc = response.status_code, response.get_data(as_text=True)
    assert status == 200 and 'id="q" value="report"' in doc
    assert (
        '<input type="hidden" name="lang" value="en">' in doc
        and '<input type="hidden" name="sort" value="date">' in doc
    )
    back = doc.split('id="back" href="')[1].split('"')[0].replace("&amp;", "&")
    assert back == "/?q=report&page=2&sort=date&lang=en"
    assert (
        "<dd><bdi>many</bdi></dd>" in doc and "<dd><bdi><code>many/" in doc
    )  # values isolated beside their labels
    assert "<mark>report</mark>" in doc.split('<h1 id="doc-title"')[1].split("</h1>")[0].lower()


def test_an_empty_or_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    missing = create_app({"INDEX_DIR": str(tmp_path / "none"), "TESTING": True}).test_client()
    _, html = page(missing, "/")
    assert (
        'There is no index yet. Create one on the server with <code dir="ltr">fahras index FOLDER</code>.'
        in html
    )
    (tmp_path / "nothing").mkdir()
    rebuild(IndexHome(tmp_path / "empty"), tmp_path / "nothing", show_progress=False)
    empty = create_app({"INDEX_DIR": str(tmp_path / "empty"), "TESTING": True}).test_client()
    status, html = page(empty, "/", "ar")
    assert status == 200 and "الفهرس فارغ." in html and "fahras index FOLDER" in html
    status, html = page(missing, "/", "ar", q="x")
    assert status == 503 and "لا يوجد فهرس بعد" in html


# ------------------------------------------------------------------ pages, timing, matches, several values of a facet


@pytest.mark.parametrize(
    ("current", "last", "shown"),
    [
        (1, 1, [1]),
        (1, 2, [1, 2]),
        (1, 10, [1, 2, 3, None, 10]),
        (5, 10, [1, 2, 3, 4, 5, 6, 7, None, 10]),  # a gap of one page shows it: 2, not "…"
        (6, 10, [1, None, 4, 5, 6, 7, 8, 9, 10]),
        (10, 10, [1, None, 8, 9, 10]),
        (500, 1000, [1, None, 498, 499, 500, 501, 502, None, 1000]),
    ],
)
def test_page_numbers_show_the_ends_and_the_pages_near_the_current_one(current, last, shown) -> None:
    assert page_numbers(current, last) == shown


def pager_links(html: str) -> list[tuple[str, str, str]]:
    """The pager's page links as (text, aria-current, page in the href), and "…" for a gap."""
    pager = html.split('<nav class="pager"')[1].split("</nav>")[0]
    found = []
    for item in re.findall(r"<li[^>]*>(.*?)</li>", pager):
        if item == "…":
            found.append(("…", "", ""))
            continue
        href = re.search(r'href="([^"]*)"', item).group(1).replace("&amp;", "&")
        target = parse_qs(urlsplit(href).query).get("page", ["1"])[0]
        current = re.search(r'aria-current="([^"]*)"', item)
        found.append((re.sub(r"<[^>]+>", "", item), current.group(1) if current else "", target))
    return found


def test_the_pager_numbers_the_pages_and_marks_the_current_one(client) -> None:
    status, html = page(client, "/", q="report", size=2, page=7)  # 25 results: 13 pages
    assert status == 200
    assert [text for text, _, _ in pager_links(html)] == ["1", "…", "5", "6", "7", "8", "9", "…", "13"]
    # each number links to its page
    assert all(text in ("…", target) for text, _, target in pager_links(html))
    assert [text for text, current, _ in pager_links(html) if current] == ["7"]
    assert (
        'aria-current="page" aria-label="Page 7 of 13">7</a>' in html
        and 'aria-label="Page 13">13</a>' in html
    )
    assert 'rel="prev"' in html and 'rel="next"' in html
    first = re.search(r'<li><a href="([^"]*)" aria-label="Page 1">', html).group(1).replace("&amp;", "&")
    assert first == "/?q=report&size=2"  # page 1 is the search's own address
    _, last = page(client, "/", q="report", size=2, page=13)
    assert [text for text, current, _ in pager_links(last) if current] == ["13"] and 'rel="next"' not in last
    _, arabic = page(client, "/", "ar", q="report", size=2, page=7)
    assert (
        'aria-current="page" aria-label="الصفحة 7 من 13">7</a>' in arabic
        and 'aria-label="الصفحة 13"' in arabic
    )


def test_the_pager_stops_at_the_page_limit(client, monkeypatch) -> None:
    monkeypatch.setattr("web.pages.MAX_PAGE", 4)
    _, html = page(client, "/", q="report", size=2, page=3)
    assert [text for text, _, _ in pager_links(html)] == ["1", "2", "3", "4"]
    assert 'data-max-page="4"' in html  # the script's pager stops there too


def test_a_single_page_has_no_pager(client) -> None:
    _, html = page(client, "/", q="الانتخابات")
    assert "<li" not in html.split('<nav class="pager"')[1].split("</nav>")[0]


def test_a_search_under_a_millisecond_says_so(client, monkeypatch) -> None:
    engine = client.application.extensions["fahras"]
    run = engine.run
    for took, english, arabic in (
        (0.4, "in &lt; 1 ms", "في أقل من 1 ملّي ثانية"),
        (2.6, "in 3 ms", "في 3 ملّي ثانية"),
    ):
        monkeypatch.setattr(
            engine, "run", lambda request, took=took: dataclasses.replace(run(request), took_ms=took)
        )
        assert f'<p class="muted" id="took">{english}</p>' in page(client, "/", q="report")[1]
        assert f'<p class="muted" id="took">{arabic}</p>' in page(client, "/", "ar", q="report")[1]
    assert M.script_strings("ar")["strings"]["took_under"] == "في أقل من %(ms)s ملّي ثانية"  # the script's


def test_numbered_marks_only_number_the_engines_marks() -> None:
    assert numbered_marks("no match") == ("no match", 0)
    typed = "a &lt;mark&gt; typed <mark>word</mark> and <mark>another</mark>"  # the engine escapes the text
    assert numbered_marks(typed) == ('a &lt;mark&gt; typed <mark id="m1">word</mark> and <mark id="m2">another</mark>', 2)  # fmt: skip


def test_the_document_page_counts_its_matches_and_links_to_the_first(client) -> None:
    _, html = page(client, "/doc/news/election.txt", q="الانتخابات OR المدينة")
    body = html.split('<div class="body"')[1].split("</div>")[0]
    assert '<mark id="m1">الانتخابات</mark>' in body and body.count("<mark") == 1
    assert (
        '<p id="match-count">1 match</p>' in html and '<a href="#m1" id="first-match">First match</a>' in html
    )
    title = html.split('<h1 id="doc-title"')[1].split("</h1>")[0]
    # the title's matches are marked, but neither numbered nor counted
    assert "<mark>الانتخابات</mark>" in title and "<mark>المدينة</mark>" in title
    assert '<p class="match-steps" id="match-steps" hidden>' in html  # previous and next need the script
    _, arabic = page(client, "/doc/many/doc3.txt", "ar", q="report OR harvests OR quarterly")
    assert '<p id="match-count">3 تطابقات</p>' in arabic and 'id="m3"' in arabic
    assert "أول تطابق" in arabic and "التطابق التالي" in arabic
    _, plain = page(client, "/doc/news/election.txt")
    assert 'id="matches"' not in plain and 'id="m1"' not in plain
    _, unmatched = page(client, "/doc/news/election.txt", q="football")
    assert 'id="matches"' not in unmatched


def test_the_document_page_says_when_only_the_first_matches_are_marked(tmp_path: Path) -> None:
    corpus = write_corpus(
        tmp_path / "long", {"long.txt": "Echoes\n\n" + "echo and more words " * (MAX_MATCHES + 50)}
    )
    rebuild(IndexHome(tmp_path / "index"), corpus, show_progress=False)
    client = create_app({"INDEX_DIR": str(tmp_path / "index"), "TESTING": True}).test_client()
    _, html = page(client, "/doc/long.txt", q="echo")
    assert f'<p id="match-count">At least {MAX_MATCHES} matches</p>' in html
    assert f'id="m{MAX_MATCHES}"' in html and f'id="m{MAX_MATCHES + 1}"' not in html


def facet_values(html: str, field: str) -> dict[str, tuple[str, bool]]:
    """A facet's entries: label -> (count, chosen)."""
    facet = html.split(f'id="facet-{field}"')[1].split("</section>")[0]
    found = {}
    for link in re.findall(r"<a [^>]*>.*?</a>", facet, re.S):
        label = re.sub(r"<[^>]+>", "", re.search(r'class="label">(.*?)</span><span', link).group(1))
        count = re.search(r'class="count">([^<]*)<', link).group(1)
        found[label] = (count, 'aria-current="true"' in link)
    return found


def test_several_values_of_a_facet(client) -> None:
    query = "report OR الأزمة OR football"
    _, one = page(client, "/", q=query, source="news")
    assert facet_values(one, "source") == {  # the sources one may add are still listed, with their counts
        "All": ("27", False), "many": ("25", False), "Sports Daily": ("1", False), "news": ("1", True),
    }  # fmt: skip
    _, html = page(client, "/", q=query, source=["news", "Sports Daily"])
    assert '<h1 id="total">2 results' in html
    assert facet_values(html, "source") == {
        "All": ("27", False), "many": ("25", False), "Sports Daily": ("1", True), "news": ("1", True),
    }  # fmt: skip
    assert facet_values(html, "lang") == {"All": ("2", True), "English": ("1", False), "Arabic": ("1", False)}
    chips = re.findall(r'class="chip removable" href="([^"]*)"[^>]*>([^<]*)', html)
    assert [(unquote_plus(href.replace("&amp;", "&")), label.strip()) for href, label in chips] == [
        ("/?q=report OR الأزمة OR football&source=Sports Daily", "Source: news"),
        ("/?q=report OR الأزمة OR football&source=news", "Source: Sports Daily"),
    ]
    many = re.search(r'<a href="([^"]*)" data-facet="source" data-value="many"', html).group(1)
    assert parse_qs(urlsplit(many.replace("&amp;", "&")).query)["source"] == ["news", "Sports Daily", "many"]
    _, nothing = page(client, "/", q=query, source=["news", "nowhere"])  # a value with no match stays, with 0
    assert facet_values(nothing, "source")["nowhere"] == ("0", True)


def test_facet_counts_follow_a_corrected_search(client) -> None:
    _, html = page(client, "/", q="harvestz", source="many")  # searched as "harvests"
    assert "Showing results for <bdi>harvests</bdi>" in html
    assert facet_values(html, "source") == {"All": ("25", False), "many": ("25", True)}
