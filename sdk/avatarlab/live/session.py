"""Live lip sync: PCM pushed in pieces -> the viseme network -> a growing timeline -> FaceAnimator frames.

Each push returns every animation frame that can now be computed: a frame at time t is released as soon
as the audio up to t + ``max_delay_s`` has been pushed, whatever the piece sizes. The curves come out
of the same FaceAnimator as the TTS path; the timeline it animates holds one representative phoneme
per decided viseme, so the animator's closures, coarticulation and loudness-driven jaw all apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..animation import FaceAnimator, FaceFrames
from ..animation.loudness import MAX_WINDOW
from ..animation.pitch import reference_f0
from ..animation.track import PHRASE_BREAK_S
from ..channels import OCULUS_VISEMES
from ..engine import VisemeEvent, frame_range
from ..errors import InvalidOptionError
from ..timeline import SILENCE_SYMBOL, PhonemeTimeline, TimedPhoneme
from . import features as feat
from .model import VisemeModel, VisemeStream
from ..resample import StreamingResampler
from .smoothing import ForwardFilter

#: The phoneme the animator is given for each viseme the network decides on.
REPRESENTATIVE = {
    "sil": SILENCE_SYMBOL, "PP": "m", "FF": "f", "TH": "θ", "DD": "d", "kk": "k", "CH": "ʃ", "SS": "s",
    "nn": "n", "RR": "ɹ", "aa": "ɑ", "E": "ɛ", "ih": "ɪ", "oh": "oʊ", "ou": "u",
}
MIN_RATE, MAX_RATE = 8000, 48000
#: The animated timeline starts at the last phrase-break pause older than TIMELINE_KEEP_S (cost per push
#: stays small, phrases stay whole), and never reaches back further than TIMELINE_WINDOW_S.
TIMELINE_KEEP_S, TIMELINE_WINDOW_S = 2.0, 8.0
#: A "sil" decision this long is a pause that pulls the mouth to rest and breaks the phrase; shorter ones are
#: gaps between words (the animator's " "), which barely move the mouth.
_BREAK = int(PHRASE_BREAK_S * feat.SAMPLE_RATE)


def symbol_for(viseme: str, num_samples: int, sample_rate: int) -> str:
    """The phoneme the animator is given for a decided viseme segment."""
    if viseme == "sil" and num_samples * feat.SAMPLE_RATE < _BREAK * sample_rate:
        return " "
    return REPRESENTATIVE[viseme]


#: Brows follow pitch peaks above the speaker's median pitch, measured on the stream's first PITCH_REFERENCE_S;
#: frames from that moment on get them (earlier frames cannot: the median is not known yet).
PITCH_REFERENCE_S = 3.0
#: 16 kHz samples kept before the next frame to animate: the animator's loudness and pitch windows.
_AUDIO_KEEP = MAX_WINDOW
_RATE = feat.SAMPLE_RATE
_SIL = OCULUS_VISEMES.index("sil")


@dataclass
class LiveUpdate:
    """What one push released: frames (FaceFrames, frame indices count from the stream's start) and visemes."""

    frames: FaceFrames
    visemes: list[VisemeEvent] = field(default_factory=list)  # closed segments, in input-rate samples
    samples_in: int = 0  # input samples received so far


class LiveLipSync:
    """One live stream. Not thread-safe: one caller pushes at a time."""

    def __init__(self, sample_rate: int = _RATE, fps: int = 60, seed: int = 0, emotion: str = "neutral",
                 emotion_intensity: float = 1.0, model: VisemeModel | None = None) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not MIN_RATE <= sample_rate <= MAX_RATE:
            raise InvalidOptionError(f"sample_rate must be a whole number of Hz in {MIN_RATE}..{MAX_RATE}, "
                                     f"got {sample_rate!r}", option="sample_rate")
        self.sample_rate = sample_rate
        self.animator = FaceAnimator(_RATE, fps, seed, emotion, emotion_intensity)
        self.fps = fps
        self._resampler = StreamingResampler(sample_rate, _RATE)
        self._features = feat.StreamingLogMel()
        self._net = VisemeStream(model)
        model = self._net.model
        self._filter = ForwardFilter(model.classes, model.smoothing_stay, model.decision_bias)
        self._segments: list[list[int]] = []  # [viseme, start16k, end16k] runs; the last one is still open
        self._decided = 0  # feature frames decided
        self._audio = np.zeros(0, np.float32)  # the last 16 kHz samples
        self._audio_start = 0
        self._received16 = 0
        self.samples_in = 0
        self._next_frame = 0
        self._reported = 0  # segments already returned as VisemeEvents
        self._segment_base = 0  # segments dropped from the front so far (keeps viseme event indices absolute)
        self._opening = np.zeros(0, np.float32)  # the first PITCH_REFERENCE_S of 16 kHz audio, until measured
        self._pitch_from_frame: int | None = None  # first frame with pitch brows, once the reference is known
        self._reference_f0 = 0.0  # the speaker's median pitch (Hz) over the opening; 0 while unknown or unvoiced
        self.finished = False

    @property
    def kept_segments(self) -> int:
        """Decided viseme segments still held for animation (bounded, however long the stream runs)."""
        return len(self._segments)

    # ---- the delay, stated and exact -------------------------------------------------------------------
    @property
    def max_delay_s(self) -> float:
        """Longest time from a frame's own moment to the push that releases it (any piece sizes)."""
        # Feature frame j is decided once frame j + lookahead exists (its window's last sample arrived), and it
        # commits the timeline up to its span's end. The worst case is the frame at time 0, which waits for
        # feature frame 0 to be decided: lookahead hops plus one whole window.
        feature_delay = feat.HOP * self._net.model.lookahead + feat.WINDOW
        return (feature_delay + 1) / _RATE + self._resampler.delay_input_samples / self.sample_rate

    # ---- pushing -------------------------------------------------------------------------------------------
    def push(self, audio: np.ndarray, last: bool = False) -> LiveUpdate:
        """Mono float audio in [-1, 1] at ``sample_rate``; returns the frames and visemes it releases.

        ``last=True`` ends the stream: every remaining frame, up to the end of the audio, is released.
        """
        if self.finished:
            raise InvalidOptionError("this live stream is finished; start a new one")
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise InvalidOptionError(f"audio must be mono (1-D), got shape {audio.shape}", option="audio")
        self.samples_in += len(audio)
        audio16 = self._resampler.push(np.clip(np.nan_to_num(audio), -1.0, 1.0), final=last)
        self._take_audio(audio16)
        self._decide(self._filter.push(self._net.push(self._features.push(audio16))))
        if not last:
            committed = self._decided * feat.HOP + feat.SPAN_OFFSET if self._decided else 0
            return self._release(committed)
        self._decide(self._filter.push(self._net.finish()))
        self.finished = True
        if self._received16 and not self._segments:
            self._segments.append([0, 0, 0])
        if self._segments:
            self._segments[-1][2] = self._received16
        return self._release(self._received16, final=True)

    def finish(self) -> LiveUpdate:
        """End of audio: decide the last frames and release every remaining frame."""
        return self.push(np.zeros(0, np.float32), last=True)

    def _take_audio(self, audio16: np.ndarray) -> None:
        self._audio = np.concatenate([self._audio, audio16])
        self._received16 += len(audio16)
        if self._pitch_from_frame is None:
            self._opening = np.concatenate([self._opening, audio16])
            if len(self._opening) >= PITCH_REFERENCE_S * _RATE:
                opening = self._opening[: int(PITCH_REFERENCE_S * _RATE)]
                self._reference_f0 = reference_f0(opening, _RATE)
                self._pitch_from_frame = frame_range(0, len(opening), self.fps, _RATE)[1]
                self._opening = np.zeros(0, np.float32)

    def _trim_audio(self) -> None:
        """Drop audio no frame still to be animated looks at."""
        keep_from = self._next_frame * _RATE // self.fps - _AUDIO_KEEP
        extra = keep_from - self._audio_start
        if extra > 0:
            self._audio, self._audio_start = self._audio[extra:], self._audio_start + extra

    def _decide(self, labels: np.ndarray) -> None:
        for label in labels.tolist():
            start = self._decided * feat.HOP + feat.SPAN_OFFSET if self._decided else 0
            end = (self._decided + 1) * feat.HOP + feat.SPAN_OFFSET
            if self._segments and self._segments[-1][0] == label:
                self._segments[-1][2] = end
            else:
                if self._segments:
                    self._segments[-1][2] = start
                self._segments.append([label, start, end])
            self._decided += 1

    # ---- releasing frames ----------------------------------------------------------------------------------
    def _release(self, committed16: int, final: bool = False) -> LiveUpdate:
        _, end_frame = frame_range(0, committed16, self.fps, _RATE)
        first = self._next_frame
        visemes = self._closed_visemes(final)
        if end_frame <= first or not self._segments:
            return LiveUpdate(FaceFrames.empty(first, self.fps), visemes, self.samples_in)
        timeline = self._timeline(committed16)
        frames = self._animate(timeline, first, end_frame)
        self._next_frame = end_frame
        self._forget_old()
        self._trim_audio()
        return LiveUpdate(frames, visemes, self.samples_in)

    def _animate(self, timeline: PhonemeTimeline, first: int, end: int) -> FaceFrames:
        """Frames [first, end); those before the pitch reference was measured get no pitch brows."""
        split = self._pitch_from_frame if self._pitch_from_frame is not None else end
        parts = []
        with np.errstate(invalid="ignore"):  # a timeline of one pause: the animator masks inf - inf itself
            for lo, hi, reference in ((first, min(end, split), 0.0), (max(first, split), end, self._reference_f0)):
                if hi > lo:
                    self.animator.reference_f0 = reference
                    parts.append(self.animator.animate(timeline, lo, hi, self._audio, self._audio_start))
        return parts[0] if len(parts) == 1 else FaceFrames.concat(parts)

    def _timeline(self, committed16: int) -> PhonemeTimeline:
        """The recent decided segments up to ``committed16``, after one pause covering everything older."""
        phonemes: list[TimedPhoneme] = []
        first = self._segments[0][1]
        if first > 0:
            phonemes.append(TimedPhoneme(SILENCE_SYMBOL, 0, first, None))
        for label, start, end in self._segments:
            end = min(end, committed16)
            if end <= start:
                break
            symbol = symbol_for(OCULUS_VISEMES[label], end - start, _RATE)
            phonemes.append(TimedPhoneme(symbol, start, end, None))  # no words are heard live
        if phonemes[-1].end < committed16:  # the open segment reaches the commit point
            last = phonemes[-1]
            phonemes[-1] = TimedPhoneme(last.symbol, last.start, committed16, last.word_index)
        return PhonemeTimeline(_RATE, phonemes, [])

    def _closed_visemes(self, final: bool) -> list[VisemeEvent]:
        closed = len(self._segments) if final else max(0, len(self._segments) - 1)
        out = []
        for k in range(self._reported, closed):
            label, start, end = self._segments[k]
            end_in = self.samples_in if final and k == len(self._segments) - 1 else self._to_input(end)
            out.append(VisemeEvent(OCULUS_VISEMES[label], self._to_input(start), end_in, self._segment_base + k))
        self._reported = max(self._reported, closed)
        return out

    def _forget_old(self) -> None:
        now = self._next_frame * _RATE // self.fps
        closed = min(self._reported, len(self._segments) - 1)
        cut = 0  # drop segments [0, cut): up to and including the last long pause before the keep horizon
        for k in range(closed):
            label, start, end = self._segments[k]
            if end >= now - int(TIMELINE_KEEP_S * _RATE):
                break
            if label == _SIL and end - start >= _BREAK:
                cut = k + 1
        while cut < closed and self._segments[cut][2] < now - int(TIMELINE_WINDOW_S * _RATE):
            cut += 1
        if cut:
            del self._segments[:cut]
            self._reported -= cut
            self._segment_base += cut

    def _to_input(self, sample16: int) -> int:
        return min(self.samples_in, int(round(sample16 * self.sample_rate / _RATE)))
