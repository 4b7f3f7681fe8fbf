"""WebXR benchmark: the demo page in headless Chromium (SwiftShader) with an emulated headset (npm `iwer`,
threejs_client/e2e/drive_xr.mjs), the same lines spoken on the flat page and then inside an immersive-vr
session, side by side.

    .venv/bin/python benchmarks/bench_web_xr.py [--repeat 3]   ->  benchmarks/results/web_xr.json + web_xr.md

- speaker per frame: the time `AvatarSpeaker.update()` takes in each rendered frame (curves sampled at the
  audio clock, face applied, look-at, and in the session the panner and listener moved): what the speaker
  adds to a frame's budget (11.1 ms at 90 Hz).
- mouth-to-audio offset: as benchmarks/bench_web.py measures it (the audio time the face was sampled at
  minus the line position the browser's output clock says is heard); positive: the mouth is ahead.
- HRTF delay: samples an impulse takes through the HRTF PannerNode (OfflineAudioContext, 48 kHz), the
  only delay the spatial path adds to the sound (the face is not delayed for it).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_web import LINES, drive_bench, pct  # noqa: E402


def summarize(runs: list[dict]) -> dict:
    """Figures for the runs of one line in one place (flat or xr)."""
    offsets = [o * 1000 for r in runs for o in r["offsets"]]
    update = [u for r in runs for u in r["updateMs"]]
    fps = [(len(r["frameTimes"]) - 1) / ((r["frameTimes"][-1] - r["frameTimes"][0]) / 1000) for r in runs
           if len(r["frameTimes"]) > 2]
    return {
        "runs": len(runs), "frames": len(update), "underruns": sum(r["underruns"] for r in runs),
        "update_ms_median": statistics.median(update) if update else None,
        "update_ms_p95": pct(update, 0.95) if update else None,
        "offset_ms_mean": statistics.fmean(offsets) if offsets else None,
        "offset_ms_p95_abs": pct([abs(o) for o in offsets], 0.95) if offsets else None,
        "rendered_fps_median": statistics.median(fps) if fps else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args()
    lines = LINES[:2]
    data = drive_bench("drive_xr.mjs", lines, args.repeat)
    if "error" in data:
        print(data["error"], file=sys.stderr)
        return 1
    bench = data["bench"]
    rows = []
    for line in lines:
        for where in ("flat", "xr"):
            runs = [r for r in bench["rows"] if r["name"] == line["name"] and r["where"] == where and r["status"] == "ok"][1:]
            rows.append({"line": line["name"], "where": where, "audio_s": runs[0]["audioS"] if runs else None,
                         **summarize(runs)})
    result = {"machine": f"{platform.machine()}, {platform.system()}, headless chromium, SwiftShader (no GPU), "
                         "iwer 2.5.0 emulating a Meta Quest 3", "repeat": args.repeat,
              "session_frame_rate": bench["session"]["frameRate"], "hrtf_delay": bench["hrtf"], "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web_xr.json").write_text(json.dumps(result, indent=2) + "\n")
    fmt = lambda v, spec: "–" if v is None else format(v, spec)  # noqa: E731
    md = ["| line | where | audio s | frames | speaker per frame (median / p95) | mouth-audio offset mean | "
          "abs offset p95 | rendered fps | underruns |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['line']} | {'XR session' if r['where'] == 'xr' else 'flat page'} | {fmt(r['audio_s'], '.2f')} | "
                  f"{r['frames']} | {fmt(r['update_ms_median'], '.2f')} / {fmt(r['update_ms_p95'], '.2f')} ms | "
                  f"{fmt(r['offset_ms_mean'], '+.1f')} ms | {fmt(r['offset_ms_p95_abs'], '.1f')} ms | "
                  f"{fmt(r['rendered_fps_median'], '.0f')} | {r['underruns']} |")
    hrtf = bench["hrtf"]
    (args.out / "web_xr.md").write_text(
        f"# WebXR benchmark\n\n{result['machine']}; session frame rate {result['session_frame_rate']} Hz (nominal; "
        f"software rendering reaches far fewer); {args.repeat} runs per line and place after one warm-up "
        "(benchmarks/bench_web_xr.py). In the session the voice goes through the HRTF panner, which delays the "
        f"sound by {hrtf['samples']} samples ({hrtf['ms']:.2f} ms at 48 kHz) against the face; the offset "
        "below is measured at the context's output, before that.\n\n" + "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
