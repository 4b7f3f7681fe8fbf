"""Tests of avatarlab.animation on hand-built timelines and synthetic audio."""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.channels import ARKIT_BLENDSHAPES, ARKIT_INDEX, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES, VISEME_INDEX
from avatarlab.animation import EMOTIONS, FaceAnimator, FaceFrames
from avatarlab.timeline import PhonemeTimeline, TimedPhoneme, TimedWord

SR = 22050
VOWELS = frozenset("aeiouɑæɛɪəʊʌɔɐᵻɚɜ")

Seg = tuple  # (symbol, duration_ms, word_index, stress[, sentence_index])


def make_timeline(segments: list[Seg]) -> PhonemeTimeline:
    """Timeline from (symbol, duration_ms, word_index, stress[, sentence]) tuples at 22050 Hz."""
    phonemes, position = [], 0
    for seg in segments:
        symbol, ms, word, stress = seg[:4]
        sentence = seg[4] if len(seg) > 4 else 0
        n = int(round(ms * SR / 1000))
        phonemes.append(TimedPhoneme(symbol, position, position + n, word, stress, sentence))
        position += n
    words: dict[int, list[TimedPhoneme]] = {}
    for p in phonemes:
        if p.word_index is not None:
            words.setdefault(p.word_index, []).append(p)
    timed_words = [TimedWord(index=i, text=f"w{i}", start=ps[0].start, end=ps[-1].end)
                   for i, ps in sorted(words.items())]
    timeline = PhonemeTimeline(SR, phonemes, timed_words)
    timeline.check()
    return timeline


def make_audio(timeline: PhonemeTimeline, seed: int = 0, vowel_amp: float = 0.3,
               quiet_words: frozenset[int] = frozenset()) -> np.ndarray:
    """Noise loud in vowels, softer in consonants, silent in pauses."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(timeline.num_samples, np.float32)
    for p in timeline.phonemes:
        if p.is_pause:
            continue
        amp = vowel_amp if p.symbol[:1] in VOWELS else 0.06
        if p.word_index in quiet_words:
            amp *= 0.08
        audio[p.start:p.end] = rng.standard_normal(p.num_samples) * amp
    return audio


def num_frames(timeline: PhonemeTimeline, fps: int) -> int:
    return timeline.num_samples * fps // SR


def animate_all(timeline: PhonemeTimeline, fps: int = 60, **kwargs) -> FaceFrames:
    audio = make_audio(timeline)
    return FaceAnimator(SR, fps, **kwargs).animate(timeline, 0, num_frames(timeline, fps), audio, 0)


def frames_in(timeline: PhonemeTimeline, seg: TimedPhoneme, fps: int) -> np.ndarray:
    """Frames inside a segment, or the frame nearest its centre when none falls inside."""
    first = -(-seg.start * fps // SR)
    inside = np.arange(first, -(-seg.end * fps // SR))
    return inside if inside.size else np.array([round((seg.start + seg.end) / 2 * fps / SR)])


def segment_start_frame(seg: TimedPhoneme, fps: int = 60) -> int:
    return -(-seg.start * fps // SR)


SENTENCE: list[Seg] = [
    ("^", 150, None, 0), ("m", 70, 0, 2), ("aɪ", 120, 0, 2), (" ", 0, None, 0),
    ("f", 90, 1, 2), ("ɹ", 50, 1, 2), ("ɛ", 110, 1, 2), ("n", 60, 1, 0), ("d", 50, 1, 0), (" ", 0, None, 0),
    ("θ", 80, 2, 2), ("ɪ", 70, 2, 2), ("ŋ", 60, 2, 0), ("k", 60, 2, 0), ("s", 90, 2, 0), (",", 250, None, 0),
    ("b", 20, 3, 2), ("ʌ", 90, 3, 2), ("t", 50, 3, 0), (" ", 30, None, 0),
    ("w", 60, 4, 2), ("iː", 90, 4, 2), (" ", 0, None, 0), ("s", 90, 5, 0), ("t", 60, 5, 0), ("uː", 180, 5, 2),
    ("p", 80, 5, 0), (".", 300, None, 0), ("$", 80, None, 0), ("_", 300, None, 0),
    ("^", 50, None, 0, 1), ("v", 70, 6, 2, 1), ("ɔ", 150, 6, 2, 1), ("ɪ", 80, 6, 2, 1), ("s", 100, 6, 0, 1),
    ("?", 300, None, 0, 1), ("$", 100, None, 0, 1),
]


@pytest.fixture(scope="module")
def sentence() -> PhonemeTimeline:
    return make_timeline(SENTENCE)


def long_timeline(seconds: float = 60.0, seed: int = 3) -> PhonemeTimeline:
    """Random sentences of CV(C) syllables with punctuation pauses, about ``seconds`` long."""
    rng = np.random.default_rng(seed)
    consonants, vowels = ["p", "t", "k", "s", "n", "l", "m", "d", "ɹ", "f"], ["ɑ", "ɛ", "ɪ", "uː", "oʊ", "ə"]
    segs: list[Seg] = [("^", 200, None, 0)]
    total, word, sentence_index = 200.0, 0, 0
    while total < seconds * 1000 - 2000:
        for _ in range(rng.integers(3, 9)):
            for syllable in range(rng.integers(1, 4)):
                stress = 2 if syllable == 0 else 0
                segs += [(str(rng.choice(consonants)), rng.uniform(50, 90), word, stress, sentence_index),
                         (str(rng.choice(vowels)), rng.uniform(70, 160), word, stress, sentence_index)]
            segs.append((" ", rng.uniform(0, 40), None, 0, sentence_index))
            word += 1
        segs.append((str(rng.choice([",", "."])), rng.uniform(200, 450), None, 0, sentence_index))
        if segs[-1][0] == ".":
            segs += [("$", 50, None, 0, sentence_index), ("_", 200, None, 0, sentence_index)]
            sentence_index += 1
            segs.append(("^", 30, None, 0, sentence_index))
        total = sum(s[1] for s in segs)
    segs.append((".", 1500, None, 0, sentence_index))
    return make_timeline(segs)


@pytest.fixture(scope="module")
def minute() -> PhonemeTimeline:
    return long_timeline()


@pytest.fixture(scope="module")
def minute_frames(minute: PhonemeTimeline) -> FaceFrames:
    return animate_all(minute, seed=11)


# --- shapes, ranges, arguments ------------------------------------------------------------------

def test_shapes_dtypes_and_ranges(sentence: PhonemeTimeline) -> None:
    frames = animate_all(sentence)
    n = num_frames(sentence, 60)
    assert len(frames) == n and frames.start_frame == 0 and frames.fps == 60
    for array, width in ((frames.visemes, len(OCULUS_VISEMES)), (frames.blendshapes, len(ARKIT_BLENDSHAPES)),
                         (frames.head, len(HEAD_CHANNELS)), (frames.eyes, len(EYE_CHANNELS))):
        assert array.shape == (n, width) and array.dtype == np.float32
        assert np.isfinite(array).all()
    assert frames.visemes.min() >= 0 and frames.visemes.max() <= 1
    assert frames.blendshapes.min() >= 0 and frames.blendshapes.max() <= 1
    assert np.abs(frames.eyes).max() < np.radians(20)


def test_empty_range_and_concat(sentence: PhonemeTimeline) -> None:
    animator, audio = FaceAnimator(SR), make_audio(sentence)
    empty = animator.animate(sentence, 5, 5, audio, 0)
    assert len(empty) == 0 and empty.blendshapes.shape == (0, 52)
    a, b = animator.animate(sentence, 0, 10, audio, 0), animator.animate(sentence, 10, 25, audio, 0)
    joined = FaceFrames.concat([a, empty.__class__.empty(10, 60), b])
    assert len(joined) == 25 and joined.end_frame == 25
    with pytest.raises(ValueError):
        FaceFrames.concat([b, a])
    with pytest.raises(ValueError):
        FaceFrames.concat([])


@pytest.mark.parametrize("kwargs", [
    {"fps": 23}, {"fps": 121}, {"emotion": "bored"}, {"emotion_intensity": -0.1}, {"emotion_intensity": 1.5},
    {"sample_rate": 0},
])
def test_bad_arguments_raise(kwargs: dict) -> None:
    args = {"sample_rate": SR, **kwargs}
    with pytest.raises(ValueError):
        FaceAnimator(**args)


def test_bad_animate_arguments_raise(sentence: PhonemeTimeline) -> None:
    audio = make_audio(sentence)
    with pytest.raises(ValueError):
        FaceAnimator(SR).animate(sentence, 10, 5, audio, 0)
    with pytest.raises(ValueError):
        FaceAnimator(16000).animate(sentence, 0, 5, audio, 0)
    with pytest.raises(ValueError):
        FaceAnimator(SR).animate(sentence, 0, 5, np.zeros((10, 2), np.float32), 0)


def test_unknown_symbols_do_not_crash() -> None:
    timeline = make_timeline([("^", 100, None, 0), ("ʘ", 80, 0, 0), ("ɑ̃ː", 100, 0, 2), ("«", 50, None, 0),
                              ("aɪ", 100, 1, 0), ("", 40, 1, 0), ("tʃ", 70, 1, 0), ("dʒ", 60, 1, 0), ("$", 100, None, 0)])
    frames = animate_all(timeline)
    assert np.isfinite(frames.blendshapes).all() and len(frames) == num_frames(timeline, 60)


# --- streaming invariants -------------------------------------------------------------------------

def _streamed(timeline: PhonemeTimeline, audio: np.ndarray, n: int, rng: np.random.Generator,
              fps: int = 60, **kwargs) -> FaceFrames:
    """Animate in random consecutive chunks, passing only the audio the engine guarantees."""
    animator = FaceAnimator(SR, fps, **kwargs)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(12, n - 1), replace=False))
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, n]):
        first = max(lo * SR // fps - 2048, 0)
        last = (hi - 1) * SR // fps + 1
        parts.append(animator.animate(timeline, int(lo), int(hi), audio[first:last].copy(), first))
    return FaceFrames.concat(parts)


@pytest.mark.parametrize("fps,emotion", [(60, "neutral"), (24, "happy"), (30, "surprised")])
def test_chunk_invariance(sentence: PhonemeTimeline, fps: int, emotion: str) -> None:
    audio, n = make_audio(sentence), num_frames(sentence, fps)
    whole = FaceAnimator(SR, fps, seed=5, emotion=emotion).animate(sentence, 0, n, audio, 0)
    for split_seed in range(3):
        streamed = _streamed(sentence, audio, n, np.random.default_rng(split_seed), fps, seed=5, emotion=emotion)
        for name in ("visemes", "blendshapes", "head", "eyes"):
            np.testing.assert_allclose(getattr(streamed, name), getattr(whole, name), atol=1e-6, err_msg=name)


def test_appending_a_sentence_changes_no_earlier_frame(sentence: PhonemeTimeline) -> None:
    """The engine animates each sentence before the next is known: later sentences must not matter."""
    first_end = next(i for i, p in enumerate(sentence.phonemes) if p.symbol == "_") + 1
    partial = PhonemeTimeline(SR, sentence.phonemes[:first_end], sentence.words)
    n = num_frames(partial, 60)
    audio = make_audio(sentence)
    a = FaceAnimator(SR, seed=2).animate(partial, 0, n, audio, 0)
    b = FaceAnimator(SR, seed=2).animate(sentence, 0, n, audio, 0)
    for name in ("visemes", "blendshapes", "head", "eyes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_timeline_growing_in_place_is_picked_up(sentence: PhonemeTimeline) -> None:
    """Like the engine: one timeline object, extended sentence by sentence between calls."""
    first_end = next(i for i, p in enumerate(sentence.phonemes) if p.symbol == "_") + 1
    growing = PhonemeTimeline(SR, list(sentence.phonemes[:first_end]), sentence.words)
    audio, animator = make_audio(sentence), FaceAnimator(SR, seed=2)
    n0, n = num_frames(growing, 60), num_frames(sentence, 60)
    head = animator.animate(growing, 0, n0, audio, 0)
    growing.phonemes.extend(sentence.phonemes[first_end:])
    tail = animator.animate(growing, n0, n, audio, 0)
    whole = FaceAnimator(SR, seed=2).animate(sentence, 0, n, audio, 0)
    np.testing.assert_array_equal(FaceFrames.concat([head, tail]).blendshapes, whole.blendshapes)


def test_determinism_and_seed_variation(sentence: PhonemeTimeline) -> None:
    a, b, c = animate_all(sentence, seed=1), animate_all(sentence, seed=1), animate_all(sentence, seed=2)
    for name in ("visemes", "blendshapes", "head", "eyes"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.allclose(a.head, c.head)
    assert not np.allclose(a.eyes, c.eyes)
    np.testing.assert_array_equal(a.visemes, c.visemes)  # speech itself does not depend on the seed


def test_blinks_vary_with_seed(minute: PhonemeTimeline) -> None:
    blink = ARKIT_INDEX["eyeBlinkLeft"]
    a, b = (FaceAnimator(SR, seed=s).animate(minute, 0, 1200, make_audio(minute), 0) for s in (1, 2))
    assert not np.allclose(a.blendshapes[:, blink], b.blendshapes[:, blink])


# --- mouth ------------------------------------------------------------------------------------------

def _assert_closures(timeline: PhonemeTimeline, frames: FaceFrames) -> None:
    bs, vis = frames.blendshapes, frames.visemes
    for seg in timeline.phonemes:
        if seg.symbol not in ("p", "b", "m"):
            continue
        idx = frames_in(timeline, seg, frames.fps) - frames.start_frame
        jaw, close = bs[idx, ARKIT_INDEX["jawOpen"]], bs[idx, ARKIT_INDEX["mouthClose"]]
        # ARKit: mouthClose seals what is left of the jaw's opening and never exceeds it (test_arkit_conventions)
        ok = ((vis[idx, VISEME_INDEX["PP"]] >= 0.9) & (close <= jaw + 1e-6) & (jaw - close <= 0.01)
              & (bs[idx, ARKIT_INDEX["mouthPressLeft"]] >= 0.5) & (bs[idx, ARKIT_INDEX["mouthPressRight"]] >= 0.5)
              & (jaw <= 0.1))
        assert ok.any(), f"no closure for {seg}"


@pytest.mark.parametrize("fps", [24, 30, 60, 120])
def test_bilabials_close(sentence: PhonemeTimeline, fps: int) -> None:
    _assert_closures(sentence, animate_all(sentence, fps))


@pytest.mark.parametrize("fps", [24, 60])
@pytest.mark.parametrize("ms", [8, 20, 35])
def test_short_bilabial_between_open_vowels_closes(fps: int, ms: int) -> None:
    timeline = make_timeline([("^", 100, None, 0), ("ɑ", 150, 0, 2), ("b", ms, 0, 0), ("ɑ", 150, 0, 0),
                              ("m", ms, 0, 0), ("æ", 120, 0, 0), (".", 200, None, 0)])
    _assert_closures(timeline, animate_all(timeline, fps))


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_emotions_keep_closures(sentence: PhonemeTimeline, minute: PhonemeTimeline, emotion: str) -> None:
    _assert_closures(sentence, animate_all(sentence, 24, emotion=emotion))
    short = PhonemeTimeline(SR, minute.phonemes[:120], minute.words)
    _assert_closures(short, animate_all(short, 60, emotion=emotion))


def test_mouth_rests_closed_in_pauses(sentence: PhonemeTimeline) -> None:
    frames = animate_all(sentence)
    rest = [p for p in sentence.phonemes if p.symbol in ("^", ".", "?", "_") and p.num_samples > 0.25 * SR]
    for seg in rest:
        centre = round((seg.start + seg.end) / 2 * 60 / SR)
        assert frames.blendshapes[centre, ARKIT_INDEX["jawOpen"]] < 0.05
        assert frames.visemes[centre, VISEME_INDEX["sil"]] > 0.9


def test_rounding_is_anticipated(sentence: PhonemeTimeline) -> None:
    """Pucker rises during the 's t' before 'uː' and is higher than before an unrounded vowel."""
    frames = animate_all(sentence)
    pucker = frames.blendshapes[:, ARKIT_INDEX["mouthPucker"]]
    u = next(p for p in sentence.phonemes if p.symbol == "uː")
    before = segment_start_frame(u) - 1
    assert pucker[before] > 0.3
    assert pucker[before - 5] < pucker[before] < pucker[segment_start_frame(u) + 6]

    unrounded = make_timeline([(s, ms, w, st) for s, ms, w, st, *_ in SENTENCE[:25]] + [("ɑ", 180, 5, 2), (".", 300, None, 0)])
    other = animate_all(unrounded).blendshapes[:, ARKIT_INDEX["mouthPucker"]]
    assert pucker[before] > other[before] + 0.2
    assert pucker[before - 4] > other[before - 4] + 0.05  # ~70 ms earlier, inside the 's'


def test_labiodentals_reach_ff(sentence: PhonemeTimeline) -> None:
    frames = animate_all(sentence, 24)
    for seg in (p for p in sentence.phonemes if p.symbol in ("f", "v")):
        idx = frames_in(sentence, seg, 24)
        assert frames.visemes[idx, VISEME_INDEX["FF"]].max() >= 0.8
        assert frames.blendshapes[idx, ARKIT_INDEX["mouthRollLower"]].max() >= 0.5
        assert frames.blendshapes[idx, ARKIT_INDEX["mouthUpperUpLeft"]].max() <= 0.35
        assert frames.blendshapes[idx, ARKIT_INDEX["jawOpen"]].max() <= 0.2


def test_dental_shows_tongue(sentence: PhonemeTimeline) -> None:
    frames = animate_all(sentence)
    tongue = frames.blendshapes[:, ARKIT_INDEX["tongueOut"]]
    th = next(p for p in sentence.phonemes if p.symbol == "θ")
    assert tongue[frames_in(sentence, th, 60)].max() >= 0.3
    elsewhere = np.ones(len(frames), bool)
    elsewhere[max(segment_start_frame(th) - 12, 0):segment_start_frame(th) + 18] = False
    assert tongue[elsewhere].max() < 0.15


def test_visemes_follow_phonemes(sentence: PhonemeTimeline) -> None:
    frames = animate_all(sentence)
    expected = {"s": "SS", "ɛ": "E", "uː": "ou", "ɔ": "oh", "n": "nn"}
    for seg in sentence.phonemes:
        if seg.symbol in expected and seg.num_samples >= 0.06 * SR:
            centre = round((seg.start + seg.end) / 2 * 60 / SR)
            assert frames.visemes[centre].argmax() == VISEME_INDEX[expected[seg.symbol]], seg


def test_jaw_bounded_and_follows_loudness() -> None:
    segs: list[Seg] = [("^", 100, None, 0)]
    for word in range(6):
        segs += [("d", 60, word, 2), ("ɑ", 200, word, 2), (" ", 40, None, 0)]
    timeline = make_timeline(segs + [(".", 300, None, 0)])
    audio = make_audio(timeline, vowel_amp=0.5, quiet_words=frozenset({1, 3, 5}))
    frames = FaceAnimator(SR).animate(timeline, 0, num_frames(timeline, 60), audio, 0)
    jaw = frames.blendshapes[:, ARKIT_INDEX["jawOpen"]]
    assert jaw.max() <= 0.7 + 1e-6
    peaks = []
    for seg in (p for p in timeline.phonemes if p.symbol == "ɑ"):
        peaks.append(jaw[frames_in(timeline, seg, 60)].max())
    loud, quiet = peaks[0::2], peaks[1::2]
    assert min(loud) > 0.45 and max(quiet) < min(loud) - 0.1
    silent = FaceAnimator(SR).animate(timeline, 0, 30, np.zeros(timeline.num_samples, np.float32), 0)
    assert silent.blendshapes[:6, ARKIT_INDEX["jawOpen"]].max() < 0.02


# --- eyes, brows, head ------------------------------------------------------------------------------

def _blink_onsets(frames: FaceFrames) -> np.ndarray:
    closed = frames.blendshapes[:, ARKIT_INDEX["eyeBlinkLeft"]] >= 0.5
    return np.flatnonzero(closed[1:] & ~closed[:-1]) + 1


def test_blink_rate_and_shape(minute: PhonemeTimeline, minute_frames: FaceFrames) -> None:
    onsets = _blink_onsets(minute_frames)
    per_minute = len(onsets) / (len(minute_frames) / 60 / 60)
    assert 10 <= per_minute <= 28, per_minute
    left = minute_frames.blendshapes[:, ARKIT_INDEX["eyeBlinkLeft"]]
    right = minute_frames.blendshapes[:, ARKIT_INDEX["eyeBlinkRight"]]
    np.testing.assert_array_equal(left, right)
    for onset in onsets:
        window = left[onset:onset + 20]
        assert window.max() >= 0.95
        above = np.flatnonzero(left[onset - 10:onset + 25] > 0.05)
        assert 0.08 <= (above[-1] - above[0]) / 60 <= 0.26


def test_blinks_cluster_at_pauses(minute: PhonemeTimeline) -> None:
    near, total = 0, 0
    pauses = np.array([p.start / SR for p in minute.phonemes if p.symbol in (",", ".", "_")])
    for seed in range(4):
        frames = FaceAnimator(SR, seed=seed).animate(minute, 0, num_frames(minute, 60), make_audio(minute), 0)
        times = _blink_onsets(frames) / 60
        since = times[:, None] - pauses[None, :]
        near += int(((since >= -0.05) & (since < 0.8)).any(axis=1).sum())
        total += len(times)
    near_time = len(pauses) * 0.85
    rate_near = near / (4 * near_time)
    rate_far = (total - near) / (4 * (minute.duration_s - near_time))
    assert rate_near > 2 * rate_far


def test_gaze_saccades_and_eye_blendshapes(minute_frames: FaceFrames) -> None:
    eyes = minute_frames.eyes
    np.testing.assert_array_equal(eyes[:, 0:2], eyes[:, 2:4])  # both eyes move together
    moving = np.abs(np.diff(eyes, axis=0)).max(axis=1) > 1e-6
    starts = np.flatnonzero(moving[1:] & ~moving[:-1]) + 1
    fixations = np.diff(starts) / 60
    assert len(starts) > 20
    assert fixations.min() >= 0.25 and np.median(fixations) <= 2.0
    assert np.abs(eyes).max() <= np.radians(12)
    bs = minute_frames.blendshapes
    yaw, pitch = eyes[:, 1], eyes[:, 0]
    assert np.all(bs[yaw > 0.02, ARKIT_INDEX["eyeLookOutLeft"]] > 0)
    assert np.all(bs[yaw > 0.02, ARKIT_INDEX["eyeLookInRight"]] > 0)
    assert np.all(bs[yaw < -0.02, ARKIT_INDEX["eyeLookInLeft"]] > 0)
    assert np.all(bs[pitch > 0.02, ARKIT_INDEX["eyeLookDownLeft"]] > 0)
    assert np.all(bs[pitch < -0.02, ARKIT_INDEX["eyeLookUpRight"]] > 0)


def test_head_motion_small_smooth_and_alive(minute_frames: FaceFrames) -> None:
    head = minute_frames.head
    assert np.abs(head).max() <= np.radians(6)
    assert head.std(axis=0).min() > np.radians(0.1)
    assert np.abs(np.diff(head, axis=0)).max() < np.radians(0.5)  # no pops between 60 fps frames


def test_brows_raise_on_stressed_long_words(minute: PhonemeTimeline, minute_frames: FaceFrames) -> None:
    brow = minute_frames.blendshapes[:, ARKIT_INDEX["browInnerUp"]]
    assert brow.max() > 0.15
    speech = np.zeros(len(minute_frames), bool)
    for p in minute.phonemes:
        if not p.is_pause:
            speech[p.start * 60 // SR:p.end * 60 // SR] = True
    assert brow[speech].mean() > brow[~speech].mean()


# --- emotions ---------------------------------------------------------------------------------------

CHARACTERISTIC = {
    "happy": ["mouthSmileLeft", "cheekSquintRight"],
    "sad": ["mouthFrownLeft", "browInnerUp"],
    "angry": ["browDownLeft", "noseSneerRight"],
    "surprised": ["browOuterUpLeft", "eyeWideRight"],
}


@pytest.mark.parametrize("emotion", list(CHARACTERISTIC))
def test_emotion_changes_its_channels(sentence: PhonemeTimeline, emotion: str) -> None:
    neutral = animate_all(sentence, seed=4)
    half = animate_all(sentence, seed=4, emotion=emotion, emotion_intensity=0.5)
    full = animate_all(sentence, seed=4, emotion=emotion, emotion_intensity=1.0)
    for name in CHARACTERISTIC[emotion]:
        col = ARKIT_INDEX[name]
        assert full.blendshapes[:, col].mean() > half.blendshapes[:, col].mean() + 0.1
        assert half.blendshapes[:, col].mean() > neutral.blendshapes[:, col].mean() + 0.1
    zero = animate_all(sentence, seed=4, emotion=emotion, emotion_intensity=0.0)
    np.testing.assert_allclose(zero.blendshapes, neutral.blendshapes, atol=1e-6)


def test_emotion_scales_head_energy(minute: PhonemeTimeline) -> None:
    short = PhonemeTimeline(SR, minute.phonemes[:300], minute.words)
    energy = {e: np.diff(animate_all(short, seed=3, emotion=e).head, axis=0).std() for e in ("sad", "surprised")}
    assert energy["surprised"] > 1.5 * energy["sad"]


# --- pitch-driven brows -----------------------------------------------------------------------------

def voiced_audio(timeline: PhonemeTimeline, f0_of_time) -> np.ndarray:
    """A harmonic-rich 'voice' whose pitch follows f0_of_time(t), silent in pauses."""
    t = np.arange(timeline.num_samples) / SR
    phase = 2 * np.pi * np.cumsum(f0_of_time(t)) / SR
    audio = sum(np.sin(k * phase) / k for k in range(1, 8)).astype(np.float32) * 0.2
    for p in timeline.phonemes:
        if p.is_pause:
            audio[p.start:p.end] = 0.0
    return audio


def test_frame_f0_tracks_a_known_pitch() -> None:
    from avatarlab.animation.pitch import frame_f0

    for hz in (80.0, 120.0, 210.0):
        t = np.arange(SR) / SR
        audio = (np.sin(2 * np.pi * hz * t) + 0.5 * np.sin(4 * np.pi * hz * t)).astype(np.float32) * 0.3
        f0 = frame_f0(audio, 0, np.arange(4000, SR, 2000), SR)
        np.testing.assert_allclose(f0, hz, rtol=0.03)
    assert (frame_f0(np.zeros(SR, np.float32), 0, np.arange(4000, SR, 2000), SR) == 0).all()


def test_brows_rise_on_pitch_peaks_and_stay_chunk_invariant(sentence: PhonemeTimeline) -> None:
    from avatarlab.channels import ARKIT_INDEX

    duration = sentence.num_samples / SR
    peak_time = duration / 2
    audio = voiced_audio(sentence, lambda t: 100.0 + 60.0 * np.exp(-(((t - peak_time) / 0.15) ** 2)))
    n = num_frames(sentence, 60)
    flat = FaceAnimator(SR, 60, seed=5).animate(sentence, 0, n, audio, 0)
    pitched = FaceAnimator(SR, 60, seed=5, reference_f0=100.0).animate(sentence, 0, n, audio, 0)
    brow = ARKIT_INDEX["browOuterUpLeft"]
    gain = pitched.blendshapes[:, brow] - flat.blendshapes[:, brow]
    assert gain.min() >= -1e-6
    peak_frame = int(peak_time * 60)
    assert gain[peak_frame - 6 : peak_frame + 6].max() > 0.1, "brows must rise at the pitch peak"
    streamed = _streamed(sentence, audio, n, np.random.default_rng(9), 60, seed=5, reference_f0=100.0)
    np.testing.assert_allclose(streamed.blendshapes, pitched.blendshapes, atol=1e-6)
