"""The paper's FCNN and CRNN: a small U-Net-like trunk with residual convs and two heads.

Trunk (per the paper and its code): input normalisation over mel bins; two down blocks
(3x3 conv, residual 3x3 conv, tanh, 2x2 max-pool; 1 -> 16 -> 64 channels); a residual
middle block; an up block (bilinear x2, 64 -> 16) concatenated with the first block's
pooled output (skip); a final up block (32 -> 4) resized bilinearly to 88 keys by the input
frame count. Heads: the FCNN runs a Conv1d over time on the 4 x 88 features; the CRNN a
bidirectional GRU and a linear layer. Predictions are at the input frame rate (100/s), one
logit per key and head. ``width`` scales every channel count.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pianotx.config import N_KEYS, ModelConfig
from pianotx.model.freqnet import DilatedHead, FreqTrunk, TemporalHead
from pianotx.engine.windows import receptive_frames  # noqa: F401  (re-exported)

TIME_MULTIPLE = 4  # two 2x2 poolings


class ResidualBlock(nn.Module):
    """``tanh(h + conv2(h))`` with ``h = tanh(conv1(x))``; 3x3 convs, same size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv1(x))
        return torch.tanh(h + self.conv2(h))


class MiddleBlock(nn.Module):
    """``tanh(x + conv2(tanh(conv1(x))))``: the residual bottleneck."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x + self.conv2(torch.tanh(self.conv1(x))))


class Trunk(nn.Module):
    """Log-mel ``(B, T, n_mels)`` -> key features ``(B, 4 * width * 88, T + extra)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2, c_out = config.channels(16), config.channels(64), config.channels(4)
        self.out_channels = c_out
        self.norm = nn.BatchNorm1d(config.n_mels)
        self.down1 = ResidualBlock(1, c1)
        self.down2 = ResidualBlock(c1, c2)
        self.middle = MiddleBlock(c2)
        self.up1 = ResidualBlock(c2, c1)
        self.up2 = ResidualBlock(2 * c1, c_out)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, mel: torch.Tensor, *, out_frames: int) -> torch.Tensor:
        x = self.norm(mel.transpose(1, 2)).unsqueeze(1)  # (B, 1, n_mels, T)
        skip = F.max_pool2d(self.down1(x), 2)
        x = F.max_pool2d(self.down2(skip), 2)
        x = self.middle(x)
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.cat([self.up1(x), skip], dim=1)
        x = F.interpolate(x, size=(N_KEYS, out_frames), mode="bilinear", align_corners=False)
        x = self.dropout(self.up2(x))  # (B, c_out, 88, out_frames)
        return x.flatten(1, 2)


class FCNN(nn.Module):
    """Fully convolutional: trunk + Conv1d over time (the paper's head, kernel 6), or the
    frequency-pooling trunk and its temporal conv head (``trunk='freq'``)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        if config.trunk == "freq":
            self.trunk = FreqTrunk(config)
            n_out = _n_outputs(config)
            self.head = (DilatedHead(config.hidden, n_out) if config.temporal_head == "dilated"
                         else TemporalHead(config.hidden, n_out, config.head_kernel))
            return
        self.trunk = Trunk(config)
        self.head = nn.Conv1d(
            self.trunk.out_channels * N_KEYS, _n_outputs(config), config.head_kernel
        )

    def forward(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.config.trunk == "freq":
            return _split_heads(self.head(self.trunk(mel)), self.config, mel.shape[1])
        n_frames, padded = _pad_time(mel)
        k = self.config.head_kernel
        if self.config.head_align == "resize":  # checkpoints before 0.3 (see ModelConfig)
            features = self.trunk(padded, out_frames=padded.shape[1] + k - 1)
        else:  # the unpadded Conv1d sees frames t - (k-1)//2 .. t + k//2 at every frame t
            features = F.pad(self.trunk(padded, out_frames=padded.shape[1]),
                             ((k - 1) // 2, k // 2))
        return _split_heads(self.head(features), self.config, n_frames)


class CRNN(nn.Module):
    """Convolutional-recurrent: trunk + bidirectional GRU + linear (the paper's CRNN)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        freq = config.trunk == "freq"
        self.trunk = FreqTrunk(config) if freq else Trunk(config)
        hidden = config.channels(config.gru_hidden)
        n_in = config.hidden if freq else self.trunk.out_channels * N_KEYS
        self.gru = nn.GRU(n_in, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, _n_outputs(config))

    def forward(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.config.trunk == "freq":
            n_frames, features = mel.shape[1], self.trunk(mel).transpose(1, 2)
        else:
            n_frames, padded = _pad_time(mel)
            features = self.trunk(padded, out_frames=padded.shape[1]).transpose(1, 2)
        hidden, _ = self.gru(features)
        return _split_heads(self.head(hidden).transpose(1, 2), self.config, n_frames)


ARCHITECTURES: dict[str, type[nn.Module]] = {"fcnn": FCNN, "crnn": CRNN}


def build_model(config: ModelConfig) -> nn.Module:
    """Return an untrained model for ``config`` (architecture chosen by ``config.arch``)."""
    return ARCHITECTURES[config.arch](config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _pad_time(mel: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Replicate-pad ``(B, T, n_mels)`` to a multiple of 4 frames (at least 4)."""
    n_frames = mel.shape[1]
    target = max(TIME_MULTIPLE, -(-n_frames // TIME_MULTIPLE) * TIME_MULTIPLE)
    if target == n_frames:
        return n_frames, mel
    padded = F.pad(mel.transpose(1, 2), (0, target - n_frames), mode="replicate")
    return n_frames, padded.transpose(1, 2)


def _n_outputs(config: ModelConfig) -> int:
    return sum(config.head_width(name) for name in config.head_names)


def _split_heads(
    logits: torch.Tensor, config: ModelConfig, n_frames: int
) -> dict[str, torch.Tensor]:
    """``(B, sum of head widths, T')`` -> {head: ``(B, n_frames, width)``} logits."""
    widths = [config.head_width(name) for name in config.head_names]
    parts = torch.split(logits[..., :n_frames], widths, dim=1)
    return {name: part.transpose(1, 2) for name, part in zip(config.head_names, parts)}
