"""Lip sync from recorded speech: any audio file (plus an optional transcript) -> the same face curves as ``speak``.

Part A of issue 7: pocketsphinx forced alignment / phone recognition feeding the engine's FaceAnimator.
The streaming neural model of issue 7 is not built yet. See docs/lipsync.md.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# imported on first use, so `avatarlab.lipsync.cli` (CLI help) loads neither pocketsphinx nor the engine
__getattr__, __dir__ = lazy_exports(__name__, {
    ".align": ("AlignmentError",),
    ".audio_input": ("MAX_AUDIO_SECONDS", "AudioTooLongError", "InvalidAudioError", "load_audio"),
    ".pipeline": ("DEFAULT_SAMPLE_RATE", "lipsync"),
})

__all__ = [
    "DEFAULT_SAMPLE_RATE", "MAX_AUDIO_SECONDS", "AlignmentError", "AudioTooLongError", "InvalidAudioError",
    "lipsync", "load_audio",
]
