"""Output folders that really fail, even for root (the tests run as root, and root ignores chmod).

read_only_folder: a read-only tmpfs mount (needs CAP_SYS_ADMIN), else the immutable flag (chattr +i on ext4,
xfs...), else the test is skipped with the reason; a normal user gets chmod 0555.
full_folder: a 64 KiB tmpfs when one can be mounted, else an ordinary folder written under a 16 KiB file-size
limit (RLIMIT_FSIZE, which binds root too): every line we write is larger, so writing fails either way.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount_tmpfs(folder: Path, options: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], check=False, capture_output=True)


@contextmanager
def read_only_folder(parent: Path) -> Iterator[Path]:
    """An existing, empty folder that nobody can write into."""
    folder = parent / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if _mount_tmpfs(folder, "ro,size=64k"):
        try:
            yield folder
        finally:
            _unmount(folder)
        return
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        return
    pytest.skip("running as root without mount or chattr +i: no way to make a folder read-only for root")


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))  # Python ignores SIGXFSZ: writes get EFBIG


@contextmanager
def full_folder(parent: Path) -> Iterator[tuple[Path, Callable[[], None] | None]]:
    """A folder with no room for a line's files, and the preexec_fn the writing subprocess must run with."""
    folder = parent / "full"
    folder.mkdir()
    if _mount_tmpfs(folder, "size=64k"):
        try:
            yield folder, None
        finally:
            _unmount(folder)
        return
    yield folder, _limit_file_size
