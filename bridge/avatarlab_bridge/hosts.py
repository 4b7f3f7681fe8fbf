"""The Host header check: a guard against DNS rebinding.

A page on ``evil.example`` can make its own name resolve to 127.0.0.1 and then read the bridge as
same-origin (``/status``, ``/voices``, the WebSocket). The browser still sends ``Host: evil.example``,
so the bridge answers only requests whose Host is a loopback name or one the operator configured.
Plain functions (no starlette): the CLI imports them cheaply; app.HostCheck applies them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD_BINDS = ("", "0.0.0.0", "::")  # listening everywhere names no host a client would use


def host_name(header: str) -> str | None:
    """The name in a Host header, lower case, without port or brackets; None when it is malformed.

    ``"LocalHost:8765"`` -> ``"localhost"``, ``"[::1]:8765"`` -> ``"::1"``, ``"a:b"`` -> None.
    """
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 literal, maybe with a port
        end = value.find("]")
        rest = value[end + 1:] if end > 0 else None
        if rest is None or not (rest == "" or (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return value[1:end]
    if value.count(":") > 1:  # a bare IPv6 literal (no port can follow it)
        return value
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.rstrip(".")  # "localhost." is the same name
    return name or None


def is_loopback(name: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: names that cannot lead a browser anywhere but this machine."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AllowedHosts:
    """Loopback names always; ``names`` besides (from ``--allow-host`` and ``--host``); ``"*"`` allows any."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow_hosts: Iterable[str], bind_host: str = "127.0.0.1") -> AllowedHosts:
        names = {"*" if h.strip() == "*" else host_name(h) for h in allow_hosts}
        if bind_host not in WILDCARD_BINDS:
            names.add(host_name(bind_host))
        return cls(frozenset(n for n in names if n))

    def problem(self, header: str | None) -> str | None:
        """Why a request with this Host header is refused, or None when it is allowed."""
        if header is None:
            return "the request has no Host header"
        name = host_name(header)
        if name is None:
            return f"malformed Host header {header!r}"
        if "*" in self.names or is_loopback(name) or name in self.names:
            return None
        return (f"Host {header!r} is not allowed: the bridge answers only loopback names (localhost, 127.0.0.1, "
                "[::1]), its --host address and the names given with --allow-host (a guard against DNS rebinding)")

