"""Shared fixtures: one engine with the real default voice for the whole session."""

from __future__ import annotations

import pytest

from avatarlab.daemon.server import default_threads
from avatarlab.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The offline engine with the daemon's default thread count, so daemon audio is bit-identical to it."""
    engine = Engine(threads=default_threads(2))
    engine.warm_up()
    return engine
