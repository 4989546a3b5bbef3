"""The HTML pages: the search page, the document page, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from index.store import NoIndex
from search.engine import QueryError

from . import engine, wants_json
from .i18n import COOKIE, LANGUAGES
from .params import MAX_PAGE, ParamError, parse_search_params

pages = Blueprint("pages", __name__)

EXAMPLES = ("الانتخابات", "الأَزْمَة", "machine learning", "موسكو", "football OR كرة")


@pages.get("/")
def home():
    try:
        params = parse_search_params(request.args)
    except ParamError as error:
        return render_template("search.html", params=None, results=None, error=str(error)), 400
    if not params.q:
        return render_template("search.html", params=params, results=None, examples=EXAMPLES,
                               documents=_document_count())  # fmt: skip
    try:
        results = engine().run(params.request())
    except QueryError as error:
        return render_template("search.html", params=params, results=None, error=str(error)), 400
    pages_total = min(MAX_PAGE, results.pages)
    return render_template(
        "search.html", params=params, results=results, pages_total=pages_total, facet_choices=results.facets
    )


def _document_count() -> int | None:
    try:
        return engine().stats()["documents"]
    except NoIndex:
        return None


@pages.get("/doc/<docid:doc_id>")
def document(doc_id: str):
    query = request.args.get("q", "")[:1000]
    found = engine().document(doc_id, highlight=query or None)
    if found is None:
        return render_template("error.html", title=g.t("not_found"), message=g.t("not_found_hint")), 404
    return render_template("document.html", doc=found, query=query)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host, never a control character in a header."""
    target = target or "/"
    parts = urlsplit(target)
    unsafe = parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target
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
    page = render_template("error.html", title=f"{error.code} {error.name}", message=error.description)
    return page, error.code, headers
