"""Make examples/take.ogg: a short "recorded take" for `avatarlab lipsync` and the `audio` row of lines.csv.

It is spoken by our own engine (the default voice, a fixed seed) and encoded to Ogg Vorbis with the ffmpeg
binary of imageio-ffmpeg, so the example needs no recording and no extra tool:

    .venv/bin/python examples/make_take.py            # writes examples/take.ogg (about 15 KB)
    .venv/bin/python examples/make_take.py other.ogg  # or any path; .wav, .flac and .mp3 work too
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from avatarlab.engine import Engine
from avatarlab.lipsync.audio_input import ffmpeg_exe
from avatarlab.output import wav_bytes

#: What the take says; the README passes it to `lipsync --transcript`.
TEXT = "Open the gate, and keep your voice down."


def make_take(path: Path) -> Path:
    """Speak TEXT and encode it to ``path`` (the format follows the suffix); reproducible byte for byte."""
    utterance = Engine().speak(TEXT, seed=7, speed=0.95)
    codec = ["-c:a", "libvorbis", "-q:a", "2"] if path.suffix == ".ogg" else []
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "wav", "-i", "pipe:", *codec,
                    "-fflags", "+bitexact", "-flags:a", "+bitexact", str(path)],
                   input=wav_bytes(utterance.audio, utterance.sample_rate), check=True)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("take.ogg")
    print(make_take(target))
