"""The wire protocol of docs/protocol.md: message framing, request parsing, stream messages.

Shared by the daemon and the Python client so that both read the one spec the same way.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any

import msgpack
import numpy as np

from ..channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from ..options import MAX_TEXT_CHARS, SynthesisOptions

VERSION = 1
SUPPORTED_VERSIONS = (1,)
DEFAULT_URL = "tcp://127.0.0.1:5555"
HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 30000  # longer than the slow-consumer timeout: a stalled reader is not a dead one

#: Curve groups in the column order of a ``frames`` payload.
GROUPS: dict[str, tuple[str, ...]] = {
    "visemes": OCULUS_VISEMES,
    "blendshapes": ARKIT_BLENDSHAPES,
    "head": HEAD_CHANNELS,
    "eyes": EYE_CHANNELS,
}
STREAM_CHANNELS = ("audio", *GROUPS, "events")
CURVE_FORMATS = {"f32": np.dtype("<f4"), "f16": np.dtype("<f2")}

REQUEST_TYPES = ("hello", "ping", "status", "voices", "speak", "listen", "push", "cancel", "bye")
#: Requests whose header is followed by one payload frame.
PAYLOAD_TYPES = frozenset({"push"})
LIVE_CHANNELS = (*GROUPS, "events")
LIVE_AUDIO_FORMATS = {"pcm16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
RETRYABLE = frozenset({"busy", "slow_consumer", "shutting_down", "internal", "overrun"})
_SPEAK_NUMBERS = ("emotion_intensity", "speed", "noise_scale", "noise_w", "sentence_silence")


@dataclass(frozen=True)
class Limits:
    """Every limit the daemon enforces (docs/protocol.md section 7)."""

    max_header_bytes: int = 65536
    max_message_bytes: int = 1 << 20
    max_text_chars: int = MAX_TEXT_CHARS
    max_requests_per_client: int = 4
    max_active_requests: int = 32
    send_hwm: int = 64
    slow_consumer_timeout_s: float = 10.0
    max_id_chars: int = 64
    max_push_s: float = 1.0  # audio in one ``push``
    max_listen_s: float = 3600.0  # audio in one ``listen`` stream
    max_pending_pushes: int = 32  # pushes of one stream waiting to be processed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class ProtocolError(Exception):
    """A message that breaks the protocol; becomes an ``error`` message to its sender."""

    def __init__(self, code: str, message: str, request_id: str | None = None, field: str | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id, self.field, self.extra = code, message, request_id, field, extra

    def header(self) -> dict[str, Any]:
        return error_header(self.request_id, self.code, self.message, field=self.field, **self.extra)


def error_header(request_id: str | None, code: str, message: str, field: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    header = {"v": VERSION, "type": "error", "id": request_id, "code": code, "message": message,
              "retryable": code in RETRYABLE, **extra}
    if field is not None:
        header["field"] = field
    return header


def pack(header: dict[str, Any], *payloads: bytes | memoryview) -> list[bytes | memoryview]:
    """A multipart message: the MessagePack header, then raw payload frames."""
    return [msgpack.packb(header, use_bin_type=True), *payloads]


def unpack_header(frame: bytes, max_bytes: int | None = None) -> dict[str, Any]:
    """Decode frame 0, or raise ProtocolError saying what is wrong with it."""
    if max_bytes is not None and len(frame) > max_bytes:
        raise ProtocolError("message_too_large", f"header of {len(frame)} bytes is over the {max_bytes}-byte limit")
    try:
        header = msgpack.unpackb(frame, raw=False, strict_map_key=False)
    except Exception as error:  # msgpack raises many types for garbage
        raise ProtocolError("bad_message", f"frame 0 is not valid MessagePack ({type(error).__name__})") from None
    if not isinstance(header, dict):
        raise ProtocolError("bad_message", "frame 0 must be a MessagePack map")
    return header


def request_id_of(header: dict[str, Any], limits: Limits, required: bool) -> str | None:
    value = header.get("id")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= limits.max_id_chars:
        raise ProtocolError("invalid_field", f"id must be a string of 1 to {limits.max_id_chars} characters",
                            field="id")
    return value


def check_envelope(header: dict[str, Any]) -> str:
    """Check ``v`` and ``type``; return the type."""
    request_id = header.get("id") if isinstance(header.get("id"), str) else None
    version = header.get("v")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:  # 1.0 and True are not versions
        raise ProtocolError("unsupported_version", f"protocol version {version!r} is not supported",
                            request_id, versions=list(SUPPORTED_VERSIONS))
    kind = header.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "the header needs a string 'type'", request_id)
    if kind not in REQUEST_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}; one of {', '.join(REQUEST_TYPES)}",
                            request_id)
    return kind


#: How deeply lists and maps may nest in a value the daemon echoes (``ping``'s ``t``): MessagePack
#: libraries refuse to pack much deeper values, and a reply must always be sendable.
MAX_ECHO_DEPTH = 32


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and maps nest in ``value`` (a scalar is 0); stops counting past ``limit``, never recurses."""
    depth, level = 0, [value]
    while depth <= limit:
        containers = [item for item in level if isinstance(item, (list, tuple, dict))]
        if not containers:
            return depth
        depth += 1
        level = [child for item in containers
                 for child in ((*item.keys(), *item.values()) if isinstance(item, dict) else item)]
    return depth


def parse_hello(header: dict[str, Any], request_id: str | None) -> int:
    """The version a ``hello`` and the daemon share (the highest), or the error that answers it."""
    offered = header.get("versions", [VERSION])
    if not isinstance(offered, list) or not all(type(v) is int for v in offered):
        raise ProtocolError("invalid_field", "versions must be a list of integers (protocol versions)", request_id,
                            field="versions")
    client = header.get("client")
    if client is not None and not isinstance(client, str):
        raise ProtocolError("invalid_field", "client must be a string (name/version)", request_id, field="client")
    common = set(offered) & set(SUPPORTED_VERSIONS)
    if not common:
        raise ProtocolError("unsupported_version", f"no common protocol version in {offered[:16]!r}; this daemon "
                            f"speaks {', '.join(map(str, SUPPORTED_VERSIONS))}", request_id,
                            versions=list(SUPPORTED_VERSIONS))
    return max(common)


def echoed(header: dict[str, Any], name: str, request_id: str | None) -> Any:
    """A field the daemon sends back as it came (``ping``'s ``t``), checked to be sendable."""
    value = header.get(name)
    if nesting_depth(value, MAX_ECHO_DEPTH) > MAX_ECHO_DEPTH:
        raise ProtocolError("invalid_field", f"{name} nests lists or maps more than {MAX_ECHO_DEPTH} deep",
                            request_id, field=name)
    return value


@dataclass(frozen=True)
class SpeakRequest:
    id: str
    text: str
    voice: str | None
    options: SynthesisOptions
    channels: frozenset[str]
    curve_format: str

    @property
    def groups(self) -> list[str]:
        return [name for name in GROUPS if name in self.channels]


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


def _typed(header: dict[str, Any], name: str, kinds: tuple[type, ...], request_id: str) -> Any:
    value = header.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise ProtocolError("invalid_field", f"{name} must be {wanted}, got {type(value).__name__}",
                            request_id, field=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError("invalid_field", f"{name} must be finite", request_id, field=name)
    return value


def _channels_and_format(header: dict[str, Any], request_id: str,
                         allowed: tuple[str, ...]) -> tuple[frozenset[str], str]:
    """The requested ``channels`` (default: all allowed) and ``curve_format``, checked."""
    channels = header.get("channels", list(allowed))
    if not isinstance(channels, list) or not all(isinstance(c, str) and c in allowed for c in channels):
        raise ProtocolError("invalid_field", f"channels must be a list drawn from {', '.join(allowed)}",
                            request_id, field="channels")
    return frozenset(channels), one_of(header, "curve_format", tuple(CURVE_FORMATS), request_id)


def one_of(header: dict[str, Any], name: str, allowed: tuple[str, ...], request_id: str) -> str:
    """A protocol field that names one of a fixed list (default: the first); anything else is invalid_field."""
    value = header.get(name, allowed[0])
    if not isinstance(value, str) or value not in allowed:
        raise ProtocolError("invalid_field", f"{name} must be one of {', '.join(map(repr, allowed))}",
                            request_id, field=name)
    return value


def checked_speak_text(value: Any, request_id: str) -> str:
    """The ``text`` of a speak as a string: invalid_field if it is none, invalid_text if its bytes are not UTF-8.

    What a string may hold (not empty, no NUL, the length limit) is ``options.checked_text``'s to say.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("invalid_text", "text is not valid UTF-8", request_id, field="text") from None
    if not isinstance(value, str):
        raise ProtocolError("invalid_field", "text must be a string", request_id, field="text")
    return value


def parse_speak(header: dict[str, Any], limits: Limits) -> SpeakRequest:
    """Turn a ``speak`` header into a request, checking every field's type (ranges are the engine's job)."""
    request_id = request_id_of(header, limits, required=True)
    assert request_id is not None
    text = checked_speak_text(header.get("text"), request_id)
    voice = _typed(header, "voice", (str,), request_id)
    options: dict[str, Any] = {}
    for name in _SPEAK_NUMBERS:
        value = _typed(header, name, (int, float), request_id)
        if value is not None:
            options[name] = float(value)
    for name in ("fps", "seed"):
        value = _typed(header, name, (int,), request_id)
        if value is not None:
            options[name] = value
    emotion = _typed(header, "emotion", (str,), request_id)
    if emotion is not None:
        options["emotion"] = emotion
    speaker = _typed(header, "speaker", (int, str), request_id)
    if speaker is not None:
        options["speaker"] = speaker
    channels, curve_format = _channels_and_format(header, request_id, STREAM_CHANNELS)
    return SpeakRequest(request_id, text, voice, SynthesisOptions(**options), channels, curve_format)


@dataclass(frozen=True)
class ListenRequest:
    """A live stream: the client pushes audio, the daemon answers each push with the frames it releases."""

    id: str
    sample_rate: int
    audio_format: str
    options: SynthesisOptions  # only fps, seed, emotion and emotion_intensity apply
    channels: frozenset[str]
    curve_format: str

    @property
    def groups(self) -> list[str]:
        return [name for name in GROUPS if name in self.channels]

    @property
    def sample_dtype(self) -> np.dtype:
        return LIVE_AUDIO_FORMATS[self.audio_format]


def parse_listen(header: dict[str, Any], limits: Limits) -> ListenRequest:
    """Turn a ``listen`` header into a request, checking every field's type (ranges are the session's job)."""
    request_id = request_id_of(header, limits, required=True)
    assert request_id is not None
    sample_rate = _typed(header, "sample_rate", (int,), request_id)
    audio_format = one_of(header, "audio_format", tuple(LIVE_AUDIO_FORMATS), request_id)
    options: dict[str, Any] = {}
    for name in ("fps", "seed"):
        value = _typed(header, name, (int,), request_id)
        if value is not None:
            options[name] = value
    intensity = _typed(header, "emotion_intensity", (int, float), request_id)
    if intensity is not None:
        options["emotion_intensity"] = float(intensity)
    emotion = _typed(header, "emotion", (str,), request_id)
    if emotion is not None:
        options["emotion"] = emotion
    channels, curve_format = _channels_and_format(header, request_id, LIVE_CHANNELS)
    return ListenRequest(request_id, 16000 if sample_rate is None else sample_rate, audio_format,
                         SynthesisOptions(**options), channels, curve_format)


def parse_push(header: dict[str, Any], payload: bytes, request: ListenRequest, limits: Limits,
               received: int) -> tuple[np.ndarray, bool]:
    """The pushed samples as float32 in [-1, 1], and whether this is the stream's last push."""
    last = header.get("last", False)
    if not isinstance(last, bool):
        raise ProtocolError("invalid_field", "last must be true or false", request.id, field="last")
    dtype = request.sample_dtype
    if len(payload) % dtype.itemsize:
        raise ProtocolError("invalid_audio", f"the payload is not a whole number of {request.audio_format} samples "
                            f"({len(payload)} bytes)", request.id)
    count = len(payload) // dtype.itemsize
    if count > limits.max_push_s * request.sample_rate:
        raise ProtocolError("invalid_audio", f"a push holds at most {limits.max_push_s:g} s of audio "
                            f"({int(limits.max_push_s * request.sample_rate)} samples); got {count}", request.id)
    if received + count > limits.max_listen_s * request.sample_rate:
        raise ProtocolError("too_long", f"a listen stream holds at most {limits.max_listen_s:g} s of audio; "
                            "start a new stream", request.id)
    samples = np.frombuffer(payload, dtype=dtype)
    if request.audio_format == "pcm16le":
        audio = samples.astype(np.float32) / 32768.0
    else:
        audio = np.nan_to_num(samples.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return audio, last


# ---- stream messages ----------------------------------------------------------------------

#: A message before its request's ``seq`` is assigned: the header map and the payload frames.
Outgoing = tuple[dict[str, Any], tuple[bytes, ...]]


@dataclass
class StreamWriter:
    """Builds the messages of one speak stream.

    ``seq`` is given at send time by ``number``, in the I/O thread, so messages discarded
    after a cancel leave no gap in the numbering.
    """

    request: SpeakRequest | ListenRequest
    seq: int = 0
    frames_sent: int = 0
    chunks: int = 0
    samples: int = 0
    #: A listen stream's ``frames`` replies numbered (queued for the client), their frames, and the
    #: ``samples_in`` of the last one: the pushes answered, counted in the I/O thread.
    replies: int = 0
    frames_replied: int = 0
    samples_answered: int = 0
    #: Per numbered message not yet sent, what ``discard_unsent`` must take back: (num_frames of a reply or
    #: -1, samples_answered before it).
    _unsent: deque = dataclass_field(default_factory=deque)

    def _message(self, kind: str, *payloads: bytes, **fields_: Any) -> Outgoing:
        return {"v": VERSION, "type": kind, "id": self.request.id, **fields_}, payloads

    def number(self, message: Outgoing) -> list:
        """Stamp the next ``seq`` on a message and pack it into frames (I/O thread, when it is queued)."""
        header, payloads = message
        header["seq"] = self.seq
        self.seq += 1
        reply = header["type"] == "frames" and "samples_in" in header
        self._unsent.append((header["num_frames"] if reply else -1, self.samples_answered))
        if reply:
            self.replies += 1
            self.frames_replied += header["num_frames"]
            self.samples_answered = header["samples_in"]
        return pack(header, *payloads)

    def delivered(self) -> None:
        """The oldest numbered message left for the client: it can no longer be discarded."""
        if self._unsent:
            self._unsent.popleft()

    def discard_unsent(self) -> int:
        """Every numbered message not yet sent is being dropped: take back its ``seq`` and counts.

        The unsent messages are always the last ones numbered (a client's queue is first in, first out), so
        the next message (the terminal one) gets the ``seq`` after the last one sent: no gap.
        """
        dropped = len(self._unsent)
        self.seq -= dropped
        for num_frames, samples_before in reversed(self._unsent):
            if num_frames >= 0:
                self.replies -= 1
                self.frames_replied -= num_frames
                self.samples_answered = samples_before
        self._unsent.clear()
        return dropped

    def start(self, voice: str, sample_rate: int) -> Outgoing:
        groups = [{"name": name, "channels": list(GROUPS[name])} for name in self.request.groups]
        return self._message(
            "start", voice=voice, sample_rate=sample_rate, fps=self.request.options.fps, audio_format="pcm16le",
            curve_format=self.request.curve_format, groups=groups,
            num_channels=sum(len(g["channels"]) for g in groups),
        )

    def chunk(self, chunk: Any) -> list[Outgoing]:
        """``audio``, ``frames`` and ``events`` messages for one engine chunk (each when requested and non-empty)."""
        messages = []
        channels = self.request.channels
        self.chunks += 1
        self.samples += len(chunk.audio)
        if "audio" in channels and len(chunk.audio):
            pcm = chunk.pcm16.astype("<i2", copy=False)
            messages.append(self._message("audio", pcm.tobytes(), sample_offset=chunk.sample_offset,
                                          num_samples=len(pcm)))
        frames = chunk.frames
        self.frames_sent += len(frames)
        if self.request.groups and len(frames):
            matrix = np.concatenate([getattr(frames, name) for name in self.request.groups], axis=1)
            matrix = np.ascontiguousarray(matrix, dtype=CURVE_FORMATS[self.request.curve_format])
            messages.append(self._message(
                "frames", matrix.tobytes(), start_frame=frames.start_frame, num_frames=len(frames),
                num_channels=matrix.shape[1], sample_offset=chunk.sample_offset))
        if "events" in channels and (chunk.phonemes or chunk.words or chunk.visemes):
            messages.append(self._message("events", **events_fields(chunk)))
        return messages

    def live_start(self, request: ListenRequest, max_delay_s: float, model: str) -> Outgoing:
        groups = [{"name": name, "channels": list(GROUPS[name])} for name in request.groups]
        return self._message(
            "start", voice=None, model=model, sample_rate=request.sample_rate, fps=request.options.fps,
            audio_format=request.audio_format, curve_format=request.curve_format, groups=groups,
            num_channels=sum(len(g["channels"]) for g in groups),
            **live_delay(max_delay_s, request.sample_rate),
        )

    def live_update(self, update: Any, sample_rate: int) -> list[Outgoing]:
        """One ``frames`` message per push (num_frames may be 0), then ``events`` if visemes closed."""
        self.chunks += 1
        self.samples = update.samples_in
        frames = update.frames
        self.frames_sent += len(frames)
        fps = self.request.options.fps
        sample_offset = -(-frames.start_frame * sample_rate // fps)
        if self.request.groups:
            matrix = np.concatenate([getattr(frames, name) for name in self.request.groups], axis=1)
            matrix = np.ascontiguousarray(matrix, dtype=CURVE_FORMATS[self.request.curve_format])
            payload, num_channels = matrix.tobytes(), matrix.shape[1]
        else:
            payload, num_channels = b"", 0
        messages = [self._message("frames", payload, start_frame=frames.start_frame, num_frames=len(frames),
                                  num_channels=num_channels, sample_offset=sample_offset,
                                  samples_in=update.samples_in)]
        if "events" in self.request.channels and update.visemes:
            messages.append(self._message("events", phonemes=[], words=[], visemes=[
                {"viseme": v.viseme, "start": v.start, "end": v.end, "phoneme": v.phoneme_index}
                for v in update.visemes]))
        return messages

    def end(self, status: str, stats: dict[str, Any]) -> Outgoing:
        return self._message("end", status=status, stats=stats)

    def error(self, code: str, message: str, field: str | None = None) -> Outgoing:
        extra = {"field": field} if field else {}
        return self._message("error", code=code, message=message, retryable=code in RETRYABLE, **extra)


def live_delay(max_delay_s: float, sample_rate: int) -> dict[str, Any]:
    """``max_delay_samples`` (whole input samples, the bound itself) and ``max_delay_s``, exactly the same span.

    The session's bound is rounded up to whole samples once, and the seconds are derived from the samples,
    so a client that converts either one into the other gets the same figure.
    """
    samples = int(math.ceil(max_delay_s * sample_rate - 1e-9))
    return {"max_delay_s": samples / sample_rate, "max_delay_samples": samples}


def events_fields(chunk: Any) -> dict[str, list[dict[str, Any]]]:
    first = chunk.visemes[0].phoneme_index if chunk.visemes else 0
    return {
        "phonemes": [
            {"i": first + k, "symbol": p.symbol, "start": p.start, "end": p.end, "word": p.word_index,
             "stress": p.stress, "sentence": p.sentence_index}
            for k, p in enumerate(chunk.phonemes)
        ],
        "words": [
            {"i": w.index, "text": w.text, "start": w.start, "end": w.end, "stressed": w.stressed,
             "sentence": w.sentence_index}
            for w in chunk.words
        ],
        "visemes": [
            {"viseme": v.viseme, "start": v.start, "end": v.end, "phoneme": v.phoneme_index} for v in chunk.visemes
        ],
    }
