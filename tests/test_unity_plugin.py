"""The Unity package's C# under Mono: its engine-free client against the real daemon and libzmq.

Builds unity_plugin/ with `mcs` (unity_plugin/Tools/build_mono.py), then runs the compiled test
runner (unity_plugin/Tests/Runner), whose last line is "N passed, N failed":
- offline tests (msgpack, malformed input, curve math, ring buffer, curves JSON);
- ZMTP interop with pyzmq ROUTER and DEALER echo peers and a heartbeating ROUTER started here;
- against the real daemon started here: speak, cancel, errors, a slow reader, and a daemon restart
  in the middle of a stream (the runner asks for it on stdout, this test restarts the daemon).
The Unity layer (MonoBehaviours, Editor importer, sample) is compiled against a stand-in for the
UnityEngine types it uses: a compile check only, it says nothing about behaviour inside Unity.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import threading
from pathlib import Path

import pytest
import zmq

from daemon_process import free_port, running_daemon, spawn_daemon, wait_ready
from tools import command_missing, needs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = needs(command_missing("mcs", "mono", package="mono-mcs, mono-runtime"))


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_mono", ROOT / "unity_plugin" / "Tools" / "build_mono.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("unity-build")
    return _load_builder().build_protocol(out)


class EchoPeer:
    """A pyzmq socket bound on loopback that sends every message back (ROUTER: to its sender)."""

    def __init__(self, kind: int, heartbeat_ms: int | None = None) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(kind)
        self.socket.setsockopt(zmq.LINGER, 0)
        if heartbeat_ms:
            self.socket.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ms)
            self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, heartbeat_ms * 5)
            self.socket.setsockopt(zmq.HEARTBEAT_TTL, heartbeat_ms * 5)
        self.url = f"tcp://127.0.0.1:{free_port()}"
        self.socket.bind(self.url)
        self.stopped = threading.Event()
        self.disconnects = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self.stopped.is_set():
            if poller.poll(50):
                self.socket.send_multipart(self.socket.recv_multipart())
        self.socket.close()
        self.context.term()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)


def run_runner(runner: Path, *args: str, on_restart=None, timeout: float = 120) -> str:
    proc = subprocess.Popen(["mono", "--debug", str(runner), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.strip() == "@@restart":
                try:
                    on_restart()
                    proc.stdin.write("ok\n")
                except Exception as error:  # the runner reports the failure
                    proc.stdin.write(f"failed: {error}\n")
                proc.stdin.flush()
        proc.wait()
    finally:
        timer.cancel()
    return "\n".join(lines)


def summary(output: str) -> tuple[int, int, int]:
    last = output.strip().splitlines()[-1]
    match = re.fullmatch(r"(\d+) passed, (\d+) failed", last)
    assert match, f"the runner did not finish with 'N passed, N failed':\n{output}"
    skipped = re.search(r"^(\d+) skipped$", output, re.M)
    return int(match[1]), int(match[2]), int(skipped[1]) if skipped else 0


def test_offline_and_zmtp_interop(build, tmp_path):
    peers = [EchoPeer(zmq.ROUTER), EchoPeer(zmq.DEALER), EchoPeer(zmq.ROUTER, heartbeat_ms=100)]
    try:
        output = run_runner(build["runner"], "--router-echo", peers[0].url, "--dealer-echo", peers[1].url,
                            "--heartbeat-router", peers[2].url)
    finally:
        for peer in peers:
            peer.close()
    passed, failed, _ = summary(output)
    assert failed == 0, output
    for name in ("DealerTalksToPyzmqRouter", "DealerTalksToPyzmqDealer", "AnswersHeartbeatsSoTheConnectionStays",
                 "MalformedMessageFromPeerIsReportedNotHung", "MalformedInputGivesAClearException", "FuzzedHeaders"):
        assert re.search(rf"^PASS \w+\.{name}", output, re.M), f"{name} did not pass:\n{output}"
    assert passed >= 17, output


def test_against_the_real_daemon(build):
    with running_daemon() as daemon:
        replacement: list = []

        def restart() -> None:
            assert daemon.stop() == 0 if not replacement else replacement[-1].stop() == 0
            fresh = spawn_daemon(url=daemon.url)
            replacement.append(fresh)
            wait_ready(fresh)

        try:
            output = run_runner(build["runner"], "--url", daemon.url, "--restart-via-stdio", "--filter", "DaemonTests",
                                on_restart=restart)
        finally:
            for proc in replacement:
                proc.stop(timeout=10)
    passed, failed, skipped = summary(output)
    assert failed == 0 and skipped == 0, output
    assert "PASS DaemonTests.DaemonRestartMidSession" in output, output
    assert "PASS DaemonTests.SlowReaderGetsTheWholeStream" in output, output
    assert passed >= 8, output


def test_unity_layer_compiles_against_the_stand_in(tmp_path):
    """Compile check only: Runtime/Unity, Editor and Samples~ against Tests/UnityStandIn (not Unity)."""
    built = _load_builder().build_unity_layer(tmp_path)
    for path in built.values():
        assert path.stat().st_size > 0


def test_protocol_assembly_is_engine_free():
    for path in (ROOT / "unity_plugin" / "Runtime" / "Protocol").rglob("*.cs"):
        text = path.read_text(encoding="utf-8")
        assert "using UnityEngine" not in text and "UnityEngine." not in text, f"{path} uses UnityEngine"
    asmdef = (ROOT / "unity_plugin" / "Runtime" / "Protocol" / "AvatarLab.Protocol.asmdef").read_text()
    assert '"noEngineReferences": true' in asmdef
