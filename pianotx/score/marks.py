"""Dynamics from key velocities and sustain-pedal marks, bar by bar."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.score.quantize import Placed

# Velocity ranges of the usual dynamic marks (upper bounds; ff above the last).
DYNAMICS = (("pp", 40), ("p", 56), ("mp", 72), ("mf", 88), ("f", 104), ("ff", 128))


def dynamic_for(velocity: float) -> str:
    """The mark whose velocity range holds ``velocity`` (``"mf"`` for 80)."""
    for name, upper in DYNAMICS:
        if velocity < upper:
            return name
    return DYNAMICS[-1][0]


def bar_dynamics(placed: Sequence[Placed], bars: Sequence[int]) -> list[tuple[int, str]]:
    """``(division, mark)`` at the first bar and wherever the bar-level dynamic changes;
    ``bars`` are the bar lines in divisions (0, then each bar's end).

    A bar's level is the median of the mean velocities of it and its two neighbours, so a
    single accented bar does not get a mark of its own.
    """
    lines = np.asarray(bars)
    index = np.maximum(np.searchsorted(lines, [p.onset_div for p in placed], side="right") - 1, 0)
    n_bars = int(index.max()) + 1
    total = np.bincount(index, weights=[p.velocity for p in placed], minlength=n_bars)
    count = np.bincount(index, minlength=n_bars)
    filled = np.flatnonzero(count)
    level = np.interp(np.arange(n_bars), filled, total[filled] / count[filled])
    smooth = [np.median(level[max(b - 1, 0) : b + 2]) for b in range(n_bars)]
    marks: list[tuple[int, str]] = []
    for bar, value in enumerate(smooth):
        name = dynamic_for(value)
        if count[bar] and (not marks or marks[-1][1] != name):
            marks.append((int(lines[bar]), name))
    return marks


def pedal_marks(starts_div: np.ndarray, ends_div: np.ndarray) -> list[tuple[int, int]]:
    """Non-empty, non-overlapping ``(start, end)`` pedal presses in divisions, in order."""
    presses: list[tuple[int, int]] = []
    for start, end in sorted(zip(starts_div.tolist(), ends_div.tolist())):
        if presses and start < presses[-1][1]:
            start = presses[-1][1]
        if end > start:
            presses.append((int(start), int(end)))
    return presses
