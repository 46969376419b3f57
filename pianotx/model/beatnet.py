"""The beat tracker's networks: a temporal convolutional network over frames of rhythm
features, and a convolutional-recurrent network over the notes themselves.

Frame features of the notes (:mod:`pianotx.score.rhythm`, 50 frames/s) -> per-frame logits
of three classes: no beat, beat, downbeat. Non-causal dilated 1-D convolutions, as in the
TCN beat trackers of Davies & Böck (EUSIPCO 2019) and Böck & Davies (ISMIR 2020); with
kernel 5 and dilations 1-256 each frame sees about 20 s either side, several bars at any
tempo, which is what the downbeat needs. :class:`NoteBeatNet` reads one step per note
(:mod:`pianotx.score.noterhythm`); the tracker averages the two.
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
    tempo_bins: int = 0  # > 0: a tempo head over that many classes (score.rhythm.TEMPO_BPM)
    meter_heads: bool = False  # beats per bar (2, 3, 4) and division (simple, compound)
    gru: int = 0  # > 0: a bidirectional GRU of that many units a direction after the convolutions

    @property
    def head_sizes(self) -> dict[str, int]:
        """Output channels of each head, in the order the network emits them."""
        sizes = {"beat": 3}
        if self.tempo_bins:
            sizes["tempo"] = self.tempo_bins
        if self.meter_heads:
            sizes |= {"bar": 3, "division": 2}
        return sizes


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
    """``(batch, n_frames, n_features)`` features -> per-frame logits of the heads: beat
    classes (no beat, beat, downbeat), and optionally tempo classes and the meter."""

    def __init__(self, config: BeatNetConfig = BeatNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.inp = nn.Conv1d(config.n_features, config.channels, 3, padding=1)
        self.blocks = nn.Sequential(*(
            _Block(config.channels, config.kernel, 2 ** level, config.dropout)
            for level in range(config.levels)))
        self.gru = (nn.GRU(config.channels, config.gru, batch_first=True, bidirectional=True)
                    if config.gru else None)
        width = 2 * config.gru if config.gru else config.channels
        self.out = nn.Conv1d(width, sum(config.head_sizes.values()), 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_frames, channels)`` of every head, concatenated (see
        :func:`split_heads`)."""
        x = self.blocks(nn.functional.elu(self.inp(features.transpose(1, 2))))
        if self.gru is not None:
            x = self.gru(x.transpose(1, 2))[0].transpose(1, 2)
        return self.out(x).transpose(1, 2)


def split_heads(logits: torch.Tensor, config: BeatNetConfig) -> dict[str, torch.Tensor]:
    """The concatenated logits cut into one tensor per head (``beat``: no beat, beat,
    downbeat; ``tempo``; ``bar``: 2, 3, 4 beats; ``division``: simple, compound)."""
    return dict(zip(config.head_sizes, torch.split(logits, list(config.head_sizes.values()), dim=-1)))


@dataclass(frozen=True)
class NoteBeatNetConfig:
    """Sizes of :class:`NoteBeatNet`; saved with its weights."""

    n_features: int = 94
    channels: int = 96
    convs: int = 3
    kernel: int = 5
    gru: int = 96
    gru_layers: int = 2
    dropout: float = 0.1


class NoteBeatNet(nn.Module):
    """``(batch, n_notes, n_features)`` note features in onset order -> per-note logits of
    three classes (no beat, beat, downbeat): a linear embedding, residual convolutions over
    neighbouring notes (chords, figures), then a bidirectional GRU over the whole sequence (the
    CRNN of PM2S, Liu et al., ISMIR 2022)."""

    def __init__(self, config: NoteBeatNetConfig = NoteBeatNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.inp = nn.Linear(config.n_features, config.channels)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.channels, config.channels, config.kernel, padding=config.kernel // 2)
            for _ in range(config.convs))
        self.gru = nn.GRU(config.channels, config.gru, num_layers=config.gru_layers, batch_first=True,
                          bidirectional=True, dropout=config.dropout if config.gru_layers > 1 else 0.0)
        self.out = nn.Linear(2 * config.gru, 3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_notes, 3)``."""
        x = torch.relu(self.inp(features)).transpose(1, 2)
        for conv in self.convs:
            x = x + torch.relu(conv(x))
        return self.out(self.gru(x.transpose(1, 2))[0])
