"""The filed words of an index version: prefix walks give what Whoosh's term index gives, from the file or memory."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from index.generations import rebuild, update
from index.store import IndexHome
from search.backends.embedded.vocabulary import FORMAT, PAGE, vocabularies
from search.engine import SearchEngine

from .conftest import index_of, write_corpus

# More words of one start than a page of the walk holds, in titles and bodies, both scripts.
STARTS = ["قرا", "كتب", "rea"]
ENDINGS = ["".join(pair) for pair in product("بتثجحخدذرزسشصضطظعغفقكلمنهوي", repeat=2)][: PAGE + 60]
FILES = {
    "ar.txt": "قرار الوزير\n" + " ".join(f"{STARTS[0]}{ending}" for ending in ENDINGS),
    "ar2.txt": "كتاب جديد\n" + " ".join(f"{STARTS[1]}{ending}" for ending in ENDINGS[:40]) + " قرار",
    "en.txt": "Reading notes\n"
    + " ".join(f"rea{a}{b}" for a, b in product("abcdefghijklmnopqrstu", repeat=2)),
}
PREFIXES = ["", "ق", "قر", "قرا", "قرار", "كتب", "r", "rea", "reaz", "ذذذ", "\U0010ffff"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    return index_of(tmp_path_factory, "vocabulary", FILES)


def _whoosh(reader, field: str, prefix: str) -> list[str]:
    return [term.decode("utf-8") for term in reader.expand_prefix(field, prefix)]


def _walks_agree(home: IndexHome) -> None:
    with home.open().searcher() as searcher:
        reader = searcher.reader()
        filed = vocabularies(reader, str(home.path))
        assert filed.terms is not None and filed.fields == {"title_exact", "body_exact"}
        for field, prefix in product(sorted(filed.fields), PREFIXES):
            assert list(filed.terms.starting(field, prefix)) == _whoosh(reader, field, prefix), (
                field,
                prefix,
            )
        assert len(_whoosh(reader, "body_exact", STARTS[0])) > PAGE  # a walk over more than one page


def test_a_prefix_walk_gives_whooshs_terms_in_whooshs_order(home: IndexHome) -> None:
    _walks_agree(home)


@pytest.mark.usefixtures("unwritable_cache")
def test_the_walk_is_the_same_when_the_words_are_filed_in_memory(home: IndexHome) -> None:
    _walks_agree(home)


def test_a_misspelt_word_is_corrected_from_the_filed_words(home: IndexHome) -> None:
    """Did-you-mean walks the filed terms: a typo of a word the index holds finds it."""
    engine = SearchEngine.at(home)
    assert engine.search("Readimg notes", suggest=True).suggestion == "Reading notes"


def test_files_of_an_earlier_format_are_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new format's file replaces the earlier format's of the same index; other indexes' stay."""
    monkeypatch.setenv("FAHRAS_CACHE", str(tmp_path / "cache"))
    folder = write_corpus(tmp_path / "corpus", {"a.txt": "عنوان\nنص عن حفتر في ليبيا"})
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    SearchEngine.at(home).search("Haftar")  # files the version's words (format FORMAT)
    names = tmp_path / "cache" / "names"
    (filed,) = (names / f"v{FORMAT}").iterdir()  # the index's folder of files
    older = [names / "v1" / filed.name / "old.sqlite", names / "v1" / "another-index" / "old.sqlite"]
    for path in older:
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
    (folder / "b.txt").write_text("خبر\nقال بوتين إن المحادثات مستمرة", encoding="utf-8")
    update(home, folder, show_progress=False)
    SearchEngine.at(home).search("Putin")  # a new version: its words are filed anew
    assert [path.exists() for path in older] == [False, True]
    assert len(list(filed.glob("*.sqlite"))) == 2
