"""A real local OpenSearch cluster: Fahras's analysis on one node, a killed node among three, a clean stop.

What the OpenSearch backend will rely on is checked against real nodes: text that Fahras has analysed
already (each position's forms joined by ``|``, a removed stop word written ``_``) goes through a whitespace
tokenizer, a pattern_capture filter and a stop filter, and must keep every form at its position and every
gap; phrases must honour both; term statistics must come back; a cluster must keep answering, with the same
hits, while a node dies, and take it back; and a stop must leave no process and no port behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from search.backends.opensearch import cluster
from search.backends.opensearch.cluster import (
    STATE_FILE,
    ClusterError,
    ClusterInfo,
    build_node,
    cluster_status,
    main,
    restart_node,
    start_cluster,
    stop_cluster,
)
from tests.opensearch import (
    build_or_skip,
    call,
    call_any,
    free_ports,
    opensearch_cluster3,  # noqa: F401 (a fixture)
    opensearch_node,  # noqa: F401 (a fixture)
    port_free,
)

ANALYSIS = {
    "filter": {
        "fahras_forms": {"type": "pattern_capture", "patterns": ["([^|]+)"], "preserve_original": False},
        "fahras_gaps": {"type": "stop", "stopwords": ["_"]},
    },
    "analyzer": {
        "fahras": {"type": "custom", "tokenizer": "whitespace", "filter": ["fahras_forms", "fahras_gaps"]}
    },
}
MAPPINGS = {"properties": {"body": {"type": "text", "analyzer": "fahras"}}}
SAMPLE = "اعلنت حكوم سعود ووزار|وزار صحه _ اجراء"
DOCUMENTS = {
    "sample": SAMPLE,
    "adjacent": "وزار صحه اجراء جديد",  # صحه اجراء with no gap between them
    "reversed": "سعود حكوم",
}


def create_index(url: str, name: str, shards: int, replicas: int) -> None:
    settings = {"number_of_shards": shards, "number_of_replicas": replicas, "analysis": ANALYSIS}
    call(url, "PUT", f"/{name}", {"settings": settings, "mappings": MAPPINGS})


def bulk_index(url: str, index: str, documents: dict[str, str]) -> None:
    lines = [
        json.dumps(line, ensure_ascii=False)
        for doc_id, text in documents.items()
        for line in ({"index": {"_index": index, "_id": doc_id}}, {"body": text})
    ]
    answer = call(url, "POST", "/_bulk?refresh=true", "\n".join(lines) + "\n")
    assert not answer["errors"], answer


def hit_ids(answer: dict) -> set[str]:
    return {hit["_id"] for hit in answer["hits"]["hits"]}


@pytest.fixture(scope="module")
def fahras_index(opensearch_node: ClusterInfo) -> str:  # noqa: F811
    """An index of DOCUMENTS on one node, its text field analysed as the OpenSearch backend will."""
    url = opensearch_node.urls[0]
    create_index(url, "fahras-analysis", shards=1, replicas=0)
    bulk_index(url, "fahras-analysis", DOCUMENTS)
    return url


# One node -----------------------------------------------------------------------------------------------


def test_one_node_is_green_and_answers(opensearch_node: ClusterInfo) -> None:  # noqa: F811
    url = opensearch_node.urls[0]
    root = call(url, "GET", "/")
    assert root["cluster_name"] == "fahras"
    assert root["version"]["number"].startswith("2.19.")
    health = call(url, "GET", "/_cluster/health?wait_for_status=green&timeout=30s")
    assert (health["status"], health["number_of_nodes"]) == ("green", 1)
    status = cluster_status(opensearch_node.home)
    assert status.running == ("fahras-1",)
    assert status.health is not None and status.health["cluster_name"] == "fahras"


def test_analyzer_keeps_each_form_at_its_position_and_each_gap(fahras_index: str) -> None:
    answer = call(fahras_index, "POST", "/fahras-analysis/_analyze", {"analyzer": "fahras", "text": SAMPLE})
    tokens = [(token["token"], token["position"]) for token in answer["tokens"]]
    assert tokens == [
        ("اعلنت", 0),
        ("حكوم", 1),
        ("سعود", 2),
        ("ووزار", 3),  # both forms of one word, at one position
        ("وزار", 3),
        ("صحه", 4),
        ("اجراء", 6),  # position 5 is the removed stop word's gap
    ]


@pytest.mark.parametrize(
    ("phrase", "slop", "expected"),
    [
        ("صحه اجراء", 0, {"adjacent"}),  # the gap in "sample" keeps the two words apart...
        ("صحه اجراء", 1, {"sample", "adjacent"}),  # ...by exactly one position
        ("حكوم سعود", 0, {"sample"}),  # in order only
        ("وزار صحه", 0, {"sample", "adjacent"}),  # either form of a word starts a phrase
        ("ووزار صحه", 0, {"sample"}),
    ],
)
def test_phrases_honour_forms_and_gaps(fahras_index: str, phrase: str, slop: int, expected: set[str]) -> None:
    query = {"query": {"match_phrase": {"body": {"query": phrase, "slop": slop}}}}
    assert hit_ids(call(fahras_index, "POST", "/fahras-analysis/_search", query)) == expected


def test_term_statistics_come_back(fahras_index: str) -> None:
    request = {"fields": ["body"], "term_statistics": True, "field_statistics": True, "positions": True}
    vectors = call(fahras_index, "POST", "/fahras-analysis/_termvectors/sample", request)["term_vectors"][
        "body"
    ]
    terms = vectors["terms"]
    assert vectors["field_statistics"]["doc_count"] == 3
    assert "_" not in terms and "ووزار|وزار" not in terms
    assert (terms["وزار"]["doc_freq"], terms["وزار"]["ttf"]) == (2, 2)  # in "sample" and "adjacent"
    assert terms["ووزار"]["doc_freq"] == 1
    assert [token["position"] for token in terms["ووزار"]["tokens"]] == [3]
    assert [token["position"] for token in terms["اجراء"]["tokens"]] == [6]

    query = {"query": {"match": {"body": "وزار"}}}
    explanation = call(fahras_index, "POST", "/fahras-analysis/_explain/sample", query)["explanation"]
    assert explanation_value(explanation, "n, number of documents containing term") == 2
    assert explanation_value(explanation, "N, total number of documents with field") == 3


def explanation_value(node: dict, description: str) -> float | None:
    """The value of the first part of a scoring explanation with that description."""
    if node["description"] == description:
        return node["value"]
    found = (explanation_value(detail, description) for detail in node.get("details", []))
    return next((value for value in found if value is not None), None)


def test_a_second_start_is_refused(opensearch_node: ClusterInfo, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(ClusterError, match="already running"):
        start_cluster(home=opensearch_node.home, http_port=opensearch_node.nodes[0].http_port + 100)
    _, transport = free_ports(1)
    with pytest.raises(
        ClusterError, match=f"port {opensearch_node.nodes[0].http_port} on 127.0.0.1 is in use"
    ):
        start_cluster(home=tmp_path, http_port=opensearch_node.nodes[0].http_port, transport_port=transport)
    assert not (tmp_path / STATE_FILE).exists()


# Starting and stopping ----------------------------------------------------------------------------------


def test_stop_leaves_no_process_and_frees_the_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_or_skip()
    http, transport = free_ports(1)
    info = start_cluster(home=tmp_path, http_port=http, transport_port=transport)
    try:
        assert main(["cluster", "status", "--home", str(tmp_path)]) == 0
        assert f"pid {info.nodes[0].pid}" in capsys.readouterr().out
        assert main(["cluster", "stop", "--home", str(tmp_path)]) == 0
    finally:
        stop_cluster(tmp_path)  # whatever failed above, no node outlives the test
    assert "stopped 1 node" in capsys.readouterr().out
    assert not Path(f"/proc/{info.nodes[0].pid}").exists()  # not even a zombie
    assert port_free(http) and port_free(transport)
    assert cluster_status(tmp_path).info is None
    assert main(["cluster", "status", "--home", str(tmp_path)]) == 1


def test_stop_never_signals_a_recycled_pid(tmp_path: Path) -> None:
    """A recorded PID now held by another program: stop forgets the node and leaves that program alone."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        node = {"name": "fahras-1", "pid": stranger.pid, "http_port": 1, "transport_port": 2}
        state = {"heap_mb": 512, "nodes": [{**node, "folder": str(tmp_path / "nodes" / "fahras-1")}]}
        (tmp_path / STATE_FILE).write_text(json.dumps(state))
        assert cluster_status(tmp_path).running == ()
        assert stop_cluster(tmp_path, grace=1) is not None
        assert stranger.poll() is None
        assert not (tmp_path / STATE_FILE).exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_a_node_that_dies_while_starting_is_named_with_its_last_words(tmp_path: Path) -> None:
    build_or_skip()
    http, transport = free_ports(1)
    with pytest.raises(ClusterError, match=r"node fahras-1 exited during start: .*OutOfMemoryError"):
        start_cluster(home=tmp_path, heap_mb=8, http_port=http, transport_port=transport)
    assert not (tmp_path / STATE_FILE).exists()
    assert port_free(http) and port_free(transport)


def test_data_of_a_cluster_of_another_size_is_refused(tmp_path: Path) -> None:
    """Three nodes' data cannot elect a single node: a clear refusal, not a start that never gets healthy."""
    (tmp_path / "nodes").mkdir()
    (tmp_path / "nodes" / "layout.json").write_text('{"nodes": 3}')
    with pytest.raises(ClusterError, match="holds the data of a 3-node cluster"):
        start_cluster(1, home=tmp_path)


def test_the_build_is_cached_and_redone_when_the_sources_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_or_skip()
    said: list[str] = []
    build_node(said.append)
    assert said == []  # built already: Maven does not run again

    project = tmp_path / "node"
    shutil.copytree(cluster.NODE_PROJECT, project)
    source = project / "src" / "main" / "java" / "fahras" / "node" / "EmbeddedNode.java"
    source.write_text(source.read_text() + "// changed\n")
    before = sorted(project.rglob("*"))
    monkeypatch.setattr(cluster, "NODE_PROJECT", project)
    lib = build_node(said.append, cache=tmp_path / "cache")
    assert said[0].startswith("[1/2] fetching") and said[1].startswith("[2/2] compiling")
    assert (lib / "fahras-node.jar").is_file() and any(lib.glob("opensearch-2.19.*.jar"))
    assert sorted(project.rglob("*")) == before  # Maven wrote nothing beside the sources
    said.clear()
    assert build_node(said.append, cache=tmp_path / "cache") == lib and said == []


def test_user_errors_are_one_line_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    http, transport = free_ports(1)
    with socket_listening(http):
        status = main(["cluster", "start", "--home", str(tmp_path), "--port", str(http), "--transport-port", str(transport)])  # fmt: skip
    error = capsys.readouterr().err
    assert status == 2
    assert (
        error
        == f"fahras cluster start: port {http} on 127.0.0.1 is in use: choose other ports (--port, --transport-port)\n"
    )


def socket_listening(port: int) -> socket.socket:
    """Another program's server on the port (a socket closes at the end of its ``with``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


# Three nodes --------------------------------------------------------------------------------------------

WORDS = [
    "حكوم",
    "سعود",
    "وزار",
    "صحه",
    "اجراء",
    "مدين",
    "رياض",
    "تعليم",
    "طالب",
    "نفط",
    "سوق",
    "شرك",
    "مشروع",
]
QUERIES = [
    {"query": {"match": {"body": "نفط"}}},
    {"query": {"match_phrase": {"body": "وزار صحه"}}},
    {"query": {"match_phrase": {"body": {"query": "صحه اجراء", "slop": 1}}}},
    {"query": {"bool": {"must": [{"match": {"body": "طالب"}}], "must_not": [{"match": {"body": "سوق"}}]}}},
]
# Hits from any copy of a shard, the same copies each time while they live; a failed shard is an error
# (and a retry), never a silently partial answer.
SEARCH = "/news/_search?preference=fahras-test&allow_partial_search_results=false"


def news(count: int) -> dict[str, str]:
    """Pre-analysed texts in Fahras's form: some words with a second form (و+word), some gaps (_)."""
    rng = random.Random(7)
    texts = {}
    for number in range(count):
        words = [rng.choice(WORDS) for _ in range(12)]
        words = [f"و{w}|{w}" if rng.random() < 0.2 else "_" if rng.random() < 0.1 else w for w in words]
        texts[f"news-{number:03d}"] = " ".join(words)
    return texts


def summary(answer: dict) -> tuple[int, list[str]]:
    return answer["hits"]["total"]["value"], sorted(hit_ids(answer))


def query_while(urls: list[str], stop: threading.Event, answers: list, limit: int = 20_000) -> None:
    """The QUERIES in turn, each from another first node, until ``stop`` (or ``limit`` queries)."""
    for number in range(limit):
        if stop.is_set():
            return
        body = {**QUERIES[number % len(QUERIES)], "size": 200, "track_total_hits": True, "_source": False}
        first = number % len(urls)
        try:
            answers.append((number, summary(call_any(urls[first:] + urls[:first], "POST", SEARCH, body))))
        except Exception as error:  # a failed query is a finding, not the end of the loop
            answers.append((number, error))
        time.sleep(0.02)  # a steady load, not one that starves the restarting node of CPU


def wait_for_answers(answers: list, more: int) -> None:
    """Until the query thread has ``more`` answers beyond those it has now (it never stops by itself)."""
    target = len(answers) + more
    for _ in range(600):
        if len(answers) >= target:
            return
        time.sleep(0.1)
    raise AssertionError(f"the query thread is stuck at {len(answers)} answers")


def test_three_nodes_answer_through_a_killed_node_and_take_it_back(opensearch_cluster3: ClusterInfo) -> None:  # noqa: F811
    info, urls = opensearch_cluster3, opensearch_cluster3.urls
    create_index(urls[0], "news", shards=2, replicas=1)
    bulk_index(urls[0], "news", news(200))
    call(urls[0], "GET", "/_cluster/health/news?wait_for_status=green&timeout=60s")
    assert call(urls[1], "GET", "/news/_count")["count"] == 200
    baseline = [
        summary(call(urls[0], "POST", SEARCH, {**q, "size": 200, "track_total_hits": True})) for q in QUERIES
    ]
    assert all(0 < total < 200 for total, _ in baseline), baseline

    stop, answers = threading.Event(), []
    thread = threading.Thread(target=query_while, args=(urls, stop, answers), daemon=True)
    thread.start()
    try:
        wait_for_answers(answers, 2 * len(QUERIES))
        # The elected cluster manager, so that the cluster must also hold an election.
        victim = info.node(call(urls[0], "GET", "/_cat/cluster_manager?format=json")[0]["node"])
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = len(answers)
        survivor = next(url for url in urls if url != victim.url)
        health = call(survivor, "GET", "/_cluster/health?wait_for_nodes=2&timeout=60s")
        assert health["number_of_nodes"] == 2 and health["status"] in {"yellow", "green"}, health
        wait_for_answers(answers, 2 * len(QUERIES))

        restarted = restart_node(victim.name, home=info.home)
        wait_for_answers(answers, 2 * len(QUERIES))
    finally:
        stop.set()
        thread.join(timeout=60)

    wrong = [(number, answer) for number, answer in answers if answer != baseline[number % len(QUERIES)]]
    assert not wrong, wrong[:3]
    assert len(answers) - killed_at >= 4 * len(QUERIES)
    health = call(
        restarted.node(victim.name).url, "GET", "/_cluster/health?wait_for_status=green&timeout=60s"
    )
    assert (health["status"], health["number_of_nodes"]) == ("green", 3)
    assert call_any(urls, "GET", "/news/_count")["count"] == 200
    assert restarted.node(victim.name).pid != victim.pid
