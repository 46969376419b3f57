"""A :class:`~pianotx.score.chain.Score` -> MusicXML text (through partitura), and back.

Notes are cut at barlines, and at beats where they start or end on a tuplet position, into
pieces with plain note values, tied together, so that notation programs never have to guess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pianotx.score.chain import Score, ScoreNote
from pianotx.score.extra import require

STRAIGHT = (72, 48, 36, 24, 18, 12, 9, 6, 3)  # note values in divisions (12 per quarter)
TUPLET = (8, 4, 2, 1)


def pieces(start: int, end: int, *, bar_divs: int, beat_divs: int, straight: int = 3) -> list[tuple[int, int]]:
    """``[start, end)`` cut into spans of plain note values that cross no barline.

    Spans that start or end off the straight grid (``straight`` divisions) are also cut at
    beats, so that every tuplet stays inside its beat.
    """
    cuts = {start, end}
    cuts.update(range((start // bar_divs + 1) * bar_divs, end, bar_divs))
    if start % straight or end % straight:
        cuts.update(range((start // beat_divs + 1) * beat_divs, end, beat_divs))
    bounds = sorted(cuts)
    result: list[tuple[int, int]] = []
    for left, right in zip(bounds, bounds[1:]):
        values = STRAIGHT if (left % straight == 0 and right % straight == 0) else TUPLET
        while left < right:
            value = next(v for v in values if v <= right - left)
            result.append((left, left + value))
            left += value
    return result


def _time_signature(score: Score) -> tuple[int, int]:
    meter = score.meter
    return (meter.beats_per_bar, 4) if meter.division == 2 else (3 * meter.beats_per_bar, 8)


def to_part(score: Score, *, title: str = "Piano"):  # type: ignore[no-untyped-def]
    """The score as a partitura ``Part`` with two staves, measures, ties and rests."""
    pscore = require("partitura.score")
    music = require("partitura.utils.music")
    part = pscore.Part("P1", title, quarter_duration=score.divs)
    part.add(pscore.TimeSignature(*_time_signature(score)), 0)
    part.add(pscore.KeySignature(score.key.fifths, score.key.mode), 0)
    part.add(pscore.Clef(staff=1, sign="G", line=2, octave_change=0), 0)
    part.add(pscore.Clef(staff=2, sign="F", line=4, octave_change=0), 0)
    part.add(pscore.Tempo(score.tempo_bpm, unit="q"), 0)
    for index, note in enumerate(score.notes):
        _add_note(part, pscore, music, note, f"n{index}", score)
    for div, mark in score.dynamics:
        part.add(pscore.ConstantLoudnessDirection(mark, staff=1), div)
    for start, end in score.pedals:
        part.add(pscore.SustainPedalDirection(staff=2), start, end)
    pscore.add_measures(part)
    pscore.fill_rests(part)
    return part


def _add_note(part, pscore, music, note: ScoreNote, note_id: str, score: Score) -> None:  # type: ignore[no-untyped-def]
    previous = None
    spans = pieces(note.onset_div, note.onset_div + note.duration_div,
                   bar_divs=score.bar_divs, beat_divs=score.beat_divs)
    for number, (start, end) in enumerate(spans):
        piece = pscore.Note(
            note.step, note.octave, note.alter or None, id=note_id if number == 0 else f"{note_id}-{number}",
            voice=note.voice, staff=note.staff,
            symbolic_duration=music.estimate_symbolic_duration(end - start, score.divs))
        part.add(piece, start, end)
        if previous is not None:
            previous.tie_next, piece.tie_prev = piece, previous
        previous = piece


def to_musicxml(score: Score, *, title: str = "Piano") -> str:
    """MusicXML text (partwise, version 3.1) of ``score``."""
    partitura = require("partitura")
    text = partitura.save_musicxml(to_part(score, title=title))
    if isinstance(text, bytes):
        text = text.decode()
    # partitura writes pedal type "end"; MusicXML (and MuseScore) expect "stop"
    return text.replace('<pedal type="end"', '<pedal type="stop"')


def write_musicxml(score: Score, path: Path, *, overwrite: bool = False, title: str = "Piano") -> None:
    """Write ``score`` to ``path`` atomically, refusing to replace a file unless ``overwrite``."""
    from pianotx.files import write_bytes_atomic

    write_bytes_atomic(Path(path), to_musicxml(score, title=title).encode(), overwrite=overwrite)


def read_musicxml(path: Path) -> list[tuple[float, int, int]]:
    """``(onset_quarters, duration_quarters, pitch)`` of every note in a MusicXML file, ties merged,
    sorted by onset and pitch."""
    partitura = require("partitura")
    array = partitura.load_musicxml(str(path)).note_array()
    rows = sorted(zip(array["onset_quarter"].tolist(), array["duration_quarter"].tolist(),
                      array["pitch"].tolist()), key=lambda r: (r[0], r[2]))
    return [(float(a), float(b), int(c)) for a, b, c in rows]
