"""Frames piped into the ffmpeg that imageio-ffmpeg ships: H.264 + AAC in MP4, or VP9 with alpha + Vorbis in WebM.

Frames go through a pipe one at a time (memory stays flat at any length): RGBA as the renderer reads it back,
bottom row first if need be (ffmpeg's vflip turns it round without a copy), from a few buffers that are reused
once written. The audio is handed over exactly, as float samples at its own rate. Everything is written to a
hidden temporary file beside the final one and renamed only when ffmpeg has finished cleanly, so an error or
Ctrl-C never leaves a partial file under the final name.
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..output import check_writable
from .errors import RenderError
from .images import ffmpeg_exe

#: Frames waiting for the pipe: a writer thread feeds ffmpeg while the next frame is drawn (memory: this many,
#: plus the one being written and the one being drawn).
QUEUED_FRAMES = 2
#: x264 "superfast" with macroblock-tree rate control and a 10-frame lookahead put back: at CRF 18 the same
#: picture as "veryfast" (SSIM 0.9977, PSNR 43.7 dB on a 1080p line) for about 20% less encoding time; files
#: about 15% bigger ("superfast" alone, without the mbtree, makes them 2.8 times bigger).
X264_PRESET = "superfast"
X264_PARAMS = "mbtree=1:rc-lookahead=10"
VP9_CRF = 30
#: RGB -> limited-range BT.709 YUV, tagged as such so players do not guess (they would guess BT.601 for small
#: frames and shift the colours).
_TO_YUV = "scale=out_color_matrix=bt709:out_range=tv,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
_COLOUR_TAGS = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def encoder_command(width: int, height: int, fps: int, sample_rate: int, audio_path: Path, out: Path,
                    transparent: bool, crf: int | None, bottom_up: bool = False,
                    metadata: Mapping[str, str] | None = None) -> list[str]:
    """ffmpeg reading RGBA frames (alpha ignored unless ``transparent``) from stdin and the f32 audio file;
    ``metadata`` becomes the file's tags (``comment``, ``title``...)."""
    pixel_format = "rgba" if transparent else "rgb0"
    filters = ("vflip," if bottom_up else "") + _TO_YUV
    command = [ffmpeg_exe(), "-nostdin", "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", pixel_format, "-s", f"{width}x{height}", "-framerate", str(fps),
               "-i", "pipe:0",
               "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", str(audio_path),
               "-map", "0:v:0", "-map", "1:a:0"]
    if transparent:
        command += ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", str(VP9_CRF if crf is None else crf),
                    "-b:v", "0", "-row-mt", "1", "-deadline", "good", "-cpu-used", "4", "-auto-alt-ref", "0",
                    "-vf", filters, *_COLOUR_TAGS,
                    "-c:a", "libvorbis", "-q:a", "5", "-f", "webm"]
    else:
        command += ["-c:v", "libx264", "-preset", X264_PRESET, "-x264-params", X264_PARAMS,
                    "-crf", str(18 if crf is None else crf), "-pix_fmt", "yuv420p", "-vf", filters, *_COLOUR_TAGS,
                    "-movflags", "+faststart", "-c:a", "aac", "-b:a", "160k", "-f", "mp4"]
    for key, value in (metadata or {}).items():
        command += ["-metadata", f"{key}={value}"]
    return command + [str(out)]


class VideoEncoder:
    """Write RGBA frames (height, width, 4 uint8; top row first, or bottom row first with ``bottom_up``), then
    ``finish()``; ``abort()`` removes everything. ``frame_buffer()`` hands out a reusable buffer to draw into.

    Use as a context manager: leaving it by an exception (Ctrl-C included) aborts.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: int, audio: np.ndarray, sample_rate: int,
                 transparent: bool = False, crf: int | None = None, bottom_up: bool = False,
                 metadata: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.width, self.height = size
        self.shape = (self.height, self.width, 4)
        self.frames = 0
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        self._buffers: list[np.ndarray] = []  # the ones frame_buffer() made
        folder = check_writable(self.path.parent)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=folder)
        os.close(handle)
        self._video = Path(name)
        self._audio = self._video.with_suffix(".audio")
        self._log = tempfile.TemporaryFile()
        self._process: subprocess.Popen | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUED_FRAMES)
        self._pipe_error: OSError | None = None
        self._writer: threading.Thread | None = None
        try:
            np.ascontiguousarray(audio, dtype="<f4").tofile(self._audio)
            command = encoder_command(self.width, self.height, fps, sample_rate, self._audio, self._video,
                                      transparent, crf, bottom_up, metadata)
            # in a session of its own, so a Ctrl-C in the terminal reaches us, not ffmpeg: we stop it and remove
            # its file (ffmpeg would otherwise end the file on its own and make the error say it stopped)
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=self._log, start_new_session=True)
            self._writer = threading.Thread(target=self._pump, name="avatarlab-ffmpeg-pipe", daemon=True)
            self._writer.start()
        except OSError as error:
            self.abort()
            raise RenderError(f"cannot start ffmpeg ({error}); reinstall imageio-ffmpeg") from error
        except BaseException:
            self.abort()
            raise

    def _ffmpeg_said(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "no message"

    def _pump(self) -> None:
        """Writer thread: frames from the queue into ffmpeg's stdin until None; a pipe error stops the writing
        (the frames still queued are dropped so the producer never blocks)."""
        assert self._process is not None and self._process.stdin is not None
        while (frame := self._queue.get()) is not None:
            if self._pipe_error is None:
                try:
                    self._process.stdin.write(memoryview(frame).cast("B"))
                except (OSError, ValueError) as error:  # BrokenPipeError, or stdin closed by abort()
                    self._pipe_error = error if isinstance(error, OSError) else BrokenPipeError(str(error))
            if self._owned(frame):
                self._free.put(frame)

    def _stopped(self, error: BaseException | None) -> RenderError:
        assert self._process is not None
        self._stop_writer()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        said = self._ffmpeg_said()
        code = self._process.returncode
        self.abort()
        stopped = RenderError(f"ffmpeg stopped while encoding frame {self.frames} (exit code {code}): {said}")
        stopped.__cause__ = error
        return stopped

    def frame_buffer(self) -> np.ndarray:
        """An RGBA buffer to draw the next frame into and hand to ``write``; it comes back for reuse once ffmpeg has
        it (QUEUED_FRAMES + 2 of them at most: queued, being written, being drawn)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        if len(self._buffers) < QUEUED_FRAMES + 2:
            self._buffers.append(np.empty(self.shape, np.uint8))
            return self._buffers[-1]
        while True:
            if self._pipe_error is not None:
                raise self._stopped(self._pipe_error)
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                continue

    def _owned(self, frame: np.ndarray) -> bool:
        return any(frame is buffer for buffer in self._buffers)

    def write(self, frame: np.ndarray) -> None:
        """Queue one RGBA frame (height, width, 4 uint8); RenderError if ffmpeg has stopped."""
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise ValueError(f"frames must be {self.shape} uint8 RGBA, got {frame.shape} {frame.dtype}")
        if self._pipe_error is not None:
            raise self._stopped(self._pipe_error)
        self._queue.put(frame if self._owned(frame) else np.ascontiguousarray(frame))
        self.frames += 1

    def _stop_writer(self) -> None:
        """Let the writer thread finish what is queued (or drop it after a pipe error) and end."""
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()

    def finish(self) -> Path:
        """Write what is queued, close the pipe, wait for ffmpeg, and move the file to its final name."""
        assert self._process is not None and self._process.stdin is not None
        self._stop_writer()
        if self._pipe_error is not None:
            raise self._stopped(self._pipe_error)
        try:
            self._process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self._process.wait()
        if code != 0 or not self._video.exists() or self._video.stat().st_size == 0:
            said = self._ffmpeg_said()
            self.abort()
            raise RenderError(f"ffmpeg failed (exit code {code}): {said}")
        os.chmod(self._video, 0o666 & ~_umask())
        os.replace(self._video, self.path)
        self._cleanup()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and the writer thread and delete the temporary files (safe to call more than once)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # a write blocked on the pipe now fails, so the writer thread can end
            self._process.wait()
        if self._writer is not None and self._writer.is_alive():
            self._pipe_error = self._pipe_error or BrokenPipeError("aborted")
            while True:  # make room for the end marker even if the writer is not taking frames
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._queue.put(None)
            self._writer.join(timeout=60)
        if self._process is not None and self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        self._video.unlink(missing_ok=True)
        self._cleanup()

    def _cleanup(self) -> None:
        self._audio.unlink(missing_ok=True)
        if not self._log.closed:
            self._log.close()

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.abort()
