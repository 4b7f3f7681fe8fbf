"""Tests that need an outside tool (Chromium, Mono, Blender, node packages) skip without it, except in CI.

`make test` installs the tools (Debian packages need root). A developer without root gets a clear
skip reason; CI (CI=true) never skips: a missing tool there is a broken install step and must fail.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def needs(missing: str | None) -> pytest.MarkDecorator:
    """Skip when `missing` names what is absent (None when all is there); in CI run anyway and fail."""
    return pytest.mark.skipif(missing is not None and not IN_CI, reason=f"{missing} (make test installs it as root)")
