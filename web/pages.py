"""The HTML pages: the search page, the document page, the error pages, and the language switch.

Every page keeps the user's search: the box holds the query, the filters
stay, and the links (to a document, back to the results, to another
language) carry them. Errors are said in the interface language and keep
the query and filters too.
"""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from itertools import pairwise
from urllib.parse import urlsplit

from flask import Blueprint, g, jsonify, make_response, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from search.backend import NoIndex
from search.engine import MAX_QUERY_CHARS, QueryError, SearchResults
from search.snippets import MAX_MATCHES

from . import engine, wants_json
from . import messages as M
from .i18n import COOKIE, LANGUAGES, N_
from .params import MAX_PAGE, ParamError, SearchParams, parse_search_params

pages = Blueprint("pages", __name__)

SPELLING_VARIANTS = ("أ/ا", "ة/ه", "ى/ي")
PAGES_AROUND = 2  # the pager links the pages this close to the current one, besides the first and the last

# Error pages: a title and a sentence, in the interface language.
ERRORS = {
    400: (N_("Bad request"), N_("Fahras could not understand this request.")),
    404: (N_("Page not found"), N_("There is no page at this address.")),
    405: (N_("Method not allowed"), N_("This address cannot be used that way.")),
    413: (N_("Request too large"), N_("The request is larger than Fahras accepts.")),
    500: (N_("Something went wrong"), N_("Fahras could not answer this request. Try again in a moment.")),
    "document": (N_("Document not found"), N_("It may have been removed from the index.")),
    "no_index": (N_("No index yet"), N_("There is no index yet. Create one on the server with %(command)s.")),
    "empty_index": (N_("The index is empty"), N_("Add documents on the server with %(command)s.")),
    "index_unusable": (
        N_("The index cannot be used"),
        N_(
            "It is damaged, or was written by another version of Fahras. Searches are unavailable until it "
            "is repaired (on the server: fahras check, then fahras rebuild)."
        ),
    ),
}
ERROR_FALLBACK = (N_("Error %(code)s"), N_("Fahras could not answer this request."))
BUILD_COMMAND = "fahras index FOLDER"


def render_error(status: int, kind: str | int | None = None, params: SearchParams | None = None):
    """An error page in the interface language and direction, keeping the search in the box."""
    title, message = ERRORS.get(kind or status, ERROR_FALLBACK)
    if params is None:
        params = parse_search_params(request.args, lenient=True)
    page = render_template("error.html", status=status, title=title, message=message, params=params,
                           command=BUILD_COMMAND)  # fmt: skip
    return page, status


@pages.get("/")
def home():
    try:
        params = parse_search_params(request.args)
    except ParamError as error:
        return _bad_search(error.translated(g.t), error_lang=g.t.lang)
    if not params.q:
        documents = _document_count()
        examples = engine().examples() if documents else []
        return _search_page(params, documents=documents, examples=examples, autofocus=True)
    try:
        results = engine().run(params.request())
    except QueryError as error:
        return _bad_search(error.translated(g.t.gettext), error_lang=g.t.lang)
    pages_total = min(MAX_PAGE, results.pages)
    pager = page_numbers(params.page, pages_total)
    return _search_page(params, results=results, pages_total=pages_total, pager=pager)


def page_numbers(current: int, last: int) -> list[int | None]:
    """The pager's pages: the first, the last and those near ``current``; None stands for pages left out (…).

    A gap of a single page shows that page: "1 2 3 4", not "1 … 3 4".
    """
    near = range(max(1, current - PAGES_AROUND), min(last, current + PAGES_AROUND) + 1)
    shown = sorted({1, last, *near})
    numbers: list[int | None] = []
    for before, page in pairwise([0, *shown]):
        if page - before == 2:
            numbers.append(page - 1)
        elif page - before > 2:
            numbers.append(None)
        numbers.append(page)
    return numbers


def _search_page(params: SearchParams, status: int = 200, results: SearchResults | None = None, **context):
    selected = {"lang": params.filters.lang, "source": params.filters.source}
    facets = {field: dict(counts) for field, counts in (results.facets if results else {}).items()}
    totals = dict.fromkeys(selected, results.total if results else 0)
    for field, values in selected.items():
        if results and values:
            totals[field], facets[field] = _choices(params, results, field)
        for value in values if results else ():
            facets.setdefault(field, {}).setdefault(value, 0)  # a chosen value stays visible, with its 0
    page = render_template(
        "search.html", params=params, results=results, facets=facets, totals=totals, selected=selected,
        active=active_filters(params), max_page=MAX_PAGE, variants=SPELLING_VARIANTS,
        script=M.script_strings(g.t.lang), M=M, command=BUILD_COMMAND, **context,
    )  # fmt: skip
    return page, status


def _choices(params: SearchParams, results: SearchResults, field: str) -> tuple[int, dict[str, int]]:
    """The matches, and their counts per value of ``field``, of this search without its ``field`` values.

    A facet whose values are chosen counts every value as if none were: the
    values one may add to the choice are listed with what they would add. The
    same query is searched as the results' (a correction searched in place of
    the query included), with the other filters.
    """
    searched = results.notice.searched if results.notice else None
    request = replace(
        params.request(), query=searched or params.q, page=1, size=1, snippets=False, suggest=False,
        correct=not searched and not params.verbatim, filters=replace(params.filters, **{field: ()}),
    )  # fmt: skip
    wider = engine().run(request)
    return wider.total, dict(wider.facets.get(field, {}))


def active_filters(params: SearchParams) -> list[tuple[str, str]]:
    """The filters in force, each as a label and the link that removes it (the page's chips)."""
    t, found = g.t, params.filters
    chips = []
    for lang in found.lang:
        name = t.gettext(M.SCRIPT.get(f"lang_{lang}", lang))
        chips.append((t.gettext("Language: %(value)s", value=name), params.toggled("lang", lang)))
    for source in found.source:
        chips.append((t.gettext("Source: %(value)s", value=source), params.toggled("source", source)))
    if found.date_from:
        chips.append(
            (
                t.gettext("From %(day)s", day=found.date_from.date()),
                params.url_args(page=None, **{"from": None}),
            )
        )
    if found.date_to:
        chips.append(
            (t.gettext("Until %(day)s", day=found.date_to.date()), params.url_args(page=None, to=None))
        )
    return [(label, url_for("pages.home", **args)) for label, args in chips]


def _bad_search(message: str, error_lang: str):
    """400 that keeps what the user typed: the query in the box, the filters, the dates to correct."""
    params = parse_search_params(request.args, lenient=True)
    return _search_page(params, 400, error=message, error_lang=error_lang,
                        typed_from=request.args.get("from", "")[:20], typed_to=request.args.get("to", "")[:20])  # fmt: skip


def _document_count() -> int | None:
    try:
        return engine().stats().documents
    except NoIndex:
        return None


@pages.get("/doc/<docid:doc_id>")
def document(doc_id: str):
    params = parse_search_params(request.args, lenient=True)
    found = engine().document(doc_id, highlight=params.q[:MAX_QUERY_CHARS] or None)
    if found is None:
        return render_error(404, "document", params)
    body_html, matches = numbered_marks(found["body_html"])
    numbered_pages, before = [], 0  # the same numbers when the text is shown page by page
    for page in found["pages"]:
        html, count = numbered_marks(page["html"], before)
        numbered_pages.append({**page, "html": html})
        before += count
    doc = {**found, "body_html": body_html, "pages": numbered_pages}
    return render_template("document.html", doc=doc, params=params, matches=matches,
                           capped=matches >= MAX_MATCHES, script=M.script_strings(g.t.lang))  # fmt: skip


def numbered_marks(body_html: str, before: int = 0) -> tuple[str, int]:
    """The engine's marked text with each ``<mark>`` given an id (``m1``, ``m2``... after ``before``), and how many.

    The engine escapes the whole text and writes no tag but ``<mark>``, so
    every ``<mark>`` in it is a match: links can point at the first one.
    """
    first, *marked = body_html.split("<mark>")
    numbered = "".join(f'<mark id="m{n}">{rest}' for n, rest in enumerate(marked, before + 1))
    return first + numbered, len(marked)


@pages.get("/file/<docid:doc_id>")
def original(doc_id: str):
    """The file a document was read from, by the document's id only (the engine checks it is still held)."""
    path = engine().original(doc_id)
    if path is None:
        return render_error(404, "document")
    return send_file(path, mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                     download_name=path.name, conditional=True)  # fmt: skip


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host, never a control character in a header.

    A path must start with one slash and not two: ``//host`` (or ``////host``,
    which browsers and Werkzeug collapse to it) names another site.
    """
    target = target or "/"
    parts = urlsplit(target)
    unsafe = (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    )
    if unsafe or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return url_for("pages.home")
    return target


@pages.get("/ui/<lang>")
def switch_language(lang: str):
    response = make_response(redirect(_safe_next(request.args.get("next"))))
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@pages.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    # The exception's own headers (Allow for a 405, WWW-Authenticate...) are kept.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    if wants_json():
        return jsonify(error=error.description or error.name), error.code, headers
    page, status = render_error(error.code or 500)
    return page, status, headers
