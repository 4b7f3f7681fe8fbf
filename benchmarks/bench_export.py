"""Batch export throughput: lines per second on 1 and 2 worker processes, and the export overhead.

Overhead = time spent on everything but speech synthesis (curves JSON, WAV, retargeting, GLB build, atomic
writes) over synthesis time (Engine.speak: TTS plus the face animation), summed over lines in the workers.
Writes benchmarks/results/export.json and export.md.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from avatarlab.avatar import default_avatar_glb
from avatarlab.export.batch import Line, Settings, run_batch
from avatarlab.options import SynthesisOptions

TEXTS = [
    "Hello there, traveler!",
    "The bridge to the northern village washed away in the storm.",
    "Mind your step, the stones are slippery after the rain.",
    "I have not seen the blacksmith since the festival ended.",
    "Take this map; it shows the old road through the hills.",
    "Why would anyone build a tower so far from the sea?",
    "We should leave before the sun sets behind the mountains.",
    "Thank you, I will remember your kindness.",
]
RESULTS = Path(__file__).parent / "results"


def run(jobs: int, repeats: int) -> dict:
    lines = [Line(f"line-{i:03d}", TEXTS[i % len(TEXTS)], None, SynthesisOptions(seed=i))
             for i in range(len(TEXTS) * repeats)]
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(Path(out), default_avatar_glb(), "default", "auto", force=True)
        summary = run_batch(lines, settings, jobs=jobs, progress=False)
    done = [r for r in summary.results if r.status == "done"]
    assert len(done) == len(lines), summary.text()
    synthesis = sum(r.synthesis_s for r in done)
    export = sum(r.export_s for r in done)
    audio = sum(r.audio_s for r in done)
    return {"jobs": jobs, "lines": len(lines), "audio_s": round(audio, 2), "wall_s": round(summary.wall_s, 2),
            "lines_per_s": round(len(lines) / summary.wall_s, 3),
            "audio_s_per_wall_s": round(audio / summary.wall_s, 2),
            "synthesis_s": round(synthesis, 2), "export_s": round(export, 2),
            "export_over_synthesis": round(export / synthesis, 3)}


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rows = [run(jobs, repeats) for jobs in (1, 2)]
    result = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
              "note": "wall time includes starting the worker processes and loading one Engine in each",
              "runs": rows, "date": time.strftime("%Y-%m-%d")}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(result, indent=2) + "\n")
    md = ["# Batch export benchmark", "",
          f"`benchmarks/bench_export.py`, {os.cpu_count()} cores, {result['date']}: {rows[0]['lines']} lines "
          f"({rows[0]['audio_s']} s of speech) exported to WAV + curves JSON + GLB onto the default head.", "",
          "| workers | lines/s | s of speech per s | wall s | synthesis s (sum) | export s (sum) | export / synthesis |",
          "|---:|---:|---:|---:|---:|---:|---:|"]
    md += [f"| {r['jobs']} | {r['lines_per_s']} | {r['audio_s_per_wall_s']} | {r['wall_s']} | {r['synthesis_s']} | "
           f"{r['export_s']} | {r['export_over_synthesis']:.1%} |" for r in rows]
    md += ["", "Wall time includes starting the worker processes and loading one Engine in each. Export time is "
           "everything after `Engine.speak`: curves JSON, WAV, retargeting, building and writing the GLB."]
    (RESULTS / "export.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
