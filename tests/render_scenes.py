"""Small synthetic avatars for the renderer tests, each exercising one glTF feature the way other tools export it:
textures, normal maps, alpha-blended and alpha-masked parts, skinning, VRM 1.0 and VRM 0.x expressions.

The head is a sphere above a neck pivot, with a red nose in front (so turns and facing show) and a dark mouth slot
whose one morph target opens it downwards; a blue box below stands for the shoulders. Also: pixel helpers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib as gl

from avatarlab.avatar.gltf import BufferPacker
from avatarlab.render.images import png_bytes, write_png

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "render"
HEAD_CENTRE = np.array([0.0, 0.12, 0.0])
HEAD_RADIUS = 0.1
SKIN = (0.8, 0.6, 0.5, 1.0)
MOUTH_OPEN = 0.035  # metres the mouth's lower edge drops at weight 1


def save_artifact(name: str, image: np.ndarray) -> Path:
    """Write a rendered image where a person can open it (out/ is git-ignored)."""
    return write_png(ARTIFACTS / name, image)


def _sphere(rows: int = 24, columns: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions, normals, uvs (u = longitude, 0.5 at the front +Z), triangles."""
    theta = np.linspace(0, np.pi, rows + 1)  # from the top
    phi = np.linspace(-np.pi, np.pi, columns + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    normals = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    uv = np.stack([(p / (2 * np.pi) + 0.5), t / np.pi], axis=-1).reshape(-1, 2)
    triangles = []
    for r in range(rows):
        for c in range(columns):
            a, b = r * (columns + 1) + c, (r + 1) * (columns + 1) + c
            triangles += [(a, b, a + 1), (a + 1, b, b + 1)]
    positions = HEAD_CENTRE + HEAD_RADIUS * normals
    return (positions.astype(np.float32), normals.astype(np.float32), uv.astype(np.float32),
            np.asarray(triangles, np.uint16))


def _box(centre: tuple[float, float, float], half: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    """A box with flat normals (24 vertices), uvs 0..1 on every face."""
    positions, normals, uvs, triangles = [], [], [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u_axis, v_axis = [a for a in range(3) if a != axis]
            base = len(positions)
            for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                corner = np.array(centre, dtype=float)
                corner[axis] += sign * half[axis]
                corner[u_axis] += du * half[u_axis]
                corner[v_axis] += dv * half[v_axis]
                positions.append(corner)
                normals.append(n)
                uvs.append(((du + 1) / 2, (dv + 1) / 2))
            quad = [(base, base + 1, base + 2), (base, base + 2, base + 3)]
            for tri in quad:  # counter-clockwise seen from outside
                a, b, c = (np.array(positions[i]) for i in tri)
                triangles.append(tri if np.dot(np.cross(b - a, c - a), n) > 0 else (tri[0], tri[2], tri[1]))
    return (np.asarray(positions, np.float32), np.asarray(normals, np.float32), np.asarray(uvs, np.float32),
            np.asarray(triangles, np.uint16))


def _flip_z(part: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Turn a part half round (VRM 0.x avatars face -Z): x and z negated, winding kept (a rotation)."""
    positions, normals, uvs, triangles = part
    turn = np.array([-1.0, 1.0, -1.0], np.float32)
    return positions * turn, normals * turn, uvs, triangles


class _Builder:
    def __init__(self) -> None:
        self.gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="avatarlab render tests"))
        self.packer = BufferPacker.for_document(self.gltf)

    def material(self, name: str, colour: tuple[float, ...], **fields) -> int:
        pbr = gl.PbrMetallicRoughness(baseColorFactor=list(colour), metallicFactor=0.0, roughnessFactor=0.6)
        if "base_texture" in fields:
            pbr.baseColorTexture = gl.TextureInfo(index=fields.pop("base_texture"))
        self.gltf.materials.append(gl.Material(name=name, pbrMetallicRoughness=pbr, **fields))
        return len(self.gltf.materials) - 1

    def texture(self, image: np.ndarray, nearest: bool = False) -> int:
        view = self.packer.view(png_bytes(image))
        self.gltf.images.append(gl.Image(bufferView=view, mimeType="image/png"))
        self.gltf.samplers.append(gl.Sampler(magFilter=gl.NEAREST if nearest else gl.LINEAR,
                                             minFilter=gl.NEAREST if nearest else gl.LINEAR_MIPMAP_LINEAR))
        self.gltf.textures.append(gl.Texture(source=len(self.gltf.images) - 1, sampler=len(self.gltf.samplers) - 1))
        return len(self.gltf.textures) - 1

    def vec2(self, values: np.ndarray) -> int:
        """BufferPacker has no VEC2 accessors (the default head needs none)."""
        view = self.packer.view(np.ascontiguousarray(values, np.float32).tobytes(), gl.ARRAY_BUFFER)
        self.gltf.accessors.append(gl.Accessor(bufferView=view, componentType=gl.FLOAT, count=len(values),
                                               type=gl.VEC2))
        return len(self.gltf.accessors) - 1

    def primitive(self, part: tuple[np.ndarray, ...], material: int, targets: list[np.ndarray] | None = None,
                  joints: int | None = None) -> gl.Primitive:
        positions, normals, uvs, triangles = part
        attributes = gl.Attributes(POSITION=self.packer.accessor(positions, gl.ARRAY_BUFFER),
                                   NORMAL=self.packer.accessor(normals, gl.ARRAY_BUFFER, bounds=False),
                                   TEXCOORD_0=self.vec2(uvs))
        if joints is not None:
            joint_ids = np.zeros((len(positions), 4), np.uint16)
            joint_ids[:, 0] = joints
            weights = np.zeros((len(positions), 4), np.float32)
            weights[:, 0] = 1.0
            attributes.JOINTS_0 = self.packer.accessor(joint_ids, gl.ARRAY_BUFFER, bounds=False)
            attributes.WEIGHTS_0 = self.packer.accessor(weights, gl.ARRAY_BUFFER, bounds=False)
        primitive = gl.Primitive(attributes=attributes, material=material,
                                 indices=self.packer.accessor(triangles.reshape(-1), gl.ELEMENT_ARRAY_BUFFER,
                                                              bounds=False))
        if targets:
            primitive.targets = [{"POSITION": self.packer.sparse_vec3(t)} for t in targets]
        return primitive

    def node(self, name: str, **fields) -> int:
        self.gltf.nodes.append(gl.Node(name=name, **fields))
        return len(self.gltf.nodes) - 1


def synthetic_avatar(kind: str = "plain", mouth_target: str = "jawOpen") -> bytes:
    """A GLB of the test head. kinds: plain, textured (base colour left red / right green from the viewer, a
    normal map), blend (a half-transparent green visor), mask (a blue visor with holes), skinned, vrm1, vrm0."""
    b = _Builder()
    facing_back = kind == "vrm0"
    turn = _flip_z if facing_back else (lambda part: part)
    skin_material_fields: dict = {}
    if kind == "textured":
        colours = np.zeros((2, 2, 4), np.uint8)
        colours[:, 0] = (255, 30, 30, 255)  # u < 0.5: the avatar's right, the viewer's left
        colours[:, 1] = (30, 255, 30, 255)
        skin_material_fields["base_texture"] = b.texture(colours, nearest=True)
        tilted = np.zeros((4, 4, 4), np.uint8)
        tilted[...] = (230, 128, 160, 255)  # tangent-space normal leaning hard along +u
        skin_material_fields["normalTexture"] = gl.NormalMaterialTexture(index=b.texture(tilted))
    skin = b.material("Skin", (1.0, 1.0, 1.0, 1.0) if kind == "textured" else SKIN, **skin_material_fields)
    nose = b.material("Nose", (0.9, 0.05, 0.05, 1.0))
    mouth = b.material("Mouth", (0.05, 0.02, 0.02, 1.0))
    body = b.material("Body", (0.1, 0.2, 0.8, 1.0))
    mouth_part = _box((0.0, 0.075, 0.092), (0.03, 0.004, 0.012))
    opening = np.zeros_like(mouth_part[0])
    opening[mouth_part[0][:, 1] < 0.075, 1] = -MOUTH_OPEN
    joints = {"skinned": (1, 1, 1)}.get(kind)
    head_primitives = [
        b.primitive(turn(_sphere()), skin, [np.zeros((25 * 33, 3), np.float32)], joints and joints[0]),
        b.primitive(turn(_box((0.0, 0.12, 0.1), (0.012, 0.02, 0.02))), nose, [np.zeros((24, 3), np.float32)],
                    joints and joints[1]),
        b.primitive(turn((mouth_part[0], mouth_part[1], mouth_part[2], mouth_part[3])), mouth,
                    [turn((opening, opening, None, None))[0]], joints and joints[2]),
    ]
    names = ["Fcl_MTH_A" if kind in ("vrm1", "vrm0") else mouth_target]
    b.gltf.meshes.append(gl.Mesh(name="Head", primitives=head_primitives, weights=[0.0],
                                 extras={"targetNames": names}))
    b.gltf.meshes.append(gl.Mesh(name="Body", primitives=[b.primitive(_box((0, -0.1, 0), (0.2, 0.05, 0.08)), body)]))
    visor = None
    if kind in ("blend", "mask"):
        holes = np.zeros((8, 8, 4), np.uint8)
        holes[...] = (255, 255, 255, 255)
        holes[::2, ::2, 3] = 0
        holes[1::2, 1::2, 3] = 0
        visor_material = b.material("Visor", (0.0, 1.0, 0.0, 0.5) if kind == "blend" else (0.0, 0.0, 1.0, 1.0),
                                    alphaMode="BLEND" if kind == "blend" else "MASK", doubleSided=True,
                                    **({"base_texture": b.texture(holes, nearest=True)} if kind == "mask" else {}))
        b.gltf.meshes.append(gl.Mesh(name="Visor", primitives=[
            b.primitive(_box((0.0, 0.13, 0.126), (0.09, 0.045, 0.002)), visor_material)]))
        visor = len(b.gltf.meshes) - 1
    if kind == "skinned":
        root = b.node("Root", children=[])
        head = b.node("Head", translation=[0.0, 0.0, 0.0])
        b.gltf.nodes[root].children = [head]
        inverse = np.repeat(np.eye(4, dtype=np.float32)[None], 2, axis=0)  # both joints rest at the origin
        view = b.packer.view(inverse.transpose(0, 2, 1).tobytes())  # glTF matrices are column-major
        b.gltf.accessors.append(gl.Accessor(bufferView=view, componentType=gl.FLOAT, count=2, type=gl.MAT4))
        b.gltf.skins.append(gl.Skin(joints=[root, head], inverseBindMatrices=len(b.gltf.accessors) - 1))
        head_mesh = b.node("HeadMesh", mesh=0, skin=0)
        scene_nodes = [root, head_mesh, b.node("Body", mesh=1)]
    else:
        head_mesh = b.node("HeadMesh", mesh=0)
        children = [head_mesh] + ([b.node("Visor", mesh=visor)] if visor is not None else [])
        head = b.node("Head", children=children)
        scene_nodes = [b.node("Avatar", children=[head, b.node("Body", mesh=1)])]
    if kind == "vrm1":
        b.gltf.extensionsUsed = ["VRMC_vrm"]
        b.gltf.extensions = {"VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": {"head": {"node": head}}},
                                          "expressions": {"preset": {"aa": {"morphTargetBinds": [
                                              {"node": head_mesh, "index": 0, "weight": 1.0}]}}}}}
    elif kind == "vrm0":
        b.gltf.extensionsUsed = ["VRM"]
        b.gltf.extensions = {"VRM": {"humanoid": {"humanBones": [{"bone": "head", "node": head}]},
                                     "blendShapeMaster": {"blendShapeGroups": [
                                         {"name": "A", "presetName": "a", "binds": [
                                             {"mesh": 0, "index": 0, "weight": 100}]}]}}}
    b.gltf.scenes = [gl.Scene(nodes=scene_nodes)]
    b.gltf.scene = 0
    return b.packer.finish()


def no_face_avatar() -> bytes:
    """A mesh whose only morph targets are blinks: nothing can move its mouth."""
    b = _Builder()
    material = b.material("Skin", SKIN)
    sphere = _sphere(8, 8)
    b.gltf.meshes.append(gl.Mesh(name="Head", primitives=[b.primitive(sphere, material,
                                                                       [np.zeros_like(sphere[0])] * 2)],
                                 weights=[0.0, 0.0], extras={"targetNames": ["Blink_L", "Blink_R"]}))
    b.gltf.scenes = [gl.Scene(nodes=[b.node("Head", mesh=0)])]
    b.gltf.scene = 0
    return b.packer.finish()


# ---- pixel measures ---------------------------------------------------------------------------------------------
def foreground(image: np.ndarray, background: tuple[int, int, int], tolerance: int = 6) -> np.ndarray:
    """Pixels that differ from the background colour."""
    return np.abs(image[..., :3].astype(int) - np.array(background)).max(axis=-1) > tolerance


def centroid(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) of a mask's pixels, in pixels from the top left."""
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def dark(image: np.ndarray, level: int = 60) -> np.ndarray:
    return image[..., :3].max(axis=-1) < level


def reddish(image: np.ndarray) -> np.ndarray:
    rgb = image[..., :3].astype(int)
    return (rgb[..., 0] > 120) & (rgb[..., 0] > 2 * rgb[..., 1]) & (rgb[..., 0] > 2 * rgb[..., 2])


def cavity(image: np.ndarray) -> np.ndarray:
    """The default head's mouth interior and tongue: deep red, far from skin and lip pink."""
    rgb = image[..., :3].astype(int)
    return (rgb[..., 0] > 80) & (rgb[..., 0] > 1.7 * rgb[..., 1])
