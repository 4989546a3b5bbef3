"""Long posting lists kept decoded beside their segment (index/decoded.py) change what a query costs, never
what it returns: each is its blocks' postings to the bit, and searches rank the same with them as without."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from index import decoded
from index.check import check_index
from index.generations import rebuild, update
from index.store import BUILD_INFO, IndexHome, file_checksum
from search.engine import SearchEngine
from search.syntax import QueryError

from .conftest import shared, words_by_frequency
from .damage import copy_index

SHORT = 24  # lists this long are kept decoded in the test index: most of a small index's common words


def _news(folder: Path, min_postings: int) -> IndexHome:
    """1,200 articles in two segments with deletions (the first 900 built, 300 added, 100 of the first
    deleted), built keeping lists of ``min_postings`` or more decoded."""
    with gzip.open(shared("saudinewsnet", "corpus.jsonl.gz"), "rt", encoding="utf-8") as lines:
        records = list(islice(lines, 1200))
    corpus = folder / "corpus" / "news.jsonl"
    corpus.parent.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decoded, "MIN_POSTINGS", min_postings)
        corpus.write_text("".join(records[:900]), encoding="utf-8")
        home = IndexHome(folder / "index")
        rebuild(home, corpus.parent, show_progress=False)
        corpus.write_text("".join(records[100:]), encoding="utf-8")
        update(home, corpus.parent, show_progress=False)
    return home


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return _news(tmp_path_factory.mktemp("kept"), SHORT)


@pytest.fixture(scope="module")
def blocks_only(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return _news(tmp_path_factory.mktemp("blocks"), 10**9)


def _decoded_files(home: IndexHome) -> list[Path]:
    return sorted(home.live_target().glob(f"*{decoded.EXTENSION}"))


@pytest.mark.parametrize(
    ("doc_count", "weights", "ids_type", "weights_type"),
    [
        (1_000, [1.0, 3.0, 255.0], "<u2", "|u1"),  # frequencies, a segment of the bulk builder's size
        (70_000, [1.0, 0.5, 2.0], "<i4", "<f4"),  # a field boost's fractions, a segment too large for 16 bits
        (1_000, [1.0, 256.0, 2.0], "<u2", "<f4"),  # a frequency above a byte
    ],
)
def test_a_file_gives_back_the_lists_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    doc_count: int,
    weights: list[float],
    ids_type: str,
    weights_type: str,
) -> None:
    monkeypatch.setattr(decoded, "MIN_POSTINGS", 3)
    lists = {
        ("body", "قانون"): ([0, 7, doc_count - 1], weights),
        ("body", "law"): ([3, 4, 5], [1.0, 1.0, 1.0]),
        ("title", "قانون"): ([2, 9, 11], weights[::-1]),
    }
    writer = decoded.DecodedListsWriter(doc_count)
    for (field, term), (ids, term_weights) in lists.items():
        writer.add(field, term, ids, term_weights)
    writer.add("body", "rare", [1], [1.0])  # shorter than MIN_POSTINGS (3 here): left to the blocks
    with open(tmp_path / "segment.dec", "wb") as file:
        writer.write(file)
    found = decoded.DecodedLists.read(str(tmp_path / "segment.dec"))
    assert (found.ids.dtype.str, found.weights.dtype.str) == (ids_type, weights_type)
    for (field, term), (ids, term_weights) in lists.items():
        got_ids, got_weights = found.postings(field, term)
        assert got_ids.dtype == np.int32 and got_weights.dtype == np.float32
        assert (got_ids.tolist(), got_weights.tolist()) == (ids, term_weights)
    assert found.postings("body", "rare") is None and not found.holds("body", "rare")
    assert found.postings("title", "law") is None


@pytest.mark.parametrize("largest", [9, 70_000])  # 16-bit positions, then 32-bit
def test_a_file_gives_back_each_documents_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, largest: int
) -> None:
    monkeypatch.setattr(decoded, "MIN_POSTINGS", 3)
    docs = list(range(0, 2 * decoded.SKIP + 40, 2))  # across several skips
    places = {doc: list(range(doc % 5, doc % 5 + 1 + doc % 3)) for doc in docs}  # 1 to 3 positions
    places[docs[-1]] = [4, largest]
    writer = decoded.DecodedListsWriter(1_000)
    writer.add("title", "قانون", [1, 2, 3], [1.0, 1.0, 1.0])  # a list without positions
    writer.add(
        "body", "law", docs, [float(len(places[d])) for d in docs], np.concatenate(list(places.values()))
    )
    writer.add("body", "act", [5, 6, 7], [1.0, 2.0, 1.0], np.array([0, 3, 9, 2]))
    with open(tmp_path / "segment.dec", "wb") as file:
        writer.write(file)
    found = decoded.DecodedLists.read(str(tmp_path / "segment.dec"))
    assert found.positions.dtype.str == ("<u2" if largest < 1 << 16 else "<u4")
    law = found.kept_positions("body", "law")
    assert {doc: law.at(doc) for doc in docs} == places
    assert law.at(1) == [] and law.at(10_000) == []  # documents without the term
    act = found.kept_positions("body", "act")
    assert [act.at(doc) for doc in (5, 6, 7)] == [[0], [3, 9], [2]]
    assert found.kept_positions("title", "قانون") is None and found.kept_positions("body", "rare") is None
    assert found.postings("title", "قانون")[0].tolist() == [1, 2, 3]


def test_a_file_of_the_first_layout_reads_without_positions(tmp_path: Path) -> None:
    """Indexes built before positions were kept have files of the first layout: still read, lists alone."""
    header = json.dumps(
        {"ids": "<u2", "weights": "|u1", "postings": 3, "lists": {"body": {"law": [0, 3]}}}
    ).encode()
    start = len(decoded.MAGIC_WITHOUT_POSITIONS) + 8 + len(header)
    (tmp_path / "old.dec").write_bytes(
        decoded.MAGIC_WITHOUT_POSITIONS + len(header).to_bytes(8, "little") + header + b"\0" * (-start % 8)
        + np.array([2, 5, 9], "<u2").tobytes() + np.array([1, 3, 1], "u1").tobytes()
    )  # fmt: skip
    found = decoded.DecodedLists.read(str(tmp_path / "old.dec"))
    assert [part.tolist() for part in found.postings("body", "law")] == [[2, 5, 9], [1.0, 3.0, 1.0]]
    assert found.kept_positions("body", "law") is None


def _stored(matcher, positions: bool = False) -> tuple[list[int], list]:
    """A posting list as Whoosh's own codec reads it, deleted documents included (as a segment keeps it):
    ids, and weights or (``positions``) each posting's positions."""
    ids, values = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        values.append(matcher.value_as("positions") if positions else float(np.float32(matcher.weight())))
        matcher.next()
    return ids, values


@pytest.mark.shared_data
def test_every_long_list_of_the_text_fields_is_kept_as_its_blocks_hold_it(kept: IndexHome) -> None:
    assert _decoded_files(kept), "the bulk builder wrote no decoded lists"
    compared = positions_compared = 0
    with kept.open().searcher() as searcher:
        for leaf, _offset in searcher.reader().leaf_readers():
            held = decoded.DecodedLists.read(decoded.path_of(leaf.storage(), leaf.segment()))
            text_fields = [name for name in leaf.indexed_field_names() if name.startswith(("title", "body"))]
            expected = {
                (name, btext.decode("utf-8"))
                for name in text_fields
                for btext, info in leaf.iter_field(name)
                if info.doc_frequency() >= SHORT
            }
            kept_terms = {(name, term) for name, terms in held.lists.items() for term in terms}
            assert kept_terms == expected
            segment = leaf.segment()
            terms = segment.codec().terms_reader(leaf.storage(), segment)
            for name, term in sorted(expected):
                field_format = leaf.schema[name].format
                ids, weights = _stored(terms.matcher(name, term.encode("utf-8"), field_format))
                got_ids, got_weights = held.postings(name, term)
                assert (got_ids.tolist(), got_weights.tolist()) == (ids, weights), (name, term)
                compared += len(ids)
                got_positions = held.kept_positions(name, term)
                assert (got_positions is not None) == field_format.supports("positions"), (name, term)
                if got_positions is not None:
                    _ids, positions = _stored(terms.matcher(name, term.encode("utf-8"), field_format), True)
                    assert [got_positions.at(doc) for doc in ids] == positions, (name, term)
                    positions_compared += sum(map(len, positions))
            terms.close()
    assert compared > 100_000 and positions_compared > 50_000


def _queries(home: IndexHome) -> list[str]:
    """The index's most frequent words (the decoded lists), alone, in pairs, as phrases and with operators."""
    words = words_by_frequency(home)[:40]
    pairs = [f"{a} {b}" for a, b in zip(words[::2], words[1::2], strict=False)]
    return [
        *words,
        *pairs,
        *(f"{a} {b} {c}" for a, b, c in zip(words[:10], words[5:], words[11:], strict=False)),
        *(f'"{pair}"' for pair in pairs[:6]),
        *(f"{a} -{b}" for a, b in zip(words[:6], words[6:12], strict=False)),
        *(f"{a} OR {b}" for a, b in zip(words[:6], words[20:26], strict=False)),
        "lang:ar " + words[3],
    ]


def _answers(engine: SearchEngine, query: str) -> tuple:
    try:
        pages = [engine.search(query, page=page, size=10, snippets=False) for page in (1, 3)]
    except QueryError as error:
        return ("refused", str(error))
    first = pages[0]
    return (
        first.total,
        first.total_all,
        first.facets,
        first.folded,
        [[(hit.id, hit.score) for hit in page.hits] for page in pages],
    )


@pytest.mark.shared_data
def test_searches_rank_the_same_with_decoded_lists_as_from_the_blocks(
    kept: IndexHome, blocks_only: IndexHome
) -> None:
    assert _decoded_files(kept) and not _decoded_files(blocks_only)
    with_lists, from_blocks = SearchEngine.at(kept), SearchEngine.at(blocks_only)
    queries = _queries(kept)
    assert len(queries) > 80
    matched = 0
    for query in queries:
        expected = _answers(from_blocks, query)
        assert _answers(with_lists, query) == expected, query
        matched += expected[0] != "refused" and expected[0] > 0
    assert matched > 70


@pytest.mark.shared_data
def test_a_truncated_decoded_file_is_damage_that_says_rebuild(kept: IndexHome, tmp_path: Path) -> None:
    copy = copy_index(kept, tmp_path / "copy")
    path = _decoded_files(copy)[0]
    os.truncate(path, path.stat().st_size // 2)
    found = check_index(copy)
    assert found.error is not None and path.name in str(found.error) and "fahras rebuild" in str(found.error)
    result = subprocess.run(
        [sys.executable, "-m", "fahras_cli", "search", "--index", str(copy.path), "قانون"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "damaged" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.shared_data
def test_a_decoded_file_that_lies_is_found_by_the_opening_check_and_by_a_search(
    kept: IndexHome, tmp_path: Path
) -> None:
    """A header whose sizes disagree with the file (as a version with a bug might write it, its checksum
    recorded): the check that every published generation passes refuses it, and a search says damaged."""
    copy = copy_index(kept, tmp_path / "copy")
    path = _decoded_files(copy)[0]
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"postings": ', b'"postings": 1', 1)[: len(data)])
    info_path = copy.live_target() / BUILD_INFO
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["files"][path.name] = [path.stat().st_size, file_checksum(path)]
    info_path.write_text(json.dumps(info), encoding="utf-8")
    found = check_index(copy, checksums=True)
    assert found.error is not None and path.name in str(found.error)
    words = _queries(copy)[:5]
    result = subprocess.run(
        [sys.executable, "-m", "fahras_cli", "search", "--index", str(copy.path), *words[:1]],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "damaged" in result.stderr and "Traceback" not in result.stderr


def test_decoded_files_come_and_go_with_their_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates add small segments, each with its file; merging them (Whoosh's writer, which writes none)
    deletes their files with them; every segment's list is found either way."""
    monkeypatch.setattr(decoded, "MIN_POSTINGS", 3)
    home = IndexHome(tmp_path / "index")
    corpus = tmp_path / "corpus"
    seen_files: set[str] = set()
    for run in range(6):
        for n in range(4):
            (corpus / f"r{run}").mkdir(parents=True, exist_ok=True)
            (corpus / f"r{run}" / f"d{n}.txt").write_text(
                f"harbour report {run}\n\nharbour news {n}", "utf-8"
            )
        (rebuild if run == 0 else update)(home, corpus, show_progress=False)
        live = home.live_target()
        files = {path.name for path in live.glob(f"*{decoded.EXTENSION}")}
        seen_files |= files
        with home.open().searcher() as searcher:
            segments = {leaf.segment().segment_id() for leaf, _offset in searcher.reader().leaf_readers()}
            assert {name.split(".")[0] for name in files} <= segments  # no file outlives its segment
            assert searcher.doc_frequency("body", "harbour") == 4 * (run + 1)
        assert SearchEngine.at(home).search("harbour", size=100).total == 4 * (run + 1)
    assert len(seen_files) > len(files)  # some segments were merged away, with their files
