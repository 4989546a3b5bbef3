"""Fixtures for a real local OpenSearch cluster (search/backends/opensearch/cluster.py), and a plain client.

``opensearch_node`` is one node and ``opensearch_cluster3`` three, started once per test session on free
ports, with their data in temporary folders and their jars from the usual cache (built by the first run,
reused by every later one). A test module imports the fixtures it uses.

They skip only when a cluster cannot be built on this machine at all: ``java`` or ``mvn`` missing, or Maven
Central unreachable with nothing cached. Any other failure to build or start fails the tests that use them.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from search.backends.opensearch.cluster import (
    CentralUnreachable,
    ClusterInfo,
    ToolMissing,
    build_node,
    port_free,
    start_cluster,
    stop_cluster,
)


class OpenSearchError(Exception):
    """An HTTP error answer, with its status and the start of its body (OpenSearch's reason)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


def call(url: str, method: str, path: str, body: object = None, *, timeout: float = 30) -> dict:
    """One request to one node: a dict is sent as JSON, a str as NDJSON (for _bulk)."""
    data, kind = (
        (body, "application/x-ndjson") if isinstance(body, str) else (json.dumps(body), "application/json")
    )
    request = urllib.request.Request(
        url + path,
        data=None if body is None else data.encode(),
        method=method,
        headers={"Content-Type": kind},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise OpenSearchError(error.code, error.read().decode(errors="replace")[:1000]) from None


def call_any(urls: Sequence[str], method: str, path: str, body: object = None, *, rounds: int = 10) -> dict:
    """As a real client does: when a node refuses, resets or answers 5xx, the next one, for a few rounds.

    A 4xx answer is the request's own fault and is raised at once.
    """
    failure: Exception | None = None
    for attempt in range(rounds * len(urls)):
        try:
            return call(urls[attempt % len(urls)], method, path, body)
        except OpenSearchError as error:
            if error.status < 500:
                raise
            failure = error
        except OSError as error:  # refused, reset, timed out
            failure = error
        if attempt % len(urls) == len(urls) - 1:
            time.sleep(0.5)  # every node failed this round: an election or a recovery under way
    raise AssertionError(f"no node answered {method} {path} in {rounds} rounds: {failure}")


def free_ports(count: int) -> tuple[int, int]:
    """A first HTTP and a first transport port, each followed by ``count - 1`` more free ones."""
    for _ in range(200):
        http = random.randrange(20000, 30000)
        ports = [*range(http, http + count), *range(http + 10000, http + 10000 + count)]
        if all(port_free(port) for port in ports):
            return http, http + 10000
    raise AssertionError("no free ports between 20000 and 40000")


def build_or_skip() -> None:
    """The node's jars, built if need be; skips when this machine cannot build them at all."""
    reason = _cannot_build()
    if reason:
        pytest.skip(f"no OpenSearch cluster on this machine: {reason}")


@functools.cache
def _cannot_build() -> str | None:
    """Why the jars cannot be built here, asked of Maven once per session (each try costs seconds)."""
    try:
        build_node(lambda message: print(message, file=sys.stderr))
    except (ToolMissing, CentralUnreachable) as error:
        return str(error)
    return None if shutil.which("java") else "`java` is not installed (the jars were built earlier)"


def running_cluster(home: Path, nodes: int) -> Iterator[ClusterInfo]:
    """A cluster of ``nodes`` nodes in ``home`` on free ports, stopped after its last test."""
    build_or_skip()
    http, transport = free_ports(nodes)
    info = start_cluster(nodes, home=home, http_port=http, transport_port=transport)
    try:
        yield info
    finally:
        stop_cluster(home)


@pytest.fixture(scope="session")
def opensearch_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    yield from running_cluster(tmp_path_factory.mktemp("opensearch1"), 1)


@pytest.fixture(scope="session")
def opensearch_cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    yield from running_cluster(tmp_path_factory.mktemp("opensearch3"), 3)
