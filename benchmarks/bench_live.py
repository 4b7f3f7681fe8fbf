"""Live and recorded lip sync on voices never trained on: accuracy and cost of each path, in one run.

Held-out voices are libespeak-ng variants that neither the audio-to-face network (models/audio2face) nor
pocketsphinx heard, and the real speakers kal and slt through Festival and Flite (models/audio2face/
festival_voice.py; reserved for evaluation in every synthesizer); ground truth is the synthesizer's own phone
times. For every path the benchmark reports frame-level accuracy (15 Oculus visemes, 7 mouth shapes and the 6
coarse classes silence, closed, f/v, open, round, other), the share of p/b/m closures shown closed within 20 ms,
the share of frames shown closed that are truly closed, and speed (seconds of audio per second):
  - network: the streaming network over the whole recording (avatarlab.live.offline.animate_recording)
  - recognized: pocketsphinx phone recognition (lipsync without transcript), the alternative we had
  - aligned: pocketsphinx forced alignment with the transcript (lipsync with transcript)
and the CPU cost of live streaming in 20 ms and 100 ms pushes: the network alone (features, ONNX Runtime,
smoothing) and the whole LiveLipSync session (plus the face animation). Writes benchmarks/results/live.*.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "models" / "audio2face"))

from bench_engine import machine_info  # noqa: E402
from espeak_voice import speak_fresh  # noqa: E402
from festival_voice import EVALUATION_VOICES, VOICES, speak_many  # noqa: E402
from make_dataset import HELD_OUT_VARIANTS  # noqa: E402

from avatarlab.channels import VISEME_INDEX  # noqa: E402
from avatarlab.lipsync import lipsync  # noqa: E402
from avatarlab.resample import resample  # noqa: E402
from avatarlab.live import LiveLipSync  # noqa: E402
from avatarlab.live import features as feat  # noqa: E402
from avatarlab.live.evaluation import (Scores, accuracy, coarse_scores, frame_labels, frame_times,  # noqa: E402
                                       timeline_labels)
from avatarlab.engine import Engine  # noqa: E402
from avatarlab.live.model import VisemeModel, VisemeStream  # noqa: E402
from avatarlab.live.offline import animate_recording  # noqa: E402
from avatarlab.live.smoothing import ForwardFilter  # noqa: E402

SENTENCES = (
    "The old lighthouse keeper climbed the stairs every evening before sunset.",
    "Bring me four bottles of fresh milk and a loaf of brown bread, please.",
    "Which way leads to the village market, and how far is it from here?",
    "My brother fixed the broken fence while the sheep watched from the hill.",
    "You should visit the museum on Thursday when the new paintings arrive.",
    "Five hungry foxes jumped over the wall and vanished into the dark forest.",
)
RESULTS = HERE / "results"
FPS = 100


PATHS = {  # the three ways to animate a recording
    "network": lambda t, s: animate_recording(s.audio, s.sample_rate),
    "recognized": lambda t, s: lipsync(s.audio, sample_rate=s.sample_rate),
    "aligned": lambda t, s: lipsync(s.audio, t, sample_rate=s.sample_rate),
}


def _truth(speech, duration_s: float) -> np.ndarray:
    """Festival/Flite speech carries viseme spans; espeak-ng and engine speech carry phones."""
    if hasattr(speech, "spans"):
        return frame_labels(speech.spans, frame_times(duration_s, FPS))
    return timeline_labels(speech.phones, speech.sample_rate, duration_s, FPS)


def _run_path(name: str, lines, run) -> dict:
    truth, predicted, audio_s, wall, coarse = [], [], 0.0, 0.0, Scores()
    for text, speech in lines:
        started = time.perf_counter()
        result = run(text, speech)
        wall += time.perf_counter() - started
        duration = len(speech.audio) / speech.sample_rate
        audio_s += duration
        a = _truth(speech, duration)
        b = result if isinstance(result, np.ndarray) else timeline_labels(
            result.timeline.phonemes, result.sample_rate, duration, FPS)
        n = min(len(a), len(b))
        truth.append(a[:n])
        predicted.append(b[:n])
        coarse += coarse_scores(a, b, FPS)
    visemes, shapes = accuracy(np.concatenate(truth), np.concatenate(predicted))
    rounded = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"path": name, "viseme_accuracy": round(visemes, 3), "shape_accuracy": round(shapes, 3),
            "coarse_accuracy": round(coarse.coarse_accuracy, 3), "closure_share": rounded(coarse.closure_share),
            "closed_precision": rounded(coarse.closed_precision), "closures": coarse.closures,
            "audio_s": round(audio_s, 2), "wall_s": round(wall, 3), "audio_s_per_s": round(audio_s / wall, 1)}


def _trivial(text: str, speech) -> np.ndarray:
    """The issue's trivial line: silence exactly right, "other" (here DD) for all speech."""
    truth = _truth(speech, len(speech.audio) / speech.sample_rate)
    return np.where(truth == VISEME_INDEX["sil"], VISEME_INDEX["sil"], VISEME_INDEX["DD"])


TRIVIAL = {"trivial: silence right, other for all speech": _trivial}


def reserved_speaker_rows(paths: dict, sentences=None) -> list[dict]:
    """Score ``paths`` ({name: run(text, speech)}) on every voice of the reserved speakers kal and slt."""
    rows = []
    for voice in EVALUATION_VOICES:
        texts = list(sentences or SENTENCES)
        lines = list(zip(texts, speak_many(voice, texts)))
        spec = VOICES[voice]
        for name, run in paths.items():
            row = _run_path(name, lines, run)
            row["voice"] = f"{voice} ({spec.speaker}, {'female' if spec.sex == 'f' else 'male'}, " \
                           f"{lines[0][1].sample_rate // 1000} kHz)"
            row["speaker"] = spec.speaker
            if name in TRIVIAL:
                row["audio_s_per_s"] = row["wall_s"] = None  # no work to time
            rows.append(row)
            print(row, flush=True)
    return rows


def _streaming_cost(audio: np.ndarray, rate: int, piece_s: float) -> dict:
    """CPU seconds per second of audio for live pushes of ``piece_s`` (one thread; process time)."""
    piece = int(piece_s * rate)
    audio16 = resample(audio, rate, feat.SAMPLE_RATE)
    stream, filt, logmel = VisemeStream(), ForwardFilter(15), feat.StreamingLogMel()
    piece16 = int(piece_s * feat.SAMPLE_RATE)
    started = time.process_time()
    for s in range(0, len(audio16), piece16):
        filt.push(stream.push(logmel.push(audio16[s:s + piece16])))
    network = time.process_time() - started
    session = LiveLipSync(rate, fps=60)
    started = time.process_time()
    for s in range(0, len(audio), piece):
        session.push(audio[s:s + piece], last=s + piece >= len(audio))
    whole = time.process_time() - started
    seconds = len(audio) / rate
    return {"push_ms": round(piece_s * 1000), "network_cpu_percent": round(100 * network / seconds, 2),
            "session_cpu_percent": round(100 * whole / seconds, 2)}


class _EngineSpeech:
    """An engine utterance seen like an espeak-ng one: audio, rate, phones (the timeline's segments)."""

    def __init__(self, utterance) -> None:
        self.audio, self.sample_rate, self.phones = utterance.audio, utterance.sample_rate, utterance.timeline.phonemes


def _row(r: dict) -> str:
    """One markdown table row of a path's figures."""
    figures = [r["viseme_accuracy"], r["shape_accuracy"], r["coarse_accuracy"], r["closure_share"],
               r["closed_precision"], r["audio_s_per_s"]]
    return f"| {r['voice']} | {r['path']} | " + " | ".join("" if x is None else str(x) for x in figures) + " |"


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ablation", type=Path, help="also score this audio2face.onnx (e.g. one trained on the "
                        "Piper voice only: train.py --sources joe) on the held-out voices")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    load_at_start = os.getloadavg()[0]  # 2 cores shared: above ~1 the speed figures are noisy
    warm = speak_fresh(HELD_OUT_VARIANTS[0], ["Warm up."])[0]
    animate_recording(warm.audio, warm.sample_rate)  # load the network before timing
    lipsync(warm.audio, sample_rate=warm.sample_rate)
    rows, per_voice = [], {}
    for variant in HELD_OUT_VARIANTS:
        lines = list(zip(SENTENCES, speak_fresh(variant, list(SENTENCES), rate_wpm=165)))
        per_voice[variant] = lines
        for name, run in PATHS.items():
            row = _run_path(name, lines, run)
            row["voice"] = f"espeak-ng en-us+{variant}"
            rows.append(row)
            print(row, flush=True)
        if args.ablation:
            other = VisemeModel.load(args.ablation)
            row = _run_path("network, trained on the Piper voice only", lines,
                            lambda t, s: animate_recording(s.audio, s.sample_rate, model=other))
            row["voice"] = f"espeak-ng en-us+{variant}"
            rows.append(row)
            print(row, flush=True)
    engine = Engine()
    joe = [(text, _EngineSpeech(engine.speak(text, seed=11))) for text in SENTENCES]
    for name, run in PATHS.items():
        row = _run_path(name, joe, run)
        row["voice"] = "en_US-joe-medium (trained on; unseen text)"
        rows.append(row)
        print(row, flush=True)
    speakers = reserved_speaker_rows({**PATHS, **TRIVIAL})
    if args.ablation:
        piper_only = VisemeModel.load(args.ablation)
        speakers += reserved_speaker_rows({"network, trained on the Piper voice only": lambda t, s: animate_recording(
            s.audio, s.sample_rate, model=piper_only)})
    joined = np.concatenate([s.audio for _, s in per_voice[HELD_OUT_VARIANTS[0]]])
    rate = per_voice[HELD_OUT_VARIANTS[0]][0][1].sample_rate
    costs = [_streaming_cost(joined, rate, p) for p in (0.02, 0.1)]
    for c in costs:
        print(c, flush=True)
    delay = LiveLipSync(16000).max_delay_s
    meta = json.loads((Path(__import__("avatarlab").__file__).parent / "data" / "audio2face.json").read_text())
    result = {"machine": machine_info(), "load_average": os.getloadavg(), "load_average_at_start": load_at_start,
              "held_out_voices": list(HELD_OUT_VARIANTS),
              "sentences": len(SENTENCES), "paths": rows, "reserved_speakers": speakers, "streaming_cost": costs,
              "max_delay_s_16k": round(delay, 4), "network": {"lookahead_frames": meta["lookahead_frames"],
                                                              "training": meta["training"]}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Live and recorded lip sync on held-out voices", "",
             f"`benchmarks/bench_live.py`, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
             f"load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end. "
             f"Voices: espeak-ng en-us+{', en-us+'.join(HELD_OUT_VARIANTS)} "
             f"(never in training), {len(SENTENCES)} sentences each; truth: espeak-ng's phoneme events. "
             "Last rows: the default Piper voice (in training) on the same unseen sentences; truth: the engine's "
             "timeline.", "",
             "| voice | path | viseme accuracy | mouth-shape accuracy | 6-class accuracy | p/b/m closed within 20 ms "
             "| closed frames truly closed | audio s per s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    lines += [_row(r) for r in rows]
    lines += ["", "## Reserved real speakers", "",
              f"The speakers kal (male) and slt (female), never in training or tuning in any synthesizer, through "
              f"Festival and Flite (`models/audio2face/festival_voice.py`), the same {len(SENTENCES)} sentences; "
              "truth: the synthesizer's own segment times.", "",
              "| voice | path | viseme accuracy | mouth-shape accuracy | 6-class accuracy | p/b/m closed within 20 ms "
              "| closed frames truly closed | audio s per s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    lines += [_row(r) for r in speakers]
    lines += ["", f"Live delay bound (`max_delay_s`, 16 kHz input): {delay * 1000:.1f} ms.", "",
              "| push size | network CPU (% of one core) | whole session with face animation (% of one core) |",
              "|---:|---:|---:|"]
    lines += [f"| {c['push_ms']} ms | {c['network_cpu_percent']} | {c['session_cpu_percent']} |" for c in costs]
    (RESULTS / "live.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "live.md").read_text())


if __name__ == "__main__":
    main()
