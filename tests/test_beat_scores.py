"""Beat scores: mir_eval's F-measure with the first 5 s trimmed, precision and recall, any level."""

from __future__ import annotations

import numpy as np

from pianotx.evaluation.beats import any_level_f_measure, beat_f_measure, beat_precision_recall

REFERENCE = 5.0 + np.arange(10.0)  # ten beats a second apart from 5 s


def test_the_first_five_seconds_do_not_count():
    early = np.concatenate([[1.0, 2.0, 3.0], REFERENCE])
    assert beat_f_measure(REFERENCE, early) == 1.0


def test_a_beat_is_found_within_70_ms():
    shifted = REFERENCE + np.where(np.arange(10) < 5, 0.06, 0.08)
    assert beat_precision_recall(REFERENCE, shifted) == (0.5, 0.5)
    assert beat_f_measure(REFERENCE, shifted) == 0.5


def test_twice_as_many_beats_score_by_precision_but_not_at_any_level():
    double = np.arange(5.0, 14.1, 0.5)  # 19 beats: the 10 annotated and 9 between
    precision, recall = beat_precision_recall(REFERENCE, double)
    assert (round(precision, 4), recall) == (round(10 / 19, 4), 1.0)
    assert abs(beat_f_measure(REFERENCE, double) - 2 * precision / (precision + 1)) < 1e-9
    assert any_level_f_measure(REFERENCE, double) == 1.0
    assert any_level_f_measure(REFERENCE, REFERENCE[1::3]) == 1.0


def test_nothing_tracked_scores_zero():
    assert beat_f_measure(REFERENCE, np.array([])) == 0.0
    assert beat_precision_recall(REFERENCE, np.array([])) == (0.0, 0.0)
