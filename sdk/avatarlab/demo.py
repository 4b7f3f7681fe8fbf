"""``avatarlab demo``: speak a sample line, then run the daemon and the web bridge until Ctrl-C.

A thin supervisor around ``avatarlab serve`` and ``avatarlab bridge`` (each in its own process,
as a user would run them). It checks the ports before doing anything else, and prints the page's
address only once the bridge reports the daemon ready, so the first click never meets a 503.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import AvatarLabError

DEFAULT_PORT = 8765
DEFAULT_DAEMON = "tcp://127.0.0.1:5555"
#: Seconds the daemon and bridge get to become ready (loading and warming the voice takes 5-20 s on 2 busy cores).
READY_TIMEOUT_S = 180.0

_HELP = f"""\
Speak a sample line into --out (WAV, curves JSON and CSV), start the daemon (avatarlab serve)
and the WebSocket bridge (avatarlab bridge), wait until both answer, then print the web demo's
address and serve it until Ctrl-C. `make demo` runs this.

examples:
  avatarlab demo                                  # http://127.0.0.1:{DEFAULT_PORT}/demo/, daemon {DEFAULT_DAEMON}
  avatarlab demo --port 9000 --daemon tcp://127.0.0.1:6000 --speak "Welcome back!"
  avatarlab demo --avatar out/face.glb            # show another avatar (e.g. from avatarlab avatar --photo)
"""


class PortTakenError(AvatarLabError):
    """A port the demo needs is already in use (often: another demo is running)."""


@dataclass(frozen=True)
class DemoConfig:
    port: int = DEFAULT_PORT
    daemon_url: str = DEFAULT_DAEMON
    speak: str | None = None
    out: Path = Path("out")
    avatar: Path | None = None  # passed to the bridge as --avatar: the GLB the page shows

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/demo/"


def register(commands: Any, add_synthesis_options: Callable, options_from_args: Callable) -> None:
    parser = commands.add_parser("demo", help="run the daemon and the web demo (what `make demo` does)",
                                 description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the web page's port (default {DEFAULT_PORT})")
    parser.add_argument("--daemon", default=DEFAULT_DAEMON,
                        help=f"the daemon's loopback ZeroMQ endpoint (default {DEFAULT_DAEMON})")
    parser.add_argument("--speak", metavar="TEXT", help="first speak TEXT into --out (as `avatarlab speak` would)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the spoken line (default out/)")
    from avatarlab_bridge.cli import avatar_file  # the bridge's own check, so a bad file is refused before anything

    parser.add_argument("--avatar", type=avatar_file, metavar="FILE.glb",
                        help="the avatar the page shows (a .glb or .vrm; default: the default head)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    return run_demo(DemoConfig(port=args.port, daemon_url=args.daemon, speak=args.speak, out=args.out,
                               avatar=args.avatar))


def daemon_port(url: str) -> int:
    """The TCP port of a loopback daemon endpoint; the demo binds nothing else."""
    if not url.startswith("tcp://127.0.0.1:"):
        raise AvatarLabError(f"--daemon {url}: the demo runs its daemon on loopback TCP, e.g. {DEFAULT_DAEMON}")
    try:
        return int(url.rsplit(":", 1)[1])
    except ValueError:
        raise AvatarLabError(f"--daemon {url}: expected tcp://127.0.0.1:PORT") from None


def check_port_free(port: int, what: str, hint: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortTakenError(f"port {port} ({what}) is already taken: {hint}") from None


def check_ports(config: DemoConfig) -> None:
    """Fail before anything else if a port is in use: a second demo must not speak, load and then crash."""
    check_port_free(config.port, "the web page", f"is a demo already running? It would serve {config.page_url} "
                    "- open that, stop it, or pick another port (make demo DEMO_PORT=8766)")
    check_port_free(daemon_port(config.daemon_url), "the daemon",
                    "is a daemon (avatarlab serve) already running? Stop it, or pick another endpoint "
                    "(make demo DEMO_DAEMON=tcp://127.0.0.1:5556)")


def bridge_health(port: int) -> dict[str, Any] | None:
    """The bridge's /health body, or None while it does not answer yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as error:  # 503 while the daemon is not up: still a body
        return json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return None


def wait_until_ready(config: DemoConfig, processes: dict[str, subprocess.Popen], timeout_s: float) -> None:
    """Wait until the bridge answers and sees the daemon up; fail at once if either process exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                raise AvatarLabError(f"the {name} exited with code {process.returncode} before the demo was ready "
                                     "(its log is above)")
        health = bridge_health(config.port)
        if health is not None and health.get("daemon") == "up":
            return
        if time.monotonic() > deadline:
            raise AvatarLabError(f"the demo was not ready after {timeout_s:.0f} s (last /health: {health})")
        time.sleep(0.2)


def _avatarlab(*args: str) -> list[str]:
    return [sys.executable, "-m", "avatarlab.cli", *args]


def bridge_command(config: DemoConfig) -> list[str]:
    """``avatarlab bridge`` as the demo runs it; it logs warnings only: its access log would bury the address
    among the readiness polls."""
    avatar = ["--avatar", str(config.avatar)] if config.avatar is not None else []
    return _avatarlab("bridge", "--daemon", config.daemon_url, "--port", str(config.port), "--log-level", "WARNING",
                      *avatar)


def start_processes(config: DemoConfig) -> dict[str, subprocess.Popen]:
    daemon = subprocess.Popen(_avatarlab("serve", "--bind", config.daemon_url))
    bridge = subprocess.Popen(bridge_command(config))
    return {"daemon": daemon, "bridge": bridge}


def stop_processes(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_demo(config: DemoConfig, ready_timeout_s: float = READY_TIMEOUT_S) -> int:
    check_ports(config)
    if config.speak:
        from .cli import main as avatarlab_main

        code = avatarlab_main(["speak", config.speak, "--out", str(config.out), "--format", "csv"])
        if code:
            return code
    processes = start_processes(config)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        wait_until_ready(config, processes, ready_timeout_s)
        print(f"\nweb demo ready: {config.page_url}  (Ctrl-C stops it)\n", flush=True)
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        ended = ", ".join(f"the {name} exited with code {p.returncode}" for name, p in processes.items()
                          if p.poll() is not None)
        raise AvatarLabError(f"{ended}; stopping the demo")
    finally:
        stop_processes(processes)
