"""A second core for lip sync: pieces of one file decoded in a helper process while this one decodes the rest.

pocketsphinx's Python binding holds the GIL while it decodes, so threads cannot share the work; a process can.
The helper is one persistent child (``python -c ...serve()``, plain pipes, no multiprocessing: nothing re-runs
the caller's ``__main__``), started on the first call that has at least two pieces and reused by every later
one (a batch pays its start-up, ~0.5 s that this process spends decoding its own share, once). Requests and
replies are pickles of whole lists (one write each way, so neither side can block the other on a full pipe).

Three tasks (``TASKS``): recognition's pieces (``decode_shared``), the later pieces of a long file aligned at
its pauses (``run_shared``, align.align_chain), and whole takes of a batch (``share_stream``, batch.animate_many).
The helper never starts a helper of its own (it runs with AVATARLAB_LIPSYNC_WORKERS=0). Every piece is decoded on
a primed decoder (speech.prime), so a piece gives the same result in either process: sharing never changes the
output. Anything wrong with the helper
(it died, it raised, it hung) makes this process decode its share itself. ``AVATARLAB_LIPSYNC_WORKERS=0`` turns
sharing off; it is off on one CPU.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import selectors
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from importlib import import_module
from typing import Any, TypeVar

import numpy as np

Piece = tuple[np.ndarray, float]  # 16 kHz audio, its offset in the whole file (s)
Decode = Callable[[Sequence[Piece], bool], list]
T = TypeVar("T")
#: What the helper can run: task name -> (module, function). Requests name a task, never code.
TASKS = {"recognize": ("avatarlab.lipsync.recognize", "decode_pieces"),
         "align": ("avatarlab.lipsync.align", "align_chain"),
         "animate": ("avatarlab.lipsync.batch", "animate_take")}
_lock = threading.Lock()  # one request at a time; a caller that finds it busy decodes everything itself
_helper: subprocess.Popen | None = None
_owner = 0  # the process that started _helper (a forked child must not talk to its parent's helper)
#: How long to wait for the helper's results beyond this process's own share: a helper that hangs is
#: stopped and its pieces decoded here (decoding runs far faster than real time, so this is generous).
REPLY_TIMEOUT_S = 30.0
REPLY_TIMEOUT_PER_AUDIO_S = 2.0


def enabled() -> bool:
    """Sharing is on with two or more usable CPUs unless AVATARLAB_LIPSYNC_WORKERS is 0."""
    if os.environ.get("AVATARLAB_LIPSYNC_WORKERS", "").strip() == "0":
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2


def helper_share(pieces: Sequence[Piece]) -> int:
    """How many of the last pieces go to the helper: the split nearest half the audio (at least one each)."""
    lengths = np.cumsum([len(audio) for audio, _ in pieces])
    keep = 1 + int(np.argmin(np.abs(2 * lengths[:-1] - lengths[-1])))  # pieces this process decodes
    return len(pieces) - keep


def decode_shared(pieces: Sequence[Piece], words: bool, decode: Decode) -> list:
    """``decode(pieces, words)``, with the last pieces (about half the audio) decoded in the helper process."""
    if len(pieces) < 2 or not enabled():
        return decode(pieces, words)
    share = helper_share(pieces)
    mine, theirs = list(pieces[:len(pieces) - share]), list(pieces[len(pieces) - share:])
    seconds = sum(len(audio) for audio, _ in theirs) / 16000
    parts, replies = run_shared("recognize", (theirs, words), lambda: decode(mine, words), seconds)
    return parts + (replies if replies is not None else decode(theirs, words))


def run_shared(task: str, args: tuple, local: Callable[[], T], audio_s: float) -> tuple[T, Any | None]:
    """``local()`` here while the helper runs ``TASKS[task](*args)`` on ``audio_s`` seconds of audio.

    Returns local's result and the helper's; the helper's is None when sharing is off (one CPU, the environment
    variable), another call holds the helper, or it failed (then it is stopped): the caller decodes that share
    itself. A ``local()`` that raises stops the helper too, so no stale reply waits in its pipe.
    """
    if not enabled() or not _lock.acquire(blocking=False):
        return local(), None
    try:
        sent = _send(task, args)
        try:
            mine = local()
        except BaseException:
            if sent:
                _stop()
            raise
        reply = _receive(REPLY_TIMEOUT_S + REPLY_TIMEOUT_PER_AUDIO_S * audio_s) if sent else None
        return mine, reply
    finally:
        _lock.release()


def share_stream(task: str, jobs: Sequence[tuple], local: Callable[..., T], timeout_s: float) -> Iterator[T]:
    """``local(*job)`` for every job, yielded in order, while the helper runs jobs too (``TASKS[task](*job)``).

    Each process takes the next job as soon as it is free, so jobs of different lengths keep both cores busy:
    the helper holds up to two (the next one queued behind the one it runs), and a thread here reads its
    replies as they come, so it never waits on a full pipe. Results wait (a few at most) until every earlier
    one is yielded. A job the helper failed on (it died, raised, or took over ``timeout_s`` while this process
    had nothing else to do) is run here instead, and the helper gets no more. With sharing off or the helper
    held by another call, every job is run here.
    """
    if not enabled() or not _lock.acquire(blocking=False):
        for job in jobs:
            yield local(*job)
        return
    done: dict[int, T] = {}
    sent: queue.Queue[int | None] = queue.Queue()  # job numbers sent to the helper, for the reader
    replies: queue.Queue[tuple[int, Any]] = queue.Queue()
    reader: threading.Thread | None = None
    reading: subprocess.Popen | None = None  # the helper the reader reads
    handed = yielded = 0  # jobs given out (here or to the helper), jobs yielded
    away: set[int] = set()  # jobs the helper holds
    helper_ok = True
    try:
        while yielded < len(jobs):
            left = len(jobs) - handed
            if helper_ok and (len(away) == 0 and left >= 2 or len(away) == 1 and left >= 3):
                if reader is not None and (_helper is not reading or _helper.poll() is not None):
                    helper_ok = False  # it died (the reader reports its jobs as failed): no new one mid-stream
                elif _send(task, jobs[handed]):
                    if reader is None:
                        reading = _helper
                        reader = threading.Thread(target=_read_replies, args=(reading, sent, replies), daemon=True)
                        reader.start()
                    sent.put(handed)
                    away.add(handed)
                    handed += 1
                else:
                    helper_ok = False
            if yielded in done:
                yielded += 1
                yield done.pop(yielded - 1)
            elif away and (handed == len(jobs) or not replies.empty()):
                try:
                    number, reply = replies.get(timeout=timeout_s)
                except queue.Empty:
                    _kill()  # hung: the reader sees the pipe close and reports the jobs it held as failed
                    helper_ok = False
                    continue
                away.discard(number)
                helper_ok = helper_ok and reply is not None
                done[number] = reply if reply is not None else local(*jobs[number])
            else:
                done[handed], handed = local(*jobs[handed]), handed + 1
    finally:
        if away:  # stopped early (an error here, Ctrl-C, the caller stopped iterating): no stale reply may remain
            _kill()
        if reader is not None:
            sent.put(None)
            reader.join()
        _lock.release()


def _read_replies(helper: subprocess.Popen, sent: queue.Queue, replies: queue.Queue) -> None:
    """share_stream's reader: one reply per job number sent (None for a failed one), until None is sent."""
    failed = False
    while (number := sent.get()) is not None:
        value = None
        if not failed:
            try:
                assert helper.stdout is not None
                status, value = pickle.load(helper.stdout)
                value = value if status == "ok" else None
            except Exception:  # noqa: BLE001 - closed, died, or a reply that cannot be read: every later one fails
                failed = True
        replies.put((number, value))


def _send(task: str, args: tuple) -> bool:
    """Hand a task to the helper (started if needed); False when it cannot take it."""
    global _helper, _owner
    if _owner != os.getpid():
        _helper = None  # inherited through fork: the parent's helper, not ours
    try:
        if _helper is None or _helper.poll() is not None:
            _helper, _owner = _start(), os.getpid()
        assert _helper.stdin is not None
        pickle.dump((task, args), _helper.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        _helper.stdin.flush()
        return True
    except (OSError, ValueError):
        _stop()
        return False


def _receive(timeout_s: float) -> list | None:
    """The helper's results; None (and the helper stopped) when it died, raised or took over ``timeout_s``."""
    try:
        assert _helper is not None and _helper.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(_helper.stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s):
                raise TimeoutError(f"no reply from the lip sync helper in {timeout_s:.0f} s")
        status, value = pickle.load(_helper.stdout)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AssertionError):
        _stop()
        return None
    if status != "ok":
        _stop()
        return None
    return value


def _start() -> subprocess.Popen:
    sdk = str(Path(__file__).resolve().parents[2])  # the folder holding this avatarlab package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [sdk, os.environ.get("PYTHONPATH")])),
               AVATARLAB_LIPSYNC_WORKERS="0")  # a take animated there decodes all its pieces there
    helper = subprocess.Popen([sys.executable, "-c", "from avatarlab.lipsync.workers import serve; serve()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    return helper


def _stop() -> None:
    """End the helper (closing its input ends its loop)."""
    global _helper
    helper, _helper = _helper, None
    if helper is None or _owner != os.getpid():
        return
    for stream in (helper.stdin, helper.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        helper.wait(timeout=5)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()


def _kill() -> None:
    """End the helper now, without waiting for the job it runs (then ``_stop``: a reader blocked on its output
    sees the pipe close)."""
    if _helper is not None and _owner == os.getpid():
        try:
            _helper.kill()
        except OSError:
            pass
    _stop()


atexit.register(_stop)  # once: _stop ends whichever helper runs at exit


def helper_pid() -> int | None:
    """The helper's process id while it runs (tests)."""
    return _helper.pid if _helper is not None and _helper.poll() is None else None


def serve() -> None:
    """The helper's loop: run each request's task (``TASKS``) and write its result, until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            task, args = pickle.load(stdin)
        except EOFError:
            return
        reply: tuple[str, Any]
        try:
            module, name = TASKS[task]
            reply = ("ok", getattr(import_module(module), name)(*args))
        except Exception as error:  # noqa: BLE001 - reported to the caller, which decodes the pieces itself
            reply = ("error", repr(error))
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()
