"""The daemon in its own process, spoken to at the wire level (docs/protocol.md) over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq
import zmq.auth
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatarlab.channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from avatarlab.engine import Engine, to_pcm16

from daemon_process import SDK, free_port, running_daemon, spawn_daemon

LINE = "Hello there, traveler! The bridge is out, so mind your step."


class Wire:
    """A bare DEALER client: what any language's client does, with no avatarlab code."""

    def __init__(self, url: str, receive_buffer: int | None = None, **curve: bytes) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDTIMEO, 10_000)  # a DEALER with no connected peer blocks on send
        if receive_buffer is not None:  # a small kernel buffer, so not reading is felt soon
            self.socket.setsockopt(zmq.RCVBUF, receive_buffer)
            self.socket.setsockopt(zmq.RCVHWM, 2)
        for name, value in curve.items():
            setattr(self.socket, name, value)
        self.socket.connect(url)

    def send(self, header: dict) -> None:
        self.socket.send(msgpack.packb({"v": 1, **header}))

    def recv(self, timeout: float = 30.0) -> tuple[dict, list[bytes]]:
        if not self.socket.poll(int(timeout * 1000)):
            raise TimeoutError("no message from the daemon")
        frames = self.socket.recv_multipart()
        return msgpack.unpackb(frames[0], raw=False), frames[1:]

    def request(self, header: dict) -> dict:
        self.send(header)
        return self.recv()[0]

    def stream(self, request_id: str, timeout: float = 60.0) -> list[tuple[dict, list[bytes]]]:
        """Every message of one request up to and including its terminal message."""
        messages = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            header, payloads = self.recv(deadline - time.monotonic())
            if header.get("id") != request_id:
                continue
            messages.append((header, payloads))
            if header["type"] in ("end", "error"):
                return messages
        raise TimeoutError(f"stream {request_id} did not end")

    def close(self) -> None:
        self.socket.close(0)


def audio_of(messages: list[tuple[dict, list[bytes]]]) -> np.ndarray:
    return np.concatenate([np.frombuffer(p[0], "<i2") for h, p in messages if h["type"] == "audio"])


@pytest.fixture(scope="module")
def daemon():
    with running_daemon("--max-requests-per-client", "4", "--max-active-requests", "32") as process:
        yield process


@pytest.fixture
def wire(daemon):
    client = Wire(daemon.url)
    yield client
    client.close()


def test_a_whole_stream_follows_the_spec(wire: Wire, engine: Engine) -> None:
    wire.send({"type": "speak", "id": "s1", "text": LINE, "fps": 30, "seed": 5, "emotion": "happy"})
    messages = wire.stream("s1")
    kinds = [h["type"] for h, _ in messages]
    assert kinds[0] == "start" and kinds[-1] == "end" and messages[-1][0]["status"] == "ok"
    assert [h["seq"] for h, _ in messages] == list(range(len(messages)))
    start = messages[0][0]
    assert start["sample_rate"] == 22050 and start["fps"] == 30 and start["audio_format"] == "pcm16le"
    assert [g["name"] for g in start["groups"]] == ["visemes", "blendshapes", "head", "eyes"]
    assert start["groups"][1]["channels"] == list(ARKIT_BLENDSHAPES)
    assert start["num_channels"] == len(OCULUS_VISEMES) + len(ARKIT_BLENDSHAPES) + len(HEAD_CHANNELS) + len(EYE_CHANNELS)

    offline = engine.speak(LINE, fps=30, seed=5, emotion="happy")
    assert np.array_equal(audio_of(messages), to_pcm16(offline.audio)), "the daemon must send the offline audio"
    position = frame = 0
    rows = []
    for header, payloads in messages:
        if header["type"] == "audio":
            assert header["sample_offset"] == position and len(payloads[0]) == 2 * header["num_samples"]
            chunk_start, position = position, position + header["num_samples"]
        if header["type"] == "frames":
            assert header["sample_offset"] == chunk_start
            assert header["start_frame"] == frame == -(-chunk_start * 30 // 22050)
            matrix = np.frombuffer(payloads[0], "<f4").reshape(header["num_frames"], header["num_channels"])
            rows.append(matrix)
            frame += header["num_frames"]
    curves = np.concatenate(rows)
    expected = np.concatenate([offline.frames.visemes, offline.frames.blendshapes, offline.frames.head,
                               offline.frames.eyes], axis=1)
    np.testing.assert_allclose(curves, expected, atol=1e-6)
    events = [h for h, _ in messages if h["type"] == "events"]
    assert [w["text"] for e in events for w in e["words"]] == [w.text for w in offline.timeline.words]
    stats = messages[-1][0]["stats"]
    assert stats["audio_samples"] == len(offline.audio) and stats["frames"] == len(offline.frames)
    assert stats["first_chunk_ms"] > 0 and stats["synthesis_ms"] > 0


def test_channels_and_half_precision(wire: Wire) -> None:
    wire.send({"type": "speak", "id": "c1", "text": "Hi.", "channels": ["visemes"], "curve_format": "f16"})
    messages = wire.stream("c1")
    kinds = {h["type"] for h, _ in messages}
    assert kinds == {"start", "frames", "end"}
    frames = next((h, p) for h, p in messages if h["type"] == "frames")
    assert len(frames[1][0]) == frames[0]["num_frames"] * 15 * 2
    values = np.frombuffer(frames[1][0], "<f2")
    assert values.min() >= 0 and values.max() <= 1


def test_sixteen_clients_at_once_each_get_a_complete_stream(daemon, engine: Engine) -> None:
    texts = [f"Client number {i} wants to buy {i + 2} apples." for i in range(16)]
    results: dict[int, list] = {}

    def run(i: int) -> None:
        client = Wire(daemon.url)
        try:
            client.send({"type": "speak", "id": f"r{i}", "text": texts[i], "seed": i})
            results[i] = client.stream(f"r{i}", timeout=180)
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(200)
    assert sorted(results) == list(range(16))
    for i in (0, 7, 15):
        assert results[i][-1][0]["status"] == "ok"
        assert np.array_equal(audio_of(results[i]), to_pcm16(engine.speak(texts[i], seed=i).audio))
    assert all(r[-1][0]["type"] == "end" for r in results.values())


def test_cancel_is_acknowledged_at_once_and_nothing_follows(wire: Wire) -> None:
    text = " ".join(["the long road north winds through the hills and the old forest"] * 6)
    wire.send({"type": "speak", "id": "k1", "text": text})
    header, _ = wire.recv()
    while header["type"] != "audio":
        header, _ = wire.recv()
    sent = time.monotonic()
    wire.send({"type": "cancel", "id": "k1"})
    after_cancel = []
    while True:
        header, _ = wire.recv()
        after_cancel.append(header)
        if header["type"] in ("end", "error"):
            break
    acknowledged = time.monotonic() - sent
    assert header["type"] == "end" and header["status"] == "cancelled"
    assert header["stats"]["audio_s"] < 20
    # Whatever was already on the wire may precede the ack; nothing of k1 may follow it.
    assert not wire.socket.poll(500)
    print(f"cancel acknowledged after {acknowledged * 1000:.1f} ms")
    assert wire.request({"type": "cancel", "id": "k1"})["code"] == "unknown_request"


def test_status_voices_ping_and_errors_for_bad_requests(wire: Wire) -> None:
    assert wire.request({"type": "ping", "t": 42})["t"] == 42
    voices = wire.request({"type": "voices"})["voices"]
    assert voices[0]["name"] == "en_US-joe-medium" and voices[0]["sample_rate"] == 22050
    status = wire.request({"type": "status"})
    assert status["limits"]["max_text_chars"] == 5000 and status["workers"] == 2
    cases = [
        ({"type": "speak", "id": "e1", "text": ""}, "invalid_text"),
        ({"type": "speak", "id": "e2", "text": "x" * 5001}, "invalid_text"),
        ({"type": "speak", "id": "e3", "text": "Hi", "fps": 500}, "invalid_option"),
        ({"type": "speak", "id": "e4", "text": "Hi", "fps": "fast"}, "invalid_field"),
        ({"type": "speak", "id": "e5", "text": "Hi", "voice": "nobody"}, "unknown_voice"),
        ({"type": "speak", "id": "e6", "text": "Hi", "emotion": "bored"}, "invalid_option"),
        ({"type": "speak", "text": "Hi"}, "invalid_field"),
        ({"type": "speak", "id": "e7", "text": 12}, "invalid_field"),
        ({"type": "launch", "id": "e8"}, "unknown_type"),
        ({"v": 9, "type": "ping"}, "unsupported_version"),
    ]
    for header, code in cases:
        reply = wire.request(header)
        assert reply["type"] == "error" and reply["code"] == code, (header, reply)
        assert reply["message"]
    wire.socket.send_multipart([msgpack.packb({"v": 1, "type": "ping"}), b"extra"])
    assert wire.recv()[0]["code"] == "bad_message"
    wire.socket.send(msgpack.packb({"v": 1, "type": "ping", "pad": "x" * 70000}))
    assert wire.recv()[0]["code"] == "message_too_large"


def test_per_client_limit_and_duplicate_ids(wire: Wire) -> None:
    text = " ".join(["a very long line that keeps the workers busy for quite a while"] * 5)
    for i in range(4):
        wire.send({"type": "speak", "id": f"b{i}", "text": text})
    assert wire.request({"type": "speak", "id": "b0", "text": "Hi"})["code"] in ("duplicate_id", "busy")
    reply = None
    wire.send({"type": "speak", "id": "b4", "text": "Hi"})
    while reply is None:
        header, _ = wire.recv()
        if header.get("id") == "b4":
            reply = header
    assert reply["code"] == "busy" and reply["retryable"] is True
    for i in range(4):
        wire.send({"type": "cancel", "id": f"b{i}"})
    ended = set()
    while len(ended) < 4:
        header, _ = wire.recv()
        if header["type"] in ("end", "error"):
            ended.add(header["id"])


def test_a_client_killed_mid_stream_frees_its_work(daemon) -> None:
    script = (
        "import msgpack, zmq, sys\n"
        "s = zmq.Context().socket(zmq.DEALER); s.connect(sys.argv[1])\n"
        "text = ' '.join(['the caravan crossed the desert under a pale and endless sky'] * 8)\n"
        "for i in range(3): s.send(msgpack.packb({'v': 1, 'type': 'speak', 'id': str(i), 'text': text}))\n"
        "s.recv_multipart(); s.recv_multipart(); print('streaming', flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, daemon.url], stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"streaming"
    child.send_signal(signal.SIGKILL)
    child.wait()
    observer = Wire(daemon.url)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if observer.request({"type": "status"})["active_requests"] == 0:
                break
            time.sleep(0.2)
        assert observer.request({"type": "status"})["active_requests"] == 0
        observer.send({"type": "speak", "id": "after", "text": "Still here."})
        assert observer.stream("after")[-1][0]["status"] == "ok"
    finally:
        observer.close()


def test_a_client_that_stops_reading_does_not_stall_others_and_learns_why() -> None:
    with running_daemon("--slow-consumer-timeout", "2", "--send-hwm", "4") as daemon:
        stalled = Wire(daemon.url, receive_buffer=8192)
        text = " ".join(["the harbour lights flickered as the fishing boats came home"] * 90)[:4900]
        for i in range(4):  # far more than any socket buffer holds
            stalled.send({"type": "speak", "id": f"slow{i}", "text": text})
        other = Wire(daemon.url)
        try:
            other.send({"type": "speak", "id": "fast", "text": LINE})
            assert other.stream("fast", timeout=60)[-1][0]["status"] == "ok"
            deadline = time.monotonic() + 120
            while other.request({"type": "status"})["active_requests"] and time.monotonic() < deadline:
                time.sleep(0.5)
            assert other.request({"type": "status"})["active_requests"] == 0, "the stalled requests must be failed"
            terminals = []
            while len(terminals) < 4:
                header, _ = stalled.recv(timeout=30)
                if header["type"] in ("end", "error"):
                    terminals.append(header)
            assert any(t["type"] == "error" and t["code"] == "slow_consumer" for t in terminals), terminals
        finally:
            stalled.close()
            other.close()


def test_malformed_and_random_messages_never_take_the_daemon_down(daemon) -> None:
    wire = Wire(daemon.url)
    count = {"n": 0}

    @settings(max_examples=10000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(
        st.binary(max_size=64),
        st.builds(msgpack.packb, st.recursive(
            st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=12) | st.binary(max_size=8),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=10)),
        st.builds(lambda d: msgpack.packb({"v": 1, **d}), st.dictionaries(
            st.sampled_from(["type", "id", "text", "fps", "seed", "channels", "voice", "speed", "emotion",
                             "curve_format", "versions", "speaker"]),
            st.one_of(st.sampled_from(["ping", "status", "voices", "hello", "cancel", "bye", "nope"]),
                      st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3)),
            max_size=6)),
    ))
    def fire(frame: bytes) -> None:
        wire.socket.send(frame)
        count["n"] += 1
        while wire.socket.poll(0):  # keep reading so we are not a slow consumer
            wire.socket.recv_multipart()

    try:
        fire()
        time.sleep(1)
        while wire.socket.poll(200):
            wire.socket.recv_multipart()
        assert count["n"] >= 10000
        assert daemon.proc.poll() is None
        wire.send({"type": "speak", "id": "normal", "text": "Still standing."})
        assert wire.stream("normal")[-1][0]["status"] == "ok"
    finally:
        wire.close()


def test_sigterm_ends_running_requests_and_exits_quickly() -> None:
    with running_daemon() as daemon:
        wire = Wire(daemon.url)
        text = " ".join(["we rode until the stars came out over the silent valley"] * 8)
        wire.send({"type": "speak", "id": "t1", "text": text})
        while wire.recv()[0]["type"] != "audio":
            pass
        began = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        terminal = wire.stream("t1", timeout=10)[-1][0]
        assert daemon.proc.wait(10) == 0
        assert time.monotonic() - began < 5  # generous: the daemon's own budget is 2 s
        assert terminal["type"] == "error" and terminal["code"] == "shutting_down" and terminal["retryable"]
        wire.close()


def test_sigterm_during_voice_loading(tmp_path: Path) -> None:
    daemon = spawn_daemon(log_dir=tmp_path)
    time.sleep(0.8)  # still importing or loading the voice
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(15) in (0, -signal.SIGTERM)


def test_non_loopback_bind_needs_keys_or_insecure(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SDK}
    refused = subprocess.run([sys.executable, "-m", "avatarlab.cli", "serve", "--bind", f"tcp://0.0.0.0:{free_port()}"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2
    assert "--curve-secret" in refused.stderr and "--insecure" in refused.stderr


def test_curve_allows_listed_keys_only(tmp_path: Path) -> None:
    keys, allowed = tmp_path / "keys", tmp_path / "allowed"
    keys.mkdir()
    allowed.mkdir()
    server_public_file, server_secret_file = zmq.auth.create_certificates(str(keys), "server")
    os.chmod(server_secret_file, 0o600)  # the daemon refuses a secret key that others can read
    alice_public_file, alice_secret_file = zmq.auth.create_certificates(str(allowed), "alice")
    _, mallory_secret_file = zmq.auth.create_certificates(str(keys), "mallory")
    server_public, _ = zmq.auth.load_certificate(server_public_file)
    url = f"tcp://0.0.0.0:{free_port()}"
    with running_daemon("--curve-secret", server_secret_file, "--allow-keys", str(allowed), url=url):
        local = url.replace("0.0.0.0", "127.0.0.1")

        def client(secret_file: str) -> Wire:
            public, secret = zmq.auth.load_certificate(secret_file)
            return Wire(local, curve_serverkey=server_public, curve_publickey=public, curve_secretkey=secret)

        alice = client(alice_secret_file)
        mallory = client(mallory_secret_file)
        plain = Wire(local)
        try:
            assert alice.request({"type": "ping", "t": 1})["type"] == "pong"
            alice.send({"type": "speak", "id": "a", "text": "Secret words."})
            assert alice.stream("a")[-1][0]["status"] == "ok"
            for stranger in (mallory, plain):
                try:
                    stranger.send({"type": "ping"})
                except zmq.Again:
                    continue  # the handshake failed, so there is not even a connection to send on
                assert not stranger.socket.poll(2000), "an unlisted key must get nothing"
        finally:
            for c in (alice, mallory, plain):
                c.close()
