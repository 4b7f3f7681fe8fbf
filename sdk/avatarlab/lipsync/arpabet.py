"""CMU ARPAbet phones (pocketsphinx's en-US model) -> the IPA symbols the face animation knows."""

from __future__ import annotations

import re

from ..timeline import SILENCE_SYMBOL

#: Diphthongs and affricates become two symbols, the way espeak-ng spells them in the voice's timeline.
ARPABET_TO_IPA: dict[str, tuple[str, ...]] = {
    "AA": ("ɑ",), "AE": ("æ",), "AH": ("ʌ",), "AO": ("ɔ",), "AW": ("a", "ʊ"), "AY": ("a", "ɪ"),
    "B": ("b",), "CH": ("t", "ʃ"), "D": ("d",), "DH": ("ð",), "EH": ("ɛ",), "ER": ("ɚ",), "EY": ("e", "ɪ"),
    "F": ("f",), "G": ("ɡ",), "HH": ("h",), "IH": ("ɪ",), "IY": ("i",), "JH": ("d", "ʒ"), "K": ("k",),
    "L": ("l",), "M": ("m",), "N": ("n",), "NG": ("ŋ",), "OW": ("o", "ʊ"), "OY": ("ɔ", "ɪ"), "P": ("p",),
    "R": ("ɹ",), "S": ("s",), "SH": ("ʃ",), "T": ("t",), "TH": ("θ",), "UH": ("ʊ",), "UW": ("u",),
    "V": ("v",), "W": ("w",), "Y": ("j",), "Z": ("z",), "ZH": ("ʒ",), "SIL": (SILENCE_SYMBOL,),
}
#: An unstressed AH (in a word of more than one phone) is a schwa.
SCHWA = "ə"


def to_ipa(phone: str, stressed: bool = True) -> tuple[str, ...]:
    """IPA symbols for one ARPAbet phone ('AH1', 'ah', '+NSN+'...); noise and unknown phones are silence."""
    base = re.sub(r"\d$", "", phone.strip().upper())
    if base == "AH" and not stressed:
        return (SCHWA,)
    return ARPABET_TO_IPA.get(base, (SILENCE_SYMBOL,))
