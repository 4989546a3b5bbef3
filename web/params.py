"""Validating request parameters, shared by the search page and the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeVar

from werkzeug.datastructures import MultiDict

from search.engine import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SORTS, Filters, SearchRequest
from search.syntax import LANGS

from .i18n import N_, Translator

MAX_PAGE = 1000
MAX_PARAM_CHARS = 200
MAX_VALUES = 20  # values of one facet in one request (lang=ar&lang=en, source=a&source=b...)
MAX_SUGGEST_CHARS = 100  # a prefix being typed; a longer one is not a word's start
T = TypeVar("T")


class ParamError(ValueError):
    """A bad request parameter (HTTP 400 with this message).

    ``message`` is English with ``%(name)s`` fields (the API says it as is);
    the page says it in the interface language (``translated``).
    """

    def __init__(self, message: str, **values: object) -> None:
        self.message = message
        self.values = values
        super().__init__(message % values if values else message)

    def translated(self, t: Translator) -> str:
        return t.gettext(self.message, **self.values)


@dataclass
class SearchParams:
    q: str
    page: int
    size: int
    sort: str
    filters: Filters
    verbatim: bool = False  # search the query as typed, never its correction
    typing: bool = (
        False  # an instant-results request while the box is typed in: the last word may be unfinished
    )
    fold: bool = True  # near-duplicates under the first of them; fold=0 shows each
    default_size: int = 10

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
            typing=self.typing,
            fold=self.fold,
        )

    def url_args(self, **changes: object) -> dict[str, object]:
        """Query-string arguments for a link to a variant of this search (a facet's values as a list)."""
        args = {
            "q": self.q,
            "page": self.page,
            "sort": self.sort,
            "lang": list(self.filters.lang),
            "source": list(self.filters.source),
            "from": self.filters.date_from.date().isoformat() if self.filters.date_from else None,
            "to": self.filters.date_to.date().isoformat() if self.filters.date_to else None,
            "verbatim": 1 if self.verbatim else None,
            "fold": None if self.fold else 0,
            "size": self.size,
        }
        args.update(changes)
        defaults = {"page": 1, "sort": "relevance", "size": self.default_size}
        return {k: v for k, v in args.items() if v not in (None, "", [], defaults.get(k)) or k == "q"}

    def toggled(self, field: str, value: str) -> dict[str, object]:
        """The arguments of this search with ``value`` added to a facet's values, or removed if chosen."""
        chosen = list(getattr(self.filters, field))
        values = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
        return self.url_args(page=None, **{field: values})

    def hidden_fields(self, **changes: object) -> list[tuple[str, object]]:
        """``url_args`` as (name, value) pairs, one per value: a form's hidden fields."""
        pairs = []
        for name, value in self.url_args(**changes).items():
            pairs += [(name, item) for item in value] if isinstance(value, list) else [(name, value)]
        return [(name, value) for name, value in pairs if value not in (None, "")]


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(
            N_("'%(name)s' must be a whole number, not %(value)r"), name=name, value=raw[:20]
        ) from None
    if value < low:
        raise ParamError(N_("'%(name)s' must be at least %(low)s"), name=name, low=low)
    return min(value, high)


def _date(args: MultiDict, name: str, end_of_day: bool) -> datetime | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        message = N_("'%(name)s' must be a date like 2024-05-31, not %(value)r")
        raise ParamError(message, name=name, value=raw[:20]) from None
    return datetime.combine(day, time.max if end_of_day else time.min)


def _values(args: MultiDict, name: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Every value of a repeated parameter (each checked), without repeats."""
    raw = [value.strip() for value in args.getlist(name) if value.strip()]
    if len(raw) > MAX_VALUES:
        raise ParamError(
            N_("'%(name)s' is given too many times (at most %(most)s)"), name=name, most=MAX_VALUES
        )
    for value in raw:
        if choices is not None and value not in choices:
            message = N_("'%(name)s' must be one of: %(choices)s")
            raise ParamError(message, name=name, choices=", ".join(choices))
        if len(value) > MAX_PARAM_CHARS:
            message = N_("'%(name)s' is too long (%(length)s characters; at most %(limit)s)")
            raise ParamError(message, name=name, length=len(value), limit=MAX_PARAM_CHARS)
    return tuple(dict.fromkeys(raw))


def _choice(args: MultiDict, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise ParamError(N_("'%(name)s' must be one of: %(choices)s"), name=name, choices=", ".join(choices))
    return raw


def _text(args: MultiDict, name: str, limit: int) -> str:
    raw = args.get(name, "")
    if len(raw) > limit:
        message = N_("'%(name)s' is too long (%(length)s characters; at most %(limit)s)")
        raise ParamError(message, name=name, length=len(raw), limit=limit)
    return raw.strip()


def _date_range(args: MultiDict) -> tuple[datetime | None, datetime | None]:
    date_from = _date(args, "from", end_of_day=False)
    date_to = _date(args, "to", end_of_day=True)
    if date_from and date_to and date_from > date_to:
        raise ParamError(N_("'from' must not be after 'to': the start date is later than the end date"))
    return date_from, date_to


def parse_search_params(args: MultiDict, default_size: int = 10, lenient: bool = False) -> SearchParams:
    """Parse and bound the parameters of a search request.

    Raises ParamError for the first bad one, unless ``lenient``: then a bad
    parameter takes its default and the rest are kept, so that the page that
    explains the error still holds the user's query and filters.
    """

    def parsed(parse: Callable[[], T], default: T) -> T:
        try:
            return parse()
        except ParamError:
            if not lenient:
                raise
            return default

    date_from, date_to = parsed(lambda: _date_range(args), (None, None))
    return SearchParams(
        q=parsed(lambda: _text(args, "q", MAX_QUERY_CHARS), ""),
        page=parsed(lambda: _int(args, "page", 1, 1, MAX_PAGE), 1),
        size=parsed(lambda: _int(args, "size", default_size, 1, MAX_PAGE_SIZE), default_size),
        sort=parsed(lambda: _choice(args, "sort", SORTS, "relevance"), "relevance") or "relevance",
        filters=Filters(
            lang=parsed(lambda: _values(args, "lang", LANGS), ()),
            source=parsed(lambda: _values(args, "source"), ()),
            date_from=date_from,
            date_to=date_to,
        ),
        verbatim=args.get("verbatim", "") not in ("", "0"),
        typing=args.get("typing", "") not in ("", "0"),
        fold=args.get("fold", "1").strip() != "0",
        default_size=default_size,
    )
