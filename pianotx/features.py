"""Log-mel spectrogram in torch: one implementation for training and inference, any device.

Parameters follow the paper (and Kong et al.): 16 kHz, n_fft 2048, Hann window 2048,
hop 160 (100 frames/s), 229 Slaney mel bands from 30 to 8000 Hz, natural log of the power
mel spectrogram with a floor, so silence gives ``log(floor)`` and never -inf or NaN.
The filterbank equals ``librosa.filters.mel`` (checked in tests) but needs no librosa.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pianotx.config import FeatureConfig


def n_frames(n_samples: int, *, hop_length: int) -> int:
    """Frames of a centred STFT over ``n_samples``: ``1 + n_samples // hop_length``."""
    return 1 + n_samples // hop_length


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_part = hz >= 1000.0
    mel[log_part] = 15.0 + np.log(hz[log_part] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * (200.0 / 3)
    log_part = mel >= 15.0
    hz[log_part] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_part] - 15.0))
    return hz


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """Return the Slaney-normalised mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``."""
    fft_hz = np.linspace(0.0, config.sample_rate / 2, 1 + config.n_fft // 2)
    edges_hz = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([config.fmin]))[0], _hz_to_mel(np.array([config.fmax]))[0],
                    config.n_mels + 2)
    )
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Audio ``(batch, n_samples)`` -> log-mel ``(batch, n_frames, n_mels)``.

    With ``center=True`` the audio is zero-padded by ``n_fft // 2`` on both sides (librosa's
    default) and ``n_frames = 1 + n_samples // hop``. With ``center=False`` the caller has
    padded already and ``n_frames = 1 + (n_samples - n_fft) // hop``.
    """

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer(
            "filterbank", torch.from_numpy(mel_filterbank(config)), persistent=False
        )

    def forward(self, audio: torch.Tensor, *, center: bool = True) -> torch.Tensor:
        cfg = self.config
        audio = audio.float()
        if center:
            audio = nn.functional.pad(audio, (cfg.n_fft // 2, cfg.n_fft // 2))
        spec = torch.stft(
            audio,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            window=self.window,
            center=False,
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.filterbank, power)
        return torch.log(torch.clamp(mel, min=cfg.log_floor)).transpose(1, 2)
