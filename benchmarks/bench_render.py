"""Video render speed: the offscreen renderer (OpenGL on Mesa llvmpipe, CPU only) beside three.js in headless
Chromium (WebGL on SwiftShader, CPU only) drawing the same frames of the default avatar speaking a real line, in the
same run; and the renderer's peak memory at two video lengths.

    .venv/bin/python benchmarks/bench_render.py            ->  benchmarks/results/render.json + render.md
    .venv/bin/python benchmarks/bench_render.py --quick    # smoke test: 20 frames, short videos

- frames: every video frame of the line at 30 fps (frame i shows the curves at i / 30 s), head-and-shoulders camera
  (the default framing), 512x512 and 1920x1080. Both renderers draw each frame and read its RGBA pixels back to the
  CPU into a reused buffer (a video renderer must: ours as render_video does, three.js with gl.readPixels); three.js
  is posed by the web client's FaceDriver from a CurveTrack, as in the browser.
- "as shipped": our default anti-aliasing on llvmpipe (FXAA) beside the web demo's WebGLRenderer({antialias: true})
  (MSAA 4x); "no anti-aliasing": both off, the same rasterization work.
- fps = frames / total drawing time, after 3 warm-up frames; x real time = fps / 30. The ratio is ours / three.js.
  Every measurement is repeated in 3 rounds (--rounds) and the fastest counts, each side's on its own: other work
  on the shared cores only ever slows a renderer down.
- video: render_video end to end (drawing, H.264 + AAC encoding in ffmpeg, muxing) at the default settings.
- memory: render_video at 512x512 in a fresh process, the line tiled to two lengths; peak RSS of the Python process
  (renderer, llvmpipe) and of ffmpeg.
The 1-minute load average before the run, and the other processes' CPU use during it (the machine's busy CPU time
minus the benchmark's own, children included), are recorded: other work on the 2 cores slows both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from avatarlab.render import Avatar, Curves, Renderer, RenderSettings, load_curves, render_video  # noqa: E402
from threejs_frames import CHROMIUM, PKG, Pass, draw_with_threejs  # noqa: E402
from tools import browser_missing  # noqa: E402

LINE = "The bridge to the northern village washed away in the storm, so mind your step."
FPS = 30
SIZES = ((512, 512), (1920, 1080))
CONFIGS = (("as shipped", "auto", True), ("no anti-aliasing", "none", False))  # (name, ours, three.js antialias)
MEMORY_SECONDS = (10.0, 60.0)
WARMUP = 3


def machine() -> dict:
    from bench_engine import machine_info

    info = machine_info()
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    three = json.loads((PKG / "node_modules/three/package.json").read_text())["version"]
    return {"cpu_model": info["cpu_model"], "cores": os.cpu_count(), "platform": info["platform"], "chromium": chromium,
            "three": three, "git": info["git"]}


def _proc_cpu() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) of every process now running."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


class CpuShare(threading.Thread):
    """Samples /proc while the benchmark runs: the CPU time of this process and all its descendants (node,
    chromium's processes, ffmpeg, the memory runs), and the whole machine's busy time. Their difference is the
    other work that shared the cores with the benchmark."""

    def __init__(self, period: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.period, self.done = period, threading.Event()
        self.own: dict[int, float] = {}  # pid -> CPU seconds, last seen
        self.own_before = 0.0
        self.busy_start, self.wall_start = self._busy(), time.perf_counter()

    @staticmethod
    def _busy() -> float:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait

    def _sample(self) -> None:
        processes = _proc_cpu()
        tree = {os.getpid()}
        for _ in range(8):  # descendants, generation by generation
            tree |= {pid for pid, (parent, _) in processes.items() if parent in tree}
        for pid in tree & processes.keys():
            self.own[pid] = processes[pid][1]

    def run(self) -> None:
        while not self.done.wait(self.period):
            self._sample()

    def stop(self) -> tuple[float, float]:
        """(seconds the run took, cores' worth of other work on average during it)."""
        self._sample()
        self.done.set()
        wall = time.perf_counter() - self.wall_start
        own = sum(self.own.values()) - self.own_before
        return wall, max(0.0, (self._busy() - self.busy_start) - own) / wall

    def start(self) -> None:
        self._sample()
        self.own_before = sum(self.own.values())
        super().start()


def ours(avatar: Avatar, poses: np.ndarray, size: tuple[int, int], antialias: str) -> dict:
    """Draw and read back every pose as render_video does (RGBA, bottom row first, into a reused buffer: what
    three.js's gl.readPixels does too); per-frame milliseconds."""
    with Renderer(avatar, RenderSettings(size=size, fps=FPS, antialias=antialias)) as renderer:
        buffer = np.empty((size[1], size[0], 4), np.uint8)
        for pose in poses[:WARMUP]:
            renderer.draw_frame(pose, out=buffer)
        times = []
        for pose in poses:
            start = time.perf_counter()
            renderer.draw_frame(pose, out=buffer)
            times.append((time.perf_counter() - start) * 1000)
        device = renderer.gl.label
    return {"times_ms": times, "device": device}


def video(curves: Curves, size: tuple[int, int], out: Path) -> dict:
    """render_video end to end at the default settings."""
    result = render_video(curves, out / f"line-{size[0]}x{size[1]}.mp4", RenderSettings(size=size, fps=FPS))
    return {"frames": result.frames, "audio_s": result.duration_s, "wall_s": result.elapsed_s,
            "fps": result.render_fps, "x_real_time": result.realtime_factor}


def first_frames(curves: Curves, count: int) -> Curves:
    """The line cut to its first ``count`` video frames (for --quick)."""
    samples = min(len(curves.audio), -(-count * curves.sample_rate // FPS))
    return Curves(curves.fps, curves.values[:count], curves.audio[:samples], curves.sample_rate, curves.label)


def summary(times_ms: list[float]) -> dict:
    total = sum(times_ms) / 1000
    return {"frames": len(times_ms), "fps": len(times_ms) / total, "x_real_time": len(times_ms) / total / FPS,
            "ms_median": float(np.median(times_ms)), "ms_p90": float(np.percentile(times_ms, 90))}


def measure_round(avatar: Avatar, poses: np.ndarray, curves: Curves, work: Path) -> dict:
    """One pass over every size and anti-aliasing setting (ours, then three.js), then whole videos; with the other
    work the machine did meanwhile."""
    share = CpuShare()
    share.start()
    draw, videos, device, threejs_gl = [], [], "", ""
    for size in SIZES:
        camera = avatar.camera("head-shoulders", size[0] / size[1])
        for config, our_aa, their_aa in CONFIGS:
            mine = ours(avatar, poses, size, our_aa)
            theirs = draw_with_threejs(work / "threejs", ROOT / "models/avatar/default_head.glb", size, camera, poses,
                                       [Pass("lit", antialias=their_aa, time=len(poses), warmup=WARMUP)], fps=FPS)[0]
            device, threejs_gl = mine["device"], theirs.gl_renderer
            draw.append({"size": f"{size[0]}x{size[1]}", "config": config,
                         "ours_antialias": "FXAA" if our_aa == "auto" else "none",
                         "threejs_antialias": "MSAA 4x" if their_aa else "none",
                         "ours": summary(mine["times_ms"]), "threejs": summary(theirs.times_ms)})
            print(draw[-1]["size"], config, f"ours {draw[-1]['ours']['fps']:.1f} fps, "
                  f"three.js {draw[-1]['threejs']['fps']:.1f} fps", flush=True)
        videos.append({"size": f"{size[0]}x{size[1]}", **video(first_frames(curves, len(poses)), size, work)})
    wall, other = share.stop()
    return {"draw": draw, "video": videos, "device": device, "threejs_gl": threejs_gl, "wall_s": wall,
            "other_work_cores": other}


def best_of(rounds: list[dict]) -> tuple[list[dict], list[dict]]:
    """Each measurement's fastest round (other work on the shared cores only ever slows a renderer down), each
    side chosen on its own; the rounds' fps are kept beside it."""
    draw = []
    for i, row in enumerate(rounds[0]["draw"]):
        best = {**row}
        for side in ("ours", "threejs"):
            runs = [r["draw"][i][side] for r in rounds]
            best[side] = {**max(runs, key=lambda run: run["fps"]), "fps_rounds": [run["fps"] for run in runs]}
        draw.append(best)
    videos = []
    for i, _ in enumerate(rounds[0]["video"]):
        runs = [r["video"][i] for r in rounds]
        videos.append({**max(runs, key=lambda run: run["fps"]), "fps_rounds": [run["fps"] for run in runs]})
    return draw, videos


def memory_child(curves_json: Path, seconds: float, out: Path) -> None:
    """(In a fresh process) render the line tiled to ``seconds`` at 512x512; print peak RSS in MiB as JSON."""
    line = load_curves(curves_json)
    repeats = int(np.ceil(seconds / line.duration_s))
    samples = int(round(seconds * line.sample_rate))
    audio = np.tile(line.audio, repeats)[:samples]
    values = np.tile(line.values, (repeats, 1))[:-(-samples * line.fps // line.sample_rate)]
    curves = Curves(line.fps, values, audio, line.sample_rate, "tiled")
    result = render_video(curves, out, RenderSettings(size=(512, 512), fps=FPS))
    kib = 1024  # ru_maxrss is in KiB on Linux
    print(json.dumps({"seconds": curves.duration_s, "frames": result.frames, "wall_s": result.elapsed_s,
                      "python_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
                      "ffmpeg_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib}))


def memory(curves_json: Path, seconds: float, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--memory-child", str(seconds), "--curves", str(curves_json),
                           "--video", str(out)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(result: dict) -> str:
    m, load = result["machine"], result["load_average_1m"]
    other_by_round = [r["other_work_cores"] for r in result["rounds"]]
    lines = ["# Video render benchmark", "",
             f"`benchmarks/bench_render.py`, {result['date']}: {m['cores']} cores ({m['cpu_model']}), shared. "
             f"1-minute load average {load['start']:.2f} before the run; other processes used "
             f"{result['other_work_cores']:.2f} cores on average during its {result['wall_s']:.0f} s (the machine's "
             "busy CPU time minus the benchmark's own; such work slows both renderers), "
             f"{' / '.join(f'{r:.2f}' for r in other_by_round)} in its {len(other_by_round)} round(s). Each figure "
             "is the fastest round's. The default avatar saying "
             f"\"{result['line']}\" ({result['audio_s']:.2f} s, {result['frames']} frames at {FPS} fps), "
             "head-and-shoulders camera. Each renderer draws every frame and reads it back to the CPU.", "",
             f"- ours: {result['ours_device']}", f"- three.js {m['three']} in {m['chromium']} (headless): "
             f"{result['threejs_gl']}", "",
             "| size | anti-aliasing | ours fps | ours x real time | three.js fps | three.js x real time | "
             "ours / three.js |", "|---|---|---:|---:|---:|---:|---:|"]
    for row in result["draw"]:
        a, b = row["ours"], row["threejs"]
        lines.append(f"| {row['size']} | {row['config']} ({row['ours_antialias']} / {row['threejs_antialias']}) | "
                     f"{a['fps']:.1f} | {a['x_real_time']:.2f} | {b['fps']:.1f} | {b['x_real_time']:.2f} | "
                     f"**{a['fps'] / b['fps']:.2f}x** |")
    lines += ["", "Whole videos (`render_video`: drawing, H.264 + AAC in ffmpeg, muxing; default settings):", "",
              "| size | frames | wall s | fps | x real time |", "|---|---:|---:|---:|---:|"]
    for row in result["video"]:
        lines.append(f"| {row['size']} | {row['frames']} | {row['wall_s']:.2f} | {row['fps']:.1f} | "
                     f"{row['x_real_time']:.2f} |")
    lines += ["", "Peak memory of a 512x512 render (fresh process each; the line tiled to the length):", "",
              "| video length | frames | Python process peak RSS | ffmpeg peak RSS |", "|---:|---:|---:|---:|"]
    for row in result["memory"]:
        lines.append(f"| {row['seconds']:.0f} s | {row['frames']} | {row['python_peak_mib']:.0f} MiB | "
                     f"{row['ffmpeg_peak_mib']:.0f} MiB |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results; with --quick, none)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over every measurement; the fastest counts")
    parser.add_argument("--quick", action="store_true", help="one round of 20 frames, 3 s / 6 s videos (a smoke test)")
    parser.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--curves", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.curves, args.memory_child, args.video)
        return 0
    if browser_missing():
        print(f"bench_render: {browser_missing()}", file=sys.stderr)
        return 1
    from avatarlab.engine import Engine
    from avatarlab.output import write_utterance

    load_start = os.getloadavg()[0]
    share = CpuShare()
    share.start()
    utterance = Engine().speak(LINE, fps=FPS, seed=1)
    curves = Curves.from_utterance(utterance)
    frames = curves.video_frames(FPS)
    poses = np.stack([curves.at(i / FPS) for i in range(frames)])[:20 if args.quick else None]
    avatar = Avatar.load()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rounds = []
        for number in range(1 if args.quick else args.rounds):
            print(f"round {number + 1}", flush=True)
            rounds.append(measure_round(avatar, poses, curves, work))
        write_utterance(utterance, work, "line")
        mem = [memory(work / "line.json", seconds, work / f"memory-{seconds:.0f}.mp4")
               for seconds in ((3.0, 6.0) if args.quick else MEMORY_SECONDS)]
    draw, videos = best_of(rounds)
    wall, other = share.stop()
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "other_work_cores": other, "wall_s": wall,
              "line": LINE, "audio_s": curves.duration_s,
              "frames": len(poses), "fps": FPS, "camera": "head-shoulders",
              "threejs_gl": rounds[0]["threejs_gl"], "ours_device": rounds[0]["device"], "draw": draw,
              "video": videos, "memory": mem, "rounds": rounds,
              "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]}, "quick": args.quick}
    text = markdown(result)
    print(text)
    from bench_engine import write_results

    write_results(args.out or (None if args.quick else ROOT / "benchmarks/results"), "render", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
