"""Log-mel spectrogram without torch: the filterbank, frame counts, and a NumPy log-mel
equal to :class:`pianotx.features.LogMel` within 1e-5 (used by the ONNX Runtime engine, so
transcribing on a CPU needs no torch import).
"""

from __future__ import annotations

import functools

import numpy as np

from pianotx.config import FeatureConfig
from pianotx.errors import ConfigError


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


def hann_window(length: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window``'s default), float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _constants(config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    return hann_window(config.n_fft), np.ascontiguousarray(mel_filterbank(config).T)


def log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Padded audio windows ``(batch, n_samples)`` -> log-mel ``(batch, n_frames, n_mels)``
    with ``n_frames = 1 + (n_samples - n_fft) // hop`` (``LogMel(center=False)``)."""
    if config.win_length != config.n_fft:
        raise ConfigError("log_mel needs win_length == n_fft")
    window, bank = _constants(config)
    out = []
    for row in np.asarray(audio, np.float32):
        frames = np.lib.stride_tricks.sliding_window_view(row, config.n_fft)[:: config.hop_length]
        spec = np.fft.rfft(frames * window, axis=-1)  # complex64 for float32 input
        power = spec.real * spec.real + spec.imag * spec.imag
        out.append(np.log(np.maximum(power @ bank, config.log_floor)))
    return np.stack(out).astype(np.float32, copy=False)
