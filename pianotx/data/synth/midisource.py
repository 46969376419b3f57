"""Real performance MIDI as the music of a synthetic dataset: folders, splits, segments.

A MIDI folder is either a MAESTRO folder (``maestro-v*.csv`` or ``.json`` at its root),
whose own train/validation/test split is kept as it is, or any folder of ``.mid`` /
``.midi`` files (ASAP, Batik, Vienna 4x22, your own), split 80/10/10 by a hash of the
*piece*, so every performance of a piece lands in the same split. A piece is the folder of
a file that sits beside a ``midi_score.mid`` (ASAP's layout: one folder per piece, that
file being the score, which is not a performance and is skipped), else the file name
without a trailing performer tag such as ``_p07``.

Long performances are cut into segments: a segment holds the notes struck inside it,
shifted to start at 0 (a note keeps its full length, so its release is rendered and
labelled alike) and the pedal presses overlapping it, clipped to it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, Sequence

from pianotx.data.synth.midicheck import check_midi_file
from pianotx.data.synth.splits import split_of
from pianotx.errors import SynthError
from pianotx.music.notes import Note, Pedal

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_NAME = "midi_score.mid"  # ASAP: the piece's score, not a performance
PERFORMER_TAG = re.compile(r"[_-]p\d+$", re.IGNORECASE)
SPLIT_NAMES = {"train": "train", "validation": "validation", "test": "test"}


class Recording(NamedTuple):
    """One performance MIDI file and the split of its piece."""

    path: str
    collection: str  # the folder's name, e.g. "maestro-v3.0.0" or "asap"
    piece_id: str  # what the split is decided by (collection/piece)
    split: str
    composer: str
    title: str


def scan_midi_folder(root: Path) -> list[Recording]:
    """The performances in a MIDI folder, each with its split.

    Parameters
    ----------
    root : Path
        A MAESTRO folder (its metadata split is kept) or any folder of MIDI files.

    Returns
    -------
    list of Recording
        Sorted by path, so a plan made from them is deterministic.

    Raises
    ------
    SynthError
        If the folder is missing or holds no performance MIDI file, or one of its files is
        not a MIDI file, is cut short or holds no notes
        (:func:`pianotx.data.synth.midicheck.check_midi_file`).
    """
    from pianotx.data.readers import maestro_records

    root = Path(root)
    if not root.is_dir():
        raise SynthError(f"MIDI folder not found: {root}; give a folder of .mid/.midi files")
    records = maestro_records(root)
    found = _from_maestro(root, records) if records is not None else _from_files(root)
    if not found:
        raise SynthError(f"no performance MIDI file (.mid, .midi) in {root}; check the folder")
    for recording in found:  # now, not when its item is rendered hours later
        check_midi_file(Path(recording.path))
    return sorted(found, key=lambda r: r.path)


def _from_maestro(root: Path, records: list[dict]) -> list[Recording]:
    out = []
    for row in records:
        path = root / str(row["midi_filename"]).strip()
        split = str(row["split"]).strip()
        if not path.is_file() or split not in SPLIT_NAMES:
            continue  # e.g. a performance removed from the folder on purpose
        composer = str(row.get("canonical_composer") or "").strip()
        title = str(row.get("canonical_title") or "").strip()
        piece = f"{root.name}/{composer}/{title}"
        out.append(Recording(str(path), root.name, piece, split, composer, title))
    return out


def _from_files(root: Path) -> list[Recording]:
    out = []
    for path in root.rglob("*"):
        if path.suffix.lower() not in MIDI_SUFFIXES or path.name == SCORE_NAME or not path.is_file():
            continue
        relative = path.relative_to(root)
        if (path.parent / SCORE_NAME).is_file():
            piece = relative.parent.as_posix()
        else:
            piece = (relative.parent / PERFORMER_TAG.sub("", path.stem)).as_posix()
        piece_id = f"{root.name}/{piece}"
        parts = piece.split("/")
        composer = parts[0] if len(parts) > 1 else ""
        out.append(Recording(str(path), root.name, piece_id, split_of(piece_id), composer, piece))
    return out


def scan_midi_folders(roots: Sequence[Path]) -> list[Recording]:
    """:func:`scan_midi_folder` over several folders, concatenated in the order given."""
    return [recording for root in roots for recording in scan_midi_folder(Path(root))]


def cut_segment(
    notes: Sequence[Note], pedals: Sequence[Pedal], *, start_s: float, length_s: float
) -> tuple[list[Note], list[Pedal]]:
    """The notes struck in ``[start_s, start_s + length_s)`` and the pedal presses
    overlapping it, in segment time (the segment starts at 0).

    Notes keep their full length; pedal presses are clipped to the segment.
    """
    end_s = start_s + length_s
    kept = [n._replace(onset_s=n.onset_s - start_s, offset_s=n.offset_s - start_s)
            for n in notes if start_s <= n.onset_s < end_s]
    held = [Pedal(max(p.onset_s, start_s) - start_s, min(p.offset_s, end_s) - start_s)
            for p in pedals if p.offset_s > start_s and p.onset_s < end_s]
    return kept, [p for p in held if p.offset_s > p.onset_s]


def segment_start(duration_s: float, length_s: float, fraction: float) -> float:
    """Where a segment of ``length_s`` starts in a performance of ``duration_s``, for a
    draw ``fraction`` in [0, 1): anywhere that keeps it inside the performance."""
    return round(max(0.0, duration_s - length_s) * fraction, 3)
