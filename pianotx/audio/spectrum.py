"""Log-mel spectrogram without torch: the filterbanks, frame counts, and a NumPy log-mel
equal to :class:`pianotx.audio.features.LogMel` within 1e-5 (used by the ONNX Runtime engine, so
transcribing on a CPU needs no torch import).

The front end's filterbank is the mel bands, then (``FeatureConfig.logfreq_bands``) one
log-frequency band per semitone from A0, both over the same STFT power.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from pianotx.config import MIN_MIDI, FeatureConfig
from pianotx.errors import ConfigError, missing_extra


def n_frames(n_samples: int, *, hop_length: int) -> int:
    """Frames of a centred STFT over ``n_samples``: ``1 + n_samples // hop_length``."""
    return 1 + n_samples // hop_length


FILTERS = Path(__file__).resolve().parent / "mel_filters.npz"  # scripts/make_mel_filters.py


def filterbank_key(config: FeatureConfig) -> tuple[float, ...]:
    """What the mel filterbank depends on: rate, FFT size, band count, band edges."""
    return (config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """librosa's Slaney mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, float32.

    The default front end's is stored with the package (made by librosa), so transcribing
    needs no librosa; any other configuration asks librosa (the ``train`` extra).

    Raises
    ------
    MissingExtraError
        For a non-default front end without librosa installed.
    """
    stored = np.load(FILTERS)
    if tuple(stored["key"]) == filterbank_key(config):
        return stored["weights"]
    try:
        import librosa
    except ImportError:
        raise missing_extra("librosa", f"a mel front end other than the default "
                            f"({config.n_mels} bands, {config.fmin}-{config.fmax} Hz)") from None
    return librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                               fmin=config.fmin, fmax=config.fmax).astype(np.float32)


def logfreq_filterbank(config: FeatureConfig) -> np.ndarray:
    """One band per semitone from A0, shape ``(logfreq_bands, n_fft // 2 + 1)``, float32.

    Band ``b`` is centred on MIDI note ``21 + b`` (equal temperament, A4 = 440 Hz). Its
    weights are a triangle over log-frequency reaching zero one semitone either side, or,
    where an STFT bin is wider than that (below about 250 Hz at n_fft 2048), the linear
    interpolation of the spectrum at the centre frequency; each band's weights sum to 1,
    so a band is the mean power around its note. Bands above the Nyquist frequency are zero.
    """
    freqs = np.arange(config.n_fft // 2 + 1) * config.sample_rate / config.n_fft
    bin_hz = config.sample_rate / config.n_fft
    bank = np.zeros((config.logfreq_bands, len(freqs)), np.float64)
    with np.errstate(divide="ignore"):
        semitones = 12.0 * np.log2(freqs / 440.0) + 69.0  # -inf at 0 Hz
    for band in range(config.logfreq_bands):
        centre = 440.0 * 2.0 ** ((MIN_MIDI + band - 69) / 12.0)
        if centre >= config.sample_rate / 2:
            continue
        triangle = np.clip(1.0 - np.abs(semitones - (MIN_MIDI + band)), 0.0, None)
        interpolated = np.clip(1.0 - np.abs(freqs - centre) / bin_hz, 0.0, None)
        weights = np.maximum(triangle, interpolated)
        bank[band] = weights / weights.sum()
    return bank.astype(np.float32)


def filterbank(config: FeatureConfig) -> np.ndarray:
    """The front end's bands, shape ``(n_features, n_fft // 2 + 1)``: the mel bands, then
    the log-frequency bands (none by default)."""
    mel = mel_filterbank(config)
    if not config.logfreq_bands:
        return mel
    return np.concatenate([mel, logfreq_filterbank(config)])


def hann_window(length: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window``'s default), float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _constants(config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    return hann_window(config.n_fft), np.ascontiguousarray(filterbank(config).T)


def log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Padded audio windows ``(batch, n_samples)`` -> log-mel ``(batch, n_frames, n_features)``
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
