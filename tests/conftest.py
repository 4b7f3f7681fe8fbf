"""Shared fixtures: one engine with the real default voice for the whole session."""

from __future__ import annotations

import pytest

from avatarlab.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    engine = Engine()
    engine.warm_up()
    return engine
