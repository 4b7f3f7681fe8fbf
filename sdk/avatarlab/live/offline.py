"""The streaming network's path over a whole recording: the same Utterance as ``lipsync``, no transcript.

Useful to check the live path offline, and for audio where pocketsphinx's English models do not fit
(the network only hears sound classes). The audio goes through LiveLipSync in pieces of PIECE_S, so
only frames at piece edges (every 10 s) miss their anticipation of the next viseme.
"""

from __future__ import annotations

import numpy as np

from ..animation import FaceFrames
from ..engine import Utterance, VisemeEvent
from ..options import SynthesisOptions
from ..timeline import PhonemeTimeline, TimedPhoneme
from .model import VisemeModel
from .session import LiveLipSync, symbol_for

PIECE_S = 10.0
VOICE_LABEL = "input audio"


def animate_recording(audio: np.ndarray, sample_rate: int, options: SynthesisOptions | None = None,
                      model: VisemeModel | None = None) -> Utterance:
    """Mono float audio at ``sample_rate`` -> Utterance (method 'network'); frames from 0 to the end."""
    options = (options or SynthesisOptions()).checked()
    session = LiveLipSync(sample_rate, options.fps, options.seed, options.emotion, options.emotion_intensity, model)
    audio = np.asarray(audio, dtype=np.float32)
    piece = int(PIECE_S * sample_rate)
    frames: list[FaceFrames] = []
    visemes: list[VisemeEvent] = []
    for start in range(0, max(len(audio), 1), piece):
        last = start + piece >= len(audio)
        update = session.push(audio[start:start + piece], last=last)
        frames.append(update.frames)
        visemes.extend(update.visemes)
    phonemes = [TimedPhoneme(symbol_for(v.viseme, v.end - v.start, sample_rate), v.start, v.end, None)
                for v in visemes]
    timeline = PhonemeTimeline(sample_rate, [p for p in phonemes if p.end > p.start], [])
    timeline.check()
    events = [VisemeEvent(v.viseme, v.start, v.end, i) for i, v in enumerate(visemes)]
    all_frames = FaceFrames.concat([f for f in frames if len(f)]) if any(len(f) for f in frames) \
        else FaceFrames.empty(0, options.fps)
    utterance = Utterance("", VOICE_LABEL, options, sample_rate, audio, timeline, all_frames, events)
    utterance.method = "network"  # type: ignore[attr-defined]
    return utterance
