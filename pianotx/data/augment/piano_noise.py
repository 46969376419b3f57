"""Sounds real piano recordings have and sampled pianos lack.

Key and pedal mechanics (short low-passed thumps at note onsets and pedal presses and
releases), sympathetic resonance of the undamped strings while the sustain pedal is down,
and the room's noise floor (pink or brown noise, optionally mains hum with harmonics).
Every function returns only the added signal, the length of the crop, float32; all random
choices come from the generator passed in.
"""

from __future__ import annotations

import numpy as np

# Paul Kellet's economy pink-noise filter (-3 dB/octave within 0.5 dB above ~10 Hz)
PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)
BROWN_POLE = 0.995  # leaky integrator: -6 dB/octave above ~13 Hz at 16 kHz
HUM_HARMONICS = 8
HUM_BLOCK_S = 0.1  # whole periods of 50 Hz and 60 Hz, so the block tiles seamlessly
NOTE_WINDOW_S = 0.05  # the note level is the peak this long after its onset
GATE_RAMP_S = 0.02  # dampers take this long to fall or lift
RESONANCE_RT60_S = (1.0, 3.0)


def key_noise(
    audio: np.ndarray, rng: np.random.Generator, *, sample_rate: int, onsets_s: np.ndarray,
    level_db: tuple[float, float],
) -> np.ndarray:
    """Keybed thumps at ``onsets_s``, each ``level_db`` (drawn per key) below its note's peak.

    Parameters
    ----------
    audio : np.ndarray, shape=(n_samples,)
        The dry crop, to read each note's level from.
    onsets_s : np.ndarray, shape=(n_onsets,)
        Onsets in crop time; those outside the crop are ignored.
    level_db : (float, float)
        Range of the thump peak relative to the note peak, in dB.
    """
    kernel = _thump(rng, sample_rate, length_s=rng.uniform(0.008, 0.025),
                    cutoff_hz=rng.uniform(300.0, 2000.0))
    starts = np.round(np.asarray(onsets_s, dtype=np.float64) * sample_rate).astype(np.int64)
    starts = starts[(starts >= 0) & (starts < len(audio))]
    window = int(NOTE_WINDOW_S * sample_rate)
    peaks = np.array([np.max(np.abs(audio[s : s + window]), initial=0.0) for s in starts])
    gains = peaks * 10.0 ** (rng.uniform(*level_db, size=len(starts)) / 20.0)
    return _place(len(audio), kernel, starts, gains)


def pedal_noise(
    audio: np.ndarray, rng: np.random.Generator, *, sample_rate: int, pedals_s: np.ndarray,
    level_db: tuple[float, float],
) -> np.ndarray:
    """Low thumps at the pedal presses and releases in ``pedals_s`` ``(n, 2)``, in crop time,
    ``level_db`` (drawn per thump) below the crop's peak."""
    kernel = _thump(rng, sample_rate, length_s=rng.uniform(0.03, 0.08),
                    cutoff_hz=rng.uniform(80.0, 400.0))
    starts = np.round(np.asarray(pedals_s, np.float64).reshape(-1) * sample_rate).astype(np.int64)
    starts = starts[(starts >= 0) & (starts < len(audio))]
    peak = float(np.max(np.abs(audio), initial=0.0))
    gains = peak * 10.0 ** (rng.uniform(*level_db, size=len(starts)) / 20.0)
    return _place(len(audio), kernel, starts, gains)


def pedal_resonance(
    audio: np.ndarray, rng: np.random.Generator, *, sample_rate: int, pedals_s: np.ndarray,
    level_db: float,
) -> np.ndarray:
    """A long diffuse tail of ``audio`` at ``level_db``, heard only while the pedal is down.

    The tail is the crop convolved with unit-energy exponentially decaying noise (RT60
    1-3 s), gated by the pedal intervals with 20 ms ramps.
    """
    import scipy.signal

    gate = pedal_gate(len(audio), pedals_s, sample_rate=sample_rate)
    if not gate.any():
        return np.zeros(len(audio), np.float32)
    rt60_s = rng.uniform(*RESONANCE_RT60_S)
    n_taps = int(rt60_s * sample_rate)
    envelope = np.exp(-6.908 * np.arange(n_taps) / n_taps)  # -60 dB at the end
    ir = (rng.standard_normal(n_taps) * envelope).astype(np.float32)
    ir *= np.float32(10.0 ** (level_db / 20.0) / np.sqrt(np.dot(ir, ir)))
    tail = scipy.signal.fftconvolve(audio, ir)[: len(audio)]
    return (tail * gate).astype(np.float32)


def pedal_gate(n_samples: int, pedals_s: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """1 while the pedal is down, 0 while up, with linear ramps; shape ``(n_samples,)``."""
    steps = np.zeros(n_samples + 1, np.float32)
    for down_s, up_s in np.asarray(pedals_s, np.float64).reshape(-1, 2):
        down = int(np.clip(round(down_s * sample_rate), 0, n_samples))
        up = int(np.clip(round(up_s * sample_rate), 0, n_samples))
        steps[down] += 1.0
        steps[up] -= 1.0
    gate = np.minimum(np.cumsum(steps[:-1]), 1.0)
    ramp = max(int(GATE_RAMP_S * sample_rate), 1)
    smooth = np.cumsum(np.concatenate([np.zeros(ramp, np.float32), gate]))
    return ((smooth[ramp:] - smooth[:-ramp]) / ramp).astype(np.float32)


def noise_floor(
    n_samples: int, rng: np.random.Generator, *, sample_rate: int, power: float, brown: bool,
    hum_power: float | None,
) -> np.ndarray:
    """Pink (or brown) noise of mean power ``power``, plus mains hum of ``hum_power``.

    The hum is 50 or 60 Hz with 8 harmonics of random level (falling on average) and phase.
    """
    import scipy.signal

    white = rng.standard_normal(n_samples, dtype=np.float32)
    if brown:
        noise = scipy.signal.lfilter([1.0], [1.0, -BROWN_POLE], white)
        noise -= np.mean(noise)
    else:
        noise = scipy.signal.lfilter(PINK_B, PINK_A, white)
    noise = noise * np.sqrt(power / max(float(np.mean(noise * noise)), 1e-20))
    if hum_power is not None:
        noise = noise + _hum(n_samples, rng, sample_rate=sample_rate, power=hum_power)
    return noise.astype(np.float32)


def _hum(n_samples: int, rng: np.random.Generator, *, sample_rate: int, power: float) -> np.ndarray:
    mains_hz = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(int(HUM_BLOCK_S * sample_rate)) / sample_rate
    block = np.zeros(len(t))
    for k in range(1, HUM_HARMONICS + 1):
        if k * mains_hz < sample_rate / 2:
            block += rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * k * mains_hz * t
                                                        + rng.uniform(0, 2 * np.pi))
    block *= np.sqrt(power / np.mean(block * block))
    return np.resize(block, n_samples)


def _thump(rng: np.random.Generator, sample_rate: int, *, length_s: float,
           cutoff_hz: float) -> np.ndarray:
    """A short low-passed noise burst with a 1 ms attack and exponential decay, peak 1."""
    import scipy.signal

    n = max(int(length_s * sample_rate), 2)
    t = np.arange(n) / n
    burst = rng.standard_normal(n) * np.exp(-5.0 * t) * np.minimum(1.0, t * length_s / 0.001)
    b, a = scipy.signal.butter(2, min(cutoff_hz, 0.45 * sample_rate), fs=sample_rate)
    kernel = scipy.signal.lfilter(b, a, burst)
    return (kernel / max(float(np.max(np.abs(kernel))), 1e-12)).astype(np.float32)


def _place(n_samples: int, kernel: np.ndarray, starts: np.ndarray, gains: np.ndarray) -> np.ndarray:
    out = np.zeros(n_samples, np.float32)
    for start, gain in zip(starts, gains):
        piece = kernel[: n_samples - start]
        out[start : start + len(piece)] += np.float32(gain) * piece
    return out
