"""The WebSocket bridge against the real daemon: faithful relay (speak, and listen/push with audio payloads),
bad input, origin check, daemon down/restart."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from avatarlab_bridge.hosts import AllowedHosts, host_name, is_loopback
from daemon_process import free_port, has_ipv6_loopback, running_daemon, spawn_daemon, wait_ready
from web_processes import health, running_bridge

ROOT = Path(__file__).resolve().parents[1]


def send(ws, header):
    ws.send(msgpack.packb([{"v": 1, **header}], use_bin_type=True))


def send_push(ws, request_id, pcm: bytes, last=False):
    ws.send(msgpack.packb([{"v": 1, "type": "push", "id": request_id, "last": last}, pcm], use_bin_type=True))


def buzz_pcm(rate, seconds=1.5):
    """A voiced-sounding test signal (a buzz with a moving formant and pauses), as pcm16le, reproducible."""
    t = np.arange(int(rate * seconds)) / rate
    buzz = np.sign(np.sin(2 * np.pi * 120 * t)) * 0.3 + 0.4 * np.sin(2 * np.pi * (500 + 400 * np.sin(3 * t)) * t)
    gate = (np.sin(2 * np.pi * 1.7 * t) > -0.3).astype(float)
    noise = np.random.default_rng(7).normal(0, 0.02, len(t))
    return ((buzz * gate + noise) * 0.5 * 32767).astype("<i2")


def recv(ws, timeout=30):
    frame = msgpack.unpackb(ws.recv(timeout=timeout), raw=False)
    assert isinstance(frame, list) and isinstance(frame[0], dict)
    return frame[0], frame[1:]


def stream(ws, request_id, timeout=60):
    messages = []
    while True:
        header, payloads = recv(ws, timeout)
        if header.get("id") != request_id:
            continue
        messages.append((header, payloads))
        if header["type"] in ("end", "error"):
            return messages


@pytest.fixture(scope="module")
def bridge_and_daemon():
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        yield port, daemon.url


@pytest.fixture(scope="module")
def bridge(bridge_and_daemon):
    return bridge_and_daemon[0]


def test_speak_is_relayed_faithfully(bridge):
    with connect(f"ws://127.0.0.1:{bridge}/ws") as ws:
        send(ws, {"type": "hello", "versions": [1], "id": "h"})
        welcome, _ = recv(ws)
        assert welcome["type"] == "welcome" and welcome["id"] == "h"
        send(ws, {"type": "speak", "id": "a1", "text": "Hi there.", "fps": 30, "channels": ["audio", "visemes"]})
        messages = stream(ws, "a1")
    kinds = [h["type"] for h, _ in messages]
    assert kinds[0] == "start" and kinds[-1] == "end" and messages[-1][0]["status"] == "ok"
    assert [h["seq"] for h, _ in messages] == list(range(len(messages)))
    audio = [(h, p) for h, p in messages if h["type"] == "audio"]
    assert all(len(p) == 1 and len(p[0]) == 2 * h["num_samples"] for h, p in audio)
    frames = [(h, p) for h, p in messages if h["type"] == "frames"]
    assert all(len(p[0]) == 4 * h["num_frames"] * h["num_channels"] for h, p in frames)
    assert sum(h["num_samples"] for h, _ in audio) == messages[-1][0]["stats"]["audio_samples"]


def test_bad_input_gets_errors_and_the_connection_keeps_working(bridge):
    with connect(f"ws://127.0.0.1:{bridge}/ws") as ws:
        ws.send("not binary")
        assert recv(ws)[0]["code"] == "bad_message"
        ws.send(b"\xc1\xff\x00")
        assert recv(ws)[0]["code"] == "bad_message"
        ws.send(msgpack.packb({"v": 1, "type": "ping"}))          # a map, not [map]
        assert recv(ws)[0]["code"] == "bad_message"
        ws.send(msgpack.packb([{"v": 1, "type": "ping"}, "text payload"]))
        assert recv(ws)[0]["code"] == "bad_message"
        send(ws, {"type": "speak", "id": "x", "text": "", "fps": 500})  # the daemon's own errors pass through
        error, _ = recv(ws)
        assert error["code"] in ("invalid_text", "invalid_option") and error["id"] == "x" and "source" not in error
        send(ws, {"type": "nope", "id": "y"})
        assert recv(ws)[0]["code"] == "unknown_type"
        send(ws, {"type": "ping", "id": "p", "t": 1})
        assert recv(ws)[0]["type"] == "pong"


def pieces(pcm, rate, ms=20):
    step = rate * ms // 1000
    return [pcm[i:i + step] for i in range(0, len(pcm), step)]


def listen_over_websocket(port, rate, cuts):
    """listen, then push each piece as [header, bin] and wait for its frames reply; every message of the stream."""
    with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        send(ws, {"type": "listen", "id": "L1", "sample_rate": rate, "fps": 60})
        messages = [recv(ws)]
        for k, piece in enumerate(cuts):
            send_push(ws, "L1", piece.tobytes(), last=k == len(cuts) - 1)
            while True:  # events of the previous push may come first
                messages.append(recv(ws))
                if messages[-1][0]["type"] in ("frames", "end", "error"):
                    break
        while messages[-1][0]["type"] not in ("end", "error"):
            messages.append(recv(ws))
    return messages


def listen_over_zeromq(url, rate, cuts):
    """The same stream straight to the daemon (a bare DEALER), for comparison."""
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(url)
    try:
        def receive():
            assert socket.poll(30_000), "no reply from the daemon"
            frames = socket.recv_multipart()
            messages.append((msgpack.unpackb(frames[0], raw=False), frames[1:]))
            return messages[-1][0]["type"]

        messages = []
        socket.send(msgpack.packb({"v": 1, "type": "listen", "id": "L1", "sample_rate": rate, "fps": 60}))
        receive()
        for k, piece in enumerate(cuts):  # lock-step, as over the WebSocket (more than 32 waiting is an overrun)
            socket.send_multipart([msgpack.packb({"v": 1, "type": "push", "id": "L1", "last": k == len(cuts) - 1}),
                                   piece.tobytes()])
            while receive() not in ("frames", "end", "error"):
                pass
        while messages[-1][0]["type"] not in ("end", "error"):
            receive()
        return messages
    finally:
        socket.close()


def test_listen_and_push_audio_payloads_are_relayed(bridge_and_daemon):
    port, url = bridge_and_daemon
    rate = 22050
    cuts = pieces(buzz_pcm(rate), rate)
    messages = listen_over_websocket(port, rate, cuts)
    kinds = [h["type"] for h, _ in messages]
    assert kinds[0] == "start" and kinds[-1] == "end", kinds
    start, end = messages[0][0], messages[-1][0]
    assert start["model"] == "audio2face" and start["sample_rate"] == rate and start["max_delay_s"] > 0
    assert [h["seq"] for h, _ in messages] == list(range(len(messages)))
    frames = [(h, p) for h, p in messages if h["type"] == "frames"]
    assert len(frames) == len(cuts) == end["stats"]["pushes"]          # exactly one frames reply per push
    assert [h["samples_in"] for h, _ in frames] == list(np.cumsum([len(c) for c in cuts]))
    assert end["stats"]["audio_samples"] == sum(len(c) for c in cuts)  # every payload byte reached the daemon
    expected_start = 0
    for header, payloads in frames:
        assert header["start_frame"] == expected_start
        expected_start += header["num_frames"]
        assert len(payloads) == 1 and len(payloads[0]) == 4 * header["num_frames"] * header["num_channels"]
    assert expected_start == end["stats"]["frames"] > 0
    # the curves are the daemon's own bytes: the same stream straight over ZeroMQ gives identical payloads
    direct = listen_over_zeromq(url, rate, cuts)
    assert [h["type"] for h, _ in direct] == kinds
    assert b"".join(p[0] for h, p in direct if h["type"] == "frames") == b"".join(p[0] for _, p in frames)
    assert [h.get("visemes") for h, _ in direct] == [h.get("visemes") for h, _ in messages]


def test_payload_rules_per_type(bridge):
    with connect(f"ws://127.0.0.1:{bridge}/ws") as ws:
        for header, payloads in [({"type": "ping", "id": "p1"}, [b"\0\0"]),
                                 ({"type": "speak", "id": "s1", "text": "Hi."}, [b"\0\0"]),
                                 ({"type": "listen", "id": "l0"}, [b"\0\0"])]:
            ws.send(msgpack.packb([{"v": 1, **header}, *payloads], use_bin_type=True))
            error, _ = recv(ws)
            assert (error["type"], error["code"], error["source"], error["id"]) == (
                "error", "bad_message", "bridge", header["id"]), (header, error)
            assert f"got {len(payloads)}" in error["message"]
        for k, payloads in enumerate([[], [b"\0\0", b"\0\0"]]):  # the daemon ends the stream it was for
            send(ws, {"type": "listen", "id": f"b{k}", "sample_rate": 16000})
            assert recv(ws)[0]["type"] == "start"
            ws.send(msgpack.packb([{"v": 1, "type": "push", "id": f"b{k}"}, *payloads], use_bin_type=True))
            error, _ = recv(ws)
            assert (error["type"], error["code"], error["id"]) == ("error", "bad_message", f"b{k}"), error
            assert "source" not in error and f"got {len(payloads)}" in error["message"]
            send_push(ws, f"b{k}", b"\0\0")
            assert recv(ws)[0]["code"] == "unknown_request"  # it is over
        send_push(ws, "nope", b"\0\0")                          # the daemon's own push errors pass through
        error, _ = recv(ws)
        assert (error["code"], error["id"]) == ("unknown_request", "nope") and "source" not in error
        send(ws, {"type": "listen", "id": "l1", "sample_rate": 16000})
        assert recv(ws)[0]["type"] == "start"
        send_push(ws, "l1", b"\0\0\0")                          # not whole samples: the stream ends
        error, _ = recv(ws)
        assert (error["code"], error["id"]) == ("invalid_audio", "l1") and "source" not in error
        send(ws, {"type": "listen", "id": "l2", "sample_rate": 16000})
        assert recv(ws)[0]["type"] == "start"
        send_push(ws, "l2", b"", last=True)                     # an empty last push ends it
        reply, payloads = recv(ws)
        assert (reply["type"], reply["num_frames"], reply["samples_in"]) == ("frames", 0, 0), reply
        assert recv(ws)[0]["type"] == "end"
        send(ws, {"type": "ping", "id": "p", "t": 1})
        assert recv(ws)[0]["type"] == "pong"


def test_origin_allow_list(bridge):
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{bridge}/ws", origin="http://evil.example")
    with connect(f"ws://127.0.0.1:{bridge}/ws", origin=f"http://127.0.0.1:{bridge}") as ws:
        send(ws, {"type": "ping", "id": "p"})
        reply = recv(ws)[0]
        assert reply["type"] == "pong", reply


def test_http_endpoints(bridge):
    status, body = health(bridge)
    assert status == 200 and body["daemon"] == "up" and body["limits"]["max_text_chars"] == 5000
    with urllib.request.urlopen(f"http://127.0.0.1:{bridge}/voices") as reply:
        assert b"en_US-joe-medium" in reply.read()
    with urllib.request.urlopen(f"http://127.0.0.1:{bridge}/avatar/default_head.glb") as reply:
        assert reply.read(4) == b"glTF"
    with urllib.request.urlopen(f"http://127.0.0.1:{bridge}/demo/") as reply:
        assert b"importmap" in reply.read()


def test_daemon_down_then_restarted():
    url = f"tcp://127.0.0.1:{free_port()}"
    with running_bridge(url, wait_for="down") as port:
        status, body = health(port)
        assert status == 503 and body["daemon"] == "down"
        with connect(f"ws://127.0.0.1:{port}/ws") as ws:
            send(ws, {"type": "speak", "id": "d1", "text": "Hello."})
            error, _ = recv(ws)
            assert (error["code"], error["id"], error["retryable"]) == ("daemon_unavailable", "d1", True)
            daemon = spawn_daemon(url=url)
            try:
                wait_ready(daemon)
                deadline = time.monotonic() + 20
                while health(port)[1]["daemon"] != "up":
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
                send(ws, {"type": "listen", "id": "l2", "sample_rate": 16000})   # a live stream in flight too
                assert stream_until(ws, "l2", "start")
                send_push(ws, "l2", buzz_pcm(16000, 0.1).tobytes())
                assert stream_until(ws, "l2", "frames")
                send(ws, {"type": "speak", "id": "d2", "text": "A long line that is still playing when the daemon "
                          "goes away, so the bridge has to tell the page that it is gone. " * 3})
                assert stream_until(ws, "d2", "audio")
                daemon.stop(signal.SIGKILL)
                terminal = {}
                while len(terminal) < 2:
                    header, _ = recv(ws)
                    if header.get("id") in ("d2", "l2") and header["type"] in ("end", "error"):
                        terminal[header["id"]] = header
                for error in terminal.values():
                    assert error["type"] == "error" and error["code"] in ("daemon_unavailable", "daemon_restarted")
                daemon = spawn_daemon(url=url)
                wait_ready(daemon)
                deadline = time.monotonic() + 20
                while health(port)[1]["daemon"] != "up":
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
                send(ws, {"type": "speak", "id": "d3", "text": "Back again.", "channels": ["audio"]})
                assert stream(ws, "d3")[-1][0]["type"] == "end"   # the same WebSocket works after the restart
            finally:
                daemon.stop()


def stream_until(ws, request_id, kind):
    while True:
        header, _ = recv(ws)
        if header.get("id") == request_id and header["type"] == kind:
            return True
        if header.get("id") == request_id and header["type"] in ("end", "error"):
            raise AssertionError(header)


def get_with_host(port: int, path: str, host: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET ``path`` with this exact Host header (as a DNS-rebinding page's browser would send it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": host, **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, reply.read() if reply.status != 101 else b""
    finally:
        conn.close()


def websocket_handshake(port: int, host: str, origin: str | None = None) -> int:
    """The HTTP status of a WebSocket handshake on /ws with this Host (101: upgraded)."""
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    if origin is not None:
        headers["Origin"] = origin
    return get_with_host(port, "/ws", host, headers)[0]


HTTP_PATHS = ("/health", "/status", "/voices", "/demo/", "/avatar/default_head.glb")


def test_host_header_must_be_loopback(bridge):
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends Host: evil.example. Refused."""
    for host in ("evil.example", f"evil.example:{bridge}", "127.0.0.1.evil.example", "localhost.evil.example:80"):
        for path in HTTP_PATHS:
            status, body = get_with_host(bridge, path, host)
            assert status == 403, (host, path, status)
            error = json.loads(body)
            assert error["error"] == "host_not_allowed" and host in error["message"]
            assert "--allow-host" in error["message"] and "DNS rebinding" in error["message"]
        assert websocket_handshake(bridge, host, origin=f"http://{host}") == 403
        assert websocket_handshake(bridge, host) == 403   # no Origin (not a browser) does not help either
    assert get_with_host(bridge, "/health", "a:b")[0] == 403                     # malformed
    for host in ("localhost", f"localhost:{bridge}", "LocalHost", "127.0.0.1", f"127.0.0.1:{bridge}", "127.8.9.10",
                 "[::1]", f"[::1]:{bridge}"):
        for path in HTTP_PATHS:
            assert get_with_host(bridge, path, host)[0] == 200, (host, path)
        assert websocket_handshake(bridge, host) == 101, host


def test_allow_host_option(bridge_and_daemon):
    _, url = bridge_and_daemon
    with running_bridge(url, "--allow-host", "studio.test", "--allow-host", "10.1.2.3:8000") as port:
        for host in ("studio.test", f"Studio.Test:{port}", "10.1.2.3", f"localhost:{port}"):
            assert get_with_host(port, "/voices", host)[0] == 200, host
        assert get_with_host(port, "/voices", "other.test")[0] == 403
        # the allowed name's own page may open the WebSocket (its origin is the bridge's own)
        assert websocket_handshake(port, f"studio.test:{port}", origin=f"http://studio.test:{port}") == 101
        assert websocket_handshake(port, f"studio.test:{port}", origin="http://other.test") == 403
    with running_bridge(url, "--allow-host", "*") as port:
        assert get_with_host(port, "/voices", "anything.test")[0] == 200


def test_host_names_are_parsed_strictly():
    assert [host_name(h) for h in ("LocalHost:8765", "[::1]:80", "::1", "localhost.", "a.b")] == [
        "localhost", "::1", "::1", "localhost", "a.b"]
    assert [host_name(h) for h in ("a:b", "[::1", "[::1]x", "[::1]:x", "", ":80")] == [None] * 6
    assert all(is_loopback(n) for n in ("localhost", "127.0.0.1", "127.255.0.9", "::1"))
    assert not any(is_loopback(n) for n in ("0.0.0.0", "::", "10.0.0.1", "localhost.example", "127.0.0.1.nip.io"))
    allowed = AllowedHosts.of(["Studio.LAN:80"], bind_host="192.168.1.5")
    assert allowed.problem("studio.lan:8765") is None and allowed.problem("192.168.1.5:8765") is None
    assert allowed.problem(None) == "the request has no Host header"
    assert AllowedHosts.of([], bind_host="0.0.0.0").problem("0.0.0.0:8765") is not None  # a wildcard names no host


def test_bad_allow_host_is_a_usage_error():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "bridge")])}
    proc = subprocess.run([sys.executable, "-m", "avatarlab", "bridge", "--allow-host", "a:b"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "error: argument --allow-host: 'a:b' is not a host name" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_web_files_are_a_clear_404(tmp_path):
    """A checkout without `npm ci` (or a wheel built without three.js): 404 naming the fix, not a 500."""
    with running_bridge(f"tcp://127.0.0.1:{free_port()}", "--root", str(tmp_path), wait_for="down") as port:
        for path in ("/demo/", "/pkg/index.js", "/vendor/three/build/three.module.js", "/avatar/default_head.glb"):
            status, body = get_with_host(port, path, "127.0.0.1")
            assert status == 404, (path, status)
            assert str(tmp_path) in json.loads(body)["message"]
        assert b"npm ci" in get_with_host(port, "/vendor/three/build/three.module.js", "127.0.0.1")[1]


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_bridge_reaches_a_daemon_on_ipv6():
    with running_daemon(url=f"tcp://[::1]:{free_port()}") as daemon, running_bridge(daemon.url) as port:
        status, body = health(port)
        assert status == 200 and body["daemon"] == "up", body


def test_monitor_is_up_only_once_the_daemons_welcome_is_known():
    """A pong can overtake a hello that was sent before the connection existed (dropped: IMMEDIATE): the monitor
    once marked the daemon up on it and, being up, never sent hello again, so /health said "up" with no limits."""
    import asyncio

    import msgpack

    from avatarlab_bridge.monitor import DaemonMonitor

    async def states(headers):
        monitor = DaemonMonitor("tcp://127.0.0.1:1")
        replies: asyncio.Queue = asyncio.Queue()

        class Socket:
            async def recv_multipart(self):
                return [msgpack.packb(await replies.get())]

        monitor._socket = Socket()
        task = asyncio.create_task(monitor._read())
        seen = []
        for header in headers:
            replies.put_nowait(header)
            while not replies.empty():
                await asyncio.sleep(0)
            await asyncio.sleep(0)
            seen.append((monitor.state, monitor.welcome.get("limits")))
        task.cancel()
        return seen

    pong = {"v": 1, "type": "pong", "id": "bridge-ping", "instance": "a"}
    welcome = {"v": 1, "type": "welcome", "id": "bridge-hello", "instance": "a", "limits": {"max_text_chars": 5000}}
    seen = asyncio.run(states([pong, welcome]))
    assert seen[0] == ("unknown", None) and seen[-1] == ("up", {"max_text_chars": 5000})
