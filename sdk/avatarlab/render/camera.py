"""Cameras: the presets (head and shoulders, face close-up, mouth close-up), framed from the avatar's own bounds.

Every preset looks at the avatar from the front (+Z, the direction glTF avatars face) with a 25 degree lens;
the distance is chosen so the framed box fills the frame at any aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import OCULUS_VISEMES
from .rig import Rig
from .scene import Scene
from .transforms import look_at, perspective

FOV_Y_DEG = 25.0
Bounds = tuple[np.ndarray, np.ndarray]
#: head-shoulders: the frame runs from a little above the head to this many head heights below its chin (or to the
#: bottom of the avatar, for a bust), and is at least this many head widths wide.
SHOULDERS_BELOW, SHOULDERS_WIDTH, HEADROOM = 0.85, 2.4, 0.12
#: face: the head box plus this share of its height.
FACE_MARGIN = 0.18


@dataclass(frozen=True)
class Camera:
    """A perspective camera in the avatar's world space (metres)."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y_deg: float = FOV_Y_DEG
    near: float = 0.01
    far: float = 100.0
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def view(self) -> np.ndarray:
        return look_at(np.array(self.eye), np.array(self.target), np.array(self.up))

    def projection(self, aspect: float) -> np.ndarray:
        return perspective(self.fov_y_deg, aspect, self.near, self.far)


def world_vertices(scene: Scene, world: dict[int, np.ndarray]) -> list[tuple[int, int, int, np.ndarray, np.ndarray]]:
    """(node, mesh, primitive, rest world positions, per-vertex joint node weights (n, 4) node ids or empty)."""
    out = []
    for node_index, matrices in world.items():
        node = scene.nodes[node_index]
        if node.mesh is None:
            continue
        skin = scene.skins[node.skin] if node.skin is not None and node.skin < len(scene.skins) else None
        for p, primitive in enumerate(scene.meshes[node.mesh].primitives):
            positions = np.c_[primitive.positions.astype(np.float64), np.ones(len(primitive.positions))]
            if skin is not None and primitive.joints is not None and primitive.weights is not None:
                joints = [world[j] if j in world else np.eye(4) for j in skin.joints]
                palette = np.stack(joints) @ skin.inverse_bind  # (J, 4, 4)
                weights = primitive.weights / np.maximum(primitive.weights.sum(axis=1, keepdims=True), 1e-9)
                skinned = np.einsum("nk,nkij,nj->ni", weights, palette[primitive.joints.astype(np.int64)], positions)
                nodes = np.asarray(skin.joints)[primitive.joints.astype(np.int64)]
                out.append((node_index, node.mesh, p, skinned[:, :3], np.stack([nodes, weights], axis=-1)))
            else:
                out.append((node_index, node.mesh, p, (positions @ matrices.T)[:, :3], np.zeros((0, 4, 2))))
    return out


def _subtree(scene: Scene, root: int) -> set[int]:
    found, stack = set(), [root]
    while stack:
        index = stack.pop()
        found.add(index)
        stack.extend(scene.nodes[index].children)
    return found


def _box(points: list[np.ndarray]) -> Bounds | None:
    points = [p for p in points if len(p)]
    if not points:
        return None
    stacked = np.concatenate(points)
    return stacked.min(axis=0), stacked.max(axis=0)


def head_bounds(scene: Scene, rig: Rig) -> Bounds:
    """The head's rest box: geometry under (or skinned to) the head node; else the driven face meshes; else the
    top fifth of the whole avatar."""
    world = scene.world_matrices()
    vertices = world_vertices(scene, world)
    if "head" in rig.rotation_nodes:
        head = _subtree(scene, rig.rotation_nodes["head"].node)
        picked = []
        for node, _, _, positions, joint_weights in vertices:
            if len(joint_weights):
                ids, weights = joint_weights[..., 0].astype(np.int64), joint_weights[..., 1]
                share = (np.isin(ids, list(head)) * weights).sum(axis=1)
                picked.append(positions[share >= 0.5])
            elif node in head:
                picked.append(positions)
        box = _box(picked)
        if box is not None:
            return box
    box = _box([positions for _, mesh, _, positions, _ in vertices if mesh in rig.meshes])
    if box is not None:
        return box
    low, high = _box([positions for *_, positions, _ in vertices])  # type: ignore[misc]
    return np.array([low[0], high[1] - (high[1] - low[1]) / 5, low[2]]), high


def mouth_bounds(scene: Scene, rig: Rig) -> Bounds | None:
    """Rest box of the vertices the lip shapes move most (mouth* and viseme targets, not the jaw)."""
    lip_columns = [i for i, name in enumerate(rig.expression_names)
                   if any((c.startswith("mouth") or (c in OCULUS_VISEMES and c != "sil"))
                          for c, _ in rig.profile.targets[name])]
    if not lip_columns:
        return None
    world = scene.world_matrices()
    moved, positions_all = [], []
    for node, mesh, p, positions, _ in world_vertices(scene, world):
        drive = rig.meshes.get(mesh)
        primitive = scene.meshes[mesh].primitives[p]
        if drive is None or not primitive.num_targets:
            continue
        lip_targets = _named_lip_targets([t for row, t in enumerate(drive.targets) if drive.binds[row, lip_columns].any()],
                                         scene.meshes[mesh].target_names)
        deltas = [primitive.target_positions[t] for t in lip_targets
                  if t < primitive.num_targets and primitive.target_positions[t] is not None]
        if deltas:
            moved.append(np.max([np.linalg.norm(d, axis=1) for d in deltas], axis=0))
            positions_all.append(positions)
    if not moved:
        return None
    peak = max(float(m.max()) for m in moved)
    if peak <= 0:
        return None
    return _box([pos[m >= 0.3 * peak] for pos, m in zip(positions_all, moved)])


#: Morph target names (lower case) that are lip shapes, best first: ARKit's mouth* move the lips alone; visemes
#: move the jaw too (the chin, teeth and tongue would widen the box).
LIP_TARGET_PREFIXES = (("mouth",), ("viseme", "lip", "v_"))


def _named_lip_targets(targets: list[int], names: list[str] | None) -> list[int]:
    """Of the targets a lip channel drives, those named as lip shapes (the best kind there is), when the mesh
    names its targets: a VRM's happy or sad expression binds cheek, eye and brow targets too."""
    if not names:
        return targets
    for prefixes in LIP_TARGET_PREFIXES:
        named = [t for t in targets if t < len(names) and names[t].lower().startswith(prefixes)]
        if named:
            return named
    return targets


def frame_box(box: Bounds, height: float, centre: np.ndarray, aspect: float, fov_y_deg: float = FOV_Y_DEG,
              width: float = 0.0) -> Camera:
    """A front camera at ``centre`` seeing ``height`` metres (and at least ``width``) at the box's front."""
    low, high = box
    visible = max(height, width / aspect)
    distance = visible / 2 / np.tan(np.radians(fov_y_deg) / 2) + (high[2] - centre[2])
    eye = (float(centre[0]), float(centre[1]), float(centre[2] + distance))
    extent = float(np.linalg.norm(high - low))
    return Camera(eye, tuple(float(v) for v in centre), fov_y_deg, near=max(distance - 4 * extent, distance / 100),
                  far=distance + 8 * extent)


def preset_camera(preset: str, scene: Scene, rig: Rig, aspect: float) -> Camera:
    """The camera of a preset for this avatar and frame aspect (width / height)."""
    low, high = head_bounds(scene, rig)
    size = high - low
    if preset == "mouth":
        mouth = mouth_bounds(scene, rig)
        if mouth is not None:
            m_low, m_high = mouth
            centre = (m_low + m_high) / 2
            m_size = m_high - m_low
            return frame_box(mouth, height=max(m_size[1] * 3.0, size[1] * 0.3), centre=centre, aspect=aspect,
                             width=m_size[0] * 1.8)
        preset = "face"
    if preset == "face":
        return frame_box((low, high), height=size[1] * (1 + FACE_MARGIN), centre=(low + high) / 2, aspect=aspect,
                         width=size[0] * (1 + FACE_MARGIN))
    scene_low = scene_bounds(scene)[0][1]
    top = high[1] + HEADROOM * size[1]
    bottom = max(low[1] - SHOULDERS_BELOW * size[1], min(scene_low, low[1]))
    centre = np.array([(low[0] + high[0]) / 2, (top + bottom) / 2, (low[2] + high[2]) / 2])
    return frame_box((low, high), height=top - bottom, centre=centre, aspect=aspect, width=size[0] * SHOULDERS_WIDTH)


def scene_bounds(scene: Scene) -> Bounds:
    """The whole avatar's rest box."""
    box = _box([positions for *_, positions, _ in world_vertices(scene, scene.world_matrices())])
    assert box is not None  # load_scene refuses scenes without meshes
    return box
