"""Phoneme and word timings measured in audio samples, exact by construction.

Every boundary is an integer sample index into the synthesized audio, so the
timeline tiles ``[0, num_samples)`` with no gaps or overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Timeline symbols that are not speech sounds: bos/eos, word gaps, punctuation
#: pauses and the silence inserted between sentences.
SILENCE_SYMBOL = "_"
PAUSE_SYMBOLS = frozenset({"^", "$", " ", SILENCE_SYMBOL, ",", ".", "!", "?", ";", ":", "…", "—", "-", "(", ")", "\"", "'"})


@dataclass(frozen=True)
class TimedPhoneme:
    """One segment of the timeline: a phoneme (IPA, as the voice spells it) or a pause."""

    symbol: str
    start: int  # first audio sample, inclusive
    end: int  # last audio sample, exclusive
    word_index: int | None  # index into PhonemeTimeline.words; None for pauses
    stress: int = 0  # 0 none, 1 secondary (ˌ), 2 primary (ˈ); on the stressed vowel's syllable onset
    sentence_index: int = 0

    @property
    def is_pause(self) -> bool:
        return self.symbol in PAUSE_SYMBOLS

    @property
    def num_samples(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class TimedWord:
    """A word of the input text and the samples its phonemes cover."""

    index: int  # position in the utterance's word list
    text: str
    start: int
    end: int
    stressed: bool = False  # carries a primary stress mark
    sentence_index: int = 0


@dataclass
class PhonemeTimeline:
    """Segments that tile ``[0, num_samples)`` of one utterance, plus the words they spell."""

    sample_rate: int
    phonemes: list[TimedPhoneme] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)

    @property
    def num_samples(self) -> int:
        return self.phonemes[-1].end if self.phonemes else 0

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    def seconds(self, sample: int) -> float:
        return sample / self.sample_rate

    def check(self) -> None:
        """Raise if the segments do not tile the sample range exactly."""
        position = 0
        for segment in self.phonemes:
            if segment.start != position or segment.end < segment.start:
                raise AssertionError(f"timeline gap or overlap at sample {position}: {segment}")
            position = segment.end
