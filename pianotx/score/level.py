"""The metrical level of tracked beats: keep them, or every second or third one.

The learned tracker often beats at a level faster than the notation's (eighths of a slow
4/4, where ASAP annotates quarters): on ASAP's tuning part 40 % of performances come out with
at least 1.25 times the annotated beats. Asking the DBN for slower tempi does not help (its
network marks the slow beats no more than the fast ones), but a small logistic model over
16 features of the tracked beats (tempo, onsets per beat and where they fall in it, how much
more the networks mark every second or third beat, inter-onset intervals, the division of
the beat at both levels, the bar length) often knows when every second or third beat is the
notated one. It changes the level only where it is sure by a margin and where the
performance is like those it was fitted on (every feature within their range). The kept
beats are counted from the downbeats, so the bar lines stay; where a bar of the tracked
length cannot be divided so (3 beats kept every second), the beats stay. The model is
fitted on ASAP's tuning part by ``scripts/fit_beat_level.py`` and stored with the
tracker's decode settings (``level_model``). Pure numpy.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import CheckpointError
from pianotx.music.notes import Note
from pianotx.score.meter import beat_division, beat_positions

STEPS = (1, 2, 3)  # keep every beat, every second, every third: the model's classes
N_LEVEL_FEATURES = 16
CLIP = 3.0  # standardised features are clipped to +-CLIP: no wild extrapolation off ASAP


class Thinned(NamedTuple):
    """Beats kept at the chosen level, their places in the bar (1 = downbeat), bar length."""

    beats_s: np.ndarray
    positions: np.ndarray
    beats_per_bar: int


def peaks_at(probabilities: np.ndarray, beats_s: np.ndarray, fps: float) -> np.ndarray:
    """Each column's most probability within two frames of each beat ``(n_beats, columns)``."""
    index = np.clip(np.round(np.asarray(beats_s) * fps).astype(int), 0, len(probabilities) - 1)
    return np.array([probabilities[max(i - 2, 0):i + 3].max(axis=0) for i in index])


def marks_at(probabilities: np.ndarray, beats_s: np.ndarray, fps: float) -> np.ndarray:
    """Beat plus downbeat probability at each beat: the most of each within two frames."""
    peaks = peaks_at(probabilities, beats_s, fps)
    return peaks[:, 1] + peaks[:, 2]


def strongest_phase(marks: np.ndarray, step: int) -> int:
    """The phase (0 to ``step`` - 1) of every ``step``-th beat that ``marks`` mark most."""
    return int(np.argmax([marks[phase::step].sum() for phase in range(step)]))


def level_features(notes: Sequence[Note], beats_s: np.ndarray, beats_per_bar: int,
                   probabilities: Sequence[np.ndarray], *, fps: float) -> np.ndarray:
    """The 16 features of tracked beats (at least 4) that the level model reads.

    ``probabilities``: the mixed, frame-network and note-network probabilities of no beat,
    beat and downbeat per frame at ``fps``, in that order.
    """
    beats_s = np.asarray(beats_s, dtype=float)
    onsets = np.array([n.onset_s for n in notes], dtype=float)
    onsets = onsets[(onsets >= beats_s[0]) & (onsets <= beats_s[-1])]
    period = float(np.median(np.diff(beats_s)))
    within = beat_positions(onsets, beats_s) % 1.0
    features = [np.log(period), len(onsets) / len(beats_s),
                np.mean(np.abs(within - np.round(within)) < 0.08), np.mean(np.abs(within - 0.5) < 0.08),
                np.mean(np.abs(within - 1 / 3) < 0.06) + np.mean(np.abs(within - 2 / 3) < 0.06)]
    marks = [marks_at(p, beats_s, fps) for p in probabilities]
    for step in (2, 3):
        for mark in marks:  # how much more the strongest phase is marked than the beats on average
            features.append(max(mark[phase::step].mean() for phase in range(step)) / max(mark.mean(), 1e-6))
    gaps = np.diff(np.unique(np.round(onsets, 2)))
    features += [np.log(np.median(gaps) / period), np.log(np.percentile(gaps, 25) / period)] if len(gaps) else [0.0, 0.0]
    halves = beats_s[strongest_phase(marks[0], 2)::2]
    features.append(float(len(halves) > 1 and beat_division(notes, halves) == 3))
    features.append(float(beat_division(notes, beats_s) == 3))
    features.append(float(beats_per_bar))
    return np.array(features, dtype=float)


def check_level_model(model: dict) -> None:
    """A :class:`CheckpointError` unless ``model`` holds ``mean``, ``scale``, ``low`` and
    ``high`` (16 each), ``coef`` (3 x 16), ``intercept`` (3) and ``margin`` (a number)."""
    shapes = {"mean": (N_LEVEL_FEATURES,), "scale": (N_LEVEL_FEATURES,), "low": (N_LEVEL_FEATURES,),
              "high": (N_LEVEL_FEATURES,), "coef": (len(STEPS), N_LEVEL_FEATURES),
              "intercept": (len(STEPS),), "margin": ()}
    for name, shape in shapes.items():
        if name not in model or np.shape(model[name]) != shape:
            raise CheckpointError(f"the beat tracker's level_model needs {name} of shape {shape}; "
                                  "refit it with scripts/fit_beat_level.py")


def level_scores(features: np.ndarray, model: dict) -> np.ndarray:
    """Log-odds of keeping every beat, every second and every third (the logistic model on
    features standardised and clipped to +-``CLIP``)."""
    standard = (np.asarray(features, dtype=float) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return np.asarray(model["coef"]) @ np.clip(standard, -CLIP, CLIP) + np.asarray(model["intercept"])


def choose_step(features: np.ndarray, model: dict) -> int:
    """The step (1, 2 or 3) whose score is highest once keeping every beat gets the model's
    ``margin``: a level is changed only where the model is that sure, and only for a
    performance whose every feature lies within the range it was fitted on (``low`` to
    ``high``; a plain scale or a march of one chord a beat, unlike any performance in ASAP,
    keeps its beats)."""
    features = np.asarray(features, dtype=float)
    if np.any(features < np.asarray(model["low"])) or np.any(features > np.asarray(model["high"])):
        return 1
    scores = level_scores(features, model)
    scores[0] += float(model["margin"])
    return STEPS[int(np.argmax(scores))]


def thin(beats_s: np.ndarray, positions: np.ndarray, beats_per_bar: int, step: int) -> Thinned:
    """Every ``step``-th beat, counted from the downbeats, in bars of ``beats_per_bar / step``
    beats; the beats unchanged where the bar does not divide so (the bar lines stay)."""
    if step == 1 or beats_per_bar % step or beats_per_bar // step < 2:
        return Thinned(beats_s, positions, beats_per_bar)
    keep = (np.asarray(positions) - 1) % step == 0
    return Thinned(beats_s[keep], (positions[keep] - 1) // step + 1, beats_per_bar // step)


def halve_bars(positions: np.ndarray) -> np.ndarray:
    """Places in the bar (1 = downbeat) of bars of four beats read as two bars of two: the
    bar lines stay and one more falls on every third beat."""
    return (np.asarray(positions) - 1) % 2 + 1
