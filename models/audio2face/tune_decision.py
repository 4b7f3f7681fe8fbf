"""Tune the live decision rule's per-viseme biases on speakers the network never trained on.

The network learns its training voices' class priors; on a voice it never heard it loses closed p/b/m and
rounded vowels to "other" consonants and open vowels. A bias added to those classes' log-probabilities
(avatarlab.live.smoothing.ForwardFilter) shifts the priors back. The biases are tuned on models trained
without some speakers (``train.py --exclude``), scored on those speakers' lines, and written into the
committed model's metadata:

    .venv/bin/python models/audio2face/tune_decision.py \\
        --pair /tmp/loso-awb-lj/audio2face.onnx=flite:awb,festival:lj,espeak:f3,espeak:m3 \\
        --write sdk/avatarlab/data/audio2face.json

Every voice of a pair must be one that model never trained on (left out with --exclude, or a held-out
espeak-ng variant); the reserved speakers kal and slt are refused: they are for evaluation only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "sdk"))

from espeak_voice import speak_fresh  # noqa: E402
from festival_voice import RESERVED_SPEAKERS, VOICES, pseudo_text, speak_many  # noqa: E402
from make_dataset import HELD_OUT_VARIANTS  # noqa: E402
from train import excluded  # noqa: E402

from avatarlab.channels import OCULUS_VISEMES  # noqa: E402
from avatarlab.resample import resample  # noqa: E402
from avatarlab.live import features as feat  # noqa: E402
from avatarlab.live.evaluation import Scores, coarse_scores, frame_labels, frame_times, timeline_labels  # noqa: E402
from avatarlab.live.model import VisemeModel, VisemeStream  # noqa: E402
from avatarlab.live.smoothing import ForwardFilter  # noqa: E402

#: Lines for tuning, distinct from the benchmark's and the tests' (rich in p/b/m and rounded vowels).
TUNE_SENTENCES = (
    "Please put the blue umbrella back by the door before you go out.",
    "A small boat moved slowly across the calm water of the bay.",
    "We bought some warm bread and a bowl of soup for the old man.",
    "Could you move those boxes upstairs when you have a moment?",
    "The morning train to Boston was full of people going to work.",
    "Remember to bring your own food, because the shop is closed on Monday.",
    "She opened the window and looked at the bright moon above the roofs.",
    "Maybe we should book the room for two more nights, or move on to Rome.",
)
#: The visemes each bias moves, and the values tried (log-probability units).
GROUPS = {"closed": ("PP",), "round": ("oh", "ou", "RR"), "open": ("aa", "E"), "fv": ("FF",)}
GRID = {"closed": (0.0, 0.5, 1.0), "round": (0.0, 0.5, 1.0, 1.5), "open": (-0.5, 0.0), "fv": (0.0, 0.5)}
FPS = 100


@dataclass
class Line:
    log_probs: np.ndarray  # (decided frames, 15), as the live session's decision rule sees them
    truth: np.ndarray  # viseme index per 10 ms frame


def check_unseen(voice: str, model: VisemeModel) -> None:
    """Refuse a reserved speaker, and a voice the model trained on."""
    if voice.startswith("espeak:"):
        if voice.split(":", 1)[1] not in HELD_OUT_VARIANTS:
            raise SystemExit(f"{voice}: only the held-out espeak-ng variants {HELD_OUT_VARIANTS} are unseen")
        return
    if voice not in VOICES or VOICES[voice].speaker in RESERVED_SPEAKERS:
        raise SystemExit(f"{voice}: not a training voice (kal and slt are reserved for evaluation)")
    left_out = model.meta.get("training", {}).get("excluded", "")
    if not excluded(voice, left_out.split(",")):
        raise SystemExit(f"{voice}: this model trained on it (excluded only {left_out!r})")


def speeches(voice: str) -> list[tuple[np.ndarray, int, np.ndarray]]:
    """(audio, sample rate, true viseme per frame) of the tuning lines in ``voice``."""
    if voice.startswith("espeak:"):
        out = speak_fresh(voice.split(":", 1)[1], list(TUNE_SENTENCES), rate_wpm=165)
        return [(s.audio, s.sample_rate, timeline_labels(s.phones, s.sample_rate, len(s.audio) / s.sample_rate, FPS))
                for s in out]
    language = VOICES[voice].language
    rng = np.random.default_rng(99)
    texts = list(TUNE_SENTENCES) if language == "en" else [pseudo_text(language, rng, 10) for _ in TUNE_SENTENCES]
    return [(s.audio, s.sample_rate, frame_labels(s.spans, frame_times(len(s.audio) / s.sample_rate, FPS)))
            for s in speak_many(voice, texts)]


def log_probs(model: VisemeModel, audio: np.ndarray, rate: int) -> np.ndarray:
    """What the live session's decision rule receives for a whole recording (streaming equals one call)."""
    stream = VisemeStream(model)
    features = feat.log_mel(resample(np.asarray(audio, np.float32), rate, feat.SAMPLE_RATE))
    return np.concatenate([stream.push(features), stream.finish()])


def shown(decided: np.ndarray, frames: int) -> np.ndarray:
    """Viseme shown at each 10 ms frame centre: decided frame j spans 16 kHz samples [160 j + 120, 160 j + 280),
    so the frame centred on 160 k + 80 shows decision k - 1 (the first one from 0)."""
    out = np.concatenate([decided[:1], decided, np.repeat(decided[-1:], max(0, frames - len(decided) - 1))])
    return out[:frames]


def bias_vector(values: dict[str, float]) -> np.ndarray:
    bias = np.zeros(len(OCULUS_VISEMES), np.float32)
    for group, value in values.items():
        for viseme in GROUPS[group]:
            bias[OCULUS_VISEMES.index(viseme)] = value
    return bias


def score(lines: list[Line], bias: np.ndarray, stay: float) -> Scores:
    total = Scores()
    for line in lines:
        decided = ForwardFilter(len(bias), stay, bias).push(line.log_probs)
        total += coarse_scores(line.truth, shown(decided, len(line.truth)), FPS)
    return total


def summary(scores: list[Scores]) -> dict[str, float]:
    """Mean 6-class accuracy, closure share and closed precision over (model, voice) pairs."""
    mean = lambda xs: round(float(np.mean([x for x in xs if x is not None])), 4)  # noqa: E731
    return {"coarse_accuracy": mean([s.coarse_accuracy for s in scores]),
            "closure_share": mean([s.closure_share for s in scores]),
            "closed_precision": mean([s.closed_precision for s in scores])}


def search(sets: dict[str, list[Line]], stay: float) -> list[tuple[dict[str, float], dict[str, float], dict]]:
    """Every grid point: (biases, mean scores, per-set scores), best mean 6-class accuracy first."""
    results = []
    for combo in itertools.product(*GRID.values()):
        values = dict(zip(GRID, combo))
        per_set = {name: score(lines, bias_vector(values), stay) for name, lines in sets.items()}
        results.append((values, summary(list(per_set.values())), per_set))
    results.sort(key=lambda r: (-r[1]["coarse_accuracy"], -r[1]["closure_share"]))
    return results


def parse_pair(text: str) -> tuple[Path, list[str]]:
    model, _, voices = text.partition("=")
    if not voices:
        raise argparse.ArgumentTypeError(f"expected MODEL.onnx=VOICE,VOICE, got {text!r}")
    return Path(model), voices.split(",")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", type=parse_pair, action="append", required=True,
                        help="MODEL.onnx=VOICE,VOICE: a model trained without those voices (repeatable)")
    parser.add_argument("--write", type=Path, help="audio2face.json to store the chosen biases in")
    args = parser.parse_args(argv)
    sets: dict[str, list[Line]] = {}
    stays = set()
    for path, voices in args.pair:
        model = VisemeModel.load(path)
        stays.add(model.smoothing_stay)
        for voice in voices:
            check_unseen(voice, model)
            name = f"{voice} (model trained without {model.meta['training']['excluded'] or 'nothing'}, {path})"
            sets[name] = [Line(log_probs(model, a, r), t) for a, r, t in speeches(voice)]
    stay = stays.pop() if len(stays) == 1 else 0.0
    results = search(sets, stay)
    best, none = results[0], next(r for r in results if not any(r[0].values()))
    fmt = lambda s: f"{s.coarse_accuracy:.3f} / {s.closure_share:.2f} / {s.closed_precision or 0:.2f}"  # noqa: E731
    for label, (values, mean, per_set) in (("no bias", none), ("best", best)):
        print(f"{label} {values}: mean {mean}")
        for name, s in per_set.items():
            print(f"  {name}: {fmt(s)} (6-class / closures / closed precision)")
    if args.write:
        meta = json.loads(args.write.read_text())
        meta["decision"] = {
            "log_bias": {v: value for group, value in best[0].items() for v in GROUPS[group] if value},
            "tuned_on": sorted(sets), "tuned_mean": best[1], "untuned_mean": none[1],
        }
        args.write.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote the decision biases into {args.write}")


if __name__ == "__main__":
    main()
