"""CURVE key files (ZeroMQ certificates): made private, and checked before the daemon or a client uses them.

A secret key that other users can read is as good as published, so it is refused the way ssh refuses
a private key with open permissions; an allow-list with one unreadable file would silently let no
client in, so every file in it is checked and a bad one is named.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import zmq
import zmq.auth
import zmq.utils.z85

from ..errors import AvatarLabError
from ..output import OutputError, checked_name

#: Bits of a secret key file's mode that must be clear: nobody but its owner may read or change it.
_OPEN_BITS = 0o077
_CHECK_MODES = os.name == "posix"  # Windows has no owner/group/other mode bits to check


class KeyFileError(AvatarLabError):
    """A key file or allow-list folder that cannot be used (missing, malformed, or readable by others)."""


def create_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` (public, 0644) and ``NAME.key_secret`` (0600); a new folder is made 0700.

    The secret is never readable by others, not even while it is written: an existing file is made
    private first, and new files are created under a private umask.
    """
    checked_name(name)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = folder / f"{name}.key_secret"
        if secret.exists():
            secret.chmod(0o600)
        previous = os.umask(0o077)
        try:
            public_file, secret_file = zmq.auth.create_certificates(str(folder), name)
        finally:
            os.umask(previous)
        Path(public_file).chmod(0o644)
        Path(secret_file).chmod(0o600)
    except OSError as error:
        raise OutputError(f"cannot write keys in {folder}: {error.strerror or error}") from None
    return Path(public_file), Path(secret_file)


def check_private(path: Path) -> None:
    """Refuse a secret key file that users other than its owner can read or change."""
    if not _CHECK_MODES:
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _OPEN_BITS:
        raise KeyFileError(f"{path} holds a secret key but other users can read it (mode {mode:04o}): "
                           f"make it private with `chmod 600 {path}` (and make a new key pair if others may "
                           "have copied it)")


def load_secret_key(path: Path) -> tuple[bytes, bytes]:
    """The (public, secret) keys of a ``.key_secret`` file, checked to be private and well formed."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"{path} does not exist; make keys with `avatarlab keys --out DIR`")
    check_private(path)
    public, secret = _load(path)
    if secret is None:
        raise KeyFileError(f"{path} holds no secret key; pass the .key_secret file")
    _check_z85(path, secret, "secret")
    return public, secret


def load_public_key(path: Path) -> bytes:
    """The public key of a ``.key`` file, checked to be a well-formed CURVE key."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"{path} does not exist; make keys with `avatarlab keys --out DIR`")
    return _load(path)[0]


def check_allow_list(folder: Path) -> int:
    """Check every ``*.key`` file of an allow-list folder (the ones ``zmq.auth`` loads); return how many.

    ``zmq.auth`` loads no key at all when one file is bad, and only logs it, so the daemon would run
    and refuse everyone: this names the bad file instead.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KeyFileError(f"--allow-keys {folder} is not a folder; give the folder of the clients' .key files")
    files = sorted(folder.glob("*.key"))
    if not files:
        raise KeyFileError(f"--allow-keys {folder} holds no .key file, so no client could connect; copy each "
                           "client's public .key (from `avatarlab keys`) into it")
    for path in files:
        load_public_key(path)
    return len(files)


def _load(path: Path) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path} is not a ZeroMQ certificate ({error}); make keys with `avatarlab keys`") from None
    _check_z85(path, public, "public")
    return public, secret


def _check_z85(path: Path, key: bytes, kind: str) -> None:
    """A CURVE key is 32 bytes, 40 characters in Z85; anything else would fail later, less clearly."""
    try:
        ok = len(zmq.utils.z85.decode(key)) == 32
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise KeyFileError(f"{path}: its {kind}-key is not a 40-character Z85 CURVE key; make keys with "
                           "`avatarlab keys`")
