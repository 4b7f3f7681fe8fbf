"""A second core for lip sync: pieces of one file decoded in a helper process while this one decodes the rest.

pocketsphinx's Python binding holds the GIL while it decodes, so threads cannot share the work; a process can.
The helper is one persistent child (``python -c ...serve()``, plain pipes, no multiprocessing: nothing re-runs
the caller's ``__main__``), started on the first call that has at least two pieces and reused by every later
one (a batch pays its start-up, ~0.5 s that this process spends decoding its own share, once). Requests and
replies are pickles of whole lists (one write each way, so neither side can block the other on a full pipe).

Two tasks (``TASKS``): recognition's pieces (``decode_shared``) and the later pieces of a long file aligned at
its pauses (``run_shared``, align.align_chain). Every piece is decoded on a primed decoder (speech.prime), so a
piece gives the same result in either process: sharing never changes the output. Anything wrong with the helper
(it died, it raised, it hung) makes this process decode its share itself. ``AVATARLAB_LIPSYNC_WORKERS=0`` turns
sharing off; it is off on one CPU.
"""

from __future__ import annotations

import atexit
import os
import pickle
import selectors
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from importlib import import_module
from typing import Any, TypeVar

import numpy as np

Piece = tuple[np.ndarray, float]  # 16 kHz audio, its offset in the whole file (s)
Decode = Callable[[Sequence[Piece], bool], list]
T = TypeVar("T")
#: What the helper can run: task name -> (module, function). Requests name a task, never code.
TASKS = {"recognize": ("avatarlab.lipsync.recognize", "decode_pieces"),
         "align": ("avatarlab.lipsync.align", "align_chain")}
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [sdk, os.environ.get("PYTHONPATH")])))
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
