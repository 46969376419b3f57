"""Frame, note and pedal scores of one transcribed piece, and their mean over pieces.

Each metric follows mir_eval's order: validate -> match -> score. Frame scores are the
paper's (binary 88-key rolls at 100 frames/s; accuracy = (TP + TN) / all cells, plus the
MIREX accuracy TP / (TP + FP + FN)): ``frame/*`` scores a model's thresholded frame head,
``note_frame/*`` the decoded notes redrawn as a roll (what any transcriber's MIDI gives),
both as long as the audio; note scores are the field's, from
``mir_eval.transcription`` and ``mir_eval.transcription_velocity`` with their defaults
(onsets within 50 ms, offsets within max(20 % of the reference duration, 50 ms),
velocities within 0.1 after a least-squares rescaling).

Empty inputs never crash and never warn. When both sides are empty every precision,
recall and F1 is 1.0 (nothing to find, nothing wrongly found); when exactly one side is
empty they are 0.0, as mir_eval returns. Pitches are MIDI numbers everywhere but here,
where mir_eval needs Hz.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from pianotx.config import FRAME_RATE, MIN_MIDI
from pianotx.errors import PianotxError
from pianotx.music.notes import Note, Pedal, notes_to_rolls

ONSET_TOLERANCE_S = 0.05
OFFSET_RATIO = 0.2
OFFSET_MIN_TOLERANCE_S = 0.05
PEDAL_PITCH = 69  # pedal presses are scored as notes of one dummy pitch


def _prf(n_correct: int, n_est: int, n_ref: int) -> tuple[float, float, float]:
    """Precision, recall and F1 = 2PR / (P + R) from counts, with the empty-side rules."""
    if n_est == 0 and n_ref == 0:
        return 1.0, 1.0, 1.0
    precision = n_correct / n_est if n_est else 0.0
    recall = n_correct / n_ref if n_ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def _binary(roll: np.ndarray, name: str) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise PianotxError(f"{name} roll must be 2-D (n_frames, n_keys), got shape {roll.shape}")
    if roll.dtype != bool and not np.isin(roll, (0, 1)).all():
        raise PianotxError(f"{name} roll must hold only 0 and 1; threshold probabilities first")
    return roll.astype(bool)


def frame_scores(ref_frame: np.ndarray, est_frame: np.ndarray) -> dict[str, float]:
    """Score a binary frame roll against the reference roll, cell by cell.

    Parameters
    ----------
    ref_frame, est_frame : np.ndarray, shape (n_frames, n_keys)
        Binary rolls (bool, or numbers that are all 0 or 1) of the same shape.

    Returns
    -------
    dict
        ``frame/precision``, ``frame/recall``, ``frame/f1``, ``frame/accuracy``
        ((TP + TN) / all cells, as the paper reports it) and ``frame/accuracy_mirex``
        (TP / (TP + FP + FN); 1.0 when both rolls are empty).

    Raises
    ------
    PianotxError
        If a roll is not 2-D and binary or the shapes differ.
    """
    ref, est = _binary(ref_frame, "reference"), _binary(est_frame, "estimated")
    if ref.shape != est.shape:
        raise PianotxError(f"frame rolls differ in shape: {ref.shape} vs {est.shape}")
    tp = int(np.count_nonzero(ref & est))
    fp = int(np.count_nonzero(est & ~ref))
    fn = int(np.count_nonzero(ref & ~est))
    precision, recall, f1 = _prf(tp, tp + fp, tp + fn)
    n_cells = ref.size
    return {
        "frame/precision": precision,
        "frame/recall": recall,
        "frame/f1": f1,
        "frame/accuracy": (n_cells - fp - fn) / n_cells if n_cells else 1.0,
        "frame/accuracy_mirex": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
    }


def note_arrays(notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals (n, 2) in s, pitches (n,) in Hz and velocities (n,) for mir_eval."""
    intervals = np.array([[n.onset_s, n.offset_s] for n in notes], float).reshape(-1, 2)
    pitches = np.array([440.0 * 2.0 ** ((n.pitch - 69) / 12.0) for n in notes], float)
    velocities = np.array([n.velocity for n in notes], float)
    return intervals, pitches, velocities


def _validate_notes(notes: Sequence[Note], name: str) -> None:
    for note in notes:
        if not (math.isfinite(note.onset_s) and math.isfinite(note.offset_s)):
            raise PianotxError(f"{name} note {note} has a non-finite time")
        if note.offset_s < note.onset_s or note.onset_s < 0:
            raise PianotxError(f"{name} note {note} must satisfy 0 <= onset_s <= offset_s")


def _match_count(ref: tuple, est: tuple, *, offset_ratio: float | None, velocity: bool) -> int:
    """Number of one-to-one matches mir_eval finds between two non-empty note lists."""
    import mir_eval

    (ref_iv, ref_hz, ref_vel), (est_iv, est_hz, est_vel) = ref, est
    tolerances = dict(
        onset_tolerance=ONSET_TOLERANCE_S,
        offset_ratio=offset_ratio,
        offset_min_tolerance=OFFSET_MIN_TOLERANCE_S,
    )
    if velocity:
        return len(
            mir_eval.transcription_velocity.match_notes(
                ref_iv, ref_hz, ref_vel, est_iv, est_hz, est_vel, **tolerances
            )
        )
    return len(mir_eval.transcription.match_notes(ref_iv, ref_hz, est_iv, est_hz, **tolerances))


_NOTE_METRICS = {  # prefix -> (offset_ratio, with velocity)
    "note": (None, False),
    "note_offset": (OFFSET_RATIO, False),
    "note_velocity": (None, True),
    "note_offset_velocity": (OFFSET_RATIO, True),
}


def note_scores(
    ref_notes: Sequence[Note],
    est_notes: Sequence[Note],
    *,
    metrics: Sequence[str] = tuple(_NOTE_METRICS),
) -> dict[str, float]:
    """Score estimated notes against reference notes with mir_eval's note matching.

    Parameters
    ----------
    ref_notes, est_notes : sequence of Note
        Notes as they should be scored (references usually pedal-extended).
    metrics : sequence of str
        Which of ``note`` (onset), ``note_offset`` (onset and offset),
        ``note_velocity`` (onset and velocity) and ``note_offset_velocity`` to compute.

    Returns
    -------
    dict
        ``<metric>/precision``, ``<metric>/recall`` and ``<metric>/f1`` for each metric.

    Raises
    ------
    PianotxError
        If a note has a non-finite or negative time, or ends before it starts, or a
        metric name is unknown.
    """
    unknown = sorted(set(metrics) - set(_NOTE_METRICS))
    if unknown:
        raise PianotxError(f"unknown note metric(s) {unknown}; use {sorted(_NOTE_METRICS)}")
    _validate_notes(ref_notes, "reference")
    _validate_notes(est_notes, "estimated")
    ref, est = note_arrays(ref_notes), note_arrays(est_notes)
    scores = {}
    for prefix in metrics:
        offset_ratio, velocity = _NOTE_METRICS[prefix]
        n_correct = 0
        if len(ref_notes) and len(est_notes):
            n_correct = _match_count(ref, est, offset_ratio=offset_ratio, velocity=velocity)
        precision, recall, f1 = _prf(n_correct, len(est_notes), len(ref_notes))
        scores.update({f"{prefix}/precision": precision, f"{prefix}/recall": recall})
        scores[f"{prefix}/f1"] = f1
    return scores


def _n_frames(*interval_lists: Sequence, frame_rate: float) -> int:
    """Frames enough to hold every interval's end, plus one."""
    end_s = max((item.offset_s for items in interval_lists for item in items), default=0.0)
    return int(math.ceil(end_s * frame_rate)) + 1


def roll_scores(
    ref_notes: Sequence[Note],
    est_notes: Sequence[Note],
    *,
    frame_rate: float = FRAME_RATE,
    n_frames: int | None = None,
    prefix: str = "frame",
) -> dict[str, float]:
    """Frame scores of two note lists rendered as 88-key frame rolls of a common length.

    The rolls (:func:`pianotx.music.notes.notes_to_rolls`) are ``n_frames`` long (the audio's
    frame count; notes past it are cut) or, when None, last until the later of the two last
    offsets, plus one frame. Keys as in :func:`frame_scores`, under ``prefix``.
    """
    if n_frames is None:
        n_frames = _n_frames(ref_notes, est_notes, frame_rate=frame_rate)
    ref_roll = notes_to_rolls(ref_notes, n_frames, frame_rate=frame_rate).frame
    est_roll = notes_to_rolls(est_notes, n_frames, frame_rate=frame_rate).frame
    return _prefixed(frame_scores(ref_roll, est_roll), prefix)


def head_frame_scores(
    ref_notes: Sequence[Note], est_frame: np.ndarray, *, frame_rate: float = FRAME_RATE
) -> dict[str, float]:
    """The paper's frame metric: a model's thresholded frame head against the reference.

    Parameters
    ----------
    ref_notes : sequence of Note
        Reference notes (pedal-extended, like the frame head's training targets).
    est_frame : np.ndarray, shape (n_frames, 88)
        The frame head's probabilities already thresholded to 0/1, one row per audio
        frame; the reference roll is drawn at the same length.
    """
    est = _binary(est_frame, "estimated")
    ref_roll = notes_to_rolls(ref_notes, est.shape[0], frame_rate=frame_rate).frame
    return frame_scores(ref_roll, est)


def _prefixed(scores: dict[str, float], prefix: str) -> dict[str, float]:
    return {prefix + key[len("frame"):]: value for key, value in scores.items()}


def pedal_scores(
    ref_pedals: Sequence[Pedal],
    est_pedals: Sequence[Pedal],
    n_frames: int,
    *,
    frame_rate: float = FRAME_RATE,
) -> dict[str, float]:
    """Score sustain-pedal intervals as events and as a one-row frame roll.

    Parameters
    ----------
    ref_pedals, est_pedals : sequence of Pedal
        Sustain-down intervals in seconds.
    n_frames : int >= 0
        Length of the pedal rolls compared frame by frame.
    frame_rate : float > 0
        Frames per second of those rolls.

    Returns
    -------
    dict
        ``pedal/{precision,recall,f1}`` (press onsets within 50 ms),
        ``pedal_offset/{precision,recall,f1}`` (releases within max(20 %, 50 ms) too) and
        ``pedal_frame/{precision,recall,f1}``.
    """
    as_notes = [
        [Note(p.onset_s, p.offset_s, PEDAL_PITCH, 64) for p in pedals]
        for pedals in (ref_pedals, est_pedals)
    ]
    events = note_scores(*as_notes, metrics=("note", "note_offset"))
    scores = {key.replace("note", "pedal", 1): value for key, value in events.items()}
    key = PEDAL_PITCH - MIN_MIDI
    ref_roll, est_roll = (
        notes_to_rolls(notes, n_frames, frame_rate=frame_rate).frame[:, key : key + 1]
        for notes in as_notes
    )
    frames = frame_scores(ref_roll, est_roll)
    for name in ("precision", "recall", "f1"):
        scores[f"pedal_frame/{name}"] = frames[f"frame/{name}"]
    return scores


def piece_scores(
    ref_notes: Sequence[Note],
    ref_pedals: Sequence[Pedal],
    est_notes: Sequence[Note],
    est_pedals: Sequence[Pedal] | None,
    *,
    frame_rate: float = FRAME_RATE,
    n_frames: int | None = None,
    est_frame: np.ndarray | None = None,
) -> dict[str, float]:
    """Every score of one piece, under flat keys such as ``frame/f1`` and ``note/f1``.

    Parameters
    ----------
    ref_notes, est_notes : sequence of Note
        Notes as scored: pass both pedal-extended when their source carries the pedal
        (see :func:`pianotx.music.notes.extend_by_pedal`).
    ref_pedals : sequence of Pedal
        Reference sustain intervals.
    est_pedals : sequence of Pedal or None
        Estimated sustain intervals (empty when none were predicted); None only when the
        transcriber has no pedal output at all (a model without a pedal head).
    frame_rate : float > 0
        Frame rate of the compared rolls; keep the default 100 so scores compare across
        models (frame F1 depends on it).
    n_frames : int, optional
        The audio's length in frames: the note rolls' length (default: the last offset).
    est_frame : np.ndarray, shape (n_frames, 88), optional
        A model's thresholded frame head, scored as ``frame/*`` (the paper's metric).

    Returns
    -------
    dict of str to float
        ``frame/*`` (:func:`head_frame_scores`, with ``est_frame``); ``note_frame/*``, the
        estimated notes redrawn as a roll (:func:`roll_scores`), which any transcriber's
        MIDI has; the note scores (:func:`note_scores`); and pedal scores
        (:func:`pedal_scores`) whenever the reference has presses and the transcriber
        outputs a pedal: no predicted press scores 0.0, not a missing value.
    """
    scores = {}
    if est_frame is not None:
        scores.update(head_frame_scores(ref_notes, est_frame, frame_rate=frame_rate))
    scores.update(roll_scores(ref_notes, est_notes, frame_rate=frame_rate, n_frames=n_frames,
                              prefix="note_frame"))
    scores.update(note_scores(ref_notes, est_notes))
    if ref_pedals and est_pedals is not None:
        n_pedal_frames = n_frames or _n_frames(ref_pedals, est_pedals, frame_rate=frame_rate)
        scores.update(pedal_scores(ref_pedals, est_pedals, n_pedal_frames, frame_rate=frame_rate))
    return scores


def mean_scores(scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over the pieces that have it (keys in first-seen order).

    Pedal scores exist only for pieces whose reference has presses, so their mean may
    cover fewer pieces than the note scores: :func:`score_counts` says how many.

    Parameters
    ----------
    scores : sequence of mapping
        One ``piece_scores`` dict per piece.

    Returns
    -------
    dict of str to float
        Empty when ``scores`` is empty.
    """
    keys = list(dict.fromkeys(key for piece in scores for key in piece))
    return {
        key: float(np.mean([piece[key] for piece in scores if key in piece])) for key in keys
    }


def score_counts(scores: Sequence[Mapping[str, float]]) -> dict[str, int]:
    """How many pieces each metric's mean covers (keys in first-seen order)."""
    keys = list(dict.fromkeys(key for piece in scores for key in piece))
    return {key: sum(key in piece for piece in scores) for key in keys}
