"""Photo avatar speed and memory on the 2-core CPU machine: `avatarlab avatar --photo` from photo to GLB and VRM.

    .venv/bin/python benchmarks/bench_photo_avatar.py        ->  benchmarks/results/photo_avatar.json + photo_avatar.md
    .venv/bin/python benchmarks/bench_photo_avatar.py -n 9   (runs per photo; the median counts)
    .venv/bin/python benchmarks/bench_photo_avatar.py --quick  (1 run, writes nothing)

Photos: the public-domain astronaut portrait (`skimage.data.astronaut()`, 512x512) and the same upscaled to
2048x2048 (bicubic), both as PNG files. Per photo, N runs after a warm-up (face models loaded), median and min:
- photo -> GLB (`photo_avatar_glb`), split into decode (ffmpeg), face mesh (both MediaPipe detectors, the
  468-point mesh and the Iris model for the eyeballs' colour, `find_face`), lift + shapes (pose fit, closing the lips, the 67 morph targets), texture (the
  crop, resampled, as PNG), mouth interior (`mouth_parts` or `mouth_interior`, whichever the build has), GLB
  packing (`BufferPacker.finish`) and other geometry (eyes, sockets, shell, body, primitives: the rest);
- photo -> VRM: the same plus `vrm_from_glb`;
- the floor, in the same runs: MediaPipe's landmarks alone (`find_faces`: one detector + the mesh, what
  sync-check runs per frame) on the decoded photo. No other photo-to-head tool is installable here (DECA, EMOCA
  and 3DDFA need weights we do not ship), so the face mesh it starts from is the comparison.
Peak memory (max RSS) and the wall time of a fresh process (imports and model loading included) come from one
child process per photo making the VRM, and one running only the landmarks. The 1-minute load average before and
after, and the CPU other processes used during the run (bench_render.CpuShare), are recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LARGE_SIDE = 2048
STAGES = ("decode", "face mesh", "lift + shapes", "texture", "mouth interior", "GLB packing", "other geometry")


class Stopwatch:
    """Times named functions while patched in: seconds per label, summed within one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, label: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
        return timed

    @contextlib.contextmanager
    def patched(self) -> Iterator[Stopwatch]:
        """The pipeline's steps, timed where photo_avatar looks them up (its package and document module)."""
        import avatarlab.photo_avatar as package
        from avatarlab.photo_avatar import document

        from avatarlab.avatar.gltf import BufferPacker

        targets = [(package, "read_photo", "decode"), (package, "find_face", "face mesh"),
                   (package, "lift", "lift + shapes"), (document, "close_lips", "lift + shapes"),
                   (document, "all_shapes", "lift + shapes"), (document, "texture", "texture"),
                   (document, "mouth_parts", "mouth interior"), (document, "mouth_interior", "mouth interior"),
                   (BufferPacker, "finish", "GLB packing")]
        with contextlib.ExitStack() as stack:
            for module, name, label in targets:
                if hasattr(module, name):
                    stack.enter_context(mock.patch.object(module, name, self.wrap(label, getattr(module, name))))
            yield self


def photos(folder: Path) -> dict[str, Path]:
    """The astronaut portrait and its 2048-pixel upscale, as PNG files."""
    from skimage.data import astronaut
    from skimage.transform import resize

    from avatarlab.render.images import png_bytes

    image = astronaut()
    large = np.clip(resize(image, (LARGE_SIDE, LARGE_SIDE), order=3, preserve_range=True), 0, 255)
    out = {}
    for label, pixels in (("astronaut 512x512", image), (f"astronaut upscaled {LARGE_SIDE}x{LARGE_SIDE}",
                                                          large.round().astype(np.uint8))):
        path = folder / f"{label.split()[-1]}.png"
        path.write_bytes(png_bytes(pixels))
        out[label] = path
    return out


def one_run(path: Path) -> dict[str, float]:
    """Seconds of one photo -> GLB -> VRM, by stage, and of the landmarks alone on the decoded photo."""
    from avatarlab.facemesh import find_faces
    from avatarlab.photo_avatar import photo_avatar_glb, read_photo
    from avatarlab.photo_avatar.vrm import VrmMeta, vrm_from_glb

    with Stopwatch().patched() as watch:
        started = time.perf_counter()
        glb, _ = photo_avatar_glb(path)
        total = time.perf_counter() - started
    started = time.perf_counter()
    vrm_from_glb(glb, VrmMeta(path.stem))
    vrm = time.perf_counter() - started
    image = read_photo(path)
    started = time.perf_counter()
    faces = find_faces(image, refine_eyes=False)  # the 468 the head is built on
    floor = time.perf_counter() - started
    assert faces, f"no face in {path}"
    stages = {label: watch.seconds.get(label, 0.0) for label in STAGES[:-1]}
    stages["other geometry"] = total - sum(stages.values())
    return {**stages, "photo -> GLB": total, "GLB -> VRM": vrm, "photo -> VRM": total + vrm,
            "landmarks alone (floor)": floor, "glb_bytes": len(glb)}


def memory_child(path: Path, floor: bool) -> None:
    """(In a fresh process) make the VRM of ``path``, or only its landmarks; print wall s and peak RSS MiB."""
    started = time.perf_counter()
    if floor:
        from avatarlab.facemesh import find_faces
        from avatarlab.photo_avatar import read_photo

        find_faces(read_photo(path), refine_eyes=False)
    else:
        from avatarlab.photo_avatar import photo_avatar_glb
        from avatarlab.photo_avatar.vrm import VrmMeta, vrm_from_glb

        vrm_from_glb(photo_avatar_glb(path)[0], VrmMeta(path.stem))
    print(json.dumps({"wall_s": time.perf_counter() - started, "peak_mib": peak_mib()}))


def peak_mib() -> float:
    """This process's peak RSS (VmHWM): unlike ru_maxrss, not inherited from the parent that spawned it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_process(path: Path, floor: bool) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--memory-child", str(path), *(["--floor"] if floor else [])],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "process_s": time.perf_counter() - started}


def summary(values: list[float]) -> dict:
    return {"median_ms": round(1000 * statistics.median(values), 1), "min_ms": round(1000 * min(values), 1)}


def machine() -> dict:
    from bench_engine import machine_info

    info = machine_info()
    return {"cpu_model": info["cpu_model"], "cores": os.cpu_count(), "python": info["python"], "git": info["git"]}


def measure(runs: int) -> dict:
    from bench_render import CpuShare

    load_start = os.getloadavg()[0]
    share = CpuShare()
    share.start()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, path in photos(Path(scratch)).items():
            one_run(path)  # warm-up: face models loaded, caches filled
            timings = [one_run(path) for _ in range(runs)]
            keys = [key for key in timings[0] if key != "glb_bytes"]
            results[label] = {"photo_bytes": path.stat().st_size, "glb_bytes": timings[0]["glb_bytes"],
                              "runs": runs, **{key: summary([t[key] for t in timings]) for key in keys},
                              "fresh_process": fresh_process(path, floor=False),
                              "fresh_process_floor": fresh_process(path, floor=True)}
    wall, other = share.stop()
    return {"date": time.strftime("%Y-%m-%d"), "machine": machine(),
            "load_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
            "other_work_cores": round(other, 2), "wall_s": round(wall, 1), "photos": results}


def markdown(report: dict) -> str:
    load = report["load_1min"]
    lines = ["# Photo avatar benchmark", "",
             f"{report['date']}, {report['machine']['cores']} CPUs ({report['machine']['cpu_model']}), git "
             f"{report['machine']['git']}; 1-minute load average {load['start']:.2f} before the run and "
             f"{load['end']:.2f} after; other processes used {report['other_work_cores']:.2f} cores on average "
             f"during its {report['wall_s']:.0f} s. Times in ms: median (min) of N runs after a warm-up, in one "
             "process with the face models loaded.", ""]
    names = list(report["photos"])
    lines += ["| step | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in (*STAGES, "photo -> GLB", "GLB -> VRM", "photo -> VRM", "landmarks alone (floor)"):
        cells = [f"{p[key]['median_ms']:.0f} ({p[key]['min_ms']:.0f})" for p in report["photos"].values()]
        bold = key in ("photo -> GLB", "photo -> VRM")
        lines.append(f"| {'**' + key + '**' if bold else key} | " + " | ".join(cells) + " |")
    ratio = [p["photo -> VRM"]["median_ms"] / p["landmarks alone (floor)"]["median_ms"]
             for p in report["photos"].values()]
    lines.append("| photo -> VRM / floor | " + " | ".join(f"{r:.1f}x" for r in ratio) + " |")
    fresh = [p["fresh_process"] for p in report["photos"].values()]
    floor = [p["fresh_process_floor"] for p in report["photos"].values()]
    lines.append("| fresh process, photo -> VRM: wall s (peak MiB) | "
                 + " | ".join(f"{f['wall_s']:.2f} ({f['peak_mib']:.0f})" for f in fresh) + " |")
    lines.append("| fresh process, landmarks alone: wall s (peak MiB) | "
                 + " | ".join(f"{f['wall_s']:.2f} ({f['peak_mib']:.0f})" for f in floor) + " |")
    lines.append("| GLB size (MB) | " + " | ".join(f"{p['glb_bytes'] / 1e6:.2f}" for p in report["photos"].values())
                 + " |")
    lines += ["", "Runs per photo: " + ", ".join(str(p["runs"]) for p in report["photos"].values()) + ". "
              "The fresh-process wall time counts from the start of our code (imports, model loading and the "
              "work); its peak memory is the process's peak RSS (VmHWM). The floor is `find_faces` (one MediaPipe "
              "detector and the 468-point mesh) on the already decoded photo."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=7, help="runs per photo after a warm-up (default 7)")
    parser.add_argument("--quick", action="store_true", help="one run per photo; print, write nothing")
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.floor)
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    report = measure(1 if args.quick else max(1, args.runs))
    text = markdown(report)
    print(text)
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "photo_avatar.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "photo_avatar.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
