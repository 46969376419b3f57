"""Frame features of a performance for the learned beat tracker: notes -> ``(n_frames, 32)``.

What a listener hears a beat in, from the notes alone: where notes start and how hard, how
low (a bass note marks a beat or a bar), what keeps sounding (held notes and chords), and
which pitch classes sound (a harmony change marks a bar). Pure numpy, shared by training
(:mod:`pianotx.training.beats`) and inference (:mod:`pianotx.score.tracker`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.music.notes import Note
from pianotx.score.meter import meter_of

FPS = 50  # frames per second of the tracker
BANDS = 8  # register bands of 11 keys from A0
N_FEATURES = 4 + 2 * BANDS + 12
LOWEST = 21  # MIDI pitch of A0


def _frame(times_s: np.ndarray, n_frames: int, fps: int) -> np.ndarray:
    return np.clip(np.rint(times_s * fps).astype(int), 0, n_frames - 1)


def rhythm_features(notes: Sequence[Note], *, n_frames: int | None = None, fps: int = FPS) -> np.ndarray:
    """Per-frame features ``(n_frames, N_FEATURES)`` float32 of a performance's notes.

    See :func:`frame_features`; ``n_frames`` defaults to one frame past the last offset.
    """
    onset_s = np.array([n.onset_s for n in notes], dtype=float)
    offset_s = np.array([n.offset_s for n in notes], dtype=float)
    if n_frames is None:
        n_frames = int(np.ceil(offset_s.max() * fps)) + 1 if len(notes) else 1
    return frame_features(onset_s, offset_s, np.array([n.pitch for n in notes], dtype=int),
                          np.array([n.velocity for n in notes], dtype=float), n_frames, fps=fps)


def frame_features(onset_s: np.ndarray, offset_s: np.ndarray, pitch: np.ndarray,
                   velocity: np.ndarray, n_frames: int, *, fps: int = FPS) -> np.ndarray:
    """Per-frame features ``(n_frames, N_FEATURES)`` float32 from note arrays ``(n_notes,)``.

    Columns: onset count (log1p); onset loudness (sum of velocity / 127); lowest onset pitch
    (1 at A0 falling to 0 at C8, 0 without onsets); onsets of notes held 0.5 s or longer;
    the loudest onset per register band (``BANDS`` bands of 11 keys); the notes sounding per
    band (log1p); the pitch classes sounding, each note weighted by velocity / 127 and the
    frame's total scaled to 1. A note with a negative onset (begun before the excerpt)
    counts as sounding only.
    """
    out = np.zeros((n_frames, N_FEATURES), dtype=np.float32)
    if not len(onset_s):
        return out
    loud = np.asarray(velocity, dtype=float) / 127.0
    start = _frame(np.maximum(onset_s, 0.0), n_frames, fps)
    stop = np.maximum(_frame(offset_s, n_frames, fps), start + 1)
    band = np.clip((pitch - LOWEST) // 11, 0, BANDS - 1)
    struck = onset_s >= 0
    at, hit = start[struck], loud[struck]
    np.add.at(out[:, 0], at, 1.0)
    np.add.at(out[:, 1], at, hit)
    low = np.zeros(n_frames)
    np.maximum.at(low, at, np.clip((108 - pitch[struck]) / 87.0, 0.0, 1.0))
    out[:, 2] = low
    np.add.at(out[:, 3], at, (offset_s - onset_s >= 0.5)[struck].astype(float))
    np.maximum.at(out[:, 4 : 4 + BANDS], (at, band[struck]), hit)
    # sounding notes: +1 at the start frame, -1 at the stop frame, cumulated over time
    sounding = np.zeros((n_frames + 1, BANDS + 12))
    np.add.at(sounding, (start, band), 1.0)
    np.add.at(sounding, (stop, band), -1.0)
    np.add.at(sounding, (start, BANDS + pitch % 12), loud)
    np.add.at(sounding, (stop, BANDS + pitch % 12), -loud)
    sounding = np.maximum(np.cumsum(sounding, axis=0)[:n_frames], 0.0)
    out[:, 4 + BANDS : 4 + 2 * BANDS] = np.log1p(sounding[:, :BANDS])
    chroma = sounding[:, BANDS:]
    out[:, 4 + 2 * BANDS :] = chroma / np.maximum(chroma.sum(axis=1, keepdims=True), 1e-6)
    out[:, 0] = np.log1p(out[:, 0])
    return out


def beat_targets(beats_s: np.ndarray, downbeats_s: np.ndarray, n_frames: int, *,
                 fps: int = FPS, spread: float = 0.5) -> np.ndarray:
    """Class targets ``(n_frames, 3)`` (no beat, beat, downbeat), rows summing to 1.

    Each annotated beat's nearest frame is that class with probability 1, the frames either
    side with ``spread`` (the annotations are a frame or two uncertain at 50 frames/s).
    ``downbeats_s`` are a subset of ``beats_s``.
    """
    targets = np.zeros((n_frames, 3), dtype=np.float32)
    beats = np.asarray(beats_s, dtype=float)
    down = np.isin(np.round(beats, 6), np.round(np.asarray(downbeats_s, dtype=float), 6))
    frame = np.rint(beats * fps).astype(int)
    for shift, weight in ((-1, spread), (1, spread), (0, 1.0)):
        at = frame + shift
        inside = (at >= 0) & (at < n_frames)
        cls = np.where(down, 2, 1)[inside]
        targets[at[inside]] = 0.0
        targets[at[inside], cls] = weight
    targets[:, 0] = 1.0 - targets[:, 1:].sum(axis=1)
    return targets


TEMPO_BPM = np.geomspace(30.0, 300.0, 41)  # the tempo head's classes, 12 per octave
BAR_LENGTHS = (2, 3, 4)  # the meter head's classes of beats per bar


def tempo_targets(beats_s: np.ndarray, n_frames: int, *, fps: int = FPS,
                  sigma_bins: float = 1.0) -> np.ndarray:
    """Soft tempo classes ``(n_frames, len(TEMPO_BPM))``: at each frame the local annotated
    tempo (60 / the beat interval around it) as a Gaussian over the log-spaced classes, rows
    summing to 1; rows outside the annotated beats are 0 (nothing to learn there)."""
    beats = np.asarray(beats_s, dtype=float)
    out = np.zeros((n_frames, len(TEMPO_BPM)), dtype=np.float32)
    if len(beats) < 2:
        return out
    times = np.arange(n_frames) / fps
    inside = (times >= beats[0]) & (times <= beats[-1])
    middles = (beats[1:] + beats[:-1]) / 2
    bpm = 60.0 / np.interp(times[inside], middles, np.diff(beats))
    position = np.interp(np.log(bpm), np.log(TEMPO_BPM), np.arange(len(TEMPO_BPM)))
    weights = np.exp(-0.5 * ((np.arange(len(TEMPO_BPM))[None, :] - position[:, None]) / sigma_bins) ** 2)
    out[inside] = weights / weights.sum(axis=1, keepdims=True)
    return out


def meter_targets(signatures: Sequence[tuple[float, str]], n_frames: int, *,
                  fps: int = FPS) -> np.ndarray:
    """Meter classes ``(n_frames, 2)`` int: beats per bar as an index into ``BAR_LENGTHS``
    and the division (0 simple, 1 compound: 6/8, 9/8, 12/8), from the time signature in
    force at each frame (``(start_s, "6/8")`` pairs in time order); -1 where no signature
    applies or its bar length is not a class (5/4, 7/8 ...)."""
    out = np.full((n_frames, 2), -1, dtype=np.int64)
    times = np.arange(n_frames) / fps
    for i, (start_s, signature) in enumerate(signatures):
        beats, division = meter_of(signature)
        if beats not in BAR_LENGTHS:
            continue
        end_s = signatures[i + 1][0] if i + 1 < len(signatures) else np.inf
        span = (times >= start_s) & (times < end_s) if i else times < end_s
        out[span] = (BAR_LENGTHS.index(beats), int(division == 3))
    return out
