"""The streaming audio-to-viseme network: causal dilated convolutions whose context lives in state tensors.

Every convolution only sees the past; look-ahead comes from training the output at step t to name the
viseme of feature frame t - LOOKAHEAD. Run on a whole utterance from zero states, or step by step with
the states carried over, it computes the same numbers, so the exported ONNX graph streams exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    n_mels: int = 40
    channels: int = 128
    classes: int = 15
    first_kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    lookahead: int = 4  # feature frames (10 ms each)
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def receptive_field(self) -> int:
        return self.first_kernel + sum(2 * d for d in self.dilations)


class StatefulConv(nn.Module):
    """A causal Conv1d whose left context comes from (and goes back to) a state tensor."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation)
        self.context = (kernel - 1) * dilation

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        full = torch.cat([state, x], dim=2)
        return self.conv(full), full[:, :, full.shape[2] - self.context:]


class VisemeNet(nn.Module):
    """(batch, n_mels, T) log-mel + states -> (batch, classes, T) logits + new states."""

    def __init__(self, config: NetConfig, mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", mean if mean is not None else torch.zeros(config.n_mels))
        self.register_buffer("std", std if std is not None else torch.ones(config.n_mels))
        self.first = StatefulConv(config.n_mels, config.channels, config.first_kernel)
        self.blocks = nn.ModuleList(StatefulConv(config.channels, config.channels, 3, d) for d in config.dilations)
        self.head = nn.Conv1d(config.channels, config.classes, 1)
        self.dropout = nn.Dropout(config.dropout)

    def state_shapes(self, batch: int = 1) -> list[tuple[int, int, int]]:
        shapes = [(batch, self.config.n_mels, self.first.context)]
        return shapes + [(batch, self.config.channels, b.context) for b in self.blocks]

    def initial_states(self, batch: int = 1) -> list[torch.Tensor]:
        """Zero states: the network 'heard' mean features (normalized zeros) before the start."""
        return [torch.zeros(s) for s in self.state_shapes(batch)]

    def forward(self, features: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = (features - self.mean[None, :, None]) / self.std[None, :, None]
        x, s0 = self.first(x, states[0])
        x = torch.relu(x)
        new_states = [s0]
        for block, state in zip(self.blocks, states[1:]):
            y, s = block(x, state)
            new_states.append(s)
            x = x + self.dropout(torch.relu(y))
        return (self.head(x), *new_states)


def export_onnx(net: VisemeNet, path: str) -> None:
    """A streaming graph: inputs features + state_0..n, outputs logits + next_state_0..n (time axis dynamic)."""
    net = net.eval()
    states = net.initial_states()
    n = len(states)
    example = torch.zeros(1, net.config.n_mels, 8)
    input_names = ["features"] + [f"state_{i}" for i in range(n)]
    output_names = ["logits"] + [f"next_state_{i}" for i in range(n)]
    torch.onnx.export(
        net, (example, *states), path, input_names=input_names, output_names=output_names,
        dynamic_axes={"features": {2: "frames"}, "logits": {2: "frames"}}, opset_version=17,
        dynamo=False, do_constant_folding=True,
    )
