"""The search page in a real browser (headless Chromium), over the bundled demo corpus.

Starts ``fahras serve`` as a user would, then types an Arabic query, checks the
highlighted results read right-to-left, filters by language, pages forward,
opens a document and switches the interface language. A screenshot of the
results page is saved in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from index.indexer import rebuild_index
from index.store import IndexHome
from web.server import DEMO_CORPUS

from .servers import free_port, start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
QUERY = "المدينة العالم عام"

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("browser") / "index"
    rebuild_index(IndexHome(index_dir), DEMO_CORPUS, show_progress=False)
    port = free_port()
    process = start_server(index_dir, port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def _wait_for_focus(page, element_id: str) -> None:
    deadline = time.monotonic() + 5  # polled: the page's CSP forbids Playwright's eval-based waits
    while page.evaluate("document.activeElement && document.activeElement.id") != element_id:
        assert time.monotonic() < deadline, f"#{element_id} never got the focus"
        page.wait_for_timeout(50)


def _api(base: str, **params: str) -> dict:
    from urllib.parse import urlencode

    with urllib.request.urlopen(f"{base}/api/search?{urlencode(params)}", timeout=10) as response:
        return json.load(response)


def test_search_journey(server: str, browser) -> None:
    expected = _api(server, q=QUERY, lang="ar")
    assert expected["total"] > 10, "the demo corpus should give this query two pages of Arabic results"
    page = browser.new_page(locale="ar", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(server + "/")
    assert page.get_attribute("html", "dir") == "rtl"  # Accept-Language: ar
    _wait_for_focus(page, "q")  # autofocus: the search box has focus on arrival
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.hits li")
    assert page.locator("ol.hits mark").count() > 0
    first_snippet = page.locator("ol.hits li .snippet").first
    assert first_snippet.evaluate("el => getComputedStyle(el).direction") == "rtl"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-ar.png"), full_page=True)

    page.click('a[data-facet="lang"][data-value="ar"]')
    page.wait_for_url("**lang=ar**")
    assert f"{expected['total']:,}" in page.inner_text("#total")
    first_page_titles = page.locator("ol.hits h3").all_inner_texts()

    page.click("#next-page")
    page.wait_for_url("**page=2**")
    second_page_titles = page.locator("ol.hits h3").all_inner_texts()
    assert second_page_titles and not set(first_page_titles) & set(second_page_titles)
    assert len(first_page_titles) + len(second_page_titles) == min(expected["total"], 20)

    page.locator("ol.hits h3 a").first.click()
    page.wait_for_selector("article.document")
    assert page.locator("article.document .body mark").count() > 0

    page.click("#ui-switch")
    page.wait_for_selector('html[dir="ltr"]')
    assert page.inner_text("a.back") == "Back to results"
    assert errors == []


def test_suggestions_fill_while_typing(server: str, browser) -> None:
    page = browser.new_page(locale="en")
    page.goto(server + "/")
    page.locator("#q").press_sequentially("الانت")
    options = page.locator("#suggestions option")
    deadline = time.monotonic() + 5  # polled from here: the page's CSP forbids eval
    while options.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    options = page.eval_on_selector_all("#suggestions option", "els => els.map(e => e.value)")
    assert "الانتخابات" in options


def test_phone_width_has_no_horizontal_scroll(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 800}, locale="en")
    page.goto(server + "/?q=" + "election")
    page.wait_for_selector("ol.hits li")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "results-phone-en.png"), full_page=False)
