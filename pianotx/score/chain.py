"""The score chain: performance notes -> beats, meter, key -> a notated score.

:func:`analyse` finds the beats, meter and key (what the ASAP benchmark measures);
:func:`make_score` places the notes on the bars, splits them between the hands and voices,
spells them and adds dynamics and pedal marks. Both are pure: no files, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import ScoreError
from pianotx.music.notes import Note, Pedal, invalid_note
from pianotx.score.beats import track_beats
from pianotx.score.hands import split_hands
from pianotx.score.key import Key, estimate_key, track_keys
from pianotx.score.marks import bar_dynamics, pedal_marks
from pianotx.score.meter import Meter, estimate_meter, given_meter
from pianotx.score.quantize import DIVS, Grid, Placed, bar_lines, quantize, seconds_to_div
from pianotx.score.spell import spell
from pianotx.score.tracker import track
from pianotx.score.voices import assign_voices, close_gaps


class Analysis(NamedTuple):
    """Beat times (s), meter and key of a performance; ``key_changes`` holds each later key
    signature with the time (s) it starts (:func:`~pianotx.score.key.track_keys`)."""

    beats_s: np.ndarray
    meter: Meter
    key: Key
    key_changes: tuple[tuple[float, Key], ...] = ()


class ScoreNote(NamedTuple):
    """A notated note: grid position (divisions of a quarter), staff 1-2, voice 1-8, spelling."""

    onset_div: int
    duration_div: int
    pitch: int
    velocity: int
    staff: int
    voice: int
    step: str
    alter: int
    octave: int


@dataclass(frozen=True)
class Score:
    """A two-staff piano score, ready to be written as MusicXML."""

    notes: tuple[ScoreNote, ...]
    meter: Meter
    key: Key
    tempo_bpm: float  # quarter notes per minute, from the median beat period
    bars: tuple[int, ...]  # every bar line in divisions: 0, then each bar's end
    beat_divs: int
    dynamics: tuple[tuple[int, str], ...]
    pedals: tuple[tuple[int, int], ...]
    divs: int = DIVS
    key_changes: tuple[tuple[int, Key], ...] = ()  # (bar line in divisions, key) after the first


LOWEST_WRITTEN = 12  # C0: MusicXML octaves start at 0, so MIDI 0-11 cannot be written


def check_notes(notes: Sequence[Note]) -> list[Note]:
    """The notes sorted by onset, without those below :data:`LOWEST_WRITTEN` (no MusicXML
    octave holds them; no piano plays them); a :class:`ScoreError` when they cannot make a
    score."""
    problem = invalid_note(notes)
    if problem is not None:
        raise ScoreError(f"{problem}; fix the notes")
    notes = [note for note in notes if note.pitch >= LOWEST_WRITTEN]
    if not notes:
        raise ScoreError("no notes to notate: the MIDI file is empty or drums only, or the "
                         "recording silent; give a piano performance")
    ordered = sorted(notes, key=lambda n: (n.onset_s, n.pitch))
    if len({round(n.onset_s, 2) for n in ordered}) < 4:
        raise ScoreError(f"only {len(ordered)} note{'s' * (len(ordered) > 1)} with fewer than 4 "
                         "distinct onsets; a score needs a longer performance")
    return ordered


TRACKERS = ("learned", "dp")
METER_CHANGE_LOG_PROB = -10.0  # of each change of bar length (ASAP tuning part, docs/SCORE.md)


def analyse(notes: Sequence[Note], *, tracker: str = "learned", key_changes: bool = False,
            meter_changes: bool = False, time_signature: str | None = None, **beat_options: float) -> Analysis:
    """Beats, meter and key of a performance; with ``key_changes`` also where the key
    signature changes (:func:`~pianotx.score.key.track_keys`; off by default: on ASAP's test
    part it finds the signature in force at fewer beats than one key held throughout); with
    ``meter_changes`` (learned tracker only) the bar length may change at a bar line, each
    change costing ``METER_CHANGE_LOG_PROB`` (off by default: on ASAP it finds changes in some
    pieces that have none); with ``time_signature`` (learned tracker only, e.g. ``"3/4"``, one
    of :data:`~pianotx.score.meter.TIME_SIGNATURES`) the meter is the one the user knows and
    the beats and bars are tracked in it (not with ``meter_changes``).

    ``tracker`` "learned" is the shipped network with its bar-tracking DBN
    (:func:`~pianotx.score.tracker.track`; ``beat_options``: ``min_bpm``, ``max_bpm``,
    ``transition_lambda``); "dp" the onset-autocorrelation tracker and accent-based meter of
    :mod:`~pianotx.score.beats` and :mod:`~pianotx.score.meter` (``beat_options``:
    ``centre_bpm``, ``tightness``, ``window_s`` ...). Defaults were chosen on ASAP's tuning part.
    """
    if meter_changes and tracker != "learned":
        raise ScoreError("meter changes need the learned beat tracker; drop the dp tracker")
    given = None
    if time_signature is not None:
        given = given_meter(time_signature)
        if tracker != "learned":
            raise ScoreError("a given time signature needs the learned beat tracker; drop the dp tracker")
    if meter_changes:
        beat_options = {"switch_log_prob": METER_CHANGE_LOG_PROB, **beat_options}
    ordered = check_notes(notes)
    if tracker == "learned":
        beats_s, meter = track(ordered, meter=given, **beat_options)
    elif tracker == "dp":
        beats_s = track_beats(ordered, **beat_options)
        meter = estimate_meter(ordered, beats_s) if len(beats_s) >= 4 else None
    else:
        raise ScoreError(f"unknown beat tracker {tracker!r}: use one of {', '.join(TRACKERS)}")
    if len(beats_s) < 4:
        raise ScoreError(f"found only {len(beats_s)} beats; give a longer performance")
    keys = track_keys(ordered) if key_changes else [(ordered[0].onset_s, estimate_key(ordered))]
    return Analysis(beats_s, meter, keys[0][1], tuple(keys[1:]))


def _deduplicate(placed: list[Placed]) -> list[Placed]:
    """One note per (onset, pitch); a held note ends where the same key strikes again."""
    unique = {}
    for note in placed:
        unique.setdefault((note.onset_div, note.pitch), note)
    ordered = sorted(unique.values(), key=lambda p: (p.pitch, p.onset_div))
    for i in range(len(ordered) - 1):
        here, after = ordered[i], ordered[i + 1]
        if after.pitch == here.pitch and here.onset_div + here.duration_div > after.onset_div:
            ordered[i] = here._replace(duration_div=after.onset_div - here.onset_div)
    return sorted(ordered, key=lambda p: (p.onset_div, p.pitch))


def make_score(notes: Sequence[Note], pedals: Sequence[Pedal] = (), *, analysis: Analysis | None = None) -> Score:
    """Notate a performance: bars, two staves, voices, spelling, dynamics and pedal marks.

    Parameters
    ----------
    notes : sequence of Note
        Key-down notes as played (not extended by the pedal).
    pedals : sequence of Pedal
        Sustain-pedal presses.
    analysis : Analysis, optional
        Beats, meter and key; found with :func:`analyse` when not given.

    Returns
    -------
    Score
        Notes sorted by (onset, pitch). Two notes of one pitch that land on the same grid
        position become one.
    """
    ordered = check_notes(notes)
    analysis = analysis or analyse(ordered)
    placed, grid = quantize(ordered, analysis.beats_s, analysis.meter)
    placed = _deduplicate(placed)
    staffs = split_hands(placed)
    placed, voices = assign_voices(placed, staffs)
    placed = close_gaps(placed, voices, max_gap=grid.beat_divs // 2)
    spelling = spell(placed)
    score_notes = tuple(sorted(
        (ScoreNote(p.onset_div, p.duration_div, p.pitch, p.velocity, s, v, *sp)
         for p, s, v, sp in zip(placed, staffs, voices, spelling)),
        key=lambda n: (n.onset_div, n.pitch)))
    presses = ()
    if pedals:
        starts = seconds_to_div(np.array([p.onset_s for p in pedals]), analysis.beats_s, grid)
        ends = seconds_to_div(np.array([p.offset_s for p in pedals]), analysis.beats_s, grid)
        presses = tuple(pedal_marks(np.maximum(starts, 0), np.maximum(ends, 0)))
    period_s = float(np.median(np.diff(analysis.beats_s)))
    tempo = 60.0 / period_s * grid.beat_divs / DIVS
    bars = bar_lines(grid, max(n.onset_div + n.duration_div for n in score_notes))
    return Score(score_notes, analysis.meter, analysis.key, round(tempo, 1), bars,
                 grid.beat_divs, tuple(bar_dynamics(placed, bars)), presses,
                 key_changes=_keys_at_bars(analysis, grid, bars))


def _keys_at_bars(analysis: Analysis, grid: Grid, bars: tuple[int, ...]) -> tuple[tuple[int, Key], ...]:
    """Each key change moved to the bar line nearest its time; a change that lands on the
    first bar line, or on the same bar line as a later one, is dropped, as is one that
    restates the key already in force."""
    if not analysis.key_changes:
        return ()
    lines = np.asarray(bars[:-1])
    at = seconds_to_div(np.array([t for t, _ in analysis.key_changes]), analysis.beats_s, grid)
    nearest = lines[np.abs(lines[None, :] - at[:, None]).argmin(axis=1)]
    placed: dict[int, Key] = {}
    for line, (_, key) in zip(nearest.tolist(), analysis.key_changes):
        placed[line] = key  # a later change on the same bar line wins
    changes, current = [], analysis.key
    for line, key in sorted(placed.items()):
        if line > 0 and key.fifths != current.fifths:
            changes.append((line, key))
            current = key
    return tuple(changes)
