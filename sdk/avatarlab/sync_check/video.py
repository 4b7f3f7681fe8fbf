"""Reading any video ffmpeg reads: its size, rate and audio, and its frames on the same clock as its audio."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import AvatarLabError

#: Audio rate the envelope and the lip-sync alignment work at.
AUDIO_RATE = 16000
#: Longest video sync-check reads (seconds).
MAX_SECONDS = 600.0


class SyncCheckError(AvatarLabError, ValueError):
    """The video cannot be checked: not a video, no audio, no face, several faces..."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    has_audio: bool


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: Path) -> VideoInfo:
    """Size, frame rate and whether there is audio, from ffmpeg's description of the file."""
    path = Path(path)
    if not path.is_file():
        raise SyncCheckError(f"video {path} does not exist or is not a file; check the path")
    result = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)], capture_output=True,
                            timeout=60, check=False)
    text = result.stderr.decode("utf-8", "replace")
    video = re.search(r"Stream #\S+.*?: Video: (?!.*attached pic).*", text)
    if video is None:
        raise SyncCheckError(f"{path} is not a video ffmpeg can read (no video stream); give a video file "
                             "(MP4, WebM, MOV, MKV...)")
    size = re.search(r", (\d{2,5})x(\d{2,5})", video.group(0))
    rate = re.search(r", ([\d.]+) (?:fps|tbr)", video.group(0))
    if size is None or rate is None or float(rate.group(1)) <= 0:
        raise SyncCheckError(f"cannot read the size and frame rate of {path}'s video stream")
    has_audio = re.search(r"Stream #\S+.*?: Audio: ", text) is not None
    width, height = int(size.group(1)), int(size.group(2))
    if _quarter_turn(text[video.start():]):  # ffmpeg turns phone videos upright as it decodes them
        width, height = height, width
    return VideoInfo(path, width, height, float(rate.group(1)), has_audio)


def _quarter_turn(stream_text: str) -> bool:
    """Whether the video stream's side data (the lines up to the next stream) rotate it by 90 or 270 degrees."""
    own = re.split(r"\n\s*Stream #", stream_text, maxsplit=1)[0]
    turn = re.search(r"rotation of (-?[\d.]+) degrees|rotate\s*:\s*(-?\d+)", own)
    if turn is None:
        return False
    degrees = float(turn.group(1) or turn.group(2))
    return round(degrees / 90) % 2 == 1


def read_audio(info: VideoInfo) -> np.ndarray:
    """The audio track as mono float32 at AUDIO_RATE, on the file's clock: silence fills from the file's start
    to the audio's first sample, so sample 0 is time 0 of the video frames (read_frames)."""
    if not info.has_audio:
        raise SyncCheckError(f"{info.path} has no audio track, so there is nothing to sync the mouth to")
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(info.path), "-t", str(MAX_SECONDS), "-vn",
               "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", str(AUDIO_RATE), "-f", "f32le", "-"]
    result = subprocess.run(command, capture_output=True, timeout=600, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown error"]
        raise SyncCheckError(f"cannot decode the audio of {info.path}: {detail[0]}")
    audio = np.frombuffer(result.stdout, dtype=np.float32)
    if len(audio) == 0:
        raise SyncCheckError(f"{info.path}'s audio track is empty")
    return audio


def read_frames(info: VideoInfo) -> Iterator[np.ndarray]:
    """RGB frames (h, w, 3) uint8 at the video's rate; frame i shows time i / fps of the file's clock (the first
    frame is repeated back to time 0 when the video starts later than the audio)."""
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(info.path), "-t", str(MAX_SECONDS), "-an",
               "-vf", f"fps={info.fps}:start_time=0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    frame_bytes = info.width * info.height * 3
    # stderr unread could fill its pipe and stall ffmpeg on a damaged file: drop it (no frames is reported)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        while True:
            data = process.stdout.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            yield np.frombuffer(data, dtype=np.uint8).reshape(info.height, info.width, 3)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()
