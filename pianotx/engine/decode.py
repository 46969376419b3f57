"""Probability rolls -> notes (pure numpy).

Frame-only models (the paper's): a note is a run of frames above ``frame_threshold``;
runs shorter than ``min_note_s`` are dropped as flicker. Models with an onset head: a note
starts only at a local maximum of the onset probability above its key's onset threshold
(``onset_threshold``, raised by ``onset_bass_slope`` per octave below middle C) and lasts
until the frame probability falls below ``frame_threshold`` or the next onset of the same
key, at least ``min_note_s``. Velocity is read from the velocity head at the onset frame,
else ``default_velocity``. With ``refine`` (models trained on triangular onset/offset
targets), onset times move by the sub-frame shift read from the peak and its neighbours,
and an offset peak within two frames of a note's last frame sets its end the same way.
Sustain-pedal presses are runs of the pedal head above ``pedal_threshold``.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np

from pianotx.config import MIN_MIDI, N_KEYS, DecodeConfig
from pianotx.music.notes import Note, Pedal

ONSET_LIMITS = (0.05, 0.95)  # per-key onset thresholds are clipped to this range
MIDDLE_C = 60
OFFSET_SEARCH = 2  # frames either side of a note's end searched for an offset peak
FRAME_NOTE_GAP = 8  # a frame run starting this close to an onset-gated note is that note
FRAME_NOTE_REACH = 3  # frames either side of a frame run's start searched for onset evidence
# Frames before a streamed chunk kept for peak, shift, run-start and frame-note checks.
HEAD_FRAMES = FRAME_NOTE_GAP + 8


class Transcription(NamedTuple):
    """Decoded notes (sorted by onset, pitch) and sustain-pedal presses (sorted)."""

    notes: list[Note]
    pedals: list[Pedal]


def decode_rolls(
    probs: dict[str, np.ndarray], *, config: DecodeConfig, frame_rate: float,
    refine: bool = False, first_frame: int = 0, owned: tuple[int, int] | None = None,
) -> Transcription:
    """Notes (see :func:`extract_notes`) and, when there is a pedal head, pedal presses.

    ``first_frame`` is the recording frame of row 0 (times count from the recording's
    start); only notes and presses starting on rows ``owned[0] <= row < owned[1]`` are kept.
    """
    where = {"first_frame": first_frame, "owned": owned}
    notes = extract_notes(probs, config=config, frame_rate=frame_rate, refine=refine, **where)
    pedals = extract_pedals(probs["pedal"][:, 0], config=config, frame_rate=frame_rate,
                            **where) if "pedal" in probs else []
    return Transcription(notes, pedals)


def apply_pedal_mode(notes: list[Note], pedals: list[Pedal], *, mode: str) -> Transcription:
    """What is output for ``mode`` (see :data:`pianotx.config.PEDAL_MODES`): the notes and
    the CC64 presses to write."""
    if mode == "cc64":
        return Transcription(list(notes), list(pedals))
    if mode == "extend" and pedals:
        from pianotx.music.notes import extend_by_pedal

        return Transcription(extend_by_pedal(notes, pedals), [])
    return Transcription(list(notes), [])


def stream_decode(
    chunks: Iterable[tuple[int, dict[str, np.ndarray]]], *, config: DecodeConfig,
    frame_rate: float, refine: bool = False, chunk_frames: int = 6000, tail_frames: int = 3000,
) -> Transcription:
    """Decode consecutive roll chunks (as :func:`pianotx.engine.torch_engine.stream_rolls` yields them)
    holding only ``chunk_frames + tail_frames`` frames at a time.

    Notes starting in each run of ``chunk_frames`` frames are decoded with ``tail_frames``
    frames of what follows (a note or press longer than that is cut at its end) and
    ``HEAD_FRAMES`` of what precedes; the result equals :func:`decode_rolls` on the whole.
    """
    buffer: dict[str, np.ndarray] | None = None
    lo = done = 0  # recording frame of buffer row 0; notes before ``done`` are out
    notes: list[Note] = []
    pedals: list[Pedal] = []

    def emit(until: int | None) -> None:
        rows = None if until is None else until + tail_frames - lo
        part = {name: roll[:rows] for name, roll in buffer.items()}
        owned = (done - lo, (until - lo) if until is not None else len(part["frame"]))
        found = decode_rolls(part, config=config, frame_rate=frame_rate, refine=refine,
                             first_frame=lo, owned=owned)
        notes.extend(found.notes)
        pedals.extend(found.pedals)

    for _, probs in chunks:
        buffer = dict(probs) if buffer is None else {
            name: np.concatenate([buffer[name], probs[name]]) for name in buffer}
        while lo + len(buffer["frame"]) >= done + chunk_frames + tail_frames:
            emit(done + chunk_frames)
            done += chunk_frames
            cut = done - HEAD_FRAMES - lo
            buffer = {name: roll[cut:] for name, roll in buffer.items()}
            lo += cut
    if buffer is not None:
        emit(None)
    return Transcription(sorted(notes, key=lambda n: (n.onset_s, n.pitch)), sorted(pedals))


def extract_pedals(
    pedal: np.ndarray, *, config: DecodeConfig, frame_rate: float, first_frame: int = 0,
    owned: tuple[int, int] | None = None,
) -> list[Pedal]:
    """Runs of the 1-D pedal probability at or above ``pedal_threshold``, at least
    ``min_pedal_s`` long."""
    starts, ends = frame_runs(pedal >= config.pedal_threshold)
    keep = ends - starts >= max(int(round(config.min_pedal_s * frame_rate)), 1)
    if owned is not None:
        keep &= (starts >= owned[0]) & (starts < owned[1])
    return [Pedal(float(s + first_frame) / frame_rate, float(e + first_frame) / frame_rate)
            for s, e in zip(starts[keep], ends[keep])]


def peak_shift(values: np.ndarray, peak: int) -> float:
    """Sub-frame position of a peak of a triangle-shaped 1-D curve, in frames in [-0.5, 0.5].

    Exact for a symmetric triangle sampled at integer frames (Kong et al. 2021): the side
    with the larger neighbour holds the true peak. 0 at the ends of ``values``.
    """
    if peak <= 0 or peak >= len(values) - 1:
        return 0.0
    left, centre, right = (float(v) for v in values[peak - 1 : peak + 2])
    if left > right:
        denom = centre - right
        shift = (right - left) / (2.0 * denom) if denom > 0 else 0.0
    else:
        denom = centre - left
        shift = (right - left) / (2.0 * denom) if denom > 0 else 0.0
    return float(np.clip(shift, -0.5, 0.5))


def frame_runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def key_onset_thresholds(config: DecodeConfig) -> np.ndarray:
    """The onset threshold of each of the 88 keys, shape (88,): ``onset_threshold`` from
    middle C up, ``onset_bass_slope`` higher per octave below it, clipped to
    :data:`ONSET_LIMITS`."""
    octaves_below = np.maximum(MIDDLE_C - MIN_MIDI - np.arange(N_KEYS), 0) / 12.0
    return np.clip(config.onset_threshold + config.onset_bass_slope * octaves_below,
                   *ONSET_LIMITS)


def onset_peaks(onset: np.ndarray, threshold: float) -> np.ndarray:
    """Frames where a 1-D onset probability is a local maximum at or above ``threshold``.

    A plateau counts once, at its first frame.
    """
    previous = np.concatenate([[-np.inf], onset[:-1]])
    following = np.concatenate([onset[1:], [-np.inf]])
    return np.flatnonzero((onset >= threshold) & (onset > previous) & (onset >= following))


def rearmed_peaks(onset: np.ndarray, peaks: np.ndarray, level: float) -> np.ndarray:
    """Onset peaks of one key, keeping a peak only if the onset probability fell below
    ``level`` since the previous kept one; of two peaks without such a dip the higher
    stays (the first on a tie). ``level`` 0 keeps every peak.
    """
    if level <= 0 or len(peaks) < 2:
        return peaks
    kept = [int(peaks[0])]
    for peak in peaks[1:]:
        if onset[kept[-1]:peak].min() < level:
            kept.append(int(peak))
        elif onset[peak] > onset[kept[-1]]:
            kept[-1] = int(peak)
    return np.asarray(kept, dtype=peaks.dtype)


def extract_notes(
    probs: dict[str, np.ndarray], *, config: DecodeConfig, frame_rate: float,
    refine: bool = False, first_frame: int = 0, owned: tuple[int, int] | None = None,
) -> list[Note]:
    """Decode probability rolls into notes.

    Parameters
    ----------
    probs : dict of str -> np.ndarray, shape=(n_frames, 88)
        Must hold ``frame``; ``onset`` and ``velocity`` are used when present.
    config : DecodeConfig
    frame_rate : float > 0
        Frames per second of the rolls.
    refine : bool
        Read sub-frame onset (and, with an offset head, offset) times from the peaks.
    first_frame : int
        Recording frame of row 0 (added to every time).
    owned : (int, int), optional
        Keep only notes whose first row lies in ``[owned[0], owned[1])``.

    Returns
    -------
    list of Note
        Sorted by onset, then pitch.
    """
    frame = probs["frame"] >= config.frame_threshold
    min_frames = int(round(config.min_note_s * frame_rate))
    frame_note_frames = int(round(config.frame_note_min_s * frame_rate))
    thresholds = key_onset_thresholds(config)
    notes = []
    for key in range(frame.shape[1]):
        from_frames: set[int] = set()
        if "onset" in probs:
            spans = _onset_spans(probs["onset"][:, key], frame[:, key], config, min_frames,
                                 threshold=float(thresholds[key]))
            if frame_note_frames > 0:
                extra = frame_spans(probs["onset"][:, key], probs["frame"][:, key],
                                    frame[:, key], spans, config=config,
                                    run_frames=frame_note_frames, min_frames=min_frames)
                from_frames = {start for start, _ in extra}
                spans = sorted(spans + extra)
        else:
            starts, ends = frame_runs(frame[:, key])
            keep = ends - starts >= max(min_frames, 1)
            spans = zip(starts[keep], ends[keep])
        for start, end in spans:
            if owned is not None and not owned[0] <= start < owned[1]:
                continue
            on, off = float(start + first_frame), float(end + first_frame)
            if refine and "onset" in probs:
                if start not in from_frames:  # a run's first frame is no onset peak
                    on += peak_shift(probs["onset"][:, key], start)
                if "offset" in probs:
                    frame_at, shift = _refined_end(probs["offset"][:, key], end, config,
                                                   lower=on - first_frame + 1.0)
                    off = float(frame_at + first_frame) + shift
            notes.append(Note(on / frame_rate, off / frame_rate, MIN_MIDI + key,
                              _velocity(probs, start, key, config)))
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))


def frame_spans(
    onset: np.ndarray, frame: np.ndarray, active: np.ndarray,
    onset_spans: list[tuple[int, int]], *, config: DecodeConfig, run_frames: int,
    min_frames: int,
) -> list[tuple[int, int]]:
    """(start, end) frames of frame-started notes on one key.

    Where ``frame`` rises to ``config.frame_note_level`` for at least ``run_frames``
    frames, no onset-gated note (``onset_spans``) starts within :data:`FRAME_NOTE_GAP`
    frames and ``onset`` reaches ``config.frame_note_onset`` within
    :data:`FRAME_NOTE_REACH` frames, a note starts at that onset maximum (the first on a
    tie). It ends as an onset-gated note does, counted from the run's start: at the first
    frame after it where ``active`` (the frame threshold) is off, at least ``min_frames``
    long, and before the key's next onset-gated note.
    """
    onset_starts = np.array(sorted(start for start, _ in onset_spans), dtype=int)
    inactive = np.flatnonzero(~active)
    spans = []
    for start, end in zip(*frame_runs(frame >= config.frame_note_level)):
        if end - start < run_frames:
            continue
        if len(onset_starts) and np.abs(onset_starts - start).min() <= FRAME_NOTE_GAP:
            continue
        lo = max(start - FRAME_NOTE_REACH, 0)
        near = onset[lo:start + FRAME_NOTE_REACH + 1]
        if near.max() < config.frame_note_onset:
            continue
        later = onset_starts[onset_starts > start]
        limit = int(later[0]) if len(later) else len(active)
        begin = lo + int(np.argmax(near))
        end = _span_end(int(start), inactive, limit, min_frames)
        spans.append((begin, max(end, begin + 1)))
    return spans


def _span_end(start: int, inactive: np.ndarray, limit: int, min_frames: int) -> int:
    """The end of a note starting at ``start``: the first inactive frame after it, at
    least ``min_frames`` (and one) frames on, at most ``limit``."""
    k = np.searchsorted(inactive, start + 1)
    end = inactive[k] if k < len(inactive) else limit
    end = min(max(end, start + max(min_frames, 1)), limit)
    return int(max(end, start + 1))


def _refined_end(
    offset: np.ndarray, end: int, config: DecodeConfig, *, lower: float
) -> tuple[int, float]:
    """The strongest offset peak within ``OFFSET_SEARCH`` frames of ``end`` and its shift if
    it reaches ``offset_threshold`` and its time stays after ``lower``, else ``(end, 0)``."""
    lo, hi = max(end - OFFSET_SEARCH, 0), min(end + OFFSET_SEARCH + 1, len(offset))
    if hi <= lo:
        return end, 0.0
    peak = lo + int(np.argmax(offset[lo:hi]))
    if offset[peak] < config.offset_threshold:
        return end, 0.0
    shift = peak_shift(offset, peak)
    return (peak, shift) if peak + shift >= lower else (end, 0.0)


def _onset_spans(
    onset: np.ndarray, active: np.ndarray, config: DecodeConfig, min_frames: int, *,
    threshold: float,
) -> list[tuple[int, int]]:
    """(start, end) frames of onset-gated notes on one key whose onset threshold is
    ``threshold``."""
    peaks = onset_peaks(onset, threshold)
    peaks = rearmed_peaks(onset, peaks, config.onset_rearm * threshold)
    if len(peaks) == 0:
        return []
    inactive = np.flatnonzero(~active)
    n_frames = len(active)
    spans = []
    for i, start in enumerate(peaks):
        limit = int(peaks[i + 1]) if i + 1 < len(peaks) else n_frames
        spans.append((int(start), _span_end(int(start), inactive, limit, min_frames)))
    return spans


def head_velocity(value: float) -> int:
    """MIDI velocity (1-127) from the velocity head's output (0-1)."""
    return int(np.clip(round(float(value) * 127), 1, 127))


def _velocity(probs: dict[str, np.ndarray], frame: int, key: int, config: DecodeConfig) -> int:
    if "velocity" not in probs:
        return config.default_velocity
    return head_velocity(probs["velocity"][frame, key])
