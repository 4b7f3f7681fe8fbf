"""Recorded speech (+ optional transcript) -> PhonemeTimeline -> the engine's FaceAnimator -> an Utterance.

The Utterance is the same object ``Engine.speak`` returns, so ``output.write_utterance`` writes the same
WAV + curves JSON (+ CSV) as ``avatarlab speak``.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace

import numpy as np

from ..animation import FaceAnimator, FaceFrames, viseme_of
from ..animation.loudness import MAX_WINDOW
from ..animation.pitch import frame_f0
from ..engine import Utterance, VisemeEvent, frame_range
from ..errors import InvalidOptionError
from ..options import SynthesisOptions
from ..resample import resample
from ..timeline import SILENCE_SYMBOL, PhonemeTimeline, TimedPhoneme, TimedWord
from .align import align
from .arpabet import to_ipa
from .audio_input import MAX_AUDIO_SECONDS, InvalidAudioError, load_audio
from .heard_closures import CLOSURE_SYMBOLS as _CLOSURES
from .heard_closures import add_missed_closures, heard_closures
from .recognize import recognize
from .speech import SPHINX_RATE, SpeechTimings

#: Rate of the returned audio and timeline unless told otherwise (the default voice's rate).
DEFAULT_SAMPLE_RATE = 22050
#: Audio whose peak is below this (-60 dBFS) is treated as silence: a closed mouth, no alignment.
SILENT_PEAK = 1e-3
VOICE_LABEL = "input audio"
#: The speaker's reference pitch (brows rise on peaks above it) is the median voiced F0 at up to this many
#: 10 ms frames spread evenly through the speech (words, not pauses). animation.pitch.reference_f0 uses every
#: 10 ms frame of the whole audio: within 1% on average (4% at most) of it on engine lines, at a fixed cost
#: instead of one growing with the file (docs/lipsync.md, "Speed").
REFERENCE_FRAMES = 100
#: p/b/m (``_CLOSURES``) as pocketsphinx aligns them, trimmed for the animator's closure lead and trail
#: (``_tighten_closures``).
#: 20 + 10 ms rather than the animator's full 40 + 20 ms: measured on the training voices ked, awb and rms, the
#: timeline's 6-class accuracy rose by 0.01-0.04 and its closed frames stayed at least 0.87 truly closed.
CLOSURE_LEAD_S = 0.02
CLOSURE_TRAIL_S = 0.01
MIN_CLOSURE_S = 0.02
#: A p/b/m next to a pause is silent on that side as well (a closure is), so pocketsphinx cannot see where it
#: starts (or ends) and often lets it take part of the pause: there it keeps at most PAUSE_CLOSURE_S.
PAUSE_CLOSURE_S = 0.10
#: A p/b/m longer than this at a word's edge has taken in a pause the aligner did not mark (pauses fall between
#: words): it keeps PAUSE_CLOSURE_S next to its word, and the rest becomes a pause (``_split_long_closures``).
LONGEST_CLOSURE_S = 0.15
#: Input below 16 kHz reaches pocketsphinx linearly interpolated, with the mirror images above the old Nyquist
#: frequency that band-limited upsampling removes: its wideband acoustic model scored 8 kHz speech better so
#: (Flite awb at 8 kHz, 12 lines: aligned 6-class 0.857 against 0.851, recognized 0.800 against 0.789).
SPHINX_BAND_LIMITED = False
#: Frames animated per FaceAnimator call: bounds memory on long files (curves are identical for any split).
ANIMATION_CHUNK = 1024


def lipsync(
    audio: str | os.PathLike | np.ndarray,
    transcript: str | None = None,
    options: SynthesisOptions | None = None,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    hear_closures: bool = True,
    **overrides,
) -> Utterance:
    """Animate recorded speech: a file path (any format ffmpeg reads) or mono float audio at ``sample_rate``.

    With a transcript the words and phones are force-aligned; without one they are recognized.
    Without a transcript, p/b/m closures the live network hears where the recognized words have none are added
    (heard_closures.py); ``hear_closures=False`` keeps the recognizer's phones alone (fewer closures, fewer
    false ones). Of the options only fps, seed, emotion and emotion_intensity matter. Raises InvalidAudioError,
    AudioTooLongError, InvalidOptionError; AlignmentError when no transcript word can be aligned.
    """
    options = _options(options, overrides)
    if isinstance(audio, np.ndarray):
        samples = _checked_array(audio, sample_rate)
    else:
        samples = load_audio(audio, sample_rate)
    if transcript is not None and not transcript.strip():
        transcript = None
    n = len(samples)
    if float(np.max(np.abs(samples))) < SILENT_PEAK:
        speech = SpeechTimings(method="silent")
        words: list[TimedWord] = []
        phonemes = [TimedPhoneme(SILENCE_SYMBOL, 0, n, None)]
        text = transcript or ""
    else:
        audio16k = resample(samples, sample_rate, SPHINX_RATE, band_limited=SPHINX_BAND_LIMITED)
        if transcript is not None:
            speech, tr_words = align(audio16k, transcript)
            words = _transcript_timings(speech, [w.text for w in tr_words], sample_rate, n)
            text = transcript
        else:
            speech = recognize(audio16k)
            words = [TimedWord(i, w.text, *_span(w.start, w.end, sample_rate, n)) for i, w in enumerate(speech.words)]
            text = speech.text
        phonemes = _phonemes(speech, words, sample_rate, n)
    timeline = PhonemeTimeline(sample_rate, phonemes, words)
    if speech.method == "recognized" and hear_closures:
        band_limited = SPHINX_BAND_LIMITED or sample_rate >= SPHINX_RATE  # downsampling always is
        spans = heard_closures(samples, sample_rate, audio16=audio16k if band_limited else None)
        timeline = add_missed_closures(timeline, spans)
        phonemes = timeline.phonemes
    timeline.check()
    animator = FaceAnimator(sample_rate, options.fps, options.seed, options.emotion, options.emotion_intensity,
                            _reference_f0(samples, sample_rate, phonemes))
    f0, f1 = frame_range(0, n, options.fps, sample_rate)
    with np.errstate(invalid="ignore"):  # a timeline of one pause: the animator masks inf - inf itself
        frames: FaceFrames = FaceFrames.concat([
            animator.animate(timeline, a, min(a + ANIMATION_CHUNK, f1), samples, 0)
            for a in range(f0, max(f1, f0 + 1), ANIMATION_CHUNK)])
    visemes = [VisemeEvent(viseme_of(p.symbol), p.start, p.end, i) for i, p in enumerate(phonemes)]
    utterance = Utterance(text, VOICE_LABEL, options, sample_rate, samples, timeline, frames, visemes)
    utterance.method = speech.method  # type: ignore[attr-defined]  # 'aligned', 'recognized', 'mixed', 'silent'
    return utterance


def _reference_f0(samples: np.ndarray, rate: int, phonemes: list[TimedPhoneme]) -> float:
    """Median voiced F0 (Hz) over up to REFERENCE_FRAMES frames of the speech; 0 when none is voiced."""
    speech = [(p.start, p.end) for p in phonemes if p.symbol != SILENCE_SYMBOL]
    if not speech:
        return 0.0
    starts, ends = np.array(speech).T
    grid = np.arange(MAX_WINDOW, len(samples), max(1, rate // 100))
    inside = np.searchsorted(starts, grid, side="right") - 1
    grid = grid[(inside >= 0) & (grid < ends[np.maximum(inside, 0)])]
    if len(grid) > REFERENCE_FRAMES:
        grid = grid[np.linspace(0, len(grid) - 1, REFERENCE_FRAMES).round().astype(int)]
    f0 = frame_f0(samples, 0, grid, rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def _options(options: SynthesisOptions | None, overrides: dict) -> SynthesisOptions:
    names = {f.name for f in fields(SynthesisOptions)}
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    return replace(options or SynthesisOptions(), **overrides).checked()


def _checked_array(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if not isinstance(sample_rate, int) or sample_rate < 8000:
        raise InvalidOptionError(f"sample_rate must be a whole number of Hz >= 8000, got {sample_rate!r}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise InvalidAudioError(f"audio must be mono (1-D), got shape {audio.shape}; average the channels first")
    if audio.size == 0:
        raise InvalidAudioError("audio has no samples")
    if audio.size > MAX_AUDIO_SECONDS * sample_rate:
        from .audio_input import AudioTooLongError

        raise AudioTooLongError(f"audio is longer than the {MAX_AUDIO_SECONDS:g} s limit; split it into shorter lines")
    return np.clip(np.nan_to_num(audio), -1.0, 1.0)


def _sample(seconds: float, rate: int, n: int) -> int:
    return min(n, max(0, int(round(seconds * rate))))


def _span(start: float, end: float, rate: int, n: int) -> tuple[int, int]:
    s = _sample(start, rate, n)
    return s, max(s, _sample(end, rate, n))


def _transcript_timings(speech: SpeechTimings, texts: list[str], rate: int, n: int) -> list[TimedWord]:
    """One TimedWord per transcript word; words without an alignment sit between their neighbours."""
    spans: dict[int, tuple[float, float]] = {}
    for w in speech.words:
        index = int(w.text)
        s, e = spans.get(index, (w.start, w.end))
        spans[index] = (min(s, w.start), max(e, w.end))
    words, previous_end = [], 0
    for index, text in enumerate(texts):
        if index in spans:
            start, end = _span(*spans[index], rate, n)
            start = max(start, previous_end)
            end = max(start, end)
        else:
            later = [spans[j][0] for j in range(index + 1, len(texts)) if j in spans]
            start = previous_end
            end = max(start, _sample(later[0], rate, n)) if later else start
            end = start if later else n if index == len(texts) - 1 else start
        words.append(TimedWord(index, text, start, end, stressed=len(text) >= 4))
        previous_end = end if index in spans else start
    return words


def _phonemes(speech: SpeechTimings, words: list[TimedWord], rate: int, n: int) -> list[TimedPhoneme]:
    """Segments tiling [0, n): aligned/recognized phones in IPA, gaps and noise as silence."""
    stressed_words = {w.index for w in words if w.stressed}
    seen_vowel: set[int] = set()
    out: list[TimedPhoneme] = []
    cursor = 0

    def add(symbol: str, start: int, end: int, word: int | None, stress: int = 0) -> None:
        nonlocal cursor
        start, end = max(start, cursor), min(max(end, start), n)
        if start > cursor:
            add(SILENCE_SYMBOL, cursor, start, None)
        if end <= start:
            return
        if symbol == SILENCE_SYMBOL and out and out[-1].symbol == SILENCE_SYMBOL:
            out[-1] = TimedPhoneme(SILENCE_SYMBOL, out[-1].start, end, None)
        else:
            out.append(TimedPhoneme(symbol, start, end, word, stress))
        cursor = end

    for phone in speech.phones:
        symbols = to_ipa(phone.phone, phone.stressed)
        word = phone.word_index if symbols != (SILENCE_SYMBOL,) else None
        if word is not None and word >= len(words):
            word = None
        start, end = _span(phone.start, phone.end, rate, n)
        bounds = np.linspace(start, end, len(symbols) + 1).round().astype(int)
        for k, symbol in enumerate(symbols):
            stress = 0
            if word is not None and word in stressed_words and word not in seen_vowel and symbol in "ɑæʌɔaɛɚeɪiouʊ":
                stress, _ = 2, seen_vowel.add(word)
            add(symbol, int(bounds[k]), int(bounds[k + 1]), word, stress)
    if cursor < n:
        add(SILENCE_SYMBOL, cursor, n, None)
    return _tighten_closures(out, rate)


def _tighten_closures(phonemes: list[TimedPhoneme], rate: int) -> list[TimedPhoneme]:
    """Shorten each aligned p/b/m so the mouth shows closed for the closure, not its neighbours.

    The animator closes the lips ahead of a p/b/m segment and releases them after it (anticipation and
    release), and pocketsphinx's phones last at least 3 frames and take in part of the release. Each one
    gives CLOSURE_LEAD_S of its start and CLOSURE_TRAIL_S of its end to its neighbours, keeping at least
    MIN_CLOSURE_S at its middle (the animator always closes on a segment's middle frame, so every p/b/m still
    closes). First, closures that took a pause give it back (``_split_long_closures``, ``_off_pauses``).
    """
    out = _split_long_closures(phonemes, rate)
    for k, p in enumerate(out):
        if p.symbol not in _CLOSURES or not 0 < k < len(out) - 1:
            continue
        p = _off_pauses(out, k, int(PAUSE_CLOSURE_S * rate))
        length = p.end - p.start
        keep = max(int(MIN_CLOSURE_S * rate), length - int((CLOSURE_LEAD_S + CLOSURE_TRAIL_S) * rate))
        if keep >= length:
            continue
        lead = round((length - keep) * CLOSURE_LEAD_S / (CLOSURE_LEAD_S + CLOSURE_TRAIL_S))
        start, end = p.start + lead, p.start + lead + keep
        before, after = out[k - 1], out[k + 1]
        out[k - 1] = replace(before, end=start)
        out[k] = replace(p, start=start, end=end)
        out[k + 1] = replace(after, start=end)
    return out


def _split_long_closures(phonemes: list[TimedPhoneme], rate: int) -> list[TimedPhoneme]:
    """Cut each p/b/m longer than LONGEST_CLOSURE_S at a word's edge into the closure and a pause beside it."""
    longest, keep = int(LONGEST_CLOSURE_S * rate), int(PAUSE_CLOSURE_S * rate)
    out: list[TimedPhoneme] = []
    for k, p in enumerate(phonemes):
        if p.symbol not in _CLOSURES or p.end - p.start <= longest:
            out.append(p)
            continue
        before = phonemes[k - 1].word_index if k > 0 else None
        after = phonemes[k + 1].word_index if k + 1 < len(phonemes) else None
        if after != p.word_index:  # word-final: the pause follows
            out += [replace(p, end=p.start + keep), TimedPhoneme(SILENCE_SYMBOL, p.start + keep, p.end, None)]
        elif before != p.word_index:  # word-initial: the pause comes first
            out += [TimedPhoneme(SILENCE_SYMBOL, p.start, p.end - keep, None), replace(p, start=p.end - keep)]
        else:
            out.append(p)
    merged = out[:1]
    for p in out[1:]:  # a new pause beside an old one joins it
        if p.symbol == SILENCE_SYMBOL and merged[-1].symbol == SILENCE_SYMBOL:
            merged[-1] = replace(merged[-1], end=p.end)
        else:
            merged.append(p)
    return merged


def _off_pauses(out: list[TimedPhoneme], k: int, longest: int) -> TimedPhoneme:
    """Give the pause beside p/b/m ``out[k]`` what the closure took of it beyond ``longest`` samples.

    Both are silent, so the aligner cannot tell them apart; the closure keeps its end next to the sound it
    belongs to (the vowel after a pause, the one before a pause). Updates ``out``; returns the new ``out[k]``.
    """
    p, before, after = out[k], out[k - 1], out[k + 1]
    if before.symbol == SILENCE_SYMBOL and p.end - p.start > longest:
        p = replace(p, start=p.end - longest)
        out[k - 1] = replace(before, end=p.start)
    if after.symbol == SILENCE_SYMBOL and p.end - p.start > longest:
        p = replace(p, end=p.start + longest)
        out[k + 1] = replace(after, start=p.end)
    out[k] = p
    return p
