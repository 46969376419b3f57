"""The beat tracker's network: a temporal convolutional network over rhythm features.

Frame features of the notes (:mod:`pianotx.score.rhythm`, 50 frames/s) -> per-frame logits
of three classes: no beat, beat, downbeat. Non-causal dilated 1-D convolutions, as in the
TCN beat trackers of Davies & Böck (EUSIPCO 2019) and Böck & Davies (ISMIR 2020); with
kernel 5 and dilations 1-256 each frame sees about 20 s either side, several bars at any
tempo, which is what the downbeat needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class BeatNetConfig:
    """Sizes of :class:`BeatNet`; saved with its weights."""

    n_features: int = 32
    channels: int = 32
    kernel: int = 5
    levels: int = 9  # dilations 1, 2, 4, ... 2 ** (levels - 1)
    dropout: float = 0.1


class _Block(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.dilated = nn.Conv1d(channels, channels, kernel, dilation=dilation,
                                 padding=dilation * (kernel - 1) // 2)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(self.drop(nn.functional.elu(self.dilated(x))))


class BeatNet(nn.Module):
    """``(batch, n_frames, n_features)`` features -> ``(batch, n_frames, 3)`` class logits."""

    def __init__(self, config: BeatNetConfig = BeatNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.inp = nn.Conv1d(config.n_features, config.channels, 3, padding=1)
        self.blocks = nn.Sequential(*(
            _Block(config.channels, config.kernel, 2 ** level, config.dropout)
            for level in range(config.levels)))
        self.out = nn.Conv1d(config.channels, 3, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = nn.functional.elu(self.inp(features.transpose(1, 2)))
        return self.out(self.blocks(x)).transpose(1, 2)
