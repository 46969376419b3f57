"""A :class:`~pianotx.score.chain.Score` -> MusicXML text (through partitura), and back.

Notes are cut at barlines, and at beats where they start or end on a tuplet position, into
pieces with plain note values, tied together, so that notation programs never have to guess.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Sequence

from pianotx.score.chain import Score, ScoreNote
from pianotx.score.extra import require

STRAIGHT = (72, 48, 36, 24, 18, 12, 9, 6, 3)  # note values in divisions (12 per quarter)
TUPLET = (8, 4, 2, 1)


def pieces(start: int, end: int, *, bars: Sequence[int], beat_divs: int, straight: int = 3) -> list[tuple[int, int]]:
    """``[start, end)`` cut into spans of plain note values that cross no barline (``bars``:
    the bar lines in divisions, increasing).

    Spans that start or end off the straight grid (``straight`` divisions) are also cut at
    beats, so that every tuplet stays inside its beat.
    """
    cuts = {start, end}
    cuts.update(bars[bisect_right(bars, start):bisect_left(bars, end)])
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


def time_signatures(score: Score) -> list[tuple[int, int, int]]:
    """``(division, numerator, denominator)`` at the first bar and wherever the bar length
    changes: beats of a quarter (``3/4``) or of a dotted quarter (``6/8``)."""
    result: list[tuple[int, int, int]] = []
    for start, end in zip(score.bars, score.bars[1:]):
        beats = (end - start) // score.beat_divs
        signature = (beats, 4) if score.meter.division == 2 else (3 * beats, 8)
        if not result or result[-1][1:] != signature:
            result.append((start, *signature))
    return result


def clef_for(pitches: Sequence[int], *, staff: int) -> tuple[str, int, int]:
    """``(sign, line, octave_change)`` of a staff's clef from the median pitch of its notes:
    treble (an octave up above C6), or bass for the lower staff unless it stays above C4."""
    middle = sorted(pitches)[len(pitches) // 2] if pitches else (72 if staff == 1 else 48)
    if staff == 2 and middle < 60:
        return "F", 4, 0
    return ("G", 2, 1) if middle >= 84 else ("G", 2, 0)


def to_part(score: Score, *, title: str = "Piano"):  # type: ignore[no-untyped-def]
    """The score as a partitura ``Part`` with two staves, measures, ties and rests."""
    pscore = require("partitura.score")
    music = require("partitura.utils.music")
    part = pscore.Part("P1", title, quarter_duration=score.divs)
    for div, numerator, denominator in time_signatures(score):
        part.add(pscore.TimeSignature(numerator, denominator), div)
    for div, key in ((0, score.key), *score.key_changes):
        part.add(pscore.KeySignature(key.fifths, key.mode), div)
    for staff in (1, 2):
        sign, line, octave = clef_for([n.pitch for n in score.notes if n.staff == staff], staff=staff)
        part.add(pscore.Clef(staff=staff, sign=sign, line=line, octave_change=octave), 0)
    part.add(pscore.Tempo(float(round(score.tempo_bpm)), unit="q"), 0)  # as the summary line says
    placed = []  # (voice, start, end, element) of every note piece and rest
    for index, note in enumerate(score.notes):
        placed += _add_note(part, pscore, music, note, f"n{index}", score)
    for div, mark in score.dynamics:
        part.add(pscore.ConstantLoudnessDirection(mark, staff=1), div)
    for start, end, voice in rests(score):
        for left, right in pieces(start, end, bars=score.bars, beat_divs=score.beat_divs):
            rest = pscore.Rest(voice=voice, staff=1 if voice <= 4 else 2,
                               symbolic_duration=music.estimate_symbolic_duration(right - left, score.divs))
            part.add(rest, left, right)
            placed.append((voice, left, right, rest))
    for first, last in tuplet_groups(placed, beat_divs=score.beat_divs):
        part.add(pscore.Tuplet(placed[first][3], placed[last][3]), placed[first][1], placed[last][2])
    pscore.add_measures(part)
    return part


def tuplet_groups(placed: Sequence[tuple[int, int, int, object]], *, beat_divs: int) -> list[tuple[int, int]]:
    """Indices ``(first, last)`` into ``placed`` of each tuplet to bracket.

    ``placed`` holds ``(voice, start, end, element)`` of every note piece and rest, each
    with a ``symbolic_duration``. The pieces of one voice in one beat that carry a time
    modification (triplets in a simple beat) form one tuplet when together they fill the
    beat, as :func:`pieces` cuts them; the bracket runs from the earliest to the latest.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (voice, start, _, element) in enumerate(placed):
        if "actual_notes" in (element.symbolic_duration or {}):  # type: ignore[attr-defined]
            groups.setdefault((voice, start // beat_divs), []).append(index)
    result = []
    for (_, beat), members in sorted(groups.items()):
        first = min(members, key=lambda i: (placed[i][1], placed[i][2]))
        last = max(members, key=lambda i: (placed[i][2], placed[i][1]))
        covered = {(placed[i][1], placed[i][2]) for i in members}
        if sum(end - start for start, end in covered) == beat_divs and \
                placed[first][1] == beat * beat_divs:
            result.append((first, last))
    return result


def rests(score: Score) -> list[tuple[int, int, int]]:
    """``(start, end, voice)`` of the rests that complete every bar a voice plays in.

    The first voice of each staff (1 and 5) runs through every bar, so an empty bar shows a
    rest; the other voices only through the bars where they have notes.
    """
    lines = score.bars
    spans: dict[int, list[tuple[int, int]]] = {1: [], 5: []}
    for note in score.notes:
        spans.setdefault(note.voice, []).append((note.onset_div, note.onset_div + note.duration_div))
    result = []
    for voice, taken in sorted(spans.items()):
        bars = range(len(lines) - 1) if voice in (1, 5) else sorted(
            {bisect_right(lines, s) - 1 for s, _ in taken} | {bisect_right(lines, e - 1) - 1 for _, e in taken})
        for bar in bars:
            now, bar_end = lines[bar], lines[bar + 1]
            for start, end in sorted(taken):
                if end <= now or start >= bar_end:
                    continue
                if start > now:
                    result.append((now, start, voice))
                now = max(now, end)
            if now < bar_end:
                result.append((now, bar_end, voice))
    return result


def _add_note(part, pscore, music, note: ScoreNote, note_id: str,  # type: ignore[no-untyped-def]
              score: Score) -> list[tuple[int, int, int, object]]:
    """Add ``note`` as tied pieces; returns ``(voice, start, end, piece)`` of each."""
    previous, added = None, []
    spans = pieces(note.onset_div, note.onset_div + note.duration_div, bars=score.bars, beat_divs=score.beat_divs)
    for number, (start, end) in enumerate(spans):
        piece = pscore.Note(
            note.step, note.octave, note.alter or None, id=note_id if number == 0 else f"{note_id}-{number}",
            voice=note.voice, staff=note.staff,
            symbolic_duration=music.estimate_symbolic_duration(end - start, score.divs))
        part.add(piece, start, end)
        added.append((note.voice, start, end, piece))
        if previous is not None:
            previous.tie_next, piece.tie_prev = piece, previous
        previous = piece
    return added


def to_musicxml(score: Score, *, title: str = "Piano") -> str:
    """MusicXML text (partwise, version 3.1) of ``score``."""
    partitura = require("partitura")
    text = partitura.save_musicxml(to_part(score, title=xml_text(title)))
    if isinstance(text, bytes):
        text = text.decode()
    return add_pedals(text, score.pedals, bars=score.bars) if score.pedals else text


def xml_text(text: str) -> str:
    """``text`` with what XML cannot hold replaced: bytes of a file name that were not UTF-8
    become U+FFFD, control characters are dropped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 32 and c not in "\ufffe\uffff"))


def add_pedals(text: str, pedals: Sequence[tuple[int, int]], *, bars: Sequence[int]) -> str:
    """Sustain-pedal start and stop marks added to MusicXML text, under the lower staff
    (``bars``: the bar lines in divisions, one measure between each two).

    partitura drops the stop of a pedal that crosses a barline, so the marks are written here:
    each at the head of its measure with an ``<offset>`` in divisions.
    """
    etree = require("lxml.etree")
    root = etree.fromstring(text.encode())
    measures = root.find("part").findall("measure")
    events = sorted([(end, 0, "stop") for _, end in pedals] + [(start, 1, "start") for start, _ in pedals])
    for div, _, kind in reversed(events):  # each goes in first, so the last goes in first
        index = min(max(bisect_right(bars, div) - 1, 0), len(measures) - 1)
        direction = etree.Element("direction", placement="below")
        etree.SubElement(etree.SubElement(direction, "direction-type"), "pedal", type=kind, line="yes")
        etree.SubElement(direction, "offset").text = str(div - bars[index])
        etree.SubElement(direction, "staff").text = "2"
        measure = measures[index]
        head = measure.find("attributes")
        measure.insert(0 if head is None else measure.index(head) + 1, direction)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8").decode()


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
