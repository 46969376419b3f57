"""Decoding hand-made probability rolls into notes."""

from __future__ import annotations

import numpy as np
import pytest

from pianotx.config import DecodeConfig
from pianotx.engine.decode import (decode_rolls, extract_notes, frame_runs, frame_spans,
                                   key_onset_thresholds, onset_peaks, peak_shift, rearmed_peaks)
from pianotx.errors import ConfigError
from pianotx.music.notes import Note, Pedal, notes_to_rolls

CFG = DecodeConfig(onset_threshold=0.5, frame_threshold=0.5, min_note_s=0.0)


def roll(columns: dict[int, list[float]]) -> np.ndarray:
    n = len(next(iter(columns.values())))
    out = np.zeros((n, 88), np.float32)
    for key, values in columns.items():
        out[:, key] = values
    return out


def test_helpers():
    starts, ends = frame_runs(np.array([1, 1, 0, 1, 0, 0, 1], bool))
    assert starts.tolist() == [0, 3, 6] and ends.tolist() == [2, 4, 7]
    assert onset_peaks(np.array([0.2, 0.6, 0.9, 0.9, 0.1, 0.7]), 0.5).tolist() == [2, 5]


def test_frame_only_runs_and_min_length():
    frame = roll({0: [0, 0.9, 0.8, 0.1, 0.6, 0, 0.7, 0.9], 39: [0.4] * 8})
    notes = extract_notes({"frame": frame}, config=CFG, frame_rate=100)
    assert notes == [Note(0.01, 0.03, 21, 64), Note(0.04, 0.05, 21, 64), Note(0.06, 0.08, 21, 64)]
    longer = DecodeConfig(min_note_s=0.02)
    notes = extract_notes({"frame": frame}, config=longer, frame_rate=100)
    assert [(n.onset_s, n.offset_s) for n in notes] == [(0.01, 0.03), (0.06, 0.08)]


def test_onset_gated_repeated_note_and_last_frame():
    frame = roll({5: [0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]})
    onset = roll({5: [0, 0.9, 0.2, 0.1, 0.8, 0.3, 0.1, 0.0]})
    velocity = roll({5: [0, 0.5, 0, 0, 1.0, 0, 0, 0]})
    notes = extract_notes({"frame": frame, "onset": onset, "velocity": velocity},
                          config=CFG, frame_rate=100)
    assert notes == [Note(0.01, 0.04, 26, 64), Note(0.04, 0.08, 26, 127)]


def test_a_second_peak_without_a_dip_is_the_same_onset():
    onset = np.array([0, 0.9, 0.4, 0.7, 0.1, 0.6, 0.8, 0.2])
    peaks = onset_peaks(onset, 0.5)
    assert peaks.tolist() == [1, 3, 6]
    assert rearmed_peaks(onset, peaks, 0.25).tolist() == [1, 6]  # 0.4 is no dip; 0.1 is
    assert rearmed_peaks(onset, peaks, 0.45).tolist() == [1, 3, 6]
    assert rearmed_peaks(onset, peaks, 0.0).tolist() == [1, 3, 6]
    assert rearmed_peaks(np.array([0, 0.6, 0.5, 0.9, 0]), np.array([1, 3]), 0.25).tolist() == [3]
    frame = roll({5: [0] + [0.9] * 7})
    rearm = DecodeConfig(onset_threshold=0.5, min_note_s=0.0, onset_rearm=0.5)
    notes = extract_notes({"frame": frame, "onset": roll({5: onset.tolist()})}, config=rearm,
                          frame_rate=100)
    assert [(n.onset_s, n.offset_s) for n in notes] == [(0.01, 0.06), (0.06, 0.08)]


def test_the_bass_slope_raises_onset_thresholds_by_octaves_below_middle_c():
    tilted = DecodeConfig(onset_threshold=0.5, onset_bass_slope=0.1, min_note_s=0.0)
    thresholds = key_onset_thresholds(tilted)
    assert thresholds.shape == (88,)
    # A0 (key 0) is 39 semitones below middle C (key 39), C8 (key 87) 48 above.
    assert thresholds[[0, 27, 38, 39, 51, 87]] == pytest.approx(
        [0.825, 0.6, 0.5 + 0.1 / 12, 0.5, 0.5, 0.5])
    steep = DecodeConfig(onset_threshold=0.9, onset_bass_slope=0.5)
    assert key_onset_thresholds(steep).tolist()[:2] == [0.95, 0.95]  # clipped
    assert set(key_onset_thresholds(CFG).tolist()) == {0.5}
    # The same 0.55 peak on C3 (key 27), middle C and C5 (key 51): C3 needs 0.6.
    columns = {27: [0, 0.55, 0], 39: [0, 0.55, 0], 51: [0, 0.55, 0]}
    probs = {"frame": roll({k: [0, 0.9, 0.9] for k in columns}), "onset": roll(columns)}
    flat = extract_notes(probs, config=CFG, frame_rate=100)
    assert [n.pitch for n in flat] == [48, 60, 72]
    assert [n.pitch for n in extract_notes(probs, config=tilted, frame_rate=100)] == [60, 72]
    with pytest.raises(ConfigError, match="onset_bass_slope"):
        DecodeConfig(onset_bass_slope=-0.1)


def test_frame_runs_without_an_onset_peak_become_notes_with_onset_evidence():
    # Key 0: an onset-gated note at frame 2 and a later run from 20 with onset 0.3 at 21
    # (where the note starts), cut by the next onset-gated note at 30. Key 1: a run from 5 beside an onset note at 10
    # (within FRAME_NOTE_GAP). Key 2: a run from 4 with no onset evidence (0.1). Key 3: 3
    # frames only.
    n = 40
    frame, onset = np.zeros((n, 88), np.float32), np.zeros((n, 88), np.float32)
    frame[2:8, 0], onset[2, 0] = 0.9, 0.9
    frame[20:40, 0], onset[21, 0], onset[30, 0] = 0.9, 0.3, 0.9
    frame[5:25, 1], onset[10, 1] = 0.9, 0.9
    frame[4:30, 2], onset[4, 2] = 0.9, 0.1
    frame[10:13, 3], onset[10, 3] = 0.9, 0.3
    probs = {"frame": frame, "onset": onset}
    config = DecodeConfig(min_note_s=0.0, frame_note_min_s=0.05, frame_note_onset=0.2)
    notes = extract_notes(probs, config=config, frame_rate=100, refine=True)
    assert [(n.pitch, round(n.onset_s, 2), round(n.offset_s, 2)) for n in notes] == [
        (21, 0.02, 0.08), (22, 0.1, 0.25), (21, 0.21, 0.3), (21, 0.3, 0.4)]
    assert frame_spans(onset[:, 0], frame[:, 0], frame[:, 0] >= 0.5, [(2, 8), (30, 40)],
                       config=config, run_frames=5, min_frames=0) == [(21, 30)]
    # A run at frame_note_level (0.6) that the frame threshold (0.95) already ends: the
    # note lasts min_frames from the run's start (20).
    strict = DecodeConfig(min_note_s=0.0, frame_threshold=0.95, frame_note_min_s=0.05)
    assert frame_spans(onset[:, 0], frame[:, 0], frame[:, 0] >= 0.95, [(2, 8)],
                       config=strict, run_frames=5, min_frames=3) == [(21, 23)]
    flat = extract_notes(probs, config=DecodeConfig(min_note_s=0.0), frame_rate=100)
    assert len(flat) == len(notes) - 1


def test_onset_without_frame_lasts_min_length_and_frame_without_onset_is_ignored():
    frame = roll({0: [0, 0, 0, 0, 0], 1: [0.9] * 5})
    onset = roll({0: [0, 0.9, 0, 0, 0], 1: [0] * 5})
    notes = extract_notes({"frame": frame, "onset": onset},
                          config=DecodeConfig(min_note_s=0.03), frame_rate=100)
    assert notes == [Note(0.01, 0.04, 21, 64)]


def test_empty_rolls_give_no_notes():
    zeros = np.zeros((10, 88), np.float32)
    assert extract_notes({"frame": zeros, "onset": zeros}, config=CFG, frame_rate=100) == []
    assert extract_notes({"frame": zeros[:0]}, config=CFG, frame_rate=100) == []


def test_peak_shift_recovers_a_triangle_peak_exactly():
    for centre in (10.0, 10.2, 10.49, 9.6, 9.75):
        t = np.arange(20)
        tri = np.maximum(0, 1 - np.abs(t - centre) / 2)
        peak = int(np.argmax(tri))
        assert peak + peak_shift(tri, peak) == pytest.approx(centre, abs=1e-9)
    assert peak_shift(np.array([1.0, 0.5]), 0) == 0.0  # at the edge: no neighbour


def test_refined_decoding_of_soft_rolls_gives_sub_frame_times():
    """Triangular targets as a perfect model would output them decode back to the exact
    onset and offset times, not to the 10 ms grid; repeated notes stay separate."""
    truth = [Note(0.1234, 0.3017, 60, 80), Note(0.3017, 0.4561, 60, 100), Note(0.2, 0.9, 40, 30)]
    rolls = notes_to_rolls(truth, 120, soft_frames=2)
    probs = {"frame": rolls.frame, "onset": rolls.onset, "offset": rolls.offset,
             "velocity": rolls.velocity}
    notes = extract_notes(probs, config=CFG, frame_rate=100, refine=True)
    assert [n.pitch for n in notes] == [60, 40, 60]
    by_time = sorted(notes, key=lambda n: (n.pitch, n.onset_s))
    for got, want in zip(by_time, sorted(truth, key=lambda n: (n.pitch, n.onset_s))):
        assert got.onset_s == pytest.approx(want.onset_s, abs=1e-6)
        assert got.offset_s == pytest.approx(want.offset_s, abs=1e-6)
        assert abs(got.velocity - want.velocity) <= 1
    plain = extract_notes(probs, config=CFG, frame_rate=100)
    assert [round(n.onset_s * 100, 6) % 1 for n in plain] == [0, 0, 0]  # on the grid


def test_note_held_to_the_last_frame_ends_there():
    frame = roll({3: [0, 0.9, 0.9, 0.9]})
    onset = roll({3: [0, 0.9, 0.4, 0]})
    offset = roll({3: [0, 0, 0, 0]})
    notes = extract_notes({"frame": frame, "onset": onset, "offset": offset}, config=CFG,
                          frame_rate=100, refine=True)
    assert len(notes) == 1 and notes[0].offset_s == pytest.approx(0.04)


def test_pedal_runs_decode_with_min_length():
    pedal = np.array([[0.1], [0.9], [0.9], [0.2], [0.8], [0.7], [0.6], [0.6], [0.1], [0.9]],
                     np.float32)
    zeros = np.zeros((10, 88), np.float32)
    out = decode_rolls({"frame": zeros, "pedal": pedal}, frame_rate=100,
                       config=DecodeConfig(min_pedal_s=0.03))
    assert out.notes == [] and out.pedals == [Pedal(0.04, 0.08)]
    assert decode_rolls({"frame": zeros}, config=CFG, frame_rate=100).pedals == []


@pytest.mark.parametrize("chunk_size", [7, 100, 1000])
@pytest.mark.parametrize("frame_notes", [False, True])
def test_streamed_decoding_equals_decoding_the_whole(chunk_size, frame_notes):
    """Chunks of any size, decoded 50 frames at a time with a 40-frame tail, give the very
    notes and presses of one pass (every note and press here is shorter than the tail)."""
    from pianotx.engine.decode import stream_decode

    rng = np.random.default_rng(0)
    truth = [Note(float(t), float(t + rng.uniform(0.02, 0.3)), int(rng.integers(21, 109)),
                  int(rng.integers(1, 128))) for t in np.sort(rng.uniform(0, 4.5, 120))]
    presses = [Pedal(0.1 + k * 0.5, 0.35 + k * 0.5) for k in range(9)]
    rolls = notes_to_rolls(truth, 480, soft_frames=2, pedals=presses)
    noise = rng.uniform(0, 0.3, (480, 88)).astype(np.float32)
    probs = {"frame": np.clip(rolls.frame + noise, 0, 1), "onset": np.clip(rolls.onset + noise, 0, 1),
             "offset": rolls.offset, "velocity": rolls.velocity, "pedal": rolls.pedal}
    config = DecodeConfig(min_note_s=0.0)
    if frame_notes:  # 30 frame runs without an onset peak, 0.1 s each
        for t, key in zip(rng.integers(0, 470, 30), rng.integers(0, 88, 30)):
            probs["frame"][t:t + 10, key] = 0.9
        config = DecodeConfig(min_note_s=0.0, frame_note_min_s=0.08, frame_note_onset=0.25)
        flat = decode_rolls(probs, config=DecodeConfig(min_note_s=0.0), frame_rate=100,
                            refine=True)
    whole = decode_rolls(probs, config=config, frame_rate=100, refine=True)
    if frame_notes:
        assert len(whole.notes) >= len(flat.notes) + 10
    chunks = [(i, {k: v[i : i + chunk_size] for k, v in probs.items()})
              for i in range(0, 480, chunk_size)]
    streamed = stream_decode(chunks, config=config, frame_rate=100, refine=True,
                             chunk_frames=50, tail_frames=40)
    assert len(whole.notes) >= 100 and len(whole.pedals) == 9
    assert streamed.notes == whole.notes and streamed.pedals == whole.pedals


def test_pedal_modes_write_presses_hold_notes_or_ignore_the_pedal():
    from pianotx.config import DecodeConfig
    from pianotx.engine.decode import apply_pedal_mode
    from pianotx.errors import ConfigError
    from pianotx.music.notes import Note, Pedal

    notes, pedals = [Note(0.0, 0.5, 60, 80), Note(2.0, 2.2, 62, 70)], [Pedal(0.3, 1.0)]
    assert apply_pedal_mode(notes, pedals, mode="cc64") == (notes, pedals)
    assert apply_pedal_mode(notes, pedals, mode="extend") == (
        [Note(0.0, 1.0, 60, 80), Note(2.0, 2.2, 62, 70)], [])
    assert apply_pedal_mode(notes, pedals, mode="none") == (notes, [])
    with pytest.raises(ConfigError, match="pedal must be one of"):
        DecodeConfig(pedal="sometimes")
