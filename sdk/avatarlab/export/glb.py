"""One utterance onto one avatar: a glTF animation of morph target weights and head/eye rotations.

The avatar's own content is kept as is (its buffer is extended, never rewritten); the audio stays a WAV beside
the GLB, named in ``asset.extras.avatarlab.audio`` since glTF has no standard audio.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pygltflib as gl

from ..animation import FaceFrames
from ..avatar.gltf import BufferPacker, read_glb
from ..channels import EYE_CHANNELS, HEAD_CHANNELS
from .retarget import ROTATION_ROLES, Profile, choose_profile, find_node

EXTRAS_KEY = "avatarlab"
EXPORT_FORMAT = "avatarlab.glb-export"
EXPORT_VERSION = 1


@dataclass
class AvatarInfo:
    """What a profile finds on an avatar: which meshes it drives, which targets and nodes are missing."""

    profile: Profile
    meshes: dict[int, dict[int, str]]  # node index -> {morph target index -> profile target name}
    target_names: dict[int, list[str]]  # node index -> the mesh's target names
    rotation_nodes: dict[str, int]  # role -> node index
    missing_targets: list[str]
    missing_nodes: list[str]
    unnamed_meshes: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """Human-readable notes on what this avatar cannot show."""
        notes = []
        if self.missing_targets:
            shown = ", ".join(self.missing_targets[:8]) + (" ..." if len(self.missing_targets) > 8 else "")
            notes.append(f"avatar lacks {len(self.missing_targets)} of the {len(self.profile.targets)} "
                         f"{self.profile.name} targets ({shown}); they are not animated")
        if self.missing_nodes:
            notes.append(f"no node found for {', '.join(self.missing_nodes)} rotation; it is not animated")
        for mesh in self.unnamed_meshes:
            notes.append(f"mesh {mesh!r} has morph targets without names (mesh.extras.targetNames); skipped")
        if not self.meshes:
            notes.append(f"no morph target of this avatar matches the {self.profile.name} profile")
        return notes

    def summary(self) -> dict[str, Any]:
        return {"profile": self.profile.name, "animated_meshes": len(self.meshes),
                "animated_targets": sum(len(m) for m in self.meshes.values()),
                "missing_targets": self.missing_targets, "missing_nodes": self.missing_nodes}


def _target_names(gltf: gl.GLTF2, mesh: gl.Mesh) -> list[str] | None:
    """Names from mesh.extras.targetNames (the de-facto convention), else from the first primitive's extras."""
    for extras in (mesh.extras, mesh.primitives[0].extras if mesh.primitives else None):
        if isinstance(extras, dict) and isinstance(extras.get("targetNames"), list):
            return [str(name) for name in extras["targetNames"]]
    return None


def inspect_avatar(gltf: gl.GLTF2, requested_profile: str) -> AvatarInfo:
    """Pick the profile (``auto`` looks at the target names) and match it against the avatar's meshes and nodes."""
    mesh_nodes = [(i, node) for i, node in enumerate(gltf.nodes) if node.mesh is not None]
    names_by_node, unnamed = {}, []
    for index, node in mesh_nodes:
        mesh = gltf.meshes[node.mesh]
        if not any(p.targets for p in mesh.primitives):
            continue
        names = _target_names(gltf, mesh)
        if names is None:
            unnamed.append(mesh.name or f"mesh {node.mesh}")
            continue
        names_by_node[index] = names
    all_names = [name for names in names_by_node.values() for name in names]
    profile = choose_profile(requested_profile, all_names)
    meshes = {node: matched for node, names in names_by_node.items() if (matched := profile.match(names))}
    driven = {target for matched in meshes.values() for target in matched.values()}
    rotation_nodes = {role: found for role in ROTATION_ROLES
                      if (found := find_node([node.name or "" for node in gltf.nodes], profile.nodes.get(role, ()))) is not None}
    return AvatarInfo(profile, meshes, names_by_node, rotation_nodes,
                      missing_targets=[t for t in profile.targets if t not in driven],
                      missing_nodes=[role for role in ROTATION_ROLES if role not in rotation_nodes],
                      unnamed_meshes=unnamed)


# ---- quaternions (x, y, z, w), batched over frames ---------------------------------------------------------
def _axis_quat(axis: int, angle: np.ndarray) -> np.ndarray:
    q = np.zeros((len(angle), 4))
    q[:, axis] = np.sin(angle / 2)
    q[:, 3] = np.cos(angle / 2)
    return q


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = np.moveaxis(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)), -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], axis=-1)


def _conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def avatar_rotation(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray | None = None) -> np.ndarray:
    """Our angles as rotations in the avatar's frame (+Y up, facing +Z): yaw about Y, then pitch about X, then roll.

    Pitch positive looks down (about +X), yaw positive turns to the avatar's left (+X), roll positive tilts the
    top of the head to the avatar's left (about -Z).
    """
    q = quat_multiply(_axis_quat(1, yaw), _axis_quat(0, pitch))
    if roll is not None:
        q = quat_multiply(q, _axis_quat(2, -roll))
    return q


def _matrix_to_trs(node: gl.Node) -> None:
    """Animated nodes may not use ``matrix`` (glTF rule): rewrite it as translation, rotation, scale."""
    if node.matrix is None:
        return
    m = np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T  # glTF stores column-major
    translation = m[:3, 3]
    scale = np.linalg.norm(m[:3, :3], axis=0)
    r = m[:3, :3] / np.where(scale > 0, scale, 1.0)
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2
    x = np.copysign(np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2, r[2, 1] - r[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2, r[0, 2] - r[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2, r[1, 0] - r[0, 1])
    node.matrix = None
    node.translation, node.scale = [float(v) for v in translation], [float(v) for v in scale]
    node.rotation = [float(v) for v in np.array([x, y, z, w]) / np.linalg.norm([x, y, z, w])]


def _rest_rotation(node: gl.Node) -> np.ndarray:
    return np.asarray(node.rotation if node.rotation is not None else [0.0, 0.0, 0.0, 1.0], dtype=np.float64)


def _parent_world_rotation(gltf: gl.GLTF2, index: int) -> np.ndarray:
    """The rest rotation of a node's parent in world space, so a world-space delta can be expressed locally."""
    parents = {child: i for i, node in enumerate(gltf.nodes) for child in (node.children or [])}
    q = np.array([0.0, 0.0, 0.0, 1.0])
    current = parents.get(index)
    while current is not None:
        _matrix_to_trs(gltf.nodes[current])
        q = quat_multiply(_rest_rotation(gltf.nodes[current]), q)
        current = parents.get(current)
    return q


def _local_rotations(gltf: gl.GLTF2, index: int, delta: np.ndarray) -> np.ndarray:
    """Per-frame local rotation = parent^-1 * delta * parent * rest (the delta turns the node in avatar space)."""
    node = gltf.nodes[index]
    _matrix_to_trs(node)
    parent = _parent_world_rotation(gltf, index)
    q = quat_multiply(quat_multiply(_conjugate(parent), delta), quat_multiply(parent, _rest_rotation(node)))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def _rotation_tracks(frames: FaceFrames) -> dict[str, np.ndarray]:
    head = {name: frames.head[:, i].astype(np.float64) for i, name in enumerate(HEAD_CHANNELS)}
    eyes = {name: frames.eyes[:, i].astype(np.float64) for i, name in enumerate(EYE_CHANNELS)}
    return {
        "head": avatar_rotation(head["headPitch"], head["headYaw"], head["headRoll"]),
        "leftEye": avatar_rotation(eyes["leftEyePitch"], eyes["leftEyeYaw"]),
        "rightEye": avatar_rotation(eyes["rightEyePitch"], eyes["rightEyeYaw"]),
    }


@lru_cache(maxsize=4)
def _parsed(avatar_glb: bytes) -> gl.GLTF2:
    """Parsing with pygltflib costs about a second for our head; a batch parses each avatar once per process."""
    return read_glb(avatar_glb)


def animate_avatar(avatar_glb: bytes, frames: FaceFrames, requested_profile: str, name: str,
                   extras: dict[str, Any]) -> tuple[bytes, AvatarInfo]:
    """The avatar GLB with one more animation (``name``) playing ``frames``; ``extras`` go to asset.extras."""
    gltf = copy.deepcopy(_parsed(avatar_glb))
    info = inspect_avatar(gltf, requested_profile)
    packer = BufferPacker.for_document(gltf)
    times = (np.arange(len(frames)) / frames.fps).astype(np.float32)
    time_accessor = packer.accessor(times)
    animation = gl.Animation(name=name, channels=[], samplers=[])

    def add_channel(node: int, path: str, values: np.ndarray) -> None:
        animation.samplers.append(gl.AnimationSampler(input=time_accessor, output=packer.accessor(values, bounds=False),
                                                      interpolation="LINEAR"))
        animation.channels.append(gl.AnimationChannel(sampler=len(animation.samplers) - 1,
                                                      target=gl.AnimationChannelTarget(node=node, path=path)))

    for node, matched in info.meshes.items():
        weights = np.zeros((len(frames), len(info.target_names[node])), dtype=np.float32)
        for target_index, target in matched.items():
            weights[:, target_index] = info.profile.weights(target, frames)
        add_channel(node, "weights", weights.reshape(-1))
    for role, delta in _rotation_tracks(frames).items():
        if role in info.rotation_nodes:
            node = info.rotation_nodes[role]
            add_channel(node, "rotation", _local_rotations(gltf, node, delta))
    if animation.channels:
        gltf.animations.append(animation)
    asset_extras = dict(gltf.asset.extras or {}) if isinstance(gltf.asset.extras, dict) else {}
    asset_extras[EXTRAS_KEY] = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "animation": name,
                                **extras, **info.summary()}
    gltf.asset.extras = asset_extras
    return packer.finish(), info
