"""Starting ``fahras serve`` in tests: a free port and a wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index_dir: Path, port: int, *options: str, healthy: bool = True) -> subprocess.Popen:
    """``fahras serve`` on ``port``, returned once /healthz answers (200 unless ``healthy`` is False)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fahras_cli", "serve", "--index", str(index_dir), "--port", str(port), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wait_healthy(f"http://127.0.0.1:{port}", process, expected=200 if healthy else 503)
    return process


def health_status(base: str) -> int:
    """The status /healthz answers with (an OSError when nothing answers)."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_healthy(base: str, process: subprocess.Popen, expected: int = 200) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if health_status(base) == expected:
                return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"fahras serve exited: {process.stdout.read()}")
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"fahras serve did not answer /healthz with {expected}: {process.communicate()[0][-2000:]}")


def stop_server(process: subprocess.Popen) -> str:
    """SIGTERM, then the server's output (its log)."""
    process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


def children_of(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc), oldest first; none once it has gone."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, dead but not reaped, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
