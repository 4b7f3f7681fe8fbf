"""Draw frames with three.js in Debian's chromium (threejs_client/e2e/draw_frames.mjs): the web client's picture of an
avatar, for the parity test (tests/test_render_parity.py) and the render benchmark (benchmarks/bench_render.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatarlab.render import ALL_CHANNELS, Camera

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "threejs_client"
DRAW_SCRIPT = PKG / "e2e/draw_frames.mjs"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Pass:
    """One way of drawing every frame: lit (the web demo's materials and lights) or flat label colours per vertex."""

    name: str
    antialias: bool = True
    labels: dict[tuple[int, int], np.ndarray] | None = None  # (mesh, primitive) -> (n, 3) linear RGB per vertex
    fallback: tuple[float, float, float] = (0.0, 0.0, 0.0)  # label of every primitive not in ``labels``
    background: str | None = None  # '#rrggbb' (default: the job's)
    save: Path | None = None  # write NAME-i.png for every frame into this folder
    time: int | None = None  # draw and read back this many frames, timed (ms each)
    warmup: int = 3


@dataclass
class PassResult:
    name: str
    profile: str  # the retarget profile FaceDriver chose
    gl_renderer: str
    files: list[Path] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)


def camera_spec(camera: Camera) -> dict:
    """The numbers of a three.js PerspectiveCamera that sees what ``camera`` sees."""
    return {"eye": [float(v) for v in camera.eye], "target": [float(v) for v in camera.target],
            "up": [float(v) for v in camera.up], "fov": float(camera.fov_y_deg), "near": float(camera.near),
            "far": float(camera.far)}


def draw_with_threejs(work: Path, avatar: Path, size: tuple[int, int], camera: Camera, frames: np.ndarray,
                      passes: list[Pass], *, fps: int = 30, background: str = "#1e2028",
                      timeout: float = 900) -> list[PassResult]:
    """Draw ``frames`` ((n, len(ALL_CHANNELS)) poses, frame i at i / fps) of the avatar file in three.js.

    The job's files go into ``work``. Raises AssertionError with the page's console on any failure.
    """
    work.mkdir(parents=True, exist_ok=True)
    frames = np.ascontiguousarray(frames, dtype="<f4")
    if frames.ndim != 2 or frames.shape[1] != len(ALL_CHANNELS):
        raise ValueError(f"frames must be (n, {len(ALL_CHANNELS)}), got {frames.shape}")
    frames.tofile(work / "frames.f32")
    job_passes = []
    for p in passes:
        labels = None
        if p.labels is not None:
            labels = {}
            for (mesh, primitive), colours in p.labels.items():
                name = f"labels-{p.name}-{mesh}-{primitive}.f32"
                np.ascontiguousarray(colours, dtype="<f4").tofile(work / name)
                labels[f"{mesh}/{primitive}"] = name
        job_passes.append({"name": p.name, "antialias": p.antialias, "labels": labels, "fallback": list(p.fallback),
                           "background": p.background,
                           "save": str(p.save) if p.save else None, "time": p.time, "warmup": p.warmup})
    job = {"avatar": str(Path(avatar).resolve()), "width": size[0], "height": size[1], "fps": fps,
           "background": background, "camera": camera_spec(camera), "columns": list(ALL_CHANNELS),
           "frames": "frames.f32", "passes": job_passes}
    (work / "job.json").write_text(json.dumps(job, indent=1), encoding="utf-8")
    proc = subprocess.run(["node", str(DRAW_SCRIPT), "--job", str(work / "job.json"), "--chromium", CHROMIUM],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0 and proc.stdout.strip(), f"draw_frames.mjs failed ({proc.returncode}):\n{proc.stderr}"
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    errors = [line for line in data["console"] if line.startswith("pageerror")]
    assert "error" not in data and not errors, f"{data.get('error', '')}\n" + "\n".join(data["console"])
    return [PassResult(r["name"], r["profile"], r["glRenderer"], [Path(f) for f in r["files"]], r["times"])
            for r in data["passes"]]
