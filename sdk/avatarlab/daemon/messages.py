"""Typed daemon-to-client messages (docs/protocol.md sections 5 and 5a) and the client's errors.

``decode_message(frames)`` turns one multipart ZeroMQ message into one of the dataclasses below. It is
pure (no sockets), so the synchronous and the asyncio client share it, and it can be tested alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from ..errors import AvatarLabError
from .protocol import CURVE_FORMATS, Limits, ProtocolError, unpack_header

# ---- errors ---------------------------------------------------------------------------------


class RequestError(AvatarLabError):
    """The daemon answered a request with an ``error`` message (docs/protocol.md section 8).

    ``code`` is the protocol's error code, ``retryable`` says whether sending the same request later
    may succeed, ``field`` names the offending request field when there is one.
    """

    def __init__(self, code: str, message: str, retryable: bool = False, field: str | None = None,
                 versions: list[int] | None = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code, self.message, self.retryable, self.field, self.versions = code, message, retryable, field, versions


class DaemonTimeoutError(AvatarLabError, TimeoutError):
    """No message arrived from the daemon within the client's timeout."""


class DaemonRestartedError(AvatarLabError):
    """The daemon restarted while a request was running; the request is gone, send it again."""


class DaemonProtocolError(AvatarLabError):
    """The daemon sent a message that breaks docs/protocol.md (a bug on its side or a foreign peer)."""


# ---- replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Welcome:
    """The answer to ``hello``: the chosen version and the daemon's identity and limits."""

    version: int
    versions: list[int]
    server: str
    instance: str
    limits: Limits
    heartbeat_ivl_ms: int
    heartbeat_timeout_ms: int
    id: str | None = None


@dataclass(frozen=True)
class Pong:
    """The answer to ``ping``; ``instance`` changes on every daemon start."""

    t: Any
    instance: str
    time_s: float
    id: str | None = None


@dataclass(frozen=True)
class StatusReply:
    """The answer to ``status``: every header field but the envelope (``v``, ``type``, ``id``)."""

    fields: dict[str, Any]
    id: str | None = None

    @property
    def instance(self) -> str | None:
        value = self.fields.get("instance")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class VoiceDescription:
    """One voice the daemon has loaded."""

    name: str
    sample_rate: int
    num_speakers: int
    speakers: dict[str, int]
    language: str


@dataclass(frozen=True)
class VoicesReply:
    voices: list[VoiceDescription]
    id: str | None = None


# ---- a speak stream --------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The first message of a stream: what the following ``audio`` and ``frames`` hold."""

    id: str
    seq: int
    voice: str | None  # None on a listen stream (LiveStart)
    sample_rate: int
    fps: int
    audio_format: str
    curve_format: str
    groups: list[tuple[str, tuple[str, ...]]]  # (group name, its channel names), in column order
    num_channels: int

    def columns(self) -> dict[str, slice]:
        """Each group's column range in a ``frames`` matrix."""
        spans, first = {}, 0
        for name, channels in self.groups:
            spans[name] = slice(first, first + len(channels))
            first += len(channels)
        return spans


@dataclass(frozen=True)
class LiveStart(Start):
    """The first message of a ``listen`` stream (docs/protocol.md section 5a); ``voice`` is None.

    ``max_delay_s`` / ``max_delay_samples``: a frame is released at the latest by the push after which
    this much audio beyond the frame's own moment has been pushed.
    """

    model: str = ""
    max_delay_s: float = 0.0
    max_delay_samples: int = 0


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit PCM samples ``[sample_offset, sample_offset + len(pcm))`` of the line."""

    id: str
    seq: int
    sample_offset: int
    pcm: np.ndarray  # int16

    @property
    def num_samples(self) -> int:
        return int(self.pcm.shape[0])


@dataclass(frozen=True)
class Frames:
    """Animation frames ``start_frame...`` as one float32 matrix (rows: frames, columns: channels of ``Start.groups``)."""

    id: str
    seq: int
    start_frame: int
    sample_offset: int
    values: np.ndarray  # float32, shape (num_frames, num_channels)
    columns: dict[str, slice] = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    def group(self, name: str) -> np.ndarray:
        """The columns of one group (``visemes``, ``blendshapes``, ``head`` or ``eyes``)."""
        if name not in self.columns:
            raise KeyError(f"group {name!r} is not in this stream; it has {', '.join(self.columns) or 'none'}")
        return self.values[:, self.columns[name]]


@dataclass(frozen=True)
class LiveFrames(Frames):
    """The one reply to a ``push``: the frames it released (``num_frames`` may be 0).

    ``samples_in`` is the number of samples pushed so far, this push included. Frame ``start_frame + i``
    shows the face at input sample ``(start_frame + i) * sample_rate / fps``.
    """

    samples_in: int = 0


@dataclass(frozen=True)
class PhonemeEvent:
    i: int
    symbol: str
    start: int
    end: int
    word: int | None
    stress: int
    sentence: int


@dataclass(frozen=True)
class WordEvent:
    i: int
    text: str
    start: int
    end: int
    stressed: bool
    sentence: int


@dataclass(frozen=True)
class VisemeMark:
    viseme: str
    start: int
    end: int
    phoneme: int


@dataclass(frozen=True)
class Events:
    """Phonemes, words and visemes that start in the chunk just sent (times in samples)."""

    id: str
    seq: int
    phonemes: list[PhonemeEvent]
    words: list[WordEvent]
    visemes: list[VisemeMark]


@dataclass(frozen=True)
class End:
    """The terminal message of a stream: ``status`` is ``"ok"`` or ``"cancelled"``."""

    id: str
    seq: int
    status: str
    stats: dict[str, Any]


@dataclass(frozen=True)
class ErrorMessage:
    """An ``error`` message; ``to_exception()`` gives the RequestError the client raises.

    ``about`` names a running request that a refused message referred to (a second request with its id, a
    push to it after its end was decided); such an error has ``id`` None and does not end that request.
    """

    id: str | None
    code: str
    message: str
    retryable: bool
    field: str | None = None
    versions: list[int] | None = None
    about: str | None = None

    def to_exception(self) -> RequestError:
        return RequestError(self.code, self.message, self.retryable, self.field, self.versions)


@dataclass(frozen=True)
class UnknownMessage:
    """A message type this client does not know (a newer daemon); clients ignore it."""

    id: str | None
    type: str
    header: dict[str, Any]


StreamMessage = Union[Start, Audio, Frames, Events, End]
#: What a live stream yields: LiveFrames (one per push), Events (visemes that closed), then End.
LiveMessage = Union[LiveFrames, Events, End]
Message = Union[Welcome, Pong, StatusReply, VoicesReply, Start, Audio, Frames, Events, End, ErrorMessage,
                UnknownMessage]
STREAM_TYPES = (Start, Audio, Frames, Events, End)

# ---- decoding --------------------------------------------------------------------------------

_ENVELOPE = ("v", "type", "id")


def _get(header: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = header.get(name)
    if isinstance(value, bool) and kind is not bool:
        value = None  # a bool is never a number here
    if not isinstance(value, kind):
        raise DaemonProtocolError(f"{header.get('type')!r} message: field {name!r} is missing or mistyped "
                                  f"({type(value).__name__})")
    return value


def _payload(frames: list[bytes], kind: str, size: int) -> bytes:
    if len(frames) != 2:
        raise DaemonProtocolError(f"{kind!r} message needs exactly one payload frame, got {len(frames) - 1}")
    payload = frames[1]
    if len(payload) != size:
        raise DaemonProtocolError(f"{kind!r} payload has {len(payload)} bytes, its header announces {size}")
    return bytes(payload)


def _events(header: dict[str, Any]) -> tuple[list[PhonemeEvent], list[WordEvent], list[VisemeMark]]:
    try:
        phonemes = [PhonemeEvent(int(p["i"]), str(p["symbol"]), int(p["start"]), int(p["end"]),
                                 None if p.get("word") is None else int(p["word"]), int(p.get("stress", 0)),
                                 int(p.get("sentence", 0))) for p in header.get("phonemes", [])]
        words = [WordEvent(int(w["i"]), str(w["text"]), int(w["start"]), int(w["end"]), bool(w.get("stressed")),
                           int(w.get("sentence", 0))) for w in header.get("words", [])]
        visemes = [VisemeMark(str(v["viseme"]), int(v["start"]), int(v["end"]), int(v["phoneme"]))
                   for v in header.get("visemes", [])]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DaemonProtocolError(f"malformed 'events' message ({type(error).__name__}: {error})") from None
    return phonemes, words, visemes


def _voice(entry: Any) -> VoiceDescription:
    if not isinstance(entry, dict):
        raise DaemonProtocolError("'voices' entries must be maps")
    return VoiceDescription(
        name=_get(entry, "name", str), sample_rate=_get(entry, "sample_rate", int),
        num_speakers=int(entry.get("num_speakers", 1)), speakers=dict(entry.get("speakers") or {}),
        language=str(entry.get("language", "")),
    )


def decode_message(frames: list[bytes], starts: Mapping[str, Start] | None = None) -> Message:
    """One daemon message (``[header, payload...]``) as a typed dataclass.

    ``starts`` maps request ids to their stream's ``start`` message: it gives a ``frames`` message its
    curve format (f32 when unknown) and the group columns that ``Frames.group`` uses.
    Raises DaemonProtocolError when the message breaks the protocol.
    """
    if not frames:
        raise DaemonProtocolError("empty message")
    try:
        header = unpack_header(bytes(frames[0]))
    except ProtocolError as error:
        raise DaemonProtocolError(f"undecodable header: {error.message}") from None
    kind = header.get("type")
    request_id = header.get("id") if isinstance(header.get("id"), str) else None
    seq = header.get("seq") if isinstance(header.get("seq"), int) else -1
    if kind == "audio":
        count = _get(header, "num_samples", int)
        pcm = np.frombuffer(_payload(frames, kind, 2 * count), dtype="<i2").astype(np.int16, copy=False)
        return Audio(_get(header, "id", str), seq, _get(header, "sample_offset", int), pcm)
    if kind == "frames":
        rows, cols = _get(header, "num_frames", int), _get(header, "num_channels", int)
        if rows < 0 or cols < 0:
            raise DaemonProtocolError(f"'frames' message announces a {rows} x {cols} matrix")
        start = (starts or {}).get(request_id or "")
        dtype = CURVE_FORMATS.get(start.curve_format if start else "f32", CURVE_FORMATS["f32"])
        raw = _payload(frames, kind, rows * cols * dtype.itemsize)
        values = np.frombuffer(raw, dtype=dtype).reshape(rows, cols).astype(np.float32)
        common = (_get(header, "id", str), seq, _get(header, "start_frame", int), _get(header, "sample_offset", int),
                  values, start.columns() if start else {})
        if "samples_in" in header:  # the reply to a push
            return LiveFrames(*common, samples_in=_get(header, "samples_in", int))
        return Frames(*common)
    if len(frames) != 1:
        raise DaemonProtocolError(f"{kind!r} message carries {len(frames) - 1} unexpected payload frame(s)")
    if kind == "start":
        groups = header.get("groups")
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise DaemonProtocolError("'start' message: groups must be a list of maps")
        parsed = [(str(g.get("name")), tuple(str(c) for c in g.get("channels") or ())) for g in groups]
        if "max_delay_s" in header:  # a listen stream: no voice, a stated delay
            voice = header.get("voice")
            if voice is not None and not isinstance(voice, str):
                raise DaemonProtocolError("'start' message: voice must be a string or nil")
            return LiveStart(_get(header, "id", str), seq, voice, _get(header, "sample_rate", int),
                             _get(header, "fps", int), str(header.get("audio_format", "pcm16le")),
                             str(header.get("curve_format", "f32")), parsed,
                             int(header.get("num_channels", sum(len(c) for _, c in parsed))),
                             str(header.get("model", "")), float(_get(header, "max_delay_s", (int, float))),
                             int(header.get("max_delay_samples", 0)))
        return Start(_get(header, "id", str), seq, _get(header, "voice", str), _get(header, "sample_rate", int),
                     _get(header, "fps", int), str(header.get("audio_format", "pcm16le")),
                     str(header.get("curve_format", "f32")), parsed,
                     int(header.get("num_channels", sum(len(c) for _, c in parsed))))
    if kind == "events":
        return Events(_get(header, "id", str), seq, *_events(header))
    if kind == "end":
        return End(_get(header, "id", str), seq, _get(header, "status", str), dict(header.get("stats") or {}))
    if kind == "error":
        versions, about = header.get("versions"), header.get("about")
        return ErrorMessage(request_id, str(header.get("code", "internal")), str(header.get("message", "")),
                            bool(header.get("retryable", False)),
                            header["field"] if isinstance(header.get("field"), str) else None,
                            list(versions) if isinstance(versions, list) else None,
                            about if isinstance(about, str) else None)
    if kind == "pong":
        time_s = header.get("time_s")
        return Pong(header.get("t"), _get(header, "instance", str),
                    float(time_s) if isinstance(time_s, (int, float)) else 0.0, request_id)
    if kind == "welcome":
        limits = header.get("limits")
        return Welcome(_get(header, "version", int), list(header.get("versions") or []), str(header.get("server", "")),
                       _get(header, "instance", str), Limits.from_dict(limits if isinstance(limits, dict) else {}),
                       int(header.get("heartbeat_ivl_ms", 0)), int(header.get("heartbeat_timeout_ms", 0)), request_id)
    if kind == "status":
        return StatusReply({k: v for k, v in header.items() if k not in _ENVELOPE}, request_id)
    if kind == "voices":
        voices = header.get("voices")
        if not isinstance(voices, list):
            raise DaemonProtocolError("'voices' message: voices must be a list")
        return VoicesReply([_voice(v) for v in voices], request_id)
    return UnknownMessage(request_id, str(kind), header)
