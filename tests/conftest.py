"""Shared fixtures: small corpora written on the fly, and the shared data sets."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import pytest

from index.generations import rebuild
from index.store import IndexHome

# ../shared/data beside the project; $FAHRAS_SHARED_DATA names it for a checkout elsewhere (a worktree).
SHARED = Path(
    os.environ.get("FAHRAS_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
DEMO = Path(__file__).resolve().parents[1] / "web" / "demo"
# Recognised pages go to a cache of the test run's own, never the user's (commands started by tests inherit it).
os.environ.setdefault("FAHRAS_CACHE", tempfile.mkdtemp(prefix="fahras-test-cache-"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when the data is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def news_index(tmp_path_factory: pytest.TempPathFactory, articles: int) -> IndexHome:
    """An index of the first ``articles`` SaudiNewsNet articles (skips without the shared data)."""
    source = shared("saudinewsnet", "corpus.jsonl.gz")
    folder = tmp_path_factory.mktemp(f"snn{articles}")
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        (folder / "snn.jsonl").write_text("".join(islice(lines, articles)), encoding="utf-8")
    home = IndexHome(folder / "index")
    rebuild(home, folder / "snn.jsonl", show_progress=False)
    return home


def words_by_frequency(home: IndexHome) -> list[str]:
    """The index's words as documents write them (exact forms, letters only), most frequent first."""
    with home.open().searcher() as searcher:
        reader = searcher.reader()
        counted = sorted(
            (
                (reader.doc_frequency("body_exact", term), term.decode())
                for term in reader.lexicon("body_exact")
            ),
            reverse=True,
        )
    return [word for _count, word in counted if word.isalpha()]


# The fields of a hit, the one format `fahras search --json` and /api/search share.
HIT_FIELDS = {
    "id",
    "title",
    "title_html",
    "snippet",
    "score",
    "lang",
    "source",
    "date",
    "url",
    "page",
    "ocr",
    "similar",
}


def index_of(tmp_path_factory: pytest.TempPathFactory, name: str, files: dict[str, str]) -> IndexHome:
    """An index of written files (in their own temporary folder), for a module's fixture."""
    folder = write_corpus(tmp_path_factory.mktemp(name) / "corpus", files)
    home = IndexHome(folder.parent / "index")
    rebuild(home, folder, show_progress=False)
    return home


def write_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


# Texts that exercise every rule of the analysis at once (for snippets and the bulk builder).
TRICKY = (
    "dying tying lying skies happily Straße O'Neill's résumé CAFÉ naïve 1990s ٢٠١٥ ۲۰۱۵ "
    "مدرستها للحكومة والسعوديين بالانتخابات فالمعلمون كتابًا أمطاراً الإنْتِخَابَاتُ جـــميل "
    "ﻻ ﺍﻟﺴﻼﻡ مؤسسة مسئول رئيس يحيى مستشفى ک ی الله‌ية "
    "ٱلْكِتَٰبُ ذَٰلِكَ عَلَىٰ شكراً مستثمرًا ومصر فقال سيارتي سياراتها لكاليفورنيا مدر\u00adسة Wiki\ufeffpedia"
)
# Without ß and the presentation forms, which send a whole text down the slow path.
TRICKY_FOLDING = (
    "dying DYING happily O’Neill’s résumé CAFÉ cafe\u0301 ﬁnance naïve ٢٠١٥ ۲۰۱۵ "
    "الإنْتِخَابَاتُ الانتخـــابات ال\u200cانتخابات كتابًا أمطاراً مؤسسة مسئول يحيى ک ی "
    "ٱلْكِتَٰبُ ذَٰلِكَ عَلَىٰ شكراً مستثمرًا ومصر فقال سيارتي سياراتها لكاليفورنيا مدر\u00adسة Wiki\ufeffpedia"
)


def demo_texts() -> list[str]:
    """The tricky texts and every file of the bundled demo corpus."""
    return [TRICKY, TRICKY_FOLDING] + [
        path.read_text(encoding="utf-8") for path in sorted(DEMO.rglob("*")) if path.is_file()
    ]


SMALL_CORPUS = {
    "news/election.txt": "الانتخابات البلدية في المدينة\n\nأعلنت اللجنة نتائج الانتخابات والاستفتاء، وقال وزير الداخلية إن المشاركة كانت واسعة.",
    "news/crisis.txt": "الأَزْمَةُ الاقتصاديّة تتفاقم\n\nتفاقمت الأزمة بعد ارتفاع الأسعار في موسكو والقاهرة.",
    "science/stars.md": "# Counting the stars\n\nAstronomers counted stars in the Milky Way using new telescopes.",
    "science/mixed.txt": "مؤتمر الذكاء الاصطناعي\n\nناقش المؤتمر تقنيات machine learning وتطبيقاتها في الطب.",
    "culture/poetry.html": "<html><head><title>Poetry night</title><style>p{}</style></head><body><h1>Poetry night</h1><p>Poets read verses by candlelight.</p><script>var hidden = 'secret';</script></body></html>",
    "feed.jsonl": "\n".join(
        json.dumps(r, ensure_ascii=False)
        for r in [
            {
                "id": "j1",
                "title": "Football final",
                "text": "The team won the football final in extra time.",
                "date": "2024-05-01",
                "source": "Sports Daily",
                "lang": "en",
            },
            {
                "id": "j2",
                "title": "نهائي كرة القدم",
                "text": "فاز الفريق بالمباراة النهائية لكرة القدم.",
                "date": "2024-06-10",
                "source": "Sports Daily",
            },
        ]
    ),
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", SMALL_CORPUS)


@pytest.fixture
def home(tmp_path: Path) -> IndexHome:
    return IndexHome(tmp_path / "index")


@pytest.fixture
def built(home: IndexHome, corpus: Path) -> IndexHome:
    rebuild(home, corpus, show_progress=False)
    return home


# Files opened by this process, through Python's audit events (an audit hook cannot be
# removed, so one hook records into whichever list ``files_opened`` has open).
_RECORDERS: list[list[str]] = []


def _record_opens(event: str, args: tuple) -> None:
    if event == "open" and _RECORDERS:
        _RECORDERS[-1].append(str(args[0]))


sys.addaudithook(_record_opens)


@contextmanager
def files_opened() -> Iterator[list[str]]:
    """Every path this process opens inside the ``with`` block (requests served in-process included)."""
    found: list[str] = []
    _RECORDERS.append(found)
    try:
        yield found
    finally:
        _RECORDERS.remove(found)


def like_a_terminal() -> None:
    """``preexec_fn`` for a ``fahras`` child that must see ^C as a user's terminal sends it.

    A shell starts background jobs with SIGINT ignored, and Python then never raises
    KeyboardInterrupt; a child of a test run from such a job would ignore ^C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``FAHRAS_CACHE`` names a file: no cache can be written there (a read-only home, a full disk)."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("FAHRAS_CACHE", str(blocked))
