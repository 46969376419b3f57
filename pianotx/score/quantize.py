"""Performance times -> positions on the metrical grid, in divisions of a quarter note.

A beat is a quarter (simple meter) or a dotted quarter (compound meter). Each beat is cut in
its usual grid (sixteenths) or, when its onsets fit clearly better, in the other one
(triplets in a simple beat, duplets in a compound beat). Onsets and offsets snap to the grid
of the beat they fall in.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.music.notes import Note
from pianotx.score.meter import Meter, beat_positions

DIVS = 12  # divisions per quarter note: sixteenths (3) and triplet eighths (4) are whole
GRIDS = {2: (4, 3), 3: (6, 2)}  # beat division -> (usual grid, tuplet grid), steps per beat


class Grid(NamedTuple):
    """Where the bars lie: beat ``origin_beat`` (may be negative) is division 0; ``runs``
    holds each run of equal bars as (division of its first bar line, bar length in
    divisions), the first at 0 (one run unless the meter changes)."""

    origin_beat: int
    beat_divs: int
    runs: tuple[tuple[int, int], ...]


class Placed(NamedTuple):
    """A note on the grid: ``onset_div`` and ``duration_div`` in divisions of a quarter."""

    onset_div: int
    duration_div: int
    pitch: int
    velocity: int


def make_grid(meter: Meter, first_position: float) -> Grid:
    """Bars of ``meter`` (its runs where the bar length changes) laid so that the bar holding
    ``first_position`` (beats) starts at 0."""
    beat_divs = DIVS if meter.division == 2 else DIVS * 3 // 2
    runs = meter.runs or ((meter.first_downbeat, meter.beats_per_bar),)
    start, length = runs[0]
    bars_before = int(np.ceil((start - first_position - 0.125) / length))
    origin = start - max(bars_before, 0) * length
    return Grid(origin, beat_divs, ((0, length * beat_divs),) +
                tuple(((at - origin) * beat_divs, beats * beat_divs) for at, beats in runs[1:]))


def bar_lines(grid: Grid, end_div: int) -> tuple[int, ...]:
    """Division of every bar line of ``grid``: 0, then each bar's end through the first at
    or after ``end_div`` (the end of the last bar)."""
    lines = [0]
    for index, (_, length) in enumerate(grid.runs):
        if index + 1 < len(grid.runs):
            while lines[-1] < min(grid.runs[index + 1][0], end_div):
                lines.append(lines[-1] + length)
        else:
            while len(lines) < 2 or lines[-1] < end_div:
                lines.append(lines[-1] + length)
    return tuple(lines)


def choose_grids(positions: np.ndarray, division: int, *, tuplet_penalty: float = 0.01) -> dict[int, int]:
    """Steps per beat for every beat holding an onset: the usual grid unless the tuplet one
    lowers the squared snapping error (in beats) by more than ``tuplet_penalty``."""
    usual, tuplet = GRIDS[division]
    beat = np.floor(positions + 0.125).astype(int)
    frac = positions - beat
    chosen: dict[int, int] = {}
    for index in np.unique(beat):
        here = frac[beat == index]
        cost_usual = np.sum((here * usual - np.rint(here * usual)) ** 2) / usual**2
        cost_tuplet = np.sum((here * tuplet - np.rint(here * tuplet)) ** 2) / tuplet**2
        chosen[int(index)] = tuplet if cost_tuplet + tuplet_penalty < cost_usual else usual
    return chosen


def _snap(position: float, grids: dict[int, int], usual: int, beat_divs: int) -> int:
    beat = int(np.floor(position + 0.125))
    steps = grids.get(beat, usual)
    return beat * beat_divs + int(round((position - beat) * steps)) * beat_divs // steps


def quantize(
    notes: Sequence[Note], beats_s: np.ndarray, meter: Meter, *, tuplet_penalty: float = 0.01,
) -> tuple[list[Placed], Grid]:
    """Place every note on the grid of ``meter``; the first bar starts at division 0.

    Returns
    -------
    placed : list of Placed
        One per input note (same order); durations are at least one grid step. Notes held a
        beat or more end on the eighth grid (the beat's half or third), shorter ones on the
        sixteenth grid, so held notes are not cut into tied sixteenths.
    grid : Grid
        Beat length and the runs of bars, in divisions.
    """
    onsets = beat_positions(np.array([n.onset_s for n in notes]), beats_s)
    offsets = beat_positions(np.array([n.offset_s for n in notes]), beats_s)
    grid = make_grid(meter, float(onsets.min()))
    onsets -= grid.origin_beat
    offsets -= grid.origin_beat
    grids = choose_grids(onsets, meter.division, tuplet_penalty=tuplet_penalty)
    usual = GRIDS[meter.division][0]
    placed = []
    coarse = {beat: steps // 2 if steps == usual else steps for beat, steps in grids.items()}
    for note, on, off in zip(notes, onsets, offsets):
        start = _snap(on, grids, usual, grid.beat_divs)
        step = grid.beat_divs // grids.get(int(np.floor(on + 0.125)), usual)
        # a held note ends on the beat's coarser grid (eighths), a short one on the fine grid
        held = off - on >= 0.75
        end = _snap(off, coarse if held else grids, usual // 2 if held else usual, grid.beat_divs)
        placed.append(Placed(start, max(end, start + step) - start, note.pitch, note.velocity))
    return placed, grid


def seconds_to_div(times_s: np.ndarray, beats_s: np.ndarray, grid: Grid, *, steps: int = 4) -> np.ndarray:
    """Times (pedal presses) snapped to ``steps`` per beat, in divisions."""
    positions = beat_positions(np.asarray(times_s, dtype=float), beats_s) - grid.origin_beat
    return (np.rint(positions * steps) * grid.beat_divs // steps).astype(int)
