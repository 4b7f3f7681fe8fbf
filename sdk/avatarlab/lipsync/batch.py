"""Many recordings animated in one process on two cores: the lip sync helper process (workers.share_stream) takes
the next take whenever it is free, this process the one after.

A single short line cannot share its work: recognition decodes a line of one piece on one core, and cutting it
at its short pauses costs accuracy (docs/lipsync.md, "Speed"). A batch can: while this process animates one
take, the helper animates the next, the whole way (decode, heard closures, face animation). Every decoder is
primed before each piece (speech.prime), so a take gives the same result in either process. A take that fails
fails alone, with the same message in either process; anything wrong with the helper itself (it died, hung,
or met a usage error) makes this process animate that take as well.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..engine import Utterance
from ..errors import AvatarLabError, InvalidOptionError
from ..options import SynthesisOptions
from . import workers
from .audio_input import MAX_AUDIO_SECONDS


@dataclass(frozen=True)
class Take:
    """One recording to animate and its transcript (None: its words are recognized)."""

    audio: Path
    transcript: str | None = None


@dataclass(frozen=True)
class HowToAnimate:
    """What every take of a batch shares: the animation options, the output rate, and the method."""

    options: SynthesisOptions
    sample_rate: int
    live: bool = False
    hear_closures: bool = True


@dataclass
class Animated:
    """A take's result: its Utterance and the warnings raised on the way, or why it failed."""

    utterance: Utterance | None
    notes: list[str]
    failure: str | None = None


def animate(take: Take, how: HowToAnimate) -> tuple[Utterance, list[str]]:
    """The take's Utterance and the warnings raised on the way (as text): aligned or recognized, or by the live
    network. The models are loaded on the first call and kept (decoder pool, cached network) for the next."""
    from .pipeline import lipsync

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if how.live:
            from ..live.offline import animate_recording
            from .audio_input import load_audio

            utterance = animate_recording(load_audio(take.audio, how.sample_rate), how.sample_rate, how.options)
        else:
            utterance = lipsync(take.audio, take.transcript, how.options, sample_rate=how.sample_rate,
                                hear_closures=how.hear_closures)
    return utterance, [str(warning.message) for warning in caught]


def animate_take(take: Take, how: HowToAnimate) -> Animated:
    """``animate``, with a failure of this take (a broken file, a transcript that cannot be aligned, a bug) as
    its result. A usage error (InvalidOptionError) is every take's and is raised."""
    try:
        utterance, notes = animate(take, how)
    except InvalidOptionError:
        raise
    except Exception as error:  # noqa: BLE001 - one broken file must not cost the rest of the batch
        return Animated(None, [], failure_text(error))
    return Animated(utterance, notes)


def failure_text(error: Exception) -> str:
    """How a failed take is reported: our errors say what to do; anything else also names its type."""
    return str(error) if isinstance(error, AvatarLabError) else f"{type(error).__name__}: {error}"


def animate_many(takes: Iterable[Take], how: HowToAnimate) -> Iterator[tuple[Take, Animated]]:
    """Each take with its result, in order; the helper process animates a take whenever it is free while this one
    animates the next (every take here when sharing is off: one CPU, AVATARLAB_LIPSYNC_WORKERS=0)."""
    pending = list(takes)
    # absolute paths: the helper keeps the working folder it started in
    jobs = [(Take(Path(take.audio).absolute(), take.transcript), how) for take in pending]
    timeout_s = workers.REPLY_TIMEOUT_S + workers.REPLY_TIMEOUT_PER_AUDIO_S * MAX_AUDIO_SECONDS
    yield from zip(pending, workers.share_stream("animate", jobs, animate_take, timeout_s))
