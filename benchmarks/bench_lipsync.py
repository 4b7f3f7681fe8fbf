"""Lip sync throughput: seconds of audio processed per second, aligned (with transcript) and recognized paths.

Audio comes from the engine (so the word timings are known exactly); a ~1-minute file made of the lines joined
with pauses also exercises the long-file path (located and aligned in 30 s pieces). Every run reads the WAV
file (stdlib reader; ffmpeg for other formats), runs pocketsphinx and the face animation. Each case is run
REPEATS times after one warm-up call (decoders are pooled, so only a process's first call creates them; that
first call is timed separately) and the median wall time is reported.
Then both paths on the reserved real speakers kal and slt (Festival and Flite voices that no model here trained
or was tuned on), per voice: 6-class accuracy every 10 ms, p/b/m closures shown closed within 20 ms, the share
of frames shown closed that are truly closed, and speed (bench_live.reserved_speaker_rows).
Writes benchmarks/results/lipsync.json and lipsync.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from avatarlab.engine import Engine
from avatarlab.lipsync import lipsync, workers
from avatarlab.lipsync.batch import HowToAnimate, Take, animate_many, animate_take
from avatarlab.options import SynthesisOptions
from avatarlab.output import wav_bytes
from bench_live import reserved_speaker_rows

TEXTS = [
    "The bridge to the northern village washed away in the storm last night.",
    "Bring me three loaves of bread and a jug of fresh water from the market.",
    "Keep your voice down because the guards are sleeping behind that door.",
    "She found a small wooden box buried under the old oak tree near the river.",
    "Please remember to feed the horses before you leave for the city tomorrow morning.",
]
RESULTS = Path(__file__).parent / "results"
REPEATS = 5
#: The long file recognized and aligned with every piece in this process (AVATARLAB_LIPSYNC_WORKERS=0), beside
#: the default, which hands about half its pieces to a helper process (avatarlab/lipsync/workers.py).
ONE_CORE = "recognized, one core"
ALIGNED_ONE_CORE = "aligned, one core"
#: The recognized path as it was before heard closures (lipsync/heard_closures.py), beside the current one.
RECOGNIZER_ALONE = "recognized, recognizer's closures only"


def _recognizer_alone(text: str, speech):
    """The recognized path without the closures the live network hears (lipsync/heard_closures.py)."""
    return lipsync(speech.audio, sample_rate=speech.sample_rate, hear_closures=False)


def _median_word_error(reference: list[tuple[float, float]], result) -> float | None:
    """``reference``: (start, end) seconds of each word."""
    got = result.timeline.words
    if len(reference) != len(got):
        return None
    rate = result.sample_rate
    errors = [abs(s - w.start / rate) for (s, _), w in zip(reference, got)]
    errors += [abs(e - w.end / rate) for (_, e), w in zip(reference, got)]
    return statistics.median(errors)


#: The batch case: the lines, this many times each, as separate WAV files (studios animate thousands of lines).
BATCH_COPIES = 4
BATCH_REPEATS = 3


def _batch_rows(lines, folder: Path) -> list[dict]:
    """The lines as a batch of files, with and without their transcripts: take by take in this process, through
    ``animate_many`` (the helper process takes every other file), and ``avatarlab lipsync FOLDER`` started
    fresh (Python start-up, imports, decoders and the helper's start included)."""
    recognized, aligned = folder / "recognized", folder / "aligned"
    for sub in (recognized, aligned):
        sub.mkdir()
    for k in range(BATCH_COPIES):
        for i, line in enumerate(lines):
            for sub in (recognized, aligned):
                (sub / f"line{k}_{i}.wav").write_bytes(wav_bytes(line.audio, line.sample_rate))
            (aligned / f"line{k}_{i}.txt").write_text(line.text, encoding="utf-8")
    audio_s = BATCH_COPIES * sum(len(line.audio) / line.sample_rate for line in lines)
    how = HowToAnimate(SynthesisOptions(), lines[0].sample_rate)
    runs = {"one at a time (this process)": lambda takes: [animate_take(t, how) for t in takes],
            "animate_many (this process and the helper)": lambda takes: list(animate_many(takes, how))}
    rows = []
    for mode, sub in (("aligned", aligned), ("recognized", recognized)):
        takes = [Take(p, p.with_suffix(".txt").read_text() if mode == "aligned" else None)
                 for p in sorted(sub.glob("*.wav"))]
        for how_run, run in runs.items():
            walls = []
            for _ in range(BATCH_REPEATS):
                start = time.perf_counter()
                run(takes)
                walls.append(time.perf_counter() - start)
            rows.append(_batch_row(mode, how_run, len(takes), audio_s, statistics.median(walls)))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "avatarlab", "lipsync", str(sub), "--out", str(folder / "out"),
                        "--quiet"], check=True)
        rows.append(_batch_row(mode, "`avatarlab lipsync FOLDER`, a fresh process", len(takes), audio_s,
                               time.perf_counter() - start))
    return rows


def _batch_row(mode: str, how_run: str, files: int, audio_s: float, wall: float) -> dict:
    row = {"mode": mode, "how": how_run, "files": files, "audio_s": round(audio_s, 2), "wall_s": round(wall, 3),
           "audio_s_per_s": round(audio_s / wall, 2)}
    print(row, flush=True)
    return row


def _cpu_s() -> float:
    """CPU seconds of this process and of the lip sync helper process (a busy machine stretches wall time, not
    this)."""
    seconds = time.process_time()
    pid = workers.helper_pid()
    if pid is not None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return seconds


def _words(utterance, offset_s: float = 0.0) -> list[tuple[float, float]]:
    rate = utterance.sample_rate
    return [(offset_s + w.start / rate, offset_s + w.end / rate) for w in utterance.timeline.words]


def main() -> None:
    load = [round(x, 2) for x in os.getloadavg()]  # at the start: above ~0.5 on 2 cores, timings are noisy
    engine = Engine()
    lines = [engine.speak(t, seed=1) for t in TEXTS]
    rate = lines[0].sample_rate
    pause = np.zeros(int(0.6 * rate), dtype=np.float32)
    long_audio = np.concatenate([x for line in lines * 3 for x in (line.audio, pause)])
    long_text = " ".join(TEXTS * 3)
    long_words, position = [], 0
    for line in lines * 3:
        long_words += _words(line, position / rate)
        position += len(line.audio) + len(pause)
    rows = []
    first_call = None
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [(f"line {i + 1}", line.audio, line.text, _words(line)) for i, line in enumerate(lines)]
        cases.append(("15 lines joined", long_audio, long_text, long_words))
        for name, audio, text, reference in cases:
            path = Path(tmp) / "in.wav"
            path.write_bytes(wav_bytes(audio, rate))
            seconds = len(audio) / rate
            modes = [("aligned", text), ("recognized", None), (RECOGNIZER_ALONE, None)]
            if len(audio) / rate > 30:  # the pieces on one core as well (no helper process)
                modes += [(ALIGNED_ONE_CORE, text), (ONE_CORE, None)]
            for mode, transcript in modes:
                os.environ["AVATARLAB_LIPSYNC_WORKERS"] = "0" if mode in (ONE_CORE, ALIGNED_ONE_CORE) else "1"
                hear = mode != RECOGNIZER_ALONE
                start = time.perf_counter()
                # warm-up (the very first one creates the decoders)
                result = lipsync(path, transcript, hear_closures=hear)
                if first_call is None:
                    first_call = round(time.perf_counter() - start, 3)
                walls, cpus, owns = [], [], []
                for _ in range(REPEATS):
                    start, cpu, own = time.perf_counter(), _cpu_s(), time.process_time()
                    result = lipsync(path, transcript, hear_closures=hear)
                    walls.append(time.perf_counter() - start)
                    cpus.append(_cpu_s() - cpu)
                    owns.append(time.process_time() - own)
                wall, cpu, own = statistics.median(walls), statistics.median(cpus), statistics.median(owns)
                error = _median_word_error(reference, result) if transcript is not None else None
                os.environ.pop("AVATARLAB_LIPSYNC_WORKERS")
                rows.append({"case": name, "mode": mode, "audio_s": round(seconds, 2), "wall_s": round(wall, 3),
                             "wall_min_s": round(min(walls), 3), "audio_s_per_s": round(seconds / wall, 2),
                             "rtf": round(wall / seconds, 4), "method": result.method,
                             "cpu_s": round(cpu, 3), "audio_s_per_cpu_s": round(seconds / cpu, 2),
                             "cpu_this_process_s": round(own, 3),
                             "median_word_error_ms": None if error is None else round(error * 1000, 1)})
                print(rows[-1])
        batch = _batch_rows(lines, Path(tmp))
    totals = {}
    for mode in ("aligned", "recognized"):
        picked = [r for r in rows if r["mode"] == mode]
        totals[mode] = round(sum(r["audio_s"] for r in picked) / sum(r["wall_s"] for r in picked), 2)
    speakers = reserved_speaker_rows({
        "aligned": lambda t, s: lipsync(s.audio, t, sample_rate=s.sample_rate),
        "recognized": lambda t, s: lipsync(s.audio, sample_rate=s.sample_rate),
        RECOGNIZER_ALONE: _recognizer_alone,
    })
    doc = {"benchmark": "lipsync", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
           "machine": platform.machine(), "load_average_at_start": load,
           "repeats": REPEATS, "first_call_s": first_call, "rows": rows, "audio_s_per_s": totals,
           "batch": batch, "reserved_speakers": speakers, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lipsync.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = ["# Lip sync benchmark\n",
          f"`benchmarks/bench_lipsync.py`, {os.cpu_count()} cores, {doc['date']}: engine-spoken lines written to WAV, "
          "then `lipsync(path, transcript)` (aligned) and `lipsync(path)` (recognized), each run from the file; "
          f"median wall time of {REPEATS} runs after a warm-up call (a process's very first call, which creates "
          f"the pocketsphinx decoders, took {first_call} s).\n",
          f"Overall: aligned {totals['aligned']} s of audio per s, recognized {totals['recognized']} s of audio "
          "per s (above 1 is faster than real time). Recognition, and alignment of files over 30 s, decode pieces cut "
          "at pauses, about half of a file's in a helper process; the rows '..., one core' decode them all in this "
          "one. With a free second core the wall time is about this process's CPU time (the helper runs beside "
          "it); while other work holds that core, Linux's per-session scheduling (autogroup) gives this process "
          "and its helper one core between them.\n",
          "| case | mode | method | audio s | wall s | audio s per s | RTF | CPU s (both processes) "
          "| audio s per CPU s | CPU s (this process) | median word error ms |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        err = "" if r["median_word_error_ms"] is None else r["median_word_error_ms"]
        md.append(f"| {r['case']} | {r['mode']} | {r['method']} | {r['audio_s']} | {r['wall_s']} | "
                  f"{r['audio_s_per_s']} | {r['rtf']} | {r['cpu_s']} | {r['audio_s_per_cpu_s']} | "
                  f"{r['cpu_this_process_s']} | {err} |")
    md += ["", "## Batches of lines", "",
           f"The {len(lines)} lines, {BATCH_COPIES} times each, as {len(lines) * BATCH_COPIES} WAV files (with a "
           f".txt transcript beside each for 'aligned'); median of {BATCH_REPEATS} runs, except the fresh process "
           "(once; its time includes Python's start-up, imports, the decoders' creation and the helper's start).",
           "", "| mode | how | files | audio s | wall s | audio s per s |", "|---|---|---:|---:|---:|---:|"]
    md += [f"| {r['mode']} | {r['how']} | {r['files']} | {r['audio_s']} | {r['wall_s']} | {r['audio_s_per_s']} |"
           for r in batch]
    md += ["", "## Reserved real speakers", "",
           "kal (male) and slt (female) through Festival and Flite, voices no model here trained or was tuned on; "
           "truth: the synthesizer's own segment times; one call per line from memory (no file).", "",
           "| voice | mode | 6-class accuracy | p/b/m closed within 20 ms | closed frames truly closed "
           "| audio s per s |", "|---|---|---:|---:|---:|---:|"]
    md += [f"| {r['voice']} | {r['path']} | {r['coarse_accuracy']} | {r['closure_share']} | "
           f"{r['closed_precision']} | {r['audio_s_per_s']} |" for r in speakers]
    md += ["", f"Load average (1 min) at the start {load[0]}, at the end {doc['load_average_at_end'][0]} "
           f"({os.cpu_count()} cores shared: above about 1, speeds are noisy)."]
    (RESULTS / "lipsync.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
