"""Meter from beats and notes: the beat's division (simple or compound), beats per bar, downbeats.

Every candidate bar length (2, 3 or 4 beats) and phase is scored by how much more the beats it
calls downbeats carry than the others: more and longer notes, a lower bass, and a change of
harmony. The division of the beat is the grid (halves or thirds) that the onsets between
beats fit better.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import ScoreError
from pianotx.music.notes import Note

BAR_LENGTHS = (2, 3, 4)
TIME_SIGNATURES = {(2, 2): "2/4", (3, 2): "3/4", (4, 2): "4/4", (2, 3): "6/8", (3, 3): "9/8",
                   (4, 3): "12/8"}


class Meter(NamedTuple):
    """``beats_per_bar`` beats, each divided in ``division`` (2: simple, 3: compound);
    beat ``first_downbeat`` (index into the beats) starts a full bar of that length (the
    first one). Where the bar length changes, ``runs`` holds each run of equal bars as (index
    of the beat that starts its first bar, bar length), in order, and ``beats_per_bar`` is the
    length that holds the most beats."""

    beats_per_bar: int
    division: int
    first_downbeat: int
    runs: tuple[tuple[int, int], ...] = ()

    @property
    def time_signature(self) -> str:
        """Conventional signature: ``"3/4"``, ``"6/8"`` ..."""
        return TIME_SIGNATURES[(self.beats_per_bar, self.division)]


def meter_of(signature: str) -> tuple[int, int]:
    """``"6/8"`` -> (2, 3): beats per bar and beat division (3: compound, for numerators 6,
    9 and 12), the inverse of ``TIME_SIGNATURES``; ``"2/2"`` -> (2, 2)."""
    numerator = int(signature.split("/")[0])
    return (numerator // 3, 3) if numerator in (6, 9, 12) else (numerator, 2)


def given_meter(signature: str) -> tuple[int, int]:
    """A time signature the user gives (``"3/4"``) -> (beats per bar, division), for one of
    those the score writes (:data:`TIME_SIGNATURES`); any other is a :class:`ScoreError`."""
    written = {text: meter for meter, text in TIME_SIGNATURES.items()}
    if signature.strip() not in written:
        raise ScoreError(f"time signature {signature!r} is not one pianotx writes; use one of "
                         f"{', '.join(written)} (3/8 as 3/4, 2/2 as 2/4: the same bars)")
    return written[signature.strip()]


def beat_positions(times_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Fractional beat index of each time; linear extrapolation with the edge periods."""
    beats_s = np.asarray(beats_s, dtype=float)
    times_s = np.asarray(times_s, dtype=float)
    index = np.arange(len(beats_s), dtype=float)
    inside = np.interp(times_s, beats_s, index)
    first_period = beats_s[1] - beats_s[0]
    last_period = beats_s[-1] - beats_s[-2]
    before = (times_s - beats_s[0]) / first_period
    after = index[-1] + (times_s - beats_s[-1]) / last_period
    return np.where(times_s < beats_s[0], before, np.where(times_s > beats_s[-1], after, inside))


def beat_division(notes: Sequence[Note], beats_s: np.ndarray, *, tolerance: float = 0.04,
                  triple_bias: float = 1.0) -> int:
    """3 when more onsets sit near the thirds of a beat than (times ``triple_bias``) near its
    quarters and half, else 2. Positions are fractions of the local beat."""
    positions = beat_positions(np.array([n.onset_s for n in notes]), beats_s) % 1.0

    def near(points: list[float]) -> int:
        return int(np.sum(np.min(np.abs(positions[:, None] - np.array(points)), axis=1) < tolerance))

    return 3 if near([1 / 3, 2 / 3]) > triple_bias * near([0.25, 0.5, 0.75]) else 2


def beat_features(notes: Sequence[Note], beats_s: np.ndarray) -> np.ndarray:
    """Per-beat accent features ``(n_beats, 4)``: note count, held length, bass depth, harmony change.

    Each column is standardised over the beats.
    """
    beats_s = np.asarray(beats_s, dtype=float)
    n_beats = len(beats_s)
    onsets = np.array([n.onset_s for n in notes])
    pitches = np.array([n.pitch for n in notes])
    lengths = np.array([min(n.offset_s - n.onset_s, 4.0) for n in notes])
    position = beat_positions(onsets, beats_s)
    nearest = np.rint(position).astype(int)
    on_beat = (np.abs(position - nearest) < 0.2) & (nearest >= 0) & (nearest < n_beats)
    count = np.bincount(nearest[on_beat], minlength=n_beats).astype(float)
    held = np.bincount(nearest[on_beat], weights=lengths[on_beat], minlength=n_beats)
    lowest = np.full(n_beats, np.nan)
    np.fmin.at(lowest, nearest[on_beat], pitches[on_beat].astype(float))
    segment = np.clip(np.floor(position).astype(int), 0, n_beats - 1)
    chroma = np.zeros((n_beats, 12))
    np.add.at(chroma, (segment, pitches % 12), lengths)
    chroma /= np.maximum(np.linalg.norm(chroma, axis=1, keepdims=True), 1e-9)
    change = np.zeros(n_beats)
    change[1:] = 1.0 - np.sum(chroma[1:] * chroma[:-1], axis=1)
    median_low = np.nanmedian(lowest) if np.any(~np.isnan(lowest)) else 60.0
    bass = np.where(np.isnan(lowest), 0.0, np.clip(median_low - np.nan_to_num(lowest, nan=median_low), -12, 24) / 12)
    columns = np.stack([np.log1p(count), np.log1p(held), bass, change], axis=1)
    return (columns - columns.mean(0)) / np.maximum(columns.std(0), 1e-9)


def estimate_meter(
    notes: Sequence[Note], beats_s: np.ndarray, *, weights: Sequence[float] = (0.5, 0.0, 1.0, 0.5),
    bar_bias: Sequence[float] = (0.1, -0.1, 0.0), triple_bias: float = 1.5,
) -> Meter:
    """Beats per bar, beat division and first downbeat of a performance.

    Parameters
    ----------
    notes : sequence of Note
        The performance.
    beats_s : ndarray, shape (n_beats,)
        Beat times, at least 4.
    weights : four floats
        Weights of the accent features of :func:`beat_features` (chosen on ASAP's tuning
        part with the annotated beats: the bass weighs most, the held length not at all).
    bar_bias : three floats
        Added to the score of 2, 3 and 4 beats per bar.
    triple_bias : float
        See :func:`beat_division`.

    The defaults of ``bar_bias`` and ``triple_bias`` were chosen on ASAP's tuning part with
    the tracked beats.
    """
    accent = beat_features(notes, beats_s) @ np.asarray(weights, dtype=float)
    best = (-np.inf, 4, 0)
    for bias, length in zip(bar_bias, BAR_LENGTHS):
        for phase in range(length):
            chosen = np.zeros(len(accent), dtype=bool)
            chosen[phase::length] = True
            if chosen.all() or not chosen.any():
                continue
            score = accent[chosen].mean() - accent[~chosen].mean() + bias
            if score > best[0]:
                best = (score, length, phase)
    return Meter(best[1], beat_division(notes, beats_s, triple_bias=triple_bias), best[2])


def downbeat_indices(meter: Meter, n_beats: int) -> np.ndarray:
    """The indices of the beats that start a bar: every ``beats_per_bar``-th from
    ``first_downbeat``, or run by run where the bar length changes."""
    if not meter.runs:
        return np.arange(meter.first_downbeat, n_beats, meter.beats_per_bar)
    ends = [start for start, _ in meter.runs[1:]] + [n_beats]
    return np.concatenate([np.arange(start, end, length) for (start, length), end in zip(meter.runs, ends)])


def downbeats(beats_s: np.ndarray, meter: Meter) -> np.ndarray:
    """The downbeat times implied by ``meter``."""
    return np.asarray(beats_s)[downbeat_indices(meter, len(beats_s))]
