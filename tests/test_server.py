"""``fahras serve`` as a user runs it: worker processes on one port, a clean stop."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from index.store import IndexHome

from .servers import free_port, start_server, wait_healthy


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


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
