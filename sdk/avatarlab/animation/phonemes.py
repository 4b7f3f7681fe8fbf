"""Phoneme -> viseme and articulatory targets, plus how strongly each phoneme dominates its neighbours.

Articulatory features are the mouth's few real degrees of freedom; blending them (rather than
blendshapes) keeps coarticulated poses anatomically plausible.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from ..channels import OCULUS_VISEMES, VISEME_INDEX
from ..timeline import PAUSE_SYMBOLS

# Articulatory feature columns.
JAW, ROUND, FUNNEL, SPREAD, CLOSURE, TUCK, TONGUE, LOWER, UPPER = range(9)
NUM_FEATURES: Final = 9
FEATURE_NAMES: Final = ("jaw", "round", "funnel", "spread", "closure", "tuck", "tongue", "lower", "upper")
_JAW_GROUP: Final = (JAW, LOWER)
_LIP_GROUP: Final = (ROUND, FUNNEL, SPREAD, CLOSURE, TUCK, UPPER)
_TONGUE_GROUP: Final = (TONGUE,)

# Which viseme a segment must visibly reach (lip-critical consonants), if any.
CRITICAL_NONE, CRITICAL_PP, CRITICAL_FF = 0, 1, 2


@dataclass(frozen=True)
class PhonemeSpec:
    """Targets and dominance parameters of one phoneme class (Cohen–Massaro style)."""

    target: np.ndarray  # (F,) articulatory targets in [0, 1]
    alpha: np.ndarray  # (F,) dominance strength per feature
    tau_ant: np.ndarray  # (F,) anticipation time constant (s)
    tau_carry: np.ndarray  # (F,) carry-over time constant (s)
    viseme: np.ndarray  # (15,) viseme target weights
    alpha_vis: float
    tau_vis: tuple[float, float]  # (anticipation, carry-over) for the viseme blend
    critical: int = CRITICAL_NONE
    is_pause: bool = False


@dataclass(frozen=True)
class _Dominance:
    """Per-group dominance (jaw, lips, tongue, visemes) and time constants of a phoneme class."""

    jaw: float
    lip: float
    tongue: float
    vis: float
    tau: tuple[float, float] = (0.05, 0.045)
    lip_tau: tuple[float, float] | None = None
    vis_tau: tuple[float, float] | None = None  # the viseme blend's, when not ``tau``


_VOWEL = _Dominance(1.0, 1.0, 0.3, 1.0, (0.07, 0.06), (0.08, 0.07))
_ROUNDED_VOWEL = _Dominance(1.0, 1.3, 0.3, 1.0, (0.07, 0.06), (0.11, 0.08))
_BILABIAL = _Dominance(1.2, 3.0, 0.3, 2.0, (0.04, 0.04), (0.035, 0.035), (0.015, 0.012))
_LABIODENTAL = _Dominance(1.0, 2.5, 0.3, 2.0, (0.04, 0.04), (0.035, 0.035))
_POSTALVEOLAR = _Dominance(1.0, 1.2, 0.3, 1.2, (0.05, 0.045), (0.07, 0.05))
_DENTAL = _Dominance(0.8, 0.3, 2.0, 1.2, (0.04, 0.04))
_SIBILANT = _Dominance(0.9, 0.15, 0.3, 1.0, (0.045, 0.04))
_ALVEOLAR = _Dominance(0.5, 0.08, 0.3, 0.8, (0.045, 0.04))
_VELAR = _Dominance(0.4, 0.06, 0.3, 0.7, (0.045, 0.04))
_RHOTIC = _Dominance(0.5, 0.7, 0.3, 0.9, (0.05, 0.045), (0.07, 0.05))
_LABIAL_GLIDE = _Dominance(0.8, 1.1, 0.3, 1.2, (0.05, 0.045), (0.09, 0.07))
_PALATAL_GLIDE = _Dominance(0.6, 0.6, 0.3, 0.9, (0.05, 0.045))
_GLOTTAL = _Dominance(0.05, 0.03, 0.05, 0.1, (0.05, 0.05))
_PAUSE = _Dominance(0.8, 0.8, 0.8, 0.8, (0.08, 0.08))
_WORD_GAP = _Dominance(0.1, 0.1, 0.1, 0.1, (0.05, 0.05))


def _spec(dom: _Dominance, vis: dict[str, float], critical: int = CRITICAL_NONE, is_pause: bool = False,
          **features: float) -> PhonemeSpec:
    """Build a spec from readable keyword targets (jaw=0.6, round=0.9, ...)."""
    target = np.zeros(NUM_FEATURES)
    for name, value in features.items():
        target[FEATURE_NAMES.index(name)] = value
    alpha = np.zeros(NUM_FEATURES)
    tau_ant = np.zeros(NUM_FEATURES)
    tau_carry = np.zeros(NUM_FEATURES)
    lip_tau = dom.lip_tau or dom.tau
    for group, a, tau in ((_JAW_GROUP, dom.jaw, dom.tau), (_LIP_GROUP, dom.lip, lip_tau),
                          (_TONGUE_GROUP, dom.tongue, dom.tau)):
        for f in group:
            alpha[f], tau_ant[f], tau_carry[f] = a, tau[0], tau[1]
    viseme = np.zeros(len(OCULUS_VISEMES))
    for name, weight in vis.items():
        viseme[VISEME_INDEX[name]] = weight
    return PhonemeSpec(target, alpha, tau_ant, tau_carry, viseme, dom.vis, dom.vis_tau or dom.tau, critical, is_pause)


PAUSE_SPEC: Final = _spec(_PAUSE, {"sil": 1.0}, is_pause=True)
WORD_GAP_SPEC: Final = _spec(_WORD_GAP, {"sil": 1.0}, is_pause=True)
# Unknown sounds: a neutral, half-open mouth that mostly yields to its neighbours.
FALLBACK_SPEC: Final = _spec(_Dominance(0.4, 0.2, 0.2, 0.4), {"aa": 0.4, "ih": 0.3}, jaw=0.25, lower=0.05)

_TABLE: Final[dict[str, PhonemeSpec]] = {
    # Bilabials: full lip closure.
    "p": _spec(_BILABIAL, {"PP": 1.0}, CRITICAL_PP, jaw=0.04, closure=1.0),
    "b": _spec(_BILABIAL, {"PP": 1.0}, CRITICAL_PP, jaw=0.04, closure=1.0),
    "m": _spec(_BILABIAL, {"PP": 1.0}, CRITICAL_PP, jaw=0.04, closure=1.0),
    # Labiodentals: lower lip to upper teeth.
    "f": _spec(_LABIODENTAL, {"FF": 1.0}, CRITICAL_FF, jaw=0.08, tuck=1.0, upper=0.2),
    "v": _spec(_LABIODENTAL, {"FF": 1.0}, CRITICAL_FF, jaw=0.08, tuck=1.0, upper=0.2),
    # Dentals: tongue between the teeth.
    "θ": _spec(_DENTAL, {"TH": 1.0}, jaw=0.15, tongue=0.55, spread=0.15),
    "ð": _spec(_DENTAL, {"TH": 1.0}, jaw=0.15, tongue=0.5, spread=0.15),
    # Alveolars, velars, sibilants: the tongue does the work, lips follow the vowels.
    "t": _spec(_ALVEOLAR, {"DD": 1.0}, jaw=0.15, spread=0.15),
    "d": _spec(_ALVEOLAR, {"DD": 1.0}, jaw=0.15, spread=0.15),
    "ɾ": _spec(_ALVEOLAR, {"DD": 0.8}, jaw=0.2, spread=0.1),
    "n": _spec(_ALVEOLAR, {"nn": 1.0}, jaw=0.17, spread=0.1),
    "l": _spec(_ALVEOLAR, {"nn": 1.0}, jaw=0.22, tongue=0.05),
    "ɬ": _spec(_ALVEOLAR, {"nn": 1.0}, jaw=0.18),
    "s": _spec(_SIBILANT, {"SS": 1.0}, jaw=0.06, spread=0.35, upper=0.1),
    "z": _spec(_SIBILANT, {"SS": 1.0}, jaw=0.06, spread=0.35, upper=0.1),
    "k": _spec(_VELAR, {"kk": 1.0}, jaw=0.22),
    "ɡ": _spec(_VELAR, {"kk": 1.0}, jaw=0.22),
    "ŋ": _spec(_VELAR, {"kk": 1.0}, jaw=0.2),
    "x": _spec(_VELAR, {"kk": 1.0}, jaw=0.22),
    "ɣ": _spec(_VELAR, {"kk": 1.0}, jaw=0.22),
    "ç": _spec(_SIBILANT, {"CH": 0.6, "ih": 0.4}, jaw=0.1, spread=0.4),
    # Postalveolars: lips protrude into a funnel.
    "ʃ": _spec(_POSTALVEOLAR, {"CH": 1.0}, jaw=0.1, round=0.35, funnel=0.6, upper=0.25),
    "ʒ": _spec(_POSTALVEOLAR, {"CH": 1.0}, jaw=0.1, round=0.35, funnel=0.6, upper=0.25),
    "tʃ": _spec(_POSTALVEOLAR, {"CH": 1.0}, jaw=0.1, round=0.35, funnel=0.6, upper=0.25),
    "dʒ": _spec(_POSTALVEOLAR, {"CH": 1.0}, jaw=0.1, round=0.35, funnel=0.6, upper=0.25),
    # Rhotics and glides.
    "ɹ": _spec(_RHOTIC, {"RR": 1.0}, jaw=0.15, round=0.35, funnel=0.3),
    "r": _spec(_RHOTIC, {"RR": 1.0}, jaw=0.15, round=0.3, funnel=0.25),
    "ʁ": _spec(_VELAR, {"kk": 0.6, "RR": 0.4}, jaw=0.2),
    "w": _spec(_LABIAL_GLIDE, {"ou": 1.0}, jaw=0.08, round=0.95, funnel=0.25),
    "j": _spec(_PALATAL_GLIDE, {"ih": 1.0}, jaw=0.12, spread=0.5),
    # Glottals keep whatever shape the neighbours make.
    "h": _spec(_GLOTTAL, {"aa": 0.3, "ih": 0.2}, jaw=0.25),
    "ʔ": _spec(_GLOTTAL, {"sil": 0.5}, jaw=0.15),
    # Vowels.
    "ɑ": _spec(_VOWEL, {"aa": 1.0}, jaw=0.62, lower=0.35),
    "a": _spec(_VOWEL, {"aa": 1.0}, jaw=0.6, lower=0.3, spread=0.1),
    "æ": _spec(_VOWEL, {"aa": 0.8, "E": 0.2}, jaw=0.55, spread=0.35, lower=0.35, upper=0.1),
    "ʌ": _spec(_VOWEL, {"aa": 1.0}, jaw=0.45, lower=0.2),
    "ɐ": _spec(_VOWEL, {"aa": 1.0}, jaw=0.42, lower=0.15),
    "ɛ": _spec(_VOWEL, {"E": 1.0}, jaw=0.42, spread=0.35, lower=0.2),
    "e": _spec(_VOWEL, {"E": 1.0}, jaw=0.32, spread=0.45, lower=0.1),
    "ɪ": _spec(_VOWEL, {"ih": 1.0}, jaw=0.22, spread=0.4),
    "i": _spec(_VOWEL, {"ih": 1.0}, jaw=0.14, spread=0.6),
    "ᵻ": _spec(_VOWEL, {"ih": 1.0}, jaw=0.2, spread=0.3),
    "ɨ": _spec(_VOWEL, {"ih": 1.0}, jaw=0.2, spread=0.25),
    "ə": _spec(_VOWEL, {"aa": 0.5, "ih": 0.4}, jaw=0.3, lower=0.1),
    "ɚ": _spec(_VOWEL, {"RR": 1.0}, jaw=0.25, round=0.3, funnel=0.25),
    "ɜ": _spec(_VOWEL, {"E": 0.5, "RR": 0.4}, jaw=0.3, round=0.2, funnel=0.2),
    "ɔ": _spec(_ROUNDED_VOWEL, {"oh": 1.0}, jaw=0.45, round=0.4, funnel=0.6, lower=0.15),
    "o": _spec(_ROUNDED_VOWEL, {"oh": 1.0}, jaw=0.35, round=0.6, funnel=0.5),
    "ɒ": _spec(_ROUNDED_VOWEL, {"oh": 0.7, "aa": 0.3}, jaw=0.55, round=0.3, funnel=0.45, lower=0.2),
    "ɵ": _spec(_ROUNDED_VOWEL, {"oh": 1.0}, jaw=0.3, round=0.5, funnel=0.4),
    "ø": _spec(_ROUNDED_VOWEL, {"oh": 0.5, "ou": 0.5}, jaw=0.25, round=0.6, funnel=0.3),
    "œ": _spec(_ROUNDED_VOWEL, {"oh": 1.0}, jaw=0.38, round=0.45, funnel=0.4),
    "ʊ": _spec(_ROUNDED_VOWEL, {"ou": 1.0}, jaw=0.2, round=0.6, funnel=0.3),
    "u": _spec(_ROUNDED_VOWEL, {"ou": 1.0}, jaw=0.13, round=0.9, funnel=0.35),
    "ʉ": _spec(_ROUNDED_VOWEL, {"ou": 1.0}, jaw=0.15, round=0.8, funnel=0.3),
    "y": _spec(_ROUNDED_VOWEL, {"ou": 1.0}, jaw=0.14, round=0.8, funnel=0.25),
    "ɯ": _spec(_VOWEL, {"ih": 0.6, "ou": 0.4}, jaw=0.15, spread=0.2),
}

# Spellings that are not IPA but turn up in voice configs, and variants of table entries.
_ALIASES: Final[dict[str, str]] = {
    "g": "ɡ", "c": "k", "q": "k", "ɝ": "ɚ", "ɫ": "l", "ʧ": "tʃ", "ʤ": "dʒ", "ɻ": "ɹ", "ɽ": "ɾ",
    "ts": "s", "dz": "z", "ʦ": "s", "ʣ": "z", "ɐ̃": "ɐ", "ʍ": "w", "ɥ": "w", "ɲ": "n", "ɳ": "n",
    "ʎ": "l", "ɭ": "l", "β": "v", "ɸ": "f", "ʂ": "ʃ", "ʐ": "ʒ", "ɕ": "ʃ", "ʑ": "ʒ", "χ": "x", "ħ": "h",
    "ɦ": "h", "ɑ̃": "ɑ", "ɛ̃": "ɛ", "ɔ̃": "ɔ", "ɤ": "o", "ɘ": "ə", "ɞ": "ɜ", "ɶ": "a", "ɑɹ": "ɑ",
}

# Length, stress, release and secondary-articulation marks: they do not change the mouth shape.
_MODIFIERS: Final = frozenset("ːˑˈˌʰʲʷˠˤ˞ⁿˡ̆")


def _strip(symbol: str) -> str:
    """Drop modifiers and combining diacritics so 'ɑː' and 'ɑ̃' find 'ɑ'."""
    text = unicodedata.normalize("NFD", symbol)
    return "".join(ch for ch in text if ch not in _MODIFIERS and not unicodedata.combining(ch))


def _is_punctuation(symbol: str) -> bool:
    return bool(symbol) and all(unicodedata.category(ch)[0] in "PZC" for ch in symbol)


@lru_cache(maxsize=4096)
def spec_for(symbol: str) -> PhonemeSpec:
    """The spec of a timeline symbol; unknown symbols get a neutral fallback instead of an error."""
    if symbol == " ":
        return WORD_GAP_SPEC
    if symbol in PAUSE_SYMBOLS or _is_punctuation(symbol):
        return PAUSE_SPEC
    for candidate in (symbol, unicodedata.normalize("NFC", symbol), _strip(symbol)):
        candidate = _ALIASES.get(candidate, candidate)
        if candidate in _TABLE:
            return _TABLE[candidate]
    base = _strip(symbol)
    for ch in base:  # a digraph we do not know: its first known sound decides (e.g. 'aɪ' -> 'a')
        ch = _ALIASES.get(ch, ch)
        if ch in _TABLE:
            return _TABLE[ch]
    return FALLBACK_SPEC


def viseme_of(symbol: str) -> str:
    """The Oculus viseme a timeline symbol shows most (``sil`` for pauses), for viseme events."""
    return OCULUS_VISEMES[int(np.argmax(spec_for(symbol).viseme))]
