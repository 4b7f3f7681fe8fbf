"""Train the streaming audio-to-viseme network on make_dataset.py's shards and export it to ONNX.

    .venv/bin/python models/audio2face/train.py --data /tmp/a2f-data --out sdk/avatarlab/data

writes ``audio2face.onnx`` (the only committed weights, about 1 MB) and ``audio2face.json`` (its look-ahead,
feature settings, decoder setting and the accuracy it reached). CPU only; about 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "sdk"))

from model import NetConfig, VisemeNet, export_onnx  # noqa: E402

from avatarlab.channels import OCULUS_VISEMES  # noqa: E402
from avatarlab.live.evaluation import SHAPE_OF_VISEME  # noqa: E402
from avatarlab.live import features as feat  # noqa: E402
from avatarlab.live.model import VisemeModel, VisemeStream  # noqa: E402
from avatarlab.live.smoothing import ForwardFilter  # noqa: E402

STAY_CHOICES = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9)  # 0: no smoothing (each frame's argmax)

IGNORE = -100


def load(data: Path) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(features, labels, source) per clip; LINES[id(labels)] is its line (clean and augmented copies share one)."""
    items = []
    for shard in sorted(data.glob("shard_*.npz")):
        d = np.load(shard)
        bounds = np.concatenate([[0], np.cumsum(d["lengths"])])
        lines = d["lines"] if "lines" in d.files else np.arange(len(d["sources"])) + 10**12 * len(items)
        for k, source in enumerate(d["sources"]):
            s, e = bounds[k], bounds[k + 1]
            labels = d["labels"][s:e].astype(np.int64)
            LINES[id(labels)] = int(lines[k])
            items.append((d["features"][s:e].astype(np.float32), labels, str(source)))
    return items


LINES: dict[int, int] = {}


def excluded(source: str, patterns: list[str]) -> bool:
    """--exclude: a clip whose source tag contains any of ``patterns`` (e.g. a left-out speaker's voice)."""
    return any(p and p in source for p in patterns)


#: --colour: the largest tilt and band boost or cut (dB) and mel-axis stretch of a recoloured crop.
COLOUR_DB, COLOUR_WARP = 6.0, 0.08


def recolour(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another microphone and vocal tract on log-mel frames: a random spectral tilt, one broad band boosted or cut
    (up to COLOUR_DB) and the bands stretched or squeezed by up to COLOUR_WARP (formants move with them)."""
    bands = np.arange(features.shape[1], dtype=np.float32)
    centre, width = rng.uniform(0, len(bands)), rng.uniform(3, 10)
    gain_db = (rng.uniform(-1, 1) * COLOUR_DB * (bands / (len(bands) - 1) - 0.5)
               + rng.uniform(-1, 1) * COLOUR_DB * np.exp(-0.5 * ((bands - centre) / width) ** 2))
    warp = rng.uniform(1 - COLOUR_WARP, 1 + COLOUR_WARP)
    source = np.clip(bands / warp, 0, len(bands) - 1)
    low = np.floor(source).astype(int)
    high, frac = np.minimum(low + 1, len(bands) - 1), (source - low).astype(np.float32)
    stretched = features[:, low] * (1 - frac) + features[:, high] * frac
    return (stretched + gain_db * np.float32(np.log(10) / 10)).astype(np.float32)


#: --mask: how many bands, and how wide, a masked crop loses.
MASKS, MASK_WIDTH = 2, (2, 8)


def mask_bands(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SpecAugment's frequency masks: MASKS runs of bands replaced by each frame's mean level, so the network cannot
    lean on one formant region (a voice it never heard puts its formants elsewhere)."""
    out = features.copy()
    level = features.mean(axis=1, keepdims=True)
    for _ in range(MASKS):
        width = int(rng.integers(*MASK_WIDTH, endpoint=True))
        start = int(rng.integers(0, features.shape[1] - width + 1))
        out[:, start:start + width] = level
    return out


#: --narrowband: the cut-off range (Hz) of a crop heard as through 8 kHz audio (telephone, old recordings).
NARROW_HZ = (3400.0, 4000.0)


def narrow_band(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same speech sampled at 8 kHz: each mel band keeps only its energy below a random cut-off near 4 kHz
    (its filter's share there), the rest falls to the log floor, as resampled 8 kHz input does."""
    bank = feat.mel_filterbank()
    bins = np.fft.rfftfreq(feat.N_FFT, 1.0 / feat.SAMPLE_RATE)
    kept = bank[bins < rng.uniform(*NARROW_HZ)].sum(axis=0) / bank.sum(axis=0)
    power = np.maximum(np.exp(features) - feat.LOG_FLOOR, 0.0)
    return np.log(power * kept + feat.LOG_FLOOR).astype(np.float32)


def batches(items, rng: np.random.Generator, batch: int, crop: int, lookahead: int, colour: float = 0.0,
            mask: float = 0.0, narrow: float = 0.0):
    """Random crops, padded (shares ``colour`` recoloured, ``mask`` band-masked and ``narrow`` cut to 8 kHz
    audio's band); the label of output t is the frame t - lookahead."""
    order = rng.permutation(len(items))
    for i in range(0, len(order) - batch + 1, batch):
        chosen = [items[j] for j in order[i:i + batch]]
        length = min(crop, max(len(f) for f, _, _ in chosen))
        x = np.zeros((batch, feat.N_MELS, length), np.float32)
        y = np.full((batch, length), IGNORE, np.int64)
        for b, (f, l, _) in enumerate(chosen):
            start = int(rng.integers(0, max(1, len(f) - length + 1)))
            piece, labels = f[start:start + length], l[start:start + length]
            if rng.random() < colour:
                piece = recolour(piece, rng)
            if rng.random() < narrow:
                piece = narrow_band(piece, rng)
            if rng.random() < mask:
                piece = mask_bands(piece, rng)
            x[b, :, : len(piece)] = piece.T
            x[b, :, len(piece):] = f.min()  # silence after the end
            y[b, lookahead: len(labels)] = labels[: len(labels) - lookahead] if lookahead else labels
        yield torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def predict(net: VisemeNet, features: np.ndarray) -> np.ndarray:
    """(frames, classes) log-probabilities per feature frame, look-ahead removed (silence appended)."""
    L = net.config.lookahead
    padded = np.concatenate([features, np.repeat(features.min(axis=0, keepdims=True), L, axis=0)])
    logits = net(torch.from_numpy(padded.T[None].astype(np.float32)), *net.initial_states())[0][0]
    return torch.log_softmax(logits, dim=0).T[L:].numpy()


def evaluate(net: VisemeNet, items) -> dict[str, float]:
    net.eval()
    hits = shapes = total = 0
    for f, l, _ in items:
        p = predict(net, f).argmax(axis=1)
        hits += int((p == l).sum())
        shapes += int((SHAPE_OF_VISEME[p] == SHAPE_OF_VISEME[l]).sum())
        total += len(l)
    net.train()
    return {"viseme_accuracy": hits / total, "shape_accuracy": shapes / total}


def tune_smoothing(onnx_path: Path, val) -> dict[str, float]:
    """The forward filter's stay probability that scores best on validation clips, through the ONNX graph."""
    model = VisemeModel.load(onnx_path)
    log_probs = []
    for f, _, _ in val:
        stream = VisemeStream(model)
        log_probs.append(np.concatenate([stream.push(f), stream.finish()]))
    scores = {}
    for stay in STAY_CHOICES:
        hits = total = 0
        for lp, (_, labels, _) in zip(log_probs, val):
            decided = ForwardFilter(model.classes, stay).push(lp)
            hits += int((decided == labels).sum())
            total += len(labels)
        scores[stay] = hits / total
    best = max(scores, key=scores.get)
    print("smoothing: " + ", ".join(f"stay {k}: {v:.3f}" for k, v in scores.items()), flush=True)
    return {"stay": best, "viseme_accuracy": round(scores[best], 4)}


def class_weights(spec: str) -> torch.Tensor | None:
    """--class-weight "PP=2,oh=1.5": loss weight per viseme (1 for those not named), so rare classes the network
    under-predicts on unfamiliar voices (closures, rounding) cost more to miss. None when ``spec`` is empty."""
    if not spec:
        return None
    weights = torch.ones(len(OCULUS_VISEMES))
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in OCULUS_VISEMES:
            raise SystemExit(f"--class-weight: {name.strip()!r} is not a viseme; use one of {', '.join(OCULUS_VISEMES)}")
        weights[OCULUS_VISEMES.index(name.strip())] = float(value)
    return weights


def split(items, seed: int):
    """5 % of the lines (each with its augmented copies) for validation, so no copy of a line is on both sides."""
    lines = sorted({LINES.get(id(l), i) for i, (_, l, _) in enumerate(items)})
    order = np.random.default_rng(seed).permutation(len(lines))
    held = {lines[i] for i in order[: max(1, len(lines) // 20)]}
    val = [item for i, item in enumerate(items) if LINES.get(id(item[1]), i) in held]
    return val, [item for i, item in enumerate(items) if LINES.get(id(item[1]), i) not in held]


def source_group(source: str) -> str:
    """Validation is reported per group: the Piper voice, espeak-ng, and each Festival/Flite voice."""
    if source.startswith("joe"):
        return "joe"
    return source if ":" in source else "espeak-ng"


def report_by_source(net: VisemeNet, val) -> dict[str, dict[str, float]]:
    groups: dict[str, list] = {}
    for item in val:
        groups.setdefault(source_group(item[2]), []).append(item)
    out = {name: {k: round(v, 4) for k, v in evaluate(net, group).items()} for name, group in sorted(groups.items())}
    for name, scores in out.items():
        print(f"  validation {name}: {scores['viseme_accuracy']:.3f} visemes / {scores['shape_accuracy']:.3f} shapes "
              f"({len(groups[name])} clips)", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for audio2face.onnx and audio2face.json")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lookahead", type=int, default=4, help="feature frames of look-ahead (10 ms each)")
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=400)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sources", default="",
                        help="train only on clips of these comma-separated sources (joe, m1, f2, ...); "
                        "e.g. --sources joe for the cross-synthesizer ablation")
    parser.add_argument("--exclude", default="",
                        help="leave out clips whose source contains any of these comma-separated strings "
                        "(e.g. festival:ked for leave-one-speaker-out, joe-raised for the pitch ablation)")
    parser.add_argument("--colour", type=float, default=0.0,
                        help="share of training crops recoloured (spectral tilt, a band boosted or cut, formants "
                        "stretched a little: other microphones and vocal tracts)")
    parser.add_argument("--mask", type=float, default=0.0,
                        help="share of training crops with two runs of mel bands masked (SpecAugment)")
    parser.add_argument("--narrowband", type=float, default=0.0,
                        help="share of training crops cut to 8 kHz audio's band (nothing above 3.4-4 kHz)")
    parser.add_argument("--class-weight", default="",
                        help='loss weight of named visemes, e.g. "PP=2,oh=1.5,ou=1.5" (others 1)')
    parser.add_argument("--tune-only", action="store_true",
                        help="only re-tune the smoothing of an exported model in --out on the validation split")
    args = parser.parse_args(argv)
    if args.tune_only:
        val, _ = split(load(args.data), args.seed)
        meta_path = args.out / "audio2face.json"
        meta = json.loads(meta_path.read_text())
        meta["smoothing"] = tune_smoothing(args.out / "audio2face.onnx", val)
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        return
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    items = load(args.data)
    if args.sources:
        keep = set(args.sources.split(","))
        items = [item for item in items if item[2] in keep]
    items = [item for item in items if not excluded(item[2], args.exclude.split(","))]
    val, train = split(items, args.seed)
    stacked = np.concatenate([f for f, _, _ in train])
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-3
    config = NetConfig(channels=args.channels, lookahead=args.lookahead)
    net = VisemeNet(config, torch.from_numpy(mean), torch.from_numpy(std))
    print(f"{len(train)} training clips ({len(stacked) / 6000:.0f} min), {len(val)} validation; "
          f"{sum(p.numel() for p in net.parameters())} parameters", flush=True)

    steps = args.epochs * (len(train) // args.batch)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(args.class_weight), ignore_index=IGNORE, label_smoothing=0.05)
    started, step, best = time.time(), 0, (-1.0, 0, None)
    for epoch in range(args.epochs):
        total = 0.0
        for x, y in batches(train, rng, args.batch, args.crop, args.lookahead, args.colour, args.mask,
                            args.narrowband):
            logits = net(x, *net.initial_states(x.shape[0]))[0]
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total, step = total + loss.item(), step + 1
        scores = evaluate(net, val)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / max(1, len(train) // args.batch):.3f}, "
              f"validation {scores['viseme_accuracy']:.3f} visemes / {scores['shape_accuracy']:.3f} shapes, "
              f"{time.time() - started:.0f} s", flush=True)
        if scores["shape_accuracy"] > best[0]:  # keep the epoch that validates best (never a reserved speaker)
            best = (scores["shape_accuracy"], epoch + 1, {k: v.clone() for k, v in net.state_dict().items()})

    net.load_state_dict(best[2])
    print(f"best validation: epoch {best[1]}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    net.eval()
    export_onnx(net, str(args.out / "audio2face.onnx"))
    meta = {
        "about": "streaming audio -> 15 Oculus viseme log-probabilities; trained by models/audio2face/train.py",
        "net": config.to_dict(),
        "features": {"sample_rate": feat.SAMPLE_RATE, "hop": feat.HOP, "window": feat.WINDOW, "n_fft": feat.N_FFT,
                     "n_mels": feat.N_MELS, "f_min": feat.F_MIN, "f_max": feat.F_MAX},
        "lookahead_frames": args.lookahead,
        "training": {"clips": len(train), "minutes": round(len(stacked) / 6000, 1), "epochs": args.epochs,
                     "seconds": round(time.time() - started), "best_epoch": best[1],
                     "excluded": args.exclude, "colour": args.colour, "mask": args.mask,
                     "class_weight": args.class_weight, "narrowband": args.narrowband,
                     "validation": evaluate(net, val),
                     "validation_by_source": report_by_source(net, val)},
    }
    (args.out / "audio2face.json").write_text(json.dumps(meta, indent=2) + "\n")
    meta["smoothing"] = tune_smoothing(args.out / "audio2face.onnx", val)
    (args.out / "audio2face.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out / 'audio2face.onnx'}", flush=True)


if __name__ == "__main__":
    main()
