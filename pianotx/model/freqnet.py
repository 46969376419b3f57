"""The note models' trunk and FCNN head: pooling along frequency only, so every output
frame keeps the input's 10 ms time resolution (Onsets and Frames, Kong et al.).

Trunk: input normalisation over mel bins; four 3x3 conv + BatchNorm + ReLU layers
(1 -> c1 -> c1, 2x frequency max-pool, -> c2, 2x frequency max-pool, -> c2); the
``c2 x 57`` values of each frame are projected to ``hidden`` features by a 1x1 Conv1d.
The FCNN head is two Conv1d layers over time (kernel ``head_kernel``, same padding,
residual) and a 1x1 Conv1d to the head rolls; the CRNN head (in :mod:`pianotx.model.networks`)
is the paper's bidirectional GRU and linear layer on the same features.

Options (all off in the shipped model): ``diff_input`` feeds the trunk a second
channel, the normalised log-mel's difference from the previous frame (Onsets and
Velocities, Fernandez 2023); ``temporal_head='dilated'`` replaces the FCNN head's two convs
by four residual kernel-3 convs dilated 1, 2, 4, 8 (15 frames of context each side);
``harmonic`` adds :class:`HarmonicBranch` beside the log-mel.
"""

from __future__ import annotations

import torch
from torch import nn

from pianotx.config import HARMONIC_OFFSETS, LOGFREQ_BANDS, N_KEYS, ModelConfig


class FreqPool(nn.Module):
    """Max over pairs of frequency rows, ``(B, C, F, T) -> (B, C, F // 2, T)``: the same
    values as ``nn.MaxPool2d((2, 1))``, three to five times faster on a CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[2] // 2 * 2
        return torch.maximum(x[:, :, 0:rows:2], x[:, :, 1:rows:2])


def _conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def harmonic_stack(bands: torch.Tensor) -> torch.Tensor:
    """Semitone bands ``(B, C, LOGFREQ_BANDS, T)`` (band 0 is A0) -> ``(B, C * H, 88, T)``:
    for each key, the bands :data:`HARMONIC_OFFSETS` semitones from it, where its partials
    (or the keys whose partial it may be) lie; bands outside the range read 0."""
    low = -min(HARMONIC_OFFSETS)
    high = max(0, N_KEYS + max(HARMONIC_OFFSETS) - bands.shape[2])
    padded = torch.nn.functional.pad(bands, (0, 0, low, high))
    return torch.cat([padded[:, :, low + o: low + o + N_KEYS] for o in HARMONIC_OFFSETS], dim=1)


class HarmonicBranch(nn.Module):
    """Log-frequency bands ``(B, T, LOGFREQ_BANDS)`` -> a per-frame contribution
    ``(B, hidden, T)`` to the trunk's features, before their ReLU.

    The bands are normalised, stacked by :func:`harmonic_stack` so that one key's partials
    (1-8, and the three keys below whose partial it may be) are channels of one position,
    and read by two 3x3 conv + BatchNorm + ReLU layers over (key, time) (HPPNet's harmonic
    view, Wei et al. 2022; Basic Pitch's harmonic stacking): at C2 the fundamental falls
    between two STFT bins, but partials 4-8 lie where the bins are finer than a semitone.
    The last projection starts at zero, so a model warm-started from one without the branch
    begins with that model's outputs."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2 = config.channels(16), config.channels(8)
        self.norm = nn.BatchNorm1d(LOGFREQ_BANDS)
        self.convs = nn.Sequential(_conv_bn(len(HARMONIC_OFFSETS), c1), _conv_bn(c1, c2))
        self.project = nn.Conv1d(c2 * N_KEYS, config.hidden, 1)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, bands: torch.Tensor) -> torch.Tensor:
        x = harmonic_stack(self.norm(bands.transpose(1, 2)).unsqueeze(1))  # (B, H, 88, T)
        return self.project(self.convs(x).flatten(1, 2))


class FreqTrunk(nn.Module):
    """Features ``(B, T, n_mels [+ LOGFREQ_BANDS])`` -> frame features ``(B, hidden, T)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2 = config.channels(16), config.channels(32)
        self.n_mels = config.n_mels
        self.harmonic = HarmonicBranch(config) if config.harmonic else None
        self.norm = nn.BatchNorm1d(config.n_mels)
        self.convs = nn.Sequential(
            _conv_bn(2 if config.diff_input else 1, c1), _conv_bn(c1, c1), FreqPool(),
            _conv_bn(c1, c2), FreqPool(), _conv_bn(c2, c2),
        )
        self.diff_input = config.diff_input
        self.channels_last = False  # set by for_inference
        self.out_channels = config.hidden
        self.project = nn.Sequential(
            nn.Conv1d(c2 * (config.n_mels // 4), config.hidden, 1),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mel = features[..., : self.n_mels]
        x = self.norm(mel.transpose(1, 2)).unsqueeze(1)  # (B, 1, n_mels, T)
        if self.diff_input:  # x[t] - x[t-1], 0 at t = 0: (B, 2, n_mels, T)
            step = torch.nn.functional.pad(x[..., 1:] - x[..., :-1], (1, 0))
            x = torch.cat([x, step], dim=1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.convs(x)  # (B, c2, n_mels // 4, T)
        linear, relu, dropout = self.project
        if isinstance(linear, nn.Conv2d):  # for_inference: no channels-last copy
            h = linear(x).squeeze(2)
        else:
            h = linear(x.flatten(1, 2))
        if self.harmonic is not None:
            h = h + self.harmonic(features[..., self.n_mels:])
        return dropout(relu(h))


class TemporalHead(nn.Module):
    """Features ``(B, hidden, T)`` -> logits ``(B, n_out, T)`` by convolution over time."""

    def __init__(self, hidden: int, n_out: int, kernel: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(hidden, hidden, kernel, padding=pad)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel, padding=pad)
        self.out = nn.Conv1d(hidden, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_frames = x.shape[-1]
        h = torch.relu(self.conv1(x))[..., :n_frames]
        h = torch.relu(x + self.conv2(h)[..., :n_frames])
        return self.out(h)


class DilatedHead(nn.Module):
    """Features ``(B, hidden, T)`` -> logits ``(B, n_out, T)``: four residual kernel-3 convs
    over time, dilated 1, 2, 4, 8 (``h = relu(h + conv(h))``), then a 1x1 conv."""

    DILATIONS = (1, 2, 4, 8)

    def __init__(self, hidden: int, n_out: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d) for d in self.DILATIONS
        )
        self.out = nn.Conv1d(hidden, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = torch.relu(h + conv(h))
        return self.out(h)


def for_inference(net: nn.Module) -> nn.Module:
    """An eval-mode copy of a freq-trunk model for inference: each BatchNorm folded into
    its convolution and the convolutions in channels-last layout (about 1.6x faster on a
    CPU; outputs equal within float rounding). Training models are left untouched, and a
    model with another trunk (the paper's) is returned as it is."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if not isinstance(getattr(net, "trunk", None), FreqTrunk):
        return net
    fast = copy.deepcopy(net).eval()
    trunk = fast.trunk
    blocks = list(trunk.convs) + (list(trunk.harmonic.convs) if trunk.harmonic else [])
    for block in blocks:
        if isinstance(block, nn.Sequential):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
    trunk.convs = trunk.convs.to(memory_format=torch.channels_last)
    trunk.channels_last = True
    # The 1x1 Conv1d over the flattened (channel, bin) rows as one Conv2d spanning every
    # bin: same weights, and it reads the channels-last maps without a copy.
    flat = trunk.project[0]
    n_bins = flat.in_channels // trunk.convs[-1][0].out_channels
    conv = nn.Conv2d(flat.in_channels // n_bins, flat.out_channels, (n_bins, 1))
    conv.weight.data = flat.weight.data.reshape(flat.out_channels, -1, n_bins, 1)
    conv.bias.data = flat.bias.data.clone()
    trunk.project[0] = conv.to(memory_format=torch.channels_last)
    return fast
