"""Wav2Lip render speed on the 2-core CPU machine: frames per second of the whole pipeline at 25 fps, by stage.

    .venv/bin/python benchmarks/bench_wav2lip.py           ->  benchmarks/results/wav2lip.json + wav2lip.md
    .venv/bin/python benchmarks/bench_wav2lip.py -n 3      (runs per case; the median counts)
    .venv/bin/python benchmarks/bench_wav2lip.py --quick   (1 run of 1 s, writes nothing)

Model: the full-size generator with random weights (seed 0), saved in the public checkpoint format and loaded as a
user's would be (exported to ONNX once, run with onnxruntime on the CPU); the export is timed apart. Cases, 4 s of
a synthetic take at 22.05 kHz rendered at 25 fps (100 frames): a still photo (skimage's astronaut, head and
shoulders, 480x440) and a 40-frame face video of it (a slow pan, looped pingpong). Stages, from
Wav2LipResult.stages: detection (BlazeFace per source frame, boxes, crops), model (onnxruntime), paste-back
(resize + feathered blend), encoding (time the pipeline waited on the ffmpeg pipe and for ffmpeg to finish;
ffmpeg's own work overlaps the model's), and the rest (audio decode, resampling, mel, reading the face).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # wav2lip_weights: random weights saved as the released checkpoints are
STAGES = ("detection", "model", "paste", "encoding")
FPS = 25


def _astronaut(dx: int = 0, dy: int = 0) -> np.ndarray:
    from skimage import data

    from avatarlab.render.wav2lip.faces import resize

    image = data.astronaut()[20 + dy:240 + dy, 100 + dx:340 + dx].astype(np.float32)
    return np.clip(np.round(resize(image, 480, 440)), 0, 255).astype(np.uint8)


def _inputs(folder: Path, seconds: float) -> dict[str, Path]:
    import imageio_ffmpeg
    from wav2lip_weights import random_generator, save_public_checkpoint

    from avatarlab.render.images import write_png

    checkpoint = save_public_checkpoint(folder / "random_wav2lip.pth", random_generator(seed=0).state_dict())
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    take = folder / "take.wav"
    with wave.open(str(take), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(rate)
        signal = 0.5 * (np.sin(2 * np.pi * 2.5 * t) > 0) * np.sin(2 * np.pi * 220 * t)
        stream.writeframes((signal * 32767).astype(np.int16).tobytes())
    video = folder / "face.mp4"
    frames = np.stack([_astronaut(index // 2, index // 4) for index in range(40)])
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "480x440", "-framerate", str(FPS), "-i", "-", "-c:v", "libx264", "-crf", "12",
                    "-pix_fmt", "yuv420p", str(video)], input=frames.tobytes(), check=True)
    return {"checkpoint": checkpoint, "photo": write_png(folder / "portrait.png", _astronaut()), "video": video,
            "take": take}


MODEL_FRAMES = 128  # frames through the model alone, per side
TORCH_BATCH = 128  # the original inference script's default (wav2lip_batch_size)


def model_alone(checkpoint: Path, model, runs: int) -> dict:
    """The generator alone on the same random inputs: ours (onnxruntime, in our batches) against the original's way
    (the torch module in eval mode under no_grad, batches of 128): frames per second, the median of `runs`."""
    import torch

    from avatarlab.render.wav2lip.checkpoint import load_generator

    rng = np.random.default_rng(0)
    faces = rng.random((MODEL_FRAMES, 6, 96, 96), dtype=np.float32)
    mels = rng.uniform(-4, 4, (MODEL_FRAMES, 1, 80, 16)).astype(np.float32)
    generator = load_generator(checkpoint).eval()

    def torch_pass() -> None:
        with torch.no_grad():
            for start in range(0, MODEL_FRAMES, TORCH_BATCH):
                generator(torch.from_numpy(mels[start:start + TORCH_BATCH]),
                          torch.from_numpy(faces[start:start + TORCH_BATCH]))

    timings = {}
    for name, work in (("ours (onnxruntime)", lambda: model.predict(faces, mels)), ("torch", torch_pass)):
        work()  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        timings[name] = round(MODEL_FRAMES / statistics.median(times), 2)
    return timings


def run(runs: int, seconds: float) -> dict:
    from avatarlab.render.wav2lip import Wav2LipModel, Wav2LipRenderer

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        inputs = _inputs(folder, seconds)
        started = time.perf_counter()
        model = Wav2LipModel.load(inputs["checkpoint"], device="cpu")
        export_s = time.perf_counter() - started
        started = time.perf_counter()
        Wav2LipModel.load(inputs["checkpoint"], device="cpu")
        cached_s = time.perf_counter() - started
        renderer = Wav2LipRenderer(model)
        cases = {}
        for label, face in (("photo 480x440", inputs["photo"]), ("video 480x440, 40 frames looped", inputs["video"])):
            renderer.render(face, inputs["take"], folder / "warm.mp4", fps=FPS)  # warm-up: detector loaded
            results = [renderer.render(face, inputs["take"], folder / "out.mp4", fps=FPS) for _ in range(runs)]
            best = sorted(results, key=lambda result: result.elapsed_s)[len(results) // 2]
            stages = {stage: best.stages[stage] for stage in STAGES}
            stages["rest"] = best.elapsed_s - sum(stages.values())
            cases[label] = {"frames": best.frames, "seconds": [round(r.elapsed_s, 3) for r in results],
                            "fps": round(best.frames / best.elapsed_s, 2),
                            "realtime": round(best.duration_s / best.elapsed_s, 3),
                            "stages_s": {k: round(v, 3) for k, v in stages.items()},
                            "median_s": round(statistics.median(r.elapsed_s for r in results), 3)}
        alone = model_alone(inputs["checkpoint"], model, runs)
    return {"export_s": round(export_s, 2), "cached_load_s": round(cached_s, 2), "cases": cases, "model_alone_fps": alone}


def markdown(data: dict, machine: dict) -> str:
    lines = ["# Wav2Lip render benchmark", "",
             f"{time.strftime('%Y-%m-%d')}, {machine.get('usable_cores', '?')} CPUs ({machine.get('cpu_model', '?')}), "
             f"git {machine.get('git', '?')}. Full-size generator with random weights on onnxruntime (CPU), "
             f"4 s take rendered at {FPS} fps; the median of {data['runs']} runs after a warm-up. 1-minute load "
             f"average {data['load_average'][0]} before and {data['load_average'][1]} after (the machine is "
             "shared: other work slows these figures down).", "",
             "| | " + " | ".join(data["cases"]) + " |", "|---|" + "---|" * len(data["cases"])]
    cases = list(data["cases"].values())
    lines.append("| **frames per second** | " + " | ".join(f"**{c['fps']:.1f}**" for c in cases) + " |")
    lines.append("| x real time | " + " | ".join(f"{c['realtime']:.2f}" for c in cases) + " |")
    for stage in (*STAGES, "rest"):
        cells = []
        for case in cases:
            total = sum(case["stages_s"].values())
            share = case["stages_s"][stage] / total if total else 0.0
            cells.append(f"{share * 100:.0f}% ({case['stages_s'][stage]:.2f} s)")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    alone = data["model_alone_fps"]
    lines += ["", f"The generator alone on {MODEL_FRAMES} frames, the same random inputs: "
              + ", ".join(f"{name} {fps:.1f} frames/s" for name, fps in alone.items())
              + f" (torch as the original inference script runs it: eval mode, no_grad, batches of {TORCH_BATCH})."]
    lines += ["", f"First load of the checkpoint (read, check, export to ONNX beside it): {data['export_s']:.1f} s; "
              f"later loads (the cached ONNX): {data['cached_load_s']:.1f} s.", "",
              "Encoding is the time the pipeline waited on ffmpeg (its pipe and its finish); ffmpeg encodes in its "
              "own process while the model runs, so its CPU time is not all here. With random weights the mouth "
              "is a grey patch: these are speeds, not quality."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--quick", action="store_true", help="one run of 1 s, nothing written")
    args = parser.parse_args()
    from bench_engine import machine_info

    runs, seconds = (1, 1.0) if args.quick else (max(1, args.n), 4.0)
    load_before = os.getloadavg()[0]
    data = run(runs, seconds)
    data["runs"] = runs
    data["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    machine = machine_info()
    data["machine"] = machine
    text = markdown(data, machine)
    print(text)
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "wav2lip.json").write_text(json.dumps(data, indent=2) + "\n")
        (RESULTS / "wav2lip.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
