"""Live lip sync: audio pushed in pieces -> a small streaming network -> the engine's FaceAnimator.

``LiveLipSync`` is the library API; the daemon's ``listen`` request and ``avatarlab lipsync --live``
are thin shells around it. The network and its training live in ``models/audio2face``.
"""

from .session import LiveLipSync, LiveUpdate

__all__ = ["LiveLipSync", "LiveUpdate"]
