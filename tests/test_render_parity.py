"""Parity with three.js: the offscreen renderer and the web client (three.js in Chromium: GLTFLoader, FaceDriver
through the retarget profile, a CurveTrack sampled at i / fps) draw the same frames of the procedural head with the
same camera numbers, and the lips' silhouettes agree (mask IoU >= 0.9) at each of the 15 visemes. (The default
avatar, the astronaut's photo head, is compared with three.js in tests/test_photo_avatar_web.py.)

The poses are what the engine's curves give for each viseme at full strength: the animator's frame in the middle
of the viseme's representative phoneme (the one live lip sync uses), held half a second at full voice.
The lips are segmented the same way in both renderers: a flat, unlit pass whose vertex colours run from green
(skin and everything else) to red (the lips, by the generator's lip tag), so a pixel is lip where red wins: where
the interpolated tag passes one half (ours: the GLB with those vertex colours and unlit materials; three.js:
the procedural head's GLB as it is, its materials replaced by MeshBasicMaterial with those colours).

Images land in out/test-artifacts/parity/: per viseme ours, three.js, the two lip masks and an overlay
(white both, red ours only, blue three.js only), a contact sheet and iou.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatarlab.animation import FaceAnimator
from avatarlab.avatar import procedural_avatar_glb
from avatarlab.avatar.gltf import BufferPacker, read_glb
from avatarlab.avatar.head import build_head
from avatarlab.channels import OCULUS_VISEMES
from avatarlab.live.session import REPRESENTATIVE
from avatarlab.render import Avatar, Background, Camera, Curves, Renderer, RenderSettings
from avatarlab.render.images import read_image, write_png
from avatarlab.timeline import SILENCE_SYMBOL, PhonemeTimeline, TimedPhoneme, TimedWord
from threejs_frames import Pass, camera_spec, draw_with_threejs
from tools import browser_missing, egl_missing, needs

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "out/test-artifacts/parity"
SIZE = (384, 288)
FPS = 30
MIN_IOU = 0.9
FOV = 25.0
LIP, OTHER = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)  # label colours (0 and 1 are the same in linear light and sRGB)


pytestmark = [needs(egl_missing()), needs(browser_missing())]


# ---- the poses ----------------------------------------------------------------------------------------------------
def viseme_pose(viseme: str, sample_rate: int = 16000) -> np.ndarray:
    """Every channel (ALL_CHANNELS order) of the engine's frame in the middle of ``viseme``'s representative phoneme,
    held 0.5 s between silences at full voice (a 150 Hz tone at -13 dBFS RMS, past the loudness scale's top)."""
    start, end, total = int(0.3 * sample_rate), int(0.8 * sample_rate), int(1.1 * sample_rate)
    timeline = PhonemeTimeline(sample_rate, [TimedPhoneme(SILENCE_SYMBOL, 0, start, None),
                                             TimedPhoneme(REPRESENTATIVE[viseme], start, end, 0),
                                             TimedPhoneme(SILENCE_SYMBOL, end, total, None)],
                               [TimedWord(0, viseme, start, end)])
    audio = np.zeros(total, np.float32)
    audio[start:end] = 0.3 * np.sin(2 * np.pi * 150 * np.arange(end - start) / sample_rate)
    frames = FaceAnimator(sample_rate, FPS).animate(timeline, 0, -(-total * FPS // sample_rate), audio, 0)
    middle = round((start + end) / 2 * FPS / sample_rate)
    return Curves.from_frames(frames, audio, sample_rate).values[middle]


# ---- the lip labels -----------------------------------------------------------------------------------------------
def lip_vertices(avatar: Avatar) -> tuple[np.ndarray, np.ndarray]:
    """How much each vertex of the skin primitive (mesh 0, primitive 0) is lip red (the generator's tag, 0..1; the
    wet inside of the lips is not) and where the lips rest in the avatar's world. Checks the GLB is what the
    generator makes."""
    model = build_head()
    skin = model.head_parts[0]
    stored = avatar.scene.meshes[0].primitives[0].positions
    expected = skin.positions - model.pivot  # the mesh hangs under the Head node, which stands at the pivot
    assert stored.shape == expected.shape and np.allclose(stored, expected, atol=1e-5), (
        "the GLB is not what the head generator makes now")
    lip = np.where(skin.tags["lining"] < 0.5, np.clip(skin.tags["lip"], 0.0, 1.0), 0.0)
    return lip, skin.positions[lip >= 0.5]


def lip_camera(lips: np.ndarray, aspect: float) -> Camera:
    """A front close-up whose width is 1.5 times the resting lips', centred a little below them (open jaws drop the
    lower lip), so the lips are large and every viseme's stay inside the frame."""
    low, high = lips.min(axis=0), lips.max(axis=0)
    width = 1.5 * (high[0] - low[0])
    centre = np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2 - 0.4 * (high[1] - low[1]), low[2]])
    distance = width / aspect / 2 / np.tan(np.radians(FOV / 2)) + (high[2] - centre[2])
    eye = (float(centre[0]), float(centre[1]), float(centre[2] + distance))
    return Camera(eye, tuple(float(v) for v in centre), FOV, near=distance / 10, far=distance * 10)


def labelled_glb(glb: bytes, labels: dict[tuple[int, int], np.ndarray]) -> bytes:
    """The same GLB with every primitive's COLOR_0 set to its labels (else OTHER) and every material unlit."""
    document = read_glb(glb)
    packer = BufferPacker.for_document(document)
    for m, mesh in enumerate(document.meshes):
        for p, primitive in enumerate(mesh.primitives):
            count = document.accessors[primitive.attributes.POSITION].count
            colours = labels.get((m, p), np.tile(np.asarray(OTHER, np.float32), (count, 1)))
            primitive.attributes.COLOR_0 = packer.accessor(np.asarray(colours, np.float32), bounds=False)
    for material in document.materials:
        material.extensions = {**(material.extensions or {}), "KHR_materials_unlit": {}}
    document.extensionsUsed = sorted({*(document.extensionsUsed or []), "KHR_materials_unlit"})
    return packer.finish()


def lip_mask(image: np.ndarray) -> np.ndarray:
    """Pixels nearer the lips' red than the other label colours or the black background."""
    rgb = image[..., :3].astype(int)
    return (rgb[..., 0] > rgb[..., 1]) & (rgb[..., 0] > rgb[..., 2]) & (rgb[..., 0] >= 128)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def overlay(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """White where both masks are, red where only ours is, blue where only three.js's is."""
    out = np.zeros((*ours.shape, 3), np.uint8)
    out[ours & theirs] = 255
    out[ours & ~theirs] = (255, 0, 0)
    out[~ours & theirs] = (0, 90, 255)
    return out


# ---- drawing once for all the tests -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, dict]:
    """Each viseme drawn lit and labelled by both renderers; masks, IoU and artifacts."""
    glb = procedural_avatar_glb()
    work = tmp_path_factory.mktemp("threejs")
    head_glb = work / "procedural_head.glb"
    head_glb.write_bytes(glb)
    avatar = Avatar.load(glb)
    lip, rest = lip_vertices(avatar)
    camera = lip_camera(rest, SIZE[0] / SIZE[1])
    poses = np.stack([viseme_pose(v) for v in OCULUS_VISEMES])
    labels = {(0, 0): (lip[:, None] * np.asarray(LIP) + (1 - lip[:, None]) * np.asarray(OTHER)).astype(np.float32)}
    black = Background.parse("#000000")
    with Renderer(avatar, RenderSettings(size=SIZE)) as renderer:
        ours_lit = [renderer.render(pose, camera) for pose in poses]
    with Renderer(Avatar.load(labelled_glb(glb, labels)), RenderSettings(size=SIZE, antialias="none",
                                                                        background=black)) as renderer:
        ours_labels = [renderer.render(pose, camera) for pose in poses]
    lit, flat = draw_with_threejs(work, head_glb, SIZE, camera, poses, [
        Pass("lit", antialias=True, save=work / "png"),
        Pass("labels", antialias=False, labels=labels, fallback=OTHER, background="#000000", save=work / "png")],
        fps=FPS)
    assert lit.profile == flat.profile == avatar.rig.profile.name, "three.js drives the head through the same profile"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out, rows = {}, []
    for i, viseme in enumerate(OCULUS_VISEMES):
        theirs_lit, theirs_labels = read_image(lit.files[i]), read_image(flat.files[i])
        ours_mask, theirs_mask = lip_mask(ours_labels[i]), lip_mask(theirs_labels)
        images = {"ours": ours_lit[i][..., :3], "threejs": theirs_lit[..., :3],
                  "ours-lips": np.repeat(ours_mask[..., None] * np.uint8(255), 3, axis=-1),
                  "threejs-lips": np.repeat(theirs_mask[..., None] * np.uint8(255), 3, axis=-1),
                  "overlay": overlay(ours_mask, theirs_mask)}
        for name, image in images.items():
            write_png(ARTIFACTS / f"{viseme}-{name}.png", image)
        rows.append(np.concatenate(list(images.values()), axis=1))
        out[viseme] = {"iou": iou(ours_mask, theirs_mask), "ours_px": int(ours_mask.sum()),
                       "threejs_px": int(theirs_mask.sum()), "ours_mask": ours_mask, "threejs_mask": theirs_mask}
    write_png(ARTIFACTS / "sheet.png", np.concatenate(rows, axis=0))
    (ARTIFACTS / "iou.json").write_text(json.dumps(
        {"size": SIZE, "camera": camera_spec(camera), "min_iou": MIN_IOU, "three_js_gl": lit.gl_renderer,
         "visemes": {v: {k: r[k] for k in ("iou", "ours_px", "threejs_px")} for v, r in out.items()}}, indent=1),
        encoding="utf-8")
    return out


@pytest.mark.parametrize("viseme", OCULUS_VISEMES)
def test_lip_silhouettes_agree_with_threejs(drawn, viseme: str) -> None:
    result = drawn[viseme]
    assert result["ours_px"] > 0.01 * SIZE[0] * SIZE[1], f"{viseme}: no lips in our close-up"
    assert result["threejs_px"] > 0.01 * SIZE[0] * SIZE[1], f"{viseme}: no lips in three.js's close-up"
    for name in ("ours_mask", "threejs_mask"):
        mask = result[name]
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()), (
            f"{viseme}: the lips run out of the frame ({name})")
    assert result["iou"] >= MIN_IOU, (f"{viseme}: lip masks IoU {result['iou']:.3f} < {MIN_IOU} (ours "
                                      f"{result['ours_px']} px, three.js {result['threejs_px']} px); see "
                                      f"{ARTIFACTS / (viseme + '-overlay.png')}")


def test_the_visemes_move_the_lips_in_both_renderers(drawn) -> None:
    """The comparison means something: the lips' silhouette at aa and ou differs from the rest pose's in both
    renderers by more than the two renderers differ from each other."""
    for renderer in ("ours_mask", "threejs_mask"):
        for viseme in ("aa", "ou"):
            moved = 1.0 - iou(drawn["sil"][renderer], drawn[viseme][renderer])
            apart = 1.0 - drawn[viseme]["iou"]
            assert moved > 2 * apart and moved > 0.15, f"{renderer} {viseme}: moved {moved:.3f}, apart {apart:.3f}"
