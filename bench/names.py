"""Names across scripts (search/names.py), measured on real bilingual text.

Development pairs are mined from XQuAD's 240 parallel paragraphs without the
phonetic key, so that the key's precision and recall are not circular:

1. English name-like words: written capitalised in at least 90% of their
   occurrences that do not start a sentence, not a stop word, at least three
   letters, in at least two paragraphs (a word of one paragraph ties with every
   word of its translation), and written in lower case at most twice in the
   2,095 BBC articles (that drops "Council", "Battle", "Minister": words that
   are names only inside a longer name, and translated rather than spelled).
2. Arabic readings: every normalised word of the Arabic paragraphs, also
   without a leading و ف ب ل ك and then without the article, so that وحفتر and
   لحفتر count for حفتر.
3. Score of a pair: Dice over the paragraph pairs (2|both| / (|en| + |ar|)) times
   the mean closeness of their relative positions in the shared paragraphs
   (1 - the smallest gap between an English and an Arabic occurrence, both as
   fractions of the paragraph): translations keep names roughly in place, which
   separates Barack from Obama when both are in the same paragraphs.
4. Competitive linking: pairs are taken best score first, each English word and
   each Arabic reading at most once; a pair must score at least 0.5.

Every mined pair was then checked by hand (``NOT_SPELLED``, ``MISALIGNED``): a
pair is a spelling pair when the Arabic word is the English one written in
Arabic letters (up to vowels, clitics and the article): Warsaw وارسو, yes;
China الصين, Germany المانيا, no (an Arabic name of its own); French فرنسيه, no
(a derived word). Recall is reported over the spelling pairs; precision over all
candidates returned.

    FAHRAS_SHARED_DATA=/work/shared/data python bench/names.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.analysis import ARABIC, LATIN, WordTokenizer, exact_analyzer, script_of  # noqa: E402
from index.generations import rebuild  # noqa: E402
from index.store import IndexHome  # noqa: E402
from search import names, planner  # noqa: E402
from search.engine import SearchEngine  # noqa: E402
from search.suggest import normalize  # noqa: E402

DATA = Path(os.environ.get("FAHRAS_SHARED_DATA") or ROOT.parent / "shared" / "data")
XQUAD = DATA / "xquad" / "corpus.jsonl"
BBC = DATA / "english-news" / "corpus.jsonl.gz"
NEWS = DATA / "tydi" / "corpus.jsonl.gz"  # its distractors: 5,000 SaudiNewsNet and the 2,095 BBC articles
SEED = DATA / "seed" / "haftar-lavrov.txt"
EN_STOPWORDS = ROOT / "index" / "stopwords" / "en.txt"

PROCLITICS = "وفبلك"
MIN_SCORE = 0.5
MAX_LOWERCASE_IN_BBC = 2
SENTENCE_ENDS = '.!?:"“'

# The hand check of every mined pair. Misaligned: the Arabic reading is not the
# English word's translation (neighbouring names swapped: Glen/Jumonville, Los/Angeles;
# a word of the translation instead: ABC ايه, NBA السله).
MISALIGNED = frozenset(
    [
        "abc",
        "adolf",
        "ali",
        "angeles",
        "los",
        "august",
        "ave",
        "baker",
        "pertwee",
        "bernardino",
        "riverside",
        "bowl",
        "bskyb",
        "cambrian",
        "canon",
        "carolina",
        "josh",
        "galaxy",
        "glen",
        "jumonville",
        "gothic",
        "ipcc",
        "mongol",
        "nbc",
        "nfl",
        "pleistocene",
        "sullivan",
        "hiv",
        "ceo",
        "tfeu",
        "mls",
        "nba",
    ]
)
# Aligned but not spelled: Arabic has a name of its own (China الصين, Germany المانيا,
# Persia فارس, January يناير), translates (Reformation الاصلاح), or derives a word
# (French فرنسيه, Scottish الاسكتلندي, Methodists الميثوديين, Cybermen السايبر).
NOT_SPELLED = frozenset(
    [
        "china",
        "chinese",
        "egypt",
        "germany",
        "god",
        "levant",
        "reformation",
        "republic",
        "christian",
        "christians",
        "netherlands",
        "dutch",
        "austrian",
        "india",
        "japan",
        "japanese",
        "persia",
        "persian",
        "mongols",
        "mongolian",
        "atlantic",
        "england",
        "european",
        "islamic",
        "italian",
        "january",
        "july",
        "latin",
        "merkits",
        "methodist",
        "methodists",
        "protestant",
        "protestantism",
        "scottish",
        "cybermen",
        "york",
        "avicenna",
        "ctenophora",
    ]
)


def readings(word: str) -> set[str]:
    """An Arabic word and the words it holds after a one-letter proclitic and the article."""
    found = {word}
    if len(word) >= 4 and word[0] in PROCLITICS:
        found.add(word[1:])
    for reading in list(found):
        if reading.startswith(("ال", "لل")) and len(reading) >= 5:
            found.add(reading[2:])
    return found


def same_name(candidate: str, gold: str) -> bool:
    """Whether an Arabic candidate is the gold word, up to clitics and the article."""
    return gold in readings(candidate) or candidate in readings(gold)


# ------------------------------------------------------------------ corpora


def jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        yield from (json.loads(line) for line in lines)


def normalised_words(text: str, script: str) -> Iterator[str]:
    """The words of ``text`` in one script, normalised (stop words kept: the mining reads them)."""
    for raw in WordTokenizer.words(text):
        word = normalize(raw)
        if word and word.isalpha() and script_of(word) == script:
            yield word


def vocabulary(texts: Iterable[str], script: str) -> Counter[str]:
    """Document frequency of each word of one script as the exact fields index it (no stop words)."""
    analyzer = exact_analyzer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({t.text for t in analyzer(text) if t.text.isalpha() and script_of(t.text) == script})
    return counts


@dataclass
class Parallel:
    """XQuAD's paragraphs by number, in both languages, and each number's article."""

    arabic: dict[str, str] = field(default_factory=dict)
    english: dict[str, str] = field(default_factory=dict)
    article: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Parallel:
        parallel = cls()
        for record in jsonl(path):
            lang, number = record["id"].split("-")
            (parallel.arabic if lang == "ar" else parallel.english)[number] = record["text"]
            parallel.article[number] = record["title"]
        return parallel


# ------------------------------------------------------------------ mining


def lowercase_counts(path: Path) -> Counter[str]:
    """How often each word is written in lower case in a corpus (common words are)."""
    counts: Counter[str] = Counter()
    for record in jsonl(path):
        counts.update(word for word in WordTokenizer.words(record["text"]) if word[0].islower())
    return counts


Positions = dict[str, dict[str, list[float]]]  # word -> paragraph -> relative positions


def english_names(parallel: Parallel, common: Counter[str]) -> Positions:
    """Name-like English words with their relative positions in each paragraph (step 1)."""
    stop = set(EN_STOPWORDS.read_text(encoding="utf-8").split())
    capital, lower = Counter(), Counter()
    positions: Positions = defaultdict(lambda: defaultdict(list))
    for number, text in parallel.english.items():
        matches = list(WordTokenizer.matches(text))
        for at, match in enumerate(matches):
            word = normalize(match.group())
            if not word.isalpha() or script_of(word) != LATIN:
                continue
            positions[word][number].append(at / len(matches))
            before = text[: match.start()].rstrip()
            if before and before[-1] not in SENTENCE_ENDS:
                (capital if match.group()[0].isupper() else lower)[word] += 1
    return {
        word: paragraphs
        for word, paragraphs in positions.items()
        if capital[word] >= 0.9 * (capital[word] + lower[word]) > 0
        and word not in stop
        and len(word) >= 3
        and len(paragraphs) >= 2
        and common[word] <= MAX_LOWERCASE_IN_BBC
    }


def arabic_readings(parallel: Parallel) -> Positions:
    """Every reading of every Arabic word with its relative positions in each paragraph (step 2)."""
    positions: Positions = defaultdict(lambda: defaultdict(list))
    for number, text in parallel.arabic.items():
        words = WordTokenizer.words(text)
        for at, raw in enumerate(words):
            word = normalize(raw)
            if word and script_of(word) == ARABIC:
                for reading in readings(word):
                    positions[reading][number].append(at / len(words))
    return positions


def pair_score(english: dict[str, list[float]], arabic: dict[str, list[float]]) -> float:
    """Dice over paragraphs times the closeness of positions in the shared ones (step 3)."""
    shared = english.keys() & arabic.keys()
    dice = 2 * len(shared) / (len(english) + len(arabic))
    closeness = sum(1 - min(abs(x - y) for x in english[p] for y in arabic[p]) for p in shared)
    return dice * closeness / len(english)


@dataclass(frozen=True)
class Pair:
    english: str
    arabic: str  # the reading: the name without clitics where the paragraphs write it so
    score: float
    article: str


def mine_pairs(parallel: Parallel, common: Counter[str]) -> list[Pair]:
    """Name pairs by co-occurrence and position alone, linked one to one (step 4)."""
    names, arabic = english_names(parallel, common), arabic_readings(parallel)
    in_paragraph: dict[str, set[str]] = defaultdict(set)
    for reading, paragraphs in arabic.items():
        for number in paragraphs:
            in_paragraph[number].add(reading)
    scored = []
    for word, paragraphs in names.items():
        near = set().union(*(in_paragraph[number] for number in paragraphs))
        scored += [(pair_score(paragraphs, arabic[reading]), word, reading) for reading in near]
    pairs: list[Pair] = []
    linked: set[str] = set()
    # A reading without a proclitic scores at least as well as the word it comes from
    # (اريس from باريس): at equal scores the longer reading wins.
    ranked = sorted(scored, key=lambda item: (-round(item[0], 9), -len(item[2]), item[1], item[2]))
    for score, word, reading in ranked:
        if score < MIN_SCORE:
            break
        if word in linked or any(same_name(reading, pair.arabic) for pair in pairs):
            continue
        linked.add(word)
        first = min(names[word])
        pairs.append(Pair(word, reading, score, parallel.article[first]))
    return sorted(pairs, key=lambda pair: pair.english)


# ------------------------------------------------------------------ measuring

# For checking only, never tuned on: what Latin names of the news bring from Arabic news.
NEWS_NAMES = ("obama", "putin", "kerry", "riyadh", "houthi", "aramco")
SEED_NAMES = ("haftar", "hafter", "lavrov")
COMMON_SAMPLE, COMMON_POOL, SAMPLE_SEED = 50, 1000, 20261201


def english_same(candidate: str, gold: str) -> bool:
    """Whether a Latin candidate is the gold word, up to a plural s (Normans for Norman)."""
    return candidate in (gold, gold + "s") or candidate + "s" == gold


def surface_forms(parallel: Parallel, pair: Pair) -> Counter[str]:
    """How often each Arabic word holding the pair's reading is written where the English one is."""
    found: Counter[str] = Counter()
    for number, text in parallel.english.items():
        if pair.english in set(normalised_words(text, LATIN)):
            arabic = normalised_words(parallel.arabic[number], ARABIC)
            found.update(word for word in arabic if pair.arabic in readings(word))
    return found


class Timed:
    """Candidates, with the time each query word took."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, word: str, own: names.Vocabulary, other: names.Vocabulary, limit: int):
        started = time.perf_counter()
        found = names.candidates(word, own, other, limit=limit)
        self.seconds.append(time.perf_counter() - started)
        return found


@dataclass
class Tally:
    """Precision and recall of one direction over a set of pairs."""

    queries: int = 0
    found: int = 0  # queries with a right candidate
    returned: int = 0  # candidates returned
    right: int = 0  # candidates that are right
    errors: list[tuple[float, str]] = field(default_factory=list)  # (how confident, what)

    def add(self, query: str, gold: str, found: list[names.Candidate], is_right) -> None:
        verdicts = [is_right(candidate.word, gold) for candidate in found]
        self.queries += 1
        self.found += any(verdicts)
        self.returned += len(found)
        self.right += sum(verdicts)
        if found and not verdicts[0]:
            self.errors.append((found[0].distance, f"{query} → {found[0].word} first (gold {gold})"))
        if not any(verdicts):
            closest = names.distance(query, gold)
            self.errors.append((closest, f"{query} → missed {gold} (distance {closest:.2f})"))

    def line(self, name: str) -> str:
        precision = self.right / self.returned if self.returned else 1.0
        recall = self.found / self.queries if self.queries else 0.0
        return (
            f"  {name:<24} pairs {self.queries:>3}  recall {recall:.3f}  precision {precision:.3f}"
            f"  ({self.right}/{self.returned} candidates right)"
        )


@dataclass
class Vocabularies:
    """Both scripts' keyed vocabularies of one collection."""

    arabic: names.KeyedVocabulary
    english: names.KeyedVocabulary

    @classmethod
    def of(cls, arabic_texts: list[str], english_texts: list[str]) -> Vocabularies:
        return cls(
            names.KeyedVocabulary(vocabulary(arabic_texts, ARABIC).items()),
            names.KeyedVocabulary(vocabulary(english_texts, LATIN).items()),
        )


def measure(pairs: list[Pair], parallel: Parallel, vocabularies: Vocabularies, limit: int, timed: Timed):
    """Both directions over ``pairs``: Latin→Arabic and Arabic→Latin."""
    arabic, english = vocabularies.arabic, vocabularies.english
    to_arabic, to_latin = Tally(), Tally()
    for pair in pairs:
        to_arabic.add(pair.english, pair.arabic, timed(pair.english, english, arabic, limit), same_name)
        written = surface_forms(parallel, pair).most_common(1)[0][0]
        to_latin.add(written, pair.english, timed(written, arabic, english, limit), english_same)
    return to_arabic, to_latin


def news_texts() -> tuple[list[str], list[str]]:
    """The 5,000 SaudiNewsNet and 2,095 BBC articles of TyDi's distractors, Arabic and English."""
    records = [record for record in jsonl(NEWS) if not record["id"].startswith("tydi-")]
    texts = {
        lang: [f"{r['title']}\n{r['text']}" for r in records if r["lang"] == lang] for lang in ("ar", "en")
    }
    return texts["ar"], texts["en"]


def common_english(texts: list[str], limit: int) -> list[str]:
    """A seeded sample of the most frequent English words never written capitalised inside a sentence."""
    stop = set(EN_STOPWORDS.read_text(encoding="utf-8").split())
    capital, counts = Counter(), Counter()
    for text in texts:
        for match in WordTokenizer.matches(text):
            word = match.group()
            before = text[: match.start()].rstrip()
            if word.isalpha() and word.isascii():
                counts[word.lower()] += 1
                capital[word.lower()] += (
                    word[0].isupper() and bool(before) and before[-1] not in SENTENCE_ENDS
                )
    pool = [w for w, _ in counts.most_common() if not capital[w] and w not in stop and len(w) > 2][
        :COMMON_POOL
    ]
    return sorted(random.Random(SAMPLE_SEED).sample(pool, limit))


def show(word: str, found: list[names.Candidate]) -> str:
    listed = ", ".join(f"{c.word} ({c.distance:.2f}, {c.frequency})" for c in found) or "—"
    return f"    {word}: {listed}"


def report_pairs(pairs: list[Pair], parallel: Parallel, limit: int, timed: Timed) -> None:
    """Precision and recall on the dev and test halves, on XQuAD alone and among the news."""
    spelled = [pair for pair in pairs if pair.english not in MISALIGNED | NOT_SPELLED]
    misaligned = sum(pair.english in MISALIGNED for pair in pairs)
    print(f"mined {len(pairs)} pairs: {misaligned} misaligned, {len(pairs) - misaligned - len(spelled)} not spelled"
          f" (translated or derived), {len(spelled)} spelling pairs")  # fmt: skip
    articles = sorted({pair.article for pair in pairs})
    dev_articles = set(articles[::2])  # by article, so that a name and its neighbours stay in one half
    halves = {
        "dev": [pair for pair in spelled if pair.article in dev_articles],
        "test": [pair for pair in spelled if pair.article not in dev_articles],
    }
    arabic_news, english_news = news_texts()
    arabic_xquad, english_xquad = list(parallel.arabic.values()), list(parallel.english.values())
    settings = {
        "XQuAD (240+240 paragraphs)": Vocabularies.of(arabic_xquad, english_xquad),
        "XQuAD + 5,000 SNN + 2,095 BBC": Vocabularies.of(
            arabic_xquad + arabic_news, english_xquad + english_news
        ),
    }
    worst: list[tuple[float, str]] = []
    for setting, vocabularies in settings.items():
        print(f"\nvocabulary: {setting} (limit {limit})")
        for half, chosen in halves.items():
            to_arabic, to_latin = measure(chosen, parallel, vocabularies, limit, timed)
            print(to_arabic.line(f"{half} Latin→Arabic"))
            print(to_latin.line(f"{half} Arabic→Latin"))
            if half == "test":
                worst = sorted(to_arabic.errors + to_latin.errors)[:20]
    print("\nthe 20 worst errors of the test half among the news (confident mistakes first):")
    for _, what in worst:
        print(f"    {what}")


def report_seed(limit: int, timed: Timed) -> None:
    """Haftar, Hafter and Lavrov in the seed article's own words, and back."""
    text = SEED.read_text(encoding="utf-8")
    seed = Vocabularies.of([text], [text])
    print("\nseed article (its own Arabic and Latin words):")
    for word in SEED_NAMES:
        print(show(word, timed(word, seed.english, seed.arabic, limit)))
    for word in ("حفتر", "لافروف"):
        print(show(word, timed(word, seed.arabic, seed.english, limit)))


def report_news(limit: int, timed: Timed) -> None:
    """Names and common words against the vocabulary of 5,000 SNN and 2,095 BBC articles."""
    arabic_texts, english_texts = news_texts()
    started = time.perf_counter()
    tracemalloc.start()
    news = Vocabularies.of(arabic_texts, english_texts)
    tracemalloc.stop()
    print(f"\nnews vocabulary: {len(news.arabic._frequency):,} Arabic and {len(news.english._frequency):,} "
          f"Latin words, analysed and keyed in {time.perf_counter() - started:.1f} s")  # fmt: skip
    for label, words in (("Arabic", news.arabic), ("Latin", news.english)):
        cost = keyed_cost(list(words._frequency.items()))
        print(f"  keying the {label} words alone: {cost}")
    print("Latin names of the news → Arabic (checking only):")
    for word in NEWS_NAMES:
        print(show(word, timed(word, news.english, news.arabic, limit)))
    sample = common_english(english_texts, COMMON_SAMPLE)
    expanded = {word: timed(word, news.english, news.arabic, limit) for word in sample}
    hits = {word: found for word, found in expanded.items() if found}
    print(f"{len(hits)} of {len(sample)} frequent English non-name words bring Arabic words:")
    for word, found in hits.items():
        print(show(word, found))


def build_search_index(folder: Path) -> Path:
    """An index of XQuAD's 480 paragraphs with the 5,000 SNN and 2,095 BBC articles (kept in ``folder``)."""
    home = folder / "index"
    if not IndexHome(home).exists():
        folder.mkdir(parents=True, exist_ok=True)
        records = [r for r in jsonl(NEWS) if not r["id"].startswith("tydi-")] + list(jsonl(XQUAD))
        (folder / "corpus.jsonl").write_text(
            "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8"
        )
        started = time.perf_counter()
        rebuild(IndexHome(home), folder / "corpus.jsonl", show_progress=False)
        print(
            f"built the search index of {len(records):,} documents in {time.perf_counter() - started:.0f} s"
        )
    return home


def writes(body: str, script: str, wanted) -> bool:
    return any(wanted(word) for word in normalised_words(body, script))


def report_search(pairs: list[Pair], parallel: Parallel, folder: Path, weights: list[float]) -> None:
    """Searched in the engine: how often a name brings the other script's documents that write it into the top 10."""
    home = IndexHome(build_search_index(folder))
    snapshot = SearchEngine.at(home).backend.snapshot()
    spelled = [pair for pair in pairs if pair.english not in MISALIGNED | NOT_SPELLED]
    articles = sorted({pair.article for pair in pairs})
    halves = {
        "dev": [pair for pair in spelled if pair.article in set(articles[::2])],
        "test": [pair for pair in spelled if pair.article not in set(articles[::2])],
    }

    def brings(engine: SearchEngine, query: str, lang: str, script: str, wanted, correct: bool) -> bool:
        hits = engine.search(query, size=10, snippets=False, correct=correct).hits
        return any(
            hit.lang == lang and writes(snapshot.document(hit.id).body, script, wanted) for hit in hits
        )

    print(
        "\nsearched in the engine: XQuAD + 5,000 SNN + 2,095 BBC; the other script's documents in the top 10"
    )
    for weight in [None, *weights]:
        correct = weight is not None
        planner.NAME_WEIGHT = weight if correct else planner.NAME_WEIGHT
        engine = SearchEngine.at(home)  # its own result cache
        for half, chosen in halves.items():
            to_arabic = sum(
                brings(engine, p.english, "ar", ARABIC, lambda w, p=p: same_name(w, p.arabic), correct)
                for p in chosen
            )
            to_latin = sum(
                brings(engine, surface_forms(parallel, p).most_common(1)[0][0], "en", LATIN,
                       lambda w, p=p: english_same(w, p.english), correct)
                for p in chosen
            )  # fmt: skip
            label = f"{half}, names at {weight}" if correct else f"{half}, verbatim"
            print(f"  {label:<22} Latin name → Arabic document {to_arabic}/{len(chosen)};"
                  f" Arabic name → English document {to_latin}/{len(chosen)}")  # fmt: skip


def keyed_cost(words: list[tuple[str, int]]) -> str:
    """Time and memory of a KeyedVocabulary over ``words`` (words given already counted)."""
    tracemalloc.start()
    started = time.perf_counter()
    keyed = names.KeyedVocabulary(words)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    held = len(keyed._by_key)
    return f"{seconds:.1f} s, {peak / 2**20:.0f} MB at peak, {held:,} skeletons for {len(words):,} words"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list-pairs", action="store_true", help="print the mined pairs and stop")
    parser.add_argument("--limit", type=int, default=names.LIMIT, help="candidates per query word")
    parser.add_argument("--search", type=Path, metavar="DIR",
                        help="only search the pairs in the engine, with an index built (and kept) in DIR")  # fmt: skip
    parser.add_argument(
        "--weights", default="1.0", help="NAME_WEIGHTs to compare with --search (comma-separated)"
    )
    args = parser.parse_args()
    parallel = Parallel.load(XQUAD)
    pairs = mine_pairs(parallel, lowercase_counts(BBC))
    if args.list_pairs:
        for pair in pairs:
            print(f"{pair.english}\t{pair.arabic}\t{pair.score:.2f}\t{pair.article}")
        return
    if args.search:
        report_search(pairs, parallel, args.search, [float(w) for w in args.weights.split(",")])
        return
    timed = Timed()
    report_pairs(pairs, parallel, args.limit, timed)
    report_seed(args.limit, timed)
    report_news(args.limit, timed)
    seconds = sorted(timed.seconds)
    print(f"\nper query word ({len(seconds)} looked up): median {statistics.median(seconds) * 1000:.2f} ms,"
          f" 95th percentile {seconds[int(len(seconds) * 0.95)] * 1000:.2f} ms, slowest {seconds[-1] * 1000:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
