"""The JSON API: /api/search, /api/doc/<id>, /api/suggest, /healthz, /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from search.engine import MAX_QUERY_CHARS, QueryError, SearchResults

from . import engine
from .openapi import OPENAPI
from .params import MAX_PAGE, MAX_SUGGEST_CHARS, ParamError, SearchParams, parse_search_params

api = Blueprint("api", __name__)


def _error(message: str, status: int):
    return jsonify(error=message), status


@api.errorhandler(ParamError)
@api.errorhandler(QueryError)
def bad_request(error: Exception):
    return _error(str(error), 400)


@api.get("/api/search")
def search():
    params = parse_search_params(request.args)
    if not params.q:
        raise ParamError("'q' is required: the words to search for")
    results = engine().run(params.request())
    data = results.to_dict()
    data["next"] = _next_page(params, results)
    warning = engine().warning()
    if warning:
        data["warning"] = warning  # the index was built by another version: rebuild it
    return jsonify(data)


def _next_page(params: SearchParams, results: SearchResults) -> str | None:
    """The URL of the following page of these results (as Datasette's ``next_url``), None on the last."""
    if params.page >= min(results.pages, MAX_PAGE):
        return None
    return url_for("api.search", _external=True, **params.url_args(page=params.page + 1))


@api.get("/api/doc/<docid:doc_id>")
def document(doc_id: str):
    found = engine().document(doc_id, highlight=request.args.get("q", "")[:MAX_QUERY_CHARS] or None)
    if found is None:
        return _error(f"no document with id {doc_id!r}", 404)
    found["file_url"] = url_for("pages.original", doc_id=doc_id, _external=True) if found["file"] else None
    return jsonify(found)


@api.get("/api/suggest")
def suggest():
    prefix = request.args.get("q", "")
    if len(prefix) > MAX_SUGGEST_CHARS:
        raise ParamError(f"'q' is too long for suggestions (at most {MAX_SUGGEST_CHARS} characters)")
    return jsonify(query=prefix, suggestions=engine().suggest(prefix) if prefix.strip() else [])


@api.get("/healthz")
def health_check():
    """200 when searches can run (status "outdated" with a warning: rebuild advised); else 503."""
    state = engine().health()  # raises for a missing, damaged or unreadable index: 503 with a message
    if state.warning:
        return jsonify(status="outdated", warning=state.warning, documents=state.documents)
    return jsonify(status="ok", documents=state.documents)


@api.get("/api/openapi.json")
def openapi():
    return jsonify(OPENAPI)
