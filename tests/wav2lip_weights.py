"""Random-weight Wav2Lip generators saved as the authors released theirs, for tests and benchmarks.

The public wav2lip.pth / wav2lip_gan.pth are `torch.save({'state_dict': {'module.' + key: tensor}, 'optimizer':
..., 'global_step': int, 'global_epoch': int})` from DataParallel training, in torch's legacy (non-zip) format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import serialization

from avatarlab.render.wav2lip.model import Wav2LipGenerator, build_generator


def random_generator(seed: int = 7) -> Wav2LipGenerator:
    """A full-size generator with seeded random weights and BatchNorm statistics (not the identity defaults, so a
    BatchNorm tensor loaded into the wrong place changes the output)."""
    model = build_generator(seed)
    rng = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=rng) + 0.5)
                module.bias.copy_(torch.rand(module.bias.shape, generator=rng) * 0.2 - 0.1)
                module.running_mean.copy_(torch.rand(module.running_mean.shape, generator=rng) * 0.2 - 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=rng) + 0.5)
                module.num_batches_tracked.fill_(1000)
    return model.eval()


def save_public_checkpoint(path: Path, state: dict[str, torch.Tensor], *, prefix: bool = True, legacy: bool = True,
                           wrapped: bool = True, gpu_saved: bool = False) -> Path:
    """Save `state` as the released checkpoints are: under `state_dict` with `module.` keys and training entries
    (a small real Adam state stands in for the optimizer's), legacy file format; each can be turned off.
    `gpu_saved`: every tensor tagged as saved from 'cuda:0', as the released files are (loading them without
    map_location fails on a machine with no GPU)."""
    keys = {("module." + key if prefix else key): value for key, value in state.items()}
    if wrapped:
        parameter = torch.nn.Parameter(torch.ones(3))
        optimizer = torch.optim.Adam([parameter])
        parameter.sum().backward()
        optimizer.step()
        data: object = {"state_dict": keys, "optimizer": optimizer.state_dict(), "global_step": 123456,
                        "global_epoch": 42}
    else:
        data = keys
    path.parent.mkdir(parents=True, exist_ok=True)
    if not gpu_saved:
        torch.save(data, path, _use_new_zipfile_serialization=not legacy)
        return path
    real_tag = serialization.location_tag
    serialization.location_tag = lambda storage: "cuda:0"  # what torch.save records for a GPU tensor
    try:
        torch.save(data, path, _use_new_zipfile_serialization=not legacy)
    finally:
        serialization.location_tag = real_tag
    return path


def numpy_state(model: Wav2LipGenerator, seed: int, conv_scale: float = 1.7) -> dict[str, torch.Tensor]:
    """Weights from numpy's seeded generator (stable across torch versions), for outputs pinned in a test:
    convs uniform in +-conv_scale/sqrt(fan in) (1.7: outputs spread over 0.06-0.92, none saturated), BatchNorm
    scales and variances in [0.5, 1.5], biases and means in [-0.1, 0.1]."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in model.state_dict().items():
        shape = tuple(value.shape)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000)
            continue
        if key.endswith("running_var") or (key.endswith(".weight") and len(shape) == 1):
            array = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 1:
            array = rng.uniform(-0.1, 0.1, shape)
        else:
            bound = conv_scale / np.sqrt(np.prod(shape[1:]))
            array = rng.uniform(-bound, bound, shape)
        state[key] = torch.from_numpy(array.astype(np.float32))
    return state
