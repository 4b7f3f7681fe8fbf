"""docs/protocol.md checked against the real daemon process, as a client written from the spec alone reads it.

Each test is one rule of the spec that a client relies on: the error code every malformed field gets
(never `internal`), the worked example, `seq` with no gap, ids on errors, the live delay bound, what a
cancelled `listen` answers, `bye`, `status.clients` and the `limits` keys.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

from avatarlab.daemon.protocol import Limits, StreamWriter, parse_speak
from daemon_process import running_daemon
from test_daemon import Wire

DOC = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
#: Minutes of speech in many chunks: a stream that is still running whenever a test looks.
LONG = " ".join(["the long road north winds through the hills and the old forest"] * 70)[:4900]


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as process:
        yield process


@pytest.fixture
def wire(daemon):
    client = Wire(daemon.url)
    yield client
    client.close()


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Wait for ``condition`` (no fixed sleeps: the machine may be slow)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s")
        time.sleep(0.05)


def read_until(wire: Wire, stop: Callable[[dict], bool], timeout: float = 60.0) -> list[tuple[dict, list[bytes]]]:
    """Every message up to and including the first one ``stop`` accepts."""
    messages = []
    deadline = time.monotonic() + timeout
    while True:
        header, payloads = wire.recv(max(0.1, deadline - time.monotonic()))
        messages.append((header, payloads))
        if stop(header):
            return messages


def of(messages: list[tuple[dict, list[bytes]]], request_id: str) -> list[dict]:
    return [h for h, _ in messages if h.get("id") == request_id]


def assert_no_traceback(daemon) -> None:
    log = daemon.log()
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]


def push(wire: Wire, request_id: str, samples: np.ndarray, last: Any = False) -> None:
    wire.socket.send_multipart([msgpack.packb({"v": 1, "type": "push", "id": request_id, "last": last}),
                                samples.astype("<i2").tobytes()])


# ---- malformed fields: the documented code, never `internal` -----------------------------------------

SPEAK = {"type": "speak", "id": "m", "text": "Hi."}
LISTEN = {"type": "listen", "id": "m"}
HELLO = {"type": "hello", "id": "m"}

#: (header, code, field): docs/protocol.md sections 3, 4, 5a and 8 (the invalid_field / invalid_option rule).
MALFORMED = {
    "curve_format is a list": ({**SPEAK, "curve_format": ["f32"]}, "invalid_field", "curve_format"),
    "curve_format is a map": ({**SPEAK, "curve_format": {"f32": 1}}, "invalid_field", "curve_format"),
    "curve_format is unknown": ({**SPEAK, "curve_format": "f64"}, "invalid_field", "curve_format"),
    "listen curve_format is a list": ({**LISTEN, "curve_format": ["f16"]}, "invalid_field", "curve_format"),
    "audio_format is a list": ({**LISTEN, "audio_format": ["pcm16le"]}, "invalid_field", "audio_format"),
    "audio_format is unknown": ({**LISTEN, "audio_format": "mp3"}, "invalid_field", "audio_format"),
    "hello versions [[1]]": ({**HELLO, "versions": [[1]]}, "invalid_field", "versions"),
    "hello versions nested 1,000 deep": ({**HELLO, "versions": nested(1000)}, "invalid_field", "versions"),
    "hello versions is a string": ({**HELLO, "versions": "1"}, "invalid_field", "versions"),
    "hello versions [true]": ({**HELLO, "versions": [True]}, "invalid_field", "versions"),
    "hello client is a number": ({**HELLO, "versions": [1], "client": 5}, "invalid_field", "client"),
    "hello with no shared version": ({**HELLO, "versions": [2, 3]}, "unsupported_version", None),
    "ping t nested 1,000 deep": ({"type": "ping", "id": "m", "t": nested(1000)}, "invalid_field", "t"),
    "NUL in text": ({**SPEAK, "text": "Hi\x00there."}, "invalid_text", "text"),
    "text is only NUL": ({**SPEAK, "text": "\x00"}, "invalid_text", "text"),
    "NUL in text sent as bytes": ({**SPEAK, "text": b"Hi\x00"}, "invalid_text", "text"),
    "text is not UTF-8": ({**SPEAK, "text": b"\xff\xfe"}, "invalid_text", "text"),
    "text is a number": ({**SPEAK, "text": 12}, "invalid_field", "text"),
    "text is empty": ({**SPEAK, "text": " "}, "invalid_text", "text"),
    "unknown channel": ({**SPEAK, "channels": ["audio", "smell"]}, "invalid_field", "channels"),
    "channels is a string": ({**SPEAK, "channels": "audio"}, "invalid_field", "channels"),
    "listen channel audio": ({**LISTEN, "channels": ["audio"]}, "invalid_field", "channels"),
    "unknown emotion": ({**SPEAK, "emotion": "bored"}, "invalid_option", "emotion"),
    "emotion is a list": ({**SPEAK, "emotion": ["happy"]}, "invalid_field", "emotion"),
    "fps is text": ({**SPEAK, "fps": "fast"}, "invalid_field", "fps"),
    "fps is a float": ({**SPEAK, "fps": 30.0}, "invalid_field", "fps"),
    "fps out of range": ({**SPEAK, "fps": 500}, "invalid_option", "fps"),
    "fps is 2**64-1": ({**SPEAK, "fps": 2**64 - 1}, "invalid_option", "fps"),
    "seed is negative": ({**SPEAK, "seed": -1}, "invalid_option", "seed"),
    "speed is NaN": ({**SPEAK, "speed": float("nan")}, "invalid_field", "speed"),
    "speed is a bool": ({**SPEAK, "speed": True}, "invalid_field", "speed"),
    "speaker is a list": ({**SPEAK, "speaker": [0]}, "invalid_field", "speaker"),
    "voice is a number": ({**SPEAK, "voice": 5}, "invalid_field", "voice"),
    "voice is empty": ({**SPEAK, "voice": ""}, "unknown_voice", "voice"),
    "listen sample_rate 4000": ({**LISTEN, "sample_rate": 4000}, "invalid_option", "sample_rate"),
    "listen sample_rate is a float": ({**LISTEN, "sample_rate": 16000.0}, "invalid_field", "sample_rate"),
    "listen emotion_intensity 5": ({**LISTEN, "emotion_intensity": 5}, "invalid_option", "emotion_intensity"),
    "v is 1.0": ({"v": 1.0, "type": "ping", "id": "m"}, "unsupported_version", None),
    "v is true": ({"v": True, "type": "ping", "id": "m"}, "unsupported_version", None),
    "type is a list": ({"type": ["ping"], "id": "m"}, "bad_message", None),
    "type is unknown": ({"type": "launch", "id": "m"}, "unknown_type", None),
    "cancel of an unknown id": ({"type": "cancel", "id": "m"}, "unknown_request", None),
    "push without its payload frame": ({"type": "push", "id": "m"}, "bad_message", None),
    # an id the daemon cannot use: the error cannot carry it
    "id is empty": ({**SPEAK, "id": ""}, "invalid_field", "id"),
    "id is 65 characters": ({**SPEAK, "id": "x" * 65}, "invalid_field", "id"),
    "id is a number": ({**SPEAK, "id": 7}, "invalid_field", "id"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_message_gets_its_documented_error(daemon, wire: Wire, case: str) -> None:
    header, code, field = MALFORMED[case]
    reply = wire.request(header)
    assert reply["type"] == "error", reply
    assert (reply["code"], reply.get("field")) == (code, field), reply
    assert reply["retryable"] is False and reply["message"]
    assert reply["id"] == (header["id"] if isinstance(header["id"], str) and 1 <= len(header["id"]) <= 64 else None)
    assert wire.request({"type": "ping", "id": "alive"})["type"] == "pong"
    assert_no_traceback(daemon)


#: Values that are wrong for every speak and listen field (a type, a range or a form the spec rules out).
BAD_VALUES = [[], {}, [[1]], nested(40), "x\x00y", True, 2**64 - 1, -(2**63), float("inf"), b"\x00"]
#: The codes section 8 allows for each field: protocol fields get invalid_field only.
ALLOWED = {
    "text": {"invalid_field", "invalid_text"}, "voice": {"invalid_field", "unknown_voice"},
    "channels": {"invalid_field"}, "curve_format": {"invalid_field"}, "audio_format": {"invalid_field"},
}
OPTION_CODES = {"invalid_field", "invalid_option"}


def test_every_field_times_every_bad_value_never_gets_internal(daemon, wire: Wire) -> None:
    """A fuzz-ish table: each speak and listen field given each bad value, one message each."""
    fields = {"speak": ["text", "voice", "fps", "emotion", "emotion_intensity", "seed", "speed", "noise_scale",
                        "noise_w", "speaker", "sentence_silence", "channels", "curve_format"],
              "listen": ["sample_rate", "audio_format", "fps", "emotion", "emotion_intensity", "seed", "channels",
                         "curve_format"]}
    checked = 0
    for kind, names in fields.items():
        base = SPEAK if kind == "speak" else LISTEN
        for name in names:
            for k, value in enumerate(BAD_VALUES):
                if name == "channels" and value == []:
                    continue  # no channels at all is a valid request (start, then end)
                request_id = f"{kind}-{name}-{k}"
                reply = wire.request({**base, "id": request_id, name: value})
                assert reply["type"] == "error" and reply["id"] == request_id, (name, value, reply)
                assert reply["code"] in ALLOWED.get(name, OPTION_CODES) and reply["field"] == name, (name, value, reply)
                checked += 1
    assert checked == 21 * len(BAD_VALUES) - 2
    assert wire.request({"type": "status", "id": "alive"})["active_requests"] == 0
    assert_no_traceback(daemon)


def test_a_hello_with_no_shared_version_echoes_its_id(wire: Wire) -> None:
    reply = wire.request({"type": "hello", "id": "h-17", "versions": [7, 9], "client": "future/2"})
    assert (reply["type"], reply["id"], reply["code"], reply["versions"]) == ("error", "h-17", "unsupported_version", [1])
    welcome = wire.request({"type": "hello", "id": "h-18", "versions": [1, 7]})
    assert (welcome["type"], welcome["id"], welcome["version"]) == ("welcome", "h-18", 1)


# ---- section 10, the worked example ------------------------------------------------------------------

def example_messages() -> list[tuple[str, dict[str, Any], int | None]]:
    """The worked example's messages: (direction, the header's plain fields, payload bytes or None)."""
    block = DOC[DOC.index("## 10. Worked example"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")]
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith(("C -> D", "D -> C")):
            entries.append(line)
        elif line.strip() and entries:
            entries[-1] += " " + line.strip()
    out = []
    for entry in entries:
        body = re.sub(r"stats:\{[^}]*\}|limits:\{[^}]*\}|groups:\[.*?\]\}\]", "", entry)
        fields: dict[str, Any] = {}
        for key, value in re.findall(r"(\w+):(\"[^\"]*\"|-?[\d.]+)", body):
            fields[key] = value.strip('"') if value.startswith('"') else (float(value) if "." in value else int(value))
        stats = re.search(r"stats:\{([^}]*)\}", entry)
        if stats:
            fields["stats"] = {k: float(v) if "." in v else int(v) for k, v in re.findall(r"(\w+):([\d.]+)", stats[1])}
        size = re.search(r"([\d,]+) bytes>", entry)
        out.append((entry[:6], fields, int(size[1].replace(",", "")) if size else None))
    return out


def frames_before(samples: int, sample_rate: int, fps: int) -> int:
    """Section 5's frame rule: the frames whose moment f * sample_rate / fps falls before this sample."""
    return -(-samples * fps // sample_rate)


def check_frame_rule(stream: list[tuple[dict, int | None]], channels: int) -> None:
    """Every count of a speak stream follows from the frame rule and the payload formats."""
    start = stream[0][0]
    rate, fps = start["sample_rate"], start["fps"]
    position = frames = 0
    for k, (header, size) in enumerate(stream):
        assert header["seq"] == k
        if header["type"] == "audio":
            assert header["sample_offset"] == position and size == 2 * header["num_samples"]
            chunk = (position, position + header["num_samples"])
            position = chunk[1]
        elif header["type"] == "frames":
            assert header["sample_offset"] == chunk[0]
            assert header["start_frame"] == frames == frames_before(chunk[0], rate, fps)
            assert header["num_frames"] == frames_before(chunk[1], rate, fps) - frames_before(chunk[0], rate, fps)
            assert header["num_channels"] == channels and size == header["num_frames"] * channels * 4
            frames += header["num_frames"]
    stats = stream[-1][0]["stats"]
    assert stream[-1][0]["type"] == "end" and stats["audio_samples"] == position
    assert stats["frames"] == frames == frames_before(position, rate, fps)


def test_the_worked_example_follows_the_frame_rule_and_the_daemon(wire: Wire) -> None:
    example = example_messages()
    speak = next(fields for direction, fields, _ in example if direction == "C -> D" and fields.get("id") == "a1")
    documented = [(fields, size) for direction, fields, size in example
                  if direction == "D -> C" and fields.get("id") == "a1"]
    check_frame_rule(documented, channels=15)  # the doc is right by its own rule

    channels = re.search(r'id:"a1", text:"[^"]*", fps:30, channels:\[([^\]]*)\]', DOC)[1]
    wire.send({"type": "speak", "id": "a1", "text": speak["text"], "fps": speak["fps"],
               "channels": [c.strip('"') for c in channels.split(",")]})
    real = [(h, len(p[0]) if p else None) for h, p in wire.stream("a1")]
    check_frame_rule(real, channels=15)  # so is the daemon
    assert [h["type"] for h, _ in real] == [f["type"] for f, _ in documented]
    for (doc, _), (got, _) in zip(documented, real):
        assert set(doc) - {"v"} <= set(got), (doc, got)  # every field the example shows is sent
    for name in ("voice", "sample_rate", "fps", "audio_format", "curve_format", "num_channels"):
        assert real[0][0][name] == documented[0][0][name], name

    cancel = [fields for _, fields, _ in example if fields.get("id") == "a2"]
    assert [f["seq"] for f in cancel if "seq" in f] == [0, 1, 2, 3], "the cancelled stream's seq has no gap"
    refused = next(fields for _, fields, _ in example if fields.get("id") == "a3" and fields["type"] == "error")
    reply = wire.request({"type": "speak", "id": "a3", "text": "", "fps": 200})
    assert (reply["code"], reply["field"], "seq" in reply) == (refused["code"], refused["field"], False)


# ---- seq: 0, 1, 2, ... with no gap ------------------------------------------------------------------

@pytest.fixture(scope="module")
def tight_daemon():
    """Tiny send queues, so a client that does not read soon leaves numbered messages queued in the daemon."""
    with running_daemon("--send-hwm", "2", "--slow-consumer-timeout", "8") as process:
        yield process


def assert_contiguous(messages: list[dict]) -> None:
    assert [h["seq"] for h in messages] == list(range(len(messages))), [(h["type"], h["seq"]) for h in messages]


def test_seq_has_no_gap_when_a_cancel_or_a_slow_consumer_error_cuts_a_stream(tight_daemon) -> None:
    """A client that stops reading: one stream cancelled, the others failed as slow consumers; no seq is skipped."""
    stalled, observer = Wire(tight_daemon.url, receive_buffer=8192), Wire(tight_daemon.url)
    ids = ["q0", "q1", "q2"]
    try:
        for request_id in ids:
            stalled.send({"type": "speak", "id": request_id, "text": LONG})
        until(lambda: stalled.socket.poll(0), what="the first message")

        def keep_alive_until(condition: Callable[[], bool], timeout: float) -> None:
            """Pings from the stalled client: traffic, so the heartbeat does not drop its connection."""
            def check() -> bool:
                stalled.send({"type": "ping", "id": "keepalive"})
                return condition()
            until(check, timeout, "the stalled client's streams to end")

        pause = time.monotonic() + 4  # not reading meanwhile: the daemon's queue for this client fills
        keep_alive_until(lambda: time.monotonic() > pause, 30)
        stalled.send({"type": "cancel", "id": "q0"})
        keep_alive_until(lambda: observer.request({"type": "status"})["active_requests"] == 0, 180)
        ended: set[str] = set()

        def last_terminal(header: dict) -> bool:
            if header.get("id") in ids and header["type"] in ("end", "error"):
                ended.add(header["id"])
            return ended == set(ids)
        messages = read_until(stalled, last_terminal)
    finally:
        stalled.close()
        observer.close()
    for request_id in ids:
        stream = of(messages, request_id)
        assert stream[0]["type"] == "start" and stream[-1]["type"] in ("end", "error"), stream[-1]
        assert_contiguous(stream)
    assert of(messages, "q0")[-1]["type"] == "end" or of(messages, "q0")[-1]["code"] == "slow_consumer"
    assert all(of(messages, i)[-1].get("code") == "slow_consumer" for i in ids[1:])


def test_discarding_unsent_messages_takes_back_their_seq() -> None:
    request = parse_speak({"v": 1, "type": "speak", "id": "w", "text": "Hi."}, Limits())
    writer = StreamWriter(request)
    numbered = [writer.number(writer.end("ok", {})) for _ in range(5)]
    for _ in range(2):
        writer.delivered()
    assert writer.discard_unsent() == 3
    assert msgpack.unpackb(numbered[1][0])["seq"] == 1
    assert msgpack.unpackb(writer.number(writer.end("cancelled", {}))[0])["seq"] == 2


# ---- ids on errors: duplicate_id and friends --------------------------------------------------------

def test_a_duplicate_id_is_refused_without_touching_the_running_stream(wire: Wire) -> None:
    wire.send({"type": "speak", "id": "d1", "text": LONG})
    refusals = [{"type": "speak", "id": "d1", "text": "Hi."}, {"type": "speak", "id": "d1", "text": ""},
                {"type": "listen", "id": "d1"}]
    for header in refusals:  # sent at once: they may well arrive before d1's start
        wire.send(header)
    wire.socket.send_multipart([msgpack.packb({"v": 1, "type": "push", "id": "d1"}), b"\0\0"])
    messages = read_until(wire, lambda h: h.get("id") is None and h.get("code") == "unknown_request")
    errors = [h for h, _ in messages if h["type"] == "error"]
    assert [(e["code"], e["id"], e["about"]) for e in errors] == [("duplicate_id", None, "d1")] * 3 + [
        ("unknown_request", None, "d1")]
    if not of(messages, "d1"):
        messages += read_until(wire, lambda h: h.get("id") == "d1")
    wire.send({"type": "cancel", "id": "d1"})
    messages += read_until(wire, lambda h: h.get("id") == "d1" and h["type"] in ("end", "error"))
    stream = of(messages, "d1")
    assert stream[0]["type"] == "start" and [h["type"] for h in stream].count("error") == 0
    assert stream[-1]["type"] == "end" and stream[-1]["status"] == "cancelled"
    assert_contiguous(stream)


def test_a_duplicate_listen_leaves_the_running_listen_alone(wire: Wire) -> None:
    wire.send({"type": "listen", "id": "d2"})
    assert wire.recv()[0]["type"] == "start"
    reply = wire.request({"type": "listen", "id": "d2", "sample_rate": 4000})
    assert (reply["code"], reply["id"], reply["about"]) == ("duplicate_id", None, "d2")
    push(wire, "d2", np.zeros(1600, np.int16), last=True)
    stream = of(read_until(wire, lambda h: h.get("id") == "d2" and h["type"] in ("end", "error")), "d2")
    assert stream[-1]["type"] == "end" and stream[-1]["status"] == "ok" and stream[-1]["stats"]["pushes"] == 1


# ---- listen: the empty payload, sample_offset, `last`, cancel ----------------------------------------

@pytest.mark.parametrize("channels", [["visemes", "events"], ["events"]])
def test_every_listen_reply_has_one_payload_frame_and_its_sample_offset(wire: Wire, channels: list[str]) -> None:
    rate, fps = 22050, 50
    wire.send({"type": "listen", "id": "p", "sample_rate": rate, "fps": fps, "channels": channels})
    start = wire.recv()[0]
    pieces = [7, 100, 1, 2205, 441, 5000, 13]
    for k, size in enumerate(pieces):
        push(wire, "p", np.zeros(size, np.int16), last=k == len(pieces) - 1)
    messages = read_until(wire, lambda h: h.get("id") == "p" and h["type"] in ("end", "error"))
    replies = [(h, p) for h, p in messages if h["type"] == "frames"]
    assert len(replies) == len(pieces) and any(h["num_frames"] == 0 for h, _ in replies)
    frame = 0
    for header, payloads in replies:
        assert len(payloads) == 1 and len(payloads[0]) == header["num_frames"] * start["num_channels"] * 4
        assert header["start_frame"] == frame and header["sample_offset"] == -(-frame * rate // fps)
        frame += header["num_frames"]
    assert frame == -(-sum(pieces) * fps // rate)
    assert_contiguous([start, *of(messages, "p")])


def test_a_push_with_last_that_is_not_a_bool_ends_its_stream_with_invalid_field(wire: Wire) -> None:
    wire.send({"type": "listen", "id": "y", "channels": ["visemes"]})
    assert wire.recv()[0]["type"] == "start"
    push(wire, "y", np.zeros(800, np.int16))
    push(wire, "y", np.zeros(800, np.int16), last="yes")
    stream = of(read_until(wire, lambda h: h.get("id") == "y" and h["type"] in ("end", "error")), "y")
    assert [h["type"] for h in stream] == ["frames", "error"] and stream[0]["samples_in"] == 800
    assert (stream[-1]["code"], stream[-1]["field"]) == ("invalid_field", "last")


def test_cancelling_a_listen_answers_the_first_pushes_in_order_then_ends(wire: Wire) -> None:
    wire.send({"type": "listen", "id": "c", "channels": ["visemes"]})
    start = wire.recv()[0]
    for _ in range(30):
        push(wire, "c", np.zeros(1600, np.int16))
    wire.send({"type": "cancel", "id": "c"})
    stream = of(read_until(wire, lambda h: h.get("id") == "c" and h["type"] in ("end", "error")), "c")
    replies, end = stream[:-1], stream[-1]
    assert all(h["type"] == "frames" for h in replies) and end["type"] == "end" and end["status"] == "cancelled"
    assert [h["samples_in"] for h in replies] == [1600 * (k + 1) for k in range(len(replies))]
    stats = end["stats"]
    assert stats["pushes"] == len(replies) and stats["frames"] == sum(h["num_frames"] for h in replies)
    assert stats["audio_samples"] == 1600 * len(replies)
    assert_contiguous([start, *stream])
    assert wire.request({"type": "ping", "id": "after"})["type"] == "pong", "nothing of the stream follows its end"


# ---- the live delay bound ---------------------------------------------------------------------------------

def documented_delays() -> dict[int, int]:
    """Section 5a's table: sample rate -> max_delay_samples."""
    rows = [re.search(rf"^\s*\| `{name}` \|((?: [\d,]+ \|)+)$", DOC, re.M)[1] for name in ("sample_rate", "max_delay_samples")]
    numbers = [[int(x.strip().replace(",", "")) for x in row.strip(" |").split("|")] for row in rows]
    return dict(zip(*numbers))


def test_the_announced_delay_bound_is_the_documented_one(wire: Wire) -> None:
    table = documented_delays()
    assert table[16000] == 1043 and len(table) == 5
    for rate, samples in table.items():
        r = 2 if rate == 16000 else 18 if rate < 16000 else 66
        assert samples == math.ceil(1041 * rate / 16000 + r)  # the spec's formula
        wire.send({"type": "listen", "id": f"r{rate}", "sample_rate": rate})
        start = wire.recv()[0]
        assert start["max_delay_samples"] == samples and start["max_delay_s"] == samples / rate
        push(wire, f"r{rate}", np.zeros(0, np.int16), last=True)
        end = of(read_until(wire, lambda h: h.get("id") == f"r{rate}" and h["type"] == "end"), f"r{rate}")[-1]
        assert end["stats"]["max_delay_s"] == start["max_delay_s"]


# ---- bye, status, limits ------------------------------------------------------------------------------------

def test_bye_cancels_running_requests_without_terminals_and_ids_are_free_again(daemon) -> None:
    wire, observer = Wire(daemon.url), Wire(daemon.url)
    try:
        wire.send({"type": "speak", "id": "b", "text": LONG})
        wire.send({"type": "listen", "id": "b2"})
        read_until(wire, lambda h: h.get("id") == "b" and h["type"] == "start")
        wire.send({"type": "bye"})
        wire.send({"type": "ping", "id": "after-bye"})
        after = read_until(wire, lambda h: h.get("id") == "after-bye" and h["type"] == "pong")
        assert not [h for h, _ in after if h.get("id") in ("b", "b2") and h["type"] in ("end", "error")]
        wire.send({"type": "speak", "id": "b", "text": "Hi."})
        assert wire.stream("b")[-1][0]["status"] == "ok"
        until(lambda: observer.request({"type": "status"})["active_requests"] == 0, what="no running request")
    finally:
        wire.close()
        observer.close()


def test_status_counts_the_client_that_asks(daemon) -> None:
    wire = Wire(daemon.url)
    try:
        until(lambda: wire.request({"type": "status"})["clients"] == 1, what="status.clients == 1 for a lone client")
        wire.send({"type": "speak", "id": "st", "text": LONG})
        read_until(wire, lambda h: h.get("id") == "st" and h["type"] == "start")
        wire.send({"type": "status", "id": "busy-status"})
        assert read_until(wire, lambda h: h.get("id") == "busy-status")[-1][0]["clients"] == 1
        wire.send({"type": "cancel", "id": "st"})
        read_until(wire, lambda h: h.get("id") == "st" and h["type"] == "end")
    finally:
        wire.close()


def test_every_limits_key_is_documented(wire: Wire) -> None:
    welcome = wire.request({"type": "hello", "versions": [1]})
    status = wire.request({"type": "status"})
    assert welcome["limits"] == status["limits"]
    bullet = DOC[DOC.index("- **`limits`**"):]
    bullet = bullet[:bullet.index("\n\n")]  # the bullet that defines the limits map, one paragraph
    documented = set(re.findall(r"`(\w+)`", bullet))
    assert set(welcome["limits"]) <= documented, set(welcome["limits"]) - documented
