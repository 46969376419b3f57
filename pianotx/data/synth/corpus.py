"""Music from music21's bundled corpus as notes: keyboard works, chorales, string quartets,
and folk melodies under a generated left-hand accompaniment.

music21 is optional (``pip install music21``): :func:`corpus_available` says whether it is
installed. Scores are read at their notated tempo without expanding repeats; every part is
played on the piano. Dynamics and pedal are not taken from the score (see humanize).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pianotx.config import MAX_MIDI, MIN_MIDI
from pianotx.errors import SynthError
from pianotx.music.notes import Note
from pianotx.data.synth.music import LEFT_HAND, MAJOR, MINOR, Bar, chord_pitches

COMPOSERS = {
    "keyboard": ("joplin", "chopin", "cpebach", "beach", "schumann_robert", "schumann_clara", "schubert"),
    "chorale": ("bach",),
    "quartet": ("beethoven", "haydn", "mozart"),
}
FOLK_FOLDERS = ("oneills1850",)
MAX_QUARTET_BYTES = 40_000
CHORD_DEGREES = (0, 3, 4, 5, 1)  # I IV V vi ii, in order of preference on ties


class Work(NamedTuple):
    """One corpus work: a path under music21's corpus and, for ABC collections, a tune number."""

    category: str
    path: str
    number: int = 0


class Score(NamedTuple):
    """A parsed work as notes, with its composer and title."""

    notes: list[Note]
    composer: str
    title: str


def corpus_available() -> bool:
    """Whether music21 is installed."""
    return importlib.util.find_spec("music21") is not None


def list_works() -> list[Work]:
    """Every work pianotx uses from the music21 corpus, in a fixed order."""
    import music21
    from music21 import corpus

    root = Path(music21.__file__).parent / "corpus"
    works = [
        Work(category, str(Path(path).relative_to(root)))
        for category, composers in COMPOSERS.items()
        for composer in composers
        for path in sorted(map(str, corpus.getComposer(composer)))
    ]
    for folder in FOLK_FOLDERS:
        for path in sorted((root / folder).glob("*.abc")):
            text = path.read_text(errors="replace")
            numbers = [int(n) for n in re.findall(r"^X:\s*(\d+)", text, flags=re.MULTILINE)]
            works += [Work("folk", str(path.relative_to(root)), n) for n in numbers if n > 0]
    return [w for w in works if w.category != "quartet" or _small(root / w.path)]


def _small(path: Path) -> bool:
    # whole quartets parse in a minute or more; single movements in about a second
    return path.stat().st_size < MAX_QUARTET_BYTES


def work_id(work: Work) -> str:
    """A stable name for a work; the unit that never crosses splits."""
    return f"{work.path}#{work.number}" if work.number else work.path


def load_work(work: Work, rng: np.random.Generator, *, cache_dir: Path | None = None) -> Score:
    """A work as notes (folk tunes get an accompaniment drawn from ``rng``).

    ``cache_dir`` keeps parsed works (see :mod:`pianotx.data.synth.corpus_cache`); ``None``
    parses every time. Cached or not, the notes are the same.

    Raises
    ------
    SynthError
        If music21 cannot parse the work.
    """
    from pianotx.data.synth.corpus_cache import cached_parse

    parsed = cached_parse(work_id(work), lambda: parse_work(work), cache_dir=cache_dir)
    notes = parsed.notes
    if work.category == "folk" and notes:
        notes = sorted(notes + accompaniment(parsed, rng), key=lambda n: (n.onset_s, n.pitch))
    return Score(notes, parsed.composer, parsed.title)


def parse_work(work: Work):
    """Parse a work with music21 into a :class:`~pianotx.data.synth.corpus_cache.Parsed`.

    Raises
    ------
    SynthError
        If music21 cannot parse the work.
    """
    import warnings

    from music21 import corpus

    from pianotx.data.synth.corpus_cache import Parsed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score = corpus.parse(work.path, number=work.number) if work.number else corpus.parse(work.path)
        except Exception as exc:  # music21 raises many unrelated types on malformed files
            raise SynthError(f"music21 cannot parse {work_id(work)}: {exc}") from None
        notes = score_notes(score)
        meta = score.metadata
        composer = (meta.composer if meta and meta.composer else Path(work.path).parts[0]) or "Traditional"
        title = (meta.title if meta and meta.title else Path(work.path).stem) or Path(work.path).stem
        if work.category != "folk" or not notes:
            return Parsed(notes, str(composer), str(title))
        key = score.analyze("key")
        meter, bar_s = _bar(score, notes)
    # folk tunes are traditional; the collection's metadata names collectors and sources
    tonic_pc, major = int(key.tonic.pitchClass), key.mode == "major"
    return Parsed(notes, "Traditional", str(title), tonic_pc, major, meter, bar_s)


def score_notes(score, *, velocity: int = 72) -> list[Note]:
    """All pitched notes of a music21 score at its notated tempo (ties merged, no grace notes)."""
    notes = []
    for entry in score.stripTies(inPlace=False).flatten().notes.stream().secondsMap:
        element = entry["element"]
        onset, length = float(entry["offsetSeconds"]), float(entry["durationSeconds"])
        if element.duration.isGrace or length <= 0:
            continue
        notes += [
            Note(onset, onset + length, p.midi, velocity)
            for p in element.pitches if MIN_MIDI <= p.midi <= MAX_MIDI
        ]
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))


def accompaniment(parsed, rng: np.random.Generator) -> list[Note]:
    """A left hand under a melody: per bar, the diatonic chord that best fits the melody.

    ``parsed`` is a :class:`~pianotx.data.synth.corpus_cache.Parsed` whose notes are the melody.
    """
    melody, bar_s, meter = parsed.notes, parsed.bar_s, parsed.meter
    scale = MAJOR if parsed.major else MINOR
    tonic = 48 + parsed.tonic_pc - 12 * (parsed.tonic_pc > 6)
    pattern = LEFT_HAND[str(rng.choice(["block", "alberti", "broken_octave", "wide_arpeggio", "held"]))]
    subdiv = int(rng.choice([1, 2, 2, 3]))
    notes, start, end = [], melody[0].onset_s, max(n.offset_s for n in melody)
    while start < end - 1e-3:
        weights = np.zeros(12)
        for n in melody:
            overlap = min(n.offset_s, start + bar_s) - max(n.onset_s, start)
            if overlap > 0:
                weights[n.pitch % 12] += overlap
        fit = [sum(weights[p % 12] for p in chord_pitches(d, scale, tonic)) for d in CHORD_DEGREES]
        chord = chord_pitches(CHORD_DEGREES[int(np.argmax(fit))], scale, tonic)
        bar = Bar(start, bar_s / meter, meter, subdiv, chord, (), 60.0)
        notes += [Note(a, b, int(p), int(v)) for a, b, p, v in pattern(bar, rng) if MIN_MIDI <= p <= MAX_MIDI]
        start += bar_s
    return notes


def _bar(score, melody: list[Note]) -> tuple[int, float]:
    """Beats per bar and bar length in seconds (from the first time signature)."""
    signatures = score.recurse().getElementsByClass("TimeSignature")
    signature = signatures[0] if len(signatures) else None
    meter = int(signature.numerator) if signature is not None else 4
    bar_ql = float(signature.barDuration.quarterLength) if signature is not None else 4.0
    seconds_per_ql = 0.5
    for entry in score.flatten().notes.stream().secondsMap:
        if entry["element"].duration.quarterLength > 0:
            seconds_per_ql = entry["durationSeconds"] / entry["element"].duration.quarterLength
            break
    return max(meter, 1), max(bar_ql * seconds_per_ql, 0.5)
