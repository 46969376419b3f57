"""Probability rolls -> notes (pure numpy).

Frame-only models (the paper's): a note is a run of frames above ``frame_threshold``;
runs shorter than ``min_note_s`` are dropped as flicker. Models with an onset head: a note
starts only at a local maximum of the onset probability above ``onset_threshold`` and lasts
until the frame probability falls below ``frame_threshold`` or the next onset of the same
key, at least ``min_note_s``. Velocity is read from the velocity head at the onset frame,
else ``default_velocity``.
"""

from __future__ import annotations

import numpy as np

from pianotx.config import MIN_MIDI, DecodeConfig
from pianotx.notes import Note


def frame_runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def onset_peaks(onset: np.ndarray, threshold: float) -> np.ndarray:
    """Frames where a 1-D onset probability is a local maximum at or above ``threshold``.

    A plateau counts once, at its first frame.
    """
    previous = np.concatenate([[-np.inf], onset[:-1]])
    following = np.concatenate([onset[1:], [-np.inf]])
    return np.flatnonzero((onset >= threshold) & (onset > previous) & (onset >= following))


def extract_notes(
    probs: dict[str, np.ndarray], *, config: DecodeConfig, frame_rate: float
) -> list[Note]:
    """Decode probability rolls into notes.

    Parameters
    ----------
    probs : dict of str -> np.ndarray, shape=(n_frames, 88)
        Must hold ``frame``; ``onset`` and ``velocity`` are used when present.
    config : DecodeConfig
    frame_rate : float > 0
        Frames per second of the rolls.

    Returns
    -------
    list of Note
        Sorted by onset, then pitch.
    """
    frame = probs["frame"] >= config.frame_threshold
    min_frames = int(round(config.min_note_s * frame_rate))
    notes = []
    for key in range(frame.shape[1]):
        if "onset" in probs:
            spans = _onset_spans(probs["onset"][:, key], frame[:, key], config, min_frames)
        else:
            starts, ends = frame_runs(frame[:, key])
            keep = ends - starts >= max(min_frames, 1)
            spans = zip(starts[keep], ends[keep])
        for start, end in spans:
            notes.append(Note(start / frame_rate, end / frame_rate, MIN_MIDI + key,
                              _velocity(probs, start, key, config)))
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))


def _onset_spans(
    onset: np.ndarray, active: np.ndarray, config: DecodeConfig, min_frames: int
) -> list[tuple[int, int]]:
    """(start, end) frames of onset-gated notes on one key."""
    peaks = onset_peaks(onset, config.onset_threshold)
    if len(peaks) == 0:
        return []
    inactive = np.flatnonzero(~active)
    n_frames = len(active)
    spans = []
    for i, start in enumerate(peaks):
        limit = peaks[i + 1] if i + 1 < len(peaks) else n_frames
        k = np.searchsorted(inactive, start + 1)
        end = inactive[k] if k < len(inactive) else n_frames
        end = min(max(end, start + max(min_frames, 1)), limit, n_frames)
        spans.append((int(start), int(max(end, start + 1))))
    return spans


def _velocity(probs: dict[str, np.ndarray], frame: int, key: int, config: DecodeConfig) -> int:
    if "velocity" not in probs:
        return config.default_velocity
    return int(np.clip(round(float(probs["velocity"][frame, key]) * 127), 1, 127))
