"""The OpenAPI 3 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from search.engine import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SORTS

from .params import LANGS, MAX_PAGE

_ERROR = {
    "description": "Bad parameters",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_UNUSABLE = {
    "description": "No index yet, or it is damaged or unreadable by this version (the error says which)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_HIT = {
    "type": "object",
    "required": ["id", "title", "snippet", "score", "lang", "source", "date", "url"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "snippet": {"type": "string", "description": "HTML-escaped text; matched words wrapped in <mark>"},
        "score": {"type": "number"},
        "lang": {"type": "string"},
        "source": {"type": "string"},
        "date": {"type": ["string", "null"], "format": "date"},
        "url": {"type": ["string", "null"]},
    },
}


def _param(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Fahras search API", "version": "1"},
    "paths": {
        "/api/search": {
            "get": {
                "summary": "Ranked, highlighted results with facets",
                "parameters": [
                    _param(
                        "q",
                        "query (Whoosh syntax)",
                        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                        True,
                    ),
                    _param("page", "page number", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                    _param(
                        "size",
                        "results per page",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                    ),
                    _param("lang", "language filter", {"type": "string", "enum": list(LANGS)}),
                    _param("source", "source filter", {"type": "string", "maxLength": 200}),
                    _param("from", "earliest date", {"type": "string", "format": "date"}),
                    _param("to", "latest date", {"type": "string", "format": "date"}),
                    _param("sort", "ordering", {"type": "string", "enum": list(SORTS)}),
                    _param(
                        "verbatim",
                        "1: search the query as typed, never a correction of it",
                        {"type": "string", "enum": ["0", "1"]},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "Results",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}},
                    },
                    "400": _ERROR,
                    "503": _UNUSABLE,
                },
            }
        },
        "/api/doc/{id}": {
            "get": {
                "summary": "One document, with the query's matches marked in body_html",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    _param(
                        "q", "query whose matches to mark", {"type": "string", "maxLength": MAX_QUERY_CHARS}
                    ),
                ],
                "responses": {
                    "200": {"description": "The document"},
                    "404": {"description": "No such document"},
                    "503": _UNUSABLE,
                },
            }
        },
        "/api/suggest": {
            "get": {
                "summary": "Completions of the last word typed, from the index vocabulary",
                "parameters": [_param("q", "text typed so far", {"type": "string", "maxLength": 100})],
                "responses": {"200": {"description": "Suggestions"}, "400": _ERROR, "503": _UNUSABLE},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Whether searches can run, and the document count",
                "responses": {
                    "200": {
                        "description": 'status "ok", or "outdated" with a warning: built by another '
                        "version of Fahras, searches work but it should be rebuilt"
                    },
                    "503": {
                        "description": 'status "no index", or "unusable" (damaged, or unreadable by this '
                        "version) with an error message"
                    },
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Hit": _HIT,
            "Results": {
                "type": "object",
                "required": [
                    "query",
                    "total",
                    "total_exact",
                    "took_ms",
                    "page",
                    "size",
                    "hits",
                    "facets",
                    "suggestion",
                    "notice",
                ],
                "properties": {
                    "query": {"type": "string"},
                    "total": {"type": "integer"},
                    "total_exact": {
                        "type": "boolean",
                        "description": "always true: every match is counted (kept for older clients)",
                    },
                    "took_ms": {"type": "number"},
                    "page": {"type": "integer"},
                    "size": {"type": "integer"},
                    "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                    "facets": {
                        "type": "object",
                        "description": "matches per language and per source",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                    },
                    "suggestion": {"type": ["string", "null"], "description": "a did-you-mean query"},
                    "notice": {
                        "type": ["object", "null"],
                        "description": "why the results are what they are: a correction searched instead "
                        "(kind spelling or keyboard, with searched and original), or a query of stop words "
                        "alone (kind stop_words, with words)",
                        "properties": {
                            "kind": {"type": "string", "enum": ["spelling", "keyboard", "stop_words"]},
                            "searched": {"type": "string"},
                            "original": {"type": "string"},
                            "words": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["kind"],
                    },
                    "warning": {
                        "type": "string",
                        "description": "present when the index was built by another version of Fahras",
                    },
                },
            },
        }
    },
}
