"""Beat tracking from performance note onsets alone (no audio).

An onset-strength signal is built from the notes, a global beat period is induced from its
autocorrelation under a log-normal tempo prior, a local period is followed through windowed
autocorrelation (rubato, ritardando), and the beats are the best path of a dynamic programme
that rewards strong onsets and penalises beat intervals far from the local period (Ellis,
"Beat tracking by dynamic programming", JNMR 2007, with a time-varying period).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.music.notes import Note

FPS = 100  # frames per second of the onset-strength signal


def onset_strength(notes: Sequence[Note], *, fps: int = FPS, sigma_s: float = 0.025) -> np.ndarray:
    """Onset-strength signal ``(n_frames,)`` from note onsets, velocities and durations.

    Each note adds ``velocity / 127 * (1 + min(duration_s, 1))``, so loud and held notes weigh
    more than soft passing notes; the sum is compressed (``log1p``) so that chords do not drown
    single notes, then smoothed with a Gaussian of ``sigma_s`` seconds.
    """
    end_s = max(n.offset_s for n in notes) + 1.0
    signal = np.zeros(int(np.ceil(end_s * fps)) + 1)
    for note in notes:
        weight = note.velocity / 127.0 * (1.0 + min(note.offset_s - note.onset_s, 1.0))
        signal[int(round(note.onset_s * fps))] += weight
    signal = np.log1p(signal)
    half = int(np.ceil(3 * sigma_s * fps))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / (sigma_s * fps)) ** 2)
    return np.convolve(signal, kernel / kernel.sum(), mode="same")


def _autocorrelation(signal: np.ndarray, max_lag: int) -> np.ndarray:
    centred = signal - signal.mean()
    size = 1 << int(np.ceil(np.log2(2 * len(centred) + 1)))
    spectrum = np.fft.rfft(centred, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
    return acf / max(acf[0], 1e-12)


def beat_period(
    envelope: np.ndarray, *, fps: int = FPS, centre_bpm: float = 120.0, spread_octaves: float = 0.9,
    min_bpm: float = 30.0, max_bpm: float = 300.0,
) -> float:
    """Global beat period in frames: the autocorrelation peak weighted by a log-normal tempo prior.

    Parameters
    ----------
    envelope : ndarray, shape (n_frames,)
        Onset strength at ``fps`` frames per second.
    centre_bpm, spread_octaves : float
        Centre and standard deviation (in octaves) of the tempo prior.
    """
    max_lag = int(fps * 60.0 / min_bpm)
    acf = _autocorrelation(envelope, max_lag)
    lags = np.arange(int(np.ceil(fps * 60.0 / max_bpm)), max_lag + 1)
    prior = np.exp(-0.5 * (np.log2(lags / (fps * 60.0 / centre_bpm)) / spread_octaves) ** 2)
    strength = np.clip(acf[lags], 0, None) * prior
    best = int(np.argmax(strength))
    if 0 < best < len(lags) - 1:  # parabolic refinement between frames
        left, mid, right = strength[best - 1 : best + 2]
        denom = left - 2 * mid + right
        offset = 0.5 * (left - right) / denom if denom < 0 else 0.0
        return float(lags[best] + offset)
    return float(lags[best])


def local_periods(
    envelope: np.ndarray, period: float, *, window_frames: int = 1000, hop_frames: int = 200,
    max_ratio: float = 1.5, spread_octaves: float = 0.25,
) -> np.ndarray:
    """Beat period ``(n_frames,)`` followed through windows of the signal, near ``period``.

    Each window's autocorrelation peak is searched between ``period / max_ratio`` and
    ``period * max_ratio`` under a log-normal weight around ``period``; window values are
    median-filtered and interpolated to every frame.
    """
    n = len(envelope)
    lo, hi = int(period / max_ratio), int(np.ceil(period * max_ratio))
    lags = np.arange(max(lo, 1), hi + 1)
    weight = np.exp(-0.5 * (np.log2(lags / period) / spread_octaves) ** 2)
    centres, values = [], []
    for centre in range(0, n + hop_frames, hop_frames):  # windows are cut short at the edges
        segment = envelope[max(centre - window_frames // 2, 0) : centre + window_frames // 2]
        if len(segment) <= 2 * hi or segment.std() == 0:
            continue
        acf = _autocorrelation(segment, hi)
        centres.append(min(centre, n - 1))
        values.append(lags[int(np.argmax(np.clip(acf[lags], 0, None) * weight))])
    if len(values) < 2:
        return np.full(n, period)
    values = np.array(values, dtype=float)
    smooth = np.array([np.median(values[max(i - 1, 0) : i + 2]) for i in range(len(values))])
    return np.interp(np.arange(n), centres, smooth)


def dp_beats(envelope: np.ndarray, periods: np.ndarray, *, tightness: float = 30.0) -> np.ndarray:
    """Beat frames: the path maximising onset strength minus ``tightness * log(interval / period)^2``.

    Parameters
    ----------
    envelope : ndarray, shape (n_frames,)
        Onset strength.
    periods : ndarray, shape (n_frames,)
        Expected beat period (frames) at each frame.
    tightness : float
        Weight of the tempo-regularity penalty; lower follows tempo changes more freely.

    Returns
    -------
    ndarray of int
        Increasing beat frame indices.
    """
    local = envelope / max(envelope.std(), 1e-12)
    n = len(local)
    score = local.copy()
    back = np.full(n, -1)
    for t in range(n):
        period = periods[t]
        lo, hi = t - int(round(2 * period)), t - int(round(period / 2))
        if hi < 0:
            continue
        previous = np.arange(max(lo, 0), hi + 1)
        candidates = score[previous] - tightness * np.log((t - previous) / period) ** 2
        best = int(np.argmax(candidates))
        score[t] = local[t] + candidates[best]
        back[t] = previous[best]
    tail = int(np.ceil(periods[-1]))
    end = n - tail + int(np.argmax(score[n - tail :])) if n > tail else int(np.argmax(score))
    beats = [end]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    return np.array(beats[::-1])


def track_beats(
    notes: Sequence[Note], *, centre_bpm: float = 120.0, spread_octaves: float = 0.9,
    tightness: float = 30.0, window_s: float = 8.0, fps: int = FPS,
) -> np.ndarray:
    """Beat times (seconds) of a performance, from its notes alone.

    Beats span the notes: none lies more than half a period before the first onset or after
    the last onset.

    Parameters
    ----------
    notes : sequence of Note
        At least two notes with distinct onsets.
    centre_bpm, spread_octaves : float
        Tempo prior (see :func:`beat_period`).
    tightness : float
        Tempo-regularity weight (see :func:`dp_beats`).
    window_s : float
        Length of the windows the local period is measured in (see :func:`local_periods`).

    Returns
    -------
    ndarray of float, shape (n_beats,)
        Increasing beat times in seconds.
    """
    envelope = onset_strength(notes, fps=fps)
    period = beat_period(envelope, fps=fps, centre_bpm=centre_bpm, spread_octaves=spread_octaves)
    periods = local_periods(envelope, period, window_frames=int(window_s * fps), hop_frames=fps)
    frames = dp_beats(envelope, periods, tightness=tightness)
    times = frames / fps
    return times[within_notes(times, notes, period / fps)]


def within_notes(beats_s: np.ndarray, notes: Sequence[Note], period_s: float) -> np.ndarray:
    """Boolean mask of the beats no more than half a ``period_s`` before the first onset or
    after the last (a tracker's path may run on where no note is played)."""
    onsets = [n.onset_s for n in notes]
    return (beats_s >= min(onsets) - period_s / 2) & (beats_s <= max(onsets) + period_s / 2)
