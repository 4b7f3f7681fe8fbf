"""A textured, animatable 3D head from one frontal photo (docs/photo-avatar.md).

    from avatarlab.photo_avatar import photo_avatar_glb
    glb, notes = photo_avatar_glb(Path("portrait.jpg"))

The photo's 468-point MediaPipe face mesh (avatarlab.facemesh) is lifted to metres, triangulated on MediaPipe's
own topology, textured from the photo and given the 52 ARKit shapes and 15 visemes the engine drives.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .document import photo_avatar_document
from .lift import lift
from .photo import PhotoAvatarError, PhotoFace, find_face, read_photo
from .topology import topology

if TYPE_CHECKING:
    from .vrm import VrmMeta

#: Heads turned or tilted further than this (degrees) from the camera are refused: the far side is not seen.
MAX_TURN = 30.0

__all__ = ["MAX_TURN", "PhotoAvatarError", "glb_from_image", "photo_avatar_glb", "write_photo_avatar"]


def glb_from_image(image: np.ndarray, label: str = "the photo") -> tuple[bytes, list[str]]:
    """GLB bytes of the avatar made from an (h, w, 3) uint8 RGB photo, and notes for the user."""
    found: PhotoFace = find_face(image, label)
    face = lift(found.points)
    yaw, pitch, _ = face.yaw_pitch_roll()
    if max(abs(yaw), abs(pitch)) > MAX_TURN:
        raise PhotoAvatarError(f"the face in {label} is turned {yaw:+.0f} degrees left-right and {pitch:+.0f} up-down; "
                               f"at most {MAX_TURN:.0f} either way: use a frontal photo")
    notes = []
    if found.faces_found > 1:
        notes.append(f"{found.faces_found} faces found in {label}: used the largest")
    if found.scale < 1.0:
        notes.append(f"{label} scaled down to {found.image.shape[1]}x{found.image.shape[0]} pixels")
    return photo_avatar_document(found.image, found.points, face, topology(), found.irises), notes


def photo_avatar_glb(path: Path) -> tuple[bytes, list[str]]:
    """GLB bytes and notes for the photo at ``path``; PhotoAvatarError for any unusable photo."""
    return glb_from_image(read_photo(path), str(path))


def write_photo_avatar(photo: Path, out: Path, meta: VrmMeta | None = None) -> list[str]:
    """Make the avatar (.glb, or .vrm: VRM 1.0 with ``meta``, by default named after the photo) and write it
    atomically (nothing is written when the photo is refused)."""
    from ..output import write_files_atomically

    suffix = Path(out).suffix.lower()
    if suffix not in (".glb", ".vrm"):
        raise PhotoAvatarError(f"--out {out}: the photo avatar is written as a .glb or a .vrm (VRM 1.0) file")
    glb, notes = photo_avatar_glb(photo)
    if suffix == ".vrm":
        from .vrm import VrmMeta, vrm_from_glb

        meta = meta or VrmMeta(Path(photo).stem, copyright_information=f"made from the photo {Path(photo).name}")
        glb = vrm_from_glb(glb, meta)
    write_files_atomically({Path(out): glb})
    return notes
