"""Performances played from scores, with their beats known: more training data for the beat
tracker than ASAP's 378 annotated performances (issue 23).

A :class:`ScoreGrid` is a score's notes and beat grid in score time (quarter notes, or the
seconds of a score MIDI); :func:`play` turns it into a :class:`~pianotx.training.beats.Piece`
as a pianist might play it: a tempo that drifts and slows at the end, onsets spread around the
grid with the melody ahead, legato or detached, loudness from a phrase arc, the metre and the
melody. A melody alone gets a simple left hand (:func:`accompany`). Pure functions of the
score and a random generator; ``scripts/render_score_performances.py`` reads the scores.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pianotx.score.meter import meter_of
from pianotx.training.beats import Piece

FASTEST_IOI_S = 0.09  # the score's quickest notes (10th percentile) are played no faster
TEMPO_BPM = (40.0, 190.0)  # notated beats a minute, drawn log-uniformly


class ScoreGrid(NamedTuple):
    """Notes ``(n, 3)``: onset, duration and MIDI pitch; beats and downbeats; the time
    signatures with where they start. All times in score time."""

    notes: np.ndarray
    beats: np.ndarray
    downbeats: np.ndarray
    signatures: tuple[tuple[float, str], ...]


def beat_length(signature: str) -> float:
    """Quarter notes per notated beat: ``"3/4"`` 1, ``"2/2"`` 2, ``"6/8"`` 1.5 (compound)."""
    _, division = meter_of(signature)
    denominator = int(signature.split("/")[1])
    return 4.0 / denominator * (3 if division == 3 else 1)


def beat_spans(beats: np.ndarray) -> np.ndarray:
    """Each beat's length in score time; the last one the median."""
    return np.diff(beats, append=beats[-1] + np.median(np.diff(beats)))


def is_melody(notes: np.ndarray) -> bool:
    """Nine notes in ten start alone."""
    return len(np.unique(notes[:, 0])) > 0.9 * len(notes)


def accompany(score: ScoreGrid, rng: np.random.Generator) -> np.ndarray:
    """A left hand ``(m, 3)`` on the beat grid, in one of four patterns chosen at random
    (bass then chords, a chord each beat, broken chords at the beat's division, a chord
    held through the bar), its harmony the melody's pitch class at each downbeat."""
    notes, beats = score.notes, score.beats
    downs = set(np.round(score.downbeats, 3))
    spans = beat_spans(beats)
    compound = any(meter_of(sig)[1] == 3 for _, sig in score.signatures)
    style, low = int(rng.integers(4)), int(rng.integers(36, 48))
    out, root, third = [], None, 4
    for beat, span in zip(beats, spans):
        down = round(beat, 3) in downs
        if down or root is None:
            sounding = notes[max(np.searchsorted(notes[:, 0], beat + 1e-6) - 1, 0), 2]
            root, third = low + (int(sounding) - low) % 12, 3 + int(rng.integers(2))
        triad = [root + 12, root + 12 + third, root + 19]
        if style == 0:
            out += [(beat, span * 0.9, root)] if down else [(beat, span * 0.6, p) for p in triad]
        elif style == 1:
            out += [(beat, span * 0.9, p) for p in (root, *triad[:2])]
        elif style == 2:
            n = 3 if compound else 2
            cycle = (root, triad[1], triad[2], triad[1])
            out += [(beat + j * span / n, span / n, cycle[j % 4]) for j in range(n)]
        elif down:
            bar = np.searchsorted(score.downbeats, beat + 1e-6)
            end = score.downbeats[bar] if bar < len(score.downbeats) else beat + span
            out += [(beat, end - beat, p) for p in (root, *triad)]
    return np.array(out, dtype=float).reshape(-1, 3)


def beat_times(beats: np.ndarray, seconds_per_unit: float, rng: np.random.Generator) -> np.ndarray:
    """The time (s) of each beat: a tempo that drifts (a mean-reverting walk of its log) and,
    seven times in ten, slows over the last eight beats."""
    n = len(beats)
    lengths = beat_spans(beats)
    drift, step = np.zeros(n), rng.uniform(0.01, 0.05)
    for i in range(1, n):
        drift[i] = 0.93 * drift[i - 1] + rng.normal(0, step)
    scale = np.exp(drift)
    if rng.random() < 0.7:
        tail = min(n, 8)
        scale[-tail:] *= np.linspace(1, rng.uniform(1.1, 1.6), tail)
    return np.concatenate([[0.0], np.cumsum(lengths * seconds_per_unit * scale)])[:n]


def play(score: ScoreGrid, rng: np.random.Generator) -> Piece:
    """One performance of ``score`` (times in s, starting 0.2-1 s before its first note or beat)."""
    notes = score.notes
    if is_melody(notes) and rng.random() < 0.75:
        left = accompany(score, rng)
        top = np.concatenate([np.ones(len(notes), bool), np.zeros(len(left), bool)])
        notes = np.concatenate([notes, left])
    else:
        top = np.zeros(len(notes), bool)
        for onset in np.unique(notes[:, 0]):
            same = np.flatnonzero(notes[:, 0] == onset)
            top[same[np.argmax(notes[same, 2])]] = True
    order = np.argsort(notes[:, 0], kind="stable")
    notes, top = notes[order], top[order]
    beats = score.beats
    bpm = np.exp(rng.uniform(*np.log(TEMPO_BPM)))
    per_unit = 60.0 / bpm / float(np.median(np.diff(beats)))
    gaps = np.diff(np.unique(notes[:, 0]))
    quickest = max(float(np.percentile(gaps, 10)), 0.05) if len(gaps) else 0.5
    per_unit = max(per_unit, FASTEST_IOI_S / quickest)
    times = beat_times(beats, per_unit, rng)
    first = (times[1] - times[0]) / (beats[1] - beats[0])
    last = (times[-1] - times[-2]) / (beats[-1] - beats[-2])
    low = min(notes[:, 0].min(), beats[0]) - 1
    high = max((notes[:, 0] + notes[:, 1]).max(), beats[-1]) + 1
    grid = np.concatenate([[low], beats, [high]])
    clock = np.concatenate([[times[0] - (beats[0] - low) * first], times,
                            [times[-1] + (high - beats[-1]) * last]])
    n = len(notes)
    offset = np.interp(notes[:, 0] + notes[:, 1] * rng.uniform(0.55, 1.05), grid, clock)
    jitter = rng.uniform(0.005, 0.025)
    onset = np.interp(notes[:, 0], grid, clock) + rng.normal(0, jitter, n) - top * rng.uniform(0, 0.02)
    offset = np.maximum(offset + rng.normal(0, jitter, n), onset + 0.04)
    on_down = np.isin(np.round(notes[:, 0], 3), np.round(score.downbeats, 3))
    on_beat = np.isin(np.round(notes[:, 0], 3), np.round(beats, 3))
    base = rng.uniform(45, 85)
    arc = rng.uniform(0, 12) * np.sin(2 * np.pi * onset / rng.uniform(8, 30) + rng.uniform(0, 2 * np.pi))
    accent = rng.uniform(0, 10)
    velocity = (base + arc + accent * on_down + 0.5 * accent * on_beat
                + top * rng.uniform(0, 12) + rng.normal(0, rng.uniform(4, 10), n))
    pitch = notes[:, 2] + rng.integers(-5, 6)
    keep = np.flatnonzero((pitch >= 21) & (pitch <= 108))
    keep = keep[np.argsort(onset[keep], kind="stable")]
    start = min(float(onset[keep].min()), float(times[0])) - rng.uniform(0.2, 1.0)
    signatures = tuple((float(np.interp(at, grid, clock)) - start, sig) for at, sig in score.signatures)
    return Piece(onset[keep] - start, offset[keep] - start, pitch[keep].astype(np.int64),
                 np.clip(velocity[keep], 5, 127), times - start,
                 np.interp(score.downbeats, beats, times) - start, signatures)
