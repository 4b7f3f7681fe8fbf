"""The WebSocket bridge against the real daemon: faithful relay, bad input, origin check, daemon down/restart."""

from __future__ import annotations

import signal
import time
import urllib.request

import msgpack
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from daemon_process import free_port, running_daemon, spawn_daemon, wait_ready
from web_processes import health, running_bridge


def send(ws, header):
    ws.send(msgpack.packb([{"v": 1, **header}], use_bin_type=True))


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
def bridge():
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        yield port


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
                send(ws, {"type": "speak", "id": "d2", "text": "A long line that is still playing when the daemon "
                          "goes away, so the bridge has to tell the page that it is gone. " * 3})
                assert stream_until(ws, "d2", "audio")
                daemon.stop(signal.SIGKILL)
                error = stream(ws, "d2", timeout=30)[-1][0]
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
