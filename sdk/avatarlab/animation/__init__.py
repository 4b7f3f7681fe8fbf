"""Speech-to-face animation: phoneme timeline + audio -> visemes, ARKit blendshapes, head and eyes."""

from __future__ import annotations

from .animator import FaceAnimator
from .emotion import EMOTIONS
from .frames import FaceFrames
from .phonemes import viseme_of

__all__ = ["EMOTIONS", "FaceAnimator", "FaceFrames", "viseme_of"]
