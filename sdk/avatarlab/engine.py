"""The library API: text in, streamed speech plus the face animation that matches it sample for sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .animation import FaceAnimator, FaceFrames, viseme_of
from .animation.pitch import reference_f0
from .errors import InvalidTextError
from .options import SynthesisOptions, checked_text
from .timeline import PhonemeTimeline, TimedPhoneme, TimedWord
from .timing import phoneme_ids, sentence_segments, silence_segment, word_timings
from .voice import VoiceConfig, VoiceInfo, resolve_voice

if TYPE_CHECKING:
    from .phonemize import PhonemizedSentence


#: Decoder streaming: the first chunk is small so audio starts early; later ones grow fourfold (the decoder
#: runs ~25x faster than real time, so each chunk is ready before the one before it has played) to cut
#: the per-call and context overhead. Sentences after the first start at LATER_SENTENCE_CHUNK_FRAMES.
FIRST_CHUNK_FRAMES = 32
LATER_SENTENCE_CHUNK_FRAMES = 128
MAX_CHUNK_FRAMES = 384  # also bounds decoder memory (~170 MB of activations)
CHUNK_GROWTH = 4
#: Latent frames decoded on each side of a chunk and then cropped; 10 keeps joins within about 1e-4 of one-shot (-80 dB).
DECODER_CONTEXT_FRAMES = 10
_REFERENCE_SENTENCE = "Well, I suppose we could walk along the river and look for the old mill."
#: Audio kept from earlier chunks for the animator's loudness window.
_AUDIO_HISTORY = 4096


@dataclass(frozen=True)
class VisemeEvent:
    """The Oculus viseme a phoneme shows, over the samples of that phoneme."""

    viseme: str
    start: int
    end: int
    phoneme_index: int


@dataclass
class SynthesisChunk:
    """A span of audio, the animation frames that fall inside it, and the events that start in it."""

    index: int
    sample_rate: int
    sample_offset: int  # utterance sample index of audio[0]
    audio: np.ndarray  # float32 mono in [-1, 1]
    frames: FaceFrames  # frames whose time i / fps falls in this chunk's audio span
    phonemes: list[TimedPhoneme] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)
    visemes: list[VisemeEvent] = field(default_factory=list)
    sentence_index: int = 0
    final: bool = False

    @property
    def pcm16(self) -> np.ndarray:
        return to_pcm16(self.audio)


@dataclass
class Utterance:
    """A whole line: its audio, timeline, animation and events."""

    text: str
    voice: str
    options: SynthesisOptions
    sample_rate: int
    audio: np.ndarray
    timeline: PhonemeTimeline
    frames: FaceFrames
    visemes: list[VisemeEvent]

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def chunk_schedule(num_frames: int, first: int, largest: int) -> list[tuple[int, int]]:
    """Latent frame ranges to decode: ``first`` frames, then growing fourfold up to ``largest``."""
    ranges = []
    start, size = 0, first
    while start < num_frames:
        end = min(num_frames, start + size)
        if num_frames - end < size // 2:  # no tiny tail chunk
            end = num_frames
        ranges.append((start, end))
        start, size = end, min(largest, size * CHUNK_GROWTH)
    return ranges


def frame_range(start_sample: int, end_sample: int, fps: int, sample_rate: int) -> tuple[int, int]:
    """Frames i with start_sample <= i * sample_rate / fps < end_sample (exact integer arithmetic)."""
    return -(-start_sample * fps // sample_rate), -(-end_sample * fps // sample_rate)


class Engine:
    """Loads one voice and turns text into streamed speech and face curves.

    Thread-safe: concurrent ``synthesize`` calls share the voice's sessions.
    """

    def __init__(
        self,
        voice: str | Path | None = None,
        threads: int | None = None,
        first_chunk_frames: int = FIRST_CHUNK_FRAMES,
        max_chunk_frames: int = MAX_CHUNK_FRAMES,
        decoder_context_frames: int = DECODER_CONTEXT_FRAMES,
    ) -> None:
        self.voice: VoiceInfo = resolve_voice(voice)
        self.config: VoiceConfig = self.voice.load_config()
        # imported here, not at the top: lip sync, export and render use this module's Utterance without
        # loading onnx (0.7 s to import) or espeak-ng
        from .phonemize import Phonemizer
        from .vits import SplitVits

        self.model = SplitVits(self.voice.model_path, threads=threads)
        self.phonemizer = Phonemizer(self.config)
        self.reference_f0 = self._measure_reference_f0()
        self.first_chunk_frames = first_chunk_frames
        self.max_chunk_frames = max_chunk_frames
        self.decoder_context_frames = decoder_context_frames

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    def _measure_reference_f0(self) -> float:
        """The voice's neutral pitch, from a fixed sentence with a fixed seed (so it is deterministic)."""
        sentence = self.phonemizer.phonemize(_REFERENCE_SENTENCE).sentences[0]
        ids, _ = phoneme_ids(sentence.symbols, self.config)
        latent = self.model.prepare(ids, SynthesisOptions().scales(self.config), np.random.default_rng(0))
        audio = self.model.decode(latent, 0, latent.num_frames, 0)
        return reference_f0(audio, self.sample_rate)

    def warm_up(self) -> None:
        """Run a short line once so the first real request does not pay for lazy initialisation."""
        for _ in self.synthesize("Hello."):
            pass

    def synthesize(
        self, text: str | bytes, options: SynthesisOptions | None = None, *, stream: bool = True, **overrides
    ) -> Iterator[SynthesisChunk]:
        """Yield chunks as soon as each is ready. ``stream=False`` decodes each sentence in one piece.

        Keyword overrides (``fps=30, emotion="happy"``...) replace fields of ``options``.
        Raises InvalidTextError / InvalidOptionError / VoiceConfigError before yielding anything.
        """
        text = checked_text(text)
        options = _with_overrides(options or SynthesisOptions(), overrides).checked()
        scales = options.scales(self.config)
        speaker_id = options.speaker_id(self.config)
        phonemized = self.phonemizer.phonemize(text)
        sentences = [s for s in phonemized.sentences if any(i is not None for i in s.word_indices)]
        if not sentences:
            raise InvalidTextError("text has nothing speakable (no words espeak-ng can pronounce)")
        return self._stream(sentences, [w.text for w in phonemized.words], options, scales, speaker_id, stream)

    def speak(
        self,
        text: str | bytes,
        options: SynthesisOptions | None = None,
        *,
        stream: bool = True,
        on_chunk: Callable[[SynthesisChunk], None] | None = None,
        **overrides,
    ) -> Utterance:
        """Synthesize a whole line and collect it; ``on_chunk`` sees each chunk as it arrives (progress)."""
        options = _with_overrides(options or SynthesisOptions(), overrides)
        chunks = []
        for chunk in self.synthesize(text, options, stream=stream):
            chunks.append(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
        audio = np.concatenate([c.audio for c in chunks])
        timeline = PhonemeTimeline(
            self.sample_rate, [p for c in chunks for p in c.phonemes], [w for c in chunks for w in c.words]
        )
        return Utterance(
            text=checked_text(text),
            voice=self.voice.name,
            options=options,
            sample_rate=self.sample_rate,
            audio=audio,
            timeline=timeline,
            frames=FaceFrames.concat([c.frames for c in chunks]),
            visemes=[v for c in chunks for v in c.visemes],
        )

    # ---- streaming ------------------------------------------------------------------------
    def _stream(
        self,
        sentences: list[PhonemizedSentence],
        words: list[str],
        options: SynthesisOptions,
        scales: tuple[float, float, float],
        speaker_id: int | None,
        stream: bool,
    ) -> Iterator[SynthesisChunk]:
        rng = np.random.default_rng(options.seed)
        state = _StreamState(
            PhonemeTimeline(self.sample_rate),
            FaceAnimator(self.sample_rate, options.fps, options.seed, options.emotion, options.emotion_intensity,
                         self.reference_f0),
            options.fps,
        )
        silence = int(round(options.sentence_silence * self.sample_rate))
        for sentence_index, sentence in enumerate(sentences):
            ids, spans = phoneme_ids(sentence.symbols, self.config)
            latent = self.model.prepare(ids, scales, rng, speaker_id)
            segments = sentence_segments(
                sentence.symbols, sentence.word_indices, spans, latent.durations,
                self.model.hop_length, state.position, sentence_index, self.sample_rate,
            )
            last_sentence = sentence_index == len(sentences) - 1
            if silence and not last_sentence:
                segments.append(silence_segment(segments[-1].end, silence, sentence_index))
            state.add_sentence(segments, words)
            ranges = self._schedule(latent.num_frames, stream, first_sentence=sentence_index == 0)
            for range_index, (f0, f1) in enumerate(ranges):
                audio = self.model.decode(latent, f0, f1, self.decoder_context_frames)
                last_range = range_index == len(ranges) - 1
                if last_range and silence and not last_sentence:
                    audio = np.concatenate([audio, np.zeros(silence, dtype=np.float32)])
                yield state.chunk(audio, sentence_index, final=last_range and last_sentence)

    def _schedule(self, num_frames: int, stream: bool, first_sentence: bool) -> list[tuple[int, int]]:
        if not stream:
            return [(0, num_frames)]
        first = self.first_chunk_frames if first_sentence else max(self.first_chunk_frames, LATER_SENTENCE_CHUNK_FRAMES)
        return chunk_schedule(num_frames, first, self.max_chunk_frames)


@dataclass
class _StreamState:
    """What one synthesis call has produced so far, and which events it has already sent."""

    timeline: PhonemeTimeline
    animator: FaceAnimator
    fps: int
    history: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    position: int = 0
    chunk_index: int = 0
    phoneme_cursor: int = 0
    word_cursor: int = 0
    known_words: int = 0  # words up to this index have final timings

    def add_sentence(self, segments: list[TimedPhoneme], words: list[str]) -> None:
        self.timeline.phonemes.extend(segments)
        self.timeline.words = word_timings(words, self.timeline.phonemes)
        indices = [s.word_index for s in segments if s.word_index is not None]
        if indices:
            self.known_words = max(self.known_words, max(indices) + 1)

    def chunk(self, audio: np.ndarray, sentence_index: int, final: bool) -> SynthesisChunk:
        start, end = self.position, self.position + len(audio)
        sample_rate = self.timeline.sample_rate
        self.history = np.concatenate([self.history[-_AUDIO_HISTORY:], audio.astype(np.float32, copy=False)])
        f0, f1 = frame_range(start, end, self.fps, sample_rate)
        frames = self.animator.animate(self.timeline, f0, f1, self.history, end - len(self.history))
        phonemes, visemes = self._phoneme_events(end, final)
        chunk = SynthesisChunk(
            self.chunk_index, sample_rate, start, audio, frames, phonemes,
            self._word_events(end, final), visemes, sentence_index, final,
        )
        self.chunk_index += 1
        self.position = end
        return chunk

    def _phoneme_events(self, end: int, final: bool) -> tuple[list[TimedPhoneme], list[VisemeEvent]]:
        segments = self.timeline.phonemes
        phonemes, visemes = [], []
        while self.phoneme_cursor < len(segments) and (final or segments[self.phoneme_cursor].start < end):
            segment = segments[self.phoneme_cursor]
            phonemes.append(segment)
            visemes.append(VisemeEvent(viseme_of(segment.symbol), segment.start, segment.end, self.phoneme_cursor))
            self.phoneme_cursor += 1
        return phonemes, visemes

    def _word_events(self, end: int, final: bool) -> list[TimedWord]:
        words = self.timeline.words
        limit = len(words) if final else self.known_words
        sent = []
        while self.word_cursor < limit and (final or words[self.word_cursor].start < end):
            sent.append(words[self.word_cursor])
            self.word_cursor += 1
        return sent


def _with_overrides(options: SynthesisOptions, overrides: dict) -> SynthesisOptions:
    from dataclasses import fields, replace

    names = {f.name for f in fields(SynthesisOptions)}
    known = {k: v for k, v in overrides.items() if k in names}
    unknown = set(overrides) - names - {"stream"}
    if unknown:
        raise TypeError(f"unknown synthesis option(s): {', '.join(sorted(unknown))}")
    return replace(options, **known) if known else options
