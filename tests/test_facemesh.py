"""The face detector and the 468-point mesh (avatarlab.facemesh): geometry pieces, the public-domain astronaut
photo and a render of our default avatar. Images go to out/test-artifacts/sync_check/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarlab.facemesh import Rect, detect_faces, find_faces
from avatarlab.facemesh.detect import SHORT_RANGE, anchors, decode, iou, weighted_nms
from avatarlab.facemesh.geometry import crop, letterbox, rotation_from
from avatarlab.render.images import write_png

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "sync_check"
MOUTH_POINTS = [13, 14, 61, 291, 78, 308]


def _mark(image: np.ndarray, points: np.ndarray, colour=(255, 0, 0)) -> np.ndarray:
    marked = np.ascontiguousarray(image[..., :3]).copy()
    for x, y in np.rint(points[:, :2]).astype(int):
        marked[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = colour
    return marked


def test_short_range_anchors_match_mediapipe_count():
    centres = anchors(SHORT_RANGE)
    assert centres.shape == (896, 2)  # 16x16x2 + 8x8x6, the model's 896 boxes
    assert np.allclose(centres[0], [0.5 / 16, 0.5 / 16]) and np.allclose(centres[512], [0.5 / 8, 0.5 / 8])


def test_decode_places_a_box_at_its_anchor_and_nms_merges_overlaps():
    centres = anchors(SHORT_RANGE)
    regressors = np.zeros((896, 16), np.float32)
    regressors[[100, 101], 2:4] = 32.0  # 32 / 128 = a quarter of the input wide and high
    logits = np.full((896, 1), -10.0, np.float32)
    logits[100], logits[101] = 3.0, 1.0
    scores, boxes, keypoints = decode(regressors, logits, centres, SHORT_RANGE)
    assert len(scores) == 2
    assert np.allclose(boxes[0], [*(centres[100] - 0.125), *(centres[100] + 0.125)])
    assert np.allclose(keypoints[0], centres[100])
    faces = weighted_nms(scores, boxes, keypoints, 0.3)
    assert len(faces) == 1 and faces[0][0] == pytest.approx(scores.max())
    assert iou(boxes[0], boxes[:1])[0] == pytest.approx(1.0)


def test_rect_maps_unit_square_with_rotation():
    rect = Rect(100.0, 50.0, 40.0, 20.0, np.pi / 2)
    # a quarter turn clockwise on screen: the unit square's right edge points down the image
    assert np.allclose(rect.to_image(np.array([1.0, 0.5])), [100.0, 70.0])
    assert rotation_from(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(np.pi / 4)
    assert rotation_from(np.array([0.0, 0.0]), np.array([1.0, 0.0])) == pytest.approx(0.0)


def test_crop_of_the_letterbox_is_the_resized_image():
    image = np.zeros((64, 32, 3), np.uint8)
    image[:, :, 0] = 200
    tensor = crop(image, letterbox(32, 64), 16, border="zero")
    assert tensor.shape == (16, 16, 3)
    assert np.allclose(tensor[:, 4:12, 0], 200) and np.allclose(tensor[:, :3, 0], 0)  # padded sides are black


def test_astronaut_face_and_mesh():
    skimage_data = pytest.importorskip("skimage.data")
    image = skimage_data.astronaut()
    detections = detect_faces(image)
    assert len(detections) == 1
    x0, y0, x1, y1 = detections[0].box
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200  # her face, not the suit or the flag
    faces = find_faces(image)
    points = faces[0].mesh.points
    write_png(ARTIFACTS / "astronaut_mesh.png", _mark(image, points))
    assert points.shape == (478, 3)  # 468 with the eyes refined and 10 iris points (tests/test_facemesh_iris.py)
    assert np.all((points[:, 0] > x0 - 20) & (points[:, 0] < x1 + 20) & (points[:, 1] > y0 - 30) & (points[:, 1] < y1 + 30))
    # anatomy: eyes above the nose tip above the mouth, the image-left eye on the left
    assert points[33, 0] < points[1, 0] < points[263, 0]
    assert points[159, 1] < points[1, 1] < points[13, 1] < points[152, 1]


def test_tracking_crop_from_the_mesh_finds_the_same_mesh():
    """MediaPipe's video mode crops the next frame from this frame's landmarks; on the same image the mesh
    found in that crop matches the first within a few pixels (a 90-pixel face)."""
    skimage_data = pytest.importorskip("skimage.data")
    from avatarlab.facemesh import face_mesh

    image = skimage_data.astronaut()
    first = find_faces(image, refine_eyes=False)[0].mesh
    again = face_mesh(image, first.next_rect())
    assert again.presence > 0.5
    assert float(np.mean(np.linalg.norm(again.points[:, :2] - first.points[:, :2], axis=1))) < 3.0


def test_no_face_in_a_flat_image():
    assert find_faces(np.full((256, 256, 3), 90, np.uint8)) == []


def _project(points: np.ndarray, view: np.ndarray, projection: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ (projection @ view).T
    ndc = homogeneous[:, :2] / homogeneous[:, 3:4]
    return np.stack([(ndc[:, 0] * 0.5 + 0.5) * size[0], (0.5 - ndc[:, 1] * 0.5) * size[1]], axis=1)


def test_default_avatar_mouth_landmarks_fall_on_its_mouth():
    from avatarlab.render import Avatar, RenderSettings, render_pose
    from avatarlab.render.camera import mouth_bounds

    settings = RenderSettings(size=(256, 256))
    avatar = Avatar.load()
    image = render_pose({"jawOpen": 0.4}, avatar=avatar, settings=settings)[..., :3]
    faces = find_faces(image)
    assert len(faces) == 1, "the default head is found as one face"
    camera = avatar.camera(settings.camera, 1.0)
    lo, hi = mouth_bounds(avatar.scene, avatar.rig)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    pixels = _project(corners, camera.view(), camera.projection(1.0), (256, 256))
    (px0, py0), (px1, py1) = pixels.min(axis=0), pixels.max(axis=0)
    margin_x, margin_y = 0.3 * (px1 - px0), 0.3 * (py1 - py0)
    mouth = faces[0].mesh.points[MOUTH_POINTS, :2]
    marked = _mark(image, faces[0].mesh.points)
    marked[int(py0):int(py1) + 1, [int(px0), int(px1)]] = (0, 255, 0)
    marked[[int(py0), int(py1)], int(px0):int(px1) + 1] = (0, 255, 0)
    write_png(ARTIFACTS / "default_avatar_mesh.png", marked)
    assert np.all((mouth[:, 0] > px0 - margin_x) & (mouth[:, 0] < px1 + margin_x))
    assert np.all((mouth[:, 1] > py0 - margin_y) & (mouth[:, 1] < py1 + margin_y))


def test_extract_keeps_only_the_four_models(tmp_path):
    import zipfile

    from avatarlab.facemesh.models import MODEL_FILES, extract

    wheel = tmp_path / "mediapipe-0.10.14-fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, member in MODEL_FILES.items():
            archive.writestr(member, name.encode())
        archive.writestr("mediapipe/python/solutions/face_mesh.py", b"# not a model")
    written = extract(wheel, tmp_path / "models")
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted(MODEL_FILES)
    assert all(p.read_bytes() == p.name.encode() for p in written)


def test_missing_models_are_a_clear_cli_error(tmp_path, monkeypatch):
    import subprocess
    import sys

    from avatarlab.facemesh.models import MODELS_ENV

    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    video = tmp_path / "face.mp4"
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "color=c=gray:s=64x64:r=25:d=3", "-f", "lavfi", "-i", "sine=d=3", "-shortest", "-pix_fmt",
                    "yuv420p", "-c:v", "libx264", "-c:a", "aac", str(video)], check=True, timeout=120)
    result = subprocess.run([sys.executable, "-m", "avatarlab", "sync-check", str(video)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not installed" in result.stderr and "avatarlab.facemesh.models" in result.stderr
