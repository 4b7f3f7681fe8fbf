"""The word recognizer's vocabulary: the VOCABULARY_SIZE most likely words of pocketsphinx's en-US word LM.

Without a transcript the word pass searches a lexicon tree of every dictionary word the LM knows (~72,000).
Measured on the training voices (Festival ked, Flite awb and rms; docs/lipsync.md, "Speed and accuracy"),
the 10,000 words with the highest unigram probability decode faster *and* more accurately: fewer rare words
compete for the same sounds (6-class accuracy 0.786 -> 0.800, closures 0.93 -> 0.95, word pass ~2x faster).
A word outside the list is heard as a common word that sounds like it, which the mouth shows much the same.

The list (``data/recognition_words.json``, most likely first) is made by ``python -m
avatarlab.lipsync.vocabulary``; the dictionary handed to pocketsphinx is CMUdict's entries for those words
(alternative pronunciations included), written once to the temporary folder and reused by later processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from .speech import model_path

VOCABULARY_SIZE = 10_000
WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "recognition_words.json"
_lock = threading.Lock()
_path: str | None = None


def _base(entry: str) -> str:
    """'read(2)' -> 'read': CMUdict marks alternative pronunciations."""
    return entry.split("(", 1)[0] if entry.endswith(")") else entry


def most_likely_words(size: int = VOCABULARY_SIZE) -> list[str]:
    """The ``size`` dictionary words with the highest unigram probability in the en-US LM (ties by name)."""
    from pocketsphinx import NGramModel

    lm = NGramModel.readfile(model_path("en-us.lm.bin"))
    with open(model_path("cmudict-en-us.dict"), encoding="utf-8") as lines:
        words = {_base(line.split(" ", 1)[0]) for line in lines if line.strip()}
    ranked = sorted(words, key=lambda word: (-lm.prob([word]), word))
    return ranked[:size]


def dictionary_path() -> str:
    """A CMUdict-format file of the vocabulary's pronunciations (made on first use; shared between processes).

    Where the temporary folder cannot be written, the whole CMUdict (recognition works, slower)."""
    global _path
    with _lock:
        if _path is None or not os.path.exists(_path):
            try:
                _path = _write_dictionary()
            except OSError:
                return model_path("cmudict-en-us.dict")
        return _path


def _write_dictionary() -> str:
    words = set(json.loads(WORDS_FILE.read_text(encoding="utf-8")))
    with open(model_path("cmudict-en-us.dict"), encoding="utf-8") as lines:
        text = "".join(line for line in lines if _base(line.split(" ", 1)[0]) in words)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"avatarlab-recognition-{digest}.dict"
    if not path.exists() or path.stat().st_size != len(text.encode()):
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # atomic: another process never reads half a file
    return str(path)


def main() -> None:
    """Rewrite data/recognition_words.json from the installed pocketsphinx model."""
    WORDS_FILE.write_text(json.dumps(most_likely_words(), indent=0) + "\n", encoding="utf-8")
    print(f"wrote {VOCABULARY_SIZE} words to {WORDS_FILE}")


if __name__ == "__main__":
    main()
