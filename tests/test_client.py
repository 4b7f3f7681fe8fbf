"""The Python daemon client: message decoding and session logic alone, then against the real daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import msgpack
import numpy as np
import pytest

from avatarlab.daemon.client import Client
from avatarlab.daemon.messages import (
    Audio, DaemonProtocolError, DaemonRestartedError, DaemonTimeoutError, End, ErrorMessage, Events, Frames, Pong,
    RequestError, Start, UnknownMessage, Welcome, decode_message,
)
from avatarlab.daemon.protocol import GROUPS, Limits, StreamWriter, error_header, pack, parse_speak
from avatarlab.daemon.session import Collector, Session, StreamState, speak_fields
from avatarlab.engine import Engine, Utterance, to_pcm16
from avatarlab.errors import AvatarLabError
from avatarlab.output import write_utterance
from daemon_process import free_port, running_daemon, spawn_daemon, wait_ready

TEXT = "Hello there, traveler! The bridge washed away."
#: Many short sentences: a stream of dozens of chunks whose first chunk comes at once.
LONG_TEXT = " ".join(["The quick brown fox jumps over the lazy dog."] * 30)


# ---- helpers ---------------------------------------------------------------------------------

def stream_frames(engine: Engine, text: str, **header) -> list[list[bytes]]:
    """The messages the daemon sends for a speak request, built with the daemon's own StreamWriter."""
    request = parse_speak({"v": 1, "type": "speak", "id": header.pop("id", "r1"), "text": text, **header}, Limits())
    writer = StreamWriter(request)
    messages = [writer.start(engine.voice.name, engine.sample_rate)]
    for chunk in engine.synthesize(text, request.options):
        messages.extend(writer.chunk(chunk))
    messages.append(writer.end("ok", {"chunks": writer.chunks}))
    return [[bytes(f) for f in writer.number(m)] for m in messages]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fed_session(**kw) -> tuple[Session, FakeClock]:
    clock = FakeClock()
    return Session("tcp://test", kw.pop("timeout", 10.0), kw.pop("heartbeat_s", 1.0), clock=clock, **kw), clock


def drain(state: StreamState) -> list:
    out = []
    while (message := state.pop()) is not None:
        out.append(message)
    return out


def header(**fields) -> list[bytes]:
    return pack({"v": 1, **fields})


def sent_types(session: Session) -> list[str]:
    return [msgpack.unpackb(m[0])["type"] for m in session.outbox]


def assert_same_utterance(got: Utterance, want: Utterance) -> None:
    assert got.sample_rate == want.sample_rate and got.voice == want.voice and got.text == want.text
    np.testing.assert_array_equal(to_pcm16(got.audio), to_pcm16(want.audio))
    assert got.frames.start_frame == want.frames.start_frame and got.frames.fps == want.frames.fps
    for name in GROUPS:
        np.testing.assert_allclose(getattr(got.frames, name), getattr(want.frames, name), rtol=0, atol=1e-6)
    assert got.timeline.phonemes == want.timeline.phonemes and got.timeline.words == want.timeline.words
    assert got.visemes == want.visemes


def assert_same_files(got_dir: Path, want_dir: Path) -> None:
    got, want = sorted(p.name for p in got_dir.iterdir()), sorted(p.name for p in want_dir.iterdir())
    assert got == want and got
    for name in got:
        if name.endswith(".json"):
            assert json.loads((got_dir / name).read_text()) == json.loads((want_dir / name).read_text())
        else:
            assert (got_dir / name).read_bytes() == (want_dir / name).read_bytes(), name


# ---- decoding ----------------------------------------------------------------------------------

def test_decode_every_stream_message(engine: Engine) -> None:
    frames = stream_frames(engine, "Hi there.", fps=30)
    start = decode_message(frames[0])
    assert isinstance(start, Start) and start.fps == 30 and start.sample_rate == engine.sample_rate
    assert [name for name, _ in start.groups] == list(GROUPS) and start.num_channels == 15 + 52 + 3 + 4
    messages = [decode_message(f, {"r1": start}) for f in frames[1:]]
    kinds = [type(m) for m in messages]
    assert kinds[0] is Audio and kinds[1] is Frames and Events in kinds and kinds[-1] is End
    assert [m.seq for m in [start, *messages]] == list(range(len(frames)))
    frame = messages[1]
    assert frame.values.dtype == np.float32 and frame.values.shape == (frame.num_frames, start.num_channels)
    assert frame.group("head").shape == (frame.num_frames, 3) and frame.group("eyes").shape == (frame.num_frames, 4)
    with pytest.raises(KeyError):
        frame.group("tongue")
    events = next(m for m in messages if isinstance(m, Events))
    assert events.phonemes[0].i == 0 and events.visemes[0].phoneme == 0 and events.words[0].text == "Hi"


def test_decode_f16_curves(engine: Engine) -> None:
    frames = stream_frames(engine, "Hi.", curve_format="f16", channels=["visemes"])
    start = decode_message(frames[0])
    assert start.curve_format == "f16" and start.groups == [("visemes", tuple(GROUPS["visemes"]))]
    frame = next(m for m in (decode_message(f, {"r1": start}) for f in frames) if isinstance(m, Frames))
    assert frame.values.dtype == np.float32 and frame.values.shape[1] == 15
    assert frame.group("visemes").max() <= 1.0


def test_decode_replies_and_errors() -> None:
    welcome = decode_message(header(type="welcome", version=1, versions=[1], server="s", instance="ab",
                                    limits={"max_text_chars": 10, "future_limit": 1}, heartbeat_ivl_ms=1000,
                                    heartbeat_timeout_ms=3000))
    assert isinstance(welcome, Welcome) and welcome.limits == Limits(max_text_chars=10)
    pong = decode_message(header(type="pong", id="p", t=1.5, instance="ab", time_s=2.0))
    assert pong == Pong(1.5, "ab", 2.0, "p")
    error = decode_message(pack(error_header("r", "invalid_option", "fps is off", field="fps")))
    assert isinstance(error, ErrorMessage)
    exc = error.to_exception()
    assert (exc.code, exc.retryable, exc.field) == ("invalid_option", False, "fps") and "fps is off" in str(exc)
    assert decode_message(pack(error_header("r", "busy", "later"))).retryable
    assert isinstance(decode_message(header(type="gossip", id="x")), UnknownMessage)


@pytest.mark.parametrize("frames", [
    [b"\xc1"],  # not MessagePack
    [msgpack.packb([1, 2])],  # not a map
    [msgpack.packb({"v": 1, "type": "audio", "id": "r", "seq": 1, "sample_offset": 0, "num_samples": 4}), b"12"],
    [msgpack.packb({"v": 1, "type": "audio", "id": "r", "seq": 1, "sample_offset": 0, "num_samples": 1})],
    [msgpack.packb({"v": 1, "type": "frames", "id": "r", "seq": 1, "start_frame": 0, "sample_offset": 0,
                    "num_frames": 2, "num_channels": 3}), b"\0" * 8],
    [msgpack.packb({"v": 1, "type": "end", "id": "r", "seq": 1, "status": "ok"}), b"extra"],
    [msgpack.packb({"v": 1, "type": "events", "id": "r", "seq": 1, "phonemes": [{"i": 0}]})],
    [msgpack.packb({"v": 1, "type": "pong", "t": 1})],
])
def test_decode_rejects_malformed_messages(frames: list[bytes]) -> None:
    with pytest.raises(DaemonProtocolError):
        decode_message(frames)


def test_pcm16_round_trip_is_exact() -> None:
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    audio = pcm.astype(np.float32) / np.float32(32767.0)  # what collect() does
    np.testing.assert_array_equal(to_pcm16(audio)[1:], pcm[1:])  # -32768 clips to -32767, as the engine does


# ---- session logic without sockets ---------------------------------------------------------

def test_collect_from_daemon_messages_equals_offline_engine(engine: Engine, tmp_path: Path) -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", speak_fields(seed=5, fps=30, emotion="happy"))
    for frames in stream_frames(engine, TEXT, seed=5, fps=30, emotion="happy"):
        session.feed(frames)
    collector = Collector()
    for message in drain(state):
        collector.add(message)
    got = collector.utterance(state.text, state.request)
    want = engine.speak(TEXT, seed=5, fps=30, emotion="happy")
    assert_same_utterance(got, want)
    write_utterance(got, tmp_path / "got", csv_too=True)
    write_utterance(want, tmp_path / "want", csv_too=True)
    assert_same_files(tmp_path / "got", tmp_path / "want")


def test_session_demultiplexes_interleaved_streams(engine: Engine) -> None:
    session, _ = fed_session()
    a = session.open_stream("One.", "a", {})
    b = session.open_stream("Two.", "b", {})
    fa, fb = stream_frames(engine, "One.", id="a"), stream_frames(engine, "Two.", id="b")
    for pair in zip(fa, fb):
        for frames in pair:
            session.feed(frames)
    for frames in fa[len(fb):] + fb[len(fa):]:
        session.feed(frames)
    assert [m.seq for m in drain(a)] == list(range(len(fa)))
    assert [m.seq for m in drain(b)] == list(range(len(fb)))
    assert a.done and b.done and not session.streams


def test_cancel_drops_buffered_chunks_and_waits_for_the_terminal(engine: Engine) -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    frames = stream_frames(engine, TEXT)
    for message in frames[:4]:
        session.feed(message)
    assert isinstance(state.pop(), Start)
    session.outbox.clear()
    session.cancel(state)
    assert sent_types(session) == ["cancel"]
    assert state.pop() is None  # buffered audio/frames are gone
    session.feed(frames[4])  # still in flight when the cancel went out: dropped
    # the terminal end follows the last message sent with no gap in seq (docs/protocol.md section 5)
    session.feed(header(type="end", id="r1", seq=5, status="cancelled", stats={}))
    assert drain(state) == [End("r1", 5, "cancelled", {})] and state.done


def test_a_gap_in_seq_before_the_end_is_a_protocol_error(engine: Engine) -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    for message in stream_frames(engine, TEXT)[:2]:
        session.feed(message)
    session.feed(header(type="end", id="r1", seq=5, status="ok", stats={}))
    assert isinstance(state.pop(), Start) and isinstance(state.pop(), Audio)
    with pytest.raises(DaemonProtocolError, match="message 5 arrived where 2 was due"):
        state.pop()


def test_an_error_about_a_running_stream_does_not_end_it(engine: Engine) -> None:
    """duplicate_id (and other refusals about a running request) come with id nil and `about`: not a terminal."""
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    frames = stream_frames(engine, TEXT)
    session.feed(header(type="error", id=None, code="duplicate_id", message="request 'r1' is already running",
                        retryable=False, field="id", about="r1"))
    for message in frames:
        session.feed(message)
    messages = drain(state)
    assert isinstance(messages[0], Start) and isinstance(messages[-1], End) and state.done
    assert decode_message(pack(error_header(None, "duplicate_id", "x", about="r1"))).about == "r1"


def test_restart_is_detected_from_a_pong_with_another_instance() -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    session.feed(header(type="pong", id=state.ping_id, instance="old", t=0))
    session.feed(header(type="start", id="r1", seq=0, voice="v", sample_rate=22050, fps=60, groups=[]))
    other = session.open_stream(TEXT, "r2", {})  # its own ping has not come back yet: no instance known
    session.feed(header(type="pong", id="hb-1", instance="new", t=0))
    assert isinstance(state.pop(), Start)
    with pytest.raises(DaemonRestartedError):
        state.pop()
    assert other.failure is None and session.instance == "new"
    session.feed(header(type="pong", id=other.ping_id, instance="new", t=0))
    assert other.instance == "new"


def test_timeouts_and_heartbeats_follow_the_clock() -> None:
    session, clock = fed_session(timeout=5.0, heartbeat_s=1.0)
    state = session.open_stream(TEXT, "r1", {})
    session.outbox.clear()
    assert session.due(state) == pytest.approx(1.0)
    clock.now += 1.0
    session.due(state)
    assert sent_types(session) == ["ping"]
    clock.now += 3.5
    session.feed(header(type="start", id="r1", seq=0, voice="v", sample_rate=22050, fps=60, groups=[]))
    clock.now += 4.9  # the start message restarted the stream's timeout
    session.due(state)
    clock.now += 0.2
    session.outbox.clear()
    with pytest.raises(DaemonTimeoutError, match="sent nothing"):
        session.due(state)
    assert sent_types(session) == ["cancel"]  # so that it does not run if the daemon gets it late
    fresh = session.open_stream(TEXT, "r2", {})
    clock.now += 6
    with pytest.raises(DaemonTimeoutError, match="avatarlab serve"):
        session.due(fresh)


def test_protocol_violations_reach_the_stream() -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    session.feed(header(type="start", id="r1", seq=1, voice="v", sample_rate=22050, fps=60, groups=[]))
    with pytest.raises(DaemonProtocolError, match="lost"):
        state.pop()
    other = session.open_stream(TEXT, "r2", {})
    session.feed(header(type="audio", id="r2", seq=0, sample_offset=0, num_samples=3))
    with pytest.raises(DaemonProtocolError):
        other.pop()


def test_errors_without_an_id_go_to_the_only_waiting_request() -> None:
    session, _ = fed_session()
    state = session.open_stream(TEXT, "r1", {})
    session.feed(pack(error_header(None, "bad_message", "garbled")))
    with pytest.raises(RequestError) as caught:
        state.pop()
    assert caught.value.code == "bad_message"
    session.open_stream(TEXT, "a", {})
    session.open_stream(TEXT, "b", {})
    session.feed(pack(error_header(None, "bad_message", "whose?")))  # ambiguous: logged, nobody fails
    assert all(s.failure is None and not s.queue for s in session.streams.values())


def test_unread_stream_is_cancelled_when_its_buffer_is_full() -> None:
    session, _ = fed_session(max_buffer=3)
    state = session.open_stream(TEXT, "r1", {})
    session.outbox.clear()
    for seq in range(5):
        session.feed(header(type="events", id="r1", seq=seq, phonemes=[], words=[], visemes=[]))
    assert sent_types(session) == ["cancel"]
    with pytest.raises(RequestError) as caught:
        drain(state)
    assert caught.value.code == "slow_consumer" and caught.value.retryable


def test_local_request_checks() -> None:
    session, _ = fed_session()
    session.open_stream(TEXT, "same", {})
    with pytest.raises(RequestError, match="duplicate_id"):
        session.open_stream(TEXT, "same", {})
    with pytest.raises(RequestError, match="invalid_field"):
        session.open_stream(TEXT, "x" * 65, {})
    with pytest.raises(TypeError):
        speak_fields(volume=11)


# ---- against the real daemon ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as process:
        yield process


@pytest.fixture
def client(daemon):
    with Client(daemon.url, timeout=60) as c:
        yield c


def test_hello_ping_status_voices(client: Client) -> None:
    welcome = client.hello()
    assert welcome.version == 1 and welcome.server.startswith("avatarlab/") and welcome.limits == Limits()
    assert client.instance == welcome.instance
    assert client.ping() > 0
    status = client.status()
    assert status["instance"] == welcome.instance and status["voices"] == ["en_US-joe-medium"]
    voices = client.voices()
    assert [v.name for v in voices] == ["en_US-joe-medium"] and voices[0].sample_rate == 22050


def test_speak_collect_equals_offline_engine(client: Client, engine: Engine) -> None:
    got = client.speak(TEXT, seed=7, fps=30, emotion="sad", emotion_intensity=0.5).collect()
    assert_same_utterance(got, engine.speak(TEXT, seed=7, fps=30, emotion="sad", emotion_intensity=0.5))


def test_stream_messages_are_ordered_and_typed(client: Client) -> None:
    stream = client.speak("Short line.", channels=["audio", "head"], fps=24)
    messages = list(stream)
    start, end = messages[0], messages[-1]
    assert isinstance(start, Start) and start.groups == [("head", tuple(GROUPS["head"]))]
    assert isinstance(end, End) and end.status == "ok" and stream.end == end
    assert {type(m) for m in messages[1:-1]} == {Audio, Frames}
    offset = 0
    for message in messages[1:-1]:
        if isinstance(message, Audio):
            assert message.sample_offset == offset and message.pcm.dtype == np.int16
            offset += message.num_samples
        else:
            assert message.group("head").shape[1] == 3
    assert end.stats["audio_samples"] == offset
    with pytest.raises(ValueError, match="collect"):
        client.speak("Short line.", channels=["audio"]).collect()


def test_cancel_mid_stream(client: Client) -> None:
    stream = client.speak(LONG_TEXT)
    assert isinstance(next(stream), Start)
    assert isinstance(next(stream), Audio)
    end = stream.cancel()
    assert end is not None and end.status == "cancelled"
    assert list(stream) == []
    assert client.speak("Still here.").collect().duration_s > 0  # the client goes on


def test_a_dropped_stream_is_cancelled(client: Client) -> None:
    for message in client.speak(LONG_TEXT):
        assert isinstance(message, Start)
        break
    assert client.status()["active_requests"] == 0  # the cancel went out before the status request


def test_two_concurrent_streams_on_one_client(client: Client, engine: Engine) -> None:
    a = client.speak(TEXT, seed=1)
    b = client.speak("Over the hills and far away.", seed=2)
    seen_a, seen_b = [], []
    for message_a, message_b in zip(a, b):  # read them in turns
        seen_a.append(message_a)
        seen_b.append(message_b)
    seen_a += list(a)
    seen_b += list(b)
    assert isinstance(seen_a[-1], End) and isinstance(seen_b[-1], End)
    assert_same_utterance(a.collect(), engine.speak(TEXT, seed=1))
    assert_same_utterance(b.collect(), engine.speak("Over the hills and far away.", seed=2))


@pytest.mark.parametrize("kwargs, code, field", [
    ({"text": "   "}, "invalid_text", "text"),
    ({"text": "Hi.", "fps": 500}, "invalid_option", "fps"),
    ({"text": "Hi.", "voice": "nobody"}, "unknown_voice", "voice"),
    ({"text": "Hi.", "curve_format": "f64"}, "invalid_field", "curve_format"),
])
def test_error_responses_raise_request_error(client: Client, kwargs: dict, code: str, field: str | None) -> None:
    with pytest.raises(RequestError) as caught:
        list(client.speak(**kwargs))
    assert caught.value.code == code and caught.value.field == field and not caught.value.retryable


def test_busy_is_retryable(client: Client) -> None:
    streams = [client.speak(LONG_TEXT) for _ in range(5)]
    with pytest.raises(RequestError) as caught:
        list(streams[4])
    assert caught.value.code == "busy" and caught.value.retryable
    for stream in streams[:4]:
        assert stream.cancel().status == "cancelled"


def test_no_daemon_times_out_with_a_hint() -> None:
    with Client(f"tcp://127.0.0.1:{free_port()}", timeout=0.5, heartbeat_s=0.1) as client:
        with pytest.raises(DaemonTimeoutError, match="avatarlab serve"):
            client.ping()
        with pytest.raises(DaemonTimeoutError):
            list(client.speak("Hello."))


def test_daemon_restart_while_waiting(tmp_path: Path, engine: Engine) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    first = spawn_daemon(url=url, log_dir=tmp_path)
    second = None
    try:
        wait_ready(first)
        with Client(url, timeout=60, heartbeat_s=0.2) as client:
            stream = client.speak(LONG_TEXT)
            assert isinstance(next(stream), Start)
            first.stop(signal.SIGKILL)  # a crash: no goodbye
            second = spawn_daemon(url=url, log_dir=tmp_path)
            with pytest.raises((DaemonRestartedError, DaemonTimeoutError)):
                for _ in stream:  # what was already received, then the error
                    pass
            assert_same_utterance(client.speak(TEXT, seed=3).collect(), engine.speak(TEXT, seed=3))
    finally:
        for process in (first, second):
            if process is not None and process.proc.poll() is None:
                process.stop(signal.SIGKILL)


def _client_command_registered() -> bool:
    from avatarlab.cli import build_parser

    return "client" in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]


@pytest.mark.skipif(not _client_command_registered(), reason="avatarlab.daemon.cli does not add `client` yet")
def test_cli_client_speak_writes_what_speak_writes(daemon, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "avatarlab.cli", *args], cwd=tmp_path, capture_output=True,
                              text=True, env=env, timeout=120)

    options = ("--format", "csv", "--fps", "30", "--seed", "4", "--emotion", "happy")
    offline = run("speak", TEXT, "--out", "offline", *options)
    assert offline.returncode == 0, offline.stderr
    online = run("client", "speak", TEXT, "--out", "online", "--url", daemon.url, *options)
    assert online.returncode == 0, online.stderr
    assert_same_files(tmp_path / "online", tmp_path / "offline")
    for command, expected in (("ping", daemon.url), ("status", '"instance"'), ("voices", "en_US-joe-medium")):
        result = run("client", command, "--url", daemon.url)
        assert result.returncode == 0 and expected in result.stdout, result.stderr
    bad = run("client", "speak", "  ", "--url", daemon.url)
    assert bad.returncode == 2 and bad.stderr.startswith("avatarlab: error:") and "invalid_text" in bad.stderr
    missing = run("client", "ping", "--url", f"tcp://127.0.0.1:{free_port()}", "--timeout", "0.5")
    assert missing.returncode == 2 and "avatarlab serve" in missing.stderr


def test_curve_encryption_with_allowed_and_unknown_keys(tmp_path: Path) -> None:
    import zmq.auth

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    _, server_secret = zmq.auth.create_certificates(str(tmp_path), "server")
    os.chmod(server_secret, 0o600)  # the daemon refuses a secret key that others can read
    alice_public, alice_secret = zmq.auth.create_certificates(str(tmp_path), "alice")
    _, mallory_secret = zmq.auth.create_certificates(str(tmp_path), "mallory")
    for secret in (alice_secret, mallory_secret):
        os.chmod(secret, 0o600)  # the client refuses a secret key that others can read
    Path(alice_public).rename(allowed / "alice.key")
    server_public = tmp_path / "server.key"
    process = spawn_daemon("--curve-secret", server_secret, "--allow-keys", str(allowed), log_dir=tmp_path)
    try:
        with Client(process.url, timeout=60, server_public_key=server_public, client_secret_key=alice_secret) as alice:
            rtt = alice.ping()  # waits for the daemon to load, through the encrypted channel
            assert rtt > 0 and alice.speak("Secret.").collect().duration_s > 0
        with Client(process.url, timeout=1, server_public_key=server_public, client_secret_key=mallory_secret) as bad:
            with pytest.raises(DaemonTimeoutError):
                bad.ping()
        with pytest.raises(AvatarLabError, match="both"):
            Client(process.url, server_public_key=server_public)
    finally:
        process.stop(signal.SIGKILL)
