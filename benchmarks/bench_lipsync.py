"""Lip sync throughput: seconds of audio processed per second, aligned (with transcript) and recognized paths.

Audio comes from the engine (so the word timings are known exactly); a ~1-minute file made of the lines joined
with pauses also exercises the cut-at-silences path. Every run decodes the file with ffmpeg, runs pocketsphinx
and the face animation. Writes benchmarks/results/lipsync.json and lipsync.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from avatarlab.engine import Engine
from avatarlab.lipsync import lipsync
from avatarlab.output import wav_bytes

TEXTS = [
    "The bridge to the northern village washed away in the storm last night.",
    "Bring me three loaves of bread and a jug of fresh water from the market.",
    "Keep your voice down because the guards are sleeping behind that door.",
    "She found a small wooden box buried under the old oak tree near the river.",
    "Please remember to feed the horses before you leave for the city tomorrow morning.",
]
RESULTS = Path(__file__).parent / "results"


def _median_word_error(reference, result) -> float | None:
    ref, got = reference.timeline.words, result.timeline.words
    if len(ref) != len(got):
        return None
    errors = [abs(a.start - b.start) / reference.sample_rate for a, b in zip(ref, got)]
    errors += [abs(a.end - b.end) / reference.sample_rate for a, b in zip(ref, got)]
    return statistics.median(errors)


def main() -> None:
    engine = Engine()
    lines = [engine.speak(t, seed=1) for t in TEXTS]
    rate = lines[0].sample_rate
    pause = np.zeros(int(0.6 * rate), dtype=np.float32)
    long_audio = np.concatenate([x for line in lines * 3 for x in (line.audio, pause)])
    long_text = " ".join(TEXTS * 3)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [(f"line {i + 1}", line.audio, line.text, line) for i, line in enumerate(lines)]
        cases.append(("15 lines joined", long_audio, long_text, None))
        for name, audio, text, reference in cases:
            path = Path(tmp) / "in.wav"
            path.write_bytes(wav_bytes(audio, rate))
            seconds = len(audio) / rate
            for mode, transcript in (("aligned", text), ("recognized", None)):
                start = time.perf_counter()
                result = lipsync(path, transcript)
                wall = time.perf_counter() - start
                error = _median_word_error(reference, result) if reference and mode == "aligned" else None
                rows.append({"case": name, "mode": mode, "audio_s": round(seconds, 2), "wall_s": round(wall, 3),
                             "audio_s_per_s": round(seconds / wall, 2), "rtf": round(wall / seconds, 3),
                             "method": result.method,
                             "median_word_error_ms": None if error is None else round(error * 1000, 1)})
                print(rows[-1])
    totals = {}
    for mode in ("aligned", "recognized"):
        picked = [r for r in rows if r["mode"] == mode]
        totals[mode] = round(sum(r["audio_s"] for r in picked) / sum(r["wall_s"] for r in picked), 2)
    doc = {"benchmark": "lipsync", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
           "machine": platform.machine(), "rows": rows, "audio_s_per_s": totals}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lipsync.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = ["# Lip sync benchmark\n",
          f"`benchmarks/bench_lipsync.py`, {os.cpu_count()} cores, {doc['date']}: engine-spoken lines written to WAV, "
          "then `lipsync(path, transcript)` (aligned) and `lipsync(path)` (recognized), each run from the file.\n",
          f"Overall: aligned {totals['aligned']} s of audio per s, recognized {totals['recognized']} s of audio "
          "per s (above 1 is faster than real time).\n",
          "| case | mode | audio s | wall s | audio s per s | RTF | median word error ms |",
          "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        err = "" if r["median_word_error_ms"] is None else r["median_word_error_ms"]
        md.append(f"| {r['case']} | {r['mode']} | {r['audio_s']} | {r['wall_s']} | {r['audio_s_per_s']} | {r['rtf']} | {err} |")
    (RESULTS / "lipsync.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
