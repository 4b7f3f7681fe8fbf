"""Tests that need an outside tool (Chromium, Mono, Blender, node packages) skip without it, except in CI.

`make test` installs the tools (Debian packages need root). A developer without root gets a clear
skip reason; CI (CI=true) never skips: a missing tool there is a broken install step and must fail.
"""

from __future__ import annotations

import functools
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def needs(missing: str | None) -> pytest.MarkDecorator:
    """Skip when `missing` names what is absent (None when all is there); in CI run anyway and fail."""
    return pytest.mark.skipif(missing is not None and not IN_CI, reason=f"{missing} (make test installs it as root)")


def browser_missing() -> str | None:
    """Why the browser tests cannot drive Chromium here (None when they can)."""
    from pathlib import Path
    import shutil

    package = Path(__file__).resolve().parents[1] / "threejs_client"
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(shutil.which("chromium") or "/usr/bin/chromium").exists():
        return "Debian chromium is not installed (make web-tools)"
    if not (package / "node_modules/playwright-core").is_dir() or not (package / "node_modules/three").is_dir():
        return "threejs_client/node_modules is missing (npm ci --prefix threejs_client)"
    return None


def command_missing(*commands: str, package: str) -> str | None:
    """'X is not installed (Debian package)' for the first command not on PATH."""
    import shutil

    absent = [command for command in commands if shutil.which(command) is None]
    return f"{', '.join(absent)} not installed (Debian {package})" if absent else None


@functools.cache
def egl_missing() -> str | None:
    """Why the offscreen renderer cannot draw here (None when it can): Mesa's EGL comes from make render-tools."""
    from avatarlab.render.context import create_context
    from avatarlab.render.errors import RenderError

    try:
        create_context("auto").release()
    except RenderError as error:
        return f"no OpenGL through EGL: {error}"
    return None
