"""The OpenAPI 3 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from search.engine import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SORTS
from search.syntax import LANGS

from .params import MAX_PAGE, MAX_PARAM_CHARS, MAX_SUGGEST_CHARS


def _json(description: str, schema: str | dict) -> dict:
    """A response whose body is JSON of ``schema`` (a component's name, or a schema)."""
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json("Bad parameters", "Error")
_UNUSABLE = _json(
    "No index yet, or it is damaged or unreadable by this version (the error says which)", "Error"
)
_MARKED = "HTML-escaped text; the query's matches wrapped in <mark>"
_HIT = {
    "type": "object",
    "required": ["id", "title", "snippet", "score", "lang", "source", "date", "url", "title_html"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "title_html": {"type": "string", "description": f"the title as {_MARKED}"},
        "snippet": {"type": "string", "description": _MARKED},
        "score": {"type": "number"},
        "lang": {"type": "string"},
        "source": {"type": "string"},
        "date": {"type": ["string", "null"], "format": "date"},
        "url": {"type": ["string", "null"]},
        "page": {
            "type": ["integer", "null"],
            "description": "in a paged file (PDF): the page the snippet is on",
        },
        "ocr": {
            "type": "boolean",
            "description": "the snippet's page was recognised from its image (its text may hold OCR errors)",
        },
        "similar": {
            "type": "array",
            "description": "near-duplicates folded under this hit, in their order (fold=0 shows them as hits)",
            "items": {
                "type": "object",
                "required": ["id", "title"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "lang": {"type": "string"},
                    "source": {"type": "string"},
                    "date": {"type": ["string", "null"], "format": "date"},
                    "url": {"type": ["string", "null"]},
                },
            },
        },
    },
}


def _param(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


_FOLD = _param(
    "fold",
    "0: show near-duplicates as hits of their own (by default each goes under the first of them, "
    "among the first 100 results)",
    {"type": "string", "enum": ["0", "1"]},
)


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
                        'query (Fahras\'s query language: words, "phrases", AND/OR/NOT, fields, prefix*, fuzzy~)',
                        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                        True,
                    ),
                    _param("page", "page number", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                    _param(
                        "size",
                        "results per page",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                    ),
                    _param(
                        "lang",
                        "language filter (repeat for several: any of them)",
                        {"type": "array", "items": {"type": "string", "enum": list(LANGS)}},
                    ),
                    _param(
                        "source",
                        "source filter (repeat for several: any of them)",
                        {"type": "array", "items": {"type": "string", "maxLength": MAX_PARAM_CHARS}},
                    ),
                    _param("from", "earliest date", {"type": "string", "format": "date"}),
                    _param("to", "latest date", {"type": "string", "format": "date"}),
                    _param("sort", "ordering", {"type": "string", "enum": list(SORTS)}),
                    _param(
                        "verbatim",
                        "1: search the query as typed, never a correction of it",
                        {"type": "string", "enum": ["0", "1"]},
                    ),
                    _param(
                        "typing",
                        "1: the query is being typed: its last word, perhaps unfinished, is searched as a prefix too",
                        {"type": "string", "enum": ["0", "1"]},
                    ),
                    _FOLD,
                ],
                "responses": {
                    "200": _json("Results", "Results"),
                    "400": _ERROR,
                    "503": _UNUSABLE,
                },
            }
        },
        "/api/export": {
            "get": {
                "summary": "Every result of a search (up to 10,000, unfolded), in its order, streamed as a file",
                "description": "Takes the parameters of /api/search (page and size aside). CSV has a header "
                "row (rank, id, title, date, lang, source, url, page, score, snippet: plain text) and is safe to "
                "open in a spreadsheet; JSON Lines has one hit of /api/search's format per line.",
                "parameters": [
                    _param(
                        "q", "query", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}, True
                    ),
                    _param("format", "file format", {"type": "string", "enum": ["csv", "jsonl"]}),
                ],
                "responses": {
                    "200": {
                        "description": "The results, as an attachment",
                        "content": {"text/csv": {}, "application/x-ndjson": {}},
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
                    "200": _json("The document", "Document"),
                    "404": _json("No document has this id", "Error"),
                    "503": _UNUSABLE,
                },
            }
        },
        "/api/suggest": {
            "get": {
                "summary": "Completions of the last word typed, from the index vocabulary",
                "parameters": [
                    _param("q", "text typed so far", {"type": "string", "maxLength": MAX_SUGGEST_CHARS})
                ],
                "responses": {"200": _json("Suggestions", "Suggestions"), "400": _ERROR, "503": _UNUSABLE},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Whether searches can run, and the document count",
                "responses": {
                    "200": _json(
                        'status "ok", or "outdated" with a warning: built by another version of Fahras, '
                        "searches work but it should be rebuilt",
                        "Health",
                    ),
                    "503": _json(
                        'status "no index", or "unusable" (damaged, or unreadable by this version) with an '
                        "error message",
                        {
                            "allOf": [
                                {"$ref": "#/components/schemas/Health"},
                                {"$ref": "#/components/schemas/Error"},
                            ]
                        },
                    ),
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Hit": _HIT,
            "Document": {
                "type": "object",
                "required": [
                    "id",
                    "title",
                    "title_html",
                    "lang",
                    "source",
                    "date",
                    "url",
                    "body",
                    "body_html",
                    "path",
                ],
                "properties": {
                    **{
                        name: _HIT["properties"][name]
                        for name in ("id", "title", "title_html", "lang", "source", "date", "url")
                    },
                    "body": {"type": "string", "description": "the stored text (up to a million characters)"},
                    "body_html": {"type": "string", "description": f"the body as {_MARKED} (of ?q=)"},
                    "path": {
                        "type": ["string", "null"],
                        "description": "the file it was read from, in the collection",
                    },
                    "pages": {
                        "type": "array",
                        "description": "a paged file's text page by page (empty for other documents)",
                        "items": {
                            "type": "object",
                            "required": ["number", "html", "ocr"],
                            "properties": {
                                "number": {"type": "integer", "minimum": 1},
                                "html": {"type": "string", "description": f"the page's text as {_MARKED}"},
                                "ocr": {"type": "boolean", "description": "recognised from the page's image"},
                            },
                        },
                    },
                    "file": {"type": "boolean", "description": "whether file_url serves the original file"},
                    "file_url": {
                        "type": ["string", "null"],
                        "description": "the original file (a whole file still in the indexed folder), by id",
                    },
                },
            },
            "Suggestions": {
                "type": "object",
                "required": ["query", "suggestions"],
                "properties": {
                    "query": {"type": "string"},
                    "suggestions": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "completions of the last word, as written in the documents",
                    },
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "documents"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "outdated", "no index", "unusable"]},
                    "documents": {"type": "integer", "minimum": 0},
                    "warning": {"type": "string", "description": 'with "outdated": what to do'},
                    "error": {
                        "type": "string",
                        "description": 'with "no index" and "unusable": what is wrong',
                    },
                },
            },
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
                    "next",
                ],
                "properties": {
                    "query": {"type": "string"},
                    "total": {
                        "type": "integer",
                        "description": "the matches, less the near-duplicates folded",
                    },
                    "total_all": {
                        "type": ["integer", "null"],
                        "description": "for a keyword query (two to four words): the matches holding every word, "
                        "which come first; null for other queries",
                    },
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
                        "(kind spelling or keyboard, with searched and original; a spelling notice with words "
                        "names the query's words that matched nothing and were searched with an alternative), "
                        "or a query of stop words alone (kind stop_words, with words), or a query whose quotes, "
                        "parentheses or operators did not pair up, searched as plain words (kind plain_text, with "
                        "searched, original and detail)",
                        "properties": {
                            "kind": {
                                "type": "string",
                                "enum": ["spelling", "keyboard", "stop_words", "plain_text"],
                            },
                            "detail": {"type": "string", "description": "plain_text: what was wrong"},
                            "searched": {"type": "string"},
                            "original": {"type": "string"},
                            "words": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["kind"],
                    },
                    "searched_as": {
                        "type": "array",
                        "description": "each query word, the forms searched for it (stems, roots) and the written "
                        "forms that matched them in this page's hits",
                        "items": {
                            "type": "object",
                            "required": ["word", "searched", "forms"],
                            "properties": {
                                "word": {"type": "string"},
                                "searched": {"type": "array", "items": {"type": "string"}},
                                "forms": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "also_searched": {
                        "type": "array",
                        "description": "names across scripts: query words also searched as the words of the other "
                        "script that sound like them in this index (Haftar: حفتر); empty with verbatim=1",
                        "items": {
                            "type": "object",
                            "required": ["word", "also"],
                            "properties": {
                                "word": {"type": "string"},
                                "also": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "folded": {
                        "type": "integer",
                        "description": "near-duplicates folded under other hits (not counted in total)",
                    },
                    "next": {
                        "type": ["string", "null"],
                        "format": "uri",
                        "description": "the URL of the following page of these results; null on the last page",
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
