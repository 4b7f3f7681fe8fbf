"""The daemon's side of ZeroMQ: where an endpoint can be reached from, reading a message within its
limits, and noticing that a client's connection closed.

ZeroMQ hides connections from a ROUTER socket: a client that goes away is only noticed when the
daemon next sends to it, and an idle ``listen`` stream sends nothing. The socket monitor reports
each connection's file descriptor as it opens and closes, and every received message carries the
descriptor it came on (``ZMQ_SRCFD``), which together say which clients a closed connection held.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

import zmq

#: Transports whose endpoints only processes of this machine can reach.
LOCAL_TRANSPORTS = frozenset({"ipc", "inproc"})
_EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED


def transport_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def tcp_host(url: str) -> str:
    """The host part of a ``tcp://host:port`` endpoint, without IPv6 brackets."""
    host = url.split("://", 1)[1].rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(url: str) -> bool:
    """True for endpoints only this machine can reach: ipc, inproc, and TCP on a loopback address.

    Every other transport (tipc, pgm, epgm, norm, udp, vmci, ws, ...) and TCP on any other address,
    a wildcard or an interface name can leave the machine.
    """
    transport = transport_of(url)
    if transport in LOCAL_TRANSPORTS:
        return True
    if transport != "tcp":
        return False
    host = tcp_host(url)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # an interface name or "*": may be reachable from the network
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def needs_ipv6(url: str) -> bool:
    """A TCP endpoint on an IPv6 address: ZeroMQ binds it only with the socket's IPv6 option on."""
    return transport_of(url) == "tcp" and ":" in tcp_host(url)


@dataclass
class Incoming:
    """One client message as read from the ROUTER; frames past ``keep`` were counted and dropped, not kept."""

    identity: bytes
    fd: int
    body: list[bytes]
    frames: int  # frames after the identity, all of them
    size: int  # their bytes, all of them


def receive(socket: zmq.Socket, keep: int) -> Incoming | None:
    """The next message, or None; at most ``keep`` frames after the identity are copied out.

    ZeroMQ hands over a multipart message only once all of it has arrived, and ``MAXMSGSIZE`` bounds
    each frame, not the message: reading frame by frame and dropping what is past the limits keeps
    the daemon's own memory to ``keep`` frames however many a client sends.
    """
    try:
        first = socket.recv(zmq.NOBLOCK, copy=False)
    except zmq.Again:
        return None
    message = Incoming(first.bytes, first.get(zmq.SRCFD), [], 0, 0)
    more = first.more
    while more:
        frame = socket.recv(copy=False)  # the rest of a message is always there with its first frame
        message.frames += 1
        message.size += len(frame.buffer)
        if message.frames <= keep:
            message.body.append(frame.bytes)
        more = frame.more
    return message


@dataclass
class PeerTracker:
    """Which connection each client identity came on, so that the clients of a closed one can be let go.

    Fed by the ROUTER's monitor socket (connection opened or closed, by file descriptor) and by every
    message received. The descriptor of a closed connection is reused by the next one, so the
    events are always read before a new identity is placed: its connection's "opened" event comes
    before its first message.
    """

    monitor: zmq.Socket
    open_fds: set[int] = field(default_factory=set)
    closed_fds: set[int] = field(default_factory=set)
    fd_of: dict[bytes, int] = field(default_factory=dict)
    peers: dict[int, set[bytes]] = field(default_factory=dict)

    @classmethod
    def watch(cls, socket: zmq.Socket, context: zmq.Context, address: str) -> PeerTracker:
        """Monitor ``socket`` (call before it binds, so that no connection is missed)."""
        socket.monitor(address, _EVENTS)
        monitor = context.socket(zmq.PAIR)
        monitor.setsockopt(zmq.RCVHWM, 0)  # an event dropped would be a client never let go
        monitor.setsockopt(zmq.LINGER, 0)
        monitor.connect(address)
        return cls(monitor)

    def closed(self) -> list[bytes]:
        """Read the pending events; the identities whose connection closed since the last call."""
        gone: list[bytes] = []
        while True:
            try:
                frames = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return gone
            event, fd = struct.unpack("=hi", frames[0][:6])
            # Either event ends what the descriptor held before: an "opened" one means a "closed" was missed.
            gone.extend(self._release(fd))
            if event == zmq.EVENT_ACCEPTED:
                self.open_fds.add(fd)
                self.closed_fds.discard(fd)
            else:
                self.open_fds.discard(fd)
                self.closed_fds.add(fd)

    def note(self, identity: bytes, fd: int) -> list[bytes]:
        """Record the connection a message came on; returns the identities found gone meanwhile (see ``closed``).

        Let them go before handling the message: a client that reconnects with the same identity is a
        new client (the daemon keeps no state across reconnects).
        """
        if fd < 0 or self.fd_of.get(identity) == fd:
            return []
        gone = self.closed()
        if fd not in self.closed_fds:  # a closed one: its client is gone, and the first send to it says so
            previous = self.fd_of.get(identity)
            if previous is not None:
                self.peers[previous].discard(identity)
            self.fd_of[identity] = fd
            self.peers.setdefault(fd, set()).add(identity)
        return gone

    @property
    def connections(self) -> int:
        return len(self.open_fds)

    def close(self) -> None:
        self.monitor.close(0)

    def _release(self, fd: int) -> list[bytes]:
        identities = self.peers.pop(fd, set())
        for identity in identities:
            self.fd_of.pop(identity, None)
        return list(identities)
