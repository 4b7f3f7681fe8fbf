"""Start the real daemon in its own process for tests, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


SDK = str(Path(__file__).parents[1] / "sdk")


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DaemonProcess:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def spawn_daemon(*args: str, url: str | None = None, log_dir: Path | None = None) -> DaemonProcess:
    """Start ``avatarlab serve`` without waiting for it to be ready."""
    url = url or f"tcp://127.0.0.1:{free_port()}"
    log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"daemon-{url.rsplit(':', 1)[1]}.log"
    env = {**os.environ, "PYTHONPATH": SDK}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "avatarlab.cli", "serve", "--bind", url, *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    return DaemonProcess(url, proc, log_path)


def wait_ready(daemon: DaemonProcess, timeout: float = 120.0) -> None:
    """Wait for the daemon's "ready on" log line (it accepts requests from then on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "ready on" in daemon.log():
            return
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {daemon.proc.returncode}:\n{daemon.log()}")
        time.sleep(0.05)
    raise TimeoutError(f"daemon not ready after {timeout} s:\n{daemon.log()}")


def wait_for_log(daemon: DaemonProcess, text: str, timeout: float = 120.0, since: int = 0) -> str:
    """Wait for ``text`` in the daemon's log (after its first ``since`` characters); return the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = daemon.log()
        if text in log[since:]:
            return log
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {daemon.proc.returncode} before logging {text!r}:\n{log}")
        time.sleep(0.05)
    raise TimeoutError(f"{text!r} not logged after {timeout} s:\n{daemon.log()}")


def run_serve(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """``avatarlab serve ARGS`` for settings it must refuse at once: its exit code and output."""
    env = {**os.environ, "PYTHONPATH": SDK}
    return subprocess.run([sys.executable, "-m", "avatarlab.cli", "serve", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@contextmanager
def running_daemon(*args: str, url: str | None = None) -> Iterator[DaemonProcess]:
    daemon = spawn_daemon(*args, url=url)
    try:
        wait_ready(daemon)
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
            try:
                daemon.proc.wait(10)
            except subprocess.TimeoutExpired:
                daemon.proc.kill()
                daemon.proc.wait()
