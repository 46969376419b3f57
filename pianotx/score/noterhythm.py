"""Note features for the note-level beat network: notes -> ``(n_notes, 94)``, and back to frames.

The frame network (:mod:`pianotx.score.rhythm`) hears a performance at 50 frames/s; the note
network reads it the way PM2S does (Liu et al., ISMIR 2022), one step per note in onset order,
and says of each note whether it starts a beat or a bar. Its context is counted in notes, not
seconds, and its answers sit exactly on the onsets. Pure numpy, shared by training
(:mod:`pianotx.training.notebeats`) and inference (:mod:`pianotx.score.tracker`).
"""

from __future__ import annotations

import numpy as np

KEYS = 88  # one-hot pitch columns, A0 to C8
LOWEST = 21  # MIDI pitch of A0
N_NOTE_FEATURES = KEYS + 6
CLUSTER_S = 0.03  # a note this soon after the previous onset belongs to its chord
TARGET_TOLERANCE_S = 0.05  # a note this near an annotated beat starts that beat


def _log_interval(seconds: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.log(np.clip(seconds, low, high)) / 4.0


def note_order(onset_s: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The indices that sort notes by onset, then pitch: the order the network reads them."""
    return np.lexsort((np.asarray(pitch), np.asarray(onset_s)))


def note_features(onset_s: np.ndarray, offset_s: np.ndarray, pitch: np.ndarray,
                  velocity: np.ndarray) -> np.ndarray:
    """Features ``(n_notes, N_NOTE_FEATURES)`` float32 of notes already in :func:`note_order`.

    Columns: the pitch one-hot (88 keys); the time since the previous onset and until the next
    (log seconds / 4 + 1, clipped to 1 ms .. 4 s); the duration (log seconds / 4, 10 ms .. 8 s);
    velocity / 127; pitch relative to E4 in two octaves; 1 where the note starts a new onset
    cluster (more than ``CLUSTER_S`` after the previous onset).
    """
    onset_s, pitch = np.asarray(onset_s, dtype=float), np.asarray(pitch, dtype=int)
    n = len(onset_s)
    out = np.zeros((n, N_NOTE_FEATURES), dtype=np.float32)
    if not n:
        return out
    out[np.arange(n), np.clip(pitch - LOWEST, 0, KEYS - 1)] = 1.0
    before = np.diff(onset_s, prepend=onset_s[0] - 1.0)
    after = np.diff(onset_s, append=onset_s[-1] + 1.0)
    out[:, KEYS] = _log_interval(before, 1e-3, 4.0) + 1.0
    out[:, KEYS + 1] = _log_interval(after, 1e-3, 4.0) + 1.0
    out[:, KEYS + 2] = _log_interval(np.asarray(offset_s) - onset_s, 1e-2, 8.0)
    out[:, KEYS + 3] = np.asarray(velocity, dtype=float) / 127.0
    out[:, KEYS + 4] = (pitch - 64) / 24.0
    out[:, KEYS + 5] = before > CLUSTER_S
    return out


def _near(times_s: np.ndarray, onset_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    if not len(times_s):
        return np.zeros(len(onset_s), dtype=bool)
    times_s = np.sort(times_s)
    right = np.clip(np.searchsorted(times_s, onset_s), 0, len(times_s) - 1)
    left = np.clip(right - 1, 0, len(times_s) - 1)
    return np.minimum(np.abs(times_s[right] - onset_s), np.abs(times_s[left] - onset_s)) < tolerance_s


def note_targets(onset_s: np.ndarray, beats_s: np.ndarray, downbeats_s: np.ndarray, *,
                 tolerance_s: float = TARGET_TOLERANCE_S) -> tuple[np.ndarray, np.ndarray]:
    """Classes ``(n_notes,)`` int64 (0 no beat, 1 beat, 2 downbeat: a note within
    ``tolerance_s`` of an annotated beat or downbeat) and a loss mask ``(n_notes,)`` float32
    (1 for notes from half a second before the first annotated beat to half a second after
    the last)."""
    onset_s = np.asarray(onset_s, dtype=float)
    classes = np.zeros(len(onset_s), dtype=np.int64)
    classes[_near(np.asarray(beats_s, dtype=float), onset_s, tolerance_s)] = 1
    classes[_near(np.asarray(downbeats_s, dtype=float), onset_s, tolerance_s)] = 2
    mask = (onset_s > beats_s[0] - 0.5) & (onset_s < beats_s[-1] + 0.5) if len(beats_s) else onset_s < -np.inf
    return classes, mask.astype(np.float32)


def frame_activation(onset_s: np.ndarray, probabilities: np.ndarray, n_frames: int, *,
                     fps: int, spread: float = 0.5) -> np.ndarray:
    """Per-frame probabilities ``(n_frames, 3)`` (no beat, beat, downbeat) from per-note ones.

    Each frame takes the largest beat and downbeat probability of the notes starting in it,
    and ``spread`` times that of the notes starting a frame either side (as the frame
    network's targets spread); where the two sum past 1 they are scaled to 1. Frames without
    onsets near them are ``(1, 0, 0)``.
    """
    frames = np.clip(np.rint(np.asarray(onset_s) * fps).astype(int), 0, n_frames - 1)
    beat = np.zeros((n_frames, 2))
    for shift, weight in ((0, 1.0), (-1, spread), (1, spread)):
        at = np.clip(frames + shift, 0, n_frames - 1)
        for column in (0, 1):
            np.maximum.at(beat[:, column], at, weight * probabilities[:, column + 1])
    total = beat.sum(axis=1, keepdims=True)
    beat = np.where(total > 1.0, beat / np.maximum(total, 1e-12), beat)
    return np.concatenate([1.0 - beat.sum(axis=1, keepdims=True), beat], axis=1)
