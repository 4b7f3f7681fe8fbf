"""Our avatars as VRM 1.0 files (``VRMC_vrm``): the GLB's head under a humanoid skeleton, its expressions bound
to the head's ARKit and viseme morph targets, eye-bone look-at and first-person annotations. Every head we write
has the same node layout and morph targets (the photo avatar, the default head made from the astronaut portrait,
the procedural head: avatarlab/avatar/default.py), so one conversion serves them all (`avatarlab avatar --vrm`).

    from avatarlab.photo_avatar.vrm import VrmMeta, vrm_from_glb
    vrm = vrm_from_glb(glb, VrmMeta("shopkeeper", authors=["Jo Maker"], license="open"))

The head is a bust, but VRM 1.0 requires hips, spine, head and both arms and legs: they are added as empty nodes
at an adult's proportions, in the VRM T-pose, grounded at y = 0 (vrm-specification, VRMC_vrm-1.0/humanoid.md and
tpose.md). The GLB's own nodes keep their names and indices (Head, HeadMesh, LeftEye, RightEye, Body), so the
retarget profiles still find them; the head is lifted to a standing height by the Hips bone.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from .photo import PhotoAvatarError

SPEC_VERSION = "1.0"
#: meta.licenseUrl must be the VRM Public License document (VRMC_vrm-1.0/meta.md).
LICENSE_URL = "https://vrm.dev/licenses/1.0/"
#: The Head node's height above the ground (metres): the top of an adult's neck (about 1.62 m tall).
HEAD_HEIGHT = 1.45

#: The humanoid bones added below the head: VRM role -> (node name, parent role, position in the GLB's root frame,
#: metres, before the lift to HEAD_HEIGHT). The head node sits at (0, -0.075, -0.012) in that frame and the
#: bust's shoulders are 0.38 m wide at y = -0.12 to -0.19. Limbs reach out along x (T-pose), +x is the left side.
BONES: dict[str, tuple[str, str | None, tuple[float, float, float]]] = {
    "hips": ("Hips", None, (0.0, -0.56, -0.01)),
    "spine": ("Spine", "hips", (0.0, -0.46, -0.01)),
    "chest": ("Chest", "spine", (0.0, -0.33, -0.01)),
    "upperChest": ("UpperChest", "chest", (0.0, -0.22, -0.01)),
    "neck": ("Neck", "upperChest", (0.0, -0.135, -0.015)),
    "leftShoulder": ("LeftShoulder", "upperChest", (0.03, -0.17, -0.015)),
    "leftUpperArm": ("LeftUpperArm", "leftShoulder", (0.165, -0.16, -0.02)),
    "leftLowerArm": ("LeftLowerArm", "leftUpperArm", (0.445, -0.16, -0.02)),
    "leftHand": ("LeftHand", "leftLowerArm", (0.695, -0.16, -0.02)),
    "rightShoulder": ("RightShoulder", "upperChest", (-0.03, -0.17, -0.015)),
    "rightUpperArm": ("RightUpperArm", "rightShoulder", (-0.165, -0.16, -0.02)),
    "rightLowerArm": ("RightLowerArm", "rightUpperArm", (-0.445, -0.16, -0.02)),
    "rightHand": ("RightHand", "rightLowerArm", (-0.695, -0.16, -0.02)),
    "leftUpperLeg": ("LeftUpperLeg", "hips", (0.085, -0.62, -0.01)),
    "leftLowerLeg": ("LeftLowerLeg", "leftUpperLeg", (0.085, -1.06, -0.005)),
    "leftFoot": ("LeftFoot", "leftLowerLeg", (0.085, -1.445, -0.02)),
    "rightUpperLeg": ("RightUpperLeg", "hips", (-0.085, -0.62, -0.01)),
    "rightLowerLeg": ("RightLowerLeg", "rightUpperLeg", (-0.085, -1.06, -0.005)),
    "rightFoot": ("RightFoot", "rightLowerLeg", (-0.085, -1.445, -0.02)),
}
#: The GLB's nodes that become humanoid bones (role -> node name), and the bone each child of the GLB's root hangs
#: from (any other child of the root goes on the upper chest, with the bust).
EXISTING_BONES = {"head": "Head", "leftEye": "LeftEye", "rightEye": "RightEye"}
PARENT_BONE = {"Head": "neck", "Body": "upperChest"}
OTHER_PARENT = "upperChest"
HEAD_MESH_NODE = "HeadMesh"

#: Expression -> {morph target of the head mesh: weight}: the five vowels are the head's own visemes, the rest
#: ARKit blends a rigger would set up. Look expressions only move the lids with the gaze (the eyes turn by bone).
EXPRESSIONS: dict[str, dict[str, float]] = {
    "aa": {"viseme_aa": 1.0},
    "ih": {"viseme_I": 1.0},
    "ou": {"viseme_U": 1.0},
    "ee": {"viseme_E": 1.0},
    "oh": {"viseme_O": 1.0},
    "blink": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "blinkLeft": {"eyeBlinkLeft": 1.0},
    "blinkRight": {"eyeBlinkRight": 1.0},
    "happy": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "cheekSquintLeft": 0.6, "cheekSquintRight": 0.6,
              "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3},
    "angry": {"browDownLeft": 1.0, "browDownRight": 1.0, "eyeSquintLeft": 0.4, "eyeSquintRight": 0.4,
              "noseSneerLeft": 0.3, "noseSneerRight": 0.3, "mouthPressLeft": 0.5, "mouthPressRight": 0.5,
              "mouthFrownLeft": 0.3, "mouthFrownRight": 0.3},
    "sad": {"browInnerUp": 1.0, "mouthFrownLeft": 0.8, "mouthFrownRight": 0.8, "mouthShrugLower": 0.3,
            "eyeBlinkLeft": 0.15, "eyeBlinkRight": 0.15},
    "relaxed": {"mouthSmileLeft": 0.4, "mouthSmileRight": 0.4, "cheekSquintLeft": 0.2, "cheekSquintRight": 0.2,
                "eyeBlinkLeft": 0.25, "eyeBlinkRight": 0.25},
    "surprised": {"eyeWideLeft": 1.0, "eyeWideRight": 1.0, "browInnerUp": 1.0, "browOuterUpLeft": 1.0,
                  "browOuterUpRight": 1.0, "jawOpen": 0.35, "mouthFunnel": 0.2},
    "lookUp": {"eyeLookUpLeft": 1.0, "eyeLookUpRight": 1.0, "eyeWideLeft": 0.15, "eyeWideRight": 0.15},
    "lookDown": {"eyeLookDownLeft": 1.0, "eyeLookDownRight": 1.0, "eyeBlinkLeft": 0.2, "eyeBlinkRight": 0.2},
    "lookLeft": {"eyeLookOutLeft": 1.0, "eyeLookInRight": 1.0},
    "lookRight": {"eyeLookInLeft": 1.0, "eyeLookOutRight": 1.0},
    "neutral": {},  # the rest face: an expression with no binds (morphTargetBinds, when present, needs one)
}
#: Expressions that close the lids part way, or open the jaw, damp the procedural blink / lip sync they would
#: otherwise add to (VRMC_vrm-1.0/expressions.md, "Procedural override").
OVERRIDES: dict[str, dict[str, str]] = {
    "happy": {"overrideBlink": "blend"},
    "sad": {"overrideBlink": "blend"},
    "relaxed": {"overrideBlink": "blend"},
    "surprised": {"overrideBlink": "blend", "overrideMouth": "blend"},
}
#: Eye-bone ranges, degrees: the target's angle is followed one to one up to these limits (inward the nose stops
#: the eye sooner; up less than down, where the upper lid would hide the iris).
LOOK_RANGES = {"rangeMapHorizontalInner": 25.0, "rangeMapHorizontalOuter": 30.0, "rangeMapVerticalDown": 25.0,
               "rangeMapVerticalUp": 20.0}


class VrmError(PhotoAvatarError):
    """The GLB is not the photo avatar this module expects (a node or morph target is missing)."""


#: The usage terms a VRM's meta can grant under the VRM Public License 1.0 (VRMC_vrm-1.0/meta.md), by preset name
#: (`avatarlab avatar --vrm-license`). "private": the most restrictive the license offers, for a real person's
#: likeness (a photo). "open": anyone may wear, sell, change and pass on the model, credit not needed; the four
#: "allow...Usage" flags (violent, sexual, political or religious, antisocial or hateful use) stay off in both.
LICENSES: dict[str, dict[str, str | bool]] = {
    "private": {"avatarPermission": "onlyAuthor", "commercialUsage": "personalNonProfit", "creditNotation": "required",
                "allowRedistribution": False, "modification": "prohibited"},
    "open": {"avatarPermission": "everyone", "commercialUsage": "corporation", "creditNotation": "unnecessary",
             "allowRedistribution": True, "modification": "allowModificationRedistribution"},
}
USAGE_FLAGS = ("allowExcessivelyViolentUsage", "allowExcessivelySexualUsage", "allowPoliticalOrReligiousUsage",
               "allowAntisocialOrHateUsage")


@dataclass
class VrmMeta:
    """VRM 1.0 meta: who made the model and what others may do with it (``license``: a LICENSES preset). The
    defaults are the most restrictive usage the VRM Public License offers: a head made from a photo shows a real
    person's likeness."""

    name: str
    authors: list[str] = field(default_factory=lambda: ["avatarlab avatar --photo"])
    copyright_information: str = ""
    version: str = "1.0"
    license: str = "private"

    def json(self) -> dict:
        if self.license not in LICENSES:
            raise VrmError(f"unknown VRM license preset {self.license!r}: one of {', '.join(LICENSES)}")
        authors = [author for author in self.authors if author.strip()]
        if not authors:
            raise VrmError("a VRM names at least one author (meta.authors)")
        meta: dict = {"name": self.name or "avatar", "version": self.version, "authors": authors,
                      "licenseUrl": LICENSE_URL, **{flag: False for flag in USAGE_FLAGS}, **LICENSES[self.license]}
        if self.copyright_information:
            meta["copyrightInformation"] = self.copyright_information
        return meta


def vrm_from_glb(glb: bytes, meta: VrmMeta | None = None) -> bytes:
    """VRM 1.0 bytes (a GLB with ``VRMC_vrm``) from the photo avatar GLB bytes (photo_avatar_glb)."""
    try:
        gltf, binary = _split_glb(glb)
    except (UnicodeDecodeError, ValueError, struct.error) as error:
        raise VrmError(f"not a photo avatar GLB: {error}") from error
    nodes = _node_indices(gltf)
    bones = _add_skeleton(gltf, nodes)
    head_mesh = nodes[HEAD_MESH_NODE]
    targets = _target_names(gltf, head_mesh)
    gltf["extensionsUsed"] = sorted({*gltf.get("extensionsUsed", []), "VRMC_vrm"})
    gltf["extensions"] = {**gltf.get("extensions", {}), "VRMC_vrm": {
        "specVersion": SPEC_VERSION,
        "meta": (meta or VrmMeta("photo avatar")).json(),
        "humanoid": {"humanBones": {role: {"node": index} for role, index in bones.items()}},
        "firstPerson": _first_person(gltf, nodes),
        "lookAt": _look_at(gltf, nodes),
        "expressions": {"preset": expressions(head_mesh, targets)},
    }}
    return _join_glb(gltf, binary)


def _split_glb(glb: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON and the binary chunk of a GLB, as written by BufferPacker (JSON first, then BIN)."""
    if glb[:4] != b"glTF" or len(glb) < 28:
        raise VrmError("not a binary glTF")
    length, kind = struct.unpack_from("<II", glb, 12)
    if kind != 0x4E4F534A:
        raise VrmError("the GLB's first chunk is not its JSON")
    gltf = json.loads(glb[20:20 + length])
    offset = 20 + length
    binary = b""
    if offset + 8 <= len(glb):
        size, _ = struct.unpack_from("<II", glb, offset)
        binary = glb[offset + 8:offset + 8 + size]
    return gltf, binary


def _join_glb(gltf: dict[str, Any], binary: bytes) -> bytes:
    """The GLB container: JSON chunk padded with spaces, BIN chunk (already 4-byte aligned) as it was."""
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary:
        chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


def _node_indices(gltf: dict[str, Any]) -> dict[str, int]:
    names = {node.get("name"): index for index, node in enumerate(gltf.get("nodes", []))}
    missing = [name for name in (*EXISTING_BONES.values(), *PARENT_BONE, HEAD_MESH_NODE) if name not in names]
    scenes = gltf.get("scenes", [])
    if missing or len(scenes) != 1 or len(scenes[0].get("nodes", [])) != 1:
        raise VrmError(f"not a photo avatar GLB: nodes {', '.join(missing) or '(none)'} missing or not one scene root")
    return names


def _add_skeleton(gltf: dict[str, Any], nodes: dict[str, int]) -> dict[str, int]:
    """Append the BONES nodes under the scene root, move Head and Body under them (same place in the avatar
    but lifted to HEAD_HEIGHT); returns every humanoid role's node index."""
    all_nodes = gltf["nodes"]
    lift = HEAD_HEIGHT - float(all_nodes[nodes["Head"]].get("translation", [0.0, 0.0, 0.0])[1])
    bones: dict[str, int] = {}
    for role, (name, parent, position) in BONES.items():
        origin = BONES[parent][2] if parent else (0.0, -lift, 0.0)
        all_nodes.append({"name": name, "translation": _minus(position, origin)})
        bones[role] = len(all_nodes) - 1
        if parent:
            all_nodes[bones[parent]].setdefault("children", []).append(bones[role])
    root = all_nodes[gltf["scenes"][0]["nodes"][0]]
    children = root.get("children", [])
    if {"matrix", "rotation", "scale", "translation"} & set(root) or not {nodes[n] for n in PARENT_BONE} <= {*children}:
        raise VrmError(f"not a photo avatar GLB: {', '.join(PARENT_BONE)} are not children of a still scene root")
    for child in children:
        node = all_nodes[child]
        if {"matrix", "rotation", "scale"} & set(node):
            raise VrmError(f"not a photo avatar GLB: node {node.get('name')} is turned or scaled")
        parent = PARENT_BONE.get(node.get("name"), OTHER_PARENT)
        node["translation"] = _minus(node.get("translation", (0.0, 0.0, 0.0)), BONES[parent][2])
        all_nodes[bones[parent]].setdefault("children", []).append(child)
    root["children"] = [bones["hips"]]
    bones.update({role: nodes[name] for role, name in EXISTING_BONES.items()})
    return bones


def _minus(a, b) -> list[float]:
    return [round(float(x) - float(y), 6) for x, y in zip(a, b)]


def _target_names(gltf: dict[str, Any], node: int) -> list[str]:
    mesh = gltf["meshes"][gltf["nodes"][node]["mesh"]]
    names = (mesh.get("extras") or {}).get("targetNames") or []
    count = len(mesh["primitives"][0].get("targets", []))
    if len(names) != count:
        raise VrmError(f"not a photo avatar GLB: mesh {mesh.get('name')} names {len(names)} of its {count} "
                       "morph targets")
    return list(names)


def expressions(node: int, targets: list[str]) -> dict[str, dict]:
    """The preset expressions, each bind an index into ``targets`` (the morph target names of mesh node ``node``)."""
    missing = sorted({name for binds in EXPRESSIONS.values() for name in binds} - set(targets))
    if missing:
        raise VrmError(f"not a photo avatar GLB: the head has no morph targets {', '.join(missing)}")
    out = {}
    for name, binds in EXPRESSIONS.items():
        expression: dict = {"isBinary": False, "overrideBlink": "none", "overrideLookAt": "none",
                            "overrideMouth": "none", **OVERRIDES.get(name, {})}
        if binds:
            expression["morphTargetBinds"] = [{"node": node, "index": targets.index(target), "weight": weight}
                                              for target, weight in binds.items()]
        out[name] = expression
    return out


def _look_at(gltf: dict[str, Any], nodes: dict[str, int]) -> dict:
    """Eye bones turned by the gaze, measured from between the eyes (offsetFromHeadBone, the Head node's frame)."""
    left, right = (gltf["nodes"][nodes[name]].get("translation", [0.0, 0.0, 0.0]) for name in ("LeftEye", "RightEye"))
    look = {"offsetFromHeadBone": [round((float(a) + float(b)) / 2, 6) for a, b in zip(left, right)], "type": "bone"}
    look.update({key: {"inputMaxValue": limit, "outputScale": limit} for key, limit in LOOK_RANGES.items()})
    return look


def _first_person(gltf: dict[str, Any], nodes: dict[str, int]) -> dict:
    """In first person (an HMD at the eyes) the head and eyeballs are hidden; the neck and shoulders stay."""
    return {"meshAnnotations": [
        {"node": nodes[name], "type": "thirdPersonOnly" if name != "Body" else "both"}
        for name in (HEAD_MESH_NODE, "LeftEye", "RightEye", "Body") if "mesh" in gltf["nodes"][nodes[name]]]}
