"""Log-mel spectrogram in torch: one implementation for training and inference, any device.

Parameters follow the paper (and Kong et al.): 16 kHz, n_fft 2048, Hann window 2048,
hop 160 (100 frames/s), 229 Slaney mel bands from 30 to 8000 Hz, natural log of the power
mel spectrogram with a floor, so silence gives ``log(floor)`` and never -inf or NaN.
The filterbank equals ``librosa.filters.mel`` (checked in tests) but needs no librosa.
"""

from __future__ import annotations

import torch
from torch import nn

from pianotx.config import FeatureConfig
from pianotx.audio.spectrum import filterbank, mel_filterbank, n_frames

__all__ = ["LogMel", "mel_filterbank", "n_frames"]


class LogMel(nn.Module):
    """Audio ``(batch, n_samples)`` -> log-mel ``(batch, n_frames, n_features)``: the mel
    bands, then the log-frequency bands where ``config.logfreq_bands`` asks for them.

    With ``center=True`` the audio is zero-padded by ``n_fft // 2`` on both sides (librosa's
    default) and ``n_frames = 1 + n_samples // hop``. With ``center=False`` the caller has
    padded already and ``n_frames = 1 + (n_samples - n_fft) // hop``.
    """

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        self.register_buffer(
            "filterbank", torch.from_numpy(filterbank(config)), persistent=False
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
