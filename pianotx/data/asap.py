"""ASAP's annotated performances (Foscarin et al., ISMIR 2020): MIDI with beats, downbeats,
time and key signatures, for the beat tracker (training and ``bench/score_asap.py``).

A folder holds ``metadata.csv`` (columns ``folder``, ``midi_performance``,
``performance_annotations``, paths relative to it) and the files it names; both ASAP itself
and ``asap-maestro`` (ASAP's MAESTRO performances) are read. Pieces are split by folder into
a tuning part and a test part, so one split covers both folders.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pianotx.errors import DatasetError
from pianotx.music.midi import read_midi
from pianotx.music.notes import Note

PARTS = ("tuning", "test", "check")  # check: the held-out folders of the tuning part


class Annotations(NamedTuple):
    """Beat and downbeat times (s), the first time signature (``"3/4"``) and key (fifths),
    and every time signature and every key with the time it starts at."""

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    signature: str | None
    fifths: int | None
    signatures: tuple[tuple[float, str], ...] = ()
    keys: tuple[tuple[float, int], ...] = ()


class AnnotatedPerformance(NamedTuple):
    """One performance: its piece folder, MIDI path, notes and annotations."""

    folder: str
    midi: Path
    notes: tuple[Note, ...]
    annotations: Annotations


def part_of(folder: str) -> str:
    """``"tuning"`` or ``"test"``, from the first byte of the folder's sha1 (about half each)."""
    return "tuning" if hashlib.sha1(folder.encode()).digest()[0] < 128 else "test"


def held_out(folder: str) -> bool:
    """True for about one tuning folder in six, kept out of the beat tracker's training to
    choose its checkpoint and decoding settings (the test part is never read for either)."""
    return hashlib.sha1(f"check:{folder}".encode()).digest()[0] < 43


def fold_of(folder: str, n_folds: int) -> int:
    """The fold (0 to ``n_folds`` - 1) of a tuning folder, from a hash of its name: networks
    trained without one fold give out-of-fold probabilities of its performances."""
    return hashlib.sha1(f"fold:{folder}".encode()).digest()[0] % n_folds


def read_annotations(path: Path) -> Annotations:
    """Parse an ASAP ``*_annotations.txt``: ``time<TAB>time<TAB>label`` per beat, the label
    ``b`` or ``db`` (downbeat), then optionally ``,signature,fifths`` where they change."""
    beats, downbeats, signature, fifths, signatures, keys = [], [], None, None, [], []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        time_s, _, label = line.split("\t")[:3]
        fields = label.split(",")
        beats.append(float(time_s))
        if fields[0] == "db":
            downbeats.append(float(time_s))
        if len(fields) > 1 and fields[1]:
            signature = signature or fields[1]
            signatures.append((float(time_s), fields[1]))
        if len(fields) > 2 and fields[2]:
            fifths = int(fields[2]) if fifths is None else fifths
            keys.append((float(time_s), int(fields[2])))
    return Annotations(np.array(beats), np.array(downbeats), signature, fifths, tuple(signatures), tuple(keys))


def asap_rows(root: Path, part: str | None = None) -> list[dict[str, str]]:
    """The rows of ``root/metadata.csv`` (of ``part`` only, when given), sorted by MIDI path.

    ``part`` "check" is the :func:`held_out` folders of the tuning part.

    Raises
    ------
    DatasetError
        If ``root`` has no readable ``metadata.csv`` with the needed columns.
    """
    table = Path(root) / "metadata.csv"
    try:
        with open(table, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DatasetError(f"cannot read {table} ({exc.strerror}): give an ASAP folder") from None
    needed = {"folder", "midi_performance", "performance_annotations"}
    if rows and not needed <= set(rows[0]):
        raise DatasetError(f"{table} lacks the columns {', '.join(sorted(needed))}: give an ASAP folder")
    if part == "check":
        rows = [r for r in rows if part_of(r["folder"]) == "tuning" and held_out(r["folder"])]
    elif part is not None:
        rows = [r for r in rows if part_of(r["folder"]) == part]
    return sorted(rows, key=lambda r: r["midi_performance"])


def load_performance(root: Path, row: dict[str, str]) -> AnnotatedPerformance:
    """Read one row's notes and annotations."""
    midi = Path(root) / row["midi_performance"]
    notes = tuple(read_midi(midi).notes)
    return AnnotatedPerformance(row["folder"], midi, notes,
                                read_annotations(Path(root) / row["performance_annotations"]))
