"""The asyncio client against the real daemon: the same behaviour as the synchronous one."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from avatarlab.daemon.aio import AsyncClient
from avatarlab.daemon.messages import (
    Audio, DaemonRestartedError, DaemonTimeoutError, End, RequestError, Start,
)
from avatarlab.engine import Engine
from daemon_process import free_port, running_daemon, spawn_daemon, wait_ready
from test_client import LONG_TEXT, TEXT, assert_same_utterance


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as process:
        yield process


def test_replies(daemon) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.url, timeout=60) as client:
            welcome = await client.hello()
            assert welcome.version == 1 and client.instance == welcome.instance
            assert await client.ping() > 0
            assert (await client.status())["instance"] == welcome.instance
            assert [v.name for v in await client.voices()] == ["en_US-joe-medium"]

    asyncio.run(main())


def test_collect_equals_offline_engine(daemon, engine: Engine) -> None:
    async def main():
        async with AsyncClient(daemon.url, timeout=60) as client:
            return await client.speak(TEXT, seed=9, emotion="happy", fps=50).collect()

    assert_same_utterance(asyncio.run(main()), engine.speak(TEXT, seed=9, emotion="happy", fps=50))


def test_concurrent_streams_in_tasks(daemon, engine: Engine) -> None:
    lines = [("One line here.", 1), ("Another line, a bit longer than the first.", 2), (TEXT, 3)]

    async def main():
        async with AsyncClient(daemon.url, timeout=60) as client:
            return await asyncio.gather(*(client.speak(text, seed=seed).collect() for text, seed in lines))

    for got, (text, seed) in zip(asyncio.run(main()), lines):
        assert_same_utterance(got, engine.speak(text, seed=seed))


def test_cancel_and_errors(daemon) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.url, timeout=60) as client:
            stream = client.speak(LONG_TEXT)
            kinds = [type(await stream.__anext__()) for _ in range(2)]
            assert kinds == [Start, Audio]
            end = await stream.cancel()
            assert isinstance(end, End) and end.status == "cancelled"
            assert [m async for m in stream] == []
            with pytest.raises(RequestError) as caught:
                async for _ in client.speak("Hi.", fps=10):
                    pass
            assert caught.value.code == "invalid_option"
            assert (await client.speak("Still fine.").collect()).duration_s > 0

    asyncio.run(main())


def test_no_daemon_times_out() -> None:
    async def main() -> None:
        async with AsyncClient(f"tcp://127.0.0.1:{free_port()}", timeout=0.5, heartbeat_s=0.1) as client:
            with pytest.raises(DaemonTimeoutError, match="avatarlab serve"):
                await client.ping()

    asyncio.run(main())


def test_daemon_restart_while_waiting(tmp_path: Path, engine: Engine) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    processes = [spawn_daemon(url=url, log_dir=tmp_path)]

    async def main():
        async with AsyncClient(url, timeout=60, heartbeat_s=0.2) as client:
            stream = client.speak(LONG_TEXT)
            assert isinstance(await stream.__anext__(), Start)
            processes[0].stop(signal.SIGKILL)
            processes.append(spawn_daemon(url=url, log_dir=tmp_path))
            with pytest.raises((DaemonRestartedError, DaemonTimeoutError)):
                async for _ in stream:
                    pass
            return await client.speak(TEXT, seed=3).collect()

    try:
        wait_ready(processes[0])
        assert_same_utterance(asyncio.run(main()), engine.speak(TEXT, seed=3))
    finally:
        for process in processes:
            if process.proc.poll() is None:
                process.stop(signal.SIGKILL)
