"""Key from pitch content: a pitch-class histogram correlated with major and minor profiles.

The profiles are Albrecht & Shanahan's (2013), measured on a corpus of classical pieces; notes
are counted, not weighted by duration, and the opening and closing fifths of the piece count
three times, since pieces start and end in their home key. On ASAP's tuning part this finds
the key signature far more often than partitura's Krumhansl-Kessler estimate (see docs/SCORE.md).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from pianotx.music.notes import Note

MAJOR = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081])
MINOR = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052])
MAJOR_NAMES = dict(zip(range(-6, 7), "Gb Db Ab Eb Bb F C G D A E B F#".split()))
MINOR_NAMES = dict(zip(range(-6, 7), "Eb Bb F C G D A E B F# C# G# D#".split()))


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


def key_of(tonic_pc: int, mode: str) -> Key:
    """The key on pitch class ``tonic_pc`` (0 = C) in ``mode``; six flats rather than six sharps."""
    major_pc = (tonic_pc + 3) % 12 if mode == "minor" else tonic_pc % 12
    fifths = major_pc * 7 % 12
    fifths = fifths - 12 if fifths >= 6 else fifths
    names = MINOR_NAMES if mode == "minor" else MAJOR_NAMES
    return Key(names[fifths] + ("m" if mode == "minor" else ""), fifths, mode)


def pitch_class_histogram(notes: Sequence[Note], *, edges: float = 0.2, edge_weight: float = 3.0) -> np.ndarray:
    """Count of each pitch class ``(12,)``; notes in the first and last ``edges`` of the
    performance (by note order) count ``edge_weight`` times."""
    n = len(notes)
    index = np.arange(n)
    weight = np.where((index < edges * n) | (index >= (1 - edges) * n), edge_weight, 1.0)
    return np.bincount(np.array([x.pitch % 12 for x in notes]), weights=weight, minlength=12)


def estimate_key(notes: Sequence[Note], *, edges: float = 0.2, edge_weight: float = 3.0) -> Key:
    """The key whose profile correlates best with the notes' pitch-class histogram.

    Parameters
    ----------
    notes : sequence of Note
        Sorted by onset.
    edges, edge_weight : float
        See :func:`pitch_class_histogram`.
    """
    histogram = pitch_class_histogram(notes, edges=edges, edge_weight=edge_weight)
    if not histogram.any() or np.all(histogram == histogram[0]):
        return key_of(0, "major")
    best = max(((float(np.corrcoef(histogram, np.roll(profile, pc))[0, 1]), pc, mode)
                for mode, profile in (("major", MAJOR), ("minor", MINOR)) for pc in range(12)))
    return key_of(best[1], best[2])
