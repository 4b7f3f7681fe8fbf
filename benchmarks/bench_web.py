"""Web demo benchmark: press Speak in the real page (Debian chromium via playwright-core) and measure
time to first sound and the mouth-to-audio offset, for short and long lines.

    .venv/bin/python benchmarks/bench_web.py [--repeat 5]   ->  benchmarks/results/web.json + web.md

- first sound: from the press of Speak to the context time the first audio buffer starts, plus the
  AudioContext's output latency (what the page reports as "time to first audio"); first arrival is
  when the first audio message reached the page.
- mouth-to-audio offset: on every rendered frame, the audio time the face was sampled at minus the
  line position the browser's own output clock says is being heard (AudioContext.getOutputTimestamp);
  positive: the mouth is ahead of the sound.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from daemon_process import running_daemon  # noqa: E402
from web_processes import running_bridge  # noqa: E402

LINES = [
    {"name": "short", "text": "Hello there!"},
    {"name": "medium", "text": "The bridge to the northern village washed away in the storm, so mind your step."},
    {"name": "long", "text": "Long ago, before the roads were paved and the rivers were tamed, travelers crossed these "
     "hills on foot, carrying everything they owned, and they told stories around the fire at night to keep the "
     "dark away, stories of dragons and kings and of a small village that vanished one winter without a trace."},
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def drive_bench(driver: str, lines: list[str], repeat: int) -> dict:
    """Run a page driver of threejs_client/e2e in bench mode against a real daemon and bridge: its JSON report
    (the last line it prints), with ``repeat`` timed runs after one warm-up."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(lines, f)
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        proc = subprocess.run(["node", str(ROOT / "threejs_client/e2e" / driver), "--mode", "bench",
                               "--url", f"http://127.0.0.1:{port}/demo/", "--lines", f.name,
                               "--repeat", str(repeat + 1)], capture_output=True, text=True, timeout=1200)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args()
    data = drive_bench("drive_page.mjs", LINES, args.repeat)
    if "error" in data:
        print(data["error"], file=sys.stderr)
        return 1
    rows = []
    for line in LINES:
        runs = [r for r in data["bench"] if r["name"] == line["name"] and r["status"] == "ok"][1:]  # first run warms
        offsets = [o * 1000 for r in runs for o in r["offsets"]]
        fps = [(len(r["frameTimes"]) - 1) / ((r["frameTimes"][-1] - r["frameTimes"][0]) / 1000) for r in runs
               if len(r["frameTimes"]) > 2]
        rows.append({
            "line": line["name"], "words": len(line["text"].split()), "runs": len(runs),
            "audio_s": runs[0]["stats"]["audio_s"] if runs else None,
            "first_sound_ms_median": statistics.median(r["firstAudioMs"] for r in runs),
            "first_sound_ms_max": max(r["firstAudioMs"] for r in runs),
            "first_arrival_ms_median": statistics.median(r["firstArrivalMs"] for r in runs),
            "daemon_first_chunk_ms_median": statistics.median(r["stats"]["first_chunk_ms"] for r in runs),
            "underruns": sum(r["underruns"] for r in runs),
            "offset_ms_mean": statistics.fmean(offsets) if offsets else None,
            "offset_ms_p95_abs": pct([abs(o) for o in offsets], 0.95) if offsets else None,
            "rendered_fps_median": statistics.median(fps) if fps else None,
        })
    result = {"machine": f"{platform.machine()}, {platform.system()}, headless chromium, SwiftShader (no GPU)",
              "repeat": args.repeat, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(result, indent=2) + "\n")
    md = ["| line | words | audio s | first sound (median / max) | first audio message | daemon first chunk | "
          "underruns | mouth-audio offset mean | abs offset p95 | rendered fps |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['line']} | {r['words']} | {r['audio_s']:.2f} | {r['first_sound_ms_median']:.0f} / "
                  f"{r['first_sound_ms_max']:.0f} ms | {r['first_arrival_ms_median']:.0f} ms | "
                  f"{r['daemon_first_chunk_ms_median']:.0f} ms | {r['underruns']} | {r['offset_ms_mean']:+.1f} ms | "
                  f"{r['offset_ms_p95_abs']:.1f} ms | {r['rendered_fps_median']:.0f} |")
    (args.out / "web.md").write_text(f"# Web demo benchmark\n\n{result['machine']}; {args.repeat} runs per line "
                                     "after one warm-up (benchmarks/bench_web.py).\n\n" + "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
