"""Images in and out without an imaging library: decode any format ffmpeg reads to RGBA, write PNG with zlib."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np

from .errors import RenderError

#: Largest texture or background image side accepted (bigger ones are scaled down when decoded).
MAX_IMAGE_SIDE = 8192


def ffmpeg_exe() -> str:
    """The ffmpeg binary imageio-ffmpeg ships (or the one IMAGEIO_FFMPEG_EXE names)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def decode_image(data: bytes, label: str) -> np.ndarray:
    """Encoded image bytes (PNG, JPEG, WebP, BMP, TGA...) -> (height, width, 4) uint8 RGBA, top row first.

    ffmpeg writes a PAM image, whose header carries the size; images over MAX_IMAGE_SIDE are scaled down.
    """
    scale = f"scale='min(iw,{MAX_IMAGE_SIDE})':'min(ih,{MAX_IMAGE_SIDE})':force_original_aspect_ratio=decrease"
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", "pipe:0", "-frames:v", "1", "-vf", scale,
               "-pix_fmt", "rgba", "-c:v", "pam", "-f", "image2pipe", "pipe:1"]
    try:
        result = subprocess.run(command, input=data, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(f"cannot decode image {label}: {error}") from error
    header, _, pixels = result.stdout.partition(b"ENDHDR\n")
    fields = dict(line.split(b" ", 1) for line in header.splitlines()[1:] if b" " in line)
    try:
        width, height = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
    except (KeyError, ValueError):
        width = height = 0
    if result.returncode != 0 or width * height == 0 or len(pixels) < width * height * 4:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["not an image"]
        raise RenderError(f"cannot decode image {label}: {detail[0]}")
    return np.frombuffer(pixels, dtype=np.uint8, count=width * height * 4).reshape(height, width, 4)


def read_image(path: Path) -> np.ndarray:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise RenderError(f"cannot read image {path}: {error.strerror}") from error
    return decode_image(data, str(path))


def png_bytes(image: np.ndarray) -> bytes:
    """(height, width, 3 or 4) uint8 -> PNG file bytes (for test artifacts and stills)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width, channels = image.shape
    colour_type = {3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def write_png(path: Path, image: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image))
    return path
