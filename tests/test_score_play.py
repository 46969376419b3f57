"""Performances played from scores with known beats (training data for the beat tracker)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from pianotx.training.scoreplay import ScoreGrid, accompany, beat_length, is_melody, play  # noqa: E402


def waltz_tune() -> ScoreGrid:
    """Four bars of 3/4 after a one-beat pickup: a quarter-note melody (quarter notes as units)."""
    onsets = np.arange(0.0, 13.0)
    notes = np.column_stack([onsets, np.ones(13), 60 + onsets % 7])
    return ScoreGrid(notes, onsets, np.array([1.0, 4.0, 7.0, 10.0]), ((0.0, "3/4"),))


def test_beat_lengths_follow_asap():
    signatures = ("3/4", "2/2", "6/8", "12/16", "6/4", "3/8")
    assert [beat_length(s) for s in signatures] == [1.0, 2.0, 1.5, 0.75, 3.0, 0.5]


def test_a_left_hand_falls_on_the_beats_and_their_division():
    score = waltz_tune()
    assert is_melody(score.notes)
    for seed in range(8):
        left = accompany(score, np.random.default_rng(seed))
        assert len(left) and np.all((left[:, 2] >= 36) & (left[:, 2] <= 77))  # bass 36-58, chords to 77
        assert np.allclose(left[:, 0] * 2, np.round(left[:, 0] * 2))  # beats or half beats (simple metre)


def test_a_played_score_keeps_its_beats_bars_and_order():
    score = waltz_tune()
    for seed in range(4):
        piece = play(score, np.random.default_rng(seed))
        assert len(piece.beats_s) == 13 and np.all(np.diff(piece.beats_s) > 0)
        assert np.allclose(piece.downbeats_s, piece.beats_s[[1, 4, 7, 10]])
        assert piece.signatures == ((piece.beats_s[0], "3/4"),)
        assert np.all(np.diff(piece.onset_s) >= 0) and np.all(piece.offset_s > piece.onset_s)
        assert 0.1 < min(piece.onset_s[0], piece.beats_s[0]) < 1.1
        assert len(piece.onset_s) >= 13 and np.all((piece.pitch >= 21) & (piece.pitch <= 108))
        bpm = 60 / np.median(np.diff(piece.beats_s))
        assert 30 < bpm < 200


def test_the_same_seed_plays_the_same_performance():
    one, two = (play(waltz_tune(), np.random.default_rng([0, 3, 1])) for _ in range(2))
    assert all(np.array_equal(a, b) for a, b in zip(one[:6], two[:6]))
