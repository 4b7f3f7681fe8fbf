"""Generate the audio-to-viseme training set: speech whose every phone time is known by construction.

Sources: the default Piper voice through our own Engine (timings from the voice's duration predictor),
at varied speed and noise settings; libespeak-ng formant voices (timings from its phoneme events); and
Festival's and Flite's voices of real speakers (festival_voice.TRAINING_VOICES: their own segment timings;
English voices read English lines, the others their own language). Each clean line is also kept in augmented
copies (speed/pitch, reverb, band limits, codecs, noise, gain); --raise-pitch and --vtlp add higher-pitched
Piper lines and vocal tract length perturbation (see README).
The espeak-ng variants in HELD_OUT_VARIANTS and the reserved speakers kal and slt (festival_voice.
RESERVED_SPEAKERS) never enter training: the tests and the benchmarks use them.

    .venv/bin/python models/audio2face/make_dataset.py --out /tmp/a2f-data --minutes 40
"""

from __future__ import annotations

import argparse
import inspect
import importlib
import multiprocessing
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "sdk"))

from augment import augment, speed  # noqa: E402
from espeak_voice import EspeakVoice  # noqa: E402
from festival_voice import (RESERVED_SPEAKERS, SAMPLE_TEXTS, TRAINING_VOICES, VOICES, pseudo_text,  # noqa: E402
                            speak_many)

from avatarlab.channels import VISEME_INDEX  # noqa: E402
from avatarlab.animation import viseme_of  # noqa: E402
from avatarlab.live.features import CENTRE_S, HOP_S, SAMPLE_RATE, log_mel  # noqa: E402
from avatarlab.resample import resample  # noqa: E402

TRAIN_VARIANTS = ("m1", "m2", "m4", "m5", "m6", "f1", "f2", "f4", "klatt", "klatt3")
HELD_OUT_VARIANTS = ("f3", "m3")  # never in training: the held-out voices of tests and benchmarks
#: Festival/Flite voices of real speakers that may train: never kal or slt (reserved for evaluation).
REAL_VOICES = tuple(v for v in TRAINING_VOICES if VOICES[v].speaker not in RESERVED_SPEAKERS)
assert REAL_VOICES == TRAINING_VOICES and not any(VOICES[v].speaker in RESERVED_SPEAKERS for v in REAL_VOICES)
ENGLISH_REAL_VOICES = tuple(v for v in REAL_VOICES if VOICES[v].language == "en")
#: Lines per Festival/Flite job: Festival loads its voice once per call, so lines go in batches.
REAL_BATCH = 6
#: Seconds a non-English line of pseudo_text lasts, about (for the --minutes budget).
PSEUDO_LINE_S = 4.5
_TEXT_MODULES = ("os", "json", "collections", "argparse", "logging", "email.message", "http.client", "pathlib",
                 "subprocess", "threading", "asyncio", "datetime", "textwrap", "shutil", "random", "statistics",
                 "string", "calendar", "heapq", "functools", "itertools", "difflib", "csv", "zipfile", "tarfile",
                 "unittest", "inspect", "typing", "decimal", "fractions", "socket", "ssl", "urllib.request")


@dataclass(frozen=True)
class Segment:
    viseme: int
    start: float  # seconds
    end: float


@dataclass(frozen=True)
class Job:
    source: str  # "joe", an espeak-ng variant or a festival_voice voice ("festival:ked", "flite:awb", ...)
    texts: tuple[str, ...]  # one line, or a batch for a Festival/Flite voice
    seed: int
    copies: int  # augmented copies besides the clean one
    raise_pitch: float = 0.0  # chance that a Piper line is raised in pitch
    vtlp: bool = False


def docstring_sentences() -> list[str]:
    """Plain English sentences from the standard library's docstrings (varied words, natural order)."""
    out: set[str] = set()
    for name in _TEXT_MODULES:
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) or ""
            for sentence in re.split(r"(?<=[.!?])\s+", doc.replace("\n", " ")):
                words = sentence.split()
                if 4 <= len(words) <= 24 and all(re.fullmatch(r"[A-Za-z][a-z']*[,.;:!?]?", w) for w in words):
                    out.add(sentence)
    return sorted(out)


def dictionary_words() -> list[str]:
    """Alphabetic words from pocketsphinx's pronunciation dictionary, for phone coverage."""
    from pocketsphinx import get_model_path

    words = []
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict", encoding="utf-8") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            if word.isalpha() and 2 <= len(word) <= 10:
                words.append(word)
    return words


def make_jobs(minutes: float, copies: int, seed: int, raise_pitch: float = 0.0, vtlp: bool = False,
              real_share: float = 0.0, joe_share: float = 0.6, raise_real: float = 0.0) -> list[Job]:
    """Lines until about ``minutes`` of clean speech: ``real_share`` of it from Festival/Flite's real speakers
    (half of that from the English ones), of the rest ``joe_share`` from the Piper voice, the others espeak-ng."""
    rng = np.random.default_rng(seed)
    sentences, words = docstring_sentences(), dictionary_words()

    def english() -> str:
        if rng.random() < 0.7:
            return sentences[int(rng.integers(len(sentences)))]
        return " ".join(words[int(i)] for i in rng.integers(len(words), size=int(rng.integers(4, 12)))) + "."

    jobs, seconds, real_seconds = [], 0.0, 0.0
    while seconds < minutes * 60:
        if real_seconds < real_share * seconds or (real_share and not jobs):  # keep the share in seconds
            english_voice = rng.random() < 0.5
            pool = ENGLISH_REAL_VOICES if english_voice else tuple(v for v in REAL_VOICES if v not in
                                                                   ENGLISH_REAL_VOICES)
            source = pool[int(rng.integers(len(pool)))]
            if english_voice:
                texts = tuple(english() for _ in range(REAL_BATCH))
                added = sum(0.33 * len(t.split()) + 0.4 for t in texts)
            else:
                language = VOICES[source].language
                texts = tuple(pseudo_text(language, rng, int(rng.integers(6, 14))) for _ in range(REAL_BATCH - 1))
                texts += (SAMPLE_TEXTS[language][int(rng.integers(len(SAMPLE_TEXTS[language])))],)
                added = PSEUDO_LINE_S * len(texts)
            seconds, real_seconds = seconds + added, real_seconds + added
            jobs.append(Job(source, texts, int(rng.integers(2**31)), copies, raise_real if english_voice else 0.0,
                            vtlp))
            continue
        text = english()
        source = "joe" if rng.random() < joe_share else TRAIN_VARIANTS[int(rng.integers(len(TRAIN_VARIANTS)))]
        jobs.append(Job(source, (text,), int(rng.integers(2**31)), copies, raise_pitch, vtlp))
        seconds += 0.33 * len(text.split()) + 0.4
    return jobs


def _labels(segments: list[Segment], frames: int, time_scale: float = 1.0) -> np.ndarray:
    """Viseme index at each feature frame's centre."""
    starts = np.array([s.start * time_scale for s in segments])
    centres = CENTRE_S + HOP_S * np.arange(frames)
    index = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(segments) - 1)
    return np.array([segments[i].viseme for i in index], dtype=np.int8)


_ENGINE = None


#: --raise-pitch: the share of Piper lines spoken slower, then played faster (like a tape), so the speaking
#: rate stays natural while pitch and formants rise by PITCH_RAISE: higher voices than the one we have.
PITCH_RAISE = (1.15, 1.8)
#: --raise-real: the real English voices (all male): pitch and formants 1.15-1.5x, towards a female range.
REAL_PITCH_RAISE = (1.15, 1.5)
#: --vtlp: augmented copies hear their spectrum stretched by this much (vocal tract length perturbation).
VTLP_WARP = (0.85, 1.18)


def _speak(job: Job, rng: np.random.Generator) -> list[tuple[np.ndarray, list[Segment], str]]:
    """(audio at SAMPLE_RATE, segments, source tag) per line of the job."""
    global _ENGINE
    if job.source in VOICES:
        return _speak_real(job, rng)
    if job.source == "joe":
        if _ENGINE is None:
            from avatarlab import Engine

            _ENGINE = Engine(threads=1)
        raise_by = float(rng.uniform(*PITCH_RAISE)) if job.raise_pitch and rng.random() < job.raise_pitch else 1.0
        utterance = _ENGINE.speak(job.texts[0], speed=float(rng.uniform(0.8, 1.25)) / raise_by,
                                  noise_scale=float(rng.uniform(0.4, 0.9)), noise_w=float(rng.uniform(0.4, 1.0)),
                                  seed=job.seed)
        rate, audio = utterance.sample_rate, utterance.audio
        segments = [Segment(VISEME_INDEX[viseme_of(p.symbol)], p.start / rate / raise_by, p.end / rate / raise_by)
                    for p in utterance.timeline.phonemes]
        if raise_by != 1.0:
            return [(speed(resample(audio, rate, SAMPLE_RATE), raise_by), segments, "joe-raised")]
    else:
        voice = EspeakVoice(job.source, rate_wpm=int(rng.integers(130, 230)), pitch=int(rng.integers(25, 75)),
                            pitch_range=int(rng.integers(20, 80)))
        speech = voice.speak(job.texts[0])
        rate, audio = speech.sample_rate, speech.audio
        segments = [Segment(VISEME_INDEX[viseme_of(p.symbol)], p.start / rate, p.end / rate) for p in speech.phones]
    return [(resample(audio, rate, SAMPLE_RATE), segments, job.source)]


def _speak_real(job: Job, rng: np.random.Generator) -> list[tuple[np.ndarray, list[Segment], str]]:
    """A batch of lines from one Festival/Flite voice at a random speaking rate (never a reserved speaker)."""
    if job.source not in REAL_VOICES or VOICES[job.source].speaker in RESERVED_SPEAKERS:
        raise ValueError(f"{job.source} is not a training voice: {sorted(RESERVED_SPEAKERS)} are reserved")
    stretch = float(rng.uniform(0.85, 1.2))
    ignores_stretch = VOICES[job.source].program_voice.endswith(("_hts", "_clunits"))  # ona, nsh
    # --raise-real on the English voices (all male): spoken slower, played faster, like --raise-pitch's Piper lines
    raise_by = float(rng.uniform(*REAL_PITCH_RAISE)) if (job.raise_pitch and not ignores_stretch and
                                                           rng.random() < job.raise_pitch) else 1.0
    tag = job.source + ("-raised" if raise_by != 1.0 else "")
    out = []
    for speech in speak_many(job.source, list(job.texts), stretch=1.0 if ignores_stretch else stretch * raise_by):
        audio = resample(speech.audio, speech.sample_rate, SAMPLE_RATE)
        scale = 1.0 / raise_by
        if ignores_stretch:  # vary their rate afterwards (tape-style: pitch moves a little with it)
            audio, scale = speed(audio, 1.0 / stretch), stretch
        elif raise_by != 1.0:
            audio = speed(audio, raise_by)
        segments = [Segment(VISEME_INDEX[v], a * scale, b * scale) for v, a, b in speech.spans]
        out.append((audio, segments, tag))
    return out


def run_job(job: Job) -> list[tuple[np.ndarray, np.ndarray, str, int]]:
    """(features float16, labels int8, source tag, line id) for each clean line and each augmented copy."""
    import imageio_ffmpeg

    rng = np.random.default_rng(job.seed)
    out = []
    for k, (audio, segments, tag) in enumerate(_speak(job, rng)):
        line = job.seed * 8 + k
        for copy in range(job.copies + 1):
            if copy == 0:
                version, factor, warp = audio, 1.0, 1.0
            else:
                version, factor = augment(audio, rng, imageio_ffmpeg.get_ffmpeg_exe())
                warp = float(rng.uniform(*VTLP_WARP)) if job.vtlp else 1.0
            features = log_mel(version, warp)
            out.append((features.astype(np.float16), _labels(segments, len(features), 1.0 / factor), tag, line))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for shard_*.npz")
    parser.add_argument("--minutes", type=float, default=40.0, help="clean speech to generate (about)")
    parser.add_argument("--copies", type=int, default=2, help="augmented copies per clean line")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--raise-pitch", type=float, default=0.0, metavar="SHARE",
                        help="raise this share of the Piper lines in pitch by 1.15-1.8x (default 0: see README)")
    parser.add_argument("--vtlp", action="store_true", help="vocal tract length perturbation of augmented copies")
    parser.add_argument("--real-share", type=float, default=0.0, metavar="SHARE",
                        help="this share of the speech from Festival/Flite's real speakers (never kal or slt)")
    parser.add_argument("--raise-real", type=float, default=0.0, metavar="SHARE",
                        help="raise this share of the real English voices' batches (all male) by 1.15-1.5x")
    parser.add_argument("--joe-share", type=float, default=0.6, metavar="SHARE",
                        help="of the rest, this share from the Piper voice (the others from espeak-ng)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(args.minutes, args.copies, args.seed, args.raise_pitch, args.vtlp, args.real_share,
                     args.joe_share, args.raise_real)
    print(f"{len(jobs)} jobs, about {args.minutes:g} min clean, {args.copies} augmented copies each", flush=True)
    started, done, shard, buffer = time.time(), 0, 0, []
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for items in pool.imap_unordered(run_job, jobs, chunksize=4):
            buffer.extend(items)
            done += 1
            if len(buffer) >= 150 or done == len(jobs):
                _write_shard(args.out / f"shard_{shard:03d}.npz", buffer)
                shard, buffer = shard + 1, []
                print(f"  {done}/{len(jobs)} jobs, {time.time() - started:.0f} s", flush=True)


def _write_shard(path: Path, items: list[tuple[np.ndarray, np.ndarray, str, int]]) -> None:
    lengths = np.array([len(f) for f, _, _, _ in items])
    np.savez(path, features=np.concatenate([f for f, _, _, _ in items]),
             labels=np.concatenate([l for _, l, _, _ in items]), lengths=lengths,
             sources=np.array([s for _, _, s, _ in items]), lines=np.array([n for _, _, _, n in items], np.int64))


if __name__ == "__main__":
    main()
