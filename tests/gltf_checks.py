"""Helpers for the export tests: run the JS checkers (Khronos validator, three.js) and build user-style GLBs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pygltflib as gl

from avatarlab.avatar.gltf import BufferPacker
from tools import needs

JS_DIR = Path(__file__).parent / "js"


def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS_DIR / "node_modules" / "gltf-validator").is_dir() or not (JS_DIR / "node_modules" / "three").is_dir():
        return "tests/js/node_modules missing: run `npm ci --prefix tests/js` (make test does)"
    return None


needs_node = needs(_node_ready())


def run_js(script: str, path: Path) -> dict:
    result = subprocess.run(["node", str(JS_DIR / script), str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def validate(path: Path) -> dict:
    """The Khronos validator's report summary; asserts nothing."""
    return run_js("validate.mjs", path)


def assert_valid(path: Path) -> None:
    report = validate(path)
    assert report["numErrors"] == 0, report["messages"][:10]


def _box(size: float) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32) * size
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    triangles = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return corners, np.asarray(triangles, dtype=np.uint16)


def user_style_glb(target_sets: dict[str, list[str]], nodes: dict[str, str | None], matrix_head: bool = True) -> bytes:
    """A small rig the way other tools export one: meshes with their own target names, an armature with a rotated
    root, a head joint given as a matrix, and eye joints under it. ``nodes``: role -> node name (None: absent)."""
    gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="avatarlab tests"))
    packer = BufferPacker.for_document(gltf)
    node_indices = []
    for k, (mesh_name, names) in enumerate(target_sets.items()):
        positions, triangles = _box(0.05 + 0.01 * k)
        targets = []
        for j, _ in enumerate(names):
            delta = np.zeros_like(positions)
            delta[j % len(positions)] = [0.0, 0.01, 0.0]
            targets.append({"POSITION": packer.accessor(delta)})
        primitive = gl.Primitive(attributes=gl.Attributes(POSITION=packer.accessor(positions, gl.ARRAY_BUFFER)),
                                 indices=packer.accessor(triangles.reshape(-1), gl.ELEMENT_ARRAY_BUFFER, bounds=False),
                                 targets=targets)
        gltf.meshes.append(gl.Mesh(name=mesh_name, primitives=[primitive], weights=[0.0] * len(names),
                                   extras={"targetNames": names}))
        gltf.nodes.append(gl.Node(name=mesh_name, mesh=len(gltf.meshes) - 1))
        node_indices.append(len(gltf.nodes) - 1)
    eyes = []
    for role in ("leftEye", "rightEye"):
        if nodes.get(role):
            gltf.nodes.append(gl.Node(name=nodes[role], translation=[0.03 if role == "leftEye" else -0.03, 0.05, 0.05]))
            eyes.append(len(gltf.nodes) - 1)
    head_fields = {"matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0.1, 0, 1]} if matrix_head else {
        "translation": [0, 0.1, 0]}
    gltf.nodes.append(gl.Node(name=nodes.get("head") or "NotAHead", children=eyes, **head_fields))
    head = len(gltf.nodes) - 1
    # a Blender-style armature root, turned a quarter about X, with its child turned back
    gltf.nodes.append(gl.Node(name="Neck", rotation=[-0.7071068, 0, 0, 0.7071068], children=[head]))
    neck = len(gltf.nodes) - 1
    gltf.nodes.append(gl.Node(name="Armature", rotation=[0.7071068, 0, 0, 0.7071068], children=[neck, *node_indices]))
    gltf.scenes = [gl.Scene(nodes=[len(gltf.nodes) - 1])]
    gltf.scene = 0
    return packer.finish()
