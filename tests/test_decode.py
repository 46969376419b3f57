"""Decoding hand-made probability rolls into notes."""

from __future__ import annotations

import numpy as np

from pianotx.config import DecodeConfig
from pianotx.decode import extract_notes, frame_runs, onset_peaks
from pianotx.notes import Note

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
