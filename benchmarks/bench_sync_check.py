"""Face mesh and sync-check speed on the 2-core CPU machine.

    .venv/bin/python benchmarks/bench_sync_check.py          ->  benchmarks/results/sync_check.json + sync_check.md

- face mesh fps: every frame of a 512x512, 25 fps render of the default avatar saying a line, decoded first, then
  detection (BlazeFace short range) + the 468-point mesh timed per frame (LiteRT, XNNPACK, up to 4 threads).
- sync-check x real time: `sync_check(video)` end to end (decoding audio and frames, face mesh on every frame,
  envelope, lag search) on the same video: video seconds / wall seconds. Also with --curves and --transcript.
The 1-minute load average before the run is recorded: other work on the 2 cores slows the numbers.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LINE = "Halt! Who goes there? Show yourself, traveler, and state your business at the gate."
FPS = 25


def main() -> int:
    from avatarlab.facemesh import detect_faces, detection_rect, face_mesh
    from avatarlab.sync_check import sync_check
    from avatarlab.sync_check.video import probe, read_frames

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        subprocess.run([sys.executable, "-m", "avatarlab", "render", LINE, "--out", str(folder), "--name", "line",
                        "--size", "512x512", "--fps", str(FPS), "--quiet"], check=True)
        video = folder / "line.mp4"
        info = probe(video)
        frames = [frame.copy() for frame in read_frames(info)]
        face_mesh(frames[0], detection_rect(detect_faces(frames[0])[0]))  # warm-up: models loaded
        started = time.perf_counter()
        for frame in frames:
            face_mesh(frame, detection_rect(detect_faces(frame)[0]))
        mesh_s = time.perf_counter() - started
        seconds = len(frames) / FPS
        runs = {}
        for label, kwargs in (("envelope", {}), ("curves", {"curves": folder / "line.json"}),
                              ("transcript", {"transcript": LINE})):
            result = sync_check(video, **kwargs)
            runs[label] = {"offset_ms": round(result.offset_ms, 1), "confidence": round(result.confidence, 3),
                           "elapsed_s": round(result.elapsed_s, 3),
                           "x_real_time": round(seconds / result.elapsed_s, 2)}
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1min": round(load, 2)},
              "video": {"size": "512x512", "fps": FPS, "frames": len(frames), "seconds": round(seconds, 2)},
              "face_mesh": {"fps": round(len(frames) / mesh_s, 1), "ms_per_frame": round(1000 * mesh_s / len(frames), 2)},
              "sync_check": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sync_check.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# sync-check benchmark", "", f"{os.cpu_count()} CPUs, load {load:.2f} before the run; "
             f"a {seconds:.2f} s line, 512x512 at {FPS} fps ({len(frames)} frames), the default avatar.", "",
             f"- face mesh (detection + 468 points, frames already decoded): **{report['face_mesh']['fps']} fps** "
             f"({report['face_mesh']['ms_per_frame']} ms a frame)", "",
             "| sync-check against | offset (ms) | confidence | wall (s) | x real time |", "|---|---|---|---|---|"]
    lines += [f"| {label} | {run['offset_ms']:+.1f} | {run['confidence']:.2f} | {run['elapsed_s']:.2f} | "
              f"{run['x_real_time']:.2f} |" for label, run in runs.items()]
    (RESULTS / "sync_check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
