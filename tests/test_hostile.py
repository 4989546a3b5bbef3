"""Hostile input: property tests of the analyzers, the query path, the web app and its escaping.

Every test is bounded: Hypothesis runs a modest number of examples without a
deadline (no example database, so nothing is written into the repository) and
the index is the small bilingual corpus plus a few XSS documents, built once.

The bugs these tests found (operator runs, fuzzy prefixes and distances, date
literals, deep nesting, lone surrogates, unusual document ids) each keep a
regression test in the last section.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import web
from index.analysis import exact_analyzer, stemmed_analyzer
from index.documents import with_characters
from index.generations import rebuild
from index.store import IndexHome
from search.engine import QueryError, SearchEngine, SearchResults
from search.notices import PLAIN_TEXT
from web import create_app

from .conftest import SMALL_CORPUS, files_opened, write_corpus


def hostile_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# ------------------------------------------------------------------ strategies

ARABIC_LETTERS = st.characters(min_codepoint=0x0621, max_codepoint=0x064A)
HARAKAT = st.characters(min_codepoint=0x064B, max_codepoint=0x065F)
PRESENTATION_FORMS = st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF)
LATIN_ACCENTED = st.characters(min_codepoint=0x00C0, max_codepoint=0x024F)
COMBINING_MARKS = st.characters(min_codepoint=0x0300, max_codepoint=0x036F)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
SPECIALS = st.sampled_from(
    [
        "\u0670",  # dagger alef
        "\u0640",  # tatweel
        "\u200c",  # ZWNJ
        "\u200d",  # ZWJ
        "\u200e",
        "\u200f",
        "\u061c",
        *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
        *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
        *(chr(0x0660 + i) for i in range(10)),  # Arabic-Indic digits
        *(chr(0x06F0 + i) for i in range(10)),  # Persian digits
        "\ufdfa",  # one character, a whole phrase under NFKC
        "\ufdf2",
        "\ufefb",  # lam-alef ligature
        "\ufeff",
        "'",
        "’",
        "_",
        "-",
        " ",
        "\n",
        "\t",
        "\u00a0",
        "\u3000",
        "ß",
        "İ",
        "ǅ",
        "ﬀ",
        "\u0345",
        "\x00",
    ]
)
BILINGUAL_CHARS = st.one_of(
    ARABIC_LETTERS,
    HARAKAT,
    PRESENTATION_FORMS,
    LATIN_ACCENTED,
    COMBINING_MARKS,
    EMOJI,
    SPECIALS,
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
)
BILINGUAL_TEXT = st.text(alphabet=BILINGUAL_CHARS, max_size=120)
LONG_TOKENS = st.builds(
    lambda char, size: char * size,
    st.one_of(ARABIC_LETTERS, HARAKAT, LATIN_ACCENTED, SPECIALS, st.sampled_from(["a", "a'", "بَ"])),
    st.integers(min_value=1_000, max_value=50_000),
)
ANALYZER_TEXT = st.one_of(
    st.text(),
    BILINGUAL_TEXT,
    st.text(alphabet=st.one_of(SURROGATES, ARABIC_LETTERS, HARAKAT, SPECIALS), max_size=60),
    LONG_TOKENS,
)

QUERY_ATOMS = [
    # words
    "x", "ab", "stars", "football", "كرة", "الأزمة", "وزير", "ال", "تم", "café", "١٢", "2024",
    # operators and syntax
    "AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO", "and", "not",
    '"', "(", ")", "[", "]", "{", "}", "*", "?", "~", "~1", "~2", "~/3", "~2/3", "/2",
    "^", "^2", "^-1", "^1e400", ":", "::", "\\", "+", "-", "'", "<", ">", "=", "!", "&", "|",
    # fields, existing or not
    "title:", "body:", "title_exact:", "id:", "lang:", "source:", "date:", "inventory:", "foo:",
    "date:2024", "date:[2024 TO 2025]", "date:yesterday", "lang:ar",
    # hostile Unicode
    "\u202e", "\u2066", "\u2069", "\u200d", "\u0640", "\u064b", "\u0670", "😀", "\x00", "\ufdfa", "ﻻ",
]  # fmt: skip
SEPARATORS = st.sampled_from(["", " ", " ", "  ", "\t", "\n", "\u3000"])
GRAMMAR_QUERIES = st.lists(
    st.tuples(st.sampled_from(QUERY_ATOMS), SEPARATORS).map("".join), min_size=1, max_size=12
).map("".join)
LONG_QUERIES = st.builds(
    lambda piece, times: (piece * times)[:100_000],
    st.sampled_from(
        ["a", "الأزمة ", "((((((((x))))))))", "AND ", "NOT ", "ab* ", '"', "(", "x~2 ", "\u064b"]
    ),
    st.integers(min_value=1, max_value=100_000),
)
QUERIES = st.one_of(st.text(), BILINGUAL_TEXT, GRAMMAR_QUERIES, LONG_QUERIES)

HOSTILE_QUERIES = [
    "", " ", "\t\n\r", "\x00", "a" * 100_000, "الأزمة " * 20_000, "x" * 1000, "x" * 1001,
    "AND", "OR", "NOT", "OR NOT", "AND OR NOT", "x AND", "AND x", "NOT x", "x NOT", "ANDNOT", "ANDMAYBE",
    '"', '"open', '""', '"a b"~3', '"a b"~x', "(", ")", "(x", "x)", "()", "(())", ")(",
    "((((((((x))))))))", "((((((((x))))))))" * 200, "(" * 100 + "x" + ")" * 100,
    "foo:bar", "title:", "title:(x)", 'title:""', ":", ":x", "x:", "x:y:z", "title::x",
    "*", "a*", "?", "*x", "ab*", "ab??", "ab*" * 200, "ab*c*d*e*", "*:*", "id:*", "title:ab*",
    "~", "^", "\\", "x~", "x~1", "stars~2", "x~~", "x^", "x^2", "x^-1", "x^abc", "x^1e400", "x^^",
    "[a TO z]", "{a TO z}", "[ TO ]", "[x TO]", "date:2024", "date:[2024 TO 2025]", "date:yesterday",
    "date:>2024", "date:[2025-01-01 TO 2024-01-01]", "lang:ar", "id:j1", "inventory:x", "title_exact:x",
    "+x", "-x", "x -y", "x/2", "<>", "&", "=", "'", "{", "}", "[", "]",
    "\u202e\u2066x\u2069", "\u200d\u200c", "\u0640" * 50, "\u064b", "\u0670", "😀" * 10, "١٢٣",
    "\ufdfa", "ﻻ", "café", "ΣΊΣΥΦΟΣ", "javascript:alert(1)", "<script>alert(1)</script>",
    "%00", "%s%s%n", "{0}", "{}", "'; DROP TABLE docs;--", "' OR 1=1 --",
]  # fmt: skip


def answered(call: Callable[[], object], query: str) -> object:
    """Run one call: it returns, or raises a QueryError with a message.

    Its time is bounded by search/budget.py's deadline, tested with a clock of
    its own in tests/test_budget.py (a stopwatch here would fail on a busy machine).
    """
    try:
        return call()
    except QueryError as error:
        assert str(error).strip(), f"QueryError without a message for {query!r}"
        return error


# ------------------------------------------------------------------ fixtures

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    "</mark><script>alert(1)</script><mark>",
    "<svg/onload=alert(1)>",
    "'\"><iframe src=javascript:alert(1)></iframe>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]
XSS_RECORDS = [
    {
        "id": f"xss{i}",
        "title": f"{payload} خبيث malicious",
        "text": f"كلمة خبيثة {payload} malicious payload number {i} {payload} نهاية alert",
        "source": payload,
        "url": "javascript:alert(1)",
        "date": "2024-01-01",
    }
    for i, payload in enumerate(XSS_PAYLOADS)
] + [{"id": XSS_PAYLOADS[1], "title": "id payload", "text": "malicious identifier"}]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    root = tmp_path_factory.mktemp("hostile")
    corpus = write_corpus(
        root / "corpus",
        {
            **SMALL_CORPUS,
            "xss.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in XSS_RECORDS),
            "xss.html": "<html><head><title>&lt;script&gt;alert(3)&lt;/script&gt;</title></head>"
            "<body><p>malicious &lt;img src=x onerror=alert(4)&gt; page</p></body></html>",
        },
    )
    home = IndexHome(root / "index")
    rebuild(home, corpus, show_progress=False)
    return home


@pytest.fixture(scope="module")
def engine(site: IndexHome) -> SearchEngine:
    return SearchEngine.at(site)


@pytest.fixture(scope="module")
def app(site: IndexHome):
    return create_app({"INDEX_DIR": str(site.path), "TESTING": True})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


# ================================================================== 1. analyzers

ANALYZERS = {
    "stemmed": stemmed_analyzer,
    "exact": exact_analyzer,
    "roots": lambda: stemmed_analyzer("isri"),
}
SHARED_ANALYZERS = {name: make() for name, make in ANALYZERS.items()}


def analyse(analyzer, text: str, **kwargs) -> list[tuple]:
    # Whoosh reuses one Token object: read everything inside the loop.
    return [
        (t.text, t.pos, t.startchar, t.endchar, getattr(t, "stopped", False))
        for t in analyzer(text, positions=True, chars=True, **kwargs)
    ]


def check_tokens(tokens: list[tuple], text: str) -> None:
    last_start = 0
    for word, _pos, start, end, stopped in tokens:
        assert 0 <= start < end <= len(text), (word, start, end, len(text))
        assert stopped or word, f"empty token at {start}:{end} of {text[:80]!r}"
        assert start >= last_start, "tokens out of order"
        last_start = start


@pytest.mark.parametrize("name", ANALYZERS)
@hostile_settings(200)
@given(text=ANALYZER_TEXT)
def test_analyzer_offsets_and_determinism(name: str, text: str) -> None:
    shared = SHARED_ANALYZERS[name]
    for kwargs in ({}, {"mode": "query"}, {"removestops": False}):
        first = analyse(shared, text, **kwargs)
        check_tokens(first, text)
        assert analyse(shared, text, **kwargs) == first, "not deterministic"
        assert analyse(ANALYZERS[name](), text, **kwargs) == first, "a warm cache changes the result"


@pytest.mark.parametrize("name", ANALYZERS)
@hostile_settings(150)
@given(text=st.one_of(st.text(), BILINGUAL_TEXT))
def test_analyzer_verbatim_mode(name: str, text: str) -> None:
    # Whoosh analyses wildcard and fuzzy terms with tokenize=False.
    tokens = analyse(SHARED_ANALYZERS[name], text, tokenize=False, removestops=False)
    assert len(tokens) <= 1
    for _word, _pos, start, end, _stopped in tokens:
        assert 0 <= start <= end <= len(text)
    assert analyse(SHARED_ANALYZERS[name], text, tokenize=False, removestops=False) == tokens


@pytest.mark.parametrize("name", ANALYZERS)
@pytest.mark.parametrize(
    "text",
    [
        "a" * 50_000,
        "ب" * 50_000,
        "\u064b" * 50_000,
        "\u0640" * 50_000,
        "\u200d" * 50_000,
        "a'" * 25_000,
        "بَ" * 25_000,
        "ﻻ" * 50_000,
        ("word " * 10_000).strip(),
        "abc\ud800def \udfffبِ\udc80",
        "\ud800",
        "كتاب\u202eكتب\u202c \u2066نص\u2069",
    ],
    ids=lambda text: f"{text[:6]!r}x{len(text)}",
)
def test_analyzer_extremes(name: str, text: str) -> None:
    tokens = analyse(SHARED_ANALYZERS[name], text)
    check_tokens(tokens, text)
    assert analyse(SHARED_ANALYZERS[name], text) == tokens


# ================================================================== 2. the query path


def exercise_engine(engine: SearchEngine, query: str) -> None:
    result = answered(lambda: engine.search(query, facets=True, suggest=True), query)
    if isinstance(result, SearchResults):
        assert result.total >= 0 and len(result.hits) <= result.size
        for hit in result.hits:
            assert_safe_snippet(hit.snippet)
        answered(lambda: engine.search(query, page=3, size=1, sort="date"), query)
    # The document page highlights with the query: it must never fail because of it.
    doc = answered(lambda: engine.document("j1", highlight=query), query)
    if isinstance(doc, dict):
        assert unmarked(doc["body_html"]) == doc["body"]
    answered(lambda: engine.suggest(query[:100]), query)


@hostile_settings(250)
@given(query=QUERIES)
def test_engine_answers_or_explains(engine: SearchEngine, query: str) -> None:
    exercise_engine(engine, query)


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: f"{q[:24]!r}x{len(q)}")
def test_engine_hostile_queries(engine: SearchEngine, query: str) -> None:
    answered(lambda: engine.search(query, facets=True, suggest=True), query)
    doc = engine.document("j1", highlight=query)
    assert doc is not None and unmarked(doc["body_html"]) == doc["body"]


def test_query_errors_are_specific(engine: SearchEngine) -> None:
    for query, expected in [
        ("", "Type something"),
        ("x" * 100_000, "too long"),
        ("a*", "at least 2 letters before the *"),
        ("qzjxkvwpy~5", "1 or 2 edits"),
    ]:
        with pytest.raises(QueryError, match=re.escape(expected)):
            engine.search(query)


def test_pasted_text_is_searched_with_the_specific_reason(engine: SearchEngine) -> None:
    for query, expected in [
        ('"open', "unmatched quote"),
        ("((x)", "without a matching ')'"),
        ("x)", "without a matching '('"),
        ("x AND", "needs words on both sides"),
    ]:
        notice = engine.search(query).notice
        assert notice.kind == PLAIN_TEXT and expected in notice.detail, query


# ================================================================== 3. the web app

DOC_IDS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.lists(
        st.sampled_from([*"./%\\2fFeEcC~:", "..", "%2f", "%2e", "%00", "etc", "passwd", "ب"]), min_size=1
    ).map("".join),
    st.builds(lambda n: "../" * n + "etc/passwd", st.integers(1, 30)),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "ب", "%2e", "/"]), st.integers(1, 5000)),
)
SEARCH_PARAM_VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1", "0", "-1", "1e3", "1_000", "٣", "١٠٠٠٠", " 5 ", "abc", "9" * 5000, "0x10"]),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-13-45", "2024-02-30", "0000-01-01", "20240101", "٢٠٢٤-٠١-٠١"]),
    st.sampled_from(["relevance", "date", "ar", "en", "mixed", "Sports Daily", "news"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["s", "ع", "%"]), st.integers(150, 10_000)),
)
SEARCH_PARAMS = st.dictionaries(
    st.sampled_from(["page", "size", "sort", "lang", "source", "from", "to"]), SEARCH_PARAM_VALUES, max_size=4
)


def get(client, path: str, query: str, **params):
    """GET path (?q=query&params): an answer or a query error."""
    return answered(lambda: client.get(path, query_string={"q": query, **params}), query)


def check_api_response(response, allowed=(200, 400)) -> dict:
    assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    data = response.get_json()
    if response.status_code >= 400:
        assert isinstance(data.get("error"), str) and data["error"].strip()
    return data


def check_web_search(client, query: str, params: dict) -> None:
    data = check_api_response(get(client, "/api/search", query, **params))
    for hit in data.get("hits", []):
        assert_safe_snippet(hit["snippet"])
        assert_safe_snippet(hit["title_html"])
    response = get(client, "/", query, **params)
    assert response.status_code in (200, 400), response.status_code
    assert_no_injected_markup(response.get_data(as_text=True))
    data = check_api_response(get(client, "/api/suggest", query))
    assert isinstance(data.get("suggestions", []), list)


@hostile_settings(150)
@given(query=QUERIES, params=SEARCH_PARAMS)
def test_web_never_500(client, query: str, params: dict) -> None:
    check_web_search(client, query, params)


@pytest.mark.parametrize(
    "params",
    [
        {"page": str(10**30)},
        {"page": "-" + str(10**30)},
        {"page": "9" * 5000},
        {"size": "-1"},
        {"size": "0"},
        {"size": "abc"},
        {"size": str(10**30)},
        {"from": "2024-13-45"},
        {"to": "2024-02-30"},
        {"from": "2025-01-01", "to": "2024-01-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"lang": "x" * 10_000},
        {"lang": "ar" * 5},
        {"source": "s" * 10_000},
        {"source": "Sports Daily"},
        {"sort": "date" * 1000},
        {"sort": "date", "page": "1000", "size": "100"},
    ],
    ids=lambda p: ",".join(f"{k}={v[:12]}" for k, v in p.items()),
)
@pytest.mark.parametrize("query", ["football", "كرة OR stars", "\x00", "((((x))))", ""])
def test_web_oversized_params(client, query: str, params: dict) -> None:
    check_web_search(client, query, params)


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: f"{q[:24]!r}x{len(q)}")
def test_web_hostile_queries(client, query: str) -> None:
    check_web_search(client, query, {})


def _outside_the_index(name: str, client) -> bool:
    """A file a request has no business opening: anything but the index and the app's own files."""
    allowed = (client.application.extensions["fahras"].backend.location, str(Path(web.__file__).parent))
    return not name.startswith(allowed) and not name.startswith(sys.prefix) and "/proc/" not in name


def check_document_routes(client, raw_id: str) -> None:
    paths = {quote(raw_id, safe=""), quote(raw_id, safe="/"), quote(raw_id, safe="/%.")}
    for path in paths:
        for prefix in ("/api/doc/", "/doc/"):
            # follow: a leading or doubled slash is merged by a 308 redirect
            with files_opened() as opened:
                response = client.get(prefix + path, follow_redirects=True)
            assert response.status_code in (200, 404), (prefix + path, response.status_code)
            assert not [name for name in opened if _outside_the_index(name, client)], opened
            if prefix == "/api/doc/":
                check_api_response(response, allowed=(200, 404))


@hostile_settings(150)
@given(raw_id=DOC_IDS)
def test_document_ids(client, raw_id: str) -> None:
    check_document_routes(client, raw_id)


@pytest.mark.parametrize(
    "path",
    [
        "/api/doc/../../../../etc/passwd",
        "/api/doc/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/api/doc/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/api/doc/....//....//etc/passwd",
        "/api/doc/%252e%252e%252fetc%252fpasswd",
        "/api/doc/..%5c..%5c..%5cetc%5cpasswd",
        "/api/doc/%00",
        "/api/doc/x%00y",
        "/api/doc/etc/passwd%00.txt",
        "/api/doc/%ff%fe",
        "/api/doc/%D8%A7%D9%84%D8%A3%D8%B2%D9%85%D8%A9",
        "/api/doc/" + "a" * 20_000,
        "/api/doc/" + "%2e%2e%2f" * 500,
        "/doc/..%2f..%2f..%2fetc%2fpasswd",
        "/doc/%00?q=x",
        "/doc/" + "ب" * 5000,
        "/api/doc/file:///etc/passwd",
        "/api/doc//etc/passwd",
    ],
    ids=lambda p: p[:40],
)
def test_document_paths_never_reach_the_file_system(client, path: str) -> None:
    with files_opened() as opened:
        response = client.get(path, follow_redirects=True)
    assert response.status_code in (200, 404), response.status_code
    assert not [name for name in opened if _outside_the_index(name, client)], opened
    if path.startswith("/api/"):
        check_api_response(response, allowed=(404,))


@pytest.mark.parametrize(
    "raw_id", ["j1", "news/crisis.txt", XSS_PAYLOADS[1], "culture/poetry.html", "xss3"], ids=repr
)
@hostile_settings(15)
@given(query=QUERIES)
def test_document_page_with_hostile_highlight(client, app, raw_id: str, query: str) -> None:
    with app.test_request_context():
        page_url, api_url = url_for("pages.document", doc_id=raw_id), url_for("api.document", doc_id=raw_id)
    doc = check_api_response(get(client, api_url, query), allowed=(200,))
    assert doc["id"] == raw_id and unmarked(doc["body_html"]) == doc["body"]
    response = get(client, page_url, query)
    assert response.status_code == 200
    assert_no_injected_markup(response.get_data(as_text=True))


# ================================================================== 4. escaping (XSS)

MARK = re.compile(r"</?mark>")
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def unmarked(snippet: str) -> str:
    return html.unescape(MARK.sub("", snippet))


def assert_safe_snippet(snippet: str) -> None:
    """Escaped text where the only markup is <mark>…</mark>, never nested."""
    assert re.fullmatch(r"(?:[^<>]|<mark>[^<>]*</mark>)*", snippet), snippet
    assert not _ENTITY.search(snippet), f"unescaped & in {snippet!r}"


APP_SCRIPT = "/static/app.js"
DANGEROUS_TAGS = {
    "img",
    "svg",
    "iframe",
    "object",
    "embed",
    "math",
    "base",
    "frame",
    "video",
    "audio",
    "style",
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, attrs))


def assert_no_injected_markup(page: str) -> None:
    """The page holds only the templates' own markup: payloads come out as text."""
    parser = _Tags()
    parser.feed(page)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in DANGEROUS_TAGS, f"injected <{tag}>"
        values = dict(attrs)
        if tag == "script":
            assert values.get("src") == APP_SCRIPT, f"injected script {attrs}"
        for name, value in attrs:
            assert not name.startswith("on"), f"injected event handler {name}= on <{tag}>"
            if name in {"href", "src", "action", "formaction"} and value:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), f"<{tag} {name}={value}>"
    assert page.lower().count("<script") == 1, "a <script> beyond the app's own"
    marks = re.findall(r'<mark(?: id="m[0-9]+")?>', page)  # the document page numbers its matches (m1, m2...)
    assert len(marks) == page.count("</mark>"), "unbalanced <mark>"


@pytest.mark.parametrize(
    "query", ["malicious", "خبيثة", "alert", "script", "img onerror", "mark", "javascript", "payload number"]
)
def test_xss_documents_are_escaped_everywhere(client, app, query: str) -> None:
    data = check_api_response(client.get("/api/search", query_string={"q": query}), allowed=(200,))
    assert data["hits"], query
    for hit in data["hits"]:
        assert_safe_snippet(hit["snippet"])
    page = client.get("/", query_string={"q": query})
    assert page.status_code == 200
    assert_no_injected_markup(page.get_data(as_text=True))
    for hit in data["hits"]:
        with app.test_request_context():
            url = url_for("pages.document", doc_id=hit["id"], q=query)
            api_url = url_for("api.document", doc_id=hit["id"], q=query)
        doc_page = client.get(url)
        assert doc_page.status_code == 200, url
        assert_no_injected_markup(doc_page.get_data(as_text=True))
        doc = check_api_response(client.get(api_url), allowed=(200,))
        assert unmarked(doc["body_html"]) == doc["body"]


@pytest.mark.parametrize("query", [*XSS_PAYLOADS, "<*script>", "<s*", "</mark><b>x</b>", "x ' \" < > &"])
def test_xss_in_the_query_is_escaped(client, query: str) -> None:
    for params in ({}, {"source": query}, {"sort": query}):
        response = client.get("/", query_string={"q": query, **params})
        assert response.status_code in (200, 400)
        assert_no_injected_markup(response.get_data(as_text=True))
        api = check_api_response(client.get("/api/search", query_string={"q": query, **params}))
        for hit in api.get("hits", []):
            assert_safe_snippet(hit["snippet"])
    doc = client.get("/doc/xss0", query_string={"q": query})
    assert doc.status_code == 200
    assert_no_injected_markup(doc.get_data(as_text=True))


@pytest.mark.parametrize("prefix", ["ma", "mal", "al", "sc", "خب", "كل", "malicious sc", "<script> al", "ال"])
def test_suggestions_carry_no_markup_from_documents(client, prefix: str) -> None:
    data = check_api_response(client.get("/api/suggest", query_string={"q": prefix}), allowed=(200,))
    assert_suggestions_are_words(prefix, data["suggestions"])


def assert_suggestions_are_words(prefix: str, suggestions: list[str]) -> None:
    """Each suggestion is the prefix's leading words (as typed) and one word of a document."""
    head = " ".join(prefix.split()[:-1])
    for suggestion in suggestions:
        assert suggestion.startswith(head), (prefix, suggestion)
        word = suggestion[len(head) :].strip()
        assert word and not set(word) & set('<>&"'), (prefix, suggestion)


XSS_FRAGMENTS = [
    "<", ">", "&", '"', "'", "/", "=", " ", "<script>", "</script>", "<mark>", "</mark>", "<b>",
    "<img src=x onerror=alert(1)>", '"><svg/onload=alert(1)>', "javascript:", "&amp;", "&lt;", "&#60;",
    "&#x3C;", "alert(1)", "onerror=", "كلمة", "خبيث", "الأَزْمَة", "\u200f", "\u202e", "\u0640", "\n",
]  # fmt: skip
XSS_TEXT = st.lists(
    st.one_of(
        st.sampled_from(XSS_FRAGMENTS),
        st.text(alphabet=st.sampled_from(list("<>&\"'/= abcسلام")), max_size=12),
    ),
    min_size=1,
    max_size=10,
).map("".join)


@hostile_settings(30)
@given(payload=XSS_TEXT, other=XSS_TEXT)
def test_generated_payloads_are_escaped(
    tmp_path_factory: pytest.TempPathFactory, payload: str, other: str
) -> None:
    root = tmp_path_factory.mktemp("xss")
    doc_id = "d-" + payload.strip()
    record = {
        "id": doc_id,
        "title": f"{payload} needle",
        "text": f"{payload} needle {other} ابرة {payload}\n{other} needle",
        "source": payload.strip()[:150],
        "url": f"javascript:{other}",
    }
    second = {"id": "plain", "title": other.strip() or "x", "text": f"needle {other}"}
    corpus = write_corpus(root / "corpus", {"feed.jsonl": f"{json.dumps(record)}\n{json.dumps(second)}"})
    home = IndexHome(root / "index")
    rebuild(home, corpus, show_progress=False)
    app = create_app({"INDEX_DIR": str(home.path), "TESTING": True})
    client = app.test_client()

    searched = client.get(
        "/api/search", query_string={"q": "needle", "fold": "0"}
    )  # the two may be near-duplicates
    data = check_api_response(searched, allowed=(200,))
    assert {hit["id"] for hit in data["hits"]} == {doc_id, "plain"}
    for hit in data["hits"]:
        assert_safe_snippet(hit["snippet"])
        body = with_characters((record if hit["id"] == doc_id else second)["text"]).strip()  # &amp; read as &
        for piece in unmarked(hit["snippet"]).removeprefix("… ").removesuffix(" …").split(" … "):
            assert piece in body, (piece, body)
    for query in ("needle", payload, f"needle {payload}"):
        page = client.get("/", query_string={"q": query, "source": record["source"]})
        assert page.status_code in (200, 400)
        assert_no_injected_markup(page.get_data(as_text=True))
    with app.test_request_context():
        page_url = url_for("pages.document", doc_id=doc_id, q="needle")
        api_url = url_for("api.document", doc_id=doc_id)
    page = client.get(page_url)
    assert page.status_code == 200, page_url
    assert_no_injected_markup(page.get_data(as_text=True))
    doc = get(client, api_url, f"needle {payload}")
    if doc is not None:
        assert (
            unmarked(check_api_response(doc, allowed=(200,))["body_html"])
            == with_characters(record["text"]).strip()
        )
    for prefix in ("ne", "اب", payload[:20]):
        suggest = check_api_response(client.get("/api/suggest", query_string={"q": prefix}))
        assert_suggestions_are_words(prefix, suggest.get("suggestions", []))


# ================================================================== regressions

FORMERLY_CRASHING = [
    pytest.param("NOT NOT x", None),  # nothing to negate: searched as the words typed
    pytest.param("x ANDNOT ANDNOT y", None),  # ANDNOT is a word, not an operator
    pytest.param("x~2/3", None),
    pytest.param("stars~/9", None),
    pytest.param("date:[a TO b]", "write a date as"),
    pytest.param('date:"x"', "write a date as"),
    pytest.param("(" * 499 + "x" + ")" * 499, "nests parentheses", id="nested-499"),
]


@pytest.mark.parametrize(("query", "message"), FORMERLY_CRASHING)
def test_formerly_crashing_queries_are_query_errors(
    engine: SearchEngine, query: str, message: str | None
) -> None:
    if message is None:
        assert engine.search(query).total >= 0
    else:
        with pytest.raises(QueryError, match=re.escape(message)):
            engine.search(query)


@pytest.mark.parametrize(("query", "message"), FORMERLY_CRASHING)
def test_formerly_crashing_queries_are_not_500s(client, query: str, message: str | None) -> None:
    for path in ("/api/search", "/", "/api/doc/j1", "/doc/j1"):
        response = client.get(path, query_string={"q": query})
        assert response.status_code in (200, 400), path


def test_lone_surrogate_in_a_query_is_harmless(engine: SearchEngine) -> None:
    assert engine.search("\udcffabc").total == 0


def test_fuzzy_edit_distance_is_bounded(engine: SearchEngine) -> None:
    # Checked on the query, not with a stopwatch: a loose fuzzy search costs seconds.
    with pytest.raises(QueryError, match="1 or 2 edits"):
        engine.search("stars~3")
    assert engine.search("stars~2").total == engine.search("stars").total == 1


@pytest.mark.parametrize("field", ["id", "source"])
def test_lone_surrogate_in_an_id_does_not_stop_indexing(tmp_path: Path, field: str) -> None:
    feed = f'{{"{field}": "bad\\ud800", "text": "broken"}}\n{{"id": "ok", "text": "fine"}}\n'
    corpus = write_corpus(tmp_path / "corpus", {"feed.jsonl": feed})
    home = IndexHome(tmp_path / "index")
    rebuild(home, corpus, show_progress=False)
    assert SearchEngine.at(home).search("fine").total == 1


@pytest.mark.parametrize("path", ["/api/search?q=hello", "/?q=hello", "/api/doc/s1", "/doc/s1"])
def test_lone_surrogate_in_a_text_does_not_break_pages(tmp_path: Path, path: str) -> None:
    feed = '{"id": "s1", "title": "cut \\ud83d title", "text": "hello \\udc00 world"}\n'
    corpus = write_corpus(tmp_path / "corpus", {"feed.jsonl": feed})
    home = IndexHome(tmp_path / "index")
    rebuild(home, corpus, show_progress=False)
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("doc_id", ["/2024/05/story", "line\nbreak"])
def test_unusual_ids_can_be_opened(tmp_path: Path, doc_id: str) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"feed.jsonl": json.dumps({"id": doc_id, "text": "needle"})})
    home = IndexHome(tmp_path / "index")
    rebuild(home, corpus, show_progress=False)
    client = create_app({"INDEX_DIR": str(home.path), "TESTING": True}).test_client()
    links = re.findall(r'href="(/doc/[^"]*)"', client.get("/?q=needle").get_data(as_text=True))
    assert links
    assert client.get(html.unescape(links[0]), follow_redirects=True).status_code == 200
