"""The beat/downbeat DBN on synthetic activations with known beats and bars."""

from __future__ import annotations

import numpy as np
import pytest

from pianotx.errors import ScoreError
from pianotx.score.dbn import track_bars

FPS = 50


def activations(beat_frames: np.ndarray, beats_per_bar: int, n_frames: int,
                first_position: int = 1) -> np.ndarray:
    """A peak of 0.9 (0.45 on either side) in the downbeat column on every downbeat and in the
    beat column on the other beats, 0.02 elsewhere; the first beat is ``first_position``."""
    act = np.full((n_frames, 2), 0.02)
    for i, frame in enumerate(beat_frames):
        column = 1 if (first_position - 1 + i) % beats_per_bar == 0 else 0
        act[frame, column] = 0.9
        for side in (frame - 1, frame + 1):
            if 0 <= side < n_frames:
                act[side, column] = 0.45
    return act


def steady(bpm: float, seconds: float, start: int = 10) -> tuple[np.ndarray, int]:
    period = int(round(60 * FPS / bpm))
    frames = np.arange(start, int(seconds * FPS), period)
    return frames, int(frames[-1]) + 5


def truth_positions(n_beats: int, beats_per_bar: int, first_position: int) -> np.ndarray:
    return (first_position - 1 + np.arange(n_beats)) % beats_per_bar + 1


def check(track, frames: np.ndarray, positions: np.ndarray, tolerance: int) -> None:
    found = np.rint(track.beats_s * FPS).astype(int)
    assert len(found) == len(frames)
    assert np.max(np.abs(found - frames)) <= tolerance
    np.testing.assert_array_equal(track.positions, positions)


def test_three_four_at_100_bpm() -> None:
    frames, n_frames = steady(100, 40)
    track = track_bars(activations(frames, 3, n_frames), fps=FPS)
    assert track.beats_per_bar == 3
    assert track.beats_s.dtype == float and np.all(np.diff(track.beats_s) > 0)
    assert np.isfinite(track.log_prob)
    check(track, frames, truth_positions(len(frames), 3, 1), tolerance=1)


def test_four_four_with_a_pickup_and_two_beat_bars() -> None:
    frames, n_frames = steady(120, 30, start=7)
    track = track_bars(activations(frames, 4, n_frames, first_position=3), fps=FPS)
    assert track.beats_per_bar == 4
    check(track, frames, truth_positions(len(frames), 4, 3), tolerance=1)

    frames, n_frames = steady(75, 30, start=20)
    track = track_bars(activations(frames, 2, n_frames, first_position=2), fps=FPS)
    assert track.beats_per_bar == 2
    check(track, frames, truth_positions(len(frames), 2, 2), tolerance=1)


def test_ritardando_from_120_to_80_bpm() -> None:
    # tempo 120 - 40 t / 30 BPM for 30 s: the beat count is the integral of tempo / 60
    seconds = np.linspace(0, 30, 30001)
    phase = (120 * seconds - 20 * seconds**2 / 30) / 60
    times = 0.2 + np.interp(np.arange(int(phase[-1]) + 1), phase, seconds)
    frames = np.rint(times * FPS).astype(int)
    track = track_bars(activations(frames, 4, int(frames[-1]) + 5), fps=FPS)
    assert track.beats_per_bar == 4
    check(track, frames, truth_positions(len(frames), 4, 1), tolerance=2)


@pytest.mark.parametrize("act", [np.full(500, 0.1), np.full((500, 3), 0.1), np.full((50, 2), 0.1),
                                 np.where(np.arange(1000)[:, None] == 7, np.nan, 0.1) * np.ones(2)])
def test_bad_activations(act: np.ndarray) -> None:
    with pytest.raises(ScoreError):
        track_bars(act, fps=FPS)


def test_bar_prior_can_force_the_bar_length() -> None:
    frames, n_frames = steady(100, 20)
    act = activations(frames, 3, n_frames)
    three = track_bars(act, fps=FPS)
    four = track_bars(act, fps=FPS, bar_log_prior=(0.0, 0.0, 1000.0))
    assert four.beats_per_bar == 4 and four.log_prob < three.log_prob
    assert np.all(np.diff(four.positions) % 4 == 1)
    with pytest.raises(ScoreError):
        track_bars(act, fps=FPS, bar_log_prior=(0.0, 1.0))


def test_a_tempo_prior_chooses_the_metrical_level():
    """Equal peaks every 20 frames (150 BPM): plain decoding takes every peak; a prior that
    favours 75 BPM takes every second one."""
    frames = np.arange(10, 1500, 20)
    act = np.full((1510, 2), 0.02)
    act[frames, 0] = 0.45
    act[frames, 1] = 0.45
    plain = track_bars(act, fps=FPS, bar_lengths=(2,))
    assert len(plain.beats_s) == len(frames)
    slow = track_bars(act, fps=FPS, bar_lengths=(2,),
                      tempo_log_prior=lambda bpm: -8.0 * np.abs(np.log2(bpm / 75.0)))
    found = np.rint(slow.beats_s * FPS).astype(int)
    assert len(found) in (len(frames) // 2, len(frames) // 2 + 1)
    assert np.all(np.diff(found) == 40)
    with pytest.raises(ScoreError, match="tempo_log_prior"):
        track_bars(act, fps=FPS, tempo_log_prior=lambda bpm: np.zeros(3))


def test_observation_threshold_keeps_weaker_offbeats_out():
    """Beats of 0.6 every 40 frames (75 BPM) and off-beat peaks of 0.25 between them:
    madmom's threshold (1 / 8) takes the off-beats too (150 BPM); a threshold of 0.3 keeps
    to the beats."""
    frames = np.arange(10, 1500, 40)
    act = np.full((1500, 2), 0.02)
    act[frames, 0] = 0.6
    act[frames[:-1] + 20, 0] = 0.25
    fast = track_bars(act, fps=FPS, bar_lengths=(2,), observation_lambda=8)
    assert np.all(np.diff(np.rint(fast.beats_s * FPS)) == 20)
    slow = track_bars(act, fps=FPS, bar_lengths=(2,), observation_lambda=8,
                      observation_threshold=0.3)
    found = np.rint(slow.beats_s * FPS).astype(int)
    np.testing.assert_array_equal(found, frames)
    with pytest.raises(ScoreError, match="observation_threshold"):
        track_bars(act, fps=FPS, observation_threshold=1.0)


def three_then_four(bpm: float = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """12 bars of 3/4 then 12 of 4/4 at ``bpm``: activations, true positions, bar lengths, frames."""
    frames, _ = steady(bpm, 60)
    lengths = np.array([3] * 36 + [4] * 48)
    positions = np.concatenate([truth_positions(36, 3, 1), truth_positions(48, 4, 1)])
    frames = frames[: len(lengths)]
    act = np.full((int(frames[-1]) + 5, 2), 0.02)
    for frame, position in zip(frames, positions):
        column = 1 if position == 1 else 0
        act[frame, column] = 0.9
        act[[frame - 1, frame + 1], column] = 0.45
    return act, positions, lengths, frames


def test_a_bar_length_change_is_followed_where_switching_is_allowed() -> None:
    act, positions, lengths, frames = three_then_four()
    fixed = track_bars(act, fps=FPS)
    assert fixed.beats_per_bar in (3, 4) and np.all(fixed.bar_lengths == fixed.beats_per_bar)
    switching = track_bars(act, fps=FPS, switch_log_prob=-20.0)
    check(switching, frames, positions, tolerance=1)
    np.testing.assert_array_equal(switching.bar_lengths, lengths)
    assert switching.beats_per_bar == 4  # the length that holds the most beats
    assert switching.log_prob > fixed.log_prob


def test_switching_on_a_steady_meter_keeps_it_and_is_checked() -> None:
    frames, n_frames = steady(100, 30)
    act = activations(frames, 3, n_frames)
    plain, switching = track_bars(act, fps=FPS), track_bars(act, fps=FPS, switch_log_prob=-20.0)
    np.testing.assert_array_equal(switching.beats_s, plain.beats_s)
    np.testing.assert_array_equal(switching.positions, plain.positions)
    assert np.all(switching.bar_lengths == 3)
    with pytest.raises(ScoreError, match="switch_log_prob"):
        track_bars(act, fps=FPS, switch_log_prob=-0.1)


def test_a_bar_bonus_favours_shorter_bars_only_as_far_as_it_weighs() -> None:
    frames, n_frames = steady(100, 30)
    act = activations(frames, 3, n_frames)
    plain = track_bars(act, fps=FPS)
    kept = track_bars(act, fps=FPS, bar_bonus=1.0)
    assert plain.beats_per_bar == kept.beats_per_bar == 3
    np.testing.assert_array_equal(kept.positions, plain.positions)
    assert kept.log_prob > plain.log_prob  # the path's bar lines are counted in
    assert track_bars(act, fps=FPS, bar_bonus=50.0).beats_per_bar == 2
    assert track_bars(act, fps=FPS, bar_bonus=-50.0).beats_per_bar == 4
