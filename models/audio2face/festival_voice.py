"""Real speakers with exact phone timings: Debian's Festival and Flite voices.

Every voice here was built from recordings of one real speaker (diphones, unit selection or HTS), and the
synthesizer reports where each phone it spoke ends, so the audio comes with timings known by
construction, like espeak_voice.py but with human timbres. Festival runs a small Scheme script (one process
per batch of texts: ``utt.save.wave`` plus the Segment relation's end times); Flite prints its segment end
times itself (``-psdur``).

The speakers kal and slt are reserved for independent evaluation in every synthesizer (Festival's
``kal_diphone`` and ``cmu_us_slt_arctic_hts``, Flite's ``kal``, ``kal16`` and ``slt``): TRAINING_VOICES
leaves them out, EVALUATION_VOICES holds them (tests/test_heldout_speakers.py, benchmarks/bench_live.py).

    speech = speak("festival:ked", "Bring me four bottles of milk.")
    speech.audio, speech.sample_rate, speech.spans   # spans: [(viseme, start_s, end_s)] tiling the audio
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk"))

from avatarlab.animation import viseme_of  # noqa: E402
from avatarlab.lipsync.arpabet import ARPABET_TO_IPA  # noqa: E402
from avatarlab.timeline import SILENCE_SYMBOL  # noqa: E402

_ = SILENCE_SYMBOL


def _table(pairs: str) -> dict[str, tuple[str, ...]]:
    """'a=ɑ ay=a,ɪ pau=_' -> {'a': ('ɑ',), 'ay': ('a', 'ɪ'), 'pau': ('_',)}: readable tables below."""
    return {k: tuple(v.split(",")) for k, v in (item.split("=", 1) for item in pairs.split())}


#: Each phone set's phones as the IPA symbols the face animation knows (avatarlab.animation.viseme_of turns
#: them into visemes). A phone with two symbols (diphthongs, affricates) is split evenly in time. Pauses -> "_".
PHONE_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    # Festival's "radio" set (kal, ked, slt) and Flite's CMU set: ARPAbet, lower case, plus a few extras
    "radio": {**{k.lower(): v for k, v in ARPABET_TO_IPA.items() if k != "SIL"}, **_table(
        "ax=ə axr=ɚ dx=ɾ el=l em=m en=n hv=h nx=n pau=_ h#=_ brth=_ ssil=_")},
    # festival-ca, upc_catalan-central (SAMPA-like; 1 marks stress)
    "upc_catalan": _table(
        "ax=ə a=a a1=a b=b d=d e=e e1=e E=ɛ E1=ɛ f=f g=ɡ i=i i1=i j=j J=ɲ k=k l=l L=ʎ m=m n=n o=o o1=o "
        "O=ɔ O1=ɔ p=p r=ɾ rr=r s=s S=ʃ t=t u=u u1=u w=w z=z Z=ʒ pau=_ _=_ #=_"),
    # festival-czech (c: ts, c~: č, ch: x, d~/t~/n~: palatal, r~: ř, s~/z~: š/ž)
    "czech": _table(
        "#=_ _=_ a=a a:=a b=b c=t,s c~=tʃ ch=x d=d d~=d dz=d,z dz~=dʒ e=ɛ e:=ɛ f=f g=ɡ h=ɦ i=ɪ i:=i j=j "
        "k=k l=l m=m n=n n*=ŋ n~=ɲ o=o o:=o p=p r=r r~=r,ʒ r~*=r,ʒ s=s s~=ʃ t=t t~=t u=u u:=u v=v z=z z~=ʒ"),
    # festvox-suopuhe (Finnish; ":" marks length; @ = ä, 7 = ö)
    "finnish": {**{p + ":" * long: v for long in (0, 1) for p, v in _table(
        "a=ɑ e=e i=i o=o u=u y=y @=æ 7=ø &=æ p=p t=t k=k b=b d=d g=ɡ f=f T=θ D=ð s=s z=z S=ʃ Z=ʒ h=h "
        "v=v m=m n=n N=ŋ l=l L=l r=r j=j w=w").items()}, **_table("##=_ #=_")},
    # festvox-italp16k / itapc16k (1 marks stress; nf: labiodental nasal, shown as f)
    "italian": _table(
        "i=i e=e E=ɛ a=a o=o O=ɔ u=u i1=i e1=e E1=ɛ a1=a o1=o O1=ɔ u1=u j=j w=w p=p t=t k=k b=b d=d g=ɡ "
        "f=f s=s S=ʃ v=v z=z Z=ʒ ts=t,s tS=tʃ dz=d,z dZ=dʒ m=m n=n J=ɲ ng=ŋ nf=v l=l L=ʎ r=r #=_ pau=_"),
    # festvox-ru, msu_ru (doubled consonants are palatalized; doubled vowels stressed)
    "msu_ru": _table(
        "pau=_ ii=i yy=ɨ uu=u ee=e oo=o aa=a a=ɐ e=ɪ i=ɪ y=ɨ u=ʊ ae=ə ay=ɐ ur=ʊ p=p pp=p b=b bb=b t=t tt=t "
        "d=d dd=d k=k kk=k g=ɡ gg=ɡ c=t,s ch=tʃ f=f ff=f v=v vv=v s=s ss=s z=z zz=z sh=ʃ sch=ʃ zh=ʒ h=x "
        "hh=x m=m mm=m n=n nn=n l=l ll=l r=r rr=r j=j"),
    # festival-hi/-mr/-te (IIIT): T D N retroflex, th dh dental, R flap, h-aspirates as their stop
    "iiit": _table(
        "a=ə aa=a ih=ɪ iy=i uh=ʊ uw=u eh=e ee=e ay=ɛ oh=o oo=o aw=ɔ f=f k=k g=ɡ ch=tʃ T=t D=d N=n th=t "
        "dh=d n=n p=p b=b m=m y=j r=r l=l v=v L=l R=ɾ s=s sh=ʃ j=dʒ h=h ksh=k,ʃ sri=ʃ,r,i x=x kh=k gh=ɡ "
        "td=t tth=t ddh=d bh=b zh=ʒ @=ə pau=_ w=w"),
}


@dataclass(frozen=True)
class Voice:
    synthesizer: str  # "festival" or "flite"
    speaker: str  # the recorded person (the same speaker may have voices in both synthesizers)
    language: str  # ISO 639-1
    phone_set: str  # a key of PHONE_SETS
    program_voice: str  # Festival's voice_* function (without the prefix) or Flite's -voice name
    package: str  # the Debian package that brings it
    encoding: str = "utf-8"  # what the voice's text front end reads
    sex: str = "m"


VOICES: dict[str, Voice] = {
    "festival:ked": Voice("festival", "ked", "en", "radio", "ked_diphone", "festvox-kdlpc16k"),
    "festival:kal": Voice("festival", "kal", "en", "radio", "kal_diphone", "festvox-kallpc16k"),
    "festival:slt": Voice("festival", "slt", "en", "radio", "cmu_us_slt_arctic_hts", "festvox-us-slt-hts", sex="f"),
    "flite:awb": Voice("flite", "awb", "en", "radio", "awb", "flite"),
    "flite:rms": Voice("flite", "rms", "en", "radio", "rms", "flite"),
    "flite:kal": Voice("flite", "kal", "en", "radio", "kal", "flite"),
    "flite:kal16": Voice("flite", "kal", "en", "radio", "kal16", "flite"),
    "flite:slt": Voice("flite", "slt", "en", "radio", "slt", "flite", sex="f"),
    "festival:ona": Voice("festival", "ona", "ca", "upc_catalan", "upc_ca_ona_hts", "festvox-ca-ona-hts", "latin-1",
                          "f"),
    "festival:dita": Voice("festival", "dita", "cs", "czech", "czech_dita", "festvox-czech-dita", "iso-8859-2", "f"),
    "festival:machac": Voice("festival", "machac", "cs", "czech", "czech_machac", "festvox-czech-machac", "iso-8859-2"),
    "festival:lj": Voice("festival", "lj", "fi", "finnish", "suo_fi_lj_diphone", "festvox-suopuhe-lj", "latin-1", "f"),
    "festival:mv": Voice("festival", "mv", "fi", "finnish", "hy_fi_mv_diphone", "festvox-suopuhe-mv", "latin-1"),
    "festival:lp": Voice("festival", "lp", "it", "italian", "lp_diphone", "festvox-italp16k", "latin-1", "f"),
    "festival:pc": Voice("festival", "pc", "it", "italian", "pc_diphone", "festvox-itapc16k", "latin-1"),
    "festival:nsh": Voice("festival", "nsh", "ru", "msu_ru", "msu_ru_nsh_clunits", "festvox-ru"),
    "festival:nsk-hi": Voice("festival", "nsk", "hi", "iiit", "hindi_NSK_diphone", "festvox-hi-nsk festival-hi"),
    "festival:nsk-mr": Voice("festival", "nsk", "mr", "iiit", "marathi_NSK_diphone", "festvox-mr-nsk festival-mr"),
    "festival:nsk-te": Voice("festival", "nsk", "te", "iiit", "telugu_NSK_diphone", "festvox-te-nsk festival-te"),
}
#: Reserved for independent evaluation: never in training or tuning, in any synthesizer.
RESERVED_SPEAKERS = frozenset({"kal", "slt"})
TRAINING_VOICES = tuple(name for name, v in VOICES.items() if v.speaker not in RESERVED_SPEAKERS)
EVALUATION_VOICES = tuple(name for name, v in VOICES.items() if v.speaker in RESERVED_SPEAKERS)

#: A few lines per language for the non-English voices (the English ones read any English text).
SAMPLE_TEXTS: dict[str, tuple[str, ...]] = {
    "ca": ("Bon dia, com estàs? Avui fa molt de sol a Barcelona.", "El meu germà treballa a la biblioteca del poble.",
           "Voldria un cafè amb llet i una mica de pa, si us plau."),
    "cs": ("Dobrý den, jak se máte? Dnes je krásné počasí.", "Můj bratr pracuje v knihovně na náměstí.",
           "Prosím vás, kolik stojí ta modrá kniha?"),
    "fi": ("Hyvää huomenta, mitä kuuluu? Tänään on kaunis päivä.",
           "Veljeni työskentelee kirjastossa kaupungin keskustassa.",
           "Voisitko tuoda minulle kupin kahvia ja palan leipää?"),
    "it": ("Buongiorno, come stai? Oggi il tempo è molto bello.", "Mio fratello lavora nella biblioteca del paese.",
           "Vorrei un caffè e un pezzo di pane, per favore."),
    "ru": ("Добрый день, как дела? Сегодня очень хорошая погода.", "Мой брат работает в библиотеке на площади.",
           "Принесите мне, пожалуйста, чашку кофе и кусок хлеба."),
    "hi": ("नमस्ते, आप कैसे हैं? आज मौसम बहुत अच्छा है।", "मेरा भाई शहर के पुस्तकालय में काम करता है।",
           "कृपया मुझे एक कप चाय और थोड़ी रोटी दीजिए।"),
    "mr": ("नमस्कार, तुम्ही कसे आहात? आज हवामान खूप छान आहे.", "माझा भाऊ गावातील ग्रंथालयात काम करतो.",
           "कृपया मला एक कप चहा आणि थोडी भाकरी द्या."),
    "te": ("నమస్కారం, మీరు ఎలా ఉన్నారు? ఈ రోజు వాతావరణం చాలా బాగుంది.", "మా అన్న గ్రంథాలయంలో పని చేస్తాడు.",
           "దయచేసి నాకు ఒక కప్పు టీ ఇవ్వండి."),
}

#: Syllable pieces per language for pseudo_text: (onsets, vowels); Indic vowels are vowel signs (matras), "" = a.
_SYLLABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ca": (tuple("bcdfglmnprstv") + ("ll", "ny", "rr", "x", "j", ""), ("a", "e", "i", "o", "u", "à", "è", "ò")),
    "cs": (tuple("bcdfhjklmnprstvz") + ("č", "ř", "š", "ž", "ch", ""),
           ("a", "e", "i", "o", "u", "á", "é", "í", "ů", "y")),
    "fi": (tuple("hjklmnprstv") + ("kk", "tt", "pp", "ll", ""), ("a", "e", "i", "o", "u", "y", "ä", "ö", "aa", "ii")),
    "it": (tuple("bcdfglmnprstvz") + ("gn", "ch", "gh", "sc", ""), ("a", "e", "i", "o", "u")),
    "ru": (tuple("бвгдзклмнпрстфхцчшщж") + ("",), tuple("аеиоуыя")),
    "hi": (tuple("कखगचजटडतदनपबभमयरलवशसह"), ("", "ा", "ि", "ी", "ु", "ू", "े", "ो")),
    "mr": (tuple("कखगचजटडतदनपबभमयरलवशसहळ"), ("", "ा", "ि", "ी", "ु", "ू", "े", "ो")),
    "te": (tuple("కగచజటడతదనపబమయరలవసహ"), ("", "ా", "ి", "ీ", "ు", "ూ", "ె", "ో")),
}


def pseudo_text(language: str, rng: np.random.Generator, words: int = 10) -> str:
    """Random words of 1-4 syllables in ``language``'s spelling: phone variety beyond SAMPLE_TEXTS for training.

    The non-English voices read their own orthography (mostly phonemic), so random syllables give every
    phone in many contexts; commas now and then give pauses.
    """
    onsets, vowels = _SYLLABLES[language]
    out = []
    for k in range(words):
        word = "".join(str(rng.choice(onsets)) + str(rng.choice(vowels)) for _ in range(int(rng.integers(1, 5))))
        out.append(word + ("," if k < words - 1 and rng.random() < 0.15 else ""))
    return " ".join(out) + "."


@dataclass(frozen=True)
class Phone:
    symbol: str  # the voice's own phone name
    start: int  # samples
    end: int


@dataclass(frozen=True)
class VoiceSpeech:
    voice: str  # a key of VOICES
    text: str
    audio: np.ndarray  # float32 mono
    sample_rate: int
    phones: list[Phone]  # tiles [0, len(audio)) in the voice's phone set
    spans: list[tuple[str, float, float]]  # (Oculus viseme, start s, end s), tiling the audio


class VoiceUnavailableError(RuntimeError):
    """The synthesizer program or the voice is not installed (``make voice-tools`` installs them as root)."""


def speak(voice: str, text: str, stretch: float = 1.0) -> VoiceSpeech:
    """Synthesize one line; see ``speak_many``."""
    return speak_many(voice, [text], stretch)[0]


def speak_many(voice: str, texts: list[str], stretch: float = 1.0) -> list[VoiceSpeech]:
    """Synthesize ``texts`` with one of VOICES; ``stretch`` > 1 speaks slower (the voice's own durations).

    Festival loads its voice once per call, so batches are much faster than line by line. ``stretch`` acts on
    the diphone voices and Flite; Festival's HTS (ona, slt) and unit-selection (nsh) voices ignore it (vary
    their speed afterwards, e.g. augment.speed, which scales the labels too).
    """
    if voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}; known: {', '.join(VOICES)}")
    spec = VOICES[voice]
    program = shutil.which(spec.synthesizer)
    if program is None:
        raise VoiceUnavailableError(f"{spec.synthesizer} is not installed "
                                    f"(Debian {spec.synthesizer}; make voice-tools)")
    with tempfile.TemporaryDirectory(prefix="festival-voice-") as tmp:
        run = _run_festival if spec.synthesizer == "festival" else _run_flite
        raw = run(program, spec, list(texts), Path(tmp), stretch)
    return [_speech(voice, spec, text, *r) for text, r in zip(texts, raw)]


_Raw = tuple[np.ndarray, int, list[tuple[str, float]]]  # audio, rate, (phone, end s)

_FESTIVAL_SCRIPT = """
(define (avl_dump text wav)
  (set! utt (eval (list 'Utterance 'Text text)))
  (utt.synth utt)
  (utt.save.wave utt wav 'riff)
  (format t "AVL_UTT %s\\n" wav)
  (mapcar (lambda (s) (format t "AVL_SEG %s %f\\n" (item.name s) (item.feat s "end")))
          (utt.relation.items utt 'Segment)))
"""


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_festival(program: str, spec: Voice, texts: list[str], tmp: Path, stretch: float) -> list[_Raw]:
    lines = [_FESTIVAL_SCRIPT, f"(voice_{spec.program_voice})", f"(Parameter.set 'Duration_Stretch {stretch:.4f})"]
    wavs = [tmp / f"{k}.wav" for k in range(len(texts))]
    lines += [f"(avl_dump {_scheme_string(' '.join(t.split()))} {_scheme_string(str(w))})" for t, w in zip(texts, wavs)]
    script = tmp / "run.scm"
    try:
        script.write_bytes("\n".join(lines).encode(spec.encoding))
    except UnicodeEncodeError as error:
        raise ValueError(f"{spec.program_voice} reads {spec.encoding} text: {error}") from error
    done = subprocess.run([program, "-b", str(script)], capture_output=True, timeout=120 + 20 * len(texts))
    out = done.stdout.decode("utf-8", "replace")
    if "AVL_UTT" not in out or done.returncode != 0:
        error = (done.stderr + done.stdout).decode("utf-8", "replace").strip()
        if f"voice_{spec.program_voice}" in error or "unbound variable" in error or "could not open" in error:
            raise VoiceUnavailableError(f"festival voice {spec.program_voice} is unavailable (Debian {spec.package}; "
                                        f"make voice-tools): {error[-300:]}")
        raise RuntimeError(f"festival failed: {error[-500:]}")
    segments: dict[str, list[tuple[str, float]]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("AVL_UTT "):
            current = line[8:]
            segments[current] = []
        elif line.startswith("AVL_SEG "):
            name, end = line[8:].rsplit(" ", 1)
            segments[current].append((name, float(end)))
    return [(*_read_wav(w), segments[str(w)]) for w in wavs]


@functools.cache
def flite_voices(program: str = "flite") -> frozenset[str]:
    """The voices this flite has built in (``-lv``): an unknown ``-voice`` silently speaks with another one."""
    listed = subprocess.run([program, "-lv"], capture_output=True, timeout=60).stdout.decode("utf-8", "replace")
    return frozenset(listed.split(":", 1)[-1].split())


def _run_flite(program: str, spec: Voice, texts: list[str], tmp: Path, stretch: float) -> list[_Raw]:
    if spec.program_voice not in flite_voices(program):
        raise VoiceUnavailableError(f"flite has no voice {spec.program_voice} (it has: "
                                    f"{' '.join(sorted(flite_voices(program)))}; Debian flite)")
    raws = []
    for k, text in enumerate(texts):
        wav = tmp / f"{k}.wav"
        done = subprocess.run([program, "-voice", spec.program_voice, "--setf", f"duration_stretch={stretch:.4f}",
                               "-psdur", "-t", " ".join(text.split()), "-o", str(wav)],
                              capture_output=True, timeout=120)
        out = done.stdout.decode("utf-8", "replace")
        if done.returncode != 0 or not wav.exists():
            error = (done.stderr + done.stdout).decode("utf-8", "replace").strip()
            if "voice" in error.lower():
                raise VoiceUnavailableError(f"flite voice {spec.program_voice} is unavailable (Debian flite): {error}")
            raise RuntimeError(f"flite failed: {error[-500:]}")
        segments = [(m.group(1), float(m.group(2))) for m in re.finditer(r"(\S+):([0-9.]+)", out)]
        raws.append((*_read_wav(wav), segments))
    return raws


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise RuntimeError(f"{path}: expected 16-bit PCM, got {8 * width}-bit")
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return audio.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def _speech(voice: str, spec: Voice, text: str, audio: np.ndarray, rate: int,
            segments: list[tuple[str, float]]) -> VoiceSpeech:
    """Segment end times -> phones tiling the audio (the last one reaches its end) -> viseme spans."""
    phones: list[Phone] = []
    cursor, n = 0, len(audio)
    for k, (name, end_s) in enumerate(segments):
        end = n if k == len(segments) - 1 else min(int(round(end_s * rate)), n)
        if end > cursor:
            phones.append(Phone(name, cursor, end))
            cursor = end
    if cursor < n:
        phones.append(Phone("pau", cursor, n))
    return VoiceSpeech(voice, text, audio, rate, phones, viseme_spans(phones, spec.phone_set, rate))


def ipa_of(phone: str, phone_set: str) -> tuple[str, ...]:
    """The IPA symbols of one phone of ``phone_set``; an unknown phone is an error (never a silent guess)."""
    try:
        return PHONE_SETS[phone_set][phone]
    except KeyError:
        raise ValueError(f"phone {phone!r} is not in the {phone_set} table of festival_voice.PHONE_SETS") from None


def viseme_spans(phones: list[Phone], phone_set: str, rate: int) -> list[tuple[str, float, float]]:
    """(viseme, start s, end s) per phone; a phone of several IPA symbols is split evenly; equal neighbours merge."""
    spans: list[tuple[str, float, float]] = []
    for phone in phones:
        symbols = ipa_of(phone.symbol, phone_set)
        step = (phone.end - phone.start) / len(symbols)
        for i, symbol in enumerate(symbols):
            viseme = viseme_of(symbol)
            start, end = (phone.start + i * step) / rate, (phone.start + (i + 1) * step) / rate
            if spans and spans[-1][0] == viseme:
                spans[-1] = (viseme, spans[-1][1], end)
            else:
                spans.append((viseme, start, end))
    return spans


def voice_missing(voice: str) -> str | None:
    """Why ``voice`` cannot speak here (None when it can): for tests that skip without the Debian packages."""
    spec = VOICES[voice]
    if shutil.which(spec.synthesizer) is None:
        return f"{spec.synthesizer} is not installed (Debian {spec.synthesizer})"
    if spec.synthesizer == "festival":
        found = list(Path("/usr/share/festival/voices").glob(f"*/{spec.program_voice}"))
        if not found:
            return f"festival voice {spec.program_voice} is not installed (Debian {spec.package})"
    elif spec.program_voice not in flite_voices(shutil.which("flite") or "flite"):
        return f"flite has no voice {spec.program_voice} (Debian flite)"
    return None


def main() -> None:
    """Speak a sample line with every voice and print its spans: a quick check of an install."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("voices", nargs="*", default=list(VOICES))
    parser.add_argument("--text", default="Peter Piper picked a peck of pickled peppers, she said.")
    args = parser.parse_args()
    for name in args.voices:
        language = VOICES[name].language
        text = args.text if language == "en" else SAMPLE_TEXTS[language][0]
        speech = speak(name, text)
        print(f"{name}: {len(speech.audio) / speech.sample_rate:.2f} s at {speech.sample_rate} Hz, "
              f"{len(speech.phones)} phones: {' '.join(p.symbol for p in speech.phones)}")
        print("   " + " ".join(f"{v}@{s:.2f}" for v, s, _ in speech.spans))


if __name__ == "__main__":
    main()
