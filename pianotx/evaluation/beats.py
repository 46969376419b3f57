"""Beat and downbeat scores of tracked beats against annotated ones (``bench/score_asap.py``,
``bench/score_audio_beats.py``, ``scripts/fit_beat_level.py``).

The field's convention: ``mir_eval.beat.f_measure`` with its 70 ms window, beats in the
first 5 s of both sides trimmed (``mir_eval.beat.trim_beats``). Empty inputs score 0.0 and
never warn.
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np

WINDOW_S = 0.07  # mir_eval.beat.f_measure's default


def beat_f_measure(reference: np.ndarray, estimate: np.ndarray) -> float:
    """mir_eval's beat F-measure (70 ms) after trimming the first 5 s of both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(np.asarray(reference, dtype=float)),
                                             mir_eval.beat.trim_beats(np.asarray(estimate, dtype=float)),
                                             f_measure_threshold=WINDOW_S))


def beat_precision_recall(reference: np.ndarray, estimate: np.ndarray) -> tuple[float, float]:
    """Beat precision and recall (70 ms, first 5 s trimmed), as the F-measure counts them."""
    reference = mir_eval.beat.trim_beats(np.asarray(reference, dtype=float))
    estimate = mir_eval.beat.trim_beats(np.asarray(estimate, dtype=float))
    hits = len(mir_eval.util.match_events(reference, estimate, WINDOW_S)) if len(reference) and len(estimate) else 0
    return hits / max(len(estimate), 1), hits / max(len(reference), 1)


def any_level_f_measure(reference: np.ndarray, estimate: np.ndarray) -> float:
    """The best beat F-measure against the annotated beats, twice as many (midpoints added),
    or every second or third beat (each phase): the tracker's beats at any metrical level."""
    reference = np.asarray(reference, dtype=float)
    levels = [reference, np.sort(np.concatenate([reference, (reference[1:] + reference[:-1]) / 2]))]
    levels += [reference[phase::step] for step in (2, 3) for phase in range(step)]
    return max(beat_f_measure(level, estimate) for level in levels)
