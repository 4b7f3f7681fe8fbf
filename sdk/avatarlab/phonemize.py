"""Text -> Piper phoneme symbols, sentence by sentence, each phoneme tagged with its input word.

espeak-ng phonemizes whole clauses (so reductions and liaisons sound right),
but it does not say which input word a phoneme came from, and it sometimes
merges words ("of the" -> "ʌvðə") or expands one ("42" -> "fɔːɹɾi tˈuː").
We phonemize each word on its own too, and align the two sequences of
phonetic words to tag every phoneme of the clause-level output.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .voice import VoiceConfig

_STRESS = "ˈˌ"
_WORD_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'“”‘’()[]{}<>«».,;:!?¡¿…—–-*_/\\|~`"
_LANGUAGE_FLAG = re.compile(r"\([^)]+\)")
_ESPEAK_LOCK = threading.Lock()
#: The text encoder's attention grows with the square of a sentence's length (8,000 ids took 23 s
#: here, 800 took 0.2 s), so longer sentences are cut at the word gaps nearest to even pieces.
MAX_SENTENCE_SYMBOLS = 300


@dataclass(frozen=True)
class Word:
    """A word of the input text and where it sits in it."""

    text: str
    start_char: int
    end_char: int


@dataclass(frozen=True)
class PhonemizedSentence:
    """Phoneme symbols of one sentence as the voice spells them, and the input word of each."""

    symbols: list[str]
    word_indices: list[int | None]


@dataclass(frozen=True)
class PhonemizedText:
    words: list[Word]
    sentences: list[PhonemizedSentence]


def split_words(text: str) -> list[Word]:
    """Whitespace-separated tokens with edge punctuation removed; tokens with no letter or digit are not words."""
    words: list[Word] = []
    for match in _WORD_TOKEN.finditer(text):
        token = match.group()
        stripped = token.strip(_EDGE_PUNCTUATION)
        if not any(ch.isalnum() for ch in stripped):
            continue
        start = match.start() + token.index(stripped)
        words.append(Word(stripped, start, start + len(stripped)))
    return words


def _plain(phonetic: str) -> str:
    """A phonetic word without stress, length and combining marks, for comparison."""
    return "".join(ch for ch in unicodedata.normalize("NFD", phonetic) if ch not in "ˈˌː" and not unicodedata.combining(ch))


def _distance(a: str, b: str) -> float:
    """Levenshtein distance normalised to 0..1."""
    if a == b:
        return 0.0
    if not a or not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(len(a), len(b))


def align_words(units: list[tuple[int, str]], phonetic_words: list[str]) -> list[list[tuple[int, float]]]:
    """For each clause-level phonetic word, the input words it belongs to and their shares of it.

    ``units`` are (word index, phonetic word) from phonemizing each input word
    alone. A greedy walk with one step of look-ahead handles the local merges,
    splits and drops espeak makes; it is linear in the number of words.
    """
    owners: list[list[tuple[int, float]]] = [[] for _ in phonetic_words]
    i = j = 0

    def match_cost(i2: int, j2: int) -> float:
        if i2 >= len(units) or j2 >= len(phonetic_words):
            return 0.0 if i2 >= len(units) and j2 >= len(phonetic_words) else 0.5
        return _distance(units[i2][1], phonetic_words[j2])

    while i < len(units) and j < len(phonetic_words):
        moves: list[tuple[float, int, int]] = [(match_cost(i, j), 1, 1)]
        for n in (2, 3):
            if i + n <= len(units):
                joined = "".join(u[1] for u in units[i : i + n])
                moves.append((_distance(joined, phonetic_words[j]) + 0.1 * (n - 1), n, 1))
        if j + 1 < len(phonetic_words):
            moves.append((_distance(units[i][1], phonetic_words[j] + phonetic_words[j + 1]) + 0.1, 1, 2))
        moves.append((0.7, 1, 0))
        moves.append((0.7, 0, 1))
        _, di, dj = min(moves, key=lambda m: (m[0] + match_cost(i + m[1], j + m[2]), -m[1] - m[2]))
        if di and dj:
            total = sum(max(len(u[1]), 1) for u in units[i : i + di])
            shares = [(u[0], max(len(u[1]), 1) / total) for u in units[i : i + di]]
            for k in range(j, j + dj):
                owners[k] = shares
        elif dj:
            owners[j] = [(units[i - 1][0], 1.0)] if i > 0 else [(units[i][0], 1.0)]
        i += di
        j += dj
    for k in range(j, len(phonetic_words)):
        owners[k] = [(units[-1][0], 1.0)] if units else []
    return owners


def split_long(sentence: PhonemizedSentence, limit: int = MAX_SENTENCE_SYMBOLS) -> list[PhonemizedSentence]:
    """Cut a sentence longer than ``limit`` symbols into about equal pieces at word gaps."""
    count = len(sentence.symbols)
    if count <= limit:
        return [sentence]
    gaps = [k for k, symbol in enumerate(sentence.symbols) if symbol == " "]
    pieces = -(-count // limit)
    cuts: list[int] = []
    for piece in range(1, pieces):
        target = count * piece // pieces
        candidates = [g for g in gaps if g > (cuts[-1] if cuts else 0)]
        if candidates:
            cuts.append(min(candidates, key=lambda g: abs(g - target)))
    bounds = list(zip([0, *[c + 1 for c in cuts]], [*cuts, count]))  # the gap itself is dropped
    return [
        PhonemizedSentence(sentence.symbols[a:b], sentence.word_indices[a:b]) for a, b in bounds if b > a
    ]


class Phonemizer:
    """Phonemizes text the way a Piper voice expects, keeping each phoneme's input word."""

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self._clusters = {tuple(c) for c in config.vowel_clusters}
        if config.phoneme_type == "espeak":
            from piper import espeakbridge
            from piper.phonemize_espeak import ESPEAK_DATA_DIR

            self._bridge = espeakbridge
            with _ESPEAK_LOCK:
                espeakbridge.initialize(str(ESPEAK_DATA_DIR))
            self._word_phonemes = lru_cache(maxsize=20000)(self._phonemize_word)

    def phonemize(self, text: str) -> PhonemizedText:
        words = split_words(text)
        if self.config.phoneme_type == "text":
            return PhonemizedText(words, [self._text_sentence(text, words)])
        clauses = self._clauses(text)
        units = [(index, _plain(p)) for index, word in enumerate(words) for p in self._word_phonemes(word.text)]
        phonetic_words = [_plain(w) for _, phon, _, _ in clauses for w in phon.split()]
        owners = align_words(units, phonetic_words)
        sentences = [piece for sentence in self._sentences(clauses, owners) for piece in split_long(sentence)]
        return PhonemizedText(words, sentences)

    # ---- espeak ---------------------------------------------------------------------
    def _espeak(self, text: str) -> list[tuple[str, str, bool]]:
        with _ESPEAK_LOCK:
            self._bridge.set_voice(self.config.espeak_voice)
            return self._bridge.get_phonemes(text)

    def _phonemize_word(self, word: str) -> tuple[str, ...]:
        return tuple(w for phon, _, _ in self._espeak(word) for w in _LANGUAGE_FLAG.sub("", phon).split())

    def _clauses(self, text: str) -> list[tuple[int, str, str, bool]]:
        """(sentence number, phonemes, terminator, ends sentence) for each espeak clause."""
        clauses = []
        sentence = 0
        for phonemes, terminator, end_of_sentence in self._espeak(text):
            clauses.append((sentence, _LANGUAGE_FLAG.sub("", phonemes), terminator, end_of_sentence))
            sentence += int(end_of_sentence)
        return clauses

    def _sentences(
        self, clauses: list[tuple[int, str, str, bool]], owners: list[list[tuple[int, float]]]
    ) -> list[PhonemizedSentence]:
        sentences: dict[int, tuple[list[str], list[int | None]]] = {}
        word_number = 0
        for sentence, phonemes, terminator, _ in clauses:
            symbols, indices = sentences.setdefault(sentence, ([], []))
            for phonetic_word in phonemes.split(" "):
                if not phonetic_word:
                    continue
                if symbols and symbols[-1] not in (" ",):
                    symbols.append(" ")
                    indices.append(None)
                chars = list(unicodedata.normalize("NFD", phonetic_word))
                symbols.extend(chars)
                indices.extend(self._tag(chars, owners[word_number] if word_number < len(owners) else []))
                word_number += 1
            if terminator:
                symbols.append(terminator)
                indices.append(None)
                if terminator in ",:;":
                    symbols.append(" ")
                    indices.append(None)
        result = []
        for symbols, indices in sentences.values():
            symbols, indices = self._map_symbols(symbols, indices)
            if any(index is not None for index in indices) or any(s.strip() for s in symbols):
                result.append(PhonemizedSentence(symbols, indices))
        return result

    @staticmethod
    def _tag(chars: list[str], shares: list[tuple[int, float]]) -> list[int | None]:
        """Give each symbol of a phonetic word the input word whose share of the sounds covers it."""
        if not shares:
            return [None] * len(chars)
        sounds = [k for k, ch in enumerate(chars) if ch not in _STRESS and not unicodedata.combining(ch) and ch != "ː"]
        tags: list[int | None] = [shares[-1][0]] * len(chars)
        boundary, position = 0.0, 0
        for word_index, share in shares:
            boundary += share * len(sounds)
            while position < len(sounds) and position < round(boundary):
                tags[sounds[position]] = word_index
                position += 1
        # modifiers follow the sound they modify; stress marks the sound after them
        for k, ch in enumerate(chars):
            if ch in _STRESS:
                following = next((m for m in sounds if m > k), None)
                tags[k] = tags[following] if following is not None else tags[k]
            elif k not in sounds and k > 0:
                tags[k] = tags[k - 1]
        return tags

    def _map_symbols(self, symbols: list[str], indices: list[int | None]) -> tuple[list[str], list[int | None]]:
        """Apply the voice's phoneme_map and vowel_clusters, dropping symbols the voice cannot say."""
        out_symbols: list[str] = []
        out_indices: list[int | None] = []
        for symbol, index in zip(symbols, indices):
            for mapped in self.config.phoneme_map.get(symbol, [symbol]):
                out_symbols.append(mapped)
                out_indices.append(index)
        if self._clusters:
            out_symbols, out_indices = self._merge_clusters(out_symbols, out_indices)
        kept = [(s, i) for s, i in zip(out_symbols, out_indices) if s in self.config.phoneme_id_map]
        return [s for s, _ in kept], [i for _, i in kept]

    def _merge_clusters(self, symbols: list[str], indices: list[int | None]) -> tuple[list[str], list[int | None]]:
        longest = max(len(c) for c in self._clusters)
        out_s: list[str] = []
        out_i: list[int | None] = []
        k = 0
        while k < len(symbols):
            for n in range(min(longest, len(symbols) - k), 1, -1):
                if tuple(symbols[k : k + n]) in self._clusters:
                    out_s.append("".join(symbols[k : k + n]))
                    out_i.append(indices[k])
                    k += n
                    break
            else:
                out_s.append(symbols[k])
                out_i.append(indices[k])
                k += 1
        return out_s, out_i

    # ---- text voices ------------------------------------------------------------------
    def _text_sentence(self, text: str, words: list[Word]) -> PhonemizedSentence:
        symbols: list[str] = []
        indices: list[int | None] = []
        owner = {pos: i for i, w in enumerate(words) for pos in range(w.start_char, w.end_char)}
        for position, ch in enumerate(text):
            for symbol in unicodedata.normalize("NFD", ch):
                symbols.append(symbol)
                indices.append(owner.get(position))
        symbols, indices = self._map_symbols(symbols, indices)
        return PhonemizedSentence(symbols, indices)
