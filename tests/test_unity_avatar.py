"""The Unity package's GLB reader (unity_plugin/Runtime/Protocol/Glb.cs) under Mono, against Python's reading.

The C# test runner writes what it read from a GLB (`--glb-report`); this test reads the same file with pygltflib
(avatarlab.avatar.gltf.read_glb: nodes, hierarchy, materials, images, target names) and
avatarlab.render.document (accessor data: strided, normalized, sparse) and checks they agree after the reader's
conversion to Unity's conventions (x mirrored, triangles rewound, rotations mirrored, v flipped). Files: the
committed default avatar, and a small GLB written here with what the avatar lacks (interleaved buffer views,
normalized integer colours and UVs, 8-bit indices, a matrix node, a sparse target over a non-zero base).
The Unity layer (GlbAvatarLoader) and the PhotoAvatar sample are compiled against the UnityEngine stand-in:
a compile check, not Unity.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pygltflib as gl
import pytest

from avatarlab.avatar.gltf import read_glb
from avatarlab.render.document import load_document
from test_unity_plugin import _load_builder
from tools import command_missing, needs

ROOT = Path(__file__).resolve().parents[1]
AVATAR = ROOT / "models" / "avatar" / "default_head.glb"
MIRROR = np.array([-1.0, 1.0, 1.0])
pytestmark = needs(command_missing("mcs", "mono", package="mono-mcs, mono-runtime"))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return _load_builder().build_protocol(tmp_path_factory.mktemp("unity-avatar"))


def csharp_report(build: dict, glb: Path, tmp_path: Path) -> dict:
    out = tmp_path / f"{glb.stem}.report.json"
    result = subprocess.run(["mono", "--debug", str(build["runner"]), "--glb", str(glb), "--glb-report", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


def _quaternion_matrix(q) -> np.ndarray:
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _trs_matrix(t, r, s) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = _quaternion_matrix(r) @ np.diag(s)
    m[:3, 3] = t
    return m


def _unity_matrix(node: gl.Node) -> np.ndarray:
    """The node's local matrix mirrored into Unity's frame: S M S, S = diag(-1, 1, 1, 1)."""
    if node.matrix:
        m = np.array(node.matrix, dtype=float).reshape(4, 4).T  # glTF stores columns
    else:
        m = _trs_matrix(node.translation or [0, 0, 0], node.rotation or [0, 0, 0, 1], node.scale or [1, 1, 1])
    mirror = np.diag([-1.0, 1.0, 1.0, 1.0])
    return mirror @ m @ mirror


def check_nodes(report: dict, gltf: gl.GLTF2) -> None:
    assert [n["name"] for n in report["nodes"]] == [n.name for n in gltf.nodes]
    assert report["roots"] == gltf.scenes[gltf.scene or 0].nodes
    for index, (got, node) in enumerate(zip(report["nodes"], gltf.nodes)):
        assert got["children"] == (node.children or []), node.name
        assert got["mesh"] == (-1 if node.mesh is None else node.mesh), node.name
        parents = [i for i, other in enumerate(gltf.nodes) if index in (other.children or [])]
        assert got["parent"] == (parents[0] if parents else -1), node.name
        matrix = _trs_matrix(got["translation"], got["rotation"], got["scale"])
        np.testing.assert_allclose(matrix, _unity_matrix(node), atol=1e-6, err_msg=node.name)
        if not node.matrix:  # the mirrored TRS itself: x of the translation, y and z of the rotation negated
            np.testing.assert_allclose(got["translation"], np.array(node.translation or [0, 0, 0]) * MIRROR, atol=1e-7)
            np.testing.assert_allclose(got["rotation"], np.array(node.rotation or [0, 0, 0, 1]) * [1, -1, -1, 1], atol=1e-7)


def _sampled(got: list, expected: np.ndarray | None, what: str, rows: list[int]) -> None:
    if expected is None:
        assert got == [None] * len(rows), what
        return
    np.testing.assert_allclose(np.array(got, dtype=float), expected[rows], atol=1e-6, err_msg=what)


def check_primitive(got: dict, primitive: gl.Primitive, names: list[str], doc, what: str) -> None:
    positions = doc.accessor(primitive.attributes.POSITION).astype(float)
    count = len(positions)
    assert got["vertices"] == count, what
    assert got["material"] == (-1 if primitive.material is None else primitive.material), what
    indices = (doc.accessor(primitive.indices) if primitive.indices is not None else np.arange(count)).astype(np.int64)
    assert got["indices"] == len(indices), what
    assert got["indexSum"] == int(indices.sum()), what
    assert got["firstTriangle"] == [int(indices[0]), int(indices[2]), int(indices[1])], f"{what}: winding not flipped"
    rows = got["sampleVertices"]
    assert rows == [0, count // 2, count - 1]
    _sampled(got["positions"], positions * MIRROR, f"{what} positions", rows)
    attrs = primitive.attributes
    _sampled(got["normals"], None if attrs.NORMAL is None else doc.accessor(attrs.NORMAL) * MIRROR, f"{what} normals", rows)
    uv = None if attrs.TEXCOORD_0 is None else _unity_uv(doc.accessor(attrs.TEXCOORD_0))
    _sampled(got["uvs"], uv, f"{what} uvs", rows)
    colors = None
    if attrs.COLOR_0 is not None:
        colors = doc.accessor(attrs.COLOR_0).astype(float)
        if colors.shape[1] == 3:
            colors = np.hstack([colors, np.ones((count, 1))])
    _sampled(got["colors"], colors, f"{what} colours", rows)
    targets = primitive.targets or []
    assert [t["name"] for t in got["targets"]] == names[:len(targets)], what
    for target, source in zip(got["targets"], targets):
        deltas = doc.accessor(source["POSITION"]).astype(float) * MIRROR
        np.testing.assert_allclose(target["sum"], deltas.sum(axis=0), atol=1e-5, err_msg=f"{what} {target['name']}")
        norms = np.linalg.norm(deltas, axis=1)
        np.testing.assert_allclose(target["peak"], deltas[target["peakVertex"]], atol=1e-7, err_msg=target["name"])
        assert np.linalg.norm(target["peak"]) == pytest.approx(norms.max(), abs=1e-7), target["name"]


def _unity_uv(uv: np.ndarray) -> np.ndarray:
    return uv.astype(float) * [1, -1] + [0, 1]


def _attribute(doc, primitive: gl.Primitive, name: str, width: int, fill: float) -> np.ndarray:
    index = getattr(primitive.attributes, name)
    count = len(doc.accessor(primitive.attributes.POSITION))
    if index is None:
        return np.full((count, width), fill)
    values = doc.accessor(index).astype(float)
    return np.hstack([values, np.ones((count, 1))]) if values.shape[1] < width else values


def check_unity_mesh(got: dict, mesh: gl.Mesh, gltf: gl.GLTF2, doc) -> None:
    """GlbUnityMesh: the primitives' vertices one after another, a submesh each, blendshapes over all vertices."""
    prims = mesh.primitives
    counts = [len(doc.accessor(p.attributes.POSITION)) for p in prims]
    assert got["vertices"] == sum(counts) and got["baseVertex"] == np.cumsum([0, *counts[:-1]]).tolist(), mesh.name
    double = [p.material is not None and bool(gltf.materials[p.material].doubleSided) for p in prims]
    assert got["backFaces"] == double
    for submesh, primitive, back in zip(got["submeshes"], prims, double):
        tris = doc.accessor(primitive.indices).astype(int).reshape(-1, 3)[:, [0, 2, 1]]
        expected = np.vstack([tris, tris[:, [0, 2, 1]]]) if back else tris
        assert submesh == expected.reshape(-1).tolist(), f"{mesh.name}: submesh triangles"
    rows = got["sampleVertices"]
    positions = np.vstack([doc.accessor(p.attributes.POSITION) * MIRROR for p in prims])
    np.testing.assert_allclose(got["positions"], positions[rows], atol=1e-6)
    if all(p.attributes.NORMAL is not None for p in prims):
        normals = np.vstack([doc.accessor(p.attributes.NORMAL) * MIRROR for p in prims])
        np.testing.assert_allclose(got["normals"], normals[rows], atol=1e-6)
    else:
        assert got["normals"] == [None] * len(rows)
    if any(p.attributes.TEXCOORD_0 is not None for p in prims):
        uvs = np.vstack([_unity_uv(doc.accessor(p.attributes.TEXCOORD_0)) if p.attributes.TEXCOORD_0 is not None
                         else np.zeros((n, 2)) for p, n in zip(prims, counts)])
        np.testing.assert_allclose(got["uvs"], uvs[rows], atol=1e-6)
    if any(p.attributes.COLOR_0 is not None for p in prims):
        colors = np.vstack([_attribute(doc, p, "COLOR_0", 4, 1.0) for p in prims])
        np.testing.assert_allclose(got["colors"], colors[rows], atol=1e-6)
    for mean, primitive in zip(got["meanColors"], prims):
        expected_mean = _attribute(doc, primitive, "COLOR_0", 4, 1.0).mean(axis=0)
        np.testing.assert_allclose(mean, expected_mean, atol=1e-5)
    names = list((mesh.extras or {}).get("targetNames", []))
    assert [b["name"] for b in got["blendShapes"]] == names
    for t, shape in enumerate(got["blendShapes"]):
        deltas = np.vstack([doc.accessor(p.targets[t]["POSITION"]) * MIRROR if p.targets else np.zeros((n, 3))
                            for p, n in zip(prims, counts)])
        np.testing.assert_allclose(shape["sum"], deltas.sum(axis=0), atol=1e-5, err_msg=shape["name"])
        assert np.linalg.norm(shape["peak"]) == pytest.approx(np.linalg.norm(deltas, axis=1).max(), abs=1e-7)


def check_report(report: dict, path: Path) -> None:
    gltf = read_glb(path.read_bytes())
    doc, _ = load_document(path)
    check_nodes(report, gltf)
    assert [m["name"] for m in report["meshes"]] == [m.name for m in gltf.meshes]
    for got, mesh in zip(report["meshes"], gltf.meshes):
        names = list((mesh.extras or {}).get("targetNames", []))
        assert got["targetNames"] == names, mesh.name
        assert len(got["primitives"]) == len(mesh.primitives)
        for index, (primitive_got, primitive) in enumerate(zip(got["primitives"], mesh.primitives)):
            check_primitive(primitive_got, primitive, names, doc, f"{mesh.name}[{index}]")
        check_unity_mesh(got["unity"], mesh, gltf, doc)
    for got, material in zip(report["materials"], gltf.materials, strict=True):
        pbr = material.pbrMetallicRoughness
        assert got["name"] == material.name
        np.testing.assert_allclose(got["baseColor"], pbr.baseColorFactor or [1, 1, 1, 1], atol=1e-7)
        assert got["texture"] == (pbr.baseColorTexture.index if pbr.baseColorTexture else -1)
        assert got["alphaMode"] == (material.alphaMode or "OPAQUE") and got["doubleSided"] == bool(material.doubleSided)
        assert got["roughness"] == pytest.approx(1.0 if pbr.roughnessFactor is None else pbr.roughnessFactor)
    assert report["textures"] == [t.source for t in gltf.textures]
    for index, (got, image) in enumerate(zip(report["images"], gltf.images, strict=True)):
        data, mime = doc.image_bytes(index, None)
        assert got["mimeType"] == mime == image.mimeType
        assert got["byteLength"] == len(data) and got["head"] == data[:8].hex()


def test_reader_tests_pass_in_csharp(build):
    result = subprocess.run(["mono", "--debug", str(build["runner"]), "--glb", str(AVATAR), "--filter", "GlbTests"],
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert re.search(r"^7 passed, 0 failed$", output, re.M) and re.search(r"^0 skipped$", output, re.M), output
    for name in ("NotAGlbFileIsRejected", "WrongVersionIsRejected", "TruncatedHeaderAndChunksAreRejected",
                 "BadJsonAndDanglingReferencesAreRejected", "TruncatedAvatarIsRejected",
                 "AvatarHasTheNodesAndTargetsTheDriverLooksFor", "RepeatedAndMissingMorphTargetNamesBecomeDistinctBlendShapes"):
        assert f"PASS GlbTests.{name}" in output, output


def test_default_avatar_reads_as_python_reads_it(build, tmp_path):
    report = csharp_report(build, AVATAR, tmp_path)
    check_report(report, AVATAR)
    head = next(m for m in report["meshes"] if m["name"] == "Head")
    arkit = json.loads((ROOT / "sdk" / "avatarlab" / "data" / "channels.json").read_text())["arkit_blendshapes"]
    assert head["targetNames"][:52] == arkit
    assert head["targetNames"][52:] == [f"viseme_{v}" for v in ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn",
                                                                "RR", "aa", "E", "I", "O", "U")]
    assert {n["name"] for n in report["nodes"]} >= {"Head", "HeadMesh", "LeftEye", "RightEye", "Body"}
    assert any(img["mimeType"] == "image/png" and img["byteLength"] > 10000 for img in report["images"])


def _odd_glb(path: Path) -> None:
    """A small GLB with the layouts the default avatar does not use, written with pygltflib."""
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32) * 0.1 + [0.01, 0.02, 0.03]
    normals = np.array([[0, 0, 1], [0.6, 0, 0.8], [0, 0.6, 0.8], [1, 0, 0]], np.float32)
    interleaved = np.hstack([positions, normals]).astype(np.float32).tobytes()           # stride 24
    uvs = np.array([[0, 0], [65535, 0], [0, 32768], [65535, 65535]], np.uint16).tobytes()  # normalized
    colors = np.array([[255, 0, 0, 255], [0, 128, 0, 255], [0, 0, 255, 64], [10, 20, 30, 40]], np.uint8).tobytes()
    indices = np.array([0, 1, 2, 0, 2, 3], np.uint8).tobytes() + b"\0\0"
    base = np.full((4, 3), 0.001, np.float32).tobytes()
    sparse_rows = np.array([1, 3], np.uint16).tobytes()
    sparse_values = np.array([[0.05, -0.02, 0.01], [-0.03, 0.04, 0.02]], np.float32).tobytes()
    image = b"\xff\xd8\xff\xe0" + bytes(range(60))
    blob, views = b"", []
    for chunk, stride in ((interleaved, 24), (uvs, None), (colors, None), (indices, None), (base, None),
                          (sparse_rows, None), (sparse_values, None), (image, None)):
        views.append(gl.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(chunk), byteStride=stride))
        blob += chunk + b"\0" * (-len(chunk) % 4)
    f, us, ub = gl.FLOAT, gl.UNSIGNED_SHORT, gl.UNSIGNED_BYTE
    accessors = [
        gl.Accessor(bufferView=0, byteOffset=0, componentType=f, count=4, type="VEC3",
                    min=positions.min(0).tolist(), max=positions.max(0).tolist()),
        gl.Accessor(bufferView=0, byteOffset=12, componentType=f, count=4, type="VEC3"),
        gl.Accessor(bufferView=1, componentType=us, normalized=True, count=4, type="VEC2"),
        gl.Accessor(bufferView=2, componentType=ub, normalized=True, count=4, type="VEC4"),
        gl.Accessor(bufferView=3, componentType=ub, count=6, type="SCALAR"),
        gl.Accessor(bufferView=4, componentType=f, count=4, type="VEC3",
                    sparse=gl.Sparse(count=2, indices=gl.AccessorSparseIndices(bufferView=5, componentType=us),
                                     values=gl.AccessorSparseValues(bufferView=6))),
    ]
    angle = np.radians(30)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation @ np.diag([2.0, 1.0, 0.5])
    matrix[:3, 3] = [0.3, -0.2, 0.1]
    gltf = gl.GLTF2(
        asset=gl.Asset(version="2.0"), scene=0, scenes=[gl.Scene(nodes=[0])],
        nodes=[gl.Node(name="Root", children=[1], matrix=matrix.T.reshape(-1).tolist()),
               gl.Node(name="Face", mesh=0, translation=[0.1, 0.2, 0.3], rotation=[0.1, 0.2, 0.3, float(np.sqrt(0.86))])],
        meshes=[gl.Mesh(name="Face", extras={"targetNames": ["jawOpen"]}, primitives=[gl.Primitive(
            attributes=gl.Attributes(POSITION=0, NORMAL=1, TEXCOORD_0=2, COLOR_0=3), indices=4, material=0,
            targets=[{"POSITION": 5}])])],
        materials=[gl.Material(name="Skin", alphaMode="MASK", doubleSided=True, pbrMetallicRoughness=gl.PbrMetallicRoughness(
            baseColorFactor=[0.5, 0.25, 1.0, 1.0], baseColorTexture=gl.TextureInfo(index=0), roughnessFactor=0.3))],
        textures=[gl.Texture(source=0)], images=[gl.Image(bufferView=7, mimeType="image/jpeg")],
        accessors=accessors, bufferViews=views, buffers=[gl.Buffer(byteLength=len(blob))])
    gltf.set_binary_blob(blob)
    gltf.save_binary(str(path))


def test_strided_normalized_sparse_and_matrix_layouts(build, tmp_path):
    path = tmp_path / "odd.glb"
    _odd_glb(path)
    report = csharp_report(build, path, tmp_path)
    check_report(report, path)
    face = report["meshes"][0]["primitives"][0]
    assert face["colors"][0] == [1, 0, 0, 1] and face["uvs"][0] == [0, 1]   # normalized, and v flipped
    assert report["nodes"][0]["scale"] == pytest.approx([2.0, 1.0, 0.5])


def test_report_of_a_bad_file_is_a_clear_error(build, tmp_path):
    cut = tmp_path / "cut.glb"
    cut.write_bytes(AVATAR.read_bytes()[:5000])
    result = subprocess.run(["mono", str(build["runner"]), "--glb", str(cut), "--glb-report", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "GlbFormatException: truncated GLB: its header says" in result.stdout, result.stdout + result.stderr
    assert not (tmp_path / "r.json").exists()


def test_unity_layer_and_photo_avatar_sample_compile_against_the_stand_in(tmp_path):
    """Compile check only (the stand-in is not Unity): the loader and the sample use only real Unity members."""
    built = _load_builder().build_unity_layer(tmp_path)
    assert built["sample"].stat().st_size > 0
    loader = (ROOT / "unity_plugin" / "Runtime" / "Unity" / "GlbAvatarLoader.cs").read_text()
    for call in ("AddBlendShapeFrame", "SetTriangles", "LoadImage", "Shader.Find", "SkinnedMeshRenderer"):
        assert call in loader
    sample = ROOT / "unity_plugin" / "Samples~" / "PhotoAvatar" / "PhotoAvatar.cs"
    assert "GlbAvatarLoader" in sample.read_text()
    manifest = json.loads((ROOT / "unity_plugin" / "package.json").read_text())
    assert "Samples~/PhotoAvatar" in [s["path"] for s in manifest["samples"]]


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "unity_plugin" / "Tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_gets_the_committed_glb_by_a_build_step_not_a_second_copy(tmp_path):
    stage = _load_tool("stage_sample_avatar")
    copied = stage.stage(tmp_path / "Assets" / "StreamingAssets" / "default_head.glb")
    assert copied.read_bytes() == AVATAR.read_bytes()
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", str(stage.SAMPLE_COPY)], cwd=ROOT)
    assert ignored.returncode == 0, f"{stage.SAMPLE_COPY} is not gitignored"
    tracked = subprocess.run(["git", "ls-files", "unity_plugin"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [p for p in tracked if p.endswith((".glb", ".glb.bytes"))], "a GLB is committed in unity_plugin/"
    assert stage.main(["--project", str(tmp_path / "no-project")]) == 2
