"""The photo avatar as a GLB: the textured face surface with every morph target, a dark mouth interior behind
the lips, photo-textured eye sockets, eyeballs on LeftEye / RightEye nodes, a back-of-head shell and the default
avatar's neck and shoulders, under the default avatar's node names."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pygltflib as gl

from ..avatar.default import MORPH_TOLERANCE
from ..avatar.gltf import BufferPacker
from ..avatar.head import VISEME_RECIPES, shape_names, vertex_normals
from ..export.retarget import viseme_target_names
from ..render.images import png_bytes
from .lift import LiftedFace
from .mouth import mouth_parts
from .shapes import FaceShapes, close_lips
from .shell import NECK_PIVOT, body, head_shell, neck_pivot
from .topology import Topology, wound_along

GENERATOR = "avatarlab photo avatar generator"
#: The face texture's side in pixels: a power of two holding twice the photo's own pixels across the crop (no
#: detail lost to the resampling, none invented: a 134-pixel crop of a small face gets 512), within these bounds.
TEXTURE_SIDES = (256, 1024)
MOUTH_COLOUR = (0.025, 0.006, 0.008)
LASH_COLOUR = (0.012, 0.008, 0.007)
LASH_WIDTH = 0.0012  # metres, mid-lid
EYE_DEPTH = 0.001  # the eyeball's front sits this far behind the lid line
EYE_RADIUS = 0.0125


@dataclass
class Surface:
    positions: np.ndarray  # (n, 3) metres, head frame
    triangles: np.ndarray  # (m, 3)
    uv: np.ndarray | None = None  # (n, 2) texture coordinates
    colours: np.ndarray | None = None  # (n, 3) linear vertex colours
    shapes: dict[str, np.ndarray] | None = None  # target name -> (n, 3)


def texture_side(crop_pixels: float) -> int:
    """TEXTURE_SIDES-bounded power of two at least twice the crop's side in photo pixels."""
    low, high = TEXTURE_SIDES
    return int(min(high, max(low, 2 ** int(np.ceil(np.log2(max(2 * crop_pixels, 1.0)))))))


def texture(image: np.ndarray, points: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A square crop of the photo around the face (15% margin), resampled to texture_side(...), as PNG bytes;
    the crop's origin and size in photo pixels."""
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    side = max(x1 - x0, y1 - y0) * 1.3
    origin = np.array([(x0 + x1 - side) / 2, (y0 + y1 - side) / 2])
    pixels = texture_side(side)
    grid = (np.arange(pixels) + 0.5) / pixels * side
    xs, ys = origin[0] + grid, origin[1] + grid
    h, w = image.shape[:2]
    fx, fy = np.clip(xs - 0.5, 0, w - 1), np.clip(ys - 0.5, 0, h - 1)
    ix, iy = np.minimum(fx.astype(int), w - 2), np.minimum(fy.astype(int), h - 2)
    tx, ty = (fx - ix)[None, :, None], (fy - iy)[:, None, None]
    img = image.astype(np.float32)
    top = img[iy][:, ix] * (1 - tx) + img[iy][:, ix + 1] * tx
    bottom = img[iy + 1][:, ix] * (1 - tx) + img[iy + 1][:, ix + 1] * tx
    crop = np.rint(top * (1 - ty) + bottom * ty).astype(np.uint8)
    return png_bytes(crop), origin, np.array([side, side])


def face_surface(face: LiftedFace, uv: np.ndarray, topo: Topology, shapes: dict[str, np.ndarray]) -> Surface:
    p = face.positions
    centre = np.array([0.0, 0.0, p[:, 2].min() - 0.05])
    tris = topo.triangles
    outward = p[tris].mean(axis=1) - centre
    return Surface(p, wound_along(tris, p, outward), uv, shapes=shapes)


def lash_lines(face: LiftedFace, topo: Topology, shapes: dict[str, np.ndarray]) -> Surface:
    """A thin dark band along each upper lid (thickest mid-lid, LASH_WIDTH), moving with the lid: lash lines
    as a photo shows them, and the line a closed eye reads by."""
    positions, triangles, moves = [], [], {name: [] for name in shapes}
    for eye in ("left", "right"):
        upper = topo.regions[f"{eye}EyeUpper"]
        lid = face.positions[upper]
        taper = np.sin(np.linspace(0, np.pi, len(upper)))[:, None] * 0.8 + 0.2
        base = sum(len(p) for p in positions)
        positions.append(np.concatenate([lid + np.array([0, 0, 0.0004]),
                                         lid + np.array([0, LASH_WIDTH, 0.0006]) * taper]))
        n = len(upper)
        triangles += [(base + i, base + i + 1, base + n + i + 1) for i in range(n - 1)]
        triangles += [(base + i, base + n + i + 1, base + n + i) for i in range(n - 1)]
        for name, delta in shapes.items():
            moves[name].append(np.concatenate([delta[upper], delta[upper]]))
    positions = np.concatenate(positions)
    tris = wound_along(np.asarray(triangles), positions, np.array([[0, 0, 1.0]]))
    return Surface(positions, tris, shapes={k: np.concatenate(v) for k, v in moves.items()})  # LASH_COLOUR


def eye_socket(face: LiftedFace, uv: np.ndarray, topo: Topology, eye: str,
               names: list[str]) -> tuple[Surface, np.ndarray]:
    """The eye opening backed by a cup textured with the photo's own eye (its corners and whites show around
    the eyeball); returns it (head frame, still) and the eyeball's centre, EYE_RADIUS behind the lid line."""
    ring = topo.ring(f"{eye}EyeUpper", f"{eye}EyeLower")
    lid, lid_uv = face.positions[ring], uv[ring]
    centre, centre_uv = lid.mean(axis=0), lid_uv.mean(axis=0)
    steps = (1.7, 1.2, 0.8, 0.4)  # the rim reaches well behind the skin: a side view through the opening meets it
    positions = [centre]
    uvs = [centre_uv]
    for t in steps:
        positions += list(centre + (lid - centre) * t)
        uvs += list(centre_uv + (lid_uv - centre_uv) * t)
    positions = np.asarray(positions)
    # sealed against the lids (1 mm behind each lid vertex) and 0.8 mm behind the eyeball wherever it is
    front = lid[:, 2].max() - EYE_DEPTH
    ball = np.array([centre[0], centre[1], front - EYE_RADIUS])
    reach = np.linalg.norm((positions - ball)[:, :2], axis=1)
    behind_ball = ball[2] + np.sqrt(np.maximum(EYE_RADIUS ** 2 - reach ** 2, 0.0)) - 0.0008
    lid_z = np.concatenate([[lid[:, 2].max()], np.tile(lid[:, 2], len(steps))]) - 0.001
    positions[:, 2] = np.minimum(lid_z, behind_ball)
    n = len(ring)
    triangles = []
    for ring_index in range(len(steps) - 1):
        a, b = 1 + ring_index * n, 1 + (ring_index + 1) * n
        for i in range(n):
            j = (i + 1) % n
            triangles += [(a + i, a + j, b + j), (a + i, b + j, b + i)]
    last = 1 + (len(steps) - 1) * n
    triangles += [(last + i, last + (i + 1) % n, 0) for i in range(n)]
    tris = wound_along(np.asarray(triangles), positions, np.array([[0, 0, 1.0]]))
    still = {name: np.zeros_like(positions) for name in names}
    return Surface(positions, tris, np.asarray(uvs), shapes=still), ball


#: Which of the Iris model's two irises (33/133's eye first) belongs to each eye of the topology.
IRIS_INDEX = {"right": 0, "left": 1}
#: The part of the iris's radius whose colour the eyeball takes: past the pupil, short of the dark limbal ring.
IRIS_RING = (0.45, 0.9)


def eye_colours(image: np.ndarray, points: np.ndarray, topo: Topology, eye: str,
                iris: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(iris, sclera) sRGB colours from the photo. The iris: the median of the ring the Iris model found
    (``iris``: centre then four edges) where the lids leave it open; without it, or with too little of it open, a
    disc at the eye's middle without its darkest fifth (the pupil). The whites: half way to each corner."""
    from .shell import sample

    ring = topo.ring(f"{eye}EyeUpper", f"{eye}EyeLower")
    xy = points[ring, :2]
    centre = xy.mean(axis=0)
    colour = None if iris is None else _iris_ring_colour(image, iris, xy)
    if colour is None:
        colour = _middle_disc_colour(image, centre, max(2, int(0.3 * (xy[:, 1].max() - xy[:, 1].min()))))
    corners = points[[ring[0], topo.regions[f"{eye}EyeUpper"][-1]], :2]
    sclera = sample(image, (centre + corners) / 2, radius=1).mean(axis=0)
    return colour, sclera


def _iris_ring_colour(image: np.ndarray, iris: np.ndarray, lids: np.ndarray) -> np.ndarray | None:
    """Median colour of the pixels between IRIS_RING of the iris's radius that lie inside the lids' outline;
    None when fewer than 8 do (an iris hidden by the lids or too small to read)."""
    from .labels import inside

    centre = iris[0, :2]
    radius = float(np.linalg.norm(iris[1:, :2] - centre, axis=1).mean())
    h, w = image.shape[:2]
    (x0, y0), (x1, y1) = np.clip(np.floor(centre - radius), 0, None), np.minimum(np.ceil(centre + radius), [w - 1, h - 1])
    ys, xs = np.mgrid[int(y0):int(y1) + 1, int(x0):int(x1) + 1]
    at = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    distance = np.linalg.norm(at - centre, axis=1) / max(radius, 1e-6)
    keep = (distance >= IRIS_RING[0]) & (distance <= IRIS_RING[1]) & inside(lids, at)
    if keep.sum() < 8:
        return None
    return np.median(image[ys.ravel()[keep], xs.ravel()[keep]].astype(float), axis=0)


def _middle_disc_colour(image: np.ndarray, centre: np.ndarray, radius: int) -> np.ndarray:
    h, w = image.shape[:2]
    x, y = np.clip(np.rint(centre).astype(int), 0, [w - 1, h - 1])
    disc = image[max(y - radius, 0):y + radius + 1, max(x - radius, 0):x + radius + 1].reshape(-1, 3).astype(float)
    light = disc.mean(axis=1)
    return np.median(disc[light >= np.percentile(light, 20)], axis=0)


def eyeball(iris: np.ndarray, sclera: np.ndarray) -> Surface:
    """The default avatar's eyeball (looking along +Z) with the photo's iris and whites."""
    from ..avatar.head import build_eye
    from ..avatar.lips import smoothstep
    from .shell import linear

    part = build_eye()
    angle = np.degrees(np.arccos(np.clip(part.positions[:, 2] / EYE_RADIUS, -1, 1)))
    iris_weight, pupil = smoothstep(34.0, 30.0, angle)[:, None], smoothstep(15.0, 12.0, angle)[:, None]
    colours = linear(sclera)[None] * (1 - iris_weight) + linear(iris)[None] * iris_weight
    colours = colours * (1 - pupil) + np.array([0.02, 0.02, 0.025]) * pupil
    return Surface(part.positions, part.triangles.astype(np.int64), colours=colours)


def all_shapes(face: LiftedFace, topo: Topology) -> dict[str, np.ndarray]:
    """The 52 ARKit shapes and the 15 visemes (as the default head blends them), by target name."""
    shapes = FaceShapes(face.positions, topo).build()
    for viseme, target in viseme_target_names().items():
        shapes[target] = sum((weight * shapes[name] for name, weight in VISEME_RECIPES[viseme].items()
                              if name in shapes), np.zeros_like(face.positions))
    return shapes


class _Writer:
    def __init__(self, texture_png: bytes) -> None:
        self.gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator=GENERATOR))
        self.packer = BufferPacker.for_document(self.gltf)
        self.gltf.images = [gl.Image(bufferView=self.packer.view(texture_png), mimeType="image/png")]
        self.gltf.samplers = [gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR,
                                         wrapS=gl.CLAMP_TO_EDGE, wrapT=gl.CLAMP_TO_EDGE)]
        self.gltf.textures = [gl.Texture(sampler=0, source=0)]
        self.gltf.materials = [
            gl.Material(name="Skin", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorTexture=gl.TextureInfo(index=0), metallicFactor=0.0, roughnessFactor=0.6)),
            gl.Material(name="MouthInterior", doubleSided=True, pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[*MOUTH_COLOUR, 1.0], metallicFactor=0.0, roughnessFactor=0.8)),
            gl.Material(name="Eye", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorTexture=gl.TextureInfo(index=0), metallicFactor=0.0, roughnessFactor=0.15)),
            gl.Material(name="Lashes", doubleSided=True, pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[*LASH_COLOUR, 1.0], metallicFactor=0.0, roughnessFactor=0.9)),
            gl.Material(name="SkinBack", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.6)),
            gl.Material(name="Clothes", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.85)),
            gl.Material(name="Teeth", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.3)),
            gl.Material(name="Tongue", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.45)),
        ]

    def primitive(self, surface: Surface, material: int, targets: list[str] | None) -> gl.Primitive:
        packer, positions = self.packer, surface.positions.astype(np.float32)
        attributes = gl.Attributes(POSITION=packer.accessor(positions, gl.ARRAY_BUFFER),
                                   NORMAL=packer.accessor(vertex_normals(positions, surface.triangles),
                                                          gl.ARRAY_BUFFER, bounds=False))
        if surface.uv is not None:
            attributes.TEXCOORD_0 = packer.accessor(surface.uv.astype(np.float32), gl.ARRAY_BUFFER, bounds=False)
        if surface.colours is not None:
            attributes.COLOR_0 = packer.accessor(np.clip(surface.colours, 0, 1).astype(np.float32), gl.ARRAY_BUFFER,
                                                 bounds=False)
        primitive = gl.Primitive(attributes=attributes, material=material, indices=packer.accessor(
            surface.triangles.reshape(-1).astype(np.uint16), gl.ELEMENT_ARRAY_BUFFER, bounds=False))
        if targets:
            primitive.targets = [{"POSITION": packer.sparse_vec3(surface.shapes[name].astype(np.float32),
                                                                 MORPH_TOLERANCE)} for name in targets]
        return primitive

    def node(self, name: str, **fields) -> int:
        self.gltf.nodes.append(gl.Node(name=name, **fields))
        return len(self.gltf.nodes) - 1


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One (positions, triangles) from several."""
    offsets = np.cumsum([0] + [len(p) for p, _ in parts[:-1]])
    return (np.concatenate([p for p, _ in parts]),
            np.concatenate([t.astype(np.int64) + o for (_, t), o in zip(parts, offsets)]))


def _floats(vector: np.ndarray) -> list[float]:
    return [float(v) for v in vector]


def photo_avatar_document(image: np.ndarray, points: np.ndarray, face: LiftedFace, topo: Topology,
                          irises: np.ndarray | None = None) -> bytes:
    """GLB bytes: node ``AvatarLab`` -> ``Head`` (at the top of the neck) -> ``HeadMesh`` (mesh ``Head``, all
    morph targets), ``LeftEye`` / ``RightEye``; the same names the retarget profiles look for. ``irises``
    (2, 5, 3), where the Iris model found them, give the eyeballs their colour."""
    face = replace(face, positions=close_lips(face.positions, topo))
    png, origin, size = texture(image, points)
    uv = (points[:, :2] - origin) / size
    shapes = all_shapes(face, topo)
    names = shape_names()
    writer = _Writer(png)
    pivot = neck_pivot(face)
    skin = face_surface(face, uv, topo, shapes)
    body_parts = body(image, points)
    torso = _joined([(part.positions + pivot - NECK_PIVOT, part.triangles) for part in body_parts])
    mouth, teeth, tongue = (Surface(at, tris, colours=colours, shapes=moves) for at, tris, colours, moves
                            in mouth_parts(face.positions, topo, FaceShapes(face.positions, topo).jaw, shapes, torso))
    positions, triangles, colours, moves = head_shell(face, topo, image, points, shapes)
    shell = Surface(positions, triangles, colours=colours, shapes=moves)
    lashes = lash_lines(face, topo, shapes)
    sockets, centres = zip(*(eye_socket(face, uv, topo, eye, names) for eye in ("left", "right")))
    for surface in (skin, mouth, teeth, tongue, shell, lashes, *sockets):
        surface.positions = surface.positions - pivot
    gltf = writer.gltf
    gltf.meshes.append(gl.Mesh(name="Head", primitives=[writer.primitive(skin, 0, names),
                                                        writer.primitive(mouth, 1, names),
                                                        writer.primitive(teeth, 6, names),
                                                        writer.primitive(tongue, 7, names),
                                                        writer.primitive(shell, 4, names),
                                                        writer.primitive(lashes, 3, names),
                                                        *(writer.primitive(socket, 2, names) for socket in sockets)],
                               weights=[0.0] * len(names), extras={"targetNames": names}))
    children = [writer.node("HeadMesh", mesh=0)]
    for eye, node, centre in (("left", "LeftEye", centres[0]), ("right", "RightEye", centres[1])):
        gltf.meshes.append(gl.Mesh(name=f"{node}Ball", primitives=[
            writer.primitive(eyeball(*eye_colours(image, points, topo, eye,
                                                None if irises is None else irises[IRIS_INDEX[eye]])), 4, None)]))
        children.append(writer.node(node, mesh=len(gltf.meshes) - 1, translation=_floats(centre - pivot)))
    body_materials = {"Skin": 4, "Clothes": 5}
    gltf.meshes.append(gl.Mesh(name="Body", primitives=[
        writer.primitive(Surface(part.positions, part.triangles, colours=part.colors), body_materials[part.material],
                         None) for part in body_parts]))
    body_node = writer.node("Body", mesh=len(gltf.meshes) - 1)
    head = writer.node("Head", translation=_floats(NECK_PIVOT), children=children)
    root = writer.node("AvatarLab", children=[head, body_node])
    gltf.scenes = [gl.Scene(name="AvatarLab", nodes=[root])]
    gltf.scene = 0
    return writer.packer.finish()
