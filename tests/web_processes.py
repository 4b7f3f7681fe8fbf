"""Start the WebSocket bridge (avatarlab bridge) in its own process for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon_process import free_port

ROOT = Path(__file__).resolve().parents[1]


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def running_bridge(daemon_url: str, *args: str, wait_for: str = "up", pythonpath: list[Path] | None = None,
                   cwd: Path | None = None, command: tuple[str, ...] = ("-m", "avatarlab_bridge")) -> Iterator[int]:
    """Yield the bridge's port once /health reports the daemon ``wait_for`` ("up", "down" or "any").

    It runs this checkout's sources unless ``pythonpath`` says where else to import them from.
    """
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bridge-{port}.log"
    paths = pythonpath if pythonpath is not None else [ROOT / "sdk", ROOT / "bridge"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *command, "--daemon", daemon_url, "--port", str(port), *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bridge exited with {proc.returncode}:\n{log.read_text()}")
            try:
                _, body = health(port)
                if wait_for == "any" or body.get("daemon") == wait_for:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"bridge not ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def drive_demo(script: Path, bridge_port: int, chromium: str, *args: str, timeout: float = 180) -> dict:
    """Run a Node page driver against the bridge's demo page; its last stdout line is a JSON report.

    Fails the test on a driver error, a reported error, or any page error in the browser console.
    """
    proc = subprocess.run(["node", str(script), "--url", f"http://127.0.0.1:{bridge_port}/demo/", *args,
                           "--chromium", chromium], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in data, data["error"] + "\n" + "\n".join(data["console"])
    pageerrors = [line for line in data["console"] if line.startswith(("pageerror", "error"))]
    assert not pageerrors, pageerrors
    return data
