"""The animation curves one ``FaceAnimator.animate`` call returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES


@dataclass
class FaceFrames:
    """A run of consecutive frames; frame ``start_frame + i`` is at ``(start_frame + i) / fps`` seconds."""

    start_frame: int
    fps: int
    visemes: np.ndarray  # (n, 15) float32 in [0, 1], columns = OCULUS_VISEMES
    blendshapes: np.ndarray  # (n, 52) float32 in [0, 1], columns = ARKIT_BLENDSHAPES
    head: np.ndarray  # (n, 3) float32 radians, columns = HEAD_CHANNELS
    eyes: np.ndarray  # (n, 4) float32 radians, columns = EYE_CHANNELS

    def __len__(self) -> int:
        return int(self.visemes.shape[0])

    @property
    def end_frame(self) -> int:
        """One past the last frame, so chunks chain as ``a.end_frame == b.start_frame``."""
        return self.start_frame + len(self)

    @property
    def times(self) -> np.ndarray:
        """Frame times in seconds, handy for plotting and for clients that resample."""
        return (np.arange(self.start_frame, self.end_frame) / self.fps).astype(np.float64)

    @classmethod
    def empty(cls, start_frame: int, fps: int) -> FaceFrames:
        """A zero-length run, so an empty request still returns well-shaped arrays."""
        return cls(
            start_frame=start_frame,
            fps=fps,
            visemes=np.zeros((0, len(OCULUS_VISEMES)), np.float32),
            blendshapes=np.zeros((0, len(ARKIT_BLENDSHAPES)), np.float32),
            head=np.zeros((0, len(HEAD_CHANNELS)), np.float32),
            eyes=np.zeros((0, len(EYE_CHANNELS)), np.float32),
        )

    @classmethod
    def concat(cls, parts: list[FaceFrames]) -> FaceFrames:
        """Join streamed chunks back into one run; they must be consecutive and share fps."""
        if not parts:
            raise ValueError("FaceFrames.concat needs at least one FaceFrames")
        fps = parts[0].fps
        for before, after in zip(parts, parts[1:]):
            if after.fps != fps:
                raise ValueError(f"cannot concat FaceFrames with different fps ({fps} and {after.fps})")
            if after.start_frame != before.end_frame:
                raise ValueError(
                    f"FaceFrames are not consecutive: one ends at frame {before.end_frame}, "
                    f"the next starts at {after.start_frame}"
                )
        return cls(
            start_frame=parts[0].start_frame,
            fps=fps,
            visemes=np.concatenate([p.visemes for p in parts]),
            blendshapes=np.concatenate([p.blendshapes for p in parts]),
            head=np.concatenate([p.head for p in parts]),
            eyes=np.concatenate([p.eyes for p in parts]),
        )
