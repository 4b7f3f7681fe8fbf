"""Shared fixtures: one engine with the real default voice for the whole session."""

from __future__ import annotations

import os
import tempfile

import pytest

from avatarlab.engine import Engine

# bridges the tests start keep their jobs (docs/jobs.md) here, never in the user's ~/.local/share
os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="avatarlab-test-data-"))


@pytest.fixture(scope="session")
def engine() -> Engine:
    engine = Engine()
    engine.warm_up()
    return engine
