"""Transcripts as people write them -> words pocketsphinx can align, with pronunciations for the rest.

Numbers, times, currencies, ordinals and abbreviations (``250``, ``7:30``, ``$5``, ``1st``, ``Dr.``) are read
the way the TTS path reads them: by espeak-ng (the one piper bundles, as ``phonemize.py`` uses it). Words the
aligner's dictionary (CMUdict) lacks (``reloading``, names) get espeak-ng's pronunciation too. espeak-ng's
IPA is mapped to pocketsphinx's ARPAbet phones (stress and length dropped) and added to the decoder's
dictionary, one entry per phonetic word espeak-ng says ("250" -> "two hundred" "fifty": two entries, with
pocketsphinx's optional pauses between them). The transcript word keeps its written form for the curves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from ..phonemize import _ESPEAK_LOCK, _distance

#: Characters stripped from the edges of a written word.
_EDGE = ".,!?;:\"()[]{}…—-'«»“”‘’"
#: A written word that espeak-ng reads as a whole (digits or symbols it spells out: 250, 7:30, $5, 10%, 1st).
_SPELLED_OUT = re.compile(r"[0-9$€£¥%&@+#§°]")
#: A word written with a trailing period whose espeak-ng reading is this far (normalized edit distance of
#: the phones) from the dictionary's is an abbreviation ("Dr." doctor, not CMUdict's "dr" = drive).
_ABBREVIATION_DISTANCE = 0.5
#: espeak-ng's IPA (en-us) -> ARPAbet, longest first; anything else (stress, length, ties) is skipped.
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "aɪə": ("AY", "ER"), "aʊə": ("AW", "ER"), "iə": ("IY", "AH"), "eə": ("EH", "R"), "ʊə": ("UH", "R"),
    "aɪ": ("AY",), "aʊ": ("AW",), "ɔɪ": ("OY",), "oʊ": ("OW",), "əʊ": ("OW",), "eɪ": ("EY",),
    "tʃ": ("CH",), "dʒ": ("JH",), "ɜː": ("ER",), "ɝ": ("ER",), "ɚ": ("ER",), "ɜ": ("ER",),
    "ɑ": ("AA",), "ɒ": ("AA",), "æ": ("AE",), "a": ("AE",), "ʌ": ("AH",), "ə": ("AH",), "ɐ": ("AH",),
    "ɔ": ("AO",), "ɛ": ("EH",), "e": ("EH",), "ɪ": ("IH",), "ᵻ": ("IH",), "ɨ": ("IH",), "i": ("IY",),
    "o": ("OW",), "ʊ": ("UH",), "u": ("UW",), "ɯ": ("UW",), "y": ("UW",),
    "b": ("B",), "d": ("D",), "ð": ("DH",), "f": ("F",), "ɡ": ("G",), "g": ("G",), "h": ("HH",),
    "j": ("Y",), "k": ("K",), "l": ("L",), "ɫ": ("L",), "m": ("M",), "n": ("N",), "ŋ": ("NG",), "p": ("P",),
    "ɹ": ("R",), "r": ("R",), "ɾ": ("T",), "s": ("S",), "ʃ": ("SH",), "t": ("T",), "θ": ("TH",), "v": ("V",),
    "w": ("W",), "z": ("Z",), "ʒ": ("ZH",), "x": ("K",), "ç": ("HH",), "ʔ": ("T",),
}
_LONGEST = max(len(k) for k in IPA_TO_ARPABET)
_initialized = False


@dataclass(frozen=True)
class TranscriptWord:
    text: str  # as written, outer punctuation removed
    tokens: tuple[str, ...]  # dictionary words pocketsphinx aligns ('well-known' -> 'well', 'known')


@dataclass
class Transcript:
    """The transcript's words, and the pronunciations (ARPAbet) of tokens the dictionary lacks."""

    words: list[TranscriptWord]
    added: dict[str, str] = field(default_factory=dict)  # token -> "PH PH ..."
    unknown: list[str] = field(default_factory=list)  # written words with no pronunciation at all


def ipa_to_arpabet(ipa: str) -> list[str]:
    """ARPAbet phones of one espeak-ng phonetic word ('fˈɪfti' -> F IH F T IY)."""
    plain = "".join(ch for ch in unicodedata.normalize("NFD", ipa) if ch not in "ˈˌː" and not unicodedata.combining(ch))
    phones, k = [], 0
    while k < len(plain):
        for n in range(min(_LONGEST, len(plain) - k), 0, -1):
            if plain[k:k + n] in IPA_TO_ARPABET:
                phones.extend(IPA_TO_ARPABET[plain[k:k + n]])
                k += n
                break
        else:
            k += 1  # a symbol with no ARPAbet counterpart (a modifier, a language flag)
    return phones


@lru_cache(maxsize=4096)
def espeak_words(text: str) -> tuple[tuple[str, ...], ...]:
    """ARPAbet phones of each phonetic word espeak-ng (en-us, as the TTS path) says for ``text``."""
    from piper import espeakbridge
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    global _initialized
    with _ESPEAK_LOCK:
        if not _initialized:
            espeakbridge.initialize(str(ESPEAK_DATA_DIR))
            _initialized = True
        espeakbridge.set_voice("en-us")  # the TTS path sets its voice before each call too
        clauses = espeakbridge.get_phonemes(text)
    words = (ipa_to_arpabet(w) for phonemes, _, _ in clauses for w in re.sub(r"\([^)]+\)", "", phonemes).split())
    return tuple(tuple(w) for w in words if w)


def _entry_name(text: str) -> str:
    """A dictionary name for a written word: lower case, nothing pocketsphinx's grammar parser treats specially."""
    return re.sub(r"[^0-9a-z'$%&@+#.:,_-]", "_", text.lower()) or "_"


def _is_abbreviation(raw: str, tokens: tuple[str, ...], lookup: Callable[[str], str | None]) -> bool:
    """'Dr.' read by espeak-ng is not the dictionary's 'dr' (drive); 'it.' is the dictionary's 'it'."""
    if not raw.rstrip("\"')]»”’").endswith(".") or len(tokens) != 1:
        return False
    known = lookup(tokens[0])
    spoken = espeak_words(raw.strip(_EDGE) + ".")
    if known is None or len(spoken) != 1:
        return known is not None and bool(spoken)
    return _distance(known.split(), list(spoken[0])) > _ABBREVIATION_DISTANCE


def read_transcript(transcript: str, lookup: Callable[[str], str | None]) -> Transcript:
    """Split ``transcript`` into words and tokens; ``lookup`` gives a token's dictionary phones (or None)."""
    result = Transcript([])
    for raw in transcript.split():
        text = raw.strip(_EDGE)
        if not text:
            continue
        letters = re.sub(r"[^a-z']+", " ", text.lower().replace("’", "'")).split()
        tokens = tuple(t for t in letters if t.strip("'"))
        if _SPELLED_OUT.search(text):
            tokens = _spelled(text, _entry_name(text), result)
        elif _is_abbreviation(raw, tokens, lookup):
            tokens = _spelled(text + ".", _entry_name(text) + ".", result)
        else:
            tokens = tuple(t if lookup(t) is not None else _spelled_token(t, result) for t in tokens)
            tokens = tuple(t for t in tokens if t)
        if not tokens:
            result.unknown.append(text)
        result.words.append(TranscriptWord(text, tokens))
    return result


def _spelled(text: str, base: str, into: Transcript) -> tuple[str, ...]:
    """Tokens for espeak-ng's reading of a whole written word, one per phonetic word ('250' -> 2 tokens)."""
    spoken = espeak_words(text)
    names = [base] if len(spoken) == 1 else [f"{base}_{k + 1}" for k in range(len(spoken))]
    for name, phones in zip(names, spoken):
        into.added[name] = " ".join(phones)
    return tuple(names)


def _spelled_token(token: str, into: Transcript) -> str | None:
    """A word missing from the dictionary ('reloading') as espeak-ng says it: one entry (None if silent)."""
    spoken = espeak_words(token)
    if not spoken:
        return None
    name = _entry_name(token)
    into.added[name] = " ".join(p for word in spoken for p in word)
    return name
