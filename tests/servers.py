"""Starting ``fahras serve`` in tests: a free port and a wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index_dir: Path, port: int, *options: str) -> subprocess.Popen:
    """``fahras serve`` on ``port``, returned once /healthz answers (fails the test otherwise)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "serve", "--index", str(index_dir), "--port", str(port), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wait_healthy(f"http://127.0.0.1:{port}", process)
    return process


def wait_healthy(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"fahras serve exited: {process.stdout.read()}")
            time.sleep(0.2)
    process.kill()
    pytest.fail("fahras serve did not start")
