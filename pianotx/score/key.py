"""Key from pitch content (partitura's Krumhansl-Schmuckler estimate) as a key signature."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.notes import Note
from pianotx.score.extra import require

MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1,
                "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
MINOR_FIFTHS = {"A": 0, "E": 1, "B": 2, "F#": 3, "C#": 4, "G#": 5, "D#": 6, "A#": 7, "D": -1,
                "G": -2, "C": -3, "F": -4, "Bb": -5, "Eb": -6, "Ab": -7}


class Key(NamedTuple):
    """A key: its ``name`` (``"Eb"``, ``"C#m"``), ``fifths`` (sharps > 0, flats < 0) and ``mode``."""

    name: str
    fifths: int
    mode: str

    @property
    def label(self) -> str:
        """``"E-flat major"``, ``"C-sharp minor"``."""
        tonic = self.name[:-1] if self.mode == "minor" else self.name
        tonic = tonic[0] + {"": "", "#": "-sharp", "b": "-flat"}[tonic[1:]]
        return f"{tonic} {self.mode}"


def key_from_name(name: str) -> Key:
    """``"Bbm"`` -> ``Key("Bbm", -5, "minor")``; signatures beyond six accidentals are respelled."""
    minor = name.endswith("m")
    table = MINOR_FIFTHS if minor else MAJOR_FIFTHS
    fifths = table[name[:-1] if minor else name]
    if fifths > 6:
        fifths -= 12
    elif fifths < -6:
        fifths += 12
    return Key(name, fifths, "minor" if minor else "major")


def note_array(notes: Sequence[Note]) -> np.ndarray:
    """Structured array (``onset_sec``, ``duration_sec``, ``pitch``) that partitura reads."""
    dtype = [("onset_sec", "f4"), ("duration_sec", "f4"), ("pitch", "i4")]
    return np.array([(n.onset_s, n.offset_s - n.onset_s, n.pitch) for n in notes], dtype=dtype)


def estimate_key(notes: Sequence[Note]) -> Key:
    """The most likely key of the notes (Krumhansl-Kessler profiles, duration-weighted)."""
    musicanalysis = require("partitura.musicanalysis")
    return key_from_name(str(musicanalysis.estimate_key(note_array(notes))))
