"""What a query reads, counted: posting blocks and postings decoded per query, on a kept index.

Timings on a shared 2-core machine move by a third from one run to the next (the same code
measured 73 and 121 ms of CPU a short query an hour apart), so a change that saves a tenth of a
query's time cannot be seen in them. What the embedded backend decodes can: this counts,
over the same queries as ``bench/speed.py`` (the first 300 short queries and XQuAD Arabic
questions, after 50 others as warm-up, in one process), per query on average:

- ``blocks for candidates``: posting blocks decoded to score a candidate's exact-form and root words;
- ``position blocks``: blocks whose positions were decoded for proximity (or phrases);
- ``postings decoded whole``: postings of lists decoded whole (the match set, words scored for every match);
- ``block headers``: block headers read to bound or find blocks;
- ``postings read decoded``: postings of long lists read from the decoded copies beside their segments
  (``index/decoded.py``; an index built before them, or a checkout before them, reads none);
- ``positions read decoded``: documents whose positions were sliced from those copies instead of a block;

and the CPU time per query of that run. ``--code DIR`` counts another checkout of Fahras (a
``git worktree`` of an earlier commit) on the same index, in a process of its own:

    python bench/work.py /var/tmp/fahras-bench/300k-v4/fahras
    python bench/work.py /var/tmp/fahras-bench/300k-v4/fahras --code ../before --kinds short
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FAHRAS_SHARED_DATA") or ROOT.parent / "shared" / "data")
QUERIES = {
    "short": DATA / "saudinewsnet" / "queries.short.tsv",
    "questions": DATA / "xquad" / "queries.ar.tsv",
}
TIMED, WARM_UP = 300, 50
LABELS = {
    "decode": "blocks for candidates",
    "values": "position blocks",
    "decode_blocks": "postings decoded whole",
    "directory_of": "block headers",
    "postings": "postings read decoded",
    "at": "positions read decoded",
}


def count(index: Path, kind: str) -> dict[str, float]:
    """Runs in the checkout on ``sys.path``: the counts per query of one kind of query."""
    from index.store import IndexHome
    from search.backends.embedded import blocks
    from search.engine import QueryError, SearchEngine
    from search.syntax import plain_text

    counted: collections.Counter = collections.Counter()

    def counting(owner, name: str, size) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            found = original(*args, **kwargs)
            counted[name] += size(args, found)
            return found

        setattr(owner, name, wrapper)

    counting(blocks.Directory, "decode", lambda args, found: len(list(args[1])))
    counting(blocks.Directory, "values", lambda args, found: 1)
    counting(blocks, "decode_blocks", lambda args, found: len(found[0]))
    counting(blocks, "directory_of", lambda args, found: len(found.spans))
    with contextlib.suppress(ImportError):  # a checkout from before decoded lists (index/decoded.py)
        from index import decoded

        counting(decoded.DecodedLists, "postings", lambda args, found: len(found[0]) if found else 0)
        if hasattr(decoded, "KeptPositions"):  # a checkout from before positions were kept
            counting(decoded.KeptPositions, "at", lambda args, found: 1)
    lines = QUERIES[kind].read_text(encoding="utf-8").splitlines()
    queries = [line.split("\t", 1)[1] for line in lines if "\t" in line][: TIMED + WARM_UP]
    engine = SearchEngine.at(IndexHome(index))

    def search(text: str) -> None:
        with contextlib.suppress(QueryError):
            engine.search(plain_text(text), size=10, snippets=False)

    for text in queries[TIMED:]:
        search(text)
    counted.clear()
    started = time.process_time()
    for text in queries[:TIMED]:
        search(text)
    found = {LABELS[name]: counted[name] / TIMED for name in LABELS}
    found["CPU ms"] = (time.process_time() - started) * 1000 / TIMED
    return found


def measured(code: Path, index: Path, kind: str) -> dict[str, float]:
    """The counts of the checkout at ``code``, in a child process (its modules, not this one's)."""
    command = [sys.executable, __file__, str(index), "--kinds", kind, "--code", str(code), "--child"]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=code)
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index", type=Path, help="an index home (a folder holding live and gen-*)")
    parser.add_argument(
        "--code", type=Path, action="append", help="a checkout of Fahras to count (repeatable)"
    )
    parser.add_argument(
        "--kinds", default="short,questions", help="short, questions or both (comma-separated)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(args.code[0].resolve()))
        print(json.dumps(count(args.index.resolve(), args.kinds)))
        return
    codes = [code.resolve() for code in args.code or [ROOT]]
    print(f"| checkout | queries | {' | '.join(LABELS.values())} | CPU ms |")
    print("|---|---|" + "---|" * (len(LABELS) + 1))
    for kind in args.kinds.split(","):
        for code in codes:
            found = measured(code, args.index.resolve(), kind)
            figures = " | ".join(f"{found[label]:,.0f}" for label in LABELS.values())
            print(f"| {code.name} | {kind} | {figures} | {found['CPU ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
