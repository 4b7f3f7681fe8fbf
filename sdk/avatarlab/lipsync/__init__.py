"""Lip sync from recorded speech: any audio file (plus an optional transcript) -> the same face curves as ``speak``.

Part A of issue 7: pocketsphinx forced alignment / phone recognition feeding the engine's FaceAnimator.
The streaming neural model of issue 7 is not built yet. See docs/lipsync.md.
"""

from __future__ import annotations

from .align import AlignmentError
from .audio_input import MAX_AUDIO_SECONDS, AudioTooLongError, InvalidAudioError, load_audio
from .pipeline import DEFAULT_SAMPLE_RATE, lipsync

__all__ = [
    "DEFAULT_SAMPLE_RATE", "MAX_AUDIO_SECONDS", "AlignmentError", "AudioTooLongError", "InvalidAudioError",
    "lipsync", "load_audio",
]
