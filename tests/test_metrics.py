"""Metrics on literal notes and rolls, checked against mir_eval and the paper's formulas."""

from __future__ import annotations


import mir_eval
import numpy as np
import pytest

from pianotx.errors import PianotxError
from pianotx.evaluation.metrics import (
    frame_scores,
    mean_scores,
    note_scores,
    score_counts,
    pedal_scores,
    piece_scores,
)
from pianotx.music.notes import Note, Pedal

REF = [
    Note(0.10, 0.60, 60, 40),
    Note(0.50, 1.50, 64, 80),
    Note(1.00, 1.10, 67, 100),
    Note(2.00, 3.00, 72, 60),
]
EST = [
    Note(0.13, 0.61, 60, 50),  # onset 30 ms late: matches, offset within 50 ms
    Note(0.55, 1.80, 64, 90),  # onset 50 ms late (<= counts); offset 300 ms > 20 % of 1 s
    Note(1.00, 1.14, 67, 110),  # offset 40 ms late: within the 50 ms floor
    Note(2.00, 3.00, 71, 60),  # wrong pitch
    Note(2.50, 2.70, 40, 30),  # nothing there
]


def _mir_eval_arrays(notes):
    intervals = np.array([[n.onset_s, n.offset_s] for n in notes]).reshape(-1, 2)
    hz = mir_eval.util.midi_to_hz(np.array([n.pitch for n in notes], float))
    return intervals, hz, np.array([n.velocity for n in notes], float)


def test_perfect_transcription_scores_one() -> None:
    scores = piece_scores(REF, [], REF, None)
    assert scores and all(value == 1.0 for value in scores.values())
    assert not any(key.startswith("pedal") for key in scores)


@pytest.mark.filterwarnings("error")
def test_empty_estimate_scores_zero_without_warnings() -> None:
    scores = piece_scores(REF, [Pedal(0.0, 1.0)], [], [])
    for key, value in scores.items():
        if key != "note_frame/accuracy":
            assert value == 0.0, key
    assert 0.9 < scores["note_frame/accuracy"] < 1.0  # silence is right in most cells


@pytest.mark.filterwarnings("error")
def test_both_empty_score_one_and_empty_reference_scores_zero() -> None:
    assert set(piece_scores([], [], [], None).values()) == {1.0}
    assert note_scores([], EST)["note/precision"] == 0.0
    assert note_scores([], EST)["note/recall"] == 0.0


def test_note_scores_equal_mir_eval() -> None:
    scores = note_scores(REF, EST)
    ref_iv, ref_hz, ref_vel = _mir_eval_arrays(REF)
    est_iv, est_hz, est_vel = _mir_eval_arrays(EST)
    onset = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_hz, est_iv, est_hz, offset_ratio=None
    )
    offset = mir_eval.transcription.precision_recall_f1_overlap(ref_iv, ref_hz, est_iv, est_hz)
    velocity = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ref_iv, ref_hz, ref_vel, est_iv, est_hz, est_vel
    )
    assert (scores["note/precision"], scores["note/recall"], scores["note/f1"]) == pytest.approx(
        onset[:3]
    )
    assert scores["note_offset/f1"] == pytest.approx(offset[2])
    assert scores["note_offset_velocity/f1"] == pytest.approx(velocity[2])
    # by hand: 3 of 5 estimates match 3 of 4 references on onset; 2 also on offset
    assert scores["note/precision"] == pytest.approx(3 / 5)
    assert scores["note/recall"] == pytest.approx(3 / 4)
    assert scores["note/f1"] == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    assert scores["note_offset/precision"] == pytest.approx(2 / 5)
    assert scores["note_offset/recall"] == pytest.approx(2 / 4)


@pytest.mark.parametrize(
    ("ref", "est_offset_s", "matches"),
    [
        (Note(1.0, 2.0, 60, 64), 2.19, True),  # 20 % of a 1 s note is 200 ms
        (Note(1.0, 2.0, 60, 64), 2.21, False),
        (Note(1.0, 1.1, 60, 64), 1.149, True),  # short notes get the 50 ms floor
        (Note(1.0, 1.1, 60, 64), 1.16, False),
    ],
)
def test_offset_tolerance_is_20_percent_or_50_ms(ref, est_offset_s, matches) -> None:
    scores = note_scores([ref], [ref._replace(offset_s=est_offset_s)])
    assert scores["note/f1"] == 1.0
    assert scores["note_offset/f1"] == (1.0 if matches else 0.0)


def test_velocity_is_judged_after_a_linear_rescaling() -> None:
    ref = [Note(float(i), i + 0.5, 60, v) for i, v in enumerate((20, 60, 100))]
    scaled = [n._replace(velocity=n.velocity // 2 + 10) for n in ref]  # a line: still exact
    assert note_scores(ref, scaled)["note_offset_velocity/f1"] == 1.0
    # 20, 100, 60 for 20, 60, 100: the best line misses every reference by >= 0.25
    shuffled = [ref[0], ref[1]._replace(velocity=100), ref[2]._replace(velocity=60)]
    scores = note_scores(ref, shuffled)
    assert scores["note/f1"] == 1.0
    assert scores["note_velocity/f1"] == 0.0
    ref_iv, ref_hz, ref_vel = _mir_eval_arrays(ref)
    est_iv, est_hz, est_vel = _mir_eval_arrays(shuffled)
    expected = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ref_iv, ref_hz, ref_vel, est_iv, est_hz, est_vel
    )
    assert scores["note_offset_velocity/f1"] == pytest.approx(expected[2])


def test_frame_scores_on_literal_rolls() -> None:
    ref = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    est = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]])
    # TP = 3, FP = 1, FN = 1, TN = 7 of 12 cells
    scores = frame_scores(ref, est)
    assert scores["frame/precision"] == pytest.approx(3 / 4)
    assert scores["frame/recall"] == pytest.approx(3 / 4)
    assert scores["frame/f1"] == pytest.approx(3 / 4)
    assert scores["frame/accuracy"] == pytest.approx(10 / 12)
    assert scores["frame/accuracy_mirex"] == pytest.approx(3 / 5)


def test_an_empty_roll_keeps_the_papers_accuracy_high_and_the_mirex_accuracy_zero() -> None:
    ref = np.zeros((10, 88), bool)
    ref[2:6, 40] = True  # TP = 0, FP = 0, FN = 4 of 880 cells
    scores = frame_scores(ref, np.zeros_like(ref))
    assert scores["frame/f1"] == 0.0 and scores["frame/accuracy_mirex"] == 0.0
    assert scores["frame/accuracy"] == pytest.approx(876 / 880)  # (TP + TN) / all cells
    roll = piece_scores([Note(0.0, 0.04, 60, 64)], [], [], [], n_frames=10)
    assert roll["note_frame/accuracy"] == pytest.approx(876 / 880)
    assert roll["note_frame/accuracy_mirex"] == 0.0


def test_frame_scores_reject_probabilities_and_mismatched_shapes() -> None:
    with pytest.raises(PianotxError, match="only 0 and 1"):
        frame_scores(np.zeros((2, 88)), np.full((2, 88), 0.7))
    with pytest.raises(PianotxError, match="differ in shape"):
        frame_scores(np.zeros((2, 88)), np.zeros((3, 88)))


def test_bad_notes_are_rejected() -> None:
    with pytest.raises(PianotxError, match="onset_s <= offset_s"):
        note_scores([Note(1.0, 0.5, 60, 64)], [])


def test_pedal_scores_when_both_sides_have_pedals() -> None:
    ref = [Pedal(0.0, 1.0), Pedal(2.0, 3.0)]
    est = [Pedal(0.02, 1.0), Pedal(2.5, 3.0)]
    scores = pedal_scores(ref, est, 400)
    assert scores["pedal/f1"] == pytest.approx(0.5)
    assert scores["pedal_offset/f1"] == pytest.approx(0.5)
    # frames: ref 200 down, est 148 down (98 + 50), all inside the reference
    assert scores["pedal_frame/precision"] == 1.0
    assert scores["pedal_frame/recall"] == pytest.approx(148 / 200)
    assert "pedal/f1" in piece_scores(REF, ref, REF, est)


def test_missed_presses_score_zero_and_count_in_the_mean() -> None:
    ref = [Pedal(0.0, 1.0), Pedal(2.0, 3.0)]
    missed = piece_scores(REF, ref, REF, [])  # a pedal transcriber that predicted no press
    assert missed["pedal/f1"] == missed["pedal_frame/f1"] == 0.0
    assert not any(k.startswith("pedal") for k in piece_scores(REF, ref, REF, None))
    pieces = [piece_scores(REF, ref, REF, ref), missed, piece_scores(REF, [], REF, [])]
    assert mean_scores(pieces)["pedal/f1"] == 0.5  # not 1.0: the missed piece counts
    assert score_counts(pieces)["pedal/f1"] == 2 and score_counts(pieces)["note/f1"] == 3


def test_mean_scores_ignore_missing_keys() -> None:
    assert mean_scores([{"a": 1.0, "b": 0.0}, {"a": 0.0}]) == {"a": 0.5, "b": 0.0}
    assert mean_scores([]) == {}
