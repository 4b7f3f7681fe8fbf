"""TTS word starts against independent references (issue 16 item 6).

    .venv/bin/python benchmarks/bench_timing.py   ->  benchmarks/results/timing.json + timing.md

For each line `Engine.speak` gives word starts from the voice's own durations. They are compared with
  - pocketsphinx forced alignment of the same audio (tests/test_timing.py's reference),
  - the project's own aligner (`avatarlab.lipsync.align`, pocketsphinx-based with espeak-ng fallbacks),
  - an acoustic landmark that needs no aligner: where the voicing of a vowel/sonorant fades (80-900 Hz
    band 25 dB under its peak, 10 ms window) before a voiceless stop or fricative, against the start of
    that consonant's timeline segment.
Accuracy figures, not speed: the machine's load does not change them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tests"))

LINES = [
    "The bridge to the northern village washed away in the storm last night.",
    "Bring me three loaves of bread and a jug of fresh water from the market.",
    "I have been waiting here for hours and nobody told me the gate was closed.",
    "Keep your voice down because the guards are sleeping behind that door.",
    "She found a small wooden box buried under the old oak tree near the river.",
    "Please remember to feed the horses before you leave for the city tomorrow morning.",
    "Peter Piper picked a peck of pickled peppers.",
    "Bake a big batch of brown bread, then go to the dock and get the tackle.",
    "Take the key to the cabin, and tell Tom to keep quiet.",
    "Do you think the captain will give us a boat before dawn?",
    "My brother bought a pair of boots and a blue coat.",
    "Good morning, traveler. Can I get you anything to eat?",
    "The old man pointed at the tower and said nothing at all.",
    "We should leave before the guards change their watch at midnight.",
]
VOICED = set("aeiouæɐɑɒɔəɚɛɜɪʊʌylrɹwjmnŋ")
VOICELESS = ("p", "t", "k", "f", "θ", "s", "ʃ", "tʃ")


def sound_class(symbol: str) -> str:
    s = symbol.lstrip("ˈˌ")
    if s[:1] in "pbtdkgɡ":
        return "stop"
    if s[:1] in "mnŋ":
        return "nasal"
    if s[:1] in "fvθðszʃʒh":
        return "fricative"
    if s[:1] in "lrɹwj":
        return "approximant"
    return "vowel"


def low_band_db(audio: np.ndarray, rate: int, step_s: float = 0.001, win_s: float = 0.010) -> tuple[np.ndarray, np.ndarray]:
    """80-900 Hz level (dB) every millisecond, and the centre time of each window."""
    n, hop = int(win_s * rate), int(step_s * rate)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    band = (freqs > 80) & (freqs < 900)
    frames = np.lib.stride_tricks.sliding_window_view(audio, n)[::hop] * np.hanning(n)
    level = 10 * np.log10((np.abs(np.fft.rfft(frames, axis=1)) ** 2)[:, band].sum(axis=1) + 1e-12)
    return level, np.arange(len(level)) * step_s + win_s / 2


def voicing_offsets(utterance, drop_db: float = 25.0) -> dict[str, list[float]]:
    """Voicing offset minus consonant start (s) for voiced -> voiceless consonant transitions."""
    rate, phonemes = utterance.sample_rate, utterance.timeline.phonemes
    level, times = low_band_db(utterance.audio, rate)
    found: dict[str, list[float]] = {"word-initial": [], "in-word": []}
    for before, sound in zip(phonemes, phonemes[1:]):
        if before.word_index is None or sound.word_index is None or before.symbol.strip("ˈˌː")[:1] not in VOICED:
            continue
        if not sound.symbol.lstrip("ˈˌ").startswith(VOICELESS):
            continue
        start = sound.start / rate
        span = (times > before.start / rate) & (times < min(start, before.end / rate) - 0.015)
        if not span.any():
            continue
        below = np.where((times > before.start / rate + 0.005) & (times < sound.end / rate)
                         & (level < level[span].max() - drop_db))[0]
        if len(below):
            found["in-word" if before.word_index == sound.word_index else "word-initial"].append(times[below[0]] - start)
    return found


def summary(values: list[float]) -> dict:
    ms = np.asarray(values) * 1000
    return {"n": len(ms), "median_ms": round(float(np.median(ms)), 1),
            "p90_abs_ms": round(float(np.percentile(np.abs(ms), 90)), 1),
            "p10_ms": round(float(np.percentile(ms, 10)), 1), "p90_ms": round(float(np.percentile(ms, 90)), 1)}


def main() -> None:
    from avatarlab.engine import Engine
    from avatarlab.lipsync.align import align
    from avatarlab.resample import resample
    from test_timing import _sphinx_words

    engine = Engine()
    sphinx: dict[str, list[float]] = {}
    own: list[float] = []
    landmarks: dict[str, list[float]] = {"word-initial": [], "in-word": []}
    for text in LINES:
        utterance = engine.speak(text)
        rate = utterance.sample_rate
        words = utterance.timeline.words
        theirs = _sphinx_words(utterance.audio, rate, text)
        if [w[0] for w in theirs] != [w.text.lower().strip(".,?!") for w in words]:
            raise SystemExit(f"pocketsphinx word mismatch on {text!r}")
        first = {}
        for phoneme in utterance.timeline.phonemes:
            if phoneme.word_index is not None:
                first.setdefault(phoneme.word_index, phoneme.symbol)
        for word, (_, start, _) in zip(words, theirs):
            difference = word.start / rate - start
            sphinx.setdefault("all", []).append(difference)
            sphinx.setdefault(sound_class(first[word.index]), []).append(difference)
        timings, _ = align(resample(utterance.audio, rate, 16000), text)
        own += [words[int(w.text)].start / rate - w.start for w in timings.words]
        for key, values in voicing_offsets(utterance).items():
            landmarks[key] += values
    result = {
        "lines": len(LINES),
        "pocketsphinx": {k: summary(v) for k, v in sphinx.items()},
        "own_aligner": summary(own),
        "voicing_offset_minus_consonant_start": {k: summary(v) for k, v in landmarks.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "timing.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [f"| pocketsphinx, {k} words | {v['n']} | {v['median_ms']:+.1f} | {v['p90_abs_ms']:.1f} |"
            for k, v in result["pocketsphinx"].items()]
    rows.append(f"| own aligner, all words | {result['own_aligner']['n']} | {result['own_aligner']['median_ms']:+.1f} "
                f"| {result['own_aligner']['p90_abs_ms']:.1f} |")
    rows += [f"| acoustic: voicing offset - consonant start, {k} | {v['n']} | {v['median_ms']:+.1f} | {v['p90_abs_ms']:.1f} |"
             for k, v in result["voicing_offset_minus_consonant_start"].items()]
    (RESULTS / "timing.md").write_text(
        "# TTS word starts against independent references\n\n"
        f"`Engine.speak` on {len(LINES)} lines (default voice, seed and options); differences are ours minus the "
        "reference.\n\n| reference | n | median (ms) | 90th pct of abs (ms) |\n|---|---|---|---|\n"
        + "\n".join(rows) + "\n\nBefore issue 16 item 6 (same lines): pocketsphinx all words median +41.5 ms, "
        "90th percentile of abs 75.6 ms; stop-initial words after a word gap +58.0 ms; own aligner +41.0 ms.\n")
    print((RESULTS / "timing.md").read_text())


if __name__ == "__main__":
    main()
