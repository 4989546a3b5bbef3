"""The bulk segment builder writes Whoosh's own segments, and its fused analysis is each chain's own.

Indexes built by Whoosh's ``SegmentWriter`` and by the bulk builder, from
the same documents, are opened with plain Whoosh and compared document for
document: every posting, term statistic, stored field, length, column value
and score, and every file of the segment byte for byte but the postings and
the term index (the builder stores its smallest blocks uncompressed and keeps
one-document posting lists in the term index: see index/postings.py). On the tricky texts of the analysis tests, and on real
news articles when ../shared/data is there.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.index import TOC
from whoosh.query import Or, Term

from index.analysis import WordTokenizer
from index.building import BulkWriter
from index.bulk import FusedChains, SegmentBuilder
from index.decoded import EXTENSION as DECODED
from index.documents import Document, document_from_record
from index.generations import document_fields
from index.postings import segment_codec
from index.progress import Progress
from index.schema import build_schema

from .conftest import SHARED, demo_texts

SNN = SHARED / "saudinewsnet" / "corpus.jsonl.gz"
ARTICLES = 2000

# The words the analysis tests single out, and texts that take unusual paths.
TRICKY_TEXTS = [
    *demo_texts(),
    "ﷺ كتابًا كتاباً dying O'Neill's ١٢٣ 123 Super_Bowl_50 Tesla's",
    "كتب ً قرأ ـــ ـabc ـــEnglish \u200cword مي\u200cخواهم",
    "الانتخابات والانتخابات انتخابات بالمدرسه للطلاب كالعاده فالمدينه المعلمون المسلمين كتابها",
    "وزير موسكو حفتر ولد بيت الله لبن عنوان ايران وتابعت لكاليفورنيا بترجمه وزيره",
    "ﺍﻟﺴﻼﻡ ﻻ ٢٠٢٤ ۱۴۰۲ KHALIFA café müller tesla's running elections",
    "الانتخابات الانتخابات الإنتخابات انتخابات وزيره وزير",  # several words, one form
    "",
    "   ",
    "و في the",
]


def tricky_documents() -> list[dict]:
    schema = build_schema()
    documents = [
        Document(f"t{n}", text[:80], text, "/tricky", source="s", date=datetime(2015, 7, 1 + n % 28))
        for n, text in enumerate(TRICKY_TEXTS)
    ]
    documents.append(Document("untitled", "", "نص بلا عنوان", "/tricky", lang="ar"))
    return [document_fields(document, schema) for document in documents]


def real_documents(count: int = ARTICLES) -> list[dict]:
    if not SNN.exists():
        pytest.skip(f"shared data not available: {SNN}")
    schema = build_schema()
    with gzip.open(SNN, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in islice(lines, count)]
    return [document_fields(document_from_record(r, r["id"], str(SNN)), schema) for r in records]


def whoosh_built(folder: Path, documents: list[dict]) -> whoosh_index.Index:
    """The reference: Whoosh's own writer (with Fahras's codec settings), one process, one segment."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    writer = ix.writer(limitmb=256, compound=False, codec=segment_codec())
    for fields in documents:
        writer.add_document(**fields)
    writer.commit()
    return whoosh_index.open_dir(str(folder))


def bulk_built(folder: Path, documents: list[dict], procs: int = 1) -> whoosh_index.Index:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    writer = BulkWriter(ix, procs=procs, progress=Progress(False), expected_bytes=len(documents))
    for number, fields in enumerate(documents, 1):
        writer.add_document(fields, read_to=number)  # a byte of input per document: dealt evenly
    writer.commit()
    return whoosh_index.open_dir(str(folder))


# Postings, and the term index that points into them: equal posting for posting, not byte for byte.
# (The bulk builder's decoded long lists, a file Whoosh does not write, are compared in test_decoded.)
POSTINGS_FILES = (".pst", ".trm")


def segment_files(ix: whoosh_index.Index) -> dict[str, bytes]:
    """Each file of a one-segment index by its extension (segment names are random), but the postings'."""
    (segment,) = segments(ix)
    prefix = segment.segment_id()
    files = [name for name in segment.list_files(ix.storage) if not name.endswith(DECODED)]
    names = [name for name in files if not name.endswith(POSTINGS_FILES)]
    assert len(names) == len(files) - len(POSTINGS_FILES)
    return {name[len(prefix) :]: ix.storage.open_file(name).read() for name in names}


def assert_same_term_statistics(expected: whoosh_index.Index, actual: whoosh_index.Index) -> None:
    """Every term's statistics (what scoring and Whoosh's block skipping read), document numbers included."""
    statistics = ("weight", "doc_frequency", "min_length", "max_length", "max_weight", "min_id", "max_id")
    with expected.reader() as want, actual.reader() as got:
        for fieldname, term in want.all_terms():
            want_info, got_info = want.term_info(fieldname, term), got.term_info(fieldname, term)
            for name in statistics:
                assert getattr(got_info, name)() == getattr(want_info, name)(), (fieldname, term, name)


def segments(ix: whoosh_index.Index) -> list:
    return TOC.read(ix.storage, ix.indexname).segments


def assert_same_documents(expected: whoosh_index.Index, actual: whoosh_index.Index) -> None:
    """Stored fields, lengths, columns and every posting, document for document (matched by id)."""
    schema = expected.schema
    with expected.reader() as want, actual.reader() as got:
        assert got.doc_count() == want.doc_count()
        want_ids = {want.stored_fields(d)["id"]: d for d in want.all_doc_ids()}
        got_ids = {got.stored_fields(d)["id"]: d for d in got.all_doc_ids()}
        assert got_ids.keys() == want_ids.keys()
        columns = [name for name, field in schema.items() if field.column_type]
        for doc_id, want_doc in want_ids.items():
            got_doc = got_ids[doc_id]
            assert got.stored_fields(got_doc) == want.stored_fields(want_doc), doc_id
            for name in schema.scorable_names():
                assert got.doc_field_length(got_doc, name) == want.doc_field_length(want_doc, name)
            for name in columns:
                raw = {"translate": False}  # a missing date is stored as a value datetime cannot hold
                assert got.column_reader(name, **raw)[got_doc] == want.column_reader(name, **raw)[want_doc]
        for name in schema.scorable_names():
            assert got.field_length(name) == want.field_length(name)
        assert list(got.all_terms()) == list(want.all_terms())
        by_id = {d: i for i, d in want_ids.items()}, {d: i for i, d in got_ids.items()}
        for fieldname, term in want.all_terms():
            assert postings(got, fieldname, term, by_id[1]) == postings(want, fieldname, term, by_id[0])


def postings(reader, fieldname: str, term: bytes, ids: dict[int, str]) -> list[tuple]:
    matcher = reader.postings(fieldname, term)
    found = []
    while matcher.is_active():
        found.append((ids[matcher.id()], matcher.weight(), matcher.value()))
        matcher.next()
    return found


def assert_same_scores(expected: whoosh_index.Index, actual: whoosh_index.Index, terms: int = 300) -> None:
    """BM25F scores of every matching document, for one- and many-word queries, are identical."""
    with expected.reader() as reader:
        body_terms = [t for f, t in reader.all_terms() if f == "body"][::7][:terms]
    queries = [Term("body", term) for term in body_terms]
    queries += [Or([Term(f, t) for f in ("body", "title", "body_root")]) for t in body_terms[:50]]
    with (
        expected.searcher(weighting=scoring.BM25F()) as want,
        actual.searcher(weighting=scoring.BM25F()) as got,
    ):
        for query in queries:
            want_hits = {hit["id"]: hit.score for hit in want.search(query, limit=None)}
            got_hits = {hit["id"]: hit.score for hit in got.search(query, limit=None)}
            assert got_hits == want_hits, query


def test_a_segment_is_whooshs_own_on_tricky_texts(tmp_path: Path) -> None:
    documents = tricky_documents()
    expected = whoosh_built(tmp_path / "whoosh", documents)
    actual = bulk_built(tmp_path / "bulk", documents)
    assert segment_files(actual) == segment_files(expected)
    assert_same_term_statistics(expected, actual)
    assert_same_documents(expected, actual)
    assert_same_scores(expected, actual)


def test_one_document_terms_are_inlined_and_whooshs_writer_merges_them(tmp_path: Path) -> None:
    documents = tricky_documents()
    expected = whoosh_built(tmp_path / "whoosh", documents)
    actual = bulk_built(tmp_path / "bulk", documents, procs=2)
    inlined = set()
    with actual.reader() as reader:
        for segment, _offset in reader.leaf_readers():
            inlined |= {f for f, t in segment.all_terms() if segment.term_info(f, t).is_inlined()}
    assert {"body", "body_exact", "body_root", "title"} <= inlined
    assert not inlined & {"id", "inventory"}  # Whoosh's writer could not merge a value-less inlined posting
    # Whoosh's writer reads every inlined posting back and writes it again. (A merge
    # sums the documents' byte-rounded lengths anew: both indexes are merged.)
    merged = [optimized(index) for index in (expected, actual)]
    assert len(segments(merged[1])) == 1
    assert_same_documents(*merged)
    assert_same_scores(*merged)


def optimized(ix: whoosh_index.Index) -> whoosh_index.Index:
    ix.writer(codec=segment_codec()).commit(optimize=True)
    return whoosh_index.open_dir(ix.storage.folder)


@pytest.fixture(scope="module")
def real_indexes(tmp_path_factory) -> tuple[whoosh_index.Index, list[dict], Path]:
    documents = real_documents()
    folder = tmp_path_factory.mktemp("real")
    return whoosh_built(folder / "whoosh", documents), documents, folder


@pytest.mark.shared_data
def test_a_segment_is_whooshs_own_on_real_articles(real_indexes) -> None:
    expected, documents, folder = real_indexes
    actual = bulk_built(folder / "bulk", documents)
    assert segment_files(actual) == segment_files(expected)  # stored fields, lengths, columns
    assert_same_term_statistics(expected, actual)
    assert_same_documents(expected, actual)
    assert_same_scores(expected, actual)


@pytest.mark.shared_data
def test_segments_built_by_two_workers_hold_whooshs_index(real_indexes) -> None:
    expected, documents, folder = real_indexes
    actual = bulk_built(folder / "workers", documents, procs=2)
    assert len(segments(actual)) == 2  # one per worker, in the input's order
    with actual.reader() as reader:
        assert [reader.stored_fields(d)["id"] for d in reader.all_doc_ids()] == [f["id"] for f in documents]
    assert_same_documents(expected, actual)
    assert_same_scores(expected, actual)


# ---------------------------------------------------------------- fused analysis


def chains_and_fused() -> tuple[tuple, FusedChains]:
    schema = build_schema()
    chains = tuple(schema[name].memo_chain() for name in ("body", "body_exact", "body_root"))
    return chains, FusedChains(chains)


def each_chains_own(chains, word: str) -> tuple[tuple[int, str], ...]:
    return tuple((number, form) for number, chain in enumerate(chains) for form in chain.analyze(word))


def test_fused_forms_are_each_chains_own_on_tricky_words() -> None:
    chains, fused = chains_and_fused()
    words = {text[s:e] for text in TRICKY_TEXTS for s, e in WordTokenizer.spans(text)}
    words |= {"ـabc", "ـــEnglish", "\u200cword", "ًabc", "a\u0640b", "ﷺ", "ﷲ"}
    for word in sorted(words):
        assert fused.placed_forms(word) == each_chains_own(chains, word), word


@pytest.mark.shared_data
def test_fused_forms_are_each_chains_own_on_every_word_of_real_articles() -> None:
    chains, fused = chains_and_fused()
    words = {
        fields["body"][s:e] for fields in real_documents(1000) for s, e in WordTokenizer.spans(fields["body"])
    }
    assert len(words) > 50_000
    for word in words:
        assert fused.placed_forms(word) == each_chains_own(chains, word), word


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcXYZ'’0١ابتةىأإآؤئًٌٍَُِّْـ\u200c\u200fﻻﷺ٢"), max_size=12))
def test_fused_forms_are_each_chains_own_on_any_word(text: str) -> None:
    chains, fused = chains_and_fused()
    for start, end in WordTokenizer.spans(text):
        word = text[start:end]
        assert fused.placed_forms(word) == each_chains_own(chains, word), word


def test_the_builder_refuses_what_it_would_not_write_as_whoosh_does(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    segment = segment_codec().new_segment(ix.storage, ix.indexname)
    builder = SegmentBuilder(ix.storage, ix.schema, segment)
    with pytest.raises(ValueError, match="boosts"):
        builder.add_document({"id": "a", "_boost": 2.0})
    with pytest.raises(ValueError, match="one string"):
        builder.add_document({"id": "b", "body": ["pre", "tokenised"]})
