"""The beat tracker's level model: features, the logistic model, thinning, its fit."""

from __future__ import annotations

import numpy as np
import pytest

from pianotx.errors import CheckpointError
from pianotx.music.notes import Note
from pianotx.score.level import (N_LEVEL_FEATURES, check_level_model, choose_step, halve_bars,
                                 level_features, level_scores, marks_at, thin)
from pianotx.score.tracker import track
from pianotx.training.levels import fit_level_model


def test_every_second_beat_counted_from_the_downbeats():
    beats, positions = np.arange(9.0), np.array([4, 1, 2, 3, 4, 1, 2, 3, 4])
    kept = thin(beats, positions, 4, 2)
    assert kept.beats_s.tolist() == [1.0, 3.0, 5.0, 7.0]
    assert kept.positions.tolist() == [1, 2, 1, 2] and kept.beats_per_bar == 2
    for length, step in ((4, 3), (2, 2), (3, 3), (4, 1)):  # bars that do not divide so stay
        same = thin(beats, positions, length, step)
        assert same.beats_s is beats and same.beats_per_bar == length


def test_features_of_eighths_under_quarter_beats():
    """Onsets every 0.25 s, beats every 0.5 s in bars of 4, flat probabilities."""
    notes = [Note(0.25 * i, 0.25 * i + 0.2, 60 + i % 3, 80) for i in range(41)]
    beats = 0.5 * np.arange(21)
    flat = np.tile([0.8, 0.1, 0.1], (600, 1))
    features = level_features(notes, beats, 4, (flat, flat, flat), fps=50)
    assert features.shape == (N_LEVEL_FEATURES,)
    assert features[0] == pytest.approx(np.log(0.5))
    assert features[1] == pytest.approx(41 / 21)  # onsets per beat
    assert features[2] == pytest.approx(21 / 41) and features[3] == pytest.approx(20 / 41)
    assert features[4] == 0.0  # none near the thirds
    assert features[5:11].tolist() == pytest.approx([1.0] * 6)  # no phase marked more
    assert features[11] == pytest.approx(np.log(0.5)) and features[12] == pytest.approx(np.log(0.5))
    assert features[13:].tolist() == [0.0, 0.0, 4.0]  # simple at both levels, bars of 4
    marked = flat.copy()
    marked[::50, 1] = 0.5  # every second beat (each second) marked
    assert marks_at(marked, beats, 50)[:4].tolist() == pytest.approx([0.6, 0.2, 0.6, 0.2])
    assert level_features(notes, beats, 4, (marked, flat, flat), fps=50)[5] == pytest.approx(0.6 / 0.4, rel=0.05)


def level_model(intercept, margin=0.0):
    """A model that scores every performance alike (within features -100 to 100)."""
    return {"mean": [0.0] * 16, "scale": [1.0] * 16, "low": [-100.0] * 16, "high": [100.0] * 16,
            "coef": [[0.0] * 16] * 3, "intercept": list(intercept), "margin": margin}


def test_the_logistic_model_scores_and_is_checked():
    model = {**level_model([0.0, 1.0, 0.0]), "mean": [1.0] * 16, "scale": [2.0] * 16, "coef": np.eye(3, 16).tolist()}
    features = np.arange(16.0)
    assert level_scores(features, model).tolist() == [-0.5, 1.0, 0.5]
    assert level_scores(features * 100, model).tolist() == [-0.5, 4.0, 3.0]  # clipped at 3 standard deviations
    assert choose_step(features, model) == 2
    assert choose_step(features, {**model, "margin": 1.6}) == 1  # not sure enough
    assert choose_step(features, {**model, "high": [14.0] * 16}) == 1  # unlike what it was fitted on
    check_level_model(model)
    with pytest.raises(CheckpointError, match="coef of shape"):
        check_level_model({**model, "coef": [[0.0] * 16] * 2})
    with pytest.raises(CheckpointError, match="margin"):
        check_level_model({k: v for k, v in model.items() if k != "margin"})


def test_a_fit_separates_three_classes():
    rng = np.random.default_rng(0)
    classes = np.repeat([0, 1, 2], 30)
    features = rng.normal(size=(90, 16))
    features[:, 3] += 4 * classes
    model = fit_level_model(features, classes, c=10.0, margin=0.0)
    check_level_model(model)
    assert model["low"] == features.min(axis=0).tolist() and model["high"] == features.max(axis=0).tolist()
    assert [choose_step(x, model) for x in features] == (classes + 1).tolist()
    assert model["mean"][3] == pytest.approx(features[:, 3].mean())


def test_the_tracker_keeps_every_second_beat_where_the_model_says_so():
    """The march of test_beat_tracker (4/4 at 100 BPM) with a model that always keeps every
    second beat: 24 beats in bars of 2, the downbeats where they were."""
    from tests.test_beat_tracker import march

    notes = march()
    beats_s, meter = track(notes, level_model=level_model([0.0, 5.0, 0.0]))
    assert len(beats_s) == 24 and np.abs(beats_s - (0.5 + 1.2 * np.arange(24))).max() < 0.03
    assert (meter.beats_per_bar, meter.first_downbeat) == (2, 0)
    assert len(track(notes, level_model=level_model([0.0, 5.0, 0.0], margin=6.0))[0]) == 48
    assert len(track(notes)[0]) == 48  # the shipped model: a march unlike ASAP keeps its beats


def test_bars_of_four_read_as_two_bars_of_two():
    assert halve_bars(np.array([3, 4, 1, 2, 3, 4, 1])).tolist() == [1, 2, 1, 2, 1, 2, 1]


def twelve_eight(bars: int = 12, beat_s: float = 0.6) -> list[Note]:
    """Dotted-quarter beats at 100 BPM, each a chord and two eighths after it (a compound
    beat); a bass note on every fourth beat, as 12/8 would have it."""
    notes = []
    for index in range(bars * 4):
        t = 0.5 + index * beat_s
        if index % 4 == 0:
            notes.append(Note(t, t + 4 * beat_s, 36, 100))
        notes += [Note(t, t + beat_s, p, 90 if index % 4 == 0 else 70) for p in (60, 64, 67)]
        notes += [Note(t + k * beat_s / 3, t + (k + 1) * beat_s / 3, 72 + 2 * k, 55) for k in (1, 2)]
    return notes


def test_compound_bars_of_four_beats_are_written_as_two():
    """Bass every fourth compound beat: the DBN hears 12/8, the tracker writes 6/8 (the beats
    and the first downbeat stay) unless told to keep it."""
    notes = twelve_eight()
    beats_s, meter = track(notes)
    assert len(beats_s) == 48 and np.abs(np.diff(beats_s) - 0.6).max() < 0.03
    assert (meter.beats_per_bar, meter.division, meter.first_downbeat) == (2, 3, 0)
    kept = track(notes, split_compound=0)[1]
    assert (kept.beats_per_bar, kept.division, kept.first_downbeat) == (4, 3, 0)
