"""The photo side: decode, downscale, find the one face and check it is usable (docs/photo-avatar.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AvatarLabError

#: Photos are worked on at most this many pixels a side (bigger ones are scaled down first).
WORK_SIDE = 2048
#: The face crop the mesh model reads (MediaPipe's region of interest: the landmarks' box, squared and grown 1.5x)
#: must be at least this many pixels a side in the original photo; under it the texture is a blur.
MIN_FACE_PIXELS = 128


class PhotoAvatarError(AvatarLabError, ValueError):
    """The photo cannot make an avatar: unreadable, no face, a face too small..."""


@dataclass(frozen=True)
class PhotoFace:
    image: np.ndarray  # (h, w, 3) uint8 RGB at working size
    points: np.ndarray  # (468, 3) landmarks in ``image`` pixels (x right, y down, z depth, smaller nearer)
    faces_found: int  # how many faces the photo holds (the largest one is used)
    scale: float  # working size / original size
    irises: np.ndarray | None = None  # (2, 5, 3) the Iris model's iris centre then edges, 33/133's eye first


def downscale(image: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """The image with its longer side at most ``side`` (box filter by the smallest integer factor that fits)."""
    height, width = image.shape[:2]
    if max(height, width) <= side:
        return image, 1.0
    factor = int(np.ceil(max(height, width) / side))
    h, w = height // factor * factor, width // factor * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor, -1)
    sums = blocks.sum(axis=(1, 3), dtype=np.uint32)  # no float copy of a 100-megapixel photo
    return ((sums + factor * factor // 2) // (factor * factor)).astype(np.uint8), 1.0 / factor


def read_photo(path: Path) -> np.ndarray:
    """(h, w, 3) uint8 RGB of any image ffmpeg reads; PhotoAvatarError for what is not one."""
    from ..render.errors import RenderError
    from ..render.images import decode_image

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise PhotoAvatarError(f"cannot read --photo {path}: {error.strerror}") from error
    if not data:
        raise PhotoAvatarError(f"--photo {path} is empty, not an image")
    try:
        return np.ascontiguousarray(decode_image(data, str(path))[..., :3])
    except RenderError as error:
        raise PhotoAvatarError(f"--photo {path} is not an image ffmpeg can read ({error})") from error


def _area(points: np.ndarray) -> float:
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return float((x1 - x0) * (y1 - y0))


def find_face(image: np.ndarray, label: str) -> PhotoFace:
    """The largest face of an RGB photo, with its mesh; PhotoAvatarError when there is none or it is too small."""
    from ..facemesh import FULL_RANGE, SHORT_RANGE, find_faces

    work, scale = downscale(image)
    # the short-range model misses small or second faces in wide pictures: keep whichever model sees more;
    # the head is built on the mesh model's own 468 points (its topology), so no eye refinement (478)
    faces = max(find_faces(work, SHORT_RANGE, refine_eyes=False), find_faces(work, FULL_RANGE, refine_eyes=False),
                key=len)
    if not faces:
        raise PhotoAvatarError(f"no face found in {label}: use a frontal photo with the whole face visible")
    largest = max(faces, key=lambda face: _area(face.mesh.points))
    points = largest.mesh.points[:468]
    size = largest.mesh.next_rect().width / scale
    if size < MIN_FACE_PIXELS:
        raise PhotoAvatarError(f"the face in {label} is {size:.0f} pixels across (the face crop); at least "
                               f"{MIN_FACE_PIXELS} are needed: use a larger or closer photo")
    return PhotoFace(work, points, len(faces), scale, _irises(work, points))


def _irises(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where the irises are (the Iris model, run on the 468's eye corners): the eyeballs take their colour there,
    wherever the person looks; the head itself keeps the 468 points its topology is made of."""
    from ..facemesh.iris import refine_mesh

    return refine_mesh(image, points)[0][468:478].reshape(2, 5, 3)
