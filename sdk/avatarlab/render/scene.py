"""A glTF 2.0 scene as numpy arrays: node hierarchy, triangle primitives with morph targets, skins, materials.

Nothing here touches OpenGL, so scenes load and are checked (and their bounds measured) before a context exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .document import Document, load_document
from .errors import AvatarFileError
from .images import decode_image
from .transforms import quaternion_matrix, trs_matrix

_TRIANGLES = 4
#: glTF sampler wrap codes -> names (the renderer maps them to OpenGL).
_REPEAT = 10497


@dataclass
class Primitive:
    """One triangle list: vertex attributes, indices, morph target deltas, material index."""

    positions: np.ndarray  # (n, 3) float32
    normals: np.ndarray  # (n, 3) float32 (smooth normals are computed when the file has none)
    indices: np.ndarray  # (m, 3) uint32
    material: int | None
    uv: np.ndarray | None = None  # (n, 2) float32, TEXCOORD_0
    colors: np.ndarray | None = None  # (n, 4) float32 linear, COLOR_0
    tangents: np.ndarray | None = None  # (n, 4) float32
    joints: np.ndarray | None = None  # (n, 4) uint16, JOINTS_0
    weights: np.ndarray | None = None  # (n, 4) float32, WEIGHTS_0
    target_positions: list[np.ndarray | None] = field(default_factory=list)  # (n, 3) deltas per target
    target_normals: list[np.ndarray | None] = field(default_factory=list)

    @property
    def num_targets(self) -> int:
        return len(self.target_positions)


@dataclass
class Mesh:
    name: str
    primitives: list[Primitive]
    target_names: list[str] | None
    default_weights: np.ndarray  # (targets,) float32


@dataclass
class Node:
    name: str
    parent: int | None
    children: list[int]
    translation: np.ndarray  # (3,)
    rotation: np.ndarray  # (4,) x, y, z, w
    scale: np.ndarray  # (3,)
    matrix: np.ndarray | None  # 4x4 when the file gives a matrix instead of TRS
    mesh: int | None = None
    skin: int | None = None
    weights: np.ndarray | None = None  # per-node morph weights (override the mesh's)

    def local_matrix(self, rotation: np.ndarray | None = None) -> np.ndarray:
        """The node's local transform; ``rotation`` (3x3) replaces its rest rotation (for head and eyes)."""
        if self.matrix is not None:
            if rotation is None:
                return self.matrix
            return trs_matrix(self.matrix[:3, 3], rotation, np.linalg.norm(self.matrix[:3, :3], axis=0))
        return trs_matrix(self.translation, rotation if rotation is not None else quaternion_matrix(self.rotation),
                          self.scale)

    def rest_rotation(self) -> np.ndarray:
        """3x3 rest rotation (scale removed)."""
        if self.matrix is not None:
            m = self.matrix[:3, :3]
            return m / np.where(np.linalg.norm(m, axis=0) > 0, np.linalg.norm(m, axis=0), 1.0)
        return quaternion_matrix(self.rotation)


@dataclass
class Skin:
    joints: list[int]
    inverse_bind: np.ndarray  # (joints, 4, 4)


@dataclass
class TextureRef:
    texture: int
    texcoord: int = 0
    scale: float = 1.0  # normalTexture.scale / occlusionTexture.strength


@dataclass
class Material:
    name: str = ""
    base_color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    base_color_texture: TextureRef | None = None
    metallic: float = 1.0
    roughness: float = 1.0
    metallic_roughness_texture: TextureRef | None = None
    normal_texture: TextureRef | None = None
    occlusion_texture: TextureRef | None = None
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_texture: TextureRef | None = None
    alpha_mode: str = "OPAQUE"  # OPAQUE, MASK or BLEND
    alpha_cutoff: float = 0.5
    double_sided: bool = False
    unlit: bool = False


@dataclass
class Texture:
    image: int | None
    mag_filter: int | None = None
    min_filter: int | None = None
    wrap_s: int = _REPEAT
    wrap_t: int = _REPEAT


@dataclass
class Scene:
    """Everything the renderer draws, plus the raw document for extensions (VRM)."""

    document: Document
    base: Path | None
    nodes: list[Node]
    roots: list[int]
    meshes: list[Mesh]
    materials: list[Material]
    textures: list[Texture]
    skins: list[Skin]
    root_matrix: np.ndarray  # applied above the scene roots (VRM 0.x faces -Z and is turned to face +Z)
    notes: list[str] = field(default_factory=list)  # what was skipped (unsupported primitives, textures...)
    _images: dict[int, np.ndarray | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.document.name

    def draw_order(self) -> list[int]:
        """Nodes reachable from the scene roots, parents before children."""
        order, stack = [], list(reversed(self.roots))
        while stack:
            index = stack.pop()
            order.append(index)
            stack.extend(reversed(self.nodes[index].children))
        return order

    def world_matrices(self, rotations: dict[int, np.ndarray] | None = None) -> dict[int, np.ndarray]:
        """World transform of every node; ``rotations`` replaces the local rotation (3x3) of some nodes."""
        rotations = rotations or {}
        world: dict[int, np.ndarray] = {}
        for index in self.draw_order():
            node = self.nodes[index]
            parent = world[node.parent] if node.parent is not None and node.parent in world else self.root_matrix
            world[index] = parent @ node.local_matrix(rotations.get(index))
        return world

    def image(self, index: int) -> np.ndarray | None:
        """Image ``index`` decoded to RGBA (cached); None, with a note, when it cannot be decoded."""
        if index not in self._images:
            try:
                data, _ = self.document.image_bytes(index, self.base)
                self._images[index] = decode_image(data, f"{index} of {self.name}")
            except Exception as error:  # noqa: BLE001 - a broken texture draws untextured, with a note
                self.notes.append(f"image {index} skipped: {error}")
                self._images[index] = None
        return self._images[index]


# ---- loading --------------------------------------------------------------------------------------------------
def _vector(value: Any, default: list[float]) -> np.ndarray:
    return np.asarray(value if value is not None else default, dtype=np.float64)


def _nodes(doc: Document) -> list[Node]:
    raw = doc.entries("nodes")
    parents: dict[int, int] = {}
    for index, node in enumerate(raw):
        for child in node.get("children") or []:
            if not 0 <= child < len(raw) or child in parents or child == index:
                raise AvatarFileError(f"{doc.name}: node {index} lists child {child} that is missing or already "
                                      "has a parent; the node tree is broken")
            parents[child] = index
    nodes = []
    for index, node in enumerate(raw):
        matrix = None
        if node.get("matrix") is not None:
            matrix = np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # glTF is column-major
        weights = np.asarray(node["weights"], dtype=np.float32) if node.get("weights") is not None else None
        nodes.append(Node(str(node.get("name") or f"node{index}"), parents.get(index), list(node.get("children") or []),
                          _vector(node.get("translation"), [0, 0, 0]), _vector(node.get("rotation"), [0, 0, 0, 1]),
                          _vector(node.get("scale"), [1, 1, 1]), matrix, node.get("mesh"), node.get("skin"), weights))
    return nodes


def smooth_normals(positions: np.ndarray, triangles: np.ndarray, welded: np.ndarray | None = None) -> np.ndarray:
    """Area-weighted vertex normals; vertices sharing a ``welded`` id (same position) share one normal."""
    return SmoothNormals(triangles, welded, len(positions))(positions)


class SmoothNormals:
    """``smooth_normals`` for one fixed set of triangles, with the index work done once: the morpher calls it
    every frame (about 4 times faster than working the indices out each time)."""

    def __init__(self, triangles: np.ndarray, welded: np.ndarray | None, count: int) -> None:
        corners = np.asarray(triangles, np.intp).reshape(-1, 3)
        self.corners = np.ascontiguousarray(corners.T)  # (3, m): each corner's gather reads one array
        self.ids = welded if welded is not None else np.arange(count)
        self.flat_ids = self.ids[corners].reshape(-1)
        self.size = int(self.ids.max()) + 1 if len(self.ids) else 0

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        a, b, c = (np.take(positions, self.corners[k], axis=0) for k in range(3))
        face = np.cross(b - a, c - a)
        summed = np.stack([np.bincount(self.flat_ids, weights=np.repeat(face[:, k], 3), minlength=self.size)
                           for k in range(3)], axis=1)
        normals = summed[self.ids]
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        return (normals / np.where(length > 0, length, 1.0)).astype(np.float32)


def _triangles(doc: Document, primitive: dict, count: int, where: str) -> np.ndarray | None:
    mode = primitive.get("mode", _TRIANGLES)
    indices = doc.accessor(primitive["indices"]).astype(np.uint32) if "indices" in primitive \
        else np.arange(count, dtype=np.uint32)
    if mode == 5:  # triangle strip
        tri = np.stack([indices[:-2], indices[1:-1], indices[2:]], axis=1)
        tri[1::2] = tri[1::2][:, [1, 0, 2]]
    elif mode == 6:  # triangle fan
        tri = np.stack([np.full(len(indices) - 2, indices[0]), indices[1:-1], indices[2:]], axis=1)
    elif mode == _TRIANGLES:
        tri = indices[: len(indices) // 3 * 3].reshape(-1, 3)
    else:
        return None
    if len(tri) and int(tri.max()) >= count:
        raise AvatarFileError(f"{doc.name}: {where} has indices past its {count} vertices; re-export the file")
    return np.ascontiguousarray(tri, dtype=np.uint32)


def _primitive(doc: Document, raw: dict, where: str, notes: list[str]) -> Primitive | None:
    attributes = raw.get("attributes") or {}
    if "POSITION" not in attributes:
        notes.append(f"{where} has no POSITION; skipped")
        return None
    positions = doc.accessor(attributes["POSITION"]).astype(np.float32)
    triangles = _triangles(doc, raw, len(positions), where)
    if triangles is None:
        notes.append(f"{where} draws points or lines (mode {raw.get('mode')}); skipped")
        return None

    def optional(name: str, dtype: type) -> np.ndarray | None:
        return doc.accessor(attributes[name]).astype(dtype) if name in attributes else None

    colors = optional("COLOR_0", np.float32)
    if colors is not None and colors.shape[1] == 3:
        colors = np.concatenate([colors, np.ones((len(colors), 1), np.float32)], axis=1)
    targets = raw.get("targets") or []
    target_positions = [doc.accessor(t["POSITION"]).astype(np.float32) if "POSITION" in t else None for t in targets]
    target_normals = [doc.accessor(t["NORMAL"]).astype(np.float32) if "NORMAL" in t else None for t in targets]
    normals = optional("NORMAL", np.float32)
    if normals is None:
        normals = smooth_normals(positions, triangles, weld(positions))
    return Primitive(positions, normals, triangles, raw.get("material"), optional("TEXCOORD_0", np.float32), colors,
                     optional("TANGENT", np.float32), optional("JOINTS_0", np.uint16), optional("WEIGHTS_0", np.float32),
                     target_positions, target_normals)


def weld(positions: np.ndarray) -> np.ndarray:
    """An id per vertex, equal for vertices at the same position (seams share their smooth normal)."""
    rounded = np.round(positions / 1e-6).astype(np.int64)
    _, ids = np.unique(rounded, axis=0, return_inverse=True)
    return ids.reshape(-1)


def _target_names(mesh: dict) -> list[str] | None:
    """mesh.extras.targetNames (the de-facto convention), else the first primitive's extras."""
    primitives = mesh.get("primitives") or [{}]
    for extras in (mesh.get("extras"), primitives[0].get("extras")):
        if isinstance(extras, dict) and isinstance(extras.get("targetNames"), list):
            return [str(name) for name in extras["targetNames"]]
    return None


def _meshes(doc: Document, notes: list[str]) -> list[Mesh]:
    meshes = []
    for m, raw in enumerate(doc.entries("meshes")):
        name = str(raw.get("name") or f"mesh{m}")
        parts = [_primitive(doc, p, f"mesh {name!r} primitive {k}", notes) for k, p in enumerate(raw.get("primitives") or [])]
        primitives = [p for p in parts if p is not None]
        count = max((p.num_targets for p in primitives), default=0)
        weights = np.zeros(count, np.float32)
        if raw.get("weights"):
            given = np.asarray(raw["weights"], np.float32)[:count]
            weights[:len(given)] = given
        meshes.append(Mesh(name, primitives, _target_names(raw), weights))
    return meshes


def _texture_ref(raw: Any, scale_key: str = "scale") -> TextureRef | None:
    if not isinstance(raw, dict) or "index" not in raw:
        return None
    return TextureRef(int(raw["index"]), int(raw.get("texCoord", 0)), float(raw.get(scale_key, 1.0)))


def _materials(doc: Document) -> list[Material]:
    materials = []
    for raw in doc.entries("materials"):
        pbr = raw.get("pbrMetallicRoughness") or {}
        extensions = raw.get("extensions") or {}
        materials.append(Material(
            name=str(raw.get("name", "")),
            base_color=tuple(pbr.get("baseColorFactor", (1.0, 1.0, 1.0, 1.0))),  # type: ignore[arg-type]
            base_color_texture=_texture_ref(pbr.get("baseColorTexture")),
            metallic=float(pbr.get("metallicFactor", 1.0)), roughness=float(pbr.get("roughnessFactor", 1.0)),
            metallic_roughness_texture=_texture_ref(pbr.get("metallicRoughnessTexture")),
            normal_texture=_texture_ref(raw.get("normalTexture")),
            occlusion_texture=_texture_ref(raw.get("occlusionTexture"), "strength"),
            emissive=tuple(raw.get("emissiveFactor", (0.0, 0.0, 0.0))),  # type: ignore[arg-type]
            emissive_texture=_texture_ref(raw.get("emissiveTexture")),
            alpha_mode=str(raw.get("alphaMode", "OPAQUE")), alpha_cutoff=float(raw.get("alphaCutoff", 0.5)),
            double_sided=bool(raw.get("doubleSided", False)), unlit="KHR_materials_unlit" in extensions))
    return materials


def _textures(doc: Document) -> list[Texture]:
    samplers = doc.entries("samplers")
    textures = []
    for raw in doc.entries("textures"):
        source = raw.get("source")
        if source is None:  # ffmpeg decodes WebP; KTX2/Basis textures have no fallback we can read
            source = ((raw.get("extensions") or {}).get("EXT_texture_webp") or {}).get("source")
        sampler = samplers[raw["sampler"]] if isinstance(raw.get("sampler"), int) and raw["sampler"] < len(samplers) \
            else {}
        textures.append(Texture(source, sampler.get("magFilter"), sampler.get("minFilter"),
                                sampler.get("wrapS", _REPEAT), sampler.get("wrapT", _REPEAT)))
    return textures


def _skins(doc: Document) -> list[Skin]:
    skins = []
    for raw in doc.entries("skins"):
        joints = [int(j) for j in raw.get("joints") or []]
        if "inverseBindMatrices" in raw:
            matrices = doc.accessor(raw["inverseBindMatrices"]).astype(np.float64).reshape(-1, 4, 4).transpose(0, 2, 1)
        else:
            matrices = np.repeat(np.eye(4)[None], len(joints), axis=0)
        skins.append(Skin(joints, matrices))
    return skins


def _root_matrix(doc: Document) -> np.ndarray:
    """VRM 0.x avatars face -Z (three-vrm turns them too); everything else follows glTF and faces +Z."""
    matrix = np.eye(4)
    if "VRM" in (doc.json.get("extensions") or {}):
        matrix[0, 0] = matrix[2, 2] = -1.0
    return matrix


def load_scene(source: str | Path | bytes, name: str | None = None) -> Scene:
    """Parse a glTF 2.0 avatar into a Scene; raises AvatarFileError for files that are not usable glTF."""
    doc, base = load_document(source, name)
    notes: list[str] = []
    required = set(doc.json.get("extensionsRequired") or []) - {"KHR_materials_unlit", "KHR_texture_transform",
                                                                "EXT_texture_webp", "KHR_mesh_quantization"}
    if required:
        raise AvatarFileError(f"{doc.name} requires glTF extensions the renderer does not read: "
                              f"{', '.join(sorted(required))}; export it without compression "
                              "(e.g. gltf-transform copy without Draco/meshopt)")
    try:
        nodes = _nodes(doc)
        scenes = doc.entries("scenes")
        scene_index = doc.json.get("scene", 0)
        if scenes and isinstance(scene_index, int) and scene_index < len(scenes):
            roots = [int(n) for n in scenes[scene_index].get("nodes") or []]
        else:
            roots = [i for i, node in enumerate(nodes) if node.parent is None]
        scene = Scene(doc, base, nodes, roots, _meshes(doc, notes), _materials(doc), _textures(doc), _skins(doc),
                      _root_matrix(doc), notes)
    except AvatarFileError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise AvatarFileError(f"{doc.name} is not a usable glTF 2.0 file: {type(error).__name__} {error}; "
                              "check it with the Khronos glTF validator") from error
    if not any(scene.nodes[i].mesh is not None for i in scene.draw_order()):
        raise AvatarFileError(f"{doc.name} has no mesh in its scene; nothing to render")
    return scene
