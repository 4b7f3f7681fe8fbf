"""The avatars that come with the package: the default (the photo avatar made from the public-domain astronaut
portrait, committed as models/avatar/default_head.glb by ``python -m avatarlab.avatar.make_default``) and the
procedural stylised head built here.

Node layout of both (names the retarget profiles look for): ``AvatarLab`` root -> ``Head`` (rotates at the top of
the neck) -> ``HeadMesh`` (mesh ``Head``: every morph target) and ``LeftEye`` / ``RightEye``; root -> ``Body``
(neck and shoulders, static). The procedural head is deterministic: same code, same bytes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pygltflib as gl

from .gltf import BufferPacker
from .head import HeadModel, Part, build_head, shape_names, vertex_normals

GENERATOR = "avatarlab default head generator"
#: The default avatar's file name: models/avatar/ in a checkout, avatarlab/data/ in an installed wheel (setup.py).
DEFAULT_AVATAR_FILE = "default_head.glb"
#: Morph target moves under this (metres, 0.02 mm) are not stored: invisible, and they would double the file.
MORPH_TOLERANCE = 2e-5
#: (base colour factor, roughness, double sided) per material name.
_MATERIALS: dict[str, tuple[float, bool]] = {
    "Skin": (0.55, True),
    "MouthInterior": (0.8, True),
    "Teeth": (0.3, False),
    "Tongue": (0.45, False),
    "Eye": (0.12, False),
    "Clothes": (0.85, False),
}


def _materials(gltf: gl.GLTF2) -> dict[str, int]:
    index = {}
    for name, (roughness, double_sided) in _MATERIALS.items():
        gltf.materials.append(gl.Material(
            name=name, doubleSided=double_sided,
            pbrMetallicRoughness=gl.PbrMetallicRoughness(baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0,
                                                         roughnessFactor=roughness)))
        index[name] = len(gltf.materials) - 1
    return index


def _primitive(packer: BufferPacker, part: Part, offset: np.ndarray, materials: dict[str, int],
               targets: list[str] | None) -> gl.Primitive:
    positions = (part.positions - offset).astype(np.float32)
    attributes = gl.Attributes(
        POSITION=packer.accessor(positions, gl.ARRAY_BUFFER),
        NORMAL=packer.accessor(vertex_normals(positions, part.triangles), gl.ARRAY_BUFFER, bounds=False),
        COLOR_0=packer.accessor(np.clip(part.colors, 0, 1).astype(np.float32), gl.ARRAY_BUFFER, bounds=False),
    )
    index_type = np.uint16 if len(positions) < 65536 else np.uint32
    primitive = gl.Primitive(attributes=attributes, material=materials[part.material],
                             indices=packer.accessor(part.triangles.reshape(-1).astype(index_type),
                                                     gl.ELEMENT_ARRAY_BUFFER, bounds=False))
    if targets:
        primitive.targets = [{"POSITION": packer.sparse_vec3(part.shape(name).astype(np.float32), MORPH_TOLERANCE)}
                             for name in targets]
    return primitive


def _node(gltf: gl.GLTF2, name: str, **fields) -> int:
    gltf.nodes.append(gl.Node(name=name, **fields))
    return len(gltf.nodes) - 1


def avatar_document(model: HeadModel | None = None) -> bytes:
    """The default avatar GLB bytes."""
    model = model or build_head()
    gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator=GENERATOR))
    packer = BufferPacker.for_document(gltf)
    materials = _materials(gltf)
    names = shape_names()
    pivot = model.pivot
    head_mesh = gl.Mesh(name="Head", primitives=[_primitive(packer, part, pivot, materials, names)
                                                 for part in model.head_parts],
                        weights=[0.0] * len(names), extras={"targetNames": names})
    eye_mesh = gl.Mesh(name="Eye", primitives=[_primitive(packer, model.eye, np.zeros(3), materials, None)])
    body_mesh = gl.Mesh(name="Body", primitives=[_primitive(packer, part, np.zeros(3), materials, None)
                                                 for part in model.body])
    ears_mesh = gl.Mesh(name="Ears", primitives=[_primitive(packer, model.ears, pivot, materials, None)])
    gltf.meshes = [head_mesh, eye_mesh, body_mesh, ears_mesh]
    left, right = model.landmarks.eye_centres
    head_geometry = _node(gltf, "HeadMesh", mesh=0)
    left_eye = _node(gltf, "LeftEye", mesh=1, translation=[float(v) for v in left - pivot])
    right_eye = _node(gltf, "RightEye", mesh=1, translation=[float(v) for v in right - pivot])
    ears = _node(gltf, "Ears", mesh=3)
    head = _node(gltf, "Head", translation=[float(v) for v in pivot],
                 children=[head_geometry, ears, left_eye, right_eye])
    body = _node(gltf, "Body", mesh=2)
    root = _node(gltf, "AvatarLab", children=[head, body])
    gltf.scenes = [gl.Scene(name="AvatarLab", nodes=[root])]
    gltf.scene = 0
    return packer.finish()


@lru_cache(maxsize=1)
def procedural_avatar_glb() -> bytes:
    """The procedural stylised head, built once per process (about a second)."""
    return avatar_document()


_PACKAGE = Path(__file__).resolve().parents[1]
#: Where the default avatar's GLB may be, in order: the wheel's copy (setup.py), this checkout's.
DEFAULT_AVATAR_PLACES = (_PACKAGE / "data" / DEFAULT_AVATAR_FILE,
                         _PACKAGE.parents[1] / "models" / "avatar" / DEFAULT_AVATAR_FILE)


def default_avatar_path() -> Path:
    """Where the default avatar's GLB is: the wheel's copy when installed, else this checkout's."""
    for path in DEFAULT_AVATAR_PLACES:
        if path.is_file():
            return path
    raise FileNotFoundError(f"the default avatar ({DEFAULT_AVATAR_FILE}) is missing from this installation: "
                            "reinstall avatarlab (pip install --force-reinstall avatarlab), or pass an avatar file")


@lru_cache(maxsize=1)
def default_avatar_glb() -> bytes:
    """The default avatar: the head made from the astronaut portrait (docs/photo-avatar.md)."""
    return default_avatar_path().read_bytes()


def write_default_avatar(path: Path, procedural: bool = False) -> Path:
    """Write the default avatar (or the procedural head) to ``path`` atomically."""
    from ..output import write_files_atomically

    path = Path(path)
    write_files_atomically({path: procedural_avatar_glb() if procedural else default_avatar_glb()})
    return path
