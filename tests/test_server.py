"""``fahras serve`` as a user runs it: worker processes on one port, a clean stop, a damaged index, idle sockets."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from index.generations import rebuild
from index.store import IndexHome
from web import SECURITY_HEADERS, server

from .conftest import write_corpus
from .damage import copy_index, damage, rename_a_pickled_class
from .servers import alive, children_of, free_port, start_server, stop_server, wait_healthy


def replaced(server: int, dead: int) -> bool:
    workers = children_of(server)
    return len(workers) == 2 and dead not in workers


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the workers")
def test_workers_share_the_port_and_stop_together(built: IndexHome) -> None:
    port = free_port()
    process = start_server(built.path, port, "--workers", "2", "--threads", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        workers = children_of(process.pid)
        assert len(workers) == 2
        for _ in range(20):  # every request is answered, whichever worker takes it
            with urllib.request.urlopen(f"{base}/api/search?q={quote('الأزمة')}", timeout=10) as response:
                assert json.load(response)["total"] == 1

        # A worker that dies is replaced; the service keeps answering.
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not replaced(process.pid, workers[0]):
            time.sleep(0.1)
        assert replaced(process.pid, workers[0])
        wait_healthy(base, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert process.returncode == 0
    assert not [pid for pid in children_of(process.pid) + workers if Path(f"/proc/{pid}").exists()]


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def get(base: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")


@needs_proc
def test_killing_the_server_kills_its_workers(built: IndexHome) -> None:
    port = free_port()
    process = start_server(built.path, port, "--workers", "2")
    workers = children_of(process.pid)
    assert len(workers) == 2
    process.kill()  # kill -9: no handler runs in the parent
    process.wait(10)
    try:
        assert wait_until(lambda: not any(alive(pid) for pid in workers)), "workers outlived the server"
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    again = start_server(built.path, port, "--workers", "2")  # the port is free again
    stop_server(again)


@needs_proc
@pytest.mark.parametrize("kind", ["zeroed-toc", "deleted-postings", "zeroed-postings", "renamed-class"])
def test_a_damaged_index_is_reported_once_and_never_restarts_workers(
    built: IndexHome, tmp_path: Path, kind: str
) -> None:
    copy = copy_index(built, tmp_path / "copy")
    rename_a_pickled_class(copy) if kind == "renamed-class" else damage(copy, kind)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(copy.path, port, "--workers", "2", healthy=False)
    try:
        workers = children_of(process.pid)
        for path in ("/healthz", f"/api/search?q={quote('الأزمة')}", "/api/suggest?q=fo") * 5:
            status, body = get(base, path)
            assert status == 503 and ("damaged" in body["error"] or "older version" in body["error"])
        assert children_of(process.pid) == workers  # no worker died
    finally:
        log = stop_server(process)
    assert "starting another" not in log
    causes = [line for line in log.splitlines() if "is damaged" in line or "older version" in line]
    assert len(causes) == 1 and "fahras rebuild" in causes[0], log


def _numbered_corpus(folder: Path, count: int) -> Path:
    lines = (
        json.dumps({"id": f"n{i}", "title": f"report {i}", "text": f"number {i} " * 40}) for i in range(count)
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "numbers.jsonl").write_text("\n".join(lines), encoding="utf-8")
    return folder


@needs_proc
def test_a_file_truncated_under_the_server_gives_errors_not_dead_workers(
    home: IndexHome, tmp_path: Path
) -> None:
    rebuild(home, _numbered_corpus(tmp_path / "c", 3000), show_progress=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(home.path, port, "--workers", "2")
    try:
        workers = children_of(process.pid)
        for i in range(0, 3000, 150):  # both workers map the postings file
            assert get(base, f"/api/search?q={i}")[0] == 200
        postings = next(home.live_dir().glob("*.pst"))
        os.truncate(postings, postings.stat().st_size // 4)
        statuses = {get(base, f"/api/search?q={i}")[0] for i in range(2990, 1000, -40)}
        assert statuses == {503}
        assert get(base, "/healthz")[0] == 503
        assert children_of(process.pid) == workers  # without the check, reading the map killed them (SIGBUS)
    finally:
        log = stop_server(process)
    assert "truncated while the server had it open" in log and "SIGBUS" not in log


@needs_proc
def test_idle_connections_do_not_lock_clients_out(built: IndexHome) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(built.path, port, "--workers", "2", "--per-client", "0")
    idle: list[socket.socket] = []
    try:
        for _ in range(500):  # waitress's default was 100 connections per worker
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        status, body = get(base, "/healthz")
        assert status == 200 and body["documents"] == 7
    finally:
        for connection in idle:
            connection.close()
        stop_server(process)


def _attacker(port: int) -> socket.socket:
    """A connection from another address of the loopback network (127.0.0.2): another client."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0))


@needs_proc
def test_slow_headers_from_many_connections_never_lock_clients_out(built: IndexHome) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(built.path, port, "--workers", "1")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    slow: list[socket.socket] = []
    try:
        for _ in range(1200):  # more than a worker's 1,000 connections: waitress alone stopped accepting
            connection = _attacker(port)
            connection.sendall(b"GET / HTTP/1.1\r\n")  # and never the end of its headers
            slow.append(connection)
        status, body = get(base, "/healthz")
        assert status == 200 and body["documents"] == 7
        refused = sum(1 for connection in slow if _closed(connection))
        assert refused >= 1200 - server.CONNECTIONS_PER_CLIENT
        trickling = next(connection for connection in slow if not _closed(connection))
        deadline = time.monotonic() + server.HEADER_SECONDS + 3 * server.WAITRESS_SETTINGS["cleanup_interval"]
        while not _closed(trickling) and time.monotonic() < deadline + 5:
            with contextlib.suppress(OSError):
                trickling.sendall(
                    b"X-Slow: 1\r\n"
                )  # a header line at a time keeps waitress's idle timer reset
            time.sleep(0.5)
        assert _closed(trickling)  # its headers took too long
    finally:
        for connection in slow:
            connection.close()
        stop_server(process)


def _closed(connection: socket.socket) -> bool:
    """Whether the server has closed the connection (EOF or reset), without waiting."""
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.setblocking(True)


@needs_proc
def test_an_oversized_url_gets_an_answer_not_a_reset(built: IndexHome) -> None:
    port = free_port()
    process = start_server(built.path, port, "--workers", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            with contextlib.suppress(OSError):  # the server may stop reading before all is sent
                connection.sendall(b"GET /?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
    finally:
        stop_server(process)
    assert response.split(b"\r\n", 1)[0].split()[1] in (b"414", b"431")


@needs_proc
def test_healthz_never_waits_behind_searches(tmp_path: Path) -> None:
    """With one thread busy on a queue of slow searches, /healthz still answers before they are done."""
    folder = write_corpus(
        tmp_path / "c",
        {f"d{i}.txt": f"Note {i}\n" + " ".join(f"w{i}x{j} common" for j in range(400)) for i in range(3000)},
    )
    home = IndexHome(tmp_path / "index")
    rebuild(home, folder, show_progress=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(home.path, port, "--workers", "1", "--threads", "1")
    finished: list[str] = []
    try:

        def search(number: int) -> None:
            words = "+".join(f"w{number * 7 + k}x{k}" for k in range(12))
            get(base, f"/api/search?q=common+{words}&size=30")
            finished.append("search")

        searches = [threading.Thread(target=search, args=(n,)) for n in range(12)]
        for thread in searches:
            thread.start()
        time.sleep(0.3)  # the searches are queued behind the one thread
        status, _ = get(base, "/healthz")
        finished.append("healthz")
        for thread in searches:
            thread.join()
    finally:
        stop_server(process)
    assert status == 200 and finished.index("healthz") < len(finished) - 1


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    # Headers just past waitress's 256 KiB limit, unfinished: no unread bytes make the close a reset.
    [(b"NOT A REQUEST\r\n\r\n", 400), (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 263_000, 431)],
    ids=["malformed", "headers-too-large"],
)
def test_waitress_own_errors_carry_the_security_headers(
    built: IndexHome, request_bytes: bytes, status: int
) -> None:
    port = free_port()
    process = start_server(built.path, port, "--workers", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(request_bytes)
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
    finally:
        stop_server(process)
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.split()[1] == str(status), head[:100]
    for name, value in SECURITY_HEADERS.items():
        assert f"\r\n{name}: {value}" in head


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_serve_says_at_start_that_the_index_is_missing_or_empty(tmp_path: Path, state: str) -> None:
    index_dir = tmp_path / "index"
    if state == "empty":
        (tmp_path / "nothing").mkdir()
        rebuild(IndexHome(index_dir), tmp_path / "nothing", show_progress=False)
    port = free_port()
    origin = "https://app.example.org"
    process = start_server(index_dir, port, "--workers", "1", "--cors", origin, healthy=state == "empty")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert "fahras index" in response.read().decode()  # the page says how to build one
            assert "Access-Control-Allow-Origin" not in response.headers  # --cors opens the API only
        try:
            health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
        except urllib.error.HTTPError as error:  # 503: no index yet
            health = error
        assert health.headers["Access-Control-Allow-Origin"] == origin
    finally:
        log = stop_server(process)
    expected = "there is no index at" if state == "missing" else "holds no documents yet"
    lines = [line for line in log.splitlines() if expected in line]
    assert len(lines) == 1 and f"fahras index --index {index_dir} FOLDER" in lines[0], log
