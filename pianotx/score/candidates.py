"""Bar length and metrical level chosen together, from candidates the DBN decodes.

The DBN tracks bars of 2, 3, 4, 6 and 8 beats on the mixed probabilities; each is read at
every tracked beat or every second or third (counted from the downbeats), which gives seven
candidate meters: bars of 2, 3 or 4 tracked beats as they are, bars of 4 read as 2 at half the
rate, of 6 as 3 at half or 2 at a third of the rate (6/8 in dotted beats), of 8 as 4 at half.
A conditional logit over 24 features of each candidate (its tempo and what its beats hold,
the DBN's log probability of its bar length against the others, how much more the networks
mark its beats and its downbeats, its division and shape) picks one. It is fitted on
out-of-fold probabilities (networks that never heard the piece) of ASAP's tuning part by
``scripts/fit_beat_chooser.py`` and stored with the tracker's decode settings
(``chooser``). Pure numpy.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import CheckpointError
from pianotx.music.notes import Note
from pianotx.score.level import Thinned, marks_at, peaks_at
from pianotx.score.meter import beat_positions

CANDIDATES = ((2, 1), (3, 1), (4, 1), (4, 2), (6, 2), (6, 3), (8, 2))  # (tracked bar length, step)
# every step divides its bar length and leaves bars of 2 or more: score.level.thin keeps them all
LENGTHS = (2, 3, 4, 6, 8)  # bar lengths the DBN decodes on the mixed probabilities
FRAME_LENGTHS = (2, 3, 4)  # and on the frame network's alone (the default choice)
N_CANDIDATE_FEATURES = 24
CLIP = 4.0  # standardised features are clipped to +-CLIP


class Track(NamedTuple):
    """One bar length's decode: beats (s), places in the bar (1 = downbeat), log probability."""

    beats_s: np.ndarray
    positions: np.ndarray
    log_prob: float


def _downbeat_contrast(probabilities: np.ndarray, kept: Thinned, fps: float) -> float:
    """Mean downbeat probability (the most within two frames) at the kept downbeats, less
    that at the other kept beats."""
    down = peaks_at(probabilities, kept.beats_s, fps)[:, 2]
    on = kept.positions == 1
    return float(down[on].mean() - (down[~on].mean() if (~on).any() else 0.0))


def candidate_features(notes: Sequence[Note], probabilities: Sequence[np.ndarray], tracks: dict[int, Track],
                       frame_log_probs: dict[int, float], length: int, step: int, kept: Thinned,
                       division: int, *, fps: float) -> np.ndarray:
    """The 24 features of one candidate (at least 4 kept beats).

    ``probabilities``: mixed, frame-network and note-network probabilities (no beat, beat,
    downbeat per frame at ``fps``); ``tracks``: the DBN's decode of each of :data:`LENGTHS`
    on the mixed ones; ``frame_log_probs``: its log probability of each of
    :data:`FRAME_LENGTHS` on the frame network's; ``kept``: the candidate's beats
    (:func:`~pianotx.score.level.thin`), ``division`` their division (2 or 3).
    """
    beats_s = kept.beats_s
    onsets = np.array([n.onset_s for n in notes], dtype=float)
    onsets = onsets[(onsets >= beats_s[0]) & (onsets <= beats_s[-1])]
    period = float(np.median(np.diff(beats_s)))
    within = beat_positions(onsets, beats_s) % 1.0
    gaps = np.diff(np.unique(np.round(onsets, 2)))
    n_frames = len(probabilities[0])
    best = max(track.log_prob for track in tracks.values())
    best_frame = max(frame_log_probs.values())
    features = [np.log(60 / period), (np.log(60 / period) - np.log(90)) ** 2, np.log(len(onsets) / len(beats_s)),
                np.log(np.median(gaps) / period) if len(gaps) else 0.0,
                np.log(np.percentile(gaps, 25) / period) if len(gaps) else 0.0,
                np.mean(np.abs(within - np.round(within)) < 0.08), np.mean(np.abs(within - 0.5) < 0.08),
                np.mean(np.abs(within - 1 / 3) < 0.06) + np.mean(np.abs(within - 2 / 3) < 0.06),
                100 * (tracks[length].log_prob - best) / n_frames,
                100 * (frame_log_probs[length] - best_frame) / n_frames if length in frame_log_probs else 0.0]
    for p in probabilities:
        every = marks_at(p, tracks[length].beats_s, fps).mean()
        features.append(marks_at(p, beats_s, fps).mean() / max(every, 1e-6))
        features.append(_downbeat_contrast(p, kept, fps))
    default = max(frame_log_probs, key=frame_log_probs.get)
    features += [float(division == 3), float(kept.beats_per_bar == 2), float(kept.beats_per_bar == 3),
                 float(kept.beats_per_bar == 4), float(step == 2), float(step == 3), float(length >= 6),
                 float(length == default and step == 1)]
    return np.array(features, dtype=float)


def check_chooser(model: dict) -> None:
    """A :class:`CheckpointError` unless ``model`` holds ``mean``, ``scale`` and ``coef``
    (24 numbers each)."""
    for name in ("mean", "scale", "coef"):
        if name not in model or np.shape(model[name]) != (N_CANDIDATE_FEATURES,):
            raise CheckpointError(f"the beat tracker's chooser needs {name} of shape ({N_CANDIDATE_FEATURES},); "
                                  "refit it with scripts/fit_beat_chooser.py")


def candidate_scores(features: np.ndarray, model: dict) -> np.ndarray:
    """The conditional logit's score of each candidate (``features``: one row each),
    standardised and clipped to +-``CLIP``."""
    standard = (np.asarray(features, dtype=float) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return np.clip(standard, -CLIP, CLIP) @ np.asarray(model["coef"])
