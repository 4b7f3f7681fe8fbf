"""`avatarlab sync-check`: the audio-to-mouth offset of a talking-face video, from MediaPipe's face mesh."""

from __future__ import annotations

from .check import SyncResult, sync_check
from .video import SyncCheckError

__all__ = ["SyncCheckError", "SyncResult", "sync_check"]
