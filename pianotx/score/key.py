"""Key from pitch content: a pitch-class histogram correlated with major and minor profiles.

The profiles are Albrecht & Shanahan's (2013), measured on a corpus of classical pieces; notes
are counted, not weighted by duration, and the opening and closing fifths of the piece count
three times, since pieces start and end in their home key. On ASAP's tuning part this finds
the key signature far more often than partitura's Krumhansl-Kessler estimate (see docs/SCORE.md).
:func:`track_keys` follows changes of key signature with a hidden Markov model over the 24
keys that starts in that home key.
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


def _states() -> tuple[list[Key], np.ndarray]:
    """The 24 keys (12 major, then 12 minor) and the log of their profiles ``(24, 12)``."""
    keys = [key_of(pc, mode) for mode in ("major", "minor") for pc in range(12)]
    profiles = np.stack([np.roll(MAJOR if mode == "major" else MINOR, pc)
                         for mode in ("major", "minor") for pc in range(12)]) + 1e-4
    return keys, np.log(profiles / profiles.sum(axis=1, keepdims=True))


def track_keys(notes: Sequence[Note], *, hop_s: float = 2.0, context: int = 4, weight: float = 0.05,
               switch_log_prob: float = -40.0, home_bonus: float = 3.0) -> list[tuple[float, Key]]:
    """The key signature through a performance: ``[(time_s, key)]``, first the home key
    (:func:`estimate_key`) at the first onset, then each change of signature.

    A hidden Markov model over the 24 keys reads the notes in steps of ``hop_s`` seconds; each
    step hears the pitch classes of its onsets and of ``context`` steps either side, scored
    as ``weight`` times their log likelihood under each key's profile. Keys with the home
    key's signature gain ``home_bonus`` a step, every change of key costs
    ``switch_log_prob``, and the path starts in the home key. Keys in a row with one
    signature (a major key and its relative minor) count as one. The defaults were chosen on
    ASAP's tuning part (docs/SCORE.md).

    Parameters
    ----------
    notes : sequence of Note
        Sorted by onset.
    """
    home = estimate_key(notes)
    keys, log_profiles = _states()
    fifths = np.array([k.fifths for k in keys])
    onset = np.array([n.onset_s for n in notes])
    step = np.floor((onset - onset[0]) / hop_s).astype(int)
    counts = np.zeros((step.max() + 1, 12))
    np.add.at(counts, (step, np.array([n.pitch % 12 for n in notes])), 1.0)
    kernel = np.ones(2 * context + 1)
    heard = np.stack([np.convolve(counts[:, pc], kernel, mode="same") for pc in range(12)], axis=1)
    observed = weight * heard @ log_profiles.T + np.where(fifths == home.fifths, home_bonus, 0.0)
    start = keys.index(home)
    score = np.where(np.arange(len(keys)) == start, 0.0, -np.inf) + observed[0]
    back = np.zeros(observed.shape, dtype=int)
    for index in range(1, len(observed)):
        best = int(np.argmax(score))
        move = score[best] + switch_log_prob
        back[index] = np.where(score >= move, np.arange(len(keys)), best)
        score = np.maximum(score, move) + observed[index]
    path = [int(np.argmax(score))]
    for index in range(len(observed) - 1, 0, -1):
        path.append(int(back[index][path[-1]]))
    path.reverse()
    changes = [(float(onset[0]), home)]
    for index, state in enumerate(path):
        if keys[state].fifths != changes[-1][1].fifths:
            changes.append((float(onset[0] + index * hop_s), keys[state]))
    return changes
