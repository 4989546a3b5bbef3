"""Fahras's own analysis, serialised for OpenSearch, and the index's settings and mapping.

OpenSearch's ``arabic`` analyser stems differently from Fahras's chains, so a
cluster never analyses text itself: each of the six text fields (title and
body at the stem, exact and root levels: :data:`index.schema.COPIES`) is
analysed here, by the same :class:`~index.analysis.CachedChain` calls as the
embedded index, and sent as text that only needs splitting. Each position is
its forms joined by ``|``; a stop word, which the chain removes but whose
place it keeps, is ``_``::

    اعلنت حكوم سعود ووزار|وزار صحه _ اجراء

The cluster's ``fahras`` analyser (a whitespace tokenizer, a
``pattern_capture`` filter that emits each form at its word's position, and a
``stop`` filter that drops ``_`` and keeps its gap) turns that back into
exactly the postings the embedded index holds. A word's forms never hold
``|``, ``_`` or a space (a word is a run of letters and digits of one script;
a ligature such as ﷺ gives several forms at one position).

The ranking contract's statistics are taken from the same analysis: each
field's length in words, as Whoosh counts it (every form of every position)
and as its BM25 reads it back (quantised to a byte,
:func:`whoosh.util.numeric.length_to_byte`), is stored beside the text, so that
the cluster scores with the lengths the embedded index scores with.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from whoosh.util.numeric import byte_to_length, length_to_byte

from index.analysis import CachedChain, WordTokenizer
from index.documents import Document
from index.nearness import fingerprint
from index.schema import BODY, COPIES, EXACT, ROOT, TITLE
from search.backend import Analysis

# The six fields that hold analysed text, as the planner names them.
TEXT = (*COPIES[TITLE], *COPIES[BODY])
POSITIONS = (TITLE, BODY)  # the stem level keeps positions (phrases); the others only frequencies
GAP = "_"  # a removed stop word's place
JOIN = "|"
# Lucene refuses a term over 32,766 bytes (and the whole document with it); a form longer than this many
# characters (UTF-8 takes up to four bytes each) is indexed as a gap. No language has such words.
MAX_FORM_CHARS = 8000
MAX_STORED_BODY_CHARS = 1_000_000  # as the embedded index: the body is indexed whole, stored up to here
STORED = "stored"  # the object holding what a hit shows: kept in _source, never indexed
ORDER = "order"  # the order documents were indexed in: the contract's tie-break
DATE_KEY = "date_us"  # the date in microseconds since 1970 (UTC), for filters and sorting
LENGTH = "len_"  # + field: its length in words, as Whoosh's BM25 reads it back (quantised)
TOTAL = "total_"  # + field: its exact length in words, for the mean length (``avglen_f``)
INVENTORY_FIELDS = ("id", "origin", "fingerprint")
NEAR = "near"  # the body's near-duplicate fingerprint (index/nearness.py), base64; absent for a short text


def length_field(field: str) -> str:
    return LENGTH + field


def total_field(field: str) -> str:
    return TOTAL + field


def quantised(length: int) -> int:
    """A field length as the embedded index stores it and its BM25 reads it back (rounded up past 10)."""
    return byte_to_length(length_to_byte(length)) if length else 0


def serialise_words(words: list[str], chain: CachedChain) -> tuple[str, int]:
    """Words analysed by ``chain`` as the ``fahras`` analyser reads them, and the field's length in forms."""
    analyze = chain.analyze
    positions, length = [], 0
    for word in words:
        forms = [form for form in analyze(word) if 0 < len(form) <= MAX_FORM_CHARS]
        length += len(forms)
        positions.append(JOIN.join(forms) if forms else GAP)
    return " ".join(positions), length


def phrase_text(slots: list[tuple[int, tuple[str, ...]]]) -> str:
    """The query text of a phrase whose slots stand at the given offsets (gaps between them as ``_``)."""
    at = dict(slots)
    return " ".join(JOIN.join(at[offset]) if offset in at else GAP for offset in range(max(at) + 1))


def document_id(doc_id: str) -> str:
    """The ``_id`` of a Fahras id: a hash, since ``_id`` holds at most 512 bytes and ids may be longer."""
    return hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Serialiser:
    """Turns documents into what the cluster indexes, with the analysis a snapshot searches with."""

    analysis: Analysis

    def chains(self) -> dict[str, CachedChain]:
        levels = {"": self.analysis.stem, EXACT: self.analysis.exact, ROOT: self.analysis.root}
        return {text + level: chain for level, chain in levels.items() if chain for text in (TITLE, BODY)}

    def source(self, document: Document, order: int) -> dict:
        """The document as indexed: its analysed fields and their lengths, its filters, what a hit shows."""
        fields: dict[str, object] = {}
        chains = self.chains()
        for text_field, text in ((TITLE, document.title), (BODY, document.body)):
            words = WordTokenizer.words(text)
            for name in COPIES[text_field]:
                if name in chains:
                    fields[name], length = serialise_words(words, chains[name])
                    fields[length_field(name)] = quantised(length)
                    fields[total_field(name)] = length
        date = document.date
        return {
            "id": document.id,
            "origin": document.origin,
            "fingerprint": document.fingerprint,
            NEAR: near_text(fingerprint(document.body)),
            "lang": document.lang or None,
            "source": document.source or None,
            DATE_KEY: microseconds(date) if date else None,
            ORDER: order,
            **fields,
            STORED: {
                "title": document.title,
                "body": document.body[:MAX_STORED_BODY_CHARS],
                "lang": document.lang,
                "source": document.source,
                "date": date.date().isoformat() if date else None,
                "url": document.url or None,
                "path": document.path or None,
                "origin": document.origin or None,
                "pages": list(document.pages),
                "ocr_pages": list(document.ocr_pages),
            },
        }


def near_text(value: bytes | None) -> str | None:
    """A near-duplicate fingerprint as the cluster keeps it (a ``binary`` field takes base64)."""
    return base64.b64encode(value).decode("ascii") if value else None


def near_value(text: str | None) -> bytes | None:
    """A fingerprint read back from a document's ``_source`` (None: a short text, or an older index)."""
    return base64.b64decode(text) if text else None


def microseconds(moment: datetime) -> int:
    """A datetime as microseconds since 1970, exactly (documents' and filters' dates are naive: UTC)."""
    delta = moment.replace(tzinfo=None) - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# The similarity of every analysed field: a term's score is its frequency in the document, nothing
# else, so that the query (search/backends/opensearch/query.py) can compute the ranking contract's BM25F
# from it with the lengths and statistics above (Lucene's BM25 would saturate each field on its own).
SIMILARITY = {"fahras_tf": {"type": "scripted", "script": {"source": "return doc.freq;"}}}
ANALYSIS = {
    "tokenizer": {
        # Lucene's default cuts tokens at 255 characters, which would shift every later position.
        "fahras_words": {"type": "whitespace", "max_token_length": 1024 * 1024}
    },
    "filter": {
        "fahras_forms": {"type": "pattern_capture", "patterns": ["([^|]+)"], "preserve_original": False},
        "fahras_gaps": {"type": "stop", "stopwords": [GAP], "ignore_case": False},
    },
    "analyzer": {
        "fahras": {"type": "custom", "tokenizer": "fahras_words", "filter": ["fahras_forms", "fahras_gaps"]}
    },
}


def settings(shards: int, replicas: str) -> dict:
    """A new physical index's settings: Fahras's analyser and similarity; replicas as ``auto_expand``."""
    return {
        "number_of_shards": shards,
        "auto_expand_replicas": replicas,
        "refresh_interval": "-1",  # a run refreshes once, before it publishes
        # Every page of a result is a slice of one order, however deep (OpenSearch caps each shard's
        # queue at its document count, so this costs nothing for pages that exist).
        "max_result_window": 2_147_483_647,
        "similarity": SIMILARITY,
        "analysis": ANALYSIS,
    }


def mappings(meta: dict) -> dict:
    """The mapping: analysed text (fielddata on, for prefix and fuzzy expansion), keywords, numbers."""
    text = {
        name: {
            "type": "text",
            "analyzer": "fahras",
            "similarity": "fahras_tf",
            "norms": False,
            "index_options": "positions" if name in POSITIONS else "freqs",
            # Terms aggregations enumerate a field's vocabulary (prefixes, fuzzy words, suggestions).
            "fielddata": True,
        }
        for name in TEXT
    }
    numbers = {
        name: {"type": "integer", "index": False}
        for field in TEXT
        for name in (length_field(field), total_field(field))
    }
    keywords = {name: {"type": "keyword"} for name in ("id", "origin", "lang", "source")}
    return {
        "dynamic": "strict",
        "_meta": meta,
        "_source": {"excludes": list(TEXT)},  # the serialised text is rebuilt from documents, never read
        "properties": {
            **text,
            **numbers,
            **keywords,
            "fingerprint": {"type": "keyword", "index": False},
            # Read back from _source with a page's ids when results are folded; never searched.
            NEAR: {"type": "binary"},
            DATE_KEY: {"type": "long"},
            ORDER: {"type": "long"},
            STORED: {"type": "object", "enabled": False},
        },
    }
