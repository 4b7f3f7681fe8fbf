"""The avatars' mouths, measured on rendered close-ups: every viseme and the key ARKit shapes read right, on the
default avatar (the photo head made from the public-domain portrait skimage.data.astronaut(), as committed) and on
the procedural head.

Each pose is drawn twice by the offscreen renderer with the same camera: the real avatar (what a person sees) and
the same geometry with flat, unlit label colours (skin, lips' red, mouth lining, teeth, tongue), from which the
metrics are read: the open area inside the lips, whether the lips' mask is whole, the opening's width and height.
The lit picture is checked for skin-coloured pixels inside an open mouth. A video of a line with many p, b and m
is rendered and decoded: the mouth is shut at the middle of every one and open at the open vowels.

Every test runs once per head (the ``head`` fixture: "default", "procedural"). The photo head's label render is
avatarlab.photo_avatar.labels (its face texture repainted in UV space: the lips' band from MediaPipe's lip rings).
Images land in out/test-artifacts/mouth/ (procedural head) and out/test-artifacts/mouth/photo/ (default head):
lit | labels, one PNG per pose, and contact sheets, for a person to open.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest

from avatarlab.avatar import default_avatar_glb
from avatarlab.avatar.default import avatar_document
from avatarlab.avatar.gltf import read_glb
from avatarlab.avatar.head import HeadModel, build_head
from avatarlab.channels import OCULUS_VISEMES
from avatarlab.photo_avatar.labels import LABEL_COLOURS, LANDMARKS, label_glb
from avatarlab.photo_avatar.topology import topology
from avatarlab.render import Avatar, Camera, Renderer, RenderSettings
from avatarlab.render.images import write_png
from tools import egl_missing, needs

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "mouth"
SIZE = (256, 192)
FRAME_HEIGHT = 0.055  # metres of face the close-up shows top to bottom

#: Label colours (linear = sRGB for 0 and 1) and their class numbers; the photo head's labels module uses the same.
LABELS = {"background": (30, 32, 40), **LABEL_COLOURS}
NAMES = tuple(LABELS)
OPENING = ("lining", "teeth", "tongue")  # what shows between parted lips

#: ARKit poses as face capture produces them (mouthClose only with as much jawOpen).
ARKIT_POSES: dict[str, dict[str, float]] = {
    "rest": {},
    "jawOpen": {"jawOpen": 0.7},
    "mouthClose": {"jawOpen": 0.35, "mouthClose": 0.35},
    "mouthPress": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},
    "mouthPucker": {"mouthPucker": 1.0},
    "mouthFunnel": {"mouthFunnel": 1.0},
    "mouthRoll": {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    "mouthSmile": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
    "mouthUpperUp": {"mouthUpperUpLeft": 1.0, "mouthUpperUpRight": 1.0},
    "mouthLowerDown": {"mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    "tongueOut": {"jawOpen": 0.2, "tongueOut": 0.6},
    "bilabial": {"jawOpen": 0.01, "mouthClose": 0.01, "mouthPressLeft": 0.75, "mouthPressRight": 0.75,
                 "mouthRollLower": 0.2, "mouthRollUpper": 0.15, "mouthShrugLower": 0.2},
}
CLOSED_ARKIT = ("rest", "mouthClose", "mouthPress", "mouthPucker", "mouthRoll", "mouthSmile", "bilabial")
CLOSED_VISEMES = ("sil", "PP")
OPEN_VISEMES = tuple(v for v in OCULUS_VISEMES if v not in CLOSED_VISEMES)
PP_TO_AA = (0.0, 0.25, 0.5, 0.75, 1.0)  # aa's share in a PP -> aa blend


pytestmark = needs(egl_missing())


# ---- the two avatars and the camera -----------------------------------------------------------------------------
def labelled_glb(model: HeadModel) -> bytes:
    """The default avatar with every part in one flat, unlit label colour (lips' red told from skin by its tag)."""
    skin, lids, cavity, teeth, tongue = model.head_parts
    colour = {name: np.asarray(rgb, float) / 255.0 for name, rgb in LABELS.items()}
    skin.colors = np.where((skin.tags["lining"] >= 0.5)[:, None], colour["lining"],
                           np.where((skin.tags["lip"] >= 0.5)[:, None], colour["lip"], colour["skin"]))
    for part, name in ((cavity, "lining"), (teeth, "teeth"), (tongue, "tongue"), (lids, "other"), (model.eye, "other"),
                       (model.ears, "other"), *((b, "other") for b in model.body)):
        part.colors = np.tile(colour[name], (len(part.positions), 1))
    document = read_glb(avatar_document(model))
    for material in document.materials:
        material.extensions = {"KHR_materials_unlit": {}}
    document.extensionsUsed = ["KHR_materials_unlit"]
    return b"".join(document.save_to_bytes())


def camera_at(mouth_y: float, mouth_z: float) -> Camera:
    """A front close-up of the lips, a little from above: FRAME_HEIGHT of face around the mouth's middle."""
    distance = FRAME_HEIGHT / 2 / np.tan(np.radians(12.5))
    return Camera((0.0, mouth_y + 0.003, mouth_z + distance), (0.0, mouth_y - 0.004, mouth_z), 25.0, near=0.02,
                  far=1.0)


def mouth_camera(model: HeadModel) -> Camera:
    """The default head's close-up, framed from the generator's own landmarks."""
    return camera_at(model.landmarks.mouth_y, model.landmarks.mouth_z)


def photo_mouth_camera(glb: bytes) -> Camera:
    """The photo head's close-up, framed from its face surface's lip landmarks (world space, rest pose): the
    height where the inner lip rings meet and the front of the outer ring."""
    scene = Avatar.load(glb).scene
    for node, matrix in scene.world_matrices().items():
        mesh = scene.nodes[node].mesh
        for primitive in scene.meshes[mesh].primitives if mesh is not None else ():
            if len(primitive.positions) == LANDMARKS and primitive.uv is not None:
                world = primitive.positions @ matrix[:3, :3].T + matrix[:3, 3]
                topo = topology()
                inner = world[topo.ring("lipsUpperInner", "lipsLowerInner")]
                outer = world[topo.ring("lipsUpperOuter", "lipsLowerOuter")]
                return camera_at(float(inner[:, 1].mean()), float(outer[:, 2].max()))
    raise AssertionError("the photo avatar has no face surface")


def classes(image: np.ndarray) -> np.ndarray:
    """Class number (index in NAMES) of each pixel of a label render: the nearest label colour."""
    palette = np.asarray(list(LABELS.values()), float)
    distance = ((image[..., None, :3].astype(float) - palette) ** 2).sum(axis=-1)
    return distance.argmin(axis=-1)


# ---- measuring ----------------------------------------------------------------------------------------------------
def _grow(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _uniform(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 4 neighbours have their label (not on an edge between two parts)."""
    same = np.ones(labels.shape, bool)
    same[1:] &= labels[1:] == labels[:-1]
    same[:-1] &= labels[:-1] == labels[1:]
    same[:, 1:] &= labels[:, 1:] == labels[:, :-1]
    same[:, :-1] &= labels[:, :-1] == labels[:, 1:]
    return same


def flood(seed: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Pixels of ``within`` connected (4-neighbours) to ``seed``."""
    reached = seed & within
    while True:
        grown = _grow(reached) & within
        if grown.sum() == reached.sum():
            return reached
        reached = grown


def components(mask: np.ndarray, smallest: int = 1) -> int:
    """How many 4-connected pieces of at least ``smallest`` pixels ``mask`` has."""
    left, count = mask.copy(), 0
    while left.any():
        seed = np.zeros_like(mask)
        seed[tuple(np.argwhere(left)[0])] = True
        piece = flood(seed, left)
        left &= ~piece
        count += int(piece.sum() >= smallest)
    return count


def enclosed(mask: np.ndarray) -> np.ndarray:
    """``mask`` with its holes filled: every pixel not reachable from the border without crossing it."""
    border = np.zeros_like(mask)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    return ~flood(border & ~mask, ~mask)


@dataclass
class Mouth:
    """What a close-up shows of the mouth (pixels)."""

    opening: int  # lining, teeth and tongue inside the lips
    lips: int
    lip_pieces: int  # pieces of the lips' red of 20 px or more (shut: 1; parted: the two lips)
    unflanked: int  # columns across the middle 80% of the opening without lip red both above and below it
    lip_holes: int  # pixels the lips' red goes round that are not red (shut lips: none)
    width: int  # of the opening
    height: int
    teeth: int
    tongue: int
    lining: int
    skin_inside: int  # skin pixels inside the lips' outline
    skin_in_opening: int  # of those, the ones joined to the opening (not a notch in the lips' outer edge)

    @property
    def ratio(self) -> float:
        return self.width / self.height if self.height else 0.0


def _unflanked(opening: np.ndarray, lips: np.ndarray) -> int:
    """Columns in the middle 80% of the opening where lip red is missing above or below it."""
    columns = np.nonzero(opening.any(axis=0))[0]
    if not len(columns):
        return 0
    lo, hi = np.percentile(columns, [10, 90]).astype(int)
    missing = 0
    for c in range(lo, hi + 1):
        rows = np.nonzero(opening[:, c])[0]
        if len(rows):
            missing += int(not lips[:rows[0], c].any() or not lips[rows[-1] + 1:, c].any())
    return missing


def measure(labels: np.ndarray) -> Mouth:
    is_ = {name: labels == i for i, name in enumerate(NAMES)}
    lips = is_["lip"]
    mouth = enclosed(lips | is_["lining"] | is_["teeth"] | is_["tongue"])
    opening = mouth & (is_["lining"] | is_["teeth"] | is_["tongue"])
    columns = np.nonzero(opening.any(axis=0))[0]
    rows_per_column = opening.sum(axis=0)
    skin = mouth & is_["skin"]
    return Mouth(opening=int(opening.sum()), lips=int(lips.sum()), lip_pieces=components(lips, 20),
                 unflanked=_unflanked(opening, lips), lip_holes=int((enclosed(lips) & ~lips).sum()),
                 width=int(columns[-1] - columns[0] + 1) if len(columns) else 0,
                 height=int(rows_per_column.max()) if len(columns) else 0,
                 teeth=int((mouth & is_["teeth"]).sum()), tongue=int((mouth & is_["tongue"]).sum()),
                 lining=int((mouth & is_["lining"]).sum()), skin_inside=int(skin.sum()),
                 skin_in_opening=int(flood(_grow(opening) & skin, skin).sum()))


def skin_coloured(lit: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pixels of the lit picture whose colour is nearer the skin's than the lips' (chromaticity, not brightness)."""
    rgb = lit[..., :3].astype(float) + 1.0
    chroma = np.stack([rgb[..., 1] / rgb[..., 0], rgb[..., 2] / rgb[..., 0]], axis=-1)
    skin = np.median(chroma[labels == NAMES.index("skin")], axis=0)
    lip = np.median(chroma[labels == NAMES.index("lip")], axis=0)
    to_skin = np.linalg.norm(chroma - skin, axis=-1)
    to_lip = np.linalg.norm(chroma - lip, axis=-1)
    bright = rgb.sum(axis=-1) > 0.5 * np.median(rgb[labels == NAMES.index("skin")].sum(axis=-1))
    white = chroma.min(axis=-1) > 0.9  # teeth: as bright as skin, but grey
    return (to_skin < 0.5 * to_lip) & bright & ~white


# ---- rendering once for all the tests -----------------------------------------------------------------------------
@dataclass
class Shot:
    lit: np.ndarray
    labels: np.ndarray
    mouth: Mouth


def _label_image(labels: np.ndarray) -> np.ndarray:
    return np.asarray(list(LABELS.values()), np.uint8)[labels]


def _save(folder: Path, name: str, shot: Shot) -> None:
    write_png(folder / f"{name}.png", np.concatenate([shot.lit[..., :3], _label_image(shot.labels)], axis=1))


def _sheet(path: Path, shots: list[Shot], columns: int = 4) -> None:
    tiles = [s.lit[..., :3] for s in shots]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.concatenate(tiles[i:i + columns], axis=1) for i in range(0, len(tiles), columns)]
    write_png(path, np.concatenate(rows, axis=0))


def _render_all(poses: dict[str, dict[str, float]], profile: str, camera: Camera, lit_glb: bytes,
                label_glb: bytes) -> dict[str, Shot]:
    """Each pose drawn on the real avatar and on the labelled one (no antialiasing: pure label colours)."""
    lit_images, label_images = {}, {}
    with Renderer(Avatar.load(lit_glb, profile), RenderSettings(size=SIZE)) as renderer:
        lit_images = {name: renderer.render(pose, camera) for name, pose in poses.items()}
    with Renderer(Avatar.load(label_glb, profile), RenderSettings(size=SIZE, antialias="none")) as renderer:
        label_images = {name: classes(renderer.render(pose, camera)) for name, pose in poses.items()}
    return {name: Shot(lit_images[name], label_images[name], measure(label_images[name])) for name in poses}


@dataclass(frozen=True)
class Head:
    """One avatar under test: its GLB, its label render, its close-up and how its lit mouth interior looks."""

    name: str
    lit_glb: bytes
    label_glb: bytes
    camera: Camera
    artifacts: Path
    #: The video test's frames are rendered from this GLB, and this tells the inside of the mouth in them.
    video_glb: bytes
    video_opening: Callable[[np.ndarray], np.ndarray]
    #: Skin pixels allowed in notches of the lips' outer edge (never joined to the opening).
    lip_edge_skin: int = 0

    @cached_property
    def has_teeth(self) -> bool:
        """Whether the GLB has teeth and a tongue (materials "Teeth", "Tongue"): their checks apply once it has."""
        materials = {m.name for m in read_glb(self.lit_glb).materials}
        return {"Teeth", "Tongue"} <= materials


def procedural_head() -> Head:
    model = build_head()
    lit = avatar_document(model)
    return Head("procedural", lit, labelled_glb(build_head()), mouth_camera(model), ARTIFACTS, lit, lit_opening)


def photo_head() -> Head:
    """The default avatar: the astronaut's photo head as committed (models/avatar/default_head.glb)."""
    glb = default_avatar_glb()
    labels = label_glb(glb)
    # The video is read from the label render: the photo's skin has the photo's own dark mouth corners and white
    # highlights baked in, so no colour rule on lit frames tells its open mouth from its shut one. Its lip corners
    # are coarse triangles of the face mesh, which fold over a few pixels of the lips' outer edge as the mouth opens.
    return Head("default", glb, labels, photo_mouth_camera(glb), ARTIFACTS / "photo", labels, label_opening,
                lip_edge_skin=8)


@pytest.fixture(scope="module", params=["procedural", "default"])
def head(request) -> Head:
    return {"procedural": procedural_head, "default": photo_head}[request.param]()


def needs_teeth(head: Head) -> None:
    if not head.has_teeth:
        pytest.skip(f"the {head.name} head has no teeth and tongue yet")


@pytest.fixture(scope="module")
def shots(head: Head) -> dict[str, Shot]:
    visemes = {name: {name: 1.0} for name in OCULUS_VISEMES}
    visemes.update({f"PP-aa-{share:.2f}": {"PP": 1.0 - share, "aa": share} for share in PP_TO_AA})
    out = {f"viseme_{name}": shot
           for name, shot in _render_all(visemes, "oculus", head.camera, head.lit_glb, head.label_glb).items()}
    out.update({f"arkit_{name}": shot
                for name, shot in _render_all(ARKIT_POSES, "arkit", head.camera, head.lit_glb, head.label_glb).items()})
    head.artifacts.mkdir(parents=True, exist_ok=True)
    for name, shot in out.items():
        _save(head.artifacts, name, shot)
    _sheet(head.artifacts / "visemes.png", [out[f"viseme_{v}"] for v in OCULUS_VISEMES])
    _sheet(head.artifacts / "arkit.png", [out[f"arkit_{p}"] for p in ARKIT_POSES])
    metrics = {name: {**asdict(shot.mouth), "ratio": round(shot.mouth.ratio, 3)} for name, shot in out.items()}
    (head.artifacts / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    return out


def _viseme(shots, name: str) -> Mouth:
    return shots[f"viseme_{name}"].mouth


# ---- the mouth shut ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [f"viseme_{v}" for v in CLOSED_VISEMES] + [f"arkit_{p}" for p in CLOSED_ARKIT])
def test_closed_mouths_have_no_opening_and_whole_lips(shots, name: str) -> None:
    mouth = shots[name].mouth
    assert mouth.opening == 0, f"{name}: {mouth.opening} px of the inside of the mouth show between shut lips"
    assert mouth.lip_pieces == 1 and mouth.lip_holes == 0, f"{name}: the lips' red is split {mouth}"
    assert mouth.lips > 0.4 * shots["arkit_rest"].mouth.lips, f"{name}: the lips vanished ({mouth.lips} px)"
    assert mouth.skin_inside == 0, f"{name}: skin covers the mouth"


def test_closed_lips_stay_where_the_lips_are(shots) -> None:
    """Nothing pokes out: shut lips' red stays inside the band the resting lips occupy (a few px of slack)."""
    rest = shots["arkit_rest"].labels == NAMES.index("lip")
    rows = np.nonzero(rest.any(axis=1))[0]
    for name in [f"viseme_{v}" for v in CLOSED_VISEMES] + ["arkit_mouthClose", "arkit_mouthPress", "arkit_bilabial"]:
        red = shots[name].labels == NAMES.index("lip")
        red_rows = np.nonzero(red.any(axis=1))[0]
        jaw_drop = 40 if name == "arkit_mouthClose" else 0  # lips sealed over a jaw a third open sit lower
        assert rows[0] - 4 <= red_rows[0], f"{name}: lip red stands up above the lips"
        assert red_rows[-1] <= rows[-1] + 4 + jaw_drop, f"{name}: lip red below the lips"


# ---- the mouth open ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPEN_VISEMES)
def test_open_visemes_show_an_opening_inside_whole_lips(head, shots, name: str) -> None:
    mouth = _viseme(shots, name)
    assert mouth.opening > 40, f"{name}: the mouth does not open ({mouth})"
    assert mouth.lip_pieces <= 2 and mouth.unflanked == 0, f"{name}: the lips do not go round the opening {mouth}"
    assert mouth.skin_in_opening == 0, f"{name}: {mouth.skin_in_opening} skin pixels inside the mouth"
    assert mouth.skin_inside <= head.lip_edge_skin, f"{name}: {mouth.skin_inside} skin pixels inside the lips"


def test_opening_grows_from_pp_to_aa(shots) -> None:
    areas = [shots[f"viseme_PP-aa-{share:.2f}"].mouth.opening for share in PP_TO_AA]
    assert areas[0] == 0 and all(b > a for a, b in zip(areas, areas[1:])), areas
    jaw = {v: _viseme(shots, v).opening for v in OCULUS_VISEMES}
    assert max(jaw, key=jaw.get) == "aa", f"aa must be the widest opening: {jaw}"
    assert jaw["PP"] < jaw["ih"] < jaw["E"] < jaw["aa"], jaw


def test_aa_shows_the_cavity_and_the_teeth(head, shots) -> None:
    mouth = _viseme(shots, "aa")
    assert mouth.lining > 0.3 * mouth.opening, mouth
    assert mouth.teeth > 150 or not head.has_teeth, mouth
    assert mouth.width == max(_viseme(shots, v).width for v in ("aa", "oh", "ou", "CH", "RR")), "aa is the widest"


def test_rounded_visemes_are_narrower_and_rounder_than_aa(shots) -> None:
    aa = _viseme(shots, "aa")
    for name in ("oh", "ou"):
        mouth = _viseme(shots, name)
        assert mouth.width < 0.85 * aa.width, f"{name} is not narrower than aa: {mouth.width} vs {aa.width}"
        assert mouth.ratio < 0.8 * aa.ratio and mouth.ratio < 2.2, f"{name} is not round: {mouth.ratio:.2f}"


def test_spread_visemes_are_wide_and_flat(shots) -> None:
    for name in ("E", "ih"):
        mouth = _viseme(shots, name)
        assert mouth.ratio > 1.4 * _viseme(shots, "aa").ratio and mouth.ratio > 1.4 * _viseme(shots, "oh").ratio, name
        assert mouth.width > _viseme(shots, "oh").width, name


def test_ff_tucks_the_lower_lip_under_the_upper_teeth(head, shots) -> None:
    needs_teeth(head)
    shot = shots["viseme_FF"]
    assert shot.mouth.teeth > 60, shot.mouth
    teeth = shot.labels == NAMES.index("teeth")
    centre = teeth.shape[1] // 2
    column = shot.labels[:, centre - 10:centre + 11]
    below = [NAMES[column[r, c]] for c in range(column.shape[1])
             for r in [np.nonzero(teeth[:, centre - 10 + c])[0].max() + 1] if teeth[:, centre - 10 + c].any()]
    assert below and all(name == "lip" for name in below), f"under the upper teeth: {below}"


def test_th_shows_the_tongue_tip(head, shots) -> None:
    needs_teeth(head)
    assert _viseme(shots, "TH").tongue > 40, _viseme(shots, "TH")


def test_lifting_the_upper_lip_shows_the_upper_teeth(head, shots) -> None:
    needs_teeth(head)
    lifted, rest = shots["arkit_mouthUpperUp"], shots["arkit_rest"]
    assert lifted.mouth.teeth > 200, lifted.mouth
    teeth_rows = np.nonzero((lifted.labels == NAMES.index("teeth")).any(axis=1))[0]
    rest_lip_rows = np.nonzero((rest.labels == NAMES.index("lip")).any(axis=1))[0]
    assert teeth_rows.mean() < rest_lip_rows.mean(), "the teeth that show are the upper ones"


@pytest.mark.parametrize("name", [f"viseme_{v}" for v in OPEN_VISEMES] + ["arkit_jawOpen", "arkit_mouthFunnel",
                                                                          "arkit_mouthUpperUp", "arkit_tongueOut"])
def test_no_skin_coloured_pixels_inside_an_open_mouth(head, shots, name: str) -> None:
    """In the lit picture, the lining, gums and teeth seen between the lips are nowhere the skin's colour (the
    tongue is left out: its glossy highlight is as pale as skin)."""
    shot = shots[name]
    labels = shot.labels
    seen = np.isin(labels, [NAMES.index(n) for n in ("lining", "teeth")])
    opening = enclosed(np.isin(labels, [NAMES.index(n) for n in ("lip", *OPENING)])) & seen
    uniform = _uniform(labels)
    inner = opening & uniform & ~_grow(~uniform)  # where two parts meet, antialiasing blends their colours
    skin = skin_coloured(shot.lit, labels) & inner
    if skin.any():
        write_png(head.artifacts / f"{name}-skin-inside.png", np.where(skin[..., None], 255, shot.lit[..., :3] // 2))
    assert not skin.any(), f"{name}: {int(skin.sum())} skin-coloured pixels inside the open mouth"


# ---- the lit picture alone, and a rendered video -------------------------------------------------------------------
def lit_opening(image: np.ndarray) -> np.ndarray:
    """What of the inside of the mouth a lit close-up shows, told by colour alone: the lining's deep red (far
    redder than skin, lips or tongue) and the teeth's white (grey, unlike the warm highlights on skin and lips).
    Only the middle of the frame, where the mouth is, counts."""
    rgb = image[..., :3].astype(float)
    lining = (rgb[..., 0] > 80) & (rgb[..., 0] > 1.7 * rgb[..., 1])
    white = (rgb.min(axis=-1) > 170) & (rgb.min(axis=-1) > 0.93 * rgb.max(axis=-1))
    height, width = rgb.shape[:2]
    window = np.zeros((height, width), bool)
    window[height // 8:height * 7 // 8, width // 8:width * 7 // 8] = True
    return (lining | white) & window


def label_opening(image: np.ndarray) -> np.ndarray:
    """The inside of the mouth in a (decoded) label render: pixels nearest the lining, teeth or tongue colour."""
    return np.isin(classes(image), [NAMES.index(n) for n in OPENING])


def test_the_lit_colour_rule_agrees_with_the_labels(head, shots) -> None:
    """So the video test below, which sees only lit frames, measures the same opening as the labels do."""
    if head.video_glb != head.lit_glb:
        pytest.skip(f"the {head.name} head's video is read from its label render")
    for name, shot in shots.items():
        lit = int(lit_opening(shot.lit).sum())
        labelled = shot.mouth.lining + shot.mouth.teeth
        if shot.mouth.opening == 0:
            assert lit == 0, f"{name}: {lit} px look like an open mouth in the lit picture"
        else:
            assert abs(lit - labelled) <= 0.2 * labelled + 40, f"{name}: lit {lit} px, labels {labelled} px"


def thick(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with the pixels above and below them in it too: a parted mouth, not the dark crease
    of shut lips (which video compression can tint as red as the lining)."""
    out = mask.copy()
    out[1:-1] &= mask[:-2] & mask[2:]
    out[[0, -1]] = False
    return out


def _decode(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]


def test_rendered_video_shuts_the_mouth_on_every_bilabial_and_opens_it_on_open_vowels(head, engine, tmp_path) -> None:
    from avatarlab.render import render_video

    fps = 30
    utterance = engine.speak("Bob may buy my map. Pam, stop the bomb!", fps=fps, seed=1)
    settings = RenderSettings(size=SIZE, fps=fps, crf=10)
    with Renderer(Avatar.load(head.video_glb), settings) as renderer:
        renderer.camera = head.camera
        result = render_video(utterance, tmp_path / "line.mp4", settings, renderer=renderer)
    head.artifacts.mkdir(parents=True, exist_ok=True)
    (head.artifacts / "line.mp4").write_bytes(result.path.read_bytes())
    frames = _decode(result.path)
    assert len(frames) == result.frames
    rate = utterance.sample_rate
    middle = lambda p: round((p.start + p.end) / 2 * fps / rate)  # noqa: E731 - the frame the curves close on
    bilabials = [p for p in utterance.timeline.phonemes if p.symbol in ("p", "b", "m")]
    vowels = [p for p in utterance.timeline.phonemes
              if p.symbol in ("ɑː", "ɑ", "a", "æ", "ɒ", "ɔ") and (p.end - p.start) >= 0.07 * rate]
    assert len(bilabials) >= 8 and len(vowels) >= 3
    stills = []
    for p in bilabials:
        frame = frames[middle(p)]
        stills.append(frame)
        shown = int(thick(head.video_opening(frame)).sum())
        assert shown == 0, f"{p.symbol} at {p.start / rate:.2f} s (frame {middle(p)}): {shown} px of open mouth"
    for p in vowels:
        frame = frames[middle(p)]
        stills.append(frame)
        shown = int(thick(head.video_opening(frame)).sum())
        assert shown > 300, f"{p.symbol} at {p.start / rate:.2f} s (frame {middle(p)}): only {shown} px open"
    tiles = stills + [np.zeros_like(stills[0])] * (-len(stills) % 6)
    write_png(head.artifacts / "video_bilabials_then_vowels.png",
              np.concatenate([np.concatenate(tiles[i:i + 6], axis=1) for i in range(0, len(tiles), 6)], axis=0))
