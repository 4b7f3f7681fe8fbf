"""What a render looks like: size, frame rate, background, camera, quality; checked in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InvalidOptionError

#: Frame rates a video may have (the common broadcast and web rates).
FPS_CHOICES: tuple[int, ...] = (24, 25, 30, 50, 60)
DEFAULT_FPS = 30
MIN_SIDE, MAX_SIDE = 16, 3840
DEFAULT_SIZE = (512, 512)
DEFAULT_BACKGROUND = "#1e2028"
#: Camera presets, framed from the avatar's head bounds (camera.py).
CAMERA_PRESETS: tuple[str, ...] = ("head-shoulders", "face", "mouth")
DEFAULT_CAMERA = "head-shoulders"
#: Anti-aliasing: auto (MSAA 4x on a GPU; FXAA on llvmpipe, where MSAA shades every sample and costs 2.5x),
#: msaa, fxaa or none.
ANTIALIAS_CHOICES: tuple[str, ...] = ("auto", "msaa", "fxaa", "none")
#: H.264 CRF (0 lossless .. 51 worst; 18 looks like the source) and VP9 CRF (0..63).
DEFAULT_CRF = 18
MAX_CRF_H264, MAX_CRF_VP9 = 51, 63
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_NAMED = {"black": "#000000", "white": "#ffffff", "grey": "#808080", "gray": "#808080", "green": "#00b140",
          "blue": "#0047bb"}

RGB = tuple[float, float, float]


def parse_size(text: str) -> tuple[int, int]:
    """'512x512' or '1920x1080' (or one number for a square) -> (width, height), checked."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", str(text))
    if not match:
        raise InvalidOptionError(f"size must look like WIDTHxHEIGHT (e.g. 512x512 or 1920x1080), got {text!r}", "size")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    return check_size((width, height))


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise InvalidOptionError(f"size must be (width, height) in whole pixels, got {size!r}", "size")
    width, height = size
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidOptionError(f"size must be from {MIN_SIDE} to {MAX_SIDE} pixels a side, got {width}x{height}",
                                 "size")
    if width % 2 or height % 2:
        raise InvalidOptionError(f"width and height must be even (H.264 and VP9 store colour at half resolution), "
                                 f"got {width}x{height}; try {width + width % 2}x{height + height % 2}", "size")
    return (width, height)


def parse_colour(text: str) -> RGB | None:
    """'#1e2028', '1e2028', '#fff' or a few names -> sRGB 0..1; None when ``text`` is not a colour."""
    text = _NAMED.get(str(text).strip().lower(), str(text).strip())
    match = _HEX.fullmatch(text)
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i:i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


@dataclass(frozen=True)
class Background:
    """A flat sRGB colour, or an image file drawn behind the avatar (scaled to cover the frame, centred)."""

    colour: RGB = (0.0, 0.0, 0.0)
    image: Path | None = None

    @classmethod
    def parse(cls, value: str | Path | RGB | Background) -> Background:
        """A colour ('#1e2028', 'white', (r, g, b) in 0..1) or the path of an image file (PNG, JPEG, WebP...)."""
        if isinstance(value, Background):
            return value
        if isinstance(value, (tuple, list)):
            if len(value) != 3 or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in value):
                raise InvalidOptionError(f"a background colour tuple is (r, g, b) in 0..1, got {value!r}", "background")
            return cls(colour=tuple(float(v) for v in value))  # type: ignore[arg-type]
        if isinstance(value, str) and (colour := parse_colour(value)) is not None:
            return cls(colour=colour)
        path = Path(value)
        if not path.is_file():
            raise InvalidOptionError(f"background {str(value)!r} is neither a colour (#rrggbb, #rgb, black, white, "
                                     "grey, green, blue) nor an image file that exists", "background")
        return cls(image=path)


@dataclass(frozen=True)
class RenderSettings:
    """How frames look and are encoded. ``checked()`` raises InvalidOptionError naming the option at fault."""

    size: tuple[int, int] = DEFAULT_SIZE
    fps: int = DEFAULT_FPS
    background: Background = field(default_factory=lambda: Background.parse(DEFAULT_BACKGROUND))
    transparent: bool = False  # WebM (VP9 with alpha) instead of MP4; the background is not drawn
    camera: str = DEFAULT_CAMERA
    crf: int | None = None  # None: 18 for H.264, 30 for VP9
    antialias: str = "auto"  # auto, msaa (4x), fxaa or none
    profile: str = "auto"  # retarget profile: auto, arkit, oculus, vrm
    device: str = "auto"  # OpenGL device: auto (a GPU when EGL offers one), cpu (llvmpipe), or an EGL device index

    def checked(self) -> RenderSettings:
        check_size(tuple(self.size))  # type: ignore[arg-type]
        if isinstance(self.fps, bool) or self.fps not in FPS_CHOICES:
            raise InvalidOptionError(f"fps must be one of {', '.join(map(str, FPS_CHOICES))}, got {self.fps!r}", "fps")
        if self.camera not in CAMERA_PRESETS:
            raise InvalidOptionError(f"unknown camera {self.camera!r}; choose one of {', '.join(CAMERA_PRESETS)}",
                                     "camera")
        limit = MAX_CRF_VP9 if self.transparent else MAX_CRF_H264
        if self.crf is not None and (isinstance(self.crf, bool) or not isinstance(self.crf, int)
                                     or not 0 <= self.crf <= limit):
            raise InvalidOptionError(f"crf must be a whole number from 0 to {limit} for "
                                     f"{'VP9' if self.transparent else 'H.264'}, got {self.crf!r}", "crf")
        if self.antialias not in ANTIALIAS_CHOICES:
            raise InvalidOptionError(f"antialias must be one of {', '.join(ANTIALIAS_CHOICES)}, got "
                                     f"{self.antialias!r}", "antialias")
        if not (self.device in ("auto", "cpu") or (isinstance(self.device, str) and self.device.isdigit())):
            raise InvalidOptionError(f"device must be auto, cpu or an EGL device number, got {self.device!r}", "device")
        if self.transparent and self.background.image is not None:
            raise InvalidOptionError("a transparent video has no background: drop --background or --transparent",
                                     "background")
        return self

    def with_size(self, size: tuple[int, int]) -> RenderSettings:
        return replace(self, size=size)

    @property
    def video_suffix(self) -> str:
        return ".webm" if self.transparent else ".mp4"
