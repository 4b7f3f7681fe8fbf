"""The WebSocket binding of docs/protocol.md: one ZeroMQ multipart message = one binary WebSocket frame.

A WebSocket frame is a MessagePack **array** ``[header, payload...]``: the header map exactly as on
ZeroMQ, then each payload frame as MessagePack ``bin``. Daemon-to-client frames are built without
re-encoding the header (its bytes already are a MessagePack map), so the relay is byte-faithful.
Clients send ``[header]``, or ``[header, payload]`` for ``push`` (live audio, relayed unchanged).
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

VERSION = 1
#: errors the bridge itself sends (everything else comes from the daemon unchanged)
BRIDGE_ERRORS = {
    "daemon_unavailable": True,   # the daemon does not answer; retry when /health says it is up
    "daemon_restarted": True,     # the daemon restarted: requests in flight are gone; send them again
    "bad_message": False,         # the WebSocket frame is not a MessagePack array starting with a map
    "busy": True,                 # the bridge's own queue towards the daemon is full
}


#: client message types that carry exactly one payload frame; every other type carries none
PAYLOAD_TYPES = frozenset({"push"})


class FramingError(ValueError):
    """A WebSocket frame that does not follow the binding."""


def _array_prefix(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    return b"\xdc" + struct.pack(">H", count)


def _bin_prefix(length: int) -> bytes:
    if length < 256:
        return b"\xc4" + bytes([length])
    if length < 65536:
        return b"\xc5" + struct.pack(">H", length)
    return b"\xc6" + struct.pack(">I", length)


def to_websocket(frames: list[bytes]) -> bytes:
    """ZeroMQ frames ``[header, payload...]`` (header already MessagePack) -> one WebSocket message."""
    parts = [_array_prefix(len(frames)), bytes(frames[0])]
    for payload in frames[1:]:
        parts.append(_bin_prefix(len(payload)))
        parts.append(bytes(payload))
    return b"".join(parts)


def from_websocket(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """One WebSocket message -> (header map, payload frames). Raises FramingError on anything else."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as error:  # msgpack raises many types for garbage
        raise FramingError(f"the frame is not valid MessagePack ({type(error).__name__})") from None
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        raise FramingError("a WebSocket frame must be a MessagePack array [header map, payload...]")
    payloads = value[1:]
    if not all(isinstance(p, (bytes, bytearray)) for p in payloads):
        raise FramingError("payloads after the header must be MessagePack bin")
    return value[0], [bytes(p) for p in payloads]


def payload_error(header: dict[str, Any], payloads: list[bytes]) -> str | None:
    """Why this client message has the wrong number of payloads for its type, or None when it is right."""
    kind = header.get("type")
    if kind in PAYLOAD_TYPES:
        if len(payloads) != 1:
            return f"{kind} takes one payload frame (the audio, MessagePack bin); got {len(payloads)}"
    elif payloads:
        return f"{kind if isinstance(kind, str) else 'this message'} takes no payload; got {len(payloads)}"
    return None


def to_zmq(header: dict[str, Any], payloads: list[bytes]) -> list[bytes]:
    return [msgpack.packb(header, use_bin_type=True), *payloads]


def error_frame(request_id: Any, code: str, message: str, **extra: Any) -> bytes:
    """A bridge-made ``error``, framed for the WebSocket."""
    header = {"v": VERSION, "type": "error", "id": request_id if isinstance(request_id, str) else None,
              "code": code, "message": message, "retryable": BRIDGE_ERRORS.get(code, False), "source": "bridge",
              **extra}
    return to_websocket([msgpack.packb(header, use_bin_type=True)])
