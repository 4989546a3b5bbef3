"""The fields of a Fahras index, named once, and the Whoosh schema that holds them.

Every module spells a field through the names below; the schema is built from
them. A document's title and body are each indexed three ways (one per
analysis level: light stems, exact forms, ISRI roots), so each has three
"copies" in the schema that share its text (:data:`COPIES`).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from whoosh import fields as whoosh_fields
from whoosh.columns import VarBytesColumn
from whoosh.fields import DATETIME, STORED, TEXT, Schema
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from .analysis import CachedChain, WordTokenizer, exact_analyzer, stemmed_analyzer

ID, TITLE, BODY, LANG, SOURCE, DATE, URL, PATH, INVENTORY = (
    "id", "title", "body", "lang", "source", "date", "url", "path", "inventory"
)  # fmt: skip
ORIGIN, PAGES, OCR_PAGES = "origin", "pages", "ocr_pages"  # stored only: the file, where its pages start
NEAR = "near"  # a column: the body's near-duplicate fingerprint (index/nearness.py), b"" for a short text
TEXT_FIELDS = (TITLE, BODY)  # what a query's words search (title:, body:)
FACETS = (LANG, SOURCE)  # counted per value on every result page, and filters
FILTERS = (SOURCE, LANG, DATE)  # source:, lang:, date:
LANGUAGES = ("ar", "en", "mixed")  # a document's language (detected, or given by its record)
# The analysis levels and the suffix of their fields: a word is matched by its light
# stems (title, body), and also scored by its exact form (title_exact...: an exact form
# outranks a variant that only shares its stem) and by its ISRI root (title_root...: so
# that derived forms, ترجمة، مترجم, still meet, with a low weight).
STEM, EXACT, ROOT = "", "_exact", "_root"
LEVELS = (STEM, EXACT, ROOT)
COPIES = {
    name: tuple(name + level for level in LEVELS) for name in TEXT_FIELDS
}  # the fields holding one text


def level_of(field: str, level: str) -> str:
    """The field of a text field at an analysis level: ``level_of("body", EXACT)`` is ``body_exact``."""
    return field + level


# Fields searched by default, with their query-time weights per analysis level.
SEARCH_FIELDS = {
    TITLE: 1.0,
    BODY: 1.0,
    TITLE + EXACT: 0.5,
    BODY + EXACT: 0.5,
    TITLE + ROOT: 0.6,
    BODY + ROOT: 0.6,
}


class AnalysedText(TEXT):
    """A TEXT field that indexes through its chain's word memo, without token objects.

    Whoosh's ``index`` passes every word through a generator per filter and
    a Token object; with a :class:`CachedChain` the forms of a word are one
    dict lookup, so the token machinery was most of the cost of analysis at
    indexing time. The postings are the same as Whoosh's for this analyzer
    (tests compare them); any other analyzer or format takes Whoosh's path.
    """

    def memo_chain(self) -> CachedChain | None:
        """The chain whose word memo indexes this field, or None when Whoosh's token path must.

        The memo path applies to a :class:`WordTokenizer` followed by one
        :class:`CachedChain`, with positions or frequencies as the format.
        """
        items = getattr(self.analyzer, "items", ())
        if (
            len(items) == 2
            and isinstance(items[0], WordTokenizer)
            and isinstance(items[1], CachedChain)
            and type(self.format) in (Positions, Frequency)
        ):
            return items[1]
        return None

    def index(self, value, **kwargs) -> Iterator[tuple[bytes, int, float, bytes]]:
        chain = self.memo_chain()
        if chain is None or kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)
        return self._postings(value, chain)

    def _postings(self, value: str, chain: CachedChain) -> Iterator[tuple[bytes, int, float, bytes]]:
        analyze = chain.analyze
        positions: defaultdict[str, list[int]] = defaultdict(list)
        for position, (start, end) in enumerate(WordTokenizer.spans(value)):
            for form in analyze(value[start:end]):
                positions[form].append(position)
        boost = self.format.field_boost
        encode = self.encoder()
        for word, found in positions.items():
            yield word.encode("utf-8"), len(found), len(found) * boost, encode(found)

    def encoder(self) -> Callable[[Sequence[int]], bytes]:
        """How the format turns a word's positions into its posting value (Frequency reads their count)."""
        if type(self.format) is Positions:
            return self.format.encode
        return lambda found: pack_uint(len(found))  # Frequency stores the count alone


def joined_frequencies(frequencies: Sequence[int]) -> bytes:
    """The values of Frequency postings with these counts, in one string (each is Whoosh's ``pack_uint``)."""
    return struct.pack(f"!{len(frequencies)}I", *frequencies)


@dataclass(frozen=True)
class AnalysisConfig:
    """How text is analysed; the default is Fahras's, the others are for comparison."""

    arabic_stemmer: str = "light"  # light | none | isri | arlstem | arlstem2 | snowball
    normalize_arabic: bool = True
    exact_fields: bool = True
    root_fields: bool = True  # ISRI roots in title_root/body_root, for recall


DEFAULT_ANALYSIS = AnalysisConfig()


def build_schema(config: AnalysisConfig = DEFAULT_ANALYSIS) -> Schema:
    """The index schema for an analysis configuration."""
    stemmed = stemmed_analyzer(config.arabic_stemmer, config.normalize_arabic)
    # The fields beside title and body: exact forms and roots, each when configured.
    extra_fields = {}
    if config.exact_fields:
        exact = exact_analyzer()
        extra_fields.update(
            {name + EXACT: AnalysedText(analyzer=exact, phrase=False) for name in TEXT_FIELDS}
        )
    if config.root_fields:
        root = stemmed_analyzer("isri", True)
        extra_fields.update({name + ROOT: AnalysedText(analyzer=root, phrase=False) for name in TEXT_FIELDS})
    fields = {
        ID: whoosh_fields.ID(unique=True, stored=True),
        TITLE: AnalysedText(analyzer=stemmed, stored=True),
        BODY: AnalysedText(analyzer=stemmed, stored=True),
        **extra_fields,
        LANG: whoosh_fields.ID(stored=True, sortable=True),
        SOURCE: whoosh_fields.ID(stored=True, sortable=True),
        DATE: DATETIME(stored=True, sortable=True),
        URL: STORED(),
        PATH: STORED(),
        ORIGIN: STORED(),  # the file as walked: the document page links to it (served by id, never by path)
        PAGES: STORED(),
        OCR_PAGES: STORED(),
        NEAR: whoosh_fields.COLUMN(VarBytesColumn()),  # read per result without its stored text
        # origin + id + content hash in one value: incremental indexing reads the
        # whole inventory from this column (index/indexer.py read_inventory)
        # without loading stored bodies.
        INVENTORY: whoosh_fields.ID(sortable=True),
    }
    return Schema(**fields)


def inventory_term(origin: str, doc_id: str, fingerprint: str) -> str:
    return f"{origin}\x1f{doc_id}\x1f{fingerprint}"


def parse_inventory_term(term: str) -> tuple[str, str, str]:
    origin, doc_id, fingerprint = term.split("\x1f")
    return origin, doc_id, fingerprint


def analysis_fingerprint(schema: Schema) -> str:
    """A short hash of how every field of ``schema`` turns text into terms.

    It describes each field's type, posting format and analyzer, and each
    analyzer piece by its class, its parameters and its class-level tables
    (stemmer affixes, stop words, character maps, patterns), read from the
    classes as this version defines them. An index records it when built: if
    a later version changes any piece's configuration, the index's own
    (unpickled) schema no longer gives the recorded value, and Fahras says the
    index must be rebuilt instead of silently matching less.
    """
    described = [
        (name, type(field).__name__, type(field.format).__name__, _describe(getattr(field, "analyzer", None)))
        for name, field in sorted(schema.items())
    ]
    return hashlib.sha256(repr(described).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@lru_cache(maxsize=1)
def default_fingerprint() -> str:
    """The fingerprint of this version's default analysis."""
    return analysis_fingerprint(build_schema(DEFAULT_ANALYSIS))


_PLAIN = (type(None), bool, int, float, str, bytes)
_DESCRIPTION_DEPTH = 8


def _describe(value: object, depth: int = 0) -> object:
    """A deterministic, comparable description of an analyzer piece or a value it holds."""
    if depth > _DESCRIPTION_DEPTH or isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, re.Pattern):
        return ("re", value.pattern, value.flags)
    if isinstance(value, (list, tuple)):
        return [_describe(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(_describe(item, depth + 1)) for item in value)
    if isinstance(value, dict):
        return sorted((repr(_describe(k, depth + 1)), _describe(v, depth + 1)) for k, v in value.items())
    cls = type(value)
    settings = {name: item for klass in reversed(cls.__mro__) for name, item in vars(klass).items()}
    settings.update(getattr(value, "__dict__", {}))
    return (
        f"{cls.__module__}.{cls.__qualname__}",
        [
            (name, _describe(item, depth + 1))
            for name, item in sorted(settings.items())
            if _is_setting(name, item)
        ],
    )


def _is_setting(name: str, value: object) -> bool:
    """Configuration, not behaviour or state: public data and private UPPER_CASE constants.

    Lower-case private names (``_memo``, ``_last``) are caches that change as
    text is analysed; methods, descriptors and classes are code.
    """
    if name.startswith("__") or (name.startswith("_") and not name.lstrip("_").isupper()):
        return False
    return not (callable(value) or isinstance(value, (classmethod, staticmethod, property, type)))
