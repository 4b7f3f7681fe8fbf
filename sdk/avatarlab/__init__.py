"""AI Avatar Lab: text or speech in, VITS audio plus sample-exact face animation out."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AvatarLabError, InvalidOptionError, InvalidTextError, VoiceConfigError, VoiceNotFoundError
from .options import SynthesisOptions
from .timeline import PhonemeTimeline, TimedPhoneme, TimedWord
from .voice import VoiceInfo, list_voices, resolve_voice


def __getattr__(name: str):  # the engine pulls in onnxruntime; load it on first use
    if name in ("Engine", "SynthesisChunk", "Utterance", "VisemeEvent"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(name)


__all__ = [
    "AvatarLabError", "Engine", "InvalidOptionError", "InvalidTextError", "PhonemeTimeline", "SynthesisChunk",
    "SynthesisOptions", "TimedPhoneme", "TimedWord", "Utterance", "VisemeEvent", "VoiceConfigError",
    "VoiceInfo", "VoiceNotFoundError", "list_voices", "resolve_voice", "__version__",
]
