"""The daemon's transport, limits and security under misuse (issue 11), against a real daemon process."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import pytest

from avatarlab.cli import main as cli_main
from avatarlab.daemon.client import Client
from avatarlab.daemon.keys import KeyFileError
from avatarlab.daemon.server import DaemonConfig, DaemonConfigError, check_security, insecure_warning
from avatarlab.daemon.transport import is_loopback, needs_ipv6

from daemon_process import free_port, run_serve, running_daemon, spawn_daemon, wait_for_log, has_ipv6_loopback
from test_daemon import Wire


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as process:  # the default limits: 4 running requests per client, 32 in all
        yield process


def _status(daemon) -> dict:
    observer = Wire(daemon.url)
    try:
        return observer.request({"type": "status"})
    finally:
        observer.close()


def _wait_for_active(daemon, target: int, timeout: float = 60.0) -> int:
    """Wait for the daemon to run ``target`` requests or fewer; return how many it runs then (or at the timeout)."""
    deadline = time.monotonic() + timeout
    active = _status(daemon)["active_requests"]
    while active > target and time.monotonic() < deadline:
        time.sleep(0.2)
        active = _status(daemon)["active_requests"]
    return active


# ---- lost clients -----------------------------------------------------------------------------------

def test_listen_streams_of_closed_connections_are_freed(daemon) -> None:
    """8 connections x 4 idle listen streams fill the daemon-wide limit; closing them must free every slot."""
    assert _wait_for_active(daemon, 0) == 0
    keeper = Wire(daemon.url)  # an idle listen of a client that stays: it must survive the others leaving
    keeper.send({"type": "listen", "id": "kept"})
    assert keeper.recv()[0]["type"] == "start"
    clients = [Wire(daemon.url) for _ in range(8)]
    try:
        busy = []
        for i, client in enumerate(clients):
            for j in range(4):
                client.send({"type": "listen", "id": f"l{i}-{j}"})
            replies = [client.recv()[0] for _ in range(4)]
            busy += [r for r in replies if r["type"] != "start"]
        assert [r["code"] for r in busy] == ["busy"], "32 streams in all: the keeper's plus 31 of these"
    finally:
        for client in clients:
            client.close()
    try:
        assert _wait_for_active(daemon, 1) == 1, "the streams of closed connections must be freed, the keeper's kept"
        wire = Wire(daemon.url)
        try:
            wire.send({"type": "listen", "id": "after"})
            assert wire.recv()[0]["type"] == "start", "a new request must not get busy"
            wire.send({"type": "cancel", "id": "after"})
            assert wire.stream("after")[-1][0]["status"] == "cancelled"
        finally:
            wire.close()
        for i in range(100):  # connections that come and go reuse descriptors: none may take the keeper along
            passing = Wire(daemon.url)
            assert passing.request({"type": "ping", "t": i})["t"] == i
            passing.close()
        keeper.socket.send_multipart([msgpack.packb({"v": 1, "type": "push", "id": "kept", "last": True}),
                                      bytes(3200)])
        messages = keeper.stream("kept")
        assert messages[0][0]["type"] == "frames" and messages[-1][0]["status"] == "ok"
    finally:
        keeper.close()
    assert "disconnected; cancelling its 4 request(s)" in daemon.log()


def test_a_frozen_client_is_let_go_after_the_heartbeat_timeout(daemon) -> None:
    """A stopped process keeps its connection open but answers no heartbeat: its idle listen is freed
    after the 30 s heartbeat timeout."""
    script = ("import msgpack, sys, time, zmq\n"
              "s = zmq.Context().socket(zmq.DEALER); s.connect(sys.argv[1])\n"
              "s.send(msgpack.packb({'v': 1, 'type': 'listen', 'id': 'frozen'})); s.recv_multipart()\n"
              "print('listening', flush=True); time.sleep(600)\n")
    assert _wait_for_active(daemon, 0) == 0
    child = subprocess.Popen([sys.executable, "-c", script, daemon.url], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"listening"
        assert _status(daemon)["active_requests"] == 1
        child.send_signal(signal.SIGSTOP)
        assert _wait_for_active(daemon, 0, timeout=120) == 0
    finally:
        child.kill()
        child.wait()


# ---- the whole-message limit --------------------------------------------------------------------

def test_a_many_frame_message_is_refused_by_its_total_size(daemon) -> None:
    wire = Wire(daemon.url)
    try:
        header = msgpack.packb({"v": 1, "type": "ping", "id": "big"})
        megabyte = bytes(1_000_000)  # each frame under the 1 MiB frame limit, 40 MB in all
        wire.socket.send_multipart([header, *[megabyte] * 40])
        reply = wire.recv()[0]
        assert reply["code"] == "message_too_large" and reply["id"] == "big", reply
        assert "40,000,0" in reply["message"] and "41 frames" in reply["message"]

        wire.socket.send_multipart([header, b"x", b"y"])  # small, but one frame too many for any message
        reply = wire.recv()[0]
        assert reply["code"] == "bad_message" and "got 2" in reply["message"]

        wire.send({"type": "listen", "id": "live"})
        assert wire.recv()[0]["type"] == "start"
        padded = msgpack.packb({"v": 1, "type": "push", "id": "live", "pad": "p" * 60_000})
        wire.socket.send_multipart([padded, bytes(1_000_000)])  # header + payload: over 1 MiB together
        reply = wire.recv()[0]
        assert reply["type"] == "error" and reply["code"] == "message_too_large" and reply["id"] == "live"
        assert wire.request({"type": "ping", "t": 7})["t"] == 7
    finally:
        wire.close()


# ---- slow consumers -----------------------------------------------------------------------------------

def test_unread_replies_are_counted_exactly_and_logged_once(daemon) -> None:
    """Pings never read fill ZeroMQ's and the system's buffers, then the daemon's 256: from there every
    reply is discarded and counted into one slow_consumer error, and the count is exact."""
    since = len(daemon.log())
    wire = Wire(daemon.url, receive_buffer=8192)
    sent = 0
    try:
        deadline = time.monotonic() + 300
        while "is not reading" not in daemon.log()[since:]:
            assert time.monotonic() < deadline, "the daemon never found the client slow"
            for _ in range(2000):
                wire.send({"type": "ping", "t": sent})
                sent += 1
        for _ in range(3000):  # and more while its notice waits: counted into it, not logged again
            wire.send({"type": "ping", "t": sent})
            sent += 1
        pongs, notices = [], []
        while len(pongs) + sum(n.get("discarded") or 0 for n in notices) < sent:
            header, _ = wire.recv(timeout=60)
            if header["type"] == "pong":
                pongs.append(header["t"])
            else:
                assert header["code"] == "slow_consumer" and header["id"] is None, header
                notices.append(header)
        assert len(pongs) + sum(n["discarded"] for n in notices) == sent
        assert pongs == sorted(pongs) and len(set(pongs)) == len(pongs)
        assert all(f"{n['discarded']:,} unread" in n["message"] for n in notices)
        warnings = daemon.log()[since:].count("is not reading")
        assert 1 <= len(notices) == warnings, (len(notices), warnings)
        print(f"{sent} pings: {len(pongs)} pongs read, {sent - len(pongs)} discarded in {len(notices)} notice(s)")
        assert wire.request({"type": "ping", "t": "again"})["t"] == "again"
    finally:
        wire.close()


# ---- keys ---------------------------------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_private(tmp_path: Path, capsys) -> None:
    out = tmp_path / "keys"
    assert cli_main(["keys", "--out", str(out), "--name", "server"]) == 0
    assert _mode(out) == 0o700
    assert _mode(out / "server.key_secret") == 0o600 and _mode(out / "server.key") == 0o644
    (out / "server.key_secret").chmod(0o644)  # an old, open key is made private when it is replaced
    assert cli_main(["keys", "--out", str(out), "--name", "server"]) == 0
    assert _mode(out / "server.key_secret") == 0o600
    capsys.readouterr()
    assert cli_main(["keys", "--out", str(out), "--name", "../escape"]) == 2
    assert capsys.readouterr().err.startswith("avatarlab: error:")
    assert not (tmp_path / "escape.key").exists()


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    """A private server key and an allow-list folder with one client key."""
    assert cli_main(["keys", "--out", str(tmp_path / "keys"), "--name", "server"]) == 0
    assert cli_main(["keys", "--out", str(tmp_path / "clients"), "--name", "alice"]) == 0
    (tmp_path / "clients" / "alice.key_secret").unlink()
    return tmp_path / "keys" / "server.key_secret", tmp_path / "clients"


def test_the_daemon_refuses_a_secret_key_others_can_read(tmp_path: Path) -> None:
    secret, clients = _keys(tmp_path)
    secret.chmod(0o644)
    refused = run_serve("--bind", f"tcp://127.0.0.1:{free_port()}", "--curve-secret", str(secret),
                        "--allow-keys", str(clients))
    assert refused.returncode == 2 and refused.stderr.startswith("avatarlab: error:"), refused.stderr
    assert str(secret) in refused.stderr and "chmod 600" in refused.stderr and "Traceback" not in refused.stderr


def test_the_client_refuses_a_secret_key_others_can_read(tmp_path: Path) -> None:
    assert cli_main(["keys", "--out", str(tmp_path), "--name", "alice"]) == 0
    (tmp_path / "alice.key_secret").chmod(0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        Client(f"tcp://127.0.0.1:{free_port()}", server_public_key=tmp_path / "alice.key",
               client_secret_key=tmp_path / "alice.key_secret")


def test_one_malformed_allowed_key_stops_the_start_and_is_named(tmp_path: Path) -> None:
    secret, clients = _keys(tmp_path)
    (clients / "broken.key").write_text("not a certificate\n")
    refused = run_serve("--bind", f"tcp://127.0.0.1:{free_port()}", "--curve-secret", str(secret),
                        "--allow-keys", str(clients))
    assert refused.returncode == 2 and str(clients / "broken.key") in refused.stderr, refused.stderr
    (clients / "broken.key").write_text('metadata\ncurve\n    public-key = "tooshort"\n')
    refused = run_serve("--bind", f"tcp://127.0.0.1:{free_port()}", "--curve-secret", str(secret),
                        "--allow-keys", str(clients))
    assert refused.returncode == 2 and str(clients / "broken.key") in refused.stderr, refused.stderr
    (clients / "broken.key").unlink()
    (clients / "alice.key").unlink()
    refused = run_serve("--bind", f"tcp://127.0.0.1:{free_port()}", "--curve-secret", str(secret),
                        "--allow-keys", str(clients))
    assert refused.returncode == 2 and "no .key file" in refused.stderr, refused.stderr


# ---- binding ------------------------------------------------------------------------------------------

@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_an_ipv6_bind_serves() -> None:
    with running_daemon(url=f"tcp://[::1]:{free_port()}") as daemon:
        wire = Wire(daemon.url, ipv6=True)  # a ZeroMQ client needs IPv6 on too
        try:
            assert wire.request({"type": "ping", "t": 6})["t"] == 6
        finally:
            wire.close()
        with Client(daemon.url, timeout=30) as client:  # the Python client turns it on by itself
            assert client.ping() > 0


def test_every_transport_that_can_leave_the_machine_needs_keys() -> None:
    local = ["tcp://127.0.0.1:5555", "tcp://127.8.0.1:1", "tcp://localhost:5555", "tcp://[::1]:5555",
             "tcp://[::ffff:127.0.0.1]:5555", "ipc:///tmp/avatarlab.sock", "inproc://avatarlab"]
    reachable = ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://[::]:5555", "tcp://10.0.0.2:5555", "tcp://eth0:5555",
                 "tipc://{1000,0,0}", "pgm://eth0;239.192.1.1:5555", "epgm://eth0;239.192.1.1:5555",
                 "norm://1,eth0;239.192.1.1:5555", "vmci://1:5555", "udp://10.0.0.2:5555", "ws://0.0.0.0:5555"]
    assert all(is_loopback(url) for url in local)
    assert not any(is_loopback(url) for url in reachable)
    assert needs_ipv6("tcp://[::1]:5555") and not needs_ipv6("tcp://127.0.0.1:5555")
    for url in local:
        check_security(DaemonConfig(bind=url))
        assert insecure_warning(DaemonConfig(bind=url, insecure=True)) is None
    for url in reachable:
        with pytest.raises(DaemonConfigError, match="refusing to bind"):
            check_security(DaemonConfig(bind=url))
        assert "INSECURE" in insecure_warning(DaemonConfig(bind=url, insecure=True))


def test_a_tipc_bind_is_refused_without_keys() -> None:
    refused = run_serve("--bind", "tipc://{1000,0,0}")
    assert refused.returncode == 2 and "refusing to bind tipc://" in refused.stderr, refused.stderr


def test_insecure_warns_loudly_when_other_machines_can_connect(tmp_path: Path) -> None:
    daemon = spawn_daemon("--insecure", url=f"tcp://0.0.0.0:{free_port()}", log_dir=tmp_path)
    try:
        log = wait_for_log(daemon, "ready on")
        assert "WARNING" in log and "INSECURE: tcp://0.0.0.0" in log and "anyone" in log
        ready = next(line for line in log.splitlines() if "ready on" in line)
        assert "INSECURE" in ready
    finally:
        daemon.stop()
