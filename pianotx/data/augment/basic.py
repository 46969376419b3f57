"""Audio augmentation for training crops: gain, EQ, room reverb, noise, slight detune.

Augmentation is applied on the fly, in the data loader, to each training crop, never
rendered into files. The reasons: the files on disk stay clean, so the same folder serves
evaluation and the validation split is never perturbed by accident; every epoch sees new
rooms, EQs and noise instead of one frozen rendering, so the variety is unlimited at no
disk cost; and changing a range in :class:`AugmentConfig` takes effect at the next run
without re-rendering anything. The whole chain costs a few milliseconds per 10 s crop
(mostly three FFTs of the crop), small beside a training step.

Every random choice comes from the ``numpy.random.Generator`` passed in, so an item's
augmentation is a pure function of its seed. Detune resamples the crop; it changes pitch
by at most ~1/3 semitone, well inside one key, so pitch labels are unchanged, but it also
scales time by the same ratio (at most 1.8%). :class:`~pianotx.data.crops.SegmentDataset`
therefore draws the parameters first (:func:`draw`), reads a source window that much
longer or shorter, and scales the label times to match; :func:`augment` on its own keeps
the input length by cropping/padding.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from pianotx.config import SAMPLE_RATE
from pianotx.errors import ConfigError

PEAK_LIMIT = 0.99  # scale the crop down if it would peak above this
SILENCE_POWER = 1e-6  # -60 dBFS: noise level reference for silent crops
EQ_LIMIT_DB = 15.0
EQ_GRID = 512  # points on which the smooth EQ curve is computed


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (``*_prob``, each effect drawn independently) and uniform ranges."""

    gain_prob: float = 0.8
    gain_db_min: float = -12.0
    gain_db_max: float = 6.0
    eq_prob: float = 0.5
    tilt_db_per_octave_max: float = 2.0  # spectral tilt in +-this, around 1 kHz
    bell_db_max: float = 8.0  # one peaking band with gain in +-this
    bell_hz_min: float = 80.0
    bell_hz_max: float = 6000.0
    reverb_prob: float = 0.4
    rt60_s_min: float = 0.2
    rt60_s_max: float = 1.2
    predelay_s_max: float = 0.02
    wet_min: float = 0.1
    wet_max: float = 0.5
    noise_prob: float = 0.4
    snr_db_min: float = 15.0
    snr_db_max: float = 45.0
    pink_prob: float = 0.5
    detune_prob: float = 0.3
    detune_semitones_min: float = 0.1
    detune_semitones_max: float = 0.3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value):
                raise ConfigError(f"AugmentConfig.{f.name} must be finite, got {value}")
            if f.name.endswith("_prob") and not 0.0 <= value <= 1.0:
                raise ConfigError(f"AugmentConfig.{f.name} must lie in [0, 1], got {value}")
            if f.name.endswith("_min"):
                high = getattr(self, f.name[:-4] + "_max")
                if value > high:
                    raise ConfigError(f"AugmentConfig.{f.name} ({value}) exceeds its _max ({high})")
        positive = ("rt60_s_min", "bell_hz_min", "detune_semitones_min")
        if any(getattr(self, name) <= 0 for name in positive) or self.predelay_s_max < 0:
            raise ConfigError(f"AugmentConfig {', '.join(positive)} must be > 0")
        if self.detune_semitones_max > 1.0 or self.wet_max > 1.0 or self.wet_min < 0.0:
            raise ConfigError("AugmentConfig detune must stay within 1 semitone, wet within [0, 1]")


class Params(NamedTuple):
    """One drawn augmentation; ``None``/neutral values mean the effect is off."""

    gain_db: float
    eq: tuple[float, float, float, float] | None  # tilt dB/oct, bell dB, bell Hz, width oct
    reverb: tuple[float, float, float] | None  # rt60 s, pre-delay s, wet share
    snr_db: float | None
    pink: bool
    speed: float  # resampling ratio: > 1 raises pitch; 1.0 means no detune


def draw(rng: np.random.Generator, config: AugmentConfig) -> Params:
    """Draw the parameters of one augmentation from ``rng``."""
    c = config
    on = rng.random(5) < (c.gain_prob, c.eq_prob, c.reverb_prob, c.noise_prob, c.detune_prob)
    u = rng.random(12)  # always draw the same count so each effect's values are stable
    gain_db = _lerp(u[0], c.gain_db_min, c.gain_db_max) if on[0] else 0.0
    eq = None
    if on[1]:
        bell_hz = c.bell_hz_min * (c.bell_hz_max / c.bell_hz_min) ** u[3]
        eq = (
            _lerp(u[1], -1, 1) * c.tilt_db_per_octave_max,
            _lerp(u[2], -1, 1) * c.bell_db_max,
            bell_hz,
            _lerp(u[4], 0.3, 1.5),
        )
    reverb = None
    if on[2]:
        reverb = (
            _lerp(u[5], c.rt60_s_min, c.rt60_s_max),
            u[6] * c.predelay_s_max,
            _lerp(u[7], c.wet_min, c.wet_max),
        )
    snr_db = _lerp(u[8], c.snr_db_min, c.snr_db_max) if on[3] else None
    semitones = _lerp(u[10], c.detune_semitones_min, c.detune_semitones_max)
    speed = 2.0 ** (np.sign(u[11] - 0.5) * semitones / 12.0) if on[4] else 1.0
    return Params(gain_db, eq, reverb, snr_db, bool(u[9] < c.pink_prob), float(speed))


def augment(
    audio: np.ndarray,
    rng: np.random.Generator,
    config: AugmentConfig,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Return a randomly augmented copy of ``audio``, the same length, peak below 1.

    Parameters
    ----------
    audio : np.ndarray, shape=(n_samples,)
        Mono audio; not modified.
    rng : numpy.random.Generator
        Source of every random choice.
    config : AugmentConfig
        Probabilities and ranges.
    sample_rate : int
        Rate of ``audio`` in Hz.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
    """
    audio = np.asarray(audio, dtype=np.float32)
    return apply(audio, draw(rng, config), rng, n_samples=len(audio), sample_rate=sample_rate)


def apply(
    audio: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    *,
    n_samples: int,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Apply drawn ``params`` to ``audio`` and return ``n_samples`` float32 samples.

    Detune resamples ``audio`` by ``params.speed`` first; the result is cropped or
    zero-padded to ``n_samples`` (pass ``round(n_samples * speed)`` input samples for an
    exact fit). Then EQ, reverb and noise in one frequency-domain pass, gain, peak limit.
    """
    x = np.asarray(audio, dtype=np.float32)
    if params.speed != 1.0 and len(x) > 1:
        import soxr

        x = soxr.resample(x, sample_rate * params.speed, sample_rate, quality="QQ")
    x = _fit(x, n_samples)
    if params.eq is not None or params.reverb is not None or params.snr_db is not None:
        x = _spectral(x, params, rng, sample_rate)
    x = x * np.float32(10.0 ** (params.gain_db / 20.0))
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > PEAK_LIMIT:
        x = x * np.float32(PEAK_LIMIT / peak)
    return x.astype(np.float32, copy=False)


def _spectral(x: np.ndarray, params: Params, rng: np.random.Generator, sr: int) -> np.ndarray:
    """EQ, reverb (linear convolution) and additive noise in one rfft/irfft pair."""
    import scipy.fft

    ir = None
    if params.reverb is not None:
        ir = _impulse_response(rng, params.reverb[0], params.reverb[1], sr)
    tail = len(ir) if ir is not None else 1024  # room for the reverb tail / EQ ringing
    n_fft = scipy.fft.next_fast_len(len(x) + tail, real=True)
    spectrum = scipy.fft.rfft(x, n_fft)
    n_bins = len(spectrum)
    if params.eq is not None:
        spectrum *= _eq_curve(n_bins, sr, *params.eq)
    if ir is not None:
        wet = params.reverb[2]
        spectrum *= np.float32(1.0 - wet) + np.float32(wet) * scipy.fft.rfft(ir, n_fft)
    if params.snr_db is not None:
        signal_power = max(_energy(spectrum) * 2 / n_fft / len(x), SILENCE_POWER)
        noise_power = signal_power / 10 ** (params.snr_db / 10)
        spectrum += _noise_spectrum(rng, n_bins, sr, noise_power, params.pink, n_fft)
    return scipy.fft.irfft(spectrum, n_fft)[: len(x)].astype(np.float32, copy=False)


def _impulse_response(
    rng: np.random.Generator, rt60_s: float, predelay_s: float, sr: int
) -> np.ndarray:
    """Exponentially decaying noise (-60 dB at ``rt60_s``) after a silent pre-delay, unit energy."""
    n_decay = max(int(rt60_s * sr), 1)
    t = np.arange(n_decay, dtype=np.float32) / np.float32(rt60_s * sr)
    envelope = np.exp(np.float32(-6.908) * t)  # ln(1000): amplitude -60 dB at t = 1
    decay = (rng.random(n_decay, dtype=np.float32) - np.float32(0.5)) * envelope
    ir = np.concatenate([np.zeros(int(predelay_s * sr), np.float32), decay])
    return ir / np.float32(np.sqrt(np.dot(decay, decay)))


def _eq_curve(
    n_bins: int, sr: int, tilt: float, bell_db: float, bell_hz: float, width: float
) -> np.ndarray:
    """Linear gain per rfft bin: a tilt about 1 kHz plus one log-Gaussian bell, limited.

    The curve is smooth, so it is computed on a coarse grid and interpolated (cheaper).
    """
    coarse_hz = np.linspace(0.0, sr / 2, EQ_GRID)
    octaves = np.log2(np.maximum(coarse_hz, 20.0) / 1000.0)
    bell = np.log2(np.maximum(coarse_hz, 20.0) / bell_hz) / width
    db = np.clip(tilt * octaves + bell_db * np.exp(-0.5 * bell * bell), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    fine_hz = np.linspace(0.0, sr / 2, n_bins)
    return np.interp(fine_hz, coarse_hz, 10.0 ** (db / 20.0)).astype(np.float32)


def _noise_spectrum(
    rng: np.random.Generator, n_bins: int, sr: int, power: float, pink: bool, n_fft: int
) -> np.ndarray:
    """Random spectrum whose inverse rfft is noise of mean power ``power`` (white or 1/f).

    Uniform real and imaginary parts are cheaper to draw than Gaussian ones; summed over
    many bins, the time-domain samples are Gaussian all the same.
    """
    noise = (rng.random(2 * n_bins, dtype=np.float32) - np.float32(0.5)).view(np.complex64)
    noise[0] = 0.0
    if pink:
        hz = np.linspace(0.0, sr / 2, n_bins, dtype=np.float32)
        noise *= np.float32(1.0) / np.sqrt(np.maximum(hz, np.float32(20.0)))
    scale = np.sqrt(power * n_fft * n_fft / 2 / _energy(noise))
    return noise * np.float32(scale)


def _energy(spectrum: np.ndarray) -> float:
    """Sum of squared magnitudes of a complex64 array (fast: a dot product of floats)."""
    flat = np.ascontiguousarray(spectrum).view(np.float32)
    return float(np.dot(flat, flat))


def _fit(x: np.ndarray, n_samples: int) -> np.ndarray:
    if len(x) >= n_samples:
        return x[:n_samples]
    return np.pad(x, (0, n_samples - len(x)))


def _lerp(u: float, low: float, high: float) -> float:
    return float(low + (high - low) * u)
