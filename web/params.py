"""Validating request parameters, shared by the search page and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from werkzeug.datastructures import MultiDict

from search.engine import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SORTS, Filters, SearchRequest

MAX_PAGE = 1000
LANGS = ("ar", "en", "mixed")
MAX_PARAM_CHARS = 200


class ParamError(ValueError):
    """A bad request parameter (HTTP 400 with this message)."""


@dataclass
class SearchParams:
    q: str
    page: int
    size: int
    sort: str
    filters: Filters
    verbatim: bool = False  # search the query as typed, never its correction

    def request(self) -> SearchRequest:
        """The engine request for these parameters (the page and the API ask for the same)."""
        return SearchRequest(
            self.q,
            self.page,
            self.size,
            self.filters,
            self.sort,
            facets=True,
            suggest=True,
            correct=not self.verbatim,
        )

    def url_args(self, **changes: object) -> dict[str, object]:
        """Query-string arguments for a link to a variant of this search."""
        args = {
            "q": self.q,
            "page": self.page,
            "sort": self.sort,
            "lang": self.filters.lang,
            "source": self.filters.source,
            "from": self.filters.date_from.date().isoformat() if self.filters.date_from else None,
            "to": self.filters.date_to.date().isoformat() if self.filters.date_to else None,
            "verbatim": 1 if self.verbatim else None,
        }
        args.update(changes)
        defaults = {"page": 1, "sort": "relevance"}
        return {k: v for k, v in args.items() if v not in (None, "", defaults.get(k)) or k == "q"}


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(f"'{name}' must be a whole number, not {raw[:20]!r}") from None
    if value < low:
        raise ParamError(f"'{name}' must be at least {low}")
    return min(value, high)


def _date(args: MultiDict, name: str, end_of_day: bool) -> datetime | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ParamError(f"'{name}' must be a date like 2024-05-31, not {raw[:20]!r}") from None
    return datetime.combine(day, time.max if end_of_day else time.min)


def _choice(args: MultiDict, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise ParamError(f"'{name}' must be one of: {', '.join(choices)}")
    return raw


def parse_search_params(args: MultiDict, default_size: int = 10) -> SearchParams:
    """Parse and bound the parameters of a search request (raises ParamError)."""
    q = args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise ParamError(f"'q' is too long ({len(q)} characters; at most {MAX_QUERY_CHARS})")
    source = args.get("source", "").strip()
    if len(source) > MAX_PARAM_CHARS:
        raise ParamError(f"'source' is too long (at most {MAX_PARAM_CHARS} characters)")
    date_from = _date(args, "from", end_of_day=False)
    date_to = _date(args, "to", end_of_day=True)
    if date_from and date_to and date_from > date_to:
        raise ParamError("'from' must not be after 'to'")
    return SearchParams(
        q=q.strip(),
        page=_int(args, "page", 1, 1, MAX_PAGE),
        size=_int(args, "size", default_size, 1, MAX_PAGE_SIZE),
        sort=_choice(args, "sort", SORTS, "relevance") or "relevance",
        filters=Filters(
            lang=_choice(args, "lang", LANGS, None),
            source=source or None,
            date_from=date_from,
            date_to=date_to,
        ),
        verbatim=args.get("verbatim", "") not in ("", "0"),
    )
