"""The Wav2Lip generator (Prajwal et al. 2020, "A Lip Sync Expert Is All You Need"), written in our own torch code.

Its modules are named and shaped as in the authors' released checkpoints, so `wav2lip.pth` and `wav2lip_gan.pth`
load without conversion (checkpoint.py). Layout: a U-Net whose face encoder takes the 6-channel 96x96 input (the
target face with its lower half masked, stacked with a reference face) down to 1x1; the audio encoder takes an
80-band x 16-frame mel window to a 512-vector; the decoder grows the audio vector back to 96x96, joining each face
encoder level by concatenation (skip connections); a sigmoid gives the face in [0, 1].

Every conv block is conv -> BatchNorm -> (+ input when residual) -> ReLU; the checkpoint keys are therefore
`<block>.conv_block.0.weight` (conv) and `<block>.conv_block.1.*` (BatchNorm). Importing this module needs torch.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

from .spec import FACE_CHANNELS

Size = Union[int, tuple[int, int]]


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm2d, plus the input when `residual` (same channels, stride 1), then ReLU."""

    def __init__(self, cin: int, cout: int, kernel: Size, stride: Size, padding: Size,
                 residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_block(x)
        if self.residual:
            y = y + x
        return self.act(y)


class UpBlock(nn.Module):
    """ConvTranspose2d + BatchNorm2d + ReLU: the decoder's upsampling step."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding),
                                        nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _down(cin: int, cout: int, stride: Size, residuals: int, kernel: int = 3, padding: int = 1) -> list[nn.Module]:
    """A strided block that changes the channel count, then `residuals` 3x3 residual blocks at `cout`."""
    return [ConvBlock(cin, cout, kernel, stride, padding)] + [ConvBlock(cout, cout, 3, 1, 1, residual=True)
                                                             for _ in range(residuals)]


def _up(cin: int, cout: int, residuals: int, stride: int = 2, padding: int = 1, output_padding: int = 1
        ) -> nn.Sequential:
    """A transposed conv from the concatenated skip + decoder features, then `residuals` residual blocks."""
    return nn.Sequential(UpBlock(cin, cout, 3, stride, padding, output_padding),
                         *[ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals)])


def _face_encoder() -> nn.ModuleList:
    """96 -> 48 -> 24 -> 12 -> 6 -> 3 -> 1; each level's output is kept for the decoder's skip connections."""
    return nn.ModuleList([
        nn.Sequential(ConvBlock(FACE_CHANNELS, 16, 7, 1, 3)),  # 96x96
        nn.Sequential(*_down(16, 32, 2, 2)),  # 48x48
        nn.Sequential(*_down(32, 64, 2, 3)),  # 24x24
        nn.Sequential(*_down(64, 128, 2, 2)),  # 12x12
        nn.Sequential(*_down(128, 256, 2, 2)),  # 6x6
        nn.Sequential(*_down(256, 512, 2, 1)),  # 3x3
        nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),  # 1x1
    ])


def _audio_encoder() -> nn.Sequential:
    """(1, 80, 16) mel -> (512, 1, 1): strides (3,1), 3, (3,2) shrink 80x16 to 3x3, a 3x3 valid conv to 1x1."""
    return nn.Sequential(
        *_down(1, 32, 1, 2),  # 80x16
        *_down(32, 64, (3, 1), 2),  # 27x16
        *_down(64, 128, 3, 2),  # 9x6
        *_down(128, 256, (3, 2), 1),  # 3x3
        ConvBlock(256, 512, 3, 1, 0),  # 1x1
        ConvBlock(512, 512, 1, 1, 0),
    )


def _face_decoder() -> nn.ModuleList:
    """1 -> 3 -> 6 -> 12 -> 24 -> 48 -> 96; each step's input is the previous output joined with the encoder's
    same-size level (so its input channels are the sum of both)."""
    return nn.ModuleList([
        nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),  # 1x1, joined with the face's 512 -> 1024
        _up(1024, 512, 1, stride=1, padding=0, output_padding=0),  # 3x3, + 512 -> 1024
        _up(1024, 512, 2),  # 6x6, + 256 -> 768
        _up(768, 384, 2),  # 12x12, + 128 -> 512
        _up(512, 256, 2),  # 24x24, + 64 -> 320
        _up(320, 128, 2),  # 48x48, + 32 -> 160
        _up(160, 64, 2),  # 96x96, + 16 -> 80
    ])


class Wav2LipGenerator(nn.Module):
    """forward(mel (B, 1, 80, 16), face (B, 6, 96, 96)) -> face (B, 3, 96, 96) in [0, 1].

    Argument order as the original (audio first). Batch axis only: the original's (B, T, ...) sequence form
    is the caller's to flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = _face_encoder()
        self.audio_encoder = _audio_encoder()
        self.face_decoder_blocks = _face_decoder()
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        skips = []
        x = face
        for block in self.face_encoder_blocks:
            x = block(x)
            skips.append(x)
        x = self.audio_encoder(mel)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), skips.pop()), dim=1)
        return self.output_block(x)


def build_generator(seed: int | None = None) -> Wav2LipGenerator:
    """A generator in eval mode; with `seed`, its random initial weights are reproducible (tests, benchmarks)."""
    if seed is None:
        return Wav2LipGenerator().eval()
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return Wav2LipGenerator().eval()
    finally:
        torch.random.set_rng_state(state)
