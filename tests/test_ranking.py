"""Ranking: BM25F scores as the formula defines them, and fast paths that must not change what users see."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from whoosh import query as Q

from index.generations import rebuild, update
from index.store import IndexHome
from search.backends.embedded.scoring import rank
from search.engine import DEFAULT_RANKING, SearchEngine

from .conftest import news_index, shared

WORDS = [
    "الانتخابات", "انتخاب", "المنتخب", "الحكومة", "حكومي", "السعودية", "سعودي", "النفط", "نفطية", "الأسعار",
    "سعر", "المدارس", "مدرسة", "والمعلمين", "elections", "election", "government", "oil", "prices", "price",
    "schools", "teacher", "market", "markets",
]  # fmt: skip
QUERIES = ["الانتخابات", "الحكومة السعودية", "أسعار النفط", "oil prices", "election government", "مدرسة"]


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """150 documents mixing the words above at random (fixed seed): many ties to break."""
    folder = tmp_path_factory.mktemp("varied")
    rng = random.Random(3)
    with (folder / "docs.jsonl").open("w", encoding="utf-8") as out:
        for n in range(150):
            title = " ".join(rng.sample(WORDS, 2))
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
            out.write(
                json.dumps({"id": f"d{n:03d}", "title": title, "text": body}, ensure_ascii=False) + "\n"
            )
    home = IndexHome(folder / "index")
    rebuild(home, folder / "docs.jsonl", show_progress=False)
    return home


@pytest.fixture(scope="module")
def snn(tmp_path_factory: pytest.TempPathFactory) -> IndexHome:
    """1,500 SaudiNewsNet articles (skipped without the shared data)."""
    return news_index(tmp_path_factory, 1500)


def ranked(engine: SearchEngine, query: str, size: int = 20, page: int = 1) -> list[tuple[str, float]]:
    found = engine.search(query, size=size, page=page, snippets=False, fold=False)  # the ranking alone
    return [(hit.id, hit.score) for hit in found.hits]


def _bm25f(searcher, fields: list[tuple[str, float]], text: str) -> dict[int, float]:
    """A word's BM25F score in every document, written out from the formula (boost 1)."""
    ranking, reader = DEFAULT_RANKING, searcher.reader()
    present = [(name, weight) for name, weight in fields if (name, text.encode()) in reader]
    if not present:
        return {}
    df = searcher.doc_frequency(present[0][0], text)
    idf = math.log(1 + (searcher.doc_count_all() - df + 0.5) / (df + 0.5))
    frequency: dict[int, float] = defaultdict(float)
    for name, weight in present:
        b = ranking.title_b if name.startswith("title") else ranking.b
        average = searcher.avg_field_length(name)
        for docnum, tf in searcher.postings(name, text).items_as("weight"):
            length = searcher.doc_field_length(docnum, name)
            frequency[docnum] += weight * tf / (1 - b + b * length / average)
    k1 = ranking.k1
    return {docnum: idf * (k1 + 1) * t / (k1 + t) for docnum, t in frequency.items()}


def _reference(home: IndexHome, engine: SearchEngine, text: str) -> list[tuple[str, float]]:
    """Every match and its score computed the slow, obvious way: each word's title and body
    occurrences saturated together per analysis level (a word's alternative forms scoring their
    best), plus each adjacent pair standing, all times 1 + title_match where the query's words
    make up the whole title."""
    plan = engine.plan(text)
    typed = {(term.field, term.text) for term in plan.scoring}
    scores: dict[int, float] = defaultdict(float)
    best: dict[tuple[int, int], float] = defaultdict(float)  # (group, docnum): the best form's score
    with home.open().searcher() as searcher:
        matching = Q.Or([Q.Term(t.field, t.text) for t in plan.scoring if t.field in ("title", "body")])
        matches = set(searcher.docs_for_query(matching))

        def matches_of(word) -> set[int]:
            terms = getattr(word, "parts", (word,))
            return set(searcher.docs_for_query(Q.Or([Q.Term(term.field, term.text) for term in terms])))

        for term in plan.scoring:
            if term.field.startswith("title"):
                continue
            title = "title" + term.field.removeprefix("body")
            fields = [(term.field, 1.0)] + [(title, DEFAULT_RANKING.title_weight)] * (
                (title, term.text) in typed
            )
            for docnum, score in _bm25f(searcher, fields, term.text).items():
                if term.group is None:
                    scores[docnum] += term.weight * score
                else:
                    best[term.group, docnum] = max(best[term.group, docnum], term.weight * score)
        for (_group, docnum), score in best.items():
            scores[docnum] += score
        for pair in plan.phrases:
            words = [slot.terms[0] for slot in pair.phrase.slots]
            for docnum in searcher.docs_for_query(Q.Phrase(pair.phrase.field, words)):
                for word in words:
                    scores[docnum] += pair.weight * _bm25f(searcher, [(pair.phrase.field, 1.0)], word)[docnum]
        for docnum in matches:
            in_title = sum(
                dict(searcher.postings("title", stem).items_as("weight")).get(docnum, 0)
                for stem in plan.title_words
                if ("title", stem.encode()) in searcher.reader()
            )
            length = searcher.doc_field_length(docnum, "title")
            if length and in_title >= length:
                scores[docnum] *= 1 + DEFAULT_RANKING.title_match
        # A keyword query (plan.words): the documents holding more of its words first.
        held = {docnum: sum(bool(matches_of(word) & {docnum}) for word in plan.words) for docnum in matches}
        found = [(searcher.stored_fields(docnum)["id"], scores[docnum], held[docnum]) for docnum in matches]
    return [
        (doc, score) for doc, score, _held in sorted(found, key=lambda item: (-item[2], -item[1], item[0]))
    ]


@pytest.mark.parametrize(
    "query", ["oil prices", "election government", "market", "السعودية النفط", "الحكومة", "والمعلمين مدرسة"]
)
def test_scores_are_bm25f_over_title_and_body(varied: IndexHome, query: str) -> None:
    engine = SearchEngine.at(varied)
    expected = _reference(varied, engine, query)
    got = ranked(engine, query, size=100)
    assert len(expected) == engine.search(query, fold=False).total > 30
    assert [doc for doc, _ in got] == [doc for doc, _ in expected[:100]]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected[:100]], abs=1e-4)
    assert all(type(score) is float for _, score in got)


def _index_of(tmp_path: Path, records: list[dict]) -> IndexHome:
    (tmp_path / "docs.jsonl").write_text(
        "\n".join(json.dumps(record, ensure_ascii=False) for record in records), encoding="utf-8"
    )
    home = IndexHome(tmp_path / "index")
    rebuild(home, tmp_path / "docs.jsonl", show_progress=False)
    return home


def test_a_title_match_outranks_one_body_match(tmp_path: Path) -> None:
    home = _index_of(
        tmp_path,
        [
            {"id": "report", "title": "Report", "text": "solar nothing else at all"},
            {"id": "solar", "title": "Solar", "text": "nothing else here at all"},
        ],
    )
    assert [hit.id for hit in SearchEngine.at(home).search("solar").hits] == ["solar", "report"]


def test_a_word_in_title_and_body_saturates_once(tmp_path: Path) -> None:
    """A long article naming the word in its title and once in its body does not outrank
    the short paragraph about it: the title and body occurrences saturate together."""
    filler = " ".join(f"filler{n}" for n in range(300))
    home = _index_of(
        tmp_path,
        [
            {"id": "article", "title": "Volcano news", "text": f"{filler} volcano {filler}"},
            {"id": "answer", "title": "Iceland", "text": "the volcano erupted; the volcano is quiet now"},
        ],
    )
    assert [hit.id for hit in SearchEngine.at(home).search("volcano").hits] == ["answer", "article"]


@pytest.mark.parametrize(
    ("query", "exact", "stem_only"),
    [
        ("الرياض", "في مدينة الرياض أمس", "في مجال الرياضة أمس"),  # Riyadh, not sport
        ("سيوم", "قال سيوم إنه سافر", "قال إن الكالسيوم مفيد"),
        ("وزيرة", "وصلت وزيرة الخارجية اليوم", "وجدنا الزير في البيت اليوم"),
    ],
)
def test_the_exact_form_ranks_above_an_over_stemmed_one(
    tmp_path: Path, query: str, exact: str, stem_only: str
) -> None:
    home = _index_of(tmp_path, [{"id": "stem", "text": stem_only}, {"id": "exact", "text": exact}])
    assert [hit.id for hit in SearchEngine.at(home).search(query).hits][:1] == ["exact"]


def _exhaustive(engine: SearchEngine, query: str, depth: int) -> list[int]:
    view = engine.backend.snapshot().view
    return rank(view, engine.plan(query), engine.ranking, depth, exhaustive=True).docnums


def _fast(engine: SearchEngine, query: str, depth: int) -> list[int]:
    view = engine.backend.snapshot().view
    return rank(view, engine.plan(query), engine.ranking, depth).docnums


def _same_order_whatever_the_depth(home: IndexHome, queries: list[str]) -> None:
    engine = SearchEngine.at(home)
    for text in queries:
        for depth in (10, 30, 100):
            assert _fast(engine, text, depth) == _exhaustive(engine, text, depth), text


def test_proximity_only_where_it_can_matter_changes_nothing(varied: IndexHome) -> None:
    """The proximity bonus is computed for the few matches that can still reach the page;
    scoring every match gives the same order, page after page."""
    _same_order_whatever_the_depth(varied, QUERIES)


def test_proximity_only_where_it_can_matter_changes_nothing_on_real_news(snn: IndexHome) -> None:
    """The same on real news and real queries (skipped without the shared data)."""
    queries = [line.split("\t", 1)[1] for line in shared("saudinewsnet", "queries.short.tsv").read_text(
        encoding="utf-8").splitlines()[:150]]  # fmt: skip
    _same_order_whatever_the_depth(snn, queries)


def test_cached_answers_are_fresh_answers(varied: IndexHome, tmp_path: Path) -> None:
    warm = SearchEngine.at(varied)
    for query in QUERIES * 2:
        ranked(warm, query)
    for query in QUERIES:
        assert ranked(warm, query) == ranked(SearchEngine.at(varied), query)


def test_deletions_in_a_kept_segment_reach_a_running_engine(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(5):
        (folder / f"d{n}.txt").write_text(f"report {n}\n\nharbour news number {n}", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    engine = SearchEngine.at(home)
    assert engine.search("harbour").total == 5
    (folder / "d2.txt").unlink()
    update(home, folder, show_progress=False)
    assert engine.search("harbour").total == 4
    assert "d2.txt" not in [hit.id for hit in engine.search("harbour").hits]


def test_exact_form_outranks_a_shared_stem(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("نتائج الانتخابات في المدينة", encoding="utf-8")
    (tmp_path / "b.txt").write_text("نتائج انتخاب المجلس في المدينة", encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild(home, tmp_path, show_progress=False)
    hits = SearchEngine.at(home).search("الانتخابات").hits
    assert [hit.id for hit in hits] == ["a.txt", "b.txt"]


def test_every_word_of_a_long_question_retrieves(tmp_path: Path) -> None:
    lines = [
        {"id": "answer", "text": "the volcano erupted near the harbour while ministers met in the capital"}
    ]
    lines += [{"id": f"filler{n}", "text": f"ministers met in the capital, report {n}"} for n in range(40)]
    lines += [{"id": "partial", "text": "a volcano in the south"}]
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    home = IndexHome(tmp_path / "index")
    rebuild(home, tmp_path / "docs.jsonl", show_progress=False)
    results = SearchEngine.at(home).search(
        "when did the volcano erupt near the harbour while ministers met in the capital"
    )
    assert results.hits[0].id == "answer"
    assert results.total == 42  # documents with only the common words match too, ranked below


def test_a_word_read_two_ways_counts_once(tmp_path: Path) -> None:
    """فرنسا is also read as ف + رنسا, and a document holding it holds both forms: it scores its
    best form, not both, so it does not outrank a rarer word's document by counting twice."""
    records = [
        {"id": "france", "text": "زار الوفد فرنسا أمس"},
        {"id": "travel", "text": "سافرت الوفود"},
        {"id": "other", "text": "فرنسا دولة كبيرة في غرب أوروبا"},
        {"id": "other2", "text": "سافرت العائلة إلى البحر في الصيف الماضي"},
    ]
    records += [{"id": f"filler{n}", "text": f"خبر رقم {n} عن الطقس والرياضة"} for n in range(6)]
    home = _index_of(tmp_path, records)
    first = SearchEngine.at(home).search("فرنسا سافرت").hits[0].id
    summed = SearchEngine.at(home, replace(DEFAULT_RANKING, best_alternative=False))
    assert (first, summed.search("فرنسا سافرت").hits[0].id) == ("travel", "france")


def test_a_title_the_question_names_whole_ranks_first(tmp_path: Path) -> None:
    """A question naming an article's subject holds the article's whole title: that passage
    outranks one whose title shares a word and whose body has the question's verb."""
    records = [
        {"id": "umm-al-qura", "title": "جامعة أم القرى",
         "text": "أنشئت الجامعة في مكة المكرمة بأمر ملكي وتضم كليات للشريعة والتربية واللغة العربية"},
        {"id": "toronto", "title": "جامعة تورنتو", "text": "تأسست جامعة تورنتو في كندا عام 1827"},
    ]  # fmt: skip
    records += [{"id": f"village{n}", "text": f"زار الوفد القرى الجبلية رقم {n}"} for n in range(3)]
    records += [
        {"id": f"u{n}", "title": f"جامعة رقم {n}", "text": f"جامعة رقم {n} في مدينة ما"} for n in range(4)
    ]
    home = _index_of(tmp_path, records)
    query = "متى تأسست جامعة أم القرى"
    assert [hit.id for hit in SearchEngine.at(home).search(query).hits][:2] == ["umm-al-qura", "toronto"]
    plain = SearchEngine.at(home, replace(DEFAULT_RANKING, title_match=0.0))
    assert [hit.id for hit in plain.search(query).hits][:2] == ["toronto", "umm-al-qura"]
