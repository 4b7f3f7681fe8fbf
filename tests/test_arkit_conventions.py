"""The ARKit curves follow ARKit's own conventions, so any ARKit-authored head (ours included) reads them right.

ARKit's ``mouthClose`` closes the lips against an open jaw: ARKit-authored heads sculpt it with the jaw dropped, and
face capture keeps it at or below ``jawOpen``. On its own it pushes the lips through each other. So every frame has
``mouthClose <= jawOpen``, and a p/b/m closes the lips through the PP viseme, ``mouthPress`` and ``mouthRoll`` with
the jaw nearly shut (``mouthClose`` only cancels what jaw opening is left).
"""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.animation import EMOTIONS
from avatarlab.animation.arkit import enforce_lip_targets
from avatarlab.channels import ARKIT_INDEX, VISEME_INDEX
from avatarlab.engine import Engine

LINES = (
    "Bob may buy my map.",
    "Some potions stormed up from the bottom of the big brown pot, maybe.",
    "Please, Pam, bring me the blue parcel by Wednesday morning!",
    "Mmm, impossible problems! Whom shall we blame?",
)
#: ARKit shapes that open the lips; none may act while they are sealed for a p/b/m.
OPENERS = ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthFunnel",
           "tongueOut")
OPEN_VOWELS = ("ɑ", "a", "æ", "aɪ", "aʊ", "ɔ", "ɑː", "ɔː")


def _column(frames, name: str) -> np.ndarray:
    return frames.blendshapes[:, ARKIT_INDEX[name]].astype(np.float64)


def _middle_frame(phoneme, fps: int, rate: int, start_frame: int) -> int:
    return round((phoneme.start + phoneme.end) / 2 * fps / rate) - start_frame


@pytest.fixture(scope="module", params=[(line, emotion) for line in LINES for emotion in EMOTIONS],
                ids=lambda p: f"{p[1]}-{p[0][:12]}")
def spoken(request, engine: Engine):
    line, emotion = request.param
    fps = 30 if emotion in ("sad", "angry") else 60
    return engine.speak(line, fps=fps, emotion=emotion, seed=3)


def test_mouth_close_never_above_jaw_open(spoken) -> None:
    close, jaw = _column(spoken.frames, "mouthClose"), _column(spoken.frames, "jawOpen")
    worst = int(np.argmax(close - jaw))
    assert close[worst] <= jaw[worst] + 1e-6, f"frame {worst}: mouthClose {close[worst]:.3f} > jawOpen {jaw[worst]:.3f}"


def test_every_bilabial_middle_is_sealed_by_press_and_roll(spoken) -> None:
    frames, rate = spoken.frames, spoken.sample_rate
    bilabials = [p for p in spoken.timeline.phonemes if p.symbol in ("p", "b", "m")]
    assert len(bilabials) >= 4
    jaw, close = _column(frames, "jawOpen"), _column(frames, "mouthClose")
    for phoneme in bilabials:
        i = _middle_frame(phoneme, frames.fps, rate, frames.start_frame)
        where = f"{phoneme.symbol} at {phoneme.start / rate:.3f} s (frame {i})"
        assert frames.visemes[i, VISEME_INDEX["PP"]] >= 0.9, where
        for side in ("Left", "Right"):
            assert _column(frames, "mouthPress" + side)[i] >= 0.5, where
        assert _column(frames, "mouthRollLower")[i] >= 0.15 and _column(frames, "mouthRollUpper")[i] >= 0.1, where
        assert jaw[i] <= 0.1, where  # the jaw nearly shut ...
        assert jaw[i] - close[i] <= 0.01, where  # ... and what is left of its opening sealed by mouthClose
        for name in OPENERS:
            assert _column(frames, name)[i] <= 0.05, f"{name} at {where}"


def test_open_vowels_leave_the_lips_open(spoken) -> None:
    """mouthClose follows the closures only: the middle of an open vowel keeps most of the jaw's opening."""
    frames, rate = spoken.frames, spoken.sample_rate
    jaw, close = _column(frames, "jawOpen"), _column(frames, "mouthClose")
    vowels = [p for p in spoken.timeline.phonemes if p.symbol in OPEN_VOWELS and p.end - p.start >= 0.07 * rate]
    for phoneme in vowels:
        i = _middle_frame(phoneme, frames.fps, rate, frames.start_frame)
        assert jaw[i] >= 0.12 and close[i] <= 0.5 * jaw[i], f"{phoneme.symbol} at frame {i}: {jaw[i]:.3f}, {close[i]:.3f}"


def test_lip_targets_cap_mouth_close_whatever_was_layered_on_top() -> None:
    """An expression layer that set mouthClose on its own (as the old curves did) is brought under jawOpen."""
    n = 5
    blendshapes = np.zeros((n, 52))
    blendshapes[:, ARKIT_INDEX["mouthClose"]] = 0.7
    blendshapes[:, ARKIT_INDEX["jawOpen"]] = [0.0, 0.02, 0.3, 0.5, 0.05]
    closure = np.array([1.0, 1.0, 0.0, 0.5, 0.0])
    out = enforce_lip_targets(blendshapes, closure, np.zeros(n))
    close, jaw = out[:, ARKIT_INDEX["mouthClose"]], out[:, ARKIT_INDEX["jawOpen"]]
    assert (close <= jaw + 1e-12).all()
    np.testing.assert_allclose(close, closure * jaw)
    np.testing.assert_array_equal(enforce_lip_targets(out, closure, np.zeros(n)), out)  # idempotent
