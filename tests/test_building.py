"""The bulk writer: segments that do not pile up, and failed builds that leave nothing behind."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from index import building
from index.building import MAX_SMALL_SEGMENTS, BulkWriter
from index.bulk import SegmentBuilder
from index.generations import rebuild, update
from index.indexer import IndexingError
from index.store import IndexHome
from search.engine import SearchEngine

from .conftest import write_corpus


def segment_sizes(home: IndexHome) -> list[int]:
    """Each segment's documents (deleted ones included), in the index's order."""
    with home.open().reader() as reader:
        return [leaf.doc_count_all() for leaf, _offset in reader.leaf_readers()]


def ids(home: IndexHome) -> set[str]:
    with home.open().searcher() as searcher:
        return {fields["id"] for fields in searcher.all_stored_fields()}


def test_updates_do_not_pile_up_segments(built: IndexHome, corpus: Path) -> None:
    counts = []
    for run in range(8):
        write_corpus(corpus, {f"late/{run}.txt": f"Late news {run}\n\nVolcano number {run} erupted."})
        update(built, corpus, show_progress=False)
        counts.append(len(segment_sizes(built)))
    assert max(counts) <= MAX_SMALL_SEGMENTS + 1 and counts[-1] < max(counts)  # merged on the way
    assert len(ids(built)) == 15 and SearchEngine.at(built).search("volcano").total == 8
    rebuild(built, corpus, show_progress=False)
    assert len(segment_sizes(built)) == 1 and len(ids(built)) == 15


def test_a_rebuild_deals_one_segment_per_worker_in_input_order(home: IndexHome, tmp_path: Path) -> None:
    lines = [f'{{"id": "d{i}", "title": "report {i}", "text": "{"word " * 400}{i}"}}' for i in range(2400)]
    folder = write_corpus(tmp_path / "c", {"feed.jsonl": "\n".join(lines)})
    report = rebuild(home, folder, show_progress=False)
    assert report.total_docs == 2400 and len(segment_sizes(home)) == 2
    with home.open().reader() as reader:
        assert [reader.stored_fields(d)["id"] for d in reader.all_doc_ids()] == [f"d{i}" for i in range(2400)]


def test_a_rebuild_deals_the_text_evenly_between_workers(home: IndexHome, tmp_path: Path) -> None:
    # The first thousand documents hold four times the text of the last thousand.
    lines = [f'{{"id": "d{i}", "text": "{"word " * (800 if i < 1000 else 200)}{i}"}}' for i in range(2000)]
    folder = write_corpus(tmp_path / "c", {"feed.jsonl": "\n".join(lines)})
    rebuild(home, folder, show_progress=False)
    sizes = segment_sizes(home)
    with home.open().reader() as reader:
        texts = [segment.field_length("body") for segment, _offset in reader.leaf_readers()]
    assert len(sizes) == 2 and sizes[0] < 1000 < sizes[1]  # not 1,000 documents each
    assert abs(texts[0] - texts[1]) < 0.01 * sum(texts)


def test_chunks_grow_to_their_bounds_in_documents_and_characters(home: IndexHome, corpus: Path) -> None:
    rebuild(home, corpus, show_progress=False)
    ix = home.open()
    writer = BulkWriter(
        ix, procs=1, progress=building.Progress(False), max_docs=8, max_chars=40_000, growth=4
    )  # bounds: 2 documents and 10,000 characters, then 4 and 20,000, then 8 and 40,000 from then on
    for number in range(20):
        writer.add_document(
            {"id": f"n{number}", "title": "t", "body": "x " * (12_500 if number == 3 else 10)}
        )
    writer.commit()
    # 2; then 2, cut short by the long text of n3; then 8 and 8.
    assert segment_sizes(home)[1:] == [2, 2, 8, 8] and len(ids(home)) == 7 + 20


def test_a_failed_update_leaves_the_live_index_as_it_was(built: IndexHome, corpus: Path, monkeypatch) -> None:
    live = built.live_dir()
    before = sorted(path.name for path in live.iterdir())
    write_corpus(corpus, {"late.txt": "Late\n\nA new document."})

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SegmentBuilder, "finish", full_disk)
    with pytest.raises(IndexingError, match="no space left for the index"):
        update(built, corpus, show_progress=False)
    assert sorted(path.name for path in live.iterdir()) == before  # no partial segment left
    assert len(ids(built)) == 7
