"""Two staves: which hand plays each note.

Each hand has a running centre pitch. At every onset the chord is split between the hands at
the point that keeps both near their centres and neither wider than a hand's stretch; the
centres then follow the notes, so a melody that goes below middle C stays in the right hand.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.score.quantize import Placed


def _split_cost(pitches: np.ndarray, k: int, centres: tuple[float, float], *, span: int) -> float:
    left, right = pitches[:k], pitches[k:]
    cost = np.abs(left - centres[0]).sum() + np.abs(right - centres[1]).sum()
    for hand in (left, right):
        if len(hand) and hand[-1] - hand[0] > span:
            cost += 100.0 * (hand[-1] - hand[0] - span)
    return float(cost)


def split_hands(
    placed: Sequence[Placed], *, span: int = 14, follow: float = 0.3, start: tuple[float, float] = (48.0, 67.0),
) -> list[int]:
    """Staff of every note: 1 (right hand, treble) or 2 (left hand, bass).

    Parameters
    ----------
    placed : sequence of Placed
        Notes on the grid, any order.
    span : int
        Widest chord one hand plays, in semitones.
    follow : float
        How fast a hand's centre moves to the pitches it plays (0-1, per onset).
    start : (float, float)
        Initial left- and right-hand centres (MIDI pitch).
    """
    staffs = [1] * len(placed)
    order = sorted(range(len(placed)), key=lambda i: (placed[i].onset_div, placed[i].pitch))
    left_c, right_c = start
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and placed[order[j]].onset_div == placed[order[i]].onset_div:
            j += 1
        group = order[i:j]
        pitches = np.array([placed[g].pitch for g in group], dtype=float)
        k = min(range(len(group) + 1), key=lambda k: _split_cost(pitches, k, (left_c, right_c), span=span))
        for position, index in enumerate(group):
            staffs[index] = 2 if position < k else 1
        if k > 0:
            left_c += follow * (pitches[:k].mean() - left_c)
        if k < len(group):
            right_c += follow * (pitches[k:].mean() - right_c)
        left_c, right_c = min(left_c, right_c - 5.0), max(right_c, left_c + 5.0)
        i = j
    return staffs
