"""`avatarlab demo` (what `make demo` runs): ports checked first, the address printed only once the page works."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from daemon_process import free_port
from web_processes import health

ROOT = Path(__file__).resolve().parents[1]


def _demo(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "avatarlab.cli", "demo", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


def _wait_for_line(proc: subprocess.Popen, marker: str, timeout_s: float = 240) -> str:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"demo exited ({proc.wait()}) before {marker!r}:\n{''.join(seen)}{proc.stderr.read()}")
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"no {marker!r} within {timeout_s} s:\n{''.join(seen)}")


def test_demo_prints_its_address_only_when_ready_and_refuses_a_second_run_up_front():
    port, daemon = free_port(), f"tcp://127.0.0.1:{free_port()}"
    first = _demo("--port", str(port), "--daemon", daemon)
    try:
        line = _wait_for_line(first, "web demo ready")
        assert f"http://127.0.0.1:{port}/demo/" in line
        status, body = health(port)  # the moment the address is printed, the page and the daemon answer
        assert status == 200 and body["daemon"] == "up", body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/", timeout=10) as page:
            assert page.status == 200

        second = subprocess.run([sys.executable, "-m", "avatarlab.cli", "demo", "--port", str(port), "--daemon",
                                 daemon, "--speak", "This line must never be spoken."], capture_output=True,
                                text=True, timeout=120, cwd=ROOT)
        assert second.returncode == 2, second.stderr
        assert f"port {port} (the web page) is already taken" in second.stderr
        assert f"http://127.0.0.1:{port}/demo/" in second.stderr  # points at the running demo
        assert second.stdout == ""  # said before anything else: nothing spoken, nothing started
    finally:
        os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the whole group
        first.wait(60)
    assert first.returncode == 130
    for port_number in (port, int(daemon.rsplit(":", 1)[1])):  # both children are gone: nothing listens
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port_number), timeout=10).close()
