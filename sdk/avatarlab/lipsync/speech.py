"""What alignment and recognition return, and the pocketsphinx plumbing they share (decoders are pooled)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..errors import AvatarLabError

SPHINX_RATE = 16000
FRAME_S = 0.01  # pocketsphinx frames are 10 ms
#: Silence added on both sides of each segment handed to pocketsphinx (it aligns better with some).
PAD_S = 0.3
#: Files longer than this are cut at silences into segments of at most this length before decoding.
MAX_SEGMENT_S = 30.0
MIN_SEGMENT_S = 10.0
_SKIP_WORDS = ("<s>", "</s>", "<sil>", "(NULL)")
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


@dataclass(frozen=True)
class SpeechPhone:
    phone: str  # ARPAbet, as pocketsphinx names it (AA ... ZH, SIL, +NSN+...)
    start: float  # seconds from the start of the audio
    end: float
    word_index: int | None = None
    stressed: bool = True


@dataclass(frozen=True)
class SpeechWord:
    text: str
    start: float
    end: float


@dataclass
class SpeechTimings:
    """Words and phones found in one piece of audio; ``method`` is 'aligned', 'recognized' or 'mixed'."""

    words: list[SpeechWord] = field(default_factory=list)
    phones: list[SpeechPhone] = field(default_factory=list)
    method: str = "aligned"

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def is_filler(word: str) -> bool:
    return word in _SKIP_WORDS or word.startswith("[") or word.startswith("+") or word.startswith("<")


def base_word(word: str) -> str:
    """'and(2)' -> 'and' (pocketsphinx marks alternative pronunciations)."""
    return word.split("(", 1)[0] if word.endswith(")") else word


def word_phones(entry, offset_s: float, index: int | None) -> list[SpeechPhone]:
    """The phones of one word of a pocketsphinx alignment; an unstressed AH is any but a word's first vowel."""
    phones = [(p.name, p.start, p.start + p.duration) for p in entry]
    vowels = [i for i, (p, _, _) in enumerate(phones) if p in VOWELS]
    return [SpeechPhone(phone, frame_seconds(s, offset_s), frame_seconds(e, offset_s), index,
                        phone != "AH" or len(vowels) < 2 or i == vowels[0])
            for i, (phone, s, e) in enumerate(phones)]


def silence_phones(entry, offset_s: float) -> list[SpeechPhone]:
    """A silence or filler entry of a pocketsphinx alignment as SIL phones."""
    return [SpeechPhone("SIL", frame_seconds(p.start, offset_s), frame_seconds(p.start + p.duration, offset_s))
            for p in entry]


def to_pcm(audio16k: np.ndarray) -> bytes:
    """Padded 16-bit PCM for pocketsphinx."""
    pad = np.zeros(int(PAD_S * SPHINX_RATE), dtype=np.float32)
    padded = np.concatenate([pad, np.asarray(audio16k, dtype=np.float32), pad])
    return (np.clip(padded, -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()


def frame_seconds(frame: int, offset_s: float) -> float:
    """Seconds in the whole audio of pocketsphinx frame ``frame`` of a padded segment starting at ``offset_s``."""
    return offset_s + frame * FRAME_S - PAD_S


def model_path(name: str) -> str:
    """A file of pocketsphinx's packaged en-US model (acoustic model, dictionary, LMs)."""
    from pocketsphinx import get_model_path

    return get_model_path(f"en-us/{name}")


def speech_threshold(energy: np.ndarray) -> float:
    """The RMS a 10 ms frame (``frame_energy``) must pass to count as speech: a tenth of the loud frames
    (95th percentile), never under 1e-4."""
    return max(1e-4, 0.1 * float(np.percentile(energy, 95))) if energy.size else 1e-4


def frame_energy(audio16k: np.ndarray) -> np.ndarray:
    """RMS of each 10 ms frame."""
    hop = int(FRAME_S * SPHINX_RATE)
    count = len(audio16k) // hop
    frames = np.asarray(audio16k[: count * hop], dtype=np.float64).reshape(count, hop)
    return np.sqrt((frames ** 2).mean(axis=1)) if count else np.zeros(0)


def split_at_silences(audio16k: np.ndarray, max_s: float = MAX_SEGMENT_S, min_s: float = MIN_SEGMENT_S) -> list[tuple[int, int]]:
    """Sample ranges tiling the audio, each at most ``max_s`` long, cut at the quietest 200 ms in reach."""
    total = len(audio16k)
    max_len, min_len = int(max_s * SPHINX_RATE), int(min_s * SPHINX_RATE)
    if total <= max_len:
        return [(0, total)]
    hop = int(FRAME_S * SPHINX_RATE)
    energy = frame_energy(audio16k)
    smooth = np.convolve(energy, np.ones(20) / 20, mode="same") if energy.size else energy
    ranges, start = [], 0
    while total - start > max_len:
        lo, hi = (start + min_len) // hop, min(len(smooth), (start + max_len) // hop)
        cut = (lo + int(np.argmin(smooth[lo:hi]))) * hop if hi > lo else start + max_len
        ranges.append((start, cut))
        start = cut
    ranges.append((start, total))
    return ranges


def pause_cuts(audio16k: np.ndarray, min_pause_s: float = 0.25, min_piece_s: float = 3.0) -> list[int]:
    """Samples in the middle of each pause of at least ``min_pause_s`` that leaves pieces of at least
    ``min_piece_s`` on both sides. A pause: 10 ms frames below a tenth of the loud frames (95th percentile)."""
    hop = int(FRAME_S * SPHINX_RATE)
    energy = frame_energy(audio16k)
    if not energy.size:
        return []
    quiet = energy < speech_threshold(energy)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    cuts: list[int] = []
    shortest, previous = int(min_piece_s * SPHINX_RATE), 0
    for start, end in zip(edges[::2], edges[1::2]):
        cut = (start + end) // 2 * hop
        if (end - start) * FRAME_S >= min_pause_s and cut - previous >= shortest and len(audio16k) - cut >= shortest:
            cuts.append(int(cut))
            previous = cut
    return cuts


#: Idle decoders kept per configuration: making one costs 0.1 s (no language model) to 0.3 s (with one),
#: far more than aligning a line, so they are reused. Concurrent callers each get their own.
MAX_IDLE_DECODERS = 2
_PRIMER_SEARCH = "_primer"
#: The search a Decoder made with a language model (or allphone) starts with.
DEFAULT_SEARCH = "_default"
#: 0.15 s of fixed noise decoded with every phone active before each utterance (see ``prime``).
_PRIMER = (np.random.default_rng(7).standard_normal(int(0.15 * SPHINX_RATE)) * 1000).astype(np.int16).tobytes()
_pool: dict[tuple, list] = {}
_pool_lock = threading.Lock()


class Lease:
    """A pooled decoder; ``discard`` drops it instead of returning it (set when pocketsphinx raised)."""

    def __init__(self, decoder) -> None:
        self.decoder, self.discard = decoder, False

    def prime(self) -> None:
        """Make the next utterance independent of the ones this decoder decoded before (see ``prime``)."""
        prime(self.decoder)


def prime(decoder, search: str | None = None) -> None:
    """Reset the decoder's carried-over scorer state, then activate ``search`` (when given).

    pocketsphinx's PTM scorer keeps each codebook's top Gaussians from frame to frame, also across
    utterances, and only re-searches the codebooks active in a frame (every frame, or every ds-th with frame
    downsampling). A reused decoder could therefore time a line a frame or two differently depending on what
    it decoded last, with any settings (measured: default and wide-beam alignment, ds=1, as well as ds=2).
    Decoding the same short noise with every phone active (an allphone search) first resets that state.
    Costs ~2-5 ms. CMN is not the cause: it is computed per utterance (cmn=batch, whole utterances).
    """
    decoder.activate_search(_PRIMER_SEARCH)
    decoder.start_utt()
    decoder.process_raw(_PRIMER, full_utt=True)
    decoder.end_utt()
    if search is not None:
        decoder.activate_search(search)


def new_decoder(**settings):
    """A pocketsphinx Decoder(samprate=16000, **settings) that ``prime`` can reset."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SPHINX_RATE, loglevel="FATAL", **settings)
    decoder.add_allphone_file(_PRIMER_SEARCH)
    return decoder


@contextmanager
def lease_decoder(**settings) -> Iterator[Lease]:
    """A pocketsphinx Decoder(samprate=16000, **settings) from the pool, returned to it afterwards.

    A decoder marked ``discard``, or whose block raised anything but an AvatarLabError, is dropped.
    """
    key = tuple(sorted(settings.items()))
    with _pool_lock:
        idle = _pool.setdefault(key, [])
        found = idle.pop() if idle else None
    lease = Lease(found or new_decoder(**settings))
    try:
        yield lease
    except AvatarLabError:  # ours (bad transcript, bad audio): the decoder itself is fine
        _release(idle, lease)
        raise
    _release(idle, lease)


def _release(idle: list, lease: Lease) -> None:
    if not lease.discard:
        with _pool_lock:
            if len(idle) < MAX_IDLE_DECODERS:
                idle.append(lease.decoder)
