"""The Whoosh schema: what is indexed, stored and sortable for each document."""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

from .analysis import exact_analyzer, stemmed_analyzer

# Fields searched by default, with their query-time weights. The *_exact fields
# hold normalised but unstemmed words, so an exact form outranks a variant that
# only shares its stem; the *_root fields hold ISRI roots, so that derived
# forms (ترجمة، مترجم) still meet, with a low weight.
SEARCH_FIELDS = {
    "title": 1.0,
    "body": 1.0,
    "title_exact": 0.5,
    "body_exact": 0.5,
    "title_root": 0.4,
    "body_root": 0.4,
}


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
    exact_fields = {}
    if config.exact_fields:
        exact = exact_analyzer()
        exact_fields = {
            "title_exact": TEXT(analyzer=exact, phrase=False),
            "body_exact": TEXT(analyzer=exact, phrase=False),
        }
    if config.root_fields:
        root = stemmed_analyzer("isri", True)
        exact_fields["title_root"] = TEXT(analyzer=root, phrase=False)
        exact_fields["body_root"] = TEXT(analyzer=root, phrase=False)
    return Schema(
        id=ID(unique=True, stored=True),
        title=TEXT(analyzer=stemmed, stored=True),
        body=TEXT(analyzer=stemmed, stored=True),
        **exact_fields,
        lang=ID(stored=True, sortable=True),
        source=ID(stored=True, sortable=True),
        date=DATETIME(stored=True, sortable=True),
        url=STORED(),
        path=STORED(),
        # origin + id + content hash in one term: incremental indexing reads the
        # whole inventory from the lexicon without loading stored bodies.
        inventory=ID(sortable=True),
    )


def inventory_term(origin: str, doc_id: str, fingerprint: str) -> str:
    return f"{origin}\x1f{doc_id}\x1f{fingerprint}"


def parse_inventory_term(term: str) -> tuple[str, str, str]:
    origin, doc_id, fingerprint = term.split("\x1f")
    return origin, doc_id, fingerprint
