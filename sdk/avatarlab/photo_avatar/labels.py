"""The photo avatar in flat label colours: the same geometry and morph targets, every part one unlit colour, so a
render says which part each pixel shows (the mouth pixel tests read lips, lining, teeth and tongue from it).

    from avatarlab.photo_avatar.labels import label_glb
    labelled = label_glb(glb)        # GLB bytes in, GLB bytes out

The face surface keeps its UVs (the landmarks' photo positions) and gets a label texture painted in that UV space:
the lips' band (inside MediaPipe's outer lip ring; the inner ring is the mouth's hole) in the lip colour, the rest
skin. Other parts are coloured by their material's name (``LABEL_OF_MATERIAL``); eyeballs and anything unknown are
"other". The texture is sampled nearest-texel so no pixel blends two labels.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pygltflib as gl

from ..avatar.gltf import BufferPacker, read_glb
from ..render.images import png_bytes
from .topology import Topology, topology

#: sRGB label colours (0 and 255 only, so linear and sRGB agree and flat shading keeps them exact).
LABEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "skin": (0, 255, 0), "lip": (0, 0, 255), "lining": (255, 0, 0), "teeth": (255, 255, 255),
    "tongue": (255, 0, 255), "other": (255, 255, 0)}
#: Material name -> label. "Skin" (the photo-textured face) gets the painted texture instead.
LABEL_OF_MATERIAL = {"MouthInterior": "lining", "Teeth": "teeth", "Tongue": "tongue", "SkinBack": "skin"}
FACE_MATERIAL = "Skin"
LANDMARKS = 468
TEXTURE_SIDE = 1024


def _read_floats(doc: gl.GLTF2, blob: bytes, index: int) -> np.ndarray:
    """A plain (not sparse) float accessor as an (count, width) array."""
    accessor = doc.accessors[index]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[accessor.type]
    if accessor.componentType != gl.FLOAT or accessor.bufferView is None:
        raise ValueError(f"accessor {index} is not plain float data")
    view = doc.bufferViews[accessor.bufferView]
    start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
    stride = view.byteStride or 4 * width
    rows = np.frombuffer(blob, np.uint8, count=stride * (accessor.count - 1) + 4 * width, offset=start)
    rows = np.lib.stride_tricks.as_strided(rows, (accessor.count, 4 * width), (stride, 1))
    return np.ascontiguousarray(rows).view(np.float32).reshape(accessor.count, width)


def _face_primitive(doc: gl.GLTF2) -> gl.Primitive:
    """The primitive of the photo-textured face surface: material "Skin", one vertex per landmark."""
    for mesh in doc.meshes:
        for primitive in mesh.primitives:
            material = doc.materials[primitive.material] if primitive.material is not None else None
            if material is not None and material.name == FACE_MATERIAL and \
                    primitive.attributes.TEXCOORD_0 is not None and \
                    doc.accessors[primitive.attributes.POSITION].count == LANDMARKS:
                return primitive
    raise ValueError(f"no face surface (material {FACE_MATERIAL!r} with {LANDMARKS} textured vertices): "
                     "not a photo avatar GLB")


def inside(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd rule: which (n, 2) ``points`` lie inside the closed ``polygon`` (k, 2)."""
    result = np.zeros(len(points), bool)
    x, y = points[:, 0], points[:, 1]
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        result ^= crosses & (x < at)
    return result


def lip_texture(uv: np.ndarray, topo: Topology, side: int = TEXTURE_SIDE,
                colours: Mapping[str, tuple[int, int, int]] = LABEL_COLOURS) -> np.ndarray:
    """(side, side, 3) uint8: lip colour inside the outer lip ring's UV outline, skin elsewhere (the inner ring
    is the mouth's hole: no triangle samples inside it). Rows are v, columns u, as glTF maps images."""
    outer = uv[topo.ring("lipsUpperOuter", "lipsLowerOuter")]
    out = np.empty((side, side, 3), np.uint8)
    out[...] = colours["skin"]
    (c0, r0), (c1, r1) = (np.clip(np.floor(outer.min(axis=0) * side), 0, side).astype(int),
                          np.clip(np.ceil(outer.max(axis=0) * side) + 1, 0, side).astype(int))  # the lips' box
    u, v = np.meshgrid((np.arange(c0, c1) + 0.5) / side, (np.arange(r0, r1) + 0.5) / side)
    lip = inside(outer, np.stack([u.ravel(), v.ravel()], axis=-1)).reshape(u.shape)
    out[r0:r1, c0:c1][lip] = colours["lip"]
    return out


def _label(doc: gl.GLTF2, mesh: gl.Mesh, primitive: gl.Primitive) -> str:
    if mesh.name and mesh.name.endswith("EyeBall"):
        return "other"
    name = doc.materials[primitive.material].name if primitive.material is not None else None
    return LABEL_OF_MATERIAL.get(name or "", "other")


def _double_sided(doc: gl.GLTF2, primitive: gl.Primitive) -> bool:
    """Kept from the original material: the mouth's bag is seen from inside, and culling it would show what is
    behind it."""
    return primitive.material is not None and bool(doc.materials[primitive.material].doubleSided)


def _label_material(key: tuple[str, bool], colours: Mapping[str, tuple[int, int, int]]) -> gl.Material:
    """Unlit: the label texture for the face, else the label's flat colour."""
    label, double_sided = key
    pbr = gl.PbrMetallicRoughness(metallicFactor=0.0, roughnessFactor=1.0)
    if label == "face":
        pbr.baseColorTexture = gl.TextureInfo(index=0)
    else:
        pbr.baseColorFactor = [*(c / 255.0 for c in colours[label]), 1.0]
    return gl.Material(name=f"label_{label}", doubleSided=double_sided, pbrMetallicRoughness=pbr,
                       extensions={"KHR_materials_unlit": {}})


def label_glb(glb: bytes, colours: Mapping[str, tuple[int, int, int]] = LABEL_COLOURS,
              side: int = TEXTURE_SIDE) -> bytes:
    """The photo avatar ``glb`` with every part in one flat, unlit label colour (the face from a label texture).
    Raises ValueError when ``glb`` is not a photo avatar (no 468-vertex textured face)."""
    doc = read_glb(glb)
    blob = doc.binary_blob() or b""
    face = _face_primitive(doc)
    uv = _read_floats(doc, blob, face.attributes.TEXCOORD_0)
    keys = [[("face" if primitive is face else _label(doc, mesh, primitive), _double_sided(doc, primitive))
             for primitive in mesh.primitives] for mesh in doc.meshes]  # before the materials are replaced
    packer = BufferPacker.for_document(doc)
    doc.images = [gl.Image(bufferView=packer.view(png_bytes(lip_texture(uv, topology(), side, colours))),
                           mimeType="image/png")]
    doc.samplers = [gl.Sampler(magFilter=gl.NEAREST, minFilter=gl.NEAREST, wrapS=gl.CLAMP_TO_EDGE,
                               wrapT=gl.CLAMP_TO_EDGE)]
    doc.textures = [gl.Texture(sampler=0, source=0)]
    materials: dict[tuple[str, bool], int] = {}
    doc.materials = []
    for mesh, mesh_keys in zip(doc.meshes, keys):
        for primitive, key in zip(mesh.primitives, mesh_keys):
            primitive.attributes.COLOR_0 = None  # vertex colours would tint the label
            if key not in materials:
                materials[key] = len(doc.materials)
                doc.materials.append(_label_material(key, colours))
            primitive.material = materials[key]
    doc.extensionsUsed = sorted(set(doc.extensionsUsed or []) | {"KHR_materials_unlit"})
    return packer.finish()
