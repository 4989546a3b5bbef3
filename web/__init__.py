"""The Flask front end and JSON API (``create_app`` is the application factory)."""

from __future__ import annotations

import traceback
from collections.abc import Mapping

from flask import Flask, g, jsonify, request
from werkzeug.routing import PathConverter

from search.backend import NEWER_WARNING, NoIndex, StoreError
from search.engine import SearchEngine

from .health import log_once, logged, public_message
from .i18n import Translator, choose_language, template_functions, text_direction

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


def create_app(config: Mapping[str, object] | None = None, engine: SearchEngine | None = None) -> Flask:
    """Build the app.

    ``engine`` is the search engine to serve (default: one over ``INDEX_DIR``);
    ``INDEX_DIR`` names the index location (default: fahras's default);
    ``CORS_ORIGIN`` (``*`` or an origin) lets browser clients on other origins
    read the JSON API (off by default).
    """
    app = Flask(__name__)
    # Document ids are arbitrary strings (a leading slash, a newline...): match
    # them whole, and keep "//" as it is rather than redirecting.
    app.url_map.converters["docid"] = DocIdConverter
    app.url_map.merge_slashes = False
    app.config.update(INDEX_DIR=None, CORS_ORIGIN=None, JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=64 * 1024)
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.jinja_env.globals["text_direction"] = text_direction
    app.jinja_env.globals.update(template_functions(lambda: g.t))
    search_engine = engine or SearchEngine.at(app.config["INDEX_DIR"])
    _warm_up(search_engine)
    app.extensions["fahras"] = search_engine

    from .api import api
    from .pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api)

    @app.before_request
    def pick_language() -> None:
        g.t = Translator(choose_language(request))

    @app.before_request
    def guard_index() -> None:
        if request.endpoint != "static":
            try:
                search_engine.guard()
            except StoreError as error:
                raise logged(error) from None

    @app.context_processor
    def index_state() -> dict:
        warning = search_engine.warning()
        return {"index_outdated": warning is not None, "index_newer": warning == NEWER_WARNING}

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        if app.config["CORS_ORIGIN"] and wants_json():
            response.headers.update(cors_headers(app.config["CORS_ORIGIN"]))
        return response

    @app.errorhandler(StoreError)
    def unusable_index(error: StoreError):
        return _unusable(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Not an HTTPException (those have their own handler): a bug, or damage
        # the size checks could not see. Damage gets a 503 and a message;
        # anything else goes on to Flask's 500.
        found = search_engine.diagnose(error)
        if found is None:
            raise error
        return _unusable(logged(found))

    return app


def _warm_up(search_engine: SearchEngine) -> None:
    """Open the index before the first request; an unusable one is logged, never fatal.

    A worker that died on a damaged index would only be restarted to die
    again; serving 503s with a message lets /healthz say what is wrong.
    """
    try:
        search_engine.warm_up()
    except NoIndex:  # the pages explain a missing index
        pass
    except Exception as error:
        found = search_engine.diagnose(error)
        if found is None:
            log_once(f"could not open the index: {''.join(traceback.format_exception(error)).strip()}")
        else:
            logged(found)


def cors_headers(origin: str) -> dict[str, str]:
    """What lets a page on ``origin`` (or any, for ``*``) read the API: reads only, no credentials."""
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Content-Type",
        "Access-Control-Max-Age": "86400",
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return headers


def wants_json() -> bool:
    """Whether this request is answered in JSON (the API and the health check) rather than HTML."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def _unusable(error: StoreError):
    """503 for a missing or unusable index: JSON for the API, a page otherwise."""
    if wants_json():
        status = "no index" if isinstance(error, NoIndex) else "unusable"
        return jsonify(status=status, error=public_message(error), documents=0), 503
    from .pages import render_error

    return render_error(503, "no_index" if isinstance(error, NoIndex) else "index_unusable")


def engine() -> SearchEngine:
    """The app's search engine (one per app, shared by all threads)."""
    from flask import current_app

    return current_app.extensions["fahras"]
