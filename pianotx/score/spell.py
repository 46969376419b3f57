"""Pitch spelling (partitura's ps13 algorithm): MIDI pitches -> step, alter, octave."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pianotx.score.extra import require
from pianotx.score.quantize import DIVS, Placed


def spell(placed: Sequence[Placed]) -> list[tuple[str, int, int]]:
    """``(step, alter, octave)`` of every note (same order), from its pitch and context.

    ps13 spells each pitch by the pitch classes around it, so that a passage in E-flat is
    written with flats and a leading tone of A minor as G-sharp.
    """
    musicanalysis = require("partitura.musicanalysis")
    order = sorted(range(len(placed)), key=lambda i: (placed[i].onset_div, placed[i].pitch))
    dtype = [("onset_sec", "f4"), ("duration_sec", "f4"), ("pitch", "i4")]
    array = np.array([(placed[i].onset_div / DIVS, placed[i].duration_div / DIVS, placed[i].pitch)
                      for i in order], dtype=dtype)
    spelled = musicanalysis.estimate_spelling(array)
    result: list[tuple[str, int, int]] = [("C", 0, 4)] * len(placed)
    for row, index in zip(spelled, order):
        result[index] = (str(row["step"]), int(row["alter"]), int(row["octave"]))
    return result
