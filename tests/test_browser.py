"""The search page in a real browser (headless Chromium), over the bundled demo corpus.

Starts ``fahras serve`` as a user would, then searches in Arabic and English on a
desktop and on a phone-sized screen: highlighted results that read right to left,
filters (several values of one), numbered pages, the document page and its matches
and back, the keyboard's path through the page, results that arrive while typing
(and the same page without JavaScript), error pages in both languages, printing,
and an axe-core audit (WCAG 2.1 A and AA, in light and dark mode) when axe-core
is installed (``.ci/run`` installs it from npm; the audit is skipped without it).
Screenshots of each state are saved in ``test-artifacts/`` for a reviewer.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
import urllib.request
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from index.generations import rebuild
from index.store import IndexHome
from web.server import DEMO_CORPUS

from .servers import free_port, start_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
QUERY = "المدينة العالم عام"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("browser") / "index"
    rebuild(IndexHome(index_dir), DEMO_CORPUS, show_progress=False)
    port = free_port()
    process = start_server(index_dir, port, "--workers", "1")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def open_page(browser, locale: str = "en", viewport: dict = DESKTOP, **options):
    """A fresh page whose script errors are collected in ``page.errors``."""
    page = browser.new_context(locale=locale, viewport=viewport, **options).new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def poll(page, check, what: str, seconds: float = 5.0):
    """Wait until ``check()`` is truthy (polled: the page's CSP forbids Playwright's eval-based waits)."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        page.wait_for_timeout(50)
    return found


def focused(page) -> str:
    """What has the focus: its id, else a short description."""
    return page.evaluate(
        "(() => { const e = document.activeElement; if (!e) return ''; if (e.id) return '#' + e.id;"
        " const hit = e.closest('.hit'); if (hit) return 'hit'; const f = e.closest('#filters');"
        " if (f) return 'filter'; return e.tagName.toLowerCase() + '.' + (e.className || ''); })()"
    )


def api(base: str, **params: str | int | list[str]) -> dict:
    with urllib.request.urlopen(f"{base}/api/search?{urlencode(params, doseq=True)}", timeout=10) as response:
        return json.load(response)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def test_search_journey(server: str, browser) -> None:
    expected = api(server, q=QUERY, lang="ar")
    assert expected["total"] > 10, "the demo corpus should give this query two pages of Arabic results"
    page = open_page(browser, "ar")
    page.goto(server + "/")
    assert page.get_attribute("html", "dir") == "rtl"  # Accept-Language: ar
    poll(page, lambda: focused(page) == "#q", "the box has the focus on arrival")
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=**")
    page.wait_for_selector("ol.hits li")
    assert page.locator("ol.hits .snippet mark").count() > 0 and page.locator("ol.hits h2 mark").count() > 0
    first_snippet = page.locator("ol.hits li .snippet").first
    assert first_snippet.evaluate("el => getComputedStyle(el).direction") == "rtl"
    shot(page, "desktop-results-ar", full=True)

    page.click('#filters a[data-facet="lang"][data-value="ar"]')
    page.wait_for_url("**lang=ar**")
    assert page.inner_text("#total").startswith(f"{expected['total']:,} نتيجة")  # 11-99: singular noun
    first_page_titles = page.locator("ol.hits h2").all_inner_texts()

    page.click("#next-page")
    page.wait_for_url("**page=2**")
    second_page_titles = page.locator("ol.hits h2").all_inner_texts()
    assert second_page_titles and not set(first_page_titles) & set(second_page_titles)
    assert len(first_page_titles) + len(second_page_titles) == min(expected["total"], 20)

    page.locator("ol.hits h2 a").first.click()
    page.wait_for_selector("article.document")
    assert page.locator("article.document .body mark").count() > 0
    page.click("#ui-switch")
    page.wait_for_selector('html[dir="ltr"]')
    assert page.inner_text("a.back") == "Back to results"
    assert page.errors == []


def test_document_page_round_trip_keeps_query_filters_and_page(server: str, browser) -> None:
    page = open_page(browser, "ar")
    page.goto(server + "/?" + urlencode({"q": QUERY, "lang": "ar", "page": 2}))
    titles = page.locator("ol.hits h2").all_inner_texts()
    page.locator("ol.hits h2 a").first.click()
    page.wait_for_selector("article.document")
    assert page.input_value("#q") == QUERY  # the box holds the search
    label = page.locator(".docmeta dt").nth(1).bounding_box()  # Source
    value = page.locator(".docmeta dd bdi").first.bounding_box()
    gap = label["x"] - (value["x"] + value["width"])  # RTL: the value sits just left of its label
    assert 0 <= gap < 40, f"the source is {gap:.0f} px away from its label"
    shot(page, "desktop-document-ar")
    page.click("#back")
    page.wait_for_selector("ol.hits li")
    assert query_of(page.url) == {"q": [QUERY], "lang": ["ar"], "page": ["2"]}
    assert page.locator("ol.hits h2").all_inner_texts() == titles
    assert page.errors == []


def test_keyboard_reaches_the_skip_link_then_box_results_filters(server: str, browser) -> None:
    page = open_page(browser, "en")
    page.goto(server + "/?q=election")
    page.keyboard.press("Tab")
    assert focused(page) == "a.skip" and page.locator("a.skip").is_visible()
    page.keyboard.press("Enter")
    poll(page, lambda: focused(page) == "#main", "the skip link moves the focus to the results")
    page.focus("#q")
    order = []
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(focused(page))
        if order[-1] == "filter":
            break
    assert "hit" in order and "filter" in order, order
    assert order.index("hit") < order.index("filter")
    assert order.index("hit") <= 6, f"{order.index('hit') + 1} Tab presses from the box to the first result"
    levels = page.eval_on_selector_all("h1, h2, h3", "els => els.map(e => Number(e.tagName[1]))")
    assert levels.count(1) == 1 and all(b - a <= 1 for a, b in pairwise(levels)), levels
    assert page.errors == []


def test_phone_layout(server: str, browser) -> None:
    page = open_page(browser, "en", PHONE)
    page.goto(server + "/?q=election OR المدينة OR moscow")
    page.wait_for_selector("ol.hits li")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    toggle = page.locator("#filters-toggle")
    assert (
        toggle.is_visible() and toggle.bounding_box()["y"] < PHONE["height"] / 4
    )  # at the top, not after the results
    assert not page.locator("#filters").is_visible()
    shot(page, "phone-results-en")
    page.mouse.wheel(0, 900)
    page.wait_for_timeout(200)
    header = page.locator("header.top").bounding_box()
    assert header["y"] == 0 and header["height"] <= 60, header  # a compact sticky header
    page.evaluate("window.scrollTo(0, 0)")

    toggle.click()
    poll(page, lambda: page.locator("#filters").is_visible(), "the Filters button opens the filters")
    assert page.get_attribute("#filters-toggle", "aria-expanded") == "true"
    shot(page, "phone-filters-en")
    page.keyboard.press("Escape")
    poll(page, lambda: not page.locator("#filters").is_visible(), "Escape closes the filters")
    toggle.click()
    page.click('#filters a[data-facet="lang"][data-value="en"]')
    page.wait_for_url("**lang=en**")
    chip = page.locator("#chips .chip")
    assert chip.count() == 1 and "English" in chip.inner_text()
    chip.click()
    page.wait_for_selector("ol.hits li")
    assert "lang" not in query_of(page.url) and query_of(page.url)["q"] == ["election OR المدينة OR moscow"]
    assert page.errors == []


def test_phone_layout_in_arabic_without_javascript(server: str, browser) -> None:
    page = open_page(browser, "ar", PHONE, java_script_enabled=False)
    page.goto(server + "/?q=المدينة")
    page.click("#filters-toggle")  # a link to #filters: the sheet opens with CSS alone
    poll(page, lambda: page.locator("#filters").is_visible(), "the filters open without JavaScript")
    shot(page, "phone-filters-ar-nojs")


def test_instant_results_while_typing(server: str, browser) -> None:
    page = open_page(browser, "en")
    page.goto(server + "/")
    page.evaluate("window.loadedOnce = true")  # gone if the page were reloaded
    page.locator("#q").press_sequentially("moscow", delay=60)
    poll(page, lambda: page.locator("ol.hits li").count() > 0, "results appear while typing")
    assert page.evaluate("window.loadedOnce === true")  # no page load: the script rendered them
    assert query_of(page.url) == {"q": ["moscow"]}  # a shareable address
    expected = api(server, q="moscow")
    count = f"{expected['total']} result{'' if expected['total'] == 1 else 's'} for “moscow”"
    poll(page, lambda: page.inner_text("#total") == count, "the count")
    typed = page.locator("ol.hits h2").all_inner_texts()
    assert typed == [hit["title"] for hit in expected["hits"]]
    assert page.locator("ol.hits h2 mark").count() > 0 and page.locator("#facet-source .count").count() > 0
    shot(page, "desktop-instant-en")

    page.locator("#q").press_sequentially(" OR الانتخابات", delay=30)
    poll(page, lambda: query_of(page.url)["q"] == ["moscow OR الانتخابات"], "the address follows the box")
    poll(page, lambda: len(page.locator("ol.hits h2").all_inner_texts()) > len(typed), "more results")
    instant = page.locator("ol.hits h2").all_inner_texts()
    page.goto(page.url)  # the shared address gives the same page, rendered by the server
    assert page.locator("ol.hits h2").all_inner_texts() == instant
    assert page.errors == []


def test_instant_results_read_exactly_like_the_loaded_page(server: str, browser) -> None:
    """Counts (Arabic plurals), dates, facets and marks drawn by the script match the server's page."""
    page = open_page(browser, "ar")
    page.goto(server + "/")
    page.locator("#q").press_sequentially("الانتخابات OR moscow", delay=20)
    poll(page, lambda: query_of(page.url).get("q") == ["الانتخابات OR moscow"], "the address follows the box")
    poll(page, lambda: page.locator("ol.hits time").count() > 0, "dated results")
    page.wait_for_timeout(400)  # the last keystroke's answer
    drawn = {
        part: page.inner_html(part)
        for part in ("#total", "#notices", "ol.hits", "#facet-lang ul", "#facet-source ul")
    }
    page.goto(page.url)
    loaded = {part: page.inner_html(part) for part in drawn}

    def text(html: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())

    for part in drawn:
        assert text(drawn[part]) == text(loaded[part]), part
    assert "موسكو" in text(drawn["#notices"])  # moscow was also searched in Arabic, and both pages say so
    assert page.errors == []


def test_the_page_works_without_javascript(server: str, browser) -> None:
    page = open_page(browser, "ar", java_script_enabled=False)
    page.goto(server + "/")
    page.fill("#q", "موسكو")
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.hits li")
    assert page.locator("ol.hits .snippet mark").count() > 0
    page.locator("ol.hits h2 a").first.click()
    page.wait_for_selector("article.document")
    page.click("#back")
    page.wait_for_selector("ol.hits li")
    assert query_of(page.url) == {"q": ["موسكو"]}


@pytest.mark.parametrize(("locale", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_error_pages_in_both_languages(server: str, browser, locale: str, direction: str) -> None:
    page = open_page(browser, locale)
    response = page.goto(server + "/no/such/page")
    assert response.status == 404 and page.get_attribute("html", "dir") == direction
    heading = page.inner_text("h1")
    assert heading == {"ar": "الصفحة غير موجودة", "en": "Page not found"}[locale]
    assert page.locator("h1").evaluate("el => getComputedStyle(el).direction") == direction
    shot(page, f"desktop-404-{locale}")

    search = {"q": "strike OR bank", "lang": "en", "from": "2025-02-01", "to": "2025-01-01"}
    response = page.goto(server + "/?" + urlencode(search))
    assert response.status == 400
    assert page.input_value("#q") == "strike OR bank"  # the search is kept
    assert page.input_value(".error input[name=from]") == "2025-02-01"  # and the dates, to correct
    message = page.inner_text(".error")
    assert ("تاريخ البداية" if locale == "ar" else "the start date is later than the end date") in message
    page.fill(".error input[name=from]", "2024-01-01")
    page.click(".error button[type=submit]")
    page.wait_for_selector("ol.hits li")
    assert query_of(page.url)["lang"] == ["en"] and query_of(page.url)["q"] == ["strike OR bank"]
    shot(page, f"desktop-dates-fixed-{locale}")


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page (opened with ``bypass_csp``: axe is injected)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )


needs_axe = pytest.mark.skipif(
    not AXE.exists(), reason="axe-core is not installed (npm install axe-core; .ci/run does it)"
)


@needs_axe
@pytest.mark.parametrize(
    ("name", "path", "locale", "viewport"),
    [
        ("home", "/", "en", DESKTOP),
        ("results", f"/?q={QUERY}", "ar", DESKTOP),
        ("results-phone", "/?q=election&lang=en", "en", PHONE),
        ("document", "/doc/news/moscow-talks-ar.txt?q=موسكو", "ar", DESKTOP),
        ("no-results", "/?q=zzzqqq", "en", DESKTOP),
        ("not-found", "/nothing", "ar", PHONE),
    ],
)
def test_axe_finds_no_wcag_violations(
    server: str, browser, name: str, path: str, locale: str, viewport
) -> None:
    # axe is injected as a script, which the page's CSP (rightly) forbids: this context bypasses it.
    page = open_page(browser, locale, viewport, bypass_csp=True)
    page.goto(server + path)
    found = axe_violations(page)
    assert found == [], f"{name}: {found}"


def luminance(css_colour: str) -> float:
    """The relative luminance (WCAG) of a computed ``rgb(...)`` colour."""
    channels = [int(value) / 255 for value in re.findall(r"\d+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def colours(page, selector: str) -> tuple[str, str]:
    """An element's computed text and background colours."""
    return tuple(
        page.eval_on_selector(
            selector, "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        )
    )


@needs_axe
@pytest.mark.parametrize(
    ("name", "path", "locale", "viewport"),
    [
        ("home", "/", "en", DESKTOP),
        ("results", f"/?q={QUERY}&size=2&page=3&source=news&source=sport", "ar", DESKTOP),
        ("results-phone", "/?q=election OR moscow&source=news&source=sport#filters", "en", PHONE),
        ("document", "/doc/news/moscow-talks-ar.txt?q=موسكو", "ar", DESKTOP),
        ("no-results", "/?q=zzzqqq", "en", DESKTOP),
        ("bad-dates", "/?q=bank&from=2025-02-01&to=2025-01-01", "ar", PHONE),
    ],
)
def test_dark_mode_passes_the_same_audit(
    server: str, browser, name: str, path: str, locale: str, viewport
) -> None:
    page = open_page(browser, locale, viewport, bypass_csp=True, color_scheme="dark")
    page.goto(server + path)
    ink, background = colours(page, "html")  # light text on a dark page
    assert luminance(background) < 0.02 and luminance(ink) > 0.7, (ink, background)
    shot(page, f"dark-{name}-{locale}", full=True)
    found = axe_violations(page)
    assert found == [], f"{name}: {found}"


def pager_entries(page) -> list[tuple[str, str | None, str | None, dict[str, list[str]]]]:
    """The pager's pages: text, aria-current, aria-label and the link's query ("…" has none)."""
    found = page.eval_on_selector_all(
        "#pager li",
        "items => items.map(li => { const a = li.querySelector('a'); return a ? [a.textContent,"
        " a.getAttribute('aria-current'), a.getAttribute('aria-label'), a.href] : [li.textContent, null, null, ''] })",
    )
    return [(text, current, label, query_of(href) if href else {}) for text, current, label, href in found]


def test_numbered_pages_in_the_page_and_in_instant_results(server: str, browser) -> None:
    last = math.ceil(api(server, q=QUERY, size=2)["total"] / 2)
    assert last >= 7, "the demo corpus should give this query pages enough for a gap"
    page = open_page(browser, "ar")
    page.goto(server + "/?" + urlencode({"q": "موسكو", "size": 2}))
    page.fill("#q", "")
    page.locator("#q").press_sequentially(QUERY, delay=20)  # instant results: the script draws the pager
    poll(page, lambda: query_of(page.url).get("q") == [QUERY], "the address follows the box")
    poll(page, lambda: page.inner_text("#pager li:last-child") == str(last), "the pager of the new search")
    drawn = pager_entries(page)
    assert [text for text, *_ in drawn] == ["1", "2", "3", "…", str(last)]
    assert [(text, label) for text, current, label, _ in drawn if current == "page"] == [
        ("1", f"الصفحة 1 من {last}")
    ]
    assert drawn[1][2] == "الصفحة 2" and drawn[-1][3] == {"q": [QUERY], "size": ["2"], "page": [str(last)]}
    page.goto(page.url)
    assert pager_entries(page) == drawn  # the server's pager reads the same
    shot(page, "desktop-pager-ar")

    page.click(f"#pager a >> text='{last}'")  # the last page
    page.wait_for_url(f"**page={last}**")
    expected = api(server, q=QUERY, size=2, page=last)
    assert page.locator("ol.hits h2").all_inner_texts() == [hit["title"] for hit in expected["hits"]]
    on_last = pager_entries(page)
    assert [text for text, *_ in on_last] == ["1", "…", *map(str, range(last - 2, last + 1))]
    assert [text for text, current, *_ in on_last if current == "page"] == [str(last)]
    assert page.locator("#previous-page").count() == 1 and page.locator("#next-page").count() == 0
    page.click("#pager a >> text='1'")
    page.wait_for_selector("#pager a[aria-current=page] >> text='1'")
    assert "page" not in query_of(page.url)
    assert page.errors == []


def mark_in_view(page, selector: str) -> bool:
    """Whether a match is on screen, below the sticky header and the match navigation."""
    return page.evaluate(
        "s => { const box = document.querySelector(s).getBoundingClientRect();"
        " const bar = document.getElementById('matches').getBoundingClientRect();"
        " return box.top >= bar.bottom && box.bottom <= window.innerHeight; }",
        selector,
    )


def test_the_document_page_opens_on_the_first_match_and_steps_through_them(server: str, browser) -> None:
    page = open_page(browser, "en", PHONE)
    page.goto(server + "/doc/science/coral-reefs-climate-en.txt?q=heat")  # the first match is further down
    assert page.inner_text("#match-count") == "3 matches"
    poll(page, lambda: page.inner_text("#match-position") == "1 of 3", "the position among the matches")
    assert page.evaluate("window.scrollY") > 0 and mark_in_view(page, "#m1")
    assert page.get_attribute("#m1", "class") == "current"
    shot(page, "phone-document-first-match-en")
    page.click("#next-match")
    assert page.inner_text("#match-position") == "2 of 3" and mark_in_view(page, "#m2")
    assert page.evaluate("location.hash") == "#m2" and page.locator("mark.current").count() == 1
    page.click("#next-match")
    page.click("#next-match")  # after the last, the first again
    assert page.inner_text("#match-position") == "1 of 3" and mark_in_view(page, "#m1")
    page.click("#previous-match")
    assert page.inner_text("#match-position") == "3 of 3" and mark_in_view(page, "#m3")
    shot(page, "phone-document-last-match-en")
    page.click("#first-match")
    poll(page, lambda: page.inner_text("#match-position") == "1 of 3", "the first match link")
    assert mark_in_view(page, "#m1")
    assert page.errors == []


def test_the_document_page_matches_in_arabic_by_keyboard(server: str, browser) -> None:
    page = open_page(browser, "ar")
    page.goto(server + "/doc/news/election-campaign-ar.txt?q=الانتخابات")
    count = page.locator(".body mark").count()
    assert 3 <= count <= 10 and page.inner_text("#match-count") == f"{count} تطابقات"  # 3-10: plural noun
    poll(page, lambda: page.inner_text("#match-position") == f"1 من {count}", "the position, in Arabic")
    assert page.evaluate("window.scrollY") == 0  # the first match is in view already: the title stays
    page.focus("#next-match")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert page.inner_text("#match-position") == f"3 من {count}" and focused(page) == "#next-match"
    assert page.get_attribute("#match-position", "aria-live") == "polite"  # said to screen readers
    shot(page, "desktop-document-matches-ar")
    assert page.errors == []


def test_the_document_page_matches_without_javascript(server: str, browser) -> None:
    page = open_page(browser, "en", PHONE, java_script_enabled=False)
    page.goto(server + "/doc/science/coral-reefs-climate-en.txt?q=heat")
    assert page.inner_text("#match-count") == "3 matches" and not page.locator("#match-steps").is_visible()
    assert page.evaluate("window.scrollY") == 0
    page.click("#first-match")
    poll(page, lambda: page.evaluate("location.hash") == "#m1", "the link to the first match")
    assert mark_in_view(page, "#m1")
    shot(page, "phone-document-first-match-en-nojs")


def test_two_sources_at_once(server: str, browser) -> None:
    query = "election OR المدينة OR moscow"
    page = open_page(browser, "en")
    page.goto(server + "/?" + urlencode({"q": query}))
    page.click('#filters a[data-facet="source"][data-value="news"]')
    page.wait_for_url("**source=news**")
    page.click('#filters a[data-facet="source"][data-value="sport"]')  # the other sources are still offered
    page.wait_for_url("**source=sport**")
    assert query_of(page.url)["source"] == ["news", "sport"]
    expected = api(server, q=query, source=["news", "sport"])
    assert page.inner_text("#total").startswith(f"{expected['total']} results")
    assert set(page.locator("ol.hits .source").all_inner_texts()) == {"news", "sport"}  # both, and only them
    chosen = page.locator("#facet-source a[aria-current] .label").all_inner_texts()
    assert chosen == ["news", "sport"]
    for source in ("news", "sport"):  # each chosen source keeps its own count
        count = page.inner_text(f'#facet-source a[data-value="{source}"] .count')
        assert count == str(api(server, q=query, source=source)["total"])
    offered = page.locator("#facet-source a:not([aria-current]) .label").all_inner_texts()
    assert "culture" in offered and "All" in offered
    assert page.locator("#chips .chip").all_inner_texts() == ["Source: news ×", "Source: sport ×"]
    shot(page, "desktop-two-sources-en", full=True)

    page.fill("#q", "")
    page.locator("#q").press_sequentially("المدينة OR moscow", delay=20)  # instant results keep both sources
    poll(page, lambda: query_of(page.url).get("q") == ["المدينة OR moscow"], "the address follows the box")
    page.wait_for_timeout(500)  # the last keystroke's answers
    drawn = {
        part: page.inner_text(part) for part in ("#total", "#facet-lang ul", "#facet-source ul", "ol.hits")
    }
    assert query_of(page.url)["source"] == ["news", "sport"]
    page.goto(page.url)
    assert {part: page.inner_text(part) for part in drawn} == drawn  # what the server's page says

    page.click('#chips .chip >> text="Source: news"')
    page.wait_for_url("**/?q=*&source=sport")
    assert set(page.locator("ol.hits .source").all_inner_texts()) == {"sport"}
    assert page.errors == []


def test_instant_results_under_a_millisecond(server: str, browser) -> None:
    page = open_page(browser, "ar")

    def quick(route) -> None:
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "took_ms": 0.3})

    page.route("**/api/search?**", quick)
    page.goto(server + "/")
    page.locator("#q").press_sequentially("موسكو", delay=30)
    poll(page, lambda: page.inner_text("#took") == "في أقل من 1 ملّي ثانية", "under a millisecond, not 0 ms")
    assert page.errors == []


def displayed(page, selector: str) -> list[str]:
    """The computed ``display`` of every element that ``selector`` finds."""
    return page.eval_on_selector_all(selector, "els => els.map(e => getComputedStyle(e).display)")


def test_printing_leaves_out_the_controls(server: str, browser) -> None:
    page = open_page(browser, "en", color_scheme="dark")  # printed black on white all the same
    search = {"q": "election OR المدينة OR moscow", "size": 2, "source": ["news", "sport"]}
    page.goto(server + "/?" + urlencode(search, doseq=True))
    page.emulate_media(media="print")
    for selector in (
        "form.searchbox",
        "#ui-switch",
        "#filters",
        "form.dates",
        "#pager",
        ".toolbar",
        "#chips",
        "button",
    ):
        assert set(displayed(page, selector)) == {"none"}, selector
    assert page.locator("ol.hits li").first.is_visible() and page.locator("#total").is_visible()
    assert colours(page, "html") == ("rgb(0, 0, 0)", "rgb(255, 255, 255)")
    assert colours(page, "ol.hits h2 a")[0] == "rgb(0, 0, 0)"
    shot(page, "print-results-en", full=True)

    page = open_page(browser, "ar")
    page.goto(server + "/doc/news/moscow-talks-ar.txt?q=موسكو")
    page.emulate_media(media="print")
    for selector in ("form.searchbox", "#matches", "#back", "button"):
        assert set(displayed(page, selector)) == {"none"}, selector
    assert page.locator(".body").is_visible() and page.locator("#doc-title").is_visible()
    assert colours(page, ".body mark") == (
        "rgb(0, 0, 0)",
        "rgba(0, 0, 0, 0)",
    )  # matches in bold, no ink wasted
    shot(page, "print-document-ar", full=True)
    page.pdf(path=str(ARTIFACTS / "print-document-ar.pdf"))
