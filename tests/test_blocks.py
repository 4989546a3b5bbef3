"""Postings decoded a block at a time are exactly the postings Whoosh's matchers give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.generations import rebuild, update
from index.store import IndexHome
from search.backends.embedded.blocks import SegmentPostings

from .conftest import news_index


def _walked(reader, fieldname: str, btext: bytes) -> tuple[list[int], list[float]]:
    """A term's postings one matcher call at a time (Whoosh's reader leaves deleted documents out)."""
    matcher = reader.postings(fieldname, btext)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def _assert_every_term_reads_the_same(home: IndexHome) -> int:
    """Compares every term of every segment both ways; returns how many postings were compared."""
    compared = 0
    with home.open().searcher() as searcher:
        for leaf, _offset in searcher.reader().leaf_readers():
            bulk = SegmentPostings(leaf)
            for fieldname, btext in leaf.all_terms():
                ids, weights = bulk.postings(fieldname, btext)
                expected_ids, expected_weights = _walked(leaf, fieldname, btext)
                assert ids.dtype == np.int32 and weights.dtype == np.float32
                term = (fieldname, btext)
                assert ids.tolist() == expected_ids, term
                assert weights.tolist() == np.asarray(expected_weights, np.float32).tolist(), term
                compared += len(ids)
    return compared


@pytest.mark.shared_data
def test_every_term_of_real_news_decodes_as_the_matchers_read_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """1,500 articles: long lists of many blocks, compressed and raw blocks, inlined one-document lists."""
    assert _assert_every_term_reads_the_same(news_index(tmp_path_factory, 1500)) > 1_000_000


def test_deleted_documents_are_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(300):  # more than a block of postings for the common words
        (folder / f"d{n:03d}.txt").write_text(f"report {n}\n\nharbour news number {n} harbour", "utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    for n in (0, 5, 127, 128, 129, 299):
        (folder / f"d{n:03d}.txt").unlink()
    update(home, folder, show_progress=False)
    with home.open().searcher() as searcher:
        assert any(leaf.segment().deleted_count() for leaf, _ in searcher.reader().leaf_readers())
    assert _assert_every_term_reads_the_same(home) > 600


def test_a_term_the_segment_lacks_has_no_postings(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("harbour\n\nnews", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild(home, tmp_path, show_progress=False)
    with home.open().searcher() as searcher:
        (leaf, _offset), *_ = searcher.reader().leaf_readers()
        for fieldname, btext in (("body", b"absent"), ("nofield", b"news")):
            ids, weights = SegmentPostings(leaf).postings(fieldname, btext)
            assert (len(ids), ids.dtype, len(weights), weights.dtype) == (0, np.int32, 0, np.float32)
