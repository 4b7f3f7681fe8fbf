"""Drive an avatar from our channels, the way the clients do (threejs_client FaceDriver): morph target weights
through a retarget profile (a clipped weighted sum of channels), head and eye nodes turned in the avatar's frame.

VRM avatars are driven through their expressions (VRM 1.0 ``VRMC_vrm`` or VRM 0.x ``blendShapeMaster``), as
three-vrm does: an expression's weight comes from the profile, and each of its binds adds weight x bind weight
to a morph target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from ..export.retarget import ROTATION_ROLES, Profile, choose_profile, find_node, load_profiles
from .errors import AvatarFileError
from .scene import Scene
from .transforms import avatar_rotation

#: Every channel a pose holds, in the clients' global order: visemes, ARKit, head, eyes.
ALL_CHANNELS: tuple[str, ...] = (*OCULUS_VISEMES, *ARKIT_BLENDSHAPES, *HEAD_CHANNELS, *EYE_CHANNELS)
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(ALL_CHANNELS)}
#: VRM 0.x preset names -> VRM 1.0 expression names (the vrm profile's names).
VRM0_PRESETS = {"a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh", "blink_l": "blinkLeft",
                "blink_r": "blinkRight", "joy": "happy", "sorrow": "sad", "fun": "relaxed", "lookup": "lookUp",
                "lookdown": "lookDown", "lookleft": "lookLeft", "lookright": "lookRight"}


def pose_vector(channels: Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
    """A pose as one float32 vector indexed like ALL_CHANNELS; unknown channel names are an error."""
    values = np.zeros(len(ALL_CHANNELS), np.float32)
    if channels is None:
        return values
    if isinstance(channels, np.ndarray):
        if channels.shape != values.shape:
            raise ValueError(f"a pose vector has {len(ALL_CHANNELS)} values (ALL_CHANNELS), got shape {channels.shape}")
        return channels.astype(np.float32)
    for name, value in channels.items():
        if name not in CHANNEL_INDEX:
            raise ValueError(f"unknown channel {name!r}; channels are the 15 visemes, 52 ARKit blendshapes, "
                             f"{', '.join(HEAD_CHANNELS)} and {', '.join(EYE_CHANNELS)}")
        values[CHANNEL_INDEX[name]] = float(value)
    return values


def is_mouth_channel(channel: str) -> bool:
    """Channels that move the lips or jaw: what a speaking face needs at least one of."""
    return (channel in OCULUS_VISEMES and channel != "sil") or channel.startswith(("jaw", "mouth"))


@dataclass
class MeshDrive:
    """The morph targets of one mesh that the rig drives: weights = clip(binds @ clip(expressions @ pose))."""

    targets: np.ndarray  # (k,) target indices of the mesh
    binds: np.ndarray  # (k, x): expression (or profile target) -> morph target weight
    names: list[str]  # the k target names (for reports)


@dataclass
class RotationNode:
    node: int
    parent: np.ndarray  # 3x3 rest rotation of the parent in the avatar's frame
    rest: np.ndarray  # 3x3 rest local rotation

    def local(self, delta: np.ndarray) -> np.ndarray:
        """local = parent^-1 * delta * parent * rest: the delta turns the node in the avatar's frame."""
        return self.parent.T @ delta @ self.parent @ self.rest


@dataclass
class Rig:
    """What a profile drives on one avatar, and how."""

    profile: Profile
    expression_names: list[str]  # profile targets in use (morph target names or VRM expression names)
    expressions: np.ndarray  # (x, channels) weighted terms of each
    meshes: dict[int, MeshDrive]  # mesh index -> its driven targets
    rotation_nodes: dict[str, RotationNode]
    via_vrm_expressions: bool
    missing_targets: list[str] = field(default_factory=list)
    missing_nodes: list[str] = field(default_factory=list)

    def morph_weights(self, scene: Scene, pose: np.ndarray) -> dict[int, np.ndarray]:
        """Mesh index -> its full weight vector (driven targets from the pose, others at the file's defaults)."""
        expression = np.clip(self.expressions @ pose, 0.0, 1.0)
        weights = {}
        for mesh_index, drive in self.meshes.items():
            vector = scene.meshes[mesh_index].default_weights.copy()
            vector[drive.targets] = np.clip(drive.binds @ expression, 0.0, 1.0)
            weights[mesh_index] = vector
        return weights

    def node_rotations(self, pose: np.ndarray) -> dict[int, np.ndarray]:
        """Node index -> its local 3x3 rotation for the head and eye angles of ``pose``."""
        c = CHANNEL_INDEX
        angles = {"head": (pose[c["headPitch"]], pose[c["headYaw"]], pose[c["headRoll"]]),
                  "leftEye": (pose[c["leftEyePitch"]], pose[c["leftEyeYaw"]], 0.0),
                  "rightEye": (pose[c["rightEyePitch"]], pose[c["rightEyeYaw"]], 0.0)}
        return {entry.node: entry.local(avatar_rotation(*map(float, angles[role])))
                for role, entry in self.rotation_nodes.items()}

    def describe(self) -> str:
        count = sum(len(d.targets) for d in self.meshes.values())
        via = "VRM expressions" if self.via_vrm_expressions else "morph target names"
        return f"profile {self.profile.name} ({via}): {count} targets on {len(self.meshes)} mesh(es)"

    def warnings(self) -> list[str]:
        notes = []
        if self.missing_nodes:
            notes.append(f"no node found for {', '.join(self.missing_nodes)} rotation; it is not animated")
        return notes


# ---- binding ----------------------------------------------------------------------------------------------------
def _expression_matrix(profile: Profile, names: list[str]) -> np.ndarray:
    matrix = np.zeros((len(names), len(ALL_CHANNELS)), np.float32)
    for row, name in enumerate(names):
        for channel, weight in profile.targets[name]:
            matrix[row, CHANNEL_INDEX[channel]] += weight
    return matrix


def _vrm_expressions(scene: Scene) -> dict[str, list[tuple[int, int, float]]]:
    """VRM expression name -> [(mesh index, morph target index, weight 0..1)], for VRM 1.0 and 0.x files."""
    extensions = scene.document.json.get("extensions") or {}
    found: dict[str, list[tuple[int, int, float]]] = {}
    if "VRMC_vrm" in extensions:
        groups = (extensions["VRMC_vrm"].get("expressions") or {})
        for kind in ("preset", "custom"):
            for name, expression in (groups.get(kind) or {}).items():
                binds = []
                for bind in expression.get("morphTargetBinds") or []:
                    node = scene.nodes[bind["node"]]
                    if node.mesh is not None:
                        binds.append((node.mesh, int(bind["index"]), float(bind.get("weight", 1.0))))
                found[name] = binds
    elif "VRM" in extensions:
        for group in ((extensions["VRM"].get("blendShapeMaster") or {}).get("blendShapeGroups") or []):
            preset = str(group.get("presetName") or "unknown")
            name = VRM0_PRESETS.get(preset, preset) if preset != "unknown" else str(group.get("name", ""))
            found[name] = [(int(b["mesh"]), int(b["index"]), float(b.get("weight", 100.0)) / 100.0)
                           for b in group.get("binds") or []]
    return found


def _vrm_bones(scene: Scene) -> dict[str, int]:
    extensions = scene.document.json.get("extensions") or {}
    bones: dict[str, int] = {}
    if "VRMC_vrm" in extensions:
        human = (extensions["VRMC_vrm"].get("humanoid") or {}).get("humanBones") or {}
        bones = {role: int(human[role]["node"]) for role in ROTATION_ROLES if role in human}
    elif "VRM" in extensions:
        for bone in (extensions["VRM"].get("humanoid") or {}).get("humanBones") or []:
            if bone.get("bone") in ROTATION_ROLES and isinstance(bone.get("node"), int) and bone["node"] >= 0:
                bones[bone["bone"]] = bone["node"]
    return bones


def _parent_rotation(scene: Scene, node: int) -> np.ndarray:
    """The parent's rest rotation in the avatar's frame (root turn included), scale removed."""
    rotation = np.eye(3)
    current = scene.nodes[node].parent
    while current is not None:
        rotation = scene.nodes[current].rest_rotation() @ rotation
        current = scene.nodes[current].parent
    root = scene.root_matrix[:3, :3]
    return root @ rotation


def _rotation_nodes(scene: Scene, profile: Profile) -> dict[str, RotationNode]:
    bones = _vrm_bones(scene)
    nodes = {}
    for role in ROTATION_ROLES:
        index = bones.get(role)
        if index is None or not 0 <= index < len(scene.nodes):
            index = find_node([node.name for node in scene.nodes], profile.nodes.get(role, ()))
        if index is not None:
            nodes[role] = RotationNode(index, _parent_rotation(scene, index), scene.nodes[index].rest_rotation())
    return nodes


def _mouth_targets(profile: Profile) -> list[str]:
    """The profile's targets that move the mouth, the widest opening (aa, jawOpen) first."""
    names = [name for name, terms in profile.targets.items() if any(is_mouth_channel(c) for c, _ in terms)]
    opens = [name for name in names if any(c in ("aa", "jawOpen") for c, _ in profile.targets[name])]
    return opens + [name for name in names if name not in opens]


def _expected_names_hint() -> str:
    examples = {name: ", ".join(_mouth_targets(profile)[:6]) for name, profile in load_profiles().items()}
    return ("; expected mouth morph targets (names in mesh.extras.targetNames) of a retarget profile: "
            + "; ".join(f"{name}: {names} ..." for name, names in examples.items())
            + ". Rename the shape keys in your 3D tool (Blender: Object Data > Shape Keys) to ARKit names such as "
            "jawOpen and mouthClose, or add a profile to sdk/avatarlab/data/retarget_profiles.json "
            "(docs/export.md, 'Retarget profiles')")


def _by_names(scene: Scene) -> dict[int, list[str]]:
    return {i: mesh.target_names for i, mesh in enumerate(scene.meshes)
            if mesh.target_names and any(p.num_targets for p in mesh.primitives)}


def build_rig(scene: Scene, requested_profile: str = "auto") -> Rig:
    """Bind the profile to the avatar; raises AvatarFileError when nothing would move its mouth."""
    vrm = _vrm_expressions(scene)
    if vrm and any(vrm.values()):
        names = [name for name, binds in vrm.items() if binds]
        profile = choose_profile(requested_profile, names)
        matched = sorted(set(profile.match(names).values()))
        meshes = _vrm_drives(vrm, profile, matched)
        via_vrm = True
    else:
        names_by_mesh = _by_names(scene)
        profile = choose_profile(requested_profile, [n for names in names_by_mesh.values() for n in names])
        matched, meshes = _name_drives(names_by_mesh, profile)
        via_vrm = False
    rotation_nodes = _rotation_nodes(scene, profile)
    rig = Rig(profile, matched, _expression_matrix(profile, matched), meshes, rotation_nodes, via_vrm,
              missing_targets=[t for t in profile.targets if t not in matched],
              missing_nodes=[role for role in ROTATION_ROLES if role not in rotation_nodes])
    if not any(is_mouth_channel(channel) for name in matched for channel, _ in profile.targets[name]):
        raise AvatarFileError(_no_face_message(scene, profile, matched))
    return rig


def _name_drives(names_by_mesh: dict[int, list[str]], profile: Profile) -> tuple[list[str], dict[int, MeshDrive]]:
    matches = {mesh: profile.match(names) for mesh, names in names_by_mesh.items()}
    used = sorted({target for found in matches.values() for target in found.values()}, key=list(profile.targets).index)
    column = {name: i for i, name in enumerate(used)}
    meshes = {}
    for mesh, found in matches.items():
        if not found:
            continue
        targets = np.array(sorted(found), dtype=np.int64)
        binds = np.zeros((len(targets), len(used)), np.float32)
        for row, target in enumerate(targets):
            binds[row, column[found[int(target)]]] = 1.0
        meshes[mesh] = MeshDrive(targets, binds, [names_by_mesh[mesh][int(t)] for t in targets])
    return used, meshes


def _vrm_drives(vrm: dict[str, list[tuple[int, int, float]]], profile: Profile, matched: list[str]
                ) -> dict[int, MeshDrive]:
    """Each matched expression's binds, summed per morph target: (k targets) x (matched expressions)."""
    names = list(vrm)
    column = {target: i for i, target in enumerate(matched)}
    rows: dict[int, dict[int, np.ndarray]] = {}
    for index, target in profile.match(names).items():
        for mesh, morph, weight in vrm[names[index]]:
            row = rows.setdefault(mesh, {}).setdefault(morph, np.zeros(len(matched), np.float32))
            row[column[target]] += weight
    meshes = {}
    for mesh, targets in rows.items():
        order = sorted(targets)
        meshes[mesh] = MeshDrive(np.array(order, dtype=np.int64), np.stack([targets[t] for t in order]),
                                 [f"target {t}" for t in order])
    return meshes


def _no_face_message(scene: Scene, profile: Profile, matched: list[str]) -> str:
    names = sorted({n for mesh in scene.meshes for n in (mesh.target_names or [])})
    unnamed = [m.name for m in scene.meshes if m.target_names is None and any(p.num_targets for p in m.primitives)]
    if not names and not unnamed:
        found = "it has no morph targets (blend shapes) at all, so its face cannot move"
    elif not names:
        found = (f"its morph targets have no names (mesh.extras.targetNames is missing on {', '.join(unnamed[:4])}); "
                 "export with shape key names (Blender's glTF exporter writes them)")
    else:
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        found = f"none of its morph targets ({shown}) moves the mouth under the {profile.name} profile"
        if matched:
            found += f" (it matched only {', '.join(matched[:6])})"
    return f"avatar {scene.name} has no face the retarget profiles can drive: {found}{_expected_names_hint()}"
