"""A second, unrelated speech synthesizer with exact phone timings: libespeak-ng's formant voices.

Debian's ``libespeak-ng1`` reports a phoneme event (IPA, audio position) for every phone it
speaks, so its audio comes with timings known by construction. The audio-to-face model's data
generator uses some of its voice variants; the tests use others as voices the model never heard.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

LIBRARY = "libespeak-ng.so.1"
_SYNCHRONOUS = 2
_PHONEME_EVENTS, _PHONEME_IPA = 0x0001, 0x0002
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_RATE, _PITCH, _RANGE = 1, 3, 4


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakPhone:
    symbol: str  # espeak IPA, the same alphabet Piper voices use
    start: int  # samples
    end: int


@dataclass(frozen=True)
class EspeakWord:
    text: str
    start: int  # samples: its first phone's start
    end: int  # its last phone's end


@dataclass(frozen=True)
class EspeakSpeech:
    audio: np.ndarray  # float32 mono
    sample_rate: int
    phones: list[EspeakPhone]  # tiles [0, len(audio)); pauses are "_"
    words: list[EspeakWord]


class EspeakUnavailableError(RuntimeError):
    pass


def speak_fresh(variant: str, texts: list[str], **settings: int) -> list[EspeakSpeech]:
    """Speak ``texts`` in a new process whose libespeak-ng has spoken nothing before.

    libespeak-ng carries state from one utterance to the next (durations shift by a few samples after
    another voice spoke), so tests and benchmarks that need the same audio on every run use this.
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_speak_all, (variant, list(texts), settings))


def _speak_all(variant: str, texts: list[str], settings: dict) -> list[EspeakSpeech]:
    voice = EspeakVoice(variant, **settings)
    return [voice.speak(text) for text in texts]


class EspeakVoice:
    """One process-wide libespeak-ng instance (the library is not re-entrant), guarded by a lock.

    Its output depends slightly on what the process spoke before; see ``speak_fresh``.
    """

    _lock = threading.Lock()
    _lib = None
    _rate = 0

    def __init__(self, variant: str = "m1", rate_wpm: int = 160, pitch: int = 50, pitch_range: int = 50) -> None:
        self.variant, self.rate_wpm, self.pitch, self.pitch_range = variant, rate_wpm, pitch, pitch_range
        self._load()

    @classmethod
    def _load(cls) -> None:
        if cls._lib is not None:
            return
        try:
            lib = ctypes.CDLL(LIBRARY)
        except OSError as exc:
            raise EspeakUnavailableError(f"{LIBRARY} not found; install it with: apt-get install libespeak-ng1") from exc
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_SYNCHRONOUS, 200, None, _PHONEME_EVENTS | _PHONEME_IPA | 0x8000)
        if rate <= 0:
            raise EspeakUnavailableError(f"espeak_Initialize failed ({rate})")
        cls._lib, cls._rate = lib, rate

    def speak(self, text: str) -> EspeakSpeech:
        """Synthesize ``text``; phone spans come from espeak's own phoneme events."""
        lib = self._lib
        chunks: list[np.ndarray] = []
        events: list[tuple[int, str]] = []  # (sample, symbol)
        word_events: list[tuple[int, int, int]] = []  # (sample, text position (1-based), length)
        written = [0]

        def on_audio(wav, count, event_ptr) -> int:
            i = 0
            while True:
                event = event_ptr[i]
                if event.type == _EVENT_LIST_TERMINATED:
                    break
                if event.type == _EVENT_PHONEME:
                    symbol = event.id.string.decode("utf-8", "replace")
                    events.append((int(round(event.audio_position * self._rate / 1000.0)), symbol))
                elif event.type == _EVENT_WORD:
                    word_events.append((int(round(event.audio_position * self._rate / 1000.0)),
                                        event.text_position, event.length))
                i += 1
            if wav and count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.float32) / 32768.0)
                written[0] += count
            return 0

        callback = _CALLBACK(on_audio)
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(f"en-us+{self.variant}".encode()) != 0:
                raise ValueError(f"unknown espeak-ng voice variant {self.variant!r}")
            lib.espeak_SetParameter(_RATE, self.rate_wpm, 0)
            lib.espeak_SetParameter(_PITCH, self.pitch, 0)
            lib.espeak_SetParameter(_RANGE, self.pitch_range, 0)
            lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        tiled, marks = _tile(events, len(audio))
        phones, source = _with_pauses_and_closures(tiled, audio, self._rate)
        source = [marks[k] if k >= 0 else -1 for k in source]
        return EspeakSpeech(audio, self._rate, phones, _words(text, word_events, events, phones, source))


def _tile(events: list[tuple[int, str]], n: int) -> tuple[list[EspeakPhone], list[int]]:
    """Phoneme events mark starts; each phone ends where the next begins. Leading audio is a pause.

    Also returns, for each phone, the index of its phoneme event among the non-empty ones (-1: pause).
    """
    phones: list[EspeakPhone] = []
    source: list[int] = []
    cursor = 0
    marks = [(min(max(s, 0), n), sym) for s, sym in events if sym.strip()]
    for k, (start, symbol) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else n
        start = max(start, cursor)
        if start > cursor:
            phones.append(EspeakPhone("_", cursor, start))
            source.append(-1)
        if end > start:
            phones.append(EspeakPhone(symbol, start, end))
            source.append(k)
            cursor = end
    if cursor < n:
        phones.append(EspeakPhone("_", cursor, n))
        source.append(-1)
    return phones, source


_STOPS = frozenset("pbtdkɡ")
SILENCE_PEAK = 3e-4  # espeak's pauses and stop closures are digital silence
MIN_PAUSE_S = 0.04
MAX_CLOSURE_S = 0.08
MIN_RUN_S = 0.008


def _silent_runs(audio: np.ndarray, rate: int) -> list[tuple[int, int]]:
    quiet = np.concatenate([[False], np.abs(audio) < SILENCE_PEAK, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist()))
    return [(s, e) for s, e in runs if e - s >= MIN_RUN_S * rate]


def _with_pauses_and_closures(phones: list[EspeakPhone], audio: np.ndarray,
                              rate: int) -> tuple[list[EspeakPhone], list[int]]:
    """espeak marks a stop at its burst: give it the closure silence before it, and split pauses out.

    Lip-critical closures (p b m) must carry the closed-lips label for their whole silent closure.
    """
    symbols = [p.symbol for p in phones] + ["_"]  # label len(phones): a pause
    label = np.zeros(len(audio), dtype=np.int64)
    for k, p in enumerate(phones):
        label[p.start:p.end] = k
    pause = len(phones)
    starts = {p.start: k for k, p in enumerate(phones)}
    for s, e in _silent_runs(audio, rate):
        nxt = next((starts[x] for x in range(e - int(0.005 * rate), e + int(0.005 * rate) + 1) if x in starts), None)
        if nxt is not None and phones[nxt].symbol[:1] in _STOPS:
            closure_start = max(s, e - int(MAX_CLOSURE_S * rate))
            label[closure_start:phones[nxt].start] = nxt
            if closure_start - s >= MIN_PAUSE_S * rate:
                label[s:closure_start] = pause
        elif e - s >= MIN_PAUSE_S * rate:
            label[s:e] = pause
    out: list[EspeakPhone] = []
    source: list[int] = []  # index into ``phones`` of each output phone (-1: a pause)
    bounds = np.flatnonzero(np.diff(label)) + 1
    for s, e in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(audio)]])):
        sym = symbols[int(label[s])]
        if out and sym == "_" and out[-1].symbol == "_":
            out[-1] = EspeakPhone("_", out[-1].start, int(e))
        else:
            out.append(EspeakPhone(sym, int(s), int(e)))
            source.append(-1 if sym == "_" else int(label[s]))
    return out, source


def _words(text: str, word_events: list[tuple[int, int, int]], events: list[tuple[int, str]],
           phones: list[EspeakPhone], source: list[int]) -> list[EspeakWord]:
    """A phone belongs to the last word event at or before its phoneme event; a word spans its phones."""
    marks = sorted(word_events)
    marked = [(sample, sym) for sample, sym in events if sym.strip()]
    spans: dict[int, tuple[int, int]] = {}
    for phone, k in zip(phones, source):
        if k < 0 or k >= len(marked):
            continue
        owner = max((i for i, m in enumerate(marks) if m[0] <= marked[k][0]), default=None)
        if owner is not None:
            s, e = spans.get(owner, (phone.start, phone.end))
            spans[owner] = (min(s, phone.start), max(e, phone.end))
    return [EspeakWord(text[marks[i][1] - 1:marks[i][1] - 1 + marks[i][2]], *spans[i]) for i in sorted(spans)]
