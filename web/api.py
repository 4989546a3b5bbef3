"""The JSON API: /api/search, /api/export, /api/doc/<id>, /api/suggest, /healthz, /api/openapi.json."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for

from search.engine import MAX_QUERY_CHARS, QueryError, SearchHit, SearchResults

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


EXPORT_FORMATS = ("csv", "jsonl")
EXPORT_COLUMNS = ("rank", "id", "title", "date", "lang", "source", "url", "page", "score", "snippet")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


@api.get("/api/export")
def export():
    """Every result of a search (to MAX_EXPORTED), in its order, as CSV or JSON Lines, streamed."""
    params = parse_search_params(request.args)
    if not params.q:
        raise ParamError("'q' is required: the words to search for")
    kind = request.args.get("format", "csv")
    if kind not in EXPORT_FORMATS:
        raise ParamError("'format' must be one of: %(choices)s", choices=", ".join(EXPORT_FORMATS))
    hits = engine().every_hit(params.request())
    first = next(hits, None)  # a query that cannot run fails here, with a 400, before anything is sent
    rows = _csv_rows(first, hits) if kind == "csv" else _json_lines(first, hits)
    mimetype = "text/csv" if kind == "csv" else "application/x-ndjson"
    headers = {"Content-Disposition": f"attachment; filename=fahras-results.{kind}"}
    return Response(stream_with_context(rows), mimetype=mimetype, headers=headers)


def _json_lines(first: SearchHit | None, rest: Iterator[SearchHit]) -> Iterator[str]:
    """Each hit in the format of /api/search's hits, one JSON object a line."""
    if first is None:
        return
    for hit in _chained(first, rest):
        yield json.dumps(asdict(hit), ensure_ascii=False) + "\n"


def _csv_rows(first: SearchHit | None, rest: Iterator[SearchHit]) -> Iterator[str]:
    """A header, then a row per hit: its rank, fields and snippet as plain text (spreadsheet-safe)."""
    yield "\ufeff" + _csv_line(EXPORT_COLUMNS)  # the mark that tells spreadsheets the file is UTF-8
    if first is None:
        return
    for rank, hit in enumerate(_chained(first, rest), 1):
        values = (rank, hit.id, hit.title, hit.date, hit.lang, hit.source, hit.url, hit.page, hit.score,
                  _plain(hit.snippet))  # fmt: skip
        yield _csv_line(values)


def _chained(first: SearchHit, rest: Iterator[SearchHit]) -> Iterator[SearchHit]:
    yield first
    yield from rest


def _csv_line(values) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else _inert(str(v)) for v in values])
    return out.getvalue()


def _inert(text: str) -> str:
    """Text a spreadsheet shows rather than runs: a leading formula character is quoted away."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _plain(snippet_html: str) -> str:
    """A snippet's text without its marks and escapes."""
    return html.unescape(re.sub(r"</?mark>", "", snippet_html))


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
