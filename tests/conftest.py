"""Shared fixtures: one engine with the real default voice for the whole session."""

from __future__ import annotations

import os
import signal
import tempfile

import pytest

from avatarlab.engine import Engine

# bridges the tests start keep their jobs (docs/jobs.md) here, never in the user's ~/.local/share
os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="avatarlab-test-data-"))

# A run started in the background by a shell without job control (`make test &`, some CI runners) inherits SIGINT
# ignored, and so would every program the tests start: the Ctrl-C tests (demo, export, render) would then see it
# do nothing. A handler of our own is reset to the default at exec, so those programs get Ctrl-C as a terminal gives it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def engine() -> Engine:
    engine = Engine()
    engine.warm_up()
    return engine
