"""The columns of an export CSV, apart from the batch machinery so that `avatarlab export --help` can name them
without loading the GLB writer, the renderer or the engine."""

from __future__ import annotations

CSV_COLUMNS = ("id", "text", "voice", "emotion", "speed", "audio")
#: The columns that only a TTS line uses; on a row with ``audio`` they are an error, not silently ignored.
TTS_ONLY_COLUMNS = ("voice", "speed")
