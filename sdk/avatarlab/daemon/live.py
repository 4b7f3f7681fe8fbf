"""The daemon's side of a ``listen`` stream: pushed audio queued by the I/O thread, animated by a worker.

Each push is answered by exactly one ``frames`` message (possibly with no frames), so a client can
match replies to pushes and nothing is dropped silently. The queue of unprocessed pushes is bounded
(``Limits.max_pending_pushes``); the session itself keeps bounded state however long it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidOptionError
from ..live.model import default_model
from ..live.session import LiveLipSync
from .protocol import Limits, ListenRequest, Outgoing, ProtocolError, StreamWriter, live_delay, parse_listen

LOG = logging.getLogger("avatarlab.daemon")
MODEL_NAME = "audio2face"


@dataclass(eq=False)
class LiveRequest:
    serial: int
    client: bytes
    listen: ListenRequest
    session: LiveLipSync
    writer: StreamWriter
    received: float
    inbox: deque = field(default_factory=deque)  # (audio, last, arrival time)
    closing: bool = False  # the last push has arrived
    samples_queued: int = 0
    pending: int = 0
    in_worker: bool = False
    finished: bool = False
    cancelled: bool = False
    started: float | None = None
    first_audio: float | None = None  # speak streams' field; a listen stream sends no audio
    compute_s: float = 0.0
    worst_push_ms: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def id(self) -> str:
        return self.listen.id

    def ready(self) -> bool:
        with self._lock:
            return bool(self.inbox)

    def deadline(self) -> float:
        """Due when its oldest push arrived: live audio goes before synthesis that is ahead of its listener."""
        with self._lock:
            return self.inbox[0][2] if self.inbox else float("inf")

    def queue(self, audio: np.ndarray, last: bool) -> None:
        with self._lock:
            self.inbox.append((audio, last, time.monotonic()))
        self.samples_queued += len(audio)
        self.closing = self.closing or last

    def queue_error(self, code: str, message: str, field_name: str | None = None) -> None:
        """End the stream with this error after the pushes before it are answered (one reply per push)."""
        with self._lock:
            self.inbox.append((None, (code, message, field_name), time.monotonic()))
        self.closing = True

    def start_message(self) -> Outgoing:
        return self.writer.live_start(self.listen, self.session.max_delay_s, MODEL_NAME)

    def step(self) -> tuple[list[Outgoing], bool]:
        """Animate every queued push (in a worker thread): one ``frames`` (+ ``events``) per push."""
        if self.started is None:
            self.started = time.monotonic()
        messages: list[Outgoing] = []
        while True:
            with self._lock:
                if not self.inbox:
                    return messages, False
                audio, last, arrived = self.inbox.popleft()
            if audio is None:  # a refused push: the stream's terminal error, after every earlier reply
                code, message, field_name = last
                return messages + [self.writer.error(code, message, field_name)], True
            try:
                update = self.session.push(audio, last=last)
            except InvalidOptionError as error:
                return messages + [self.writer.error("invalid_option", str(error), error.option)], True
            except Exception:
                LOG.exception("internal error in listen request %s", self.id)
                return messages + [self.writer.error("internal", "internal error; see the daemon log")], True
            self.worst_push_ms = max(self.worst_push_ms, (time.monotonic() - arrived) * 1000)
            messages.extend(self.writer.live_update(update, self.listen.sample_rate))
            if last:
                return messages, True

    def stats(self, now: float) -> dict[str, Any]:
        """What the replies sent so far hold (I/O thread): after a cancel, pushes still unanswered do not count."""
        rate, writer = self.listen.sample_rate, self.writer
        return {
            "audio_samples": writer.samples_answered,
            "audio_s": round(writer.samples_answered / rate, 4),
            "frames": writer.frames_replied,
            "pushes": writer.replies,
            "compute_ms": round(self.compute_s * 1000, 2),
            "worst_push_ms": round(self.worst_push_ms, 2),
            "max_delay_s": live_delay(self.session.max_delay_s, rate)["max_delay_s"],
        }


def open_live_request(header: dict[str, Any], limits: Limits, serial: int, client: bytes) -> LiveRequest:
    """Parse and validate a ``listen`` header and open its session (errors become ProtocolError)."""
    listen = parse_listen(header, limits)
    options = listen.options
    try:
        options.checked()
        session = LiveLipSync(listen.sample_rate, options.fps, options.seed, options.emotion,
                              options.emotion_intensity, model=default_model())
    except InvalidOptionError as error:
        raise ProtocolError("invalid_option", str(error), listen.id, field=error.option) from None
    except FileNotFoundError as error:
        raise ProtocolError("internal", f"the audio-to-face model is missing ({error}); reinstall avatarlab",
                            listen.id) from None
    return LiveRequest(serial, client, listen, session, StreamWriter(listen), time.monotonic())
