"""A player on top of quantised notes: rubato, timing and velocity jitter, articulation, pedal.

All functions are pure: they take notes and a ``numpy.random.Generator`` and return new
lists. Times stay non-negative and every note keeps ``onset_s < offset_s``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.music.notes import Note, Pedal


def warp_time(
    times_s: np.ndarray, *, tempo_scale: float, rubato: float, period_s: float, phase: float
) -> np.ndarray:
    """Map score time to performed time: a global tempo scale plus a smooth rubato curve.

    Parameters
    ----------
    times_s : np.ndarray
        Score times in seconds.
    tempo_scale : float > 0
        Multiplies all durations (above 1 plays slower).
    rubato : float in [0, 0.5)
        Relative amplitude of the local tempo swing; the warp stays monotonic.
    period_s, phase : float
        Period and phase of the swing.
    """
    omega = 2 * np.pi / period_s
    # integral of (1 + rubato * sin(omega t + phase)): the local speed never drops below 0.5
    bend = rubato * (np.cos(phase) - np.cos(omega * times_s + phase)) / omega
    return tempo_scale * (times_s + bend)


def humanize(
    notes: Sequence[Note],
    pedals: Sequence[Pedal],
    rng: np.random.Generator,
    *,
    timing_sd_s: float = 0.01,
    velocity_sd: float = 5.0,
    dynamics: float = 12.0,
) -> tuple[list[Note], list[Pedal]]:
    """Perform quantised notes: tempo and rubato, onset jitter, articulation, dynamics.

    Parameters
    ----------
    notes, pedals : sequences of Note and Pedal
        The quantised music.
    rng : numpy.random.Generator
        Source of randomness.
    timing_sd_s : float >= 0
        Standard deviation of the onset jitter in seconds.
    velocity_sd : float >= 0
        Standard deviation of the per-note velocity jitter.
    dynamics : float >= 0
        Amplitude of the slow phrase-level velocity curve.

    Returns
    -------
    (list of Note, list of Pedal)
        Performed notes (sorted by onset) and pedals on the same time axis.
    """
    warp = {
        "tempo_scale": float(rng.uniform(0.85, 1.2)),
        "rubato": float(rng.uniform(0.0, 0.25)),
        "period_s": float(rng.uniform(4.0, 16.0)),
        "phase": float(rng.uniform(0, 2 * np.pi)),
    }
    period_s, phase = rng.uniform(6, 20), rng.uniform(0, 2 * np.pi)
    legato = rng.uniform(0.75, 1.0)
    performed = []
    for note in notes:
        onset, offset = warp_time(np.array([note.onset_s, note.offset_s]), **warp)
        onset = max(0.0, onset + rng.normal(0, timing_sd_s))
        offset = max(onset + 0.03, onset + (offset - onset) * legato * rng.uniform(0.9, 1.05))
        curve = dynamics * np.sin(2 * np.pi * onset / period_s + phase)
        velocity = int(np.clip(round(note.velocity + curve + rng.normal(0, velocity_sd)), 1, 127))
        performed.append(Note(float(onset), float(offset), note.pitch, velocity))
    moved = [
        Pedal(float(a), float(max(b, a + 0.05)))
        for a, b in (warp_time(np.array(p), **warp) for p in pedals)
    ]
    return sorted(performed, key=lambda n: (n.onset_s, n.pitch)), moved


def window_pedals(
    end_s: float, rng: np.random.Generator, *, window_s: tuple[float, float] = (1.0, 3.0)
) -> list[Pedal]:
    """Legato pedalling for music without pedal marks: press, hold a window, re-press.

    The pedal goes down 20-120 ms after each window starts and lifts 40-120 ms before
    the next one, as a pianist changes pedal just after the harmony changes.
    """
    pedals = []
    t, width = 0.0, float(rng.uniform(*window_s))
    while t < end_s:
        down = t + rng.uniform(0.02, 0.12)
        up = t + width - rng.uniform(0.04, 0.12)
        if up > down + 0.1:
            pedals.append(Pedal(float(down), float(up)))
        t += width
    return pedals


def crop(notes: Sequence[Note], pedals: Sequence[Pedal], end_s: float) -> tuple[list[Note], list[Pedal]]:
    """Keep notes starting before ``end_s`` (cut at ``end_s``) and pedals pressed before it."""
    kept = [n._replace(offset_s=min(n.offset_s, end_s)) for n in notes if n.onset_s < end_s - 0.03]
    held = [p._replace(offset_s=min(p.offset_s, end_s)) for p in pedals if p.onset_s < end_s - 0.05]
    return kept, held
