"""The OpenSearch backend as its users meet it: writes that lose nothing, one writer, honest failures, failover.

Against real local nodes (tests/opensearch.py): ``fahras index`` adds, replaces and deletes through a clone
of the live index and moves the alias only when the new index reads back; a run killed with SIGKILL leaves
the alias where it was and its leftover is removed by the next run; the incremental state lives in the
cluster; a second writer waits, and a dead writer's lease is taken over; a cluster that does not answer is
one line and a 503, never a traceback; and three nodes keep answering the real engine's searches, with
the same hits, while one of them is killed and brought back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from fahras_cli import main
from index.documents import Document
from index.indexer import RebuildNeeded, rebuild_index, update_index
from index.store import WriterBusy
from search.backend import default_analysis, open_backend
from search.backends.opensearch import backend as opensearch_backend
from search.backends.opensearch import fields
from search.backends.opensearch.backend import Location, OpenSearchBackend
from search.backends.opensearch.cluster import ClusterInfo, port_free, restart_node
from search.backends.opensearch.fields import Serialiser, quantised, serialise_words
from search.backends.opensearch.target import LOCKS, OpenSearchTarget
from search.engine import SearchEngine
from web import create_app

from .conftest import write_corpus
from .opensearch import OpenSearchError, call, opensearch_cluster3, opensearch_node  # noqa: F401 (fixtures)

NOTES = {
    "heat.txt": "Heat wave\nA heat wave hit the coast; the heat stayed for a week.",
    "drought.txt": "Drought\nThe drought after the heat wave emptied the reservoirs.",
    "ar.txt": "الانتخابات البلدية\nبدأت الانتخابات في المدن.",
}
ROOT = Path(__file__).resolve().parents[1]


def fahras(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import fahras_cli, sys; sys.exit(fahras_cli.main())", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip


def physical(url: str, alias: str) -> list[str]:
    return sorted(call(url, "GET", f"/{alias}-gen-*?expand_wildcards=all"))


def live(url: str, alias: str) -> str:
    return next(iter(call(url, "GET", f"/_alias/{alias}")))


# ------------------------------------------------------------------ the analysis as the cluster gets it


def test_serialised_fields_keep_forms_gaps_and_whoosh_lengths() -> None:
    analysis = default_analysis()
    text, length = serialise_words(["ووزارة", "الصحة", "في", "الرياض"], analysis.stem)
    assert text.split(" ")[2] == "_" and "|" in text.split(" ")[0]
    assert length == sum(len(forms.split("|")) for forms in text.split(" ") if forms != "_")
    assert [quantised(n) for n in (0, 1, 10, 11, 100)] == [0, 1, 10, 12, 101]
    document = Document("x", "Heat wave", "The heat, the wave.", "/o/x.txt", date=datetime(2015, 7, 21, 12))
    source = Serialiser(analysis).source(document, 7)
    assert source["body"] == "_ heat _ wave" and source["title_exact"] == "heat wave"
    assert (source["len_body"], source["total_body"], source["order"]) == (2, 2, 7)
    assert source["date_us"] == 1437480000 * 1_000_000
    assert source["stored"]["title"] == "Heat wave" and source["stored"]["date"] == "2015-07-21"


def test_a_location_is_a_url_ending_in_the_index_name() -> None:
    where = Location.parse("http://user:secret@h1:9200,h2:9201/news?shards=2")
    assert where.hosts == ("http://user:secret@h1:9200", "http://user:secret@h2:9201")
    assert (where.alias, where.shards, where.url) == ("news", 2, "http://h1:9200,h2:9201/news")
    for bad in ("http://h1:9200", "http://h1:9200/News", "http://h1:9200/a/b", "http://h1:9200/x?shards=0"):
        with pytest.raises(opensearch_backend.StoreError):
            Location.parse(bad)
    assert isinstance(open_backend("http://127.0.0.1:9/news"), OpenSearchBackend)


def test_without_the_client_the_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "opensearchpy", None)  # an import of it fails
    assert main(["search", "--index", "http://127.0.0.1:9/news", "heat"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pip install 'fahras[opensearch]'" in error


# ------------------------------------------------------------------ a cluster that does not answer


def test_a_cluster_that_does_not_answer_is_one_line_and_a_503(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    port = next(port for port in range(29500, 29600) if port_free(port))
    url = f"http://127.0.0.1:{port}/news"
    monkeypatch.setattr(opensearch_backend, "RETRY_SECONDS", 0.5)
    for command in (["search", "heat"], ["stats"], ["check"], ["index", str(ROOT / "web" / "demo")]):
        code = main([command[0], "--index", url, *command[1:]])
        out, err = capsys.readouterr()
        assert code in {1, 2}, command
        said = (out + err).strip()
        assert "does not answer" in said and "Traceback" not in said, said
        if command[0] == "search":
            assert code == 2 and err.count("\n") == 1
    client = create_app({"INDEX_DIR": url, "TESTING": True}).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unusable"
    assert client.get("/api/search", query_string={"q": "heat"}).status_code == 503


# ------------------------------------------------------------------ writes


def test_index_adds_replaces_deletes_and_any_machine_can_go_on(
    opensearch_node: ClusterInfo,  # noqa: F811
    tmp_path: Path,
) -> None:
    node = opensearch_node.urls[0]
    url = f"{node}/writes"
    folder = write_corpus(tmp_path / "notes", NOTES)
    report = update_index(open_backend(url).target(), folder, show_progress=False)
    assert (report.added, report.total_docs) == (3, 3)
    first = live(node, "writes")
    engine = SearchEngine.at(url)
    assert [hit.id for hit in engine.search("heat").hits] == ["heat.txt", "drought.txt"]

    (folder / "drought.txt").unlink()
    (folder / "heat.txt").write_text("Cold snap\nA cold snap hit the coast.")
    (folder / "new.txt").write_text("Heat again\nThe heat came back.")
    # A fresh backend, as on another machine: what is indexed is read from the cluster.
    report = update_index(open_backend(url).target(), folder, show_progress=False)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 1)
    second = live(node, "writes")
    assert second != first and physical(node, "writes") == sorted([first, second])  # the previous one kept
    engine = SearchEngine.at(url)
    assert [hit.id for hit in engine.search("heat").hits] == ["new.txt"]
    assert engine.search("cold").hits[0].id == "heat.txt" and engine.stats().documents == 3
    assert call(node, "GET", f"/{first}/_count")["count"] == 3  # the old version is unchanged

    report = update_index(open_backend(url).target(), folder, show_progress=False)
    assert report.changed == 0 and live(node, "writes") == second  # nothing to do: nothing published
    assert main(["stats", "--json", "--index", url]) == 0

    report = rebuild_index(open_backend(url).target(), None, show_progress=False)
    third = live(node, "writes")
    assert report.added == 3 and physical(node, "writes") == sorted([second, third])
    assert open_backend(url).target().recorded().paths() == [str(folder.resolve())]


def test_an_index_without_fingerprints_answers_unfolded_and_asks_for_a_rebuild(
    opensearch_node: ClusterInfo,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = opensearch_node.urls[0]
    url = f"{node}/unfolded"
    story = " ".join(f"word{n} of the long story about the river crossing" for n in range(12))
    folder = write_corpus(
        tmp_path / "notes", {"a.txt": f"River story\n{story}", "b.txt": f"River again\n{story}"}
    )
    with monkeypatch.context() as patched:  # as format 1 wrote documents: no fingerprint
        patched.setattr(fields, "fingerprint", lambda _body: None)
        rebuild_index(OpenSearchTarget(open_backend(url), workers=1), folder, show_progress=False)
    results = SearchEngine.at(url).search("river")
    assert (results.total, results.folded) == (2, 0)
    rebuild_index(open_backend(url).target(), folder, show_progress=False)
    results = SearchEngine.at(url).search("river")
    assert (results.total, results.folded, len(results.hits[0].similar)) == (1, 1, 1)
    index = live(node, "unfolded")
    call(node, "PUT", f"/{index}/_mapping", {"_meta": {**open_backend(url).meta(index), "format": 1}})
    assert open_backend(url).warning() == opensearch_backend.OLDER_WARNING
    with pytest.raises(RebuildNeeded):
        update_index(open_backend(url).target(), folder, show_progress=False)


def test_a_killed_run_leaves_the_last_complete_index(opensearch_node: ClusterInfo, tmp_path: Path) -> None:  # noqa: F811
    node = opensearch_node.urls[0]
    url = f"{node}/killed"
    folder = write_corpus(tmp_path / "notes", NOTES)
    assert fahras("index", "--quiet", "--index", url, str(folder)).returncode == 0
    before = live(node, "killed")
    records = "\n".join(
        json.dumps({"id": f"n{n}", "title": f"note {n}", "text": "heat " * 200 + f"word{n}"})
        for n in range(20000)
    )
    (folder / "many.jsonl").write_text(records)
    run = subprocess.Popen(
        [sys.executable, "-c", "import fahras_cli, sys; sys.exit(fahras_cli.main())", "index", "--quiet",
         "--index", url, str(folder)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):  # until its new index holds some documents
            started = [name for name in physical(node, "killed") if name != before]
            if (
                started
                and call(node, "GET", f"/{started[0]}/_stats/indexing")["_all"]["total"]["indexing"][
                    "index_total"
                ]
                > 100
            ):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the run never started writing")
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait()
    assert live(node, "killed") == before
    assert SearchEngine.at(url).stats().documents == 3
    assert len(physical(node, "killed")) == 2  # the leftover, until the next run
    # The dead writer's lease (same machine, process gone) does not hold the next run up.
    done = fahras("index", "--quiet", "--index", url, str(folder / "ar.txt"))
    assert done.returncode == 0, done.stderr
    assert physical(node, "killed") == sorted({before, live(node, "killed")})  # the leftover is gone


def test_one_writer_at_a_time(opensearch_node: ClusterInfo, tmp_path: Path) -> None:  # noqa: F811
    node = opensearch_node.urls[0]
    url = f"{node}/locked"
    folder = write_corpus(tmp_path / "notes", NOTES)
    target = open_backend(url).target()
    with target.write_lock(1):
        busy = pytest.raises(WriterBusy, match=rf"pid {os.getpid()} .* gave up after waiting 0.5 s")
        with busy, OpenSearchTarget(open_backend(url)).write_lock(0.5):
            pass
        other = fahras("index", "--quiet", "--wait", "1", "--index", url, str(folder))
        assert other.returncode == 2 and "another fahras index/rebuild" in other.stderr
    assert update_index(open_backend(url).target(), folder, show_progress=False).added == 3
    with pytest.raises(OpenSearchError, match="HTTP 404"):  # released: a lease is held only while writing
        call(node, "GET", f"/{LOCKS}/_doc/locked")


def test_rejected_batches_are_sent_again(opensearch_node: ClusterInfo, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    """The cluster's 429 for load: the rejected documents are sent again, and none is lost."""
    from search.backends.opensearch import target as target_module

    url = f"{opensearch_node.urls[0]}/rejected"
    real_bulk = None
    rejected = []

    def bulk(client, body, index):
        answer = real_bulk(body=body, index=index)
        if not rejected:  # the first request: its first document is said to be rejected (and was not kept)
            first = answer["items"][0]["index"]
            client.delete(index=index, id=first["_id"])
            first["status"], first["error"] = (
                429,
                {"type": "es_rejected_execution_exception", "reason": "busy"},
            )
            rejected.append(first["_id"])
        return answer

    original = target_module._Sender._send

    def send(self, lines, documents):
        nonlocal real_bulk
        client = self.target.cluster.client
        real_bulk = type(client).bulk.__get__(client)
        monkeypatch.setattr(client, "bulk", lambda body, index: bulk(client, body, index))
        return original(self, lines, documents)

    monkeypatch.setattr(target_module._Sender, "_send", send)
    folder = write_corpus(tmp_path / "notes", NOTES)
    report = rebuild_index(open_backend(url).target(), folder, show_progress=False)
    assert rejected and report.total_docs == 3 and SearchEngine.at(url).stats().documents == 3


# ------------------------------------------------------------------ three nodes, one killed


def test_searches_answer_alike_through_a_killed_node(
    opensearch_cluster3: ClusterInfo,  # noqa: F811
    tmp_path: Path,
) -> None:
    info, urls = opensearch_cluster3, opensearch_cluster3.urls
    hosts = ",".join(url.removeprefix("http://") for url in urls)
    url = f"http://{hosts}/failover?shards=2"
    folder = write_corpus(tmp_path / "notes", {
        f"n{n}.txt": f"Note {n}\n" + " ".join(["heat", "wave", "coast", "drought", "وزارة", "الصحة"][n % 6 :])
        + f" word{n % 7}" for n in range(300)
    })  # fmt: skip
    rebuild_index(open_backend(url).target(), folder, show_progress=False)
    index = live(urls[0], "failover")
    settings = call(urls[0], "GET", f"/{index}/_settings")[index]["settings"]["index"]
    assert settings["number_of_shards"] == "2"
    call(urls[0], "GET", "/_cluster/health?wait_for_status=green&timeout=60s")
    engine = SearchEngine.at(url)
    queries = ["heat", "drought -heat", '"وزارة الصحة"', "coast word3", "وزارة"]

    def answer(query: str) -> tuple:
        found = engine.search(query, size=100, facets=True)
        return found.total, [(hit.id, hit.score) for hit in found.hits], found.facets

    baseline = {query: answer(query) for query in queries}
    assert all(0 < total < 300 for total, _, _ in baseline.values()), {q: v[0] for q, v in baseline.items()}
    stop, answers = threading.Event(), []

    def load() -> None:
        for number in range(20_000):
            if stop.is_set():
                return
            query = queries[number % len(queries)]
            try:
                answers.append((query, answer(query)))
            except Exception as error:  # a failed search is a finding
                answers.append((query, error))
            time.sleep(0.02)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        time.sleep(2)
        victim = info.node(call(urls[0], "GET", "/_cat/cluster_manager?format=json")[0]["node"])
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = len(answers)
        survivor = next(node for node in urls if node != victim.url)
        call(survivor, "GET", "/_cluster/health?wait_for_nodes=2&timeout=60s")
        time.sleep(3)
        restart_node(victim.name, home=info.home)
        time.sleep(2)
    finally:
        stop.set()
        thread.join(timeout=60)
    wrong = [(query, got) for query, got in answers if got != baseline[query]]
    assert not wrong, wrong[:3]
    assert len(answers) - killed_at >= 10
    health = call(urls[0], "GET", "/_cluster/health?wait_for_status=green&timeout=60s")
    assert health["status"] == "green" and health["number_of_nodes"] == 3
    assert engine.stats().documents == 300
