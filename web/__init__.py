"""The Flask front end and JSON API (``create_app`` is the application factory)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from flask import Flask, g, request
from werkzeug.routing import PathConverter

from index.store import IndexHome, NoIndex
from search.engine import SearchEngine

from .i18n import Translator, choose_language, text_direction

# No inline script or style anywhere: everything is a static file.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class DocIdConverter(PathConverter):
    """Any non-empty string as a document id; it is only ever looked up in the index."""

    regex = r"[\s\S]+"
    part_isolating = False  # ids may hold slashes


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app. ``INDEX_DIR`` names the index home (default: fahras's default)."""
    app = Flask(__name__)
    # Document ids are arbitrary strings (a leading slash, a newline...): match
    # them whole, and keep "//" as it is rather than redirecting.
    app.url_map.converters["docid"] = DocIdConverter
    app.url_map.merge_slashes = False
    app.config.update(INDEX_DIR=None, JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=64 * 1024)
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.jinja_env.globals["text_direction"] = text_direction
    search_engine = SearchEngine(IndexHome(app.config["INDEX_DIR"]))
    with contextlib.suppress(NoIndex):  # the pages explain a missing index
        search_engine.warm_up()
    app.extensions["fahras"] = search_engine

    from .api import api
    from .pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api)

    @app.before_request
    def pick_language() -> None:
        g.t = Translator(choose_language(request))

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    return app


def engine() -> SearchEngine:
    """The app's search engine (one per app, shared by all threads)."""
    from flask import current_app

    return current_app.extensions["fahras"]
